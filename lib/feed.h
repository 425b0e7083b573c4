/* feed: the national view. Turns current public records into Atom 1.0, JSON Feed 1.1, iCalendar
 * (RFC 5545) and CSV (UTF-8 with BOM, RFC 4180), and counts records for /v1/stats.
 *
 * These functions are pure: callers pass the records (already filtered to public ones by the store
 * query) and a resolver for node names; output is appended to an rk_buf.
 */
#ifndef RENKEI_FEED_H
#define RENKEI_FEED_H

#include <jansson.h>

#include "record.h"
#include "util.h"

typedef struct rk_feed_meta {
    const char *node_name;      /* the serving node */
    const char *base_url;       /* links back to records: base_url + "/v1/records/" + id */
    const uint8_t *node_key;    /* serving node's key */
    /* returns the display name of an author, or NULL if unknown */
    const char *(*author_name)(const uint8_t author[RK_KEY_LEN], void *ctx);
    void *ctx;
} rk_feed_meta;

int rk_feed_atom(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);
int rk_feed_json(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);
int rk_feed_ics(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);
int rk_feed_csv(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);

/* Statistics over current records: add each record, then render. */
typedef struct rk_stats rk_stats;
rk_stats *rk_stats_new(int64_t now_s);
void rk_stats_add(rk_stats *s, const rk_record *rec);
json_t *rk_stats_to_json(const rk_stats *s);
void rk_stats_free(rk_stats *s);

#endif

/* ---- exports as served by the API (lib/export.c) ------------------------------------------------ */
#include "store.h"

typedef struct rk_export_response {
    int status;                 /* 200, 304, 400, 404 */
    const char *content_type;   /* static string */
    char etag[80];              /* quoted strong ETag */
    char last_modified[40];     /* IMF-fixdate of the newest record served */
    rk_buf body;                /* caller frees */
    rk_error err;               /* when status >= 400 */
} rk_export_response;

/* Serves GET /v1/export/<name> (name: feed.atom, feed.json, events.ics, records.csv), GET /v1/stats
 * (name "stats") and GET /v1/regions (name "regions"), with the raw query string and the request's
 * If-None-Match / If-Modified-Since values (NULL if absent). Public records only for exports. */
int rk_export_serve(rk_txn *t, const char *name, const char *query, const char *if_none_match,
                    const char *if_modified_since, const rk_feed_meta *m, rk_export_response *out);
