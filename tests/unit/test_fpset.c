/* Tests of lib/fpset.c's read paths against the set itself: every count, fingerprint and nth item a
 * read transaction answers (through its memo of bounds, the nodes of the trie it keeps and the pairs
 * of items its split descents remember) equals a brute-force sum over the items the set lists in that
 * transaction, before and after commits that add, replace, tombstone and remove records, while an
 * older read transaction stays open; transactions share the trie nodes they read only while no
 * write changes a set; and a reconciliation between two stores finds exactly the records that
 * differ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "fpcache.h"
#include "reconcile_run.h"
#include "run_tests.h"
#include "sync.h"
#include "testrand.h"

#define PUBLIC RENKEI__VISIBILITY__VISIBILITY_PUBLIC
#define NETWORK RENKEI__VISIBILITY__VISIBILITY_NETWORK

/* Versions crowd into a few seconds so that buckets of every size occur at every level: some hold
 * hundreds of items, most a few. The deep tests spread them over about 14 hours instead, so that
 * each 4.6-hour bucket holds about a thousand items under some 250 children of the 65-second byte:
 * the level kept strided (lib/fpcache.h), whose sibling sums mix kept sums and cursor steps. */
#define BASE_VERSION UINT64_C(1700000000000)
#define SPREAD_MS 4000
#define DEEP_SPREAD_MS (UINT64_C(3) << 24)

static uint64_t spread_ms = SPREAD_MS; /* what the running test spreads its versions over */

typedef struct fixture {
    fx_store s, peer;
    fx_author a;
} fixture;

static int setup(void **state)
{
    fixture *f = fx_state_new(state, sizeof *f);
    fx_store_open(&f->s, "fpset", 0);
    fx_store_open(&f->peer, "fpset-peer", 0);
    fx_author_init(&f->a);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_store_close(&f->s);
    fx_store_close(&f->peer);
    fx_author_free(&f->a);
    free(f);
    return 0;
}

/* A case record rid-<i> of this version and visibility, put through t. */
static void put_case(fixture *f, rk_txn *t, const char *prefix, unsigned i, uint64_t version, int vis, bool tombstone)
{
    char rid[48];
    snprintf(rid, sizeof rid, "%s-%u", prefix, i);
    rk_record rec;
    if (tombstone)
        fx_seal_tombstone(&f->a, rid, version, vis, &rec);
    else
        fx_seal_case(&f->a, rid, version, vis, rid, &rec);
    rk_put_result res;
    rk_error err;
    assert_int_equal(rk_store_put(t, &rec, &res, NULL, &err), 0);
    rk_record_free(&rec);
}

static void expect_range(rk_txn *t, int set, const fx_listing *l, const uint8_t *lo, const uint8_t *hi)
{
    uint64_t count, want;
    uint8_t fp[RK_FP_LEN], want_fp[RK_FP_LEN];
    rk_error err;
    assert_int_equal(rk_store_set_fingerprint(t, set, lo, hi, &count, fp, &err), 0);
    /* the memory set sums its items one by one: the reference for the index */
    rk_memory_set ms = {l->items, l->n};
    rk_set_source ref;
    rk_set_source_from_memory(&ref, &ms);
    assert_int_equal(ref.fingerprint(ref.ctx, lo, hi, &want, want_fp, &err), 0);
    assert_int_equal(count, want);
    assert_memory_equal(fp, want_fp, RK_FP_LEN);
}

/* A bound: a listed item, or one changed in a late byte (between two items, or just past one), or a
 * short prefix of one padded with zeros (as reconciliation sends them), or a random version. */
