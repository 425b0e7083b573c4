/* metrics: a small mutex-protected table of series rendered as Prometheus text exposition 0.0.4.
 *
 * A series is (metric name, rendered label set). Label values are escaped once when a series is
 * created (backslash, double quote, newline), so rendering only copies. An update finds its series
 * by the name and label strings as the caller gave them (a GLib hash table over those bytes), so the
 * per-request counters of the API do not format or escape anything once their series exist: that
 * formatting, and a linear scan of every series, were about 7 % of a query's instructions. Series are rendered grouped by metric
 * name, in order of first use, with the # HELP / # TYPE lines the exposition format wants once per
 * metric. Histogram buckets are fixed and cumulative on render.
 *
 * Every described metric is present from start-up: one whose series do not exist yet renders as a
 * single unlabelled zero (a counter at 0, a gauge at 0, an empty histogram), so a scraper sees it
 * and rate() counts its first increment; rk_metrics_touch creates the zero series of label values
 * known in advance (such as source="local" and "peer"), which then replace that placeholder.
 */
#include "metrics.h"

#include <glib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])

enum { T_COUNTER, T_GAUGE, T_HISTOGRAM };
/* update's type for rk_metrics_touch: the series is created at zero with its declared type, or left
 * as it is. */
#define T_TOUCH (-1)

typedef struct series {
    char *name;
    char *labels; /* `a="b",c="d"` or "" */
    int type;
    uint64_t count;             /* counter value, or histogram count */
    double value;               /* gauge value, or histogram sum */
    uint64_t buckets[NBUCKETS]; /* not cumulative */
} series;

typedef struct desc {
    char *name, *help;
    int type; /* T_COUNTER, T_GAUGE or T_HISTOGRAM */
} desc;

/* What an update names a series by: the name, then each label and value given, each with its NUL
 * (so no two different tuples give the same bytes), after a count of the strings. */
typedef struct series_key {
    size_t len;
    const char *bytes;
} series_key;

struct rk_metrics {
    pthread_mutex_t mu;
    series *s;
    size_t n, cap;
    GHashTable *by_key; /* series_key (owned, bytes after it) -> index in s, plus one */
    desc *d;
    size_t nd;
};

static guint series_key_hash(gconstpointer p)
{
    const series_key *k = p;
    guint h = 5381;
    for (size_t i = 0; i < k->len; i++)
        h = h * 33 + (unsigned char)k->bytes[i];
    return h;
}

static gboolean series_key_equal(gconstpointer a, gconstpointer b)
{
    const series_key *x = a, *y = b;
    return x->len == y->len && memcmp(x->bytes, y->bytes, x->len) == 0;
}

/* The key of (name, l1, v1, l2, v2) into buf (cap bytes); 0 when it does not fit. */
static size_t series_key_make(char *buf, size_t cap, const char *name, const char *l1, const char *v1, const char *l2,
                              const char *v2)
{
    const char *parts[5] = {name, l1, v1 ? v1 : "", l2, v2 ? v2 : ""};
    size_t n = l2 ? 5 : l1 ? 3 : 1, len = 1;
    if (cap < 1)
        return 0;
    buf[0] = (char)n;
    for (size_t i = 0; i < n; i++) {
        size_t pl = strlen(parts[i]) + 1;
        if (pl > cap - len)
            return 0;
        memcpy(buf + len, parts[i], pl);
        len += pl;
    }
    return len;
}

rk_metrics *rk_metrics_new(void)
{
    rk_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->by_key = g_hash_table_new_full(series_key_hash, series_key_equal, free, NULL);
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        g_hash_table_destroy(m->by_key);
        free(m);
        return NULL;
    }
    return m;
}

