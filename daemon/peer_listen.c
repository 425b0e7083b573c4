/* peer_listen: the listener side of the peer protocol (docs/protocol.md).
 *
 * One REP socket listens on every [gossip] listen URL; a pool of nng_ctx contexts answers requests
 * concurrently, and a context that receives a Poll is parked until there is something to announce to
 * that connection or its wait runs out (spare contexts are opened so parked polls never starve other
 * requests; a 200 ms ticker expires the waits). Authentication is per pipe: Hello/HelloReply/Auth
 * proves both node keys (handshake.c); a dialer whose key is not in the roster may finish the
 * handshake but stays on the public set, and its pushed records still face the full ingest checks.
 *
 * Invariants: a connection's state exists from its first event (pipe notification or request,
 * whichever NNG delivers first) until its pipe is removed; a connection has at most one parked
 * context, and a newer Poll answers the older one; `network` records are announced and served only
 * to connections authenticated as members; after LISTEN_MAX_BAD protocol violations the pipe is
 * closed. NNG callbacks never block: a push while the writer is backlogged is answered `busy`.
 */
#include "peer_listen.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"
#include "grow.h"
#include "handshake.h"
#include "log.h"
#include "renkei.pb-c.h"
#include "sync.h"
#include "tls.h"
#include "writer.h"

#define LISTEN_REPLY_BUDGET (RK_GOSSIP_MAX_MSG - (64u << 10))
#define LISTEN_MAX_BAD 10  /* bad messages before a pipe is closed */
#define LISTEN_SPARE_CTX 4 /* contexts kept receiving while others are parked */
#define LISTEN_MAX_CTX 512
#define LISTEN_POLL_MAX_MS 60000
#define LISTEN_TICK_MS 200

/* One pipe on our listener. */
typedef struct peer_listen_conn {
    uint32_t pipe;
    int phase; /* 0 new, 1 Hello answered, 2 authenticated */
    uint8_t peer_key[RK_KEY_LEN], peer_nonce[RK_HANDSHAKE_NONCE_LEN], our_nonce[RK_HANDSHAKE_NONCE_LEN];
    bool member;
    rk_peerstat *st; /* set once authenticated */
    unsigned bad;
    uint8_t *q; /* queued announcement items */
    size_t qn, qcap;
    struct rk_peer_listen_ctx *parked;
} peer_listen_conn;

enum { LC_RECV, LC_SEND, LC_PARKED, LC_DEAD };

typedef struct rk_peer_listen_ctx {
    rk_peer_listen *l;
    nng_ctx ctx;
    nng_aio *aio;
    int state;
    uint32_t pipe;
    uint64_t deadline_ms;
} peer_listen_ctx;

struct rk_peer_listen {
    struct rk_gossip *g;
    nng_socket rep;
    bool rep_open;
    nng_tls_config *tls;
    peer_listen_conn **conns;
    size_t nconns, capconns;
    peer_listen_ctx **ctxs;
    size_t nctx, capctx, nrecv;
    nng_aio *tick;
};

/* ---- message encoding -------------------------------------------------------------------------- */

static nng_msg *peer_listen_pack(const Renkei__PeerReply *r)
{
    size_t n = renkei__peer_reply__get_packed_size(r);
    nng_msg *m;
    if (nng_msg_alloc(&m, n) != 0)
        return NULL;
    renkei__peer_reply__pack(r, nng_msg_body(m));
    return m;
}

static nng_msg *peer_listen_error(const char *code, const char *message)
{
    Renkei__PeerError e = RENKEI__PEER_ERROR__INIT;
    e.code = (char *)code;
    e.message = (char *)message;
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_ERROR;
    r.error = &e;
    return peer_listen_pack(&r);
}

static nng_msg *peer_listen_ack(uint32_t accepted, uint32_t rejected)
{
    Renkei__Ack a = RENKEI__ACK__INIT;
    a.accepted = accepted;
    a.rejected = rejected;
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_ACK;
    r.ack = &a;
    return peer_listen_pack(&r);
}

