/* peer_listen: the listener side of the peer protocol (docs/protocol.md): connections, framing, limits.
 *
 * The listener speaks NNG's SP framing (req0/rep0 over TCP or TLS) itself, on nng_stream
 * connections, instead of through an NNG rep0 socket: NNG sets one receive limit for every pipe of
 * a listener and allocates a whole frame as soon as its length arrives, so a stranger could make the
 * node hold 16 MiB per connection before proving anything. Owning the framing gives each connection
 * its own limits:
 *
 * - until a connection has authenticated, a frame may be at most LISTEN_PREAUTH_MAX bytes (a Hello
 *   is tiny); after, RK_GOSSIP_TRANSPORT_MAX. A frame over its limit is read into a small scratch
 *   buffer and dropped, and answered `too_large`, so it costs no memory however large it claims to
 *   be; a frame over RK_GOSSIP_TRANSPORT_MAX closes the connection, as NNG did;
 * - a connection must authenticate within LISTEN_HANDSHAKE_MS of opening (or of a new Hello), and a
 *   frame must complete within LISTEN_FRAME_MS of its first byte, or the connection is closed;
 * - at most LISTEN_MAX_CONNS connections are open, and at most LISTEN_MAX_UNAUTH_PER_ADDR of them
 *   unauthenticated from one source address; others are closed on accept;
 * - frames being received on all connections together hold at most LISTEN_INPUT_BUDGET bytes
 *   (beyond one frame): any key can authenticate, so this is what bounds the memory strangers can
 *   take. A frame that does not fit waits, unread, for the ticker to find room.
 *
 * Requests of one connection are handled one at a time, in order (peer_serve.c answers them): the
 * next frame is read only once the previous reply has been sent, so a peer that does not read holds
 * at most one reply. A Poll is parked (without holding up the requests after it) until there is
 * something to announce to that connection or its wait runs out; a newer Poll answers the older one.
 *
 * Invariants: every field of a connection is guarded by the gossip lock; every send and receive is
 * started under that lock after checking that neither the connection nor gossip is closing, so
 * nothing is started once rk_peer_listen_stop has begun. A closed connection is freed by the ticker
 * only when neither of its aios is busy, and a frame being answered is freed only by the receive
 * callback that answers it. Announcements of `network` records are queued only for connections
 * authenticated as members.
 */
#include "peer_listen.h"

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"
#include "grow.h"
#include "log.h"
#include "peer_listen_int.h"
#include "renkei.pb-c.h"
#include "tls.h"

#define LISTEN_TICK_MS 200
#define LISTEN_PREAUTH_MAX (64u << 10)
#define LISTEN_HANDSHAKE_MS 10000
#define LISTEN_FRAME_MS 60000
#define LISTEN_MAX_CONNS 512
#define LISTEN_MAX_UNAUTH_PER_ADDR 32
#define LISTEN_SCRATCH 65536
/* Bytes of frames held for all connections together. Any key can complete a handshake, so this,
 * not the per-connection limit, bounds what authenticated strangers can make the node hold; a frame
 * that does not fit waits (its connection is not read) until others have been handled, within
 * LISTEN_FRAME_MS. Room for eight frames of the 8 MiB protocol maximum. */
#define LISTEN_INPUT_BUDGET (64u << 20)
#define LISTEN_SP_REQ 0x30
#define LISTEN_SP_REP 0x31

/* RX_BUDGET: a frame's length has arrived but its body waits for room in LISTEN_INPUT_BUDGET. */
enum { RX_SPHDR, RX_LEN, RX_BUDGET, RX_BODY, RX_HANDLING, RX_WAIT };

/* One frame to send: the 8-byte length (or the SP header), the request's header words, a body. */
typedef struct peer_listen_frame {
    STAILQ_ENTRY(peer_listen_frame) link; /* in the connection's txq */
    uint8_t pre[8];
    size_t npre;
    uint8_t hdr[RK_LISTEN_MAX_HDR];
    size_t nhdr;
    nng_msg *body; /* NULL for the SP header */
    size_t sent;
} peer_listen_frame;

