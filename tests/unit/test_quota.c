/* Tests of lib/quota.c through lib/ingest.c: the rate of new versions per author and window, the
 * records per author, that a refused version is neither stored nor counted, that a version older than
 * the window is always admitted (so reconciliation can fetch it again), that record counts are read
 * back from the store by a fresh policy (a restarted node), and the [quota] keys of the config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "fixture.h"
#include "ingest.h"
#include "run_tests.h"
#include "sign.h"

#define NOW_MS UINT64_C(1700000000000)
#define WINDOW_MS UINT64_C(10000)

/* the writer's state, whose member is the author whose records the quota counts */
typedef fx_writer fixture;

/* Seals a case by the member and ingests it as the writer does, with quota q at now_ms. Returns the
 * status; err names the reason. */
static rk_ingest_status put(fixture *f, rk_quota *q, const char *rid, uint64_t version, uint64_t now_ms, rk_error *err)
{
    rk_record rec;
    fx_seal_case(&f->member, rid, version, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "割当の試験", &rec);
    rk_ingest_result res;
    rk_error_clear(err);
    rk_ingest_prepared(f->txn, &f->roster.members, q, now_ms, &rec, RK_SIGNATURE_GOOD, &res, err);
    rk_record_free(&rec);
    return res.status;
}

/* put, and checks the status and, unless code is NULL, the reason. */
static void expect_put(fixture *f, rk_quota *q, const char *rid, uint64_t version, uint64_t now_ms,
                       rk_ingest_status status, const char *code)
{
    rk_error err;
    assert_int_equal(put(f, q, rid, version, now_ms, &err), status);
    if (code)
        assert_string_equal(err.code, code);
}

static bool stored(fixture *f, const char *rid)
{
    rk_current cur;
    rk_error err;
    return rk_store_get_current(f->txn, f->member.pub, rid, &cur, &err) == 1;
}

static rk_quota *quota(uint64_t records, uint64_t versions)
{
    rk_quota_policy p = {.max_records = records, .max_versions = versions, .window_ms = WINDOW_MS};
    rk_quota *q = rk_quota_new(&p);
    assert_non_null(q);
    return q;
}

static void test_rate_refuses_excess_until_window_passes(void **state)
{
    fixture *f = *state;
    rk_quota *q = quota(0, 3);
    rk_error err;
    char rid[16];
    for (int i = 0; i < 10; i++) {
        snprintf(rid, sizeof rid, "r%d", i);
        rk_ingest_status st = put(f, q, rid, NOW_MS + (uint64_t)i, NOW_MS + (uint64_t)i, &err);
        if (i < 3) {
            assert_int_equal(st, RK_INGEST_STORED);
        } else {
            assert_int_equal(st, RK_INGEST_REJECTED);
            assert_string_equal(err.code, "quota");
            assert_false(stored(f, rid)); /* neither stored, so not relayed */
        }
    }
    /* a new window admits the next three recent versions, and only those */
    uint64_t later = NOW_MS + WINDOW_MS + 100;
    expect_put(f, q, "r3", later, later, RK_INGEST_STORED, NULL);
    expect_put(f, q, "r4", later, later, RK_INGEST_STORED, NULL);
    expect_put(f, q, "r5", later, later, RK_INGEST_STORED, NULL);
    expect_put(f, q, "r6", later, later, RK_INGEST_REJECTED, "quota");
    rk_quota_free(q);
}

static void test_version_older_than_window_always_admitted(void **state)
{
    fixture *f = *state;
    rk_quota *q = quota(0, 1);
    expect_put(f, q, "new", NOW_MS, NOW_MS, RK_INGEST_STORED, NULL);
    expect_put(f, q, "new2", NOW_MS, NOW_MS, RK_INGEST_REJECTED, NULL);
    /* versions made before the window are history (catch-up, a healed partition, or a version refused
     * earlier fetched again): stored however full the window is */
    char rid[16];
    for (int i = 0; i < 5; i++) {
        snprintf(rid, sizeof rid, "old%d", i);
        expect_put(f, q, rid, NOW_MS - WINDOW_MS - 1 - (uint64_t)i, NOW_MS, RK_INGEST_STORED, NULL);
    }
    /* ...and the same refused record is stored once it has aged past the window */
    expect_put(f, q, "new2", NOW_MS, NOW_MS + WINDOW_MS, RK_INGEST_STORED, NULL);
    rk_quota_free(q);
}

