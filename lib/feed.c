/* feed: renders current records as Atom 1.0, JSON Feed 1.1, iCalendar (RFC 5545) and CSV.
 *
 * Invariants: output depends only on the records and the meta passed in (no clock reads), so the same
 * store state always renders the same bytes and ETags computed from store state stay honest. Entry
 * ids are "urn:renkei:<author hex>:<rid>" and calendar UIDs "<rid>@<author hex>": both derive from
 * the record's identity, never from the serving node, so every node in the network names a record
 * the same way and subscribers see updates rather than duplicates. Text is cleaned of control
 * characters before it is escaped, because one stray byte makes a whole XML feed unreadable.
 * Absolute links start with meta->base_url ([api] public_url) and nothing else: a public export
 * never links to the node's API, which the reverse proxy does not expose, so entries carry no
 * `alternate` link until a page for people exists. A CSV field that a spreadsheet would read as a
 * formula (starting with = + - @ tab or CR) gets a leading apostrophe, as OWASP recommends.
 */
#include "feed.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <jansson.h>

#include "taxonomy.h"


/* ------------------------------------------------------------------------------ record access */

static const char *str_or_empty(const char *s) { return s ? s : ""; }

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static bool rec_cancelled(const Renkei__Record *r)
{
    return r->body_case == RENKEI__RECORD__BODY_EVENT && r->event &&
           r->event->status == RENKEI__EVENT_STATUS__EVENT_STATUS_CANCELLED;
}

/* Feed readers show the title and little else, so a cancelled event says so there; a title that
 * already says 中止 is left alone rather than saying it twice. */
static int display_title(rk_buf *b, const Renkei__Record *r, const char *title)
{
    rk_buf_reset(b);
    if (rec_cancelled(r) && !strstr(title, "中止") && rk_buf_puts(b, "【中止】"))
        return -1;
    return rk_buf_puts(b, title);
}

static const char *const event_status_ja[] = {NULL, "予定（未確定）", "開催決定", "変更あり", "満員", "中止", "終了"};

static const char *status_label(int v)
{
    return v > 0 && (size_t)v < sizeof event_status_ja / sizeof event_status_ja[0] ? event_status_ja[v] : NULL;
}

typedef struct local_time {
    int y, mo, d, h, mi;
} local_time;

static void to_local(int64_t epoch, int offset, local_time *t)
{
    int64_t local = epoch + offset, days = floor_div(local, 86400), sec = local - days * 86400;
    rk_civil_from_days(days, &t->y, &t->mo, &t->d);
    t->h = (int)(sec / 3600);
    t->mi = (int)(sec / 60 % 60);
}

/* When an event takes place, as a Japanese reader writes it, at the precision the publisher gave:
 * 2030年10月10日 13:00〜16:30, 2030年11月16日〜11月18日, 2027年9月（日程未定）, 2027年度（日程未定）.
 * Times are shown at the offset the publisher wrote. Nothing is appended when starts_at is unusable. */
static int event_when_ja(rk_buf *b, const Renkei__Event *e)
{
    int64_t start, end;
    int soff, eoff;
    if (rk_parse_rfc3339(str_or_empty(e->starts_at), &start, &soff) != 0)
        return 0;
    if (rk_parse_rfc3339(str_or_empty(e->ends_at), &end, &eoff) != 0 || end < start) {
        end = start;
        eoff = soff;
    }
    local_time s, t;
    to_local(start, soff, &s);
    to_local(end, eoff, &t);
    bool same_day = s.y == t.y && s.mo == t.mo && s.d == t.d;
    switch (e->date_precision) {
    case RENKEI__DATE_PRECISION__DATE_PRECISION_MONTH:
        return rk_buf_printf(b, "%d年%d月（日程未定）", s.y, s.mo);
    case RENKEI__DATE_PRECISION__DATE_PRECISION_FISCAL_YEAR:
        return rk_buf_printf(b, "%d年度（日程未定）", s.mo >= 4 ? s.y : s.y - 1); /* 年度: April to March */
    case RENKEI__DATE_PRECISION__DATE_PRECISION_DAY:
        if (same_day)
            return rk_buf_printf(b, "%d年%d月%d日", s.y, s.mo, s.d);
        if (s.y == t.y)
            return rk_buf_printf(b, "%d年%d月%d日〜%d月%d日", s.y, s.mo, s.d, t.mo, t.d);
        return rk_buf_printf(b, "%d年%d月%d日〜%d年%d月%d日", s.y, s.mo, s.d, t.y, t.mo, t.d);
    default:
        if (rk_buf_printf(b, "%d年%d月%d日 %02d:%02d", s.y, s.mo, s.d, s.h, s.mi))
            return -1;
        if (end == start)
            return 0;
        if (same_day)
            return rk_buf_printf(b, "〜%02d:%02d", t.h, t.mi);
        return rk_buf_printf(b, "〜%d年%d月%d日 %02d:%02d", t.y, t.mo, t.d, t.h, t.mi);
    }
}