typedef struct peer_listen_ep {
    rk_peer_listen *l;
    nng_stream_listener *sl;
    nng_aio *aio;
    bool retry; /* accept failed: the ticker starts it again */
} peer_listen_ep;

struct rk_peer_listen {
    struct rk_gossip *g;
    nng_tls_config *tls;
    peer_listen_ep *eps;
    size_t neps;
    rk_listen_conn **conns;
    size_t nconns, capconns;
    size_t n_authed;
    uint64_t input_bytes; /* frames being received */
    nng_aio *tick;
};

/* ---- connection bookkeeping ----------------------------------------------------------------------- */

static uint64_t peer_listen_now_ms(void)
{
    return rk_monotonic_ns() / 1000000;
}

void rk_peer_listen_gauges_locked(rk_peer_listen *l)
{
    rk_metrics *m = l->g->metrics;
    size_t open = 0;
    for (size_t i = 0; i < l->nconns; i++)
        open += !l->conns[i]->closed;
    rk_metrics_set_gauge1(m, "renkei_peer_connections", "state", "authenticated", (double)l->n_authed);
    rk_metrics_set_gauge1(m, "renkei_peer_connections", "state", "unauthenticated", (double)(open - l->n_authed));
    rk_metrics_set_gauge(m, "renkei_peer_input_bytes", (double)l->input_bytes);
}

/* Marks the connection authenticated or not, keeping the counts right. Lock held. */
void rk_peer_listen_set_phase_locked(rk_listen_conn *c, int phase)
{
    rk_peer_listen *l = c->l;
    if (c->phase == 2 && phase != 2) {
        l->n_authed--;
        if (c->st && c->st->inbound)
            c->st->inbound--;
        c->hs_started_ms = peer_listen_now_ms();
    } else if (c->phase != 2 && phase == 2) {
        l->n_authed++;
    }
    c->phase = phase;
}

static void peer_listen_rx_free_locked(rk_listen_conn *c)
{
    if (c->rx_body) {
        c->l->input_bytes -= c->rx_len;
        free(c->rx_body);
        c->rx_body = NULL;
        rk_metrics_set_gauge(c->l->g->metrics, "renkei_peer_input_bytes", (double)c->l->input_bytes);
    }
    free(c->rx_scratch);
    c->rx_scratch = NULL;
    c->frame_started_ms = 0;
}

/* Closes the connection (its aios complete with an error, and the ticker frees it). Lock held. */
void rk_peer_listen_close_locked(rk_listen_conn *c)
{
    if (c->closed)
        return;
    if (c->phase == 2)
        rk_peer_listen_set_phase_locked(c, 0);
    c->closed = true;
    c->parked = false;
    if (c->rx_state != RX_HANDLING) /* else the receive callback is reading the frame; it frees it */
        peer_listen_rx_free_locked(c);
    nng_stream_close(c->s);
    rk_peer_listen_gauges_locked(c->l);
}

static void peer_listen_conn_free(rk_listen_conn *c)
{
    nng_aio_free(c->rxa);
    nng_aio_free(c->txa);
    nng_stream_free(c->s);
    peer_listen_frame *f;
    while ((f = STAILQ_FIRST(&c->txq))) {
        STAILQ_REMOVE_HEAD(&c->txq, link);
        nng_msg_free(f->body);
        free(f);
    }
    free(c->rx_body);
    free(c->rx_scratch);
    free(c->q);
    free(c);
}

/* ---- sending ------------------------------------------------------------------------------------- */

