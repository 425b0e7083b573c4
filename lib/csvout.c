/* csvout: renders records as CSV (UTF-8 with BOM, RFC 4180, every field quoted), whole or one row at
 * a time, and gives the same fields as plain text to the xlsx export.
 *
 * Invariants: one row per record that is not a tombstone, columns as rk_csvout_columns; a field a
 * spreadsheet would read as a formula (starting with = + - @ tab or CR) gets a leading apostrophe,
 * as the OWASP CSV injection guidance recommends; control characters other than tab, CR and LF are
 * dropped.
 */
#include "csvout.h"

#include <stdlib.h>
#include <string.h>

#include "rtext.h"
#include "taxonomy.h"
#include "validate.h"

/* ------------------------------------------------------------------------------------------ CSV */

/* One field, always quoted (RFC 4180 allows it, and spreadsheets told to read quoted fields as text
 * then keep codes such as 01); control characters other than tab, CR and LF are dropped so
 * spreadsheet imports see clean text. A field that a spreadsheet would evaluate (first character
 * = + - @ tab or CR) is prefixed with an apostrophe, as the OWASP CSV injection guidance says: the
 * text stays readable and is never run as a formula. */
static int csv_field(rk_buf *b, const char *s, bool first)
{
    const unsigned char *p = (const unsigned char *)rk_rtext_or_empty(s);
    size_t len = strlen((const char *)p);
    bool formula = len && strchr("=+-@\t\r", p[0]);
    const bool quote = true;
    if (!first && rk_buf_puts(b, ","))
        return -1;
    if (quote && rk_buf_puts(b, "\""))
        return -1;
    if (formula && rk_buf_puts(b, "'"))
        return -1;
    for (size_t i = 0; i < len;) {
        size_t n = rk_rtext_u8len(p + i, len - i);
        int rc = 0;
        if (n == 1 && p[i] == '"')
            rc = rk_buf_puts(b, "\"\"");
        else if ((n == 1 && (p[i] == '\r' || p[i] == '\n' || p[i] == '\t')) || !rk_rtext_is_control(p + i, n))
            rc = rk_buf_append(b, p + i, n);
        if (rc)
            return -1;
        i += n;
    }
    return quote ? rk_buf_puts(b, "\"") : 0;
}

const char *const rk_csvout_columns[] = {
    "id",       "kind",     "author_node",     "prefecture", "prefecture_name", "title",   "summary",
    "industry", "dx_level", "skills",          "tags",       "starts_at",       "ends_at", "event_type",
    "format",   "status",   "application_url", "version",
};
const size_t rk_csvout_column_count = sizeof rk_csvout_columns / sizeof rk_csvout_columns[0];

static bool has_row(const rk_record *rec)
{
    return rec && rec->msg && rec->msg->kind != RENKEI__KIND__KIND_TOMBSTONE &&
           rec->msg->body_case != RENKEI__RECORD__BODY_TOMBSTONE &&
           rec->msg->body_case != RENKEI__RECORD__BODY__NOT_SET;
}

/* Appends s and its NUL to store, recording where it starts. */
static int put_value(rk_buf *store, size_t *off, const char *s)
{
    *off = store->len;
    return rk_buf_append(store, rk_rtext_or_empty(s), strlen(rk_rtext_or_empty(s)) + 1);
}

