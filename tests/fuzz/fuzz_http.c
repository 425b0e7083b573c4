/* fuzz_http: bytes from a local API client, as daemon/http_parse.c turns them into requests. The
 * first input byte chooses how the rest is cut into reads (1..64 bytes, or all at once), so requests
 * split anywhere and pipelined requests arrive together; every complete request is taken as the
 * server takes it, and its query string decoded as the routes decode it (lib/params.c). The input is
 * parsed up to the first rejection, as the connection would then close.
 *
 * Invariants checked beyond the sanitizers: a request has a method and a path, its body is no longer
 * than max_body, a rejection names a code with a message, and parsing always moves forward.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_conn.h"
#include "params.h"

#define FUZZ_MAX_BODY 4096 /* small, so the 413 paths are reached */

static void take_request(http_conn *c)
{
    const char *code = NULL;
    rk_http_req *r = rk_http_parse_take(c, &code);
    if (!r) {
        if (!code || (strcmp(code, "invalid_request") != 0 && strcmp(code, "no_memory") != 0))
            abort();
        return;
    }
    if (!r->method || !r->path || !r->body || r->body_len > FUZZ_MAX_BODY || r->body[r->body_len] != '\0')
        abort();
    rk_params p;
    rk_error err;
    if (rk_params_parse(r->query, &p, &err) == 0) {
        for (size_t i = 0; i < p.count; i++)
            if (!p.keys[i] || !p.values[i])
                abort();
        rk_params_free(&p);
    }
    rk_http_req_free(r);
}

/* Parses what c->in holds; false once the connection would close. */
static bool parse_available(http_conn *c)
{
    while (c->in_off < c->in.len) {
        size_t before = c->in_off;
        rk_http_step step = rk_http_parse_step(c);
        c->message_began = false;
        if (c->in_off < before || c->in_off > c->in.len)
            abort();
        if (step == RK_HTTP_STEP_REQUEST) {
            take_request(c);
        } else if (step == RK_HTTP_STEP_REJECT) {
            if (!c->reject_code || !rk_http_reject_message(c->reject_code))
                abort();
            return false;
        } else if (step == RK_HTTP_STEP_MALFORMED) {
            return false;
        } else if (step == RK_HTTP_STEP_MORE && c->in_off == before) {
            break;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = data[0] % 65; /* 0: everything in one read */
    data++;
    size--;
    rk_http_server srv;
    memset(&srv, 0, sizeof srv);
    srv.max_body = FUZZ_MAX_BODY;
    http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return 0;
    c->srv = &srv;
    rk_http_parse_init(c);
    for (size_t fed = 0; fed < size;) {
        size_t n = chunk && chunk < size - fed ? chunk : size - fed;
        if (rk_buf_append(&c->in, (const char *)data + fed, n) != 0)
            break;
        fed += n;
        if (!parse_available(c))
            break;
    }
    rk_http_parse_release(c);
    free(c);
    return 0;
}