static void peer_listen_tx_start_locked(rk_listen_conn *c)
{
    peer_listen_frame *f = STAILQ_FIRST(&c->txq);
    if (c->tx_busy || !f || c->closed || c->l->g->stopping)
        return;
    nng_iov iov[3];
    unsigned n = 0;
    size_t skip = f->sent;
    size_t blen = f->body ? nng_msg_len(f->body) : 0;
    struct {
        uint8_t *p;
        size_t len;
    } seg[3] = {{f->pre, f->npre}, {f->hdr, f->nhdr}, {f->body ? nng_msg_body(f->body) : NULL, blen}};
    for (int i = 0; i < 3; i++) {
        if (skip >= seg[i].len) {
            skip -= seg[i].len;
            continue;
        }
        iov[n].iov_buf = seg[i].p + skip;
        iov[n].iov_len = seg[i].len - skip;
        skip = 0;
        n++;
    }
    nng_aio_set_iov(c->txa, n, iov);
    c->tx_busy = true;
    nng_stream_send(c->s, c->txa);
}

/* Queues a reply body (taken) under the request's header words, or the SP header when hdr is NULL. */
static int peer_listen_queue_locked(rk_listen_conn *c, const uint8_t *hdr, size_t nhdr, nng_msg *body)
{
    peer_listen_frame *f = calloc(1, sizeof(*f));
    if (!f) {
        nng_msg_free(body);
        return -1;
    }
    if (!body) {
        const uint8_t sp[8] = {0, 'S', 'P', 0, 0, LISTEN_SP_REP, 0, 0};
        memcpy(f->pre, sp, 8);
    } else {
        rk_put_be64(f->pre, (uint64_t)(nhdr + nng_msg_len(body)));
        rk_metrics_add(c->l->g->metrics, "renkei_peer_bytes_total", "direction", "out", 8 + nhdr + nng_msg_len(body));
        memcpy(f->hdr, hdr, nhdr);
        f->nhdr = nhdr;
    }
    f->npre = 8;
    f->body = body;
    STAILQ_INSERT_TAIL(&c->txq, f, link);
    peer_listen_tx_start_locked(c);
    return 0;
}

static void peer_listen_rx_start_locked(rk_listen_conn *c);

static void peer_listen_tx_cb(void *arg)
{
    rk_listen_conn *c = arg;
    struct rk_gossip *g = c->l->g;
    nng_mtx_lock(g->mu);
    c->tx_busy = false;
    int rv = nng_aio_result(c->txa);
    if (rv != 0 || c->closed) {
        rk_peer_listen_close_locked(c);
        nng_mtx_unlock(g->mu);
        return;
    }
    peer_listen_frame *f = STAILQ_FIRST(&c->txq);
    size_t total = f->npre + f->nhdr + (f->body ? nng_msg_len(f->body) : 0);
    f->sent += nng_aio_count(c->txa);
    if (f->sent >= total) {
        STAILQ_REMOVE_HEAD(&c->txq, link);
        nng_msg_free(f->body);
        free(f);
    }
    if (!STAILQ_EMPTY(&c->txq))
        peer_listen_tx_start_locked(c);
    else if (c->rx_state == RX_WAIT)
        peer_listen_rx_start_locked(c);
    nng_mtx_unlock(g->mu);
}

/* ---- parked polls ------------------------------------------------------------------------------- */

/* Answers the connection's parked Poll with up to RK_GOSSIP_MAX_ITEMS queued items. Lock held. */
static void peer_listen_unpark_locked(rk_listen_conn *c)
{
    if (!c->parked)
        return;
    c->parked = false;
    size_t n = c->qn < RK_GOSSIP_MAX_ITEMS ? c->qn : RK_GOSSIP_MAX_ITEMS;
    nng_msg *m = rk_peer_serve_announce(c->q, n);
    if (!m)
        return; /* no memory for an answer: the dialer's request times out and it polls again */
    if (n) {
        memmove(c->q, c->q + n * RK_ITEM_LEN, (c->qn - n) * RK_ITEM_LEN);
        c->qn -= n;
    }
    peer_listen_queue_locked(c, c->park_hdr, c->park_nhdr, m);
}

