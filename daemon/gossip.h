/* gossip: the peer side of a node over NNG. Push announcements of newly accepted records, fetch of
 * missing ones, and range-based set reconciliation on connect and periodically. See
 * docs/protocol.md. */
#ifndef RENKEI_GOSSIP_H
#define RENKEI_GOSSIP_H

#include <jansson.h>

#include "util.h"

typedef struct rk_gossip rk_gossip;
struct rk_node;

/* Starts listeners and dialers from node->cfg and registers a commit listener on node->writer. A
 * node with no listen addresses and no peers starts nothing and succeeds. */
int rk_gossip_start(struct rk_node *node, rk_gossip **out, rk_error *err);
void rk_gossip_stop(rk_gossip *g);
/* For GET /v1/peers: an array of {name, key, url, state, last_sync, records_sent, records_received,
 * rejections: {reason: count}}. g may be NULL (no federation): an empty array. */
json_t *rk_gossip_peers_json(rk_gossip *g);
/* For GET /v1/status: {"peers": n, "connected": m}. */
json_t *rk_gossip_summary_json(rk_gossip *g);

#endif