static nng_msg *peer_listen_announce(const uint8_t *items, size_t n)
{
    Renkei__Announce a = RENKEI__ANNOUNCE__INIT;
    a.items.data = (uint8_t *)items;
    a.items.len = n * RK_ITEM_LEN;
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_ANNOUNCE;
    r.announce = &a;
    return peer_listen_pack(&r);
}

/* ---- connections -------------------------------------------------------------------------------- */

static peer_listen_conn *peer_listen_conn_find_locked(rk_peer_listen *l, uint32_t pipe)
{
    for (size_t i = 0; i < l->nconns; i++)
        if (l->conns[i]->pipe == pipe)
            return l->conns[i];
    return NULL;
}

/* NNG may deliver a pipe's first request before its ADD_POST notification has run, so both paths
 * create the connection's state on demand. NULL only when memory ran out. */
static peer_listen_conn *peer_listen_conn_get_locked(rk_peer_listen *l, uint32_t pipe)
{
    peer_listen_conn *c = peer_listen_conn_find_locked(l, pipe);
    if (c)
        return c;
    peer_listen_conn **arr = rk_grow(l->conns, &l->capconns, l->nconns + 1, sizeof(*arr));
    if (!arr)
        return NULL;
    l->conns = arr;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->pipe = pipe;
    l->conns[l->nconns++] = c;
    return c;
}

/* Rights of a pipe: *authed (handshake done), *member (may read network records). */
static rk_peerstat *peer_listen_rights(rk_peer_listen *l, uint32_t pipe, bool *authed, bool *member)
{
    nng_mtx_lock(l->g->mu);
    peer_listen_conn *c = peer_listen_conn_find_locked(l, pipe);
    *authed = c && c->phase == 2;
    *member = c && c->phase == 2 && c->member;
    rk_peerstat *st = c ? c->st : NULL;
    nng_mtx_unlock(l->g->mu);
    return st;
}

/* A protocol violation by a pipe: counted, answered with PeerError, and after LISTEN_MAX_BAD the pipe goes. */
static nng_msg *peer_listen_bad(rk_peer_listen *l, uint32_t pipe, const char *reason, const char *detail)
{
    struct rk_gossip *g = l->g;
    rk_peerstat *st = NULL;
    bool close = false;
    nng_mtx_lock(g->mu);
    peer_listen_conn *c = peer_listen_conn_find_locked(l, pipe);
    if (c) {
        st = c->st;
        close = ++c->bad >= LISTEN_MAX_BAD;
    }
    nng_mtx_unlock(g->mu);
    rk_peerstat_reject(&g->stats, st, reason, detail);
    if (close) {
        nng_pipe p = NNG_PIPE_INITIALIZER;
        p.id = pipe;
        rk_warn("gossip", "closing connection from peer=%s after %d bad messages", st ? st->name : "unauthenticated",
                LISTEN_MAX_BAD);
        nng_pipe_close(p);
        return NULL;
    }
    return peer_listen_error(reason, detail);
}

/* ---- requests ----------------------------------------------------------------------------------- */

