/* peer_serve: the listener's answers to each peer request (docs/protocol.md): Hello and Auth (the
 * handshake, signed and checked through handshake.c), Announce, Fetch, Records pushes, Reconcile, and
 * the parking of a Poll (which peer_listen.c carries out).
 *
 * Invariants: anything but Hello, Auth, Fetch and Reconcile of the public set needs a completed
 * handshake; `network` records are served only to connections authenticated as roster members (the
 * visibility of every envelope is read before it leaves, in relay.c); every violation is counted by
 * reason and answered with PeerError, and after SERVE_MAX_BAD of them the connection is closed. A
 * handler never blocks: a push while the writer is backlogged is answered `busy` with the time the
 * writer needs to drain (retry_after_ms), and the pusher sends the same message again then; the Ack
 * of a push that left the writer backlogged carries that time too, so a pusher that waits for it is
 * seldom refused and seldom sends a message twice.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter_store.h"
#include "gossip_int.h"
#include "log.h"
#include "peer_catchup.h"
#include "peer_listen_int.h"
#include "peer_msg.h"
#include "renkei.pb-c.h"
#include "roster_sync.h"
#include "sync.h"
#include "writer.h"

#define SERVE_REPLY_BUDGET (RK_GOSSIP_MAX_MSG - (64u << 10))
#define SERVE_MAX_BAD 10 /* bad messages before a connection is closed */
#define SERVE_POLL_MAX_MS 60000
/* Bounds of the retry_after_ms hints: never "at once" while busy, never longer than a pusher waits. */
#define SERVE_RETRY_MIN_MS 5
#define SERVE_RETRY_MAX_MS 5000

/* ---- message encoding -------------------------------------------------------------------------- */

/* A PeerReply carrying sub as its member `member` (a RENKEI__PEER_REPLY__MSG_ case); NULL when out of
 * memory. */
static nng_msg *peer_serve_reply(uint32_t member, const ProtobufCMessage *sub)
{
    return rk_peer_msg_pack(&renkei__peer_reply__descriptor, member, sub);
}

/* A PeerError; retry_after_ms only for `busy`. */
static nng_msg *peer_serve_error_after(const char *code, const char *message, uint32_t retry_after_ms)
{
    Renkei__PeerError e = RENKEI__PEER_ERROR__INIT;
    e.code = (char *)code;
    e.message = (char *)message;
    e.retry_after_ms = retry_after_ms;
    return peer_serve_reply(RENKEI__PEER_REPLY__MSG_ERROR, &e.base);
}

static nng_msg *peer_serve_error(const char *code, const char *message)
{
    return peer_serve_error_after(code, message, 0);
}

static nng_msg *peer_serve_ack(uint32_t accepted, uint32_t rejected, uint32_t retry_after_ms)
{
    Renkei__Ack a = RENKEI__ACK__INIT;
    a.accepted = accepted;
    a.rejected = rejected;
    a.retry_after_ms = retry_after_ms;
    return peer_serve_reply(RENKEI__PEER_REPLY__MSG_ACK, &a.base);
}

nng_msg *rk_peer_serve_announce(const uint8_t *items, size_t n)
{
    Renkei__Announce a = RENKEI__ANNOUNCE__INIT;
    a.items = (ProtobufCBinaryData){n * RK_ITEM_LEN, (uint8_t *)items};
    return peer_serve_reply(RENKEI__PEER_REPLY__MSG_ANNOUNCE, &a.base);
}

/* ---- requests ----------------------------------------------------------------------------------- */

/* Rights of a connection: *authed (handshake done), *member (may read network records). */
static rk_peerstat *peer_serve_rights(rk_listen_conn *c, bool *authed, bool *member)
{
    nng_mtx_lock(c->g->mu);
    *authed = c->phase == 2;
    *member = c->phase == 2 && c->member;
    rk_peerstat *st = c->st;
    nng_mtx_unlock(c->g->mu);
    return st;
}

/* A protocol violation: counted, answered with PeerError, and after SERVE_MAX_BAD the connection goes. */
static nng_msg *peer_serve_bad(rk_listen_conn *c, const char *reason, const char *detail)
{
    struct rk_gossip *g = c->g;
    nng_mtx_lock(g->mu);
    rk_peerstat *st = c->st;
    bool close = ++c->bad >= SERVE_MAX_BAD;
    if (close)
        rk_peer_listen_close_locked(c);
    nng_mtx_unlock(g->mu);
    rk_peerstat_reject(&g->stats, st, reason, detail);
    if (close) {
        rk_warn("gossip", "closing connection from peer=%s after %d bad messages", st ? st->name : "unauthenticated",
                SERVE_MAX_BAD);
        return NULL;
    }
    return peer_serve_error(reason, detail);
}

