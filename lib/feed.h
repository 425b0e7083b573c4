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

int rk_feed_atom(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);
/* The same bytes, with flush(ctx) called after each entry so that the caller may move what out holds
 * elsewhere (the export spool) while the feed is rendered; a non-zero return stops rendering (-1). */
int rk_feed_atom_stream(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out,
                        int (*flush)(void *ctx), void *ctx);
int rk_feed_json(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);

#endif
