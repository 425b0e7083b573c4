/* export: the HTTP-facing side of the national view (GET /v1/export/NAME, /v1/stats, /v1/regions).
 *
 * Feeds are paged: `limit` records per page, and a `next` link (Atom rel="next", JSON Feed
 * next_url) carrying the store's cursor until the last page. The CSV and the calendar are complete
 * by default, rendered record by record straight from the store (never all held at once), up to
 * EXPORT_MAX_ROWS records or EXPORT_MAX_BYTES of output; a response cut short says so (a
 * `Renkei-Truncated` header, a Link rel="next" for the CSV, X-RENKEI-TRUNCATED in the calendar).
 * The calendar keeps the future: `limit` drops the oldest past events first.
 *
 * Memory, whatever clients do: with a spool (spool.h; the daemon's), a body over SPOOL_FROM_BYTES is
 * not kept in memory. The CSV, the calendar and the feed pages (Atom and JSON Feed) are rendered
 * record by record from the store's walk and move their output to a spool file a piece at a time
 * (bodysink.h), the workbook as it is read back from libxlsxwriter's file; the catalog, /v1/stats
 * and /v1/regions are a few counts, rendered whole. The HTTP server then reads the file one piece at
 * a time as the client takes it (daemon/http.c), with a Content-Length, so the bytes are exactly
 * those rendered whole. Rendering is done in one read transaction, as fast as the CPU
 * allows and never at the pace of a client, so a slow client holds no snapshot; the file is that
 * snapshot, which a slow download gets complete and consistent with its ETag however the store
 * changes meanwhile. The file is found again by ETag while a client still downloads it, and a request
 * for an ETag being rendered waits for that rendering (rk_spool_claim: single flight), so clients
 * asking for the same export, together or one after another, share one rendering and one file;
 * distinct ones beyond the spool's byte budget are refused with 503 export_busy.
 *
 * Invariants: exports only ever see records with visibility public (the store query is bounded by
 * max_visibility = PUBLIC, and each record is checked again before rendering); a bad query never
 * reaches the store; the ETag is a hash of (export name, normalised parameters, base URL, store
 * change sequence) and is decided before any record is read, so a conditional request that matches
 * costs one small read transaction and no rendering. Every stored change bumps last_seq, so a new
 * publish, update or delete always changes the ETag.
 */
#include <glib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bodysink.h"
#include "catalog.h"
#include "conditional.h"
#include "csvout.h"
#include "export.h"
#include "ical.h"
#include "jsonlist.h"
#include "params.h"
#include "query.h"
#include "regions.h"
#include "stats.h"
#include "sign.h"
#include "schema_event.h"
#include "spool.h"
#include "taxonomy.h"
#include "xlsx.h"

#define LIMIT_DEFAULT 100            /* feed page size */
#define LIMIT_MAX 10000              /* largest feed page */
#define EXPORT_MAX_ROWS 20000        /* most CSV rows or calendar events in one response */
#define EXPORT_MAX_BYTES (64u << 20) /* a CSV or calendar stops after the record that passes this */
/* With a spool, a body larger than this goes there rather than staying in memory (rendering moves
 * its output there every RK_BODYSINK_PIECE bytes). */
#define SPOOL_FROM_BYTES (64u << 10)
/* events.ics without "from": events that ended in the last 180 days and everything later */
#define ICS_PAST_DAYS 180

enum fmt { F_ATOM, F_JSON, F_ICS, F_CSV, F_XLSX, F_EVENTS_LD, F_CATALOG, F_STATS, F_REGIONS };

static bool is_complete_export(enum fmt f)
{
    return f == F_ICS || f == F_CSV || f == F_XLSX || f == F_EVENTS_LD;
}
static bool is_calendar(enum fmt f)
{
    return f == F_ICS || f == F_EVENTS_LD;
}

