/* Tests for lib/jsoncache.c and lib/jsonlist.c: the API's record and list bodies made from cached
 * fragments are byte for byte what dumping the jansson trees gave before the cache (for every kind
 * of record, visibility and author name, on a miss and on a hit; the membership kinds and every kind
 * of field value too), the cache never answers a view
 * whose visibility ceiling is below the record's nor a view with another author name, tombstones
 * are never kept, and the memory bound holds with least recently used entries going first, also
 * with two threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "jsoncache.h"
#include "jsonlist.h"
#include "membership_rid.h"
#include "recjson.h"
#include "recview.h"
#include "run_tests.h"

#define PUB RENKEI__VISIBILITY__VISIBILITY_PUBLIC
#define NET RENKEI__VISIBILITY__VISIBILITY_NETWORK
#define LOC RENKEI__VISIBILITY__VISIBILITY_LOCAL

/* Bodies of every publishable kind; strings with characters JSON escapes (quote, backslash, control
 * characters), ones it does not ('/', U+2028, emoji) and multi-byte text. */
static const char *const bodies[] = {
    ("{\"kind\":\"case\",\"case\":{\"title\":\"引用 \\\"と\\\" \\\\ / 😀\",\"summary\":\"改行\\n\\tタブ\\u0001\\u001f"
     "\\u2028 done\",\"prefecture\":\"石川県\",\"industry\":\"E\",\"dx_level\":\"efficiency\","
     "\"skills\":[\"ai\",\"cloud\"],\"tags\":[\"受発注\",\"</script>\"],"
     "\"organisation\":{\"name\":\"広島県\",\"employees\":4294967295},"
     "\"results\":[{\"metric\":\"合格者\",\"value\":2700.5,\"baseline\":0.1}]}}"),
    ("{\"kind\":\"event\",\"language\":\"en\",\"event\":{\"title\":\"交流会\",\"event_type\":\"meetup\","
     "\"starts_at\":\"2031-10-10T13:00:00+09:00\",\"ends_at\":\"2031-10-10T16:30:00+09:00\",\"format\":\"hybrid\","
     "\"prefecture\":\"01\",\"regions\":[\"01\",\"24\"],\"capacity\":100,\"subsidy_eligible\":true}}"),
    ("{\"kind\":\"region\",\"region\":{\"name\":\"北見市\",\"node_kind\":\"region\","
     "\"key_industries\":[\"A\",\"fisheries\"]}}"),
};
static const int visibilities[] = {PUB, NET, LOC};
static const char *const names[] = {NULL, "広島県", "a \"quoted\" \\ name\n"};

#define N_RECORDS (3 * 3 + 3) /* each body at each visibility, then tombstones */

