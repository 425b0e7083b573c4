/* test_sync: range-based set reconciliation between two sets, every message packed and unpacked as
 * on the wire. The in-memory set computes fingerprints by brute force with the definition of
 * store.h, so the protocol is checked against an independent implementation of the set functions;
 * the store-backed test checks the adapter over the real LMDB sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fpdigest.h"
#include "reconcile_run.h"
#include "run_tests.h"
#include "sign.h"
#include "sync.h"
#include "testrand.h"

/* ---- an in-memory set ------------------------------------------------------------------------- */

typedef rk_memory_set mset;

static rk_set_source msrc(mset *s)
{
    rk_set_source src;
    rk_set_source_from_memory(&src, s);
    return src;
}

static int cmp_item(const void *a, const void *b)
{
    return memcmp(a, b, RK_ITEM_LEN);
}

/* Builds A = common + only_a and B = common + only_b; remembers the true differences, sorted. */
typedef struct pair {
    mset a, b;
    uint8_t *only_a, *only_b;
    size_t n_only_a, n_only_b;
} pair;

static void fill(mset *s, size_t n)
{
    s->count = n;
    s->items = calloc(n ? n : 1, RK_ITEM_LEN);
    assert_non_null(s->items);
}

static void make_pair(pair *p, size_t common, size_t only_a, size_t only_b, uint64_t seed)
{
    uint64_t st = seed;
    fill(&p->a, common + only_a);
    fill(&p->b, common + only_b);
    p->only_a = calloc(only_a ? only_a : 1, RK_ITEM_LEN);
    p->only_b = calloc(only_b ? only_b : 1, RK_ITEM_LEN);
    assert_non_null(p->only_a);
    assert_non_null(p->only_b);
    p->n_only_a = only_a;
    p->n_only_b = only_b;
    for (size_t i = 0; i < common; i++) {
        rk_test_random_item(&st, p->a.items + i * RK_ITEM_LEN);
        memcpy(p->b.items + i * RK_ITEM_LEN, p->a.items + i * RK_ITEM_LEN, RK_ITEM_LEN);
    }
    for (size_t i = 0; i < only_a; i++) {
        rk_test_random_item(&st, p->only_a + i * RK_ITEM_LEN);
        memcpy(p->a.items + (common + i) * RK_ITEM_LEN, p->only_a + i * RK_ITEM_LEN, RK_ITEM_LEN);
    }
    for (size_t i = 0; i < only_b; i++) {
        rk_test_random_item(&st, p->only_b + i * RK_ITEM_LEN);
        memcpy(p->b.items + (common + i) * RK_ITEM_LEN, p->only_b + i * RK_ITEM_LEN, RK_ITEM_LEN);
    }
    /* calloc(1) above keeps every pointer non-NULL for qsort */
    qsort(p->a.items, p->a.count, RK_ITEM_LEN, cmp_item);
    qsort(p->b.items, p->b.count, RK_ITEM_LEN, cmp_item);
    qsort(p->only_a, only_a, RK_ITEM_LEN, cmp_item);
    qsort(p->only_b, only_b, RK_ITEM_LEN, cmp_item);
}

static void free_pair(pair *p)
{
    free(p->a.items);
    free(p->b.items);
    free(p->only_a);
    free(p->only_b);
}

/* ---- driving a reconciliation as over the wire ------------------------------------------------ */

static void reconcile(mset *init, mset *resp, uint32_t set, rk_sync_diff *diff, reconcile_stats *st)
{
    rk_set_source si = msrc(init), sr = msrc(resp);
    rk_error err;
    if (reconcile_run(&si, set, reconcile_respond_from, &sr, diff, 1000, st, &err) != 0)
        fail_msg("%s: %s", err.code, err.message);
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, RK_HASH_LEN);
}

