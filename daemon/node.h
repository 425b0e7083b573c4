/* node: the state one renkeid process shares between its parts. Created by main, read by the API,
 * the writer and gossip. Fields are set before the loop starts and not reassigned afterwards. */
#ifndef RENKEI_NODE_H
#define RENKEI_NODE_H

#include <uv.h>

#include "config.h"
#include "record.h"
#include "roster.h"
#include "sign.h"
#include "store.h"

struct rk_writer;
struct rk_gossip;
struct rk_metrics;
struct rk_api;
struct rk_members;
struct rk_charter_store;

typedef struct rk_node {
    uv_loop_t *loop;
    rk_config *cfg;
    rk_store *store;
    rk_key *key;
    uint8_t pub[RK_KEY_LEN];
    char pub_hex[2 * RK_KEY_LEN + 1];
    rk_roster roster;                 /* self plus every [peer] and [member] */
    struct rk_charter_store *charter; /* the network's founding members and threshold */
    rk_limits limits;
    struct rk_writer *writer;
    struct rk_metrics *metrics;
    struct rk_api *api;
    struct rk_gossip *gossip;   /* NULL until federation starts */
    struct rk_members *members; /* the current roster snapshot (daemon/members.h) */
    uint64_t started_ms;
} rk_node;

#endif