typedef struct fixture {
    fx_author author;
    rk_record recs[N_RECORDS];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fx_author_init(&f->author);
    size_t n = 0;
    char rid[32];
    for (size_t b = 0; b < sizeof bodies / sizeof *bodies; b++)
        for (size_t v = 0; v < 3; v++) {
            json_error_t jerr;
            json_t *j = json_loads(bodies[b], 0, &jerr);
            assert_non_null(j);
            Renkei__Record *r = NULL;
            rk_error err;
            if (rk_record_from_json(j, &r, &err) != 0)
                fail_msg("body %zu: %s %s %s", b, err.code, err.field, err.message);
            json_decref(j);
            snprintf(rid, sizeof rid, "r-%zu-%zu", b, v);
            r->created_at = 1700000000000ULL;
            fx_seal(&f->author, r, rid, 1700000000123ULL + n, visibilities[v], &f->recs[n]);
            n++;
            r->author.data = NULL; /* fx_seal lent the author's key and rid */
            r->author.len = 0;
            r->rid = NULL;
            renkei__record__free_unpacked(r, NULL);
        }
    for (size_t v = 0; v < 3; v++) {
        snprintf(rid, sizeof rid, "gone-%zu", v);
        fx_seal_tombstone(&f->author, rid, 42 + v, visibilities[v], &f->recs[n++]);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_record_array_free(f->recs, N_RECORDS);
    fx_author_free(&f->author);
    free(f);
    return 0;
}

/* What the API sent before the cache: the jansson tree of the record, dumped compact. */
static char *tree_bytes(const rk_record *rec, const char *name)
{
    json_t *view = rk_record_to_json(rec, name);
    assert_non_null(view);
    char *s = json_dumps(view, JSON_COMPACT);
    assert_non_null(s);
    json_decref(view);
    return s;
}

static void assert_buf_is(const rk_buf *b, const char *want)
{
    if (b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
        fail_msg("got  %.*s\nwant %s", (int)b->len, b->data ? b->data : "", want);
}

/* A cache of at most max bytes; the test fails if it cannot be made. */
static rk_jsoncache *cache_new(size_t max)
{
    rk_jsoncache *c = rk_jsoncache_new(max);
    assert_non_null(c);
    return c;
}

static void test_cached_bytes_are_the_tree_bytes(void **state)
{
    fixture *f = *state;
    rk_jsoncache *c = cache_new(1 << 20);
    for (size_t n = 0; n < sizeof names / sizeof *names; n++)
        for (size_t i = 0; i < N_RECORDS; i++) {
            const rk_record *rec = &f->recs[i];
            char *want = tree_bytes(rec, names[n]);
            rk_jsonview view = {names[n], LOC};
            rk_buf direct, first, second;
            rk_buf_init(&direct);
            rk_buf_init(&first);
            rk_buf_init(&second);
            assert_int_equal(rk_record_json_append(rec, names[n], &direct), 0);
            assert_int_equal(rk_jsoncache_append(c, rec, &view, &first), 0);  /* rendered */
            assert_int_equal(rk_jsoncache_append(c, rec, &view, &second), 0); /* kept, unless a tombstone */
            assert_buf_is(&direct, want);
            assert_buf_is(&first, want);
            assert_buf_is(&second, want);
            rk_buf_free(&direct);
            rk_buf_free(&first);
            rk_buf_free(&second);
            free(want);
        }
    /* 9 live records and 3 tombstones, once per name: the live ones hit on their second look */
    rk_jsoncache_counts k;
    rk_jsoncache_take_counts(c, &k);
    assert_int_equal(k.hits, 3 * 9);
    assert_int_equal(k.misses, 3 * (9 + 2 * 3));
    assert_int_equal(k.entries, 9);
    rk_jsoncache_take_counts(c, &k);
    assert_int_equal(k.hits, 0);
    assert_int_equal(k.misses, 0);
    rk_jsoncache_free(c);
}

/* The list body {"key": [...]} of the n records recs, the i-th under the roster name
 * rec_names[i % n_names], built from cached fragments (with "next_cursor" when has_cursor, a string or
 * null), is byte for byte the tree the handlers dumped before the cache. */
static void expect_list_is_tree(rk_jsoncache *c, const char *key, const rk_record *recs, size_t n,
                                const char *const *rec_names, size_t n_names, bool has_cursor, const char *cursor)
{
    json_t *arr = json_array();
    rk_buf body;
    rk_buf_init(&body);
    rk_jsonlist l;
    assert_int_equal(rk_jsonlist_open(&l, &body, key), 0);
    for (size_t i = 0; i < n; i++) {
        const char *name = rec_names[i % n_names];
        json_array_append_new(arr, rk_record_to_json(&recs[i], name));
        rk_jsonview view = {name, LOC};
        assert_int_equal(rk_jsonlist_next(&l), 0);
        assert_int_equal(rk_jsoncache_append(c, &recs[i], &view, &body), 0);
    }
    json_t *tree;
    if (has_cursor) {
        json_t *next = cursor ? json_string(cursor) : json_null();
        assert_int_equal(rk_jsonlist_close(&l, "next_cursor", next, NULL), 0);
        tree = json_pack("{s:o, s:o}", key, arr, "next_cursor", next);
    } else {
        assert_int_equal(rk_jsonlist_close(&l, NULL), 0);
        tree = json_pack("{s:o}", key, arr);
    }
    char *want = json_dumps(tree, JSON_COMPACT);
    assert_buf_is(&body, want);
    free(want);
    json_decref(tree);
    rk_buf_free(&body);
}

/* A list body from cached fragments against the tree the handlers dumped before, for no items, one,
 * and several, with and without a cursor (one JSON must escape). */
static void test_list_bytes_are_the_tree_bytes(void **state)
{
    fixture *f = *state;
    rk_jsoncache *c = cache_new(1 << 20);
    const size_t counts[] = {0, 1, 9};
    const char *const cursors[] = {NULL, "MTcwMDAwMDAwMDEyMzpyLTEtMg", "odd \"cursor\" \\"};
    for (int pass = 0; pass < 2; pass++) /* the first renders every fragment, the second finds them */
        for (size_t k = 0; k < sizeof counts / sizeof *counts; k++)
            for (size_t cu = 0; cu < sizeof cursors / sizeof *cursors; cu++)
                expect_list_is_tree(c, "records", f->recs, counts[k], names, 3, true, cursors[cu]);
    /* the events list has no cursor */
    static const char *const kitami[] = {"北見市"};
    expect_list_is_tree(c, "events", &f->recs[3], 3, kitami, 1, false, NULL);
    rk_jsoncache_free(c);
}

/* A record kept for the local view is never given to a view that may not see its visibility, and
 * one above a view's ceiling is neither rendered nor kept for it. */
static void test_never_served_above_the_view(void **state)
{
    fixture *f = *state;
    rk_jsoncache *c = cache_new(1 << 20);
    rk_buf b;
    rk_buf_init(&b);
    for (size_t v = 0; v < 3; v++) {
        const rk_record *rec = &f->recs[v]; /* the case at PUB, NET, LOC */
        rk_jsonview local = {"x", LOC};
        assert_int_equal(rk_jsoncache_append(c, rec, &local, &b), 0);
        for (int ceiling = PUB; ceiling <= LOC; ceiling++) {
            rk_jsonview view = {"x", ceiling};
            rk_buf_reset(&b);
            int got = rk_jsoncache_get(c, rec->hash, &view, &b);
            assert_int_equal(got, visibilities[v] <= ceiling ? 1 : 0);
            if (!got)
                assert_int_equal(b.len, 0);
            rk_buf_reset(&b);
            assert_int_equal(rk_jsoncache_append(c, rec, &view, &b), visibilities[v] <= ceiling ? 0 : -1);
            if (visibilities[v] > ceiling)
                assert_int_equal(b.len, 0);
        }
    }
    /* a members-only record first asked for by a public view is not rendered, so not kept either */
    rk_jsoncache *fresh = cache_new(1 << 20);
    rk_jsonview public_view = {NULL, PUB}, members_view = {NULL, NET};
    rk_buf_reset(&b);
    assert_int_equal(rk_jsoncache_append(fresh, &f->recs[1], &public_view, &b), -1);
    assert_int_equal(rk_jsoncache_get(fresh, f->recs[1].hash, &members_view, &b), 0);
    rk_jsoncache_counts k;
    rk_jsoncache_take_counts(fresh, &k);
    assert_int_equal(k.entries, 0);
    assert_int_equal(k.misses, 0);
    rk_jsoncache_free(fresh);
    rk_buf_free(&b);
    rk_jsoncache_free(c);
}

/* The author's roster name is part of the view: another name misses and renders anew. */
static void test_other_author_name_misses(void **state)
{
    fixture *f = *state;
    rk_jsoncache *c = cache_new(1 << 20);
    const rk_record *rec = &f->recs[0];
    rk_jsonview old_name = {"旧名", LOC}, new_name = {"新名", LOC}, no_name = {NULL, LOC};
    rk_buf b;
    rk_buf_init(&b);
    assert_int_equal(rk_jsoncache_append(c, rec, &old_name, &b), 0);
    rk_buf_reset(&b);
    assert_int_equal(rk_jsoncache_get(c, rec->hash, &new_name, &b), 0);
    assert_int_equal(rk_jsoncache_get(c, rec->hash, &no_name, &b), 0);
    assert_int_equal(rk_jsoncache_append(c, rec, &new_name, &b), 0);
    char *want = tree_bytes(rec, "新名");
    assert_buf_is(&b, want);
    free(want);
    rk_buf_reset(&b);
    assert_int_equal(rk_jsoncache_get(c, rec->hash, &old_name, &b), 0); /* replaced, not kept twice */
    rk_jsoncache_counts k;
    rk_jsoncache_take_counts(c, &k);
    assert_int_equal(k.entries, 1);
    assert_int_equal(k.hits, 0);
    assert_int_equal(k.misses, 2);
    rk_buf_free(&b);
    rk_jsoncache_free(c);
}

/* Bounded in bytes; the least recently used go first; 0 keeps nothing. */
static void test_bound_and_lru(void **state)
{
    fixture *f = *state;
    rk_jsonview view = {NULL, LOC};
    rk_buf b;
    rk_buf_init(&b);
    /* room for about three of these records */
    assert_int_equal(rk_record_json_append(&f->recs[0], NULL, &b), 0);
    size_t max = 3 * (b.len + 400);
    rk_jsoncache *c = cache_new(max);
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(rk_jsoncache_append(c, &f->recs[i], &view, &b), 0);
        /* keep the first one in use */
        assert_int_equal(rk_jsoncache_get(c, f->recs[0].hash, &view, &b), 1);
        rk_jsoncache_counts k;
        rk_jsoncache_take_counts(c, &k);
        assert_true(k.bytes <= max);
        assert_true(k.entries >= 1);
    }
    rk_buf_reset(&b);
    assert_int_equal(rk_jsoncache_get(c, f->recs[0].hash, &view, &b), 1); /* in use: kept */
    assert_int_equal(rk_jsoncache_get(c, f->recs[8].hash, &view, &b), 1); /* newest: kept */
    assert_int_equal(rk_jsoncache_get(c, f->recs[1].hash, &view, &b), 0); /* oldest unused: evicted */
    rk_jsoncache_free(c);

    rk_jsoncache *none = cache_new(0);
    for (int round = 0; round < 2; round++) {
        rk_buf_reset(&b);
        assert_int_equal(rk_jsoncache_append(none, &f->recs[0], &view, &b), 0);
        char *want = tree_bytes(&f->recs[0], NULL);
        assert_buf_is(&b, want);
        free(want);
    }
    rk_jsoncache_counts k;
    rk_jsoncache_take_counts(none, &k);
    assert_int_equal(k.hits, 0);
    assert_int_equal(k.misses, 2);
    assert_int_equal(k.bytes, 0);
    rk_jsoncache_free(none);
    rk_buf_free(&b);
}

/* The membership kinds, which the bodies above lack: bytes fields (keys, a countersignature),
 * repeated strings, and uint64 values at 2^63-1 and above it (written as a string of digits). */
static void test_membership_kinds_are_the_tree_bytes(void **state)
{
    fixture *f = *state;
    uint8_t key[RK_KEY_LEN], sig[RK_SIG_LEN];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(0xa0 + i);
    memset(sig, 0x5c, sizeof sig);
    char *urls[] = {"tcp://127.0.0.1:7000", "tls+tcp://例え.jp:443/\"x\""};
    Renkei__Endorse endorse = RENKEI__ENDORSE__INIT;
    endorse.key = (ProtobufCBinaryData){sizeof key, key};
    endorse.name = "佐賀県";
    endorse.node_kind = RENKEI__NODE_KIND__NODE_KIND_PARTNERSHIP;
    endorse.prefecture = "41";
    endorse.urls = urls;
    endorse.n_urls = 2;
    Renkei__Rotate rotate = RENKEI__ROTATE__INIT;
    rotate.new_key = (ProtobufCBinaryData){sizeof key, key};
    rotate.countersignature = (ProtobufCBinaryData){sizeof sig, sig};
    Renkei__Revoke revoke = RENKEI__REVOKE__INIT;
    revoke.key = (ProtobufCBinaryData){sizeof key, key};
    revoke.reason = "鍵の漏えい\t\"疑い\"";
    revoke.since = 4000;
    Renkei__Record r[3];
    for (size_t i = 0; i < 3; i++) {
        r[i] = (Renkei__Record)RENKEI__RECORD__INIT;
        r[i].created_at = i == 0 ? UINT64_MAX : (uint64_t)INT64_MAX;
    }
    r[0].kind = RENKEI__KIND__KIND_ENDORSE;
    r[0].body_case = RENKEI__RECORD__BODY_ENDORSE;
    r[0].endorse = &endorse;
    r[1].kind = RENKEI__KIND__KIND_ROTATE;
    r[1].body_case = RENKEI__RECORD__BODY_ROTATE;
    r[1].rotate = &rotate;
    r[2].kind = RENKEI__KIND__KIND_REVOKE;
    r[2].body_case = RENKEI__RECORD__BODY_REVOKE;
    r[2].revoke = &revoke;
    for (size_t i = 0; i < 3; i++) {
        char rid[RK_MEMBERSHIP_RID_MAX + 1];
        assert_int_equal(rk_membership_rid(&r[i], rid), 0);
        rk_record rec;
        fx_seal(&f->author, &r[i], rid, 5000 + i, PUB, &rec);
        for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
            char *want = tree_bytes(&rec, names[n]);
            rk_buf b;
            rk_buf_init(&b);
            assert_int_equal(rk_record_json_append(&rec, names[n], &b), 0);
            assert_buf_is(&b, want);
            rk_buf_free(&b);
            free(want);
        }
        rk_record_free(&rec);
    }
}

