/* writer: the single LMDB writer thread with group commit.
 *
 * Submitters (any thread) append to a mutex/cond queue. The writer thread takes everything queued (up
 * to BATCH_MAX items), runs each through rk_ingest inside ONE write transaction, commits, and only
 * then moves the batch to the completed list and wakes the loop with uv_async_send. Completion
 * callbacks and commit listeners therefore run on the loop thread and never before the data is
 * durable. If the store fails (an ingest reports RK_INGEST_FAILED, or the commit fails, e.g. the map
 * is full) the transaction is aborted and every item of the batch carries that error: nothing of a
 * failed batch is acknowledged, and nothing of it is in the database.
 */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "node.h"

#define BATCH_MAX 1024

typedef struct item {
    struct item *next;
    uint8_t *env;
    size_t len;
    char *source;            /* NULL = local */
    rk_write_done done;
    void *ctx;
    rk_ingest_result res;
    rk_error err;
    rk_record rec;           /* valid when res.status == RK_INGEST_STORED, or always when own */
    bool own;                /* sealed by this node just now (rk_writer_submit_own): rec given, env NULL */
} item;

typedef struct listener {
    rk_commit_listener fn;
    void *ctx;
} listener;

struct rk_writer {
    rk_node *node;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_cond_t room;         /* signalled when outstanding falls */
    size_t outstanding;          /* submitted and not yet delivered: what queued work holds in memory */
    item *q_head, *q_tail;       /* waiting for the writer */
    item *done_head, *done_tail; /* committed (or failed), waiting for the loop */
    bool stopping;
    uv_async_t async;
    listener *listeners;
    size_t listener_count;
};

static void free_item(item *it)
{
    free(it->env);
    free(it->source);
    if (it->own || it->res.status == RK_INGEST_STORED)
        rk_record_free(&it->rec);
    free(it);
}

static void count_result(rk_writer *w, const item *it)
{
    rk_metrics *m = w->node->metrics;
    if (!m)
        return;
    const char *src = it->source ? "peer" : "local";
    if (it->res.status == RK_INGEST_STORED) {
        rk_metrics_add(m, "renkei_ingest_total", "source", src, 1);
    } else {
        rk_metrics_add2(m, "renkei_rejections_total", "reason", it->err.code[0] ? it->err.code : "unknown", "source",
                        it->source ? it->source : "local", 1);
    }
}

/* Runs one batch in one transaction. Items are updated in place. */
static void run_batch(rk_writer *w, item *batch, size_t n)
{
    rk_node *node = w->node;
    rk_error err;
    rk_error_clear(&err);
    rk_txn *t = NULL;
    bool failed = false;
    uint64_t t0 = rk_monotonic_ns();
    if (rk_txn_begin(node->store, true, &t, &err) != 0) {
        failed = true;
    } else {
        uint64_t now = rk_now_ms();
        for (item *it = batch; it; it = it->next) {
            rk_error_clear(&it->err);
            it->res.status = RK_INGEST_FAILED;
            int rc;
            if (it->own) {
                rc = rk_ingest_own(t, &node->roster, &node->limits, now, &it->rec, &it->res, &it->err);
            } else {
                memset(&it->rec, 0, sizeof it->rec);
                rc = rk_ingest(t, &node->roster, &node->limits, now, it->env, it->len, &it->res, &it->rec, &it->err);
            }
            if (rc < 0 && it->res.status == RK_INGEST_STORED)
                it->res.status = RK_INGEST_FAILED;
            if (it->res.status == RK_INGEST_FAILED) {
                err = it->err;
                failed = true;
                break;
            }
        }
        if (failed)
            rk_txn_abort(t);
        else if (rk_txn_commit(t, &err) != 0)
            failed = true;
    }
    if (failed) {
        if (!err.code[0])
            rk_fail(&err, "store_error", "", "the store failed");
        rk_error_log("writer", "batch of %zu failed, nothing stored: %s (%s)", n, err.message, err.code);
        for (item *it = batch; it; it = it->next) {
            if (!it->own && it->res.status == RK_INGEST_STORED)
                rk_record_free(&it->rec);
            it->res.status = RK_INGEST_FAILED;
            it->err = err;
        }
        if (node->metrics)
            rk_metrics_add(node->metrics, "renkei_store_errors_total", "code", err.code, 1);
        return;
    }
    size_t stored = 0;
    for (item *it = batch; it; it = it->next) {
        count_result(w, it);
        if (it->res.status == RK_INGEST_STORED)
            stored++;
        else
            rk_debug("writer", "rejected record from %s: %s (%s %s)", it->source ? it->source : "local",
                     it->err.message, it->err.code, it->err.field);
    }
    if (node->metrics) {
        rk_metrics_observe(node->metrics, "renkei_commit_duration_seconds", NULL, NULL,
                           (double)(rk_monotonic_ns() - t0) / 1e9);
        rk_metrics_add(node->metrics, "renkei_commit_batch_items_total", NULL, NULL, n);
    }
    rk_debug("writer", "committed batch items=%zu stored=%zu", n, stored);
}

static void *writer_main(void *arg)
{
    rk_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->q_head && !w->stopping)
            pthread_cond_wait(&w->cond, &w->mu);
        if (!w->q_head && w->stopping)
            break;
        item *batch = w->q_head, *last = batch;
        size_t n = 1;
        while (last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        w->q_head = last->next;
        if (!w->q_head)
            w->q_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&w->mu);

        run_batch(w, batch, n);

        pthread_mutex_lock(&w->mu);
        if (w->done_tail)
            w->done_tail->next = batch;
        else
            w->done_head = batch;
        w->done_tail = last;
        uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Loop thread: completion callbacks, then listeners with every record stored since the last call. */
