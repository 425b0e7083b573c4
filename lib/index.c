/* index: keeps the secondary, event-date and full-text indexes of the store in step with its
 * current records (key formats in index.h and docs/storage.md); lib/query.c reads them.
 *
 * Every filterable value of a record is a posting list in "indexes" ('a' for every record, 'f' ||
 * field || value), kept compact by lib/postings.c like the token lists, each entry carrying the
 * record's visibility, and its last block the list's document count. Every distinct token
 * of the normalised text is a posting list in "tokens", kept compact by lib/postings.c (the records'
 * change sequence numbers, delta-coded in blocks, in sort-key order). A new record's tokens are not
 * written at once: its sort key goes into "pending", and when RK_INDEX_PENDING_MAX records wait there,
 * the put that reaches that number writes all their postings token by token, so each token's last
 * block is rewritten once per batch instead of once per group commit. A record's tokens are the ones
 * offered when it was put (computed outside the writer thread, lib/rectokens.h), or computed from the
 * stored record here by the same function. Queries check a record's other filters in these posting
 * lists, and its full-text terms in rk_rectokens_text, the text its tokens come from, so query and
 * index cannot disagree.
 */
#include "index.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "grow.h"
#include "latefilters.h"
#include "records.h"
#include "rectokens.h"
#include "text.h"

#define TAG_FIELD 'f'

_Static_assert(RK_RECTOKENS_TOKEN_MAX == RK_INDEX_TOKEN_MAX, "a record's tokens are the ones \"tokens\" lists");

