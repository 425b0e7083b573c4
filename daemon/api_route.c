/* api_route: the route table and its lookup (api_route.h). The lookup is pure: it reads the table and
 * the request's method and path, and writes only the match it returns. */
#include "api_route.h"

#include <stdio.h>
#include <string.h>
#include <uriparser/Uri.h>

/* Order matters only for the Allow header, which lists a path's methods in table order. */
static const rk_api_route api_routes[] = {
    {"GET", "/v1/status", RK_API_OP_STATUS, RK_API_POOL, NULL},
    {"GET", "/v1/records", RK_API_OP_LIST_RECORDS, RK_API_POOL, NULL},
    {"POST", "/v1/records", RK_API_OP_POST_RECORD, RK_API_POOL | RK_API_PUBLISH, NULL},
    {"GET", "/v1/records/{id}", RK_API_OP_GET_RECORD, RK_API_POOL, NULL},
    {"PUT", "/v1/records/{id}", RK_API_OP_PUT_RECORD, RK_API_PUBLISH, NULL},
    {"DELETE", "/v1/records/{id}", RK_API_OP_DELETE_RECORD, RK_API_PUBLISH, NULL},
    {"GET", "/v1/events", RK_API_OP_LIST_EVENTS, RK_API_POOL, NULL},
    {"GET", "/v1/changes", RK_API_OP_CHANGES, RK_API_POOL, NULL},
    {"GET", "/v1/peers", RK_API_OP_PEERS, 0, NULL},
    {"GET", "/v1/members", RK_API_OP_MEMBERS, RK_API_POOL, NULL},
    {"GET", "/v1/export/{name}", RK_API_OP_EXPORT, RK_API_POOL | RK_API_REST, NULL},
    {"GET", "/v1/stats", RK_API_OP_EXPORT, RK_API_POOL, "stats"},
    {"GET", "/v1/regions", RK_API_OP_EXPORT, RK_API_POOL, "regions"},
    {"GET", "/metrics", RK_API_OP_METRICS, 0, NULL},
    {"GET", "/v1/codes", RK_API_OP_CODES, 0, NULL},
    {"POST", "/v1/web/login", RK_API_OP_WEB_NEW_LOGIN, RK_API_PUBLISH | RK_API_SOCKET, NULL},
    {"GET", "/v1/web/session", RK_API_OP_WEB_SESSION, RK_API_WEB, NULL},
    {"POST", "/v1/web/logout", RK_API_OP_WEB_LOGOUT, RK_API_WEB, NULL},
    {"GET", "/login", RK_API_OP_WEB_LOGIN, RK_API_WEB, NULL},
    {"GET", "/", RK_API_OP_WEB_ASSET, RK_API_WEB, "index.html"},
    {"GET", "/{name}", RK_API_OP_WEB_ASSET, RK_API_WEB, NULL}, /* last: the page's files */
};
#define API_ROUTE_COUNT (sizeof api_routes / sizeof api_routes[0])

/* Whether path matches the route's pattern; *rest points at the placeholder's text (not decoded). */
static bool route_match(const rk_api_route *r, const char *path, const char **rest)
{
    const char *brace = strchr(r->pattern, '{');
    *rest = NULL;
    if (!brace)
        return strcmp(path, r->pattern) == 0;
    size_t plen = (size_t)(brace - r->pattern);
    if (strncmp(path, r->pattern, plen) != 0)
        return false;
    const char *v = path + plen;
    if (!(r->flags & RK_API_REST) && (!v[0] || strchr(v, '/')))
        return false;
    *rest = v;
    return true;
}

/* The Allow header's value for the routes of pattern that match path, in table order. */
static void route_allow(const char *pattern, const char *path, char *allow, size_t size)
{
    size_t off = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < API_ROUTE_COUNT; i++) {
        const char *rest;
        if (strcmp(api_routes[i].pattern, pattern) == 0 && route_match(&api_routes[i], path, &rest))
            off += (size_t)snprintf(allow + off, off < size ? size - off : 0, "%s%s%s", off ? ", " : "",
                                    api_routes[i].method, strcmp(api_routes[i].method, "GET") == 0 ? ", HEAD" : "");
    }
}

rk_api_route_result rk_api_route_lookup(const char *method, const char *path, bool tcp, rk_api_route_match *m)
{
    const rk_api_route *path_match = NULL, *route = NULL;
    const char *rest = NULL;
    m->route = NULL;
    m->arg = NULL;
    m->allow[0] = '\0';
    for (size_t i = 0; i < API_ROUTE_COUNT && !route; i++) {
        const char *v;
        if (!route_match(&api_routes[i], path, &v))
            continue;
        if (!path_match)
            path_match = &api_routes[i];
        if (strcmp(api_routes[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(api_routes[i].method, "GET") == 0)) {
            route = &api_routes[i];
            rest = v;
        }
    }
    if (!path_match)
        return RK_API_ROUTE_NOT_FOUND;
    if (!route) {
        m->route = path_match;
        route_allow(path_match->pattern, path, m->allow, sizeof m->allow);
        return RK_API_ROUTE_NOT_ALLOWED;
    }
    if ((route->flags & RK_API_SOCKET && tcp) || (route->flags & RK_API_WEB && !tcp))
        return RK_API_ROUTE_NOT_FOUND;
    m->route = route;
    if (rest && !(route->flags & RK_API_REST)) {
        if (strlen(rest) >= sizeof m->arg_buf)
            return RK_API_ROUTE_ARG_TOO_LONG;
        memcpy(m->arg_buf, rest, strlen(rest) + 1);
        uriUnescapeInPlaceExA(m->arg_buf, URI_FALSE, URI_BR_DONT_TOUCH);
        rest = m->arg_buf;
    }
    m->arg = rest ? rest : route->arg;
    return RK_API_ROUTE_OK;
}
