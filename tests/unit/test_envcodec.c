/* Tests of the compressed envelopes of `records` (lib/envcodec.c): the store trains its dictionary
 * when it reaches RK_ENVCODEC_TRAIN_AT envelopes and compresses the envelopes after it, while what
 * leaves the store (rk_store_get_envelope, rk_store_load, after a reopen too) is byte for byte what
 * was sealed; a dictionary trained by a transaction that is then aborted is never used; envelopes
 * compressed ahead of the put are stored only when the store's dictionary made them; and stored
 * values that are damaged (truncated, a lying size, trailing bytes, flipped bits, garbage) give
 * store_corrupt or, where a flip still decompresses, some record, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envcodec.h"
#include "fixture.h"
#include "run_tests.h"
#include "store.h"

#define N (RK_ENVCODEC_TRAIN_AT + 400)
#define ZSTD_MAGIC "\x28\xb5\x2f\xfd"

typedef struct fixture {
    fx_store s;
    fx_author a;
    rk_record recs[N];
    uint64_t seq[N];
} fixture;

static int setup(void **state)
{
    fixture *f = fx_state_new(state, sizeof *f);
    fx_store_open(&f->s, "envcodec", 0);
    fx_author_init(&f->a);
    for (size_t i = 0; i < N; i++) {
        char rid[32], title[128];
        snprintf(rid, sizeof rid, "env-%zu", i);
        snprintf(title, sizeof title, "工場の検査工程 %zu: 画像認識で不良品を%zu割減らした事例", i, i % 9 + 1);
        fx_seal_case(&f->a, rid, 1000 + i, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, title, &f->recs[i]);
    }
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < N; i++)
        rk_record_free(&f->recs[i]);
    fx_author_free(&f->a);
    fx_store_close(&f->s);
    free(f);
    return 0;
}

/* Puts recs[from..to) in one transaction, committed or aborted. */
static void put_range(fixture *f, size_t from, size_t to, bool commit)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    for (size_t i = from; i < to; i++) {
        rk_put_result res;
        assert_int_equal(rk_store_put(t, &f->recs[i], &res, &f->seq[i], &err), 0);
        assert_int_equal(res, RK_PUT_STORED);
    }
    if (commit)
        assert_int_equal(rk_txn_commit(t, &err), 0);
    else
        rk_txn_abort(t);
}

/* Every record of recs[0..n) leaves the store exactly as sealed. */
static void expect_identical(fixture *f, size_t n)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *env;
        size_t len;
        assert_int_equal(rk_store_get_envelope(t, f->recs[i].hash, &env, &len, &err), 1);
        assert_int_equal(len, f->recs[i].env_len);
        assert_memory_equal(env, f->recs[i].env, len);
        rk_record rec;
        assert_int_equal(rk_store_load(t, f->recs[i].hash, &rec, &err), 0);
        assert_int_equal(rec.env_len, f->recs[i].env_len);
        assert_memory_equal(rec.env, f->recs[i].env, rec.env_len);
        assert_memory_equal(rec.sig, f->recs[i].sig, RK_SIG_LEN);
        assert_string_equal(rec.msg->rid, f->recs[i].msg->rid);
        rk_record_free(&rec);
    }
    rk_txn_abort(t);
}

/* The stored value of recs[i] (a copy). */
static uint8_t *stored(fixture *f, size_t i, size_t *len)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    uint8_t key[8];
    rk_put_be64(key, f->seq[i]);
    MDB_val v;
    assert_int_equal(rk_txn_get(t, RK_DB_RECORDS, key, sizeof key, &v, &err), 1);
    uint8_t *copy = malloc(v.mv_size ? v.mv_size : 1);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    *len = v.mv_size;
    rk_txn_abort(t);
    return copy;
}

static bool has_dictionary(fixture *f)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    MDB_val v;
    int found = rk_txn_get(t, RK_DB_META, "_zdict", 6, &v, &err);
    assert_true(found >= 0);
    if (found)
        assert_true(v.mv_size > 0 && v.mv_size <= RK_ENVCODEC_DICT_BYTES);
    rk_txn_abort(t);
    return found == 1;
}

