/* Tests of the shape of the fingerprint index (lib/fpset.h): after every change, fp0 holds exactly the
 * buckets the invariant keeps (every bucket of the levels read transactions keep; below them only the
 * children of buckets of more than RK_FPSET_SCAN_ITEMS items), each with the count and sum of the
 * items under it, and nothing else. A bucket that grows past the bound gets its children, one that
 * shrinks to it loses them, and the buckets a format 7 store kept below a small bucket, stale once
 * items were added without them, are read by no one and replaced when that bucket grows past the
 * bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "fpset.h"
#include "run_tests.h"
#include "sync.h"
#include "testrand.h"

#define PUBLIC RENKEI__VISIBILITY__VISIBILITY_PUBLIC
#define VERSION UINT64_C(1767225600000)

static const uint8_t *item_at(const fx_listing *l, size_t i)
{
    return l->items + i * RK_ITEM_LEN;
}

/* The run of items around item i that share its first len bytes: [*start, *end). */
static void run_of(const fx_listing *l, size_t i, int len, size_t *start, size_t *end)
{
    size_t s = i, e = i + 1;
    while (s > 0 && memcmp(item_at(l, s - 1), item_at(l, i), (size_t)len) == 0)
        s--;
    while (e < l->n && memcmp(item_at(l, e), item_at(l, i), (size_t)len) == 0)
        e++;
    *start = s;
    *end = e;
}

/* Whether the bucket of `level` over item i's prefix is one the index keeps: every bucket above it
 * keeps its children. */
static bool bucket_kept(const fx_listing *l, size_t i, int level)
{
    for (int m = 0; m < level; m++) {
        size_t s, e;
        run_of(l, i, m, &s, &e);
        if (!rk_fpset_keeps_children(m, e - s))
            return false;
    }
    return true;
}

/* Checks fp0 against the items of set0 that t lists: bucket for bucket, in key order, nothing more.
 * Returns how many buckets of each level it holds. */
static void check_index(rk_txn *t, size_t per_level[RK_FP_DEPTH + 1])
{
    fx_listing l = {0};
    fx_list_set(t, RK_SET_PUBLIC, &l);
    rk_error err;
    MDB_txn *txn = rk_txn_mdb(t, &err);
    assert_non_null(txn);
    MDB_cursor *c;
    assert_int_equal(mdb_cursor_open(txn, rk_txn_dbi(t, RK_DB_FP0), &c), 0);
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (int level = 0; level <= RK_FP_DEPTH; level++) {
        per_level[level] = 0;
        for (size_t i = 0; i < l.n;) {
            size_t s, e;
            run_of(&l, i, level, &s, &e);
            if (bucket_kept(&l, i, level)) {
                rk_fpagg want = {0};
                for (size_t x = s; x < e; x++) {
                    rk_fpagg h;
                    rk_fpagg_of_hash(&h, item_at(&l, x) + 8);
                    rk_fpagg_add(&want, &h);
                }
                uint8_t want_key[RK_FP_KEY_MAX], want_val[RK_FP_VAL_LEN];
                want_key[0] = (uint8_t)level;
                memcpy(want_key + 1, item_at(&l, i), (size_t)level);
                rk_fpagg_encode(&want, want_val);
                assert_int_equal(rc, 0);
                assert_int_equal(k.mv_size, 1 + (size_t)level);
                assert_memory_equal(k.mv_data, want_key, 1 + (size_t)level);
                assert_int_equal(v.mv_size, RK_FP_VAL_LEN);
                assert_memory_equal(v.mv_data, want_val, RK_FP_VAL_LEN);
                per_level[level]++;
                rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
            }
            i = e;
        }
    }
    assert_int_equal(rc, MDB_NOTFOUND); /* no bucket beyond those kept */
    mdb_cursor_close(c);
    free(l.items);
}

