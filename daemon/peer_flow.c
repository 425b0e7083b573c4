/* peer_flow: the record transfers of one reconciliation, run beside it (docs/protocol.md,
 * "Reconcile → Reconcile").
 *
 * A reconciliation names, round by round, the hashes this node lacks and the items the peer lacks.
 * Fetched first and pushed second, after the exchange, the two directions ran one after the other:
 * the peer's verifiers and writer sat idle until ours had taken every record we lacked, and ours sat
 * idle through the exchange. Here each direction is a worker thread with its own context on the
 * peer's socket, fed from the round that names the differences (rk_peer_flow_take), so both nodes'
 * verifiers and writers work at once and from the first differences on. Nothing changes on the
 * wire: a listener answers the requests of a connection one at a time, in order, so an older
 * listener sees the same Fetch and Records requests as before, interleaved with the Reconcile ones.
 *
 * Invariants: every hash in the fetch list is claimed in the in-flight table, and each is released
 * unless it was delivered (by rk_peer_dial_fetch for those a worker took, by rk_peer_flow_finish for
 * those never taken). The lists keep only what the workers have not taken yet, and the
 * reconciliation's bounds count everything handed over, so a difference is held once and the memory
 * bound of one reconciliation stays what it was. The fetcher waits for room at our writer before
 * each request and the pusher follows the listener's hints (peer_push.c), as the sequential
 * transfers did; there is one push in flight per connection, as before. A failed direction stops its
 * worker and leaves the other running: whatever it missed is found by the next reconciliation.
 */
#include "peer_flow.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gossip_int.h"
#include "relay.h"

/* Hashes per Fetch request (a reply holds at most 1,000 records, about 8 MiB): with the writer's
 * backlog bound (RK_GOSSIP_WRITER_BACKLOG_MAX) this keeps 1,500 to 2,000 records queued at our
 * verifiers and writer while the next reply travels. */
#define FLOW_FETCH_BATCH 500
/* Items a push worker takes at a time: one Records push (RK_GOSSIP_MAX_RECORDS). */
#define FLOW_PUSH_BATCH RK_GOSSIP_MAX_RECORDS
/* Compact a list once this many taken entries lie before its first untaken one. */
#define FLOW_COMPACT_MIN 4096
/* How often a held fetch (RENKEI_TEST_FETCH_GATE) looks at its gate again. */
#define FLOW_GATE_POLL_MS 20

/* One direction: the entries handed over and not yet taken by its worker are [taken, n). */
typedef struct flow_dir {
    struct rk_peer_flow *f;
    uint8_t *list;
    size_t n, cap, taken;
    size_t stride; /* 32 (hashes to fetch) or 40 (items to push) */
    size_t batch;
    size_t named; /* handed over in all, before claims */
    size_t max;   /* bound on named (0: none) */
    bool failed;
    nng_thread *thr;
    /* sends one batch on the worker's context: flow_fetch or flow_push */
    int (*send)(struct flow_dir *d, nng_ctx ctx, nng_aio *aio, const uint8_t *buf, size_t k);
    unsigned pace_ms; /* pushes: the wait the last Ack asked for, and when it came */
    nng_time acked;
} flow_dir;

struct rk_peer_flow {
    rk_peer_dial *dp;
    nng_mtx *mu;
    nng_cv *cv; /* on mu: a list grew, or the flow closed */
    flow_dir fetch, push;
    bool closed;  /* nothing more will be handed over */
    bool abandon; /* the reconciliation failed: take nothing more */
};

/* Tests only (docs/protocol.md, "Reconcile → Reconcile"): while the file that
 * RENKEI_TEST_FETCH_GATE names exists, the fetch worker sends no Fetch, so a test sees what the
 * pushes do before any fetch has completed, without depending on timing. */
