/* store: the current-version rule over the store's databases, the local change feed, the counters
 * and the small metadata (every key format is in docs/storage.md).
 *
 * Invariants kept by rk_store_put, all inside the caller's one write transaction:
 *  - `records` holds exactly the envelopes of current versions (tombstones included), each under the
 *    sequence number of the put that stored it, and `hashes` finds them by hash (lib/records.c);
 *  - `current` maps author || rid to the hash and version of that envelope (lib/records.c reads both);
 *  - the RBSR sets and their fingerprints (lib/fpset.c) and the indexes (lib/index.c) hold exactly
 *    the current records;
 *  - the counters in meta match the current records, and every stored change has the next sequence
 *    number.
 * Any failed write aborts the whole transaction (rk_txn_fail, rk_txn_poison), so these never diverge.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "index.h"

#define COUNTS_KEY "_counts" /* internal meta keys start with '_' */
#define COUNTS_LEN (7 * 8)
#define CHANGE_FIXED (RK_KEY_LEN + 8 + RK_HASH_LEN + 2)

/* ---- counters ------------------------------------------------------------------------------------ */

static int read_counts(rk_txn *t, struct rk_store_counts *c, rk_error *err)
{
    memset(c, 0, sizeof *c);
    MDB_val v;
    int found = rk_txn_get(t, RK_DB_META, COUNTS_KEY, strlen(COUNTS_KEY), &v, err);
    if (found < 0)
        return -1;
    if (found == 1) {
        if (v.mv_size != COUNTS_LEN)
            return rk_fail(err, "store_corrupt", "", "the counters have %zu bytes", v.mv_size);
        const uint8_t *p = v.mv_data;
        c->current = rk_get_be64(p);
        for (int i = 0; i < 5; i++)
            c->by_kind[i] = rk_get_be64(p + 8 + 8 * i);
        c->last_seq = rk_get_be64(p + 48);
    }
    return 0;
}

static int write_counts(rk_txn *t, const struct rk_store_counts *c, rk_error *err)
{
    uint8_t buf[COUNTS_LEN];
    rk_put_be64(buf, c->current);
    for (int i = 0; i < 5; i++)
        rk_put_be64(buf + 8 + 8 * i, c->by_kind[i]);
    rk_put_be64(buf + 48, c->last_seq);
    return rk_txn_put(t, RK_DB_META, COUNTS_KEY, strlen(COUNTS_KEY), buf, sizeof buf, err);
}

int rk_store_counts(rk_txn *t, struct rk_store_counts *out, rk_error *err)
{
    return read_counts(t, out, err);
}

/* ---- put --------------------------------------------------------------------------------------- */

static int append_change(rk_txn *t, uint64_t seq, const rk_record *rec, rk_error *err)
{
    const Renkei__Record *m = rec->msg;
    size_t rlen = strlen(m->rid);
    uint8_t val[CHANGE_FIXED + RK_RID_MAX];
    if (rlen > RK_RID_MAX)
        return rk_fail(err, "invalid_rid", "rid", "rid too long");
    uint8_t *p = val;
    memcpy(p, m->author.data, RK_KEY_LEN);
    p += RK_KEY_LEN;
    rk_put_be64(p, m->version);
    p += 8;
    memcpy(p, rec->hash, RK_HASH_LEN);
    p += RK_HASH_LEN;
    *p++ = (uint8_t)m->kind;
    *p++ = (uint8_t)m->visibility;
    memcpy(p, m->rid, rlen);
    uint8_t key[8];
    rk_put_be64(key, seq);
    return rk_txn_put(t, RK_DB_CHANGES, key, sizeof key, val, CHANGE_FIXED + rlen, err);
}

static void count_record(struct rk_store_counts *c, int kind, int sign)
{
    if (kind >= 0 && kind < 5)
        c->by_kind[kind] += (uint64_t)(int64_t)sign;
    if (kind != RENKEI__KIND__KIND_TOMBSTONE)
        c->current += (uint64_t)(int64_t)sign;
}

/* Takes the stored version `hash` out of the records, the sets, the indexes and the counters (not
 * out of `current`, which the caller overwrites or deletes). */