static void test_envelopes_compressed_after_training(void **state)
{
    fixture *f = *state;
    put_range(f, 0, RK_ENVCODEC_TRAIN_AT - 1, true);
    assert_false(has_dictionary(f));
    /* The put of change RK_ENVCODEC_TRAIN_AT trains; the rest of its transaction compresses. */
    put_range(f, RK_ENVCODEC_TRAIN_AT - 1, N, true);
    assert_true(has_dictionary(f));
    size_t raw = 0, packed = 0;
    for (size_t i = 0; i < N; i++) {
        size_t len;
        uint8_t *v = stored(f, i, &len);
        if (f->seq[i] <= RK_ENVCODEC_TRAIN_AT) {
            assert_int_equal(len, f->recs[i].env_len); /* stored before the dictionary: as it is */
            assert_memory_equal(v, f->recs[i].env, len);
        } else {
            assert_memory_equal(v, ZSTD_MAGIC, 4);
            raw += f->recs[i].env_len;
            packed += len;
        }
        free(v);
    }
    print_message("%zu envelope bytes stored in %zu (%.0f %%)\n", raw, packed, 100.0 * (double)packed / (double)raw);
    assert_true(packed * 2 < raw);
    expect_identical(f, N);
    /* A reopened store reads its dictionary from meta. */
    fx_store_reopen(&f->s, 0, false);
    expect_identical(f, N);
}

static void test_dictionary_of_an_aborted_transaction_is_not_kept(void **state)
{
    fixture *f = *state;
    put_range(f, 0, RK_ENVCODEC_TRAIN_AT - 1, true);
    /* This transaction trains and compresses, then is thrown away with its dictionary. */
    put_range(f, RK_ENVCODEC_TRAIN_AT - 1, N, false);
    assert_false(has_dictionary(f));
    /* Other records take those places and train again: had the store kept the aborted dictionary, it
     * would compress with it and never train, leaving frames no reopened store can read. */
    put_range(f, N - 200, N, true);
    put_range(f, RK_ENVCODEC_TRAIN_AT - 1, N - 200, true);
    assert_true(has_dictionary(f));
    expect_identical(f, N);
    fx_store_reopen(&f->s, 0, false);
    expect_identical(f, N);
}

/* Envelopes compressed ahead of the put (the verifier threads) are stored as made when the store's
 * dictionary made them; before the store has one nothing is made ahead, and a frame made with any
 * other dictionary is never stored: the put compresses again, or stores the envelope as it is. */
static void test_compressed_ahead(void **state)
{
    fixture *f = *state;
    static const uint8_t not_a_frame[] = "made with another dictionary";
    const size_t first = RK_ENVCODEC_TRAIN_AT - 1, late = RK_ENVCODEC_TRAIN_AT + 100;
    put_range(f, 0, first - 2, true);
    /* no dictionary yet: nothing to compress with */
    assert_null(rk_store_envdict(f->s.store));
    assert_int_equal(rk_envcodec_precompress(f->s.store, &f->recs[first]), 0);
    assert_null(f->recs[first].stored);
    /* a frame from elsewhere while the store has no dictionary: the envelope is stored as it is */
    for (size_t i = first - 2; i < first; i++) {
        f->recs[i].stored = malloc(sizeof not_a_frame);
        assert_non_null(f->recs[i].stored);
        memcpy(f->recs[i].stored, not_a_frame, sizeof not_a_frame);
        f->recs[i].stored_len = sizeof not_a_frame;
        f->recs[i].stored_dict = f; /* any pointer but the store's dictionary */
    }
    /* the transaction that trains compresses with its own dictionary, which the store then keeps */
    put_range(f, first - 2, late, true);
    for (size_t i = first - 2; i < first; i++) {
        size_t len;
        uint8_t *v = stored(f, i, &len);
        assert_int_equal(len, f->recs[i].env_len);
        assert_memory_equal(v, f->recs[i].env, len);
        free(v);
    }
    const void *dict = rk_store_envdict(f->s.store);
    assert_non_null(dict);
    for (size_t i = late; i < N; i++) {
        if (i % 2) { /* half of them compressed ahead */
            assert_int_equal(rk_envcodec_precompress(f->s.store, &f->recs[i]), 1);
            assert_ptr_equal(f->recs[i].stored_dict, dict);
            continue;
        }
        /* the other half with a frame from another dictionary: compressed again by the put */
        f->recs[i].stored = malloc(sizeof not_a_frame);
        assert_non_null(f->recs[i].stored);
        memcpy(f->recs[i].stored, not_a_frame, sizeof not_a_frame);
        f->recs[i].stored_len = sizeof not_a_frame;
        f->recs[i].stored_dict = f;
    }
    put_range(f, late, N, true);
    for (size_t i = late; i < N; i++) {
        size_t len;
        uint8_t *v = stored(f, i, &len);
        assert_memory_equal(v, ZSTD_MAGIC, 4);
        if (i % 2) { /* the very frame made ahead */
            assert_int_equal(len, f->recs[i].stored_len);
            assert_memory_equal(v, f->recs[i].stored, len);
        }
        free(v);
    }
    expect_identical(f, N);
    fx_store_reopen(&f->s, 0, false);
    expect_identical(f, N);
}