static void random_bound(uint64_t *st, const fx_listing *l, uint8_t out[RK_ITEM_LEN])
{
    unsigned pick = (unsigned)(rk_test_rand(st) % 5);
    if (l->n == 0 || pick == 4) {
        memset(out, 0, RK_ITEM_LEN);
        rk_put_be64(out, BASE_VERSION + rk_test_rand(st) % (spread_ms + 2000));
        return;
    }
    memcpy(out, l->items + (rk_test_rand(st) % l->n) * RK_ITEM_LEN, RK_ITEM_LEN);
    if (pick == 1)
        out[RK_ITEM_LEN - 1] ^= 1;
    if (pick == 2)
        out[8 + rk_test_rand(st) % 4] = (uint8_t)rk_test_rand(st);
    if (pick == 3)
        memset(out + 5 + rk_test_rand(st) % 8, 0, RK_ITEM_LEN - 13);
}

/* Checks what t answers about both sets against the items it lists: ranges between random bounds,
 * adjacent ranges (answered from the memo), and nth pairs followed by the ranges that end between
 * the two items found, as a split asks for them (answered from what the descent remembered). */
static void check_txn(rk_txn *t, uint64_t *st)
{
    fx_listing l = {0};
    rk_error err;
    for (int set = 0; set < 2; set++) {
        fx_list_set(t, set, &l);
        uint8_t lo[RK_ITEM_LEN], mid[RK_ITEM_LEN], hi[RK_ITEM_LEN];
        for (int q = 0; q < 150; q++) {
            random_bound(st, &l, lo);
            random_bound(st, &l, hi);
            if (memcmp(lo, hi, RK_ITEM_LEN) > 0) {
                memcpy(mid, lo, RK_ITEM_LEN);
                memcpy(lo, hi, RK_ITEM_LEN);
                memcpy(hi, mid, RK_ITEM_LEN);
            }
            expect_range(t, set, &l, lo, hi);
            random_bound(st, &l, mid);
            expect_range(t, set, &l, lo, mid);
            expect_range(t, set, &l, mid, hi);

            size_t first = 0;
            while (first < l.n && memcmp(l.items + first * RK_ITEM_LEN, lo, RK_ITEM_LEN) < 0)
                first++;
            uint64_t n = rk_test_rand(st) % (l.n - first + 2);
            uint8_t out[RK_ITEM_LEN], next[RK_ITEM_LEN];
            int found = rk_store_set_nth_pair(t, set, lo, n, out, next, &err);
            size_t have = l.n - first;
            assert_int_equal(found, n + 1 < have ? 2 : n < have ? 1 : 0);
            if (found >= 1)
                assert_memory_equal(out, l.items + (first + n) * RK_ITEM_LEN, RK_ITEM_LEN);
            if (found == 2) {
                assert_memory_equal(next, l.items + (first + n + 1) * RK_ITEM_LEN, RK_ITEM_LEN);
                /* bounds in (out, next]: the shortest separator, one just above out, and next itself */
                uint8_t bound[RK_ITEM_LEN] = {0};
                size_t sl = 0;
                while (out[sl] == next[sl])
                    sl++;
                memcpy(bound, next, sl + 1);
                expect_range(t, set, &l, lo, bound);
                expect_range(t, set, &l, bound, hi);
                memcpy(bound, out, RK_ITEM_LEN);
                for (int j = RK_ITEM_LEN - 1; j >= 0 && ++bound[j] == 0; j--)
                    ;
                expect_range(t, set, &l, bound, hi);
                expect_range(t, set, &l, lo, next);
                /* and out itself, which lies below the remembered interval */
                expect_range(t, set, &l, out, hi);
            }
        }
    }
    free(l.items);
}

static uint64_t spread_version(uint64_t *st)
{
    return BASE_VERSION + rk_test_rand(st) % spread_ms;
}

/* Answers stay exact across commits that add, replace, tombstone and remove records, whichever read
 * transaction asks: one begun before a commit keeps its snapshot's answers, one begun after sees the
 * commit. A trie node, a remembered bound or a split pair kept from before a commit and used after it
 * would give the old count or sum for the buckets the commit touched. */
