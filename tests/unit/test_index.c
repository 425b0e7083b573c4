/* Tests of lib/index.c and lib/query.c, which reads what index.c writes, through rk_store_query and
 * rk_store_events (one fixture serves both, so they stay together): each filter returns exactly the
 * records a brute-force pass over the test's own table selects, pages cover every record once in
 * newest-first order, full-text search is exact and width/case-insensitive, and the event date index
 * returns overlapping events soonest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <lmdb.h>

#include "fixture.h"
#include "index.h"
#include "query.h"
#include "run_tests.h"
#include "sign.h"
#include "store.h"

#define PUBLIC RENKEI__VISIBILITY__VISIBILITY_PUBLIC
#define NETWORK RENKEI__VISIBILITY__VISIBILITY_NETWORK
#define LOCAL RENKEI__VISIBILITY__VISIBILITY_LOCAL
#define N_RECORDS 64

/* What the test knows about each record it published, independently of the index. */
typedef struct spec {
    char rid[32];
    int author; /* 0 or 1 */
    uint64_t version;
    int kind;
    int vis;
    char prefecture[3];
    int industry, dx_level;
    int skills[2];
    size_t n_skills;
    int audience;
    char title[96];
    int text_class; /* 0 robot, 1..3 AI written three ways, 4..5 neither */
    uint8_t hash[RK_HASH_LEN];
} spec;

typedef struct fixture {
    fx_store s;
    fx_author authors[2];
    spec specs[N_RECORDS];
} fixture;

static const char *const prefectures[3] = {"17", "34", "41"};
/* The titles of text classes 0 to 5 (see spec.text_class). */
static const char *const title_forms[6] = {"ロボット導入事例", "ＡＩ活用の取組", "ai による需要予測",
                                           "AI camera pilot",  "一般的な研修",   "展示会の報告"};

static void seal_spec(fixture *f, const spec *s, rk_record *out)
{
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Case c = RENKEI__CASE__INIT;
    Renkei__Event e = RENKEI__EVENT__INIT;
    Renkei__RegionProfile g = RENKEI__REGION_PROFILE__INIT;
    Renkei__Skill skills[2];
    Renkei__Audience audience[1] = {(Renkei__Audience)s->audience};
    Renkei__Industry industries[1] = {(Renkei__Industry)s->industry};
    for (size_t i = 0; i < s->n_skills; i++)
        skills[i] = (Renkei__Skill)s->skills[i];
    r.kind = s->kind;
    if (s->kind == RENKEI__KIND__KIND_CASE) {
        r.body_case = RENKEI__RECORD__BODY_CASE;
        r.case_ = &c;
        c.title = (char *)s->title;
        c.summary = "地域の中小企業の取組";
        c.prefecture = (char *)s->prefecture;
        c.industry = s->industry;
        c.dx_level = s->dx_level;
        c.skills = skills;
        c.n_skills = s->n_skills;
        c.target_layers = audience;
        c.n_target_layers = 1;
    } else if (s->kind == RENKEI__KIND__KIND_EVENT) {
        r.body_case = RENKEI__RECORD__BODY_EVENT;
        r.event = &e;
        e.title = (char *)s->title;
        e.event_type = RENKEI__EVENT_TYPE__EVENT_TYPE_SEMINAR;
        e.starts_at = "2024-09-10T13:00:00+09:00";
        e.ends_at = "2024-09-10T16:00:00+09:00";
        e.format = RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE;
        e.prefecture = (char *)s->prefecture;
        e.skills = skills;
        e.n_skills = s->n_skills;
        e.audience = audience;
        e.n_audience = 1;
    } else {
        r.body_case = RENKEI__RECORD__BODY_REGION;
        r.region = &g;
        g.name = (char *)s->title;
        g.node_kind = RENKEI__NODE_KIND__NODE_KIND_REGION;
        g.prefecture = (char *)s->prefecture;
        g.key_industries = industries;
        g.n_key_industries = 1;
    }
    fx_seal(&f->authors[s->author], &r, s->rid, s->version, s->vis, out);
}

static void put_all(fixture *f, rk_record *recs, size_t n)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    for (size_t i = 0; i < n; i++) {
        rk_put_result res;
        assert_int_equal(rk_store_put(t, &recs[i], &res, NULL, &err), 0);
        assert_int_equal(res, RK_PUT_STORED);
    }
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

