/* api: the local API's router (DESIGN.md's table, docs/api.md): a route table, the thread-pool jobs
 * that run read handlers off the loop thread, and the API's life cycle.
 *
 * A request is matched against api_routes by path pattern, then by method: a known path with another
 * method is a 405 listing the table's methods for it; an unknown path is a 404 counted under the route
 * "other". Routes flagged API_PUBLISH need the caller to pass [api] group (403). Handlers flagged
 * API_POOL run on libuv's thread pool in their own read transaction; the others on the loop thread.
 * Either way the handler fills an rk_api_response, its optional `then` step runs on the loop thread,
 * and the router sends the result (api_internal.h).
 * Errors are {"error": {"code", "message", "field"}} with a stable code whose status is errcode.c's.
 */
#include "api.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uriparser/Uri.h>

#include "api_internal.h"
#include "metrics.h"
#include "session.h"
#include "web.h"
#include "writer.h"

enum {
    API_POOL = 1 << 0,    /* run on the thread pool (read-only, or store reads and sealing) */
    API_PUBLISH = 1 << 1, /* changes state: the caller must pass [api] group */
    API_REST = 1 << 2,    /* the placeholder takes the rest of the path, slashes included */
    API_SOCKET = 1 << 3,  /* the Unix socket only (it hands out web logins) */
    API_WEB = 1 << 4,     /* the TCP listener only (the web page, web.c) */
};

typedef struct api_route {
    const char *method;
    const char *pattern; /* literal, or a prefix ending in one "{name}": the route's metric label too */
    rk_api_handler handler;
    unsigned flags;
    const char *arg; /* for a literal pattern: the argument passed to the handler */
} api_route;

/* Order matters only for the Allow header, which lists a path's methods in table order. */
static const api_route api_routes[] = {
    {"GET", "/v1/status", rk_api_get_status, API_POOL, NULL},
    {"GET", "/v1/records", rk_api_list_records, API_POOL, NULL},
    {"POST", "/v1/records", rk_api_post_record, API_POOL | API_PUBLISH, NULL},
    {"GET", "/v1/records/{id}", rk_api_get_record, API_POOL, NULL},
    {"PUT", "/v1/records/{id}", rk_api_put_record, API_PUBLISH, NULL},
    {"DELETE", "/v1/records/{id}", rk_api_delete_record, API_PUBLISH, NULL},
    {"GET", "/v1/events", rk_api_list_events, API_POOL, NULL},
    {"GET", "/v1/changes", rk_api_get_changes, API_POOL, NULL},
    {"GET", "/v1/peers", rk_api_get_peers, 0, NULL},
    {"GET", "/v1/members", rk_api_get_members, API_POOL, NULL},
    {"GET", "/v1/export/{name}", rk_api_get_export, API_POOL | API_REST, NULL},
    {"GET", "/v1/stats", rk_api_get_export, API_POOL, "stats"},
    {"GET", "/v1/regions", rk_api_get_export, API_POOL, "regions"},
    {"GET", "/metrics", rk_api_get_metrics, 0, NULL},
    {"GET", "/v1/codes", rk_web_get_codes, 0, NULL},
    {"POST", "/v1/web/login", rk_web_new_login, API_PUBLISH | API_SOCKET, NULL},
    {"GET", "/v1/web/session", rk_web_get_session, API_WEB, NULL},
    {"POST", "/v1/web/logout", rk_web_logout, API_WEB, NULL},
    {"GET", "/login", rk_web_login, API_WEB, NULL},
    {"GET", "/", rk_web_get_asset, API_WEB, "index.html"},
    {"GET", "/{name}", rk_web_get_asset, API_WEB, NULL}, /* last: the page's files */
};
#define API_ROUTE_COUNT (sizeof api_routes / sizeof api_routes[0])

/* The longest placeholder value accepted (a record id is far shorter). */
#define API_ARG_MAX 512

/* Whether path matches the route's pattern; *rest points at the placeholder's text (not decoded). */
static bool api_match(const api_route *r, const char *path, const char **rest)
{
    const char *brace = strchr(r->pattern, '{');
    *rest = NULL;
    if (!brace)
        return strcmp(path, r->pattern) == 0;
    size_t plen = (size_t)(brace - r->pattern);
    if (strncmp(path, r->pattern, plen) != 0)
        return false;
    const char *v = path + plen;
    if (!(r->flags & API_REST) && (!v[0] || strchr(v, '/')))
        return false;
    *rest = v;
    return true;
}

