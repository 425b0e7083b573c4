/* batchorder: the order in which the writer runs the items of one batch (daemon/writer.c): the
 * node's own records by version, each in one of the places own records held, every other item where
 * it was.
 *
 * Why: the API seals on several pool threads, so its records reach the writer a little out of version
 * order, and a record older than the newest of one of its posting lists is merged into a block there
 * instead of appended (lib/postings.c, insert_older). The versions of own records are assigned in
 * increasing order (api_publish.c), so version order is the order in which the API accepted them.
 * Peers' records keep their places: a membership record changes the roster for the items after it,
 * and that order is the peers'.
 *
 * Invariants: order[0..n) is a permutation of 0..n-1; a position that held an item other than an own
 * record keeps it; own records come in the order of the posting lists (lib/postings.h): ascending
 * version, then descending hash (many records share a version above 1,000 publishes a second), and
 * a record listed twice in its original order.
 * Not thread-safe: one per writer thread.
 */
#ifndef RENKEI_BATCHORDER_H
#define RENKEI_BATCHORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RK_BATCHORDER_MAX 1024    /* the writer's BATCH_MAX */
#define RK_BATCHORDER_HASH_LEN 32 /* a record's hash, SHA-256 (RK_HASH_LEN) */

typedef struct rk_batchorder_own {
    uint64_t version;
    const uint8_t *hash;
    size_t index;
} rk_batchorder_own;

typedef struct rk_batchorder {
    size_t n;
    void *item[RK_BATCHORDER_MAX];
    bool own[RK_BATCHORDER_MAX];
    uint64_t version[RK_BATCHORDER_MAX];    /* read only where own */
    const uint8_t *hash[RK_BATCHORDER_MAX]; /* RK_BATCHORDER_HASH_LEN bytes, read only where own */
    size_t order[RK_BATCHORDER_MAX];        /* rk_batchorder_sort's answer */
    rk_batchorder_own scratch[RK_BATCHORDER_MAX];
} rk_batchorder;

/* Appends an item (own: a record of this node, of that version and hash, which must outlive the
 * order); false when the batch is full. */
bool rk_batchorder_add(rk_batchorder *b, void *item, bool own, uint64_t version, const uint8_t *hash);
/* Fills b->order with the index of the item to run at each position: true, or false when that is the
 * order they were added in (order is then the identity). */
bool rk_batchorder_sort(rk_batchorder *b);

#endif