static nng_msg *peer_listen_on_hello(rk_peer_listen *l, uint32_t pipe, const Renkei__Hello *h)
{
    struct rk_gossip *g = l->g;
    if (h->node_key.len != RK_KEY_LEN || h->nonce.len != RK_HANDSHAKE_NONCE_LEN)
        return peer_listen_bad(l, pipe, "bad_field", "Hello needs a 32-byte key and a 32-byte nonce");
    if (h->protocol_version != RK_HANDSHAKE_VERSION)
        return peer_listen_bad(l, pipe, "bad_version", "unsupported protocol version");
    if (memcmp(h->node_key.data, g->node->pub, RK_KEY_LEN) == 0)
        return peer_listen_bad(l, pipe, "self", "a node cannot peer with itself");
    uint8_t nonce[RK_HANDSHAKE_NONCE_LEN], sig[RK_SIG_LEN];
    if (rk_random(nonce, sizeof(nonce)) != 0)
        return peer_listen_error("internal", "no randomness");
    if (rk_handshake_sign(g->node->key, RK_HANDSHAKE_LISTENER, h->nonce.data, h->node_key.data, g->node->pub, sig) != 0)
        return peer_listen_error("internal", "signing failed");
    nng_mtx_lock(g->mu);
    peer_listen_conn *c = peer_listen_conn_get_locked(l, pipe);
    if (c) {
        if (c->phase == 2 && c->st && c->st->inbound)
            c->st->inbound--;
        c->phase = 1;
        c->st = NULL;
        c->member = false;
        memcpy(c->peer_key, h->node_key.data, RK_KEY_LEN);
        memcpy(c->peer_nonce, h->nonce.data, RK_HANDSHAKE_NONCE_LEN);
        memcpy(c->our_nonce, nonce, RK_HANDSHAKE_NONCE_LEN);
    }
    nng_mtx_unlock(g->mu);
    if (!c)
        return peer_listen_error("internal", "out of memory");
    Renkei__HelloReply hr = RENKEI__HELLO_REPLY__INIT;
    hr.node_key.data = g->node->pub;
    hr.node_key.len = RK_KEY_LEN;
    hr.nonce.data = nonce;
    hr.nonce.len = RK_HANDSHAKE_NONCE_LEN;
    hr.signature.data = sig;
    hr.signature.len = RK_SIG_LEN;
    hr.protocol_version = RK_HANDSHAKE_VERSION;
    hr.name = g->node->cfg->name ? g->node->cfg->name : "";
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_HELLO;
    r.hello = &hr;
    return peer_listen_pack(&r);
}

static nng_msg *peer_listen_on_auth(rk_peer_listen *l, uint32_t pipe, const Renkei__Auth *a)
{
    struct rk_gossip *g = l->g;
    if (a->signature.len != RK_SIG_LEN)
        return peer_listen_bad(l, pipe, "bad_field", "Auth needs a 64-byte signature");
    uint8_t key[RK_KEY_LEN], our_nonce[RK_HANDSHAKE_NONCE_LEN];
    nng_mtx_lock(g->mu);
    peer_listen_conn *c = peer_listen_conn_find_locked(l, pipe);
    int phase = c ? c->phase : -1;
    if (c) {
        memcpy(key, c->peer_key, RK_KEY_LEN);
        memcpy(our_nonce, c->our_nonce, RK_HANDSHAKE_NONCE_LEN);
    }
    nng_mtx_unlock(g->mu);
    if (phase != 1)
        return peer_listen_bad(l, pipe, "unexpected", "Auth before Hello");
    if (!rk_handshake_verify(RK_HANDSHAKE_DIALER, our_nonce, g->node->pub, key, a->signature.data))
        return peer_listen_bad(l, pipe, "bad_signature", "handshake signature does not verify");
    const rk_member *m = rk_roster_find(&g->node->roster, key);
    char name[80];
    if (m && !m->is_self) {
        snprintf(name, sizeof(name), "%s", m->name);
    } else {
        char hex[2 * RK_KEY_LEN + 1];
        rk_hex_encode(key, RK_KEY_LEN, hex);
        hex[16] = '\0';
        snprintf(name, sizeof(name), "unknown-%s", hex);
    }
    nng_mtx_lock(g->mu);
    c = peer_listen_conn_find_locked(l, pipe);
    rk_peerstat *st = c ? rk_peerstat_get_locked(&g->stats, name) : NULL;
    if (c && st) {
        c->phase = 2;
        c->member = m && !m->is_self;
        c->st = st;
        st->member = c->member;
        if (!st->has_key) {
            memcpy(st->key, key, RK_KEY_LEN);
            st->has_key = true;
        }
        st->inbound++;
    }
    nng_mtx_unlock(g->mu);
    if (!st)
        return peer_listen_error("internal", "out of memory");
    rk_info("gossip", "peer=%s authenticated on our listener member=%s", name, m && !m->is_self ? "yes" : "no");
    return peer_listen_ack(1, 0);
}

