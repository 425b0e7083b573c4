/* query: planning and walking queries over the indexes (key formats in index.h).
 *
 * A query walks the shortest posting list among its filters, or among the tokens of its full-text
 * terms, and checks the other filters by looking the posting up in their lists (one B-tree lookup
 * each) before it loads the record: a record is unpacked only when it passes every filter, as the
 * index holds exactly the current, non-deleted records' fields. For the same reason a match without
 * full-text terms is decided by the index alone, so the caller's `cached` callback is offered its
 * hash first and the record is loaded only when that does not serve it (a JSON cache miss). Full-text candidates are confirmed
 * by substring search in the record's normalised text. A token list holds the indexed records only, so
 * a full-text walk merges the pending records (fewer than RK_INDEX_PENDING_MAX, already in sort-key
 * order) into the list it walks. Events are found from the event-date index, starting the longest
 * indexed duration before the range so that no overlapping event is missed.
 */
#include "query.h"

#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "postings.h"
#include "records.h"
#include "rectokens.h"
#include "text.h"

typedef struct query_plan {
    rk_index_prefixes fields; /* filters to check on each record */
    char **terms;             /* normalised whitespace-separated query terms */
    size_t n_terms;
    rk_index_prefix driver; /* the posting list walked */
    bool driver_token;      /* driver is a token in "tokens", else a prefix in "indexes" */
    bool empty;             /* a filter matches nothing at all */
} query_plan;

static void plan_free(query_plan *p)
{
    rk_index_prefixes_free(&p->fields);
    for (size_t i = 0; i < p->n_terms; i++)
        free(p->terms[i]);
    free(p->terms);
}

/* Splits the normalised query at whitespace: each term must occur in the text. */
static int split_terms(query_plan *p, const char *norm)
{
    const char *s = norm;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        const char *e = s;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r')
            e++;
        if (e > s) {
            char **v = realloc(p->terms, (p->n_terms + 1) * sizeof *v);
            if (!v)
                return -1;
            p->terms = v;
            char *term = malloc((size_t)(e - s) + 1);
            if (!term)
                return -1;
            memcpy(term, s, (size_t)(e - s));
            term[e - s] = '\0';
            p->terms[p->n_terms++] = term;
        }
        s = e;
    }
    return 0;
}

static int plan_query(rk_txn *t, MDB_txn *txn, const rk_query *q, query_plan *p, rk_error *err)
{
    memset(p, 0, sizeof *p);
    int rc = 0;
    if (q->kind)
        rc |= rk_index_push_enum(&p->fields, RK_INDEX_FIELD_KIND, q->kind);
    if (q->prefecture[0])
        rc |= rk_index_push_prefecture(&p->fields, q->prefecture);
    rc |= rk_index_push_enum(&p->fields, RK_INDEX_FIELD_INDUSTRY, q->industry);
    rc |= rk_index_push_enum(&p->fields, RK_INDEX_FIELD_DX_LEVEL, q->dx_level);
    rc |= rk_index_push_enum(&p->fields, RK_INDEX_FIELD_SKILL, q->skill);
    rc |= rk_index_push_enum(&p->fields, RK_INDEX_FIELD_AUDIENCE, q->audience);
    if (q->author)
        rc |= rk_index_push_field(&p->fields, RK_INDEX_FIELD_AUTHOR, q->author, RK_KEY_LEN);
    rk_index_prefixes tokens = {0};
    if (rc == 0 && q->q && q->q[0]) {
        char *norm = rk_text_normalize(q->q, strlen(q->q));
        if (!norm) {
            rk_index_prefixes_free(&tokens);
            return rk_fail(err, "invalid_query", "q", "the query is not valid UTF-8");
        }
        rc |= split_terms(p, norm);
        for (size_t i = 0; rc == 0 && i < p->n_terms; i++)
            rc |= rk_index_term_tokens(p->terms[i], &tokens);
        free(norm);
    }
    if (rc != 0) {
        rk_index_prefixes_free(&tokens);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    /* A filter the query names but no record has (say kind = tombstone) matches nothing. */
    if (q->kind < 0 || q->kind > 255 || q->kind == RENKEI__KIND__KIND_TOMBSTONE ||
        (q->prefecture[0] && strlen(q->prefecture) != 2))
        p->empty = true;
    p->driver.b[0] = RK_INDEX_TAG_ALL;
    p->driver.len = 1;
    MDB_cursor *tc = NULL;
    if (tokens.n && !p->empty) {
        int mrc = mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_TOKENS), &tc);
        if (mrc != 0) {
            rk_index_prefixes_free(&tokens);
            return rk_txn_fail(t, mrc, "opening a cursor", err);
        }
    }
    uint64_t best = UINT64_MAX;
    int result = 0;
    /* A token list holds the indexed records only; every pending record is a candidate as well. */
    size_t pending = 0;
    if (tc && rk_index_pending_count(t, txn, &pending, err) != 0)
        result = -1;
    for (int pass = 0; result == 0 && pass < 2 && !p->empty; pass++) {
        const rk_index_prefixes *l = pass ? &tokens : &p->fields;
        for (size_t i = 0; i < l->n; i++) {
            uint64_t n = 0;
            if ((pass ? rk_postings_count(t, tc, l->v[i].b, l->v[i].len, &n, err)
                      : rk_index_count(t, txn, &l->v[i], &n, err)) != 0) {
                result = -1;
                break;
            }
            if (pass)
                n += pending;
            if (n == 0)
                p->empty = true;
            if (n < best) {
                best = n;
                p->driver = l->v[i];
                p->driver_token = pass == 1;
            }
        }
    }
    if (tc)
        mdb_cursor_close(tc);
    rk_index_prefixes_free(&tokens);
    return result;
}

