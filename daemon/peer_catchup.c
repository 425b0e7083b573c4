/* peer_catchup: catch-up ranges (docs/protocol.md, "Catch-up ranges").
 *
 * A node that holds almost nothing of a peer's set takes the whole set in item order, 500 records a
 * request, instead of reconciling it: reconciliation against an empty set lists every item of the
 * peer before the first record moves (1,000,000 items: about 150 messages of 256 KiB), the dialer
 * then asks for each record by hash, and the bound on the differences one reconciliation keeps
 * splits a large catch-up into passes with the writer drained between them.
 *
 * Invariants: nothing here decides what is stored: every record goes through the writer's ingest
 * checks like a fetched one, and each request waits for room at the writer as a Fetch does. The
 * dialer's cursor only moves past items the listener answered for, so a stream broken off resumes
 * where it stopped; whatever it missed (a record replaced meanwhile, one the writer refused) is the
 * business of the reconciliation that always follows. A listener that predates ranges answers a
 * range Fetch with an empty Records (no range_last, no range_end): the dialer then reconciles as
 * before. One dialer of a node takes ranges at a time (rk_gossip.catchup_owner).
 */
#include "peer_catchup.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_msg.h"
#include "renkei.pb-c.h"
#include "sync.h"
#include "writer.h"

#define CATCHUP_BATCH 500

typedef struct catchup_items {
    uint8_t *items;
    size_t n;
} catchup_items;

static int catchup_take_item(const uint8_t item[RK_ITEM_LEN], void *ctx)
{
    catchup_items *c = ctx;
    memcpy(c->items + c->n * RK_ITEM_LEN, item, RK_ITEM_LEN);
    c->n++;
    return 0;
}

/* The first item after `after` (40 bytes, big-endian): false when after is the last possible one. */
static bool catchup_next_item(const uint8_t after[RK_ITEM_LEN], uint8_t lo[RK_ITEM_LEN])
{
    memcpy(lo, after, RK_ITEM_LEN);
    for (size_t i = RK_ITEM_LEN; i-- > 0;)
        if (++lo[i] != 0)
            return true;
    return false;
}

int rk_peer_catchup_collect(struct rk_gossip *g, rk_relay_envset *es, int set, const uint8_t *after, size_t after_len,
                            size_t max_records, size_t budget, bool member, bool no_membership, uint8_t last[40],
                            bool *has_last, bool *end, size_t *forbidden)
{
    *has_last = false;
    *end = true;
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    if (after_len == RK_ITEM_LEN && !catchup_next_item(after, lo))
        return 0;
    catchup_items c = {.items = malloc(max_records * RK_ITEM_LEN)};
    if (!c.items)
        return -1;
    rk_error err;
    rk_txn *t = NULL;
    int rc = -1;
    if (rk_txn_begin(g->node->store, false, &t, &err) != 0 ||
        rk_store_set_items(t, set, lo, hi, max_records, catchup_take_item, &c, &err) != 0)
        goto out;
    rk_txn_abort(t);
    t = NULL;
    /* the envelopes come from a transaction of their own: an item whose record was replaced in
     * between is skipped like a withheld one, and its newer version follows in item order */
    size_t used = 0;
    if (c.n > 0 && rk_relay_collect(g, es, c.items, c.n, RK_ITEM_LEN, member, no_membership, max_records, budget, &used,
                                    forbidden) != 0)
        goto out;
    if (used > 0) {
        memcpy(last, c.items + (used - 1) * RK_ITEM_LEN, RK_ITEM_LEN);
        *has_last = true;
    }
    *end = c.n < max_records && used == c.n;
    rc = 0;
out:
    if (rc != 0)
        rk_warn("gossip", "catch-up range: %s", err.message);
    if (t)
        rk_txn_abort(t);
    free(c.items);
    return rc;
}

/* Items of the set `set` in our store; -1 if it cannot be read. */
static int64_t catchup_held(rk_peer_dial *dp, int set)
{
    uint8_t fp[RK_FP_LEN];
    rk_error err;
    rk_txn *t;
    uint64_t count = 0;
    if (rk_txn_begin(dp->g->node->store, false, &t, &err) != 0)
        return -1;
    int rc = rk_store_set_total(t, set, &count, fp, &err);
    rk_txn_abort(t);
    return rc == 0 ? (int64_t)count : -1;
}

