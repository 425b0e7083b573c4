/* http_parse: http_parser's callbacks for the local API server: they gather one request (target,
 * headers, body) into its connection (http_conn.h) and enforce the request's size limits.
 *
 * A callback that meets a limit (414, 431, 413) or runs out of memory does not fail the parse: it sets
 * the connection's reject_code and pauses the parser, and http.c answers with that code's status and
 * closes. A complete message pauses the parser too, so pipelined requests wait until the previous
 * response is queued. Of the headers only those the API reads are kept; one of the RK_HDR_* headers
 * sent twice is kept as NULL and flagged, so a check never picks one of two values.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_conn.h"

static const char *const http_hdr_names[RK_HDR_COUNT] = {"Host", "Origin", "Cookie", "Content-Type", "X-CSRF-Token"};

const char *rk_http_reject_message(const char *code)
{
    if (strcmp(code, "body_too_large") == 0)
        return "the request body is larger than api.max_body";
    if (strcmp(code, "uri_too_long") == 0)
        return "the request target is too long";
    if (strcmp(code, "headers_too_large") == 0)
        return "the request headers are too large";
    return "out of memory";
}

/* code: an errcode.c code for which rk_http_reject_message has a message. */
static int reject(http_parser *p, const char *code)
{
    http_conn *c = p->data;
    c->reject_code = code;
    http_parser_pause(p, 1);
    return 0;
}

static int on_message_begin(http_parser *p)
{
    http_conn *c = p->data;
    rk_http_conn_free_request(c);
    c->in_message = true;
    rk_http_conn_arm_timer(c); /* from now on the request must complete within REQUEST_TIMEOUT_MS */
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    if (c->url.len + len > RK_HTTP_MAX_URL)
        return reject(p, "uri_too_long");
    return rk_buf_append(&c->url, at, len) == 0 ? 0 : reject(p, "no_memory");
}

static void finish_header(http_conn *c)
{
    if (!c->hname.len)
        return;
    const char *n = c->hname.data, *v = c->hval.data ? c->hval.data : "";
    if (strcasecmp(n, "If-None-Match") == 0) {
        free(c->inm);
        c->inm = strdup(v);
    } else if (strcasecmp(n, "If-Modified-Since") == 0) {
        free(c->ims);
        c->ims = strdup(v);
    } else if (strcasecmp(n, "Expect") == 0 && strcasecmp(v, "100-continue") == 0) {
        c->expect_continue = true;
    } else {
        for (int i = 0; i < RK_HDR_COUNT; i++) {
            if (strcasecmp(n, http_hdr_names[i]) != 0)
                continue;
            if (c->hdr[i] || (c->dup_headers & (1u << i))) {
                free(c->hdr[i]);
                c->hdr[i] = NULL;
                c->dup_headers |= 1u << i;
            } else {
                c->hdr[i] = strdup(v); /* NULL when out of memory: every check then refuses */
            }
        }
    }
    rk_buf_reset(&c->hname);
    rk_buf_reset(&c->hval);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    if ((c->header_bytes += len) > RK_HTTP_MAX_HEADER_BYTES)
        return reject(p, "headers_too_large");
    if (c->last_was_value) {
        finish_header(c);
        c->last_was_value = false;
    }
    return rk_buf_append(&c->hname, at, len) == 0 ? 0 : reject(p, "no_memory");
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    if ((c->header_bytes += len) > RK_HTTP_MAX_HEADER_BYTES)
        return reject(p, "headers_too_large");
    c->last_was_value = true;
    return rk_buf_append(&c->hval, at, len) == 0 ? 0 : reject(p, "no_memory");
}

static int on_headers_complete(http_parser *p)
{
    http_conn *c = p->data;
    finish_header(c);
    bool has_length = p->content_length != ULLONG_MAX && p->content_length > 0;
    if (has_length && p->content_length > c->srv->max_body)
        return reject(p, "body_too_large");
    if (c->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        char *d = malloc(sizeof cont - 1);
        if (d) {
            memcpy(d, cont, sizeof cont - 1);
            rk_http_conn_write(c, d, sizeof cont - 1);
        }
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_conn *c = p->data;
    if (c->body.len + len > c->srv->max_body)
        return reject(p, "body_too_large");
    return rk_buf_append(&c->body, at, len) == 0 ? 0 : reject(p, "no_memory");
}

static int on_message_complete(http_parser *p)
{
    http_conn *c = p->data;
    c->msg_complete = true;
    c->in_message = false;
    http_parser_pause(p, 1);
    return 0;
}

void rk_http_parse_settings(http_parser_settings *s)
{
    s->on_message_begin = on_message_begin;
    s->on_url = on_url;
    s->on_header_field = on_header_field;
    s->on_header_value = on_header_value;
    s->on_headers_complete = on_headers_complete;
    s->on_body = on_body;
    s->on_message_complete = on_message_complete;
}
