/* api_response: the local API's response object, and its sending.
 *
 * Invariants: every response of a routed request goes out through rk_api_send on the loop thread,
 * which counts it (renkei_http_requests_total by route and status, the latency histogram); a response
 * that cannot be built for lack of memory goes out as a 500 no_memory with a fixed body, so a request
 * is always answered exactly once.
 */
#include "api_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "jsonlist.h"
#include "log.h"
#include "metrics.h"

static const char api_oom_body[] =
    "{\"error\":{\"code\":\"no_memory\",\"message\":\"out of memory\",\"field\":null}}\n";

void rk_api_response_init(rk_api_response *res)
{
    memset(res, 0, sizeof *res);
}

void rk_api_response_clear(rk_api_response *res)
{
    if (res->src.read && res->src.release)
        res->src.release(res->src.ctx);
    free(res->headers);
    free(res->body);
    json_decref(res->json);
    rk_api_response_init(res);
}

/* Drops what res holds and makes it the fixed out-of-memory error (needs no allocation until send). */
static void api_oom(rk_api_response *res)
{
    rk_api_response_clear(res);
    res->status = 500;
    res->content_type = "application/json";
    res->oom = true;
}

void rk_api_json(rk_api_response *res, int status, json_t *j)
{
    rk_api_response_clear(res);
    if (!j) {
        api_oom(res);
        return;
    }
    res->status = status;
    res->content_type = "application/json";
    res->json = j;
}

void rk_api_bytes(rk_api_response *res, int status, const char *content_type, const char *headers, const void *body,
                  size_t len)
{
    rk_api_response_clear(res);
    res->status = status;
    res->content_type = content_type;
    if ((headers && headers[0] && !(res->headers = strdup(headers))) || (len && !(res->body = malloc(len)))) {
        api_oom(res);
        return;
    }
    if (len)
        memcpy(res->body, body, len);
    res->len = len;
}

void rk_api_owned(rk_api_response *res, int status, const char *content_type, const char *headers, char *body,
                  size_t len)
{
    rk_api_bytes(res, status, content_type, headers, NULL, 0);
    if (res->oom) {
        free(body);
        return;
    }
    res->body = body;
    res->len = body ? len : 0;
}

void rk_api_stream(rk_api_response *res, int status, const char *content_type, const char *headers,
                   const rk_http_body *src)
{
    rk_api_bytes(res, status, content_type, headers, NULL, 0);
    if (res->oom) {
        if (src->release)
            src->release(src->ctx);
        return;
    }
    res->src = *src;
}

void rk_api_error(rk_api_response *res, const char *code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rk_api_verror(res, code, field, fmt, ap);
    va_end(ap);
}

void rk_api_verror(rk_api_response *res, const char *code, const char *field, const char *fmt, va_list ap)
{
    char msg[512];
    rk_vformat_utf8(msg, sizeof msg, fmt, ap); /* it may quote the client: the JSON string must be UTF-8 */
    json_t *e = json_object();
    if (e && (json_object_set_new(e, "code", json_string(code)) != 0 ||
              json_object_set_new(e, "message", json_stringn(msg, strnlen(msg, sizeof msg))) != 0 ||
              json_object_set_new(e, "field", field && field[0] ? json_string(field) : json_null()) != 0)) {
        json_decref(e);
        e = NULL;
    }
    rk_api_json(res, rk_errcode_status(code), e ? json_pack("{s:o}", "error", e) : NULL);
}

void rk_api_rk_error(rk_api_response *res, const rk_error *err)
{
    rk_api_error(res, err->code[0] ? err->code : "internal", err->field, "%s", err->message);
}

void rk_api_response_render(rk_api_response *res)
{
    if (!res->json)
        return;
    rk_buf b;
    rk_buf_init(&b);
    bool ok = rk_buf_reserve(&b, 4096) == 0 && rk_jsonlist_dump(res->json, JSON_COMPACT, &b) == 0 &&
              rk_buf_append(&b, "\n", 1) == 0;
    json_decref(res->json);
    res->json = NULL;
    if (!ok) {
        rk_buf_free(&b);
        api_oom(res);
        return;
    }
    free(res->body);
    res->body = rk_buf_take(&b, &res->len);
}

void rk_api_send(rk_api *a, rk_http_req *req, const char *route, rk_api_response *res)
{
    if (res->status == 0) /* a handler that filled nothing: a bug, answered rather than left hanging */
        rk_api_error(res, "internal", NULL, "the handler gave no response");
    rk_api_response_render(res);
    if (res->oom && (res->body = malloc(sizeof api_oom_body - 1))) { /* if even this fails, it goes out empty */
        memcpy(res->body, api_oom_body, sizeof api_oom_body - 1);
        res->len = sizeof api_oom_body - 1;
    }
    /* an HTTP status is three digits; printf here ran for every response on the loop thread */
    char code[4] = {(char)('0' + res->status / 100 % 10), (char)('0' + res->status / 10 % 10),
                    (char)('0' + res->status % 10), '\0'};
    double secs = (double)(rk_monotonic_ns() - req->start_ns) / 1e9;
    rk_metrics *m = a->node->metrics;
    rk_metrics_add2(m, "renkei_http_requests_total", "route", route, "code", code, 1);
    rk_metrics_observe(m, "renkei_http_request_duration_seconds", "route", route, secs);
    rk_debug("api", "%s %s -> %d (%.3f ms)", req->method, req->path, res->status, secs * 1e3);
    if (res->src.read) {
        rk_http_respond_body(req, res->status, res->content_type, res->headers, &res->src);
        memset(&res->src, 0, sizeof res->src); /* released by http.c */
    } else {
        rk_http_respond_owned(req, res->status, res->content_type, res->headers, res->body, res->len);
    }
    res->body = NULL;
    rk_api_response_clear(res);
}
