/* gossip: the peer transport over NNG (docs/protocol.md).
 *
 * One REP socket listens on every [gossip] listen URL; a pool of nng_ctx contexts answers requests
 * concurrently, and a context that receives a Poll is parked until there is something to announce to
 * that connection or its wait runs out (spare contexts are opened so parked polls never starve other
 * requests). Authentication is per pipe: Hello/HelloReply/Auth proves both node keys; a dialer whose
 * key is not in the roster may finish the handshake but stays on the public set (and its pushed
 * records still face the full ingest checks, so it cannot inject anything a member did not sign).
 *
 * Each [peer] with a url gets its own REQ socket and two threads: a control thread (handshake,
 * reconciliation on connect and every sync_interval_s, announcements of our new records) and a poll
 * thread that keeps one Poll outstanding so pushes reach a dialer behind NAT. Blocking calls on their
 * own contexts keep these sequences simple; NNG callbacks never block.
 *
 * Invariants: `local` records are never sent (every envelope's visibility is read before it leaves);
 * `network` records go only to pipes authenticated as roster members; every rejected input is counted
 * in renkei_peer_rejections_total{reason,peer} and a pipe that keeps sending garbage is closed.
 * Shared state (connections, queues, per-peer statistics) is guarded by one mutex, never held across
 * an NNG send or a store read.
 *
 * Shutdown: rk_gossip_stop (on the loop thread) closes sockets and joins threads, but the daemon
 * stops its writer afterwards, and the writer then still runs our commit listener and completion
 * callbacks. So a small shell of the gossip object (mutex, statistics, `stopping`) outlives the stop:
 * completion callbacks hold references on it, and the owner's reference is dropped from a libuv close
 * callback, which runs on a later loop iteration, after rk_writer_stop has delivered everything.
 */
#include "gossip.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "node.h"
#include "renkei.pb-c.h"
#include "sync.h"
#include "writer.h"

#define PROTO_VERSION 1
#define NONCE_LEN 32
#define MAX_MSG (8u << 20)             /* protocol limit on one message */
#define TRANSPORT_MAX (2 * MAX_MSG)     /* NNG drops bigger frames; between the two we count too_large */
#define REPLY_BUDGET (MAX_MSG - (64u << 10))
#define PUSH_BUDGET (4u << 20)
#define MAX_RECORDS 1000
#define MAX_HASHES 10000
#define MAX_ITEMS 10000
#define FETCH_BATCH 500
#define MAX_BAD 10                      /* bad messages before a pipe is closed */
#define QUEUE_MAX 100000                /* announced items queued per connection */
#define SPARE_CTX 4                     /* contexts kept receiving while others are parked */
#define MAX_CTX 512
#define POLL_WAIT_MS 20000
#define POLL_MAX_MS 60000
#define CALL_TIMEOUT_MS 30000
/* Records from peers are fetched or accepted only while the writer has fewer than this many items
 * outstanding (about 5 KiB each, envelope and decoded record), so catching up on a million records
 * holds about 10 MiB of them, not a copy of them all. Two of the writer's largest batches: enough to
 * keep the verifiers and the writer busy (docs/benchmarks.md compares 1,024, 2,048 and 4,096). */
#define WRITER_BACKLOG_MAX 2048
#define MAX_SYNC_ROUNDS 400
/* Differences one reconciliation keeps (32-byte hashes to fetch, 40-byte items to push): 8 MiB and
 * 10 MiB. A node catching up on more fetches these, then reconciles again at once for the rest. */
#define SYNC_NEED_MAX 262144
#define SYNC_HAVE_MAX 262144
/* Before that next pass, how long to wait for the writer to commit what was fetched: a record still
 * on its way to the store would be found missing and fetched again. */
#define SYNC_DRAIN_WAIT_MS 10000
#define INFLIGHT_SLOTS 4096
#define INFLIGHT_MS 5000
#define MAX_REASONS 24

enum { PS_CONNECTING, PS_HANDSHAKE, PS_CONNECTED, PS_FAILED, PS_DISCONNECTED };
static const char *const state_names[] = {"connecting", "handshake", "connected", "failed", "disconnected"};

/* One peer as /v1/peers shows it: a configured dialed peer, or whoever authenticated on our listener. */
typedef struct peerstat {
    struct rk_gossip *g;
    char name[80];
    uint8_t key[RK_KEY_LEN];
    bool has_key, member, dialed;
    char *url;
    int state;                 /* dialed peers */
    unsigned inbound;          /* authenticated pipes from it */
    uint64_t last_sync_ms;
    char last_sync_result[64];
    uint64_t sent, received;
    struct {
        char reason[40];
        uint64_t n;
    } rej[MAX_REASONS];
    size_t nrej;
    uint64_t last_log_ms;
    uint64_t suppressed;
} peerstat;

typedef struct lctx lctx;

/* One pipe on our listener. */
typedef struct conn {
    uint32_t pipe;
    int phase;                 /* 0 new, 1 Hello answered, 2 authenticated */
    uint8_t peer_key[RK_KEY_LEN], peer_nonce[NONCE_LEN], our_nonce[NONCE_LEN];
    bool member;
    peerstat *st;              /* set once authenticated */
    unsigned bad;
    uint8_t *q;                /* queued announcement items */
    size_t qn, qcap;
    lctx *parked;
} conn;

enum { LC_RECV, LC_SEND, LC_PARKED, LC_DEAD };

struct lctx {
    struct rk_gossip *g;
    nng_ctx ctx;
    nng_aio *aio;
    int state;
    uint32_t pipe;
    uint64_t deadline_ms;
};

/* A configured peer we dial. */
typedef struct dpeer {
    struct rk_gossip *g;
    peerstat *st;
    nng_socket sock;
    bool sock_open;
    nng_cv *cv;                /* on g->mu */
    nng_thread *ctl, *poller;
    bool authed;
    uint32_t auth_pipe;
    bool sync_now;
    int set;                   /* RK_SET_MEMBERS until the listener says we are not a member */
    uint8_t *q;                /* items to announce */
    size_t qn, qcap;
    nng_tls_config *tls;
} dpeer;

struct rk_gossip {
    rk_node *node;
    rk_metrics *metrics;
    nng_mtx *mu;
    atomic_int refs;
    uv_prepare_t closer;       /* never started: its close callback drops the owner's reference */
    bool stopping;
    peerstat **stats;
    size_t nstats, capstats;
    peerstat *anon;            /* rejections before any handshake */
    /* listener */
    nng_socket rep;
    bool rep_open;
    nng_tls_config *tls_server;
    conn **conns;
    size_t nconns, capconns;
    lctx **ctxs;
    size_t nctx, capctx, nrecv;
    nng_aio *tick;
    /* dialers */
    dpeer **dps;
    size_t ndps;
    /* hashes being fetched, so several peers announcing the same record cause one fetch */
    struct {
        uint8_t hash[RK_HASH_LEN];
        uint64_t until;
    } inflight[INFLIGHT_SLOTS];
};

/* ---- small helpers ------------------------------------------------------------------------------ */

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    if (q)
        *cap = n;
    return q;
}

static int append_bytes(uint8_t **buf, size_t *n, size_t *cap, const uint8_t *data, size_t len, size_t unit)
{
    uint8_t *p = grow(*buf, cap, (*n + len / unit), unit);
    if (!p)
        return -1;
    *buf = p;
    memcpy(p + *n * unit, data, len);
    *n += len / unit;
    return 0;
}

static void gossip_unref(struct rk_gossip *g)
{
    if (atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    for (size_t i = 0; i < g->nstats; i++) {
        free(g->stats[i]->url);
        free(g->stats[i]);
    }
    free(g->stats);
    if (g->mu)
        nng_mtx_free(g->mu);
    free(g);
}

/* Visibility of a stored SignedRecord, read straight from the wire format (field 1 of the envelope
 * is the record, field 5 of the record its visibility), so serving a fetch needs no full decode.
 * Returns 0 (unspecified) when it cannot tell: such a record is never sent. */
static int wire_field(const uint8_t *p, size_t len, unsigned want, uint64_t *val, const uint8_t **sub, size_t *sublen)
{
    size_t i = 0;
    while (i < len) {
        uint64_t key = 0;
        int shift = 0;
        for (;;) {
            if (i >= len || shift > 63)
                return -1;
            uint8_t b = p[i++];
            key |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80))
                break;
        }
        unsigned field = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
        uint64_t v = 0;
        if (wt == 0) {
            shift = 0;
            for (;;) {
                if (i >= len || shift > 63)
                    return -1;
                uint8_t b = p[i++];
                v |= (uint64_t)(b & 0x7f) << shift;
                shift += 7;
                if (!(b & 0x80))
                    break;
            }
            if (field == want) {
                *val = v;
                return 1;
            }
        } else if (wt == 1 || wt == 5) {
            size_t w = wt == 1 ? 8 : 4;
            if (len - i < w)
                return -1;
            i += w;
        } else if (wt == 2) {
            shift = 0;
            for (;;) {
                if (i >= len || shift > 63)
                    return -1;
                uint8_t b = p[i++];
                v |= (uint64_t)(b & 0x7f) << shift;
                shift += 7;
                if (!(b & 0x80))
                    break;
            }
            if (v > len - i)
                return -1;
            if (field == want && sub) {
                *sub = p + i;
                *sublen = (size_t)v;
                return 1;
            }
            i += (size_t)v;
        } else {
            return -1;
        }
    }
    return 0;
}

