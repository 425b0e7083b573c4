/* csvout: records as CSV for spreadsheets (UTF-8 with BOM, RFC 4180), safe against formula injection. */
#ifndef RENKEI_CSVOUT_H
#define RENKEI_CSVOUT_H

#include "feed_meta.h"

/* The header and one row per record (tombstones skipped), newest first whatever the given order. */
int rk_csvout_render(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);

/* Streaming form: the BOM and header row, then one row per call, in the caller's order. */
int rk_csvout_header(rk_buf *out);
int rk_csvout_row(const rk_record *rec, const rk_feed_meta *m, rk_buf *out);

/* The column names, in order; the xlsx export uses the same. */
extern const char *const rk_csvout_columns[];
extern const size_t rk_csvout_column_count;
/* One record's fields as plain text (neither neutralised nor quoted), for the xlsx export: store is
 * reset and receives the values NUL-separated; offs[rk_csvout_column_count] gets each value's
 * offset into store->data. 1 if the record has no row (tombstone), 0 done, -1 no memory. */
int rk_csvout_values(const rk_record *rec, const rk_feed_meta *m, rk_buf *store, size_t *offs);

#endif
