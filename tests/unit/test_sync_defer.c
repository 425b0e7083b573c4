/* test_sync_defer: what a side does with the differing ranges its message has no room to split or
 * list (docs/reconciliation.md, *Frame limit*). It answers each over its own bounds with its own
 * fingerprint (deferred), so the partition stays aligned and nothing the other side settled (sent as
 * SKIP) is ever covered by one of its ranges again: a range covered again would be listed and
 * recorded twice. Only a message with more ranges than renkei sends (an older node's) may end with
 * the rest of the space as one range, and even then its SKIPs stay SKIPs while they fit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reconcile_run.h"
#include "run_tests.h"
#include "sync.h"
#include "testrand.h"

/* What renkei's own messages leave free (lib/sync.c): the other side can answer each range with one
 * and still split its first differing range. */
#define OUR_MAX_RANGES (RK_SYNC_MAX_RANGES - 2 * RK_SYNC_BRANCH - 2)

static int cmp_item(const void *a, const void *b)
{
    return memcmp(a, b, RK_ITEM_LEN);
}

/* n random items, sorted, with prefix sums (fast fingerprints at 100,000 items). */
static void summed(rk_summed_set *s, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    s->set.count = n;
    s->set.items = malloc(n * RK_ITEM_LEN + 1);
    assert_non_null(s->set.items);
    for (size_t i = 0; i < n; i++)
        rk_test_random_item(&st, s->set.items + i * RK_ITEM_LEN);
    qsort(s->set.items, n, RK_ITEM_LEN, cmp_item);
    rk_error err;
    assert_int_equal(rk_summed_set_init(s, &err), 0);
}

static void summed_free(rk_summed_set *s)
{
    free(s->set.items);
    rk_summed_set_free(s);
}

/* ---- a message made by hand ------------------------------------------------------------------- */

/* An incoming message over s: range k ends before item (k + 1) * width (the last at +infinity);
 * mode_of(k) chooses each range's mode. FINGERPRINT ranges carry a fingerprint that matches nothing
 * and the count `count`, so each differs from ours. */
typedef struct handmade {
    Renkei__Reconcile m;
    Renkei__SyncRange *r;
    Renkei__SyncRange **rp;
    uint8_t fp[RK_FP_LEN];
} handmade;

typedef Renkei__RangeMode (*mode_fn)(size_t k);

static void handmade_make(handmade *h, const rk_memory_set *s, size_t n, size_t width, uint64_t count, mode_fn mode_of)
{
    assert_true(n * width <= s->count);
    renkei__reconcile__init(&h->m);
    h->r = calloc(n, sizeof *h->r);
    h->rp = calloc(n, sizeof *h->rp);
    assert_non_null(h->r);
    assert_non_null(h->rp);
    memset(h->fp, 0xA5, sizeof h->fp);
    for (size_t k = 0; k < n; k++) {
        Renkei__SyncRange *r = &h->r[k];
        renkei__sync_range__init(r);
        if (k + 1 < n) {
            r->upper.data = s->items + (k + 1) * width * RK_ITEM_LEN; /* a whole item as the bound */
            r->upper.len = RK_ITEM_LEN;
        }
        r->mode = mode_of(k);
        if (r->mode == RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT) {
            r->fingerprint.data = h->fp;
            r->fingerprint.len = RK_FP_LEN;
            r->count = count;
        }
        h->rp[k] = r;
    }
    h->m.ranges = h->rp;
    h->m.n_ranges = n;
    rk_error err;
    assert_int_equal(rk_sync_validate(&h->m, &err), 0);
}

static void handmade_free(handmade *h)
{
    free(h->r);
    free(h->rp);
}

static void bound_of(const ProtobufCBinaryData *u, uint8_t out[RK_ITEM_LEN])
{
    if (u->len == 0) {
        memset(out, 0xff, RK_ITEM_LEN);
        return;
    }
    memset(out, 0, RK_ITEM_LEN);
    memcpy(out, u->data, u->len);
}

/* The index of the reply range that holds the point x (its lower bound <= x < its upper). */
static size_t range_at(const Renkei__Reconcile *reply, const uint8_t x[RK_ITEM_LEN])
{
    for (size_t j = 0; j < reply->n_ranges; j++) {
        uint8_t hi[RK_ITEM_LEN];
        bound_of(&reply->ranges[j]->upper, hi);
        if (memcmp(x, hi, RK_ITEM_LEN) < 0)
            return j;
    }
    fail_msg("the reply does not cover the space");
    return 0;
}