static int envelope_visibility(const uint8_t *env, size_t len)
{
    const uint8_t *rec = NULL;
    size_t rlen = 0;
    uint64_t v = 0;
    if (wire_field(env, len, 1, &v, &rec, &rlen) != 1)
        return 0;
    if (wire_field(rec, rlen, 5, &v, NULL, NULL) != 1)
        return 0;
    return v > 3 ? 0 : (int)v;
}

/* May this envelope go to a peer with these rights? */
static bool may_send(const uint8_t *env, size_t len, bool member)
{
    int vis = envelope_visibility(env, len);
    if (vis == RENKEI__VISIBILITY__VISIBILITY_PUBLIC)
        return true;
    return vis == RENKEI__VISIBILITY__VISIBILITY_NETWORK && member;
}

/* ---- statistics, rejections and logs ------------------------------------------------------------ */

static peerstat *stat_find_locked(struct rk_gossip *g, const char *name)
{
    for (size_t i = 0; i < g->nstats; i++)
        if (strcmp(g->stats[i]->name, name) == 0)
            return g->stats[i];
    return NULL;
}

static peerstat *stat_get_locked(struct rk_gossip *g, const char *name)
{
    peerstat *s = stat_find_locked(g, name);
    if (s)
        return s;
    peerstat **arr = grow(g->stats, &g->capstats, g->nstats + 1, sizeof(*arr));
    if (!arr)
        return NULL;
    g->stats = arr;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->g = g;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->state = PS_DISCONNECTED;
    g->stats[g->nstats++] = s;
    return s;
}

/* Counts one rejection and logs it, at most once a second per peer (with the number suppressed). */
static void reject(struct rk_gossip *g, peerstat *st, const char *reason, const char *detail)
{
    if (!st)
        st = g->anon;
    bool log = false;
    uint64_t suppressed = 0;
    uint64_t now = rk_monotonic_ns() / 1000000;
    nng_mtx_lock(g->mu);
    size_t i;
    for (i = 0; i < st->nrej; i++)
        if (strcmp(st->rej[i].reason, reason) == 0)
            break;
    if (i == st->nrej && st->nrej < MAX_REASONS)
        snprintf(st->rej[st->nrej++].reason, sizeof(st->rej[0].reason), "%s", reason);
    if (i < st->nrej)
        st->rej[i].n++;
    if (now - st->last_log_ms >= 1000 || st->last_log_ms == 0) {
        log = true;
        suppressed = st->suppressed;
        st->suppressed = 0;
        st->last_log_ms = now;
    } else {
        st->suppressed++;
    }
    nng_mtx_unlock(g->mu);
    rk_metrics_add2(g->metrics, "renkei_peer_rejections_total", "reason", reason, "peer", st->name, 1);
    if (log)
        rk_warn("gossip", "rejected from peer=%s reason=%s detail=\"%s\" suppressed=%llu", st->name, reason,
                detail ? detail : "", (unsigned long long)suppressed);
}

static void count_io(struct rk_gossip *g, peerstat *st, uint64_t sent, uint64_t received)
{
    nng_mtx_lock(g->mu);
    st->sent += sent;
    st->received += received;
    nng_mtx_unlock(g->mu);
    if (sent)
        rk_metrics_add(g->metrics, "renkei_peer_records_sent_total", "peer", st->name, sent);
    if (received)
        rk_metrics_add(g->metrics, "renkei_peer_records_received_total", "peer", st->name, received);
}

/* ---- in-flight fetches -------------------------------------------------------------------------- */

static size_t inflight_slot(const uint8_t *hash) { return ((size_t)hash[0] | (size_t)hash[1] << 8) % INFLIGHT_SLOTS; }

/* True if the caller should fetch hash (nobody else is fetching it right now). Lock held. */
static bool inflight_claim_locked(struct rk_gossip *g, const uint8_t *hash, uint64_t now)
{
    size_t s = inflight_slot(hash);
    if (g->inflight[s].until > now && memcmp(g->inflight[s].hash, hash, RK_HASH_LEN) == 0)
        return false;
    memcpy(g->inflight[s].hash, hash, RK_HASH_LEN);
    g->inflight[s].until = now + INFLIGHT_MS;
    return true;
}

static void inflight_release_locked(struct rk_gossip *g, const uint8_t *hash)
{
    size_t s = inflight_slot(hash);
    if (memcmp(g->inflight[s].hash, hash, RK_HASH_LEN) == 0)
        g->inflight[s].until = 0;
}

/* From a list of items or hashes (stride 40 or 32, hash at offset stride-32), the hashes we neither
 * store nor are already fetching. */
static int wanted_hashes(struct rk_gossip *g, const uint8_t *list, size_t n, size_t stride, rk_buf *out)
{
    rk_error err;
    rk_txn *t = NULL;
    if (rk_txn_begin(g->node->store, false, &t, &err) != 0)
        return -1;
    uint64_t now = rk_monotonic_ns() / 1000000;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const uint8_t *h = list + i * stride + (stride - RK_HASH_LEN);
        const uint8_t *env;
        size_t len;
        int r = rk_store_get_envelope(t, h, &env, &len, &err);
        if (r < 0)
            rc = -1;
        else if (r == 0) {
            nng_mtx_lock(g->mu);
            bool claim = inflight_claim_locked(g, h, now);
            nng_mtx_unlock(g->mu);
            if (claim && rk_buf_append(out, h, RK_HASH_LEN) != 0)
                rc = -1;
        }
    }
    rk_txn_abort(t);
    return rc;
}

/* ---- handing received records to the writer ------------------------------------------------------ */

static void submit_done(void *ctx, const rk_ingest_result *res, const rk_record *rec, const rk_error *err)
{
    peerstat *st = ctx;
    struct rk_gossip *g = st->g;
    (void)rec;
    nng_mtx_lock(g->mu);
    inflight_release_locked(g, res->hash);
    nng_mtx_unlock(g->mu);
    if (res->status == RK_INGEST_REJECTED)
        reject(g, st, err && err->code[0] ? err->code : "rejected", err ? err->message : NULL);
    else if (res->status == RK_INGEST_FAILED)
        rk_error_log("gossip", "store failed on a record from peer=%s: %s", st->name, err ? err->message : "");
    gossip_unref(g);
}

/* Hands records to the writer; returns how many were submitted. */
static uint32_t submit_records(struct rk_gossip *g, peerstat *st, ProtobufCBinaryData *recs, size_t n)
{
    uint32_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].len == 0 || recs[i].len > g->node->limits.max_record_bytes + 128) {
            reject(g, st, "too_large", "record over the size limit");
            continue;
        }
        uint8_t *env = malloc(recs[i].len);
        if (!env)
            break;
        memcpy(env, recs[i].data, recs[i].len);
        atomic_fetch_add(&g->refs, 1);
        if (rk_writer_submit(g->node->writer, env, recs[i].len, st->name, submit_done, st) != 0) {
            atomic_fetch_sub(&g->refs, 1);
            break;
        }
        ok++;
    }
    count_io(g, st, 0, n);
    return ok;
}

/* ---- message encoding -------------------------------------------------------------------------- */

static nng_msg *pack_reply(const Renkei__PeerReply *r)
{
    size_t n = renkei__peer_reply__get_packed_size(r);
    nng_msg *m;
    if (nng_msg_alloc(&m, n) != 0)
        return NULL;
    renkei__peer_reply__pack(r, nng_msg_body(m));
    return m;
}

static nng_msg *error_reply(const char *code, const char *message)
{
    Renkei__PeerError e = RENKEI__PEER_ERROR__INIT;
    e.code = (char *)code;
    e.message = (char *)message;
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_ERROR;
    r.error = &e;
    return pack_reply(&r);
}

static nng_msg *ack_reply(uint32_t accepted, uint32_t rejected)
{
    Renkei__Ack a = RENKEI__ACK__INIT;
    a.accepted = accepted;
    a.rejected = rejected;
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_ACK;
    r.ack = &a;
    return pack_reply(&r);
}

static nng_msg *announce_reply(const uint8_t *items, size_t n)
{
    Renkei__Announce a = RENKEI__ANNOUNCE__INIT;
    a.items.data = (uint8_t *)items;
    a.items.len = n * RK_ITEM_LEN;
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_ANNOUNCE;
    r.announce = &a;
    return pack_reply(&r);
}

/* Reads up to `budget` bytes of envelopes for hashes (stride apart, hash at offset stride-32) that
 * may go to a peer with `member` rights, packing them with pack(). Skips unknown and forbidden ones.
 * *used is how many list entries were consumed. */
typedef struct envset {
    rk_txn *t;
    ProtobufCBinaryData *recs;
    size_t n, cap;
} envset;