static const char *rec_title(const Renkei__Record *r)
{
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE: return str_or_empty(r->case_->title);
    case RENKEI__RECORD__BODY_EVENT: return str_or_empty(r->event->title);
    case RENKEI__RECORD__BODY_REGION: return str_or_empty(r->region->name);
    default: return "";
    }
}

static const char *rec_summary(const Renkei__Record *r)
{
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE: return str_or_empty(r->case_->summary);
    case RENKEI__RECORD__BODY_EVENT: return str_or_empty(r->event->summary);
    case RENKEI__RECORD__BODY_REGION: return str_or_empty(r->region->summary);
    default: return "";
    }
}

static const char *rec_prefecture(const Renkei__Record *r)
{
    const char *p = "";
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE: p = str_or_empty(r->case_->prefecture); break;
    case RENKEI__RECORD__BODY_EVENT:
        p = str_or_empty(r->event->prefecture);
        if (!*p && r->event->venue)
            p = str_or_empty(r->event->venue->prefecture);
        break;
    case RENKEI__RECORD__BODY_REGION: p = str_or_empty(r->region->prefecture); break;
    default: break;
    }
    return p;
}

static void rec_skills(const Renkei__Record *r, Renkei__Skill **v, size_t *n)
{
    *v = NULL;
    *n = 0;
    if (r->body_case == RENKEI__RECORD__BODY_CASE) {
        *v = r->case_->skills;
        *n = r->case_->n_skills;
    } else if (r->body_case == RENKEI__RECORD__BODY_EVENT) {
        *v = r->event->skills;
        *n = r->event->n_skills;
    }
}

static void rec_tags(const Renkei__Record *r, char ***v, size_t *n)
{
    *v = NULL;
    *n = 0;
    if (r->body_case == RENKEI__RECORD__BODY_CASE) {
        *v = r->case_->tags;
        *n = r->case_->n_tags;
    } else if (r->body_case == RENKEI__RECORD__BODY_EVENT) {
        *v = r->event->tags;
        *n = r->event->n_tags;
    }
}

static const char *code_of(const ProtobufCEnumDescriptor *d, int v)
{
    const char *c = rk_taxonomy_code(d, v);
    return c ? c : "";
}

static void author_hex(const rk_record *rec, char out[2 * RK_KEY_LEN + 1])
{
    if (rec->msg->author.len == RK_KEY_LEN)
        rk_hex_encode(rec->msg->author.data, RK_KEY_LEN, out);
    else
        out[0] = '\0';
}

/* The roster name of the author, falling back to its key so an entry is never anonymous. */
static const char *author_display(const rk_record *rec, const rk_feed_meta *m, const char *hex)
{
    const char *n = NULL;
    if (m && m->author_name && rec->msg->author.len == RK_KEY_LEN)
        n = m->author_name(rec->msg->author.data, m->ctx);
    return n && *n ? n : hex;
}

static void version_time(uint64_t ms, char out[32])
{
    rk_format_rfc3339((int64_t)(ms / 1000), 0, true, out);
}

/* This page's absolute URL: the caller's (with its query and cursor) or the export's plain path. */
static int self_url(rk_buf *b, const rk_feed_meta *m, const char *path)
{
    if (m && m->self_url)
        return rk_buf_puts(b, m->self_url);
    return rk_buf_printf(b, "%s%s", m && m->base_url ? m->base_url : "", path);
}

/* Records newest version first, whatever order the caller used; ties by hash so the order is total. */
static int cmp_newest(const void *a, const void *b)
{
    const rk_record *x = *(const rk_record *const *)a, *y = *(const rk_record *const *)b;
    if (x->msg->version != y->msg->version)
        return x->msg->version < y->msg->version ? 1 : -1;
    return -memcmp(x->hash, y->hash, RK_HASH_LEN);
}

static const rk_record **sorted_copy(const rk_record *const *recs, size_t n)
{
    const rk_record **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (recs[i] && recs[i]->msg && recs[i]->msg->kind != RENKEI__KIND__KIND_TOMBSTONE &&
            recs[i]->msg->body_case != RENKEI__RECORD__BODY_TOMBSTONE &&
            recs[i]->msg->body_case != RENKEI__RECORD__BODY__NOT_SET)
            v[k++] = recs[i];
    qsort(v, k, sizeof *v, cmp_newest);
    if (k < n)
        v[k] = NULL;
    return v;
}

static size_t count_sorted(const rk_record **v, size_t n)
{
    size_t k = 0;
    while (k < n && v[k])
        k++;
    return k;
}

/* A readable plain-text body shared by the Atom content, JSON Feed content_text and ICS DESCRIPTION. */
static int labelled(rk_buf *b, const char *label, const char *value)
{
    if (!value || !*value)
        return 0;
    if (b->len && rk_buf_puts(b, "\n") != 0)
        return -1;
    return rk_buf_printf(b, "%s: %s", label, value);
}

