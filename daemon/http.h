/* http: the local API's HTTP/1.1 server on libuv (a Unix socket, optionally a loopback TCP port),
 * parsing with http_parser.
 *
 * One request per connection is in flight at a time; pipelined requests wait, unparsed, until the
 * previous response is written, so responses always go out in request order. A request may be
 * answered later (writer completion, long-poll): the handler keeps the rk_http_req and calls
 * rk_http_respond exactly once. If the client goes away first, the request stays valid but is
 * orphaned, its abort callback (if any) runs, and the eventual response is dropped.
 */
#ifndef RENKEI_HTTP_H
#define RENKEI_HTTP_H

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "util.h"

typedef struct rk_http_server rk_http_server;
typedef struct rk_http_req rk_http_req;

typedef void (*rk_http_abort_cb)(rk_http_req *req, void *ctx);

/* The headers the web access checks read (web_gate.c); a header sent twice is kept as NULL and
 * flagged in rk_http_req.dup_headers, so a check never picks one of two values. */
enum { RK_HDR_HOST, RK_HDR_ORIGIN, RK_HDR_COOKIE, RK_HDR_CONTENT_TYPE, RK_HDR_CSRF, RK_HDR_COUNT };

struct rk_http_req {
    /* read-only for handlers */
    const char *method; /* "GET", "POST", ... */
    char *path;         /* raw path without the query, e.g. "/v1/records/abc%3Ax" */
    char *query;        /* raw query string without '?', NULL when absent */
    char *body;         /* NUL-terminated copy; body_len excludes the NUL */
    size_t body_len;
    char *if_none_match, *if_modified_since; /* NULL when absent */
    char *hdr[RK_HDR_COUNT];                 /* NULL when absent or repeated */
    unsigned dup_headers;                    /* bit i: hdr[i] was sent more than once */
    bool tcp;                                /* came over the TCP listener (the web page's; responses carry its CSP) */
    bool has_cred;                           /* SO_PEERCRED was available (Unix socket) */
    uid_t uid;
    gid_t gid;
    pid_t pid;
    uint64_t start_ns; /* when the request was complete */
    /* private */
    struct http_conn *conn; /* NULL once orphaned */
    bool keep_alive;
    rk_http_abort_cb on_abort;
    void *abort_ctx;
};

typedef void (*rk_http_handler)(rk_http_req *req, void *ctx);

typedef struct rk_http_options {
    const char *socket_path; /* required */
    const char *tcp;         /* optional loopback "HOST:PORT" */
    const char *group;       /* if set, the socket's group (gid lookup by name) */
    size_t max_body;
    unsigned max_connections;   /* open connections of both listeners; further ones get 503 and close */
    struct rk_metrics *metrics; /* optional: renkei_http_rejections_total */
} rk_http_options;

int rk_http_start(uv_loop_t *loop, const rk_http_options *o, rk_http_handler h, void *ctx, rk_http_server **out,
                  rk_error *err);
/* Stops accepting. Idle connections close now; busy ones after their response is written, or after
 * ten seconds if the client does not take it. The server frees itself once every handle has closed. */
void rk_http_stop(rk_http_server *s);

/* Sends the response (Content-Length framing) and frees req. extra_headers: "Name: value\r\n"... or
 * NULL. Safe on an orphaned request (it is just freed). */
void rk_http_respond(rk_http_req *req, int status, const char *content_type, const char *extra_headers,
                     const void *body, size_t len);
/* The same, taking ownership of a malloc'd body (freed in every case), which is written after the
 * headers without being copied. */
void rk_http_respond_owned(rk_http_req *req, int status, const char *content_type, const char *extra_headers,
                           char *body, size_t len);
/* A body sent in pieces as the client takes them, from a source that outlives the request (a spool
 * file): read fills exactly n bytes at off (0, or -1 on error, which closes the connection); release
 * is called exactly once, when the last piece is queued, the connection closes, or the response is
 * not sent (HEAD, orphaned request). */
typedef struct rk_http_body {
    uint64_t len;
    int (*read)(void *ctx, uint64_t off, void *buf, size_t n);
    void (*release)(void *ctx);
    void *ctx;
} rk_http_body;
/* rk_http_respond with the body read from src (Content-Length framing) rather than from memory. */
void rk_http_respond_body(rk_http_req *req, int status, const char *content_type, const char *extra_headers,
                          const rk_http_body *src);
/* Called if the client disconnects before the response; the callback may respond (which frees). */
void rk_http_set_abort(rk_http_req *req, rk_http_abort_cb cb, void *ctx);

#endif
