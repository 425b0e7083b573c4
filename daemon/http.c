/* http: HTTP/1.1 for the local API on libuv streams, parsed by http_parser.
 *
 * Per connection, bytes are appended to an input buffer and parsed until a request is complete; the
 * parser is then paused, the request dispatched, and parsing resumes only once the response has been
 * queued, so pipelined requests are answered strictly in order. Limits: the request line and headers
 * (414/431), the body (413 as soon as Content-Length or the chunks exceed max_body; the rest is not
 * read and the connection closes), and a timeout for a request that is not completed in time (408).
 * Memory per connection is bounded whatever the client does: while a request is in flight or more than
 * MAX_UNSENT_BYTES of responses wait for the client, nothing further is parsed and reading stops as
 * soon as some input is buffered, so a client that pipelines without reading holds at most its unsent
 * responses (the bound plus the last response), one read of input and one request. The number of
 * connections is capped too (max_connections, in http_listen.c). A body given as a source rather than
 * in memory (rk_http_respond_body: an export in its spool file) is read STREAM_PIECE bytes at a time,
 * each piece once the previous one has been written, so such a response holds one piece however large
 * it is and however slowly it is read; the idle timer restarts with each piece written, so a slow
 * reader keeps going and one that stops is closed after IDLE_TIMEOUT_MS (nginx's send_timeout).
 * Every response the server makes itself, before a request reaches the handler (400, 408, 413, 414,
 * 431, 503, 500), is counted in renkei_http_rejections_total by status.
 * A connection that closes while its request is in flight orphans the request (req->conn = NULL):
 * the handler still owns it and its later response is discarded, so there is no use after free.
 * Gathering one request from the parser's callbacks is http_parse.c's job, the listeners and the
 * server's start and stop http_listen.c's; they share http_conn.h.
 */
#include "http.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "http_conn.h"
#include "log.h"
#include "metrics.h"

#define REQUEST_TIMEOUT_MS 30000
#define IDLE_TIMEOUT_MS 60000
/* After an error response on a request whose body was not read (413), the connection reads and
 * discards for a little while before closing, so the client gets to read the error instead of a
 * reset ("lingering close"); bounded in time and bytes. */
#define LINGER_MS 2000
/* Responses a client has not taken yet: past this, no further pipelined request of that connection is
 * processed (nor read) until the client reads, so a client that never reads holds bounded memory.
 * Small enough that many such clients together stay small; a normal client never reaches it, since it
 * reads each response (however large) before the next request is looked at. */
#define MAX_UNSENT_BYTES (64u << 10)
/* The same in responses rather than bytes: small ones cost more in allocations than in bytes. */
#define MAX_UNSENT_RESPONSES 8
/* Reads (GET, HEAD) that a connection pipelined behind its previous request run this many at a time
 * server-wide, in turns, about the thread pool's size: a client's first request goes straight to the
 * handler, but 50 clients pipelining reads cannot fill the pool's queue ahead of everyone else's. */
#define MAX_PIPELINED_READS 4
#define LINGER_MAX_BYTES (64u << 20)
/* The piece of a streamed body read and queued at a time (a blocking read from a file the page cache
 * usually still holds, on the loop thread, like nginx without aio). */
#define STREAM_PIECE (64u << 10)

/* Every response of the TCP listener, which browsers reach: scripts, styles, images and fetches from
 * the node itself only, no framing (clickjacking), no MIME sniffing, and no Referer that could carry
 * a login token elsewhere. */
#define HTTP_WEB_HEADERS                                                                                 \
    "Content-Security-Policy: default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors " \
    "'none'\r\nX-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"

static void on_timer(uv_timer_t *t);

void rk_http_count_rejection(rk_http_server *s, int status)
{
    char v[8];
    snprintf(v, sizeof v, "%d", status);
    if (s->metrics)
        rk_metrics_add(s->metrics, "renkei_http_rejections_total", "code", v, 1);
}

/* ---------------------------------------------------------------------------- connection life */

static void on_conn_handle_closed(uv_handle_t *h)
{
    http_conn *c = h->data;
    rk_http_server *s = c->srv;
    s->open_handles--;
    if (--c->open_handles > 0)
        return;
    rk_http_parse_release(c);
    free(c);
    rk_http_server_maybe_free(s);
}

static void turn_leave(http_conn *c);