/* ---- receiving ---------------------------------------------------------------------------------- */

/* Starts the next read of the frame in progress (or of the next frame's length). Lock held. */
static void peer_listen_rx_start_locked(rk_listen_conn *c)
{
    if (c->closed || c->l->g->stopping || c->rx_state == RX_BUDGET)
        return;
    nng_iov iov;
    if (c->rx_state == RX_WAIT || c->rx_state == RX_HANDLING) {
        c->rx_state = RX_LEN;
        c->rx_got = 0;
    }
    if (c->rx_state == RX_SPHDR || c->rx_state == RX_LEN) {
        iov.iov_buf = c->rx_head + c->rx_got;
        iov.iov_len = 8 - c->rx_got;
    } else if (c->rx_body) {
        iov.iov_buf = c->rx_body + c->rx_got;
        iov.iov_len = (size_t)(c->rx_len - c->rx_got);
    } else {
        uint64_t left = c->rx_len - c->rx_got;
        iov.iov_buf = c->rx_scratch;
        iov.iov_len = left < LISTEN_SCRATCH ? (size_t)left : LISTEN_SCRATCH;
    }
    nng_aio_set_iov(c->rxa, 1, &iov);
    c->rx_busy = true;
    nng_stream_recv(c->s, c->rxa);
}

/* Allocates the body of a frame in RX_BUDGET if the input budget has room for it (or nothing else
 * is held, so one frame always proceeds), moving it to RX_BODY. Lock held. Returns -1 to close. */
static int peer_listen_rx_reserve_locked(rk_listen_conn *c)
{
    rk_peer_listen *l = c->l;
    if (l->input_bytes > 0 && l->input_bytes + c->rx_len > LISTEN_INPUT_BUDGET)
        return 0;
    c->rx_body = malloc(c->rx_len ? (size_t)c->rx_len : 1);
    if (!c->rx_body)
        return -1;
    c->rx_state = RX_BODY;
    l->input_bytes += c->rx_len;
    rk_metrics_set_gauge(l->g->metrics, "renkei_peer_input_bytes", (double)l->input_bytes);
    return 0;
}

/* A frame's length has arrived: decide how to read its body. Lock held. Returns -1 to close. */
static int peer_listen_rx_length_locked(rk_listen_conn *c)
{
    uint64_t len = rk_get_be64(c->rx_head);
    if (len > RK_GOSSIP_TRANSPORT_MAX)
        return -1; /* NNG closed such a connection too */
    uint64_t limit = c->phase == 2 ? (uint64_t)RK_GOSSIP_MAX_MSG + RK_LISTEN_MAX_HDR : LISTEN_PREAUTH_MAX;
    c->rx_len = len;
    c->rx_got = 0;
    c->rx_state = RX_BODY;
    c->frame_started_ms = peer_listen_now_ms();
    memset(c->rx_keep, 0, sizeof(c->rx_keep));
    if (len > limit) {
        c->rx_scratch = malloc(LISTEN_SCRATCH);
        return c->rx_scratch ? 0 : -1;
    }
    c->rx_state = RX_BUDGET;
    return peer_listen_rx_reserve_locked(c);
}

