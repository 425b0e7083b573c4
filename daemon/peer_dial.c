/* peer_dial: the dialer side of the peer protocol (docs/protocol.md).
 *
 * Each [peer] with a url gets its own REQ socket and two threads: a control thread (handshake,
 * reconciliation on connect and every sync_interval_s, announcements of our new records, then
 * pushes of what the listener asks for) and a poll thread that keeps one Poll outstanding so pushes
 * reach a dialer behind NAT. A reconciliation's fetches and pushes run on two more threads while it
 * lasts (peer_flow.c). Blocking calls on their own contexts keep these sequences simple; NNG
 * callbacks (dial_pipe_cb) never block.
 *
 * Invariants: the handshake counts as done only if its Ack came over the pipe that carried the
 * HelloReply; when that pipe closes the control thread handshakes again. Until the listener has
 * proved its key, replies are limited to DIAL_PREAUTH_MAX bytes (NNG closes the pipe otherwise). Anything lost on a failure
 * (a dropped announcement, an unfinished fetch) is repaired by the next reconciliation, which runs
 * at once after a failure or a truncated pass. Fetches wait for room at the writer, so catching up
 * on a large backlog holds a bounded number of records in memory; pushes wait for room at the
 * listener's writer (peer_push.c).
 */
#include "peer_dial.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"
#include "handshake.h"
#include "log.h"
#include "peer_catchup.h"
#include "peer_dial_int.h"
#include "peer_flow.h"
#include "peer_msg.h"
#include "renkei.pb-c.h"
#include "sync.h"
#include "tls.h"
#include "writer.h"

/* Replies a dialer accepts before the listener has proved its key: a HelloReply is tiny, and the
 * largest other reply that may arrive then (a Poll resent by NNG on a new pipe) is an Announce of
 * at most 400 KB. After the handshake, RK_GOSSIP_TRANSPORT_MAX. */
#define DIAL_PREAUTH_MAX (1u << 20)
#define DIAL_FETCH_BATCH 500
#define DIAL_POLL_WAIT_MS 20000
#define DIAL_MAX_SYNC_ROUNDS 400
/* Differences one reconciliation keeps (32-byte hashes to fetch, 40-byte items to push): 8 MiB and
 * 10 MiB. A node catching up on more fetches these, then reconciles again at once for the rest. */
#define DIAL_SYNC_NEED_MAX 262144
#define DIAL_SYNC_HAVE_MAX 262144
/* Before that next pass, how long to wait for the writer to commit what was fetched: a record still
 * on its way to the store would be found missing and fetched again. */
#define DIAL_SYNC_DRAIN_WAIT_MS 10000
/* While another dialer of this node takes catch-up ranges, how long to wait before asking again. */
#define DIAL_CATCHUP_DEFER_MS 1000

nng_msg *rk_peer_dial_pack(rk_peer_dial *dp, uint32_t member, const ProtobufCMessage *sub)
{
    nng_msg *m = rk_peer_msg_pack(&renkei__peer_request__descriptor, member, sub);
    nng_mtx_lock(dp->g->mu);
    bool zstd = dp->zstd;
    nng_mtx_unlock(dp->g->mu);
    return zstd ? rk_peer_msg_compress(&renkei__peer_request__descriptor, m) : m;
}

/* A thread enters before each call that reaches the socket and leaves right after it (never across a
 * wait): rk_peer_dial_stop closes the socket between two calls, never during one, because NNG 1.5
 * panics (pthread_mutex_lock: Invalid argument, in nni_ctx_rele) when a socket closes while another
 * thread is inside nng_ctx_send on it. False, with nothing held, once the socket is closed. */
static bool peer_dial_sock_enter(rk_peer_dial *dp)
{
    nng_mtx_lock(dp->sock_mu);
    if (!dp->sock_open) {
        nng_mtx_unlock(dp->sock_mu);
        return false;
    }
    return true;
}

static void peer_dial_sock_leave(rk_peer_dial *dp)
{
    nng_mtx_unlock(dp->sock_mu);
}

