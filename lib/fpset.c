/* fpset: the RBSR sets and their fingerprint index (the layout is in fpset.h and docs/storage.md).
 *
 * A range's aggregate is the difference of two prefix aggregates (lib/fpagg.h), each a walk down the
 * prefix trie of fp0/fp1: the upper levels from the nodes a read-only transaction keeps
 * (lib/fpcache.h), the lower ones with cursor steps, and a small or deepest bucket from its items.
 */
#include "fpset.h"

#include <stdlib.h>
#include <string.h>

#include "fpagg.h"
#include "fpcache.h"
#include "renkei.pb-c.h"

/* A bucket of at most this many items is answered from its items (one cursor positioning in the set
 * and a few steps) rather than from the levels below it (a positioning in the index per level). With
 * versions spread over a year, the buckets below the 65-second byte hold one or two items at
 * 1,000,000 and a 4.6-hour bucket about 50 at 100,000, so this saves two to five B-tree descents per
 * bound. */
#define FP_SCAN_ITEMS RK_FPSET_SCAN_ITEMS

/* The read paths take the children of the levels a read transaction keeps whole without a look at
 * the parent's count (prefix_agg_cached, the nth descent): those parents must always have them. */
_Static_assert(RK_FPCACHE_FULL_LEVELS <= RK_FPSET_WHOLE_LEVELS, "a whole kept level's parents keep their children");

bool rk_fpset_keeps_children(int level, uint64_t count)
{
    return level < RK_FP_DEPTH && (level < RK_FPSET_WHOLE_LEVELS || count > FP_SCAN_ITEMS);
}

/* The LMDB transaction of t and the item and fingerprint tables of set; NULL with err if set is
 * unknown or t has failed. */
static MDB_txn *set_open(rk_txn *t, int set, MDB_dbi *items, MDB_dbi *fps, rk_error *err)
{
    if (set != RK_SET_PUBLIC && set != RK_SET_MEMBERS) {
        rk_fail(err, "invalid_set", "set", "unknown set %d", set);
        return NULL;
    }
    *items = rk_txn_dbi(t, set == RK_SET_PUBLIC ? RK_DB_SET0 : RK_DB_SET1);
    *fps = rk_txn_dbi(t, set == RK_SET_PUBLIC ? RK_DB_FP0 : RK_DB_FP1);
    return rk_txn_mdb(t, err);
}

/* Opens a cursor *c on the set's items at the first one whose plen-byte prefix is at least prefix's;
 * *rc is that read's LMDB code (0, MDB_NOTFOUND or an error). ck is valid only when *rc is 0 (it then
 * points into the map). Returns -1 with err when no cursor opens. */
static int items_from_prefix(rk_txn *t, MDB_txn *txn, MDB_dbi items, const uint8_t *prefix, size_t plen, MDB_cursor **c,
                             MDB_val *ck, MDB_val *cv, int *rc, rk_error *err)
{
    int orc = mdb_cursor_open(txn, items, c);
    if (orc != 0)
        return rk_txn_fail(t, orc, "opening a cursor", err);
    uint8_t start[RK_ITEM_LEN] = {0};
    memcpy(start, prefix, plen);
    *ck = rk_mdb_val(start, RK_ITEM_LEN);
    *rc = mdb_cursor_get(*c, ck, cv, MDB_SET_RANGE);
    return 0;
}

/* Deletes every bucket below the one of `level` over prefix (levels level+1 .. RK_FP_DEPTH). A bucket
 * that became small no longer keeps them; one that grew past the bound may still have those a
 * store of format 7 or older kept (fpset.h), which are stale. Each delete positions the cursor
 * anew: there are at most a few dozen, once per crossing of the bound. */
static int drop_below(MDB_cursor *c, const uint8_t *prefix, int level)
{
    for (int l = level + 1; l <= RK_FP_DEPTH; l++) {
        uint8_t key[RK_FP_KEY_MAX] = {0};
        key[0] = (uint8_t)l;
        memcpy(key + 1, prefix, (size_t)level);
        for (;;) {
            MDB_val ck = rk_mdb_val(key, 1 + (size_t)level), cv;
            int rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
            if (rc == MDB_NOTFOUND)
                break;
            if (rc != 0)
                return rc;
            const uint8_t *k = ck.mv_data;
            if (ck.mv_size < 1 + (size_t)level || k[0] != l || memcmp(k + 1, prefix, (size_t)level) != 0)
                break;
            if ((rc = mdb_cursor_del(c, 0)) != 0)
                return rc;
        }
    }
    return 0;
}

