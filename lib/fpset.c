/* fpset: the RBSR sets and their fingerprint index (the layout is in fpset.h and docs/storage.md).
 *
 * A range's aggregate is the difference of two prefix aggregates, each a walk down the prefix trie of
 * fp0/fp1; the deepest level is summed from the items themselves. Sums are kept little-endian in
 * four 64-bit limbs and wrap modulo 2^256, so adding and removing an item are exact inverses.
 */
#include "fpset.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "renkei.pb-c.h"
#include "sign.h"

#define RK_FP_DEPTH 10 /* prefix lengths 1..10 are aggregated, plus the root */
#define FP_KEY_MAX (1 + RK_FP_DEPTH)
#define FP_VAL_LEN (8 + 32) /* count(le64) || sum(32 bytes little-endian) */

/* Count and 256-bit sum of the item hashes of a range of a reconciliation set. */
typedef struct agg {
    uint64_t count;
    uint64_t sum[4]; /* little-endian limbs of the 256-bit sum */
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
/* The children of one trie bucket as a read-only transaction sees them: their last key bytes in
 * ascending order and the aggregate of the children before each, so the sum of the siblings below a
 * byte is one binary search instead of up to 128 cursor steps. Reconciliation asks for thousands of
 * bounds in a message, and neighbouring bounds share all the upper levels of their walks: the upper
 * levels of the trie are read once per transaction and then answered from memory. */
typedef struct fp_node {
    unsigned n;
    uint8_t byte[256];
    agg cum[]; /* n + 1 entries: cum[i] = aggregate of children 0 .. i-1 */
} fp_node;

/* Which node: the fingerprint database, the children's level (1..RK_FP_DEPTH) and the parent's
 * prefix (level - 1 bytes, the rest zero). Zeroed as a whole, padding included, before it is filled,
 * since it is hashed and compared as bytes. */
typedef struct fp_node_key {
    MDB_dbi fps;
    uint8_t level;
    uint8_t prefix[RK_FP_DEPTH - 1];
} fp_node_key;

/* Nodes cached per transaction are bounded: a responder builds a cache per message and an initiator
 * one per reconciliation, and either must stay well inside the daemon's memory target. Past the
 * bound a node is read and used without being kept. */
#define FP_CACHE_MAX_BYTES (8u << 20)
/* Only the upper levels are kept: their few nodes lie on nearly every walk. Below, a node is visited
 * by few bounds of a message, and reading all its children (up to 256) to keep it costs more than
 * the partial scans it would save; with versions spread over a year, level 5 (the 4.6-hour byte of
 * the millisecond version, 256 children under each 50-day bucket) is the last level that pays. */
#define FP_CACHE_LEVELS 5
typedef struct fp_cache {
    GHashTable *nodes; /* fp_node_key -> fp_node, both owned */
    size_t bytes;
} fp_cache;

/* Both live in the read-only transaction's scratch space, zeroed when the transaction begins; the
 * cache is made on first use and freed when the transaction ends. */
typedef struct fp_scratch {
    agg_memo memo;
    fp_cache *cache;
    bool cache_failed; /* out of memory once: walk the index directly for the rest */
} fp_scratch;
_Static_assert(sizeof(fp_scratch) <= RK_TXN_SCRATCH_LEN, "the memo must fit the transaction's scratch space");

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

/* Opens a cursor *c on the set's items at the first one whose RK_FP_DEPTH-byte prefix is at least
 * prefix's; *rc is that read's LMDB code (0, MDB_NOTFOUND or an error). ck is valid only when *rc is
 * 0 (it then points into the map). Returns -1 with err when no cursor opens. */
static int items_from_prefix(rk_txn *t, MDB_txn *txn, MDB_dbi items, const uint8_t *prefix, MDB_cursor **c, MDB_val *ck,
                             MDB_val *cv, int *rc, rk_error *err)
{
    int orc = mdb_cursor_open(txn, items, c);
    if (orc != 0)
        return rk_txn_fail(t, orc, "opening a cursor", err);
    uint8_t start[RK_ITEM_LEN] = {0};
    memcpy(start, prefix, RK_FP_DEPTH);
    *ck = rk_mdb_val(start, RK_ITEM_LEN);
    *rc = mdb_cursor_get(*c, ck, cv, MDB_SET_RANGE);
    return 0;
}

/* Adds (sign > 0) or removes one item, in the set and in every aggregate above it. */
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

static int deepest_items(rk_txn *t, MDB_txn *txn, MDB_dbi items, const uint8_t k[RK_ITEM_LEN], agg *out, rk_error *err);

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
/* The walk from level `first` on, for a caller that has added to out everything below the bucket
 * k[0 .. first-1), whose aggregate is parent. */
static int prefix_agg_walk_from(rk_txn *t, MDB_txn *txn, MDB_dbi items, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN],
                                int first, agg parent, agg *out, rk_error *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, fps, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t key[FP_KEY_MAX] = {0};
    MDB_val ck, cv;
    bool reached_depth = true;
    for (int level = first; level <= RK_FP_DEPTH; level++) {
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
    return deepest_items(t, txn, items, k, out, err);
fail:
    mdb_cursor_close(c);
    return rk_txn_fail(t, rc, "reading the fingerprint index", err);
}

/* Adds to out the items below k that share k's whole RK_FP_DEPTH-byte prefix (usually none or one). */
static int prefix_agg_walk(rk_txn *t, MDB_txn *txn, MDB_dbi items, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN], agg *out,
                           rk_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t root_key[1] = {0};
    MDB_val rk = rk_mdb_val(root_key, 1), rv;
    int rc = mdb_get(txn, fps, &rk, &rv);
    if (rc == MDB_NOTFOUND)
        return 0; /* empty set */
    if (rc != 0)
        return rk_txn_fail(t, rc, "reading the fingerprint index", err);
    agg root;
    agg_decode(&root, &rv);
    return prefix_agg_walk_from(t, txn, items, fps, k, 1, root, out, err);
}