/* The streamed body is all queued, or will not be: its source is released. */
static void stream_end(http_conn *c)
{
    if (!c->streaming)
        return;
    c->streaming = false;
    if (c->stream.release)
        c->stream.release(c->stream.ctx);
    memset(&c->stream, 0, sizeof c->stream);
}

void rk_http_conn_close(http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    rk_http_server *s = c->srv;
    LIST_REMOVE(c, link);
    s->conn_count--;
    if (s->stopping && LIST_EMPTY(&s->conns))
        rk_http_server_stop_draining(s);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->h.stream, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    stream_end(c);
    turn_leave(c);
    rk_http_req *r = c->inflight;
    c->inflight = NULL;
    if (r) {
        r->conn = NULL; /* orphaned: the handler still owns it */
        if (r->on_abort)
            r->on_abort(r, r->abort_ctx);
    }
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status; /* the linger timer or EOF closes the connection */
}

static void on_linger_timeout(uv_timer_t *t)
{
    rk_http_conn_close(t->data);
}

typedef struct write_req {
    uv_write_t w;
    http_conn *c;
    char *data, *data2;
} write_req;

/* Also while a body is being streamed: the next response waits for the end of this one. */
static bool write_backlogged(http_conn *c)
{
    return c->streaming || uv_stream_get_write_queue_size(&c->h.stream) > MAX_UNSENT_BYTES ||
           c->pending_writes >= MAX_UNSENT_RESPONSES;
}

/* The next piece of the streamed body, malloc'd (*n bytes); the stream ends with its last piece.
 * NULL: out of memory or a read error. */
static char *stream_piece(http_conn *c, size_t *n)
{
    uint64_t left = c->stream.len - c->stream_off;
    *n = left < STREAM_PIECE ? (size_t)left : STREAM_PIECE;
    char *p = malloc(*n ? *n : 1);
    if (!p || c->stream.read(c->stream.ctx, c->stream_off, p, *n) != 0) {
        free(p);
        return NULL;
    }
    c->stream_off += *n;
    if (c->stream_off == c->stream.len)
        stream_end(c);
    return p;
}

static void conn_write2(http_conn *c, char *data, size_t len, char *data2, size_t len2);

static void process(http_conn *c, bool pipelined);
static void update_reading(http_conn *c);

static void on_write(uv_write_t *w, int status)
{
    write_req *wr = (write_req *)w;
    http_conn *c = wr->c;
    free(wr->data);
    free(wr->data2);
    free(wr);
    c->pending_writes--;
    if (c->closing)
        return;
    if (status < 0) {
        rk_http_conn_close(c);
    } else if (c->streaming) {
        /* the client took a piece: the next one, and the client has IDLE_TIMEOUT_MS for it */
        size_t n;
        char *piece = stream_piece(c, &n);
        if (!piece) {
            rk_warn("http", "reading a response body failed; closing the connection");
            rk_http_conn_close(c);
            return;
        }
        conn_write2(c, piece, n, NULL, 0);
        if (!c->closing)
            uv_timer_start(&c->timer, on_timer, IDLE_TIMEOUT_MS, 0);
    } else if (c->close_after_write && c->pending_writes == 0) {
        if (c->lingering && uv_shutdown(&c->shutdown, &c->h.stream, on_shutdown) == 0)
            uv_timer_start(&c->timer, on_linger_timeout, LINGER_MS, 0);
        else
            rk_http_conn_close(c);
    } else if (!c->close_after_write && !c->inflight && !write_backlogged(c)) {
        /* the client took enough of its responses: go on with the requests it pipelined */
        process(c, true);
        update_reading(c);
    }
}

/* Takes ownership of data and data2 (either may be NULL; data2 follows data on the wire). */
static void conn_write2(http_conn *c, char *data, size_t len, char *data2, size_t len2)
{
    write_req *wr = malloc(sizeof *wr);
    if (!wr) {
        free(data);
        free(data2);
        rk_http_conn_close(c);
        return;
    }
    wr->c = c;
    wr->data = data;
    wr->data2 = data2;
    uv_buf_t b[2] = {uv_buf_init(data, (unsigned)len), uv_buf_init(data2, (unsigned)len2)};
    if (uv_write(&wr->w, &c->h.stream, b, data2 && len2 ? 2 : 1, on_write) != 0) {
        free(data);
        free(data2);
        free(wr);
        rk_http_conn_close(c);
        return;
    }
    c->pending_writes++;
}