static void exact_across_commits(fixture *f, uint64_t spread)
{
    spread_ms = spread;
    uint64_t st = 0x2545f4914f6cdd1du;
    enum { N = 3000 };
    rk_error err;
    rk_txn *w = fx_begin(&f->s, true);
    for (unsigned i = 0; i < N; i++)
        put_case(f, w, "r", i, spread_version(&st), i % 3 ? PUBLIC : NETWORK, false);
    assert_int_equal(rk_txn_commit(w, &err), 0);

    rk_txn *old = fx_begin(&f->s, false);
    check_txn(old, &st);
    for (int round = 0; round < 4; round++) {
        rk_txn *r = fx_begin(&f->s, false);
        check_txn(r, &st);
        rk_txn_abort(r);
        w = fx_begin(&f->s, true);
        switch (round) {
        case 0: /* new records among the old ones */
            for (unsigned i = 0; i < 200; i++)
                put_case(f, w, "new", i, spread_version(&st), PUBLIC, false);
            break;
        case 1: /* newer versions replace old ones: their items leave the set, others enter */
            for (unsigned i = 0; i < 300; i++)
                put_case(f, w, "r", (unsigned)(rk_test_rand(&st) % N), spread + BASE_VERSION + i, PUBLIC, false);
            break;
        case 2: /* tombstones, some of them network-only: the record leaves set0 */
            for (unsigned i = 0; i < 200; i++)
                put_case(f, w, "r", (unsigned)(rk_test_rand(&st) % N), 2 * spread + BASE_VERSION + i,
                         i % 2 ? PUBLIC : NETWORK, true);
            break;
        default: { /* removal of everything above a cutoff: items leave both sets */
            uint64_t removed = 0;
            assert_int_equal(rk_store_remove_after(w, f->a.pub, BASE_VERSION + spread / 2, &removed, &err), 0);
            assert_true(removed > 0);
            break;
        }
        }
        assert_int_equal(rk_txn_commit(w, &err), 0);
        r = fx_begin(&f->s, false);
        check_txn(r, &st);
        rk_txn_abort(r);
        /* the transaction begun before every commit still answers for its snapshot */
        check_txn(old, &st);
    }
    rk_txn_abort(old);
    spread_ms = SPREAD_MS;
}

static void test_exact_across_commits(void **state)
{
    exact_across_commits(*state, SPREAD_MS);
}

/* The same over versions spread over hours: the strided level's nodes, shared by the transactions
 * of a generation, must answer exactly and must not outlive a commit that changes their buckets. */
static void test_exact_across_commits_deep(void **state)
{
    exact_across_commits(*state, DEEP_SPREAD_MS);
}

static void fingerprint_all(rk_txn *t)
{
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN], fp[RK_FP_LEN];
    uint64_t count;
    rk_error err;
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    rk_put_be64(lo, BASE_VERSION + SPREAD_MS / 3);
    assert_int_equal(rk_store_set_fingerprint(t, RK_SET_PUBLIC, lo, hi, &count, fp, &err), 0);
}

/* Read transactions share the trie nodes they read while no write changes a set, and never across
 * such a write: a transaction after it starts a new generation, one before it keeps its own. */
