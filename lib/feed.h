/* feed: the national view. Turns current public records into Atom 1.0, JSON Feed 1.1, iCalendar
 * (RFC 5545) and CSV (UTF-8 with BOM, RFC 4180), and counts records for /v1/stats.
 *
 * These functions are pure: callers pass the records (already filtered to public ones by the store
 * query) and a resolver for node names; output is appended to an rk_buf. The counts are in stats.h,
 * the HTTP side of both in export.h.
 */
#ifndef RENKEI_FEED_H
#define RENKEI_FEED_H

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

#endif