void rk_index_prefixes_free(rk_index_prefixes *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

int rk_index_prefixes_push(rk_index_prefixes *l, const uint8_t *b, size_t len)
{
    if (len > RK_INDEX_PREFIX_MAX)
        return 0;
    rk_index_prefix *v = rk_grow(l->v, &l->cap, l->n + 1, sizeof *v);
    if (!v)
        return -1;
    l->v = v;
    memcpy(l->v[l->n].b, b, len);
    l->v[l->n].len = len;
    l->n++;
    return 0;
}

static int prefix_cmp(const void *a, const void *b)
{
    const rk_index_prefix *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->b, y->b, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Sorts and removes duplicates, so a value listed twice is one posting. */
static void prefixes_unique(rk_index_prefixes *l)
{
    if (l->n < 2)
        return;
    qsort(l->v, l->n, sizeof *l->v, prefix_cmp);
    size_t w = 1;
    for (size_t r = 1; r < l->n; r++)
        if (prefix_cmp(&l->v[r], &l->v[w - 1]) != 0)
            l->v[w++] = l->v[r];
    l->n = w;
}

static void field_prefix(rk_index_prefix *p, uint8_t field, const void *value, size_t len)
{
    p->b[0] = TAG_FIELD;
    p->b[1] = field;
    memcpy(p->b + 2, value, len);
    p->len = 2 + len;
}

int rk_index_push_field(rk_index_prefixes *l, uint8_t field, const void *value, size_t len)
{
    rk_index_prefix p;
    field_prefix(&p, field, value, len);
    return rk_index_prefixes_push(l, p.b, p.len);
}

int rk_index_push_enum(rk_index_prefixes *l, uint8_t field, int value)
{
    if (value <= 0 || value > 255)
        return 0; /* unspecified, or a value from a newer schema: not filterable */
    uint8_t b = (uint8_t)value;
    return rk_index_push_field(l, field, &b, 1);
}

int rk_index_push_prefecture(rk_index_prefixes *l, const char *pref)
{
    if (!pref || strlen(pref) != 2)
        return 0;
    return rk_index_push_field(l, RK_INDEX_FIELD_PREFECTURE, pref, 2);
}

/* The filterable values of a record, one posting-list prefix each. */
int rk_index_record_fields(const Renkei__Record *m, rk_index_prefixes *l)
{
    int rc = rk_index_push_enum(l, RK_INDEX_FIELD_KIND, m->kind);
    if (m->author.len == RK_KEY_LEN)
        rc |= rk_index_push_field(l, RK_INDEX_FIELD_AUTHOR, m->author.data, RK_KEY_LEN);
    switch (m->body_case) {
    case RENKEI__RECORD__BODY_CASE: {
        const Renkei__Case *c = m->case_;
        rc |= rk_index_push_prefecture(l, c->prefecture);
        rc |= rk_index_push_enum(l, RK_INDEX_FIELD_INDUSTRY, c->industry);
        rc |= rk_index_push_enum(l, RK_INDEX_FIELD_DX_LEVEL, c->dx_level);
        for (size_t i = 0; i < c->n_skills; i++)
            rc |= rk_index_push_enum(l, RK_INDEX_FIELD_SKILL, c->skills[i]);
        for (size_t i = 0; i < c->n_target_layers; i++)
            rc |= rk_index_push_enum(l, RK_INDEX_FIELD_AUDIENCE, c->target_layers[i]);
        break;
    }
    case RENKEI__RECORD__BODY_EVENT: {
        const Renkei__Event *e = m->event;
        rc |= rk_index_push_prefecture(l, e->prefecture);
        for (size_t i = 0; i < e->n_skills; i++)
            rc |= rk_index_push_enum(l, RK_INDEX_FIELD_SKILL, e->skills[i]);
        for (size_t i = 0; i < e->n_audience; i++)
            rc |= rk_index_push_enum(l, RK_INDEX_FIELD_AUDIENCE, e->audience[i]);
        break;
    }
    case RENKEI__RECORD__BODY_REGION: {
        const Renkei__RegionProfile *r = m->region;
        rc |= rk_index_push_prefecture(l, r->prefecture);
        for (size_t i = 0; i < r->n_key_industries; i++)
            rc |= rk_index_push_enum(l, RK_INDEX_FIELD_INDUSTRY, r->key_industries[i]);
        break;
    }
    default: break;
    }
    if (rc == 0)
        prefixes_unique(l);
    return rc ? -1 : 0;
}

/* ---- query terms ------------------------------------------------------------------------------- */

static int collect_token(const char *tok, size_t len, void *ctx)
{
    if (len == 0 || len > RK_INDEX_TOKEN_MAX)
        return 0;
    return rk_index_prefixes_push(ctx, (const uint8_t *)tok, len); /* the whole key in "tokens" */
}

int rk_index_term_tokens(const char *norm, rk_index_prefixes *l)
{
    return rk_text_tokens(norm, collect_token, l);
}

/* ---- posting lists ------------------------------------------------------------------------------- */

void rk_index_sort_key(const rk_record *rec, uint8_t out[RK_SORT_KEY_LEN])
{
    rk_put_be64(out, ~rec->msg->version);
    memcpy(out + 8, rec->hash, RK_HASH_LEN);
}

int rk_index_count(rk_txn *t, MDB_txn *txn, const rk_index_prefix *p, uint64_t *n, rk_error *err)
{
    *n = 0;
    rk_postings_list l;
    if (!rk_postings_filter_list(&l, p->b, p->len))
        return 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_INDEXES), &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    rc = rk_postings_list_count(t, c, &l, n, err);
    rk_txn_cursor_close(t, c);
    return rc;
}

/* The visibility a filter posting carries: values above the attribute's range (from a newer schema)
 * are kept as the highest, so a walk never passes over a record a reader may see; the loaded record's
 * own visibility is checked again. */
static uint8_t posting_visibility(int v)
{
    return v >= 0 && v <= RK_POSTINGS_ATTR_MAX ? (uint8_t)v : RK_POSTINGS_ATTR_MAX;
}

/* Adds (sign > 0) or removes the record seq (sort key sk) in every filter list of lists. */
static int filters_update(rk_txn *t, MDB_txn *txn, const rk_index_prefixes *lists, uint64_t seq,
                          const uint8_t sk[RK_SORT_KEY_LEN], uint8_t visibility, int sign, rk_error *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_INDEXES), &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    rk_posting_new p = {.seq = seq, .sk = sk, .attr = visibility};
    if (sign < 0)
        rk_latefilters_drop(t, seq); /* put earlier in t: its late postings are not written yet */
    for (size_t i = 0; rc == 0 && i < lists->n; i++) {
        rk_postings_list l;
        if (!rk_postings_filter_list(&l, lists->v[i].b, lists->v[i].len))
            continue;
        if (sign < 0) {
            rc = rk_postings_list_remove(t, c, &l, seq, sk, err);
            continue;
        }
        /* A late posting (a record older than the list's last block) waits for t's commit, where
         * each side list takes all of t's at once (lib/latefilters.h); the others are appended now. */
        int late = rk_postings_list_is_late(t, c, &l, sk, err);
        rc = late < 0 ? -1
             : late   ? rk_latefilters_add(t, &l, seq, sk, visibility, err)
                      : rk_postings_list_add(t, c, &l, &p, 1, NULL, NULL, err);
    }
    rk_txn_cursor_close(t, c);
    return rc;
}