static nng_msg *peer_serve_hello(rk_listen_conn *c, const Renkei__Hello *h)
{
    struct rk_gossip *g = c->g;
    if (h->node_key.len != RK_KEY_LEN || h->nonce.len != RK_HANDSHAKE_NONCE_LEN)
        return peer_serve_bad(c, "bad_field", "Hello needs a 32-byte key and a 32-byte nonce");
    if (h->protocol_version != RK_HANDSHAKE_VERSION)
        return peer_serve_bad(c, "bad_version", "unsupported protocol version");
    if (memcmp(h->node_key.data, g->node->pub, RK_KEY_LEN) == 0)
        return peer_serve_bad(c, "self", "a node cannot peer with itself");
    uint8_t nonce[RK_HANDSHAKE_NONCE_LEN], sig[RK_SIG_LEN];
    if (rk_random(nonce, sizeof(nonce)) != 0)
        return peer_serve_error("internal", "no randomness");
    if (rk_handshake_sign(g->node->key, RK_HANDSHAKE_LISTENER, h->nonce.data, h->node_key.data, g->node->pub, sig) != 0)
        return peer_serve_error("internal", "signing failed");
    nng_mtx_lock(g->mu);
    rk_peer_listen_set_phase_locked(c, 1);
    c->st = NULL;
    c->member = false;
    memcpy(c->peer_key, h->node_key.data, RK_KEY_LEN);
    memcpy(c->peer_nonce, h->nonce.data, RK_HANDSHAKE_NONCE_LEN);
    memcpy(c->our_nonce, nonce, RK_HANDSHAKE_NONCE_LEN);
    c->zstd = rk_peer_msg_zstd_agreed(g->node->cfg->compress, h->compression);
    if ((c->has_hello_charter = h->charter_digest.len == RK_HASH_LEN))
        memcpy(c->hello_charter, h->charter_digest.data, RK_HASH_LEN);
    if ((c->has_hello_roster = h->roster_digest.len == RK_HASH_LEN))
        memcpy(c->hello_roster, h->roster_digest.data, RK_HASH_LEN);
    rk_peer_listen_gauges_locked(c->l);
    nng_mtx_unlock(g->mu);
    Renkei__HelloReply hr = RENKEI__HELLO_REPLY__INIT;
    hr.node_key.data = g->node->pub;
    hr.node_key.len = RK_KEY_LEN;
    hr.nonce.data = nonce;
    hr.nonce.len = RK_HANDSHAKE_NONCE_LEN;
    hr.signature.data = sig;
    hr.signature.len = RK_SIG_LEN;
    hr.protocol_version = RK_HANDSHAKE_VERSION;
    rk_gossip_introduce(g, &hr.name, &hr.compression);
    /* membership (docs/protocol.md, "Roster"): our digests, and the charter to a node that joins */
    uint8_t roster[RK_HASH_LEN], charter[RK_HASH_LEN], csig[RK_SIG_LEN];
    uint8_t *packed = NULL;
    size_t plen = 0;
    rk_charter ch;
    if (rk_gossip_roster_digest(g, roster)) {
        hr.roster_digest.data = roster;
        hr.roster_digest.len = RK_HASH_LEN;
    }
    if (rk_charter_store_get(g->node->charter, &ch, charter)) {
        hr.charter_digest.data = charter;
        hr.charter_digest.len = RK_HASH_LEN;
        if (h->want_charter && rk_charter_store_packed(g->node->charter, &packed, &plen) == 0 && packed &&
            rk_charter_sign(g->node->key, h->nonce.data, packed, plen, csig) == 0) {
            hr.charter.data = packed;
            hr.charter.len = plen;
            hr.charter_signature.data = csig;
            hr.charter_signature.len = RK_SIG_LEN;
        }
    }
    nng_msg *m = peer_serve_reply(RENKEI__PEER_REPLY__MSG_HELLO, &hr.base);
    free(packed);
    return m;
}

