/* writer: the single LMDB writer thread with group commit, behind a pool of verifier threads.
 *
 * Records from peers (rk_writer_submit) first go to the verify queue: one verifier thread per core
 * runs the store-free checks of rk_ingest_prepare (decode, schema, Ed25519 verification), computes
 * the record's full-text tokens and compresses its envelope for the store, and passes each item on
 * to the write queue, so the costliest check runs on every core while the writer commits. The
 * node's own sealed records (rk_writer_submit_own) go straight to the write queue. Verifiers may
 * pass items on out of submission order; the current-version rule makes the result independent of
 * the order in which versions arrive.
 *
 * The writer thread takes everything queued (up to BATCH_MAX items), puts the node's own records
 * among them in version order (batchorder.h), runs each through the store checks inside ONE write
 * transaction, commits and passes the batch to the sync thread. A commit flushes its data pages but
 * only writes the page that makes it current (rk_store_options, defer_meta_sync): the sync thread
 * flushes that (one fdatasync for every batch committed since its last one) while the writer
 * already runs the next batch, and only then moves the batches to the completed list and wakes the
 * loop with uv_async_send. So one commit costs the writer one disk flush instead of two, and
 * completion callbacks and commit listeners run on the loop thread, in commit order, never before
 * the data is durable. Readers may see a batch in the milliseconds between its commit and its
 * flush; only a system crash in that window undoes it, and nothing of it was acknowledged. If the
 * store fails (an ingest reports RK_INGEST_FAILED, or the commit fails, e.g. the map is full) the
 * transaction is aborted and every item of the batch carries that error: nothing of a failed batch
 * is acknowledged, and nothing of it is in the database. Such failures are logged at most once a
 * second (a full store fails every batch) and the last one is kept for GET /v1/status.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "batchorder.h"
#include "drainrate.h"
#include "envcodec.h"
#include "invalidate.h"
#include "log.h"
#include "members.h"
#include "metrics.h"
#include "node.h"

#define BATCH_MAX RK_BATCHORDER_MAX
#define VERIFY_CHUNK 32 /* items a verifier takes per lock: few lock round trips, still shared out */
#define VERIFIERS_MAX 8

typedef struct item {
    STAILQ_ENTRY(item) link; /* in one queue, batch or list at a time */
    uint8_t *env;
    size_t len;
    char *source; /* NULL = local */
    rk_write_done done;
    void *ctx;
    rk_ingest_result res;
    rk_error err;
    rk_record rec; /* valid when has_rec */
    bool has_rec;
    bool own;               /* sealed by this node just now (rk_writer_submit_own): rec given, env NULL */
    bool promoted;          /* kept aside until its author was admitted, stored by this batch: made by the
                          writer, never submitted, so not counted in outstanding */
    bool create;            /* own items: a POST, which must not find the record stored */
    rk_signature_state sig; /* peer items: outcome of the verifier's check (when has_rec) */
    rk_rectokens *tokens;   /* the record's full-text tokens, computed off the writer thread, or NULL */
} item;

/* A FIFO list of items: the writer's queues (every access holds rk_writer.mu) and the chunk or batch
 * a thread took from one. */
typedef STAILQ_HEAD(item_queue, item) item_queue;