/* need must be exactly the hashes of only_b, have exactly only_a. */
static void check_diff(rk_sync_diff *d, const uint8_t *only_a, size_t n_a, const uint8_t *only_b, size_t n_b)
{
    assert_int_equal(d->n_have, n_a);
    assert_int_equal(d->n_need, n_b);
    if (n_a) {
        qsort(d->have, d->n_have, RK_ITEM_LEN, cmp_item);
        assert_memory_equal(d->have, only_a, n_a * RK_ITEM_LEN);
    }
    if (n_b)
        qsort(d->need, d->n_need, RK_HASH_LEN, cmp_hash);
    uint8_t *want = calloc(n_b ? n_b : 1, RK_HASH_LEN);
    assert_non_null(want);
    for (size_t i = 0; i < n_b; i++)
        memcpy(want + i * RK_HASH_LEN, only_b + i * RK_ITEM_LEN + 8, RK_HASH_LEN);
    if (n_b) {
        qsort(want, n_b, RK_HASH_LEN, cmp_hash);
        assert_memory_equal(d->need, want, n_b * RK_HASH_LEN);
    }
    free(want);
}

static void run_case(size_t common, size_t only_a, size_t only_b, uint64_t seed, reconcile_stats *st)
{
    pair p;
    make_pair(&p, common, only_a, only_b, seed);
    rk_sync_diff d;
    rk_sync_diff_init(&d);
    reconcile(&p.a, &p.b, RK_SET_PUBLIC, &d, st);
    check_diff(&d, p.only_a, p.n_only_a, p.only_b, p.n_only_b);
    rk_sync_diff_free(&d);
    free_pair(&p);
}

/* ---- tests -------------------------------------------------------------------------------------- */

static void test_identical_one_round_trip(void **state)
{
    (void)state;
    reconcile_stats st;
    run_case(10000, 0, 0, 1, &st);
    assert_int_equal(st.round_trips, 1);
    /* the bounds on the wire are short prefixes, not whole items */
    assert_true(st.max_upper <= 8);
}

static void test_identical_small(void **state)
{
    (void)state;
    reconcile_stats st;
    run_case(5, 0, 0, 2, &st);
    assert_int_equal(st.round_trips, 1);
    run_case(0, 0, 0, 3, &st);
    assert_int_equal(st.round_trips, 1);
}

static void test_differences_both_sides(void **state)
{
    (void)state;
    reconcile_stats st;
    run_case(10000, 100, 50, 4, &st);
    assert_true(st.round_trips >= 2);
    assert_true(st.round_trips <= 8);
    /* far less than listing the sets: 10,000 items are 400 kB */
    assert_true(st.bytes_out + st.bytes_back < 150000);
    run_case(2000, 1, 0, 5, &st);
    run_case(2000, 0, 1, 6, &st);
    run_case(100, 7, 9, 7, &st);
}

static void test_empty_vs_full(void **state)
{
    (void)state;
    reconcile_stats st;
    run_case(0, 5000, 0, 8, &st); /* initiator full, responder empty */
    run_case(0, 0, 5000, 9, &st); /* initiator empty, responder full */
    assert_true(st.round_trips <= 3);
}

static void test_disjoint(void **state)
{
    (void)state;
    reconcile_stats st;
    run_case(0, 3000, 4000, 10, &st);
}

static void mset_add(mset *s, const uint8_t item[RK_ITEM_LEN])
{
    uint8_t *items = realloc(s->items, (s->count + 1) * RK_ITEM_LEN);
    assert_non_null(items);
    s->items = items;
    memcpy(s->items + s->count * RK_ITEM_LEN, item, RK_ITEM_LEN);
    s->count++;
    qsort(s->items, s->count, RK_ITEM_LEN, cmp_item);
}

/* A bounded diff keeps at most max_need/max_have differences and says it was truncated; acting on
 * what it kept and reconciling again converges, as a node catching up on millions does. */