static nng_msg *peer_serve_auth(rk_listen_conn *c, const Renkei__Auth *a)
{
    struct rk_gossip *g = c->g;
    if (a->signature.len != RK_SIG_LEN)
        return peer_serve_bad(c, "bad_field", "Auth needs a 64-byte signature");
    uint8_t key[RK_KEY_LEN], our_nonce[RK_HANDSHAKE_NONCE_LEN];
    nng_mtx_lock(g->mu);
    int phase = c->phase;
    memcpy(key, c->peer_key, RK_KEY_LEN);
    memcpy(our_nonce, c->our_nonce, RK_HANDSHAKE_NONCE_LEN);
    nng_mtx_unlock(g->mu);
    if (phase != 1)
        return peer_serve_bad(c, "unexpected", "Auth before Hello");
    if (!rk_handshake_verify(RK_HANDSHAKE_DIALER, our_nonce, g->node->pub, key, a->signature.data))
        return peer_serve_bad(c, "bad_signature", "handshake signature does not verify");
    char name[80];
    bool is_member = rk_gossip_peer_name(g, key, name, sizeof name);
    uint8_t hello_charter[RK_HASH_LEN], hello_roster[RK_HASH_LEN], ours[RK_HASH_LEN];
    nng_mtx_lock(g->mu);
    bool has_charter = c->has_hello_charter, has_roster = c->has_hello_roster;
    memcpy(hello_charter, c->hello_charter, RK_HASH_LEN);
    memcpy(hello_roster, c->hello_roster, RK_HASH_LEN);
    rk_peerstat *st = rk_peerstat_get_locked(&g->stats, name);
    if (st) {
        rk_peer_listen_set_phase_locked(c, 2);
        c->member = is_member;
        c->st = st;
        st->member = c->member;
        if (!st->has_key) {
            memcpy(st->key, key, RK_KEY_LEN);
            st->has_key = true;
        }
        st->inbound++;
        rk_peer_listen_gauges_locked(c->l);
    }
    nng_mtx_unlock(g->mu);
    if (!st)
        return peer_serve_error("internal", "out of memory");
    rk_charter ch;
    bool have = rk_charter_store_get(g->node->charter, &ch, ours);
    rk_peerstat_membership(&g->stats, st, have ? ours : NULL, has_charter ? hello_charter : NULL,
                           has_roster ? hello_roster : NULL);
    rk_info("gossip", "peer=%s authenticated on our listener member=%s", name, is_member ? "yes" : "no");
    return peer_serve_ack(1, 0, 0);
}

static nng_msg *peer_serve_announce_req(rk_listen_conn *c, const Renkei__Announce *a)
{
    bool authed, member;
    peer_serve_rights(c, &authed, &member);
    if (!authed)
        return peer_serve_bad(c, "unauthenticated", "Announce needs a completed handshake");
    if (a->items.len % RK_ITEM_LEN != 0)
        return peer_serve_bad(c, "bad_field", "items must be a multiple of 40 bytes");
    size_t n = a->items.len / RK_ITEM_LEN;
    if (n > RK_GOSSIP_MAX_ITEMS)
        return peer_serve_bad(c, "too_many", "too many items in Announce");
    rk_buf want;
    rk_buf_init(&want);
    if (rk_relay_wanted(c->g, a->items.data, n, RK_ITEM_LEN, &want) != 0) {
        rk_buf_free(&want);
        return peer_serve_error("internal", "store read failed");
    }
    nng_msg *m;
    if (want.len == 0) {
        m = peer_serve_ack(0, 0, 0);
    } else {
        Renkei__Fetch f = RENKEI__FETCH__INIT;
        f.hashes = (ProtobufCBinaryData){want.len, (uint8_t *)want.data};
        m = peer_serve_reply(RENKEI__PEER_REPLY__MSG_FETCH, &f.base);
    }
    rk_buf_free(&want);
    return m;
}

/* The Records reply of a Fetch: the envelopes read into es, and for a range Fetch the last item it
 * covers (NULL: none) and whether the set ends there; counted as sent to st. */
