/* rtext: one record's readable text, the same in every export.
 *
 * Invariants: nothing here reads the clock or the serving node (output depends on the record alone,
 * and the author-name resolver for rk_rtext_author_display), so renders stay byte-stable and the
 * exports' ETags honest. Dates are written as the publisher gave them, at their offset and precision.
 */
#include "rtext.h"

#include <stdlib.h>
#include <string.h>

#include "taxonomy.h"
#include "validate.h"

/* ------------------------------------------------------------------------------ record access */

const char *rk_rtext_or_empty(const char *s)
{
    return s ? s : "";
}

int64_t rk_rtext_floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

bool rk_rtext_cancelled(const Renkei__Record *r)
{
    return r->body_case == RENKEI__RECORD__BODY_EVENT && r->event &&
           r->event->status == RENKEI__EVENT_STATUS__EVENT_STATUS_CANCELLED;
}

/* Feed readers show the title and little else, so a cancelled event says so there; a title that
 * already says 中止 is left alone rather than saying it twice. */
int rk_rtext_display_title(rk_buf *b, const Renkei__Record *r, const char *title)
{
    rk_buf_reset(b);
    if (rk_rtext_cancelled(r) && !strstr(title, "中止") && rk_buf_puts(b, "【中止】"))
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
    int64_t local = epoch + offset, days = rk_rtext_floor_div(local, 86400), sec = local - days * 86400;
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
    if (rk_parse_rfc3339(rk_rtext_or_empty(e->starts_at), &start, &soff) != 0)
        return 0;
    if (rk_parse_rfc3339(rk_rtext_or_empty(e->ends_at), &end, &eoff) != 0 || end < start) {
        end = start;
        eoff = soff;
    }
    local_time s, t;
    to_local(start, soff, &s);
    to_local(end, eoff, &t);
    bool same_day = s.y == t.y && s.mo == t.mo && s.d == t.d;
    switch (e->date_precision) {
    case RENKEI__DATE_PRECISION__DATE_PRECISION_MONTH: return rk_buf_printf(b, "%d年%d月（日程未定）", s.y, s.mo);
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

const char *rk_rtext_title(const Renkei__Record *r)
{
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE: return rk_rtext_or_empty(r->case_->title);
    case RENKEI__RECORD__BODY_EVENT: return rk_rtext_or_empty(r->event->title);
    case RENKEI__RECORD__BODY_REGION: return rk_rtext_or_empty(r->region->name);
    default: return "";
    }
}

const char *rk_rtext_summary(const Renkei__Record *r)
{
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE: return rk_rtext_or_empty(r->case_->summary);
    case RENKEI__RECORD__BODY_EVENT: return rk_rtext_or_empty(r->event->summary);
    case RENKEI__RECORD__BODY_REGION: return rk_rtext_or_empty(r->region->summary);
    default: return "";
    }
}

const char *rk_rtext_prefecture(const Renkei__Record *r)
{
    const char *p = "";
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE: p = rk_rtext_or_empty(r->case_->prefecture); break;
    case RENKEI__RECORD__BODY_EVENT:
        p = rk_rtext_or_empty(r->event->prefecture);
        if (!*p && r->event->venue)
            p = rk_rtext_or_empty(r->event->venue->prefecture);
        break;
    case RENKEI__RECORD__BODY_REGION: p = rk_rtext_or_empty(r->region->prefecture); break;
    default: break;
    }
    return p;
}

void rk_rtext_skills(const Renkei__Record *r, Renkei__Skill **v, size_t *n)
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

void rk_rtext_tags(const Renkei__Record *r, char ***v, size_t *n)
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

const char *rk_rtext_code(const ProtobufCEnumDescriptor *d, int v)
{
    const char *c = rk_taxonomy_code(d, v);
    return c ? c : "";
}

void rk_rtext_author_hex(const rk_record *rec, char out[2 * RK_KEY_LEN + 1])
{
    if (rec->msg->author.len == RK_KEY_LEN)
        rk_hex_encode(rec->msg->author.data, RK_KEY_LEN, out);
    else
        out[0] = '\0';
}

/* The roster name of the author, falling back to its key so an entry is never anonymous. */
const char *rk_rtext_author_display(const rk_record *rec, const rk_feed_meta *m, const char *hex)
{
    const char *n = NULL;
    if (m && m->author_name && rec->msg->author.len == RK_KEY_LEN)
        n = m->author_name(rec->msg->author.data, m->ctx);
    return n && *n ? n : hex;
}

void rk_rtext_version_time(uint64_t ms, char out[32])
{
    rk_format_rfc3339((int64_t)(ms / 1000), 0, true, out);
}

/* Records newest version first, whatever order the caller used; ties by hash, lowest first, so the
 * order is total and the store's (lib/index.c's sort key): a page rendered whole and one rendered
 * from the store's walk list records alike. */
static int cmp_newest(const void *a, const void *b)
{
    const rk_record *x = *(const rk_record *const *)a, *y = *(const rk_record *const *)b;
    if (x->msg->version != y->msg->version)
        return x->msg->version < y->msg->version ? 1 : -1;
    return memcmp(x->hash, y->hash, RK_HASH_LEN);
}

bool rk_rtext_shown(const rk_record *rec)
{
    return rec && rec->msg && rec->msg->kind != RENKEI__KIND__KIND_TOMBSTONE &&
           rec->msg->body_case != RENKEI__RECORD__BODY_TOMBSTONE &&
           rec->msg->body_case != RENKEI__RECORD__BODY__NOT_SET;
}

const rk_record **rk_rtext_sorted_copy(const rk_record *const *recs, size_t n)
{
    const rk_record **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rk_rtext_shown(recs[i]))
            v[k++] = recs[i];
    qsort(v, k, sizeof *v, cmp_newest);
    if (k < n)
        v[k] = NULL;
    return v;
}

size_t rk_rtext_count_sorted(const rk_record **v, size_t n)
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

int rk_rtext_describe(rk_buf *b, const Renkei__Record *r)
{
    const char *summary = rk_rtext_summary(r);
    if (*summary && rk_buf_puts(b, summary) != 0)
        return -1;
    if (*summary && rk_buf_puts(b, "\n") != 0)
        return -1;
    const char *pref = rk_prefecture_name(rk_rtext_prefecture(r));
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
        if (labelled(b, "状態", status_label((int)e->status)) || labelled(b, "地域", pref) ||
            labelled(b, "種別", rk_label_ja(&renkei__event_type__descriptor, (int)e->event_type)) ||
            labelled(b, "形式", rk_label_ja(&renkei__event_format__descriptor, (int)e->format)) ||
            labelled(b, "主催", e->organiser) || labelled(b, "会場", e->venue ? e->venue->name : NULL) ||
            labelled(b, "住所", e->venue ? e->venue->address : NULL) || labelled(b, "申込", e->application_url))
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

/* Length of the UTF-8 sequence starting at p (1 for stray bytes, so progress is always made). */
size_t rk_rtext_u8len(const unsigned char *p, size_t avail)
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
bool rk_rtext_is_control(const unsigned char *p, size_t n)
{
    if (n == 1)
        return (p[0] < 0x20 && p[0] != '\t' && p[0] != '\n' && p[0] != '\r') || p[0] == 0x7F;
    if (n == 2)
        return p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F;
    if (n == 3)
        return p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF);
    return false;
}
