/* fpcache: what a read-only transaction keeps of the RBSR fingerprint index while reconciliation
 * asks it for thousands of bounds (docs/storage.md, "The RBSR fingerprint index").
 *
 * Two things, both exact for the transaction's whole life because its snapshot never changes, both
 * freed with it:
 *  - a memo of recent prefix aggregates: one bound's (after a walk), or every bound's between two
 *    consecutive items (after an nth descent, which passes them);
 *  - the trie nodes of the upper levels it has read, each with all its children's last bytes and
 *    running sums, so a sibling sum is one array lookup and a child by rank one binary search.
 * A write transaction gets no cache (its view changes with every put): rk_fpcache_of returns NULL.
 */
#ifndef RENKEI_FPCACHE_H
#define RENKEI_FPCACHE_H

#include "fpagg.h"
#include "txn.h"

/* Only the upper levels are kept: their few nodes lie on nearly every walk. Below, a node is visited
 * by few bounds of a message, and reading all its children (up to 256) to keep it costs more than
 * the partial scans it would save; with versions spread over a year, level 5 (the 4.6-hour byte of
 * the millisecond version, 256 children under each 50-day bucket) is the last level that pays. */
#define RK_FPCACHE_LEVELS 5

/* The children of one trie bucket: their last key bytes in ascending order and the aggregate of the
 * children before each. */
typedef struct rk_fpnode {
    unsigned n;
    uint8_t byte[256];  /* the children's last key bytes, ascending */
    uint16_t rank[256]; /* rank[b]: how many children have a byte below b */
    rk_fpagg cum[];     /* n + 1 entries: cum[i] = aggregate of children 0 .. i-1 */
} rk_fpnode;

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

/* The children at `level` (1..RK_FPCACHE_LEVELS) of the bucket k[0 .. level-1) of the index fps, kept
 * or read through cursor *cur (opened on first need; the caller closes it). *tmp is set when the node
 * could not be kept (the memory bound) and the caller must free it after use. 0, or -1 with err. */
int rk_fpcache_node(rk_txn *t, rk_fpcache *c, MDB_dbi fps, MDB_cursor **cur, int level, const uint8_t *k,
                    const rk_fpnode **node, rk_fpnode **tmp, rk_error *err);

#endif