static const struct {
    const char *name;
    enum fmt fmt;
    const char *content_type;
    const char *params; /* allowed parameters, space separated with a space at each end */
} exports[] = {
    {"feed.atom", F_ATOM, "application/atom+xml; charset=utf-8", " kind prefecture industry q limit cursor "},
    {"feed.json", F_JSON, "application/feed+json", " kind prefecture industry q limit cursor "},
    {"events.ics", F_ICS, "text/calendar; charset=utf-8", " kind prefecture format open_scope from to limit "},
    {"records.csv", F_CSV, "text/csv; charset=utf-8; header=present", " kind prefecture industry q limit cursor "},
    {"records.xlsx", F_XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     " kind prefecture industry q limit cursor "},
    {"events.jsonld", F_EVENTS_LD, "application/ld+json", " kind prefecture format open_scope from to limit "},
    {"catalog.jsonld", F_CATALOG, "application/ld+json", " "},
    {"stats", F_STATS, "application/json", " "},
    {"regions", F_REGIONS, "application/json", " "},
};

typedef struct export_query {
    int kind, industry, format, open_scope;
    char prefecture[3];
    const char *q, *cursor;
    size_t limit;
    int64_t from, to;
    int64_t split; /* events.ics: the start of today (JST); events ending before it are past */
} export_query;

/* ------------------------------------------------------------------------------- parameters */

/* Whether key is one of the names in list, compared whole: an empty key, or one holding a space, is
 * none of them (a search for it as a substring read before the list, and let "kind prefecture" in). */
static bool allowed(const char *list, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = list + strspn(list, " "); *p; p += strspn(p, " ")) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, key, n) == 0)
            return true;
        p += len;
    }
    return false;
}

static int bad(rk_export_response *out, const char *field, const char *msg)
{
    out->status = 400;
    return rk_fail(&out->err, "invalid_parameter", field, "%s", msg);
}

/* RFC 3339 instant, or a date YYYY-MM-DD meaning its start in Japan time. */
static int parse_instant(const char *s, int64_t *out)
{
    int off;
    if (rk_parse_rfc3339(s, out, &off) == 0)
        return 0;
    int y, m, d;
    if (strlen(s) != 10 || rk_parse_date(s, &y, &m, &d) != 0)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    *out = (int64_t)timegm(&tm) - RK_JST_OFFSET_S;
    return 0;
}

static int parse_query(const rk_params *p, int fmt_index, int64_t now_s, export_query *q, rk_export_response *out)
{
    memset(q, 0, sizeof *q);
    enum fmt f = exports[fmt_index].fmt;
    size_t max = is_complete_export(f) ? EXPORT_MAX_ROWS : LIMIT_MAX;
    q->limit = is_complete_export(f) ? EXPORT_MAX_ROWS : LIMIT_DEFAULT;
    q->to = INT64_MAX;
    const char *list = exports[fmt_index].params;
    for (size_t i = 0; i < p->count; i++)
        if (!allowed(list, p->keys[i])) {
            out->status = 400;
            return rk_fail(&out->err, "unknown_parameter", p->keys[i], "unknown parameter \"%.64s\" for %s", p->keys[i],
                           exports[fmt_index].name);
        }
    const char *v;
    if ((v = rk_params_get(p, "kind")) && *v) {
        q->kind = rk_taxonomy_value(&renkei__kind__descriptor, v);
        if (q->kind != RENKEI__KIND__KIND_CASE && q->kind != RENKEI__KIND__KIND_EVENT &&
            q->kind != RENKEI__KIND__KIND_REGION)
            return bad(out, "kind", "kind must be case, event or region");
        if (is_calendar(exports[fmt_index].fmt) && q->kind != RENKEI__KIND__KIND_EVENT)
            return bad(out, "kind", "the calendar holds events only");
    }
    if ((v = rk_params_get(p, "prefecture")) && *v) {
        if (!rk_prefecture_valid(v))
            return bad(out, "prefecture", "prefecture must be a JIS X 0401 code 01..47");
        memcpy(q->prefecture, v, 3);
    }
    if ((v = rk_params_get(p, "industry")) && *v &&
        (q->industry = rk_taxonomy_value(&renkei__industry__descriptor, v)) <= 0)
        return bad(out, "industry", "unknown industry code");
    if ((v = rk_params_get(p, "format")) && *v &&
        (q->format = rk_taxonomy_value(&renkei__event_format__descriptor, v)) <= 0)
        return bad(out, "format", "format must be online, onsite or hybrid");
    if ((v = rk_params_get(p, "open_scope")) && *v &&
        (q->open_scope = rk_taxonomy_value(&renkei__open_scope__descriptor, v)) <= 0)
        return bad(out, "open_scope", "open_scope must be local or nationwide");
    if ((v = rk_params_get(p, "q")) && *v)
        q->q = v;
    if ((v = rk_params_get(p, "limit"))) {
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || v[0] == '-' || v[0] == '+' || n < 1 || n > max) {
            out->status = 400;
            return rk_fail(&out->err, "invalid_parameter", "limit", "limit must be an integer from 1 to %zu", max);
        }
        q->limit = n;
    }
    if ((v = rk_params_get(p, "cursor")) && *v) {
        if (strlen(v) >= RK_CURSOR_MAX || strspn(v, "0123456789abcdef") != strlen(v))
            return bad(out, "cursor", "malformed cursor: use the next link of the previous page");
        q->cursor = v;
    }
    if (is_calendar(exports[fmt_index].fmt)) {
        /* the default window moves once a day (at JST midnight), so ETags stay stable within a day */
        int64_t today = ((now_s + RK_JST_OFFSET_S) / 86400) * 86400 - RK_JST_OFFSET_S;
        q->split = today;
        q->from = today - (int64_t)ICS_PAST_DAYS * 86400;
        if ((v = rk_params_get(p, "from")) && *v && parse_instant(v, &q->from) != 0)
            return bad(out, "from", "from must be RFC 3339 or YYYY-MM-DD");
        if ((v = rk_params_get(p, "to")) && *v && parse_instant(v, &q->to) != 0)
            return bad(out, "to", "to must be RFC 3339 or YYYY-MM-DD");
        if (q->to < q->from)
            return bad(out, "to", "to is before from");
    }
    return 0;
}