int rk_peer_dial_exchange(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, nng_msg *m, nng_duration timeout,
                          Renkei__PeerReply **out, uint32_t *pipe)
{
    *out = NULL;
    nng_aio_set_timeout(aio, timeout);
    size_t sent = nng_msg_len(m);
    if (!peer_dial_sock_enter(dp)) {
        nng_msg_free(m);
        return NNG_ECLOSED;
    }
    nng_aio_set_msg(aio, m);
    nng_ctx_send(ctx, aio);
    peer_dial_sock_leave(dp);
    nng_aio_wait(aio);
    int rv = nng_aio_result(aio);
    if (rv != 0) {
        nng_msg_free(m);
        return rv;
    }
    if (!peer_dial_sock_enter(dp))
        return NNG_ECLOSED;
    nng_ctx_recv(ctx, aio);
    peer_dial_sock_leave(dp);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0)
        return rv;
    m = nng_aio_get_msg(aio);
    rk_metrics_add(dp->g->metrics, "renkei_peer_bytes_total", "direction", "out", sent);
    rk_metrics_add(dp->g->metrics, "renkei_peer_bytes_total", "direction", "in", nng_msg_len(m));
    if (pipe)
        *pipe = (uint32_t)nng_pipe_id(nng_msg_get_pipe(m));
    if (nng_msg_len(m) > RK_GOSSIP_MAX_MSG) {
        nng_msg_free(m);
        rk_peerstat_reject(&dp->g->stats, dp->st, "too_large", "reply over 8 MiB");
        return NNG_EMSGSIZE;
    }
    rk_peer_msg_reject why;
    *out = (Renkei__PeerReply *)rk_peer_msg_decode(&renkei__peer_reply__descriptor, nng_msg_body(m), nng_msg_len(m),
                                                   NULL, NULL, &why);
    nng_msg_free(m);
    if (!*out) {
        rk_peerstat_reject(&dp->g->stats, dp->st, why.code, why.detail);
        return NNG_EPROTO;
    }
    if ((*out)->msg_case == RENKEI__PEER_REPLY__MSG_ERROR) {
        const char *code = (*out)->error->code;
        if (strcmp(code, "unauthenticated") == 0) {
            nng_mtx_lock(dp->g->mu);
            dp->authed = false;
            nng_cv_wake(dp->cv);
            nng_mtx_unlock(dp->g->mu);
        }
        rk_debug("gossip", "peer=%s answered error %s: %s", dp->st->name, code, (*out)->error->message);
    }
    return 0;
}

int rk_peer_dial_call(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, uint32_t member, const ProtobufCMessage *sub,
                      nng_duration timeout, Renkei__PeerReply **out, uint32_t *pipe)
{
    *out = NULL;
    nng_msg *m = rk_peer_dial_pack(dp, member, sub);
    return m ? rk_peer_dial_exchange(dp, ctx, aio, m, timeout, out, pipe) : NNG_ENOMEM;
}

static bool peer_dial_stopping(rk_peer_dial *dp)
{
    nng_mtx_lock(dp->g->mu);
    bool s = dp->g->stopping || dp->stop;
    nng_mtx_unlock(dp->g->mu);
    return s;
}

static void peer_dial_set_state(rk_peer_dial *dp, int state)
{
    nng_mtx_lock(dp->g->mu);
    dp->st->state = state;
    nng_mtx_unlock(dp->g->mu);
}

static void peer_dial_fail_pipe(rk_peer_dial *dp, uint32_t pipe)
{
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = pipe;
    if (peer_dial_sock_enter(dp)) {
        nng_pipe_close(p);
        peer_dial_sock_leave(dp);
    }
}

static void peer_dial_limit(rk_peer_dial *dp, size_t max)
{
    if (peer_dial_sock_enter(dp)) {
        nng_dialer_set_size(dp->dialer, NNG_OPT_RECVMAXSZ, max);
        peer_dial_sock_leave(dp);
    }
}

/* Hello, HelloReply (check the key is the configured one and the signature holds), Auth, Ack.
 * Returns 0 when authenticated, 1 to retry with backoff, 2 when the peer is not who the
 * configuration says (retry slowly), -1 when the socket is closed. */
