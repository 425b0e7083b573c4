/* gossip: the peer transport over NNG (docs/protocol.md): its shared state, start and stop, the
 * commit listener that announces newly stored records, and the JSON views of /v1/peers and
 * /v1/status.
 *
 * The work is split by role: peer_listen.c answers the peers that dial us, peer_dial.c dials the
 * configured peers, relay.c moves records between the store, the writer and both roles,
 * handshake.c lays out what each side signs, peerstat.c counts per-peer statistics and rejections,
 * and tls.c loads the TLS files.
 *
 * Invariants: `local` records are never sent (every envelope's visibility is read before it leaves);
 * `network` records go only to pipes authenticated as roster members; every rejected input is counted
 * in renkei_peer_rejections_total{reason,peer} and a pipe that keeps sending garbage is closed.
 * Shared state (connections, queues, per-peer statistics) is guarded by one mutex, g->mu, never held
 * across an NNG send or a store read.
 *
 * Shutdown: rk_gossip_stop (on the loop thread) closes sockets and joins threads, but the daemon
 * stops its writer afterwards, and the writer then still runs our commit listener and completion
 * callbacks. So a small shell of the gossip object (mutex, statistics, `stopping`) outlives the stop:
 * completion callbacks hold references on it, and the owner's reference is dropped from a libuv close
 * callback, which runs on a later loop iteration, after rk_writer_stop has delivered everything.
 */
#include "gossip.h"

#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"
#include "log.h"
#include "peer_dial.h"
#include "peer_listen.h"
#include "peer_msg.h"
#include "renkei.pb-c.h"
#include "writer.h"