/* ------------------------------------------------------------------------- HTTP conditionals */

static void make_etag(int fmt_index, const export_query *q, const rk_feed_meta *m, uint64_t last_seq, char out[80])
{
    rk_buf b;
    rk_buf_init(&b);
    /* a failed append only makes the ETag less specific to the query; last_seq still moves it */
    (void)rk_buf_printf(&b, "%s\n%d\n%s\n%d\n%d\n%d\n%zu\n%lld\n%lld\n%lld\n%s\n%s\n%s\n%llu", exports[fmt_index].name,
                        q->kind, q->prefecture, q->industry, q->format, q->open_scope, q->limit, (long long)q->from,
                        (long long)q->to, (long long)q->split, q->q ? q->q : "", q->cursor ? q->cursor : "",
                        m && m->base_url ? m->base_url : "", (unsigned long long)last_seq);
    uint8_t h[RK_HASH_LEN];
    rk_sha256(b.data ? b.data : "", b.len, h);
    rk_buf_free(&b);
    char hex[33];
    rk_hex_encode(h, 16, hex);
    snprintf(out, 80, "\"%s\"", hex);
}

/* ------------------------------------------------------------------------- servable records */

/* Defence in depth, for every walk of an export: whatever the index says, nothing above the export's
 * visibility (and nothing local) is rendered. */
static bool export_servable(const rk_record *rec, int max_visibility)
{
    return rec->msg && rec->msg->visibility >= RENKEI__VISIBILITY__VISIBILITY_PUBLIC &&
           (int)rec->msg->visibility <= max_visibility;
}

static int fail500(rk_export_response *out, const char *msg)
{
    out->status = 500;
    rk_buf_reset(&out->body);
    return rk_fail(&out->err, "internal", "", "%s", msg);
}

/* ------------------------------------------------------------------------------------ stats */

static int stats_cb(const rk_record *rec, void *ctx)
{
    rk_stats_add(ctx, rec);
    return 0;
}

static int put_json(rk_export_response *out, json_t *j)
{
    int rc = !j || rk_jsonlist_document(j, &out->body);
    json_decref(j);
    return rc ? fail500(out, "out of memory rendering JSON") : 0;
}

static int serve_stats(rk_txn *t, int64_t now_s, rk_export_response *out)
{
    rk_stats *s = rk_stats_new(now_s);
    if (!s)
        return fail500(out, "out of memory");
    rk_query q = {.max_visibility = RENKEI__VISIBILITY__VISIBILITY_NETWORK};
    char cursor[RK_CURSOR_MAX];
    if (rk_store_query(t, &q, stats_cb, s, cursor, &out->err) != 0) {
        rk_stats_free(s);
        out->status = 500;
        return -1;
    }
    json_t *j = rk_stats_to_json(s);
    rk_stats_free(s);
    return put_json(out, j);
}