/* Moves up to max items from the front of q to the end of into; returns how many. */
static size_t queue_take(item_queue *q, size_t max, item_queue *into)
{
    size_t n = 0;
    for (item *it; n < max && (it = STAILQ_FIRST(q)); n++) {
        STAILQ_REMOVE_HEAD(q, link);
        STAILQ_INSERT_TAIL(into, it, link);
    }
    return n;
}

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
    pthread_cond_t room;        /* signalled when outstanding falls */
    size_t outstanding;         /* submitted and not yet delivered: what queued work holds in memory */
    rk_drainrate rate;          /* for rk_writer_drain_ms */
    item_queue verify_queue;    /* waiting for a verifier */
    pthread_cond_t verify_cond; /* signalled when the verify queue gains work or stopping is set */
    pthread_t verifiers[VERIFIERS_MAX];
    size_t verifier_count;    /* started */
    size_t verifiers_running; /* not yet exited; the writer exits only after the last one */
    item_queue write_queue;   /* waiting for the writer */
    item_queue sync_queue;    /* committed (or failed), waiting for the sync thread's flush */
    pthread_cond_t sync_cond; /* signalled when the sync queue gains work or the writer exits */
    pthread_t syncer;
    bool writer_exited;    /* the sync thread exits once this is set and its queue is empty */
    item_queue done_queue; /* durable (or failed), waiting for the loop */
    bool stopping;
    uv_async_t async;
    listener *listeners;
    size_t listener_count;
    rk_quota *quota;           /* the write policy per author; used by the writer thread only */
    rk_pending_policy pending; /* records of non-members kept aside ([quota] pending_*) */
    uint64_t pending_sweep_ms; /* writer thread only: when kept records were last expired */
    /* the last failed batch, for GET /v1/status; under mu */
    rk_writer_failure failure;
    uint64_t failure_log_ms;     /* writer thread only: when a failure was last logged */
    uint64_t failure_suppressed; /* failures not logged since */
    rk_batchorder ord;           /* writer thread only: a batch in run order (order_batch) */
};

static void free_item(item *it)
{
    rk_rectokens_free(it->tokens);
    free(it->env);
    free(it->source);
    if (it->has_rec)
        rk_record_free(&it->rec);
    free(it);
}

static void count_result(rk_writer *w, const item *it)
{
    rk_metrics *m = w->node->metrics;
    if (!m)
        return;
    const char *src = it->source ? "peer" : "local";
    if (it->promoted || it->res.status == RK_INGEST_PENDING)
        return; /* counted in renkei_pending_total (promoted, held) */
    if (it->res.status == RK_INGEST_STORED) {
        rk_metrics_add(m, "renkei_ingest_total", "source", src, 1);
    } else {
        rk_metrics_add2(m, "renkei_rejections_total", "reason", it->err.code[0] ? it->err.code : "unknown", "source",
                        it->source ? it->source : "local", 1);
    }
}

/* A new item whose outcome goes to done(ctx), failed until ingest says otherwise; NULL when out of
 * memory. */
static item *item_new(rk_write_done done, void *ctx)
{
    item *it = calloc(1, sizeof *it);
    if (it) {
        it->done = done;
        it->ctx = ctx;
        it->res.status = RK_INGEST_FAILED;
    }
    return it;
}

/* Moves the decoded record rec into it; rec is left empty. */
static void item_take_record(item *it, rk_record *rec)
{
    it->has_rec = true;
    it->rec = *rec;
    memset(rec, 0, sizeof *rec);
}

/* Promoted records become items of the batch, so that commit listeners (relay) see them. */
typedef struct promoted_list {
    item_queue items;
    bool oom;
} promoted_list;

static void on_promoted(void *ctx, rk_record *rec, const rk_ingest_result *res, bool own)
{
    promoted_list *l = ctx;
    item *it = item_new(NULL, NULL);
    if (!it) {
        /* stored all the same; only the relay of this one record is lost until reconciliation */
        l->oom = true;
        rk_record_free(rec);
        return;
    }
    it->promoted = true;
    it->own = own;
    item_take_record(it, rec);
    it->res = *res;
    STAILQ_INSERT_TAIL(&l->items, it, link);
}

/* After the items: when the roster changed, promotion of kept records and removal of stored ones it
 * no longer takes; once a minute the expiry of kept records whose author was never admitted. */