static int describe(rk_buf *b, const Renkei__Record *r)
{
    const char *summary = rec_summary(r);
    if (*summary && rk_buf_puts(b, summary) != 0)
        return -1;
    if (*summary && rk_buf_puts(b, "\n") != 0)
        return -1;
    const char *pref = rk_prefecture_name(rec_prefecture(r));
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE: {
        const Renkei__Case *c = r->case_;
        if (labelled(b, "地域", pref) || labelled(b, "市町村", c->place_name) ||
            labelled(b, "業種", rk_label_ja(&renkei__industry__descriptor, (int)c->industry)) ||
            labelled(b, "DXレベル", rk_label_ja(&renkei__dx_level__descriptor, (int)c->dx_level)) ||
            labelled(b, "課題", c->challenge) || labelled(b, "取組", c->initiative) ||
            labelled(b, "教訓", c->lessons) || labelled(b, "失敗", c->failures))
            return -1;
        break;
    }
    case RENKEI__RECORD__BODY_EVENT: {
        const Renkei__Event *e = r->event;
        if (b->len && rk_buf_puts(b, "\n"))
            return -1;
        size_t mark = b->len;
        if (rk_buf_puts(b, "日時: ") || event_when_ja(b, e))
            return -1;
        if (b->len == mark + strlen("日時: ")) { /* no usable date: drop the empty label */
            b->len = mark;
            b->data[mark] = '\0';
        }
        if (labelled(b, "状態", status_label((int)e->status)) ||
            labelled(b, "地域", pref) ||
            labelled(b, "種別", rk_label_ja(&renkei__event_type__descriptor, (int)e->event_type)) ||
            labelled(b, "形式", rk_label_ja(&renkei__event_format__descriptor, (int)e->format)) ||
            labelled(b, "主催", e->organiser) || labelled(b, "会場", e->venue ? e->venue->name : NULL) ||
            labelled(b, "住所", e->venue ? e->venue->address : NULL) ||
            labelled(b, "申込", e->application_url))
            return -1;
        break;
    }
    case RENKEI__RECORD__BODY_REGION: {
        const Renkei__RegionProfile *g = r->region;
        if (labelled(b, "地域", pref) || labelled(b, "推進組織", g->coordinating_organisation) ||
            labelled(b, "ウェブサイト", g->website))
            return -1;
        for (size_t i = 0; i < g->n_issues; i++)
            if (labelled(b, "地域課題", g->issues[i]))
                return -1;
        break;
    }
    default: break;
    }
    /* trailing newline from the summary when nothing followed */
    while (b->len && b->data[b->len - 1] == '\n')
        b->data[--b->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------------------- Atom */

/* Length of the UTF-8 sequence starting at p (1 for stray bytes, so progress is always made). */
static size_t u8len(const unsigned char *p, size_t avail)
{
    size_t n = 1;
    if (p[0] >= 0xF0)
        n = 4;
    else if (p[0] >= 0xE0)
        n = 3;
    else if (p[0] >= 0xC0)
        n = 2;
    return n > avail ? avail : n;
}

/* Control characters XML 1.0 forbids or that have no business in display text: C0 except tab,
 * newline and carriage return, DEL, C1 (U+0080..U+009F) and the non-characters U+FFFE/U+FFFF. */
static bool is_control(const unsigned char *p, size_t n)
{
    if (n == 1)
        return (p[0] < 0x20 && p[0] != '\t' && p[0] != '\n' && p[0] != '\r') || p[0] == 0x7F;
    if (n == 2)
        return p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F;
    if (n == 3)
        return p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF);
    return false;
}

/* Escaping itself is GLib's g_markup_escape_text. Two things stay here, because GLib does them in a
 * way XML readers reject or undo: it writes C0 controls as references such as "&#x1;", which XML 1.0
 * forbids, so controls are dropped first; and it leaves CR raw, which every XML parser folds into LF,
 * so CR is written as "&#13;". The text between those is handed to GLib a run at a time. */
static int xml_text(rk_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)str_or_empty(s);
    size_t len = strlen((const char *)p);
    size_t run = 0; /* start of the pending run of ordinary text */
    for (size_t i = 0; i <= len;) {
        size_t n = i < len ? u8len(p + i, len - i) : 0;
        bool plain = i < len && p[i] != '\r' && !is_control(p + i, n);
        if (plain) {
            i += n;
            continue;
        }
        if (i > run) {
            /* GLib needs valid UTF-8 (record text is validated on ingest; other text, such as a
             * configured URL, gets U+FFFD for broken bytes here rather than an unreadable feed) */
            const char *t = (const char *)p + run;
            char *fixed = g_utf8_validate_len(t, i - run, NULL) ? NULL : g_utf8_make_valid(t, (gssize)(i - run));
            char *esc = fixed ? g_markup_escape_text(fixed, -1) : g_markup_escape_text(t, (gssize)(i - run));
            int rc = rk_buf_puts(b, esc);
            g_free(esc);
            g_free(fixed);
            if (rc)
                return -1;
        }
        if (i == len)
            break;
        if (p[i] == '\r' && rk_buf_puts(b, "&#13;"))
            return -1;
        i += n;
        run = i;
    }
    return 0;
}

static int xml_elem(rk_buf *b, const char *indent, const char *tag, const char *text)
{
    if (rk_buf_printf(b, "%s<%s>", indent, tag) || xml_text(b, text) || rk_buf_printf(b, "</%s>\n", tag))
        return -1;
    return 0;
}