void rk_metrics_free(rk_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->s[i].name);
        free(m->s[i].labels);
    }
    for (size_t i = 0; i < m->nd; i++) {
        free(m->d[i].name);
        free(m->d[i].help);
    }
    free(m->s);
    free(m->d);
    g_hash_table_destroy(m->by_key);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void rk_metrics_describe(rk_metrics *m, const char *name, const char *type, const char *help)
{
    pthread_mutex_lock(&m->mu);
    desc *nd = realloc(m->d, (m->nd + 1) * sizeof *nd);
    if (nd) {
        m->d = nd;
        desc *d = &nd[m->nd];
        d->name = strdup(name);
        d->help = strdup(help);
        d->type = strcmp(type, "histogram") == 0 ? T_HISTOGRAM : strcmp(type, "gauge") == 0 ? T_GAUGE : T_COUNTER;
        if (d->name && d->help)
            m->nd++;
        else {
            free(d->name);
            free(d->help);
        }
    }
    pthread_mutex_unlock(&m->mu);
}

/* The description of the metric name (the last given), or NULL. Called with m->mu held. */
static const desc *desc_of(const rk_metrics *m, const char *name)
{
    const desc *d = NULL;
    for (size_t k = 0; k < m->nd; k++)
        if (strcmp(m->d[k].name, name) == 0)
            d = &m->d[k];
    return d;
}

static void escape_value(rk_buf *b, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\')
            rk_buf_puts(b, "\\\\");
        else if (*p == '"')
            rk_buf_puts(b, "\\\"");
        else if (*p == '\n')
            rk_buf_puts(b, "\\n");
        else
            rk_buf_append(b, p, 1);
    }
}

static int render_labels(rk_buf *b, const char *l1, const char *v1, const char *l2, const char *v2)
{
    rk_buf_reset(b);
    if (l1) {
        rk_buf_printf(b, "%s=\"", l1);
        escape_value(b, v1);
        rk_buf_puts(b, "\"");
    }
    if (l2) {
        rk_buf_printf(b, "%s%s=\"", l1 ? "," : "", l2);
        escape_value(b, v2);
        rk_buf_puts(b, "\"");
    }
    return rk_buf_puts(b, "");
}

/* Finds or creates a series; called with the lock held. NULL on allocation failure (the update is
 * lost, which is the right trade for metrics). */
static series *get_series(rk_metrics *m, const char *name, const char *labels, int type)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->s[i].name, name) == 0 && strcmp(m->s[i].labels, labels) == 0)
            return &m->s[i];
    series *ns = rk_grow(m->s, &m->cap, m->n + 1, sizeof *ns);
    if (!ns)
        return NULL;
    m->s = ns;
    series *s = &m->s[m->n];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    s->labels = strdup(labels);
    if (!s->name || !s->labels) {
        free(s->name);
        free(s->labels);
        return NULL;
    }
    s->type = type;
    m->n++;
    return s;
}

/* The series an update names, created when new; called with the lock held. NULL on allocation
 * failure or a key too long (the update is lost, which is the right trade for metrics). */
static series *find_series(rk_metrics *m, const char *name, const char *l1, const char *v1, const char *l2,
                           const char *v2, int type)
{
    char kb[512];
    series_key probe = {series_key_make(kb, sizeof kb, name, l1, v1, l2, v2), kb};
    if (probe.len == 0)
        return NULL;
    gpointer at = g_hash_table_lookup(m->by_key, &probe);
    if (at)
        return &m->s[GPOINTER_TO_SIZE(at) - 1];
    rk_buf lab;
    rk_buf_init(&lab);
    series *s = NULL;
    series_key *k = malloc(sizeof *k + probe.len);
    if (k && render_labels(&lab, l1, v1, l2, v2) == 0)
        s = get_series(m, name, lab.data ? lab.data : "", type);
    rk_buf_free(&lab);
    if (!s) {
        free(k);
        return NULL;
    }
    k->len = probe.len;
    k->bytes = memcpy((char *)(k + 1), kb, probe.len);
    g_hash_table_insert(m->by_key, k, GSIZE_TO_POINTER((size_t)(s - m->s) + 1));
    return s;
}

