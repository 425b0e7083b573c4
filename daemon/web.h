/* web: the coordinator's web page on the TCP listener ([api] tcp): its static files, the login that
 * trades a one-time token from `renkei web` for a session, and the access rules every request on
 * that listener passes first (web_gate.c). The Unix socket is the authority and is not affected. */
#ifndef RENKEI_WEB_H
#define RENKEI_WEB_H

#include "api_internal.h"

/* The session cookie's name. */
#define RK_WEB_COOKIE "rk_session"

/* web_gate.c. For a request on the TCP listener: returns true when it may go on to the routes, with
 * *session set when it carries a live session (which may publish); false when it was refused and
 * already answered (wrong Host, no session, a cross-site or CSRF-less change, a body that is not
 * JSON, or the page itself without a session, which goes to /login). */
bool rk_web_gate(rk_api *a, rk_http_req *req, bool *session);
/* The live session's CSRF token of req (its cookie), or NULL. */
const char *rk_web_session_csrf(rk_api *a, const rk_http_req *req);
/* The session id in req's cookie (NULL if none); copied into out. */
const char *rk_web_session_id(const rk_http_req *req, char *out, size_t out_size);
/* Seconds on a monotonic clock, for the session tables. */
uint64_t rk_web_now(void);

/* web.c: route handlers */
rk_api_handler_fn rk_web_new_login;
rk_api_handler_fn rk_web_login;
rk_api_handler_fn rk_web_get_session;
rk_api_handler_fn rk_web_logout;
rk_api_handler_fn rk_web_get_asset;
rk_api_handler_fn rk_web_get_codes;
/* Whether name is one of the page's static files (served without a session). */
bool rk_web_is_asset(const char *name);

#endif