static int unlink_version(rk_txn *t, const uint8_t hash[RK_HASH_LEN], struct rk_store_counts *counts, rk_error *err)
{
    rk_record old;
    if (rk_store_load(t, hash, &old, err) != 0)
        return -1;
    int rc = rk_index_remove(t, &old, err);
    if (rc == 0)
        rc = rk_fpset_update(t, old.msg->visibility, old.msg->version, old.hash, -1, err);
    if (rc == 0)
        rc = rk_records_del(t, old.hash, err);
    count_record(counts, old.msg->kind, -1);
    rk_record_free(&old);
    return rc;
}

int rk_store_put(rk_txn *t, const rk_record *rec, rk_put_result *res, uint64_t *seq, rk_error *err)
{
    rk_error local;
    if (!err)
        err = &local; /* the reason is also kept for rk_txn_commit */
    const Renkei__Record *m = rec->msg;
    if (!m || m->author.len != RK_KEY_LEN)
        return rk_fail(err, "invalid_author", "author", "a record needs a 32-byte author");
    rk_current cur;
    int found = rk_store_get_current(t, m->author.data, m->rid, &cur, err);
    if (found < 0)
        return -1;
    return rk_store_put_over(t, rec, found == 1 ? &cur : NULL, res, seq, err);
}

int rk_store_put_over(rk_txn *t, const rk_record *rec, const rk_current *current, rk_put_result *res, uint64_t *seq,
                      rk_error *err)
{
    rk_error local;
    if (!err)
        err = &local; /* the reason is also kept for rk_txn_commit */
    if (rk_txn_need_write(t, err) != 0)
        return -1;
    const Renkei__Record *m = rec->msg;
    if (!m || m->author.len != RK_KEY_LEN)
        return rk_fail(err, "invalid_author", "author", "a record needs a 32-byte author");
    uint8_t ckey[RK_CURRENT_KEY_MAX];
    size_t cklen = 0;
    if (rk_records_current_key(m->author.data, m->rid, ckey, &cklen, err) != 0)
        return -1;
    rk_current cur;
    int found = current != NULL;
    if (current)
        cur = *current;
    if (found == 1 &&
        (cur.version > m->version || (cur.version == m->version && memcmp(cur.hash, rec->hash, RK_HASH_LEN) >= 0))) {
        *res = RK_PUT_STALE;
        return 0;
    }
    struct rk_store_counts counts;
    if (read_counts(t, &counts, err) != 0)
        return -1;
    if (found == 1 && unlink_version(t, cur.hash, &counts, err) != 0) {
        rk_txn_poison(t, err);
        return -1;
    }
    uint8_t cval[RK_HASH_LEN + 8];
    memcpy(cval, rec->hash, RK_HASH_LEN);
    rk_put_be64(cval + RK_HASH_LEN, m->version);
    count_record(&counts, m->kind, +1);
    counts.last_seq++;
    /* The change entry goes before the indexes: the full-text postings name records by it. */
    if (rk_records_put(t, counts.last_seq, rec, err) != 0 ||
        rk_txn_put(t, RK_DB_CURRENT, ckey, cklen, cval, sizeof cval, err) != 0 ||
        rk_fpset_update(t, m->visibility, m->version, rec->hash, +1, err) != 0 ||
        append_change(t, counts.last_seq, rec, err) != 0 || rk_index_add(t, rec, err) != 0 ||
        write_counts(t, &counts, err) != 0) {
        /* A half-applied put must never be committed. */
        rk_txn_poison(t, err);
        return -1;
    }
    *res = RK_PUT_STORED;
    if (seq)
        *seq = counts.last_seq;
    return 0;
}

/* ---- removal of an author's invalid records ------------------------------------------------------ */

/* Removes the current version whose `current` key and value are given. The change feed keeps its past
 * entries: a consumer that looks the hash up finds nothing. */
static int remove_current(rk_txn *t, const uint8_t *ckey, size_t cklen, const uint8_t hash[RK_HASH_LEN],
                          struct rk_store_counts *counts, rk_error *err)
{
    if (unlink_version(t, hash, counts, err) != 0)
        return -1;
    return rk_txn_del(t, RK_DB_CURRENT, ckey, cklen, err);
}