/* Every SKIP range of `in` is covered by one SKIP range of the reply, and (with `aligned`) every
 * bound of `in` is a bound of the reply. */
static void check_skips_kept(const Renkei__Reconcile *in, const Renkei__Reconcile *reply, bool aligned)
{
    uint8_t lo[RK_ITEM_LEN] = {0};
    for (size_t k = 0; k < in->n_ranges; k++) {
        uint8_t hi[RK_ITEM_LEN];
        bound_of(&in->ranges[k]->upper, hi);
        if (in->ranges[k]->mode == RENKEI__RANGE_MODE__RANGE_MODE_SKIP) {
            size_t j = range_at(reply, lo);
            assert_int_equal(reply->ranges[j]->mode, RENKEI__RANGE_MODE__RANGE_MODE_SKIP);
            uint8_t up[RK_ITEM_LEN];
            bound_of(&reply->ranges[j]->upper, up);
            assert_true(memcmp(up, hi, RK_ITEM_LEN) >= 0);
        }
        if (aligned && k + 1 < in->n_ranges) {
            size_t j = range_at(reply, hi);
            uint8_t below[RK_ITEM_LEN];
            if (j == 0)
                fail_msg("bound %zu inside the first reply range", k);
            bound_of(&reply->ranges[j - 1]->upper, below);
            assert_memory_equal(below, hi, RK_ITEM_LEN);
        }
        memcpy(lo, hi, RK_ITEM_LEN);
    }
}

static Renkei__Reconcile *answer(rk_summed_set *s, const Renkei__Reconcile *in)
{
    rk_set_source src;
    rk_set_source_from_summed(&src, s);
    Renkei__Reconcile *reply = NULL;
    rk_error err;
    if (rk_sync_process(&src, false, in, &reply, NULL, &err) != 0)
        fail_msg("%s: %s", err.code, err.message);
    assert_non_null(reply);
    assert_int_equal(rk_sync_validate(reply, &err), 0);
    assert_true(reply->n_ranges <= RK_SYNC_MAX_RANGES);
    assert_true(renkei__reconcile__get_packed_size(reply) <= RK_SYNC_MAX_BYTES);
    return reply;
}

static Renkei__RangeMode fp_skip(size_t k)
{
    return k % 2 ? RENKEI__RANGE_MODE__RANGE_MODE_SKIP : RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT;
}

static Renkei__RangeMode ten_fp_one_skip(size_t k)
{
    return k % 11 == 10 ? RENKEI__RANGE_MODE__RANGE_MODE_SKIP : RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT;
}

/* A set of 200,000 items, a message of n ranges of `width` items over it, and our answer. */
typedef struct answered {
    rk_summed_set s;
    handmade h;
    Renkei__Reconcile *reply;
} answered;

static void answered_make(answered *a, uint64_t seed, size_t n, size_t width, mode_fn mode_of)
{
    summed(&a->s, 200000, seed);
    handmade_make(&a->h, &a->s.set, n, width, width, mode_of);
    a->reply = answer(&a->s, &a->h.m);
    check_skips_kept(&a->h.m, a->reply, false);
}

static void answered_free(answered *a)
{
    rk_sync_free_message(a->reply);
    handmade_free(&a->h);
    summed_free(&a->s);
}

/* ---- tests ------------------------------------------------------------------------------------ */

/* 5,000 ranges of 40 items, every other one differing: splitting all 2,500 would take 40,000 ranges.
 * The first is split, the others that do not fit keep their bounds with our fingerprint, the SKIPs
 * stay, and the reply leaves the other side room to answer range by range. */
static void test_deferred_keep_bounds(void **state)
{
    (void)state;
    answered a;
    answered_make(&a, 7, 5000, 40, fp_skip);
    const Renkei__Reconcile *in = &a.h.m, *reply = a.reply;
    assert_true(reply->n_ranges <= OUR_MAX_RANGES);
    check_skips_kept(in, reply, true);
    /* the first range was split into RK_SYNC_BRANCH */
    uint8_t first_hi[RK_ITEM_LEN];
    bound_of(&in->ranges[0]->upper, first_hi);
    assert_int_equal(range_at(reply, first_hi), RK_SYNC_BRANCH);
    /* the last differing range was deferred: one range, our own count and fingerprint of it */
    size_t last = in->n_ranges - 2; /* 4998: FINGERPRINT */
    assert_int_equal(in->ranges[last]->mode, RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT);
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
    bound_of(&in->ranges[last - 1]->upper, lo);
    bound_of(&in->ranges[last]->upper, hi);
    size_t j = range_at(reply, lo);
    assert_int_equal(reply->ranges[j]->mode, RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT);
    rk_set_source src;
    rk_set_source_from_summed(&src, &a.s);
    uint64_t count;
    uint8_t fp[RK_FP_LEN];
    rk_error err;
    assert_int_equal(src.fingerprint(src.ctx, lo, hi, &count, fp, &err), 0);
    assert_int_equal(reply->ranges[j]->count, count);
    assert_memory_equal(reply->ranges[j]->fingerprint.data, fp, RK_FP_LEN);
    answered_free(&a);
}

