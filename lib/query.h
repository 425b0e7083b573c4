/* query: the read side of the indexes. rk_store_query plans a query (the shortest posting list
 * among its filters and full-text tokens drives the walk) and walks it page by page; rk_store_events
 * walks the event-date index. Both check each candidate in full, so results are exact, never
 * "probably matching": a match is loaded, unless the index alone decides it and the caller's
 * `cached` callback serves it by its hash (the JSON cache of the API, which then never unpacks it).
 *
 * Invariants: results come newest version first (events: soonest start first) and never include
 * tombstones or records above the caller's visibility. A cursor is the hex sort key of the last
 * record returned, which is stable across posting lists because every list is ordered by the same
 * sort key, so a page boundary never skips or repeats a record. The functions keep the rk_store_
 * names callers already use.
 */
#ifndef RENKEI_QUERY_H
#define RENKEI_QUERY_H

#include "record.h"
#include "txn.h"

#define RK_CURSOR_MAX 96

/* Offered each match by the hash of its current version before the walk loads it, where the index
 * alone decides the match (no full-text term to confirm in the text, and the posting states the
 * visibility): 1 the callee served the record itself (from lib/jsoncache.h, say: it is neither
 * loaded nor passed to the record callback), 0 it is loaded and passed on as usual, -1 the walk stops
 * as when the record callback returns non-zero. max_visibility is the query's effective ceiling,
 * which the callee must not serve anything above. It shares the record callback's ctx. */
typedef int (*rk_record_hash_cb)(const uint8_t hash[RK_HASH_LEN], int max_visibility, void *ctx);

typedef struct rk_query {
    int kind;                                /* Renkei__Kind, 0 = case, event and region */
    char prefecture[3];                      /* "" = any */
    int industry, dx_level, skill, audience; /* enum values, 0 = any */
    const uint8_t *author;                   /* NULL = any */
    const char *q;                           /* full-text query, NULL or "" = none */
    int max_visibility;                      /* VISIBILITY_PUBLIC, _NETWORK or _LOCAL: include up to this */
    size_t limit;                            /* 0 = no limit */
    const char *cursor;                      /* from a previous page; NULL = first page */
    rk_record_hash_cb cached;                /* NULL: every match is loaded */
} rk_query;

/* Calls cb for each matching current record (tombstones never), newest version first. On return
 * next_cursor is "" when there are no more results. */
typedef int (*rk_record_cb)(const rk_record *rec, void *ctx); /* non-zero stops */
int rk_store_query(rk_txn *t, const rk_query *q, rk_record_cb cb, void *ctx, char next_cursor[RK_CURSOR_MAX],
                   rk_error *err);

typedef struct rk_event_query {
    int64_t from, to; /* seconds since the epoch; events overlapping [from, to] */
    char prefecture[3];
    int format, open_scope; /* 0 = any */
    int max_visibility;
    size_t limit;
    rk_record_hash_cb cached; /* NULL: every event is loaded */
} rk_event_query;
/* Events sorted by start time, soonest first. */
int rk_store_events(rk_txn *t, const rk_event_query *q, rk_record_cb cb, void *ctx, rk_error *err);

#endif
