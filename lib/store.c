/* store: the node's LMDB environment, the current-version rule, the change feed and the RBSR sets
 * with their fingerprint index (docs/storage.md has every key format).
 *
 * Invariants kept by rk_store_put, all inside the caller's one write transaction:
 *  - `records` holds exactly the envelopes of current versions (tombstones included), keyed by hash;
 *  - `current` maps author || rid to the hash and version of that envelope;
 *  - set0 (public) and set1 (public + network) hold version(be64) || hash of every current record of
 *    that visibility, and fp0/fp1 hold, for the root and for every key prefix of 1..RK_FP_DEPTH bytes
 *    that occurs, the count and the 256-bit sum (mod 2^256) of the item hashes below it;
 *  - the counters in meta match the current records, and every stored change has the next sequence
 *    number.
 * Any failed LMDB write aborts the whole transaction (see rk_txn_fail), so these never diverge.
 */
#include "store.h"

#include <errno.h>
#include <glib.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envelope.h"
#include "index.h"
#include "sign.h"

#define DEFAULT_MAP_SIZE ((size_t)1 << 30)
#define RK_FP_DEPTH 10            /* prefix lengths 1..10 are aggregated, plus the root */
#define FP_KEY_MAX (1 + RK_FP_DEPTH)
#define FP_VAL_LEN (8 + 32)       /* count(le64) || sum(32 bytes little-endian) */
#define COUNTS_KEY "_counts"      /* internal meta keys start with '_' */
#define COUNTS_LEN (7 * 8)
#define CHANGE_FIXED (RK_KEY_LEN + 8 + RK_HASH_LEN + 2)

enum {
    DB_RECORDS, DB_CURRENT, DB_CHANGES, DB_SET0, DB_SET1, DB_FP0, DB_FP1, DB_INDEXES, DB_META, DB_TOKENS, DB_PENDING,
    DB_COUNT
};
static const char *const db_names[DB_COUNT] = {"records", "current", "changes", "set0", "set1",   "fp0",
                                               "fp1",     "indexes", "meta",    "tokens", "pending"};
/* The full-text postings are sorted duplicates of one fixed size under each token (lib/index.c). */
static const unsigned db_flags[DB_COUNT] = {[DB_TOKENS] = MDB_DUPSORT | MDB_DUPFIXED};

struct rk_store {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
};

/* Count and 256-bit sum of the item hashes of a range of a reconciliation set. */
typedef struct agg {
    uint64_t count;
    uint64_t sum[4];   /* little-endian limbs of the 256-bit sum */
} agg;

/* The last few results of prefix_agg in a read-only transaction. Reconciliation asks for the
 * fingerprints of adjacent ranges, so most bounds are asked for twice in a row (as one range's end
 * and the next one's start); a read transaction sees one snapshot, so a result holds for its life. */
#define AGG_MEMO_SLOTS 4
typedef struct agg_memo {
    bool valid;
    MDB_dbi fps;
    uint8_t key[RK_ITEM_LEN];
    agg value;
} agg_memo;

struct rk_txn {
    rk_store *s;
    MDB_txn *txn;         /* NULL once a failure aborted it */
    bool write;
    rk_error failure;     /* why it was aborted, reported again by commit */
    agg_memo memo[AGG_MEMO_SLOTS]; /* read-only transactions only */
    unsigned memo_next;
};

/* ---- transactions and errors --------------------------------------------------------------------- */

int rk_txn_fail(rk_txn *t, int mdb_rc, const char *what, rk_error *err)
{
    rk_error e;
    if (mdb_rc == MDB_MAP_FULL)
        rk_fail(&e, "store_full", "", "the store is full (map size reached) while %s; nothing was written", what);
    else if (mdb_rc == ENOSPC)
        rk_fail(&e, "store_full", "", "the disk is full while %s; nothing was written", what);
    else if (mdb_rc == ENOMEM)
        rk_fail(&e, "no_memory", "", "out of memory while %s", what);
    else
        rk_fail(&e, "store_error", "", "LMDB failed while %s: %s", what, mdb_strerror(mdb_rc));
    if (t && t->write && t->txn) {
        mdb_txn_abort(t->txn);
        t->txn = NULL;
        t->failure = e;
    }
    if (err)
        *err = e;
    return -1;
}