static void peer_listen_rx_cb(void *arg)
{
    rk_listen_conn *c = arg;
    struct rk_gossip *g = c->l->g;
    nng_mtx_lock(g->mu);
    int rv = nng_aio_result(c->rxa);
    if (rv != 0 || c->closed || g->stopping) {
        c->rx_busy = false;
        rk_peer_listen_close_locked(c);
        nng_mtx_unlock(g->mu);
        return;
    }
    size_t n = nng_aio_count(c->rxa);
    const char *refuse = NULL;
    switch (c->rx_state) {
    case RX_SPHDR:
        if ((c->rx_got += n) < 8)
            break;
        if (memcmp(c->rx_head, "\0SP\0", 4) != 0 || c->rx_head[4] != 0 || c->rx_head[5] != LISTEN_SP_REQ ||
            c->rx_head[6] != 0 || c->rx_head[7] != 0)
            refuse = "not an SP req0 connection";
        else
            c->rx_state = RX_WAIT; /* next: the first frame's length */
        break;
    case RX_LEN:
        if ((c->rx_got += n) < 8)
            break;
        if (peer_listen_rx_length_locked(c) != 0)
            refuse = "frame over 16 MiB";
        break;
    case RX_BODY:
        if (!c->rx_body && c->rx_got < RK_LISTEN_MAX_HDR) {
            size_t k = RK_LISTEN_MAX_HDR - (size_t)c->rx_got < n ? RK_LISTEN_MAX_HDR - (size_t)c->rx_got : n;
            memcpy(c->rx_keep + c->rx_got, c->rx_scratch, k);
        }
        c->rx_got += n;
        break;
    default: break;
    }
    if (refuse) {
        const char *reason = c->rx_state == RX_SPHDR ? "malformed" : "too_large";
        rk_peerstat *st = c->st;
        c->rx_busy = false;
        rk_peer_listen_close_locked(c);
        nng_mtx_unlock(g->mu);
        rk_peerstat_reject(&g->stats, st, reason, refuse);
        return;
    }
    if (c->rx_state != RX_BODY || c->rx_got < c->rx_len) {
        c->rx_busy = false;
        peer_listen_rx_start_locked(c); /* not while the frame waits for room: the ticker starts it */
        nng_mtx_unlock(g->mu);
        return;
    }
    /* A whole frame: handle it outside the lock. The connection cannot be freed meanwhile: rx_busy
     * stays set until this callback has finished with it. */
    c->rx_state = RX_HANDLING;
    rk_metrics_add(g->metrics, "renkei_peer_bytes_total", "direction", "in", c->rx_len + 8);
    c->frame_started_ms = 0;
    uint8_t *frame = c->rx_body;
    size_t flen = (size_t)c->rx_len;
    bool drained = frame == NULL;
    if (drained) {
        frame = c->rx_keep;
        flen = c->rx_len < RK_LISTEN_MAX_HDR ? (size_t)c->rx_len : RK_LISTEN_MAX_HDR;
    }
    nng_mtx_unlock(g->mu);

    uint8_t hdr[RK_LISTEN_MAX_HDR];
    size_t nhdr;
    bool park;
    uint32_t wait_ms = 0;
    nng_msg *reply = rk_peer_serve_frame(c, frame, flen, drained, hdr, &nhdr, &park, &wait_ms);

    nng_mtx_lock(g->mu);
    peer_listen_rx_free_locked(c);
    if (c->closed || g->stopping) {
        nng_msg_free(reply);
        c->rx_busy = false;
        nng_mtx_unlock(g->mu);
        return;
    }
    if (park) {
        peer_listen_unpark_locked(c); /* a newer Poll supersedes the old one */
        c->parked = true;
        memcpy(c->park_hdr, hdr, nhdr);
        c->park_nhdr = nhdr;
        c->park_deadline_ms = peer_listen_now_ms() + wait_ms;
        if (c->qn > 0 || wait_ms == 0)
            peer_listen_unpark_locked(c);
    } else if (reply) {
        peer_listen_queue_locked(c, hdr, nhdr, reply);
    }
    c->rx_busy = false;
    c->rx_state = RX_WAIT;
    if (STAILQ_EMPTY(&c->txq)) /* else the next frame is read once the reply has gone */
        peer_listen_rx_start_locked(c);
    nng_mtx_unlock(g->mu);
}

/* ---- accepting ---------------------------------------------------------------------------------- */