static int peer_dial_handshake(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio)
{
    struct rk_gossip *g = dp->g;
    uint8_t nonce[RK_HANDSHAKE_NONCE_LEN];
    if (rk_random(nonce, sizeof(nonce)) != 0)
        return -1;
    /* NNG applies a dialer's limit to its current pipe too, so this also covers a pipe that came up
     * before this handshake began. */
    peer_dial_limit(dp, DIAL_PREAUTH_MAX);
    Renkei__Hello h = RENKEI__HELLO__INIT;
    h.node_key.data = g->node->pub;
    h.node_key.len = RK_KEY_LEN;
    h.nonce.data = nonce;
    h.nonce.len = RK_HANDSHAKE_NONCE_LEN;
    h.protocol_version = RK_HANDSHAKE_VERSION;
    rk_gossip_introduce(g, &h.name, &h.compression);
    uint8_t roster[RK_HASH_LEN], charter[RK_HASH_LEN];
    rk_peer_dial_hello_membership(dp, &h, roster, charter);
    nng_mtx_lock(g->mu);
    dp->zstd = false; /* until this handshake's HelloReply says otherwise */
    nng_mtx_unlock(g->mu);
    Renkei__PeerReply *r = NULL;
    uint32_t pipe = 0, pipe2 = 0;
    int rv =
        rk_peer_dial_call(dp, ctx, aio, RENKEI__PEER_REQUEST__MSG_HELLO, &h.base, RK_DIAL_CALL_TIMEOUT_MS, &r, &pipe);
    if (rv != 0)
        return rv == NNG_ECLOSED ? -1 : 1;
    if (r->msg_case != RENKEI__PEER_REPLY__MSG_HELLO) {
        renkei__peer_reply__free_unpacked(r, NULL);
        rk_peerstat_reject(&g->stats, dp->st, "unexpected", "Hello not answered with HelloReply");
        return 1;
    }
    Renkei__HelloReply *hr = r->hello;
    if (hr->node_key.len != RK_KEY_LEN || hr->nonce.len != RK_HANDSHAKE_NONCE_LEN || hr->signature.len != RK_SIG_LEN) {
        renkei__peer_reply__free_unpacked(r, NULL);
        rk_peerstat_reject(&g->stats, dp->st, "bad_field", "HelloReply field lengths");
        peer_dial_fail_pipe(dp, pipe);
        return 1;
    }
    if (memcmp(hr->node_key.data, dp->st->key, RK_KEY_LEN) != 0) {
        renkei__peer_reply__free_unpacked(r, NULL);
        rk_peerstat_reject(&g->stats, dp->st, "wrong_peer_key", "the listener's key is not the configured one");
        peer_dial_fail_pipe(dp, pipe);
        return 2;
    }
    if (!rk_handshake_verify(RK_HANDSHAKE_LISTENER, nonce, g->node->pub, dp->st->key, hr->signature.data)) {
        renkei__peer_reply__free_unpacked(r, NULL);
        rk_peerstat_reject(&g->stats, dp->st, "bad_signature", "listener's handshake signature does not verify");
        peer_dial_fail_pipe(dp, pipe);
        return 2;
    }
    bool zstd = rk_peer_msg_zstd_agreed(g->node->cfg->compress, hr->compression);
    rk_peer_dial_reply_membership(dp, hr, nonce);
    uint8_t sig[RK_SIG_LEN];
    int signed_ok =
        rk_handshake_sign(g->node->key, RK_HANDSHAKE_DIALER, hr->nonce.data, dp->st->key, g->node->pub, sig);
    renkei__peer_reply__free_unpacked(r, NULL);
    if (signed_ok != 0)
        return 1;
    Renkei__Auth a = RENKEI__AUTH__INIT;
    a.signature.data = sig;
    a.signature.len = RK_SIG_LEN;
    rv = rk_peer_dial_call(dp, ctx, aio, RENKEI__PEER_REQUEST__MSG_AUTH, &a.base, RK_DIAL_CALL_TIMEOUT_MS, &r, &pipe2);
    if (rv != 0)
        return rv == NNG_ECLOSED ? -1 : 1;
    bool ok = r->msg_case == RENKEI__PEER_REPLY__MSG_ACK && pipe2 == pipe;
    renkei__peer_reply__free_unpacked(r, NULL);
    if (!ok)
        return 1; /* reconnected in between, or refused: start over */
    peer_dial_limit(dp, RK_GOSSIP_TRANSPORT_MAX);
    nng_mtx_lock(g->mu);
    dp->authed = true;
    dp->zstd = zstd;
    dp->auth_pipe = pipe;
    dp->sync_now = true;
    dp->set = RK_SET_MEMBERS;
    if (dp->catchup == RK_CATCHUP_DONE)
        dp->catchup = RK_CATCHUP_UNDECIDED; /* a broken-off catch-up (TAKING) resumes instead */
    dp->st->state = RK_PEERSTAT_CONNECTED;
    dp->up_ms = rk_monotonic_ns() / 1000000;
    nng_cv_wake(dp->cv);
    nng_mtx_unlock(g->mu);
    rk_info("gossip", "connected to peer=%s", dp->st->name);
    return 0;
}

