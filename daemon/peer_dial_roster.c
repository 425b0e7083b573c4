/* peer_dial_roster: what a dialer does about membership (docs/protocol.md, "Roster").
 *
 * In the handshake it sends its roster digest and its charter digest, or, as a joining node without
 * a charter, asks for one; a configured peer's charter, signed with our nonce, is adopted and kept.
 * When the listener's roster digest differs from ours, the first thing after the handshake is the
 * roster exchange: both sides list their membership records (RosterItems), the dialer fetches what it
 * lacks and pushes what the listener lacks, and waits until its writer has stored them, so the
 * roster converges before any bulk data moves.
 *
 * Invariants: a charter is learned only from a [peer] of the configuration (whose key the operator
 * typed in), never from a peer drawn from the roster; with a peer whose charter differs no membership
 * record moves either way and no roster exchange runs.
 */
#include <stdlib.h>
#include <string.h>

#include "charter_store.h"
#include "gossip_int.h"
#include "log.h"
#include "peer_dial_int.h"
#include "roster_sync.h"
#include "writer.h"

#define ROSTER_CALL_TIMEOUT_MS 30000
#define ROSTER_DRAIN_WAIT_MS 10000

void rk_peer_dial_hello_membership(rk_peer_dial *dp, Renkei__Hello *h, uint8_t roster[RK_HASH_LEN],
                                   uint8_t charter[RK_HASH_LEN])
{
    struct rk_gossip *g = dp->g;
    if (rk_gossip_roster_digest(g, roster)) {
        h->roster_digest.data = roster;
        h->roster_digest.len = RK_HASH_LEN;
    }
    rk_charter c;
    if (rk_charter_store_get(g->node->charter, &c, charter)) {
        h->charter_digest.data = charter;
        h->charter_digest.len = RK_HASH_LEN;
    }
    h->want_charter = dp->configured && rk_charter_store_wants(g->node->charter);
}

/* A charter the listener handed over: adopted when we asked for it and its signature holds. */
static void dial_learn_charter(rk_peer_dial *dp, const Renkei__HelloReply *hr, const uint8_t nonce[32])
{
    struct rk_gossip *g = dp->g;
    if (!dp->configured || !hr->charter.len || !rk_charter_store_wants(g->node->charter))
        return;
    if (hr->charter_signature.len != RK_SIG_LEN ||
        !rk_charter_verify(dp->st->key, nonce, hr->charter.data, hr->charter.len, hr->charter_signature.data)) {
        rk_peerstat_reject(&g->stats, dp->st, "bad_signature", "the charter's signature does not verify");
        return;
    }
    rk_error err;
    rk_charter c;
    if (rk_charter_unpack(hr->charter.data, hr->charter.len, &c, &err) != 0) {
        rk_peerstat_reject(&g->stats, dp->st, err.code, err.message);
        return;
    }
    int rc = rk_charter_store_learn(g->node->charter, &c, &err);
    if (rc < 0)
        rk_warn("members", "cannot keep the charter from peer=%s: %s", dp->st->name, err.message);
    if (rc == 1) {
        uint8_t d[RK_HASH_LEN];
        char hex[2 * RK_HASH_LEN + 1] = "";
        if (rk_charter_digest(&c, d) == 0)
            rk_hex_encode(d, RK_HASH_LEN, hex);
        rk_info("members", "learned the charter %s from peer=%s: %zu founding members, threshold %u", hex, dp->st->name,
                c.founding_count, c.threshold);
        rk_gossip_roster_changed(g);
    }
    rk_charter_free_owned(&c);
}

