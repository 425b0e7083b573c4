/* feed: the national view as feeds: Atom 1.0 (paged as RFC 5005) and JSON Feed 1.1.
 *
 * These functions are pure: callers pass the records (already filtered to public ones by the store
 * query), a resolver for node names and the page's links; output is appended to an rk_buf. The
 * other formats have their own modules: ical.h (calendar), csvout.h (CSV), xlsx.h (workbook),
 * schema_event.h (schema.org events), catalog.h (DCAT); the counts are in stats.h, the HTTP side of
 * all of them in export.h.
 */
#ifndef RENKEI_FEED_H
#define RENKEI_FEED_H

#include "feed_meta.h"

#include "jsonlist.h"

/* A whole page of the records given, in any order (newest first on the page, tombstones left out). */
int rk_feed_atom(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);
int rk_feed_json(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);

/* The same page written entry by entry, so that the caller renders it from the store's walk and may
 * move what out holds elsewhere (the export spool) between calls: rk_feed_begin with the version of
 * the page's newest record (the Atom feed's updated; 0 for an empty page), rk_feed_entry for each
 * record newest first (the store's order; a tombstone writes nothing), rk_feed_end, and
 * rk_feed_writer_free in any case. Each returns 0, or -1 when out of memory. */
typedef struct rk_feed_writer {
    bool json; /* JSON Feed, else Atom */
    const rk_feed_meta *m;
    const char *node;
    rk_buf *out;
    rk_buf tmp;
    rk_jsonlist items; /* JSON Feed */
} rk_feed_writer;

int rk_feed_begin(rk_feed_writer *w, bool json, const rk_feed_meta *m, uint64_t newest, rk_buf *out);
int rk_feed_entry(rk_feed_writer *w, const rk_record *rec);
int rk_feed_end(rk_feed_writer *w);
void rk_feed_writer_free(rk_feed_writer *w);

#endif
