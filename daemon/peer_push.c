/* peer_push: sending our records to a dialed peer (docs/protocol.md, "Records (push) → Ack"):
 * the items reconciliation found the listener lacks, and the records it asks for after an Announce.
 *
 * The listener takes a push only while its writer has room, and never blocks to make room: it
 * answers `busy` with the time its writer needs (retry_after_ms), and the Ack of a push that filled
 * the writer carries that time too. So pushes are paced by those hints: the next push waits for the
 * Ack's hint, and a refused push is sent again, the same message, after the busy answer's hint (or
 * a doubling backoff from a listener that names none). A momentarily full writer therefore neither
 * ends a reconciliation nor makes it send records twice; only a listener that stays full for
 * PUSH_BUSY_WAIT_MAX_MS fails the push, and the next reconciliation repairs what it missed.
 *
 * Invariant: no read transaction is held while waiting: a push is packed (the envelopes point into
 * the transaction) and the transaction closed before the first send.
 */
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"
#include "log.h"
#include "metrics.h"
#include "peer_dial_int.h"
#include "relay.h"

#define PUSH_BUDGET (4u << 20) /* bytes of envelopes in one Records push */
/* A push answered `busy` is sent again after the listener's retry_after_ms (at most
 * PUSH_BUSY_HINT_MAX_MS), or after a backoff from PUSH_BUSY_BACKOFF_MIN_MS doubling to that bound
 * when the listener names no wait; the reconciliation fails only when one push has waited
 * PUSH_BUSY_WAIT_MAX_MS in all, i.e. the listener's writer made no room for that long. */
#define PUSH_BUSY_HINT_MAX_MS 5000
#define PUSH_BUSY_BACKOFF_MIN_MS 50
#define PUSH_BUSY_WAIT_MAX_MS 60000

/* Sleeps ms unless the node stops first; false when it stops. Announcements wake dp->cv too, so
 * the wait is measured against a deadline. */
static bool peer_push_sleep(rk_peer_dial *dp, unsigned ms)
{
    nng_time until = nng_clock() + ms;
    nng_mtx_lock(dp->g->mu);
    while (!dp->g->stopping && nng_clock() < until)
        nng_cv_until(dp->cv, until);
    bool go = !dp->g->stopping;
    nng_mtx_unlock(dp->g->mu);
    return go;
}

/* Sends one packed Records push (m, taken over) until the listener accepts it. A `busy` answer means
 * the listener's writer is full: the same message goes again after the wait the listener asks for
 * (retry_after_ms), or after a doubling backoff if it names none (older listeners), for at most
 * PUSH_BUSY_WAIT_MAX_MS in all. *pace_ms is the wait the Ack asks for before the next push.
 * Returns 0 when accepted, -1 otherwise (refused, timed out, stopping). */
static int peer_push_one(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, nng_msg *m, size_t n_records, unsigned *pace_ms)
{
    struct rk_gossip *g = dp->g;
    unsigned waited = 0, backoff = PUSH_BUSY_BACKOFF_MIN_MS;
    *pace_ms = 0;
    for (;;) {
        nng_msg *copy;
        if (nng_msg_dup(&copy, m) != 0) {
            nng_msg_free(m);
            return -1;
        }
        Renkei__PeerReply *r;
        if (rk_peer_dial_exchange(dp, ctx, aio, copy, RK_DIAL_CALL_TIMEOUT_MS, &r, NULL) != 0) {
            nng_msg_free(m);
            return -1;
        }
        if (r->msg_case == RENKEI__PEER_REPLY__MSG_ACK) {
            rk_peerstat_count_io(&g->stats, dp->st, n_records, 0);
            *pace_ms = r->ack->retry_after_ms < PUSH_BUSY_HINT_MAX_MS ? r->ack->retry_after_ms : PUSH_BUSY_HINT_MAX_MS;
            renkei__peer_reply__free_unpacked(r, NULL);
            nng_msg_free(m);
            return 0;
        }
        bool busy = r->msg_case == RENKEI__PEER_REPLY__MSG_ERROR && strcmp(r->error->code, "busy") == 0;
        unsigned wait = 0;
        if (busy) {
            unsigned hint = r->error->retry_after_ms;
            wait = hint ? (hint < PUSH_BUSY_HINT_MAX_MS ? hint : PUSH_BUSY_HINT_MAX_MS) : backoff;
            backoff = backoff * 2 < PUSH_BUSY_HINT_MAX_MS ? backoff * 2 : PUSH_BUSY_HINT_MAX_MS;
        }
        renkei__peer_reply__free_unpacked(r, NULL);
        if (!busy || waited + wait > PUSH_BUSY_WAIT_MAX_MS) {
            nng_msg_free(m);
            return -1;
        }
        rk_metrics_add(g->metrics, "renkei_peer_busy_total", "peer", dp->st->name, 1);
        waited += wait;
        if (!peer_push_sleep(dp, wait)) {
            nng_msg_free(m);
            return -1;
        }
    }
}