/* Takes ownership of data. */
void rk_http_conn_write(http_conn *c, char *data, size_t len)
{
    conn_write2(c, data, len, NULL, 0);
}

/* Appends the decimal digits of v. */
static int http_put_uint(rk_buf *out, size_t v)
{
    char d[RK_UINT_DIGITS];
    return rk_buf_append(out, d, rk_format_uint(v, d));
}

/* body NULL with len > 0: only the headers (the caller sends the body after them). Every response
 * goes through here on the loop thread, so the head is appended piece by piece, without printf's
 * format parsing, into a buffer sized once for head and body. */
int rk_http_build_response(rk_buf *out, int status, const char *ctype, const char *extra, const void *body, size_t len,
                           bool keep_alive, bool web)
{
    size_t head = 160 + (web ? sizeof HTTP_WEB_HEADERS : 0) + (ctype ? strlen(ctype) : 0) + (extra ? strlen(extra) : 0);
    if (rk_buf_reserve(out, head + (body ? len : 0)) != 0 || rk_buf_puts(out, "HTTP/1.1 ") != 0 ||
        http_put_uint(out, (size_t)status) != 0 || rk_buf_puts(out, " ") != 0 ||
        rk_buf_puts(out, http_status_str((enum http_status)status)) != 0 || rk_buf_puts(out, "\r\n") != 0)
        return -1;
    if (web && rk_buf_puts(out, HTTP_WEB_HEADERS) != 0)
        return -1;
    if (ctype &&
        (rk_buf_puts(out, "Content-Type: ") != 0 || rk_buf_puts(out, ctype) != 0 || rk_buf_puts(out, "\r\n") != 0))
        return -1;
    if (rk_buf_puts(out, "Content-Length: ") != 0 || http_put_uint(out, len) != 0 || rk_buf_puts(out, "\r\n") != 0 ||
        (extra && rk_buf_puts(out, extra) != 0) || (!keep_alive && rk_buf_puts(out, "Connection: close\r\n") != 0) ||
        rk_buf_puts(out, "\r\n") != 0)
        return -1;
    return len && body ? rk_buf_append(out, body, len) : 0;
}

/* An error produced by the server itself (limits, malformed requests): JSON like the API's, with the
 * code's status from errcode.c. */
static void conn_fail(http_conn *c, const char *code, const char *msg)
{
    int status = rk_errcode_status(code);
    if (c->closing)
        return;
    rk_http_count_rejection(c->srv, status);
    rk_buf body, out;
    rk_buf_init(&body);
    rk_buf_init(&out);
    /* code and msg are fixed strings without characters that need JSON escaping */
    if (rk_buf_printf(&body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"field\":null}}\n", code, msg) == 0 &&
        rk_http_build_response(&out, status, "application/json", NULL, body.data, body.len, false, c->tcp) == 0) {
        size_t len;
        char *data = rk_buf_take(&out, &len);
        c->close_after_write = true;
        c->lingering = c->reading;                               /* keep draining what the client is still sending */
        uv_timer_start(&c->timer, on_timer, IDLE_TIMEOUT_MS, 0); /* a client that never reads it */
        rk_http_conn_write(c, data, len);
    } else {
        rk_http_conn_close(c);
    }
    rk_buf_free(&body);
    rk_buf_free(&out);
}

/* ---------------------------------------------------------------------------- dispatch */

static void on_timer(uv_timer_t *t)
{
    http_conn *c = t->data;
    if (c->inflight || c->waiting || c->closing)
        return;
    if (uv_stream_get_write_queue_size(&c->h.stream) > 0) {
        rk_debug("http", "closing a connection whose client has not read its response for %d s",
                 IDLE_TIMEOUT_MS / 1000);
        rk_http_conn_close(c);
        return;
    }
    if (c->in_message || c->in.len > c->in_off)
        conn_fail(c, "request_timeout", "the request was not completed in time");
    else
        rk_http_conn_close(c);
}

void rk_http_conn_arm_timer(http_conn *c)
{
    if (c->closing)
        return;
    if (c->inflight || c->waiting)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, c->in_message ? REQUEST_TIMEOUT_MS : IDLE_TIMEOUT_MS, 0);
}

static void start(http_conn *c, rk_http_req *r)
{
    r->conn = c;
    c->inflight = r;
    rk_http_conn_arm_timer(c);
    c->srv->handler(r, c->srv->ctx);
}