/* Writes the buckets below the one of `level` over item's prefix, which has just grown past
 * FP_SCAN_ITEMS (the item among its items): from those items, read from the set, each bucket whose
 * parent keeps its children (rk_fpset_keeps_children). What was below it is dropped first. On
 * failure *mdb_rc is LMDB's error for the caller's rk_txn_fail, or 0 when t has been aborted. */
static int build_below(rk_txn *t, MDB_txn *txn, MDB_dbi items, MDB_cursor *c, const uint8_t item[RK_ITEM_LEN],
                       int level, uint64_t count, int *mdb_rc, rk_error *err)
{
    if ((*mdb_rc = drop_below(c, item, level)) != 0)
        return -1;
    uint8_t v[FP_SCAN_ITEMS + 1][RK_ITEM_LEN]; /* a bucket crosses the bound one item at a time */
    MDB_cursor *ic;
    MDB_val ik, iv;
    int rc = 0;
    size_t n = 0;
    if (items_from_prefix(t, txn, items, item, (size_t)level, &ic, &ik, &iv, &rc, err) != 0)
        return -1;
    while (rc == 0 && ik.mv_size == RK_ITEM_LEN && memcmp(ik.mv_data, item, (size_t)level) == 0 && n < count &&
           n < sizeof v / sizeof *v) {
        memcpy(v[n++], ik.mv_data, RK_ITEM_LEN);
        rc = mdb_cursor_get(ic, &ik, &iv, MDB_NEXT);
    }
    rk_txn_cursor_close(t, ic);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        *mdb_rc = rc;
        return -1;
    }
    if (n != count) {
        rk_fail(err, "store_corrupt", "", "the fingerprint index disagrees with the set");
        rk_txn_poison(t, err);
        return -1;
    }
    /* the items are sorted, so those under one prefix are a run; a bucket of level l is kept when
     * the run of its parent (level l-1) keeps its children */
    rc = 0;
    for (int l = level + 1; rc == 0 && l <= RK_FP_DEPTH; l++) {
        size_t parent_start = 0, parent_end = 0;
        for (size_t i = 0; rc == 0 && i < n;) {
            size_t j = i + 1;
            while (j < n && memcmp(v[j], v[i], (size_t)l) == 0)
                j++;
            if (i >= parent_end) {
                parent_start = i;
                parent_end = j;
                while (parent_end < n && memcmp(v[parent_end], v[i], (size_t)l - 1) == 0)
                    parent_end++;
            }
            if (rk_fpset_keeps_children(l - 1, parent_end - parent_start)) {
                rk_fpagg a = {0};
                for (size_t x = i; x < j; x++) {
                    rk_fpagg h;
                    rk_fpagg_of_hash(&h, v[x] + 8);
                    rk_fpagg_add(&a, &h);
                }
                uint8_t key[RK_FP_KEY_MAX], buf[RK_FP_VAL_LEN];
                key[0] = (uint8_t)l;
                memcpy(key + 1, v[i], (size_t)l);
                rk_fpagg_encode(&a, buf);
                MDB_val fk = rk_mdb_val(key, 1 + (size_t)l), fv = rk_mdb_val(buf, sizeof buf);
                rc = mdb_cursor_put(c, &fk, &fv, 0);
            }
            i = j;
        }
    }
    *mdb_rc = rc;
    return rc == 0 ? 0 : -1;
}