static int collect_envelopes(struct rk_gossip *g, envset *es, const uint8_t *list, size_t n, size_t stride,
                             bool member, size_t max_records, size_t budget, size_t *used, size_t *forbidden)
{
    rk_error err;
    size_t bytes = 0;
    *used = 0;
    if (rk_txn_begin(g->node->store, false, &es->t, &err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *h = list + i * stride + (stride - RK_HASH_LEN);
        const uint8_t *env;
        size_t len;
        int r = rk_store_get_envelope(es->t, h, &env, &len, &err);
        if (r < 0)
            return -1;
        if (r == 1 && !may_send(env, len, member)) {
            if (forbidden)
                (*forbidden)++;
            r = 0;
        }
        if (r == 1) {
            if (es->n >= max_records || (es->n > 0 && bytes + len + 16 > budget))
                break;
            ProtobufCBinaryData *p = grow(es->recs, &es->cap, es->n + 1, sizeof(*p));
            if (!p)
                return -1;
            es->recs = p;
            es->recs[es->n].data = (uint8_t *)env;
            es->recs[es->n].len = len;
            es->n++;
            bytes += len + 16;
        }
        *used = i + 1;
    }
    return 0;
}

static void envset_free(envset *es)
{
    if (es->t)
        rk_txn_abort(es->t);
    free(es->recs);
    memset(es, 0, sizeof(*es));
}

/* ---- listener: one request ----------------------------------------------------------------------- */

static conn *conn_find_locked(struct rk_gossip *g, uint32_t pipe)
{
    for (size_t i = 0; i < g->nconns; i++)
        if (g->conns[i]->pipe == pipe)
            return g->conns[i];
    return NULL;
}

/* NNG may deliver a pipe's first request before its ADD_POST notification has run, so both paths
 * create the connection's state on demand. NULL only when memory ran out. */
static conn *conn_get_locked(struct rk_gossip *g, uint32_t pipe)
{
    conn *c = conn_find_locked(g, pipe);
    if (c)
        return c;
    conn **arr = grow(g->conns, &g->capconns, g->nconns + 1, sizeof(*arr));
    if (!arr)
        return NULL;
    g->conns = arr;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->pipe = pipe;
    g->conns[g->nconns++] = c;
    return c;
}

/* A protocol violation by a pipe: counted, answered with PeerError, and after MAX_BAD the pipe goes. */
static nng_msg *bad_request(struct rk_gossip *g, uint32_t pipe, const char *reason, const char *detail)
{
    peerstat *st = NULL;
    bool close = false;
    nng_mtx_lock(g->mu);
    conn *c = conn_find_locked(g, pipe);
    if (c) {
        st = c->st;
        close = ++c->bad >= MAX_BAD;
    }
    nng_mtx_unlock(g->mu);
    reject(g, st, reason, detail);
    if (close) {
        nng_pipe p = NNG_PIPE_INITIALIZER;
        p.id = pipe;
        rk_warn("gossip", "closing connection from peer=%s after %d bad messages", st ? st->name : "unauthenticated",
                MAX_BAD);
        nng_pipe_close(p);
        return NULL;
    }
    return error_reply(reason, detail);
}

static nng_msg *on_hello(struct rk_gossip *g, uint32_t pipe, const Renkei__Hello *h)
{
    if (h->node_key.len != RK_KEY_LEN || h->nonce.len != NONCE_LEN)
        return bad_request(g, pipe, "bad_field", "Hello needs a 32-byte key and a 32-byte nonce");
    if (h->protocol_version != PROTO_VERSION)
        return bad_request(g, pipe, "bad_version", "unsupported protocol version");
    if (memcmp(h->node_key.data, g->node->pub, RK_KEY_LEN) == 0)
        return bad_request(g, pipe, "self", "a node cannot peer with itself");
    uint8_t nonce[NONCE_LEN];
    if (rk_random(nonce, sizeof(nonce)) != 0)
        return error_reply("internal", "no randomness");
    uint8_t buf[8 + NONCE_LEN + 2 * RK_KEY_LEN], sig[RK_SIG_LEN];
    memcpy(buf, "listener", 8);
    memcpy(buf + 8, h->nonce.data, NONCE_LEN);
    memcpy(buf + 8 + NONCE_LEN, h->node_key.data, RK_KEY_LEN);
    memcpy(buf + 8 + NONCE_LEN + RK_KEY_LEN, g->node->pub, RK_KEY_LEN);
    if (rk_sign(g->node->key, RK_SIGN_DOMAIN_PEER, buf, sizeof(buf), sig) != 0)
        return error_reply("internal", "signing failed");
    nng_mtx_lock(g->mu);
    conn *c = conn_get_locked(g, pipe);
    if (c) {
        if (c->phase == 2 && c->st && c->st->inbound)
            c->st->inbound--;
        c->phase = 1;
        c->st = NULL;
        c->member = false;
        memcpy(c->peer_key, h->node_key.data, RK_KEY_LEN);
        memcpy(c->peer_nonce, h->nonce.data, NONCE_LEN);
        memcpy(c->our_nonce, nonce, NONCE_LEN);
    }
    nng_mtx_unlock(g->mu);
    if (!c)
        return error_reply("internal", "out of memory");
    Renkei__HelloReply hr = RENKEI__HELLO_REPLY__INIT;
    hr.node_key.data = g->node->pub;
    hr.node_key.len = RK_KEY_LEN;
    hr.nonce.data = nonce;
    hr.nonce.len = NONCE_LEN;
    hr.signature.data = sig;
    hr.signature.len = RK_SIG_LEN;
    hr.protocol_version = PROTO_VERSION;
    hr.name = g->node->cfg->name ? g->node->cfg->name : "";
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_HELLO;
    r.hello = &hr;
    return pack_reply(&r);
}

static nng_msg *on_auth(struct rk_gossip *g, uint32_t pipe, const Renkei__Auth *a)
{
    if (a->signature.len != RK_SIG_LEN)
        return bad_request(g, pipe, "bad_field", "Auth needs a 64-byte signature");
    uint8_t buf[6 + NONCE_LEN + 2 * RK_KEY_LEN], key[RK_KEY_LEN];
    nng_mtx_lock(g->mu);
    conn *c = conn_find_locked(g, pipe);
    int phase = c ? c->phase : -1;
    if (c) {
        memcpy(key, c->peer_key, RK_KEY_LEN);
        memcpy(buf + 6, c->our_nonce, NONCE_LEN);
    }
    nng_mtx_unlock(g->mu);
    if (phase != 1)
        return bad_request(g, pipe, "unexpected", "Auth before Hello");
    memcpy(buf, "dialer", 6);
    memcpy(buf + 6 + NONCE_LEN, g->node->pub, RK_KEY_LEN);
    memcpy(buf + 6 + NONCE_LEN + RK_KEY_LEN, key, RK_KEY_LEN);
    if (!rk_verify(key, RK_SIGN_DOMAIN_PEER, buf, sizeof(buf), a->signature.data))
        return bad_request(g, pipe, "bad_signature", "handshake signature does not verify");
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
    c = conn_find_locked(g, pipe);
    peerstat *st = c ? stat_get_locked(g, name) : NULL;
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
        return error_reply("internal", "out of memory");
    rk_info("gossip", "peer=%s authenticated on our listener member=%s", name, m && !m->is_self ? "yes" : "no");
    return ack_reply(1, 0);
}

/* Rights of a pipe: *authed (handshake done), *member (may read network records). */
static peerstat *conn_rights(struct rk_gossip *g, uint32_t pipe, bool *authed, bool *member)
{
    nng_mtx_lock(g->mu);
    conn *c = conn_find_locked(g, pipe);
    *authed = c && c->phase == 2;
    *member = c && c->phase == 2 && c->member;
    peerstat *st = c ? c->st : NULL;
    nng_mtx_unlock(g->mu);
    return st;
}

static nng_msg *on_announce(struct rk_gossip *g, uint32_t pipe, const Renkei__Announce *a)
{
    bool authed, member;
    conn_rights(g, pipe, &authed, &member);
    if (!authed)
        return bad_request(g, pipe, "unauthenticated", "Announce needs a completed handshake");
    if (a->items.len % RK_ITEM_LEN != 0)
        return bad_request(g, pipe, "bad_field", "items must be a multiple of 40 bytes");
    size_t n = a->items.len / RK_ITEM_LEN;
    if (n > MAX_ITEMS)
        return bad_request(g, pipe, "too_many", "too many items in Announce");
    rk_buf want;
    rk_buf_init(&want);
    if (wanted_hashes(g, a->items.data, n, RK_ITEM_LEN, &want) != 0) {
        rk_buf_free(&want);
        return error_reply("internal", "store read failed");
    }
    nng_msg *m;
    if (want.len == 0) {
        m = ack_reply(0, 0);
    } else {
        Renkei__Fetch f = RENKEI__FETCH__INIT;
        f.hashes.data = (uint8_t *)want.data;
        f.hashes.len = want.len;
        Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
        r.msg_case = RENKEI__PEER_REPLY__MSG_FETCH;
        r.fetch = &f;
        m = pack_reply(&r);
    }
    rk_buf_free(&want);
    return m;
}

static nng_msg *on_fetch(struct rk_gossip *g, uint32_t pipe, const Renkei__Fetch *f)
{
    bool authed, member;
    peerstat *st = conn_rights(g, pipe, &authed, &member);
    if (f->hashes.len % RK_HASH_LEN != 0)
        return bad_request(g, pipe, "bad_field", "hashes must be a multiple of 32 bytes");
    size_t n = f->hashes.len / RK_HASH_LEN;
    if (n > MAX_HASHES)
        return bad_request(g, pipe, "too_many", "too many hashes in Fetch");
    envset es = {0};
    size_t used, forbidden = 0;
    nng_msg *m;
    if (collect_envelopes(g, &es, f->hashes.data, n, RK_HASH_LEN, member, MAX_RECORDS, REPLY_BUDGET, &used,
                          &forbidden) != 0) {
        m = error_reply("internal", "store read failed");
    } else {
        Renkei__Records rs = RENKEI__RECORDS__INIT;
        rs.n_records = es.n;
        rs.records = es.recs;
        Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
        r.msg_case = RENKEI__PEER_REPLY__MSG_RECORDS;
        r.records = &rs;
        m = pack_reply(&r);
        if (st)
            count_io(g, st, es.n, 0);
    }
    envset_free(&es);
    if (forbidden)
        rk_debug("gossip", "fetch: withheld %zu records the peer may not read", forbidden);
    return m;
}

static nng_msg *on_push(struct rk_gossip *g, uint32_t pipe, const Renkei__Records *rs)
{
    bool authed, member;
    peerstat *st = conn_rights(g, pipe, &authed, &member);
    if (!authed || !st)
        return bad_request(g, pipe, "unauthenticated", "Records push needs a completed handshake");
    if (rs->n_records > MAX_RECORDS)
        return bad_request(g, pipe, "too_many", "too many records in one push");
    /* An NNG callback must not block: a pusher is told to come back, and reconciliation resends. */
    if (rk_writer_outstanding(g->node->writer) >= WRITER_BACKLOG_MAX)
        return error_reply("busy", "the node is catching up; try again later");
    uint32_t ok = submit_records(g, st, rs->records, rs->n_records);
    return ack_reply(ok, (uint32_t)rs->n_records - ok);
}

static nng_msg *on_reconcile(struct rk_gossip *g, uint32_t pipe, const Renkei__Reconcile *msg)
{
    bool authed, member;
    conn_rights(g, pipe, &authed, &member);
    if (msg->set == RK_SET_MEMBERS && !member)
        return bad_request(g, pipe, "forbidden", "the members' set needs an authenticated member");
    rk_error err;
    if (rk_sync_validate(msg, &err) != 0)
        return bad_request(g, pipe, err.code, err.message);
    rk_txn *t;
    if (rk_txn_begin(g->node->store, false, &t, &err) != 0)
        return error_reply("internal", "store read failed");
    rk_set_source src;
    rk_set_source_from_store(&src, t, (int)msg->set);
    Renkei__Reconcile *reply = NULL;
    nng_msg *m;
    if (rk_sync_process(&src, false, msg, &reply, NULL, &err) != 0) {
        rk_txn_abort(t);
        return bad_request(g, pipe, err.code, err.message);
    }
    rk_txn_abort(t);
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_RECONCILE;
    r.reconcile = reply;
    m = pack_reply(&r);
    rk_sync_free_message(reply);
    return m;
}

/* ---- listener: contexts ------------------------------------------------------------------------- */

static void lctx_cb(void *arg);

static lctx *lctx_open_locked(struct rk_gossip *g)
{
    if (g->nctx >= MAX_CTX)
        return NULL;
    lctx **arr = grow(g->ctxs, &g->capctx, g->nctx + 1, sizeof(*arr));
    if (!arr)
        return NULL;
    g->ctxs = arr;
    lctx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->g = g;
    if (nng_ctx_open(&c->ctx, g->rep) != 0) {
        free(c);
        return NULL;
    }
    if (nng_aio_alloc(&c->aio, lctx_cb, c) != 0) {
        nng_ctx_close(c->ctx);
        free(c);
        return NULL;
    }
    c->state = LC_RECV;
    g->ctxs[g->nctx++] = c;
    g->nrecv++;
    return c;
}

/* Takes up to MAX_ITEMS queued items of a connection as an Announce reply. Lock held. */
static nng_msg *drain_queue_locked(conn *c)
{
    size_t n = c && c->qn < MAX_ITEMS ? c->qn : (c ? MAX_ITEMS : 0);
    nng_msg *m = announce_reply(c ? c->q : NULL, n);
    if (m && c && n) {
        memmove(c->q, c->q + n * RK_ITEM_LEN, (c->qn - n) * RK_ITEM_LEN);
        c->qn -= n;
    }
    return m;
}

/* Answers a parked Poll (lock held); the caller sends the returned context's message after unlocking. */
static lctx *unpark_locked(struct rk_gossip *g, lctx *lc)
{
    conn *c = conn_find_locked(g, lc->pipe);
    if (c && c->parked == lc)
        c->parked = NULL;
    nng_msg *m = drain_queue_locked(c);
    if (!m) {
        /* No memory for an answer: the dialer's request times out and it polls again. */
        lc->state = LC_RECV;
        g->nrecv++;
        nng_ctx_recv(lc->ctx, lc->aio);
        return NULL;
    }
    nng_aio_set_msg(lc->aio, m);
    lc->state = LC_SEND;
    return lc;
}

static void send_unparked(lctx **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nng_ctx_send(list[i]->ctx, list[i]->aio);
}

static void lctx_cb(void *arg)
{
    lctx *lc = arg;
    struct rk_gossip *g = lc->g;
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
        g->nrecv++;
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
    if (nng_msg_len(req) > MAX_MSG) {
        reply = bad_request(g, pipe, "too_large", "message over 8 MiB");
    } else {
        Renkei__PeerRequest *pr = renkei__peer_request__unpack(NULL, nng_msg_len(req), nng_msg_body(req));
        if (!pr) {
            reply = bad_request(g, pipe, "malformed", "undecodable PeerRequest");
        } else {
            switch (pr->msg_case) {
            case RENKEI__PEER_REQUEST__MSG_HELLO: reply = on_hello(g, pipe, pr->hello); break;
            case RENKEI__PEER_REQUEST__MSG_AUTH: reply = on_auth(g, pipe, pr->auth); break;
            case RENKEI__PEER_REQUEST__MSG_ANNOUNCE: reply = on_announce(g, pipe, pr->announce); break;
            case RENKEI__PEER_REQUEST__MSG_FETCH: reply = on_fetch(g, pipe, pr->fetch); break;
            case RENKEI__PEER_REQUEST__MSG_PUSH: reply = on_push(g, pipe, pr->push); break;
            case RENKEI__PEER_REQUEST__MSG_RECONCILE: reply = on_reconcile(g, pipe, pr->reconcile); break;
            case RENKEI__PEER_REQUEST__MSG_POLL:
                park = true;
                wait_ms = pr->poll->wait_ms > POLL_MAX_MS ? POLL_MAX_MS : pr->poll->wait_ms;
                break;
            default: reply = bad_request(g, pipe, "malformed", "empty or unknown PeerRequest"); break;
            }
            renkei__peer_request__free_unpacked(pr, NULL);
        }
    }
    nng_msg_free(req);

    if (park) {
        lctx *ready[2];
        size_t nready = 0;
        nng_mtx_lock(g->mu);
        conn *c = conn_find_locked(g, pipe);
        lc->pipe = pipe;
        lc->deadline_ms = rk_monotonic_ns() / 1000000 + wait_ms;
        lc->state = LC_PARKED;
        g->nrecv--;
        if (c && c->parked) /* a newer Poll supersedes the old one */
            if ((ready[nready] = unpark_locked(g, c->parked)) != NULL)
                nready++;
        if (c)
            c->parked = lc;
        if (!c || c->qn > 0 || wait_ms == 0)
            if ((ready[nready] = unpark_locked(g, lc)) != NULL)
                nready++;
        /* Keep enough contexts receiving that parked polls never block other requests. */
        while (!g->stopping && g->nrecv < SPARE_CTX) {
            lctx *n = lctx_open_locked(g);
            if (!n)
                break;
            nng_ctx_recv(n->ctx, n->aio);
        }
        nng_mtx_unlock(g->mu);
        send_unparked(ready, nready);
        return;
    }
    if (!reply) {
        /* Closed pipe or no memory: nothing to answer; keep receiving. */
        nng_ctx_recv(lc->ctx, lc->aio);
        return;
    }
    nng_mtx_lock(g->mu);
    lc->state = LC_SEND;
    g->nrecv--;
    nng_mtx_unlock(g->mu);
    nng_aio_set_msg(lc->aio, reply);
    nng_ctx_send(lc->ctx, lc->aio);
}

/* Expires parked polls whose wait is over. */
static void tick_cb(void *arg)
{
    struct rk_gossip *g = arg;
    if (nng_aio_result(g->tick) != 0)
        return;
    uint64_t now = rk_monotonic_ns() / 1000000;
    lctx **ready = NULL;
    size_t nready = 0;
    nng_mtx_lock(g->mu);
    if (g->stopping) {
        nng_mtx_unlock(g->mu);
        return;
    }
    ready = calloc(g->nctx ? g->nctx : 1, sizeof(*ready));
    for (size_t i = 0; ready && i < g->nctx; i++) {
        lctx *lc = g->ctxs[i];
        if (lc->state == LC_PARKED && lc->deadline_ms <= now)
            if ((ready[nready] = unpark_locked(g, lc)) != NULL)
                nready++;
    }
    nng_mtx_unlock(g->mu);
    if (ready)
        send_unparked(ready, nready);
    free(ready);
    nng_sleep_aio(200, g->tick);
}

static void listen_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct rk_gossip *g = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    nng_mtx_lock(g->mu);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        conn *c = conn_get_locked(g, id);
        nng_mtx_unlock(g->mu);
        if (!c)
            nng_pipe_close(p);
        return;
    }
    if (ev == NNG_PIPE_EV_REM_POST) {
        for (size_t i = 0; i < g->nconns; i++) {
            conn *c = g->conns[i];
            if (c->pipe != id)
                continue;
            if (c->parked)
                c->parked->deadline_ms = 0; /* the ticker answers it into the void */
            if (c->phase == 2 && c->st && c->st->inbound)
                c->st->inbound--;
            free(c->q);
            free(c);
            g->conns[i] = g->conns[--g->nconns];
            break;
        }
    }
    nng_mtx_unlock(g->mu);
}

