/* feed: the national view. Turns current public records into Atom 1.0, JSON Feed 1.1, iCalendar
 * (RFC 5545) and CSV (UTF-8 with BOM, RFC 4180), and counts records for /v1/stats.
 *
 * These functions are pure: callers pass the records (already filtered to public ones by the store
 * query) and a resolver for node names; output is appended to an rk_buf. The calendar and the CSV
 * also render one record at a time (begin / event or row / end), so a caller can stream records
 * from the store without holding them all. The counts are in stats.h, the HTTP side of both in
 * export.h.
 */
#ifndef RENKEI_FEED_H
#define RENKEI_FEED_H

#include "record.h"
#include "util.h"

typedef struct rk_feed_meta {
    const char *node_name;      /* the serving node */
    const char *base_url;       /* the public address ([api] public_url); every absolute link starts with it */
    const char *self_url;       /* this page, absolute (NULL: base_url + the export's path) */
    const char *next_url;       /* the next page (RFC 5005 rel="next", JSON Feed next_url), or NULL */
    const uint8_t *node_key;    /* serving node's key */
    /* returns the display name of an author, or NULL if unknown */
    const char *(*author_name)(const uint8_t author[RK_KEY_LEN], void *ctx);
    void *ctx;
} rk_feed_meta;

int rk_feed_atom(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);
int rk_feed_json(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);
int rk_feed_ics(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);
int rk_feed_csv(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);

/* Streaming forms: begin, then one call per record in the order wanted, then end. A record of the
 * wrong kind (or a tombstone) renders nothing. truncated: the caller leaves matching events out,
 * which the calendar states (X-RENKEI-TRUNCATED:TRUE) so a subscriber can tell. */
int rk_feed_ics_begin(const rk_feed_meta *m, bool truncated, rk_buf *out);
int rk_feed_ics_event(const rk_record *rec, const rk_feed_meta *m, rk_buf *out);
int rk_feed_ics_end(rk_buf *out);
int rk_feed_csv_header(rk_buf *out);
int rk_feed_csv_row(const rk_record *rec, const rk_feed_meta *m, rk_buf *out);
/* The CSV column names, in order (csv_column_count of them); the xlsx export uses the same. */
extern const char *const rk_feed_csv_columns[];
extern const size_t rk_feed_csv_column_count;
/* One record's CSV fields as plain text (neither neutralised nor quoted), for the xlsx export:
 * store is reset and receives the values NUL-separated; offs[rk_feed_csv_column_count] gets each
 * value's offset into store->data. 1 if the record has no row (tombstone), 0 done, -1 no memory. */
int rk_feed_csv_values(const rk_record *rec, const rk_feed_meta *m, rk_buf *store, size_t *offs);

#endif