/* Adds (sign > 0) or removes one item, in the set and in every aggregate above it that is kept. */
static int set_update(rk_txn *t, int set, const uint8_t item[RK_ITEM_LEN], int sign, rk_error *err)
{
    MDB_dbi items = 0, fps = 0;
    MDB_txn *txn = set_open(t, set, &items, &fps, err);
    if (!txn)
        return -1;
    MDB_val k = rk_mdb_val(item, RK_ITEM_LEN), v = rk_mdb_val("", 0);
    int rc = sign > 0 ? mdb_put(txn, items, &k, &v, MDB_NOOVERWRITE) : mdb_del(txn, items, &k, NULL);
    if (rc == MDB_KEYEXIST || rc == MDB_NOTFOUND)
        return 0; /* already in (or not in) the set: the aggregates agree with that */
    if (rc != 0)
        return rk_txn_fail(t, rc, "updating a reconciliation set", err);
    rk_txn_mark_shared(t); /* read transactions after this one must not use trie nodes kept before it */
    rk_fpagg delta;
    rk_fpagg_of_hash(&delta, item + 8);
    /* One cursor positioning per level: the bucket is rewritten where the read left the cursor
     * (MDB_CURRENT, same size) instead of searched for again by a second B-tree descent. */
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, fps, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    for (int level = 0; rc == 0 && level <= RK_FP_DEPTH; level++) {
        uint8_t key[RK_FP_KEY_MAX];
        key[0] = (uint8_t)level;
        memcpy(key + 1, item, (size_t)level);
        MDB_val fk = rk_mdb_val(key, 1 + (size_t)level), fv;
        rk_fpagg a = {0};
        rc = mdb_cursor_get(c, &fk, &fv, MDB_SET);
        bool found = rc == 0 && fv.mv_size == RK_FP_VAL_LEN;
        if (found)
            rk_fpagg_decode(&a, &fv);
        else if (rc != 0 && rc != MDB_NOTFOUND)
            break;
        bool kept_before = rk_fpset_keeps_children(level, a.count);
        if (sign > 0)
            rk_fpagg_add(&a, &delta);
        else
            rk_fpagg_sub(&a, &delta);
        if (a.count == 0) {
            rc = rc == 0 ? mdb_cursor_del(c, 0) : 0;
        } else {
            uint8_t buf[RK_FP_VAL_LEN];
            rk_fpagg_encode(&a, buf);
            fk = rk_mdb_val(key, 1 + (size_t)level);
            fv = rk_mdb_val(buf, sizeof buf);
            rc = mdb_cursor_put(c, &fk, &fv, found ? MDB_CURRENT : 0);
        }
        bool kept_after = rk_fpset_keeps_children(level, a.count);
        if (rc != 0 || (kept_before && kept_after))
            continue; /* the bucket below on the item's path is updated next */
        if (kept_after) {
            if (build_below(t, txn, items, c, item, level, a.count, &rc, err) != 0) {
                rk_txn_cursor_close(t, c);
                return rc != 0 ? rk_txn_fail(t, rc, "writing a fingerprint bucket", err) : -1;
            }
        } else if (kept_before) {
            rc = drop_below(c, item, level);
        }
        break; /* nothing below this bucket is kept, or it was all written from the items */
    }
    rk_txn_cursor_close(t, c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "writing a fingerprint bucket", err);
    return 0;
}

static int bucket_items(rk_txn *t, MDB_txn *txn, MDB_dbi items, const uint8_t k[RK_ITEM_LEN], size_t plen,
                        rk_fpagg *out, rk_error *err);

/* Aggregate of all items strictly below k. Walks down the prefix trie: at each level it adds the
 * sibling buckets before k's byte (scanning whichever side of the byte is shorter and subtracting
 * from the parent when it scans the upper side), and at the deepest level the few items that share
 * k's whole prefix. At most RK_FP_DEPTH * 128 bucket reads plus one deepest bucket. */
/* The walk from level `first` on, for a caller that has added to out everything below the bucket
 * k[0 .. first-1), whose aggregate is parent. */