void rk_gossip_unref(struct rk_gossip *g)
{
    if (atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    rk_peerstat_free_all(&g->stats);
    if (g->mu)
        nng_mtx_free(g->mu);
    free(g);
}

static void gossip_closer_cb(uv_handle_t *h)
{
    rk_gossip_unref(h->data);
}

/* Announces what the writer just committed: to every dialed peer and every listener connection
 * that may read it, except the peer it came from. Runs on the loop thread, also after stop. */
static void gossip_on_commit(void *ctx, const rk_record *const *recs, const char *const *sources, size_t n)
{
    struct rk_gossip *g = ctx;
    size_t dropped = 0;
    nng_mtx_lock(g->mu);
    if (g->stopping) {
        nng_mtx_unlock(g->mu);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int vis = recs[i]->msg->visibility;
        if (vis != RENKEI__VISIBILITY__VISIBILITY_PUBLIC && vis != RENKEI__VISIBILITY__VISIBILITY_NETWORK)
            continue;
        uint8_t item[RK_ITEM_LEN];
        rk_put_be64(item, recs[i]->msg->version);
        memcpy(item + 8, recs[i]->hash, RK_HASH_LEN);
        const char *src = sources ? sources[i] : NULL;
        for (size_t d = 0; d < g->ndps; d++)
            dropped += rk_peer_dial_queue_locked(g->dps[d], item, src);
        for (size_t d = 0; d < g->nrdps; d++)
            dropped += rk_peer_dial_queue_locked(g->rdps[d], item, src);
        dropped += rk_peer_listen_queue_locked(g->listen, item, vis, src);
    }
    rk_peer_listen_wake_locked(g->listen);
    nng_mtx_unlock(g->mu);
    if (dropped)
        rk_warn("gossip", "announcement queues full: dropped %zu items (reconciliation will repair)", dropped);
}

int rk_gossip_start(struct rk_node *node, rk_gossip **out, rk_error *err)
{
    *out = NULL;
    const rk_config *cfg = node->cfg;
    size_t ndial = 0;
    for (size_t i = 0; i < cfg->peer_count; i++)
        if (cfg->peers[i].url && cfg->peers[i].has_key)
            ndial++;
    if (cfg->listen_count == 0 && ndial == 0)
        return 0;
    struct rk_gossip *g = calloc(1, sizeof(*g));
    if (!g)
        return rk_fail(err, "no_memory", NULL, "out of memory");
    g->node = node;
    g->metrics = node->metrics;
    atomic_init(&g->refs, 1);
    if (nng_mtx_alloc(&g->mu) != 0 || !(g->dps = calloc(ndial ? ndial : 1, sizeof(*g->dps)))) {
        rk_gossip_unref(g);
        return rk_fail(err, "no_memory", NULL, "out of memory");
    }
    g->stats.g = g;
    g->stats.mu = g->mu;
    g->stats.metrics = g->metrics;
    if (uv_prepare_init(node->loop, &g->closer) != 0) {
        free(g->dps);
        rk_gossip_unref(g);
        return rk_fail(err, "gossip", NULL, "cannot set up shutdown");
    }
    g->closer.data = g;
    uv_unref((uv_handle_t *)&g->closer);
    g->stats.anon = rk_peerstat_get_locked(&g->stats, "unauthenticated");
    if (!g->stats.anon) {
        free(g->dps);
        uv_close((uv_handle_t *)&g->closer, gossip_closer_cb);
        return rk_fail(err, "no_memory", NULL, "out of memory");
    }
    rk_metrics_describe(g->metrics, "renkei_peer_rejections_total", "counter",
                        "Peer messages and records rejected, by reason and peer.");
    rk_metrics_describe(g->metrics, "renkei_peer_records_sent_total", "counter", "Records sent to a peer.");
    rk_metrics_describe(g->metrics, "renkei_peer_records_received_total", "counter", "Records received from a peer.");
    rk_metrics_describe(g->metrics, "renkei_reconcile_total", "counter", "Reconciliations by result and peer.");
    rk_metrics_describe(g->metrics, "renkei_reconcile_seconds", "histogram", "Duration of reconciliations.");
    rk_metrics_describe(g->metrics, "renkei_peer_busy_total", "counter",
                        "Pushes a peer refused as busy, each sent again after its wait.");
    rk_metrics_describe(g->metrics, "renkei_peer_push_paced_total", "counter",
                        "Pushes held back for the wait the previous Ack asked for.");
    rk_metrics_describe(g->metrics, "renkei_catchup_records_total", "counter",
                        "Records an almost empty node took from a peer as catch-up ranges.");
    if (rk_writer_add_listener(node->writer, gossip_on_commit, g) != 0) {
        free(g->dps);
        uv_close((uv_handle_t *)&g->closer, gossip_closer_cb);
        return rk_fail(err, "gossip", NULL, "cannot register the commit listener");
    }
    *out = g;
    if (cfg->listen_count > 0 && rk_peer_listen_start(g, &g->listen, err) != 0) {
        rk_gossip_stop(g);
        *out = NULL;
        return -1;
    }
    for (size_t i = 0; i < cfg->peer_count; i++) {
        const rk_peer_config *pc = &cfg->peers[i];
        if (!pc->url || !pc->has_key)
            continue;
        if (memcmp(pc->key, node->pub, RK_KEY_LEN) == 0)
            continue;
        rk_peer_dial *dp = NULL;
        int rc = rk_peer_dial_start(g, pc, true, &dp, err);
        if (dp)
            g->dps[g->ndps++] = dp;
        if (rc != 0) {
            rk_gossip_stop(g);
            *out = NULL;
            return -1;
        }
        rk_info("gossip", "dialing peer=%s at %s", pc->name, pc->url);
    }
    if (rk_gossip_roster_start(g, err) != 0) {
        rk_gossip_stop(g);
        *out = NULL;
        return -1;
    }
    return 0;
}

void rk_gossip_introduce(const struct rk_gossip *g, char **name, uint32_t *codecs)
{
    *name = g->node->cfg->name ? g->node->cfg->name : "";
    *codecs = rk_peer_msg_codecs(g->node->cfg->compress);
}

void rk_gossip_stop(rk_gossip *g)
{
    if (!g)
        return;
    nng_mtx_lock(g->mu);
    g->stopping = true;
    for (size_t i = 0; i < g->ndps; i++)
        rk_peer_dial_wake_locked(g->dps[i]);
    nng_mtx_unlock(g->mu);
    rk_gossip_roster_stop(g);
    for (size_t i = 0; i < g->ndps; i++)
        rk_peer_dial_stop(g->dps[i]);
    free(g->dps);
    g->dps = NULL;
    g->ndps = 0;
    rk_peer_listen_stop(g->listen);
    g->listen = NULL;
    uv_close((uv_handle_t *)&g->closer, gossip_closer_cb);
}

json_t *rk_gossip_peers_json(rk_gossip *g)
{
    if (!g)
        return json_array();
    nng_mtx_lock(g->mu);
    json_t *arr = rk_peerstat_list_json_locked(&g->stats);
    nng_mtx_unlock(g->mu);
    return arr;
}

json_t *rk_gossip_summary_json(rk_gossip *g)
{
    if (!g)
        return json_pack("{s:i,s:i}", "peers", 0, "connected", 0);
    nng_mtx_lock(g->mu);
    json_t *o = rk_peerstat_summary_json_locked(&g->stats);
    nng_mtx_unlock(g->mu);
    return o;
}
