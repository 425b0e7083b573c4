/* membership_txn: the roster as one write transaction changes it (see membership_txn.h). The
 * membership records are gathered with the store's kind index, so reading them costs one query per
 * membership kind, in proportion to the number of membership records, never to the whole store. */
#include "membership_txn.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "query.h"

int rk_membership_records_add(rk_membership_records *r, const rk_record *rec, rk_error *err)
{
    rk_record *nr = rk_grow(r->recs, &r->cap, r->n + 1, sizeof *nr);
    if (!nr)
        return rk_fail(err, "no_memory", "", "out of memory while reading membership records");
    r->recs = nr;
    if (rk_record_clone(rec, &r->recs[r->n]) != 0)
        return rk_fail(err, "no_memory", "", "out of memory while reading membership records");
    r->n++;
    return 0;
}

typedef struct gather_ctx {
    rk_membership_records *r;
    rk_error *err;
    bool failed;
} gather_ctx;

static int gather_one(const rk_record *rec, void *ctx)
{
    gather_ctx *g = ctx;
    if (rk_membership_records_add(g->r, rec, g->err) != 0) {
        g->failed = true;
        return 1;
    }
    return 0;
}

int rk_membership_records_read(rk_txn *t, rk_membership_records *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    gather_ctx g = {.r = out, .err = err};
    static const int kinds[] = {RENKEI__KIND__KIND_ENDORSE, RENKEI__KIND__KIND_ROTATE, RENKEI__KIND__KIND_REVOKE};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        rk_query q = {.kind = kinds[k], .max_visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC};
        char next[RK_CURSOR_MAX];
        if (rk_store_query(t, &q, gather_one, &g, next, err) != 0 || g.failed) {
            rk_membership_records_free(out);
            return -1;
        }
    }
    return 0;
}

void rk_membership_records_free(rk_membership_records *r)
{
    for (size_t i = 0; i < r->n; i++)
        rk_record_free(&r->recs[i]);
    free(r->recs);
    memset(r, 0, sizeof *r);
}

int rk_membership_records_compute(const rk_charter *charter, const rk_membership_records *r, rk_membership *out,
                                  rk_membership_verdict *verdicts, rk_error *err)
{
    memset(out, 0, sizeof *out);
    const rk_record **ptrs = malloc((r->n ? r->n : 1) * sizeof *ptrs);
    if (!ptrs)
        return rk_fail(err, "no_memory", "", "out of memory");
    for (size_t i = 0; i < r->n; i++)
        ptrs[i] = &r->recs[i];
    int rc = rk_membership_compute(charter, ptrs, r->n, out, verdicts, err);
    free(ptrs);
    return rc;
}

/* ---------------------------------------------------------------------------- one transaction */

void rk_membership_txn_init(rk_membership_txn *m, const rk_charter *charter, const rk_membership *base)
{
    memset(m, 0, sizeof *m);
    m->charter = charter;
    m->base = base;
}

const rk_membership *rk_membership_txn_roster(const rk_membership_txn *m)
{
    return m->changed ? &m->next : m->base;
}

int rk_membership_txn_judge(rk_membership_txn *m, rk_txn *t, const rk_record *rec, const char **reason, rk_error *err)
{
    *reason = NULL;
    rk_membership_txn_drop(m);
    if (!m->loaded) {
        if (rk_membership_records_read(t, &m->records, err) != 0)
            return -1;
        m->loaded = true;
    }
    if (rk_membership_records_add(&m->records, rec, err) != 0)
        return -1;
    rk_membership_verdict *verdicts = calloc(m->records.n, sizeof *verdicts);
    if (!verdicts) {
        m->records.n--;
        rk_record_free(&m->records.recs[m->records.n]);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    m->judged = true; /* from here drop undoes the append */
    int rc = rk_membership_records_compute(m->charter, &m->records, &m->candidate, verdicts, err);
    const char *verdict = verdicts[m->records.n - 1].reason;
    free(verdicts);
    if (rc != 0) {
        rk_membership_txn_drop(m);
        return -1;
    }
    if (verdict) {
        rk_membership_txn_drop(m);
        *reason = verdict;
    }
    return 0;
}

void rk_membership_txn_accept(rk_membership_txn *m)
{
    if (!m->judged)
        return;
    rk_membership_free(&m->next);
    m->next = m->candidate;
    memset(&m->candidate, 0, sizeof m->candidate);
    m->changed = true;
    m->judged = false;
    m->generation++;
}

void rk_membership_txn_drop(rk_membership_txn *m)
{
    if (!m->judged)
        return;
    rk_membership_free(&m->candidate);
    m->records.n--;
    rk_record_free(&m->records.recs[m->records.n]);
    m->judged = false;
}

int rk_membership_txn_recompute(rk_membership_txn *m, rk_txn *t, rk_error *err)
{
    rk_membership_txn_drop(m);
    rk_membership_records_free(&m->records);
    m->loaded = false;
    if (rk_membership_records_read(t, &m->records, err) != 0)
        return -1;
    m->loaded = true;
    rk_membership next;
    if (rk_membership_records_compute(m->charter, &m->records, &next, NULL, err) != 0)
        return -1;
    rk_membership_free(&m->next);
    m->next = next;
    m->changed = true;
    return 0;
}

bool rk_membership_txn_take(rk_membership_txn *m, rk_membership *out)
{
    if (!m->changed)
        return false;
    *out = m->next;
    memset(&m->next, 0, sizeof m->next);
    m->changed = false;
    return true;
}

void rk_membership_txn_free(rk_membership_txn *m)
{
    rk_membership_txn_drop(m);
    rk_membership_free(&m->next);
    rk_membership_records_free(&m->records);
    m->changed = false;
}
