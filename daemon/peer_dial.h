/* peer_dial: the dialer side of the peer protocol: for each configured [peer] with a url, a REQ
 * socket and two threads that handshake, reconcile, announce our new records and keep a Poll
 * outstanding. */
#ifndef RENKEI_PEER_DIAL_H
#define RENKEI_PEER_DIAL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

struct rk_gossip;
typedef struct rk_peer_dial rk_peer_dial;

/* Starts dialing pc: a [peer] of the configuration (configured) or a member drawn from the roster.
 * *out is set as soon as the dialer exists, so that on failure the caller can still stop it with
 * rk_peer_dial_stop. */
int rk_peer_dial_start(struct rk_gossip *g, const rk_peer_config *pc, bool configured, rk_peer_dial **out,
                       rk_error *err);
/* Wakes the dialer's threads so they see g->stopping. Gossip lock held. */
void rk_peer_dial_wake_locked(rk_peer_dial *dp);
/* Closes the socket, joins the threads and frees the dialer; g->stopping (or, for one dialer, its
 * stop flag: rk_peer_dial_halt_locked) must be set and the dialer woken first. */
void rk_peer_dial_stop(rk_peer_dial *dp);
/* Asks this one dialer to stop (a roster peer no longer wanted); then rk_peer_dial_stop. Lock held. */
void rk_peer_dial_halt_locked(rk_peer_dial *dp);
/* The dialed peer's key and whether it is connected, and for how long it has tried without success
 * (ms, 0 when connected). Lock held. */
const uint8_t *rk_peer_dial_key_locked(const rk_peer_dial *dp, bool *connected, uint64_t *failing_ms);

/* The roster changed: if the listener refused us the members' set, ask for it again. Lock held. */
void rk_peer_dial_roster_changed_locked(rk_peer_dial *dp);

/* Queues a newly stored record's item for announcement unless it came from this peer (src).
 * Returns 1 if the queue was full (the dialer then reconciles instead), else 0. Gossip lock held. */
size_t rk_peer_dial_queue_locked(rk_peer_dial *dp, const uint8_t item[40], const char *src);

#endif