/* ---------------------------------------------------------------------------------- regions */

static int serve_regions(rk_txn *t, const rk_feed_meta *m, rk_export_response *out)
{
    json_t *j = rk_regions_json(t, m, &out->err);
    if (!j) {
        out->status = 500;
        return -1;
    }
    return put_json(out, j);
}

/* -------------------------------------------------------------------------------------- links */

/* base + "/v1/export/" + name, then the request's parameters re-encoded (cursor left out) so that
 * links never echo raw client bytes, then "cursor=" + cursor when one is given. */
static int export_url(rk_buf *b, const rk_feed_meta *m, const char *name, const rk_params *p, const char *cursor)
{
    if (rk_buf_printf(b, "%s/v1/export/%s", m && m->base_url ? m->base_url : "", name))
        return -1;
    char sep = '?';
    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->keys[i], "cursor") == 0)
            continue;
        char *k = g_uri_escape_string(p->keys[i], NULL, FALSE);
        char *v = g_uri_escape_string(p->values[i] ? p->values[i] : "", NULL, FALSE);
        int rc = !k || !v || rk_buf_printf(b, "%c%s=%s", sep, k, v);
        g_free(k);
        g_free(v);
        if (rc)
            return -1;
        sep = '&';
    }
    return cursor && *cursor ? rk_buf_printf(b, "%ccursor=%s", sep, cursor) : 0;
}

/* -------------------------------------------------------------------------------- the CSV */

typedef struct csv_stream {
    const rk_feed_meta *m;
    rk_bodysink *out;
    rk_xlsx *xlsx; /* rows go to the workbook instead of out */
    uint64_t newest;
    size_t rows;
    int failed;
} csv_stream;

static int csv_cb(const rk_record *rec, void *ctx)
{
    csv_stream *c = ctx;
    if (!export_servable(rec, RENKEI__VISIBILITY__VISIBILITY_PUBLIC))
        return 0;
    if (rec->msg->version > c->newest)
        c->newest = rec->msg->version;
    if (c->xlsx ? rk_xlsx_row(c->xlsx, rec, c->m) : rk_csvout_row(rec, c->m, c->out->buf)) {
        c->failed = 1;
        return 1;
    }
    c->rows++;
    if (c->xlsx) /* the workbook is on disk, and compresses: its bound is the row count alone */
        return 0;
    if (rk_bodysink_flush(c->out, RK_BODYSINK_PIECE) != 0)
        return 1;
    /* the row that passes the byte bound is kept; the store's cursor then points after it */
    return rk_bodysink_len(c->out) >= EXPORT_MAX_BYTES;
}

/* -------------------------------------------------------------------------------- the feeds */

/* A feed page is walked twice in one read transaction. The first walk learns what the page's head
 * says before any entry: the newest record's version (Atom's updated, and Last-Modified) and the next
 * page's cursor, which the store gives only at the end of a walk. It loads the first servable match
 * (the newest: the store answers newest first) and counts the others by their hash, unloaded where
 * the index decides the match. The second walk renders each record as the store passes it and moves
 * the output to the spool a piece at a time, so a page of LIMIT_MAX records holds one record and one
 * piece rather than all of them and the whole body. */
typedef struct feed_scan {
    uint64_t newest;
    bool seen; /* a servable match was loaded: the rest need not be */
} feed_scan;

static int feed_scan_record(const rk_record *rec, void *ctx)
{
    feed_scan *s = ctx;
    if (export_servable(rec, RENKEI__VISIBILITY__VISIBILITY_PUBLIC)) {
        s->seen = true;
        if (rec->msg->version > s->newest)
            s->newest = rec->msg->version;
    }
    return 0;
}

static int feed_scan_hash(const uint8_t hash[RK_HASH_LEN], int max_visibility, void *ctx)
{
    (void)hash;
    (void)max_visibility;
    return ((feed_scan *)ctx)->seen ? 1 : 0;
}

typedef struct feed_stream {
    rk_feed_writer *w;
    rk_bodysink *out;
    int failed;
} feed_stream;

