/* gossip_int: the state gossip's files share (gossip.c, peer_listen.c, peer_dial.c, relay.c) and the
 * protocol limits both roles enforce (docs/protocol.md, "Limits"). Not for the rest of the daemon,
 * which uses gossip.h. */
#ifndef RENKEI_GOSSIP_INT_H
#define RENKEI_GOSSIP_INT_H

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "gossip.h"
#include "metrics.h"
#include "node.h"
#include "peerstat.h"
#include "relay.h"

#define RK_GOSSIP_MAX_MSG (8u << 20) /* protocol limit on one message */
/* NNG drops bigger frames; between the two we count too_large */
#define RK_GOSSIP_TRANSPORT_MAX (2 * RK_GOSSIP_MAX_MSG)
#define RK_GOSSIP_MAX_RECORDS 1000
#define RK_GOSSIP_MAX_HASHES 10000
#define RK_GOSSIP_MAX_ITEMS 10000
/* Records from peers are fetched or accepted only while the writer has fewer than this many items
 * outstanding (about 5 KiB each, envelope and decoded record), so catching up on a million records
 * holds about 10 MiB of them, not a copy of them all. Two of the writer's largest batches: enough to
 * keep the verifiers and the writer busy (docs/benchmarks.md compares 1,024, 2,048 and 4,096). */
#define RK_GOSSIP_WRITER_BACKLOG_MAX 2048

struct rk_peer_listen;
struct rk_peer_dial;

struct rk_gossip {
    rk_node *node;
    rk_metrics *metrics;
    /* guards everything below and the roles' state; never held across an NNG send or a store read */
    nng_mtx *mu;
    atomic_int refs;     /* the owner's, plus one per record at the writer */
    uv_prepare_t closer; /* never started: its close callback drops the owner's reference */
    bool stopping;
    rk_peerstats stats;
    struct rk_peer_listen *listen; /* NULL without [gossip] listen addresses */
    struct rk_peer_dial **dps;     /* one per [peer] with a url and a key */
    size_t ndps;
    rk_relay_inflight inflight;
};

/* Drops a reference; the last one frees the shell (lock and statistics). */
void rk_gossip_unref(struct rk_gossip *g);

#endif