static void peer_listen_addr(nng_stream *s, char out[64])
{
    nng_sockaddr sa;
    out[0] = '\0';
    if (nng_stream_get_addr(s, NNG_OPT_REMADDR, &sa) != 0)
        return;
    if (sa.s_family == NNG_AF_INET)
        inet_ntop(AF_INET, &sa.s_in.sa_addr, out, 64);
    else if (sa.s_family == NNG_AF_INET6)
        inet_ntop(AF_INET6, sa.s_in6.sa_addr, out, 64);
}

static void peer_listen_accept_cb(void *arg)
{
    peer_listen_ep *ep = arg;
    rk_peer_listen *l = ep->l;
    struct rk_gossip *g = l->g;
    int rv = nng_aio_result(ep->aio);
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
        return;
    nng_mtx_lock(g->mu);
    if (g->stopping) {
        nng_mtx_unlock(g->mu);
        if (rv == 0)
            nng_stream_free(nng_aio_get_output(ep->aio, 0));
        return;
    }
    if (rv != 0) {
        /* Out of descriptors or memory: try again on the next tick rather than spin. A connection
         * that was reset before we took it costs nothing: accept the next one at once. */
        if (rv == NNG_ENOFILES || rv == NNG_ENOMEM)
            ep->retry = true;
        else
            nng_stream_listener_accept(ep->sl, ep->aio);
        nng_mtx_unlock(g->mu);
        return;
    }
    nng_stream *s = nng_aio_get_output(ep->aio, 0);
    char addr[64];
    peer_listen_addr(s, addr);
    size_t open = 0, unauth_here = 0;
    for (size_t i = 0; i < l->nconns; i++) {
        rk_listen_conn *o = l->conns[i];
        if (o->closed)
            continue;
        open++;
        if (o->phase != 2 && strcmp(o->addr, addr) == 0)
            unauth_here++;
    }
    const char *refuse = NULL;
    rk_listen_conn *c = NULL;
    if (open >= LISTEN_MAX_CONNS)
        refuse = "too many connections";
    else if (unauth_here >= LISTEN_MAX_UNAUTH_PER_ADDR)
        refuse = "too many unauthenticated connections from this address";
    else {
        rk_listen_conn **arr = rk_grow(l->conns, &l->capconns, l->nconns + 1, sizeof(*arr));
        if (arr)
            l->conns = arr;
        c = arr ? calloc(1, sizeof(*c)) : NULL;
        if (c &&
            (nng_aio_alloc(&c->rxa, peer_listen_rx_cb, c) != 0 || nng_aio_alloc(&c->txa, peer_listen_tx_cb, c) != 0)) {
            nng_aio_free(c->rxa);
            free(c);
            c = NULL;
        }
        if (!c)
            refuse = "out of memory";
    }
    if (c) {
        c->g = g;
        c->l = l;
        c->s = s;
        STAILQ_INIT(&c->txq);
        snprintf(c->addr, sizeof(c->addr), "%s", addr);
        c->hs_started_ms = peer_listen_now_ms();
        c->rx_state = RX_SPHDR;
        l->conns[l->nconns++] = c;
        peer_listen_queue_locked(c, NULL, 0, NULL); /* our SP header */
        peer_listen_rx_start_locked(c);
        rk_peer_listen_gauges_locked(l);
    }
    nng_stream_listener_accept(ep->sl, ep->aio);
    nng_mtx_unlock(g->mu);
    if (refuse) {
        nng_stream_close(s);
        nng_stream_free(s);
        rk_peerstat_reject(&g->stats, NULL, "connection_limit", refuse);
    }
}

/* ---- the ticker: expired polls, time limits, frames waiting for room, freeing closed connections -- */