/* Every range between two listed items (and the whole set) has the fingerprint of its items. */
static void check_reads(rk_txn *t, uint64_t *st)
{
    fx_listing l = {0};
    fx_list_set(t, RK_SET_PUBLIC, &l);
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    rk_error err;
    rk_memory_set ms = {l.items, l.n};
    rk_set_source ref;
    rk_set_source_from_memory(&ref, &ms);
    for (int round = 0; round < 200 && l.n > 0; round++) {
        if (round > 0) {
            memcpy(lo, item_at(&l, rk_test_rand(st) % l.n), RK_ITEM_LEN);
            memcpy(hi, item_at(&l, rk_test_rand(st) % l.n), RK_ITEM_LEN);
        }
        uint64_t count, want;
        uint8_t fp[RK_FP_LEN], want_fp[RK_FP_LEN];
        assert_int_equal(rk_store_set_fingerprint(t, RK_SET_PUBLIC, lo, hi, &count, fp, &err), 0);
        assert_int_equal(ref.fingerprint(ref.ctx, lo, hi, &want, want_fp, &err), 0);
        assert_int_equal(count, want);
        assert_memory_equal(fp, want_fp, RK_FP_LEN);
    }
    free(l.items);
}

/* Hash i of a family: the first byte fixed, so the items of one version share the level-9 bucket, the
 * second byte i, the rest from st. */
static void family_hash(uint64_t *st, unsigned i, uint8_t hash[RK_HASH_LEN])
{
    for (size_t b = 0; b < RK_HASH_LEN; b++)
        hash[b] = (uint8_t)rk_test_rand(st);
    hash[0] = 0x11;
    hash[1] = (uint8_t)i;
}

static void update(rk_txn *t, uint64_t version, const uint8_t hash[RK_HASH_LEN], int sign)
{
    rk_error err;
    assert_int_equal(rk_fpset_update(t, PUBLIC, version, hash, sign, &err), 0);
}

/* One version's items: its buckets (levels 6 to 8 hold the same items) grow to the bound, past it and
 * back. */