/* Fetches hashes from the peer in batches and hands the records to the writer. Hashes must already
 * be claimed in the in-flight table; whatever is not delivered is released. */
int rk_peer_dial_fetch(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *hashes, size_t n)
{
    struct rk_gossip *g = dp->g;
    size_t i = 0;
    int rc = 0;
    while (i < n && rc == 0) {
        if (rk_writer_wait_room(g->node->writer, RK_GOSSIP_WRITER_BACKLOG_MAX, RK_DIAL_CALL_TIMEOUT_MS) != 0) {
            rc = -1; /* stopping, or the writer is stuck: reconciliation asks again later */
            break;
        }
        size_t k = n - i < DIAL_FETCH_BATCH ? n - i : DIAL_FETCH_BATCH;
        Renkei__Fetch f = RENKEI__FETCH__INIT;
        f.hashes = (ProtobufCBinaryData){k * RK_HASH_LEN, (uint8_t *)hashes + i * RK_HASH_LEN};
        Renkei__PeerReply *r;
        if (rk_peer_dial_call(dp, ctx, aio, RENKEI__PEER_REQUEST__MSG_FETCH, &f.base, RK_DIAL_CALL_TIMEOUT_MS, &r,
                              NULL) != 0) {
            rc = -1;
            break;
        }
        if (r->msg_case != RENKEI__PEER_REPLY__MSG_RECORDS) {
            rc = -1;
        } else if (r->records->n_records > k) {
            rk_peerstat_reject(&g->stats, dp->st, "too_many", "more records than requested");
            rc = -1;
        } else if (r->records->n_records == 0) {
            i += k; /* gone or withheld there; reconciliation settles it */
        } else {
            rk_relay_submit(g, dp->st, r->records->records, r->records->n_records);
            /* A short reply (size budget) means the rest is asked for again. */
            i += r->records->n_records < k ? r->records->n_records : k;
        }
        renkei__peer_reply__free_unpacked(r, NULL);
    }
    nng_mtx_lock(g->mu);
    for (size_t j = i; j < n; j++)
        rk_relay_release_locked(g, hashes + j * RK_HASH_LEN);
    nng_mtx_unlock(g->mu);
    return rc;
}