/* Seals specs[0..n), remembering each record's hash in its spec, and stores them in one transaction. */
static void publish(fixture *f, spec *specs, size_t n)
{
    rk_record *recs = calloc(n, sizeof *recs);
    assert_non_null(recs);
    for (size_t i = 0; i < n; i++) {
        seal_spec(f, &specs[i], &recs[i]);
        memcpy(specs[i].hash, recs[i].hash, RK_HASH_LEN);
    }
    put_all(f, recs, n);
    for (size_t i = 0; i < n; i++)
        rk_record_free(&recs[i]);
    free(recs);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fx_store_open(&f->s, "index", 0);
    for (int k = 0; k < 2; k++)
        fx_author_init(&f->authors[k]);
    for (int i = 0; i < N_RECORDS; i++) {
        spec *s = &f->specs[i];
        snprintf(s->rid, sizeof s->rid, "rec-%d", i);
        s->author = i % 2;
        s->version = 1000 + (uint64_t)((i * 37) % N_RECORDS); /* distinct, not in publication order */
        s->kind = i % 4 < 2    ? RENKEI__KIND__KIND_CASE
                  : i % 4 == 2 ? RENKEI__KIND__KIND_EVENT
                               : RENKEI__KIND__KIND_REGION;
        s->vis = i % 7 == 0 ? NETWORK : i % 11 == 0 ? LOCAL : PUBLIC;
        memcpy(s->prefecture, prefectures[(i / 2) % 3], 3);
        s->industry = s->kind == RENKEI__KIND__KIND_EVENT ? 0 : 1 + i % 3;
        s->dx_level = s->kind == RENKEI__KIND__KIND_CASE ? 1 + i % 5 : 0;
        if (s->kind != RENKEI__KIND__KIND_REGION) {
            if (i % 2)
                s->skills[s->n_skills++] = RENKEI__SKILL__SKILL_AI;
            if (i % 3 == 0)
                s->skills[s->n_skills++] = RENKEI__SKILL__SKILL_ROBOTICS;
            s->audience = 1 + i % 4;
        }
        s->text_class = i % 6;
        snprintf(s->title, sizeof s->title, "%s %d", title_forms[s->text_class], i);
    }
    publish(f, f->specs, N_RECORDS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_store_close(&f->s);
    for (int k = 0; k < 2; k++)
        fx_author_free(&f->authors[k]);
    free(f);
    return 0;
}

/* ---- running queries ----------------------------------------------------------------------------- */

#define RESULTS_MAX 2048
typedef struct results {
    char rids[RESULTS_MAX][32];
    uint64_t versions[RESULTS_MAX];
    size_t n;
} results;

static int collect(const rk_record *rec, void *ctx)
{
    results *r = ctx;
    assert_true(r->n < RESULTS_MAX);
    assert_int_not_equal(rec->msg->kind, RENKEI__KIND__KIND_TOMBSTONE);
    snprintf(r->rids[r->n], sizeof r->rids[r->n], "%s", rec->msg->rid);
    r->versions[r->n] = rec->msg->version;
    r->n++;
    return 0;
}

/* Runs the query page by page with the given limit; checks newest-first order and no repeats. */
static void run_query(fixture *f, rk_query q, size_t limit, results *out)
{
    memset(out, 0, sizeof *out);
    char cursor[RK_CURSOR_MAX] = "";
    rk_error err;
    q.limit = limit;
    for (int page = 0; page < 300; page++) {
        rk_txn *t = fx_begin(&f->s, false);
        char next[RK_CURSOR_MAX];
        size_t before = out->n;
        q.cursor = cursor[0] ? cursor : NULL;
        assert_int_equal(rk_store_query(t, &q, collect, out, next, &err), 0);
        rk_txn_abort(t);
        if (limit)
            assert_true(out->n - before <= limit);
        if (!next[0])
            break;
        /* a cursor is only returned when another page holds at least one record */
        assert_int_equal(out->n - before, limit);
        memcpy(cursor, next, sizeof cursor);
    }
    for (size_t i = 1; i < out->n; i++)
        assert_true(out->versions[i - 1] > out->versions[i]);
}

typedef bool (*spec_pred)(const spec *s, const void *arg);

static void expect_exactly(fixture *f, const rk_query *q, spec_pred pred, const void *arg, size_t limit)
{
    static results got;
    run_query(f, *q, limit, &got);
    int max_vis = q->max_visibility ? q->max_visibility : PUBLIC;
    size_t want = 0;
    for (int i = 0; i < N_RECORDS; i++) {
        const spec *s = &f->specs[i];
        bool match = s->vis <= max_vis && pred(s, arg);
        bool found = false;
        for (size_t j = 0; j < got.n; j++)
            if (strcmp(got.rids[j], s->rid) == 0)
                found = true;
        if (match != found)
            fail_msg("%s: expected %s, got %s", s->rid, match ? "match" : "no match", found ? "found" : "missing");
        want += match;
    }
    assert_int_equal(got.n, want);
}

static bool pred_all(const spec *s, const void *arg)
{
    (void)s;
    (void)arg;
    return true;
}

static bool pred_kind(const spec *s, const void *arg)
{
    return s->kind == *(const int *)arg;
}

static bool pred_prefecture(const spec *s, const void *arg)
{
    return strcmp(s->prefecture, arg) == 0;
}

static bool pred_industry(const spec *s, const void *arg)
{
    return s->industry == *(const int *)arg;
}

static bool pred_dx(const spec *s, const void *arg)
{
    return s->dx_level == *(const int *)arg;
}

static bool pred_skill(const spec *s, const void *arg)
{
    for (size_t i = 0; i < s->n_skills; i++)
        if (s->skills[i] == *(const int *)arg)
            return true;
    return false;
}

static bool pred_audience(const spec *s, const void *arg)
{
    return s->audience == *(const int *)arg;
}

static bool pred_author(const spec *s, const void *arg)
{
    return s->author == *(const int *)arg;
}

static bool pred_robot(const spec *s, const void *arg)
{
    (void)arg;
    return s->text_class == 0;
}

static bool pred_ai(const spec *s, const void *arg)
{
    (void)arg;
    return s->text_class >= 1 && s->text_class <= 3;
}

static bool pred_text_class(const spec *s, const void *arg)
{
    (void)arg;
    return s->text_class == 2;
}

/* prefecture 17, case, skill AI and text AI all at once */
static bool pred_combined(const spec *s, const void *arg)
{
    int ai = RENKEI__SKILL__SKILL_AI;
    (void)arg;
    return strcmp(s->prefecture, "17") == 0 && s->kind == RENKEI__KIND__KIND_CASE && pred_skill(s, &ai) &&
           pred_ai(s, NULL);
}

static void test_every_filter(void **state)
{
    fixture *f = *state;
    rk_query base = {.max_visibility = LOCAL};
    expect_exactly(f, &base, pred_all, NULL, 0);
    for (int kind = 1; kind <= 3; kind++) {
        rk_query q = base;
        q.kind = kind;
        expect_exactly(f, &q, pred_kind, &kind, 0);
    }
    for (int p = 0; p < 3; p++) {
        rk_query q = base;
        memcpy(q.prefecture, prefectures[p], 3);
        expect_exactly(f, &q, pred_prefecture, prefectures[p], 0);
    }
    for (int v = 1; v <= 5; v++) {
        rk_query q = base;
        q.industry = v;
        expect_exactly(f, &q, pred_industry, &v, 0);
        q = base;
        q.dx_level = v;
        expect_exactly(f, &q, pred_dx, &v, 0);
        q = base;
        q.audience = v;
        expect_exactly(f, &q, pred_audience, &v, 0);
    }
    int skills[3] = {RENKEI__SKILL__SKILL_AI, RENKEI__SKILL__SKILL_ROBOTICS, RENKEI__SKILL__SKILL_CLOUD};
    for (int i = 0; i < 3; i++) {
        rk_query q = base;
        q.skill = skills[i];
        expect_exactly(f, &q, pred_skill, &skills[i], 0);
    }
    for (int a = 0; a < 2; a++) {
        rk_query q = base;
        q.author = f->authors[a].pub;
        expect_exactly(f, &q, pred_author, &a, 0);
    }
    rk_query q = base;
    memcpy(q.prefecture, "17", 3);
    q.kind = RENKEI__KIND__KIND_CASE;
    q.skill = RENKEI__SKILL__SKILL_AI;
    q.q = "ai";
    expect_exactly(f, &q, pred_combined, NULL, 0);
    expect_exactly(f, &q, pred_combined, NULL, 1);
    /* a filter value nobody has */
    q = base;
    memcpy(q.prefecture, "47", 3);
    results got;
    run_query(f, q, 0, &got);
    assert_int_equal(got.n, 0);
}

/* Two filters at once: one is walked, the other looked up in its own posting list. */
typedef struct pair_arg {
    spec_pred a, b;
    const void *a_arg, *b_arg;
} pair_arg;

static bool pred_pair(const spec *s, const void *arg)
{
    const pair_arg *p = arg;
    return p->a(s, p->a_arg) && p->b(s, p->b_arg);
}

static void expect_pair(fixture *f, const rk_query *q, pair_arg pa)
{
    expect_exactly(f, q, pred_pair, &pa, 0);
    expect_exactly(f, q, pred_pair, &pa, 2); /* pages that end on a record the second filter rejects */
}

static void test_pairs_of_filters(void **state)
{
    fixture *f = *state;
    static const int values[5] = {1, 2, 3, 4, 5}, authors[2] = {0, 1};
    int skills[2] = {RENKEI__SKILL__SKILL_AI, RENKEI__SKILL__SKILL_ROBOTICS};
    rk_query base = {.max_visibility = LOCAL};
    for (int p = 0; p < 3; p++)
        for (int v = 0; v < 3; v++) {
            rk_query q = base;
            memcpy(q.prefecture, prefectures[p], 3);
            q.industry = values[v];
            expect_pair(f, &q, (pair_arg){pred_prefecture, pred_industry, prefectures[p], &values[v]});
        }
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 2; i++) {
            rk_query q = base;
            q.kind = values[k];
            q.skill = skills[i];
            expect_pair(f, &q, (pair_arg){pred_kind, pred_skill, &values[k], &skills[i]});
        }
    for (int a = 0; a < 2; a++)
        for (int d = 0; d < 5; d++) {
            rk_query q = base;
            q.author = f->authors[a].pub;
            q.dx_level = values[d];
            expect_pair(f, &q, (pair_arg){pred_author, pred_dx, &authors[a], &values[d]});
        }
}

static void test_visibility_filter(void **state)
{
    fixture *f = *state;
    rk_query q = {.max_visibility = PUBLIC};
    expect_exactly(f, &q, pred_all, NULL, 0);
    q.max_visibility = NETWORK;
    expect_exactly(f, &q, pred_all, NULL, 7);
    q.max_visibility = 0; /* unset means public only: never leak by default */
    expect_exactly(f, &q, pred_all, NULL, 0);
    q.max_visibility = PUBLIC;
    q.q = "ロボット";
    expect_exactly(f, &q, pred_robot, NULL, 0);
}

