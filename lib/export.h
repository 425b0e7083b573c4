/* export: the exports, /v1/stats and /v1/regions as served by the API (lib/export.c). Renders with
 * feed.h and stats.h over a store read transaction; bad queries never reach the store. With a spool,
 * a large body is rendered into a spool file, shared by every request with the same ETag while it is
 * being downloaded, instead of into memory.
 */
#ifndef RENKEI_EXPORT_H
#define RENKEI_EXPORT_H

#include "feed.h"
#include "spool.h"
#include "store.h"

typedef struct rk_export_response {
    int status;               /* 200, 304, 400, 404 */
    const char *content_type; /* static string */
    char etag[80];            /* quoted strong ETag */
    char last_modified[40];   /* IMF-fixdate of the newest record served */
    rk_buf body;              /* caller frees; empty when the body is in file */
    rk_spool_file *file;      /* the body when it went to the spool (status 200); caller unrefs */
    rk_buf headers;           /* more "Name: value\r\n" lines (Link, Renkei-Truncated); caller frees */
    rk_error err;             /* when status >= 400; 503 export_busy: the spool is full, retry later */
    bool rendered;            /* this request rendered the export (not a shared file, not an early 304) */
} rk_export_response;

/* Serves GET /v1/export/<name> (name: feed.atom, feed.json, events.ics, records.csv), GET /v1/stats
 * (name "stats") and GET /v1/regions (name "regions"), with the raw query string and the request's
 * If-None-Match / If-Modified-Since values (NULL if absent). Public records only for exports. spool
 * NULL: every body in memory. */
int rk_export_serve(rk_txn *t, const char *name, const char *query, const char *if_none_match,
                    const char *if_modified_since, const rk_feed_meta *m, rk_spool *spool, rk_export_response *out);

#endif
