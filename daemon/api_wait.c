/* api_wait: GET /v1/changes, the change feed, and its long-poll waiters.
 *
 * A request with nothing after its cursor and wait=N>0 becomes a waiter: it is answered by the first
 * of (a) a commit that gives it something to return (the writer's commit listener), (b) its timer,
 * with an empty list, (c) shutdown, or it is dropped when its client goes away.
 *
 * Invariants: waiters live on the loop thread only. The first read may run on the thread pool, so a
 * waiter reads again as it is registered (api_wait_register): a commit that landed in between is
 * never missed, because commit listeners also run on the loop thread.
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

struct rk_api_waiter {
    LIST_ENTRY(rk_api_waiter) link; /* in rk_api's waiters */
    rk_api *api;
    rk_http_req *req;
    uint64_t after;
    size_t limit;
    uint64_t wait_s;
    uv_timer_t timer;
};

typedef struct wait_collect {
    json_t *arr;
    uint64_t last;
    bool oom;
} wait_collect;

static int wait_add_change(const rk_change *c, void *ctx)
{
    wait_collect *cc = ctx;
    char id[RK_ID_MAX], hash[2 * RK_HASH_LEN + 1];
    rk_record_id(c->author, c->rid, id);
    rk_hex_encode(c->hash, RK_HASH_LEN, hash);
    json_t *j =
        json_pack("{s:I, s:s, s:s, s:I, s:s, s:b}", "seq", (json_int_t)c->seq, "id", id, "kind", rk_kind_name(c->kind),
                  "version", (json_int_t)c->version, "hash", hash, "deleted", c->kind == RENKEI__KIND__KIND_TOMBSTONE);
    if (!j || json_array_append_new(cc->arr, j) != 0) {
        cc->oom = true;
        return 1;
    }
    cc->last = c->seq;
    return 0;
}

/* Reads the changes after `after`. Returns the array (maybe empty) or NULL with err set. */
static json_t *wait_read(rk_api *a, uint64_t after, size_t limit, uint64_t *next, rk_error *err)
{
    rk_txn *t;
    if (rk_txn_begin(a->node->store, false, &t, err) != 0)
        return NULL;
    wait_collect cc = {.arr = json_array(), .last = after};
    int rc = cc.arr ? rk_store_changes(t, after, limit, wait_add_change, &cc, err) : -1;
    rk_txn_abort(t);
    if (rc != 0 || cc.oom || !cc.arr) {
        json_decref(cc.arr);
        if (cc.oom || !cc.arr)
            rk_fail(err, "no_memory", "", "out of memory");
        return NULL;
    }
    *next = cc.last;
    return cc.arr;
}

/* Fills res from a wait_read: the array (ownership taken) or its error. */
static void wait_fill(json_t *arr, uint64_t next, const rk_error *err, rk_api_response *res)
{
    if (arr)
        rk_api_json(res, 200, json_pack("{s:o, s:I}", "changes", arr, "next", (json_int_t)next));
    else
        rk_api_rk_error(res, err);
}

static void wait_closed(uv_handle_t *h)
{
    free(h->data);
}

static void wait_unlink(rk_api_waiter *w)
{
    LIST_REMOVE(w, link);
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, wait_closed);
}

/* Answers a waiter if there is something after its cursor, or unconditionally when `force`. */
static void wait_try(rk_api_waiter *w, bool force)
{
    rk_api *a = w->api;
    rk_error err;
    uint64_t next = w->after;
    json_t *arr = wait_read(a, w->after, w->limit, &next, &err);
    if (arr && json_array_size(arr) == 0 && !force) {
        json_decref(arr);
        return;
    }
    rk_http_req *req = w->req;
    wait_unlink(w);
    rk_api_response res;
    rk_api_response_init(&res);
    wait_fill(arr, next, &err, &res);
    rk_api_send(a, req, "/v1/changes", &res);
}

static void wait_on_timeout(uv_timer_t *t)
{
    wait_try(t->data, true);
}

static void wait_on_abort(rk_http_req *req, void *ctx)
{
    rk_api_waiter *w = ctx;
    wait_unlink(w);
    rk_http_respond(req, 499, NULL, NULL, NULL, 0); /* orphaned: only frees the request */
}

void rk_api_on_commit(void *ctx, const rk_record *const *recs, const char *const *sources, size_t n)
{
    (void)recs;
    (void)sources;
    (void)n;
    rk_api *a = ctx;
    for (rk_api_waiter *w = LIST_FIRST(&a->waiters), *next; w; w = next) {
        next = LIST_NEXT(w, link); /* wait_try may unlink w */
        wait_try(w, false);
    }
}

void rk_api_wake_all(rk_api *a)
{
    while (!LIST_EMPTY(&a->waiters))
        wait_try(LIST_FIRST(&a->waiters), true);
}

/* Loop thread: the first read found nothing; the request waits (or is answered now when stopping,
 * or when a commit came in since that read). */
static bool wait_register(rk_api *a, rk_http_req *req, const char *route, rk_api_response *res)
{
    (void)route;
    rk_api_waiter *w = res->then_ctx;
    res->then_ctx = NULL;
    if (a->stopping) {
        free(w);
        return true; /* res holds the empty answer */
    }
    if (uv_timer_init(a->node->loop, &w->timer) != 0) {
        free(w);
        rk_api_error(res, "no_memory", NULL, "out of memory");
        return true;
    }
    rk_api_response_clear(res);
    w->api = a;
    w->req = req;
    w->timer.data = w;
    LIST_INSERT_HEAD(&a->waiters, w, link);
    rk_http_set_abort(req, wait_on_abort, w);
    uv_timer_start(&w->timer, wait_on_timeout, w->wait_s * 1000, 0);
    wait_try(w, false);
    return false;
}

void rk_api_get_changes(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)arg;
    rk_api_changes cq;
    rk_error err;
    if (rk_api_changes_query(req->query, &cq, &err) != 0) {
        rk_api_rk_error(res, &err);
        return;
    }
    uint64_t next = cq.after;
    json_t *arr = wait_read(a, cq.after, cq.limit, &next, &err);
    bool empty = arr && json_array_size(arr) == 0;
    wait_fill(arr, next, &err, res);
    if (!empty || cq.wait == 0)
        return;
    /* the empty answer stays in res for when the node is stopping; the loop thread decides */
    rk_api_waiter *w = calloc(1, sizeof *w);
    if (!w) {
        rk_api_error(res, "no_memory", NULL, "out of memory");
        return;
    }
    w->after = cq.after;
    w->limit = cq.limit;
    w->wait_s = cq.wait;
    res->then = wait_register;
    res->then_ctx = w;
}