static nng_msg *peer_serve_records(rk_listen_conn *c, rk_peerstat *st, const rk_relay_envset *es, const uint8_t *last,
                                   bool end)
{
    Renkei__Records rs = RENKEI__RECORDS__INIT;
    rs.n_records = es->n;
    rs.records = es->recs;
    if (last)
        rs.range_last = (ProtobufCBinaryData){RK_ITEM_LEN, (uint8_t *)last};
    rs.range_end = end;
    nng_msg *m = peer_serve_reply(RENKEI__PEER_REPLY__MSG_RECORDS, &rs.base);
    if (st)
        rk_peerstat_count_io(&c->g->stats, st, es->n, 0);
    return m;
}

static bool serve_no_ranges;

static void peer_serve_read_ranges_env(void)
{
    const char *v = getenv("RENKEI_TEST_NO_RANGES");
    serve_no_ranges = v && strcmp(v, "1") == 0;
}

/* Tests only (docs/protocol.md, "Catch-up ranges"): RENKEI_TEST_NO_RANGES=1 makes this listener answer
 * a range Fetch as one that predates ranges does (an empty Records), so the fallback is tested. */
static bool peer_serve_no_ranges(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, peer_serve_read_ranges_env);
    return serve_no_ranges;
}

/* A catch-up range (peer_catchup.c): the records of a set after an item, in item order. */
static nng_msg *peer_serve_fetch_range(rk_listen_conn *c, const Renkei__Fetch *f, rk_peerstat *st, bool member)
{
    if (f->range_set != RK_SET_PUBLIC && f->range_set != RK_SET_MEMBERS)
        return peer_serve_bad(c, "unknown_set", "no such set");
    if (f->range_set == RK_SET_MEMBERS && !member)
        return peer_serve_bad(c, "forbidden", "the members' set needs an authenticated member");
    if (f->hashes.len != 0 || (f->range_after.len != 0 && f->range_after.len != RK_ITEM_LEN))
        return peer_serve_bad(c, "bad_field", "a range Fetch has no hashes and a 40-byte range_after");
    size_t max = f->range_max == 0 || f->range_max > RK_GOSSIP_MAX_RECORDS ? RK_GOSSIP_MAX_RECORDS : f->range_max;
    rk_relay_envset es = {0};
    size_t forbidden = 0;
    uint8_t last[RK_ITEM_LEN];
    bool has_last, end;
    nng_msg *m;
    if (rk_peer_catchup_collect(c->g, &es, (int)f->range_set, f->range_after.data, f->range_after.len, max,
                                SERVE_REPLY_BUDGET, member, rk_relay_charter_mismatch(c->g, st), last, &has_last, &end,
                                &forbidden) != 0)
        m = peer_serve_error("internal", "store read failed");
    else
        m = peer_serve_records(c, st, &es, has_last ? last : NULL, end);
    rk_relay_envset_free(&es);
    if (forbidden)
        rk_debug("gossip", "catch-up range: withheld %zu records the peer may not read", forbidden);
    return m;
}

static nng_msg *peer_serve_fetch(rk_listen_conn *c, const Renkei__Fetch *f)
{
    bool authed, member;
    rk_peerstat *st = peer_serve_rights(c, &authed, &member);
    if (f->range && !peer_serve_no_ranges())
        return peer_serve_fetch_range(c, f, st, member);
    if (f->hashes.len % RK_HASH_LEN != 0)
        return peer_serve_bad(c, "bad_field", "hashes must be a multiple of 32 bytes");
    size_t n = f->hashes.len / RK_HASH_LEN;
    if (n > RK_GOSSIP_MAX_HASHES)
        return peer_serve_bad(c, "too_many", "too many hashes in Fetch");
    rk_relay_envset es = {0};
    size_t used, forbidden = 0;
    nng_msg *m;
    if (rk_relay_collect(c->g, &es, f->hashes.data, n, RK_HASH_LEN, member, rk_relay_charter_mismatch(c->g, st),
                         RK_GOSSIP_MAX_RECORDS, SERVE_REPLY_BUDGET, &used, &forbidden) != 0)
        m = peer_serve_error("internal", "store read failed");
    else
        m = peer_serve_records(c, st, &es, NULL, false);
    rk_relay_envset_free(&es);
    if (forbidden)
        rk_debug("gossip", "fetch: withheld %zu records the peer may not read", forbidden);
    return m;
}

static size_t serve_backlog_max = RK_GOSSIP_WRITER_BACKLOG_MAX;