/* Range-based set reconciliation as the initiator, then fetch what we need and push what they lack. */
static int peer_dial_reconcile(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio)
{
    struct rk_gossip *g = dp->g;
    rk_error err;
    rk_error_clear(&err);
    rk_sync_diff diff;
    rk_sync_diff_init(&diff);
    diff.max_need = DIAL_SYNC_NEED_MAX;
    diff.max_have = DIAL_SYNC_HAVE_MAX;
    uint64_t t0 = rk_monotonic_ns();
    /* fetches and pushes start with the round that names them (peer_flow.c) */
    rk_peer_flow *flow = rk_peer_flow_start(dp, DIAL_SYNC_NEED_MAX, DIAL_SYNC_HAVE_MAX);
    size_t named_need = 0, named_have = 0;
    nng_mtx_lock(g->mu);
    int set = dp->set;
    nng_mtx_unlock(g->mu);
    rk_txn *t = NULL;
    int rc = -1, rounds = 0;
    const char *result = "error";
    if (!flow || rk_txn_begin(g->node->store, false, &t, &err) != 0)
        goto out;
    rk_set_source src;
    rk_set_source_from_store(&src, t, set);
    Renkei__Reconcile *msg = NULL;
    if (rk_sync_initiate(&src, (uint32_t)set, &msg, &err) != 0)
        goto out;
    while (msg) {
        if (++rounds > DIAL_MAX_SYNC_ROUNDS) {
            rk_sync_free_message(msg);
            result = "too_many_rounds";
            goto out;
        }
        Renkei__PeerReply *r;
        int rv = rk_peer_dial_call(dp, ctx, aio, RENKEI__PEER_REQUEST__MSG_RECONCILE, &msg->base,
                                   RK_DIAL_CALL_TIMEOUT_MS, &r, NULL);
        rk_sync_free_message(msg);
        msg = NULL;
        if (rv != 0) {
            result = "transport";
            goto out;
        }
        if (r->msg_case != RENKEI__PEER_REPLY__MSG_RECONCILE || r->reconcile->set != (uint32_t)set) {
            result = r->msg_case == RENKEI__PEER_REPLY__MSG_ERROR ? "refused" : "unexpected_reply";
            if (r->msg_case == RENKEI__PEER_REPLY__MSG_ERROR && strcmp(r->error->code, "forbidden") == 0 &&
                set == RK_SET_MEMBERS) {
                /* The listener does not count us as a member: reconcile the public set instead. */
                result = "not_a_member";
                nng_mtx_lock(g->mu);
                dp->set = RK_SET_PUBLIC;
                dp->sync_now = true;
                nng_mtx_unlock(g->mu);
            }
            renkei__peer_reply__free_unpacked(r, NULL);
            goto out;
        }
        rv = rk_sync_process(&src, true, r->reconcile, &msg, &diff, &err);
        renkei__peer_reply__free_unpacked(r, NULL);
        if (rv != 0) {
            rk_peerstat_reject(&g->stats, dp->st, err.code[0] ? err.code : "bad_reconcile", err.message);
            result = "bad_reply";
            goto out;
        }
        rk_peer_flow_take(flow, &diff); /* on failure the differences are dropped and diff truncated */
    }
    rk_txn_abort(t);
    t = NULL;
    rk_peer_flow_named(flow, &named_need, &named_have);
    rk_peer_flow_result fr = rk_peer_flow_finish(flow, false);
    flow = NULL;
    if (fr != RK_PEER_FLOW_OK) {
        result = fr == RK_PEER_FLOW_FETCH_FAILED ? "fetch_failed" : "push_failed";
        goto out;
    }
    rc = 0;
    result = "ok";
    if (diff.truncated) {
        /* the differences past the bounds are still there: learn them now rather than next interval */
        rk_writer_wait_room(g->node->writer, 1, DIAL_SYNC_DRAIN_WAIT_MS);
        nng_mtx_lock(g->mu);
        dp->sync_now = true;
        nng_mtx_unlock(g->mu);
    }
out:
    if (t)
        rk_txn_abort(t);
    if (flow)
        rk_peer_flow_finish(flow, true);
    nng_mtx_lock(g->mu);
    dp->st->last_sync_ms = rk_now_ms();
    /* the exchange may succeed while what it fetched cannot be stored: that is what the peer's view says */
    snprintf(dp->st->last_sync_result, sizeof(dp->st->last_sync_result), "%s",
             rc == 0 && dp->st->store_error[0] ? dp->st->store_error : result);
    nng_mtx_unlock(g->mu);
    double secs = (double)(rk_monotonic_ns() - t0) / 1e9;
    rk_metrics_observe(g->metrics, "renkei_reconcile_seconds", "peer", dp->st->name, secs);
    rk_metrics_add2(g->metrics, "renkei_reconcile_total", "result", result, "peer", dp->st->name, 1);
    if (rc == 0)
        rk_info("gossip", "reconciled with peer=%s rounds=%d need=%zu have=%zu%s in %.3fs", dp->st->name, rounds,
                named_need, named_have, diff.truncated ? " (more to come)" : "", secs);
    else
        rk_warn("gossip", "reconciliation with peer=%s failed: %s %s", dp->st->name, result, err.message);
    rk_sync_diff_free(&diff);
    return rc;
}

bool rk_peer_dial_run(rk_peer_dial *dp, void (*body)(void *arg, nng_ctx ctx, nng_aio *aio), void *arg)
{
    nng_ctx ctx;
    nng_aio *aio;
    if (!peer_dial_sock_enter(dp))
        return false;
    int rv = nng_ctx_open(&ctx, dp->sock);
    peer_dial_sock_leave(dp);
    if (rv != 0)
        return false;
    bool ran = nng_aio_alloc(&aio, NULL, NULL) == 0;
    if (ran) {
        body(arg, ctx, aio);
        nng_aio_free(aio);
    }
    /* Closed by this thread while the socket is open; once rk_peer_dial_stop has begun to close the
     * socket, by that close (NNG 1.5 panics when a context is closed during its socket's close). */
    if (peer_dial_sock_enter(dp)) {
        nng_ctx_close(ctx);
        peer_dial_sock_leave(dp);
    }
    return ran;
}