static void test_records_per_author(void **state)
{
    fixture *f = *state;
    rk_quota *q = quota(2, 0);
    expect_put(f, q, "a", NOW_MS, NOW_MS, RK_INGEST_STORED, NULL);
    expect_put(f, q, "b", NOW_MS, NOW_MS, RK_INGEST_STORED, NULL);
    expect_put(f, q, "c", NOW_MS, NOW_MS, RK_INGEST_REJECTED, "quota");
    assert_false(stored(f, "c"));
    /* a new version of a stored record adds no record */
    expect_put(f, q, "a", NOW_MS + 1, NOW_MS, RK_INGEST_STORED, NULL);
    rk_quota_free(q);
    /* a fresh policy (a restarted node) counts the stored records */
    q = quota(2, 0);
    expect_put(f, q, "d", NOW_MS, NOW_MS, RK_INGEST_REJECTED, "quota");
    rk_quota_free(q);
    q = quota(3, 0);
    expect_put(f, q, "d", NOW_MS, NOW_MS, RK_INGEST_STORED, NULL);
    rk_quota_free(q);
}

static void test_rejected_versions_do_not_count(void **state)
{
    fixture *f = *state;
    rk_quota *q = quota(0, 2);
    expect_put(f, q, "a", NOW_MS, NOW_MS, RK_INGEST_STORED, NULL);
    /* a stale version is refused for what it is, and does not use the author's rate */
    for (int i = 0; i < 5; i++) {
        expect_put(f, q, "a", NOW_MS - 1, NOW_MS, RK_INGEST_REJECTED, "stale_version");
    }
    expect_put(f, q, "b", NOW_MS, NOW_MS, RK_INGEST_STORED, NULL);
    expect_put(f, q, "c", NOW_MS, NOW_MS, RK_INGEST_REJECTED, "quota");
    rk_quota_free(q);
}

static void test_forget_rereads_counts(void **state)
{
    fixture *f = *state;
    rk_quota *q = quota(1, 0);
    expect_put(f, q, "a", NOW_MS, NOW_MS, RK_INGEST_STORED, NULL);
    /* the transaction is aborted: "a" was never written, and the count must follow */
    rk_txn_abort(f->txn);
    f->txn = fx_begin(&f->s, true);
    rk_quota_forget(q);
    expect_put(f, q, "b", NOW_MS, NOW_MS, RK_INGEST_STORED, NULL);
    rk_quota_free(q);
}

static void test_no_quota_is_unlimited(void **state)
{
    fixture *f = *state;
    rk_quota *q = quota(0, 0);
    char rid[16];
    for (int i = 0; i < 50; i++) {
        snprintf(rid, sizeof rid, "r%d", i);
        expect_put(f, q, rid, NOW_MS, NOW_MS, RK_INGEST_STORED, NULL);
    }
    rk_quota_free(q);
}

static void test_config_keys(void **state)
{
    (void)state;
    rk_config c;
    rk_error err;
#define BASE "[node]\nname = n\ndata_dir = /d\n[api]\nsocket = /s\n"
    const char *text = BASE;
    assert_int_equal(rk_config_parse_text("t.conf", text, strlen(text), NULL, 0, &c, &err), 0);
    rk_quota_policy d;
    rk_quota_policy_default(&d);
    assert_int_equal(c.quota_records, d.max_records);
    assert_int_equal(c.quota_versions, d.max_versions);
    assert_int_equal((uint64_t)c.quota_window_s * 1000, d.window_ms);
    rk_config_free(&c);

    const char *set = BASE "[quota]\nrecords_per_author = 5\nversions_per_window = 0\nwindow = 60\n";
    assert_int_equal(rk_config_parse_text("t.conf", set, strlen(set), NULL, 0, &c, &err), 0);
    assert_int_equal(c.quota_records, 5);
    assert_int_equal(c.quota_versions, 0);
    assert_int_equal(c.quota_window_s, 60);
    rk_config_free(&c);

    const char *bad = BASE "[quota]\nwindow = 0\n";
    assert_int_equal(rk_config_parse_text("t.conf", bad, strlen(bad), NULL, 0, &c, &err), -1);
    assert_non_null(strstr(err.message, "t.conf:7"));
    assert_non_null(strstr(err.message, "window"));
    rk_config_free(&c);
}

int main(void)
{
    return RK_RUN_TESTS(
        fx_writer_setup, fx_writer_teardown, cmocka_unit_test(test_rate_refuses_excess_until_window_passes),
        cmocka_unit_test(test_version_older_than_window_always_admitted), cmocka_unit_test(test_records_per_author),
        cmocka_unit_test(test_rejected_versions_do_not_count), cmocka_unit_test(test_forget_rereads_counts),
        cmocka_unit_test(test_no_quota_is_unlimited), cmocka_unit_test(test_config_keys));
}
