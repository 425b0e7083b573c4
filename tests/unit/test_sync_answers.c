/* test_sync_answers: how a node answers the ranges of an incoming Reconcile, checked range by range
 * against the definitions of docs/reconciliation.md rather than by the end result of a whole
 * reconciliation. lib/sync.c computes the same answers in two ways (a split from one pass over a
 * small range's items or from a descent per bound; consecutive fingerprints from one pass over their
 * items or from the set's fingerprint per range); every way must give exactly the defined answer:
 * SKIP where count and fingerprint agree, ITEMS with all own items where either count is at most
 * 16, otherwise 16 sub-ranges of equal count with the shortest separating bounds.
 * The reference fingerprints come from the in-memory set, which sums item by item.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sync.h"
#include "testrand.h"

static int cmp_item(const void *a, const void *b)
{
    return memcmp(a, b, RK_ITEM_LEN);
}

/* n distinct random items, ascending. */
static void make_set(rk_memory_set *s, size_t n, uint64_t seed)
{
    s->count = n;
    s->items = calloc(n ? n : 1, RK_ITEM_LEN);
    assert_non_null(s->items);
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++)
        rk_test_random_item(&st, s->items + i * RK_ITEM_LEN);
    qsort(s->items, n, RK_ITEM_LEN, cmp_item);
    for (size_t i = 1; i < n; i++)
        assert_true(memcmp(s->items + (i - 1) * RK_ITEM_LEN, s->items + i * RK_ITEM_LEN, RK_ITEM_LEN) < 0);
}

static void bound_of(const ProtobufCBinaryData *u, uint8_t out[RK_ITEM_LEN])
{
    memset(out, u->len ? 0 : 0xff, RK_ITEM_LEN);
    if (u->len) /* an empty bound (+infinity) has no data */
        memcpy(out, u->data, u->len);
}

/* Index of the first item >= k. */
static size_t rank_of(const rk_memory_set *s, const uint8_t k[RK_ITEM_LEN])
{
    size_t i = 0;
    while (i < s->count && memcmp(s->items + i * RK_ITEM_LEN, k, RK_ITEM_LEN) < 0)
        i++;
    return i;
}

static void reference(rk_memory_set *s, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], uint64_t *count,
                      uint8_t fp[RK_FP_LEN])
{
    rk_set_source ref;
    rk_set_source_from_memory(&ref, s);
    rk_error err;
    assert_int_equal(ref.fingerprint(ref.ctx, lo, hi, count, fp, &err), 0);
}

/* The reply's ranges [from, to) cover exactly [lo, hi) split by the definition: 16 sub-ranges of s's
 * items in it, the k-th starting at rank floor(c*k/16), bounds the shortest separating prefixes,
 * each with its count and reference fingerprint. */
static void check_split(rk_memory_set *s, const Renkei__Reconcile *reply, size_t from, size_t to,
                        const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN])
{
    size_t first = rank_of(s, lo), c = rank_of(s, hi) - first;
    assert_true(c > RK_SYNC_ITEMS_THRESHOLD);
    assert_int_equal(to - from, RK_SYNC_BRANCH);
    uint8_t sub_lo[RK_ITEM_LEN], sub_hi[RK_ITEM_LEN];
    memcpy(sub_lo, lo, RK_ITEM_LEN);
    for (size_t k = 1; k <= RK_SYNC_BRANCH; k++) {
        const Renkei__SyncRange *r = reply->ranges[from + k - 1];
        assert_int_equal(r->mode, RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT);
        bound_of(&r->upper, sub_hi);
        if (k < RK_SYNC_BRANCH) {
            size_t at = first + c * k / RK_SYNC_BRANCH;
            const uint8_t *prev = s->items + (at - 1) * RK_ITEM_LEN, *next = s->items + at * RK_ITEM_LEN;
            size_t common = 0;
            while (prev[common] == next[common])
                common++;
            assert_int_equal(r->upper.len, common + 1);
            assert_memory_equal(r->upper.data, next, common + 1);
        } else {
            assert_memory_equal(sub_hi, hi, RK_ITEM_LEN);
        }
        uint64_t want_count;
        uint8_t want_fp[RK_FP_LEN];
        reference(s, sub_lo, sub_hi, &want_count, want_fp);
        assert_int_equal(r->count, want_count);
        assert_int_equal(r->fingerprint.len, RK_FP_LEN);
        assert_memory_equal(r->fingerprint.data, want_fp, RK_FP_LEN);
        memcpy(sub_lo, sub_hi, RK_ITEM_LEN);
    }
}