static void flow_gate_wait(rk_peer_flow *f)
{
    const char *path = getenv("RENKEI_TEST_FETCH_GATE");
    if (!path || !*path)
        return;
    struct rk_gossip *g = f->dp->g;
    for (;;) {
        nng_mtx_lock(g->mu);
        bool stop = g->stopping || f->dp->stop || !f->dp->authed;
        nng_mtx_unlock(g->mu);
        if (stop || access(path, F_OK) != 0)
            return;
        nng_msleep(FLOW_GATE_POLL_MS);
    }
}

/* Appends n entries to d; takes the flow's lock. 0 or -1 (out of memory). */
static int flow_append(flow_dir *d, const uint8_t *src, size_t n)
{
    if (n == 0)
        return 0;
    rk_peer_flow *f = d->f;
    int rc = 0;
    nng_mtx_lock(f->mu);
    if (d->taken >= FLOW_COMPACT_MIN && d->taken * 2 >= d->n) {
        memmove(d->list, d->list + d->taken * d->stride, (d->n - d->taken) * d->stride);
        d->n -= d->taken;
        d->taken = 0;
    }
    if (d->n + n > d->cap) {
        size_t cap = d->cap ? d->cap : 1024;
        while (cap < d->n + n)
            cap *= 2;
        uint8_t *p = realloc(d->list, cap * d->stride);
        if (!p) {
            rc = -1;
            goto out;
        }
        d->list = p;
        d->cap = cap;
    }
    memcpy(d->list + d->n * d->stride, src, n * d->stride);
    d->n += n;
    nng_cv_wake(f->cv);
out:
    nng_mtx_unlock(f->mu);
    return rc;
}

/* Takes up to d->batch entries into buf; 0 when there is nothing left to do. */
static size_t flow_next(flow_dir *d, uint8_t *buf)
{
    rk_peer_flow *f = d->f;
    nng_mtx_lock(f->mu);
    while (d->taken == d->n && !f->closed && !f->abandon)
        nng_cv_wait(f->cv);
    size_t k = 0;
    if (!f->abandon && !d->failed) {
        k = d->n - d->taken < d->batch ? d->n - d->taken : d->batch;
        if (k) /* else the list may not exist yet */
            memcpy(buf, d->list + d->taken * d->stride, k * d->stride);
        d->taken += k;
    }
    nng_mtx_unlock(f->mu);
    return k;
}

static void flow_fail(flow_dir *d)
{
    nng_mtx_lock(d->f->mu);
    d->failed = true;
    nng_mtx_unlock(d->f->mu);
}

/* Fetches one batch; releases the claims of whatever it does not deliver. */
static int flow_fetch(flow_dir *d, nng_ctx ctx, nng_aio *aio, const uint8_t *buf, size_t k)
{
    flow_gate_wait(d->f);
    return rk_peer_dial_fetch(d->f->dp, ctx, aio, buf, k);
}

/* Pushes one batch. The last Ack's wait carries over to it, less the time since that Ack. */
static int flow_push(flow_dir *d, nng_ctx ctx, nng_aio *aio, const uint8_t *buf, size_t k)
{
    nng_time since = nng_clock() - d->acked;
    d->pace_ms = d->pace_ms > since ? d->pace_ms - (unsigned)since : 0;
    int rc = rk_peer_push_paced(d->f->dp, ctx, aio, buf, k, d->stride, &d->pace_ms);
    d->acked = nng_clock();
    return rc;
}

static void flow_body(void *arg, nng_ctx ctx, nng_aio *aio)
{
    flow_dir *d = arg;
    uint8_t *buf = malloc(d->batch * d->stride);
    if (!buf) {
        flow_fail(d);
        return;
    }
    size_t k;
    while ((k = flow_next(d, buf)) > 0)
        if (d->send(d, ctx, aio, buf, k) != 0) {
            flow_fail(d);
            break;
        }
    free(buf);
}

static void flow_thread(void *arg)
{
    flow_dir *d = arg;
    if (!rk_peer_dial_run(d->f->dp, flow_body, d))
        flow_fail(d);
}