static nng_msg *peer_listen_on_announce(rk_peer_listen *l, uint32_t pipe, const Renkei__Announce *a)
{
    bool authed, member;
    peer_listen_rights(l, pipe, &authed, &member);
    if (!authed)
        return peer_listen_bad(l, pipe, "unauthenticated", "Announce needs a completed handshake");
    if (a->items.len % RK_ITEM_LEN != 0)
        return peer_listen_bad(l, pipe, "bad_field", "items must be a multiple of 40 bytes");
    size_t n = a->items.len / RK_ITEM_LEN;
    if (n > RK_GOSSIP_MAX_ITEMS)
        return peer_listen_bad(l, pipe, "too_many", "too many items in Announce");
    rk_buf want;
    rk_buf_init(&want);
    if (rk_relay_wanted(l->g, a->items.data, n, RK_ITEM_LEN, &want) != 0) {
        rk_buf_free(&want);
        return peer_listen_error("internal", "store read failed");
    }
    nng_msg *m;
    if (want.len == 0) {
        m = peer_listen_ack(0, 0);
    } else {
        Renkei__Fetch f = RENKEI__FETCH__INIT;
        f.hashes.data = (uint8_t *)want.data;
        f.hashes.len = want.len;
        Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
        r.msg_case = RENKEI__PEER_REPLY__MSG_FETCH;
        r.fetch = &f;
        m = peer_listen_pack(&r);
    }
    rk_buf_free(&want);
    return m;
}

static nng_msg *peer_listen_on_fetch(rk_peer_listen *l, uint32_t pipe, const Renkei__Fetch *f)
{
    bool authed, member;
    rk_peerstat *st = peer_listen_rights(l, pipe, &authed, &member);
    if (f->hashes.len % RK_HASH_LEN != 0)
        return peer_listen_bad(l, pipe, "bad_field", "hashes must be a multiple of 32 bytes");
    size_t n = f->hashes.len / RK_HASH_LEN;
    if (n > RK_GOSSIP_MAX_HASHES)
        return peer_listen_bad(l, pipe, "too_many", "too many hashes in Fetch");
    rk_relay_envset es = {0};
    size_t used, forbidden = 0;
    nng_msg *m;
    if (rk_relay_collect(l->g, &es, f->hashes.data, n, RK_HASH_LEN, member, RK_GOSSIP_MAX_RECORDS, LISTEN_REPLY_BUDGET,
                         &used, &forbidden) != 0) {
        m = peer_listen_error("internal", "store read failed");
    } else {
        Renkei__Records rs = RENKEI__RECORDS__INIT;
        rs.n_records = es.n;
        rs.records = es.recs;
        Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
        r.msg_case = RENKEI__PEER_REPLY__MSG_RECORDS;
        r.records = &rs;
        m = peer_listen_pack(&r);
        if (st)
            rk_peerstat_count_io(&l->g->stats, st, es.n, 0);
    }
    rk_relay_envset_free(&es);
    if (forbidden)
        rk_debug("gossip", "fetch: withheld %zu records the peer may not read", forbidden);
    return m;
}

static nng_msg *peer_listen_on_push(rk_peer_listen *l, uint32_t pipe, const Renkei__Records *rs)
{
    struct rk_gossip *g = l->g;
    bool authed, member;
    rk_peerstat *st = peer_listen_rights(l, pipe, &authed, &member);
    if (!authed || !st)
        return peer_listen_bad(l, pipe, "unauthenticated", "Records push needs a completed handshake");
    if (rs->n_records > RK_GOSSIP_MAX_RECORDS)
        return peer_listen_bad(l, pipe, "too_many", "too many records in one push");
    /* An NNG callback must not block: a pusher is told to come back, and reconciliation resends. */
    if (rk_writer_outstanding(g->node->writer) >= RK_GOSSIP_WRITER_BACKLOG_MAX)
        return peer_listen_error("busy", "the node is catching up; try again later");
    uint32_t ok = rk_relay_submit(g, st, rs->records, rs->n_records);
    return peer_listen_ack(ok, (uint32_t)rs->n_records - ok);
}

