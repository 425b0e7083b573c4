/* web: the routes of the coordinator's web page (web.h): the page's files, the login URL that
 * `renkei web` asks the socket for, the exchange of its token for a session cookie, the CSRF token
 * the page reads, logout, and the codes the forms offer as choices.
 *
 * The cookie is HttpOnly (scripts cannot read it), SameSite=Strict (no other site's page sends it)
 * and Path=/; it carries no Expires, and the node forgets the session after RK_SESSION_TTL_S.
 */
#include "web.h"

#include <stdio.h>
#include <string.h>

#include "codes_json.h"
#include "session.h"
#include "web_assets.h"

static const rk_web_asset *web_find(const char *name)
{
    for (size_t i = 0; i < rk_web_asset_count; i++)
        if (strcmp(rk_web_assets[i].name, name) == 0)
            return &rk_web_assets[i];
    return NULL;
}

bool rk_web_is_asset(const char *name)
{
    return web_find(name) != NULL;
}

static void web_send_asset(const char *name, int status, rk_api_response *res)
{
    const rk_web_asset *f = web_find(name);
    if (!f) {
        rk_api_error(res, "not_found", NULL, "no such page: %s", name);
        return;
    }
    rk_api_bytes(res, status, f->content_type, "Cache-Control: no-cache\r\n", f->data, f->len);
}

void rk_web_get_asset(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)a;
    (void)req;
    web_send_asset(arg && arg[0] ? arg : "index.html", 200, res);
}

void rk_web_new_login(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)req;
    (void)arg;
    const char *tcp = a->node->cfg->tcp;
    if (!tcp) {
        rk_api_error(res, "not_found", "api.tcp", "the web page needs a TCP listener: set [api] tcp");
        return;
    }
    if (!a->sessions) {
        rk_api_error(res, "no_memory", NULL, "out of memory");
        return;
    }
    char token[RK_SESSION_SECRET_LEN + 1], url[512];
    rk_session_new_token(a->sessions, rk_web_now(), token);
    snprintf(url, sizeof url, "http://%s/login?token=%s", tcp, token);
    rk_api_json(res, 201, json_pack("{s:s, s:i}", "url", url, "expires_in", RK_SESSION_TOKEN_TTL_S));
}

void rk_web_login(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)arg;
    const char *q = req->query;
    /* HEAD must be safe: a link checker or a preview probing the URL must not spend the token */
    if (!q || strncmp(q, "token=", 6) != 0 || strcmp(req->method, "HEAD") == 0) {
        web_send_asset("login.html", 200, res);
        return;
    }
    char sid[RK_SESSION_SECRET_LEN + 1], csrf[RK_SESSION_SECRET_LEN + 1];
    if (!a->sessions || !rk_session_redeem(a->sessions, q + 6, rk_web_now(), sid, csrf)) {
        web_send_asset("login.html", 403, res); /* used, expired or made up: the page says what to do */
        return;
    }
    char headers[256];
    snprintf(headers, sizeof headers,
             "Location: /\r\nSet-Cookie: " RK_WEB_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/\r\n"
             "Cache-Control: no-store\r\n",
             sid);
    rk_api_bytes(res, 303, "text/plain; charset=utf-8", headers, "/\n", 2);
}

void rk_web_get_session(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)arg;
    const char *csrf = rk_web_session_csrf(a, req);
    if (!csrf) {
        rk_api_error(res, "no_session", NULL, "no session");
        return;
    }
    rk_api_json(res, 200, json_pack("{s:s, s:s}", "csrf", csrf, "node", a->node->cfg->name));
}

void rk_web_logout(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)arg;
    char sid[RK_SESSION_SECRET_LEN + 2];
    if (a->sessions && rk_web_session_id(req, sid, sizeof sid))
        rk_session_end(a->sessions, sid);
    rk_api_json(res, 200, json_pack("{s:b}", "ok", 1));
    if (!res->oom && !(res->headers = strdup("Set-Cookie: " RK_WEB_COOKIE "=; HttpOnly; SameSite=Strict; Path=/; "
                                             "Max-Age=0\r\n")))
        rk_api_json(res, 500, NULL);
}

void rk_web_get_codes(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)a;
    (void)req;
    (void)arg;
    rk_api_json(res, 200, rk_codes_to_json(NULL));
}