/* Whether the loaded record contains every full-text term (filters were checked in the index). */
static bool record_matches(const rk_record *rec, const query_plan *p, bool *oom)
{
    const Renkei__Record *m = rec->msg;
    if (m->kind == RENKEI__KIND__KIND_TOMBSTONE)
        return false;
    if (p->n_terms) {
        char *norm = rk_rectokens_text(m);
        if (!norm) {
            *oom = true;
            return false;
        }
        bool all = true;
        for (size_t i = 0; all && i < p->n_terms; i++)
            all = strstr(norm, p->terms[i]) != NULL;
        free(norm);
        return all;
    }
    return true;
}

/* A query without a kind lists cases, events and region profiles (docs/api.md); membership records
 * are in the index too, for the roster's lookups by their kind. */
static bool kind_listed(const rk_query *q, int kind)
{
    return q->kind != 0 || (kind >= RENKEI__KIND__KIND_CASE && kind <= RENKEI__KIND__KIND_REGION);
}

static int effective_max_visibility(int v)
{
    return v > 0 ? v : RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
}

/* One page of a query: the state shared by both kinds of posting list. */
typedef struct query_walk {
    rk_txn *t;
    MDB_txn *txn;
    MDB_dbi indexes;
    const rk_query *q;
    const query_plan *plan;
    rk_record_cb cb;
    void *ctx;
    char *next_cursor;
    int max_vis;
    bool has_cursor;
    uint8_t after[RK_SORT_KEY_LEN];
    uint8_t last[RK_SORT_KEY_LEN];
    size_t emitted;
    MDB_cursor *probe_c;       /* on "indexes", for the probes */
    rk_postings_list *lists;   /* the filter lists of plan->fields */
    rk_postings_probe *probes; /* one per filter, empty (valid false) at first */
} query_walk;

/* 1 if the record seq (0: not known yet) with sort key sk is in the posting list of every filter but
 * the one walked, 0 if not, -1 on error. The lookups replace loading and unpacking the records a
 * filter rejects, which were most of a filtered list's cost; records come in sort-key order, so most
 * fall in the block the previous one did. */
static int walk_in_filters(query_walk *w, uint64_t seq, const uint8_t *sk, rk_error *err)
{
    const query_plan *p = w->plan;
    for (size_t i = 0; i < p->fields.n; i++) {
        const rk_index_prefix *f = &p->fields.v[i];
        if (!p->driver_token && f->len == p->driver.len && memcmp(f->b, p->driver.b, f->len) == 0)
            continue;
        if (seq == 0) {
            int found = rk_records_seq(w->t, sk + 8, &seq, err);
            if (found <= 0)
                return found < 0 ? -1 : rk_fail(err, "store_corrupt", "", "an indexed record has no envelope");
        }
        int in = rk_postings_contains(&w->probes[i], w->t, w->probe_c, &w->lists[i], seq, sk, err);
        if (in <= 0)
            return in;
    }
    return 1;
}

/* Ends the page before the record with sort key sk when the limit is reached: it is one more match,
 * so the caller gets a cursor. */