/* Aborts a write transaction whose change failed half-way for a reason that is not LMDB's own. */
static void txn_poison(rk_txn *t, const rk_error *why)
{
    if (t->write && t->txn) {
        mdb_txn_abort(t->txn);
        t->txn = NULL;
        t->failure = *why;
    }
}

MDB_txn *rk_txn_mdb(rk_txn *t, rk_error *err)
{
    if (!t->txn && err)
        *err = t->failure;
    return t->txn;
}

MDB_dbi rk_txn_index_dbi(const rk_txn *t)
{
    return t->s->dbi[DB_INDEXES];
}

MDB_dbi rk_txn_tokens_dbi(const rk_txn *t)
{
    return t->s->dbi[DB_TOKENS];
}

MDB_dbi rk_txn_pending_dbi(const rk_txn *t)
{
    return t->s->dbi[DB_PENDING];
}

int rk_txn_begin(rk_store *s, bool write, rk_txn **out, rk_error *err)
{
    *out = NULL;
    rk_txn *t = calloc(1, sizeof *t);
    if (!t)
        return rk_fail(err, "no_memory", "", "out of memory");
    t->s = s;
    t->write = write;
    int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc != 0) {
        free(t);
        return rk_txn_fail(NULL, rc, "starting a transaction", err);
    }
    *out = t;
    return 0;
}

int rk_txn_commit(rk_txn *t, rk_error *err)
{
    int result = 0;
    if (!t->txn) {
        if (err)
            *err = t->failure;
        result = -1;
    } else {
        int rc = mdb_txn_commit(t->txn);
        t->txn = NULL;
        if (rc != 0)
            result = rk_txn_fail(NULL, rc, "committing", err);
    }
    free(t);
    return result;
}

void rk_txn_abort(rk_txn *t)
{
    if (!t)
        return;
    if (t->txn)
        mdb_txn_abort(t->txn);
    free(t);
}

/* ---- open and close ------------------------------------------------------------------------------ */

