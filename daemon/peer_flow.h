/* peer_flow: the record transfers one reconciliation sets off (fetching what this node lacks, pushing
 * what the peer lacks), run by two worker threads beside the exchange that names them. Used by the
 * dialer's control thread (peer_dial.c); see peer_flow.c for why and for the invariants. */
#ifndef RENKEI_PEER_FLOW_H
#define RENKEI_PEER_FLOW_H

#include <stddef.h>

#include "peer_dial_int.h"
#include "sync.h"

typedef struct rk_peer_flow rk_peer_flow;

/* The outcome of rk_peer_flow_finish. */
typedef enum { RK_PEER_FLOW_OK = 0, RK_PEER_FLOW_FETCH_FAILED, RK_PEER_FLOW_PUSH_FAILED } rk_peer_flow_result;

/* Starts the fetch and push workers of one reconciliation with dp's peer. max_need and max_have
 * bound the differences the reconciliation hands over in all (0: no bound), as rk_sync_diff's do.
 * NULL when out of memory or threads. */
rk_peer_flow *rk_peer_flow_start(rk_peer_dial *dp, size_t max_need, size_t max_have);
/* Moves the differences a reconciliation round appended to diff into the workers' lists (claiming
 * the needed hashes in the in-flight table) and empties diff's lists, lowering its bounds to what is
 * left of max_need and max_have, so memory holds each difference once. 0, or -1 when out of memory
 * (the round's differences are then dropped and diff->truncated is set: the next reconciliation
 * finds them). */
int rk_peer_flow_take(rk_peer_flow *f, rk_sync_diff *diff);
/* Differences named so far (before claims): for the log. */
void rk_peer_flow_named(const rk_peer_flow *f, size_t *need, size_t *have);
/* No more differences will come (abandon: the reconciliation failed, take nothing more): waits for
 * both workers, releases the claims of hashes never fetched, frees f. */
rk_peer_flow_result rk_peer_flow_finish(rk_peer_flow *f, bool abandon);

#endif