/* One range Fetch: 0 more to come, 1 the set's end (or a listener without ranges), -1 failed. */
static int catchup_request(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, int set, bool *unsupported)
{
    struct rk_gossip *g = dp->g;
    if (rk_writer_wait_room(g->node->writer, RK_GOSSIP_WRITER_BACKLOG_MAX, RK_DIAL_CALL_TIMEOUT_MS) != 0)
        return -1; /* stopping, or the writer is stuck */
    Renkei__Fetch f = RENKEI__FETCH__INIT;
    f.range = true;
    f.range_set = (uint32_t)set;
    f.range_max = CATCHUP_BATCH;
    if (dp->catchup_has_after)
        f.range_after = (ProtobufCBinaryData){RK_ITEM_LEN, dp->catchup_after};
    Renkei__PeerReply *r;
    if (rk_peer_dial_call(dp, ctx, aio, RENKEI__PEER_REQUEST__MSG_FETCH, &f.base, RK_DIAL_CALL_TIMEOUT_MS, &r, NULL) !=
        0)
        return -1;
    int rc = -1;
    const Renkei__Records *rs = r->msg_case == RENKEI__PEER_REPLY__MSG_RECORDS ? r->records : NULL;
    if (!rs) {
        /* refused (the members' set needs membership there): the reconciliation finds out which set */
        *unsupported = true;
        rc = 1;
    } else if (rs->n_records > CATCHUP_BATCH) {
        rk_peerstat_reject(&g->stats, dp->st, "too_many", "more records than requested");
    } else if (!rs->range_end && rs->range_last.len == 0 && rs->n_records == 0) {
        *unsupported = true; /* a listener that predates ranges */
        rc = 1;
    } else if ((rs->range_last.len != 0 && rs->range_last.len != RK_ITEM_LEN) ||
               (!rs->range_end && rs->range_last.len == 0) ||
               (rs->range_last.len && dp->catchup_has_after &&
                memcmp(rs->range_last.data, dp->catchup_after, RK_ITEM_LEN) <= 0)) {
        /* a cursor that does not move forward would never end */
        rk_peerstat_reject(&g->stats, dp->st, "bad_field", "catch-up range cursor");
    } else {
        if (rs->n_records) {
            rk_relay_submit(g, dp->st, rs->records, rs->n_records);
            rk_metrics_add(g->metrics, "renkei_catchup_records_total", "peer", dp->st->name, rs->n_records);
        }
        if (rs->range_last.len) {
            memcpy(dp->catchup_after, rs->range_last.data, RK_ITEM_LEN);
            dp->catchup_has_after = true;
        }
        rc = rs->range_end ? 1 : 0;
    }
    renkei__peer_reply__free_unpacked(r, NULL);
    return rc;
}

int rk_peer_catchup_step(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio)
{
    struct rk_gossip *g = dp->g;
    nng_mtx_lock(g->mu);
    int set = dp->set;
    bool other = g->catchup_owner && g->catchup_owner != dp;
    int state = dp->catchup;
    nng_mtx_unlock(g->mu);
    if (state == RK_CATCHUP_DONE)
        return 0;
    if (other)
        return 1;
    if (state == RK_CATCHUP_UNDECIDED) {
        int64_t held = catchup_held(dp, set);
        if (held < 0)
            return -1;
        state = held < RK_CATCHUP_HELD_MAX ? RK_CATCHUP_TAKING : RK_CATCHUP_DONE;
        nng_mtx_lock(g->mu);
        dp->catchup = state;
        dp->catchup_has_after = false; /* from the set's first item */
        nng_mtx_unlock(g->mu);
        if (state == RK_CATCHUP_DONE)
            return 0;
    }
    nng_mtx_lock(g->mu);
    if (g->catchup_owner && g->catchup_owner != dp) {
        nng_mtx_unlock(g->mu);
        return 1;
    }
    g->catchup_owner = dp;
    nng_mtx_unlock(g->mu);
    rk_info("gossip", "taking catch-up ranges from peer=%s%s", dp->st->name, dp->catchup_has_after ? " (resumed)" : "");
    uint64_t t0 = rk_monotonic_ns();
    bool unsupported = false;
    int rc;
    while ((rc = catchup_request(dp, ctx, aio, set, &unsupported)) == 0)
        ;
    nng_mtx_lock(g->mu);
    g->catchup_owner = NULL;
    if (rc > 0)
        dp->catchup = RK_CATCHUP_DONE;
    nng_mtx_unlock(g->mu);
    if (rc < 0) {
        rk_warn("gossip", "catch-up ranges from peer=%s broke off; resuming later", dp->st->name);
        return -1;
    }
    if (unsupported) {
        rk_info("gossip", "peer=%s does not serve catch-up ranges: reconciling instead", dp->st->name);
        return 0;
    }
    rk_info("gossip", "took catch-up ranges from peer=%s in %.3fs", dp->st->name,
            (double)(rk_monotonic_ns() - t0) / 1e9);
    /* the reconciliation that follows must not find the records still on their way to the store */
    rk_writer_wait_room(g->node->writer, 1, RK_DIAL_CALL_TIMEOUT_MS);
    return 0;
}