static void test_bounded_diff(void **state)
{
    (void)state;
    pair p;
    make_pair(&p, 2000, 300, 500, 21);
    size_t passes = 0, fetched = 0, pushed = 0;
    for (;;) {
        rk_sync_diff d;
        rk_sync_diff_init(&d);
        d.max_need = 64;
        d.max_have = 50;
        reconcile_stats st;
        reconcile(&p.a, &p.b, RK_SET_PUBLIC, &d, &st);
        assert_true(d.n_need <= 64 && d.n_have <= 50);
        passes++;
        assert_true(passes <= 20);
        if (!d.truncated) {
            assert_int_equal(d.n_need, 500 - fetched);
            assert_int_equal(d.n_have, 300 - pushed);
        } else {
            assert_true(d.n_need == 64 || d.n_have == 50);
        }
        /* "fetch" what A needs from B and "push" what B lacks */
        for (size_t i = 0; i < d.n_need; i++) {
            const uint8_t *h = d.need + i * RK_HASH_LEN;
            size_t j = 0;
            while (j < p.b.count && memcmp(p.b.items + j * RK_ITEM_LEN + 8, h, RK_HASH_LEN) != 0)
                j++;
            assert_true(j < p.b.count);
            mset_add(&p.a, p.b.items + j * RK_ITEM_LEN);
        }
        for (size_t i = 0; i < d.n_have; i++)
            mset_add(&p.b, d.have + i * RK_ITEM_LEN);
        fetched += d.n_need;
        pushed += d.n_have;
        bool done = !d.truncated;
        rk_sync_diff_free(&d);
        if (done)
            break;
    }
    assert_int_equal(fetched, 500);
    assert_int_equal(pushed, 300);
    assert_true(passes >= 500 / 64);
    assert_int_equal(p.a.count, p.b.count);
    assert_memory_equal(p.a.items, p.b.items, p.a.count * RK_ITEM_LEN);
    free_pair(&p);
}

/* More than one message can carry: the frame limit forces extra rounds, never a wrong result. */
static void test_message_cap(void **state)
{
    (void)state;
    reconcile_stats st;
    size_t many = 3 * RK_SYNC_MAX_BYTES / RK_ITEM_LEN; /* the items of three full messages */
    run_case(1000, 0, many, 11, &st);
    assert_true(st.max_message <= RK_SYNC_MAX_BYTES);
    assert_true(st.round_trips >= 2 + 3); /* two rounds of splits, then at least three of items */
    run_case(20000, 2000, 2000, 12, &st);
    run_case(1000, many, 0, 13, &st);
    assert_true(st.max_message <= RK_SYNC_MAX_BYTES);
    /* A's listings beyond its first message are deferred as its fingerprints, which B, holding few
     * items there, answers by listing its own: A's items never all cross */
    assert_true(st.round_trips >= 2);
    assert_true(st.bytes_out + st.bytes_back < many * RK_ITEM_LEN / 2);
}

/* Many seeds, small sets: corner cases of splitting and bounds. */
static void test_many_small(void **state)
{
    (void)state;
    for (uint64_t seed = 100; seed < 160; seed++) {
        reconcile_stats st;
        uint64_t r = seed * 2654435761u;
        run_case(r % 300, (r >> 9) % 40, (r >> 17) % 40, seed, &st);
    }
}

/* Items that share long prefixes force long separators; the protocol must still be exact. */
static void test_shared_prefixes(void **state)
{
    (void)state;
    pair p;
    memset(&p, 0, sizeof p);
    fill(&p.a, 500);
    fill(&p.b, 450);
    p.only_a = calloc(50, RK_ITEM_LEN);
    p.only_b = calloc(1, RK_ITEM_LEN);
    assert_non_null(p.only_a);
    assert_non_null(p.only_b);
    p.n_only_a = 50;
    for (size_t i = 0; i < 500; i++) {
        uint8_t *it = p.a.items + i * RK_ITEM_LEN;
        memset(it, 0x42, RK_ITEM_LEN);
        it[38] = (uint8_t)(i >> 8);
        it[39] = (uint8_t)i;
    }
    /* a sorted; b = a without every tenth item */
    for (size_t i = 0, j = 0, k = 0; i < 500; i++) {
        if (i % 10 == 3)
            memcpy(p.only_a + k++ * RK_ITEM_LEN, p.a.items + i * RK_ITEM_LEN, RK_ITEM_LEN);
        else
            memcpy(p.b.items + j++ * RK_ITEM_LEN, p.a.items + i * RK_ITEM_LEN, RK_ITEM_LEN);
    }
    rk_sync_diff d;
    rk_sync_diff_init(&d);
    reconcile_stats st;
    reconcile(&p.a, &p.b, RK_SET_MEMBERS, &d, &st);
    check_diff(&d, p.only_a, 50, p.only_b, 0);
    assert_true(st.max_upper >= 39);
    rk_sync_diff_free(&d);
    rk_sync_diff_init(&d);
    reconcile(&p.b, &p.a, RK_SET_MEMBERS, &d, &st);
    check_diff(&d, NULL, 0, p.only_a, 50);
    rk_sync_diff_free(&d);
    free_pair(&p);
}

