/* fpcache: the memo of bounds and the upper trie nodes a read-only transaction keeps (fpcache.h).
 *
 * The cache lives behind a pointer in the transaction's scratch space and is freed by the
 * transaction's cleanup. Nodes are bounded per transaction: a responder builds a cache per message
 * and an initiator one per reconciliation, and either must stay well inside the daemon's memory
 * target; past the bound a node is read and used without being kept.
 */
#include "fpcache.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#define FPCACHE_MAX_BYTES (8u << 20)

/* Reconciliation asks for the fingerprints of adjacent ranges, so most bounds are asked for twice
 * in a row (as one range's end and the next one's start), and a split asks for the bounds its nth
 * descents have just passed; a split of RK_SYNC_BRANCH parts passes 15 pairs and then needs its
 * range's upper bound again, so the memo holds twice that. */
#define MEMO_SLOTS 32
typedef struct memo_slot {
    bool valid, interval;
    MDB_dbi fps;
    uint8_t lo[RK_ITEM_LEN]; /* interval slots only */
    uint8_t hi[RK_ITEM_LEN];
    rk_fpagg value;
} memo_slot;

/* Which node: the fingerprint database, the children's level (1..RK_FP_DEPTH) and the parent's
 * prefix (level - 1 bytes, the rest zero). Zeroed as a whole, padding included, before it is filled,
 * since it is hashed and compared as bytes. */
typedef struct node_key {
    MDB_dbi fps;
    uint8_t level;
    uint8_t prefix[RK_FP_DEPTH - 1];
} node_key;

/* The node used last at each level, with its prefix: the bounds of a message ascend, so the next
 * walk usually passes the same nodes and finds them here without hashing. */
typedef struct path_slot {
    MDB_dbi fps;
    uint8_t prefix[RK_FP_DEPTH];
    const rk_fpnode *node; /* NULL: empty */
} path_slot;

struct rk_fpcache {
    memo_slot memo[MEMO_SLOTS];
    unsigned memo_next; /* the slot to fill next; the newest is the one before it */
    GHashTable *nodes;  /* node_key -> rk_fpnode, both owned */
    size_t bytes;
    path_slot path[RK_FPCACHE_LEVELS + 1];
};

/* In the read-only transaction's scratch space, zeroed when the transaction begins. */
typedef struct fp_scratch {
    rk_fpcache *cache;
    bool failed; /* out of memory once: the caller walks the index for the rest */
} fp_scratch;
_Static_assert(sizeof(fp_scratch) <= RK_TXN_SCRATCH_LEN, "the cache must fit the transaction's scratch space");

static void scratch_free(void *scratch)
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
    for (size_t i = 0; i < sizeof(node_key); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean node_key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(node_key)) == 0;
}

rk_fpcache *rk_fpcache_of(rk_txn *t)
{
    fp_scratch *fs = rk_txn_scratch(t);
    if (!fs)
        return NULL;
    if (!fs->cache && !fs->failed) {
        fs->cache = calloc(1, sizeof *fs->cache);
        if (fs->cache)
            fs->cache->nodes = g_hash_table_new_full(node_key_hash, node_key_equal, free, free);
        if (fs->cache && fs->cache->nodes) {
            rk_txn_scratch_cleanup(t, scratch_free);
        } else {
            free(fs->cache);
            fs->cache = NULL;
            fs->failed = true;
        }
    }
    return fs->cache;
}

const rk_fpagg *rk_fpcache_memo_find(const rk_fpcache *c, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN])
{
    /* newest first: the bound asked for is most often the one just computed */
    for (unsigned i = 1; i <= MEMO_SLOTS; i++) {
        const memo_slot *m = &c->memo[(c->memo_next + MEMO_SLOTS - i) % MEMO_SLOTS];
        if (!m->valid || m->fps != fps)
            continue;
        int cmp = rk_fpagg_item_cmp(k, m->hi);
        if (cmp == 0 || (m->interval && cmp < 0 && rk_fpagg_item_cmp(k, m->lo) > 0))
            return &m->value;
    }
    return NULL;
}