typedef struct hammer {
    fixture *f;
    rk_jsoncache *c;
    unsigned seed;
    int failures;
} hammer;

static void *hammer_run(void *arg)
{
    hammer *h = arg;
    char *want[9];
    for (size_t i = 0; i < 9; i++)
        want[i] = tree_bytes(&h->f->recs[i], names[i % 3]);
    rk_buf b;
    rk_buf_init(&b);
    for (int n = 0; n < 3000; n++) {
        size_t i = (size_t)rand_r(&h->seed) % 9;
        rk_jsonview view = {names[i % 3], LOC};
        rk_buf_reset(&b);
        if (rk_jsoncache_append(h->c, &h->f->recs[i], &view, &b) != 0 || b.len != strlen(want[i]) ||
            memcmp(b.data, want[i], b.len) != 0)
            h->failures++;
    }
    rk_buf_free(&b);
    for (size_t i = 0; i < 9; i++)
        free(want[i]);
    return NULL;
}

/* Two threads, as the API's two pool threads, on a cache too small for what they read. */
static void test_two_threads(void **state)
{
    fixture *f = *state;
    rk_buf b;
    rk_buf_init(&b);
    assert_int_equal(rk_record_json_append(&f->recs[0], NULL, &b), 0);
    size_t max = 4 * (b.len + 400);
    rk_buf_free(&b);
    rk_jsoncache *c = cache_new(max);
    hammer h[2] = {{f, c, 1, 0}, {f, c, 2, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(h[0].failures + h[1].failures, 0);
    rk_jsoncache_counts k;
    rk_jsoncache_take_counts(c, &k);
    assert_int_equal(k.hits + k.misses, 6000);
    assert_true(k.hits > 0 && k.misses > 0);
    assert_true(k.bytes <= max);
    rk_jsoncache_free(c);
}

int main(void)
{
    return RK_RUN_GROUP_TESTS(setup, teardown, cmocka_unit_test(test_cached_bytes_are_the_tree_bytes),
                              cmocka_unit_test(test_list_bytes_are_the_tree_bytes),
                              cmocka_unit_test(test_membership_kinds_are_the_tree_bytes),
                              cmocka_unit_test(test_never_served_above_the_view),
                              cmocka_unit_test(test_other_author_name_misses), cmocka_unit_test(test_bound_and_lru),
                              cmocka_unit_test(test_two_threads));
}
