/* api: the local API's router (DESIGN.md's table, docs/api.md): it answers what the route lookup
 * (api_route.c) decides, runs each route's handler, on libuv's thread pool for the read handlers, and
 * owns the API's life cycle.
 *
 * A known path with another method is a 405 listing the table's methods for it; an unknown path is a
 * 404 counted under the route "other". Routes flagged RK_API_PUBLISH need the caller to pass [api]
 * group (403). Handlers flagged RK_API_POOL run on libuv's thread pool in their own read transaction;
 * the others on the loop thread.
 * Either way the handler fills an rk_api_response, its optional `then` step runs on the loop thread,
 * and the router sends the result (api_internal.h).
 * Errors are {"error": {"code", "message", "field"}} with a stable code whose status is errcode.c's.
 */
#include "api.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_route.h"
#include "metrics.h"
#include "session.h"
#include "spool.h"
#include "web.h"
#include "writer.h"

/* Each route's handler (the table is api_route.c's). */
static const rk_api_handler api_handlers[RK_API_OP_COUNT] = {
    [RK_API_OP_STATUS] = rk_api_get_status,       [RK_API_OP_LIST_RECORDS] = rk_api_list_records,
    [RK_API_OP_POST_RECORD] = rk_api_post_record, [RK_API_OP_GET_RECORD] = rk_api_get_record,
    [RK_API_OP_PUT_RECORD] = rk_api_put_record,   [RK_API_OP_DELETE_RECORD] = rk_api_delete_record,
    [RK_API_OP_LIST_EVENTS] = rk_api_list_events, [RK_API_OP_CHANGES] = rk_api_get_changes,
    [RK_API_OP_PEERS] = rk_api_get_peers,         [RK_API_OP_MEMBERS] = rk_api_get_members,
    [RK_API_OP_EXPORT] = rk_api_get_export,       [RK_API_OP_METRICS] = rk_api_get_metrics,
    [RK_API_OP_CODES] = rk_web_get_codes,         [RK_API_OP_WEB_NEW_LOGIN] = rk_web_new_login,
    [RK_API_OP_WEB_SESSION] = rk_web_get_session, [RK_API_OP_WEB_LOGOUT] = rk_web_logout,
    [RK_API_OP_WEB_LOGIN] = rk_web_login,         [RK_API_OP_WEB_ASSET] = rk_web_get_asset,
};

/* ---------------------------------------------------------------------------- running handlers */

/* A handler run on the thread pool, and the response it filled, which the loop thread sends. */
typedef struct api_job {
    uv_work_t work;
    rk_api *api;
    rk_http_req *req;
    const rk_api_route *route;
    char *arg;
    rk_api_response res;
} api_job;

/* Loop thread: runs the `then` step if any, and sends unless it took the request over. */
static void api_finish(rk_api *a, rk_http_req *req, const rk_api_route *route, rk_api_response *res)
{
    if (res->then) {
        rk_api_then then = res->then;
        res->then = NULL;
        if (!then(a, req, route->pattern, res))
            return;
    }
    rk_api_send(a, req, route->pattern, res);
}

static void api_job_work(uv_work_t *w)
{
    api_job *j = w->data;
    api_handlers[j->route->op](j->api, j->req, j->arg, &j->res);
    /* Dumping and freeing the JSON tree is most of a read's cost: done here, on the pool, it runs in
     * parallel instead of queueing on the one loop thread. A `then` step may still edit the tree. */
    if (!j->res.then)
        rk_api_response_render(&j->res);
}

/* Loop thread (the request may be orphaned by now; then sending only frees it). */
static void api_job_done(uv_work_t *w, int status)
{
    api_job *j = w->data;
    rk_api *a = j->api;
    a->jobs--;
    if (status != 0) /* cancelled before it ran: jobs are never cancelled, so not reached */
        rk_api_error(&j->res, "internal", NULL, "the request was cancelled");
    api_finish(a, j->req, j->route, &j->res);
    rk_api_response_clear(&j->res);
    free(j->arg);
    free(j);
}

/* Runs the handler on the thread pool if the route allows it and a job can be queued, else here. */
static void api_run(rk_api *a, rk_http_req *req, const rk_api_route *route, const char *arg)
{
    if (route->flags & RK_API_POOL) {
        api_job *j = calloc(1, sizeof *j);
        if (j && (!arg || (j->arg = strdup(arg)))) {
            j->api = a;
            j->req = req;
            j->route = route;
            j->work.data = j;
            rk_api_response_init(&j->res);
            if (uv_queue_work(a->node->loop, &j->work, api_job_work, api_job_done) == 0) {
                a->jobs++;
                return;
            }
            free(j->arg);
        }
        free(j);
    }
    rk_api_response res;
    rk_api_response_init(&res);
    api_handlers[route->op](a, req, arg, &res);
    api_finish(a, req, route, &res);
}

/* ---------------------------------------------------------------------------- routing */

static void api_reply(rk_api *a, rk_http_req *req, const char *route, rk_api_response *res)
{
    rk_api_send(a, req, route, res);
}

static void api_method_not_allowed(rk_api *a, rk_http_req *req, const char *pattern, const char *allow)
{
    char headers[96];
    snprintf(headers, sizeof headers, "Allow: %s\r\n", allow);
    rk_api_response res;
    rk_api_response_init(&res);
    rk_api_error(&res, "method_not_allowed", NULL, "%s is not allowed on %s (allowed: %s)", req->method, pattern,
                 allow);
    if (!res.oom && !(res.headers = strdup(headers)))
        rk_api_json(&res, 500, NULL);
    api_reply(a, req, pattern, &res);
}