static bool walk_page_full(query_walk *w)
{
    if (!w->q->limit || w->emitted != w->q->limit)
        return false;
    rk_hex_encode(w->last, sizeof w->last, w->next_cursor);
    return true;
}

/* A match passed on (served by its hash or by the record callback; stop is that callback's answer):
 * 0 go on, 1 the page is complete. */
static int walk_emitted(query_walk *w, const uint8_t *sk, int stop)
{
    w->emitted++;
    memcpy(w->last, sk, sizeof w->last);
    if (stop) {
        rk_hex_encode(w->last, sizeof w->last, w->next_cursor);
        return 1;
    }
    return 0;
}

/* One posting (its sequence number or 0 when not known, sort key, and kind and visibility) in
 * sort-key order. 0 go on, 1 the page is complete, -1 error. */
static int walk_visit(query_walk *w, uint64_t seq, const uint8_t *sk, const MDB_val *v, rk_error *err)
{
    if (w->has_cursor && memcmp(sk, w->after, RK_SORT_KEY_LEN) <= 0)
        return 0;
    bool vis_known = v->mv_size == 2;
    if (vis_known &&
        (((const uint8_t *)v->mv_data)[1] > w->max_vis || !kind_listed(w->q, ((const uint8_t *)v->mv_data)[0])))
        return 0;
    int in = walk_in_filters(w, seq, sk, err);
    if (in <= 0)
        return in;
    if (w->q->cached && vis_known && w->plan->n_terms == 0) {
        /* The index holds exactly the current, live records' fields, so this is a match: the caller
         * may serve it by its hash without the record being read and unpacked. */
        if (walk_page_full(w))
            return 1;
        int got = w->q->cached(sk + 8, w->max_vis, w->ctx);
        if (got < 0)
            return 1;
        if (got > 0)
            return walk_emitted(w, sk, 0);
    }
    rk_record rec;
    if ((seq ? rk_records_load_seq(w->t, seq, sk + 8, &rec, err) : rk_store_load(w->t, sk + 8, &rec, err)) != 0)
        return -1;
    bool oom = false;
    bool match = (int)rec.msg->visibility <= w->max_vis && kind_listed(w->q, (int)rec.msg->kind) &&
                 record_matches(&rec, w->plan, &oom);
    if (oom) {
        rk_record_free(&rec);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    if (!match || walk_page_full(w)) {
        rk_record_free(&rec);
        return match;
    }
    int stop = w->cb(&rec, w->ctx);
    rk_record_free(&rec);
    return walk_emitted(w, sk, stop);
}

/* Walks a filter's posting list in "indexes" (lib/postings.h): entries the reader may not see are
 * passed over by the visibility they carry, the others resolved to their sort keys. */
static int walk_prefix(query_walk *w, MDB_cursor *c, rk_error *err)
{
    const rk_index_prefix *d = &w->plan->driver;
    rk_postings_list l;
    if (!rk_postings_filter_list(&l, d->b, d->len))
        return 0;
    rk_postings_walk *pwk = malloc(sizeof *pwk);
    if (!pwk)
        return rk_fail(err, "no_memory", "", "out of memory");
    int rc = rk_postings_list_walk_start(pwk, w->t, c, &l, w->has_cursor ? w->after : NULL, err);
    uint64_t seq;
    uint8_t vis;
    while (rc == 0 && (rc = rk_postings_walk_entry(pwk, &seq, &vis, err)) == 1) {
        rc = 0;
        if (vis > w->max_vis)
            continue;
        rk_posting p;
        const rk_posting *resolved = rk_postings_walk_resolved(pwk);
        int found = resolved ? (p = *resolved, 1) : rk_postings_resolve(w->t, seq, &p, err);
        if (found <= 0) {
            rc = found < 0 ? -1 : rk_fail(err, "store_corrupt", "", "a posting names a missing change");
            break;
        }
        uint8_t kv[2] = {p.kind, p.visibility};
        MDB_val v = {.mv_size = sizeof kv, .mv_data = kv};
        rc = walk_visit(w, seq, p.sk, &v, err);
    }
    free(pwk);
    return rc < 0 ? -1 : 0;
}

/* The records of "pending" in sort-key order: candidates of every full-text query, merged with the
 * postings of the token list walked. */
typedef struct pending_walk {
    MDB_cursor *c;
    MDB_val k, v;
    int rc; /* 0 while k is a pending sort key */
} pending_walk;

static int pending_next(pending_walk *p, MDB_cursor_op op)
{
    p->rc = mdb_cursor_get(p->c, &p->k, &p->v, op);
    while (p->rc == 0 && p->k.mv_size != RK_SORT_KEY_LEN)
        p->rc = mdb_cursor_get(p->c, &p->k, &p->v, MDB_NEXT);
    return p->rc == 0 || p->rc == MDB_NOTFOUND ? 0 : p->rc;
}

/* Visits the pending records that sort before sk (all of them when sk is NULL); one equal to sk is
 * passed over, as the caller visits it. 0 go on, 1 the page is complete, -1 error. */
static int pending_visit_before(query_walk *w, pending_walk *p, const uint8_t *sk, rk_error *err)
{
    while (p->rc == 0) {
        int c = sk ? memcmp(p->k.mv_data, sk, RK_SORT_KEY_LEN) : -1;
        if (c > 0)
            return 0;
        if (c < 0) {
            int r = walk_visit(w, 0, p->k.mv_data, &p->v, err);
            if (r != 0)
                return r;
        }
        int mrc = pending_next(p, MDB_NEXT);
        if (mrc != 0)
            return rk_txn_fail(w->t, mrc, "reading the pending full-text list", err);
    }
    return 0;
}

/* Walks a token's postings (lib/postings.h: newest first, each resolved to its sort key, kind and
 * visibility) and merges in the pending records in the same order. */
static int walk_token(query_walk *w, MDB_cursor *tc, MDB_cursor *pc, rk_error *err)
{
    const rk_index_prefix *d = &w->plan->driver;
    pending_walk pw = {.c = pc};
    int prc;
    if (w->has_cursor) {
        pw.k.mv_size = RK_SORT_KEY_LEN;
        pw.k.mv_data = w->after;
        prc = pending_next(&pw, MDB_SET_RANGE);
    } else {
        prc = pending_next(&pw, MDB_FIRST);
    }
    if (prc != 0)
        return rk_txn_fail(w->t, prc, "reading the pending full-text list", err);
    rk_postings_walk *pwk = malloc(sizeof *pwk);
    if (!pwk)
        return rk_fail(err, "no_memory", "", "out of memory");
    int rc = rk_postings_walk_start(pwk, w->t, tc, d->b, d->len, w->has_cursor ? w->after : NULL, err);
    rk_posting p;
    while (rc == 0 && (rc = rk_postings_walk_next(pwk, &p, err)) == 1) {
        uint8_t kv[2] = {p.kind, p.visibility};
        MDB_val v = {.mv_size = sizeof kv, .mv_data = kv};
        rc = pending_visit_before(w, &pw, p.sk, err);
        if (rc == 0)
            rc = walk_visit(w, p.seq, p.sk, &v, err);
    }
    free(pwk);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return 0; /* the page is complete */
    return pending_visit_before(w, &pw, NULL, err) < 0 ? -1 : 0;
}

int rk_store_query(rk_txn *t, const rk_query *q, rk_record_cb cb, void *ctx, char next_cursor[RK_CURSOR_MAX],
                   rk_error *err)
{
    next_cursor[0] = '\0';
    uint8_t after[RK_SORT_KEY_LEN] = {0};
    bool has_cursor = q->cursor && q->cursor[0];
    if (has_cursor && (strlen(q->cursor) != 2 * RK_SORT_KEY_LEN || rk_hex_decode(q->cursor, after, sizeof after) != 0))
        return rk_fail(err, "invalid_cursor", "cursor", "the cursor is not one this node returned");
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    query_plan plan;
    if (plan_query(t, txn, q, &plan, err) != 0) {
        plan_free(&plan);
        return -1;
    }
    if (plan.empty) {
        plan_free(&plan);
        return 0;
    }
    query_walk w = {.t = t,
                    .txn = txn,
                    .indexes = rk_txn_dbi(t, RK_DB_INDEXES),
                    .q = q,
                    .plan = &plan,
                    .cb = cb,
                    .ctx = ctx,
                    .next_cursor = next_cursor,
                    .max_vis = effective_max_visibility(q->max_visibility),
                    .has_cursor = has_cursor};
    memcpy(w.after, after, sizeof after);
    w.lists = calloc(plan.fields.n ? plan.fields.n : 1, sizeof *w.lists);
    /* Not zeroed: a probe of kilobytes is empty as soon as it is marked so. */
    w.probes = malloc((plan.fields.n ? plan.fields.n : 1) * sizeof *w.probes);
    if (!w.lists || !w.probes) {
        free(w.lists);
        free(w.probes);
        plan_free(&plan);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    for (size_t i = 0; i < plan.fields.n; i++) {
        rk_postings_filter_list(&w.lists[i], plan.fields.v[i].b, plan.fields.v[i].len);
        w.probes[i].valid = false;
    }
    MDB_cursor *c = NULL, *tc = NULL, *pc = NULL;
    int rc = mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_INDEXES), &c);
    if (rc == 0) {
        rc = mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_INDEXES), &w.probe_c);
        if (rc != 0)
            mdb_cursor_close(c);
    }
    if (rc == 0 && plan.driver_token) {
        rc = mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_TOKENS), &tc);
        if (rc == 0) {
            rc = mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_PENDING), &pc);
            if (rc != 0)
                mdb_cursor_close(tc);
        }
        if (rc != 0) {
            mdb_cursor_close(w.probe_c);
            mdb_cursor_close(c);
        }
    }
    if (rc != 0) {
        free(w.lists);
        free(w.probes);
        plan_free(&plan);
        return rk_txn_fail(t, rc, "opening a cursor", err);
    }
    int result = plan.driver_token ? walk_token(&w, tc, pc, err) : walk_prefix(&w, c, err);
    if (pc)
        mdb_cursor_close(pc);
    if (tc)
        mdb_cursor_close(tc);
    mdb_cursor_close(w.probe_c);
    mdb_cursor_close(c);
    free(w.lists);
    free(w.probes);
    plan_free(&plan);
    return result;
}

