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
#include "peer_msg.h"
#include "peerstat.h"
#include "relay.h"

#define RK_GOSSIP_MAX_MSG RK_PEER_MSG_MAX /* protocol limit on one message */
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
    /* gossip_roster.c: peers drawn from the roster ([gossip] peers) and the thread that keeps them */
    struct rk_peer_dial **rdps; /* at most cfg->roster_peers */
    size_t nrdps;
    nng_cv *roster_cv; /* on mu: wakes the roster thread */
    nng_thread *roster_thr;
    bool roster_dirty; /* the charter changed: re-read the roster now */
    /* the dialer taking catch-up ranges now (peer_catchup.c): one at a time, so that an empty node
     * with several peers does not take every record from each of them */
    struct rk_peer_dial *catchup_owner;
};

/* Drops a reference; the last one frees the shell (lock and statistics). */
void rk_gossip_unref(struct rk_gossip *g);
/* What this node says of itself in its Hello and in its HelloReply alike: its name ("" when none is
 * configured) and the codecs it accepts (docs/protocol.md, "Compression"). */
void rk_gossip_introduce(const struct rk_gossip *g, char **name, uint32_t *codecs);

/* gossip_roster.c. This node's current roster digest; false if it cannot be read. */
bool rk_gossip_roster_digest(struct rk_gossip *g, uint8_t out[RK_HASH_LEN]);
/* The charter changed (a joining node learned it): the roster is recomputed and re-read at once. */
void rk_gossip_roster_changed(struct rk_gossip *g);
/* The name /v1/peers gives key (configured name, roster name or "unknown-<hex>"); true when the key
 * is a member (founding or admitted) other than this node. */
bool rk_gossip_peer_name(struct rk_gossip *g, const uint8_t key[RK_KEY_LEN], char *name, size_t cap);
/* Starts and stops the roster thread and the roster dialers; stop runs after g->stopping is set and
 * before the configured dialers are stopped. */
int rk_gossip_roster_start(struct rk_gossip *g, rk_error *err);
void rk_gossip_roster_stop(struct rk_gossip *g);

#endif