static int feed_record(const rk_record *rec, void *ctx)
{
    feed_stream *f = ctx;
    if (!export_servable(rec, RENKEI__VISIBILITY__VISIBILITY_PUBLIC))
        return 0;
    if (rk_feed_entry(f->w, rec) != 0) {
        f->failed = 1;
        return 1;
    }
    return rk_bodysink_flush(f->out, RK_BODYSINK_PIECE) != 0;
}

/* The second walk: the page whose head the first one learnt (newest, and m->next_url). */
static int render_feed(rk_txn *t, const rk_query *sq, bool json, const rk_feed_meta *m, uint64_t newest,
                       rk_bodysink *sink, rk_error *err)
{
    rk_feed_writer w;
    feed_stream fs = {.w = &w, .out = sink};
    char cursor[RK_CURSOR_MAX];
    int rc = rk_feed_begin(&w, json, m, newest, sink->buf) ? -2 : rk_store_query(t, sq, feed_record, &fs, cursor, err);
    if (rc == 0 && sink->failed)
        rc = -1; /* the spool said why */
    else if (rc == 0 && (fs.failed || rk_feed_end(&w) != 0))
        rc = -2;
    rk_feed_writer_free(&w);
    return rc == -2 ? rk_fail(err, "internal", "", "out of memory rendering the feed") : rc;
}

/* ------------------------------------------------------------------------------ the calendar */

/* An event's end as the event index sees it (ends_at, or starts_at when missing or earlier). */
static bool event_ends_before(const rk_record *rec, int64_t t)
{
    const Renkei__Event *e = rec->msg->event;
    int64_t start, end;
    int off;
    if (!e || !e->starts_at || rk_parse_rfc3339(e->starts_at, &start, &off) != 0)
        return false;
    if (!e->ends_at || !e->ends_at[0] || rk_parse_rfc3339(e->ends_at, &end, &off) != 0 || end < start)
        end = start;
    return end < t;
}

typedef struct ics_pass {
    const rk_feed_meta *m;
    rk_bodysink *out;    /* NULL: count only */
    bool json;           /* schema.org JSON-LD rather than iCalendar */
    bool *first;         /* JSON-LD: no comma before the first event */
    int64_t past_before; /* INT64_MIN: every event counts; else only those ending before it */
    size_t skip, seen, rendered, max;
    uint64_t newest;
    int failed;
} ics_pass;

static int ics_cb(const rk_record *rec, void *ctx)
{
    ics_pass *p = ctx;
    if (!export_servable(rec, RENKEI__VISIBILITY__VISIBILITY_PUBLIC))
        return 0;
    if (p->past_before != INT64_MIN && !event_ends_before(rec, p->past_before))
        return 0; /* still going on at the split: the future pass has it */
    if (p->seen++ < p->skip)
        return 0;
    if (p->rendered == p->max)
        return 1;
    p->rendered++;
    if (rec->msg->version > p->newest)
        p->newest = rec->msg->version;
    if (!p->out)
        return 0;
    if (p->json ? rk_schema_events_add(rec, p->m, p->first, p->out->buf) : rk_ical_event(rec, p->m, p->out->buf)) {
        p->failed = 1;
        return 1;
    }
    if (rk_bodysink_flush(p->out, RK_BODYSINK_PIECE) != 0)
        return 1;
    return rk_bodysink_len(p->out) >= EXPORT_MAX_BYTES;
}

static int events_pass(rk_txn *t, const export_query *eq, int64_t from, int64_t to, size_t limit, ics_pass *p,
                       rk_error *err)
{
    if (to < from)
        return 0;
    rk_event_query evq = {.from = from,
                          .to = to,
                          .format = eq->format,
                          .open_scope = eq->open_scope,
                          .max_visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC,
                          .limit = limit};
    memcpy(evq.prefecture, eq->prefecture, sizeof evq.prefecture);
    int rc = rk_store_events(t, &evq, ics_cb, p, err);
    if (rc == 0 && p->out && p->out->failed)
        rc = -1; /* err says why */
    else if (rc == 0 && p->failed)
        rc = rk_fail(err, "internal", "", "out of memory rendering the calendar");
    return rc;
}

/* The window is [from, to]; events still going on at or after the split (today, JST) are the
 * future. The future is counted first (up to limit + 1), the past fills what room is left with its
 * latest events, and then both are rendered: past (the kept tail) then future, soonest first. */