static nng_msg *peer_listen_on_reconcile(rk_peer_listen *l, uint32_t pipe, const Renkei__Reconcile *msg)
{
    bool authed, member;
    peer_listen_rights(l, pipe, &authed, &member);
    if (msg->set == RK_SET_MEMBERS && !member)
        return peer_listen_bad(l, pipe, "forbidden", "the members' set needs an authenticated member");
    rk_error err;
    if (rk_sync_validate(msg, &err) != 0)
        return peer_listen_bad(l, pipe, err.code, err.message);
    rk_txn *t;
    if (rk_txn_begin(l->g->node->store, false, &t, &err) != 0)
        return peer_listen_error("internal", "store read failed");
    rk_set_source src;
    rk_set_source_from_store(&src, t, (int)msg->set);
    Renkei__Reconcile *reply = NULL;
    nng_msg *m;
    if (rk_sync_process(&src, false, msg, &reply, NULL, &err) != 0) {
        rk_txn_abort(t);
        return peer_listen_bad(l, pipe, err.code, err.message);
    }
    rk_txn_abort(t);
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_RECONCILE;
    r.reconcile = reply;
    m = peer_listen_pack(&r);
    rk_sync_free_message(reply);
    return m;
}

/* ---- contexts and parked polls ------------------------------------------------------------------- */

static void peer_listen_ctx_cb(void *arg);

static peer_listen_ctx *peer_listen_ctx_open_locked(rk_peer_listen *l)
{
    if (l->nctx >= LISTEN_MAX_CTX)
        return NULL;
    peer_listen_ctx **arr = rk_grow(l->ctxs, &l->capctx, l->nctx + 1, sizeof(*arr));
    if (!arr)
        return NULL;
    l->ctxs = arr;
    peer_listen_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->l = l;
    if (nng_ctx_open(&c->ctx, l->rep) != 0) {
        free(c);
        return NULL;
    }
    if (nng_aio_alloc(&c->aio, peer_listen_ctx_cb, c) != 0) {
        nng_ctx_close(c->ctx);
        free(c);
        return NULL;
    }
    c->state = LC_RECV;
    l->ctxs[l->nctx++] = c;
    l->nrecv++;
    return c;
}

/* Takes up to RK_GOSSIP_MAX_ITEMS queued items of a connection as an Announce reply. Lock held. */
static nng_msg *peer_listen_drain_locked(peer_listen_conn *c)
{
    size_t n = c && c->qn < RK_GOSSIP_MAX_ITEMS ? c->qn : (c ? RK_GOSSIP_MAX_ITEMS : 0);
    nng_msg *m = peer_listen_announce(c ? c->q : NULL, n);
    if (m && c && n) {
        memmove(c->q, c->q + n * RK_ITEM_LEN, (c->qn - n) * RK_ITEM_LEN);
        c->qn -= n;
    }
    return m;
}

/* Answers a parked Poll (lock held); the caller sends the returned context's message after unlocking. */
static peer_listen_ctx *peer_listen_unpark_locked(rk_peer_listen *l, peer_listen_ctx *lc)
{
    peer_listen_conn *c = peer_listen_conn_find_locked(l, lc->pipe);
    if (c && c->parked == lc)
        c->parked = NULL;
    nng_msg *m = peer_listen_drain_locked(c);
    if (!m) {
        /* No memory for an answer: the dialer's request times out and it polls again. */
        lc->state = LC_RECV;
        l->nrecv++;
        nng_ctx_recv(lc->ctx, lc->aio);
        return NULL;
    }
    nng_aio_set_msg(lc->aio, m);
    lc->state = LC_SEND;
    return lc;
}

static void peer_listen_send_unparked(peer_listen_ctx **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nng_ctx_send(list[i]->ctx, list[i]->aio);
}

