/* api_internal: what the files of the local API share (api.c routes to handlers in api_read.c,
 * api_publish.c and api_wait.c, all of which answer through api_response.c).
 *
 * A handler never writes to the socket. It fills an rk_api_response; the router sends it on the loop
 * thread, after the handler returns there or, for a handler run on the thread pool, after the job
 * has come back to the loop. A handler that has more to do on the loop thread (hand a sealed record
 * to the writer, register a long-poll, add gossip state) sets `then`: the router calls it on the loop
 * thread before sending, and it either completes the response (returns true) or takes the request
 * over and answers it later itself (returns false).
 *
 * Threads: handlers flagged API_POOL run on libuv's thread pool and may touch only immutable node
 * fields, the store through their own read transaction, and a->mu's fields under a->mu. Everything
 * else in rk_api (waiters, stopping) and all gossip state belong to the loop thread.
 */
#ifndef RENKEI_API_INTERNAL_H
#define RENKEI_API_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/queue.h>

#include "api.h"
#include "http.h"
#include "jsoncache.h"
#include "api_query.h"

typedef struct rk_api_response rk_api_response;
typedef struct rk_api_waiter rk_api_waiter;
typedef struct rk_session_store rk_session_store;

/* Loop thread. Returns true when res is complete and is to be sent now; false when it took the
 * request over (it then answers it with rk_api_send or rk_api_send_error later). */
typedef bool (*rk_api_then)(rk_api *a, rk_http_req *req, const char *route, rk_api_response *res);

struct rk_api_response {
    int status;               /* 0 until filled */
    const char *content_type; /* a static string, or NULL */
    char *headers;            /* owned: "Name: value\r\n"..., or NULL */
    char *body;               /* owned */
    size_t len;
    json_t *json;     /* owned; when set, rendered as the body at send time */
    rk_http_body src; /* owned when src.read is set: the body, read from there as the client takes it */
    bool oom;         /* out of memory: sent as the fixed no_memory error body */
    rk_api_then then; /* see the header comment */
    void *then_ctx;
};

struct rk_api {
    rk_node *node;
    rk_http_server *http;
    LIST_HEAD(rk_api_waiters, rk_api_waiter) waiters; /* long-polls on /v1/changes (api_wait.c) */
    uint64_t last_version;                            /* the last version this node assigned */
    bool have_group;
    gid_t group_gid;
    bool stopping;
    size_t jobs;                /* handlers queued on or running in the thread pool */
    pthread_mutex_t mu;         /* last_version: POSTs are prepared on the thread pool */
    rk_session_store *sessions; /* the web page's logins (session.h); loop thread */
    rk_jsoncache *records_json; /* the records' rendered JSON ([api] record_cache); any thread */
    struct rk_spool *spool;     /* large exports being downloaded ([api] export_spool; spool.h) */
};

/* A route's handler: fills res for req. arg is the part of the path the route's {placeholder}
 * matched (percent-decoded), or NULL. Handlers are declared with rk_api_handler_fn, so a handler
 * whose signature drifts from the route table's is a compile error. */
typedef void rk_api_handler_fn(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res);
typedef rk_api_handler_fn *rk_api_handler;

/* ---- api_response.c: filling and sending responses */

void rk_api_response_init(rk_api_response *res);
/* Frees whatever res still owns (a pending `then` is not run). */
void rk_api_response_clear(rk_api_response *res);
/* Takes ownership of j (a NULL j is answered as out of memory). */
void rk_api_json(rk_api_response *res, int status, json_t *j);
/* Copies body and headers. */
void rk_api_bytes(rk_api_response *res, int status, const char *content_type, const char *headers, const void *body,
                  size_t len);
/* The same, taking ownership of a malloc'd body (freed in every case; NULL when len is 0). */
void rk_api_owned(rk_api_response *res, int status, const char *content_type, const char *headers, char *body,
                  size_t len);
/* The body is read from src (taken over: released in every case) while it is sent. */
void rk_api_stream(rk_api_response *res, int status, const char *content_type, const char *headers,
                   const rk_http_body *src);
/* The error body {"error": {"code", "message", "field"}}; the status is the code's (errcode.h). */
void rk_api_error(rk_api_response *res, const char *code, const char *field, const char *fmt, ...) RK_PRINTF(4, 5);
void rk_api_verror(rk_api_response *res, const char *code, const char *field, const char *fmt, va_list ap)
    RK_PRINTF(4, 0);
void rk_api_rk_error(rk_api_response *res, const rk_error *err);
/* Renders res->json into res->body, straight into the buffer that is sent, and frees the tree. Any
 * thread: a pool job renders before it comes back, so the loop thread only writes bytes. */
void rk_api_response_render(rk_api_response *res);
/* Loop thread: renders (if not yet done) and sends res, counts it for route, and clears res. */
void rk_api_send(rk_api *a, rk_http_req *req, const char *route, rk_api_response *res);

/* ---- api_read.c: read-only handlers */

rk_api_handler_fn rk_api_get_status;
rk_api_handler_fn rk_api_get_record;
rk_api_handler_fn rk_api_list_records;
rk_api_handler_fn rk_api_list_events;
rk_api_handler_fn rk_api_get_peers;
rk_api_handler_fn rk_api_get_members;
rk_api_handler_fn rk_api_get_export;
rk_api_handler_fn rk_api_get_metrics;
/* Shared by the readers: the roster name of an author (for rk_record_to_json). */
const char *rk_api_author_name(const uint8_t author[RK_KEY_LEN], void *roster);
/* The record a /v1/records/{id} request names: its author and rid, its current version, and that
 * version loaded (free rec with rk_record_free). */
typedef struct rk_api_target {
    uint8_t author[RK_KEY_LEN];
    char rid[RK_RID_MAX + 1];
    rk_current cur;
    rk_record rec;
} rk_api_target;
/* Resolves /v1/records/{id} to a current, not deleted record (t->rec loaded); must_own: one of this
 * node's. Returns 1 if found, else 0 with res filled with the error and nothing to free. */
int rk_api_load_target(rk_api *a, const char *id, bool must_own, rk_api_target *t, rk_api_response *res);

/* ---- api_publish.c: POST, PUT, DELETE */

rk_api_handler_fn rk_api_post_record;
rk_api_handler_fn rk_api_put_record;
rk_api_handler_fn rk_api_delete_record;
/* Whether the caller may publish ([api] group). */
bool rk_api_may_publish(rk_api *a, const rk_http_req *req);

/* ---- api_wait.c: GET /v1/changes and its long-poll waiters */

rk_api_handler_fn rk_api_get_changes;
/* Writer commit listener: answers the waiters that now have changes. */
void rk_api_on_commit(void *ctx, const rk_record *const *recs, const char *const *sources, size_t n);
/* Answers every waiter (shutdown). */
void rk_api_wake_all(rk_api *a);

#endif