static int prefix_agg_walk_from(rk_txn *t, MDB_txn *txn, MDB_dbi items, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN],
                                int first, rk_fpagg parent, rk_fpagg *out, rk_error *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, fps, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t key[RK_FP_KEY_MAX] = {0};
    MDB_val ck, cv;
    bool reached_depth = true;
    int level = first;
    for (; level <= RK_FP_DEPTH; level++) {
        if (parent.count <= FP_SCAN_ITEMS)
            break; /* the bucket k[0 .. level-1) is small: its items are read instead of its subtree */
        uint8_t b = k[level - 1];
        key[0] = (uint8_t)level;
        memcpy(key + 1, k, (size_t)level);
        rk_fpagg here = {0};
        bool exact = false;
        if (b < 128) {
            key[level] = 0;
            ck = rk_mdb_val(key, 1 + (size_t)level);
            rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
            while (rc == 0 && rk_fpagg_is_child(&ck, level, k)) {
                uint8_t kb = ((const uint8_t *)ck.mv_data)[level];
                rk_fpagg a;
                rk_fpagg_decode(&a, &cv);
                if (kb == b) {
                    here = a;
                    exact = true;
                    break;
                }
                if (kb > b)
                    break;
                rk_fpagg_add(out, &a);
                rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
            }
        } else {
            ck = rk_mdb_val(key, 1 + (size_t)level);
            rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
            rk_fpagg upper = {0};
            while (rc == 0 && rk_fpagg_is_child(&ck, level, k)) {
                rk_fpagg a;
                rk_fpagg_decode(&a, &cv);
                if (((const uint8_t *)ck.mv_data)[level] == b) {
                    here = a;
                    exact = true;
                }
                rk_fpagg_add(&upper, &a);
                rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
            }
            rk_fpagg before = parent;
            rk_fpagg_sub(&before, &upper);
            rk_fpagg_add(out, &before);
        }
        if (rc != 0 && rc != MDB_NOTFOUND)
            goto fail;
        if (!exact) {
            reached_depth = false;
            break;
        }
        parent = here;
    }
    rk_txn_cursor_close(t, c);
    if (!reached_depth)
        return 0;
    return bucket_items(t, txn, items, k, (size_t)level - 1, out, err);
fail:
    rk_txn_cursor_close(t, c);
    return rk_txn_fail(t, rc, "reading the fingerprint index", err);
}

/* Adds to out the items below k that share k's whole RK_FP_DEPTH-byte prefix (usually none or one). */
static int prefix_agg_walk(rk_txn *t, MDB_txn *txn, MDB_dbi items, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN],
                           rk_fpagg *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t root_key[1] = {0};
    MDB_val rk = rk_mdb_val(root_key, 1), rv;
    int rc = mdb_get(txn, fps, &rk, &rv);
    if (rc == MDB_NOTFOUND)
        return 0; /* empty set */
    if (rc != 0)
        return rk_txn_fail(t, rc, "reading the fingerprint index", err);
    rk_fpagg root;
    rk_fpagg_decode(&root, &rv);
    return prefix_agg_walk_from(t, txn, items, fps, k, 1, root, out, err);
}

/* Adds to out the items below k that share its first plen bytes: the items of one bucket, read from
 * the set itself (used for buckets of at most FP_SCAN_ITEMS items, and for the deepest level). */