/* ---- commit listener: announce what was newly stored ---------------------------------------------- */

static int queue_item(uint8_t **q, size_t *qn, size_t *qcap, const uint8_t item[RK_ITEM_LEN])
{
    if (*qn >= QUEUE_MAX)
        return -1; /* dropped: reconciliation repairs it */
    return append_bytes(q, qn, qcap, item, RK_ITEM_LEN, RK_ITEM_LEN);
}

static void on_commit(void *ctx, const rk_record *const *recs, const char *const *sources, size_t n)
{
    struct rk_gossip *g = ctx;
    lctx **ready = NULL;
    size_t nready = 0, capready = 0;
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
        for (size_t d = 0; d < g->ndps; d++) {
            dpeer *dp = g->dps[d];
            if (src && strcmp(src, dp->st->name) == 0)
                continue;
            if (queue_item(&dp->q, &dp->qn, &dp->qcap, item) != 0) {
                dropped++;
                dp->sync_now = true;
            }
            nng_cv_wake(dp->cv);
        }
        for (size_t c = 0; c < g->nconns; c++) {
            conn *cn = g->conns[c];
            if (src && cn->st && strcmp(src, cn->st->name) == 0)
                continue;
            if (vis == RENKEI__VISIBILITY__VISIBILITY_NETWORK && !(cn->phase == 2 && cn->member))
                continue;
            if (queue_item(&cn->q, &cn->qn, &cn->qcap, item) != 0)
                dropped++;
        }
    }
    for (size_t c = 0; c < g->nconns; c++) {
        conn *cn = g->conns[c];
        if (!cn->parked || cn->qn == 0)
            continue;
        lctx **r = grow(ready, &capready, nready + 1, sizeof(*r));
        if (!r)
            break;
        ready = r;
        if ((ready[nready] = unpark_locked(g, cn->parked)) != NULL)
            nready++;
    }
    nng_mtx_unlock(g->mu);
    send_unparked(ready, nready);
    free(ready);
    if (dropped)
        rk_warn("gossip", "announcement queues full: dropped %zu items (reconciliation will repair)", dropped);
}