static void peer_listen_tick_cb(void *arg)
{
    rk_peer_listen *l = arg;
    struct rk_gossip *g = l->g;
    if (nng_aio_result(l->tick) != 0)
        return;
    uint64_t now = peer_listen_now_ms();
    size_t hs_late = 0, frame_late = 0;
    rk_listen_conn **dead = NULL;
    size_t ndead = 0;
    nng_mtx_lock(g->mu);
    if (g->stopping) {
        nng_mtx_unlock(g->mu);
        return;
    }
    dead = calloc(l->nconns ? l->nconns : 1, sizeof(*dead));
    for (size_t i = 0; i < l->nconns;) {
        rk_listen_conn *c = l->conns[i];
        if (!c->closed) {
            if (c->parked && c->park_deadline_ms <= now)
                peer_listen_unpark_locked(c);
            if (c->phase != 2 && now - c->hs_started_ms > LISTEN_HANDSHAKE_MS) {
                hs_late++;
                rk_peer_listen_close_locked(c);
            } else if (c->frame_started_ms && now - c->frame_started_ms > LISTEN_FRAME_MS) {
                frame_late++;
                rk_peer_listen_close_locked(c);
            } else if (c->rx_state == RX_BUDGET) {
                if (peer_listen_rx_reserve_locked(c) != 0)
                    rk_peer_listen_close_locked(c); /* no memory for the frame */
                else
                    peer_listen_rx_start_locked(c); /* nothing while it still waits for room */
            }
        }
        if (dead && c->closed && !c->rx_busy && !c->tx_busy) {
            dead[ndead++] = c;
            l->conns[i] = l->conns[--l->nconns];
            continue;
        }
        i++;
    }
    for (size_t i = 0; i < l->neps; i++)
        if (l->eps[i].retry) {
            l->eps[i].retry = false;
            nng_stream_listener_accept(l->eps[i].sl, l->eps[i].aio);
        }
    nng_mtx_unlock(g->mu);
    for (size_t i = 0; i < ndead; i++)
        peer_listen_conn_free(dead[i]);
    free(dead);
    for (size_t i = 0; i < hs_late; i++)
        rk_peerstat_reject(&g->stats, NULL, "handshake_timeout", "no completed handshake in time");
    for (size_t i = 0; i < frame_late; i++)
        rk_peerstat_reject(&g->stats, NULL, "frame_timeout", "a frame did not complete in time");
    nng_sleep_aio(LISTEN_TICK_MS, l->tick);
}

/* ---- announcements of newly stored records ------------------------------------------------------ */

size_t rk_peer_listen_queue_locked(rk_peer_listen *l, const uint8_t item[RK_ITEM_LEN], int visibility, const char *src)
{
    size_t dropped = 0;
    if (!l)
        return 0;
    for (size_t i = 0; i < l->nconns; i++) {
        rk_listen_conn *c = l->conns[i];
        if (c->closed)
            continue;
        if (src && c->st && strcmp(src, c->st->name) == 0)
            continue;
        if (visibility == RENKEI__VISIBILITY__VISIBILITY_NETWORK && !(c->phase == 2 && c->member))
            continue;
        if (rk_relay_queue_item(&c->q, &c->qn, &c->qcap, item) != 0)
            dropped++;
    }
    return dropped;
}

void rk_peer_listen_members_locked(rk_peer_listen *l, bool (*is_member)(void *ctx, const uint8_t key[32]), void *ctx)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nconns; i++) {
        rk_listen_conn *c = l->conns[i];
        if (c->closed || c->phase != 2)
            continue;
        c->member = is_member(ctx, c->peer_key);
        if (c->st)
            c->st->member = c->member;
    }
}

void rk_peer_listen_wake_locked(rk_peer_listen *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nconns; i++) {
        rk_listen_conn *c = l->conns[i];
        if (!c->closed && c->parked && c->qn > 0)
            peer_listen_unpark_locked(c);
    }
}

/* ---- start and stop ------------------------------------------------------------------------------ */