static int serve_ics(rk_txn *t, const export_query *eq, bool json, const rk_feed_meta *m, rk_bodysink *body,
                     rk_export_response *out, uint64_t *newest, bool *truncated)
{
    bool first = true;
    int64_t fut_from = eq->from > eq->split ? eq->from : eq->split;
    bool has_future = eq->to >= fut_from;
    int64_t past_to = eq->to < eq->split - 1 ? eq->to : eq->split - 1;
    int64_t past_before = has_future ? eq->split : INT64_MIN;
    ics_pass fc = {.past_before = INT64_MIN, .max = eq->limit + 1};
    if (has_future && events_pass(t, eq, fut_from, eq->to, eq->limit + 1, &fc, &out->err) != 0)
        return -1;
    size_t nf = fc.rendered > eq->limit ? eq->limit : fc.rendered;
    *truncated = fc.rendered > eq->limit;
    size_t room = eq->limit - nf;
    ics_pass pc = {.past_before = past_before, .max = SIZE_MAX};
    if (events_pass(t, eq, eq->from, past_to, 0, &pc, &out->err) != 0)
        return -1;
    size_t skip = pc.rendered > room ? pc.rendered - room : 0;
    *truncated |= skip > 0;

    if (json ? rk_schema_events_begin(body->buf) : rk_ical_begin(m, *truncated, body->buf))
        return rk_fail(&out->err, "internal", "", "out of memory");
    ics_pass pr = {
        .m = m, .out = body, .json = json, .first = &first, .past_before = past_before, .skip = skip, .max = room};
    if (room && events_pass(t, eq, eq->from, past_to, 0, &pr, &out->err) != 0)
        return -1;
    ics_pass fr = {.m = m, .out = body, .json = json, .first = &first, .past_before = INT64_MIN, .max = nf};
    if (nf && rk_bodysink_len(body) < EXPORT_MAX_BYTES && events_pass(t, eq, fut_from, eq->to, nf, &fr, &out->err) != 0)
        return -1;
    if (pr.rendered + fr.rendered < (room < pc.rendered ? room : pc.rendered) + nf)
        *truncated = true; /* stopped by the byte bound; too late for the calendar's own flag */
    *newest = pr.newest > fr.newest ? pr.newest : fr.newest;
    if (json ? rk_schema_events_end(body->buf) : rk_ical_end(body->buf))
        return rk_fail(&out->err, "internal", "", "out of memory");
    return 0;
}

/* ------------------------------------------------------------------------------- the catalog */

static int newest_cb(const rk_record *rec, void *ctx)
{
    uint64_t *v = ctx;
    if (export_servable(rec, RENKEI__VISIBILITY__VISIBILITY_PUBLIC) && rec->msg->version > *v)
        *v = rec->msg->version;
    return 0;
}

/* The newest public record of each kind (the store answers newest first, so one record each). */
static int serve_catalog(rk_txn *t, const rk_feed_meta *m, rk_export_response *out, uint64_t *newest)
{
    uint64_t by_kind[4] = {0};
    for (int k = RENKEI__KIND__KIND_CASE; k <= RENKEI__KIND__KIND_REGION; k++) {
        rk_query q = {.kind = k, .max_visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC, .limit = 1};
        char cursor[RK_CURSOR_MAX];
        if (rk_store_query(t, &q, newest_cb, &by_kind[k], cursor, &out->err) != 0)
            return -1;
        if (by_kind[k] > *newest)
            *newest = by_kind[k];
    }
    return rk_catalog_jsonld(m, by_kind, &out->body) ? rk_fail(&out->err, "internal", "", "out of memory") : 0;
}

/* ------------------------------------------------------------------------------- entry point */

/* A render stopped by the error in out->err: 400 for a bad cursor, 503 for a full spool (the clients'
 * doing, not the node's fault: the client retries after Retry-After), else 500. Returns the rc of
 * rk_export_serve. */
static int stopped(rk_export_response *out)
{
    bool busy = strcmp(out->err.code, "export_busy") == 0;
    out->status = strstr(out->err.code, "cursor") ? 400 : busy ? 503 : 500;
    rk_buf_reset(&out->body);
    return out->status == 500 ? -1 : 0;
}

