/* peer_catchup: catch-up ranges, how a node that holds almost nothing of a peer's set takes all of it
 * in item order instead of reconciling it (docs/protocol.md, "Catch-up ranges"). Listener side:
 * rk_peer_catchup_collect; dialer side: rk_peer_catchup_step, run by the dialer's control thread
 * before its reconciliation. */
#ifndef RENKEI_PEER_CATCHUP_H
#define RENKEI_PEER_CATCHUP_H

#include <nng/nng.h>
#include <stdbool.h>

#include "gossip_int.h"
#include "peer_dial_int.h"
#include "relay.h"

/* A dialer whose set holds fewer items than this takes the peer's whole set as catch-up ranges: a
 * record it holds already comes again and is rejected as `duplicate`, so at most this many are sent
 * for nothing. */
#define RK_CATCHUP_HELD_MAX 1024

/* Listener: the envelopes of set `set` whose items follow `after` (after_len 0: from the first, or
 * 40 bytes), in item order, at most max_records and about budget bytes, that a peer with `member`
 * rights may read (membership records withheld when no_membership), counting skipped ones in
 * *forbidden. *has_last and last: the last item the reply covers (the next request's after); *end:
 * no item of the set follows it. es as for rk_relay_collect; free it with rk_relay_envset_free.
 * 0, or -1 when the store cannot be read. */
int rk_peer_catchup_collect(struct rk_gossip *g, rk_relay_envset *es, int set, const uint8_t *after, size_t after_len,
                            size_t max_records, size_t budget, bool member, bool no_membership, uint8_t last[40],
                            bool *has_last, bool *end, size_t *forbidden);

/* Dialer, before a reconciliation: decides on the first one of a connection whether to take catch-up
 * ranges (the set holds fewer than RK_CATCHUP_HELD_MAX items, and no other dialer of this node is
 * taking them), then takes them until the set's end, each request waiting for room at the writer.
 * 0: reconcile now (nothing to take, the set taken, or a listener without ranges); 1: another dialer
 * is taking ranges, so try again later rather than list the same records; -1: failed (stopping, a
 * transport error, a bad reply), resumed from where it stopped next time. */
int rk_peer_catchup_step(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio);

#endif