int rk_peer_listen_start(struct rk_gossip *g, rk_peer_listen **out, rk_error *err)
{
    const rk_config *cfg = g->node->cfg;
    rk_peer_listen *l = calloc(1, sizeof(*l));
    if (!l)
        return rk_fail(err, "no_memory", NULL, "out of memory");
    l->g = g;
    *out = l;
    if (!(l->eps = calloc(cfg->listen_count ? cfg->listen_count : 1, sizeof(*l->eps))))
        return rk_fail(err, "out_of_memory", NULL, "out of memory");
    rk_metrics_describe(g->metrics, "renkei_peer_connections", "gauge",
                        "Open connections to the peer listener, by state (authenticated or not).");
    rk_metrics_describe(
        g->metrics, "renkei_peer_bytes_total", "counter",
        "Peer protocol bytes sent and received (frames of both roles; the dialer counts message bodies).");
    rk_metrics_describe(g->metrics, "renkei_peer_input_bytes", "gauge",
                        "Bytes held for peer frames being received on the listener.");
    int rv;
    for (size_t i = 0; i < cfg->listen_count; i++) {
        const char *url = cfg->listen[i];
        peer_listen_ep *ep = &l->eps[l->neps];
        ep->l = l;
        if ((rv = nng_stream_listener_alloc(&ep->sl, url)) != 0)
            return rk_fail(err, "gossip", "gossip.listen", "bad listen url %s: %s", url, nng_strerror(rv));
        l->neps++;
        if (rk_tls_url(url)) {
            if (!l->tls && rk_tls_config(cfg, true, &l->tls, err) != 0)
                return -1;
            if ((rv = nng_stream_listener_set_ptr(ep->sl, NNG_OPT_TLS_CONFIG, l->tls)) != 0)
                return rk_fail(err, "tls", "gossip.listen", "cannot use TLS on %s: %s", url, nng_strerror(rv));
        } else {
            nng_stream_listener_set_bool(ep->sl, NNG_OPT_TCP_NODELAY, true);
        }
        if ((rv = nng_stream_listener_listen(ep->sl)) != 0)
            return rk_fail(err, "gossip", "gossip.listen", "cannot listen on %s: %s", url, nng_strerror(rv));
        if ((rv = nng_aio_alloc(&ep->aio, peer_listen_accept_cb, ep)) != 0)
            return rk_fail(err, "gossip", NULL, "cannot accept on %s: %s", url, nng_strerror(rv));
        rk_info("gossip", "listening on %s", url);
    }
    if ((rv = nng_aio_alloc(&l->tick, peer_listen_tick_cb, l)) != 0)
        return rk_fail(err, "gossip", NULL, "cannot start the listener's timer: %s", nng_strerror(rv));
    nng_mtx_lock(g->mu);
    for (size_t i = 0; i < l->neps; i++)
        nng_stream_listener_accept(l->eps[i].sl, l->eps[i].aio);
    rk_peer_listen_gauges_locked(l);
    nng_mtx_unlock(g->mu);
    nng_sleep_aio(LISTEN_TICK_MS, l->tick);
    return 0;
}

void rk_peer_listen_stop(rk_peer_listen *l)
{
    if (!l)
        return;
    /* g->stopping is set: no callback starts anything new from here on. */
    if (l->tick) {
        nng_aio_stop(l->tick);
        nng_aio_free(l->tick);
    }
    for (size_t i = 0; i < l->neps; i++) {
        nng_stream_listener_close(l->eps[i].sl);
        if (l->eps[i].aio) {
            nng_aio_stop(l->eps[i].aio);
            nng_aio_free(l->eps[i].aio);
        }
        nng_stream_listener_free(l->eps[i].sl);
    }
    free(l->eps);
    for (size_t i = 0; i < l->nconns; i++)
        nng_stream_close(l->conns[i]->s);
    for (size_t i = 0; i < l->nconns; i++) {
        nng_aio_stop(l->conns[i]->rxa);
        nng_aio_stop(l->conns[i]->txa);
    }
    for (size_t i = 0; i < l->nconns; i++)
        peer_listen_conn_free(l->conns[i]);
    free(l->conns);
    if (l->tls)
        nng_tls_config_free(l->tls);
    free(l);
}