/* Gives free turns to the connections waiting for one, first come first served. */
static void turn_wake(rk_http_server *s)
{
    while (s->turns_used < MAX_PIPELINED_READS && !TAILQ_EMPTY(&s->turns) && !s->stopping) {
        http_conn *w = TAILQ_FIRST(&s->turns);
        TAILQ_REMOVE(&s->turns, w, turn_link);
        rk_http_req *r = w->waiting;
        w->waiting = NULL;
        w->holds_turn = true;
        s->turns_used++;
        start(w, r);
    }
}

/* The connection's read is answered or the connection closes: its turn (if any) passes on, and it
 * leaves the queue (its waiting request, if any, is dropped). */
static void turn_leave(http_conn *c)
{
    rk_http_server *s = c->srv;
    if (c->waiting) {
        TAILQ_REMOVE(&s->turns, c, turn_link);
        rk_http_req_free(c->waiting);
        c->waiting = NULL;
    }
    if (c->holds_turn) {
        c->holds_turn = false;
        s->turns_used--;
        turn_wake(s);
    }
}

static void dispatch(http_conn *c)
{
    const char *code = "no_memory";
    rk_http_req *r = rk_http_parse_take(c, &code);
    if (!r) {
        conn_fail(c, code, strcmp(code, "no_memory") == 0 ? "out of memory" : "malformed request target");
        return;
    }
    bool read = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    if (c->pipelined && read) {
        rk_http_server *s = c->srv;
        if (s->turns_used >= MAX_PIPELINED_READS || !TAILQ_EMPTY(&s->turns)) {
            c->waiting = r;
            TAILQ_INSERT_TAIL(&s->turns, c, turn_link);
            uv_timer_stop(&c->timer); /* as for a request in flight */
            return;
        }
        c->holds_turn = true;
        s->turns_used++;
    }
    start(c, r);
}

static void send_continue(http_conn *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char *d = malloc(sizeof cont - 1);
    if (d) {
        memcpy(d, cont, sizeof cont - 1);
        rk_http_conn_write(c, d, sizeof cont - 1);
    }
}

/* pipelined: the input came before the previous response went out (called after a response). */
static void process(http_conn *c, bool pipelined)
{
    if (c->processing)
        return;
    c->processing = true;
    c->pipelined = pipelined;
    while (!c->closing && !c->inflight && !c->waiting && !c->close_after_write && !write_backlogged(c) &&
           c->in_off < c->in.len) {
        size_t before = c->in_off;
        rk_http_step step = rk_http_parse_step(c);
        if (c->message_began) {
            /* from now on the request must complete within REQUEST_TIMEOUT_MS, however slowly its
             * bytes come: the timer is not restarted by later reads */
            c->message_began = false;
            rk_http_conn_arm_timer(c);
        }
        if (step == RK_HTTP_STEP_REQUEST) {
            dispatch(c);
        } else if (step == RK_HTTP_STEP_CONTINUE) {
            send_continue(c);
        } else if (step == RK_HTTP_STEP_REJECT) {
            conn_fail(c, c->reject_code, rk_http_reject_message(c->reject_code));
            break;
        } else if (step == RK_HTTP_STEP_MALFORMED) {
            conn_fail(c, "invalid_request", "malformed HTTP request");
            break;
        } else if (c->in_off == before) {
            break;
        }
    }
    if (c->in_off == c->in.len) {
        rk_buf_reset(&c->in);
        c->in_off = 0;
    } else if (c->in_off > 0) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in.data[c->in.len] = '\0';
        c->in_off = 0;
    }
    c->processing = false;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    http_conn *c = h->data;
    if (rk_buf_reserve(&c->in, 65536) != 0) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = c->in.data + c->in.len;
    buf->len = c->in.cap - c->in.len - 1;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    http_conn *c = st->data;
    if (nread < 0) {
        /* EOF or error: a request still in flight is orphaned (the client is gone) */
        rk_http_conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    if (c->lingering) {
        c->lingered += (size_t)nread;
        rk_buf_reset(&c->in);
        c->in_off = 0;
        if (c->lingered > LINGER_MAX_BYTES)
            rk_http_conn_close(c);
        return;
    }
    c->in.len += (size_t)nread;
    c->in.data[c->in.len] = '\0';
    process(c, false);
    update_reading(c);
}