static void update(rk_metrics *m, const char *name, const char *l1, const char *v1, const char *l2, const char *v2,
                   int type, uint64_t delta, double value)
{
    pthread_mutex_lock(&m->mu);
    bool touch = type == T_TOUCH;
    if (touch) {
        const desc *d = desc_of(m, name);
        type = d ? d->type : T_COUNTER;
    }
    series *s = find_series(m, name, l1, v1, l2, v2, type);
    if (s && !touch) {
        if (type == T_COUNTER)
            s->count += delta;
        else if (type == T_GAUGE)
            s->value = value;
        else {
            s->count++;
            s->value += value;
            for (size_t i = 0; i < NBUCKETS; i++)
                if (value <= bucket_bounds[i]) {
                    s->buckets[i]++;
                    break;
                }
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void rk_metrics_add(rk_metrics *m, const char *name, const char *label, const char *value, uint64_t delta)
{
    update(m, name, label, value, NULL, NULL, T_COUNTER, delta, 0);
}

void rk_metrics_add2(rk_metrics *m, const char *name, const char *l1, const char *v1, const char *l2, const char *v2,
                     uint64_t delta)
{
    update(m, name, l1, v1, l2, v2, T_COUNTER, delta, 0);
}

void rk_metrics_set_gauge(rk_metrics *m, const char *name, double value)
{
    update(m, name, NULL, NULL, NULL, NULL, T_GAUGE, 0, value);
}

void rk_metrics_set_gauge1(rk_metrics *m, const char *name, const char *label, const char *lvalue, double value)
{
    update(m, name, label, lvalue, NULL, NULL, T_GAUGE, 0, value);
}

void rk_metrics_touch(rk_metrics *m, const char *name, const char *label, const char *value)
{
    update(m, name, label, value, NULL, NULL, T_TOUCH, 0, 0);
}

void rk_metrics_observe(rk_metrics *m, const char *name, const char *label, const char *value, double seconds)
{
    update(m, name, label, value, NULL, NULL, T_HISTOGRAM, 0, seconds);
}

static const char *type_name(int t)
{
    return t == T_COUNTER ? "counter" : t == T_GAUGE ? "gauge" : "histogram";
}

static void render_series(rk_buf *b, const series *s)
{
    const char *sep = s->labels[0] ? "," : "";
    if (s->type == T_COUNTER) {
        rk_buf_printf(b, "%s%s%s%s %llu\n", s->name, s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "",
                      (unsigned long long)s->count);
    } else if (s->type == T_GAUGE) {
        rk_buf_printf(b, "%s%s%s%s %.17g\n", s->name, s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "",
                      s->value);
    } else {
        uint64_t cum = 0;
        for (size_t i = 0; i < NBUCKETS; i++) {
            cum += s->buckets[i];
            rk_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", s->name, s->labels, sep, bucket_bounds[i],
                          (unsigned long long)cum);
        }
        rk_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", s->name, s->labels, sep, (unsigned long long)s->count);
        rk_buf_printf(b, "%s_sum%s%s%s %.9f\n", s->name, s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "",
                      s->value);
        rk_buf_printf(b, "%s_count%s%s%s %llu\n", s->name, s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "",
                      (unsigned long long)s->count);
    }
}

int rk_metrics_render(rk_metrics *m, rk_buf *out)
{
    pthread_mutex_lock(&m->mu);
    bool *done = calloc(m->n ? m->n : 1, sizeof *done);
    if (!done) {
        pthread_mutex_unlock(&m->mu);
        return -1;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (done[i])
            continue;
        const char *name = m->s[i].name;
        const desc *d = desc_of(m, name);
        rk_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, d ? d->help : name, name, type_name(m->s[i].type));
        for (size_t j = i; j < m->n; j++)
            if (!done[j] && strcmp(m->s[j].name, name) == 0) {
                render_series(out, &m->s[j]);
                done[j] = true;
            }
    }
    /* described but not yet used: present at zero all the same */
    for (size_t k = 0; k < m->nd; k++) {
        bool used = false;
        for (size_t i = 0; i < m->n && !used; i++)
            used = strcmp(m->s[i].name, m->d[k].name) == 0;
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = strcmp(m->d[j].name, m->d[k].name) == 0;
        if (used || dup)
            continue;
        series zero = {.name = m->d[k].name, .labels = "", .type = m->d[k].type};
        rk_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", zero.name, m->d[k].help, zero.name, type_name(zero.type));
        render_series(out, &zero);
    }
    free(done);
    pthread_mutex_unlock(&m->mu);
    /* rk_buf_printf failures leave a short buffer; report them via a final append check */
    return rk_buf_reserve(out, 1);
}
