/* sync: range-based set reconciliation (RBSR) of two nodes' record sets, negentropy style.
 *
 * Both sides hold an ordered set of 40-byte items (version(be64) || hash, compared as bytes). The
 * initiator sends a Reconcile covering the whole item space; each side answers the other's ranges in
 * order until a message from the responder leaves the initiator nothing to say. Processing is
 * stateless: every message covers the whole space, so a node needs no per-session memory other than
 * the diff the initiator accumulates. See docs/reconciliation.md for the exact rules and limits.
 *
 * The item space is [00 x 40, FF x 40): an item of forty 0xFF bytes cannot exist (it would be a
 * version 2^64-1), so a set source is always asked about half-open ranges [lo, hi) with hi = FF x 40
 * standing for +infinity.
 */
#ifndef RENKEI_SYNC_H
#define RENKEI_SYNC_H

#include "renkei.pb-c.h"
#include "setsource.h"
#include "store.h"
#include "sync_validate.h"
#include "util.h"

#define RK_SYNC_BRANCH 16          /* sub-ranges per split */
#define RK_SYNC_ITEMS_THRESHOLD 16 /* a differing range with this few items (either side) is listed */
/* Our messages stay under this (encoded size). Receivers bound a message by its ranges and items, not
 * its bytes (up to the transport's 8 MiB), so the size is the sender's choice: 1 MiB lists about
 * 26,000 items, inside RK_SYNC_MAX_IN_ITEMS, and needs about half the rounds 256 KiB did when many
 * small ranges differ (each round carries at most one message's worth of the finest ranges). */
#define RK_SYNC_MAX_BYTES (1024 * 1024)
_Static_assert(RK_SYNC_MAX_BYTES / RK_ITEM_LEN < RK_SYNC_MAX_IN_ITEMS, "what we list must be accepted");

/* What the initiator learned: need = hashes (32 bytes each) the peer has and we lack, to Fetch;
 * have = items (40 bytes each) we have and the peer lacks, to push. Appended to across rounds.
 * max_need and max_have (0: no bound) cap what one reconciliation keeps, so a node catching up on
 * millions of records holds a bounded list; differences past a bound are dropped and `truncated`
 * says so: the caller acts on what it has and reconciles again to learn the rest. */
typedef struct rk_sync_diff {
    uint8_t *need;
    size_t n_need, cap_need;
    uint8_t *have;
    size_t n_have, cap_have;
    size_t max_need, max_have;
    bool truncated;
} rk_sync_diff;

void rk_sync_diff_init(rk_sync_diff *d);
void rk_sync_diff_free(rk_sync_diff *d);

/* The initiator's first message for `set` (0 or 1). Free with rk_sync_free_message. */
int rk_sync_initiate(const rk_set_source *src, uint32_t set, Renkei__Reconcile **out, rk_error *err);

/* Validates and answers msg (as unpacked from the wire). On success returns 0 and sets *reply:
 *  - responder (initiator = false): always a message to send back; diff is not used (may be NULL);
 *  - initiator: NULL when reconciliation is complete, otherwise the next message to send; new
 *    differences are appended to diff (required).
 * The reply's set equals msg->set; the caller chooses src for that set and checks the peer may read it.
 * On a protocol violation returns -1 with err->code one of: unknown_set, too_many_ranges,
 * unknown_mode, malformed_range, bad_fingerprint, bad_count, bad_items, too_many_items; on a set
 * source or allocation failure returns -1 with the source's code or "no_memory". */
int rk_sync_process(const rk_set_source *src, bool initiator, const Renkei__Reconcile *msg, Renkei__Reconcile **reply,
                    rk_sync_diff *diff, rk_error *err);

/* Frees a message made by rk_sync_initiate or rk_sync_process (not one from renkei__reconcile__unpack,
 * which is freed with renkei__reconcile__free_unpacked). NULL is allowed. To send it, point
 * PeerRequest.reconcile / PeerReply.reconcile at it, pack, then free it here. */
void rk_sync_free_message(Renkei__Reconcile *m);

#endif