void rk_http_set_abort(rk_http_req *req, rk_http_abort_cb cb, void *ctx)
{
    req->on_abort = cb;
    req->abort_ctx = ctx;
}

/* The common part of the respond functions: with `owned` set, the body is that buffer (taken over
 * and sent after the headers without a copy); with `src` set, it is read from there in pieces (len is
 * its length); else `body` is copied after the headers. */
static void respond(rk_http_req *req, int status, const char *content_type, const char *extra_headers, const void *body,
                    char *owned, size_t len, const rk_http_body *src)
{
    http_conn *c = req->conn;
    bool keep = req->keep_alive;
    /* HEAD: the headers GET would send, Content-Length included, and no body (RFC 9110 9.3.2) */
    bool head = req->method && strcmp(req->method, "HEAD") == 0;
    rk_http_req_free(req);
    if (src && (head || !c || c->closing || !src->len)) {
        if (src->release)
            src->release(src->ctx);
        src = NULL;
    }
    if (head) {
        free(owned);
        owned = NULL;
        body = NULL;
    }
    if (!c || c->closing) {
        if (c)
            c->inflight = NULL;
        free(owned);
        return; /* orphaned: the client left */
    }
    c->inflight = NULL;
    turn_leave(c);
    if (c->srv->stopping)
        keep = false;
    rk_buf out;
    rk_buf_init(&out);
    char *piece = NULL;
    size_t piece_len = 0;
    if (src) {
        c->stream = *src;
        c->stream_off = 0;
        c->streaming = true; /* released by stream_end, whatever happens next */
        owned = piece = stream_piece(c, &piece_len);
    }
    if ((src && !piece) || rk_http_build_response(&out, status, content_type, extra_headers, owned ? NULL : body, len,
                                                  keep, c->tcp) != 0) {
        rk_buf_free(&out);
        free(owned);
        rk_http_conn_close(c);
        return;
    }
    if (src)
        len = piece_len; /* what follows the headers in this write */
    size_t n;
    char *data = rk_buf_take(&out, &n);
    if (!keep) {
        c->close_after_write = true;
        if (c->reading) {
            uv_read_stop(&c->h.stream);
            c->reading = false;
        }
    }
    conn_write2(c, data, n, owned, owned ? len : 0);
    if (c->closing)
        return;
    if (c->close_after_write) {
        uv_timer_start(&c->timer, on_timer, IDLE_TIMEOUT_MS, 0); /* a client that never reads it */
        return;
    }
    rk_http_conn_arm_timer(c);
    process(c, true);
    update_reading(c);
}

/* Reads while the connection can use input: not while a request is in flight or responses wait for
 * the client and some input is already buffered unparsed, so what one connection holds of input is
 * one read's worth (the kernel's buffer pushes back on the client). Without this, every response
 * would let one more read in ahead of the parser, and a pipelining client would grow it at will. */
static void update_reading(http_conn *c)
{
    if (c->closing || (c->close_after_write && !c->lingering))
        return;
    bool want = c->lingering || !((c->inflight || c->waiting || write_backlogged(c)) && c->in.len > c->in_off);
    if (want && !c->reading && uv_read_start(&c->h.stream, on_alloc, on_read) == 0) {
        c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop(&c->h.stream);
        c->reading = false;
    }
}

void rk_http_respond(rk_http_req *req, int status, const char *content_type, const char *extra_headers,
                     const void *body, size_t len)
{
    respond(req, status, content_type, extra_headers, body, NULL, len, NULL);
}

void rk_http_respond_body(rk_http_req *req, int status, const char *content_type, const char *extra_headers,
                          const rk_http_body *src)
{
    respond(req, status, content_type, extra_headers, NULL, NULL, (size_t)src->len, src);
}

void rk_http_respond_owned(rk_http_req *req, int status, const char *content_type, const char *extra_headers,
                           char *body, size_t len)
{
    if (!body || !len) {
        free(body);
        respond(req, status, content_type, extra_headers, NULL, NULL, 0, NULL);
        return;
    }
    respond(req, status, content_type, extra_headers, NULL, body, len, NULL);
}

void rk_http_conn_begin(http_conn *c)
{
    rk_http_parse_init(c);
    if (uv_read_start(&c->h.stream, on_alloc, on_read) != 0) {
        rk_http_conn_close(c);
        return;
    }
    c->reading = true;
    rk_http_conn_arm_timer(c);
}