static int atom_category(rk_buf *b, const char *scheme, const char *term, const char *label)
{
    if (!term || !*term)
        return 0;
    if (rk_buf_puts(b, "    <category scheme=\"urn:renkei:") || xml_text(b, scheme) || rk_buf_puts(b, "\" term=\"") ||
        xml_text(b, term) || rk_buf_puts(b, "\""))
        return -1;
    if (label && *label && strcmp(label, term) != 0 &&
        (rk_buf_puts(b, " label=\"") || xml_text(b, label) || rk_buf_puts(b, "\"")))
        return -1;
    return rk_buf_puts(b, "/>\n");
}

static int atom_entry(rk_buf *out, rk_buf *tmp, const rk_record *rec, const rk_feed_meta *m)
{
    const Renkei__Record *r = rec->msg;
    char hex[2 * RK_KEY_LEN + 1], updated[32], published[32];
    author_hex(rec, hex);
    version_time(r->version, updated);
    version_time(r->created_at ? r->created_at : r->version, published);
    rk_buf_reset(tmp);
    if (rk_buf_puts(out, "  <entry>\n") || rk_buf_printf(tmp, "urn:renkei:%s:%s", hex, str_or_empty(r->rid)) ||
        xml_elem(out, "    ", "id", tmp->data) || display_title(tmp, r, rec_title(r)) ||
        xml_elem(out, "    ", "title", tmp->data) ||
        xml_elem(out, "    ", "updated", updated) || xml_elem(out, "    ", "published", published) ||
        rk_buf_puts(out, "    <author>\n") || xml_elem(out, "      ", "name", author_display(rec, m, hex)))
        return -1;
    rk_buf_reset(tmp);
    if (rk_buf_printf(tmp, "urn:renkei:node:%s", hex) || xml_elem(out, "      ", "uri", tmp->data) ||
        rk_buf_puts(out, "    </author>\n"))
        return -1;
    if (*rec_summary(r) && xml_elem(out, "    ", "summary", rec_summary(r)))
        return -1;
    rk_buf_reset(tmp);
    if (describe(tmp, r) || rk_buf_puts(out, "    <content type=\"text\">") || xml_text(out, tmp->data) ||
        rk_buf_puts(out, "</content>\n"))
        return -1;
    const char *kind = rk_kind_name((int)r->kind);
    const char *pref = rec_prefecture(r);
    if (atom_category(out, "kind", kind, rk_label_ja(&renkei__kind__descriptor, (int)r->kind)) ||
        atom_category(out, "prefecture", pref, rk_prefecture_name(pref)))
        return -1;
    if (r->body_case == RENKEI__RECORD__BODY_CASE) {
        int ind = (int)r->case_->industry, dx = (int)r->case_->dx_level;
        if (atom_category(out, "industry", code_of(&renkei__industry__descriptor, ind),
                          rk_label_ja(&renkei__industry__descriptor, ind)) ||
            atom_category(out, "dx_level", code_of(&renkei__dx_level__descriptor, dx),
                          rk_label_ja(&renkei__dx_level__descriptor, dx)))
            return -1;
    } else if (r->body_case == RENKEI__RECORD__BODY_EVENT) {
        int et = (int)r->event->event_type;
        if (atom_category(out, "event_type", code_of(&renkei__event_type__descriptor, et),
                          rk_label_ja(&renkei__event_type__descriptor, et)))
            return -1;
    }
    Renkei__Skill *sk;
    size_t nsk;
    rec_skills(r, &sk, &nsk);
    for (size_t i = 0; i < nsk; i++)
        if (atom_category(out, "skill", code_of(&renkei__skill__descriptor, (int)sk[i]),
                          rk_label_ja(&renkei__skill__descriptor, (int)sk[i])))
            return -1;
    char **tags;
    size_t ntags;
    rec_tags(r, &tags, &ntags);
    for (size_t i = 0; i < ntags; i++)
        if (atom_category(out, "tag", tags[i], NULL))
            return -1;
    return rk_buf_puts(out, "  </entry>\n");
}