static void peer_listen_ctx_cb(void *arg)
{
    peer_listen_ctx *lc = arg;
    rk_peer_listen *l = lc->l;
    struct rk_gossip *g = l->g;
    int rv = nng_aio_result(lc->aio);
    if (lc->state == LC_SEND) {
        if (rv != 0) {
            nng_msg *m = nng_aio_get_msg(lc->aio);
            if (m)
                nng_msg_free(m);
        }
        if (rv == NNG_ECLOSED)
            return;
        nng_mtx_lock(g->mu);
        lc->state = LC_RECV;
        l->nrecv++;
        nng_mtx_unlock(g->mu);
        nng_ctx_recv(lc->ctx, lc->aio);
        return;
    }
    if (lc->state != LC_RECV)
        return;
    if (rv != 0) {
        if (rv == NNG_ECLOSED)
            return;
        nng_ctx_recv(lc->ctx, lc->aio);
        return;
    }
    nng_msg *req = nng_aio_get_msg(lc->aio);
    uint32_t pipe = (uint32_t)nng_pipe_id(nng_msg_get_pipe(req));
    nng_msg *reply = NULL;
    bool park = false;
    uint32_t wait_ms = 0;
    if (nng_msg_len(req) > RK_GOSSIP_MAX_MSG) {
        reply = peer_listen_bad(l, pipe, "too_large", "message over 8 MiB");
    } else {
        Renkei__PeerRequest *pr = renkei__peer_request__unpack(NULL, nng_msg_len(req), nng_msg_body(req));
        if (!pr) {
            reply = peer_listen_bad(l, pipe, "malformed", "undecodable PeerRequest");
        } else {
            switch (pr->msg_case) {
            case RENKEI__PEER_REQUEST__MSG_HELLO: reply = peer_listen_on_hello(l, pipe, pr->hello); break;
            case RENKEI__PEER_REQUEST__MSG_AUTH: reply = peer_listen_on_auth(l, pipe, pr->auth); break;
            case RENKEI__PEER_REQUEST__MSG_ANNOUNCE: reply = peer_listen_on_announce(l, pipe, pr->announce); break;
            case RENKEI__PEER_REQUEST__MSG_FETCH: reply = peer_listen_on_fetch(l, pipe, pr->fetch); break;
            case RENKEI__PEER_REQUEST__MSG_PUSH: reply = peer_listen_on_push(l, pipe, pr->push); break;
            case RENKEI__PEER_REQUEST__MSG_RECONCILE: reply = peer_listen_on_reconcile(l, pipe, pr->reconcile); break;
            case RENKEI__PEER_REQUEST__MSG_POLL:
                park = true;
                wait_ms = pr->poll->wait_ms > LISTEN_POLL_MAX_MS ? LISTEN_POLL_MAX_MS : pr->poll->wait_ms;
                break;
            default: reply = peer_listen_bad(l, pipe, "malformed", "empty or unknown PeerRequest"); break;
            }
            renkei__peer_request__free_unpacked(pr, NULL);
        }
    }
    nng_msg_free(req);

    if (park) {
        peer_listen_ctx *ready[2];
        size_t nready = 0;
        nng_mtx_lock(g->mu);
        peer_listen_conn *c = peer_listen_conn_find_locked(l, pipe);
        lc->pipe = pipe;
        lc->deadline_ms = rk_monotonic_ns() / 1000000 + wait_ms;
        lc->state = LC_PARKED;
        l->nrecv--;
        if (c && c->parked) /* a newer Poll supersedes the old one */
            if ((ready[nready] = peer_listen_unpark_locked(l, c->parked)) != NULL)
                nready++;
        if (c)
            c->parked = lc;
        if (!c || c->qn > 0 || wait_ms == 0)
            if ((ready[nready] = peer_listen_unpark_locked(l, lc)) != NULL)
                nready++;
        /* Keep enough contexts receiving that parked polls never block other requests. */
        while (!g->stopping && l->nrecv < LISTEN_SPARE_CTX) {
            peer_listen_ctx *n = peer_listen_ctx_open_locked(l);
            if (!n)
                break;
            nng_ctx_recv(n->ctx, n->aio);
        }
        nng_mtx_unlock(g->mu);
        peer_listen_send_unparked(ready, nready);
        return;
    }
    if (!reply) {
        /* Closed pipe or no memory: nothing to answer; keep receiving. */
        nng_ctx_recv(lc->ctx, lc->aio);
        return;
    }
    nng_mtx_lock(g->mu);
    lc->state = LC_SEND;
    l->nrecv--;
    nng_mtx_unlock(g->mu);
    nng_aio_set_msg(lc->aio, reply);
    nng_ctx_send(lc->ctx, lc->aio);
}

