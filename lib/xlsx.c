/* xlsx: records as an Excel workbook, one row per record with the CSV export's columns.
 *
 * Invariants: cells are only ever written with worksheet_write_string, so nothing a publisher types
 * becomes a formula, a number or a date; the workbook is written in libxlsxwriter's constant_memory
 * mode (each row goes to disk once the next starts), so memory stays flat however many rows there
 * are, and the finished workbook is read back a piece at a time (never whole); the temporary file
 * is created with mkstemp (mode 0600) and removed by rk_xlsx_free on every path. A cell holds at most Excel's 32,767 characters: longer text is cut at a UTF-8 character
 * boundary below 32,767 bytes.
 */
#include "xlsx.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define XLSX_CELL_MAX 32767
#define XLSX_PIECE (64u << 10) /* read back from the temporary file this much at a time */

struct rk_xlsx {
    char *path;
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_row_t row;
    rk_buf vals;
    char *cell;
};

void rk_xlsx_free(rk_xlsx *x)
{
    if (!x)
        return;
    if (x->wb)
        (void)workbook_close(x->wb); /* abandoned: close so its own temporary files go too */
    if (x->path) {
        unlink(x->path);
        g_free(x->path);
    }
    rk_buf_free(&x->vals);
    free(x->cell);
    free(x);
}

rk_xlsx *rk_xlsx_new(rk_error *err)
{
    rk_xlsx *x = calloc(1, sizeof *x);
    if (!x) {
        rk_fail(err, "no_memory", "", "out of memory");
        return NULL;
    }
    rk_buf_init(&x->vals);
    x->cell = malloc(XLSX_CELL_MAX + 1);
    x->path = g_build_filename(g_get_tmp_dir(), "renkei-xlsx-XXXXXX", NULL);
    int fd = x->path && x->cell ? g_mkstemp(x->path) : -1;
    if (fd < 0) {
        rk_fail(err, "internal", "", "cannot create a temporary file for the workbook");
        if (x->path) {
            g_free(x->path);
            x->path = NULL;
        }
        rk_xlsx_free(x);
        return NULL;
    }
    close(fd);
    lxw_workbook_options o = {.constant_memory = LXW_TRUE, .tmpdir = (char *)g_get_tmp_dir()};
    x->wb = workbook_new_opt(x->path, &o);
    x->ws = x->wb ? workbook_add_worksheet(x->wb, "records") : NULL;
    lxw_format *bold = x->wb ? workbook_add_format(x->wb) : NULL;
    if (!x->ws || !bold) {
        rk_fail(err, "internal", "", "libxlsxwriter could not start a workbook");
        rk_xlsx_free(x);
        return NULL;
    }
    format_set_bold(bold);
    worksheet_freeze_panes(x->ws, 1, 0);
    for (size_t c = 0; c < rk_csvout_column_count; c++)
        if (worksheet_write_string(x->ws, 0, (lxw_col_t)c, rk_csvout_columns[c], bold) != LXW_NO_ERROR) {
            rk_fail(err, "internal", "", "libxlsxwriter could not write the header");
            rk_xlsx_free(x);
            return NULL;
        }
    x->row = 1;
    return x;
}

/* s cut to Excel's cell limit without splitting a UTF-8 sequence. */
static const char *fit(rk_xlsx *x, const char *s)
{
    size_t n = strlen(s);
    if (n <= XLSX_CELL_MAX)
        return s;
    n = XLSX_CELL_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(x->cell, s, n);
    x->cell[n] = '\0';
    return x->cell;
}

int rk_xlsx_row(rk_xlsx *x, const rk_record *rec, const rk_feed_meta *m)
{
    size_t offs[64];
    if (rk_csvout_column_count > sizeof offs / sizeof offs[0])
        return -1;
    int rc = rk_csvout_values(rec, m, &x->vals, offs);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    for (size_t c = 0; c < rk_csvout_column_count; c++) {
        const char *v = x->vals.data + offs[c];
        /* an empty cell is left unwritten: a blank, not an empty string */
        if (*v && worksheet_write_string(x->ws, x->row, (lxw_col_t)c, fit(x, v), NULL) != LXW_NO_ERROR)
            return -1;
    }
    x->row++;
    return 0;
}

int rk_xlsx_finish(rk_xlsx *x, rk_buf *out, int (*flush)(void *ctx), void *ctx, rk_error *err)
{
    lxw_error e = workbook_close(x->wb);
    x->wb = NULL;
    if (e != LXW_NO_ERROR)
        return rk_fail(err, "internal", "", "libxlsxwriter: %s", lxw_strerror(e));
    /* a piece at a time, so that a caller that flushes holds one piece and never the workbook */
    char *piece = malloc(XLSX_PIECE);
    if (!piece)
        return rk_fail(err, "no_memory", "", "out of memory");
    FILE *f = fopen(x->path, "rb");
    if (!f) {
        free(piece);
        return rk_fail(err, "internal", "", "cannot read the workbook back");
    }
    int rc = 0;
    size_t n;
    while (rc == 0 && (n = fread(piece, 1, XLSX_PIECE, f)) > 0)
        if (rk_buf_append(out, piece, n))
            rc = rk_fail(err, "no_memory", "", "out of memory");
        else if (flush && flush(ctx))
            rc = -1; /* the caller's flush said why in err */
    if (rc == 0 && ferror(f))
        rc = rk_fail(err, "internal", "", "cannot read the workbook back");
    fclose(f);
    free(piece);
    return rc;
}