/* ---- the event date index ------------------------------------------------------------------------ */

uint64_t rk_index_time_key(int64_t v)
{
    return (uint64_t)v ^ (UINT64_C(1) << 63);
}

int64_t rk_index_time_of(uint64_t v)
{
    return (int64_t)(v ^ (UINT64_C(1) << 63));
}

static bool event_span(const Renkei__Event *e, int64_t *start, int64_t *end)
{
    int off;
    if (!e->starts_at || rk_parse_rfc3339(e->starts_at, start, &off) != 0)
        return false;
    if (!e->ends_at || !e->ends_at[0] || rk_parse_rfc3339(e->ends_at, end, &off) != 0 || *end < *start)
        *end = *start;
    return true;
}

static int event_update(rk_txn *t, MDB_txn *txn, const rk_record *rec, int sign, rk_error *err)
{
    /* body is a oneof: ->event is another body's pointer unless the body is an event */
    const Renkei__Event *e = rec->msg->body_case == RENKEI__RECORD__BODY_EVENT ? rec->msg->event : NULL;
    int64_t start, end;
    if (!e || !event_span(e, &start, &end))
        return 0;
    MDB_dbi dbi = rk_txn_dbi(t, RK_DB_INDEXES);
    uint8_t key[RK_INDEX_EVENT_KEY_LEN], val[RK_INDEX_EVENT_VAL_LEN];
    key[0] = RK_INDEX_TAG_EVENT;
    rk_put_be64(key + 1, rk_index_time_key(start));
    memcpy(key + 9, rec->hash, RK_HASH_LEN);
    MDB_val k = {.mv_size = sizeof key, .mv_data = key};
    int rc;
    if (sign < 0) {
        rc = mdb_del(txn, dbi, &k, NULL);
        return rc == 0 || rc == MDB_NOTFOUND ? 0 : rk_txn_fail(t, rc, "updating the event index", err);
    }
    rk_put_be64(val, rk_index_time_key(end));
    val[8] = (uint8_t)rec->msg->visibility;
    val[9] = (uint8_t)(e->format > 0 && e->format < 256 ? e->format : 0);
    val[10] = (uint8_t)(e->open_scope > 0 && e->open_scope < 256 ? e->open_scope : 0);
    bool has_pref = e->prefecture && strlen(e->prefecture) == 2;
    val[11] = has_pref ? (uint8_t)e->prefecture[0] : 0;
    val[12] = has_pref ? (uint8_t)e->prefecture[1] : 0;
    MDB_val v = {.mv_size = sizeof val, .mv_data = val};
    rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc != 0)
        return rk_txn_fail(t, rc, "updating the event index", err);
    /* The longest duration ever indexed bounds how far before `from` an overlapping event can start.
     * It never shrinks, which only widens a scan, never loses an event. */
    uint8_t mk[1] = {RK_INDEX_TAG_MAX_DURATION}, mv[8];
    MDB_val kk = {.mv_size = 1, .mv_data = mk}, vv;
    uint64_t duration = (uint64_t)(end - start), longest = 0;
    rc = mdb_get(txn, dbi, &kk, &vv);
    if (rc == 0 && vv.mv_size == 8)
        longest = rk_get_be64(vv.mv_data);
    else if (rc != 0 && rc != MDB_NOTFOUND)
        return rk_txn_fail(t, rc, "reading the event index", err);
    if (duration > longest) {
        rk_put_be64(mv, duration);
        vv.mv_size = 8;
        vv.mv_data = mv;
        rc = mdb_put(txn, dbi, &kk, &vv, 0);
        if (rc != 0)
            return rk_txn_fail(t, rc, "updating the event index", err);
    }
    return 0;
}

/* ---- maintenance --------------------------------------------------------------------------------- */