static void deliver(rk_writer *w)
{
    pthread_mutex_lock(&w->mu);
    item *list = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    if (!list)
        return;
    size_t n = 0;
    for (item *it = list; it; it = it->next)
        n += it->res.status == RK_INGEST_STORED;
    const rk_record **recs = n ? calloc(n, sizeof *recs) : NULL;
    const char **sources = n ? calloc(n, sizeof *sources) : NULL;
    size_t k = 0;
    for (item *it = list; it; it = it->next) {
        bool ok = it->res.status == RK_INGEST_STORED;
        if (it->done)
            it->done(it->ctx, &it->res, ok ? &it->rec : NULL, ok ? NULL : &it->err);
        if (ok && recs && sources) {
            recs[k] = &it->rec;
            sources[k] = it->source;
            k++;
        }
    }
    if (n && (!recs || !sources))
        rk_error_log("writer", "out of memory: commit listeners skipped for %zu records", n);
    if (k)
        for (size_t i = 0; i < w->listener_count; i++)
            w->listeners[i].fn(w->listeners[i].ctx, (const rk_record *const *)recs, (const char *const *)sources, k);
    free(recs);
    free(sources);
    size_t delivered = 0;
    while (list) {
        item *next = list->next;
        free_item(list);
        list = next;
        delivered++;
    }
    if (delivered) {
        pthread_mutex_lock(&w->mu);
        w->outstanding -= delivered < w->outstanding ? delivered : w->outstanding;
        pthread_cond_broadcast(&w->room);
        pthread_mutex_unlock(&w->mu);
    }
}

static void on_async(uv_async_t *a)
{
    deliver(a->data);
}

int rk_writer_start(rk_node *node, rk_writer **out, rk_error *err)
{
    rk_writer *w = calloc(1, sizeof *w);
    if (!w)
        return rk_fail(err, "no_memory", "", "out of memory");
    w->node = node;
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        free(w);
        return rk_fail(err, "internal", "", "pthread_mutex_init failed");
    }
    if (pthread_cond_init(&w->cond, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        free(w);
        return rk_fail(err, "internal", "", "pthread_cond_init failed");
    }
    if (pthread_cond_init(&w->room, NULL) != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return rk_fail(err, "internal", "", "pthread_cond_init failed");
    }
    if (uv_async_init(node->loop, &w->async, on_async) != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_cond_destroy(&w->room);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return rk_fail(err, "internal", "", "uv_async_init failed");
    }
    w->async.data = w;
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        /* the async handle must be closed through the loop; the struct is leaked deliberately
         * rather than freed under a live handle, and the daemon exits right after this error */
        uv_close((uv_handle_t *)&w->async, NULL);
        return rk_fail(err, "internal", "", "cannot start the writer thread");
    }
    w->thread_started = true;
    *out = w;
    return 0;
}

static void on_close(uv_handle_t *h)
{
    rk_writer *w = h->data;
    pthread_cond_destroy(&w->cond);
    pthread_cond_destroy(&w->room);
    pthread_mutex_destroy(&w->mu);
    free(w->listeners);
    free(w);
}

void rk_writer_stop(rk_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_cond_broadcast(&w->room);
    pthread_mutex_unlock(&w->mu);
    if (w->thread_started)
        pthread_join(w->thread, NULL);
    deliver(w); /* the last batches, whose async wake-up may not have run yet */
    uv_close((uv_handle_t *)&w->async, on_close);
}

static int enqueue(rk_writer *w, item *it)
{
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        free_item(it);
        return -1;
    }
    if (w->q_tail)
        w->q_tail->next = it;
    else
        w->q_head = it;
    w->q_tail = it;
    w->outstanding++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int rk_writer_submit(rk_writer *w, uint8_t *env, size_t len, const char *source, rk_write_done done, void *ctx)
{
    item *it = calloc(1, sizeof *it);
    if (!it) {
        free(env);
        return -1;
    }
    it->env = env;
    it->len = len;
    it->done = done;
    it->ctx = ctx;
    it->res.status = RK_INGEST_FAILED;
    if (source && !(it->source = strdup(source))) {
        free_item(it);
        return -1;
    }
    return enqueue(w, it);
}

int rk_writer_submit_own(rk_writer *w, rk_record *rec, rk_write_done done, void *ctx)
{
    item *it = calloc(1, sizeof *it);
    if (!it) {
        rk_record_free(rec);
        return -1;
    }
    it->own = true;
    it->rec = *rec;
    memset(rec, 0, sizeof *rec);
    it->done = done;
    it->ctx = ctx;
    it->res.status = RK_INGEST_FAILED;
    return enqueue(w, it);
}

int rk_writer_add_listener(rk_writer *w, rk_commit_listener fn, void *ctx)
{
    listener *nl = realloc(w->listeners, (w->listener_count + 1) * sizeof *nl);
    if (!nl)
        return -1;
    w->listeners = nl;
    nl[w->listener_count].fn = fn;
    nl[w->listener_count].ctx = ctx;
    w->listener_count++;
    return 0;
}

size_t rk_writer_outstanding(rk_writer *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->outstanding;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int rk_writer_wait_room(rk_writer *w, size_t limit, unsigned timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while (!w->stopping && w->outstanding >= limit && rc == 0)
        rc = pthread_cond_timedwait(&w->room, &w->mu, &deadline);
    bool room = !w->stopping && w->outstanding < limit;
    pthread_mutex_unlock(&w->mu);
    return room ? 0 : -1;
}