/* The control thread: handshake, roster exchange, announcements, reconciliation, until stopped. */
static void peer_dial_ctl(void *arg, nng_ctx ctx, nng_aio *aio)
{
    rk_peer_dial *dp = arg;
    struct rk_gossip *g = dp->g;
    uint64_t backoff = 100, next_sync = 0;
    unsigned interval_ms = (g->node->cfg->sync_interval_s ? g->node->cfg->sync_interval_s : 30) * 1000u;
    while (!peer_dial_stopping(dp)) {
        nng_mtx_lock(g->mu);
        bool authed = dp->authed;
        nng_mtx_unlock(g->mu);
        if (!authed) {
            int hs = peer_dial_handshake(dp, ctx, aio);
            if (hs < 0)
                break;
            if (hs > 0) {
                peer_dial_set_state(dp, hs == 2 ? RK_PEERSTAT_FAILED : RK_PEERSTAT_CONNECTING);
                nng_mtx_lock(g->mu);
                if (!g->stopping && !dp->stop)
                    nng_cv_until(dp->cv, nng_clock() + (nng_time)(hs == 2 ? 5000 : backoff));
                nng_mtx_unlock(g->mu);
                backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
                continue;
            }
            backoff = 100;
        }
        nng_mtx_lock(g->mu);
        bool roster = dp->roster_now;
        dp->roster_now = false;
        nng_mtx_unlock(g->mu);
        if (roster && rk_peer_dial_roster_exchange(dp, ctx, aio) != 0) {
            nng_mtx_lock(g->mu);
            dp->roster_now = dp->authed; /* again on this connection; a new one compares digests anew */
            nng_mtx_unlock(g->mu);
        }
        uint64_t now = rk_monotonic_ns() / 1000000;
        nng_mtx_lock(g->mu);
        bool sync = dp->sync_now || now >= next_sync;
        dp->sync_now = false;
        uint8_t *items = dp->q;
        size_t n = dp->qn;
        dp->q = NULL;
        dp->qn = dp->qcap = 0;
        nng_mtx_unlock(g->mu);
        int rc = 0;
        if (n > 0)
            rc = rk_peer_push_announce(dp, ctx, aio, items, n);
        free(items);
        if (rc == 0 && sync) {
            /* a node that holds almost nothing takes the peer's set in ranges first (peer_catchup.c) */
            rc = rk_peer_catchup_step(dp, ctx, aio);
            if (rc == 0)
                rc = peer_dial_reconcile(dp, ctx, aio);
            /* The interval runs from the end of a reconciliation: one that outlasted it was followed at
             * once by another, which found missing the records the peer had acknowledged in our last
             * pushes but not stored yet, and pushed them again. */
            next_sync = rk_monotonic_ns() / 1000000 + interval_ms;
            if (rc > 0) {
                next_sync = now + DIAL_CATCHUP_DEFER_MS; /* another dialer takes the same records now */
                rc = 0;
            }
        }
        if (rc != 0) {
            /* Announcements lost on a failure are repaired by the reconciliation on reconnect. */
            nng_mtx_lock(g->mu);
            dp->sync_now = true;
            nng_mtx_unlock(g->mu);
        }
        nng_mtx_lock(g->mu);
        if (!g->stopping && !dp->stop && dp->qn == 0 && dp->authed && !dp->sync_now && !dp->roster_now) {
            now = rk_monotonic_ns() / 1000000;
            nng_cv_until(dp->cv, nng_clock() + (nng_time)(next_sync > now ? next_sync - now : 1));
        } else if (rc != 0 && !g->stopping && !dp->stop) {
            nng_cv_until(dp->cv, nng_clock() + 500);
        }
        nng_mtx_unlock(g->mu);
    }
}