/* Removes the token postings of an indexed record. */
static int tokens_remove(rk_txn *t, MDB_txn *txn, const rk_record *rec, const uint8_t sk[RK_SORT_KEY_LEN],
                         rk_error *err)
{
    uint64_t seq;
    int found = rk_records_seq(t, rec->hash, &seq, err);
    if (found <= 0)
        return found < 0 ? -1 : rk_fail(err, "store_corrupt", "", "an indexed record has no envelope");
    rk_rectokens *tokens = rk_rectokens_of(rec->msg);
    if (!tokens)
        return rk_fail(err, "no_memory", "", "out of memory while indexing a record");
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_TOKENS), &c);
    if (rc != 0) {
        rk_rectokens_free(tokens);
        return rk_txn_fail(t, rc, "opening a cursor", err);
    }
    for (const char *tok = rk_rectokens_next(tokens, NULL); rc == 0 && tok; tok = rk_rectokens_next(tokens, tok))
        rc = rk_postings_remove(t, c, (const uint8_t *)tok, strlen(tok), seq, sk, err);
    rk_txn_cursor_close(t, c);
    rk_rectokens_free(tokens);
    return rc;
}

int rk_index_pending_count(rk_txn *t, MDB_txn *txn, size_t *n, rk_error *err)
{
    MDB_stat st;
    int rc = mdb_stat(txn, rk_txn_dbi(t, RK_DB_PENDING), &st);
    *n = 0;
    if (rc != 0)
        return rk_txn_fail(t, rc, "reading the pending full-text list", err);
    *n = st.ms_entries;
    return 0;
}

static int index_update(rk_txn *t, const rk_record *rec, int sign, rk_error *err)
{
    const Renkei__Record *m = rec->msg;
    if (m->kind == RENKEI__KIND__KIND_TOMBSTONE || m->body_case == RENKEI__RECORD__BODY_TOMBSTONE)
        return 0;
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    uint8_t sk[RK_SORT_KEY_LEN];
    rk_index_sort_key(rec, sk);
    uint8_t val[2] = {(uint8_t)m->kind, (uint8_t)m->visibility};
    /* The record's envelope is stored before its entries are added and removed after they are. */
    uint64_t seq;
    int found = rk_records_seq(t, rec->hash, &seq, err);
    if (found <= 0)
        return found < 0 ? -1 : rk_fail(err, "store_corrupt", "", "an indexed record has no envelope");
    rk_index_prefixes lists = {0};
    uint8_t all = RK_INDEX_TAG_ALL;
    if (rk_index_prefixes_push(&lists, &all, 1) != 0 || rk_index_record_fields(m, &lists) != 0) {
        rk_index_prefixes_free(&lists);
        return rk_fail(err, "no_memory", "", "out of memory while indexing a record");
    }
    prefixes_unique(&lists);
    int rc = filters_update(t, txn, &lists, seq, sk, posting_visibility(m->visibility), sign, err);
    rk_index_prefixes_free(&lists);
    if (rc == 0)
        rc = event_update(t, txn, rec, sign, err);
    if (rc != 0)
        return rc;
    MDB_dbi pdbi = rk_txn_dbi(t, RK_DB_PENDING);
    MDB_val k = {.mv_size = RK_SORT_KEY_LEN, .mv_data = sk};
    if (sign > 0) {
        /* The tokens wait in "pending" until enough records share one pass over "tokens". */
        MDB_val v = {.mv_size = sizeof val, .mv_data = val};
        int mrc = mdb_put(txn, pdbi, &k, &v, 0);
        if (mrc != 0)
            return rk_txn_fail(t, mrc, "listing a record for full-text indexing", err);
        size_t n;
        if (rk_index_pending_count(t, txn, &n, err) != 0)
            return -1;
        return n >= RK_INDEX_PENDING_MAX ? rk_index_flush(t, err) : 0;
    }
    /* A pending record has no token postings: dropping it from the list is the whole removal. */
    int mrc = mdb_del(txn, pdbi, &k, NULL);
    if (mrc == 0)
        return 0;
    if (mrc != MDB_NOTFOUND)
        return rk_txn_fail(t, mrc, "updating the pending full-text list", err);
    return tokens_remove(t, txn, rec, sk, err);
}

int rk_index_add(rk_txn *t, const rk_record *rec, rk_error *err)
{
    return index_update(t, rec, +1, err);
}

int rk_index_remove(rk_txn *t, const rk_record *rec, rk_error *err)
{
    return index_update(t, rec, -1, err);
}

/* ---- batched full-text indexing ------------------------------------------------------------------ */

/* One pending record: its change sequence number and sort key. */
typedef struct flush_record {
    uint64_t seq;
    uint8_t sk[RK_SORT_KEY_LEN];
} flush_record;