static void flow_free(rk_peer_flow *f)
{
    if (f->cv)
        nng_cv_free(f->cv);
    if (f->mu)
        nng_mtx_free(f->mu);
    free(f->fetch.list);
    free(f->push.list);
    free(f);
}

rk_peer_flow *rk_peer_flow_start(rk_peer_dial *dp, size_t max_need, size_t max_have)
{
    rk_peer_flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->dp = dp;
    f->fetch =
        (flow_dir){.f = f, .stride = RK_HASH_LEN, .batch = FLOW_FETCH_BATCH, .max = max_need, .send = flow_fetch};
    f->push = (flow_dir){.f = f, .stride = RK_ITEM_LEN, .batch = FLOW_PUSH_BATCH, .max = max_have, .send = flow_push};
    if (nng_mtx_alloc(&f->mu) != 0 || nng_cv_alloc(&f->cv, f->mu) != 0) {
        flow_free(f);
        return NULL;
    }
    if (nng_thread_create(&f->fetch.thr, flow_thread, &f->fetch) != 0) {
        flow_free(f);
        return NULL;
    }
    if (nng_thread_create(&f->push.thr, flow_thread, &f->push) != 0) {
        rk_peer_flow_finish(f, true);
        return NULL;
    }
    return f;
}

/* What is left of a bound after `named` were handed over; never 0, which rk_sync_diff reads as no
 * bound: at the bound one more difference may pass. */
static size_t flow_left(size_t max, size_t named)
{
    if (max == 0)
        return 0;
    return named < max ? max - named : 1;
}

int rk_peer_flow_take(rk_peer_flow *f, rk_sync_diff *diff)
{
    struct rk_gossip *g = f->dp->g;
    f->fetch.named += diff->n_need;
    f->push.named += diff->n_have;
    /* claimed here, on the control thread, so that an announcement of the same record meanwhile is
     * not fetched a second time by the poll thread */
    size_t claimed = rk_relay_claim_list(g, diff->need, diff->n_need);
    int rc = 0;
    if (flow_append(&f->fetch, diff->need, claimed) != 0) {
        nng_mtx_lock(g->mu);
        for (size_t j = 0; j < claimed; j++)
            rk_relay_release_locked(g, diff->need + j * RK_HASH_LEN);
        nng_mtx_unlock(g->mu);
        rc = -1;
    }
    if (flow_append(&f->push, diff->have, diff->n_have) != 0)
        rc = -1;
    if (rc != 0)
        diff->truncated = true;
    diff->n_need = diff->n_have = 0;
    diff->max_need = flow_left(f->fetch.max, f->fetch.named);
    diff->max_have = flow_left(f->push.max, f->push.named);
    return rc;
}

void rk_peer_flow_named(const rk_peer_flow *f, size_t *need, size_t *have)
{
    *need = f->fetch.named;
    *have = f->push.named;
}

rk_peer_flow_result rk_peer_flow_finish(rk_peer_flow *f, bool abandon)
{
    nng_mtx_lock(f->mu);
    f->closed = true;
    f->abandon = f->abandon || abandon;
    nng_cv_wake(f->cv);
    nng_mtx_unlock(f->mu);
    if (f->fetch.thr)
        nng_thread_destroy(f->fetch.thr); /* joins */
    if (f->push.thr)
        nng_thread_destroy(f->push.thr);
    struct rk_gossip *g = f->dp->g;
    nng_mtx_lock(g->mu);
    for (size_t j = f->fetch.taken; j < f->fetch.n; j++)
        rk_relay_release_locked(g, f->fetch.list + j * RK_HASH_LEN);
    nng_mtx_unlock(g->mu);
    rk_peer_flow_result r = f->fetch.failed  ? RK_PEER_FLOW_FETCH_FAILED
                            : f->push.failed ? RK_PEER_FLOW_PUSH_FAILED
                                             : RK_PEER_FLOW_OK;
    flow_free(f);
    return r;
}
