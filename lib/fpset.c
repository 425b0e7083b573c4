/* fpset: the RBSR sets and their fingerprint index (the layout is in fpset.h and docs/storage.md).
 *
 * A range's aggregate is the difference of two prefix aggregates, each a walk down the prefix trie of
 * fp0/fp1; the deepest level is summed from the items themselves. Sums are kept little-endian in
 * four 64-bit limbs and wrap modulo 2^256, so adding and removing an item are exact inverses.
 */
#include "fpset.h"

#include <string.h>

#include "renkei.pb-c.h"
#include "sign.h"

#define RK_FP_DEPTH 10            /* prefix lengths 1..10 are aggregated, plus the root */
#define FP_KEY_MAX (1 + RK_FP_DEPTH)
#define FP_VAL_LEN (8 + 32)       /* count(le64) || sum(32 bytes little-endian) */

/* Count and 256-bit sum of the item hashes of a range of a reconciliation set. */
typedef struct agg {
    uint64_t count;
    uint64_t sum[4];   /* little-endian limbs of the 256-bit sum */
} agg;

/* The last few results of prefix_agg in a read-only transaction. Reconciliation asks for the
 * fingerprints of adjacent ranges, so most bounds are asked for twice in a row (as one range's end
 * and the next one's start); a read transaction sees one snapshot, so a result holds for its life. */
#define AGG_MEMO_SLOTS 4
typedef struct agg_slot {
    bool valid;
    MDB_dbi fps;
    uint8_t key[RK_ITEM_LEN];
    agg value;
} agg_slot;
typedef struct agg_memo {
    agg_slot slot[AGG_MEMO_SLOTS];
    unsigned next;
} agg_memo;
/* It lives in the read-only transaction's scratch space, zeroed when the transaction begins. */
_Static_assert(sizeof(agg_memo) <= RK_TXN_SCRATCH_LEN, "the memo must fit the transaction's scratch space");

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
    *items = rk_txn_dbi(t, set == RK_SET_PUBLIC ? RK_DB_SET0 : RK_DB_SET1);
    *fps = rk_txn_dbi(t, set == RK_SET_PUBLIC ? RK_DB_FP0 : RK_DB_FP1);
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
    MDB_val k = rk_mdb_val(item, RK_ITEM_LEN), v = rk_mdb_val("", 0);
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
        MDB_val fk = rk_mdb_val(key, 1 + (size_t)level), fv;
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
            fv = rk_mdb_val(buf, sizeof buf);
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
    MDB_val ck = rk_mdb_val(key, 1), cv;
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
            ck = rk_mdb_val(key, 1 + (size_t)level);
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
            ck = rk_mdb_val(key, 1 + (size_t)level);
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
    ck = rk_mdb_val(start, RK_ITEM_LEN);
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
    agg_memo *memo = rk_txn_scratch(t);
    if (!memo)
        return prefix_agg_walk(t, txn, items, fps, k, out, err);
    for (unsigned i = 0; i < AGG_MEMO_SLOTS; i++) {
        const agg_slot *m = &memo->slot[i];
        if (m->valid && m->fps == fps && memcmp(m->key, k, RK_ITEM_LEN) == 0) {
            *out = m->value;
            return 0;
        }
    }
    if (prefix_agg_walk(t, txn, items, fps, k, out, err) != 0)
        return -1;
    agg_slot *m = &memo->slot[memo->next];
    memo->next = (memo->next + 1) % AGG_MEMO_SLOTS;
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
    MDB_val k = rk_mdb_val(lo, RK_ITEM_LEN), v;
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
    MDB_val ck = rk_mdb_val(key, 1), cv;
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
        ck = rk_mdb_val(key, 1 + (size_t)level);
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
    ck = rk_mdb_val(start, RK_ITEM_LEN);
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

int rk_fpset_update(rk_txn *t, int visibility, uint64_t version, const uint8_t hash[RK_HASH_LEN], int sign,
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