/* A message of 8,184 ranges (more than renkei sends): after the first split the rest no longer fits
 * range by range, so each stretch of differing ranges becomes one fingerprint, but the SKIPs between
 * them stay SKIPs. */
static void test_oversized_message_keeps_skips(void **state)
{
    (void)state;
    answered a;
    answered_make(&a, 8, 8184, 20, ten_fp_one_skip);
    assert_true(a.reply->n_ranges < a.h.m.n_ranges / 4); /* the stretches were merged */
    answered_free(&a);
}

/* The 1% case at 100,000 with the differences spread over the whole set: exact both ways, no message
 * over what leaves the other side room, and about half the round trips of collapsing the rest of
 * the space whenever a message is full (22 then, docs/benchmarks.md). */
static void test_spread_differences(void **state)
{
    (void)state;
    rk_summed_set a, b;
    uint64_t st = 9;
    size_t common = 100000, only_a = 10000, only_b = 5000;
    a.set.count = common + only_a;
    b.set.count = common + only_b;
    a.set.items = malloc(a.set.count * RK_ITEM_LEN);
    b.set.items = malloc(b.set.count * RK_ITEM_LEN);
    assert_non_null(a.set.items);
    assert_non_null(b.set.items);
    for (size_t i = 0; i < common; i++) {
        rk_test_random_item(&st, a.set.items + i * RK_ITEM_LEN);
        memcpy(b.set.items + i * RK_ITEM_LEN, a.set.items + i * RK_ITEM_LEN, RK_ITEM_LEN);
    }
    for (size_t i = common; i < a.set.count; i++)
        rk_test_random_item(&st, a.set.items + i * RK_ITEM_LEN);
    for (size_t i = common; i < b.set.count; i++)
        rk_test_random_item(&st, b.set.items + i * RK_ITEM_LEN);
    qsort(a.set.items, a.set.count, RK_ITEM_LEN, cmp_item);
    qsort(b.set.items, b.set.count, RK_ITEM_LEN, cmp_item);
    rk_error err;
    assert_int_equal(rk_summed_set_init(&a, &err), 0);
    assert_int_equal(rk_summed_set_init(&b, &err), 0);
    for (int dir = 0; dir < 2; dir++) {
        rk_summed_set *init = dir ? &b : &a, *resp = dir ? &a : &b;
        rk_set_source si, sr;
        rk_set_source_from_summed(&si, init);
        rk_set_source_from_summed(&sr, resp);
        rk_sync_diff d;
        rk_sync_diff_init(&d);
        reconcile_stats rs;
        if (reconcile_run(&si, RK_SET_PUBLIC, reconcile_respond_from, &sr, &d, 1000, &rs, &err) != 0)
            fail_msg("%s: %s", err.code, err.message);
        assert_int_equal(d.n_have, dir ? only_b : only_a);
        assert_int_equal(d.n_need, dir ? only_a : only_b);
        /* no duplicates: every have is in the initiator's set and not the responder's, once */
        qsort(d.have, d.n_have, RK_ITEM_LEN, cmp_item);
        for (size_t i = 0; i < d.n_have; i++) {
            const uint8_t *it = d.have + i * RK_ITEM_LEN;
            assert_true(i == 0 || memcmp(it - RK_ITEM_LEN, it, RK_ITEM_LEN) < 0);
            assert_null(bsearch(it, resp->set.items, resp->set.count, RK_ITEM_LEN, cmp_item));
            assert_non_null(bsearch(it, init->set.items, init->set.count, RK_ITEM_LEN, cmp_item));
        }
        assert_true(rs.max_ranges <= OUR_MAX_RANGES);
        assert_true(rs.max_message <= RK_SYNC_MAX_BYTES);
        assert_true(rs.round_trips <= 12);
        rk_sync_diff_free(&d);
    }
    summed_free(&a);
    summed_free(&b);
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_deferred_keep_bounds),
                        cmocka_unit_test(test_oversized_message_keeps_skips),
                        cmocka_unit_test(test_spread_differences));
}
