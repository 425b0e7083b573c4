/* xlsx: the CSV export's rows as an Excel workbook (Office Open XML), written with libxlsxwriter.
 *
 * Every cell is written as a string, so a title such as =1+1 stays text (never a formula) and codes
 * such as 01 keep their zero, whatever spreadsheet opens the file, with no import settings.
 */
#ifndef RENKEI_XLSX_H
#define RENKEI_XLSX_H

#include "csvout.h"

typedef struct rk_xlsx rk_xlsx;

/* Starts a workbook in a private temporary file (in TMPDIR, else /tmp) with the header row. */
rk_xlsx *rk_xlsx_new(rk_error *err);
/* Adds one record's row (nothing for a tombstone). */
int rk_xlsx_row(rk_xlsx *x, const rk_record *rec, const rk_feed_meta *m);
/* Closes the workbook and appends the file's bytes to out, calling flush(ctx) (when not NULL) after
 * each piece so that the caller may move them elsewhere; a non-zero flush stops it (-1, the flush
 * having set err). */
int rk_xlsx_finish(rk_xlsx *x, rk_buf *out, int (*flush)(void *ctx), void *ctx, rk_error *err);
/* Removes the temporary file and frees x (after finish, or to abandon the workbook). */
void rk_xlsx_free(rk_xlsx *x);

#endif