int rk_csvout_values(const rk_record *rec, const rk_feed_meta *m, rk_buf *store, size_t *offs)
{
    if (!has_row(rec))
        return 1;
    const Renkei__Record *r = rec->msg;
    char hex[2 * RK_KEY_LEN + 1], id[RK_ID_MAX], ver[32];
    rk_rtext_author_hex(rec, hex);
    rk_record_id(r->author.data, rk_rtext_or_empty(r->rid), id);
    rk_rtext_version_time(r->version, ver);
    const char *pref = rk_rtext_prefecture(r);
    const char *pname = rk_prefecture_name(pref);
    const char *industry = "", *dx = "", *starts = "", *ends = "", *etype = "", *format = "", *status = "", *apply = "";
    if (r->body_case == RENKEI__RECORD__BODY_CASE) {
        industry = rk_rtext_code(&renkei__industry__descriptor, (int)r->case_->industry);
        dx = rk_rtext_code(&renkei__dx_level__descriptor, (int)r->case_->dx_level);
    } else if (r->body_case == RENKEI__RECORD__BODY_EVENT) {
        const Renkei__Event *e = r->event;
        starts = rk_rtext_or_empty(e->starts_at);
        ends = rk_rtext_or_empty(e->ends_at);
        etype = rk_rtext_code(&renkei__event_type__descriptor, (int)e->event_type);
        format = rk_rtext_code(&renkei__event_format__descriptor, (int)e->format);
        status = rk_rtext_code(&renkei__event_status__descriptor, (int)e->status);
        apply = rk_rtext_or_empty(e->application_url);
    }
    rk_buf_reset(store);
    rk_buf tmp;
    rk_buf_init(&tmp);
    int rc = -1;
    size_t k = 0;
    if (put_value(store, &offs[k++], id) || put_value(store, &offs[k++], rk_kind_name((int)r->kind)) ||
        put_value(store, &offs[k++], rk_rtext_author_display(rec, m, hex)) || put_value(store, &offs[k++], pref) ||
        put_value(store, &offs[k++], pname) || put_value(store, &offs[k++], rk_rtext_title(r)) ||
        put_value(store, &offs[k++], rk_rtext_summary(r)) || put_value(store, &offs[k++], industry) ||
        put_value(store, &offs[k++], dx))
        goto done;
    Renkei__Skill *sk;
    size_t nsk;
    rk_rtext_skills(r, &sk, &nsk);
    for (size_t i = 0; i < nsk; i++)
        if ((i && rk_buf_puts(&tmp, "; ")) || rk_buf_puts(&tmp, rk_rtext_code(&renkei__skill__descriptor, (int)sk[i])))
            goto done;
    if (put_value(store, &offs[k++], tmp.data))
        goto done;
    char **tags;
    size_t ntags;
    rk_rtext_tags(r, &tags, &ntags);
    rk_buf_reset(&tmp);
    for (size_t i = 0; i < ntags; i++)
        if ((i && rk_buf_puts(&tmp, "; ")) || rk_buf_puts(&tmp, rk_rtext_or_empty(tags[i])))
            goto done;
    if (put_value(store, &offs[k++], tmp.data))
        goto done;
    if (put_value(store, &offs[k++], starts) || put_value(store, &offs[k++], ends) ||
        put_value(store, &offs[k++], etype) || put_value(store, &offs[k++], format) ||
        put_value(store, &offs[k++], status) || put_value(store, &offs[k++], apply) ||
        put_value(store, &offs[k++], ver))
        goto done;
    rc = k == rk_csvout_column_count ? 0 : -1;
done:
    rk_buf_free(&tmp);
    return rc;
}

int rk_csvout_header(rk_buf *out)
{
    /* the BOM is what makes Excel (the usual consumer in a prefectural office) read UTF-8 */
    if (rk_buf_puts(out, "\xEF\xBB\xBF"))
        return -1;
    for (size_t i = 0; i < rk_csvout_column_count; i++)
        if (csv_field(out, rk_csvout_columns[i], i == 0))
            return -1;
    return rk_buf_puts(out, "\r\n");
}

int rk_csvout_row(const rk_record *rec, const rk_feed_meta *m, rk_buf *out)
{
    size_t offs[sizeof rk_csvout_columns / sizeof rk_csvout_columns[0]];
    rk_buf vals;
    rk_buf_init(&vals);
    int rc = rk_csvout_values(rec, m, &vals, offs);
    if (rc == 0) {
        for (size_t i = 0; i < rk_csvout_column_count && rc == 0; i++)
            rc = csv_field(out, vals.data + offs[i], i == 0);
        if (rc == 0)
            rc = rk_buf_puts(out, "\r\n");
    }
    rk_buf_free(&vals);
    return rc < 0 ? -1 : 0;
}

int rk_csvout_render(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out)
{
    const rk_record **v = rk_rtext_sorted_copy(recs, n);
    if (!v)
        return -1;
    size_t k = rk_rtext_count_sorted(v, n);
    int rc = rk_csvout_header(out);
    for (size_t i = 0; i < k && rc == 0; i++)
        rc = rk_csvout_row(v[i], m, out);
    free(v);
    return rc;
}