/* One posting to write: its record, and the next posting of the same token (a chain in the order
 * the records were added), or UINT32_MAX. */
typedef struct token_posting {
    uint32_t rec;
    uint32_t next;
} token_posting;

/* One distinct token of the batch (pointing into the batch's token sets) and its chain of postings. */
typedef struct token_group {
    const char *tok;
    uint32_t len;
    uint32_t first, last, n;
} token_group;

/* Why postings are grouped by token through a hash table rather than sorted: a batch holds about
 * RK_INDEX_PENDING_MAX times a record's distinct tokens (a hundred thousand postings of a few
 * thousand tokens), and sorting all of them by token took a fifth of the writer's CPU per published
 * record; a lookup per posting and a sort of the distinct tokens give the same runs. */
typedef struct flush_batch {
    flush_record *recs;
    size_t n_recs, cap_recs;
    token_posting *v;
    size_t n, cap;
    token_group *groups;
    size_t n_groups, cap_groups;
    GHashTable *group_of; /* token -> 1 + its index in groups */
    rk_rectokens **sets;  /* each record's tokens, which the groups point into */
    size_t n_sets, cap_sets;
} flush_batch;

static void batch_free(flush_batch *b)
{
    for (size_t i = 0; i < b->n_sets; i++)
        rk_rectokens_free(b->sets[i]);
    if (b->group_of)
        g_hash_table_destroy(b->group_of);
    free(b->sets);
    free(b->recs);
    free(b->v);
    free(b->groups);
    memset(b, 0, sizeof *b);
}

/* Adds the posting of record rec to the chain of token tok. */
static int batch_push(flush_batch *b, const char *tok, uint32_t len, uint32_t rec)
{
    if (b->n >= UINT32_MAX - 1)
        return -1;
    token_posting *v = rk_grow(b->v, &b->cap, b->n + 1, sizeof *v);
    if (!v)
        return -1;
    b->v = v;
    uint32_t i = (uint32_t)b->n;
    size_t g = GPOINTER_TO_SIZE(g_hash_table_lookup(b->group_of, tok));
    if (g == 0) {
        token_group *groups = rk_grow(b->groups, &b->cap_groups, b->n_groups + 1, sizeof *groups);
        if (!groups)
            return -1;
        b->groups = groups;
        b->groups[b->n_groups++] = (token_group){.tok = tok, .len = len, .first = i, .last = i, .n = 0};
        g_hash_table_insert(b->group_of, (gpointer)tok, GSIZE_TO_POINTER(b->n_groups));
        g = b->n_groups;
    } else {
        b->v[b->groups[g - 1].last].next = i;
        b->groups[g - 1].last = i;
    }
    b->groups[g - 1].n++;
    b->v[b->n++] = (token_posting){.rec = rec, .next = UINT32_MAX};
    return 0;
}