static void test_pagination_covers_everything_once(void **state)
{
    fixture *f = *state;
    size_t limits[4] = {1, 5, 7, N_RECORDS};
    for (int i = 0; i < 4; i++) {
        rk_query q = {.max_visibility = LOCAL};
        expect_exactly(f, &q, pred_all, NULL, limits[i]);
        memcpy(q.prefecture, "34", 3);
        expect_exactly(f, &q, pred_prefecture, "34", limits[i]);
        rk_query t = {.max_visibility = LOCAL, .q = "AI"};
        expect_exactly(f, &t, pred_ai, NULL, limits[i]);
    }
    /* a cursor that is not ours is a clear error */
    rk_query q = {.max_visibility = LOCAL, .cursor = "not-a-cursor"};
    char next[RK_CURSOR_MAX];
    results got = {.n = 0};
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    assert_int_equal(rk_store_query(t, &q, collect, &got, next, &err), -1);
    assert_string_equal(err.code, "invalid_cursor");
    rk_txn_abort(t);
}

static void test_full_text(void **state)
{
    fixture *f = *state;
    rk_query q = {.max_visibility = LOCAL, .q = "ロボット"};
    expect_exactly(f, &q, pred_robot, NULL, 0);
    /* full-width, lower and upper case are one search */
    const char *forms[4] = {"ＡＩ", "ai", "AI", "Ai"};
    for (int i = 0; i < 4; i++) {
        q.q = forms[i];
        expect_exactly(f, &q, pred_ai, NULL, 0);
    }
    /* half-width katakana normalises to the full-width form */
    q.q = "ﾛﾎﾞｯﾄ";
    expect_exactly(f, &q, pred_robot, NULL, 0);
    /* exact: every bigram of "ロボ研修" is indexed somewhere, but no record contains the phrase */
    results got;
    q.q = "ロボ研修";
    run_query(f, q, 0, &got);
    assert_int_equal(got.n, 0);
    q.q = "存在しない語";
    run_query(f, q, 0, &got);
    assert_int_equal(got.n, 0);
    /* several terms must all occur */
    q.q = "ai 需要予測";
    run_query(f, q, 0, &got);
    size_t want = 0;
    for (int i = 0; i < N_RECORDS; i++)
        want += f->specs[i].text_class == 2;
    assert_int_equal(got.n, want);
}

static void test_replaced_version_leaves_indexes(void **state)
{
    fixture *f = *state;
    spec s = f->specs[1]; /* a public case in prefecture 17 about ＡＩ */
    assert_string_equal(s.prefecture, "17");
    s.version = 5000;
    memcpy(s.prefecture, "41", 3);
    s.text_class = 0;
    snprintf(s.title, sizeof s.title, "ロボット導入の続報");
    publish(f, &s, 1);
    f->specs[1] = s;
    rk_query q = {.max_visibility = LOCAL};
    memcpy(q.prefecture, "17", 3);
    expect_exactly(f, &q, pred_prefecture, "17", 0);
    memcpy(q.prefecture, "41", 3);
    expect_exactly(f, &q, pred_prefecture, "41", 0);
    /* the old version's postings are gone from the list that is looked up, not only the one walked */
    q.industry = s.industry;
    expect_exactly(f, &q, pred_pair, &(pair_arg){pred_prefecture, pred_industry, "41", &s.industry}, 0);
    memcpy(q.prefecture, "17", 3);
    expect_exactly(f, &q, pred_pair, &(pair_arg){pred_prefecture, pred_industry, "17", &s.industry}, 0);
    rk_query t = {.max_visibility = LOCAL, .q = "ai"};
    expect_exactly(f, &t, pred_ai, NULL, 0);
    t.q = "続報";
    results got;
    run_query(f, t, 0, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.rids[0], "rec-1");
    /* and a tombstone removes it from every index */
    rk_record rec;
    fx_seal_tombstone(&f->authors[s.author], s.rid, 6000, PUBLIC, &rec);
    put_all(f, &rec, 1);
    rk_record_free(&rec);
    run_query(f, t, 0, &got);
    assert_int_equal(got.n, 0);
    t.q = NULL;
    run_query(f, t, 0, &got);
    assert_int_equal(got.n, N_RECORDS - 1);
}

/* Deleting every record empties the full-text postings ("tokens") and every posting list and count
 * of "indexes"; only the never-shrinking longest event duration stays. Read with LMDB directly after
 * the store is closed, so the check does not go through the code it checks. */
static void test_deleted_records_leave_no_postings(void **state)
{
    fixture *f = *state;
    rk_record tombs[N_RECORDS];
    for (int i = 0; i < N_RECORDS; i++) {
        const spec *s = &f->specs[i];
        fx_seal_tombstone(&f->authors[s->author], s->rid, 9000 + (uint64_t)i, PUBLIC, &tombs[i]);
    }
    put_all(f, tombs, N_RECORDS);
    for (int i = 0; i < N_RECORDS; i++)
        rk_record_free(&tombs[i]);
    rk_query q = {.max_visibility = LOCAL, .q = "ロボット"};
    results got;
    run_query(f, q, 0, &got);
    assert_int_equal(got.n, 0);
    rk_store_close(f->s.store);
    f->s.store = NULL;

    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi tokens, indexes;
    MDB_stat st;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, f->s.db, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "tokens", MDB_DUPSORT | MDB_DUPFIXED, &tokens), 0);
    assert_int_equal(mdb_dbi_open(txn, "indexes", 0, &indexes), 0);
    assert_int_equal(mdb_stat(txn, tokens, &st), 0);
    assert_int_equal(st.ms_entries, 0);
    MDB_cursor *c;
    assert_int_equal(mdb_cursor_open(txn, indexes, &c), 0);
    MDB_val k, v;
    size_t n = 0;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        assert_int_equal(k.mv_size, 1);
        assert_int_equal(((const uint8_t *)k.mv_data)[0], 'm');
        n++;
    }
    assert_int_equal(n, 1);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

/* ---- batched full-text indexing ------------------------------------------------------------------ */

/* Like expect_exactly, over any table of current records. */
static void expect_among(fixture *f, const spec *specs, size_t n, const rk_query *q, spec_pred pred, const void *arg,
                         size_t limit)
{
    static results got;
    run_query(f, *q, limit, &got);
    int max_vis = q->max_visibility ? q->max_visibility : PUBLIC;
    size_t want = 0;
    for (size_t i = 0; i < n; i++) {
        const spec *s = &specs[i];
        bool match = s->vis <= max_vis && pred(s, arg);
        size_t found = 0;
        for (size_t j = 0; j < got.n; j++)
            found += strcmp(got.rids[j], s->rid) == 0 && got.versions[j] == s->version;
        if (found != (match ? 1u : 0u))
            fail_msg("%s v%llu: expected %s, found %zu times", s->rid, (unsigned long long)s->version,
                     match ? "match" : "no match", found);
        want += match;
    }
    assert_int_equal(got.n, want);
}