static int bucket_items(rk_txn *t, MDB_txn *txn, MDB_dbi items, const uint8_t k[RK_ITEM_LEN], size_t plen,
                        rk_fpagg *out, rk_error *err)
{
    MDB_cursor *c;
    MDB_val ck, cv;
    int rc = 0;
    if (items_from_prefix(t, txn, items, k, plen, &c, &ck, &cv, &rc, err) != 0)
        return -1;
    while (rc == 0 && ck.mv_size == RK_ITEM_LEN && memcmp(ck.mv_data, k, RK_ITEM_LEN) < 0) {
        rk_fpagg a;
        rk_fpagg_of_hash(&a, (const uint8_t *)ck.mv_data + 8);
        rk_fpagg_add(out, &a);
        rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;
    rk_txn_cursor_close(t, c);
    return 0;
fail:
    rk_txn_cursor_close(t, c);
    return rk_txn_fail(t, rc, "reading the fingerprint index", err);
}

/* prefix_agg_walk with the sibling sums of the kept levels taken from the transaction's nodes and
 * the lower ones walked as before. */
static int prefix_agg_cached(rk_txn *t, rk_fpcache *cache, MDB_txn *txn, MDB_dbi items, MDB_dbi fps,
                             const uint8_t k[RK_ITEM_LEN], rk_fpagg *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    MDB_cursor *c = NULL;
    rk_fpagg parent = {0};
    int level = 1, rc = 0;
    bool absent = false; /* k's bucket at `level` does not exist: nothing below k lies under it */
    for (; level <= RK_FPCACHE_LEVELS; level++) {
        if (level > RK_FPCACHE_FULL_LEVELS && parent.count <= FP_SCAN_ITEMS)
            break; /* a small bucket: its items are cheaper than its node */
        const rk_fpnode *node;
        rk_fpnode *tmp;
        if (rk_fpcache_node(t, cache, fps, &c, level, k, &node, &tmp, err) != 0) {
            rc = -1;
            break;
        }
        uint8_t b = k[level - 1];
        unsigned lo = node->rank[b];
        bool exact = lo < node->n && node->byte[lo] == b;
        rk_fpagg before;
        rc = rk_fpcache_span(t, fps, &c, level, k, node, lo, &before, exact ? &parent : NULL, err);
        free(tmp);
        if (rc != 0)
            break;
        rk_fpagg_add(out, &before);
        if (!exact) {
            absent = true;
            break;
        }
    }
    if (c)
        rk_txn_cursor_close(t, c);
    if (rc != 0 || absent)
        return rc;
    return prefix_agg_walk_from(t, txn, items, fps, k, level, parent, out, err);
}

/* The aggregate of the items below k: for a read-only transaction from its memo when it asked for k
 * lately, else through its node cache; a write transaction walks the index. */
static int prefix_agg(rk_txn *t, MDB_txn *txn, MDB_dbi items, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN], rk_fpagg *out,
                      rk_error *err)
{
    rk_fpcache *cache = rk_fpcache_of(t);
    if (!cache)
        return prefix_agg_walk(t, txn, items, fps, k, out, err);
    const rk_fpagg *known = rk_fpcache_memo_find(cache, fps, k);
    if (known) {
        *out = *known;
        return 0;
    }
    if (prefix_agg_cached(t, cache, txn, items, fps, k, out, err) != 0)
        return -1;
    rk_fpcache_memo_put(cache, fps, NULL, k, out);
    return 0;
}

int rk_store_set_fingerprint(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                             uint64_t *count, uint8_t fp[RK_FP_LEN], rk_error *err)
{
    MDB_dbi items = 0, fps = 0;
    MDB_txn *txn = set_open(t, set, &items, &fps, err);
    if (!txn)
        return -1;
    rk_fpagg range = {0};
    if (memcmp(lo, hi, RK_ITEM_LEN) < 0) {
        rk_fpagg below_lo;
        if (prefix_agg(t, txn, items, fps, hi, &range, err) != 0 ||
            prefix_agg(t, txn, items, fps, lo, &below_lo, err) != 0)
            return -1;
        rk_fpagg_sub(&range, &below_lo);
    }
    *count = range.count;
    rk_fpagg_fingerprint(&range, fp);
    return 0;
}

int rk_store_set_total(rk_txn *t, int set, uint64_t *count, uint8_t fp[RK_FP_LEN], rk_error *err)
{
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    return rk_store_set_fingerprint(t, set, lo, hi, count, fp, err);
}

int rk_store_set_items(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], size_t limit,
                       rk_item_cb cb, void *ctx, rk_error *err)
{
    MDB_dbi items = 0, fps = 0;
    MDB_txn *txn = set_open(t, set, &items, &fps, err);
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
    return rk_txn_cursor_done(t, c, rc, "reading a reconciliation set", err);
}

/* One level of the nth descent: finds the child of the bucket prefix[0 .. level-1) (whose aggregate
 * is *bucket) that holds the item of rank *target within it, and moves to it: its byte into
 * prefix[level-1], its aggregate into *bucket, the rank within it into *target, and the aggregate of
 * the siblings before it added to *acc. Like the walk, it scans from whichever end is nearer. 0, or
 * MDB_NOTFOUND when the children disagree with the counts, or LMDB's error. */
