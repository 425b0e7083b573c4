/* Tests of the query walk that offers each match's hash before loading it (lib/query.h's `cached`),
 * wired to the JSON cache as the API wires it (lib/jsoncache.h, rk_jsoncache_get_hash): a walk over
 * records whose JSON is kept loads none of them and answers the same bytes as a walk that loads every
 * record; the walk offers the query's own visibility ceiling and the cache never serves a record above
 * it, however it was rendered before; pages and cursors are the same with and without the cache; a
 * deleted record is not served from the cache; another roster name for the author misses. Record and
 * event lists both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "jsoncache.h"
#include "query.h"
#include "recview.h"
#include "run_tests.h"

#define PUB RENKEI__VISIBILITY__VISIBILITY_PUBLIC
#define NET RENKEI__VISIBILITY__VISIBILITY_NETWORK
#define LOC RENKEI__VISIBILITY__VISIBILITY_LOCAL
#define N_CASES 12
#define N_EVENTS 6

typedef struct fixture {
    fx_store s;
    fx_author author;
    rk_record cases[N_CASES], events[N_EVENTS];
} fixture;

static void put(fixture *f, const rk_record *recs, size_t n)
{
    rk_txn *t = fx_begin(&f->s, true);
    rk_error err;
    for (size_t i = 0; i < n; i++) {
        rk_put_result res;
        uint64_t seq;
        assert_int_equal(rk_store_put(t, &recs[i], &res, &seq, &err), 0);
        assert_int_equal(res, RK_PUT_STORED);
    }
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

/* Cases and events at each visibility in turn, all in Ishikawa. */
static int setup(void **state)
{
    fixture *f = fx_state_new(state, sizeof *f);
    fx_store_open(&f->s, "query-cached", 0);
    fx_author_init(&f->author);
    char rid[32], title[64];
    for (size_t i = 0; i < N_CASES; i++) {
        snprintf(rid, sizeof rid, "case-%zu", i);
        snprintf(title, sizeof title, "事例 %zu", i);
        fx_seal_case(&f->author, rid, 1000 + i, PUB + (int)(i % 3), title, &f->cases[i]);
    }
    for (size_t i = 0; i < N_EVENTS; i++) {
        Renkei__Record r = RENKEI__RECORD__INIT;
        Renkei__Event e = RENKEI__EVENT__INIT;
        r.kind = RENKEI__KIND__KIND_EVENT;
        r.body_case = RENKEI__RECORD__BODY_EVENT;
        r.event = &e;
        snprintf(title, sizeof title, "セミナー %zu", i);
        e.title = title;
        e.event_type = RENKEI__EVENT_TYPE__EVENT_TYPE_SEMINAR;
        char starts[32];
        snprintf(starts, sizeof starts, "2031-10-%02zuT13:00:00+09:00", 10 + i);
        e.starts_at = starts;
        char ends[32];
        snprintf(ends, sizeof ends, "2031-10-%02zuT17:00:00+09:00", 10 + i);
        e.ends_at = ends;
        e.format = RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE;
        e.prefecture = "17";
        snprintf(rid, sizeof rid, "event-%zu", i);
        fx_seal(&f->author, &r, rid, 2000 + i, PUB + (int)(i % 3), &f->events[i]);
    }
    put(f, f->cases, N_CASES);
    put(f, f->events, N_EVENTS);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_record_array_free(f->cases, N_CASES);
    fx_record_array_free(f->events, N_EVENTS);
    fx_author_free(&f->author);
    fx_store_close(&f->s);
    free(f);
    return 0;
}

/* One walk's results, as the API's list handler builds them: each record's JSON, one per line. */
typedef struct walk {
    rk_jsoncache *cache; /* NULL: no `cached` callback, every record rendered */
    const char *name;    /* the author's roster name */
    int ceiling;         /* the query's visibility ceiling */
    int offered_above;   /* hashes offered with a ceiling other than the query's */
    size_t loaded, served;
    rk_buf body;
} walk;

static const char *walk_name(const uint8_t author[RK_KEY_LEN], void *ctx)
{
    (void)author;
    return ((walk *)ctx)->name;
}

static int walk_cached(const uint8_t hash[RK_HASH_LEN], int max_visibility, void *ctx)
{
    walk *w = ctx;
    if (max_visibility != w->ceiling)
        w->offered_above++;
    int got = rk_jsoncache_get_hash(w->cache, hash, max_visibility, walk_name, w, &w->body);
    assert_true(got >= 0);
    if (got == 1) {
        w->served++;
        assert_int_equal(rk_buf_append(&w->body, "\n", 1), 0);
    }
    return got;
}

