/* ical: renders event records as iCalendar (RFC 5545), whole or one event at a time.
 *
 * Invariants: UIDs are "<rid>@<author hex>", the record's identity, so every node names an event
 * the same way and a calendar that subscribes to two nodes shows it once; SEQUENCE grows with every
 * revision; lines are folded at 75 octets, never inside a UTF-8 character; output depends only on
 * the records and the meta (no clock reads).
 */
#include "ical.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtext.h"
#include "taxonomy.h"

/* ------------------------------------------------------------------------------------ iCalendar */

/* Emits one content line, folded so no physical line exceeds 75 octets (RFC 5545 3.1) and never
 * inside a UTF-8 sequence: many clients mangle Japanese text split mid-character. */
static int ics_emit(rk_buf *out, const char *line, size_t len)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t col = 0;
    for (size_t i = 0; i < len;) {
        size_t n = rk_rtext_u8len(p + i, len - i);
        if (col + n > 75) {
            if (rk_buf_append(out, "\r\n ", 3))
                return -1;
            col = 1;
        }
        if (rk_buf_append(out, p + i, n))
            return -1;
        col += n;
        i += n;
    }
    return rk_buf_append(out, "\r\n", 2);
}

/* TEXT value escaping (RFC 5545 3.3.11); CR is dropped so CRLF in the source becomes one \n. */
static int ics_text(rk_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)rk_rtext_or_empty(s);
    size_t len = strlen((const char *)p);
    for (size_t i = 0; i < len;) {
        size_t n = rk_rtext_u8len(p + i, len - i);
        int rc = 0;
        if (n == 1 && p[i] == '\n')
            rc = rk_buf_puts(b, "\\n");
        else if (n == 1 && (p[i] == '\\' || p[i] == ';' || p[i] == ','))
            rc = rk_buf_printf(b, "\\%c", p[i]);
        else if (n == 1 && p[i] == '\t')
            rc = rk_buf_puts(b, " ");
        else if (!rk_rtext_is_control(p + i, n) && !(n == 1 && p[i] == '\r'))
            rc = rk_buf_append(b, p + i, n);
        if (rc)
            return -1;
        i += n;
    }
    return 0;
}

static int ics_line(rk_buf *out, rk_buf *tmp, const char *fmt_name, const char *raw)
{
    rk_buf_reset(tmp);
    if (rk_buf_puts(tmp, fmt_name) || rk_buf_puts(tmp, raw))
        return -1;
    return ics_emit(out, tmp->data, tmp->len);
}

static int ics_text_prop(rk_buf *out, rk_buf *tmp, const char *name, const char *text)
{
    if (!text || !*text)
        return 0;
    rk_buf_reset(tmp);
    if (rk_buf_puts(tmp, name) || rk_buf_puts(tmp, ":") || ics_text(tmp, text))
        return -1;
    return ics_emit(out, tmp->data, tmp->len);
}

static void ics_date(int64_t days, char out[16])
{
    int y, mo, d;
    rk_civil_from_days(days, &y, &mo, &d);
    snprintf(out, 16, "%04d%02d%02d", y, mo, d);
}

/* Local date-time "YYYYMMDDTHHMMSS" of an instant at an offset, or UTC with "Z". */
static void ics_datetime(int64_t epoch, int offset, bool utc, char out[24])
{
    int64_t local = epoch + offset;
    int64_t days = rk_rtext_floor_div(local, 86400);
    int64_t sec = local - days * 86400;
    int y, mo, d;
    rk_civil_from_days(days, &y, &mo, &d);
    snprintf(out, 24, "%04d%02d%02dT%02d%02d%02d%s", y, mo, d, (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60),
             utc ? "Z" : "");
}

static bool is_tokyo(const char *tz)
{
    return !tz || !*tz || strcmp(tz, "Asia/Tokyo") == 0;
}