static int run_pending(rk_writer *w, rk_txn *t, rk_membership_txn *members, uint64_t now, promoted_list *promoted,
                       rk_error *err)
{
    rk_node *node = w->node;
    if (members->changed &&
        rk_ingest_promote(t, members, w->quota, &node->limits, now, on_promoted, promoted, err) != 0)
        return -1;
    if (promoted->oom)
        rk_error_log("writer", "out of memory: some records admitted from aside are not relayed until reconciliation");
    uint64_t removed = 0;
    if (members->changed &&
        rk_invalidate_records(t, members->base, rk_membership_txn_roster(members), &removed, err) != 0)
        return -1;
    if (removed) {
        /* once per roster change, however many records it removes */
        rk_info("writer", "removed %llu stored records the new roster no longer takes (a revocation reaching back)",
                (unsigned long long)removed);
        if (node->metrics)
            rk_metrics_add(node->metrics, "renkei_invalidated_records_total", NULL, NULL, removed);
    }
    uint64_t mono = rk_monotonic_ns() / 1000000;
    if (w->pending_sweep_ms == 0 || mono - w->pending_sweep_ms >= 60000) {
        uint64_t dropped;
        if (rk_pending_expire(t, &w->pending, now, &dropped, err) != 0)
            return -1;
        w->pending_sweep_ms = mono;
        if (dropped) {
            rk_info("writer", "dropped %llu records kept aside whose authors were not admitted in %llu s",
                    (unsigned long long)dropped, (unsigned long long)(w->pending.keep_ms / 1000));
            if (node->metrics)
                rk_metrics_add(node->metrics, "renkei_pending_total", "event", "expired", dropped);
        }
    }
    return 0;
}

/* Runs one batch of n items in one transaction. Items are updated in place; records promoted from
 * aside are appended to the batch as items of their own. */