/* A summed set (prefix sums) answers every range with the fingerprint and count of the same items
 * summed one by one, and reconciles to the same exact differences. */
static void test_summed_set_matches_memory_set(void **state)
{
    (void)state;
    pair p;
    make_pair(&p, 3000, 40, 25, 31);
    rk_summed_set sa = {.set = p.a}, sb = {.set = p.b};
    rk_error err;
    assert_int_equal(rk_summed_set_init(&sa, &err), 0);
    assert_int_equal(rk_summed_set_init(&sb, &err), 0);
    rk_set_source plain = msrc(&p.a), summed;
    rk_set_source_from_summed(&summed, &sa);
    uint64_t st = 77;
    for (int i = 0; i < 2000; i++) {
        uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
        /* bounds among the items, random ones, empty and reversed ranges, and the whole space */
        if (i % 3 == 0)
            memcpy(lo, p.a.items + rk_test_rand(&st) % p.a.count * RK_ITEM_LEN, RK_ITEM_LEN);
        else
            rk_test_random_item(&st, lo);
        rk_test_random_item(&st, hi);
        if (i % 50 == 0) {
            memset(lo, 0, RK_ITEM_LEN);
            memset(hi, 0xff, RK_ITEM_LEN);
        }
        uint64_t n1, n2;
        uint8_t fp1[RK_FP_LEN], fp2[RK_FP_LEN];
        assert_int_equal(plain.fingerprint(plain.ctx, lo, hi, &n1, fp1, &err), 0);
        assert_int_equal(summed.fingerprint(summed.ctx, lo, hi, &n2, fp2, &err), 0);
        assert_int_equal(n1, n2);
        assert_memory_equal(fp1, fp2, RK_FP_LEN);
    }
    rk_set_source resp;
    rk_set_source_from_summed(&resp, &sb);
    rk_sync_diff d;
    rk_sync_diff_init(&d);
    reconcile_stats rs;
    if (reconcile_run(&summed, RK_SET_PUBLIC, reconcile_respond_from, &resp, &d, 1000, &rs, &err) != 0)
        fail_msg("%s: %s", err.code, err.message);
    check_diff(&d, p.only_a, p.n_only_a, p.only_b, p.n_only_b);
    rk_sync_diff_free(&d);
    rk_summed_set_free(&sa);
    rk_summed_set_free(&sb);
    free_pair(&p);
}

/* ---- malformed input ---------------------------------------------------------------------------- */

typedef struct mk {
    Renkei__Reconcile m;
    Renkei__SyncRange r[4];
    Renkei__SyncRange *rp[4];
    uint8_t up[4][48];
    uint8_t fp[4][RK_FP_LEN];
    uint8_t items[4][3 * RK_ITEM_LEN];
} mk;