/* Expires parked polls whose wait is over. */
static void peer_listen_tick_cb(void *arg)
{
    rk_peer_listen *l = arg;
    struct rk_gossip *g = l->g;
    if (nng_aio_result(l->tick) != 0)
        return;
    uint64_t now = rk_monotonic_ns() / 1000000;
    peer_listen_ctx **ready = NULL;
    size_t nready = 0;
    nng_mtx_lock(g->mu);
    if (g->stopping) {
        nng_mtx_unlock(g->mu);
        return;
    }
    ready = calloc(l->nctx ? l->nctx : 1, sizeof(*ready));
    for (size_t i = 0; ready && i < l->nctx; i++) {
        peer_listen_ctx *lc = l->ctxs[i];
        if (lc->state == LC_PARKED && lc->deadline_ms <= now)
            if ((ready[nready] = peer_listen_unpark_locked(l, lc)) != NULL)
                nready++;
    }
    nng_mtx_unlock(g->mu);
    if (ready)
        peer_listen_send_unparked(ready, nready);
    free(ready);
    nng_sleep_aio(LISTEN_TICK_MS, l->tick);
}

static void peer_listen_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    rk_peer_listen *l = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    nng_mtx_lock(l->g->mu);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        peer_listen_conn *c = peer_listen_conn_get_locked(l, id);
        nng_mtx_unlock(l->g->mu);
        if (!c)
            nng_pipe_close(p);
        return;
    }
    if (ev == NNG_PIPE_EV_REM_POST) {
        for (size_t i = 0; i < l->nconns; i++) {
            peer_listen_conn *c = l->conns[i];
            if (c->pipe != id)
                continue;
            if (c->parked)
                c->parked->deadline_ms = 0; /* the ticker answers it into the void */
            if (c->phase == 2 && c->st && c->st->inbound)
                c->st->inbound--;
            free(c->q);
            free(c);
            l->conns[i] = l->conns[--l->nconns];
            break;
        }
    }
    nng_mtx_unlock(l->g->mu);
}

/* ---- announcements of newly stored records ------------------------------------------------------ */

size_t rk_peer_listen_queue_locked(rk_peer_listen *l, const uint8_t item[RK_ITEM_LEN], int visibility, const char *src)
{
    size_t dropped = 0;
    if (!l)
        return 0;
    for (size_t c = 0; c < l->nconns; c++) {
        peer_listen_conn *cn = l->conns[c];
        if (src && cn->st && strcmp(src, cn->st->name) == 0)
            continue;
        if (visibility == RENKEI__VISIBILITY__VISIBILITY_NETWORK && !(cn->phase == 2 && cn->member))
            continue;
        if (rk_relay_queue_item(&cn->q, &cn->qn, &cn->qcap, item) != 0)
            dropped++;
    }
    return dropped;
}

void rk_peer_listen_wake_locked(rk_peer_listen *l, rk_peer_listen_ready *r)
{
    if (!l)
        return;
    for (size_t c = 0; c < l->nconns; c++) {
        peer_listen_conn *cn = l->conns[c];
        if (!cn->parked || cn->qn == 0)
            continue;
        peer_listen_ctx **v = rk_grow(r->v, &r->cap, r->n + 1, sizeof(*v));
        if (!v)
            break;
        r->v = v;
        if ((r->v[r->n] = peer_listen_unpark_locked(l, cn->parked)) != NULL)
            r->n++;
    }
}

