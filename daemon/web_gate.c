/* web_gate: the access rules of the TCP listener, which browsers reach (docs/api.md, "Web access").
 *
 * In order: the Host must name this listener (its configured address, or localhost on its port) or
 * the host of [api] public_url, which defeats DNS rebinding; the login page, the page's static files
 * and the public exports need nothing more; everything else needs a live session cookie; a request
 * that changes state also needs an Origin of this node and the session's CSRF token in X-CSRF-Token;
 * and a body sent to the API must be declared application/json, which a cross-site form or a
 * "simple" fetch cannot do without a preflight this listener never grants.
 *
 * Invariant: every refusal is answered here and the request goes no further, so no handler runs for
 * it; anything unparsable (a header sent twice, a Host without a port) is refused.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uriparser/Uri.h>

#include "session.h"
#include "web.h"

uint64_t rk_web_now(void)
{
    return rk_monotonic_ns() / 1000000000u;
}

/* Splits "host:port" or "[v6]:port" into host (brackets kept) and port ("" when absent). */
static bool gate_split_host(const char *hostport, char *host, size_t hsize, const char **port)
{
    const char *colon = hostport[0] == '[' ? strchr(hostport, ']') : hostport;
    if (!colon)
        return false;
    colon = strchr(colon, ':');
    size_t hl = colon ? (size_t)(colon - hostport) : strlen(hostport);
    if (hl == 0 || hl >= hsize)
        return false;
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    *port = colon ? colon + 1 : "";
    return true;
}

static bool gate_is_loopback_name(const char *h)
{
    return strcasecmp(h, "localhost") == 0 || strcmp(h, "127.0.0.1") == 0 || strcmp(h, "[::1]") == 0;
}

/* The host of [api] public_url into out ("" when unset or unreadable). */
static void gate_public_host(const rk_api *a, char *out, size_t size)
{
    out[0] = '\0';
    const char *url = a->node->cfg->public_url;
    UriUriA uri;
    if (!url || uriParseSingleUriA(&uri, url, NULL) != URI_SUCCESS)
        return;
    size_t n = (size_t)(uri.hostText.afterLast - uri.hostText.first);
    if (uri.hostText.first && n < size) {
        memcpy(out, uri.hostText.first, n);
        out[n] = '\0';
    }
    uriFreeUriMembersA(&uri);
}

/* Whether req's Host names this listener or the public URL's host. */
static bool gate_host_ok(const rk_api *a, const rk_http_req *req)
{
    const char *h = req->hdr[RK_HDR_HOST];
    const char *tcp = a->node->cfg->tcp;
    char host[256], lhost[256], pub[256];
    const char *port, *lport;
    if (!h || !tcp || !gate_split_host(h, host, sizeof host, &port) ||
        !gate_split_host(tcp, lhost, sizeof lhost, &lport))
        return false;
    if (port[0] && strcmp(port, lport) == 0 &&
        (strcasecmp(host, lhost) == 0 || (gate_is_loopback_name(lhost) && gate_is_loopback_name(host))))
        return true;
    gate_public_host(a, pub, sizeof pub);
    return pub[0] && strcasecmp(host, pub) == 0;
}

/* Whether Origin is this node's: "http://" + the (checked) Host, or public_url's scheme and host. */
static bool gate_origin_ok(const rk_api *a, const rk_http_req *req)
{
    const char *o = req->hdr[RK_HDR_ORIGIN], *h = req->hdr[RK_HDR_HOST];
    if (!o || !h)
        return false;
    if (strncasecmp(o, "http://", 7) == 0 && strcasecmp(o + 7, h) == 0)
        return true;
    const char *url = a->node->cfg->public_url;
    if (!url)
        return false;
    /* the public URL's origin is its text up to the path */
    const char *sep = strstr(url, "://");
    if (!sep)
        return false;
    const char *path = strchr(sep + 3, '/');
    size_t n = path ? (size_t)(path - url) : strlen(url);
    return strlen(o) == n && strncasecmp(o, url, n) == 0;
}

const char *rk_web_session_id(const rk_http_req *req, char *out, size_t out_size)
{
    const char *cookie = req->hdr[RK_HDR_COOKIE];
    const char *found = NULL;
    if (!cookie || out_size == 0)
        return NULL;
    gchar **parts = g_strsplit(cookie, ";", 64);
    if (!parts)
        return NULL;
    for (gchar **p = parts; *p; p++) {
        gchar *kv = g_strstrip(*p);
        size_t nl = strlen(RK_WEB_COOKIE);
        if (strncmp(kv, RK_WEB_COOKIE, nl) == 0 && kv[nl] == '=' && strlen(kv + nl + 1) < out_size) {
            snprintf(out, out_size, "%s", kv + nl + 1);
            found = out;
        }
    }
    g_strfreev(parts);
    return found;
}

const char *rk_web_session_csrf(rk_api *a, const rk_http_req *req)
{
    char sid[RK_SESSION_SECRET_LEN + 2];
    if (!a->sessions || !rk_web_session_id(req, sid, sizeof sid))
        return NULL;
    return rk_session_find(a->sessions, sid, rk_web_now());
}

/* Whether the Content-Type's media type is application/json (parameters such as charset allowed). */
static bool gate_is_json(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0;
}

static bool gate_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* Paths a browser may load without a session. */
static bool gate_public_path(const rk_http_req *req)
{
    if (!gate_safe_method(req->method))
        return false;
    const char *p = req->path;
    return strncmp(p, "/v1/export/", 11) == 0 || strcmp(p, "/login") == 0 ||
           (p[0] == '/' && p[1] && rk_web_is_asset(p + 1) && strcmp(p + 1, "index.html") != 0);
}

static bool gate_refuse(rk_api *a, rk_http_req *req, const char *code, const char *field, const char *msg)
{
    rk_api_response res;
    rk_api_response_init(&res);
    rk_api_error(&res, code, field, "%s", msg);
    rk_api_send(a, req, "web", &res);
    return false;
}

bool rk_web_gate(rk_api *a, rk_http_req *req, bool *session)
{
    *session = false;
    if (!gate_host_ok(a, req))
        return gate_refuse(a, req, "host_not_allowed", "Host",
                           "the Host header names neither this listener nor [api] public_url");
    if (gate_public_path(req))
        return true;
    const char *csrf = rk_web_session_csrf(a, req);
    if (!csrf) {
        if (gate_safe_method(req->method) && (strcmp(req->path, "/") == 0 || strcmp(req->path, "/index.html") == 0)) {
            rk_api_response res;
            rk_api_response_init(&res);
            rk_api_bytes(&res, 303, "text/plain; charset=utf-8", "Location: /login\r\n", "/login\n", 7);
            rk_api_send(a, req, "web", &res);
            return false;
        }
        return gate_refuse(a, req, "no_session", NULL,
                           "this needs a session: run `renkei web` on the node and open the URL it prints");
    }
    if (!gate_safe_method(req->method)) {
        if (!gate_origin_ok(a, req))
            return gate_refuse(a, req, "cross_site", "Origin", "the Origin header is not this node's");
        if (!rk_session_secret_equal(csrf, req->hdr[RK_HDR_CSRF]))
            return gate_refuse(a, req, "cross_site", "X-CSRF-Token",
                               "the X-CSRF-Token header does not match the session (GET /v1/web/session)");
        if (req->body_len > 0 && !gate_is_json(req->hdr[RK_HDR_CONTENT_TYPE]))
            return gate_refuse(a, req, "unsupported_media_type", "Content-Type",
                               "a body sent over TCP must be Content-Type: application/json");
    }
    *session = true;
    return true;
}
