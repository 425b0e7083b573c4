/* records: storing and reading records. Envelopes are kept in the canonical layout (lib/envelope.h),
 * compressed with the store's dictionary once it has one (lib/envcodec.h), so loading decompresses
 * (or copies) them and decodes the record once, with no second envelope decode and no hash.
 */
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "envcodec.h"
#include "envelope.h"

int rk_records_current_key(const uint8_t author[RK_KEY_LEN], const char *rid, uint8_t key[RK_CURRENT_KEY_MAX],
                           size_t *klen, rk_error *err)
{
    size_t n = rid ? strlen(rid) : 0;
    if (n == 0 || n > RK_RID_MAX)
        return rk_fail(err, "invalid_rid", "rid", "a rid has 1 to %d characters", RK_RID_MAX);
    memcpy(key, author, RK_KEY_LEN);
    memcpy(key + RK_KEY_LEN, rid, n);
    *klen = RK_KEY_LEN + n;
    return 0;
}

int rk_store_get_current(rk_txn *t, const uint8_t author[RK_KEY_LEN], const char *rid, rk_current *out, rk_error *err)
{
    uint8_t key[RK_CURRENT_KEY_MAX];
    size_t klen = 0;
    if (rk_records_current_key(author, rid, key, &klen, err) != 0)
        return -1;
    MDB_val v;
    int found = rk_txn_get(t, RK_DB_CURRENT, key, klen, &v, err);
    if (found != 1)
        return found;
    if (v.mv_size != RK_HASH_LEN + 8)
        return rk_fail(err, "store_corrupt", "", "a current-version entry has %zu bytes", v.mv_size);
    memcpy(out->hash, v.mv_data, RK_HASH_LEN);
    out->version = rk_get_be64((const uint8_t *)v.mv_data + RK_HASH_LEN);
    return 1;
}

/* The key in `records` of the envelope of hash: 1 found, 0 not found, -1 error. */
static int envelope_key(rk_txn *t, const uint8_t hash[RK_HASH_LEN], uint8_t key[8], rk_error *err)
{
    MDB_val v;
    int found = rk_txn_get(t, RK_DB_HASHES, hash, RK_HASH_LEN, &v, err);
    if (found != 1)
        return found;
    if (v.mv_size != 8)
        return rk_fail(err, "store_corrupt", "", "an envelope's place has %zu bytes", v.mv_size);
    memcpy(key, v.mv_data, 8);
    return 1;
}

int rk_records_seq(rk_txn *t, const uint8_t hash[RK_HASH_LEN], uint64_t *seq, rk_error *err)
{
    uint8_t key[8];
    int found = envelope_key(t, hash, key, err);
    if (found == 1)
        *seq = rk_get_be64(key);
    return found;
}

/* The stored value under key: 1, or -1 (a key `hashes` or a posting gave must be there). */
static int stored_value(rk_txn *t, const uint8_t key[8], MDB_val *v, rk_error *err)
{
    int found = rk_txn_get(t, RK_DB_RECORDS, key, 8, v, err);
    return found == 0 ? rk_fail(err, "store_corrupt", "", "a stored envelope is missing") : found;
}

int rk_store_get_envelope(rk_txn *t, const uint8_t hash[RK_HASH_LEN], const uint8_t **env, size_t *len, rk_error *err)
{
    uint8_t key[8];
    int found = envelope_key(t, hash, key, err);
    if (found != 1)
        return found;
    MDB_val v;
    if (stored_value(t, key, &v, err) < 0)
        return -1;
    uint8_t *buf;
    size_t n;
    int rc = rk_envcodec_decode(t, v.mv_data, v.mv_size, &buf, &n, err);
    if (rc < 0 || (rc == 1 && rk_txn_hold(t, buf, err) != 0))
        return -1;
    *env = rc == 1 ? buf : v.mv_data;
    *len = rc == 1 ? n : v.mv_size;
    return 1;
}