static int make_dirs(const char *dir, rk_error *err)
{
    if (g_mkdir_with_parents(dir, 0700) != 0)
        return rk_fail(err, "store_error", "data_dir", "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

int rk_store_open(const rk_store_options *opts, rk_store **out, rk_error *err)
{
    *out = NULL;
    if (!opts || !opts->dir || !opts->dir[0])
        return rk_fail(err, "store_error", "data_dir", "no data directory given");
    if (make_dirs(opts->dir, err) != 0)
        return -1;
    rk_store *s = calloc(1, sizeof *s);
    if (!s)
        return rk_fail(err, "no_memory", "", "out of memory");
    int rc = mdb_env_create(&s->env);
    if (rc != 0) {
        free(s);
        return rk_txn_fail(NULL, rc, "creating the environment", err);
    }
    rc = mdb_env_set_maxdbs(s->env, DB_COUNT + 4);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, 256);
    /* MDB_NOTLS: read transactions are opened on the loop thread, the writer and sync helpers alike. */
    unsigned flags = MDB_NOTLS | (opts->no_sync ? MDB_NOSYNC : 0);
    if (rc == 0)
        rc = mdb_env_open(s->env, opts->dir, flags, 0600);
    if (rc != 0) {
        rk_fail(err, rc == MDB_MAP_FULL ? "store_full" : "store_error", "data_dir", "cannot open the store in %s: %s",
                opts->dir, mdb_strerror(rc));
        mdb_env_close(s->env);
        free(s);
        return -1;
    }
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    MDB_txn *txn;
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    for (int i = 0; rc == 0 && i < DB_COUNT; i++)
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE | db_flags[i], &s->dbi[i]);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        rk_fail(err, rc == MDB_MAP_FULL ? "store_full" : "store_error", "data_dir", "cannot open the databases in %s: %s",
                opts->dir, mdb_strerror(rc));
        mdb_env_close(s->env);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void rk_store_close(rk_store *s)
{
    if (!s)
        return;
    mdb_env_close(s->env);
    free(s);
}

/* ---- small helpers ------------------------------------------------------------------------------- */

static MDB_val mval(const void *p, size_t n)
{
    MDB_val v = {.mv_size = n, .mv_data = (void *)p};
    return v;
}

static int get(rk_txn *t, int db, const void *key, size_t klen, MDB_val *val, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_val k = mval(key, klen);
    int rc = mdb_get(txn, t->s->dbi[db], &k, val);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rk_txn_fail(t, rc, "reading", err);
    return 1;
}

static int put(rk_txn *t, int db, const void *key, size_t klen, const void *val, size_t vlen, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_val k = mval(key, klen), v = mval(val, vlen);
    int rc = mdb_put(txn, t->s->dbi[db], &k, &v, 0);
    return rc == 0 ? 0 : rk_txn_fail(t, rc, "writing", err);
}

static int del(rk_txn *t, int db, const void *key, size_t klen, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_val k = mval(key, klen);
    int rc = mdb_del(txn, t->s->dbi[db], &k, NULL);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : rk_txn_fail(t, rc, "deleting", err);
}

static int need_write(rk_txn *t, rk_error *err)
{
    if (!t->write)
        return rk_fail(err, "store_error", "", "a write needs a write transaction");
    return rk_txn_mdb(t, err) ? 0 : -1;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- reads --------------------------------------------------------------------------------------- */

static int current_key(const uint8_t author[RK_KEY_LEN], const char *rid, uint8_t key[RK_KEY_LEN + RK_RID_MAX],
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

int rk_store_get_current(rk_txn *t, const uint8_t author[RK_KEY_LEN], const char *rid, rk_current *out,
                         rk_error *err)
{
    uint8_t key[RK_KEY_LEN + RK_RID_MAX];
    size_t klen = 0;
    if (current_key(author, rid, key, &klen, err) != 0)
        return -1;
    MDB_val v;
    int found = get(t, DB_CURRENT, key, klen, &v, err);
    if (found != 1)
        return found;
    if (v.mv_size != RK_HASH_LEN + 8)
        return rk_fail(err, "store_corrupt", "", "a current-version entry has %zu bytes", v.mv_size);
    memcpy(out->hash, v.mv_data, RK_HASH_LEN);
    out->version = rk_get_be64((const uint8_t *)v.mv_data + RK_HASH_LEN);
    return 1;
}

int rk_store_get_envelope(rk_txn *t, const uint8_t hash[RK_HASH_LEN], const uint8_t **env, size_t *len,
                          rk_error *err)
{
    MDB_val v;
    int found = get(t, DB_RECORDS, hash, RK_HASH_LEN, &v, err);
    if (found == 1) {
        *env = v.mv_data;
        *len = v.mv_size;
    }
    return found;
}

/* Stored envelopes are always in the canonical layout rk_record builds (lib/envelope.h), so loading
 * needs neither a second envelope decode nor a hash. Anything else goes the defensive way. */
static int decode_envelope(const uint8_t *env, size_t len, const uint8_t hash[RK_HASH_LEN], rk_record *out,
                           rk_error *err)
{
    memset(out, 0, sizeof *out);
    rk_envelope parts;
    if (!rk_envelope_split(env, len, &parts)) {
        if (rk_record_parse(env, len, NULL, 0, out, err) != 0)
            return -1;
        return 0;
    }
    out->env = malloc(len);
    if (!out->env)
        return rk_fail(err, "no_memory", "", "out of memory");
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

int rk_store_load(rk_txn *t, const uint8_t hash[RK_HASH_LEN], rk_record *out, rk_error *err)
{
    const uint8_t *env = NULL;
    size_t len = 0;
    int found = rk_store_get_envelope(t, hash, &env, &len, err);
    if (found < 0)
        return -1;
    if (found == 0) {
        memset(out, 0, sizeof *out);
        return rk_fail(err, "not_found", "", "no stored record has that hash");
    }
    return decode_envelope(env, len, hash, out, err);
}

/* ---- counters ------------------------------------------------------------------------------------ */

static int read_counts(rk_txn *t, struct rk_store_counts *c, rk_error *err)
{
    memset(c, 0, sizeof *c);
    MDB_val v;
    int found = get(t, DB_META, COUNTS_KEY, strlen(COUNTS_KEY), &v, err);
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
    return put(t, DB_META, COUNTS_KEY, strlen(COUNTS_KEY), buf, sizeof buf, err);
}

int rk_store_counts(rk_txn *t, struct rk_store_counts *out, rk_error *err)
{
    return read_counts(t, out, err);
}

/* ---- the RBSR sets and their fingerprint index -------------------------------------------------- */


static void agg_add(agg *a, const agg *b)
{
    unsigned carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = a->sum[i] + b->sum[i];
        unsigned c1 = x < a->sum[i];
        uint64_t y = x + carry;
        unsigned c2 = y < x;
        a->sum[i] = y;
        carry = c1 | c2;
    }
    a->count += b->count;
}

static void agg_sub(agg *a, const agg *b)
{
    unsigned borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = a->sum[i] - b->sum[i];
        unsigned b1 = a->sum[i] < b->sum[i];
        uint64_t y = x - borrow;
        unsigned b2 = x < borrow;
        a->sum[i] = y;
        borrow = b1 | b2;
    }
    a->count -= b->count;
}

static void agg_of_hash(agg *a, const uint8_t hash[RK_HASH_LEN])
{
    a->count = 1;
    for (int i = 0; i < 4; i++)
        a->sum[i] = get_le64(hash + 8 * i);
}

static void agg_decode(agg *a, const MDB_val *v)
{
    const uint8_t *p = v->mv_data;
    a->count = get_le64(p);
    for (int i = 0; i < 4; i++)
        a->sum[i] = get_le64(p + 8 + 8 * i);
}

static void agg_encode(const agg *a, uint8_t out[FP_VAL_LEN])
{
    put_le64(out, a->count);
    for (int i = 0; i < 4; i++)
        put_le64(out + 8 + 8 * i, a->sum[i]);
}

static void agg_fingerprint(const agg *a, uint8_t fp[RK_FP_LEN])
{
    uint8_t buf[32 + 8], digest[RK_HASH_LEN];
    for (int i = 0; i < 4; i++)
        put_le64(buf + 8 * i, a->sum[i]);
    put_le64(buf + 32, a->count);
    rk_sha256(buf, sizeof buf, digest);
    memcpy(fp, digest, RK_FP_LEN);
}

static int set_dbs(rk_txn *t, int set, MDB_dbi *items, MDB_dbi *fps, rk_error *err)
{
    if (set != RK_SET_PUBLIC && set != RK_SET_MEMBERS)
        return rk_fail(err, "invalid_set", "set", "unknown set %d", set);
    *items = t->s->dbi[set == RK_SET_PUBLIC ? DB_SET0 : DB_SET1];
    *fps = t->s->dbi[set == RK_SET_PUBLIC ? DB_FP0 : DB_FP1];
    return 0;
}

/* Adds (sign > 0) or removes one item, in the set and in every aggregate above it. */
static int set_update(rk_txn *t, int set, const uint8_t item[RK_ITEM_LEN], int sign, rk_error *err)
{
    MDB_dbi items = 0, fps = 0;
    if (set_dbs(t, set, &items, &fps, err) != 0)
        return -1;
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_val k = mval(item, RK_ITEM_LEN), v = mval("", 0);
    int rc = sign > 0 ? mdb_put(txn, items, &k, &v, MDB_NOOVERWRITE) : mdb_del(txn, items, &k, NULL);
    if (rc == MDB_KEYEXIST || rc == MDB_NOTFOUND)
        return 0; /* already in (or not in) the set: the aggregates agree with that */
    if (rc != 0)
        return rk_txn_fail(t, rc, "updating a reconciliation set", err);
    agg delta;
    agg_of_hash(&delta, item + 8);
    for (int level = 0; level <= RK_FP_DEPTH; level++) {
        uint8_t key[FP_KEY_MAX];
        key[0] = (uint8_t)level;
        memcpy(key + 1, item, (size_t)level);
        MDB_val fk = mval(key, 1 + (size_t)level), fv;
        agg a = {0};
        rc = mdb_get(txn, fps, &fk, &fv);
        if (rc == 0 && fv.mv_size == FP_VAL_LEN)
            agg_decode(&a, &fv);
        else if (rc != 0 && rc != MDB_NOTFOUND)
            return rk_txn_fail(t, rc, "reading a fingerprint bucket", err);
        if (sign > 0)
            agg_add(&a, &delta);
        else
            agg_sub(&a, &delta);
        if (a.count == 0) {
            rc = mdb_del(txn, fps, &fk, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        } else {
            uint8_t buf[FP_VAL_LEN];
            agg_encode(&a, buf);
            fv = mval(buf, sizeof buf);
            rc = mdb_put(txn, fps, &fk, &fv, 0);
        }
        if (rc != 0)
            return rk_txn_fail(t, rc, "writing a fingerprint bucket", err);
    }
    return 0;
}

/* True if key is a bucket of `level` whose first level-1 prefix bytes equal parent. */
static bool is_child(const MDB_val *k, int level, const uint8_t *parent)
{
    return k->mv_size == 1 + (size_t)level && ((const uint8_t *)k->mv_data)[0] == level &&
           memcmp((const uint8_t *)k->mv_data + 1, parent, (size_t)level - 1) == 0;
}

/* Aggregate of all items strictly below k. Walks down the prefix trie: at each level it adds the
 * sibling buckets before k's byte (scanning whichever side of the byte is shorter and subtracting
 * from the parent when it scans the upper side), and at the deepest level the few items that share
 * k's whole prefix. At most RK_FP_DEPTH * 128 bucket reads plus one deepest bucket. */
static int prefix_agg_walk(rk_txn *t, MDB_txn *txn, MDB_dbi items, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN],
                           agg *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, fps, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t key[FP_KEY_MAX] = {0};
    MDB_val ck = mval(key, 1), cv;
    agg parent = {0};
    rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_KEY);
    if (rc == MDB_NOTFOUND) {
        mdb_cursor_close(c);
        return 0; /* empty set */
    }
    if (rc != 0)
        goto fail;
    agg_decode(&parent, &cv);
    bool reached_depth = true;
    for (int level = 1; level <= RK_FP_DEPTH; level++) {
        uint8_t b = k[level - 1];
        key[0] = (uint8_t)level;
        memcpy(key + 1, k, (size_t)level);
        agg here = {0};
        bool exact = false;
        if (b < 128) {
            key[level] = 0;
            ck = mval(key, 1 + (size_t)level);
            rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
            while (rc == 0 && is_child(&ck, level, k)) {
                uint8_t kb = ((const uint8_t *)ck.mv_data)[level];
                agg a;
                agg_decode(&a, &cv);
                if (kb == b) {
                    here = a;
                    exact = true;
                    break;
                }
                if (kb > b)
                    break;
                agg_add(out, &a);
                rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
            }
        } else {
            ck = mval(key, 1 + (size_t)level);
            rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
            agg upper = {0};
            while (rc == 0 && is_child(&ck, level, k)) {
                agg a;
                agg_decode(&a, &cv);
                if (((const uint8_t *)ck.mv_data)[level] == b) {
                    here = a;
                    exact = true;
                }
                agg_add(&upper, &a);
                rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
            }
            agg before = parent;
            agg_sub(&before, &upper);
            agg_add(out, &before);
        }
        if (rc != 0 && rc != MDB_NOTFOUND)
            goto fail;
        if (!exact) {
            reached_depth = false;
            break;
        }
        parent = here;
    }
    mdb_cursor_close(c);
    if (!reached_depth)
        return 0;
    rc = mdb_cursor_open(txn, items, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t start[RK_ITEM_LEN] = {0};
    memcpy(start, k, RK_FP_DEPTH);
    ck = mval(start, RK_ITEM_LEN);
    rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
    while (rc == 0 && ck.mv_size == RK_ITEM_LEN && memcmp(ck.mv_data, k, RK_ITEM_LEN) < 0) {
        agg a;
        agg_of_hash(&a, (const uint8_t *)ck.mv_data + 8);
        agg_add(out, &a);
        rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(c);
    return 0;
fail:
    mdb_cursor_close(c);
    return rk_txn_fail(t, rc, "reading the fingerprint index", err);
}

/* prefix_agg_walk, answered from the transaction's memo when a read-only one asked for k lately. */
static int prefix_agg(rk_txn *t, MDB_txn *txn, MDB_dbi items, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN], agg *out,
                      rk_error *err)
{
    if (t->write)
        return prefix_agg_walk(t, txn, items, fps, k, out, err);
    for (unsigned i = 0; i < AGG_MEMO_SLOTS; i++) {
        const agg_memo *m = &t->memo[i];
        if (m->valid && m->fps == fps && memcmp(m->key, k, RK_ITEM_LEN) == 0) {
            *out = m->value;
            return 0;
        }
    }
    if (prefix_agg_walk(t, txn, items, fps, k, out, err) != 0)
        return -1;
    agg_memo *m = &t->memo[t->memo_next];
    t->memo_next = (t->memo_next + 1) % AGG_MEMO_SLOTS;
    m->valid = true;
    m->fps = fps;
    memcpy(m->key, k, RK_ITEM_LEN);
    m->value = *out;
    return 0;
}

int rk_store_set_fingerprint(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                             uint64_t *count, uint8_t fp[RK_FP_LEN], rk_error *err)
{
    MDB_dbi items = 0, fps = 0;
    if (set_dbs(t, set, &items, &fps, err) != 0)
        return -1;
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    agg range = {0};
    if (memcmp(lo, hi, RK_ITEM_LEN) < 0) {
        agg below_lo;
        if (prefix_agg(t, txn, items, fps, hi, &range, err) != 0 ||
            prefix_agg(t, txn, items, fps, lo, &below_lo, err) != 0)
            return -1;
        agg_sub(&range, &below_lo);
    }
    *count = range.count;
    agg_fingerprint(&range, fp);
    return 0;
}

int rk_store_set_items(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                       size_t limit, rk_item_cb cb, void *ctx, rk_error *err)
{
    MDB_dbi items = 0, fps = 0;
    if (set_dbs(t, set, &items, &fps, err) != 0)
        return -1;
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, items, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    MDB_val k = mval(lo, RK_ITEM_LEN), v;
    size_t n = 0;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && (limit == 0 || n < limit) && memcmp(k.mv_data, hi, RK_ITEM_LEN) < 0) {
        n++;
        if (cb(k.mv_data, ctx) != 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rk_txn_fail(t, rc, "reading a reconciliation set", err);
    return 0;
}

int rk_store_set_nth(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
                     rk_error *err)
{
    MDB_dbi items = 0, fps = 0;
    if (set_dbs(t, set, &items, &fps, err) != 0)
        return -1;
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    agg below;
    if (prefix_agg(t, txn, items, fps, lo, &below, err) != 0)
        return -1;
    uint64_t target = below.count + n;
    if (target < below.count)
        return 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, fps, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t key[FP_KEY_MAX] = {0};
    MDB_val ck = mval(key, 1), cv;
    rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_KEY);
    agg root = {0};
    if (rc == 0)
        agg_decode(&root, &cv);
    if (rc == MDB_NOTFOUND || target >= root.count) {
        mdb_cursor_close(c);
        return 0;
    }
    if (rc != 0)
        goto fail;
    /* Descend by counts: at each level pick the child bucket that holds the target rank. */
    uint8_t prefix[RK_FP_DEPTH] = {0};
    for (int level = 1; level <= RK_FP_DEPTH; level++) {
        key[0] = (uint8_t)level;
        memcpy(key + 1, prefix, (size_t)level - 1);
        key[level] = 0;
        ck = mval(key, 1 + (size_t)level);
        rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
        bool found = false;
        while (rc == 0 && is_child(&ck, level, prefix)) {
            agg a;
            agg_decode(&a, &cv);
            if (target < a.count) {
                prefix[level - 1] = ((const uint8_t *)ck.mv_data)[level];
                found = true;
                break;
            }
            target -= a.count;
            rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
        }
        if (rc != 0 && rc != MDB_NOTFOUND)
            goto fail;
        if (!found) {
            mdb_cursor_close(c);
            return rk_fail(err, "store_corrupt", "", "the fingerprint index disagrees with its counts");
        }
    }
    mdb_cursor_close(c);
    rc = mdb_cursor_open(txn, items, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t start[RK_ITEM_LEN] = {0};
    memcpy(start, prefix, RK_FP_DEPTH);
    ck = mval(start, RK_ITEM_LEN);
    rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
    while (rc == 0 && target > 0) {
        target--;
        rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
    }
    if (rc == 0 && ck.mv_size == RK_ITEM_LEN && memcmp(ck.mv_data, prefix, RK_FP_DEPTH) == 0) {
        memcpy(out, ck.mv_data, RK_ITEM_LEN);
        mdb_cursor_close(c);
        return 1;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(c);
    return rk_fail(err, "store_corrupt", "", "the fingerprint index disagrees with the set");
fail:
    mdb_cursor_close(c);
    return rk_txn_fail(t, rc, "reading the fingerprint index", err);
}

/* Which sets a record of this visibility belongs to: bit 0 = set0, bit 1 = set1. */
static unsigned set_mask(int visibility)
{
    switch (visibility) {
    case RENKEI__VISIBILITY__VISIBILITY_PUBLIC:
        return 3;
    case RENKEI__VISIBILITY__VISIBILITY_NETWORK:
        return 2;
    default:
        return 0;
    }
}

static int sets_update(rk_txn *t, int visibility, uint64_t version, const uint8_t hash[RK_HASH_LEN], int sign,
                       rk_error *err)
{
    uint8_t item[RK_ITEM_LEN];
    rk_put_be64(item, version);
    memcpy(item + 8, hash, RK_HASH_LEN);
    unsigned mask = set_mask(visibility);
    if ((mask & 1) && set_update(t, RK_SET_PUBLIC, item, sign, err) != 0)
        return -1;
    if ((mask & 2) && set_update(t, RK_SET_MEMBERS, item, sign, err) != 0)
        return -1;
    return 0;
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
    return put(t, DB_CHANGES, key, sizeof key, val, CHANGE_FIXED + rlen, err);
}

static void count_record(struct rk_store_counts *c, int kind, int sign)
{
    if (kind >= 0 && kind < 5)
        c->by_kind[kind] += (uint64_t)(int64_t)sign;
    if (kind != RENKEI__KIND__KIND_TOMBSTONE)
        c->current += (uint64_t)(int64_t)sign;
}

int rk_store_put(rk_txn *t, const rk_record *rec, rk_put_result *res, uint64_t *seq, rk_error *err)
{
    rk_error local;
    if (!err)
        err = &local; /* the reason is also kept for rk_txn_commit */
    if (need_write(t, err) != 0)
        return -1;
    const Renkei__Record *m = rec->msg;
    if (!m || m->author.len != RK_KEY_LEN)
        return rk_fail(err, "invalid_author", "author", "a record needs a 32-byte author");
    uint8_t ckey[RK_KEY_LEN + RK_RID_MAX];
    size_t cklen = 0;
    if (current_key(m->author.data, m->rid, ckey, &cklen, err) != 0)
        return -1;
    rk_current cur;
    int found = rk_store_get_current(t, m->author.data, m->rid, &cur, err);
    if (found < 0)
        return -1;
    if (found == 1 && (cur.version > m->version ||
                       (cur.version == m->version && memcmp(cur.hash, rec->hash, RK_HASH_LEN) >= 0))) {
        *res = RK_PUT_STALE;
        return 0;
    }
    struct rk_store_counts counts;
    if (read_counts(t, &counts, err) != 0)
        return -1;
    if (found == 1) {
        rk_record old;
        if (rk_store_load(t, cur.hash, &old, err) != 0) {
            txn_poison(t, err);
            return -1;
        }
        int rc = rk_index_remove(t, &old, err);
        if (rc == 0)
            rc = sets_update(t, old.msg->visibility, old.msg->version, old.hash, -1, err);
        if (rc == 0)
            rc = del(t, DB_RECORDS, old.hash, RK_HASH_LEN, err);
        count_record(&counts, old.msg->kind, -1);
        rk_record_free(&old);
        if (rc != 0) {
            txn_poison(t, err);
            return -1;
        }
    }
    uint8_t cval[RK_HASH_LEN + 8];
    memcpy(cval, rec->hash, RK_HASH_LEN);
    rk_put_be64(cval + RK_HASH_LEN, m->version);
    count_record(&counts, m->kind, +1);
    counts.last_seq++;
    if (put(t, DB_RECORDS, rec->hash, RK_HASH_LEN, rec->env, rec->env_len, err) != 0 ||
        put(t, DB_CURRENT, ckey, cklen, cval, sizeof cval, err) != 0 ||
        sets_update(t, m->visibility, m->version, rec->hash, +1, err) != 0 || rk_index_add(t, rec, err) != 0 ||
        append_change(t, counts.last_seq, rec, err) != 0 || write_counts(t, &counts, err) != 0) {
        /* A half-applied put must never be committed. */
        txn_poison(t, err);
        return -1;
    }
    *res = RK_PUT_STORED;
    if (seq)
        *seq = counts.last_seq;
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
    int rc = mdb_cursor_open(txn, t->s->dbi[DB_CHANGES], &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t key[8];
    rk_put_be64(key, after + 1);
    MDB_val k = mval(key, sizeof key), v;
    size_t n = 0;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && (limit == 0 || n < limit)) {
        if (k.mv_size != 8 || v.mv_size < CHANGE_FIXED || v.mv_size > CHANGE_FIXED + RK_RID_MAX) {
            mdb_cursor_close(c);
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
    mdb_cursor_close(c);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rk_txn_fail(t, rc, "reading the change feed", err);
    return 0;
}

/* ---- metadata ------------------------------------------------------------------------------------ */

int rk_store_meta_get(rk_txn *t, const char *key, rk_buf *out, rk_error *err)
{
    size_t n = strlen(key);
    if (n == 0 || n > 400)
        return rk_fail(err, "invalid_key", "key", "meta keys have 1 to 400 bytes");
    MDB_val v;
    int found = get(t, DB_META, key, n, &v, err);
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
    if (need_write(t, err) != 0)
        return -1;
    return put(t, DB_META, key, n, val, len, err);
}