/* ---------------------------------------------------------------------------- running handlers */

/* A handler run on the thread pool, and the response it filled, which the loop thread sends. */
typedef struct api_job {
    uv_work_t work;
    rk_api *api;
    rk_http_req *req;
    const api_route *route;
    char *arg;
    rk_api_response res;
} api_job;

/* Loop thread: runs the `then` step if any, and sends unless it took the request over. */
static void api_finish(rk_api *a, rk_http_req *req, const api_route *route, rk_api_response *res)
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
    j->route->handler(j->api, j->req, j->arg, &j->res);
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
static void api_run(rk_api *a, rk_http_req *req, const api_route *route, const char *arg)
{
    if (route->flags & API_POOL) {
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
    route->handler(a, req, arg, &res);
    api_finish(a, req, route, &res);
}

/* ---------------------------------------------------------------------------- routing */

static void api_reply(rk_api *a, rk_http_req *req, const char *route, rk_api_response *res)
{
    rk_api_send(a, req, route, res);
}

static void api_method_not_allowed(rk_api *a, rk_http_req *req, const char *pattern, const char *path)
{
    char allow[80] = "";
    size_t off = 0;
    for (size_t i = 0; i < API_ROUTE_COUNT; i++) {
        const char *rest;
        if (strcmp(api_routes[i].pattern, pattern) == 0 && api_match(&api_routes[i], path, &rest))
            off += (size_t)snprintf(allow + off, off < sizeof allow ? sizeof allow - off : 0, "%s%s%s", off ? ", " : "",
                                    api_routes[i].method, strcmp(api_routes[i].method, "GET") == 0 ? ", HEAD" : "");
    }
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
    const api_route *path_match = NULL, *route = NULL;
    const char *rest = NULL;
    for (size_t i = 0; i < API_ROUTE_COUNT && !route; i++) {
        const char *v;
        if (!api_match(&api_routes[i], req->path, &v))
            continue;
        if (!path_match)
            path_match = &api_routes[i];
        /* HEAD is GET without the body (RFC 9110 9.3.2): the same handler, and http.c drops the body */
        if (strcmp(api_routes[i].method, req->method) == 0 ||
            (strcmp(req->method, "HEAD") == 0 && strcmp(api_routes[i].method, "GET") == 0)) {
            route = &api_routes[i];
            rest = v;
        }
    }
    rk_api_response res;
    rk_api_response_init(&res);
    if (!path_match) {
        rk_api_error(&res, "not_found", NULL, "no such endpoint: %s", req->path);
        api_reply(a, req, "other", &res);
        return;
    }
    if (!route) {
        api_method_not_allowed(a, req, path_match->pattern, req->path);
        return;
    }
    if ((route->flags & API_SOCKET && req->tcp) || (route->flags & API_WEB && !req->tcp)) {
        rk_api_error(&res, "not_found", NULL, "no such endpoint: %s", req->path);
        api_reply(a, req, "other", &res);
        return;
    }
    char arg[API_ARG_MAX];
    if (rest && !(route->flags & API_REST)) { /* one path segment, percent-decoded (uriparser; '+' stays) */
        if (strlen(rest) >= sizeof arg) {
            rk_api_error(&res, "invalid_id", "id", "the record id is too long");
            api_reply(a, req, route->pattern, &res);
            return;
        }
        snprintf(arg, sizeof arg, "%s", rest);
        uriUnescapeInPlaceExA(arg, URI_FALSE, URI_BR_DONT_TOUCH);
        rest = arg;
    }
    if ((route->flags & API_PUBLISH) && !web_session && !rk_api_may_publish(a, req)) {
        rk_api_error(&res, "forbidden", NULL, "publishing needs membership of group %s", a->node->cfg->group);
        api_reply(a, req, route->pattern, &res);
        return;
    }
    api_run(a, req, route, rest ? rest : route->arg);
}

/* ---------------------------------------------------------------------------- life cycle */

int rk_api_start(rk_node *node, rk_api **out, rk_error *err)
{
    rk_api *a = calloc(1, sizeof *a);
    if (!a)
        return rk_fail(err, "no_memory", "", "out of memory");
    a->node = node;
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
    rk_metrics_touch(m, "renkei_record_cache_total", "result", "hit");
    rk_metrics_touch(m, "renkei_record_cache_total", "result", "miss");
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
    pthread_mutex_destroy(&a->mu);
    free(a);
}