static void test_generations(void **state)
{
    fixture *f = *state;
    uint64_t st = 0x853c49e6748fea9bu;
    rk_error err;
    rk_txn *w = fx_begin(&f->s, true);
    for (unsigned i = 0; i < 500; i++)
        put_case(f, w, "g", i, spread_version(&st), PUBLIC, false);
    assert_int_equal(rk_txn_commit(w, &err), 0);

    rk_txn *r1 = fx_begin(&f->s, false);
    fingerprint_all(r1);
    uint64_t g1 = rk_fpcache_generation(r1);
    assert_true(g1 > 0);
    rk_txn_abort(r1);
    rk_txn *r2 = fx_begin(&f->s, false);
    fingerprint_all(r2);
    assert_int_equal(rk_fpcache_generation(r2), g1);

    /* a write that changes no set leaves the generation usable */
    w = fx_begin(&f->s, true);
    assert_int_equal(rk_store_meta_put(w, "test", "x", 1, &err), 0);
    assert_int_equal(rk_txn_commit(w, &err), 0);
    rk_txn *r3 = fx_begin(&f->s, false);
    fingerprint_all(r3);
    assert_int_equal(rk_fpcache_generation(r3), g1);
    rk_txn_abort(r3);

    /* one that adds a record does not */
    w = fx_begin(&f->s, true);
    put_case(f, w, "g", 1000, spread_version(&st), PUBLIC, false);
    assert_int_equal(rk_txn_commit(w, &err), 0);
    rk_txn *r4 = fx_begin(&f->s, false);
    fingerprint_all(r4);
    uint64_t g4 = rk_fpcache_generation(r4);
    assert_true(g4 > g1);
    check_txn(r4, &st);
    check_txn(r2, &st);
    assert_int_equal(rk_fpcache_generation(r2), g1);
    rk_txn_abort(r4);
    rk_txn_abort(r2);

    /* while a write transaction that changed a set is open, a new reader keeps its nodes to itself */
    w = fx_begin(&f->s, true);
    put_case(f, w, "g", 1001, spread_version(&st), PUBLIC, false);
    rk_txn *r5 = fx_begin(&f->s, false);
    fingerprint_all(r5);
    assert_int_equal(rk_fpcache_generation(r5), 0);
    check_txn(r5, &st);
    rk_txn_abort(r5);
    rk_txn_abort(w);
}

/* A reconciliation between two stores, each read as the daemon reads it (the initiator through one
 * transaction, the responder through one per message), finds exactly the records only one side has:
 * the splits' bounds and fingerprints come from the nth pairs and the memo. */
static int cmp_item(const void *a, const void *b)
{
    return memcmp(a, b, RK_ITEM_LEN);
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, RK_HASH_LEN);
}

static bool listed(const fx_listing *l, const uint8_t item[RK_ITEM_LEN])
{
    return bsearch(item, l->items, l->n, RK_ITEM_LEN, cmp_item) != NULL;
}

/* Reconciles the two stores (the initiator through one transaction, the responder through one per
 * message) and checks the result against their listings: have must be exactly A's items that B
 * lacks, need exactly the hashes of B's items that A lacks. The counts are returned. */
static void reconcile_and_check(fixture *f, size_t *only_a, size_t *only_b)
{
    rk_error err;
    rk_txn *ta = fx_begin(&f->s, false), *tb = fx_begin(&f->peer, false);
    fx_listing la = {0}, lb = {0};
    fx_list_set(ta, RK_SET_PUBLIC, &la);
    fx_list_set(tb, RK_SET_PUBLIC, &lb);
    rk_txn_abort(tb);
    rk_set_source src;
    rk_set_source_from_store(&src, ta, RK_SET_PUBLIC);
    rk_sync_diff diff;
    rk_sync_diff_init(&diff);
    reconcile_stats rs;
    assert_int_equal(
        reconcile_run(&src, RK_SET_PUBLIC, reconcile_respond_from_store, f->peer.store, &diff, 100, &rs, &err), 0);
    *only_a = *only_b = 0;
    for (size_t i = 0; i < la.n; i++)
        *only_a += !listed(&lb, la.items + i * RK_ITEM_LEN);
    assert_int_equal(diff.n_have, *only_a);
    for (size_t i = 0; i < diff.n_have; i++) {
        const uint8_t *it = diff.have + i * RK_ITEM_LEN;
        assert_true(listed(&la, it));
        assert_false(listed(&lb, it));
    }
    qsort(diff.need, diff.n_need, RK_HASH_LEN, cmp_hash);
    for (size_t j = 0; j < lb.n; j++) {
        if (listed(&la, lb.items + j * RK_ITEM_LEN))
            continue;
        (*only_b)++;
        assert_non_null(bsearch(lb.items + j * RK_ITEM_LEN + 8, diff.need, diff.n_need, RK_HASH_LEN, cmp_hash));
    }
    assert_int_equal(diff.n_need, *only_b);
    rk_sync_diff_free(&diff);
    free(la.items);
    free(lb.items);
    rk_txn_abort(ta);
}