static int nth_child(MDB_cursor *c, int level, uint8_t prefix[RK_FP_DEPTH], rk_fpagg *bucket, uint64_t *target,
                     rk_fpagg *acc)
{
    uint8_t key[RK_FP_KEY_MAX] = {0};
    key[0] = (uint8_t)level;
    memcpy(key + 1, prefix, (size_t)level - 1);
    MDB_val ck, cv;
    rk_fpagg a;
    int rc;
    if (*target < bucket->count / 2) {
        ck = rk_mdb_val(key, 1 + (size_t)level);
        rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
        for (; rc == 0 && rk_fpagg_is_child(&ck, level, prefix); rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT)) {
            rk_fpagg_decode(&a, &cv);
            if (*target < a.count)
                goto found;
            *target -= a.count;
            rk_fpagg_add(acc, &a);
        }
        return rc == 0 ? MDB_NOTFOUND : rc;
    }
    /* from the last child down: `above` items lie at or above the target */
    uint64_t above = bucket->count - *target;
    rk_fpagg upper = {0};
    key[level] = 0xff;
    ck = rk_mdb_val(key, 1 + (size_t)level);
    rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, &ck, &cv, MDB_LAST);
    else if (rc == 0 && !(rk_fpagg_is_child(&ck, level, prefix) && ((const uint8_t *)ck.mv_data)[level] == 0xff))
        rc = mdb_cursor_get(c, &ck, &cv, MDB_PREV);
    for (; rc == 0 && rk_fpagg_is_child(&ck, level, prefix); rc = mdb_cursor_get(c, &ck, &cv, MDB_PREV)) {
        rk_fpagg_decode(&a, &cv);
        if (above <= a.count) {
            *target = a.count - above;
            rk_fpagg before = *bucket;
            rk_fpagg_sub(&before, &upper);
            rk_fpagg_sub(&before, &a);
            rk_fpagg_add(acc, &before);
            goto found;
        }
        above -= a.count;
        rk_fpagg_add(&upper, &a);
    }
    return rc == 0 ? MDB_NOTFOUND : rc;
found:
    prefix[level - 1] = ((const uint8_t *)ck.mv_data)[level];
    *bucket = a;
    return 0;
}