/* ---- an incoming message of FINGERPRINT ranges ---------------------------------------------------- */

typedef struct inmsg {
    Renkei__Reconcile m;
    Renkei__SyncRange *r;
    Renkei__SyncRange **rp;
    uint8_t (*up)[RK_ITEM_LEN];
    uint8_t (*fp)[RK_FP_LEN];
} inmsg;

/* n FINGERPRINT ranges; range i ends before s's item at index ends[i] (the last at +infinity), with
 * s's count and fingerprint of its items. */
static void inmsg_make(inmsg *k, rk_memory_set *s, const size_t *ends, size_t n)
{
    renkei__reconcile__init(&k->m);
    k->r = calloc(n, sizeof *k->r);
    k->rp = calloc(n, sizeof *k->rp);
    k->up = calloc(n, sizeof *k->up);
    k->fp = calloc(n, sizeof *k->fp);
    assert_true(k->r && k->rp && k->up && k->fp);
    k->m.ranges = k->rp;
    k->m.n_ranges = n;
    uint8_t lo[RK_ITEM_LEN] = {0}, hi[RK_ITEM_LEN];
    for (size_t i = 0; i < n; i++) {
        renkei__sync_range__init(&k->r[i]);
        k->rp[i] = &k->r[i];
        if (i + 1 < n) {
            memcpy(k->up[i], s->items + ends[i] * RK_ITEM_LEN, RK_ITEM_LEN);
            k->r[i].upper.data = k->up[i];
            k->r[i].upper.len = RK_ITEM_LEN;
        }
        bound_of(&k->r[i].upper, hi);
        k->r[i].mode = RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT;
        reference(s, lo, hi, &k->r[i].count, k->fp[i]);
        k->r[i].fingerprint.data = k->fp[i];
        k->r[i].fingerprint.len = RK_FP_LEN;
        memcpy(lo, hi, RK_ITEM_LEN);
    }
}

static void inmsg_free(inmsg *k)
{
    free(k->r);
    free(k->rp);
    free(k->up);
    free(k->fp);
}

/* Answers k from s and checks every incoming range's answer against the definition. */
static void answer_and_check(rk_memory_set *s, inmsg *k)
{
    rk_set_source src;
    rk_set_source_from_memory(&src, s);
    Renkei__Reconcile *reply = NULL;
    rk_error err;
    if (rk_sync_process(&src, false, &k->m, &reply, NULL, &err) != 0)
        fail_msg("%s: %s", err.code, err.message);
    assert_non_null(reply);
    assert_int_equal(rk_sync_validate(reply, &err), 0);
    size_t j = 0; /* the reply's range that holds the lower bound of incoming range i */
    uint8_t lo[RK_ITEM_LEN] = {0}, hi[RK_ITEM_LEN], rhi[RK_ITEM_LEN];
    for (size_t i = 0; i < k->m.n_ranges; i++) {
        const Renkei__SyncRange *in = k->m.ranges[i];
        bound_of(&in->upper, hi);
        uint64_t count;
        uint8_t fp[RK_FP_LEN];
        reference(s, lo, hi, &count, fp);
        assert_true(j < reply->n_ranges);
        const Renkei__SyncRange *r = reply->ranges[j];
        bound_of(&r->upper, rhi);
        if (count == in->count && memcmp(fp, in->fingerprint.data, RK_FP_LEN) == 0) {
            assert_int_equal(r->mode, RENKEI__RANGE_MODE__RANGE_MODE_SKIP);
            assert_true(memcmp(rhi, hi, RK_ITEM_LEN) >= 0); /* SKIPs are merged */
        } else if (count <= RK_SYNC_ITEMS_THRESHOLD || in->count <= RK_SYNC_ITEMS_THRESHOLD) {
            assert_int_equal(r->mode, RENKEI__RANGE_MODE__RANGE_MODE_ITEMS);
            assert_memory_equal(rhi, hi, RK_ITEM_LEN);
            assert_int_equal(r->items.len, count * RK_ITEM_LEN);
            if (count)
                assert_memory_equal(r->items.data, s->items + rank_of(s, lo) * RK_ITEM_LEN, r->items.len);
        } else {
            check_split(s, reply, j, j + RK_SYNC_BRANCH, lo, hi);
            j += RK_SYNC_BRANCH - 1;
            bound_of(&reply->ranges[j]->upper, rhi);
        }
        if (memcmp(rhi, hi, RK_ITEM_LEN) == 0)
            j++;
        memcpy(lo, hi, RK_ITEM_LEN);
    }
    assert_int_equal(j, reply->n_ranges);
    rk_sync_free_message(reply);
}

