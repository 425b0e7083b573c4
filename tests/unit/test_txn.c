/* Tests of lib/txn.c: a failed write transaction can only be thrown away and commit reports why, the
 * single-key helpers, and the scratch space of read-only transactions, which lib/fpset.c uses to
 * remember range sums: it must start empty in every transaction, so a sum remembered in one snapshot
 * is never served in a later one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "fpset.h"
#include "renkei.pb-c.h"
#include "run_tests.h"

static void test_single_keys(void **state)
{
    fx_store *f = *state;
    rk_error err;
    rk_txn *t = fx_begin(f, true);
    assert_true(rk_txn_writable(t));
    assert_int_equal(rk_txn_put(t, RK_DB_META, "k", 1, "value", 5, &err), 0);
    assert_int_equal(rk_txn_del(t, RK_DB_META, "absent", 6, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);

    t = fx_begin(f, false);
    assert_false(rk_txn_writable(t));
    MDB_val v;
    assert_int_equal(rk_txn_get(t, RK_DB_META, "k", 1, &v, &err), 1);
    assert_int_equal(v.mv_size, 5);
    assert_memory_equal(v.mv_data, "value", 5);
    assert_int_equal(rk_txn_get(t, RK_DB_META, "absent", 6, &v, &err), 0);
    assert_int_equal(rk_txn_need_write(t, &err), -1);
    assert_string_equal(err.code, "store_error");
    rk_txn_abort(t);
}

/* A change that failed half-way: everything written before is thrown away and commit says why. */
static void test_poisoned_transaction_commits_nothing(void **state)
{
    fx_store *f = *state;
    rk_error err, why;
    rk_txn *t = fx_begin(f, true);
    assert_int_equal(rk_txn_put(t, RK_DB_META, "half", 4, "x", 1, &err), 0);
    rk_fail(&why, "invalid_rid", "rid", "the second half failed");
    rk_txn_poison(t, &why);
    assert_null(rk_txn_mdb(t, &err));
    assert_string_equal(err.code, "invalid_rid");
    memset(&err, 0, sizeof err);
    assert_int_equal(rk_txn_put(t, RK_DB_META, "more", 4, "y", 1, &err), -1);
    assert_string_equal(err.code, "invalid_rid");
    memset(&err, 0, sizeof err);
    assert_int_equal(rk_txn_commit(t, &err), -1);
    assert_string_equal(err.code, "invalid_rid");
    assert_string_equal(err.message, "the second half failed");

    t = fx_begin(f, false);
    MDB_val v;
    assert_int_equal(rk_txn_get(t, RK_DB_META, "half", 4, &v, &err), 0);
    rk_txn_abort(t);
}

static void test_scratch_is_per_read_transaction(void **state)
{
    fx_store *f = *state;
    rk_txn *t = fx_begin(f, true);
    assert_null(rk_txn_scratch(t));
    rk_txn_abort(t);
    static const unsigned char zero[RK_TXN_SCRATCH_LEN];
    for (int round = 0; round < 2; round++) {
        t = fx_begin(f, false);
        unsigned char *s = rk_txn_scratch(t);
        assert_non_null(s);
        assert_memory_equal(s, zero, RK_TXN_SCRATCH_LEN);
        memset(s, 0xa5, RK_TXN_SCRATCH_LEN);
        assert_ptr_equal(rk_txn_scratch(t), s);
        rk_txn_abort(t);
    }
}

static int cleanups;
static void count_cleanup(void *scratch)
{
    assert_non_null(scratch);
    cleanups++;
}

/* A cache kept in the scratch space (lib/fpset.c keeps trie nodes on the heap) is released exactly
 * once when its read transaction ends, by commit or by abort; a write transaction has none. */
static void test_scratch_cleanup_runs_once_at_the_end(void **state)
{
    fx_store *f = *state;
    rk_error err;
    rk_txn *t;
    cleanups = 0;
    t = fx_begin(f, false);
    rk_txn_scratch_cleanup(t, count_cleanup);
    assert_int_equal(cleanups, 0);
    rk_txn_abort(t);
    assert_int_equal(cleanups, 1);
    t = fx_begin(f, false);
    rk_txn_scratch_cleanup(t, count_cleanup);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    assert_int_equal(cleanups, 2);
    t = fx_begin(f, true);
    rk_txn_scratch_cleanup(t, count_cleanup);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    assert_int_equal(cleanups, 2);
}

static void add_item(fx_store *f, uint64_t version, uint8_t fill)
{
    rk_error err;
    rk_txn *t;
    uint8_t hash[RK_HASH_LEN];
    memset(hash, fill, sizeof hash);
    t = fx_begin(f, true);
    assert_int_equal(rk_fpset_update(t, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, version, hash, +1, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

static void fingerprint_all(rk_txn *t, uint64_t *count, uint8_t fp[RK_FP_LEN])
{
    rk_error err;
    assert_int_equal(rk_store_set_total(t, RK_SET_PUBLIC, count, fp, &err), 0);
}

/* The range sums a read transaction remembers hold for its snapshot only. */
static void test_remembered_sums_follow_the_snapshot(void **state)
{
    fx_store *f = *state;
    add_item(f, 1000, 0x11);
    rk_txn *old = fx_begin(f, false);
    uint64_t n1 = 0, again = 0;
    uint8_t fp1[RK_FP_LEN], fp_again[RK_FP_LEN];
    fingerprint_all(old, &n1, fp1);
    assert_int_equal(n1, 1);

    add_item(f, 2000, 0x22);
    rk_txn *now = fx_begin(f, false);
    uint64_t n2 = 0;
    uint8_t fp2[RK_FP_LEN];
    fingerprint_all(now, &n2, fp2);
    assert_int_equal(n2, 2);
    assert_memory_not_equal(fp1, fp2, RK_FP_LEN);
    /* the older snapshot, asked again, still answers for itself */
    fingerprint_all(old, &again, fp_again);
    assert_int_equal(again, 1);
    assert_memory_equal(fp_again, fp1, RK_FP_LEN);
    rk_txn_abort(now);
    rk_txn_abort(old);
}

int main(void)
{
    return RK_RUN_TESTS(fx_store_setup, fx_store_teardown, cmocka_unit_test(test_single_keys),
                        cmocka_unit_test(test_poisoned_transaction_commits_nothing),
                        cmocka_unit_test(test_scratch_is_per_read_transaction),
                        cmocka_unit_test(test_scratch_cleanup_runs_once_at_the_end),
                        cmocka_unit_test(test_remembered_sums_follow_the_snapshot));
}