/* A valid three-range message: FINGERPRINT [0, 10..), ITEMS [10.., 80..) with two items, SKIP to +inf. */
static void mk_valid(mk *k)
{
    memset(k, 0, sizeof *k);
    renkei__reconcile__init(&k->m);
    k->m.n_ranges = 3;
    k->m.ranges = k->rp;
    for (size_t i = 0; i < 4; i++) {
        renkei__sync_range__init(&k->r[i]);
        k->rp[i] = &k->r[i];
    }
    k->up[0][0] = 0x10;
    k->r[0].upper.data = k->up[0];
    k->r[0].upper.len = 1;
    k->r[0].mode = RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT;
    k->r[0].fingerprint.data = k->fp[0];
    k->r[0].fingerprint.len = RK_FP_LEN;
    k->r[0].count = 3;
    k->up[1][0] = 0x80;
    k->r[1].upper.data = k->up[1];
    k->r[1].upper.len = 1;
    k->r[1].mode = RENKEI__RANGE_MODE__RANGE_MODE_ITEMS;
    memset(k->items[1], 0x20, RK_ITEM_LEN);
    memset(k->items[1] + RK_ITEM_LEN, 0x30, RK_ITEM_LEN);
    k->r[1].items.data = k->items[1];
    k->r[1].items.len = 2 * RK_ITEM_LEN;
    k->r[2].mode = RENKEI__RANGE_MODE__RANGE_MODE_SKIP;
}

static void expect_code(mk *k, const char *code)
{
    rk_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(rk_sync_validate(&k->m, &err), -1);
    assert_string_equal(err.code, code);
    /* and process refuses it too, without a reply, as responder and as initiator */
    mset empty = {NULL, 0};
    rk_set_source src = msrc(&empty);
    Renkei__Reconcile *reply = (Renkei__Reconcile *)1;
    assert_int_equal(rk_sync_process(&src, false, &k->m, &reply, NULL, &err), -1);
    assert_null(reply);
    assert_string_equal(err.code, code);
    rk_sync_diff d;
    rk_sync_diff_init(&d);
    assert_int_equal(rk_sync_process(&src, true, &k->m, &reply, &d, &err), -1);
    assert_int_equal(d.n_need + d.n_have, 0);
    rk_sync_diff_free(&d);
}