int rk_store_set_nth_pair(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
                          uint8_t next[RK_ITEM_LEN], rk_error *err)
{
    MDB_dbi items = 0, fps = 0;
    MDB_txn *txn = set_open(t, set, &items, &fps, err);
    if (!txn)
        return -1;
    rk_fpagg below;
    if (prefix_agg(t, txn, items, fps, lo, &below, err) != 0)
        return -1;
    uint64_t target = below.count + n;
    if (target < below.count)
        return 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, fps, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t key[RK_FP_KEY_MAX] = {0};
    MDB_val ck = rk_mdb_val(key, 1), cv;
    rk_fpagg root = {0};
    rk_fpcache *cache = rk_fpcache_of(t);
    const rk_fpnode *top = NULL;
    rk_fpnode *top_tmp = NULL;
    if (cache) {
        /* the root's count is the sum of its children, which the cache holds */
        MDB_cursor *nc = NULL;
        uint8_t none[RK_FP_DEPTH] = {0};
        rc = rk_fpcache_node(t, cache, fps, &nc, 1, none, &top, &top_tmp, err);
        if (nc)
            rk_txn_cursor_close(t, nc);
        if (rc != 0) {
            rk_txn_cursor_close(t, c);
            return -1;
        }
        root = top->cum[top->n];
        free(top_tmp);
    } else {
        rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_KEY);
        if (rc == 0)
            rk_fpagg_decode(&root, &cv);
        else if (rc != MDB_NOTFOUND)
            goto fail;
    }
    if (target >= root.count) {
        rk_txn_cursor_close(t, c);
        return 0;
    }
    /* Descend by counts: at each level pick the child bucket that holds the target rank, adding the
     * buckets skipped to acc, which ends as the aggregate of the items below the one found. */
    uint8_t prefix[RK_FP_DEPTH] = {0};
    rk_fpagg acc = {0};
    int first_level = 1;
    rk_fpagg bucket = root; /* the items under prefix[0 .. level-1) */
    if (cache && bucket.count > FP_SCAN_ITEMS) {
        /* the kept levels from the transaction's trie nodes: a binary search over the running counts
         * per level, then the skipped siblings' sums from the node (and, on the strided level, a few
         * cursor steps) */
        MDB_cursor *nc = NULL;
        bool corrupt = false, failed = false;
        int level = 1;
        for (; level <= RK_FPCACHE_LEVELS; level++) {
            if (level > RK_FPCACHE_FULL_LEVELS && bucket.count <= FP_SCAN_ITEMS)
                break;
            const rk_fpnode *node;
            rk_fpnode *tmp;
            if (rk_fpcache_node(t, cache, fps, &nc, level, prefix, &node, &tmp, err) != 0) {
                failed = true;
                break;
            }
            unsigned lo_i = 0, hi_i = node->n;
            while (lo_i < hi_i) {
                unsigned mid = lo_i + (hi_i - lo_i) / 2;
                if (rk_fpnode_count_below(node, mid + 1) <= target)
                    lo_i = mid + 1;
                else
                    hi_i = mid;
            }
            bool found = lo_i < node->n;
            rk_fpagg before;
            int src = found ? rk_fpcache_span(t, fps, &nc, level, prefix, node, lo_i, &before, &bucket, err) : 0;
            if (found && src == 0) {
                target -= before.count;
                rk_fpagg_add(&acc, &before);
                prefix[level - 1] = node->byte[lo_i];
            }
            free(tmp);
            corrupt = !found;
            failed = !found || src != 0;
            if (failed)
                break;
        }
        if (nc)
            rk_txn_cursor_close(t, nc);
        if (failed) {
            rk_txn_cursor_close(t, c);
            return corrupt ? rk_fail(err, "store_corrupt", "", "the fingerprint index disagrees with its counts") : -1;
        }
        first_level = level;
    }
    int level = first_level;
    for (; level <= RK_FP_DEPTH && bucket.count > FP_SCAN_ITEMS; level++) {
        rc = nth_child(c, level, prefix, &bucket, &target, &acc);
        if (rc == MDB_NOTFOUND) {
            rk_txn_cursor_close(t, c);
            return rk_fail(err, "store_corrupt", "", "the fingerprint index disagrees with its counts");
        }
        if (rc != 0)
            goto fail;
    }
    rk_txn_cursor_close(t, c);
    /* the bucket prefix[0 .. level-1) is small (or the deepest): step through its items */
    size_t plen = (size_t)level - 1;
    if (items_from_prefix(t, txn, items, prefix, plen, &c, &ck, &cv, &rc, err) != 0)
        return -1;
    while (rc == 0 && target > 0 && ck.mv_size == RK_ITEM_LEN) {
        rk_fpagg a;
        rk_fpagg_of_hash(&a, (const uint8_t *)ck.mv_data + 8);
        rk_fpagg_add(&acc, &a);
        target--;
        rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
    }
    if (rc == 0 && ck.mv_size == RK_ITEM_LEN && memcmp(ck.mv_data, prefix, plen) == 0) {
        memcpy(out, ck.mv_data, RK_ITEM_LEN);
        int found = 1;
        if (next) {
            rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT);
            if (rc == 0 && ck.mv_size == RK_ITEM_LEN) {
                memcpy(next, ck.mv_data, RK_ITEM_LEN);
                found = 2;
                if (cache) {
                    /* every key in (out, next] has the items up to out below it: a split's bound */
                    rk_fpagg a;
                    rk_fpagg_of_hash(&a, out + 8);
                    rk_fpagg_add(&acc, &a);
                    rk_fpcache_memo_put(cache, fps, out, next, &acc);
                }
            } else if (rc != 0 && rc != MDB_NOTFOUND) {
                goto fail;
            }
        }
        rk_txn_cursor_close(t, c);
        return found;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;
    rk_txn_cursor_close(t, c);
    return rk_fail(err, "store_corrupt", "", "the fingerprint index disagrees with the set");
fail:
    rk_txn_cursor_close(t, c);
    return rk_txn_fail(t, rc, "reading the fingerprint index", err);
}

int rk_store_set_nth(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
                     rk_error *err)
{
    return rk_store_set_nth_pair(t, set, lo, n, out, NULL, err);
}

/* Which sets a record of this visibility belongs to: bit 0 = set0, bit 1 = set1. */
static unsigned set_mask(int visibility)
{
    switch (visibility) {
    case RENKEI__VISIBILITY__VISIBILITY_PUBLIC: return 3;
    case RENKEI__VISIBILITY__VISIBILITY_NETWORK: return 2;
    default: return 0;
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