int rk_records_put(rk_txn *t, uint64_t seq, const rk_record *rec, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    uint8_t key[8];
    rk_put_be64(key, seq);
    uint8_t *frame;
    MDB_val k = rk_mdb_val(key, sizeof key), v;
    if (rk_envcodec_value(t, rec, &v, &frame, err) != 0) {
        rk_txn_poison(t, err);
        return -1;
    }
    /* MDB_APPEND: a full last page stays full and the envelope starts the next; without it LMDB
     * moves the page's last envelope along, and pages of 1.2 KB envelopes hold two, not three. */
    int rc = mdb_put(txn, rk_txn_dbi(t, RK_DB_RECORDS), &k, &v, MDB_APPEND);
    free(frame);
    if (rc != 0)
        return rk_txn_fail(t, rc, "storing an envelope", err);
    if (rk_txn_put(t, RK_DB_HASHES, rec->hash, RK_HASH_LEN, key, sizeof key, err) != 0)
        return -1;
    return rk_envcodec_maybe_train(t, seq, err);
}

int rk_records_del(rk_txn *t, const uint8_t hash[RK_HASH_LEN], rk_error *err)
{
    uint8_t key[8];
    int found = envelope_key(t, hash, key, err);
    if (found != 1)
        return found;
    if (rk_txn_del(t, RK_DB_RECORDS, key, sizeof key, err) != 0)
        return -1;
    return rk_txn_del(t, RK_DB_HASHES, hash, RK_HASH_LEN, err);
}

/* Stored envelopes are always in the canonical layout rk_record builds (lib/envelope.h), so loading
 * needs neither a second envelope decode nor a hash. Anything else goes the defensive way. owned,
 * when not NULL, is env itself, malloc'd (decompressed): the record takes it instead of a copy, and it
 * is freed in every case. */
static int decode_envelope(const uint8_t *env, size_t len, uint8_t *owned, const uint8_t hash[RK_HASH_LEN],
                           rk_record *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    rk_envelope parts;
    if (!rk_envelope_split(env, len, &parts)) {
        rk_error why;
        int rc = rk_record_parse(env, len, NULL, 0, out, &why);
        free(owned);
        /* whatever the parser's reason, a stored envelope that does not parse is a damaged store */
        return rc != 0 ? rk_fail(err, "store_corrupt", "", "a stored envelope does not decode: %s", why.message) : 0;
    }
    out->env = owned ? owned : malloc(len);
    if (!out->env)
        return rk_fail(err, "no_memory", "", "out of memory");
    if (!owned)
        memcpy(out->env, env, len);
    out->env_len = len;
    out->bytes = out->env + (parts.record - env);
    out->len = parts.record_len;
    memcpy(out->sig, parts.sig, RK_SIG_LEN);
    memcpy(out->hash, hash, RK_HASH_LEN);
    out->msg = renkei__record__unpack(NULL, out->len, out->bytes);
    if (!out->msg) {
        rk_record_free(out);
        return rk_fail(err, "store_corrupt", "", "a stored record does not decode");
    }
    return 0;
}

/* Loads the record whose envelope is kept under key: decompressed straight into the record's buffer,
 * or copied when stored as it is. */
static int load_at(rk_txn *t, const uint8_t key[8], const uint8_t hash[RK_HASH_LEN], rk_record *out, rk_error *err)
{
    MDB_val v;
    uint8_t *buf;
    size_t n;
    int rc = stored_value(t, key, &v, err);
    if (rc == 1)
        rc = rk_envcodec_decode(t, v.mv_data, v.mv_size, &buf, &n, err);
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return rc == 1 ? decode_envelope(buf, n, buf, hash, out, err)
                   : decode_envelope(v.mv_data, v.mv_size, NULL, hash, out, err);
}

int rk_store_load(rk_txn *t, const uint8_t hash[RK_HASH_LEN], rk_record *out, rk_error *err)
{
    uint8_t key[8];
    int found = envelope_key(t, hash, key, err);
    if (found != 1) {
        memset(out, 0, sizeof *out);
        return found < 0 ? -1 : rk_fail(err, "not_found", "", "no stored record has that hash");
    }
    return load_at(t, key, hash, out, err);
}

int rk_records_load_seq(rk_txn *t, uint64_t seq, const uint8_t hash[RK_HASH_LEN], rk_record *out, rk_error *err)
{
    uint8_t key[8];
    rk_put_be64(key, seq);
    return load_at(t, key, hash, out, err);
}