static void peer_serve_read_backlog_env(void)
{
    /* Tests only (docs/protocol.md, "busy"): a small bound makes a few hundred pushed records
     * enough to fill the writer. Unset, empty or not a positive number: the built-in bound. */
    const char *v = getenv("RENKEI_TEST_PUSH_BACKLOG");
    char *end;
    unsigned long n = v && *v ? strtoul(v, &end, 10) : 0;
    if (n > 0 && *end == '\0')
        serve_backlog_max = n;
}

/* Writer items outstanding at which a push is refused as `busy`. */
static size_t peer_serve_backlog_max(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, peer_serve_read_backlog_env);
    return serve_backlog_max;
}

/* When a push may follow: the time the writer needs to fall below the bound, 0 if it is below. */
static uint32_t peer_serve_retry_after(rk_writer *w, size_t limit)
{
    unsigned ms = rk_writer_drain_ms(w, limit - 1);
    if (ms == 0)
        return 0;
    return ms < SERVE_RETRY_MIN_MS ? SERVE_RETRY_MIN_MS : ms > SERVE_RETRY_MAX_MS ? SERVE_RETRY_MAX_MS : ms;
}

static nng_msg *peer_serve_push(rk_listen_conn *c, const Renkei__Records *rs)
{
    struct rk_gossip *g = c->g;
    bool authed, member;
    rk_peerstat *st = peer_serve_rights(c, &authed, &member);
    if (!authed || !st)
        return peer_serve_bad(c, "unauthenticated", "Records push needs a completed handshake");
    if (rs->n_records > RK_GOSSIP_MAX_RECORDS)
        return peer_serve_bad(c, "too_many", "too many records in one push");
    /* An NNG callback must not block: a pusher is told when to come back, and sends the same message
     * again then. Each connection has one push in flight, so the writer holds at most the bound plus
     * one push per connection. */
    size_t limit = peer_serve_backlog_max();
    if (rk_writer_outstanding(g->node->writer) >= limit) {
        uint32_t after = peer_serve_retry_after(g->node->writer, limit);
        return peer_serve_error_after("busy", "the node's writer is full; send this again after retry_after_ms",
                                      after ? after : SERVE_RETRY_MIN_MS); /* drained in between: still, not at once */
    }
    uint32_t ok = rk_relay_submit(g, st, rs->records, rs->n_records);
    return peer_serve_ack(ok, (uint32_t)rs->n_records - ok, peer_serve_retry_after(g->node->writer, limit));
}

/* The roster exchange: the dialer lists its membership records, we answer with ours; the dialer
 * then fetches and pushes the difference through the ordinary requests. */
static nng_msg *peer_serve_roster(rk_listen_conn *c, const Renkei__RosterItems *ri)
{
    bool authed, member;
    rk_peerstat *st = peer_serve_rights(c, &authed, &member);
    if (!authed || !st)
        return peer_serve_bad(c, "unauthenticated", "RosterItems needs a completed handshake");
    const char *why = rk_roster_sync_check(ri->items.data, ri->items.len);
    if (why)
        return peer_serve_bad(c, why, "RosterItems must be ascending 40-byte items, at most 10000");
    nng_mtx_lock(c->g->mu);
    bool mismatch = st->charter_mismatch;
    nng_mtx_unlock(c->g->mu);
    if (mismatch)
        return peer_serve_error("charter_mismatch", "our charters differ: no membership records are exchanged");
    rk_error err;
    rk_buf ours;
    rk_buf_init(&ours);
    nng_msg *m;
    if (rk_roster_sync_items(c->g->node->store, &ours, &err) != 0) {
        m = peer_serve_error("internal", "store read failed");
    } else {
        Renkei__RosterItems out = RENKEI__ROSTER_ITEMS__INIT;
        out.items = (ProtobufCBinaryData){ours.len, (uint8_t *)ours.data};
        m = peer_serve_reply(RENKEI__PEER_REPLY__MSG_ROSTER, &out.base);
    }
    rk_buf_free(&ours);
    return m;
}