/* The order the tokens are written in: byte order, as strcmp sorts them. */
static int token_group_cmp(const void *a, const void *b)
{
    const token_group *x = a, *y = b;
    int c = memcmp(x->tok, y->tok, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The distinct tokens of a pending record: those offered when it was put (rk_rectokens_offer), or,
 * when none were, computed from the stored record by the same function. NULL with err filled. */
static rk_rectokens *pending_tokens(rk_txn *t, const uint8_t hash[RK_HASH_LEN], rk_error *err)
{
    rk_rectokens *tokens = rk_rectokens_take(t, hash);
    if (tokens)
        return tokens;
    rk_record rec;
    if (rk_store_load(t, hash, &rec, err) != 0)
        return NULL;
    tokens = rk_rectokens_of(rec.msg);
    rk_record_free(&rec);
    if (!tokens)
        rk_fail(err, "no_memory", "", "out of memory while indexing a record");
    return tokens;
}

/* Adds one pending record and its distinct tokens to the batch. */
static int batch_add_record(rk_txn *t, flush_batch *b, const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err)
{
    flush_record *recs = rk_grow(b->recs, &b->cap_recs, b->n_recs + 1, sizeof *recs);
    rk_rectokens **sets = recs ? rk_grow(b->sets, &b->cap_sets, b->n_sets + 1, sizeof *sets) : NULL;
    if (recs)
        b->recs = recs;
    if (sets)
        b->sets = sets;
    if (!recs || !sets)
        return rk_fail(err, "no_memory", "", "out of memory while indexing a record");
    flush_record *r = &b->recs[b->n_recs];
    int found = rk_records_seq(t, sk + 8, &r->seq, err);
    if (found <= 0)
        return found < 0 ? -1 : rk_fail(err, "store_corrupt", "", "a pending record has no envelope");
    memcpy(r->sk, sk, RK_SORT_KEY_LEN);
    rk_rectokens *tokens = pending_tokens(t, sk + 8, err);
    if (!tokens)
        return -1;
    b->sets[b->n_sets++] = tokens;
    for (const char *tok = rk_rectokens_next(tokens, NULL); tok; tok = rk_rectokens_next(tokens, tok))
        if (batch_push(b, tok, (uint32_t)strlen(tok), (uint32_t)b->n_recs) != 0)
            return rk_fail(err, "no_memory", "", "out of memory while indexing a record");
    b->n_recs++;
    return 0;
}

/* Writes the batch's postings, one token's run at a time, the tokens in byte order. Records were
 * added in the order of "pending", ascending sort key, so a chain lists its records newest first and
 * is copied backwards: a list's order is oldest first (sort key descending, lib/postings.h). */
static int batch_write(rk_txn *t, flush_batch *b, rk_error *err)
{
    if (b->n_groups > 1)
        qsort(b->groups, b->n_groups, sizeof *b->groups, token_group_cmp);
    /* Records spread over the versions of the lists (a repair's) go to each token's side list, small
     * enough that a batch rewrites few of its blocks, and are merged into the list later in bulk; they
     * are placed by the sort keys of the records around them, mostly the same in each list. */
    rk_postings_runs w;
    if (rk_postings_runs_open(t, RK_DB_TOKENS, b->n_recs, &w, err) != 0)
        return -1;
    int result = 0;
    for (size_t g = 0; result == 0 && g < b->n_groups; g++) {
        const token_group *grp = &b->groups[g];
        size_t m = grp->n;
        for (uint32_t i = grp->first; i != UINT32_MAX; i = b->v[i].next) {
            const flush_record *r = &b->recs[b->v[i].rec];
            w.run[--m] = (rk_posting_new){.seq = r->seq, .sk = r->sk};
        }
        rk_postings_list l;
        if (rk_postings_token_list(&l, (const uint8_t *)grp->tok, grp->len))
            result = rk_postings_list_add_late(t, w.c, &l, w.run, grp->n, w.sks, NULL, err);
    }
    rk_postings_runs_close(t, &w);
    return result;
}

int rk_index_flush(rk_txn *t, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_dbi pdbi = rk_txn_dbi(t, RK_DB_PENDING);
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, pdbi, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor", err);
    flush_batch b = {0};
    b.group_of = g_hash_table_new(g_str_hash, g_str_equal);
    MDB_val k, v;
    int result = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != RK_SORT_KEY_LEN) {
            result = rk_fail(err, "store_corrupt", "", "a pending full-text entry is malformed");
            break;
        }
        if (batch_add_record(t, &b, k.mv_data, err) != 0) {
            result = -1;
            break;
        }
    }
    rk_txn_cursor_close(t, c);
    if (result == 0 && rc != MDB_NOTFOUND)
        result = rk_txn_fail(t, rc, "reading the pending full-text list", err);
    if (result == 0)
        result = batch_write(t, &b, err);
    batch_free(&b);
    /* every pending record was taken: what is left was offered for records not stored */
    rk_rectokens_forget(t);
    if (result != 0)
        return -1;
    rc = mdb_drop(txn, pdbi, 0);
    return rc == 0 ? 0 : rk_txn_fail(t, rc, "emptying the pending full-text list", err);
}

int rk_index_merge_late(rk_txn *t, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn || rk_latefilters_write(t, err) != 0)
        return -1;
    int rc = 0;
    for (int tokens = 0; rc == 0 && tokens < 2; tokens++) {
        MDB_cursor *c;
        rc = mdb_cursor_open(txn, rk_txn_dbi(t, tokens ? RK_DB_TOKENS : RK_DB_INDEXES), &c);
        if (rc != 0)
            return rk_txn_fail(t, rc, "opening a cursor", err);
        rc = rk_postings_merge_all_late(t, c, tokens, NULL, err);
        rk_txn_cursor_close(t, c);
    }
    return rc;
}
