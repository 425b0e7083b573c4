/* http_conn: the state of one HTTP connection and of the server, shared by the parts of the HTTP
 * server: http.c (connections, buffering, limits in time and memory, dispatch and responses),
 * http_parse.c (http_parser's callbacks, which gather one request and enforce its size limits) and
 * http_listen.c (listeners, the connection cap, start and stop).
 *
 * Only those files include this header; everyone else sees rk_http_server as opaque (http.h).
 * The parser callbacks never close a connection: they stop parsing with reject_code set, and
 * http.c answers with the error and closes.
 */
#ifndef RENKEI_HTTP_CONN_H
#define RENKEI_HTTP_CONN_H

#include <http_parser.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <uv.h>

#include "http.h"
#include "util.h"

/* Request size limits: the request target and the whole header block. */
#define RK_HTTP_MAX_URL 8192
#define RK_HTTP_MAX_HEADER_BYTES (32 * 1024)

typedef struct http_conn {
    union {
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    uv_timer_t timer;
    rk_http_server *srv;
    LIST_ENTRY(http_conn) link; /* in the server's conns until it closes */
    int open_handles;
    http_parser parser;
    rk_buf in;
    size_t in_off;
    bool reading, processing, closing, close_after_write, in_message, msg_complete;
    bool message_began; /* set by the parser when a request starts: its timer is due */
    bool continue_due;  /* set by the parser: "100 Continue" is due before the body is read */
    bool lingering;     /* discard input; close after the error response, EOF or LINGER_MS */
    size_t lingered;
    uv_shutdown_t shutdown;
    int pending_writes;
    /* a response body read from its source one piece at a time, each after the previous one was
     * written (http.c): while streaming, the response is not complete */
    rk_http_body stream;
    uint64_t stream_off;
    bool streaming;
    const char *reject_code; /* set by a callback to stop parsing with an error */
    /* the request being parsed */
    rk_buf url, body, hname, hval;
    bool last_was_value;
    size_t header_bytes;
    char *inm, *ims;
    char *hdr[RK_HDR_COUNT];
    unsigned dup_headers;
    bool expect_continue;
    rk_http_req *inflight;
    /* Pipelined reads take turns (http.c, MAX_PIPELINED_READS): `pipelined` while parsing what came
     * before the previous response went out; a read parsed then without a free turn waits here, in
     * the server's queue, and counts as in flight for parsing and reading. */
    rk_http_req *waiting;
    TAILQ_ENTRY(http_conn) turn_link; /* in the server's turns while `waiting` is set */
    bool pipelined, holds_turn;
    bool has_cred, tcp;
    uid_t uid;
    gid_t gid;
    pid_t pid;
} http_conn;

struct rk_http_server {
    uv_loop_t *loop;
    rk_http_handler handler;
    void *ctx;
    size_t max_body;
    unsigned max_connections, conn_count; /* conn_count: the connections in conns */
    uint64_t refused_logged_ms;           /* uv_now of the last warning about max_connections */
    struct rk_metrics *metrics;           /* NULL: nothing counted */
    uv_pipe_t pipe;
    uv_tcp_t tcp;
    bool has_pipe, has_tcp, stopping;
    uv_timer_t drain; /* after stop: how long busy connections may take to finish */
    bool draining;
    int open_handles; /* listeners, connection handles and the drain timer */
    LIST_HEAD(http_conns, http_conn) conns;
    unsigned turns_used;                     /* pipelined reads in flight */
    TAILQ_HEAD(http_turns, http_conn) turns; /* connections whose pipelined read waits for a turn */
    char *socket_path;
};

/* http.c: (re)starts the connection's request or idle timer; queues data (malloc'ed, taken) for
 * writing; starts parsing and reading a connection just accepted; closes one (an in-flight request is
 * orphaned); builds a response (body NULL with len > 0: the headers only); counts a response the
 * server made itself in renkei_http_rejections_total. */
void rk_http_conn_arm_timer(http_conn *c);
void rk_http_conn_write(http_conn *c, char *data, size_t len);
void rk_http_conn_begin(http_conn *c);
void rk_http_conn_close(http_conn *c);
int rk_http_build_response(rk_buf *out, int status, const char *ctype, const char *extra, const void *body, size_t len,
                           bool keep_alive, bool web);
void rk_http_count_rejection(rk_http_server *s, int status);

/* http_listen.c: frees a stopping server once its last handle has closed; closes the drain timer
 * once the last connection of a stopping server has closed. */
void rk_http_server_maybe_free(rk_http_server *s);
void rk_http_server_stop_draining(rk_http_server *s);

/* What rk_http_parse_step met first. */
typedef enum rk_http_step {
    RK_HTTP_STEP_MORE,      /* the input so far holds no complete request (maybe part of one) */
    RK_HTTP_STEP_REQUEST,   /* a request is complete: rk_http_parse_take it before stepping again */
    RK_HTTP_STEP_CONTINUE,  /* its headers ask for "100 Continue": send it, then step again */
    RK_HTTP_STEP_REJECT,    /* a limit was met or memory ran out: reject_code says which */
    RK_HTTP_STEP_MALFORMED, /* not HTTP/1.x: answer 400 and close */
} rk_http_step;

/* http_parse.c: starts the parser of a new connection; parses c->in from c->in_off (advancing it) up
 * to the first event; makes the complete request an rk_http_req (NULL with *code "invalid_request"
 * for a bad target or "no_memory"), ready for the next; releases the request being parsed, or all the
 * connection's buffers; frees a request; the message for a reject_code. message_began is set when a
 * request starts, for the caller's timer. */
void rk_http_parse_init(http_conn *c);
rk_http_step rk_http_parse_step(http_conn *c);
rk_http_req *rk_http_parse_take(http_conn *c, const char **code);
void rk_http_conn_free_request(http_conn *c);
void rk_http_parse_release(http_conn *c);
void rk_http_req_free(rk_http_req *r);
const char *rk_http_reject_message(const char *code);

#endif