static nng_msg *peer_serve_reconcile(rk_listen_conn *c, const Renkei__Reconcile *msg)
{
    bool authed, member;
    peer_serve_rights(c, &authed, &member);
    if (msg->set == RK_SET_MEMBERS && !member)
        return peer_serve_bad(c, "forbidden", "the members' set needs an authenticated member");
    rk_error err;
    if (rk_sync_validate(msg, &err) != 0)
        return peer_serve_bad(c, err.code, err.message);
    rk_txn *t;
    if (rk_txn_begin(c->g->node->store, false, &t, &err) != 0)
        return peer_serve_error("internal", "store read failed");
    rk_set_source src;
    rk_set_source_from_store(&src, t, (int)msg->set);
    Renkei__Reconcile *reply = NULL;
    nng_msg *m;
    if (rk_sync_process(&src, false, msg, &reply, NULL, &err) != 0) {
        rk_txn_abort(t);
        return peer_serve_bad(c, err.code, err.message);
    }
    rk_txn_abort(t);
    m = peer_serve_reply(RENKEI__PEER_REPLY__MSG_RECONCILE, &reply->base);
    rk_sync_free_message(reply);
    return m;
}

nng_msg *rk_peer_serve_frame(rk_listen_conn *c, const uint8_t *frame, size_t len, bool drained,
                             uint8_t hdr[RK_LISTEN_MAX_HDR], size_t *nhdr, bool *park, uint32_t *wait_ms)
{
    *nhdr = 0;
    *park = false;
    for (size_t i = 0; i + 4 <= len && i < RK_LISTEN_MAX_HDR; i += 4)
        if (frame[i] & 0x80) {
            *nhdr = i + 4;
            break;
        }
    if (*nhdr == 0) {
        /* Without a request id there is nobody to answer; NNG's rep0 drops such a frame too. */
        peer_serve_bad(c, "malformed", "frame without a request id");
        return NULL;
    }
    memcpy(hdr, frame, *nhdr);
    if (drained || len - *nhdr > RK_GOSSIP_MAX_MSG)
        return peer_serve_bad(c, "too_large",
                              drained && len <= RK_GOSSIP_MAX_MSG ? "message over the limit before authentication"
                                                                  : "message over 8 MiB");
    /* A node that does not announce zstd refuses it, as a node without the codec would; before the
     * handshake frames are limited to 64 KiB, and their content must not reach 8 MiB either. */
    bool authed, member;
    peer_serve_rights(c, &authed, &member);
    const char *refuse = NULL, *refuse_detail = NULL;
    if (!c->g->node->cfg->compress) {
        refuse = "unexpected";
        refuse_detail = "compressed request without negotiated compression";
    } else if (!authed) {
        refuse = "unauthenticated";
        refuse_detail = "compressed request before the handshake";
    }
    rk_peer_msg_reject why;
    Renkei__PeerRequest *pr = (Renkei__PeerRequest *)rk_peer_msg_decode(
        &renkei__peer_request__descriptor, frame + *nhdr, len - *nhdr, refuse, refuse_detail, &why);
    if (!pr)
        return peer_serve_bad(c, why.code, why.detail);
    nng_msg *reply = NULL;
    switch (pr->msg_case) {
    case RENKEI__PEER_REQUEST__MSG_HELLO: reply = peer_serve_hello(c, pr->hello); break;
    case RENKEI__PEER_REQUEST__MSG_AUTH: reply = peer_serve_auth(c, pr->auth); break;
    case RENKEI__PEER_REQUEST__MSG_ANNOUNCE: reply = peer_serve_announce_req(c, pr->announce); break;
    case RENKEI__PEER_REQUEST__MSG_FETCH: reply = peer_serve_fetch(c, pr->fetch); break;
    case RENKEI__PEER_REQUEST__MSG_PUSH: reply = peer_serve_push(c, pr->push); break;
    case RENKEI__PEER_REQUEST__MSG_RECONCILE: reply = peer_serve_reconcile(c, pr->reconcile); break;
    case RENKEI__PEER_REQUEST__MSG_ROSTER: reply = peer_serve_roster(c, pr->roster); break;
    case RENKEI__PEER_REQUEST__MSG_POLL:
        *park = true;
        *wait_ms = pr->poll->wait_ms > SERVE_POLL_MAX_MS ? SERVE_POLL_MAX_MS : pr->poll->wait_ms;
        break;
    default: reply = peer_serve_bad(c, "malformed", "empty or unknown PeerRequest"); break;
    }
    renkei__peer_request__free_unpacked(pr, NULL);
    nng_mtx_lock(c->g->mu);
    bool zstd = c->zstd && c->phase == 2;
    nng_mtx_unlock(c->g->mu);
    return zstd ? rk_peer_msg_compress(&renkei__peer_reply__descriptor, reply) : reply;
}
