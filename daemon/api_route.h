/* api_route: the local API's route table (DESIGN.md's table, docs/api.md) and the lookup that maps a
 * request's method, path and listener to a route, without a node, a connection or I/O, so that the
 * router (api.c) and fuzz_http run the same lookup.
 *
 * A request is matched against the table by path pattern, then by method: a known path with another
 * method is "not allowed" with the table's methods for that path; an unknown path, or a route of the
 * other listener, is "not found". A route's handler is named by an rk_api_op, which api.c maps to a
 * function, so this file links without the handlers.
 */
#ifndef RENKEI_API_ROUTE_H
#define RENKEI_API_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

enum {
    RK_API_POOL = 1 << 0,    /* run on the thread pool (read-only, or store reads and sealing) */
    RK_API_PUBLISH = 1 << 1, /* changes state: the caller must pass [api] group */
    RK_API_REST = 1 << 2,    /* the placeholder takes the rest of the path, slashes included */
    RK_API_SOCKET = 1 << 3,  /* the Unix socket only (it hands out web logins) */
    RK_API_WEB = 1 << 4,     /* the TCP listener only (the web page, web.c) */
};

/* What a route does: api.c maps each to its handler. */
typedef enum rk_api_op {
    RK_API_OP_STATUS,
    RK_API_OP_LIST_RECORDS,
    RK_API_OP_POST_RECORD,
    RK_API_OP_GET_RECORD,
    RK_API_OP_PUT_RECORD,
    RK_API_OP_DELETE_RECORD,
    RK_API_OP_LIST_EVENTS,
    RK_API_OP_CHANGES,
    RK_API_OP_PEERS,
    RK_API_OP_MEMBERS,
    RK_API_OP_EXPORT,
    RK_API_OP_METRICS,
    RK_API_OP_CODES,
    RK_API_OP_WEB_NEW_LOGIN,
    RK_API_OP_WEB_SESSION,
    RK_API_OP_WEB_LOGOUT,
    RK_API_OP_WEB_LOGIN,
    RK_API_OP_WEB_ASSET,
    RK_API_OP_COUNT
} rk_api_op;

typedef struct rk_api_route {
    const char *method;
    const char *pattern; /* literal, or a prefix ending in one "{name}": the route's metric label too */
    rk_api_op op;
    unsigned flags;
    const char *arg; /* for a literal pattern: the argument passed to the handler */
} rk_api_route;

/* The longest placeholder value accepted (a record id is far shorter). */
#define RK_API_ARG_MAX 512

typedef enum rk_api_route_result {
    RK_API_ROUTE_OK,
    RK_API_ROUTE_NOT_FOUND,   /* no route has this path on this listener */
    RK_API_ROUTE_NOT_ALLOWED, /* the path is known, the method is not: m->allow lists the methods */
    RK_API_ROUTE_ARG_TOO_LONG /* a one-segment placeholder of RK_API_ARG_MAX bytes or more */
} rk_api_route_result;

typedef struct rk_api_route_match {
    /* OK and ARG_TOO_LONG: the route; NOT_ALLOWED: the first route of the path (its pattern is the
     * metric label); NOT_FOUND: NULL */
    const rk_api_route *route;
    /* OK: what the handler gets: a one-segment placeholder percent-decoded (uriparser; '+' stays), a
     * rest-of-path placeholder as sent, or the route's arg (NULL for none); points into arg_buf, the
     * path or the table */
    const char *arg;
    char allow[80]; /* NOT_ALLOWED: "GET, HEAD, POST": the Allow header's value */
    char arg_buf[RK_API_ARG_MAX];
} rk_api_route_match;

/* Looks up method and path (no query string) as received on the TCP listener (tcp) or the Unix
 * socket. HEAD is GET without the body (RFC 9110 9.3.2): it takes the GET route. */
rk_api_route_result rk_api_route_lookup(const char *method, const char *path, bool tcp, rk_api_route_match *m);

#endif