/* Every full-text query of the fixture, one page size after another. */
static void expect_all_text_queries(fixture *f, const spec *specs, size_t n)
{
    size_t limits[4] = {0, 1, 5, 7};
    for (int i = 0; i < 4; i++) {
        rk_query q = {.max_visibility = LOCAL, .q = "ロボット"};
        expect_among(f, specs, n, &q, pred_robot, NULL, limits[i]);
        q.q = "ＡＩ";
        expect_among(f, specs, n, &q, pred_ai, NULL, limits[i]);
        q.max_visibility = PUBLIC;
        q.q = "ai";
        expect_among(f, specs, n, &q, pred_ai, NULL, limits[i]);
        /* a token filter and a field filter together: whichever list drives, the result is the same */
        rk_query c = {
            .max_visibility = LOCAL, .q = "ai", .kind = RENKEI__KIND__KIND_CASE, .skill = RENKEI__SKILL__SKILL_AI};
        memcpy(c.prefecture, "17", 3);
        expect_among(f, specs, n, &c, pred_combined, NULL, limits[i]);
    }
}

static void flush_index(fixture *f)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    assert_int_equal(rk_index_flush(t, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

/* The entries of "pending", and the token postings (each token's list walked with lib/postings.h).
 * Every posting must name one of the given current records (none a replaced or deleted version), each
 * list must come newest first and hold as many postings as its count says. */
static void count_full_text(fixture *f, const spec *specs, size_t n, size_t *pending, size_t *postings)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    MDB_txn *txn = rk_txn_mdb(t, &err);
    assert_non_null(txn);
    MDB_stat st;
    assert_int_equal(mdb_stat(txn, rk_txn_dbi(t, RK_DB_PENDING), &st), 0);
    *pending = st.ms_entries;
    MDB_cursor *c = fx_cursor(t, RK_DB_TOKENS), *wc = fx_cursor(t, RK_DB_TOKENS);
    static rk_postings_walk w;
    /* the tokens walked: a token's side list (its key starts with RK_POSTINGS_SIDE_TAG) comes before
     * every token's blocks, and its walk returns the postings of both lists */
    static uint8_t walked[4096][1 + RK_POSTINGS_TOKEN_MAX];
    size_t n_walked = 0;
    MDB_val k, v;
    *postings = 0;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *key = k.mv_data;
        if (key[0] == RK_POSTINGS_SIDE_TAG)
            key++;
        assert_true(k.mv_size > 1u + key[0]);
        bool seen = false;
        for (size_t i = n_walked; !seen && i-- > 0;)
            seen = memcmp(walked[i], key, 1u + key[0]) == 0;
        if (seen)
            continue; /* another block of a token already walked */
        assert_true(n_walked < 4096);
        memcpy(walked[n_walked++], key, 1u + key[0]);
        uint64_t count;
        assert_int_equal(rk_postings_count(t, wc, key + 1, key[0], &count, &err), 0);
        assert_int_equal(rk_postings_walk_start(&w, t, wc, key + 1, key[0], NULL, &err), 0);
        rk_posting p;
        uint8_t prev[RK_SORT_KEY_LEN] = {0};
        size_t listed = 0;
        int r;
        while ((r = rk_postings_walk_next(&w, &p, &err)) == 1) {
            bool known = false;
            for (size_t i = 0; !known && i < n; i++) {
                uint8_t sk[RK_SORT_KEY_LEN];
                rk_put_be64(sk, ~specs[i].version);
                memcpy(sk + 8, specs[i].hash, RK_HASH_LEN);
                known = specs[i].kind != RENKEI__KIND__KIND_TOMBSTONE && memcmp(sk, p.sk, sizeof sk) == 0;
            }
            if (!known)
                fail_msg("a token posting belongs to no current record");
            if (listed > 0 && memcmp(prev, p.sk, sizeof prev) >= 0)
                fail_msg("a token's postings are out of order");
            memcpy(prev, p.sk, sizeof prev);
            listed++;
        }
        assert_int_equal(r, 0);
        assert_int_equal(listed, count);
        assert_true(listed > 0);
        *postings += listed;
    }
    mdb_cursor_close(wc);
    mdb_cursor_close(c);
    rk_txn_abort(t);
}

/* Republishes the fixture's record i with a new version and the next text class. */
static void republish(fixture *f, int i, uint64_t version)
{
    spec *s = &f->specs[i];
    s->version = version;
    s->text_class = (s->text_class + 1) % 6;
    snprintf(s->title, sizeof s->title, "%s %d 改訂", title_forms[s->text_class], i);
    publish(f, s, 1);
}

static void tombstone(fixture *f, int i, uint64_t version)
{
    spec *s = &f->specs[i];
    rk_record rec;
    fx_seal_tombstone(&f->authors[s->author], s->rid, version, PUBLIC, &rec);
    put_all(f, &rec, 1);
    rk_record_free(&rec);
    s->version = version;
    s->kind = RENKEI__KIND__KIND_TOMBSTONE;
    s->text_class = -1; /* matches no text, and expect_among never finds it */
}

/* The fixture's records are all pending; after a flush all are indexed; records published since are
 * pending again, and queries see both, each record once, newest first, on every page size. */
static void test_pending_and_indexed_records_are_searched(void **state)
{
    fixture *f = *state;
    size_t pending, postings;
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, N_RECORDS);
    assert_int_equal(postings, 0);
    expect_all_text_queries(f, f->specs, N_RECORDS);
    flush_index(f);
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, 0);
    assert_true(postings > 0);
    expect_all_text_queries(f, f->specs, N_RECORDS);
    /* every record replaced (indexed versions give way to pending ones) and indexed again, at even
     * versions; then a third replaced by the next odd version, so pending and indexed records
     * interleave in the result order */
    for (int i = 0; i < N_RECORDS; i++)
        republish(f, i, 2 * f->specs[i].version);
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, N_RECORDS);
    assert_int_equal(postings, 0);
    expect_all_text_queries(f, f->specs, N_RECORDS);
    flush_index(f);
    for (int i = 0; i < N_RECORDS; i += 3)
        republish(f, i, f->specs[i].version + 1);
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, (N_RECORDS + 2) / 3);
    expect_all_text_queries(f, f->specs, N_RECORDS);
    flush_index(f);
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, 0);
    expect_all_text_queries(f, f->specs, N_RECORDS);
}

/* Replacing or deleting a pending record and an indexed one leaves no trace in results, and after a
 * flush none in "tokens". */
static void test_replace_and_delete_pending_and_indexed(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < N_RECORDS; i += 4) /* records still pending */
        republish(f, i, 3000 + (uint64_t)i);
    for (int i = 1; i < N_RECORDS; i += 8)
        tombstone(f, i, 3100 + (uint64_t)i);
    expect_all_text_queries(f, f->specs, N_RECORDS);
    flush_index(f);
    size_t pending, postings;
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, 0);
    for (int i = 2; i < N_RECORDS; i += 4) /* records now indexed */
        republish(f, i, 3200 + (uint64_t)i);
    for (int i = 3; i < N_RECORDS; i += 8)
        tombstone(f, i, 3300 + (uint64_t)i);
    for (int i = 2; i < N_RECORDS; i += 8) /* replaced while pending, a second time */
        republish(f, i, 3400 + (uint64_t)i);
    for (int i = 6; i < N_RECORDS; i += 16) /* deleted while pending */
        tombstone(f, i, 3500 + (uint64_t)i);
    expect_all_text_queries(f, f->specs, N_RECORDS);
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_true(pending > 0);
    flush_index(f);
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, 0);
    expect_all_text_queries(f, f->specs, N_RECORDS);
    /* deleting everything that is left, indexed and pending, empties both */
    for (int i = 0; i < N_RECORDS; i += 5)
        if (f->specs[i].kind != RENKEI__KIND__KIND_TOMBSTONE)
            republish(f, i, 3600 + (uint64_t)i);
    for (int i = 0; i < N_RECORDS; i++)
        if (f->specs[i].kind != RENKEI__KIND__KIND_TOMBSTONE)
            tombstone(f, i, 4000 + (uint64_t)i);
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, 0);
    assert_int_equal(postings, 0);
    expect_all_text_queries(f, f->specs, N_RECORDS);
}