static int walk_record(const rk_record *rec, void *ctx)
{
    walk *w = ctx;
    w->loaded++;
    assert_true((int)rec->msg->visibility <= w->ceiling);
    rk_jsonview view = {w->name, w->ceiling};
    if (w->cache)
        assert_int_equal(rk_jsoncache_append(w->cache, rec, &view, &w->body), 0);
    else
        assert_int_equal(rk_record_json_append(rec, w->name, &w->body), 0);
    assert_int_equal(rk_buf_append(&w->body, "\n", 1), 0);
    return 0;
}

static void walk_init(walk *w, rk_jsoncache *cache, const char *name, int ceiling)
{
    *w = (walk){.cache = cache, .name = name, .ceiling = ceiling};
    rk_buf_init(&w->body);
    assert_int_equal(rk_buf_puts(&w->body, ""), 0);
}

/* The Ishikawa cases up to the ceiling, limit per page (0: one page), all pages appended to w. */
static void walk_cases(fixture *f, walk *w, size_t limit)
{
    char cursor[RK_CURSOR_MAX] = "", next[RK_CURSOR_MAX];
    do {
        rk_query q = {.kind = RENKEI__KIND__KIND_CASE,
                      .prefecture = "17",
                      .max_visibility = w->ceiling,
                      .limit = limit,
                      .cursor = cursor,
                      .cached = w->cache ? walk_cached : NULL};
        rk_txn *t = fx_begin(&f->s, false);
        rk_error err;
        assert_int_equal(rk_store_query(t, &q, walk_record, w, next, &err), 0);
        rk_txn_abort(t);
        memcpy(cursor, next, sizeof cursor);
        assert_int_equal(rk_buf_puts(&w->body, "--page--\n"), 0);
    } while (cursor[0]);
}

static void walk_events(fixture *f, walk *w)
{
    rk_event_query q = {
        .from = 0, .to = INT64_MAX / 2, .max_visibility = w->ceiling, .cached = w->cache ? walk_cached : NULL};
    rk_txn *t = fx_begin(&f->s, false);
    rk_error err;
    assert_int_equal(rk_store_events(t, &q, walk_record, w, &err), 0);
    rk_txn_abort(t);
}

static void assert_same_body(const walk *a, const walk *b)
{
    if (a->body.len != b->body.len || memcmp(a->body.data, b->body.data, a->body.len) != 0)
        fail_msg("got\n%s\nwant\n%s", a->body.data, b->body.data);
}

static rk_jsoncache *cache_new(void)
{
    rk_jsoncache *c = rk_jsoncache_new(1 << 20);
    assert_non_null(c);
    return c;
}

/* A cache that one walk under the roster name 石川 at the local ceiling filled: with every case, and
 * with every event too when events is set. */
static rk_jsoncache *warm_cache(fixture *f, bool events)
{
    rk_jsoncache *c = cache_new();
    walk warm;
    walk_init(&warm, c, "石川", LOC);
    walk_cases(f, &warm, 0);
    if (events)
        walk_events(f, &warm);
    assert_int_equal(warm.loaded, N_CASES + (events ? N_EVENTS : 0));
    rk_buf_free(&warm.body);
    return c;
}

/* Frees the walks' bodies (a NULL-terminated list) and the cache they shared. */
static void walks_free(rk_jsoncache *c, walk *const *all)
{
    for (; *all; all++)
        rk_buf_free(&(*all)->body);
    rk_jsoncache_free(c);
}

static size_t visible(size_t n, int ceiling)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += PUB + (int)(i % 3) <= ceiling;
    return k;
}

/* The first walk renders and keeps every record; the second loads none and answers the same bytes as
 * a walk without the cache. */
static void test_kept_records_are_not_loaded(void **state)
{
    fixture *f = *state;
    for (int ceiling = PUB; ceiling <= LOC; ceiling++) {
        rk_jsoncache *c = cache_new();
        walk plain, first, second, ev_plain, ev_first, ev_second;
        walk_init(&plain, NULL, "石川", ceiling);
        walk_init(&first, c, "石川", ceiling);
        walk_init(&second, c, "石川", ceiling);
        walk_cases(f, &plain, 0);
        walk_cases(f, &first, 0);
        walk_cases(f, &second, 0);
        assert_int_equal(plain.loaded, visible(N_CASES, ceiling));
        assert_int_equal(first.loaded, plain.loaded);
        assert_int_equal(first.served, 0);
        assert_int_equal(second.loaded, 0);
        assert_int_equal(second.served, plain.loaded);
        assert_same_body(&first, &plain);
        assert_same_body(&second, &plain);

        walk_init(&ev_plain, NULL, "石川", ceiling);
        walk_init(&ev_first, c, "石川", ceiling);
        walk_init(&ev_second, c, "石川", ceiling);
        walk_events(f, &ev_plain);
        walk_events(f, &ev_first);
        walk_events(f, &ev_second);
        assert_int_equal(ev_plain.loaded, visible(N_EVENTS, ceiling));
        assert_int_equal(ev_second.loaded, 0);
        assert_int_equal(ev_second.served, ev_plain.loaded);
        assert_same_body(&ev_first, &ev_plain);
        assert_same_body(&ev_second, &ev_plain);
        assert_int_equal(first.offered_above + second.offered_above + ev_second.offered_above, 0);
        walks_free(c, (walk *[]){&plain, &first, &second, &ev_plain, &ev_first, &ev_second, NULL});
    }
}