static int ics_event(rk_buf *out, rk_buf *tmp, const rk_record *rec, const rk_feed_meta *m)
{
    const Renkei__Record *r = rec->msg;
    const Renkei__Event *e = r->event;
    int64_t start, end;
    int soff, eoff;
    if (rk_parse_rfc3339(rk_rtext_or_empty(e->starts_at), &start, &soff) != 0)
        return 0; /* validated on ingest; a record we cannot place on a calendar is left out */
    if (rk_parse_rfc3339(rk_rtext_or_empty(e->ends_at), &end, &eoff) != 0) {
        end = start;
        eoff = soff;
    }
    if (end < start)
        end = start;
    char hex[2 * RK_KEY_LEN + 1], stamp[24], a[24], b[24];
    rk_rtext_author_hex(rec, hex);
    ics_datetime((int64_t)(r->version / 1000), 0, true, stamp);
    rk_buf summary;
    rk_buf_init(&summary);
    int rc = -1;
    if (rk_buf_puts(out, "BEGIN:VEVENT\r\n"))
        goto done;
    rk_buf_reset(tmp);
    if (rk_buf_puts(tmp, "UID:") || ics_text(tmp, rk_rtext_or_empty(r->rid)) || rk_buf_printf(tmp, "@%s", hex) ||
        ics_emit(out, tmp->data, tmp->len) || ics_line(out, tmp, "DTSTAMP:", stamp) ||
        ics_line(out, tmp, "LAST-MODIFIED:", stamp))
        goto done;
    if (r->created_at) {
        ics_datetime((int64_t)(r->created_at / 1000), 0, true, a);
        if (ics_line(out, tmp, "CREATED:", a))
            goto done;
    }
    /* SEQUENCE must grow with each revision and fit a 32-bit integer: seconds since first publication. */
    uint64_t seq = r->version > r->created_at && r->created_at ? (r->version - r->created_at) / 1000 : 0;
    if (seq > 2147483647u)
        seq = 2147483647u;
    rk_buf_reset(tmp);
    if (rk_buf_printf(tmp, "SEQUENCE:%llu", (unsigned long long)seq) || ics_emit(out, tmp->data, tmp->len))
        goto done;

    const char *note = NULL, *precision = NULL;
    char notebuf[64];
    switch (e->date_precision) {
    case RENKEI__DATE_PRECISION__DATE_PRECISION_DAY: {
        /* all-day: the dates as the publisher wrote them; DTEND is exclusive, so last day + 1 */
        int64_t d0 = rk_rtext_floor_div(start + soff, 86400), d1 = rk_rtext_floor_div(end + eoff, 86400);
        if (d1 < d0)
            d1 = d0;
        ics_date(d0, a);
        ics_date(d1 + 1, b);
        if (ics_line(out, tmp, "DTSTART;VALUE=DATE:", a) || ics_line(out, tmp, "DTEND;VALUE=DATE:", b))
            goto done;
        precision = "day";
        break;
    }
    case RENKEI__DATE_PRECISION__DATE_PRECISION_MONTH: {
        int y, mo, d;
        rk_civil_from_days(rk_rtext_floor_div(start + soff, 86400), &y, &mo, &d);
        int ny = mo == 12 ? y + 1 : y, nm = mo == 12 ? 1 : mo + 1;
        ics_date(rk_days_from_civil(y, mo, 1), a);
        ics_date(rk_days_from_civil(ny, nm, 1), b);
        if (ics_line(out, tmp, "DTSTART;VALUE=DATE:", a) || ics_line(out, tmp, "DTEND;VALUE=DATE:", b))
            goto done;
        snprintf(notebuf, sizeof notebuf, "（%d年%d月・日程未定）", y, mo);
        note = notebuf;
        precision = "month";
        break;
    }
    case RENKEI__DATE_PRECISION__DATE_PRECISION_FISCAL_YEAR: {
        int y, mo, d;
        rk_civil_from_days(rk_rtext_floor_div(start + soff, 86400), &y, &mo, &d);
        int fy = mo >= 4 ? y : y - 1; /* 年度 runs April to March */
        ics_date(rk_days_from_civil(fy, 4, 1), a);
        ics_date(rk_days_from_civil(fy + 1, 4, 1), b);
        if (ics_line(out, tmp, "DTSTART;VALUE=DATE:", a) || ics_line(out, tmp, "DTEND;VALUE=DATE:", b))
            goto done;
        snprintf(notebuf, sizeof notebuf, "（%d年度・日程未定）", fy);
        note = notebuf;
        precision = "fiscal_year";
        break;
    }
    default:
        if (is_tokyo(e->time_zone)) {
            ics_datetime(start, RK_JST_OFFSET_S, false, a);
            ics_datetime(end, RK_JST_OFFSET_S, false, b);
            if (ics_line(out, tmp, "DTSTART;TZID=Asia/Tokyo:", a) || ics_line(out, tmp, "DTEND;TZID=Asia/Tokyo:", b))
                goto done;
        } else {
            /* only Asia/Tokyo has a VTIMEZONE here; other zones are given as exact UTC instants */
            ics_datetime(start, 0, true, a);
            ics_datetime(end, 0, true, b);
            if (ics_line(out, tmp, "DTSTART:", a) || ics_line(out, tmp, "DTEND:", b))
                goto done;
        }
        break;
    }
    if (precision && ics_line(out, tmp, "X-RENKEI-DATE-PRECISION:", precision))
        goto done;
    if (rk_rtext_display_title(&summary, r, rk_rtext_or_empty(e->title)) || (note && rk_buf_puts(&summary, note)) ||
        ics_text_prop(out, tmp, "SUMMARY", summary.data))
        goto done;
    rk_buf_reset(&summary);
    if (rk_rtext_describe(&summary, r) || ics_text_prop(out, tmp, "DESCRIPTION", summary.data))
        goto done;
    if (e->venue) {
        rk_buf_reset(&summary);
        const char *vn = rk_rtext_or_empty(e->venue->name), *va = rk_rtext_or_empty(e->venue->address);
        if (rk_buf_puts(&summary, vn) || (*vn && *va && rk_buf_puts(&summary, ", ")) || rk_buf_puts(&summary, va) ||
            ics_text_prop(out, tmp, "LOCATION", summary.data))
            goto done;
    } else if (e->format == RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE &&
               ics_text_prop(out, tmp, "LOCATION",
                             *rk_rtext_or_empty(e->online_platform) ? e->online_platform : "オンライン")) {
        goto done;
    }
    if (e->application_url && *e->application_url) {
        /* URL is a URI value, not TEXT: no escaping, but never let a line break in */
        rk_buf_reset(&summary);
        for (const char *c = e->application_url; *c; c++)
            if ((unsigned char)*c > 0x20 && *c != 0x7F && rk_buf_append(&summary, c, 1))
                goto done;
        if (summary.len && ics_line(out, tmp, "URL:", summary.data))
            goto done;
    }
    const char *status = "CONFIRMED";
    if (e->status == RENKEI__EVENT_STATUS__EVENT_STATUS_CANCELLED)
        status = "CANCELLED";
    else if (e->status == RENKEI__EVENT_STATUS__EVENT_STATUS_PLANNED)
        status = "TENTATIVE";
    if (ics_line(out, tmp, "STATUS:", status))
        goto done;
    rk_buf_reset(&summary);
    const char *et = rk_rtext_code(&renkei__event_type__descriptor, (int)e->event_type);
    if (*et && ics_text_prop(out, tmp, "CATEGORIES", rk_label_ja(&renkei__event_type__descriptor, (int)e->event_type)))
        goto done;
    const char *who = rk_rtext_author_display(rec, m, hex);
    if (ics_text_prop(out, tmp, "X-RENKEI-NODE", who) || ics_line(out, tmp, "X-RENKEI-AUTHOR:", hex))
        goto done;
    if (rk_buf_puts(out, "END:VEVENT\r\n"))
        goto done;
    rc = 0;
done:
    rk_buf_free(&summary);
    return rc;
}