static void test_bucket_crossing_the_bound(void **state)
{
    fx_store *s = *state;
    uint64_t st = 1;
    uint8_t hashes[RK_FPSET_SCAN_ITEMS + 1][RK_HASH_LEN];
    size_t per_level[RK_FP_DEPTH + 1];
    rk_txn *t = fx_begin(s, true);
    for (unsigned i = 0; i < RK_FPSET_SCAN_ITEMS; i++) {
        family_hash(&st, i, hashes[i]);
        update(t, VERSION, hashes[i], 1);
    }
    check_index(t, per_level);
    assert_int_equal(per_level[6], 1); /* at the bound: nothing below the first level that may drop */
    for (int level = 7; level <= RK_FP_DEPTH; level++)
        assert_int_equal(per_level[level], 0);

    family_hash(&st, RK_FPSET_SCAN_ITEMS, hashes[RK_FPSET_SCAN_ITEMS]);
    update(t, VERSION, hashes[RK_FPSET_SCAN_ITEMS], 1);
    check_index(t, per_level);
    assert_int_equal(per_level[7], 1); /* past it: the version's buckets */
    assert_int_equal(per_level[8], 1);
    assert_int_equal(per_level[9], 1);                        /* the shared first hash byte */
    assert_int_equal(per_level[10], RK_FPSET_SCAN_ITEMS + 1); /* and below that, one per second byte */
    check_reads(t, &st);

    update(t, VERSION, hashes[7], -1);
    check_index(t, per_level);
    for (int level = 7; level <= RK_FP_DEPTH; level++)
        assert_int_equal(per_level[level], 0);
    check_reads(t, &st);
    rk_error err;
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

/* Random adds and removals, arranged so that buckets hover around the bound: two versions of three
 * hash families of 96 items each (half of them in the set on average, so the level-9 buckets cross
 * the bound both ways again and again), and a third version of 100 items (its level-6 bucket
 * hovers around 50). The index is checked all along, and the crossings are seen to happen. */
static void test_random_changes(void **state)
{
    fx_store *s = *state;
    uint64_t st = 7;
    enum { FEW = 100, POOL = FEW + 2 * 3 * 96 };
    uint8_t(*pool)[RK_HASH_LEN] = calloc(POOL, RK_HASH_LEN);
    uint64_t versions[POOL];
    bool in[POOL] = {false};
    assert_non_null(pool);
    for (unsigned i = 0; i < POOL; i++) {
        family_hash(&st, i, pool[i]);
        if (i < FEW) {
            versions[i] = VERSION + 3600000; /* an hour later: a level-6 bucket of its own */
        } else {
            versions[i] = VERSION + ((i - FEW) % 2) * 300000; /* five minutes apart */
            pool[i][0] = (uint8_t)((i - FEW) / 2 % 3);
        }
    }
    size_t per_level[RK_FP_DEPTH + 1];
    bool seen_deep = false, seen_no_deep = false;
    for (int round = 0; round < 8; round++) {
        rk_txn *t = fx_begin(s, true);
        for (int op = 0; op < 400; op++) {
            unsigned i = (unsigned)(rk_test_rand(&st) % POOL);
            update(t, versions[i], pool[i], in[i] ? -1 : 1);
            in[i] = !in[i];
            if (op % 20 == 19) {
                check_index(t, per_level);
                if (round > 0) {
                    seen_deep |= per_level[10] > 0;
                    seen_no_deep |= per_level[10] == 0;
                }
            }
        }
        rk_error err;
        assert_int_equal(rk_txn_commit(t, &err), 0);
        rk_txn *r = fx_begin(s, false);
        check_index(r, per_level);
        check_reads(r, &st);
        rk_txn_abort(r);
    }
    assert_true(seen_deep);
    assert_true(seen_no_deep);
    free(pool);
}

/* Puts the bucket of `level` over item's prefix straight into fp0, as a format 7 writer kept it. */
static void put_legacy_bucket(rk_txn *t, const uint8_t item[RK_ITEM_LEN], int level, const rk_fpagg *a)
{
    rk_error err;
    MDB_txn *txn = rk_txn_mdb(t, &err);
    assert_non_null(txn);
    uint8_t key[RK_FP_KEY_MAX], val[RK_FP_VAL_LEN];
    key[0] = (uint8_t)level;
    memcpy(key + 1, item, (size_t)level);
    rk_fpagg_encode(a, val);
    MDB_val k = {1 + (size_t)level, key}, v = {sizeof val, val};
    assert_int_equal(mdb_put(txn, rk_txn_dbi(t, RK_DB_FP0), &k, &v, 0), 0);
}

/* A format 7 store kept buckets below small ones; items added and removed since without them made
 * them stale. Reads do not see them, and when the bucket above grows past the bound they are replaced,
 * the one of an item no longer there included. */
static void test_format7_buckets_below_a_small_one(void **state)
{
    fx_store *s = *state;
    uint64_t st = 11;
    enum { N = RK_FPSET_SCAN_ITEMS + 2 };
    uint8_t hashes[N][RK_HASH_LEN];
    rk_txn *t = fx_begin(s, true);
    for (unsigned i = 0; i < 10; i++) {
        family_hash(&st, i, hashes[i]);
        update(t, VERSION, hashes[i], 1);
    }
    /* the buckets below the version's that a format 7 writer kept for these ten items */
    rk_fpagg family = {0};
    uint8_t item[RK_ITEM_LEN];
    rk_put_be64(item, VERSION);
    for (unsigned i = 0; i < 10; i++) {
        rk_fpagg h;
        rk_fpagg_of_hash(&h, hashes[i]);
        rk_fpagg_add(&family, &h);
        memcpy(item + 8, hashes[i], RK_HASH_LEN);
        put_legacy_bucket(t, item, 10, &h);
    }
    for (int level = 7; level <= 9; level++)
        put_legacy_bucket(t, item, level, &family);
    /* changes made without them: stale from here on, and never read */
    update(t, VERSION, hashes[3], -1);
    for (unsigned i = 10; i < N - 1; i++) {
        family_hash(&st, i, hashes[i]);
        update(t, VERSION, hashes[i], 1);
    }
    check_reads(t, &st);
    family_hash(&st, N - 1, hashes[N - 1]);
    update(t, VERSION, hashes[N - 1], 1); /* the 49th item */
    size_t per_level[RK_FP_DEPTH + 1];
    check_index(t, per_level); /* exact: the stale buckets were replaced or dropped */
    assert_int_equal(per_level[10], RK_FPSET_SCAN_ITEMS + 1);
    check_reads(t, &st);
    rk_error err;
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

static int setup(void **state)
{
    fx_store *s = fx_state_new(state, sizeof *s);
    fx_store_open(s, "fpindex", 0);
    return 0;
}

static int teardown(void **state)
{
    fx_store *s = *state;
    fx_store_close(s);
    free(s);
    return 0;
}

int main(void)
{
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_bucket_crossing_the_bound),
                        cmocka_unit_test(test_random_changes),
                        cmocka_unit_test(test_format7_buckets_below_a_small_one));
}