/* Pending records are part of the committed store: after a reopen they are still found, and a later
 * flush indexes them. */
static void test_pending_records_survive_reopen(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < N_RECORDS; i += 2)
        republish(f, i, 5000 + (uint64_t)((i * 37) % N_RECORDS));
    fx_store_reopen(&f->s, 0, false);
    size_t pending, postings;
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, N_RECORDS);
    expect_all_text_queries(f, f->specs, N_RECORDS);
    flush_index(f);
    count_full_text(f, f->specs, N_RECORDS, &pending, &postings);
    assert_int_equal(pending, 0);
    expect_all_text_queries(f, f->specs, N_RECORDS);
}

/* A case record of a bulk: rid prefix-i, one of two authors, a prefecture by turns, a title of text_class. */
static void bulk_spec(spec *s, const char *prefix, size_t i, uint64_t version, int text_class, int vis)
{
    snprintf(s->rid, sizeof s->rid, "%s-%zu", prefix, i);
    s->author = (int)(i % 2);
    s->version = version;
    s->kind = RENKEI__KIND__KIND_CASE;
    s->vis = vis;
    memcpy(s->prefecture, prefectures[i % 3], 3);
    s->industry = 1;
    s->dx_level = 1;
    s->audience = 1;
    s->text_class = text_class;
    snprintf(s->title, sizeof s->title, "%s %s%zu", title_forms[text_class], prefix, i);
}

/* Publishing past RK_INDEX_PENDING_MAX indexes the batch inside rk_store_put, in whichever
 * transaction reaches it; results stay exact across the boundary. */
#define N_BULK (2 * RK_INDEX_PENDING_MAX + 100)
static void test_threshold_flushes_inside_put(void **state)
{
    fixture *f = *state;
    spec *bulk = calloc(N_BULK + N_RECORDS, sizeof *bulk);
    assert_non_null(bulk);
    memcpy(bulk, f->specs, sizeof f->specs);
    size_t pending, postings;
    for (size_t done = 0; done < N_BULK;) {
        size_t n = N_BULK - done < 150 ? N_BULK - done : 150;
        for (size_t j = 0; j < n; j++) {
            size_t i = done + j;
            /* versions distinct and shuffled; few enough matches for one results table */
            bulk_spec(&bulk[N_RECORDS + done + j], "bulk", i, 20000 + (uint64_t)((i * 389) % N_BULK),
                      i % 9 == 0   ? 0
                      : i % 9 == 1 ? 2
                                   : 4,
                      i % 13 == 0 ? NETWORK : PUBLIC);
        }
        publish(f, &bulk[N_RECORDS + done], n);
        done += n;
        count_full_text(f, bulk, N_RECORDS + done, &pending, &postings);
        assert_int_equal(pending, (N_RECORDS + done) % RK_INDEX_PENDING_MAX);
        size_t limits[3] = {0, 9, 50};
        for (int l = 0; l < 3; l++) {
            rk_query q = {.max_visibility = LOCAL, .q = "ロボット"};
            expect_among(f, bulk, N_RECORDS + done, &q, pred_robot, NULL, limits[l]);
            q.q = "需要予測";
            q.max_visibility = PUBLIC;
            bool two = true;
            expect_among(f, bulk, N_RECORDS + done, &q, pred_text_class, &two, limits[l]);
        }
    }
    assert_true(postings > 0);
    free(bulk);
}

/* ---- late records --------------------------------------------------------------------------------- */

/* The keys of side lists in "tokens", or in "indexes" (the filter lists'). */
static size_t side_keys(fixture *f, rk_db db)
{
    rk_txn *t = fx_begin(&f->s, false);
    MDB_cursor *c = fx_cursor(t, db);
    uint8_t tag = RK_POSTINGS_SIDE_TAG;
    MDB_val k = {.mv_size = 1, .mv_data = &tag}, v;
    size_t n = 0;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && ((const uint8_t *)k.mv_data)[0] == tag;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        n++;
    mdb_cursor_close(c);
    rk_txn_abort(t);
    return n;
}

static bool pred_live_in(const spec *s, const void *arg)
{
    return s->kind != RENKEI__KIND__KIND_TOMBSTONE && pred_prefecture(s, arg);
}

static bool pred_robot_in(const spec *s, const void *arg)
{
    return pred_robot(s, NULL) && pred_live_in(s, arg);
}

/* Text alone (a token list drives), a filter alone (a filter list drives) and both (the filter's
 * list probed for the token's records, or the reverse). */
static void expect_late_queries(fixture *f, const spec *specs, size_t n)
{
    size_t limits[3] = {0, 7, 60};
    for (int l = 0; l < 3; l++) {
        rk_query q = {.max_visibility = LOCAL, .q = "ロボット"};
        expect_among(f, specs, n, &q, pred_robot, NULL, limits[l]);
        memcpy(q.prefecture, "34", 3);
        expect_among(f, specs, n, &q, pred_robot_in, "34", limits[l]);
        q.q = NULL;
        expect_among(f, specs, n, &q, pred_live_in, "34", limits[l]);
        memset(q.prefecture, 0, sizeof q.prefecture);
        q.q = "需要予測";
        q.max_visibility = PUBLIC;
        bool two = true;
        expect_among(f, specs, n, &q, pred_text_class, &two, limits[l]);
    }
}

#define N_BASE 1000
/* The fixture's records in all[0..N_RECORDS), then N_BASE more published in version order, so that
 * their lists are appended and several blocks long, and all indexed; returns how many. */
static size_t publish_base(fixture *f, spec *all)
{
    memcpy(all, f->specs, sizeof f->specs);
    for (size_t i = 0; i < N_BASE; i++)
        bulk_spec(&all[N_RECORDS + i], "base", i, 100000 + 10 * (uint64_t)i, i % 5 == 0 ? 2 : 0,
                  i % 11 ? PUBLIC : NETWORK);
    for (size_t i = 0; i < N_BASE; i += 100)
        publish(f, &all[N_RECORDS + i], 100);
    flush_index(f);
    return N_RECORDS + N_BASE;
}

/* A repair's records arrive older than most of each token list they join: their postings go to the
 * tokens' side lists (lib/postings.h), where every query finds them, newest first and on every page
 * size, also after a reopen and after some are replaced or deleted; merging the side lists into the
 * lists empties them and changes no result and no posting. If queries did not read the side lists,
 * the late records would be missing; if the merge did not run, side keys would remain. */
