/* stats: counts over current records for /v1/stats, the national office's dashboard numbers.
 *
 * Invariants: only current, non-tombstone records with visibility public or network are counted
 * (local records never leave their node, so they must not show up in numbers that do); each counted
 * record lands in exactly one prefecture bucket (one of the 47 or "unknown"), so the totals per kind
 * always equal the sum over prefectures. Months are those of created_at in Japan time, because that
 * is the calendar the coordinators report in. The clock is read by the caller (now_s), never here.
 */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "taxonomy.h"

#define N_PREF 48 /* 0 = unknown, 1..47 = JIS X 0401 */
#define N_KIND 4  /* case, event, region (index by Renkei__Kind, 0 unused) */

typedef struct month_count {
    char month[8]; /* YYYY-MM */
    uint64_t n;
} month_count;

struct rk_stats {
    int64_t now_s;
    uint64_t by_kind_pref[N_KIND][N_PREF];
    uint64_t by_kind[N_KIND];
    uint64_t by_visibility[4];
    uint64_t industry[32];
    uint64_t dx_level[16];
    uint64_t skill[32];
    uint64_t upcoming[N_PREF];
    uint64_t upcoming_total;
    month_count *months;
    size_t n_months, cap_months;
    bool oom; /* a month bucket could not be added; rendering reports failure rather than wrong numbers */
};

rk_stats *rk_stats_new(int64_t now_s)
{
    rk_stats *s = calloc(1, sizeof *s);
    if (s)
        s->now_s = now_s;
    return s;
}

void rk_stats_free(rk_stats *s)
{
    if (!s)
        return;
    free(s->months);
    free(s);
}

static int pref_index(const char *code)
{
    if (!code || !rk_prefecture_valid(code))
        return 0;
    return (code[0] - '0') * 10 + (code[1] - '0');
}

static void add_month(rk_stats *s, uint64_t created_ms)
{
    char key[32];
    rk_format_rfc3339((int64_t)(created_ms / 1000), RK_JST_OFFSET_S, false, key);
    key[7] = '\0';
    for (size_t i = 0; i < s->n_months; i++)
        if (memcmp(s->months[i].month, key, 8) == 0) {
            s->months[i].n++;
            return;
        }
    month_count *m = rk_grow(s->months, &s->cap_months, s->n_months + 1, sizeof *m);
    if (!m) {
        s->oom = true;
        return;
    }
    s->months = m;
    memcpy(s->months[s->n_months].month, key, 8);
    s->months[s->n_months].n = 1;
    s->n_months++;
}

static void count_skills(rk_stats *s, const Renkei__Skill *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned)v[i] < 32)
            s->skill[v[i]]++;
}

void rk_stats_add(rk_stats *s, const rk_record *rec)
{
    if (!s || !rec || !rec->msg)
        return;
    const Renkei__Record *r = rec->msg;
    int kind = (int)r->kind;
    if (kind < RENKEI__KIND__KIND_CASE || kind > RENKEI__KIND__KIND_REGION)
        return; /* tombstones and unset kinds are not records anyone can read */
    if (r->visibility != RENKEI__VISIBILITY__VISIBILITY_PUBLIC &&
        r->visibility != RENKEI__VISIBILITY__VISIBILITY_NETWORK)
        return;
    if (!rk_record_body(r))
        return; /* a body that is not the kind's */
    const char *pref = NULL;
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE:
        pref = r->case_->prefecture;
        if ((unsigned)r->case_->industry < 32)
            s->industry[r->case_->industry]++;
        if ((unsigned)r->case_->dx_level < 16)
            s->dx_level[r->case_->dx_level]++;
        count_skills(s, r->case_->skills, r->case_->n_skills);
        break;
    case RENKEI__RECORD__BODY_EVENT:
        pref = r->event->prefecture;
        if ((!pref || !*pref) && r->event->venue)
            pref = r->event->venue->prefecture;
        count_skills(s, r->event->skills, r->event->n_skills);
        break;
    case RENKEI__RECORD__BODY_REGION: pref = r->region->prefecture; break;
    default: return;
    }
    int p = pref_index(pref);
    s->by_kind_pref[kind][p]++;
    s->by_kind[kind]++;
    s->by_visibility[r->visibility]++;
    add_month(s, r->created_at ? r->created_at : r->version);
    if (kind == RENKEI__KIND__KIND_EVENT && r->event->status != RENKEI__EVENT_STATUS__EVENT_STATUS_CANCELLED) {
        int64_t end;
        int off;
        const char *e = r->event->ends_at && *r->event->ends_at ? r->event->ends_at : r->event->starts_at;
        if (e && rk_parse_rfc3339(e, &end, &off) == 0 && end >= s->now_s) {
            s->upcoming[p]++;
            s->upcoming_total++;
        }
    }
}

static int jset(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v);
}

