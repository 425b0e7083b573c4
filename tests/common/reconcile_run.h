/* reconcile_run: one reconciliation driven in one process as over the wire, for the unit tests and
 * bench_sync. Every message is packed, counted, checked against the limits every node must respect
 * (RK_SYNC_MAX_BYTES, RK_SYNC_MAX_RANGES) and unpacked again before the other side reads it, so what
 * passes here would pass between two daemons. */
#ifndef RENKEI_RECONCILE_RUN_H
#define RENKEI_RECONCILE_RUN_H

#include "sync.h"

typedef struct reconcile_stats {
    unsigned round_trips;
    uint64_t bytes_out, bytes_back; /* initiator to responder, and back */
    size_t max_message;             /* the largest packed message either way */
    size_t max_upper;               /* the longest range bound sent */
    size_t max_ranges;              /* the most ranges in one message either way */
} reconcile_stats;

/* The responder's side of one round: answers `in` with *reply as rk_sync_process does for a responder
 * (the daemon's listener, or a test's set). 0, or -1 with err. */
typedef int (*reconcile_respond_fn)(void *ctx, const Renkei__Reconcile *in, Renkei__Reconcile **reply, rk_error *err);

/* A responder that answers from a fixed set source (ctx is the rk_set_source). */
int reconcile_respond_from(void *ctx, const Renkei__Reconcile *in, Renkei__Reconcile **reply, rk_error *err);
/* A responder that answers from a store (ctx is the rk_store) as the daemon's listener does: through
 * one read transaction per message, so whatever a transaction caches lives as long as it would there. */
int reconcile_respond_from_store(void *ctx, const Renkei__Reconcile *in, Renkei__Reconcile **reply, rk_error *err);

/* Reconciles set `set` of initiator against the responder, appending what the initiator learns to
 * diff, in at most max_rounds round trips. 0, or -1 with err: the responder's or the initiator's
 * error, "too_large" for a message over the limits, "wrong_set" for a reply about another set,
 * "too_many_rounds", "no_memory", "malformed" for a message that does not unpack. */
int reconcile_run(const rk_set_source *initiator, uint32_t set, reconcile_respond_fn respond, void *ctx,
                  rk_sync_diff *diff, unsigned max_rounds, reconcile_stats *st, rk_error *err);

#endif