static int add_header(rk_export_response *out, const char *name, const char *value)
{
    return rk_buf_printf(&out->headers, "%s: %s\r\n", name, value);
}

/* A body another request rendered under the same ETag and some client is still downloading: its
 * note is the newest record's version, a newline, and the extra headers. */
static int serve_shared(rk_spool_file *f, const char *if_none_match, const char *if_modified_since,
                        rk_export_response *out)
{
    const char *note = rk_spool_file_note(f);
    char *end;
    uint64_t newest = strtoull(note, &end, 10);
    if (*end == '\n')
        end++;
    if (newest)
        rk_conditional_date((int64_t)(newest / 1000), out->last_modified);
    if (rk_conditional_not_modified(if_none_match, if_modified_since, newest)) {
        rk_spool_file_unref(f);
        out->status = 304;
        return 0;
    }
    if (rk_buf_puts(&out->headers, end)) {
        rk_spool_file_unref(f);
        return fail500(out, "out of memory");
    }
    out->file = f;
    out->status = 200;
    return 0;
}

/* The rendered body goes to the spool under its ETag when it is large (or already partly there). */
static int spool_body(rk_bodysink *sink, uint64_t newest, rk_export_response *out)
{
    if (!sink->spool || (!sink->w && sink->buf->len < SPOOL_FROM_BYTES))
        return 0;
    rk_buf note;
    rk_buf_init(&note);
    if (rk_buf_printf(&note, "%llu\n", (unsigned long long)newest) ||
        (out->headers.len && rk_buf_append(&note, out->headers.data, out->headers.len))) {
        rk_buf_free(&note);
        return fail500(out, "out of memory");
    }
    int rc = rk_bodysink_flush(sink, 0);
    if (rc == 0) {
        out->file = rk_spool_finish(sink->w, out->etag, note.data, &out->err);
        sink->w = NULL;
        rc = out->file ? 0 : -1;
    }
    rk_buf_free(&note);
    rk_buf_reset(&out->body);
    return rc;
}

