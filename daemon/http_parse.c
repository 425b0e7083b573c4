/* http_parse: turns a connection's input bytes into requests, one at a time, however they are split
 * into reads and however many are pipelined: http_parser's callbacks gather one request (target,
 * headers, body) into its connection (http_conn.h) and enforce the request's size limits, and
 * rk_http_parse_take makes an rk_http_req of it. No I/O and no timers here (the caller does them on
 * the events rk_http_parse_step reports), so tests/fuzz/fuzz_http.c runs this file alone.
 *
 * A callback that meets a limit (414, 431, 413) or runs out of memory does not fail the parse: it sets
 * the connection's reject_code and pauses the parser, and http.c answers with that code's status and
 * closes. A complete message pauses the parser too, so pipelined requests wait until the previous
 * response is queued, and so do headers asking for "100 Continue", so it goes out before the body is
 * read. Of the headers only those the API reads are kept; one of the RK_HDR_* headers sent twice is
 * kept as NULL and flagged, so a check never picks one of two values.
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

void rk_http_conn_free_request(http_conn *c)
{
    rk_buf_reset(&c->url);
    rk_buf_reset(&c->body);
    rk_buf_reset(&c->hname);
    rk_buf_reset(&c->hval);
    free(c->inm);
    free(c->ims);
    c->inm = c->ims = NULL;
    for (int i = 0; i < RK_HDR_COUNT; i++) {
        free(c->hdr[i]);
        c->hdr[i] = NULL;
    }
    c->dup_headers = 0;
    c->last_was_value = false;
    c->header_bytes = 0;
    c->expect_continue = false;
    c->msg_complete = false;
}

void rk_http_parse_release(http_conn *c)
{
    rk_http_conn_free_request(c);
    rk_buf_free(&c->in);
    rk_buf_free(&c->url);
    rk_buf_free(&c->body);
    rk_buf_free(&c->hname);
    rk_buf_free(&c->hval);
}

static int on_message_begin(http_parser *p)
{
    http_conn *c = p->data;
    rk_http_conn_free_request(c);
    c->in_message = true;
    c->message_began = true; /* the caller starts the request's timer */
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
        c->continue_due = true;
        http_parser_pause(p, 1);
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

static const http_parser_settings http_parse_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void rk_http_parse_init(http_conn *c)
{
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
}

rk_http_step rk_http_parse_step(http_conn *c)
{
    size_t n = http_parser_execute(&c->parser, &http_parse_settings, c->in.data + c->in_off, c->in.len - c->in_off);
    c->in_off += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
        http_parser_pause(&c->parser, 0);
        if (c->reject_code)
            return RK_HTTP_STEP_REJECT;
        if (c->continue_due) {
            c->continue_due = false;
            return RK_HTTP_STEP_CONTINUE;
        }
        return c->msg_complete ? RK_HTTP_STEP_REQUEST : RK_HTTP_STEP_MORE;
    }
    return e == HPE_OK ? RK_HTTP_STEP_MORE : RK_HTTP_STEP_MALFORMED;
}

static char *dup_range(const char *s, size_t off, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s + off, len);
        d[len] = '\0';
    }
    return d;
}

void rk_http_req_free(rk_http_req *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->query);
    free(r->body);
    free(r->if_none_match);
    free(r->if_modified_since);
    for (int i = 0; i < RK_HDR_COUNT; i++)
        free(r->hdr[i]);
    free(r);
}

rk_http_req *rk_http_parse_take(http_conn *c, const char **code)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    const char *url = c->url.data ? c->url.data : "";
    if (http_parser_parse_url(url, c->url.len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH))) {
        *code = "invalid_request";
        return NULL;
    }
    rk_http_req *r = calloc(1, sizeof *r);
    if (!r) {
        *code = "no_memory";
        return NULL;
    }
    r->method = http_method_str((enum http_method)c->parser.method);
    r->path = dup_range(url, u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    if (u.field_set & (1 << UF_QUERY))
        r->query = dup_range(url, u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    /* the body buffer is handed over, so an idle connection does not keep a large one */
    r->body_len = c->body.len;
    r->body = rk_buf_take(&c->body, NULL);
    r->if_none_match = c->inm;
    r->if_modified_since = c->ims;
    c->inm = c->ims = NULL;
    for (int i = 0; i < RK_HDR_COUNT; i++) {
        r->hdr[i] = c->hdr[i];
        c->hdr[i] = NULL;
    }
    r->dup_headers = c->dup_headers;
    r->tcp = c->tcp;
    r->has_cred = c->has_cred;
    r->uid = c->uid;
    r->gid = c->gid;
    r->pid = c->pid;
    r->start_ns = rk_monotonic_ns();
    r->keep_alive = http_should_keep_alive(&c->parser) && !c->srv->stopping;
    rk_http_conn_free_request(c);
    if (!r->path || !r->body || ((u.field_set & (1 << UF_QUERY)) && !r->query)) {
        rk_http_req_free(r);
        *code = "no_memory";
        return NULL;
    }
    return r;
}
