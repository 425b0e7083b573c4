/* gauges: what a monitoring system needs to see of a node besides its counters.
 *
 * Invariants: refreshing costs a read transaction and a few O(log n) reads (lib/storestat.c), never a
 * walk over the records, so a scrape every few seconds is harmless at a million records (the roster
 * is the node's current snapshot, daemon/members.h, never recomputed here). A failed
 * store read leaves the previous values (a scrape must not fail because one gauge could not be
 * read); it is logged. Label values are fixed strings from the code.
 */
#include "gauges.h"

#include <jansson.h>

#include "gossip.h"
#include "log.h"
#include "members.h"
#include "metrics.h"
#include "pending.h"
#include "storestat.h"
#include "writer.h"

static const char *const kinds[] = {NULL, "case", "event", "region", "tombstone"};
static const char *const visibilities[] = {NULL, "public", "network", "local"};
static const rk_member_status statuses[] = {RK_MEMBER_FOUNDING, RK_MEMBER_ADMITTED, RK_MEMBER_PENDING,
                                            RK_MEMBER_ROTATED, RK_MEMBER_REVOKED};

void rk_gauges_declare(rk_node *node)
{
    rk_metrics *m = node->metrics;
    rk_metrics_describe(m, "renkei_build_info", "gauge", "Always 1; the version label is the renkeid version.");
    rk_metrics_describe(m, "renkei_peers", "gauge", "Configured and inbound peers this node knows.");
    rk_metrics_describe(m, "renkei_peers_connected", "gauge", "Peers connected now (dialled or inbound).");
    rk_metrics_describe(m, "renkei_records", "gauge", "Current records held, by kind (deletions as tombstone).");
    rk_metrics_describe(m, "renkei_records_by_visibility", "gauge",
                        "Current versions held, by visibility (tombstones included).");
    rk_metrics_describe(m, "renkei_store_map_size_bytes", "gauge", "Size of the LMDB map ([node] map_size).");
    rk_metrics_describe(m, "renkei_store_map_used_bytes", "gauge", "Bytes of the LMDB map in use.");
    rk_metrics_describe(m, "renkei_members", "gauge",
                        "Keys of the roster this node computes, by status (docs/membership.md).");
    rk_metrics_describe(m, "renkei_pending_records", "gauge",
                        "Records of non-members kept aside until their authors are admitted (docs/membership.md).");
    rk_metrics_describe(m, "renkei_pending_total", "counter",
                        "Records of non-members kept aside (held), evicted for room, stored once their authors were "
                        "admitted (promoted), or dropped after [quota] pending_keep (expired).");
    rk_metrics_describe(m, "renkei_writer_queue", "gauge",
                        "Records submitted to the writer (from peers or published here) and not yet stored and "
                        "acknowledged: what a fetch waits on and what makes a push `busy`.");
    rk_metrics_set_gauge(m, "renkei_writer_queue", 0);
    rk_metrics_describe(m, "renkei_invalidated_records_total", "counter",
                        "Stored records removed because a new roster no longer takes them (a revocation with an "
                        "earlier since).");
    rk_metrics_set_gauge1(m, "renkei_build_info", "version", RENKEI_VERSION, 1);
    rk_metrics_set_gauge(m, "renkei_pending_records", 0);
    static const char *const pending_events[] = {"held", "evicted", "promoted", "expired"};
    for (size_t i = 0; i < sizeof pending_events / sizeof pending_events[0]; i++)
        rk_metrics_touch(m, "renkei_pending_total", "event", pending_events[i]);
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        rk_metrics_set_gauge1(m, "renkei_members", "status", rk_member_status_name(statuses[i]), 0);
    for (size_t k = 1; k < sizeof kinds / sizeof kinds[0]; k++)
        rk_metrics_set_gauge1(m, "renkei_records", "kind", kinds[k], 0);
    for (size_t v = 1; v < sizeof visibilities / sizeof visibilities[0]; v++)
        rk_metrics_set_gauge1(m, "renkei_records_by_visibility", "visibility", visibilities[v], 0);
    /* counters whose label values are a closed set: present at zero before the first event */
    rk_metrics_touch(m, "renkei_ingest_total", "source", "local");
    rk_metrics_touch(m, "renkei_ingest_total", "source", "peer");
    rk_metrics_touch(m, "renkei_publishes_total", "op", "create");
    rk_metrics_touch(m, "renkei_publishes_total", "op", "update");
    rk_metrics_touch(m, "renkei_publishes_total", "op", "delete");
}

void rk_gauges_refresh(rk_node *node)
{
    rk_metrics *m = node->metrics;
    if (node->gossip) {
        json_t *s = rk_gossip_summary_json(node->gossip);
        if (s) {
            rk_metrics_set_gauge(m, "renkei_peers", (double)json_integer_value(json_object_get(s, "peers")));
            rk_metrics_set_gauge(m, "renkei_peers_connected",
                                 (double)json_integer_value(json_object_get(s, "connected")));
            json_decref(s);
        }
    } else {
        rk_metrics_set_gauge(m, "renkei_peers", 0);
        rk_metrics_set_gauge(m, "renkei_peers_connected", 0);
    }
    if (node->writer)
        rk_metrics_set_gauge(m, "renkei_writer_queue", (double)rk_writer_outstanding(node->writer));
    rk_txn *t;
    rk_error err;
    rk_storestat st;
    if (rk_txn_begin(node->store, false, &t, &err) != 0) {
        rk_warn("metrics", "cannot read the store for the gauges: %s", err.message);
        return;
    }
    int rc = rk_storestat_read(t, &st, &err);
    uint64_t pending = 0;
    if (rc == 0)
        rc = rk_pending_count(t, &pending, &err);
    rk_txn_abort(t);
    const rk_membership *roster = rk_members_acquire(node);
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        size_t count = 0;
        for (size_t k = 0; k < roster->count; k++)
            count += roster->entries[k].status == statuses[i];
        rk_metrics_set_gauge1(m, "renkei_members", "status", rk_member_status_name(statuses[i]), (double)count);
    }
    rk_members_release(node, roster);
    if (rc != 0) {
        rk_warn("metrics", "cannot read the store for the gauges: %s", err.message);
        return;
    }
    for (size_t k = 1; k < sizeof kinds / sizeof kinds[0]; k++)
        rk_metrics_set_gauge1(m, "renkei_records", "kind", kinds[k], (double)st.by_kind[k]);
    for (size_t v = 1; v < sizeof visibilities / sizeof visibilities[0]; v++)
        rk_metrics_set_gauge1(m, "renkei_records_by_visibility", "visibility", visibilities[v],
                              (double)st.by_visibility[v]);
    rk_metrics_set_gauge(m, "renkei_pending_records", (double)pending);
    rk_metrics_set_gauge(m, "renkei_store_map_size_bytes", (double)st.map_size);
    rk_metrics_set_gauge(m, "renkei_store_map_used_bytes", (double)st.map_used);
}