int rk_export_serve(rk_txn *t, const char *name, const char *query, const char *if_none_match,
                    const char *if_modified_since, const rk_feed_meta *m, rk_spool *spool, rk_export_response *out)
{
    memset(out, 0, sizeof *out);
    rk_buf_init(&out->body);
    rk_buf_init(&out->headers);
    out->content_type = "application/json";
    int fi = -1;
    for (size_t i = 0; i < sizeof exports / sizeof exports[0]; i++)
        if (name && strcmp(name, exports[i].name) == 0)
            fi = (int)i;
    if (fi < 0) {
        out->status = 404;
        rk_fail(&out->err, "not_found", "", "no export named \"%.64s\"", name ? name : "");
        return 0;
    }
    int64_t now_s = (int64_t)(rk_now_ms() / 1000);
    rk_params p;
    if (rk_params_parse(query, &p, &out->err) != 0) {
        out->status = 400;
        return 0;
    }
    export_query eq;
    int prc = parse_query(&p, fi, now_s, &eq, out);
    if (prc != 0) {
        rk_params_free(&p);
        return 0;
    }
    enum fmt f = exports[fi].fmt;
    int rc = 0;
    if (f == F_STATS || f == F_REGIONS) {
        /* these answer from counts that change with the clock too (upcoming events): no validators */
        rc = f == F_STATS ? serve_stats(t, now_s, out) : serve_regions(t, m, out);
        if (rc == 0)
            out->status = 200;
        rk_params_free(&p);
        return rc == 0 ? 0 : -1;
    }

    struct rk_store_counts counts;
    if (rk_store_counts(t, &counts, &out->err) != 0) {
        out->status = 500;
        rk_params_free(&p);
        return -1;
    }
    make_etag(fi, &eq, m, counts.last_seq, out->etag);
    out->content_type = exports[fi].content_type;
    if (if_none_match && rk_conditional_etag_matches(if_none_match, out->etag)) {
        out->status = 304;
        rk_params_free(&p);
        return 0;
    }
    /* single flight: a request for a body being rendered waits for it and shares it */
    rk_spool_file *shared = spool ? rk_spool_claim(spool, out->etag) : NULL;
    if (shared) {
        rk_params_free(&p);
        return serve_shared(shared, if_none_match, if_modified_since, out);
    }
    out->rendered = true;

    rk_feed_meta page = m ? *m : (rk_feed_meta){0};
    rk_buf self, next;
    rk_buf_init(&self);
    rk_buf_init(&next);
    rk_query sq = {.kind = eq.kind,
                   .industry = eq.industry,
                   .q = eq.q,
                   .cursor = eq.cursor,
                   .max_visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC,
                   .limit = eq.limit};
    memcpy(sq.prefecture, eq.prefecture, sizeof sq.prefecture);
    rk_bodysink sink = {.buf = &out->body, .spool = spool, .err = &out->err};
    uint64_t newest = 0;
    bool truncated = false;
    char cursor[RK_CURSOR_MAX] = "";
    if (export_url(&self, m, exports[fi].name, &p, eq.cursor)) {
        rc = fail500(out, "out of memory");
        goto done;
    }
    page.self_url = self.data;

    if (is_calendar(f)) {
        rc = serve_ics(t, &eq, f == F_EVENTS_LD, &page, &sink, out, &newest, &truncated);
    } else if (f == F_CATALOG) {
        rc = serve_catalog(t, &page, out, &newest);
    } else {
        if (f == F_CSV) {
            csv_stream cs = {.m = &page, .out = &sink};
            rc = rk_csvout_header(&out->body) ? rk_fail(&out->err, "internal", "", "out of memory")
                                              : rk_store_query(t, &sq, csv_cb, &cs, cursor, &out->err);
            if (rc == 0 && sink.failed)
                rc = -1; /* the spool said why */
            else if (rc == 0 && cs.failed)
                rc = rk_fail(&out->err, "internal", "", "out of memory rendering the CSV");
            newest = cs.newest;
        } else if (f == F_XLSX) {
            csv_stream cs = {.m = &page, .out = &sink, .xlsx = rk_xlsx_new(&out->err)};
            rc = cs.xlsx ? rk_store_query(t, &sq, csv_cb, &cs, cursor, &out->err) : -1;
            if (rc == 0 && cs.failed)
                rc = rk_fail(&out->err, "internal", "", "writing the workbook failed");
            if (rc == 0)
                rc = rk_xlsx_finish(cs.xlsx, &out->body, rk_bodysink_piece, &sink, &out->err);
            rk_xlsx_free(cs.xlsx);
            newest = cs.newest;
        } else {
            feed_scan scan = {0};
            rk_query sq_scan = sq;
            sq_scan.cached = feed_scan_hash;
            rc = rk_store_query(t, &sq_scan, feed_scan_record, &scan, cursor, &out->err);
            newest = scan.newest;
        }
        if (rc == 0 && cursor[0]) {
            if (export_url(&next, m, exports[fi].name, &p, cursor)) {
                rc = fail500(out, "out of memory");
                goto done;
            }
            page.next_url = next.data;
            truncated = f == F_CSV || f == F_XLSX;
        }
    }
    if (rc != 0) {
        rc = stopped(out);
        goto done;
    }
    if (newest)
        rk_conditional_date((int64_t)(newest / 1000), out->last_modified);
    if (rk_conditional_not_modified(if_none_match, if_modified_since, newest)) {
        out->status = 304;
        rk_buf_reset(&out->body);
        goto done;
    }
    if ((f == F_ATOM || f == F_JSON) && render_feed(t, &sq, f == F_JSON, &page, newest, &sink, &out->err) != 0) {
        rc = stopped(out);
        goto done;
    }
    if ((page.next_url && (rk_buf_puts(&out->headers, "Link: <") || rk_buf_puts(&out->headers, page.next_url) ||
                           rk_buf_puts(&out->headers, ">; rel=\"next\"\r\n"))) ||
        (truncated && add_header(out, "Renkei-Truncated", "true"))) {
        rc = fail500(out, "out of memory");
        goto done;
    }
    if (spool_body(&sink, newest, out) != 0) {
        rc = stopped(out);
        goto done;
    }
    out->status = 200;
done:
    rk_spool_abandon(sink.w);
    if (spool)
        rk_spool_unclaim(spool, out->etag);
    rk_params_free(&p);
    rk_buf_free(&self);
    rk_buf_free(&next);
    return rc;
}