/* COMMON records in both stores, ONLY_A and ONLY_B in one each, committed. */
static void fill_two_stores(fixture *f, uint64_t *st, unsigned common, unsigned only_a, unsigned only_b)
{
    rk_error err;
    rk_txn *wa = fx_begin(&f->s, true), *wb = fx_begin(&f->peer, true);
    for (unsigned i = 0; i < common; i++) {
        uint64_t v = spread_version(st);
        put_case(f, wa, "c", i, v, PUBLIC, false);
        put_case(f, wb, "c", i, v, PUBLIC, false);
    }
    for (unsigned i = 0; i < only_a; i++)
        put_case(f, wa, "a", i, spread_version(st), PUBLIC, false);
    for (unsigned i = 0; i < only_b; i++)
        put_case(f, wb, "b", i, spread_version(st), PUBLIC, false);
    assert_int_equal(rk_txn_commit(wa, &err), 0);
    assert_int_equal(rk_txn_commit(wb, &err), 0);
}

/* Fills the two stores with these numbers of common and own records, and reconciles them. */
static void fill_and_reconcile(fixture *f, uint64_t *st, unsigned common, unsigned only_a, unsigned only_b)
{
    fill_two_stores(f, st, common, only_a, only_b);
    size_t found_a, found_b;
    reconcile_and_check(f, &found_a, &found_b);
    assert_int_equal(found_a, only_a);
    assert_int_equal(found_b, only_b);
}

static void test_reconcile_two_stores(void **state)
{
    uint64_t st = 0x9e3779b97f4a7c15u;
    fill_and_reconcile(*state, &st, 4000, 300, 150);
}

/* Two reconciliations with commits to the responder's store between them, versions spread over
 * hours: the second one's responder transactions come after the commits, so any trie node, strided
 * or whole, kept by the first one's generation and answering for the second would give the old
 * counts and sums for the buckets a put, a replacement or a removal touched, and the differences
 * found would be wrong. */
static void test_reconcile_across_commits_deep(void **state)
{
    fixture *f = *state;
    spread_ms = DEEP_SPREAD_MS;
    uint64_t st = 0x6a09e667f3bcc908u;
    enum { COMMON = 6000 };
    size_t only_a = 300, only_b = 150;
    fill_and_reconcile(f, &st, COMMON, (unsigned)only_a, (unsigned)only_b);
    rk_error err;
    for (int round = 0; round < 3; round++) {
        rk_txn *w = fx_begin(&f->peer, true);
        if (round == 0) { /* puts: the responder gains records A lacks */
            for (unsigned i = 0; i < 40; i++)
                put_case(f, w, "b2", i, spread_version(&st), PUBLIC, false);
        } else if (round == 1) { /* replacements: common records get newer versions on B only */
            for (unsigned i = 0; i < 40; i++)
                put_case(f, w, "c", i * 97 % COMMON, spread_version(&st) + DEEP_SPREAD_MS, PUBLIC, false);
        } else { /* removal of everything above a cutoff, on B only */
            uint64_t removed = 0;
            assert_int_equal(rk_store_remove_after(w, f->a.pub, BASE_VERSION + DEEP_SPREAD_MS * 3 / 4, &removed, &err),
                             0);
            assert_true(removed > 0);
        }
        assert_int_equal(rk_txn_commit(w, &err), 0);
        size_t a2, b2;
        reconcile_and_check(f, &a2, &b2);
        assert_true(a2 != only_a || b2 != only_b); /* the commit changed the differences */
        only_a = a2;
        only_b = b2;
    }
    spread_ms = SPREAD_MS;
}

int main(void)
{
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_exact_across_commits),
                        cmocka_unit_test(test_exact_across_commits_deep), cmocka_unit_test(test_generations),
                        cmocka_unit_test(test_reconcile_two_stores),
                        cmocka_unit_test(test_reconcile_across_commits_deep));
}