static bool event_visible(const uint8_t *val, const rk_event_query *q, int max_vis)
{
    if (val[8] > max_vis)
        return false;
    if (q->format && val[9] != q->format)
        return false;
    if (q->open_scope && val[10] != q->open_scope)
        return false;
    if (q->prefecture[0] && (val[11] != (uint8_t)q->prefecture[0] || val[12] != (uint8_t)q->prefecture[1]))
        return false;
    return true;
}

int rk_store_events(rk_txn *t, const rk_event_query *q, rk_record_cb cb, void *ctx, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    if (q->to < q->from)
        return 0;
    MDB_dbi dbi = rk_txn_dbi(t, RK_DB_INDEXES);
    uint8_t mk[1] = {RK_INDEX_TAG_MAX_DURATION};
    MDB_val k = {.mv_size = 1, .mv_data = mk}, v;
    uint64_t longest = 0;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0 && v.mv_size == 8)
        longest = rk_get_be64(v.mv_data);
    else if (rc != 0 && rc != MDB_NOTFOUND)
        return rk_txn_fail(t, rc, "reading the event index", err);
    /* Events starting before from - longest cannot reach from. */
    int64_t earliest = q->from;
    if (longest > (uint64_t)INT64_MAX || q->from < INT64_MIN + (int64_t)longest)
        earliest = INT64_MIN;
    else
        earliest = q->from - (int64_t)longest;
    int max_vis = effective_max_visibility(q->max_visibility);
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, dbi, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    uint8_t start[1 + 8];
    start[0] = RK_INDEX_TAG_EVENT;
    rk_put_be64(start + 1, rk_index_time_key(earliest));
    k.mv_size = sizeof start;
    k.mv_data = start;
    size_t emitted = 0;
    int result = 0;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size != RK_INDEX_EVENT_KEY_LEN || kb[0] != RK_INDEX_TAG_EVENT)
            break;
        if (rk_index_time_of(rk_get_be64(kb + 1)) > q->to)
            break;
        if (v.mv_size != RK_INDEX_EVENT_VAL_LEN)
            continue;
        const uint8_t *val = v.mv_data;
        if (rk_index_time_of(rk_get_be64(val)) < q->from || !event_visible(val, q, max_vis))
            continue;
        if (q->limit && emitted == q->limit)
            break;
        if (q->cached) {
            /* the value states everything the filters ask, so an event served by its hash needs no load */
            int got = q->cached(kb + 9, max_vis, ctx);
            if (got < 0)
                break;
            if (got > 0) {
                emitted++;
                continue;
            }
        }
        rk_record rec;
        if (rk_store_load(t, kb + 9, &rec, err) != 0) {
            result = -1;
            break;
        }
        int stop = cb(&rec, ctx);
        rk_record_free(&rec);
        emitted++;
        if (stop)
            break;
    }
    if (result == 0 && rc != 0 && rc != MDB_NOTFOUND)
        result = rk_txn_fail(t, rc, "reading the event index", err);
    mdb_cursor_close(c);
    return result;
}
