/* latefilters: the late filter postings of one write transaction, written when it commits (see
 * latefilters.h for why and the invariants). */
#include "latefilters.h"

#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

typedef struct late_posting {
    rk_postings_list l;
    uint64_t seq;
    uint8_t sk[RK_SORT_KEY_LEN];
    uint8_t attr;
    bool dropped;
} late_posting;

typedef struct late_set {
    late_posting *v;
    size_t n, cap;
} late_set;

static void set_free(void *ctx)
{
    late_set *s = ctx;
    free(s->v);
    free(s);
}

static bool same_list(const late_posting *x, const late_posting *y)
{
    return x->l.plen == y->l.plen && memcmp(x->l.prefix, y->l.prefix, x->l.plen) == 0;
}

/* By list, then oldest first (sort key descending), as rk_postings_list_add_late takes a run. */
static gint posting_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
    const late_posting *x = a, *y = b;
    (void)unused;
    if (x->l.plen != y->l.plen)
        return x->l.plen < y->l.plen ? -1 : 1;
    int c = memcmp(x->l.prefix, y->l.prefix, x->l.plen);
    return c ? c : memcmp(y->sk, x->sk, RK_SORT_KEY_LEN);
}

static int set_write(rk_txn *t, void *ctx, rk_error *err)
{
    late_set *s = ctx;
    if (s->n == 0)
        return 0;
    g_qsort_with_data(s->v, (gint)s->n, sizeof *s->v, posting_cmp, NULL);
    /* the lists of one transaction's records hold many of the same records around the same places */
    rk_postings_runs w;
    if (rk_postings_runs_open(t, RK_DB_INDEXES, s->n, &w, err) != 0)
        return -1;
    int result = 0;
    for (size_t i = 0, j; result == 0 && i < s->n; i = j) {
        size_t m = 0;
        for (j = i; j < s->n && same_list(&s->v[j], &s->v[i]); j++)
            if (!s->v[j].dropped)
                w.run[m++] = (rk_posting_new){.seq = s->v[j].seq, .sk = s->v[j].sk, .attr = s->v[j].attr};
        if (m > 0)
            result = rk_postings_list_add_late(t, w.c, &s->v[i].l, w.run, m, w.sks, NULL, err);
    }
    rk_postings_runs_close(t, &w);
    s->n = 0;
    return result;
}

static late_set *set_of(rk_txn *t, bool make)
{
    void **slot = rk_txn_deferred(t, set_write, set_free);
    if (!slot)
        return NULL;
    if (!*slot && make)
        *slot = calloc(1, sizeof(late_set));
    return *slot;
}

int rk_latefilters_add(rk_txn *t, const rk_postings_list *l, uint64_t seq, const uint8_t sk[RK_SORT_KEY_LEN],
                       uint8_t attr, rk_error *err)
{
    late_set *s = set_of(t, true);
    late_posting *v = s ? rk_grow(s->v, &s->cap, s->n + 1, sizeof *v) : NULL;
    if (!v) {
        rk_error why;
        rk_fail(&why, "no_memory", "", "out of memory while indexing a record");
        rk_txn_poison(t, &why);
        if (err)
            *err = why;
        return -1;
    }
    s->v = v;
    late_posting *p = &s->v[s->n++];
    p->l = *l;
    p->seq = seq;
    memcpy(p->sk, sk, RK_SORT_KEY_LEN);
    p->attr = attr;
    p->dropped = false;
    return 0;
}

void rk_latefilters_drop(rk_txn *t, uint64_t seq)
{
    late_set *s = set_of(t, false);
    for (size_t i = 0; s && i < s->n; i++)
        if (s->v[i].seq == seq)
            s->v[i].dropped = true;
}

int rk_latefilters_write(rk_txn *t, rk_error *err)
{
    late_set *s = set_of(t, false);
    return s ? set_write(t, s, err) : 0;
}