#define N_LATE 200
static void test_late_records_are_searched_from_side_lists(void **state)
{
    fixture *f = *state;
    spec *all = calloc(N_RECORDS + N_BASE + N_LATE, sizeof *all);
    assert_non_null(all);
    size_t n = publish_base(f, all);
    /* (the fixture's records, put in shuffled order, may have left a few in the filters' side lists) */
    assert_int_equal(side_keys(f, RK_DB_TOKENS), 0);
    size_t filter_base = side_keys(f, RK_DB_INDEXES);
    /* then records whose versions fall between the base's, from the oldest to the newest */
    for (size_t i = 0; i < N_LATE; i++)
        bulk_spec(&all[n + i], "late", i, 100000 + 10 * (uint64_t)((i * 613) % N_BASE) + 5, i % 3 == 0 ? 2 : 0,
                  i % 11 ? PUBLIC : NETWORK);
    for (size_t i = 0; i < N_LATE; i += 50)
        publish(f, &all[n + i], 50);
    n += N_LATE;
    flush_index(f);
    size_t sides = side_keys(f, RK_DB_TOKENS), filter_sides = side_keys(f, RK_DB_INDEXES);
    print_message("%zu side list blocks of tokens, %zu of filters\n", sides, filter_sides);
    assert_true(sides > 0);
    assert_true(filter_sides > filter_base);
    size_t pending, postings, merged_postings;
    count_full_text(f, all, n, &pending, &postings);
    assert_int_equal(pending, 0);
    expect_late_queries(f, all, n);
    fx_store_reopen(&f->s, 0, false);
    assert_int_equal(side_keys(f, RK_DB_TOKENS), sides);
    assert_int_equal(side_keys(f, RK_DB_INDEXES), filter_sides);
    expect_late_queries(f, all, n);
    /* some late records replaced (their postings leave the side lists), some deleted */
    for (size_t i = N_RECORDS + N_BASE; i < n; i += 7) {
        spec *s = &all[i];
        s->version += 1; /* still between the base's versions */
        s->text_class = s->text_class == 0 ? 2 : 0;
        snprintf(s->title, sizeof s->title, "%s 改訂 %zu", title_forms[s->text_class], i);
        publish(f, s, 1);
    }
    for (size_t i = N_RECORDS + N_BASE + 3; i < n; i += 11) {
        rk_record rec;
        fx_seal_tombstone(&f->authors[all[i].author], all[i].rid, all[i].version + 2, PUBLIC, &rec);
        put_all(f, &rec, 1);
        rk_record_free(&rec);
        all[i].version += 2;
        all[i].kind = RENKEI__KIND__KIND_TOMBSTONE;
        all[i].text_class = -1;
    }
    flush_index(f);
    count_full_text(f, all, n, &pending, &postings);
    expect_late_queries(f, all, n);
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    assert_int_equal(rk_index_merge_late(t, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    assert_int_equal(side_keys(f, RK_DB_TOKENS), 0);
    assert_int_equal(side_keys(f, RK_DB_INDEXES), 0);
    count_full_text(f, all, n, &pending, &merged_postings);
    assert_int_equal(merged_postings, postings);
    expect_late_queries(f, all, n);
    free(all);
}

static gint line_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The filter lists of a store, each as the text of its walk: its prefix, then seq:attribute for each
 * posting newest first, one list a line, the lines sorted (a list with a side list is met at its side
 * list's key, before every other). */
static GString *filter_lists(fx_store *s)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    rk_error err;
    rk_txn *t = fx_begin(s, false);
    MDB_cursor *c = fx_cursor(t, RK_DB_INDEXES), *wc = fx_cursor(t, RK_DB_INDEXES);
    static rk_postings_walk w;
    GHashTable *seen = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *key = k.mv_data;
        size_t len = k.mv_size;
        if (key[0] == RK_POSTINGS_SIDE_TAG) {
            key++;
            len--;
        }
        if (key[0] != RK_INDEX_TAG_ALL && key[0] != 'f')
            continue;
        assert_true(len > 16);
        GBytes *prefix = g_bytes_new(key, len - 16);
        if (!g_hash_table_add(seen, prefix))
            continue;
        rk_postings_list l;
        assert_true(rk_postings_filter_list(&l, key, len - 16));
        GString *out = g_string_new(NULL);
        g_string_append_printf(out, "%zu:", len - 16);
        for (size_t i = 0; i < len - 16; i++)
            g_string_append_printf(out, "%02x", key[i]);
        assert_int_equal(rk_postings_list_walk_start(&w, t, wc, &l, NULL, &err), 0);
        uint64_t seq;
        uint8_t attr;
        int r;
        while ((r = rk_postings_walk_entry(&w, &seq, &attr, &err)) == 1)
            g_string_append_printf(out, " %llu:%u", (unsigned long long)seq, attr);
        assert_int_equal(r, 0);
        g_string_append_c(out, '\n');
        g_ptr_array_add(lines, g_string_free(out, FALSE));
    }
    g_ptr_array_sort(lines, line_cmp);
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < lines->len; i++)
        g_string_append(out, g_ptr_array_index(lines, i));
    g_ptr_array_free(lines, TRUE);
    g_hash_table_destroy(seen);
    mdb_cursor_close(wc);
    mdb_cursor_close(c);
    rk_txn_abort(t);
    return out;
}

/* Puts recs[0..n) into s, in one transaction or in one each. */
static void put_into(fx_store *s, const rk_record *recs, size_t n, bool each)
{
    rk_error err;
    rk_txn *t = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!t)
            t = fx_begin(s, true);
        rk_put_result res;
        assert_int_equal(rk_store_put(t, &recs[i], &res, NULL, &err), 0);
        assert_int_equal(res, RK_PUT_STORED);
        if (each || i + 1 == n) {
            assert_int_equal(rk_txn_commit(t, &err), 0);
            t = NULL;
        }
    }
}

/* A transaction's late filter postings are gathered and written at its commit (lib/latefilters.h).
 * The same puts, made once in a single transaction (with replacements and deletions of records put
 * earlier in it) and once each in its own (placed as they come), must leave every filter list with the
 * same postings; queries must find the late records, an aborted transaction must leave nothing, and
 * merging the side lists must change no list. Without the drop of a replaced record's gathered
 * postings, its old version would stay listed; without the write at the commit, the late records
 * would be missing from the filter queries. */