int rk_store_remove_after(rk_txn *t, const uint8_t author[RK_KEY_LEN], uint64_t cutoff, uint64_t *removed,
                          rk_error *err)
{
    *removed = 0;
    if (rk_txn_need_write(t, err) != 0)
        return -1;
    struct rk_store_counts counts;
    if (read_counts(t, &counts, err) != 0)
        return -1;
    uint8_t from[RK_CURRENT_KEY_MAX];
    size_t flen = RK_KEY_LEN;
    memcpy(from, author, RK_KEY_LEN);
    for (;;) {
        MDB_cursor *c;
        if (rk_txn_cursor(t, RK_DB_CURRENT, &c, "remove: cursor", err) != 0)
            return -1;
        MDB_val k = rk_mdb_val(from, flen), v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        /* the author's keys from `from` on: the first whose version is above the cutoff */
        while (rc == 0 && k.mv_size > RK_KEY_LEN && memcmp(k.mv_data, author, RK_KEY_LEN) == 0 &&
               (v.mv_size != RK_HASH_LEN + 8 || rk_get_be64((const uint8_t *)v.mv_data + RK_HASH_LEN) <= cutoff))
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        bool hit = rc == 0 && k.mv_size > RK_KEY_LEN && k.mv_size <= RK_CURRENT_KEY_MAX &&
                   memcmp(k.mv_data, author, RK_KEY_LEN) == 0;
        uint8_t hash[RK_HASH_LEN];
        if (hit) {
            memcpy(from, k.mv_data, k.mv_size);
            flen = k.mv_size;
            memcpy(hash, v.mv_data, RK_HASH_LEN);
        }
        rk_txn_cursor_close(t, c);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rk_txn_fail(t, rc, "remove: walk", err);
        if (!hit)
            break;
        if (remove_current(t, from, flen, hash, &counts, err) != 0) {
            rk_txn_poison(t, err);
            return -1;
        }
        ++*removed;
    }
    if (*removed && write_counts(t, &counts, err) != 0) {
        rk_txn_poison(t, err);
        return -1;
    }
    return 0;
}

/* ---- change feed --------------------------------------------------------------------------------- */

int rk_store_changes(rk_txn *t, uint64_t after, size_t limit, rk_change_cb cb, void *ctx, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    if (after == UINT64_MAX)
        return 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_CHANGES), &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t key[8];
    rk_put_be64(key, after + 1);
    MDB_val k = rk_mdb_val(key, sizeof key), v;
    size_t n = 0;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && (limit == 0 || n < limit)) {
        if (k.mv_size != 8 || v.mv_size < CHANGE_FIXED || v.mv_size > CHANGE_FIXED + RK_RID_MAX) {
            rk_txn_cursor_close(t, c);
            return rk_fail(err, "store_corrupt", "", "a change entry is malformed");
        }
        const uint8_t *p = v.mv_data;
        rk_change ch;
        memset(&ch, 0, sizeof ch);
        ch.seq = rk_get_be64(k.mv_data);
        memcpy(ch.author, p, RK_KEY_LEN);
        ch.version = rk_get_be64(p + RK_KEY_LEN);
        memcpy(ch.hash, p + RK_KEY_LEN + 8, RK_HASH_LEN);
        ch.kind = p[RK_KEY_LEN + 8 + RK_HASH_LEN];
        ch.visibility = p[RK_KEY_LEN + 8 + RK_HASH_LEN + 1];
        memcpy(ch.rid, p + CHANGE_FIXED, v.mv_size - CHANGE_FIXED);
        n++;
        if (cb(&ch, ctx) != 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    return rk_txn_cursor_done(t, c, rc, "reading the change feed", err);
}

/* ---- metadata ------------------------------------------------------------------------------------ */

int rk_store_meta_get(rk_txn *t, const char *key, rk_buf *out, rk_error *err)
{
    size_t n = strlen(key);
    if (n == 0 || n > 400)
        return rk_fail(err, "invalid_key", "key", "meta keys have 1 to 400 bytes");
    MDB_val v;
    int found = rk_txn_get(t, RK_DB_META, key, n, &v, err);
    if (found != 1)
        return found;
    rk_buf_reset(out);
    if (rk_buf_append(out, v.mv_data, v.mv_size) != 0)
        return rk_fail(err, "no_memory", "", "out of memory");
    return 1;
}

int rk_store_meta_put(rk_txn *t, const char *key, const void *val, size_t len, rk_error *err)
{
    size_t n = strlen(key);
    if (n == 0 || n > 400)
        return rk_fail(err, "invalid_key", "key", "meta keys have 1 to 400 bytes");
    if (key[0] == '_')
        return rk_fail(err, "invalid_key", "key", "meta keys starting with '_' belong to the store");
    if (rk_txn_need_write(t, err) != 0)
        return -1;
    return rk_txn_put(t, RK_DB_META, key, n, val, len, err);
}
