/* peer_listen: the listener side of the peer protocol: every [gossip] listen URL, its connections
 * with their limits, and the Poll requests parked until there is something to announce. */
#ifndef RENKEI_PEER_LISTEN_H
#define RENKEI_PEER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct rk_gossip;
typedef struct rk_peer_listen rk_peer_listen;
/* Listens on every URL of g's configuration and starts accepting. *out is set as
 * soon as the listener exists, so that on failure rk_peer_listen_stop can release what was opened. */
int rk_peer_listen_start(struct rk_gossip *g, rk_peer_listen **out, rk_error *err);
/* Closes the listeners and connections and frees everything; g->stopping must already be set. l may
 * be NULL. */
void rk_peer_listen_stop(rk_peer_listen *l);

/* Queues a newly stored record's item (version be64 ‖ hash) for every connection that may read it
 * and did not send it (src: the peer it came from, or NULL). Returns how many queues were full.
 * Gossip lock held. */
size_t rk_peer_listen_queue_locked(rk_peer_listen *l, const uint8_t item[40], int visibility, const char *src);
/* Sets the rights of every authenticated connection from is_member(ctx, its key), so a change of the
 * roster reaches the connections that are open. l may be NULL. Gossip lock held. */
void rk_peer_listen_members_locked(rk_peer_listen *l, bool (*is_member)(void *ctx, const uint8_t key[32]), void *ctx);
/* Answers the parked Polls of connections that have items queued. Gossip lock held. */
void rk_peer_listen_wake_locked(rk_peer_listen *l);

#endif