void rk_peer_listen_send_ready(rk_peer_listen_ready *r)
{
    peer_listen_send_unparked(r->v, r->n);
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
}

/* ---- start and stop ------------------------------------------------------------------------------ */

int rk_peer_listen_start(struct rk_gossip *g, rk_peer_listen **out, rk_error *err)
{
    const rk_config *cfg = g->node->cfg;
    rk_peer_listen *l = calloc(1, sizeof(*l));
    if (!l)
        return rk_fail(err, "out_of_memory", NULL, "out of memory");
    l->g = g;
    *out = l;
    int rv;
    if ((rv = nng_rep0_open(&l->rep)) != 0)
        return rk_fail(err, "gossip", NULL, "cannot open the listener socket: %s", nng_strerror(rv));
    l->rep_open = true;
    nng_setopt_size(l->rep, NNG_OPT_RECVMAXSZ, RK_GOSSIP_TRANSPORT_MAX);
    nng_pipe_notify(l->rep, NNG_PIPE_EV_ADD_POST, peer_listen_pipe_cb, l);
    nng_pipe_notify(l->rep, NNG_PIPE_EV_REM_POST, peer_listen_pipe_cb, l);
    for (size_t i = 0; i < cfg->listen_count; i++) {
        const char *url = cfg->listen[i];
        nng_listener nl;
        if ((rv = nng_listener_create(&nl, l->rep, url)) != 0)
            return rk_fail(err, "gossip", "gossip.listen", "bad listen url %s: %s", url, nng_strerror(rv));
        if (rk_tls_url(url)) {
            if (!l->tls && rk_tls_config(cfg, true, &l->tls, err) != 0)
                return -1;
            if ((rv = nng_listener_set_ptr(nl, NNG_OPT_TLS_CONFIG, l->tls)) != 0)
                return rk_fail(err, "tls", "gossip.listen", "cannot use TLS on %s: %s", url, nng_strerror(rv));
        }
        if ((rv = nng_listener_start(nl, 0)) != 0)
            return rk_fail(err, "gossip", "gossip.listen", "cannot listen on %s: %s", url, nng_strerror(rv));
        rk_info("gossip", "listening on %s", url);
    }
    nng_mtx_lock(g->mu);
    for (int i = 0; i < 2 * LISTEN_SPARE_CTX; i++) {
        peer_listen_ctx *c = peer_listen_ctx_open_locked(l);
        if (!c) {
            nng_mtx_unlock(g->mu);
            return rk_fail(err, "gossip", NULL, "cannot open listener contexts");
        }
        nng_ctx_recv(c->ctx, c->aio);
    }
    nng_mtx_unlock(g->mu);
    if ((rv = nng_aio_alloc(&l->tick, peer_listen_tick_cb, l)) != 0)
        return rk_fail(err, "gossip", NULL, "cannot start the poll timer: %s", nng_strerror(rv));
    nng_sleep_aio(LISTEN_TICK_MS, l->tick);
    return 0;
}

void rk_peer_listen_stop(rk_peer_listen *l)
{
    if (!l)
        return;
    if (l->tick) {
        nng_aio_stop(l->tick);
        nng_aio_free(l->tick);
    }
    if (l->rep_open)
        nng_close(l->rep);
    for (size_t i = 0; i < l->nctx; i++) {
        peer_listen_ctx *lc = l->ctxs[i];
        nng_aio_stop(lc->aio);
        nng_aio_free(lc->aio);
        free(lc);
    }
    free(l->ctxs);
    for (size_t i = 0; i < l->nconns; i++) {
        free(l->conns[i]->q);
        free(l->conns[i]);
    }
    free(l->conns);
    if (l->tls)
        nng_tls_config_free(l->tls);
    free(l);
}