void rk_fpcache_memo_put(rk_fpcache *c, MDB_dbi fps, const uint8_t *lo, const uint8_t hi[RK_ITEM_LEN],
                         const rk_fpagg *value)
{
    memo_slot *m = &c->memo[c->memo_next];
    c->memo_next = (c->memo_next + 1) % MEMO_SLOTS;
    m->valid = true;
    m->interval = lo != NULL;
    m->fps = fps;
    if (lo)
        memcpy(m->lo, lo, RK_ITEM_LEN);
    memcpy(m->hi, hi, RK_ITEM_LEN);
    m->value = *value;
}

static void path_remember(path_slot *ps, MDB_dbi fps, const uint8_t *k, int level, const rk_fpnode *node)
{
    ps->fps = fps;
    memcpy(ps->prefix, k, (size_t)level - 1);
    ps->node = node;
}

/* Reads the children at `level` of the bucket k[0 .. level-1) into a new node. */
static int node_read(rk_txn *t, MDB_dbi fps, MDB_cursor **cur, int level, const uint8_t *k, rk_fpnode **out,
                     rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    int rc = *cur ? 0 : mdb_cursor_open(txn, fps, cur);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t bk[RK_FP_KEY_MAX] = {0}, bytes[256];
    rk_fpagg children[256];
    unsigned n = 0;
    bk[0] = (uint8_t)level;
    memcpy(bk + 1, k, (size_t)level - 1);
    MDB_val ck = rk_mdb_val(bk, 1 + (size_t)level), cv;
    rc = mdb_cursor_get(*cur, &ck, &cv, MDB_SET_RANGE);
    while (rc == 0 && rk_fpagg_is_child(&ck, level, k) && n < 256) {
        bytes[n] = ((const uint8_t *)ck.mv_data)[level];
        rk_fpagg_decode(&children[n], &cv);
        n++;
        rc = mdb_cursor_get(*cur, &ck, &cv, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rk_txn_fail(t, rc, "reading the fingerprint index", err);
    rk_fpnode *nd = malloc(sizeof(rk_fpnode) + (n + 1) * sizeof(rk_fpagg));
    if (!nd)
        return rk_fail(err, "no_memory", "", "out of memory while reading the fingerprint index");
    nd->n = n;
    memcpy(nd->byte, bytes, n);
    memset(&nd->cum[0], 0, sizeof(rk_fpagg));
    for (unsigned i = 0; i < n; i++) {
        nd->cum[i + 1] = nd->cum[i];
        rk_fpagg_add(&nd->cum[i + 1], &children[i]);
    }
    for (unsigned b = 0, i = 0; b < 256; b++) {
        while (i < n && bytes[i] < b)
            i++;
        nd->rank[b] = (uint16_t)i;
    }
    *out = nd;
    return 0;
}

int rk_fpcache_node(rk_txn *t, rk_fpcache *c, MDB_dbi fps, MDB_cursor **cur, int level, const uint8_t *k,
                    const rk_fpnode **node, rk_fpnode **tmp, rk_error *err)
{
    *tmp = NULL;
    path_slot *ps = &c->path[level];
    if (ps->node && ps->fps == fps && memcmp(ps->prefix, k, (size_t)level - 1) == 0) {
        *node = ps->node;
        return 0;
    }
    node_key key;
    memset(&key, 0, sizeof key);
    key.fps = fps;
    key.level = (uint8_t)level;
    memcpy(key.prefix, k, (size_t)level - 1);
    *node = g_hash_table_lookup(c->nodes, &key);
    if (*node) {
        path_remember(ps, fps, k, level, *node);
        return 0;
    }
    rk_fpnode *nd;
    if (node_read(t, fps, cur, level, k, &nd, err) != 0)
        return -1;
    size_t cost = sizeof(rk_fpnode) + (nd->n + 1) * sizeof(rk_fpagg) + sizeof key + 64; /* 64: the table's share */
    node_key *kept = c->bytes + cost <= FPCACHE_MAX_BYTES ? malloc(sizeof key) : NULL;
    if (kept) {
        *kept = key;
        g_hash_table_insert(c->nodes, kept, nd);
        c->bytes += cost;
        path_remember(ps, fps, k, level, nd);
    } else {
        *tmp = nd;
    }
    *node = nd;
    return 0;
}