static void api_handle(rk_http_req *req, void *ctx)
{
    rk_api *a = ctx;
    /* the TCP listener is the web page's: its access rules come before any route (web_gate.c) */
    bool web_session = false;
    if (req->tcp && !rk_web_gate(a, req, &web_session))
        return;
    rk_api_route_match m;
    rk_api_route_result found = rk_api_route_lookup(req->method, req->path, req->tcp, &m);
    rk_api_response res;
    rk_api_response_init(&res);
    if (found == RK_API_ROUTE_NOT_FOUND) {
        rk_api_error(&res, "not_found", NULL, "no such endpoint: %s", req->path);
        api_reply(a, req, "other", &res);
        return;
    }
    if (found == RK_API_ROUTE_NOT_ALLOWED) {
        api_method_not_allowed(a, req, m.route->pattern, m.allow);
        return;
    }
    const rk_api_route *route = m.route;
    if (found == RK_API_ROUTE_ARG_TOO_LONG) {
        rk_api_error(&res, "invalid_id", "id", "the record id is too long");
        api_reply(a, req, route->pattern, &res);
        return;
    }
    if ((route->flags & RK_API_PUBLISH) && !web_session && !rk_api_may_publish(a, req)) {
        rk_api_error(&res, "forbidden", NULL, "publishing needs membership of group %s", a->node->cfg->group);
        api_reply(a, req, route->pattern, &res);
        return;
    }
    api_run(a, req, route, m.arg);
}

/* ---------------------------------------------------------------------------- life cycle */

int rk_api_start(rk_node *node, rk_api **out, rk_error *err)
{
    rk_api *a = calloc(1, sizeof *a);
    if (!a)
        return rk_fail(err, "no_memory", "", "out of memory");
    a->node = node;
    LIST_INIT(&a->waiters);
    if (!(a->sessions = rk_session_store_new()) || !(a->records_json = rk_jsoncache_new(node->cfg->record_cache))) {
        rk_session_store_free(a->sessions);
        free(a);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        rk_session_store_free(a->sessions);
        rk_jsoncache_free(a->records_json);
        free(a);
        return rk_fail(err, "internal", "", "pthread_mutex_init failed");
    }
    if (node->cfg->group) {
        struct group gr, *res = NULL;
        char buf[4096];
        if (getgrnam_r(node->cfg->group, &gr, buf, sizeof buf, &res) != 0 || !res) {
            rk_api_free(a);
            return rk_fail(err, "config", "api.group", "unknown group \"%s\"", node->cfg->group);
        }
        a->have_group = true;
        a->group_gid = gr.gr_gid;
    }
    rk_metrics *m = node->metrics;
    rk_metrics_describe(m, "renkei_http_requests_total", "counter", "API requests by route and status code.");
    rk_metrics_describe(m, "renkei_http_request_duration_seconds", "histogram", "API request latency by route.");
    rk_metrics_describe(m, "renkei_publishes_total", "counter", "Records published through the API, by operation.");
    rk_metrics_describe(m, "renkei_record_cache_total", "counter",
                        "Records the API answered with from the rendered JSON kept ([api] record_cache; result=hit) "
                        "or rendered anew (result=miss).");
    rk_metrics_describe(m, "renkei_record_cache_bytes", "gauge", "Memory held by the rendered JSON of records.");
    rk_metrics_describe(m, "renkei_record_cache_entries", "gauge", "Records whose rendered JSON is kept.");
    rk_metrics_describe(m, "renkei_export_renders_total", "counter",
                        "Exports rendered, by export; requests that shared a rendering or were answered 304 "
                        "from the ETag alone are not counted.");
    rk_metrics_touch(m, "renkei_record_cache_total", "result", "hit");
    rk_metrics_touch(m, "renkei_record_cache_total", "result", "miss");
    /* large exports wait on disk while clients download them (spool.h), next to the store */
    char spool_dir[4096];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", node->cfg->data_dir);
    if (!(a->spool = rk_spool_new(spool_dir, node->cfg->export_spool, err))) {
        rk_api_free(a);
        return -1;
    }
    if (rk_writer_add_listener(node->writer, rk_api_on_commit, a) != 0) {
        rk_api_free(a);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    rk_http_options o = {.socket_path = node->cfg->socket,
                         .tcp = node->cfg->tcp,
                         .group = node->cfg->group,
                         .max_body = node->cfg->max_body,
                         .max_connections = node->cfg->max_connections,
                         .metrics = node->metrics};
    if (rk_http_start(node->loop, &o, api_handle, a, &a->http, err) != 0) {
        /* the listener stays registered; main exits on this error before the writer commits */
        a->stopping = true;
        *out = a;
        return -1;
    }
    *out = a;
    return 0;
}

void rk_api_stop(rk_api *a)
{
    if (!a || a->stopping)
        return;
    a->stopping = true;
    rk_http_stop(a->http);
    a->http = NULL;
    rk_api_wake_all(a);
}

void rk_api_free(rk_api *a)
{
    if (!a)
        return;
    rk_session_store_free(a->sessions);
    rk_jsoncache_free(a->records_json);
    rk_spool_release(a->spool); /* files still being sent keep it until they are done */
    pthread_mutex_destroy(&a->mu);
    free(a);
}