/* ---- dialer ------------------------------------------------------------------------------------- */

/* One request and its reply on ctx; blocks the calling (dialer) thread. */
static int dp_call(dpeer *dp, nng_ctx ctx, nng_aio *aio, const Renkei__PeerRequest *req, nng_duration timeout,
                   Renkei__PeerReply **out, uint32_t *pipe)
{
    *out = NULL;
    size_t n = renkei__peer_request__get_packed_size(req);
    nng_msg *m;
    if (nng_msg_alloc(&m, n) != 0)
        return NNG_ENOMEM;
    renkei__peer_request__pack(req, nng_msg_body(m));
    nng_aio_set_timeout(aio, timeout);
    nng_aio_set_msg(aio, m);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    int rv = nng_aio_result(aio);
    if (rv != 0) {
        nng_msg_free(m);
        return rv;
    }
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0)
        return rv;
    m = nng_aio_get_msg(aio);
    if (pipe)
        *pipe = (uint32_t)nng_pipe_id(nng_msg_get_pipe(m));
    if (nng_msg_len(m) > MAX_MSG) {
        nng_msg_free(m);
        reject(dp->g, dp->st, "too_large", "reply over 8 MiB");
        return NNG_EMSGSIZE;
    }
    *out = renkei__peer_reply__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
    nng_msg_free(m);
    if (!*out) {
        reject(dp->g, dp->st, "malformed", "undecodable PeerReply");
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

static bool dp_stopping(dpeer *dp)
{
    nng_mtx_lock(dp->g->mu);
    bool s = dp->g->stopping;
    nng_mtx_unlock(dp->g->mu);
    return s;
}

static void dp_set_state(dpeer *dp, int state)
{
    nng_mtx_lock(dp->g->mu);
    dp->st->state = state;
    nng_mtx_unlock(dp->g->mu);
}

static void dp_fail_pipe(uint32_t pipe)
{
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = pipe;
    nng_pipe_close(p);
}

/* Hello, HelloReply (check the key is the configured one and the signature holds), Auth, Ack. */
static int dp_handshake(dpeer *dp, nng_ctx ctx, nng_aio *aio)
{
    struct rk_gossip *g = dp->g;
    uint8_t nonce[NONCE_LEN];
    if (rk_random(nonce, sizeof(nonce)) != 0)
        return -1;
    Renkei__Hello h = RENKEI__HELLO__INIT;
    h.node_key.data = g->node->pub;
    h.node_key.len = RK_KEY_LEN;
    h.nonce.data = nonce;
    h.nonce.len = NONCE_LEN;
    h.protocol_version = PROTO_VERSION;
    h.name = g->node->cfg->name ? g->node->cfg->name : "";
    Renkei__PeerRequest req = RENKEI__PEER_REQUEST__INIT;
    req.msg_case = RENKEI__PEER_REQUEST__MSG_HELLO;
    req.hello = &h;
    Renkei__PeerReply *r = NULL;
    uint32_t pipe = 0, pipe2 = 0;
    int rv = dp_call(dp, ctx, aio, &req, CALL_TIMEOUT_MS, &r, &pipe);
    if (rv != 0)
        return rv == NNG_ECLOSED ? -1 : 1;
    if (r->msg_case != RENKEI__PEER_REPLY__MSG_HELLO) {
        renkei__peer_reply__free_unpacked(r, NULL);
        reject(g, dp->st, "unexpected", "Hello not answered with HelloReply");
        return 1;
    }
    Renkei__HelloReply *hr = r->hello;
    if (hr->node_key.len != RK_KEY_LEN || hr->nonce.len != NONCE_LEN || hr->signature.len != RK_SIG_LEN) {
        renkei__peer_reply__free_unpacked(r, NULL);
        reject(g, dp->st, "bad_field", "HelloReply field lengths");
        dp_fail_pipe(pipe);
        return 1;
    }
    if (memcmp(hr->node_key.data, dp->st->key, RK_KEY_LEN) != 0) {
        renkei__peer_reply__free_unpacked(r, NULL);
        reject(g, dp->st, "wrong_peer_key", "the listener's key is not the configured one");
        dp_fail_pipe(pipe);
        return 2;
    }
    uint8_t buf[8 + NONCE_LEN + 2 * RK_KEY_LEN];
    memcpy(buf, "listener", 8);
    memcpy(buf + 8, nonce, NONCE_LEN);
    memcpy(buf + 8 + NONCE_LEN, g->node->pub, RK_KEY_LEN);
    memcpy(buf + 8 + NONCE_LEN + RK_KEY_LEN, dp->st->key, RK_KEY_LEN);
    if (!rk_verify(dp->st->key, RK_SIGN_DOMAIN_PEER, buf, sizeof(buf), hr->signature.data)) {
        renkei__peer_reply__free_unpacked(r, NULL);
        reject(g, dp->st, "bad_signature", "listener's handshake signature does not verify");
        dp_fail_pipe(pipe);
        return 2;
    }
    uint8_t abuf[6 + NONCE_LEN + 2 * RK_KEY_LEN], sig[RK_SIG_LEN];
    memcpy(abuf, "dialer", 6);
    memcpy(abuf + 6, hr->nonce.data, NONCE_LEN);
    memcpy(abuf + 6 + NONCE_LEN, dp->st->key, RK_KEY_LEN);
    memcpy(abuf + 6 + NONCE_LEN + RK_KEY_LEN, g->node->pub, RK_KEY_LEN);
    renkei__peer_reply__free_unpacked(r, NULL);
    if (rk_sign(g->node->key, RK_SIGN_DOMAIN_PEER, abuf, sizeof(abuf), sig) != 0)
        return 1;
    Renkei__Auth a = RENKEI__AUTH__INIT;
    a.signature.data = sig;
    a.signature.len = RK_SIG_LEN;
    req.msg_case = RENKEI__PEER_REQUEST__MSG_AUTH;
    req.auth = &a;
    rv = dp_call(dp, ctx, aio, &req, CALL_TIMEOUT_MS, &r, &pipe2);
    if (rv != 0)
        return rv == NNG_ECLOSED ? -1 : 1;
    bool ok = r->msg_case == RENKEI__PEER_REPLY__MSG_ACK && pipe2 == pipe;
    renkei__peer_reply__free_unpacked(r, NULL);
    if (!ok)
        return 1; /* reconnected in between, or refused: start over */
    nng_mtx_lock(g->mu);
    dp->authed = true;
    dp->auth_pipe = pipe;
    dp->sync_now = true;
    dp->set = RK_SET_MEMBERS;
    dp->st->state = PS_CONNECTED;
    nng_cv_wake(dp->cv);
    nng_mtx_unlock(g->mu);
    rk_info("gossip", "connected to peer=%s", dp->st->name);
    return 0;
}

/* Fetches hashes from the peer in batches and hands the records to the writer. Hashes must already
 * be claimed in the in-flight table; whatever is not delivered is released. */
static int dp_fetch(dpeer *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *hashes, size_t n)
{
    struct rk_gossip *g = dp->g;
    size_t i = 0;
    int rc = 0;
    while (i < n && rc == 0) {
        if (rk_writer_wait_room(g->node->writer, WRITER_BACKLOG_MAX, CALL_TIMEOUT_MS) != 0) {
            rc = -1; /* stopping, or the writer is stuck: reconciliation asks again later */
            break;
        }
        size_t k = n - i < FETCH_BATCH ? n - i : FETCH_BATCH;
        Renkei__Fetch f = RENKEI__FETCH__INIT;
        f.hashes.data = (uint8_t *)hashes + i * RK_HASH_LEN;
        f.hashes.len = k * RK_HASH_LEN;
        Renkei__PeerRequest req = RENKEI__PEER_REQUEST__INIT;
        req.msg_case = RENKEI__PEER_REQUEST__MSG_FETCH;
        req.fetch = &f;
        Renkei__PeerReply *r;
        if (dp_call(dp, ctx, aio, &req, CALL_TIMEOUT_MS, &r, NULL) != 0) {
            rc = -1;
            break;
        }
        if (r->msg_case != RENKEI__PEER_REPLY__MSG_RECORDS) {
            rc = -1;
        } else if (r->records->n_records > k) {
            reject(g, dp->st, "too_many", "more records than requested");
            rc = -1;
        } else if (r->records->n_records == 0) {
            i += k; /* gone or withheld there; reconciliation settles it */
        } else {
            submit_records(g, dp->st, r->records->records, r->records->n_records);
            /* A short reply (size budget) means the rest is asked for again. */
            i += r->records->n_records < k ? r->records->n_records : k;
        }
        renkei__peer_reply__free_unpacked(r, NULL);
    }
    nng_mtx_lock(g->mu);
    for (size_t j = i; j < n; j++)
        inflight_release_locked(g, hashes + j * RK_HASH_LEN);
    nng_mtx_unlock(g->mu);
    return rc;
}

/* Sends the envelopes for a list (items or hashes) as Records pushes. */
static int dp_push(dpeer *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *list, size_t n, size_t stride)
{
    struct rk_gossip *g = dp->g;
    size_t i = 0;
    while (i < n) {
        envset es = {0};
        size_t used = 0;
        if (collect_envelopes(g, &es, list + i * stride, n - i, stride, true, MAX_RECORDS, PUSH_BUDGET, &used,
                              NULL) != 0) {
            envset_free(&es);
            return -1;
        }
        if (used == 0)
            used = 1; /* cannot happen with a budget above the record limit; never loop */
        int rc = 0;
        if (es.n > 0) {
            Renkei__Records rs = RENKEI__RECORDS__INIT;
            rs.n_records = es.n;
            rs.records = es.recs;
            Renkei__PeerRequest req = RENKEI__PEER_REQUEST__INIT;
            req.msg_case = RENKEI__PEER_REQUEST__MSG_PUSH;
            req.push = &rs;
            Renkei__PeerReply *r;
            /* The read transaction stays open while the message is packed inside dp_call. */
            rc = dp_call(dp, ctx, aio, &req, CALL_TIMEOUT_MS, &r, NULL);
            if (rc == 0) {
                if (r->msg_case == RENKEI__PEER_REPLY__MSG_ACK)
                    count_io(g, dp->st, es.n, 0);
                else
                    rc = -1;
                renkei__peer_reply__free_unpacked(r, NULL);
            }
        }
        envset_free(&es);
        if (rc != 0)
            return -1;
        i += used;
    }
    return 0;
}

/* Announces our queued items; the peer answers with the hashes it wants, which we push. */
static int dp_announce(dpeer *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *items, size_t n)
{
    for (size_t i = 0; i < n; i += MAX_ITEMS) {
        size_t k = n - i < MAX_ITEMS ? n - i : MAX_ITEMS;
        Renkei__Announce a = RENKEI__ANNOUNCE__INIT;
        a.items.data = (uint8_t *)items + i * RK_ITEM_LEN;
        a.items.len = k * RK_ITEM_LEN;
        Renkei__PeerRequest req = RENKEI__PEER_REQUEST__INIT;
        req.msg_case = RENKEI__PEER_REQUEST__MSG_ANNOUNCE;
        req.announce = &a;
        Renkei__PeerReply *r;
        if (dp_call(dp, ctx, aio, &req, CALL_TIMEOUT_MS, &r, NULL) != 0)
            return -1;
        int rc = 0;
        if (r->msg_case == RENKEI__PEER_REPLY__MSG_FETCH) {
            const ProtobufCBinaryData *h = &r->fetch->hashes;
            if (h->len % RK_HASH_LEN != 0 || h->len / RK_HASH_LEN > MAX_HASHES) {
                reject(dp->g, dp->st, "bad_field", "Fetch hashes");
                rc = -1;
            } else {
                rc = dp_push(dp, ctx, aio, h->data, h->len / RK_HASH_LEN, RK_HASH_LEN);
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

/* Range-based set reconciliation as the initiator, then fetch what we need and push what they lack. */
static int dp_reconcile(dpeer *dp, nng_ctx ctx, nng_aio *aio)
{
    struct rk_gossip *g = dp->g;
    rk_error err;
    rk_error_clear(&err);
    rk_sync_diff diff;
    rk_sync_diff_init(&diff);
    diff.max_need = SYNC_NEED_MAX;
    diff.max_have = SYNC_HAVE_MAX;
    uint64_t t0 = rk_monotonic_ns();
    nng_mtx_lock(g->mu);
    int set = dp->set;
    nng_mtx_unlock(g->mu);
    rk_txn *t = NULL;
    int rc = -1, rounds = 0;
    const char *result = "error";
    if (rk_txn_begin(g->node->store, false, &t, &err) != 0)
        goto out;
    rk_set_source src;
    rk_set_source_from_store(&src, t, set);
    Renkei__Reconcile *msg = NULL;
    if (rk_sync_initiate(&src, (uint32_t)set, &msg, &err) != 0)
        goto out;
    while (msg) {
        if (++rounds > MAX_SYNC_ROUNDS) {
            rk_sync_free_message(msg);
            result = "too_many_rounds";
            goto out;
        }
        Renkei__PeerRequest req = RENKEI__PEER_REQUEST__INIT;
        req.msg_case = RENKEI__PEER_REQUEST__MSG_RECONCILE;
        req.reconcile = msg;
        Renkei__PeerReply *r;
        int rv = dp_call(dp, ctx, aio, &req, CALL_TIMEOUT_MS, &r, NULL);
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
            reject(g, dp->st, err.code[0] ? err.code : "bad_reconcile", err.message);
            result = "bad_reply";
            goto out;
        }
    }
    rk_txn_abort(t);
    t = NULL;
    /* Claim what we need so concurrent announcements do not fetch the same records again. The claimed
     * hashes are compacted in place: a node catching up needs a hash per missing record, and a
     * second copy of that list would double its memory. */
    {
        size_t nn = 0;
        uint64_t now = rk_monotonic_ns() / 1000000;
        nng_mtx_lock(g->mu);
        for (size_t i = 0; i < diff.n_need; i++) {
            const uint8_t *h = diff.need + i * RK_HASH_LEN;
            if (inflight_claim_locked(g, h, now)) {
                if (nn != i)
                    memcpy(diff.need + nn * RK_HASH_LEN, h, RK_HASH_LEN);
                nn++;
            }
        }
        nng_mtx_unlock(g->mu);
        int f = dp_fetch(dp, ctx, aio, diff.need, nn);
        if (f != 0) {
            result = "fetch_failed";
            goto out;
        }
    }
    if (dp_push(dp, ctx, aio, diff.have, diff.n_have, RK_ITEM_LEN) != 0) {
        result = "push_failed";
        goto out;
    }
    rc = 0;
    result = "ok";
    if (diff.truncated) {
        /* the differences past the bounds are still there: learn them now rather than next interval */
        rk_writer_wait_room(g->node->writer, 1, SYNC_DRAIN_WAIT_MS);
        nng_mtx_lock(g->mu);
        dp->sync_now = true;
        nng_mtx_unlock(g->mu);
    }
out:
    if (t)
        rk_txn_abort(t);
    nng_mtx_lock(g->mu);
    dp->st->last_sync_ms = rk_now_ms();
    snprintf(dp->st->last_sync_result, sizeof(dp->st->last_sync_result), "%s", result);
    nng_mtx_unlock(g->mu);
    double secs = (double)(rk_monotonic_ns() - t0) / 1e9;
    rk_metrics_observe(g->metrics, "renkei_reconcile_seconds", "peer", dp->st->name, secs);
    rk_metrics_add2(g->metrics, "renkei_reconcile_total", "result", result, "peer", dp->st->name, 1);
    if (rc == 0)
        rk_info("gossip", "reconciled with peer=%s rounds=%d need=%zu have=%zu%s in %.3fs", dp->st->name, rounds,
                diff.n_need, diff.n_have, diff.truncated ? " (more to come)" : "", secs);
    else
        rk_warn("gossip", "reconciliation with peer=%s failed: %s %s", dp->st->name, result, err.message);
    rk_sync_diff_free(&diff);
    return rc;
}

static void dp_ctl_thread(void *arg)
{
    dpeer *dp = arg;
    struct rk_gossip *g = dp->g;
    nng_ctx ctx;
    nng_aio *aio;
    if (nng_ctx_open(&ctx, dp->sock) != 0)
        return;
    if (nng_aio_alloc(&aio, NULL, NULL) != 0) {
        nng_ctx_close(ctx);
        return;
    }
    uint64_t backoff = 100, next_sync = 0;
    unsigned interval_ms = (g->node->cfg->sync_interval_s ? g->node->cfg->sync_interval_s : 30) * 1000u;
    while (!dp_stopping(dp)) {
        nng_mtx_lock(g->mu);
        bool authed = dp->authed;
        nng_mtx_unlock(g->mu);
        if (!authed) {
            int hs = dp_handshake(dp, ctx, aio);
            if (hs < 0)
                break;
            if (hs > 0) {
                dp_set_state(dp, hs == 2 ? PS_FAILED : PS_CONNECTING);
                nng_mtx_lock(g->mu);
                if (!g->stopping)
                    nng_cv_until(dp->cv, nng_clock() + (nng_time)(hs == 2 ? 5000 : backoff));
                nng_mtx_unlock(g->mu);
                backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
                continue;
            }
            backoff = 100;
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
            rc = dp_announce(dp, ctx, aio, items, n);
        free(items);
        if (rc == 0 && sync) {
            next_sync = now + interval_ms;
            rc = dp_reconcile(dp, ctx, aio);
        }
        if (rc != 0) {
            /* Announcements lost on a failure are repaired by the reconciliation on reconnect. */
            nng_mtx_lock(g->mu);
            dp->sync_now = true;
            nng_mtx_unlock(g->mu);
        }
        nng_mtx_lock(g->mu);
        if (!g->stopping && dp->qn == 0 && dp->authed && !dp->sync_now) {
            now = rk_monotonic_ns() / 1000000;
            nng_cv_until(dp->cv, nng_clock() + (nng_time)(next_sync > now ? next_sync - now : 1));
        } else if (rc != 0 && !g->stopping) {
            nng_cv_until(dp->cv, nng_clock() + 500);
        }
        nng_mtx_unlock(g->mu);
    }
    nng_aio_free(aio);
    nng_ctx_close(ctx);
}

/* Keeps one Poll outstanding; fetches whatever the peer announces that we lack. */
static void dp_poll_thread(void *arg)
{
    dpeer *dp = arg;
    struct rk_gossip *g = dp->g;
    nng_ctx ctx;
    nng_aio *aio;
    if (nng_ctx_open(&ctx, dp->sock) != 0)
        return;
    if (nng_aio_alloc(&aio, NULL, NULL) != 0) {
        nng_ctx_close(ctx);
        return;
    }
    for (;;) {
        nng_mtx_lock(g->mu);
        while (!g->stopping && !dp->authed)
            nng_cv_until(dp->cv, nng_clock() + 1000);
        bool stop = g->stopping;
        nng_mtx_unlock(g->mu);
        if (stop)
            break;
        Renkei__Poll p = RENKEI__POLL__INIT;
        p.wait_ms = POLL_WAIT_MS;
        Renkei__PeerRequest req = RENKEI__PEER_REQUEST__INIT;
        req.msg_case = RENKEI__PEER_REQUEST__MSG_POLL;
        req.poll = &p;
        Renkei__PeerReply *r;
        int rv = dp_call(dp, ctx, aio, &req, POLL_WAIT_MS + 10000, &r, NULL);
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
        if (it->len % RK_ITEM_LEN != 0 || it->len / RK_ITEM_LEN > MAX_ITEMS) {
            reject(g, dp->st, "bad_field", "Announce items");
            renkei__peer_reply__free_unpacked(r, NULL);
            nng_msleep(200);
            continue;
        }
        rk_buf want;
        rk_buf_init(&want);
        if (it->len && wanted_hashes(g, it->data, it->len / RK_ITEM_LEN, RK_ITEM_LEN, &want) == 0 && want.len)
            dp_fetch(dp, ctx, aio, (const uint8_t *)want.data, want.len / RK_HASH_LEN);
        rk_buf_free(&want);
        renkei__peer_reply__free_unpacked(r, NULL);
    }
    nng_aio_free(aio);
    nng_ctx_close(ctx);
}

static void dial_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    dpeer *dp = arg;
    nng_mtx_lock(dp->g->mu);
    if (ev == NNG_PIPE_EV_REM_POST && dp->authed && dp->auth_pipe == (uint32_t)nng_pipe_id(p)) {
        dp->authed = false;
        dp->st->state = PS_CONNECTING;
        rk_info("gossip", "disconnected from peer=%s", dp->st->name);
    } else if (ev == NNG_PIPE_EV_ADD_POST && !dp->authed) {
        dp->st->state = PS_HANDSHAKE;
    }
    nng_cv_wake(dp->cv);
    nng_mtx_unlock(dp->g->mu);
}

static bool is_tls(const char *url) { return strncmp(url, "tls+tcp://", 10) == 0; }

/* Reads a small PEM file whole; NULL (with err filled) if it cannot be read or is implausibly large. */
static char *read_pem(const char *path, const char *field, rk_error *err)
{
    rk_buf b;
    rk_buf_init(&b);
    if (rk_read_path(path, 1024 * 1024, &b) != 0 || b.len == 0) {
        int e = b.len == 0 ? 0 : errno;
        rk_buf_free(&b);
        rk_fail(err, "tls", field, "cannot read %s as a PEM file%s%s", path, e ? ": " : "", e ? strerror(e) : "");
        return NULL;
    }
    return rk_buf_take(&b, NULL);
}

/* Our certificate and key come from two files, as operators usually keep them. */
static int tls_own_cert(nng_tls_config *t, const rk_config *cfg, rk_error *err)
{
    char *cert = read_pem(cfg->tls_cert, "gossip.tls_cert", err);
    char *key = cert ? read_pem(cfg->tls_key, "gossip.tls_key", err) : NULL;
    int rv = cert && key ? nng_tls_config_own_cert(t, cert, key, NULL) : -1;
    if (key)
        memset(key, 0, strlen(key));
    free(cert);
    free(key);
    if (rv > 0)
        rk_fail(err, "tls", "gossip.tls_cert", "cannot use %s with %s: %s", cfg->tls_cert, cfg->tls_key,
                nng_strerror(rv));
    return rv == 0 ? 0 : -1;
}

static int tls_config(struct rk_gossip *g, bool server, nng_tls_config **out, rk_error *err)
{
    const rk_config *cfg = g->node->cfg;
    nng_tls_config *t;
    int rv = nng_tls_config_alloc(&t, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT);
    if (rv != 0)
        return rk_fail(err, "tls", NULL, "TLS is not available: %s", nng_strerror(rv));
    if (server && !(cfg->tls_cert && cfg->tls_key)) {
        nng_tls_config_free(t);
        return rk_fail(err, "tls", "gossip.tls_cert", "a tls+tcp:// listener needs tls_cert and tls_key");
    }
    if (cfg->tls_cert && cfg->tls_key && tls_own_cert(t, cfg, err) != 0) {
        nng_tls_config_free(t);
        return -1;
    }
    if (cfg->tls_ca) {
        if ((rv = nng_tls_config_ca_file(t, cfg->tls_ca)) != 0 ||
            (rv = nng_tls_config_auth_mode(t, NNG_TLS_AUTH_MODE_REQUIRED)) != 0) {
            nng_tls_config_free(t);
            return rk_fail(err, "tls", "gossip.tls_ca", "cannot load %s: %s", cfg->tls_ca, nng_strerror(rv));
        }
    } else {
        /* Without a CA, TLS gives confidentiality; the peer handshake authenticates the node keys. */
        nng_tls_config_auth_mode(t, NNG_TLS_AUTH_MODE_NONE);
    }
    *out = t;
    return 0;
}

static int dp_start(struct rk_gossip *g, const rk_peer_config *pc, rk_error *err)
{
    dpeer *dp = calloc(1, sizeof(*dp));
    if (!dp)
        return rk_fail(err, "out_of_memory", NULL, "out of memory");
    dp->g = g;
    g->dps[g->ndps++] = dp;
    nng_mtx_lock(g->mu);
    dp->st = stat_get_locked(g, pc->name);
    if (dp->st) {
        dp->st->dialed = true;
        dp->st->member = true;
        dp->st->has_key = true;
        memcpy(dp->st->key, pc->key, RK_KEY_LEN);
        dp->st->url = strdup(pc->url);
        dp->st->state = PS_CONNECTING;
    }
    nng_mtx_unlock(g->mu);
    if (!dp->st || !dp->st->url)
        return rk_fail(err, "out_of_memory", NULL, "out of memory");
    int rv;
    if ((rv = nng_cv_alloc(&dp->cv, g->mu)) != 0 || (rv = nng_req0_open(&dp->sock)) != 0)
        return rk_fail(err, "gossip", pc->name, "cannot open a socket for peer %s: %s", pc->name, nng_strerror(rv));
    dp->sock_open = true;
    nng_setopt_size(dp->sock, NNG_OPT_RECVMAXSZ, TRANSPORT_MAX);
    nng_setopt_ms(dp->sock, NNG_OPT_RECONNMINT, 100);
    nng_setopt_ms(dp->sock, NNG_OPT_RECONNMAXT, 5000);
    nng_setopt_ms(dp->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    nng_pipe_notify(dp->sock, NNG_PIPE_EV_ADD_POST, dial_pipe_cb, dp);
    nng_pipe_notify(dp->sock, NNG_PIPE_EV_REM_POST, dial_pipe_cb, dp);
    nng_dialer d;
    if ((rv = nng_dialer_create(&d, dp->sock, pc->url)) != 0)
        return rk_fail(err, "gossip", pc->name, "bad url %s for peer %s: %s", pc->url, pc->name, nng_strerror(rv));
    if (is_tls(pc->url)) {
        if (tls_config(g, false, &dp->tls, err) != 0)
            return -1;
        if ((rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, dp->tls)) != 0)
            return rk_fail(err, "tls", pc->name, "cannot use TLS for %s: %s", pc->url, nng_strerror(rv));
    }
    if ((rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0)
        return rk_fail(err, "gossip", pc->name, "cannot dial %s: %s", pc->url, nng_strerror(rv));
    if ((rv = nng_thread_create(&dp->ctl, dp_ctl_thread, dp)) != 0 ||
        (rv = nng_thread_create(&dp->poller, dp_poll_thread, dp)) != 0)
        return rk_fail(err, "gossip", pc->name, "cannot start threads: %s", nng_strerror(rv));
    return 0;
}

static void closer_cb(uv_handle_t *h)
{
    gossip_unref(h->data);
}

/* ---- start and stop ------------------------------------------------------------------------------ */

static int listen_start(struct rk_gossip *g, rk_error *err)
{
    const rk_config *cfg = g->node->cfg;
    int rv;
    if ((rv = nng_rep0_open(&g->rep)) != 0)
        return rk_fail(err, "gossip", NULL, "cannot open the listener socket: %s", nng_strerror(rv));
    g->rep_open = true;
    nng_setopt_size(g->rep, NNG_OPT_RECVMAXSZ, TRANSPORT_MAX);
    nng_pipe_notify(g->rep, NNG_PIPE_EV_ADD_POST, listen_pipe_cb, g);
    nng_pipe_notify(g->rep, NNG_PIPE_EV_REM_POST, listen_pipe_cb, g);
    for (size_t i = 0; i < cfg->listen_count; i++) {
        const char *url = cfg->listen[i];
        nng_listener l;
        if ((rv = nng_listener_create(&l, g->rep, url)) != 0)
            return rk_fail(err, "gossip", "gossip.listen", "bad listen url %s: %s", url, nng_strerror(rv));
        if (is_tls(url)) {
            if (!g->tls_server && tls_config(g, true, &g->tls_server, err) != 0)
                return -1;
            if ((rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, g->tls_server)) != 0)
                return rk_fail(err, "tls", "gossip.listen", "cannot use TLS on %s: %s", url, nng_strerror(rv));
        }
        if ((rv = nng_listener_start(l, 0)) != 0)
            return rk_fail(err, "gossip", "gossip.listen", "cannot listen on %s: %s", url, nng_strerror(rv));
        rk_info("gossip", "listening on %s", url);
    }
    nng_mtx_lock(g->mu);
    for (int i = 0; i < 2 * SPARE_CTX; i++) {
        lctx *c = lctx_open_locked(g);
        if (!c) {
            nng_mtx_unlock(g->mu);
            return rk_fail(err, "gossip", NULL, "cannot open listener contexts");
        }
        nng_ctx_recv(c->ctx, c->aio);
    }
    nng_mtx_unlock(g->mu);
    if ((rv = nng_aio_alloc(&g->tick, tick_cb, g)) != 0)
        return rk_fail(err, "gossip", NULL, "cannot start the poll timer: %s", nng_strerror(rv));
    nng_sleep_aio(200, g->tick);
    return 0;
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
        return rk_fail(err, "out_of_memory", NULL, "out of memory");
    g->node = node;
    g->metrics = node->metrics;
    atomic_init(&g->refs, 1);
    if (nng_mtx_alloc(&g->mu) != 0 || !(g->dps = calloc(ndial ? ndial : 1, sizeof(*g->dps)))) {
        gossip_unref(g);
        return rk_fail(err, "out_of_memory", NULL, "out of memory");
    }
    if (uv_prepare_init(node->loop, &g->closer) != 0) {
        free(g->dps);
        gossip_unref(g);
        return rk_fail(err, "gossip", NULL, "cannot set up shutdown");
    }
    g->closer.data = g;
    uv_unref((uv_handle_t *)&g->closer);
    g->anon = stat_get_locked(g, "unauthenticated");
    if (!g->anon) {
        free(g->dps);
        uv_close((uv_handle_t *)&g->closer, closer_cb);
        return rk_fail(err, "out_of_memory", NULL, "out of memory");
    }
    rk_metrics_describe(g->metrics, "renkei_peer_rejections_total", "counter",
                        "Peer messages and records rejected, by reason and peer.");
    rk_metrics_describe(g->metrics, "renkei_peer_records_sent_total", "counter", "Records sent to a peer.");
    rk_metrics_describe(g->metrics, "renkei_peer_records_received_total", "counter", "Records received from a peer.");
    rk_metrics_describe(g->metrics, "renkei_reconcile_total", "counter", "Reconciliations by result and peer.");
    rk_metrics_describe(g->metrics, "renkei_reconcile_seconds", "histogram", "Duration of reconciliations.");
    if (rk_writer_add_listener(node->writer, on_commit, g) != 0) {
        free(g->dps);
        uv_close((uv_handle_t *)&g->closer, closer_cb);
        return rk_fail(err, "gossip", NULL, "cannot register the commit listener");
    }
    *out = g;
    if (cfg->listen_count > 0 && listen_start(g, err) != 0) {
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
        if (dp_start(g, pc, err) != 0) {
            rk_gossip_stop(g);
            *out = NULL;
            return -1;
        }
        rk_info("gossip", "dialing peer=%s at %s", pc->name, pc->url);
    }
    return 0;
}

void rk_gossip_stop(rk_gossip *g)
{
    if (!g)
        return;
    nng_mtx_lock(g->mu);
    g->stopping = true;
    for (size_t i = 0; i < g->ndps; i++)
        if (g->dps[i]->cv)
            nng_cv_wake(g->dps[i]->cv);
    nng_mtx_unlock(g->mu);
    if (g->tick) {
        nng_aio_stop(g->tick);
        nng_aio_free(g->tick);
    }
    for (size_t i = 0; i < g->ndps; i++) {
        dpeer *dp = g->dps[i];
        if (dp->sock_open)
            nng_close(dp->sock);
        if (dp->ctl)
            nng_thread_destroy(dp->ctl);
        if (dp->poller)
            nng_thread_destroy(dp->poller);
        if (dp->cv)
            nng_cv_free(dp->cv);
        if (dp->tls)
            nng_tls_config_free(dp->tls);
        free(dp->q);
        free(dp);
    }
    free(g->dps);
    if (g->rep_open)
        nng_close(g->rep);
    for (size_t i = 0; i < g->nctx; i++) {
        lctx *lc = g->ctxs[i];
        nng_aio_stop(lc->aio);
        nng_aio_free(lc->aio);
        free(lc);
    }
    free(g->ctxs);
    for (size_t i = 0; i < g->nconns; i++) {
        free(g->conns[i]->q);
        free(g->conns[i]);
    }
    free(g->conns);
    if (g->tls_server)
        nng_tls_config_free(g->tls_server);
    g->ctxs = NULL;
    g->conns = NULL;
    g->dps = NULL;
    g->nctx = g->nconns = g->ndps = 0;
    uv_close((uv_handle_t *)&g->closer, closer_cb);
}

/* ---- JSON views ------------------------------------------------------------------------------- */

json_t *rk_gossip_peers_json(rk_gossip *g)
{
    json_t *arr = json_array();
    if (!g || !arr)
        return arr;
    nng_mtx_lock(g->mu);
    for (size_t i = 0; i < g->nstats; i++) {
        const peerstat *s = g->stats[i];
        json_t *rej = json_object();
        uint64_t total = 0;
        for (size_t k = 0; rej && k < s->nrej; k++) {
            json_object_set_new(rej, s->rej[k].reason, json_integer((json_int_t)s->rej[k].n));
            total += s->rej[k].n;
        }
        if (s == g->anon && total == 0) {
            json_decref(rej);
            continue;
        }
        char key[2 * RK_KEY_LEN + 1] = "";
        if (s->has_key)
            rk_hex_encode(s->key, RK_KEY_LEN, key);
        const char *state;
        if (s->dialed)
            state = state_names[s->state];
        else if (s == g->anon)
            state = "n/a";
        else
            state = s->inbound ? "connected" : "disconnected";
        json_t *last = json_null();
        if (s->last_sync_ms) {
            char ts[32];
            rk_format_rfc3339((int64_t)(s->last_sync_ms / 1000), 0, true, ts);
            last = json_string(ts);
        }
        json_t *o = json_pack("{s:s,s:s?,s:s?,s:s,s:s,s:b,s:i,s:o,s:s?,s:I,s:I,s:o*}", "name", s->name, "key",
                              s->has_key ? key : NULL, "url", s->url, "direction",
                              s->dialed ? (s->inbound ? "both" : "out") : "in", "state", state, "member", s->member,
                              "connections", (int)s->inbound + (s->dialed && s->state == PS_CONNECTED), "last_sync",
                              last, "last_sync_result", s->last_sync_result[0] ? s->last_sync_result : NULL,
                              "records_sent", (json_int_t)s->sent, "records_received", (json_int_t)s->received,
                              "rejections", rej);
        if (o)
            json_array_append_new(arr, o);
    }
    nng_mtx_unlock(g->mu);
    return arr;
}

json_t *rk_gossip_summary_json(rk_gossip *g)
{
    int peers = 0, connected = 0;
    if (g) {
        nng_mtx_lock(g->mu);
        for (size_t i = 0; i < g->nstats; i++) {
            const peerstat *s = g->stats[i];
            if (s == g->anon)
                continue;
            peers++;
            if ((s->dialed && s->state == PS_CONNECTED) || s->inbound)
                connected++;
        }
        nng_mtx_unlock(g->mu);
    }
    return json_pack("{s:i,s:i}", "peers", peers, "connected", connected);
}