static int cmp_month(const void *a, const void *b)
{
    return strcmp(((const month_count *)a)->month, ((const month_count *)b)->month);
}

/* Every value of an enum with its count, zeros included, so dashboards get a stable shape. */
static int enum_counts(json_t *parent, const char *key, const ProtobufCEnumDescriptor *d, const uint64_t *counts,
                       size_t n)
{
    json_t *o = json_object();
    if (jset(parent, key, o))
        return -1;
    uint64_t unknown = counts[0];
    for (size_t v = 1; v < n; v++) {
        const char *code = rk_taxonomy_code(d, (int)v);
        if (!code) {
            unknown += counts[v];
            continue;
        }
        if (jset(o, code, json_integer((json_int_t)counts[v])))
            return -1;
    }
    return jset(o, "unknown", json_integer((json_int_t)unknown));
}

static const char *const kind_names[N_KIND] = {NULL, "case", "event", "region"};

json_t *rk_stats_to_json(const rk_stats *s)
{
    if (!s || s->oom)
        return NULL;
    json_t *j = json_object();
    if (!j)
        return NULL;
    char now[32];
    rk_format_rfc3339(s->now_s, 0, true, now);
    uint64_t total = s->by_kind[1] + s->by_kind[2] + s->by_kind[3];
    if (jset(j, "generated_at", json_string(now)) || jset(j, "total", json_integer((json_int_t)total)))
        goto fail;
    json_t *vis = json_object();
    if (jset(j, "by_visibility", vis) ||
        jset(vis, "public", json_integer((json_int_t)s->by_visibility[RENKEI__VISIBILITY__VISIBILITY_PUBLIC])) ||
        jset(vis, "network", json_integer((json_int_t)s->by_visibility[RENKEI__VISIBILITY__VISIBILITY_NETWORK])))
        goto fail;
    json_t *bk = json_object();
    if (jset(j, "by_kind", bk))
        goto fail;
    for (int k = 1; k < N_KIND; k++)
        if (jset(bk, kind_names[k], json_integer((json_int_t)s->by_kind[k])))
            goto fail;
    /* prefectures in JIS order, then "unknown" */
    json_t *bp = json_array();
    if (jset(j, "by_prefecture", bp))
        goto fail;
    for (int i = 1; i <= N_PREF; i++) {
        int p = i % N_PREF; /* 1..47, then 0 */
        char code[3] = {(char)('0' + p / 10), (char)('0' + p % 10), '\0'};
        json_t *row = json_object();
        if (json_array_append_new(bp, row))
            goto fail;
        const char *name = p ? rk_prefecture_name(code) : "不明";
        uint64_t sum = 0;
        if (jset(row, "code", json_string(p ? code : "unknown")) || jset(row, "name", json_string(name ? name : "")))
            goto fail;
        for (int k = 1; k < N_KIND; k++) {
            sum += s->by_kind_pref[k][p];
            if (jset(row, kind_names[k], json_integer((json_int_t)s->by_kind_pref[k][p])))
                goto fail;
        }
        if (jset(row, "total", json_integer((json_int_t)sum)) ||
            jset(row, "upcoming_events", json_integer((json_int_t)s->upcoming[p])))
            goto fail;
    }
    if (enum_counts(j, "by_industry", &renkei__industry__descriptor, s->industry, 32) ||
        enum_counts(j, "by_dx_level", &renkei__dx_level__descriptor, s->dx_level, 16) ||
        enum_counts(j, "by_skill", &renkei__skill__descriptor, s->skill, 32))
        goto fail;
    json_t *bm = json_object();
    if (jset(j, "by_month", bm))
        goto fail;
    if (s->n_months) {
        month_count *sorted = malloc(s->n_months * sizeof *sorted);
        if (!sorted)
            goto fail;
        memcpy(sorted, s->months, s->n_months * sizeof *sorted);
        qsort(sorted, s->n_months, sizeof *sorted, cmp_month);
        for (size_t i = 0; i < s->n_months; i++)
            if (jset(bm, sorted[i].month, json_integer((json_int_t)sorted[i].n))) {
                free(sorted);
                goto fail;
            }
        free(sorted);
    }
    json_t *up = json_object();
    if (jset(j, "upcoming_events", up) || jset(up, "total", json_integer((json_int_t)s->upcoming_total)))
        goto fail;
    json_t *upp = json_object();
    if (jset(up, "by_prefecture", upp))
        goto fail;
    for (int i = 1; i <= N_PREF; i++) {
        int p = i % N_PREF;
        char code[3] = {(char)('0' + p / 10), (char)('0' + p % 10), '\0'};
        if (jset(upp, p ? code : "unknown", json_integer((json_int_t)s->upcoming[p])))
            goto fail;
    }
    return j;
fail:
    json_decref(j);
    return NULL;
}