/* The poll thread: keeps one Poll outstanding; fetches whatever the peer announces that we lack. */
static void peer_dial_poll(void *arg, nng_ctx ctx, nng_aio *aio)
{
    rk_peer_dial *dp = arg;
    struct rk_gossip *g = dp->g;
    for (;;) {
        nng_mtx_lock(g->mu);
        while (!g->stopping && !dp->stop && !dp->authed)
            nng_cv_until(dp->cv, nng_clock() + 1000);
        bool stop = g->stopping || dp->stop;
        nng_mtx_unlock(g->mu);
        if (stop)
            break;
        Renkei__Poll p = RENKEI__POLL__INIT;
        p.wait_ms = DIAL_POLL_WAIT_MS;
        Renkei__PeerReply *r;
        int rv = rk_peer_dial_call(dp, ctx, aio, RENKEI__PEER_REQUEST__MSG_POLL, &p.base, DIAL_POLL_WAIT_MS + 10000, &r,
                                   NULL);
        if (rv == NNG_ECLOSED)
            break;
        if (rv != 0) {
            nng_msleep(200);
            continue;
        }
        if (r->msg_case != RENKEI__PEER_REPLY__MSG_ANNOUNCE) {
            renkei__peer_reply__free_unpacked(r, NULL);
            nng_msleep(200);
            continue;
        }
        const ProtobufCBinaryData *it = &r->announce->items;
        if (it->len % RK_ITEM_LEN != 0 || it->len / RK_ITEM_LEN > RK_GOSSIP_MAX_ITEMS) {
            rk_peerstat_reject(&g->stats, dp->st, "bad_field", "Announce items");
            renkei__peer_reply__free_unpacked(r, NULL);
            nng_msleep(200);
            continue;
        }
        rk_buf want;
        rk_buf_init(&want);
        if (it->len && rk_relay_wanted(g, it->data, it->len / RK_ITEM_LEN, RK_ITEM_LEN, &want) == 0 && want.len)
            rk_peer_dial_fetch(dp, ctx, aio, (const uint8_t *)want.data, want.len / RK_HASH_LEN);
        rk_buf_free(&want);
        renkei__peer_reply__free_unpacked(r, NULL);
    }
}

static void peer_dial_ctl_thread(void *arg)
{
    rk_peer_dial_run(arg, peer_dial_ctl, arg);
}

static void peer_dial_poll_thread(void *arg)
{
    rk_peer_dial_run(arg, peer_dial_poll, arg);
}

static void peer_dial_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    rk_peer_dial *dp = arg;
    nng_mtx_lock(dp->g->mu);
    if (ev == NNG_PIPE_EV_REM_POST && dp->authed && dp->auth_pipe == (uint32_t)nng_pipe_id(p)) {
        dp->authed = false;
        dp->st->state = RK_PEERSTAT_CONNECTING;
        rk_info("gossip", "disconnected from peer=%s", dp->st->name);
    } else if (ev == NNG_PIPE_EV_ADD_POST && !dp->authed) {
        dp->st->state = RK_PEERSTAT_HANDSHAKE;
    }
    nng_cv_wake(dp->cv);
    nng_mtx_unlock(dp->g->mu);
}

size_t rk_peer_dial_queue_locked(rk_peer_dial *dp, const uint8_t item[RK_ITEM_LEN], const char *src)
{
    size_t dropped = 0;
    if (src && strcmp(src, dp->st->name) == 0)
        return 0;
    if (rk_relay_queue_item(&dp->q, &dp->qn, &dp->qcap, item) != 0) {
        dropped = 1;
        dp->sync_now = true;
    }
    nng_cv_wake(dp->cv);
    return dropped;
}

void rk_peer_dial_wake_locked(rk_peer_dial *dp)
{
    if (dp->cv)
        nng_cv_wake(dp->cv);
}