int rk_ical_begin(const rk_feed_meta *m, bool truncated, rk_buf *out)
{
    rk_buf tmp, name;
    rk_buf_init(&tmp);
    rk_buf_init(&name);
    const char *node = m && m->node_name ? m->node_name : "renkei";
    int rc = -1;
    if (rk_buf_puts(out, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") ||
        ics_line(out, &tmp, "PRODID:", "-//renkei//renkei " RENKEI_VERSION "//JA") ||
        rk_buf_puts(out, "CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n") ||
        rk_buf_printf(&name, "renkei: %s イベント", node) || ics_text_prop(out, &tmp, "X-WR-CALNAME", name.data) ||
        rk_buf_puts(out, "X-WR-TIMEZONE:Asia/Tokyo\r\n"
                         "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\n"
                         "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
                         "TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nTZNAME:JST\r\n"
                         "END:STANDARD\r\nEND:VTIMEZONE\r\n"))
        goto done;
    /* calendar properties precede the components (RFC 5545 3.4), so the caller decides this first */
    if (truncated && rk_buf_puts(out, "X-RENKEI-TRUNCATED:TRUE\r\n"))
        goto done;
    rc = 0;
done:
    rk_buf_free(&tmp);
    rk_buf_free(&name);
    return rc;
}

int rk_ical_event(const rk_record *rec, const rk_feed_meta *m, rk_buf *out)
{
    if (!rec || !rec->msg || rec->msg->body_case != RENKEI__RECORD__BODY_EVENT || !rec->msg->event)
        return 0;
    rk_buf tmp;
    rk_buf_init(&tmp);
    int rc = ics_event(out, &tmp, rec, m);
    rk_buf_free(&tmp);
    return rc;
}

int rk_ical_end(rk_buf *out)
{
    return rk_buf_puts(out, "END:VCALENDAR\r\n");
}

int rk_ical_render(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out)
{
    if (rk_ical_begin(m, false, out))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (rk_ical_event(recs[i], m, out))
            return -1;
    return rk_ical_end(out);
}