/* Records rendered and kept for the highest view are not served to a walk with a lower ceiling: the
 * walk offers that ceiling, and the cache misses every record above it. */
static void test_lower_ceiling_never_served(void **state)
{
    fixture *f = *state;
    rk_jsoncache *c = warm_cache(f, true);
    for (int ceiling = PUB; ceiling < LOC; ceiling++) {
        walk plain, cached;
        walk_init(&plain, NULL, "石川", ceiling);
        walk_init(&cached, c, "石川", ceiling);
        walk_cases(f, &plain, 0);
        walk_events(f, &plain);
        walk_cases(f, &cached, 0);
        walk_events(f, &cached);
        assert_int_equal(cached.offered_above, 0);
        assert_int_equal(cached.loaded, 0);
        assert_same_body(&cached, &plain);
        rk_buf_free(&plain.body);
        rk_buf_free(&cached.body);
        /* and by hash directly: a kept record above the ceiling is a miss that appends nothing */
        for (size_t i = 0; i < N_CASES; i++) {
            rk_buf b;
            rk_buf_init(&b);
            walk w = {.name = "石川"};
            int got = rk_jsoncache_get_hash(c, f->cases[i].hash, ceiling, walk_name, &w, &b);
            assert_int_equal(got, (int)f->cases[i].msg->visibility <= ceiling ? 1 : 0);
            if (!got)
                assert_int_equal(b.len, 0);
            rk_buf_free(&b);
        }
    }
    rk_jsoncache_free(c);
}

/* Pages of every size give the same records and cursors with the cache cold, half warm and warm. */
static void test_pages_are_the_same(void **state)
{
    fixture *f = *state;
    for (size_t limit = 1; limit <= N_CASES + 1; limit++) {
        rk_jsoncache *c = cache_new();
        walk plain, half, cold, warm;
        walk_init(&plain, NULL, "石川", LOC);
        walk_cases(f, &plain, limit);
        walk_init(&half, c, "石川", LOC);
        walk_cases(f, &half, N_CASES / 2); /* the newest half kept */
        walk_init(&cold, c, "石川", LOC);
        walk_init(&warm, c, "石川", LOC);
        walk_cases(f, &cold, limit);
        walk_cases(f, &warm, limit);
        assert_same_body(&cold, &plain);
        assert_same_body(&warm, &plain);
        assert_int_equal(warm.loaded, 0);
        walks_free(c, (walk *[]){&plain, &half, &cold, &warm, NULL});
    }
}

/* A kept record that is deleted, and kept records whose author has another roster name now, are not
 * served from the cache. */
static void test_deleted_and_renamed(void **state)
{
    fixture *f = *state;
    rk_jsoncache *c = warm_cache(f, false);
    rk_record tomb;
    fx_seal_tombstone(&f->author, "case-3", 5000, LOC, &tomb);
    put(f, &tomb, 1);
    rk_record_free(&tomb);
    walk plain, after;
    walk_init(&plain, NULL, "石川", LOC);
    walk_init(&after, c, "石川", LOC);
    walk_cases(f, &plain, 0);
    walk_cases(f, &after, 0);
    assert_int_equal(plain.loaded, N_CASES - 1);
    assert_int_equal(after.served, N_CASES - 1);
    assert_same_body(&after, &plain);
    walk renamed_plain, renamed;
    walk_init(&renamed_plain, NULL, "石川県", LOC);
    walk_init(&renamed, c, "石川県", LOC);
    walk_cases(f, &renamed_plain, 0);
    walk_cases(f, &renamed, 0);
    assert_int_equal(renamed.served, 0);
    assert_int_equal(renamed.loaded, N_CASES - 1);
    assert_same_body(&renamed, &renamed_plain);
    walks_free(c, (walk *[]){&plain, &after, &renamed_plain, &renamed, NULL});
}

int main(void)
{
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_kept_records_are_not_loaded),
                        cmocka_unit_test(test_lower_ceiling_never_served), cmocka_unit_test(test_pages_are_the_same),
                        cmocka_unit_test(test_deleted_and_renamed));
}