#define N_GATHERED 300
static void test_late_filters_gathered_per_transaction(void **state)
{
    fixture *f = *state;
    spec *all = calloc(N_RECORDS + N_BASE + N_GATHERED, sizeof *all);
    rk_record *recs = calloc(N_RECORDS + N_BASE + N_GATHERED, sizeof *recs);
    assert_non_null(all);
    assert_non_null(recs);
    size_t n = publish_base(f, all);
    /* the same records into a second store, in the same order, so that they get the same sequence numbers */
    fx_store direct;
    fx_store_open(&direct, "index-direct", 0);
    for (size_t i = 0; i < n; i++)
        seal_spec(f, &all[i], &recs[i]);
    put_into(&direct, recs, N_RECORDS, false);
    for (size_t i = N_RECORDS; i < n; i += 100)
        put_into(&direct, recs + i, 100, false);
    rk_error err;
    rk_txn *t = fx_begin(&direct, true);
    assert_int_equal(rk_index_flush(t, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    GString *a = filter_lists(&f->s), *b = filter_lists(&direct);
    assert_string_equal(a->str, b->str);
    g_string_free(a, TRUE);
    g_string_free(b, TRUE);
    /* late records, spread between the base's versions; then a newer version of every fifth (late too,
     * replacing a record put earlier in the same transaction) and a tombstone for every seventh */
    size_t first = n, m = 0;
    for (size_t i = 0; i < N_GATHERED; i++)
        bulk_spec(&all[n + i], "gathered", i, 100000 + 10 * (uint64_t)((i * 389) % N_BASE) + 3, i % 3 == 0 ? 2 : 0,
                  i % 11 ? PUBLIC : NETWORK);
    for (size_t i = 0; i < N_GATHERED; i++) {
        seal_spec(f, &all[n + i], &recs[n + m]);
        memcpy(all[n + i].hash, recs[n + m].hash, RK_HASH_LEN);
        m++;
    }
    rk_record *more = calloc(2 * N_GATHERED, sizeof *more);
    assert_non_null(more);
    size_t k = 0;
    for (size_t i = 0; i < N_GATHERED; i += 5) {
        spec *s = &all[first + i];
        s->version += 1;
        s->text_class = s->text_class == 0 ? 2 : 0;
        memcpy(s->prefecture, prefectures[(i / 5) % 3], 3);
        snprintf(s->title, sizeof s->title, "%s 改訂 %zu", title_forms[s->text_class], i);
        seal_spec(f, s, &more[k]);
        memcpy(s->hash, more[k].hash, RK_HASH_LEN);
        k++;
    }
    for (size_t i = 1; i < N_GATHERED; i += 7) {
        spec *s = &all[first + i];
        s->version += 2;
        fx_seal_tombstone(&f->authors[s->author], s->rid, s->version, PUBLIC, &more[k++]);
        s->kind = RENKEI__KIND__KIND_TOMBSTONE;
        s->text_class = -1;
    }
    /* an aborted transaction leaves nothing of them */
    size_t sides = side_keys(f, RK_DB_INDEXES);
    t = fx_begin(&f->s, true);
    for (size_t i = 0; i < m; i++) {
        rk_put_result res;
        assert_int_equal(rk_store_put(t, &recs[first + i], &res, NULL, &err), 0);
    }
    rk_txn_abort(t);
    assert_int_equal(side_keys(f, RK_DB_INDEXES), sides);
    /* all in one transaction here, one each there */
    t = fx_begin(&f->s, true);
    for (size_t i = 0; i < m + k; i++) {
        rk_put_result res;
        assert_int_equal(rk_store_put(t, i < m ? &recs[first + i] : &more[i - m], &res, NULL, &err), 0);
        assert_int_equal(res, RK_PUT_STORED);
    }
    assert_int_equal(rk_txn_commit(t, &err), 0);
    put_into(&direct, recs + first, m, true);
    put_into(&direct, more, k, true);
    n += N_GATHERED;
    assert_true(side_keys(f, RK_DB_INDEXES) > sides);
    a = filter_lists(&f->s);
    b = filter_lists(&direct);
    assert_string_equal(a->str, b->str);
    expect_late_queries(f, all, n);
    t = fx_begin(&f->s, true);
    assert_int_equal(rk_index_merge_late(t, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    assert_int_equal(side_keys(f, RK_DB_INDEXES), 0);
    GString *merged = filter_lists(&f->s);
    assert_string_equal(merged->str, b->str);
    expect_late_queries(f, all, n);
    g_string_free(merged, TRUE);
    g_string_free(a, TRUE);
    g_string_free(b, TRUE);
    fx_store_close(&direct);
    fx_record_array_free(recs, first + m);
    fx_record_array_free(more, k);
    free(recs);
    free(more);
    free(all);
}

/* Rewrites the store's file without its free pages (mdb_env_copy2, compacting) and opens it again with
 * a map that ends at its last page: every page the next write transaction touches must come from
 * beyond the map. Returns that map size. */
static size_t compact_to_full(fixture *f)
{
    char copy[96], from[128], to[128];
    snprintf(copy, sizeof copy, "%s/compact", f->s.dir);
    snprintf(from, sizeof from, "%s/data.mdb", copy);
    snprintf(to, sizeof to, "%s/data.mdb", f->s.db);
    assert_int_equal(mkdir(copy, 0700), 0);
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    MDB_txn *txn = rk_txn_mdb(t, &err);
    assert_non_null(txn);
    MDB_env *env = mdb_txn_env(txn);
    rk_txn_abort(t);
    assert_int_equal(mdb_env_copy2(env, copy, MDB_CP_COMPACT), 0);
    rk_store_close(f->s.store);
    f->s.store = NULL;
    assert_int_equal(rename(from, to), 0);
    assert_int_equal(rmdir(copy), 0);
    struct stat st;
    assert_int_equal(stat(to, &st), 0);
    fx_store_reopen(&f->s, (size_t)st.st_size, false);
    return (size_t)st.st_size;
}

/* The records a store holds, read in a new transaction. */
static uint64_t current_records(fixture *f)
{
    rk_error err;
    struct rk_store_counts counts;
    rk_txn *t = fx_begin(&f->s, false);
    assert_int_equal(rk_store_counts(t, &counts, &err), 0);
    rk_txn_abort(t);
    return counts.current;
}

/* The store fills up while late records' filter postings go to their side lists, at the commit that
 * writes them (2b5e6c3: a cursor freed by the aborted transaction was closed again; the sanitizer
 * build reports the double free, while glibc lets it pass, as the freed cursor looks like a nested
 * one), and while a put appends to the lists. Before each late
 * put the store is compacted and its map ends at its last page; after each failure the map grows by
 * one page, so the put runs out of room once at every page it touches in turn, its side lists' among
 * them. Each failure must be store_full, from the put and again from the commit, and leave the store
 * as it was: it opens, and holds the records committed before and not the failed one. In the end the
 * late records are searched like any other. */
#define N_FULL_LATE 6
static void test_store_full_during_late_postings(void **state)
{
    fixture *f = *state;
    spec *all = calloc(N_RECORDS + N_BASE + N_FULL_LATE, sizeof *all);
    assert_non_null(all);
    size_t n = publish_base(f, all);
    size_t filter_sides = side_keys(f, RK_DB_INDEXES), page = (size_t)sysconf(_SC_PAGESIZE);
    size_t failures = 0, in_postings = 0, at_commit = 0;
    for (size_t i = 0; i < N_FULL_LATE; i++) {
        spec *s = &all[n];
        bulk_spec(s, "late", i, 100000 + 10 * (uint64_t)((i * 613) % N_BASE) + 5, i % 3 == 0 ? 2 : 0, PUBLIC);
        rk_record rec;
        seal_spec(f, s, &rec);
        memcpy(s->hash, rec.hash, RK_HASH_LEN);
        size_t map = compact_to_full(f);
        for (;;) {
            rk_error err, again;
            rk_put_result res;
            rk_txn *t = fx_begin(&f->s, true);
            if (rk_store_put(t, &rec, &res, NULL, &err) == 0) {
                assert_int_equal(res, RK_PUT_STORED);
                if (rk_txn_commit(t, &err) == 0)
                    break;
                /* the commit's own pages, or the late filter postings it writes (lib/latefilters.h) */
                assert_string_equal(err.code, "store_full");
                at_commit += strstr(err.message, "posting list") != NULL;
            } else {
                assert_string_equal(err.code, "store_full");
                in_postings += strstr(err.message, "posting list") != NULL;
                assert_int_not_equal(rk_txn_commit(t, &again), 0);
                assert_string_equal(again.code, "store_full");
            }
            failures++;
            assert_true(failures < 5000);
            map += page;
            fx_store_reopen(&f->s, map, false);
            assert_int_equal(current_records(f), n);
        }
        rk_record_free(&rec);
        n++;
        assert_int_equal(current_records(f), n);
    }
    print_message("%zu failures, %zu in posting lists at the put, %zu at the commit\n", failures, in_postings,
                  at_commit);
    assert_true(in_postings > 0);
    assert_true(at_commit > 0);
    assert_true(side_keys(f, RK_DB_INDEXES) > filter_sides);
    fx_store_reopen(&f->s, 0, false);
    expect_late_queries(f, all, n);
    flush_index(f);
    expect_late_queries(f, all, n);
    free(all);
}

/* ---- events -------------------------------------------------------------------------------------- */

typedef struct event_spec {
    const char *rid, *title, *starts, *ends, *prefecture;
    int format, open_scope, vis;
} event_spec;

static const event_spec events[] = {
    {"meetup", "3地域オンライン交流会", "2021-10-10T13:00:00+09:00", "2021-10-10T16:30:00+09:00", "01",
     RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE, RENKEI__OPEN_SCOPE__OPEN_SCOPE_NATIONWIDE, PUBLIC},
    {"kitami-tour", "北見フィールドワーク", "2021-11-16T09:00:00+09:00", "2021-11-18T18:00:00+09:00", "01",
     RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONSITE, RENKEI__OPEN_SCOPE__OPEN_SCOPE_LOCAL, PUBLIC},
    {"kuwana-tour", "桑名フィールドワーク", "2021-11-25T09:00:00+09:00", "2021-11-27T18:00:00+09:00", "24",
     RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONSITE, RENKEI__OPEN_SCOPE__OPEN_SCOPE_LOCAL, NETWORK},
    {"interim", "中間報告会", "2021-12-22T18:00:00+09:00", "2021-12-22T20:00:00+09:00", "13",
     RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE, RENKEI__OPEN_SCOPE__OPEN_SCOPE_NATIONWIDE, PUBLIC},
    {"fy2022", "年度を通じた講座", "2022-04-01T00:00:00+09:00", "2023-03-31T23:59:59+09:00", "34",
     RENKEI__EVENT_FORMAT__EVENT_FORMAT_HYBRID, RENKEI__OPEN_SCOPE__OPEN_SCOPE_NATIONWIDE, PUBLIC},
    {"september", "セミナー・情報交換会（9月）", "2023-09-01T00:00:00+09:00", "2023-09-30T23:59:59+09:00", "13",
     RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE, RENKEI__OPEN_SCOPE__OPEN_SCOPE_NATIONWIDE, PUBLIC},
};
#define N_EVENTS (sizeof events / sizeof events[0])

static void put_events(fixture *f)
{
    rk_record recs[N_EVENTS];
    for (size_t i = 0; i < N_EVENTS; i++) {
        const event_spec *s = &events[i];
        Renkei__Record r = RENKEI__RECORD__INIT;
        Renkei__Event e = RENKEI__EVENT__INIT;
        r.kind = RENKEI__KIND__KIND_EVENT;
        r.body_case = RENKEI__RECORD__BODY_EVENT;
        r.event = &e;
        e.title = (char *)s->title;
        e.event_type = RENKEI__EVENT_TYPE__EVENT_TYPE_SEMINAR;
        e.starts_at = (char *)s->starts;
        e.ends_at = (char *)s->ends;
        e.format = s->format;
        e.open_scope = s->open_scope;
        e.prefecture = (char *)s->prefecture;
        fx_seal(&f->authors[0], &r, s->rid, 9000 + i, s->vis, &recs[i]);
    }
    put_all(f, recs, N_EVENTS);
    for (size_t i = 0; i < N_EVENTS; i++)
        rk_record_free(&recs[i]);
}

static int64_t at(const char *rfc3339)
{
    int64_t t;
    int off;
    assert_int_equal(rk_parse_rfc3339(rfc3339, &t, &off), 0);
    return t;
}

/* Runs an event query and compares the rids, in order, with a space-separated list. */
static void expect_events(fixture *f, rk_event_query q, const char *want)
{
    results got = {.n = 0};
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    assert_int_equal(rk_store_events(t, &q, collect, &got, &err), 0);
    rk_txn_abort(t);
    char joined[512] = "";
    for (size_t i = 0; i < got.n; i++) {
        if (i)
            strcat(joined, " ");
        strcat(joined, got.rids[i]);
    }
    assert_string_equal(joined, want);
}

/* Event queries over put_events' table and the rids they must return, soonest first. */
static const struct {
    const char *from, *to;
    int max_visibility, format;
    const char *prefecture;
    int open_scope;
    size_t limit;
    const char *want;
} event_queries[] = {
    {"2021-10-01T00:00:00+09:00", "2021-12-31T23:59:59+09:00", NETWORK, 0, "", 0, 0,
     "meetup kitami-tour kuwana-tour interim"},
    {"2021-10-01T00:00:00+09:00", "2021-12-31T23:59:59+09:00", PUBLIC, 0, "", 0, 0, "meetup kitami-tour interim"},
    /* overlap, not containment: a day inside a multi-day tour finds it */
    {"2021-11-17T12:00:00+09:00", "2021-11-17T13:00:00+09:00", PUBLIC, 0, "", 0, 0, "kitami-tour"},
    /* a month-precision event spans its month; the fiscal-year course starts long before `from` */
    {"2023-03-15T00:00:00+09:00", "2023-09-15T00:00:00+09:00", PUBLIC, 0, "", 0, 0, "fy2022 september"},
    {"2023-09-20T00:00:00+09:00", "2023-09-20T00:00:00+09:00", PUBLIC, 0, "", 0, 0, "september"},
    /* filters */
    {"2021-01-01T00:00:00+09:00", "2023-12-31T00:00:00+09:00", PUBLIC, RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE, "", 0,
     0, "meetup interim september"},
    {"2021-01-01T00:00:00+09:00", "2023-12-31T00:00:00+09:00", PUBLIC, 0, "01", 0, 0, "meetup kitami-tour"},
    {"2021-01-01T00:00:00+09:00", "2023-12-31T00:00:00+09:00", PUBLIC, 0, "", RENKEI__OPEN_SCOPE__OPEN_SCOPE_LOCAL, 0,
     "kitami-tour"},
    {"2021-01-01T00:00:00+09:00", "2023-12-31T00:00:00+09:00", PUBLIC, 0, "", 0, 2, "meetup kitami-tour"},
    /* between the last 2021 session and the fiscal-year course nothing runs */
    {"2022-01-01T00:00:00+09:00", "2022-02-01T00:00:00+09:00", PUBLIC, 0, "", 0, 0, ""},
};

static void test_events_by_date(void **state)
{
    fixture *f = *state;
    put_events(f);
    for (size_t i = 0; i < sizeof event_queries / sizeof event_queries[0]; i++) {
        rk_event_query q = {.from = at(event_queries[i].from),
                            .to = at(event_queries[i].to),
                            .max_visibility = event_queries[i].max_visibility,
                            .format = event_queries[i].format,
                            .open_scope = event_queries[i].open_scope,
                            .limit = event_queries[i].limit};
        snprintf(q.prefecture, sizeof q.prefecture, "%s", event_queries[i].prefecture);
        expect_events(f, q, event_queries[i].want);
    }
}

static void test_events_reversed_window(void **state)
{
    fixture *f = *state;
    put_events(f);
    rk_event_query q = {
        .from = at("2022-06-01T00:00:00+09:00"), .to = at("2022-07-01T00:00:00+09:00"), .max_visibility = PUBLIC};
    expect_events(f, q, "fy2022");
    q.from = q.to + 1;
    expect_events(f, q, "");
}

int main(void)
{
    return RK_RUN_TESTS(
        setup, teardown, cmocka_unit_test(test_every_filter), cmocka_unit_test(test_pairs_of_filters),
        cmocka_unit_test(test_visibility_filter), cmocka_unit_test(test_pagination_covers_everything_once),
        cmocka_unit_test(test_full_text), cmocka_unit_test(test_replaced_version_leaves_indexes),
        cmocka_unit_test(test_deleted_records_leave_no_postings),
        cmocka_unit_test(test_pending_and_indexed_records_are_searched),
        cmocka_unit_test(test_replace_and_delete_pending_and_indexed),
        cmocka_unit_test(test_pending_records_survive_reopen), cmocka_unit_test(test_threshold_flushes_inside_put),
        cmocka_unit_test(test_late_records_are_searched_from_side_lists),
        cmocka_unit_test(test_store_full_during_late_postings),
        cmocka_unit_test(test_late_filters_gathered_per_transaction), cmocka_unit_test(test_events_by_date),
        cmocka_unit_test(test_events_reversed_window));
}
