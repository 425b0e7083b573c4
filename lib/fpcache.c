/* fpcache: the memo of bounds and the trie nodes read transactions keep (fpcache.h).
 *
 * The nodes live in a generation shared by the store's read transactions: the first transaction to
 * need one starts it at its snapshot, later ones whose snapshot rk_txn_shared_valid says still holds
 * what that one saw use and grow it, and a write that changes a set (rk_txn_mark_shared, in
 * fpset.c) makes every generation before it unusable for transactions after it, so the next of
 * those starts a new one. A generation is freed when it is no longer current and the last
 * transaction using it ends. The reconciliation responder reads through one transaction per message,
 * and each message walks the same upper levels: kept this way, they are read once per stretch of
 * time without writes rather than once per message.
 *
 * Bounds: a generation keeps at most FPGEN_MAX_BYTES of nodes, a transaction at most
 * FPCACHE_MAX_BYTES of its own (the nodes it reads when it has no generation, or when the
 * generation is full); past that a node is read and used without being kept. The memo is always
 * the transaction's own: it holds bounds of its messages, not of the set.
 */
#include "fpcache.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#define FPCACHE_MAX_BYTES (8u << 20)
#define FPGEN_MAX_BYTES (16u << 20)

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

/* Nodes read from one snapshot, good for every transaction that rk_txn_shared_valid(txnid) admits.
 * Its table only grows, so a node found in it stays put for as long as the generation lives. */
typedef struct fpgen {
    uint64_t txnid;
    unsigned refs;     /* under fpshared.mu: the store's while it is current, and one per transaction */
    GHashTable *nodes; /* node_key -> rk_fpnode, both owned */
    size_t bytes;
} fpgen;

/* The store's object (rk_txn_store_shared). */
typedef struct fpshared {
    GMutex mu;
    fpgen *current;
} fpshared;

struct rk_fpcache {
    memo_slot memo[MEMO_SLOTS];
    unsigned memo_next; /* the slot to fill next; the newest is the one before it */
    fpshared *shared;
    fpgen *gen;        /* NULL: this transaction keeps its nodes to itself */
    GHashTable *nodes; /* its own: node_key -> rk_fpnode, both owned */
    size_t bytes;
    path_slot path[RK_FPCACHE_LEVELS + 1];
};

/* In the read-only transaction's scratch space, zeroed when the transaction begins. */
typedef struct fp_scratch {
    rk_fpcache *cache;
    bool failed; /* out of memory once: the caller walks the index for the rest */
} fp_scratch;
_Static_assert(sizeof(fp_scratch) <= RK_TXN_SCRATCH_LEN, "the cache must fit the transaction's scratch space");

static void gen_unref_locked(fpgen *g)
{
    if (--g->refs == 0) {
        g_hash_table_destroy(g->nodes);
        free(g);
    }
}