static int deepest_items(rk_txn *t, MDB_txn *txn, MDB_dbi items, const uint8_t k[RK_ITEM_LEN], agg *out, rk_error *err)
{
    MDB_cursor *c;
    MDB_val ck, cv;
    int rc = 0;
    if (items_from_prefix(t, txn, items, k, &c, &ck, &cv, &rc, err) != 0)
        return -1;
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

static void fp_scratch_free(void *scratch)
{
    fp_scratch *fs = scratch;
    if (fs->cache) {
        g_hash_table_destroy(fs->cache->nodes);
        free(fs->cache);
        fs->cache = NULL;
    }
}

static guint node_key_hash(gconstpointer p)
{
    /* FNV-1a over the key's bytes: the prefixes differ mostly in their last byte */
    const uint8_t *b = p;
    guint h = 2166136261u;
    for (size_t i = 0; i < sizeof(fp_node_key); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean node_key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(fp_node_key)) == 0;
}

/* The children at `level` of the bucket k[0 .. level-1), from the cache or read with cursor c (opened
 * on first need). *node is the answer; *tmp is set when it was not kept and the caller must free it. */
static int node_get(rk_txn *t, fp_cache *cache, MDB_txn *txn, MDB_dbi fps, MDB_cursor **c, int level, const uint8_t *k,
                    const fp_node **node, fp_node **tmp, rk_error *err)
{
    fp_node_key key;
    memset(&key, 0, sizeof key);
    key.fps = fps;
    key.level = (uint8_t)level;
    memcpy(key.prefix, k, (size_t)level - 1);
    *tmp = NULL;
    *node = g_hash_table_lookup(cache->nodes, &key);
    if (*node)
        return 0;
    int rc = *c ? 0 : mdb_cursor_open(txn, fps, c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t bk[FP_KEY_MAX] = {0}, bytes[256];
    agg children[256];
    unsigned n = 0;
    bk[0] = (uint8_t)level;
    memcpy(bk + 1, k, (size_t)level - 1);
    MDB_val ck = rk_mdb_val(bk, 1 + (size_t)level), cv;
    rc = mdb_cursor_get(*c, &ck, &cv, MDB_SET_RANGE);
    while (rc == 0 && is_child(&ck, level, k) && n < 256) {
        bytes[n] = ((const uint8_t *)ck.mv_data)[level];
        agg_decode(&children[n], &cv);
        n++;
        rc = mdb_cursor_get(*c, &ck, &cv, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rk_txn_fail(t, rc, "reading the fingerprint index", err);
    size_t size = sizeof(fp_node) + (n + 1) * sizeof(agg);
    fp_node *nd = malloc(size);
    if (!nd)
        return rk_fail(err, "no_memory", "", "out of memory while reading the fingerprint index");
    nd->n = n;
    memcpy(nd->byte, bytes, n);
    memset(&nd->cum[0], 0, sizeof(agg));
    for (unsigned i = 0; i < n; i++) {
        nd->cum[i + 1] = nd->cum[i];
        agg_add(&nd->cum[i + 1], &children[i]);
    }
    size_t cost = size + sizeof key + 64; /* 64: the hash table's own share per entry, roughly */
    fp_node_key *kept = cache->bytes + cost <= FP_CACHE_MAX_BYTES ? malloc(sizeof key) : NULL;
    if (kept) {
        *kept = key;
        g_hash_table_insert(cache->nodes, kept, nd);
        cache->bytes += cost;
    } else {
        *tmp = nd;
    }
    *node = nd;
    return 0;
}

/* prefix_agg_walk with the sibling sums of the upper levels taken from the transaction's node cache
 * and the lower ones walked as before. */
static int prefix_agg_cached(rk_txn *t, fp_cache *cache, MDB_txn *txn, MDB_dbi items, MDB_dbi fps,
                             const uint8_t k[RK_ITEM_LEN], agg *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    MDB_cursor *c = NULL;
    agg parent = {0};
    for (int level = 1; level <= FP_CACHE_LEVELS; level++) {
        const fp_node *node;
        fp_node *tmp;
        if (node_get(t, cache, txn, fps, &c, level, k, &node, &tmp, err) != 0) {
            if (c)
                mdb_cursor_close(c);
            return -1;
        }
        uint8_t b = k[level - 1];
        unsigned lo = 0, hi = node->n;
        while (lo < hi) {
            unsigned mid = lo + (hi - lo) / 2;
            if (node->byte[mid] < b)
                lo = mid + 1;
            else
                hi = mid;
        }
        agg_add(out, &node->cum[lo]);
        bool exact = lo < node->n && node->byte[lo] == b;
        if (exact) {
            parent = node->cum[lo + 1];
            agg_sub(&parent, &node->cum[lo]);
        }
        free(tmp);
        if (!exact) {
            if (c)
                mdb_cursor_close(c);
            return 0;
        }
    }
    if (c)
        mdb_cursor_close(c);
    return prefix_agg_walk_from(t, txn, items, fps, k, FP_CACHE_LEVELS + 1, parent, out, err);
}

/* The aggregate below k for a read-only transaction: from its node cache (made on first use), or by
 * walking the index when the cache could not be made. */
static int prefix_agg_read(rk_txn *t, fp_scratch *fs, MDB_txn *txn, MDB_dbi items, MDB_dbi fps,
                           const uint8_t k[RK_ITEM_LEN], agg *out, rk_error *err)
{
    if (!fs->cache && !fs->cache_failed) {
        fs->cache = calloc(1, sizeof *fs->cache);
        if (fs->cache)
            fs->cache->nodes = g_hash_table_new_full(node_key_hash, node_key_equal, free, free);
        if (fs->cache && fs->cache->nodes) {
            rk_txn_scratch_cleanup(t, fp_scratch_free);
        } else {
            free(fs->cache);
            fs->cache = NULL;
            fs->cache_failed = true;
        }
    }
    if (!fs->cache)
        return prefix_agg_walk(t, txn, items, fps, k, out, err);
    return prefix_agg_cached(t, fs->cache, txn, items, fps, k, out, err);
}

/* The aggregate of the items below k: answered from the transaction's memo when a read-only one
 * asked for k lately, else from its node cache; a write transaction walks the index. */
static int prefix_agg(rk_txn *t, MDB_txn *txn, MDB_dbi items, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN], agg *out,
                      rk_error *err)
{
    fp_scratch *fs = rk_txn_scratch(t);
    if (!fs)
        return prefix_agg_walk(t, txn, items, fps, k, out, err);
    agg_memo *memo = &fs->memo;
    for (unsigned i = 0; i < AGG_MEMO_SLOTS; i++) {
        const agg_slot *m = &memo->slot[i];
        if (m->valid && m->fps == fps && memcmp(m->key, k, RK_ITEM_LEN) == 0) {
            *out = m->value;
            return 0;
        }
    }
    if (prefix_agg_read(t, fs, txn, items, fps, k, out, err) != 0)
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
    MDB_txn *txn = set_open(t, set, &items, &fps, err);
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

int rk_store_set_nth(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
                     rk_error *err)
{
    MDB_dbi items = 0, fps = 0;
    MDB_txn *txn = set_open(t, set, &items, &fps, err);
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
    int first_level = 1;
    fp_scratch *fs = rk_txn_scratch(t);
    if (fs && fs->cache) {
        /* the upper levels from the transaction's trie nodes: a binary search over the running counts per level */
        MDB_cursor *nc = NULL;
        for (int level = 1; level <= FP_CACHE_LEVELS; level++) {
            const fp_node *node;
            fp_node *tmp;
            if (node_get(t, fs->cache, txn, fps, &nc, level, prefix, &node, &tmp, err) != 0) {
                if (nc)
                    mdb_cursor_close(nc);
                mdb_cursor_close(c);
                return -1;
            }
            unsigned lo_i = 0, hi_i = node->n;
            while (lo_i < hi_i) {
                unsigned mid = lo_i + (hi_i - lo_i) / 2;
                if (node->cum[mid + 1].count <= target)
                    lo_i = mid + 1;
                else
                    hi_i = mid;
            }
            bool found = lo_i < node->n;
            if (found) {
                target -= node->cum[lo_i].count;
                prefix[level - 1] = node->byte[lo_i];
            }
            free(tmp);
            if (!found) {
                if (nc)
                    mdb_cursor_close(nc);
                mdb_cursor_close(c);
                return rk_fail(err, "store_corrupt", "", "the fingerprint index disagrees with its counts");
            }
        }
        if (nc)
            mdb_cursor_close(nc);
        first_level = FP_CACHE_LEVELS + 1;
    }
    for (int level = first_level; level <= RK_FP_DEPTH; level++) {
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
    if (items_from_prefix(t, txn, items, prefix, &c, &ck, &cv, &rc, err) != 0)
        return -1;
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