int rk_feed_atom(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out)
{
    const rk_record **v = sorted_copy(recs, n);
    if (!v)
        return -1;
    size_t k = count_sorted(v, n);
    rk_buf tmp;
    rk_buf_init(&tmp);
    char hex[2 * RK_KEY_LEN + 1] = "";
    if (m && m->node_key)
        rk_hex_encode(m->node_key, RK_KEY_LEN, hex);
    const char *node = m && m->node_name ? m->node_name : "renkei";
    char updated[32];
    /* The feed changes exactly when its newest entry does; an empty feed has nothing newer than the epoch. */
    version_time(k ? v[0]->msg->version : 0, updated);
    int rc = -1;
    if (rk_buf_puts(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"ja\">\n"))
        goto done;
    rk_buf_reset(&tmp);
    if (rk_buf_printf(&tmp, "urn:renkei:feed:%s", hex) || xml_elem(out, "  ", "id", tmp.data))
        goto done;
    rk_buf_reset(&tmp);
    if (rk_buf_printf(&tmp, "renkei: %s", node) || xml_elem(out, "  ", "title", tmp.data) ||
        xml_elem(out, "  ", "subtitle", "地域DX・リスキリング連携ネットワークの公開事例とイベント") ||
        xml_elem(out, "  ", "updated", updated) || rk_buf_puts(out, "  <author>\n") ||
        xml_elem(out, "    ", "name", node) || rk_buf_puts(out, "  </author>\n"))
        goto done;
    rk_buf_reset(&tmp);
    if (self_url(&tmp, m, "/v1/export/feed.atom") ||
        rk_buf_puts(out, "  <link rel=\"self\" type=\"application/atom+xml\" href=\"") || xml_text(out, tmp.data) ||
        rk_buf_puts(out, "\"/>\n"))
        goto done;
    /* RFC 5005 paging: the next (older) page, absent on the last one */
    if (m && m->next_url &&
        (rk_buf_puts(out, "  <link rel=\"next\" type=\"application/atom+xml\" href=\"") ||
         xml_text(out, m->next_url) || rk_buf_puts(out, "\"/>\n")))
        goto done;
    if (
        rk_buf_printf(out, "  <generator uri=\"urn:renkei\" version=\"%s\">renkei</generator>\n", RENKEI_VERSION))
        goto done;
    for (size_t i = 0; i < k; i++)
        if (atom_entry(out, &tmp, v[i], m))
            goto done;
    if (rk_buf_puts(out, "</feed>\n"))
        goto done;
    rc = 0;
done:
    rk_buf_free(&tmp);
    free(v);
    return rc;
}

/* ---------------------------------------------------------------------------------- JSON Feed */

/* jansson refuses invalid UTF-8 but happily carries control characters; strip them for symmetry
 * with the XML feed so every export shows the same text. */
static json_t *clean_string(const char *s)
{
    rk_buf b;
    rk_buf_init(&b);
    const unsigned char *p = (const unsigned char *)str_or_empty(s);
    size_t len = strlen((const char *)p);
    for (size_t i = 0; i < len;) {
        size_t n = u8len(p + i, len - i);
        if (!is_control(p + i, n) && rk_buf_append(&b, p + i, n)) {
            rk_buf_free(&b);
            return NULL;
        }
        i += n;
    }
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    rk_buf_free(&b);
    return j;
}