/* Replaces the stored value of recs[i] with v[0..len). */
static void store_value(fixture *f, size_t i, const uint8_t *v, size_t len)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    uint8_t key[8];
    rk_put_be64(key, f->seq[i]);
    assert_int_equal(rk_txn_put(t, RK_DB_RECORDS, key, sizeof key, v, len, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

/* Loading recs[i] as stored now: must fail with store_corrupt when must_fail, and never crash. */
static void expect_load(fixture *f, size_t i, bool must_fail)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    rk_record rec;
    int rc = rk_store_load(t, f->recs[i].hash, &rec, &err);
    if (rc == 0)
        rk_record_free(&rec);
    else
        assert_string_equal(err.code, "store_corrupt");
    if (must_fail)
        assert_int_equal(rc, -1);
    const uint8_t *env;
    size_t len;
    rc = rk_store_get_envelope(t, f->recs[i].hash, &env, &len, &err);
    if (must_fail)
        assert_int_equal(rc, -1);
    rk_txn_abort(t);
}

static void test_damaged_values_are_errors(void **state)
{
    fixture *f = *state;
    put_range(f, 0, N, true);
    size_t i = N - 1, len;
    uint8_t *good = stored(f, i, &len);
    assert_memory_equal(good, ZSTD_MAGIC, 4);
    uint8_t *bad = malloc(len + 64);
    assert_non_null(bad);
    /* Every truncation, trailing bytes, an empty value, garbage that is neither form. */
    for (size_t cut = 0; cut < len; cut++) {
        store_value(f, i, good, cut);
        expect_load(f, i, true);
    }
    memcpy(bad, good, len);
    memset(bad + len, 0xa5, 64);
    store_value(f, i, bad, len + 64);
    expect_load(f, i, true);
    for (size_t j = 0; j < len + 64; j++)
        bad[j] = (uint8_t)(j * 131 + 7);
    bad[0] = 0x55;
    store_value(f, i, bad, len + 64);
    expect_load(f, i, true);
    /* A frame header that declares more than the limit is refused before anything is allocated:
     * the single-segment header declares the size in the bytes after its descriptor. */
    memcpy(bad, good, len);
    bad[4] = 0x20 | 0xc0; /* single segment, an 8-byte content size: 1 GiB */
    memset(bad + 5, 0, 8);
    bad[8] = 0x40;
    store_value(f, i, bad, len);
    expect_load(f, i, true);
    /* Flipped bits anywhere: an error or some record, never a crash (ASan builds check memory). */
    for (size_t j = 0; j < len; j++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(bad, good, len);
            bad[j] ^= (uint8_t)(1u << bit);
            store_value(f, i, bad, len);
            expect_load(f, i, j < 4); /* a broken magic number is neither form */
        }
    /* Put back, it loads as sealed. */
    store_value(f, i, good, len);
    expect_identical(f, N);
    free(bad);
    free(good);
}

int main(void)
{
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_envelopes_compressed_after_training),
                        cmocka_unit_test(test_dictionary_of_an_aborted_transaction_is_not_kept),
                        cmocka_unit_test(test_damaged_values_are_errors), cmocka_unit_test(test_compressed_ahead));
}