static void test_malformed(void **state)
{
    (void)state;
    mk k;
    rk_error err;
    mk_valid(&k);
    assert_int_equal(rk_sync_validate(&k.m, &err), 0);

    mk_valid(&k);
    k.m.set = 7;
    expect_code(&k, "unknown_set");

    mk_valid(&k);
    k.m.n_ranges = 0;
    expect_code(&k, "malformed_range");

    mk_valid(&k);
    k.m.n_ranges = RK_SYNC_MAX_RANGES + 1;
    expect_code(&k, "too_many_ranges");

    mk_valid(&k);
    k.r[1].mode = 9;
    expect_code(&k, "unknown_mode");
    assert_int_equal(rk_sync_validate(&k.m, &err), -1);
    assert_string_equal(err.field, "ranges[1]"); /* the refusal names the range */
    mk_valid(&k);
    k.r[2].mode = RENKEI__RANGE_MODE__RANGE_MODE_UNSPECIFIED;
    expect_code(&k, "unknown_mode");

    mk_valid(&k); /* not ascending */
    k.up[1][0] = 0x10;
    expect_code(&k, "malformed_range");
    mk_valid(&k); /* descending */
    k.up[1][0] = 0x05;
    expect_code(&k, "malformed_range");
    mk_valid(&k); /* equal once padded: 10 == 10 00 */
    k.r[1].upper.len = 2;
    k.up[1][0] = 0x10;
    k.up[1][1] = 0x00;
    expect_code(&k, "malformed_range");
    mk_valid(&k); /* an empty first range */
    k.up[0][0] = 0;
    expect_code(&k, "malformed_range");
    mk_valid(&k); /* bound too long */
    k.r[1].upper.len = 41;
    expect_code(&k, "malformed_range");
    mk_valid(&k); /* last range does not reach infinity */
    k.up[2][0] = 0x90;
    k.r[2].upper.data = k.up[2];
    k.r[2].upper.len = 1;
    expect_code(&k, "malformed_range");
    mk_valid(&k); /* infinity before the end */
    k.r[1].upper.len = 0;
    expect_code(&k, "malformed_range");
    mk_valid(&k); /* the reserved bound */
    memset(k.up[1], 0xff, RK_ITEM_LEN);
    k.r[1].upper.len = RK_ITEM_LEN;
    expect_code(&k, "malformed_range");

    mk_valid(&k);
    k.r[0].fingerprint.len = 15;
    expect_code(&k, "bad_fingerprint");
    mk_valid(&k);
    k.r[0].fingerprint.len = 0;
    expect_code(&k, "bad_fingerprint");
    mk_valid(&k);
    k.r[0].count = UINT64_MAX;
    expect_code(&k, "bad_count");
    mk_valid(&k); /* fingerprint on a SKIP range */
    k.r[2].fingerprint.data = k.fp[0];
    k.r[2].fingerprint.len = RK_FP_LEN;
    expect_code(&k, "malformed_range");
    mk_valid(&k); /* items on a FINGERPRINT range */
    k.r[0].items.data = k.items[1];
    k.r[0].items.len = RK_ITEM_LEN;
    expect_code(&k, "malformed_range");

    mk_valid(&k);
    k.r[1].items.len = 39;
    expect_code(&k, "bad_items");
    mk_valid(&k); /* not ascending */
    memset(k.items[1] + RK_ITEM_LEN, 0x20, RK_ITEM_LEN);
    expect_code(&k, "bad_items");
    mk_valid(&k); /* below the range's lower bound 10 */
    memset(k.items[1], 0x0f, RK_ITEM_LEN);
    expect_code(&k, "bad_items");
    mk_valid(&k); /* at the upper bound 80 00.. (exclusive) */
    memset(k.items[1] + RK_ITEM_LEN, 0, RK_ITEM_LEN);
    k.items[1][RK_ITEM_LEN] = 0x80;
    expect_code(&k, "bad_items");

    /* too many items in one message: a valid ascending list just over the limit */
    mk_valid(&k);
    size_t n = RK_SYNC_MAX_IN_ITEMS + 1;
    uint8_t *many = calloc(n, RK_ITEM_LEN);
    assert_non_null(many);
    for (size_t i = 0; i < n; i++) {
        many[i * RK_ITEM_LEN] = 0x20;
        rk_put_be64(many + i * RK_ITEM_LEN + 32, i);
    }
    k.r[1].items.data = many;
    k.r[1].items.len = n * RK_ITEM_LEN;
    expect_code(&k, "too_many_items");
    free(many);
}

/* Garbage bytes never decode into something that process accepts wrongly or crashes on. */
static void test_wire_garbage(void **state)
{
    (void)state;
    uint64_t st = 99;
    mset empty = {NULL, 0};
    rk_set_source src = msrc(&empty);
    for (int i = 0; i < 2000; i++) {
        uint8_t buf[128];
        size_t len = rk_test_rand(&st) % sizeof buf;
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)rk_test_rand(&st);
        Renkei__Reconcile *m = renkei__reconcile__unpack(NULL, len, buf);
        if (!m)
            continue;
        Renkei__Reconcile *reply = NULL;
        rk_error err;
        if (rk_sync_process(&src, false, m, &reply, NULL, &err) == 0)
            assert_non_null(reply);
        rk_sync_free_message(reply);
        renkei__reconcile__free_unpacked(m, NULL);
    }
}

/* The responder answers a message that agrees everywhere with SKIP only; the initiator then stops. */
static void test_skip_reply_ends(void **state)
{
    (void)state;
    mk k;
    mk_valid(&k);
    k.m.n_ranges = 1;
    k.r[0].upper.len = 0;
    k.r[0].mode = RENKEI__RANGE_MODE__RANGE_MODE_SKIP;
    k.r[0].fingerprint.len = 0;
    k.r[0].count = 0;
    mset empty = {NULL, 0};
    rk_set_source src = msrc(&empty);
    rk_error err;
    Renkei__Reconcile *reply = NULL;
    assert_int_equal(rk_sync_process(&src, false, &k.m, &reply, NULL, &err), 0);
    assert_non_null(reply);
    assert_int_equal(reply->n_ranges, 1);
    assert_int_equal(reply->ranges[0]->mode, RENKEI__RANGE_MODE__RANGE_MODE_SKIP);
    rk_sync_free_message(reply);
    rk_sync_diff d;
    rk_sync_diff_init(&d);
    assert_int_equal(rk_sync_process(&src, true, &k.m, &reply, &d, &err), 0);
    assert_null(reply);
    rk_sync_diff_free(&d);
}