void rk_peer_dial_reply_membership(rk_peer_dial *dp, const Renkei__HelloReply *hr, const uint8_t nonce[32])
{
    struct rk_gossip *g = dp->g;
    dial_learn_charter(dp, hr, nonce);
    uint8_t ours[RK_HASH_LEN], roster[RK_HASH_LEN];
    rk_charter c;
    bool have = rk_charter_store_get(g->node->charter, &c, ours);
    const uint8_t *theirs = hr->charter_digest.len == RK_HASH_LEN ? hr->charter_digest.data : NULL;
    const uint8_t *their_roster = hr->roster_digest.len == RK_HASH_LEN ? hr->roster_digest.data : NULL;
    rk_peerstat_membership(&g->stats, dp->st, have ? ours : NULL, theirs, their_roster);
    bool differ = their_roster && rk_gossip_roster_digest(g, roster) && memcmp(roster, their_roster, RK_HASH_LEN) != 0;
    nng_mtx_lock(g->mu);
    dp->roster_now = differ && !dp->st->charter_mismatch;
    nng_mtx_unlock(g->mu);
}

int rk_peer_dial_roster_exchange(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio)
{
    struct rk_gossip *g = dp->g;
    rk_error err;
    rk_buf ours, need, have;
    rk_buf_init(&ours);
    rk_buf_init(&need);
    rk_buf_init(&have);
    int rc = -1;
    const char *result = "error";
    if (rk_roster_sync_items(g->node->store, &ours, &err) != 0)
        goto out;
    Renkei__RosterItems ri = RENKEI__ROSTER_ITEMS__INIT;
    ri.items = (ProtobufCBinaryData){ours.len, (uint8_t *)ours.data};
    Renkei__PeerReply *r = NULL;
    if (rk_peer_dial_call(dp, ctx, aio, RENKEI__PEER_REQUEST__MSG_ROSTER, &ri.base, ROSTER_CALL_TIMEOUT_MS, &r, NULL) !=
        0) {
        result = "transport";
        goto out;
    }
    const char *why = r->msg_case != RENKEI__PEER_REPLY__MSG_ROSTER
                          ? "unexpected"
                          : rk_roster_sync_check(r->roster->items.data, r->roster->items.len);
    if (why) {
        if (r->msg_case == RENKEI__PEER_REPLY__MSG_ROSTER)
            rk_peerstat_reject(&g->stats, dp->st, why, "RosterItems");
        result = "bad_reply";
        renkei__peer_reply__free_unpacked(r, NULL);
        goto out;
    }
    int d = rk_roster_sync_diff((const uint8_t *)ours.data, ours.len / RK_ITEM_LEN, r->roster->items.data,
                                r->roster->items.len / RK_ITEM_LEN, &need, &have);
    renkei__peer_reply__free_unpacked(r, NULL);
    if (d != 0)
        goto out;
    /* claimed like any fetch, so an announcement of the same records does not fetch them twice */
    uint8_t *h = (uint8_t *)need.data;
    size_t nn = rk_relay_claim_list(g, h, need.len / RK_HASH_LEN);
    if (rk_peer_dial_fetch(dp, ctx, aio, h, nn) != 0) {
        result = "fetch_failed";
        goto out;
    }
    if (rk_peer_push(dp, ctx, aio, (const uint8_t *)have.data, have.len / RK_ITEM_LEN, RK_ITEM_LEN) != 0) {
        result = "push_failed";
        goto out;
    }
    /* the roster first: what was fetched is stored before the reconciliation of everything else */
    if (nn)
        rk_writer_wait_room(g->node->writer, 1, ROSTER_DRAIN_WAIT_MS);
    rc = 0;
    result = "ok";
    rk_info("members", "roster exchange with peer=%s: fetched %zu, pushed %zu membership records", dp->st->name, nn,
            have.len / RK_ITEM_LEN);
out:
    rk_metrics_add2(g->metrics, "renkei_roster_exchanges_total", "result", result, "peer", dp->st->name, 1);
    if (rc != 0)
        rk_warn("members", "roster exchange with peer=%s failed: %s", dp->st->name, result);
    rk_buf_free(&ours);
    rk_buf_free(&need);
    rk_buf_free(&have);
    return rc;
}
