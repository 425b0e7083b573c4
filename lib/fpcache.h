/* fpcache: what a read-only transaction keeps of the RBSR fingerprint index while reconciliation
 * asks it for thousands of bounds (docs/storage.md, "The RBSR fingerprint index").
 *
 * Two things, both exact for the transaction's whole life because its snapshot never changes, both
 * freed with it:
 *  - a memo of recent prefix aggregates: one bound's (after a walk), or every bound's between two
 *    consecutive items (after an nth descent, which passes them);
 *  - the trie nodes of the upper levels it has read, each with all its children's last bytes and
 *    running sums, so a sibling sum is one array lookup and a child by rank one binary search; the
 *    deepest kept level with running sums every few children only (a sibling sum then takes a few
 *    cursor steps), which bounds their memory by the versions' time span rather than the set's size.
 * A write transaction gets no cache (its view changes with every put): rk_fpcache_of returns NULL.
 */
#ifndef RENKEI_FPCACHE_H
#define RENKEI_FPCACHE_H

#include "fpagg.h"
#include "txn.h"

/* Levels 1..RK_FPCACHE_FULL_LEVELS are kept whole: their few nodes lie on nearly every walk, and each
 * child's running sum makes a sibling sum one lookup. With versions spread over a year, level 5 is
 * the 4.6-hour byte of the millisecond version, 256 children under each 50-day bucket. */
#define RK_FPCACHE_FULL_LEVELS 5
/* Level 6 (the 65-second byte: about 220 children under each 4.6-hour bucket at 1,000,000 records,
 * one node per 4.6 hours of versions) is kept strided: the running counts of every child but the
 * running sums of every RK_FPCACHE_STRIDE-th only, so a sibling sum is one kept sum plus fewer than
 * RK_FPCACHE_STRIDE cursor steps from one positioning, instead of a scan of up to 128 children. A
 * whole node would cost 40 bytes per child (about 20 MB at 1,000,000); strided it costs about 9. */
#define RK_FPCACHE_LEVELS 6
#define RK_FPCACHE_STRIDE 8

/* The children of one trie bucket: their last key bytes in ascending order and running aggregates. */
typedef struct rk_fpnode {
    unsigned n;
    unsigned stride;       /* 1: cum has every child; else cum[j] = children 0 .. j*stride-1 */
    const uint32_t *below; /* stride > 1: n + 1 running counts, below[i] = items in children 0 .. i-1 */
    uint8_t byte[256];     /* the children's last key bytes, ascending */
    uint16_t rank[256];    /* rank[b]: how many children have a byte below b */
    rk_fpagg cum[];        /* n / stride + 1 entries: cum[j] = aggregate of children 0 .. j*stride-1 */
} rk_fpnode;

/* How many items the children 0 .. i-1 of nd hold. */
static inline uint64_t rk_fpnode_count_below(const rk_fpnode *nd, unsigned i)
{
    return nd->stride == 1 ? nd->cum[i].count : nd->below[i];
}

typedef struct rk_fpcache rk_fpcache;

/* The read-only transaction's cache, made on first use; NULL for a write transaction, or when it
 * could not be made (then the caller walks the index). */
rk_fpcache *rk_fpcache_of(rk_txn *t);

/* The snapshot id of the generation of shared nodes t uses (fpcache.c), 0 when it keeps its own:
 * for tests, which check that transactions share nodes when no write came between them and never
 * across one. */
uint64_t rk_fpcache_generation(rk_txn *t);

/* The remembered aggregate below k in the index fps, or NULL. */
const rk_fpagg *rk_fpcache_memo_find(const rk_fpcache *c, MDB_dbi fps, const uint8_t k[RK_ITEM_LEN]);
/* Remembers that the items below every key in (lo, hi] (lo NULL: below hi only) aggregate to value;
 * lo and hi must then be consecutive items of the set. */
void rk_fpcache_memo_put(rk_fpcache *c, MDB_dbi fps, const uint8_t *lo, const uint8_t hi[RK_ITEM_LEN],
                         const rk_fpagg *value);

/* The aggregate of the children 0 .. i-1 of nd (the node at `level` of the bucket k[0 .. level-1)
 * that rk_fpcache_node gave t) into *before and, when child is not NULL and i < nd->n, child i's
 * into *child: from the kept sums alone when the node is whole, else with at most stride cursor
 * steps through *cur (opened on need). 0, or -1 with err. */
int rk_fpcache_span(rk_txn *t, MDB_dbi fps, MDB_cursor **cur, int level, const uint8_t *k, const rk_fpnode *nd,
                    unsigned i, rk_fpagg *before, rk_fpagg *child, rk_error *err);

/* The children at `level` (1..RK_FPCACHE_LEVELS) of the bucket k[0 .. level-1) of the index fps, kept
 * or read through cursor *cur (opened on first need; the caller closes it). *tmp is set when the node
 * could not be kept (the memory bound) and the caller must free it after use. 0, or -1 with err. */
int rk_fpcache_node(rk_txn *t, rk_fpcache *c, MDB_dbi fps, MDB_cursor **cur, int level, const uint8_t *k,
                    const rk_fpnode **node, rk_fpnode **tmp, rk_error *err);

#endif