/* Sends the envelopes for a list (items or hashes) as Records pushes, each after the wait the
 * listener asked for in the Ack of the one before. */
int rk_peer_push_paced(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *list, size_t n, size_t stride,
                       unsigned *pace_ms)
{
    struct rk_gossip *g = dp->g;
    size_t i = 0;
    while (i < n) {
        if (*pace_ms) {
            rk_metrics_add(g->metrics, "renkei_peer_push_paced_total", "peer", dp->st->name, 1);
            if (!peer_push_sleep(dp, *pace_ms))
                return -1;
        }
        *pace_ms = 0;
        rk_relay_envset es = {0};
        size_t used = 0;
        if (rk_relay_collect(g, &es, list + i * stride, n - i, stride, true, rk_relay_charter_mismatch(g, dp->st),
                             RK_GOSSIP_MAX_RECORDS, PUSH_BUDGET, &used, NULL) != 0) {
            rk_relay_envset_free(&es);
            return -1;
        }
        if (used == 0)
            used = 1; /* cannot happen with a budget above the record limit; never loop */
        size_t sent = es.n;
        nng_msg *m = NULL;
        if (sent > 0) {
            Renkei__Records rs = RENKEI__RECORDS__INIT;
            rs.n_records = es.n;
            rs.records = es.recs;
            m = rk_peer_dial_pack(dp, RENKEI__PEER_REQUEST__MSG_PUSH, &rs.base);
        }
        /* Packed (the envelopes point into the read transaction until here): a wait for the listener
         * does not hold the transaction open. */
        rk_relay_envset_free(&es);
        if (sent > 0 && (!m || peer_push_one(dp, ctx, aio, m, sent, pace_ms) != 0))
            return -1;
        i += used;
    }
    return 0;
}

int rk_peer_push(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *list, size_t n, size_t stride)
{
    unsigned pace_ms = 0;
    return rk_peer_push_paced(dp, ctx, aio, list, n, stride, &pace_ms);
}

/* Announces our queued items; the peer answers with the hashes it wants, which we push. */
int rk_peer_push_announce(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *items, size_t n)
{
    for (size_t i = 0; i < n; i += RK_GOSSIP_MAX_ITEMS) {
        size_t k = n - i < RK_GOSSIP_MAX_ITEMS ? n - i : RK_GOSSIP_MAX_ITEMS;
        Renkei__Announce a = RENKEI__ANNOUNCE__INIT;
        a.items = (ProtobufCBinaryData){k * RK_ITEM_LEN, (uint8_t *)items + i * RK_ITEM_LEN};
        Renkei__PeerReply *r;
        if (rk_peer_dial_call(dp, ctx, aio, RENKEI__PEER_REQUEST__MSG_ANNOUNCE, &a.base, RK_DIAL_CALL_TIMEOUT_MS, &r,
                              NULL) != 0)
            return -1;
        int rc = 0;
        if (r->msg_case == RENKEI__PEER_REPLY__MSG_FETCH) {
            const ProtobufCBinaryData *h = &r->fetch->hashes;
            if (h->len % RK_HASH_LEN != 0 || h->len / RK_HASH_LEN > RK_GOSSIP_MAX_HASHES) {
                rk_peerstat_reject(&dp->g->stats, dp->st, "bad_field", "Fetch hashes");
                rc = -1;
            } else {
                rc = rk_peer_push(dp, ctx, aio, h->data, h->len / RK_HASH_LEN, RK_HASH_LEN);
            }
        } else if (r->msg_case != RENKEI__PEER_REPLY__MSG_ACK) {
            rc = -1;
        }
        renkei__peer_reply__free_unpacked(r, NULL);
        if (rc != 0)
            return -1;
    }
    return 0;
}
