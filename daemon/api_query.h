/* api_query: the query strings of the API's read routes, parsed and checked into what the store's
 * queries take, without a node, a store or a response: the handlers (api_read.c, api_wait.c) and
 * fuzz_http call the same functions.
 *
 * Invariants: each route accepts only its own keys (a misspelt filter is a 400 unknown_parameter,
 * never a silently wider answer); on success every value is in range (limits 1..RK_API_MAX_LIMIT,
 * a prefecture code, enum values above 0, a cursor shorter than RK_CURSOR_MAX); on failure err names
 * the parameter in its field, and nothing is left to free.
 */
#ifndef RENKEI_API_QUERY_H
#define RENKEI_API_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "params.h"
#include "query.h"

#define RK_API_DEFAULT_LIMIT 50
#define RK_API_MAX_LIMIT 1000
#define RK_API_WAIT_MAX_S 60          /* the longest long-poll on /v1/changes */
#define RK_API_WAIT_DEFAULT_LIMIT 100 /* changes per answer by default */

/* Parses query and checks that only the keys in allowed (NULL-terminated) are present. Errors:
 * params.h's, unknown_parameter. */
int rk_api_params(const char *query, const char *const *allowed, rk_params *p, rk_error *err);
/* A limit of 1..RK_API_MAX_LIMIT, or def when v is NULL. */
int rk_api_parse_limit(const char *v, size_t def, size_t *out);

/* GET /v1/records. On success p holds the parameters that q's strings point into (free p after q);
 * an author that is not a hex key is left in *author_name for the caller to look up among the
 * members' names (q->author is then NULL), else it is decoded into author and q->author points at it. */
int rk_api_records_query(const char *query, rk_params *p, rk_query *q, uint8_t author[RK_KEY_LEN],
                         const char **author_name, rk_error *err);
/* GET /v1/events, with now_s the default start. */
int rk_api_events_query(const char *query, int64_t now_s, rk_event_query *q, rk_error *err);
/* GET /v1/records/{id}: ?format=json (the default) or signed (the SignedRecord bytes). */
int rk_api_record_format(const char *query, bool *signed_form, rk_error *err);

typedef struct rk_api_changes {
    uint64_t after; /* changes after this sequence number */
    uint64_t wait;  /* seconds to wait for one, 0..RK_API_WAIT_MAX_S */
    size_t limit;
} rk_api_changes;
/* GET /v1/changes. */
int rk_api_changes_query(const char *query, rk_api_changes *q, rk_error *err);

#endif