static int jset(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

static int jpush(json_t *a, json_t *v)
{
    return v ? json_array_append_new(a, v) : -1;
}

/* Children are attached to their parent as soon as they exist (jansson's *_new calls take the
 * reference even when they fail), so one decref of the item releases everything on any error path. */
static json_t *json_item(const rk_record *rec, const rk_feed_meta *m, rk_buf *tmp)
{
    const Renkei__Record *r = rec->msg;
    char hex[2 * RK_KEY_LEN + 1], updated[32], published[32], id[RK_ID_MAX];
    author_hex(rec, hex);
    version_time(r->version, updated);
    version_time(r->created_at ? r->created_at : r->version, published);
    rk_record_id(r->author.data, str_or_empty(r->rid), id);
    json_t *it = json_object();
    if (!it)
        return NULL;
    rk_buf_reset(tmp);
    if (rk_buf_printf(tmp, "urn:renkei:%s:%s", hex, str_or_empty(r->rid)) || jset(it, "id", json_string(tmp->data)))
        goto fail;
    if (display_title(tmp, r, rec_title(r)) || jset(it, "title", clean_string(tmp->data)))
        goto fail;
    rk_buf_reset(tmp);
    if (describe(tmp, r) || jset(it, "content_text", clean_string(tmp->data ? tmp->data : "")))
        goto fail;
    if (*rec_summary(r) && jset(it, "summary", clean_string(rec_summary(r))))
        goto fail;
    if (jset(it, "date_published", json_string(published)) || jset(it, "date_modified", json_string(updated)))
        goto fail;
    json_t *authors = json_array();
    if (jset(it, "authors", authors))
        goto fail;
    json_t *author = json_object();
    if (jpush(authors, author) || jset(author, "name", clean_string(author_display(rec, m, hex))))
        goto fail;
    if (jset(it, "language", json_string(r->language && *r->language ? r->language : "ja")))
        goto fail;
    /* tags: the kind, the prefecture code, taxonomy codes, then the publisher's free tags */
    json_t *tags = json_array();
    const char *pref = rec_prefecture(r);
    if (jset(it, "tags", tags) || jpush(tags, json_string(rk_kind_name((int)r->kind))) ||
        (*pref && jpush(tags, json_string(pref))))
        goto fail;
    if (r->body_case == RENKEI__RECORD__BODY_CASE) {
        const char *ind = code_of(&renkei__industry__descriptor, (int)r->case_->industry);
        const char *dx = code_of(&renkei__dx_level__descriptor, (int)r->case_->dx_level);
        if ((*ind && jpush(tags, json_string(ind))) || (*dx && jpush(tags, json_string(dx))))
            goto fail;
    }
    Renkei__Skill *sk;
    size_t nsk;
    rec_skills(r, &sk, &nsk);
    for (size_t i = 0; i < nsk; i++) {
        const char *c = code_of(&renkei__skill__descriptor, (int)sk[i]);
        if (*c && jpush(tags, json_string(c)))
            goto fail;
    }
    char **ft;
    size_t nft;
    rec_tags(r, &ft, &nft);
    for (size_t i = 0; i < nft; i++)
        if (jpush(tags, clean_string(ft[i])))
            goto fail;
    /* the extension object carries the machine fields a portal needs to link back and filter */
    json_t *ext = json_object();
    if (jset(it, "_renkei", ext) || jset(ext, "id", json_string(id)) ||
        jset(ext, "kind", json_string(rk_kind_name((int)r->kind))) || jset(ext, "author", json_string(hex)) ||
        jset(ext, "version", json_integer((json_int_t)r->version)) || jset(ext, "prefecture", json_string(pref)))
        goto fail;
    if (r->body_case == RENKEI__RECORD__BODY_EVENT) {
        const Renkei__Event *e = r->event;
        if (jset(ext, "starts_at", json_string(str_or_empty(e->starts_at))) ||
            jset(ext, "ends_at", json_string(str_or_empty(e->ends_at))) ||
            jset(ext, "status", json_string(code_of(&renkei__event_status__descriptor, (int)e->status))))
            goto fail;
    }
    return it;
fail:
    json_decref(it);
    return NULL;
}

int rk_feed_json(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out)
{
    const rk_record **v = sorted_copy(recs, n);
    if (!v)
        return -1;
    size_t k = count_sorted(v, n);
    rk_buf tmp;
    rk_buf_init(&tmp);
    const char *node = m && m->node_name ? m->node_name : "renkei";
    const char *base = m && m->base_url ? m->base_url : "";
    int rc = -1;
    char *text = NULL;
    json_t *feed = json_object();
    if (!feed)
        goto done;
    if (rk_buf_printf(&tmp, "renkei: %s", node) ||
        jset(feed, "version", json_string("https://jsonfeed.org/version/1.1")) ||
        jset(feed, "title", clean_string(tmp.data)))
        goto done;
    rk_buf_reset(&tmp);
    if (*base && jset(feed, "home_page_url", json_string(base)))
        goto done;
    if (self_url(&tmp, m, "/v1/export/feed.json") || jset(feed, "feed_url", json_string(tmp.data)) ||
        (m && m->next_url && jset(feed, "next_url", json_string(m->next_url))) ||
        jset(feed, "description", json_string("地域DX・リスキリング連携ネットワークの公開事例とイベント")) ||
        jset(feed, "language", json_string("ja")))
        goto done;
    json_t *authors = json_array();
    if (jset(feed, "authors", authors))
        goto done;
    json_t *author = json_object();
    if (jpush(authors, author) || jset(author, "name", clean_string(node)))
        goto done;
    json_t *items = json_array();
    if (jset(feed, "items", items))
        goto done;
    for (size_t i = 0; i < k; i++)
        if (jpush(items, json_item(v[i], m, &tmp)))
            goto done;
    text = json_dumps(feed, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!text || rk_buf_puts(out, text) || rk_buf_puts(out, "\n"))
        goto done;
    rc = 0;
done:
    json_decref(feed);
    free(text);
    rk_buf_free(&tmp);
    free(v);
    return rc;
}

/* ------------------------------------------------------------------------------------ iCalendar */

/* Emits one content line, folded so no physical line exceeds 75 octets (RFC 5545 3.1) and never
 * inside a UTF-8 sequence: many clients mangle Japanese text split mid-character. */
static int ics_emit(rk_buf *out, const char *line, size_t len)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t col = 0;
    for (size_t i = 0; i < len;) {
        size_t n = u8len(p + i, len - i);
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
    const unsigned char *p = (const unsigned char *)str_or_empty(s);
    size_t len = strlen((const char *)p);
    for (size_t i = 0; i < len;) {
        size_t n = u8len(p + i, len - i);
        int rc = 0;
        if (n == 1 && p[i] == '\n')
            rc = rk_buf_puts(b, "\\n");
        else if (n == 1 && (p[i] == '\\' || p[i] == ';' || p[i] == ','))
            rc = rk_buf_printf(b, "\\%c", p[i]);
        else if (n == 1 && p[i] == '\t')
            rc = rk_buf_puts(b, " ");
        else if (!is_control(p + i, n) && !(n == 1 && p[i] == '\r'))
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
    int64_t days = floor_div(local, 86400);
    int64_t sec = local - days * 86400;
    int y, mo, d;
    rk_civil_from_days(days, &y, &mo, &d);
    snprintf(out, 24, "%04d%02d%02dT%02d%02d%02d%s", y, mo, d, (int)(sec / 3600), (int)(sec / 60 % 60),
             (int)(sec % 60), utc ? "Z" : "");
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
    if (rk_parse_rfc3339(str_or_empty(e->starts_at), &start, &soff) != 0)
        return 0; /* validated on ingest; a record we cannot place on a calendar is left out */
    if (rk_parse_rfc3339(str_or_empty(e->ends_at), &end, &eoff) != 0) {
        end = start;
        eoff = soff;
    }
    if (end < start)
        end = start;
    char hex[2 * RK_KEY_LEN + 1], stamp[24], a[24], b[24];
    author_hex(rec, hex);
    ics_datetime((int64_t)(r->version / 1000), 0, true, stamp);
    rk_buf summary;
    rk_buf_init(&summary);
    int rc = -1;
    if (rk_buf_puts(out, "BEGIN:VEVENT\r\n"))
        goto done;
    rk_buf_reset(tmp);
    if (rk_buf_puts(tmp, "UID:") || ics_text(tmp, str_or_empty(r->rid)) || rk_buf_printf(tmp, "@%s", hex) ||
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
        int64_t d0 = floor_div(start + soff, 86400), d1 = floor_div(end + eoff, 86400);
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
        rk_civil_from_days(floor_div(start + soff, 86400), &y, &mo, &d);
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
        rk_civil_from_days(floor_div(start + soff, 86400), &y, &mo, &d);
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
    if (display_title(&summary, r, str_or_empty(e->title)) || (note && rk_buf_puts(&summary, note)) ||
        ics_text_prop(out, tmp, "SUMMARY", summary.data))
        goto done;
    rk_buf_reset(&summary);
    if (describe(&summary, r) || ics_text_prop(out, tmp, "DESCRIPTION", summary.data))
        goto done;
    if (e->venue) {
        rk_buf_reset(&summary);
        const char *vn = str_or_empty(e->venue->name), *va = str_or_empty(e->venue->address);
        if (rk_buf_puts(&summary, vn) || (*vn && *va && rk_buf_puts(&summary, ", ")) || rk_buf_puts(&summary, va) ||
            ics_text_prop(out, tmp, "LOCATION", summary.data))
            goto done;
    } else if (e->format == RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE &&
               ics_text_prop(out, tmp, "LOCATION", *str_or_empty(e->online_platform) ? e->online_platform : "オンライン")) {
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
    const char *et = code_of(&renkei__event_type__descriptor, (int)e->event_type);
    if (*et && ics_text_prop(out, tmp, "CATEGORIES", rk_label_ja(&renkei__event_type__descriptor, (int)e->event_type)))
        goto done;
    const char *who = author_display(rec, m, hex);
    if (ics_text_prop(out, tmp, "X-RENKEI-NODE", who) || ics_line(out, tmp, "X-RENKEI-AUTHOR:", hex))
        goto done;
    if (rk_buf_puts(out, "END:VEVENT\r\n"))
        goto done;
    rc = 0;
done:
    rk_buf_free(&summary);
    return rc;
}

int rk_feed_ics_begin(const rk_feed_meta *m, bool truncated, rk_buf *out)
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

int rk_feed_ics_event(const rk_record *rec, const rk_feed_meta *m, rk_buf *out)
{
    if (!rec || !rec->msg || rec->msg->body_case != RENKEI__RECORD__BODY_EVENT || !rec->msg->event)
        return 0;
    rk_buf tmp;
    rk_buf_init(&tmp);
    int rc = ics_event(out, &tmp, rec, m);
    rk_buf_free(&tmp);
    return rc;
}

int rk_feed_ics_end(rk_buf *out)
{
    return rk_buf_puts(out, "END:VCALENDAR\r\n");
}

int rk_feed_ics(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out)
{
    if (rk_feed_ics_begin(m, false, out))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (rk_feed_ics_event(recs[i], m, out))
            return -1;
    return rk_feed_ics_end(out);
}

/* ------------------------------------------------------------------------------------------ CSV */

/* One field, always quoted (RFC 4180 allows it, and spreadsheets told to read quoted fields as text
 * then keep codes such as 01); control characters other than tab, CR and LF are dropped so
 * spreadsheet imports see clean text. A field that a spreadsheet would evaluate (first character
 * = + - @ tab or CR) is prefixed with an apostrophe, as the OWASP CSV injection guidance says: the
 * text stays readable and is never run as a formula. */
static int csv_field(rk_buf *b, const char *s, bool first)
{
    const unsigned char *p = (const unsigned char *)str_or_empty(s);
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
        size_t n = u8len(p + i, len - i);
        int rc = 0;
        if (n == 1 && p[i] == '"')
            rc = rk_buf_puts(b, "\"\"");
        else if ((n == 1 && (p[i] == '\r' || p[i] == '\n' || p[i] == '\t')) || !is_control(p + i, n))
            rc = rk_buf_append(b, p + i, n);
        if (rc)
            return -1;
        i += n;
    }
    return quote ? rk_buf_puts(b, "\"") : 0;
}

const char *const rk_feed_csv_columns[] = {
    "id", "kind", "author_node", "prefecture", "prefecture_name", "title", "summary", "industry", "dx_level",
    "skills", "tags", "starts_at", "ends_at", "event_type", "format", "status", "application_url",
    "version",
};
const size_t rk_feed_csv_column_count = sizeof rk_feed_csv_columns / sizeof rk_feed_csv_columns[0];

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
    return rk_buf_append(store, str_or_empty(s), strlen(str_or_empty(s)) + 1);
}

int rk_feed_csv_values(const rk_record *rec, const rk_feed_meta *m, rk_buf *store, size_t *offs)
{
    if (!has_row(rec))
        return 1;
    const Renkei__Record *r = rec->msg;
    char hex[2 * RK_KEY_LEN + 1], id[RK_ID_MAX], ver[32];
    author_hex(rec, hex);
    rk_record_id(r->author.data, str_or_empty(r->rid), id);
    version_time(r->version, ver);
    const char *pref = rec_prefecture(r);
    const char *pname = rk_prefecture_name(pref);
    const char *industry = "", *dx = "", *starts = "", *ends = "", *etype = "", *format = "", *status = "",
               *apply = "";
    if (r->body_case == RENKEI__RECORD__BODY_CASE) {
        industry = code_of(&renkei__industry__descriptor, (int)r->case_->industry);
        dx = code_of(&renkei__dx_level__descriptor, (int)r->case_->dx_level);
    } else if (r->body_case == RENKEI__RECORD__BODY_EVENT) {
        const Renkei__Event *e = r->event;
        starts = str_or_empty(e->starts_at);
        ends = str_or_empty(e->ends_at);
        etype = code_of(&renkei__event_type__descriptor, (int)e->event_type);
        format = code_of(&renkei__event_format__descriptor, (int)e->format);
        status = code_of(&renkei__event_status__descriptor, (int)e->status);
        apply = str_or_empty(e->application_url);
    }
    rk_buf_reset(store);
    rk_buf tmp;
    rk_buf_init(&tmp);
    int rc = -1;
    size_t k = 0;
    if (put_value(store, &offs[k++], id) || put_value(store, &offs[k++], rk_kind_name((int)r->kind)) ||
        put_value(store, &offs[k++], author_display(rec, m, hex)) || put_value(store, &offs[k++], pref) ||
        put_value(store, &offs[k++], pname) || put_value(store, &offs[k++], rec_title(r)) ||
        put_value(store, &offs[k++], rec_summary(r)) || put_value(store, &offs[k++], industry) ||
        put_value(store, &offs[k++], dx))
        goto done;
    Renkei__Skill *sk;
    size_t nsk;
    rec_skills(r, &sk, &nsk);
    for (size_t i = 0; i < nsk; i++)
        if ((i && rk_buf_puts(&tmp, "; ")) || rk_buf_puts(&tmp, code_of(&renkei__skill__descriptor, (int)sk[i])))
            goto done;
    if (put_value(store, &offs[k++], tmp.data))
        goto done;
    char **tags;
    size_t ntags;
    rec_tags(r, &tags, &ntags);
    rk_buf_reset(&tmp);
    for (size_t i = 0; i < ntags; i++)
        if ((i && rk_buf_puts(&tmp, "; ")) || rk_buf_puts(&tmp, str_or_empty(tags[i])))
            goto done;
    if (put_value(store, &offs[k++], tmp.data))
        goto done;
    if (put_value(store, &offs[k++], starts) || put_value(store, &offs[k++], ends) ||
        put_value(store, &offs[k++], etype) ||
        put_value(store, &offs[k++], format) || put_value(store, &offs[k++], status) ||
        put_value(store, &offs[k++], apply) || put_value(store, &offs[k++], ver))
        goto done;
    rc = k == rk_feed_csv_column_count ? 0 : -1;
done:
    rk_buf_free(&tmp);
    return rc;
}

int rk_feed_csv_header(rk_buf *out)
{
    /* the BOM is what makes Excel (the usual consumer in a prefectural office) read UTF-8 */
    if (rk_buf_puts(out, "\xEF\xBB\xBF"))
        return -1;
    for (size_t i = 0; i < rk_feed_csv_column_count; i++)
        if (csv_field(out, rk_feed_csv_columns[i], i == 0))
            return -1;
    return rk_buf_puts(out, "\r\n");
}

int rk_feed_csv_row(const rk_record *rec, const rk_feed_meta *m, rk_buf *out)
{
    size_t offs[sizeof rk_feed_csv_columns / sizeof rk_feed_csv_columns[0]];
    rk_buf vals;
    rk_buf_init(&vals);
    int rc = rk_feed_csv_values(rec, m, &vals, offs);
    if (rc == 0) {
        for (size_t i = 0; i < rk_feed_csv_column_count && rc == 0; i++)
            rc = csv_field(out, vals.data + offs[i], i == 0);
        if (rc == 0)
            rc = rk_buf_puts(out, "\r\n");
    }
    rk_buf_free(&vals);
    return rc < 0 ? -1 : 0;
}

int rk_feed_csv(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out)
{
    const rk_record **v = sorted_copy(recs, n);
    if (!v)
        return -1;
    size_t k = count_sorted(v, n);
    int rc = rk_feed_csv_header(out);
    for (size_t i = 0; i < k && rc == 0; i++)
        rc = rk_feed_csv_row(v[i], m, out);
    free(v);
    return rc;
}
