/* setsource: how reconciliation (sync.h) reads one set of items: the store's RBSR set through a read
 * transaction, or a set held in memory (tests, fuzzing, the protocol benchmark). Every source gives
 * the same answers for the same items; only the cost differs.
 */
#ifndef RENKEI_SETSOURCE_H
#define RENKEI_SETSOURCE_H

#include "store.h"
#include "util.h"

/* How sync reads one set: the store (rk_set_source_from_store) or an in-memory set in tests. All
 * ranges are half-open [lo, hi). Each function returns 0 on success and -1 on error (filling err). */
typedef struct rk_set_source {
    int (*fingerprint)(void *ctx, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], uint64_t *count,
                       uint8_t fp[RK_FP_LEN], rk_error *err);
    /* Calls cb for at most `limit` items in ascending order (limit 0 = no limit); cb non-zero stops. */
    int (*items)(void *ctx, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], size_t limit, rk_item_cb cb,
                 void *cbctx, rk_error *err);
    /* The item n positions after the first item >= lo into out, and the item after that into next:
     * 2 both found, 1 only the first, 0 none, -1 error. A split asks for both to place a bound
     * between them, and then for the fingerprint up to that bound. */
    int (*nth)(void *ctx, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
               uint8_t next[RK_ITEM_LEN], rk_error *err);
    void *ctx;
} rk_set_source;

/* Reads set RK_SET_PUBLIC or RK_SET_MEMBERS through the (read) transaction t, which must outlive
 * every use of src. Needs no cleanup. */
void rk_set_source_from_store(rk_set_source *src, rk_txn *t, int set);

/* A set held in memory: `count` items of 40 bytes, strictly ascending. Fingerprints are summed item by
 * item, so this is the reference for the store's index (tests, fuzzing, tools), not a fast path. */
typedef struct rk_memory_set {
    uint8_t *items;
    size_t count;
} rk_memory_set;
/* set must outlive every use of src. Needs no cleanup. */
void rk_set_source_from_memory(rk_set_source *src, rk_memory_set *set);

/* A memory set with the prefix sums of its hashes, so a fingerprint costs two binary searches instead
 * of a pass over its range: for sets of millions (benchmarks of the protocol alone). Items and count
 * are the memory set's; sums follow them, so rebuild after changing the items. */
typedef struct rk_summed_set {
    rk_memory_set set;
    uint8_t *sums; /* (count + 1) x 32 bytes: sums[i] is the sum of the hashes of items [0, i) */
} rk_summed_set;
/* Computes the sums of s->set. 0, or -1 with "no_memory". */
int rk_summed_set_init(rk_summed_set *s, rk_error *err);
/* Frees the sums (not the items). */
void rk_summed_set_free(rk_summed_set *s);
/* s must outlive every use of src; its fingerprints equal those of its memory set. */
void rk_set_source_from_summed(rk_set_source *src, rk_summed_set *s);

#endif