/* ---- the fingerprint itself ------------------------------------------------------------------- */

/* rk_fpdigest against the one-shot SHA-256 of sum || le64(count), on this thread's context; a
 * context shared between threads or left in a wrong state would hash wrong bytes. */
static void *digest_many(void *arg)
{
    uint64_t st = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < 2000; i++) {
        uint8_t buf[40], want[RK_HASH_LEN], fp[RK_FPDIGEST_LEN];
        for (int k = 0; k < 40; k++)
            buf[k] = (uint8_t)rk_test_rand(&st);
        uint64_t count = 0;
        for (int k = 7; k >= 0; k--)
            count = (count << 8) | buf[32 + k];
        rk_sha256(buf, sizeof buf, want);
        rk_fpdigest(buf, count, fp);
        if (memcmp(fp, want, sizeof fp) != 0)
            return (void *)1;
    }
    return NULL;
}

/* The fingerprint is the wire's: its bytes must never change, whatever computes them (older peers
 * compare them with theirs). Known answers from Python's hashlib, then random inputs on three
 * threads at once. */
static void test_fingerprint_definition(void **state)
{
    (void)state;
    static const uint8_t empty[16] = {0x2c, 0x34, 0xce, 0x1d, 0xf2, 0x3b, 0x83, 0x8c,
                                      0x5a, 0xbf, 0x2a, 0x7f, 0x64, 0x37, 0xcc, 0xa3};
    static const uint8_t counted[16] = {0xb2, 0x17, 0xf0, 0xba, 0x40, 0xe2, 0xd1, 0x5c,
                                        0x66, 0x3b, 0xe0, 0x12, 0xa6, 0x4d, 0x66, 0xd7};
    uint8_t sum[32] = {0}, fp[RK_FPDIGEST_LEN];
    rk_fpdigest(sum, 0, fp);
    assert_memory_equal(fp, empty, sizeof fp);
    for (int i = 0; i < 32; i++)
        sum[i] = (uint8_t)i;
    rk_fpdigest(sum, 1000000, fp);
    assert_memory_equal(fp, counted, sizeof fp);
    /* an empty range of a set source: sum 0, count 0 */
    mset none = {NULL, 0};
    rk_set_source src = msrc(&none);
    uint8_t lo[RK_ITEM_LEN] = {0}, hi[RK_ITEM_LEN];
    memset(hi, 0xff, sizeof hi);
    uint64_t count = 1;
    rk_error err;
    assert_int_equal(src.fingerprint(src.ctx, lo, hi, &count, fp, &err), 0);
    assert_int_equal(count, 0);
    assert_memory_equal(fp, empty, sizeof fp);
    pthread_t th[3];
    for (uintptr_t i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, digest_many, (void *)(i + 1)), 0);
    for (int i = 0; i < 3; i++) {
        void *bad;
        assert_int_equal(pthread_join(th[i], &bad), 0);
        assert_null(bad);
    }
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_identical_one_round_trip),
                        cmocka_unit_test(test_identical_small), cmocka_unit_test(test_differences_both_sides),
                        cmocka_unit_test(test_empty_vs_full), cmocka_unit_test(test_disjoint),
                        cmocka_unit_test(test_bounded_diff), cmocka_unit_test(test_message_cap),
                        cmocka_unit_test(test_many_small), cmocka_unit_test(test_shared_prefixes),
                        cmocka_unit_test(test_summed_set_matches_memory_set), cmocka_unit_test(test_malformed),
                        cmocka_unit_test(test_wire_garbage), cmocka_unit_test(test_skip_reply_ends),
                        cmocka_unit_test(test_fingerprint_definition));
}
