/* fpset: the ordered sets that range-based set reconciliation (lib/sync.c) compares, and their
 * fingerprint index.
 *
 * set0 holds the public records, set1 the public and network ones (what members exchange); an item
 * is version(be64) || hash of one current record, tombstones included, local records never. For the
 * root and for every key prefix of 1..10 bytes that occurs, fp0/fp1 keep the count and the 256-bit
 * sum (mod 2^256) of the item hashes below it, updated in the transaction that changes the set, so
 * the fingerprint of any range costs O(log n) reads rather than one per item. A read-only
 * transaction keeps the upper trie nodes it has read (bounded, freed with it), exact because its
 * snapshot never changes.
 *
 * Invariant (store format 8): a bucket's children are in the index iff rk_fpset_keeps_children says
 * so, which is always for the upper levels (0 to RK_FPSET_WHOLE_LEVELS - 1, whose nodes read
 * transactions keep) and, below them, only for buckets of more than RK_FPSET_SCAN_ITEMS items: every reader takes a smaller bucket
 * from its items in the set and never looks below it, so the four deepest levels, which with
 * versions spread over time hold one item a bucket, are not written at all. A bucket that grows past
 * the bound gets its children written from its items; one that shrinks to it loses them. A store of
 * format 6 or 7 kept every level; opened as format 8 it is used as it is: what lies below a small
 * bucket there is never read, and is dropped when that bucket next grows past the bound.
 *
 * The public functions keep the rk_store_set_ names sync.c and the daemon call through store.h.
 */
#ifndef RENKEI_FPSET_H
#define RENKEI_FPSET_H

#include "fpagg.h"
#include "txn.h"

#define RK_SET_PUBLIC 0
#define RK_SET_MEMBERS 1

/* Items in [lo, hi): count and fingerprint = first 16 bytes of SHA-256(sum || count(le64)) where sum
 * is the sum of the item hashes as 256-bit little-endian integers modulo 2^256. Cost grows with
 * log n, not with the number of items in the range. */
int rk_store_set_fingerprint(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                             uint64_t *count, uint8_t fp[RK_FP_LEN], rk_error *err);
/* The whole set: rk_store_set_fingerprint from the lowest item to the highest, what a node shows in
 * its status and compares with a peer's before reconciling range by range. */
int rk_store_set_total(rk_txn *t, int set, uint64_t *count, uint8_t fp[RK_FP_LEN], rk_error *err);
typedef int (*rk_item_cb)(const uint8_t item[RK_ITEM_LEN], void *ctx); /* non-zero stops */
int rk_store_set_items(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], size_t limit,
                       rk_item_cb cb, void *ctx, rk_error *err);
/* The item n positions after the first item >= lo (n = 0 is that first item). 1 found, 0 none. */
int rk_store_set_nth(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
                     rk_error *err);
/* The same, and the item after it into next (when next is not NULL): 2 both found, 1 only the first,
 * 0 none. One descent for both, and a read-only transaction then answers the aggregate below any key
 * between them from memory (reconciliation splits a range between two such items). */
int rk_store_set_nth_pair(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
                          uint8_t next[RK_ITEM_LEN], rk_error *err);

#define RK_FPSET_SCAN_ITEMS 48  /* a bucket of at most this many items is read from its items */
#define RK_FPSET_WHOLE_LEVELS 6 /* buckets of levels 0 .. 5 keep their children whatever their count */
/* Whether a bucket of `level` with `count` items keeps the buckets below it (the invariant above). */
bool rk_fpset_keeps_children(int level, uint64_t count);

/* Adds (sign > 0) or removes the item version || hash in every set a record of this visibility
 * belongs to (none for local). Needs a write transaction; on failure it has been aborted. */
int rk_fpset_update(rk_txn *t, int visibility, uint64_t version, const uint8_t hash[RK_HASH_LEN], int sign,
                    rk_error *err);

#endif