int rk_peer_dial_start(struct rk_gossip *g, const rk_peer_config *pc, bool configured, rk_peer_dial **out,
                       rk_error *err)
{
    rk_peer_dial *dp = calloc(1, sizeof(*dp));
    if (!dp)
        return rk_fail(err, "no_memory", NULL, "out of memory");
    dp->g = g;
    dp->configured = configured;
    dp->born_ms = rk_monotonic_ns() / 1000000;
    *out = dp;
    nng_mtx_lock(g->mu);
    dp->st = rk_peerstat_get_locked(&g->stats, pc->name);
    if (dp->st) {
        dp->st->dialed = true;
        dp->st->member = true;
        dp->st->roster = !configured;
        dp->st->has_key = true;
        memcpy(dp->st->key, pc->key, RK_KEY_LEN);
        free(dp->st->url); /* a roster peer dialed again after a pause keeps its entry */
        dp->st->url = strdup(pc->url);
        dp->st->state = RK_PEERSTAT_CONNECTING;
    }
    nng_mtx_unlock(g->mu);
    if (!dp->st || !dp->st->url)
        return rk_fail(err, "no_memory", NULL, "out of memory");
    int rv;
    if ((rv = nng_cv_alloc(&dp->cv, g->mu)) != 0 || (rv = nng_mtx_alloc(&dp->sock_mu)) != 0 ||
        (rv = nng_req0_open(&dp->sock)) != 0)
        return rk_fail(err, "gossip", pc->name, "cannot open a socket for peer %s: %s", pc->name, nng_strerror(rv));
    dp->sock_open = true;
    nng_setopt_ms(dp->sock, NNG_OPT_RECONNMINT, 100);
    nng_setopt_ms(dp->sock, NNG_OPT_RECONNMAXT, 5000);
    nng_setopt_ms(dp->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    nng_pipe_notify(dp->sock, NNG_PIPE_EV_ADD_POST, peer_dial_pipe_cb, dp);
    nng_pipe_notify(dp->sock, NNG_PIPE_EV_REM_POST, peer_dial_pipe_cb, dp);
    nng_dialer d;
    if ((rv = nng_dialer_create(&d, dp->sock, pc->url)) != 0)
        return rk_fail(err, "gossip", pc->name, "bad url %s for peer %s: %s", pc->url, pc->name, nng_strerror(rv));
    dp->dialer = d;
    if ((rv = nng_dialer_set_size(d, NNG_OPT_RECVMAXSZ, DIAL_PREAUTH_MAX)) != 0)
        return rk_fail(err, "gossip", pc->name, "cannot limit replies from %s: %s", pc->url, nng_strerror(rv));
    if (rk_tls_url(pc->url)) {
        if (rk_tls_config(g->node->cfg, false, &dp->tls, err) != 0)
            return -1;
        if ((rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, dp->tls)) != 0)
            return rk_fail(err, "tls", pc->name, "cannot use TLS for %s: %s", pc->url, nng_strerror(rv));
    }
    if ((rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0)
        return rk_fail(err, "gossip", pc->name, "cannot dial %s: %s", pc->url, nng_strerror(rv));
    if ((rv = nng_thread_create(&dp->ctl, peer_dial_ctl_thread, dp)) != 0 ||
        (rv = nng_thread_create(&dp->poller, peer_dial_poll_thread, dp)) != 0)
        return rk_fail(err, "gossip", pc->name, "cannot start threads: %s", nng_strerror(rv));
    return 0;
}

void rk_peer_dial_stop(rk_peer_dial *dp)
{
    if (dp->sock_open) {
        /* no thread is inside a call into the socket once this is set (peer_dial_sock_enter); their
         * waits end with ECLOSED, and nng_close waits for them to close their contexts */
        nng_mtx_lock(dp->sock_mu);
        dp->sock_open = false;
        nng_mtx_unlock(dp->sock_mu);
        nng_close(dp->sock);
    }
    if (dp->ctl)
        nng_thread_destroy(dp->ctl);
    if (dp->poller)
        nng_thread_destroy(dp->poller);
    if (dp->st) {
        nng_mtx_lock(dp->g->mu);
        dp->st->state = RK_PEERSTAT_DISCONNECTED;
        nng_mtx_unlock(dp->g->mu);
    }
    if (dp->cv)
        nng_cv_free(dp->cv);
    if (dp->sock_mu)
        nng_mtx_free(dp->sock_mu);
    if (dp->tls)
        nng_tls_config_free(dp->tls);
    free(dp->q);
    free(dp);
}

void rk_peer_dial_halt_locked(rk_peer_dial *dp)
{
    dp->stop = true;
    if (dp->cv)
        nng_cv_wake(dp->cv);
}

const uint8_t *rk_peer_dial_key_locked(const rk_peer_dial *dp, bool *connected, uint64_t *failing_ms)
{
    uint64_t now = rk_monotonic_ns() / 1000000;
    *connected = dp->authed;
    *failing_ms = dp->authed ? 0 : now - (dp->up_ms > dp->born_ms ? dp->up_ms : dp->born_ms);
    return dp->st->key;
}

void rk_peer_dial_roster_changed_locked(rk_peer_dial *dp)
{
    if (dp->set == RK_SET_MEMBERS)
        return;
    dp->set = RK_SET_MEMBERS;
    dp->sync_now = true;
    if (dp->cv)
        nng_cv_wake(dp->cv);
}