static void scratch_free(void *scratch)
{
    fp_scratch *fs = scratch;
    rk_fpcache *c = fs->cache;
    if (!c)
        return;
    if (c->gen) {
        g_mutex_lock(&c->shared->mu);
        gen_unref_locked(c->gen);
        g_mutex_unlock(&c->shared->mu);
    }
    g_hash_table_destroy(c->nodes);
    free(c);
    fs->cache = NULL;
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

static void *shared_make(void)
{
    fpshared *sh = calloc(1, sizeof *sh);
    if (sh)
        g_mutex_init(&sh->mu);
    return sh;
}

static void shared_destroy(void *obj)
{
    fpshared *sh = obj;
    if (sh->current)
        gen_unref_locked(sh->current);
    g_mutex_clear(&sh->mu);
    free(sh);
}

static fpgen *gen_new(uint64_t txnid)
{
    fpgen *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->nodes = g_hash_table_new_full(node_key_hash, node_key_equal, free, free);
    g->txnid = txnid;
    return g;
}

/* The generation t may use, with a reference taken: the current one if it holds for t's snapshot,
 * else a new one started at t's snapshot when that is newer and nothing marked since; NULL if
 * neither (an older snapshot, or a commit this handle did not make). */
static fpgen *gen_acquire(rk_txn *t, fpshared *sh)
{
    g_mutex_lock(&sh->mu);
    fpgen *g = sh->current;
    if (g && rk_txn_shared_valid(t, g->txnid)) {
        g->refs++;
    } else {
        uint64_t id = rk_txn_id(t);
        fpgen *ng = (!g || id > g->txnid) && rk_txn_shared_valid(t, id) ? gen_new(id) : NULL;
        if (ng) {
            if (g)
                gen_unref_locked(g);
            ng->refs = 2;
            sh->current = ng;
        }
        g = ng;
    }
    g_mutex_unlock(&sh->mu);
    return g;
}

rk_fpcache *rk_fpcache_of(rk_txn *t)
{
    fp_scratch *fs = rk_txn_scratch(t);
    if (!fs)
        return NULL;
    if (!fs->cache && !fs->failed) {
        rk_fpcache *c = calloc(1, sizeof *c);
        if (c)
            c->nodes = g_hash_table_new_full(node_key_hash, node_key_equal, free, free);
        if (!c || !c->nodes) {
            free(c);
            fs->failed = true;
            return NULL;
        }
        c->shared = rk_txn_store_shared(t, shared_make, shared_destroy);
        c->gen = c->shared ? gen_acquire(t, c->shared) : NULL;
        fs->cache = c;
        rk_txn_scratch_cleanup(t, scratch_free);
    }
    return fs->cache;
}

uint64_t rk_fpcache_generation(rk_txn *t)
{
    rk_fpcache *c = rk_fpcache_of(t);
    return c && c->gen ? c->gen->txnid : 0;
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

/* Positions *cur (opened on need) with op at the child `byte` of the bucket k[0 .. level-1), whose
 * key is built in bk; *rc is the read's LMDB code. 0, or -1 with err when no cursor opens. */
static int child_seek(rk_txn *t, MDB_dbi fps, MDB_cursor **cur, int level, const uint8_t *k, uint8_t byte,
                      MDB_cursor_op op, uint8_t bk[RK_FP_KEY_MAX], MDB_val *ck, MDB_val *cv, int *rc, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    int orc = *cur ? 0 : mdb_cursor_open(txn, fps, cur);
    if (orc != 0)
        return rk_txn_fail(t, orc, "opening a cursor", err);
    memset(bk, 0, RK_FP_KEY_MAX);
    bk[0] = (uint8_t)level;
    memcpy(bk + 1, k, (size_t)level - 1);
    bk[level] = byte;
    *ck = rk_mdb_val(bk, 1 + (size_t)level);
    *rc = mdb_cursor_get(*cur, ck, cv, op);
    return 0;
}

/* Reads the children at `level` of the bucket k[0 .. level-1) into a new node. */
static int node_read(rk_txn *t, MDB_dbi fps, MDB_cursor **cur, int level, const uint8_t *k, rk_fpnode **out,
                     rk_error *err)
{
    uint8_t bk[RK_FP_KEY_MAX], bytes[256];
    rk_fpagg children[256];
    unsigned n = 0;
    MDB_val ck, cv;
    int rc = 0;
    if (child_seek(t, fps, cur, level, k, 0, MDB_SET_RANGE, bk, &ck, &cv, &rc, err) != 0)
        return -1;
    while (rc == 0 && rk_fpagg_is_child(&ck, level, k) && n < 256) {
        bytes[n] = ((const uint8_t *)ck.mv_data)[level];
        rk_fpagg_decode(&children[n], &cv);
        n++;
        rc = mdb_cursor_get(*cur, &ck, &cv, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rk_txn_fail(t, rc, "reading the fingerprint index", err);
    /* Deep levels keep every stride-th running sum (fpcache.h); a node too big for 32-bit counts
     * (more than 4 billion items under one 4.6-hour bucket) is kept whole. */
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += children[i].count;
    unsigned stride = level > RK_FPCACHE_FULL_LEVELS && total <= UINT32_MAX ? RK_FPCACHE_STRIDE : 1;
    unsigned ncum = n / stride + 1;
    size_t below_len = stride > 1 ? (n + 1) * sizeof(uint32_t) : 0;
    rk_fpnode *nd = malloc(sizeof(rk_fpnode) + ncum * sizeof(rk_fpagg) + below_len);
    if (!nd)
        return rk_fail(err, "no_memory", "", "out of memory while reading the fingerprint index");
    nd->n = n;
    nd->stride = stride;
    memcpy(nd->byte, bytes, n);
    uint32_t *below = stride > 1 ? (uint32_t *)(void *)&nd->cum[ncum] : NULL;
    nd->below = below;
    rk_fpagg run = {0};
    for (unsigned i = 0; i <= n; i++) {
        if (i % stride == 0)
            nd->cum[i / stride] = run;
        if (below)
            below[i] = (uint32_t)run.count;
        if (i < n)
            rk_fpagg_add(&run, &children[i]);
    }
    for (unsigned b = 0, i = 0; b < 256; b++) {
        while (i < n && bytes[i] < b)
            i++;
        nd->rank[b] = (uint16_t)i;
    }
    *out = nd;
    return 0;
}

/* The bytes a node takes, with its key and its share of the table. */
static size_t node_cost(const rk_fpnode *nd)
{
    size_t below_len = nd->stride > 1 ? (nd->n + 1) * sizeof(uint32_t) : 0;
    return sizeof(rk_fpnode) + (nd->n / nd->stride + 1) * sizeof(rk_fpagg) + below_len + sizeof(node_key) + 64;
}

int rk_fpcache_span(rk_txn *t, MDB_dbi fps, MDB_cursor **cur, int level, const uint8_t *k, const rk_fpnode *nd,
                    unsigned i, rk_fpagg *before, rk_fpagg *child, rk_error *err)
{
    unsigned s = nd->stride, first = i / s * s;
    *before = nd->cum[i / s];
    if (s == 1) {
        if (child && i < nd->n) {
            *child = nd->cum[i + 1];
            rk_fpagg_sub(child, &nd->cum[i]);
        }
        return 0;
    }
    unsigned end = child && i < nd->n ? i + 1 : i; /* children first .. end-1 are read */
    if (end == first)
        return 0;
    uint8_t bk[RK_FP_KEY_MAX];
    MDB_val ck, cv;
    int rc = 0;
    if (child_seek(t, fps, cur, level, k, nd->byte[first], MDB_SET_KEY, bk, &ck, &cv, &rc, err) != 0)
        return -1;
    for (unsigned j = first; j < end; j++) {
        /* the snapshot is the node's, so the children are the ones it was read from */
        if (rc == 0 && !(rk_fpagg_is_child(&ck, level, k) && ((const uint8_t *)ck.mv_data)[level] == nd->byte[j]))
            return rk_fail(err, "store_corrupt", "", "the fingerprint index disagrees with its kept nodes");
        if (rc != 0)
            return rc == MDB_NOTFOUND ? rk_fail(err, "store_corrupt", "", "a kept trie node's child is missing")
                                      : rk_txn_fail(t, rc, "reading the fingerprint index", err);
        rk_fpagg a;
        rk_fpagg_decode(&a, &cv);
        if (j < i)
            rk_fpagg_add(before, &a);
        else
            *child = a;
        if (j + 1 < end)
            rc = mdb_cursor_get(*cur, &ck, &cv, MDB_NEXT);
    }
    return 0;
}

/* Keeps nd (read by this transaction) in the generation, or in the transaction's own table, within
 * their bounds; *node is what the caller uses: nd, or the same node another transaction kept first
 * (nd is then freed). *tmp is set when nothing kept it. */
static void node_keep(rk_fpcache *c, const node_key *key, rk_fpnode *nd, const rk_fpnode **node, rk_fpnode **tmp)
{
    size_t cost = node_cost(nd);
    *node = nd;
    *tmp = NULL;
    if (c->gen) {
        g_mutex_lock(&c->shared->mu);
        const rk_fpnode *there = g_hash_table_lookup(c->gen->nodes, key);
        node_key *kept = !there && c->gen->bytes + cost <= FPGEN_MAX_BYTES ? malloc(sizeof *key) : NULL;
        if (kept) {
            *kept = *key;
            g_hash_table_insert(c->gen->nodes, kept, nd);
            c->gen->bytes += cost;
        }
        g_mutex_unlock(&c->shared->mu);
        if (there)
            free(nd);
        if (there || kept) {
            *node = there ? there : nd;
            return;
        }
    }
    node_key *kept = c->bytes + cost <= FPCACHE_MAX_BYTES ? malloc(sizeof *key) : NULL;
    if (kept) {
        *kept = *key;
        g_hash_table_insert(c->nodes, kept, nd);
        c->bytes += cost;
    } else {
        *tmp = nd;
    }
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
    if (!*node && c->gen) {
        g_mutex_lock(&c->shared->mu);
        *node = g_hash_table_lookup(c->gen->nodes, &key);
        g_mutex_unlock(&c->shared->mu);
    }
    if (!*node) {
        rk_fpnode *nd;
        if (node_read(t, fps, cur, level, k, &nd, err) != 0)
            return -1;
        node_keep(c, &key, nd, node, tmp);
    }
    if (!*tmp)
        path_remember(ps, fps, k, level, *node);
    return 0;
}