/* ---- tests -------------------------------------------------------------------------------------- */

/* A differing range is split by the definition, whether it is small enough to be split from one
 * pass over its items (up to 4,096) or needs a descent per bound. */
static void test_split_by_definition(void **state)
{
    (void)state;
    static const size_t sizes[] = {17, 31, 100, 1000, 4095, 4096, 4097, 6000};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        rk_memory_set s;
        make_set(&s, sizes[t], 1000 + t);
        size_t end = 0;
        inmsg k;
        inmsg_make(&k, &s, &end, 1);
        k.fp[0][0] ^= 1; /* differs; both counts are over 16, so it is split */
        answer_and_check(&s, &k);
        inmsg_free(&k);
        free(s.items);
    }
}

/* Runs of consecutive FINGERPRINT ranges, some agreeing and some not, small and large: every range
 * gets the answer its own count and fingerprint call for. */
static void test_runs_of_fingerprints(void **state)
{
    (void)state;
    rk_memory_set s;
    make_set(&s, 30000, 7);
    uint64_t st = 99;
    for (int round = 0; round < 6; round++) {
        size_t ends[400], n = 0, at = 0;
        while (n < 399 && at < s.count) {
            size_t width = round == 5 && n % 50 == 3 ? 500 : 1 + rk_test_rand(&st) % (round < 3 ? 20 : 60);
            at += width;
            if (at >= s.count)
                break;
            ends[n++] = at;
        }
        ends[n++] = s.count; /* the last range ends at +infinity */
        inmsg k;
        inmsg_make(&k, &s, ends, n);
        for (size_t i = 0; i < n; i++) {
            if (rk_test_rand(&st) % 4 == 0)
                k.fp[i][5] ^= 0x40; /* this range differs */
            if (round == 2 && i % 9 == 0)
                k.r[i].count++; /* the count alone differs */
        }
        answer_and_check(&s, &k);
        inmsg_free(&k);
    }
    free(s.items);
}

/* A sender that understates its counts makes the one pass stop early (after twice what the counts
 * announce); the ranges before the stop keep their answers and the rest are answered one by one. */
static void test_understated_counts(void **state)
{
    (void)state;
    rk_memory_set s;
    make_set(&s, 21000, 8);
    for (size_t big = 0; big < 12; big += 11) {
        size_t ends[64], n = 0, at = 0;
        for (; n < 63; n++) {
            at += n == big ? 20000 : 10;
            ends[n] = at;
        }
        ends[n++] = s.count;
        inmsg k;
        inmsg_make(&k, &s, ends, n);
        k.r[big].count = 0; /* 20,000 items announced as none: listed */
        k.fp[big + 1][0] ^= 1;
        answer_and_check(&s, &k);
        inmsg_free(&k);
    }
    free(s.items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_by_definition),
        cmocka_unit_test(test_runs_of_fingerprints),
        cmocka_unit_test(test_understated_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