static void run_batch(rk_writer *w, item_queue *batch, size_t n)
{
    rk_node *node = w->node;
    rk_error err;
    rk_error_clear(&err);
    rk_txn *t = NULL;
    bool failed = false;
    rk_membership next_roster;
    memset(&next_roster, 0, sizeof next_roster);
    uint64_t t0 = rk_monotonic_ns();
    /* the roster the batch starts from; membership records stored by the batch change it for the
     * items after them, and the result is published once the batch committed */
    rk_charter charter;
    const rk_membership *base = rk_members_acquire(node);
    rk_membership_txn members;
    rk_membership_txn_init(&members, &charter, base);
    members.pending = &w->pending;
    promoted_list promoted = {.oom = false};
    STAILQ_INIT(&promoted.items);
    if (rk_members_charter(node, &charter, &err) != 0 || rk_txn_begin(node->store, true, &t, &err) != 0) {
        failed = true;
    } else {
        uint64_t now = rk_now_ms();
        item *it;
        STAILQ_FOREACH(it, batch, link)
        {
            if (!it->has_rec) {
                /* the verifier rejected it (err says why); nothing to write */
                memset(&it->res, 0, sizeof it->res);
                it->res.status = RK_INGEST_REJECTED;
                continue;
            }
            rk_error_clear(&it->err);
            it->res.status = RK_INGEST_FAILED;
            /* the batch that writes the record's postings takes them instead of computing them */
            rk_rectokens_offer(t, it->rec.hash, it->tokens);
            it->tokens = NULL;
            int rc;
            if (it->own)
                rc = rk_ingest_own(t, &members, w->quota, &node->limits, now, &it->rec, it->create, &it->res, &it->err);
            else
                rc = rk_ingest_prepared(t, &members, w->quota, now, &it->rec, it->sig, &it->res, &it->err);
            if (rc < 0 && it->res.status == RK_INGEST_STORED)
                it->res.status = RK_INGEST_FAILED;
            if (it->res.status == RK_INGEST_FAILED) {
                err = it->err;
                failed = true;
                break;
            }
            /* a peer learns that its record was not stored (not_member), as before it was kept */
            if (it->res.status == RK_INGEST_PENDING && !it->own)
                it->res.status = RK_INGEST_REJECTED;
        }
        if (!failed && run_pending(w, t, &members, now, &promoted, &err) != 0)
            failed = true;
        if (failed)
            rk_txn_abort(t);
        else if (rk_txn_commit(t, &err) != 0)
            failed = true;
    }
    if (!failed && rk_membership_txn_take(&members, &next_roster)) {
        rk_info("writer", "roster changed: members=%zu", next_roster.member_count);
        if (rk_members_publish(node, &next_roster) != 0)
            rk_error_log("writer", "out of memory: the roster snapshot was not updated");
    }
    if (!failed && node->metrics) {
        rk_metrics_add(node->metrics, "renkei_pending_total", "event", "held", members.held);
        rk_metrics_add(node->metrics, "renkei_pending_total", "event", "evicted", members.evicted);
        rk_metrics_add(node->metrics, "renkei_pending_total", "event", "promoted", members.promoted);
    }
    if (members.promoted && !failed)
        rk_info("writer", "stored %llu records kept aside until their authors were admitted",
                (unsigned long long)members.promoted);
    rk_membership_txn_free(&members);
    rk_members_charter_free(&charter);
    rk_members_release(node, base);
    /* failed or not, promoted items go with the batch: failed, they are nothing but freed */
    STAILQ_CONCAT(batch, &promoted.items);
    if (failed) {
        rk_quota_forget(w->quota); /* the records it admitted were not written */
        if (!err.code[0])
            rk_fail(&err, "store_error", "", "the store failed");
        /* a full store fails every batch, so the line is logged at most once a second, with how many
         * failures it stands for */
        uint64_t now_ms = rk_monotonic_ns() / 1000000;
        if (w->failure_log_ms == 0 || now_ms - w->failure_log_ms >= 1000) {
            rk_error_log("writer", "batch of %zu failed, nothing stored: %s (%s) suppressed=%llu", n, err.message,
                         err.code, (unsigned long long)w->failure_suppressed);
            w->failure_log_ms = now_ms;
            w->failure_suppressed = 0;
        } else {
            w->failure_suppressed++;
        }
        pthread_mutex_lock(&w->mu);
        snprintf(w->failure.code, sizeof w->failure.code, "%s", err.code);
        w->failure.at_ms = rk_now_ms();
        w->failure.failures++;
        pthread_mutex_unlock(&w->mu);
        item *it;
        STAILQ_FOREACH(it, batch, link)
        {
            it->res.status = RK_INGEST_FAILED;
            it->err = err;
        }
        if (node->metrics)
            rk_metrics_add(node->metrics, "renkei_store_errors_total", "code", err.code, 1);
        return;
    }
    size_t stored = 0;
    item *it;
    STAILQ_FOREACH(it, batch, link)
    {
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

/* Appends the items (leaving it empty) to the write queue; the caller holds mu. */
static void append_to_write_queue(rk_writer *w, item_queue *items)
{
    STAILQ_CONCAT(&w->write_queue, items);
    pthread_cond_signal(&w->cond);
}

static void *verifier_main(void *arg)
{
    rk_writer *w = arg;
    rk_node *node = w->node;
    pthread_setname_np(pthread_self(), "renkei-verify"); /* for top -H, ps -L and perf */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (STAILQ_EMPTY(&w->verify_queue) && !w->stopping)
            pthread_cond_wait(&w->verify_cond, &w->mu);
        if (STAILQ_EMPTY(&w->verify_queue)) /* stopping, and every submitted item has been passed on */
            break;
        item_queue chunk = STAILQ_HEAD_INITIALIZER(chunk);
        queue_take(&w->verify_queue, VERIFY_CHUNK, &chunk);
        pthread_mutex_unlock(&w->mu);

        uint64_t now = rk_now_ms();
        const rk_membership *roster = rk_members_acquire(node);
        item *it;
        STAILQ_FOREACH(it, &chunk, link)
        {
            rk_error_clear(&it->err);
            it->has_rec =
                rk_ingest_prepare(roster, &node->limits, now, it->env, it->len, &it->rec, &it->sig, &it->err) == 0;
            /* on this thread rather than the writer's, for a record the writer will most likely store:
             * its tokens, and its envelope compressed as the store keeps it (a failure to compress
             * leaves that to the writer) */
            if (it->has_rec)
                it->tokens = rk_writer_tokens(it->rec.msg);
            if (it->has_rec && it->sig == RK_SIGNATURE_GOOD)
                rk_envcodec_precompress(node->store, &it->rec);
        }
        rk_members_release(node, roster);

        pthread_mutex_lock(&w->mu);
        append_to_write_queue(w, &chunk);
    }
    w->verifiers_running--;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Puts the items of batch in the order the writer runs them (batchorder.h): own records by version. */
static void order_batch(rk_writer *w, item_queue *batch)
{
    w->ord.n = 0;
    item *it;
    STAILQ_FOREACH(it, batch, link)
    if (!rk_batchorder_add(&w->ord, it, it->own && it->has_rec, it->has_rec ? it->rec.msg->version : 0, it->rec.hash))
        return; /* cannot happen: a batch holds at most BATCH_MAX */
    if (rk_batchorder_sort(&w->ord)) {
        STAILQ_INIT(batch);
        for (size_t i = 0; i < w->ord.n; i++)
            STAILQ_INSERT_TAIL(batch, (item *)w->ord.item[w->ord.order[i]], link);
    }
}

static void *writer_main(void *arg)
{
    rk_writer *w = arg;
    pthread_setname_np(pthread_self(), "renkei-writer");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (STAILQ_EMPTY(&w->write_queue) && !(w->stopping && w->verifiers_running == 0))
            pthread_cond_wait(&w->cond, &w->mu);
        if (STAILQ_EMPTY(&w->write_queue))
            break;
        item_queue batch = STAILQ_HEAD_INITIALIZER(batch);
        size_t n = queue_take(&w->write_queue, BATCH_MAX, &batch);
        pthread_mutex_unlock(&w->mu);

        order_batch(w, &batch);
        run_batch(w, &batch, n);

        pthread_mutex_lock(&w->mu);
        STAILQ_CONCAT(&w->sync_queue, &batch);
        pthread_cond_signal(&w->sync_cond);
    }
    w->writer_exited = true;
    pthread_cond_signal(&w->sync_cond);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Whether anything in the list claims to be kept: only then does its answer wait for a flush. */
static bool needs_flush(const item_queue *list)
{
    const item *it;
    STAILQ_FOREACH(it, list, link)
    if (it->res.status == RK_INGEST_STORED || it->res.status == RK_INGEST_PENDING)
        return true;
    return false;
}

/* The sync thread: flushes the batches the writer committed, then hands them to the loop. A batch whose
 * flush failed may not survive a system crash: no item of it is acknowledged (all fail with store_error,
 * refusals too, which may rest on what the flush did not make durable), as when its commit fails. */
static void *syncer_main(void *arg)
{
    rk_writer *w = arg;
    rk_node *node = w->node;
    pthread_setname_np(pthread_self(), "renkei-sync");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (STAILQ_EMPTY(&w->sync_queue) && !w->writer_exited)
            pthread_cond_wait(&w->sync_cond, &w->mu);
        if (STAILQ_EMPTY(&w->sync_queue))
            break;
        item_queue list = STAILQ_HEAD_INITIALIZER(list);
        STAILQ_CONCAT(&list, &w->sync_queue);
        pthread_mutex_unlock(&w->mu);

        rk_error err;
        rk_error_clear(&err);
        bool flush = needs_flush(&list);
        if (flush && node->metrics)
            rk_metrics_add(node->metrics, "renkei_store_flushes_total", NULL, NULL, 1);
        if (flush && rk_store_sync(node->store, &err) != 0) {
            rk_error_log("writer", "%s (%s): the records of the batches since the last flush are not acknowledged",
                         err.message, err.code);
            item *it;
            STAILQ_FOREACH(it, &list, link)
            {
                it->res.status = RK_INGEST_FAILED;
                it->err = err;
            }
            if (node->metrics)
                rk_metrics_add(node->metrics, "renkei_store_errors_total", "code", err.code, 1);
        }

        pthread_mutex_lock(&w->mu);
        if (err.code[0]) {
            snprintf(w->failure.code, sizeof w->failure.code, "%s", err.code);
            w->failure.at_ms = rk_now_ms();
            w->failure.failures++;
        }
        STAILQ_CONCAT(&w->done_queue, &list);
        uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Loop thread: completion callbacks, then listeners with every record stored since the last call. */
static void deliver(rk_writer *w)
{
    item_queue list = STAILQ_HEAD_INITIALIZER(list);
    pthread_mutex_lock(&w->mu);
    STAILQ_CONCAT(&list, &w->done_queue);
    pthread_mutex_unlock(&w->mu);
    if (STAILQ_EMPTY(&list))
        return;
    size_t n = 0;
    item *it;
    STAILQ_FOREACH(it, &list, link)
    n += it->res.status == RK_INGEST_STORED;
    const rk_record **recs = n ? calloc(n, sizeof *recs) : NULL;
    const char **sources = n ? calloc(n, sizeof *sources) : NULL;
    size_t k = 0;
    STAILQ_FOREACH(it, &list, link)
    {
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
    while ((it = STAILQ_FIRST(&list))) {
        STAILQ_REMOVE_HEAD(&list, link);
        delivered += !it->promoted;
        free_item(it);
    }
    if (delivered) {
        uint64_t now = rk_monotonic_ns();
        pthread_mutex_lock(&w->mu);
        rk_drainrate_delivered(&w->rate, delivered, now);
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
    STAILQ_INIT(&w->verify_queue);
    STAILQ_INIT(&w->write_queue);
    STAILQ_INIT(&w->sync_queue);
    STAILQ_INIT(&w->done_queue);
    rk_quota_policy policy;
    rk_quota_policy_default(&policy);
    if (node->cfg) {
        policy.max_records = node->cfg->quota_records;
        policy.max_versions = node->cfg->quota_versions;
        policy.window_ms = (uint64_t)node->cfg->quota_window_s * 1000;
    }
    rk_pending_policy_default(&w->pending);
    if (node->cfg) {
        w->pending.per_author = node->cfg->pending_per_author;
        w->pending.total = node->cfg->pending_total;
        w->pending.keep_ms = (uint64_t)node->cfg->pending_keep_s * 1000;
    }
    /* each step that fails undoes the ones before it, in reverse, from its label down */
    const char *failed = "pthread_cond_init failed";
    if (!(w->quota = rk_quota_new(&policy))) {
        free(w);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        failed = "pthread_mutex_init failed";
        goto no_mu;
    }
    if (pthread_cond_init(&w->cond, NULL) != 0)
        goto no_cond;
    if (pthread_cond_init(&w->room, NULL) != 0)
        goto no_room;
    if (pthread_cond_init(&w->verify_cond, NULL) != 0)
        goto no_verify_cond;
    if (pthread_cond_init(&w->sync_cond, NULL) != 0) {
        pthread_cond_destroy(&w->verify_cond);
        goto no_verify_cond;
    }
    if (uv_async_init(node->loop, &w->async, on_async) != 0) {
        failed = "uv_async_init failed";
        pthread_cond_destroy(&w->sync_cond);
        pthread_cond_destroy(&w->verify_cond);
        goto no_verify_cond;
    }
    w->async.data = w;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t wanted = cores < 1 ? 1 : cores > VERIFIERS_MAX ? VERIFIERS_MAX : (size_t)cores;
    for (size_t i = 0; i < wanted; i++) {
        if (pthread_create(&w->verifiers[i], NULL, verifier_main, w) != 0)
            break;
        w->verifier_count++;
    }
    w->verifiers_running = w->verifier_count;
    bool syncer = w->verifier_count && pthread_create(&w->syncer, NULL, syncer_main, w) == 0;
    int rc = syncer ? pthread_create(&w->thread, NULL, writer_main, w) : -1;
    if (rc != 0) {
        /* the async handle must be closed through the loop; the struct is leaked deliberately
         * rather than freed under a live handle, and the daemon exits right after this error */
        pthread_mutex_lock(&w->mu);
        w->stopping = true;
        w->writer_exited = true;
        pthread_cond_broadcast(&w->verify_cond);
        pthread_cond_signal(&w->sync_cond);
        pthread_mutex_unlock(&w->mu);
        for (size_t i = 0; i < w->verifier_count; i++)
            pthread_join(w->verifiers[i], NULL);
        if (syncer)
            pthread_join(w->syncer, NULL);
        uv_close((uv_handle_t *)&w->async, NULL);
        return rk_fail(err, "internal", "", "cannot start the writer threads");
    }
    w->thread_started = true;
    *out = w;
    return 0;
no_verify_cond:
    pthread_cond_destroy(&w->room);
no_room:
    pthread_cond_destroy(&w->cond);
no_cond:
    pthread_mutex_destroy(&w->mu);
no_mu:
    rk_quota_free(w->quota);
    free(w);
    return rk_fail(err, "internal", "", "%s", failed);
}

static void on_close(uv_handle_t *h)
{
    rk_writer *w = h->data;
    pthread_cond_destroy(&w->sync_cond);
    pthread_cond_destroy(&w->verify_cond);
    pthread_cond_destroy(&w->cond);
    pthread_cond_destroy(&w->room);
    pthread_mutex_destroy(&w->mu);
    rk_quota_free(w->quota);
    free(w->listeners);
    free(w);
}

void rk_writer_stop(rk_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->verify_cond);
    pthread_cond_signal(&w->cond);
    pthread_cond_broadcast(&w->room);
    pthread_mutex_unlock(&w->mu);
    if (w->thread_started) {
        for (size_t i = 0; i < w->verifier_count; i++)
            pthread_join(w->verifiers[i], NULL);
        pthread_join(w->thread, NULL);
        pthread_join(w->syncer, NULL); /* after the writer: it flushes the writer's last batches */
    }
    deliver(w); /* the last batches, whose async wake-up may not have run yet */
    uv_close((uv_handle_t *)&w->async, on_close);
}

/* Own records go straight to the writer; everything else is verified first. */
static int enqueue(rk_writer *w, item *it)
{
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        free_item(it);
        return -1;
    }
    if (it->own) {
        STAILQ_INSERT_TAIL(&w->write_queue, it, link);
        pthread_cond_signal(&w->cond);
    } else {
        STAILQ_INSERT_TAIL(&w->verify_queue, it, link);
        pthread_cond_signal(&w->verify_cond);
    }
    if (w->outstanding++ == 0)
        rk_drainrate_start(&w->rate, rk_monotonic_ns()); /* the idle time before this is not drain time */
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int rk_writer_submit(rk_writer *w, uint8_t *env, size_t len, const char *source, rk_write_done done, void *ctx)
{
    item *it = item_new(done, ctx);
    if (!it) {
        free(env);
        return -1;
    }
    it->env = env;
    it->len = len;
    if (source && !(it->source = strdup(source))) {
        free_item(it);
        return -1;
    }
    return enqueue(w, it);
}

rk_rectokens *rk_writer_tokens(const Renkei__Record *m)
{
    if (m->kind == RENKEI__KIND__KIND_TOMBSTONE || m->body_case == RENKEI__RECORD__BODY_TOMBSTONE)
        return NULL;           /* not indexed */
    return rk_rectokens_of(m); /* NULL when out of memory: the batch computes them */
}

int rk_writer_submit_own(rk_writer *w, rk_record *rec, rk_rectokens *tokens, bool create, rk_write_done done, void *ctx)
{
    item *it = item_new(done, ctx);
    if (!it) {
        rk_record_free(rec);
        rk_rectokens_free(tokens);
        return -1;
    }
    it->own = true;
    it->create = create;
    it->tokens = tokens;
    item_take_record(it, rec);
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

void rk_writer_last_failure(rk_writer *w, rk_writer_failure *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->failure;
    pthread_mutex_unlock(&w->mu);
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

unsigned rk_writer_drain_ms(rk_writer *w, size_t target)
{
    pthread_mutex_lock(&w->mu);
    unsigned ms = rk_drainrate_ms(&w->rate, w->outstanding > target ? w->outstanding - target : 0);
    pthread_mutex_unlock(&w->mu);
    return ms;
}
