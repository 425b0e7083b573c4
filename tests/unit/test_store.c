/* Tests of lib/store.c with lib/records.c and lib/fpset.c: the current-version rule, tombstones, the
 * change feed, counters, persistence, a full map, and the RBSR fingerprint index checked against brute
 * force over a plain sorted list. */
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
#include "run_tests.h"
#include "testrand.h"
#include "query.h"

#define PUBLIC RENKEI__VISIBILITY__VISIBILITY_PUBLIC
#define NETWORK RENKEI__VISIBILITY__VISIBILITY_NETWORK
#define LOCAL RENKEI__VISIBILITY__VISIBILITY_LOCAL

typedef fx_store_author fixture;

/* Puts one record in its own transaction; returns the put result. */
static rk_put_result put_one(fixture *f, const rk_record *rec, uint64_t *seq)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    rk_put_result res;
    uint64_t s = 0;
    assert_int_equal(rk_store_put(t, rec, &res, &s, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    if (seq)
        *seq = s;
    return res;
}

static int count_cb(const rk_record *rec, void *ctx)
{
    (void)rec;
    (*(size_t *)ctx)++;
    return 0;
}

static size_t query_count(fixture *f, int max_vis)
{
    rk_query q = {.max_visibility = max_vis};
    char next[RK_CURSOR_MAX];
    rk_error err;
    size_t n = 0;
    rk_txn *t = fx_begin(&f->s, false);
    assert_int_equal(rk_store_query(t, &q, count_cb, &n, next, &err), 0);
    rk_txn_abort(t);
    return n;
}

static uint64_t set_count(fixture *f, int set)
{
    uint8_t fp[RK_FP_LEN];
    uint64_t n;
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    assert_int_equal(rk_store_set_total(t, set, &n, fp, &err), 0);
    rk_txn_abort(t);
    return n;
}

/* rid of the fixture's author is stored, and its current version is want's (version and hash). */
static void expect_current(fixture *f, rk_txn *t, const char *rid, const rk_record *want)
{
    rk_current cur;
    rk_error err;
    assert_int_equal(rk_store_get_current(t, f->a.pub, rid, &cur, &err), 1);
    assert_int_equal(cur.version, want->msg->version);
    assert_memory_equal(cur.hash, want->hash, RK_HASH_LEN);
}

/* Whether t holds the envelope of rec (0 or 1 from the store; an error fails the test). */
static bool has_envelope(rk_txn *t, const rk_record *rec)
{
    const uint8_t *env;
    size_t len;
    rk_error err;
    int rc = rk_store_get_envelope(t, rec->hash, &env, &len, &err);
    assert_true(rc == 0 || rc == 1);
    return rc == 1;
}

/* The store's counters as t sees them. */
static struct rk_store_counts counts(rk_txn *t)
{
    struct rk_store_counts c;
    rk_error err;
    assert_int_equal(rk_store_counts(t, &c, &err), 0);
    return c;
}

static void test_put_get_load(void **state)
{
    fixture *f = *state;
    rk_record rec;
    fx_seal_case(&f->a, "ishikawa-jushi", 1000, PUBLIC, "石川樹脂工業のリスキリング", &rec);
    uint64_t seq;
    assert_int_equal(put_one(f, &rec, &seq), RK_PUT_STORED);
    assert_int_equal(seq, 1);

    rk_txn *t = fx_begin(&f->s, false);
    expect_current(f, t, "ishikawa-jushi", &rec);
    rk_error err;
    rk_current cur;
    assert_int_equal(rk_store_get_current(t, f->a.pub, "other", &cur, &err), 0);
    const uint8_t *env;
    size_t len;
    assert_int_equal(rk_store_get_envelope(t, rec.hash, &env, &len, &err), 1);
    assert_int_equal(len, rec.env_len);
    assert_memory_equal(env, rec.env, len);
    rk_record loaded;
    assert_int_equal(rk_store_load(t, rec.hash, &loaded, &err), 0);
    assert_string_equal(loaded.msg->case_->title, "石川樹脂工業のリスキリング");
    assert_memory_equal(loaded.hash, rec.hash, RK_HASH_LEN);
    assert_memory_equal(loaded.sig, rec.sig, RK_SIG_LEN);
    assert_true(rk_record_signature_ok(&loaded));
    struct rk_store_counts c = counts(t);
    assert_int_equal(c.current, 1);
    assert_int_equal(c.by_kind[RENKEI__KIND__KIND_CASE], 1);
    assert_int_equal(c.last_seq, 1);
    rk_record_free(&loaded);
    rk_txn_abort(t);
    rk_record_free(&rec);
}

static void test_current_version_rule(void **state)
{
    fixture *f = *state;
    rk_record v1, v2, v3;
    fx_seal_case(&f->a, "saga", 100, PUBLIC, "v1", &v1);
    fx_seal_case(&f->a, "saga", 200, PUBLIC, "v2", &v2);
    fx_seal_case(&f->a, "saga", 300, PUBLIC, "v3", &v3);
    assert_int_equal(put_one(f, &v2, NULL), RK_PUT_STORED);
    /* an older version arriving later changes nothing */
    assert_int_equal(put_one(f, &v1, NULL), RK_PUT_STALE);
    assert_int_equal(put_one(f, &v2, NULL), RK_PUT_STALE);
    uint64_t seq;
    assert_int_equal(put_one(f, &v3, &seq), RK_PUT_STORED);
    assert_int_equal(seq, 2);

    rk_txn *t = fx_begin(&f->s, false);
    expect_current(f, t, "saga", &v3);
    /* the replaced version's envelope is gone, and so are its set item and its index entries */
    assert_false(has_envelope(t, &v2));
    assert_false(has_envelope(t, &v1));
    struct rk_store_counts c = counts(t);
    assert_int_equal(c.current, 1);
    assert_int_equal(c.last_seq, 2);
    rk_txn_abort(t);
    assert_int_equal(set_count(f, RK_SET_PUBLIC), 1);
    assert_int_equal(query_count(f, PUBLIC), 1);
    FX_FREE_RECORDS(&v1, &v2, &v3);
}

static void test_tie_by_larger_hash(void **state)
{
    fixture *f = *state;
    rk_record a, b;
    fx_seal_case(&f->a, "tie", 500, PUBLIC, "first", &a);
    fx_seal_case(&f->a, "tie", 500, PUBLIC, "second", &b);
    rk_record *small = memcmp(a.hash, b.hash, RK_HASH_LEN) < 0 ? &a : &b;
    rk_record *large = small == &a ? &b : &a;
    assert_int_equal(put_one(f, large, NULL), RK_PUT_STORED);
    assert_int_equal(put_one(f, small, NULL), RK_PUT_STALE);
    rk_txn *t = fx_begin(&f->s, false);
    expect_current(f, t, "tie", large);
    rk_txn_abort(t);

    /* and in the other order the larger hash replaces the smaller */
    rk_record a2, b2;
    fx_seal_case(&f->a, "tie2", 500, PUBLIC, "first", &a2);
    fx_seal_case(&f->a, "tie2", 500, PUBLIC, "second", &b2);
    small = memcmp(a2.hash, b2.hash, RK_HASH_LEN) < 0 ? &a2 : &b2;
    large = small == &a2 ? &b2 : &a2;
    assert_int_equal(put_one(f, small, NULL), RK_PUT_STORED);
    assert_int_equal(put_one(f, large, NULL), RK_PUT_STORED);
    t = fx_begin(&f->s, false);
    expect_current(f, t, "tie2", large);
    rk_txn_abort(t);
    assert_int_equal(set_count(f, RK_SET_PUBLIC), 2);
    FX_FREE_RECORDS(&a, &b, &a2, &b2);
}

static void test_tombstone(void **state)
{
    fixture *f = *state;
    rk_record live, other, tomb;
    fx_seal_case(&f->a, "gone", 100, NETWORK, "to be deleted", &live);
    fx_seal_case(&f->a, "kept", 100, PUBLIC, "kept", &other);
    fx_seal_tombstone(&f->a, "gone", 200, NETWORK, &tomb);
    put_one(f, &live, NULL);
    put_one(f, &other, NULL);
    assert_int_equal(query_count(f, LOCAL), 2);
    assert_int_equal(put_one(f, &tomb, NULL), RK_PUT_STORED);
    assert_int_equal(query_count(f, LOCAL), 1);

    rk_txn *t = fx_begin(&f->s, false);
    rk_error err;
    /* the tombstone's envelope is kept so it can be relayed; the deleted record's is not */
    assert_true(has_envelope(t, &tomb));
    assert_false(has_envelope(t, &live));
    struct rk_store_counts c = counts(t);
    assert_int_equal(c.current, 1);
    assert_int_equal(c.by_kind[RENKEI__KIND__KIND_CASE], 1);
    assert_int_equal(c.by_kind[RENKEI__KIND__KIND_TOMBSTONE], 1);
    /* the tombstone is in the set of the visibility it carries */
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN], item[RK_ITEM_LEN];
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    rk_put_be64(item, 200);
    memcpy(item + 8, tomb.hash, RK_HASH_LEN);
    uint8_t got[RK_ITEM_LEN];
    assert_int_equal(rk_store_set_nth(t, RK_SET_MEMBERS, lo, 1, got, &err), 1);
    assert_memory_equal(got, item, RK_ITEM_LEN);
    rk_txn_abort(t);
    assert_int_equal(set_count(f, RK_SET_PUBLIC), 1);
    assert_int_equal(set_count(f, RK_SET_MEMBERS), 2);
    /* an older version of the deleted record cannot bring it back */
    assert_int_equal(put_one(f, &live, NULL), RK_PUT_STALE);
    assert_int_equal(query_count(f, LOCAL), 1);
    FX_FREE_RECORDS(&live, &other, &tomb);
}

/* rk_store_remove_after removes exactly the author's records above the cutoff, tombstones included,
 * from the records, the sets, the queries and the counters; a cutoff of 0 removes all of them. */
static void test_remove_after(void **state)
{
    fixture *f = *state;
    rk_record early, late, tomb;
    fx_seal_case(&f->a, "early", 100, PUBLIC, "before", &early);
    fx_seal_case(&f->a, "late", 300, PUBLIC, "after", &late);
    fx_seal_tombstone(&f->a, "gone", 400, NETWORK, &tomb);
    put_one(f, &early, NULL);
    put_one(f, &late, NULL);
    put_one(f, &tomb, NULL);
    assert_int_equal(set_count(f, RK_SET_MEMBERS), 3);
    rk_error err;
    uint64_t removed;
    rk_txn *t = fx_begin(&f->s, true);
    assert_int_equal(rk_store_remove_after(t, f->a.pub, 200, &removed, &err), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    assert_int_equal(query_count(f, LOCAL), 1);
    assert_int_equal(set_count(f, RK_SET_PUBLIC), 1);
    assert_int_equal(set_count(f, RK_SET_MEMBERS), 1);
    t = fx_begin(&f->s, false);
    rk_current cur;
    assert_int_equal(rk_store_get_current(t, f->a.pub, "early", &cur, &err), 1);
    assert_int_equal(rk_store_get_current(t, f->a.pub, "late", &cur, &err), 0);
    assert_false(has_envelope(t, &late));
    struct rk_store_counts c = counts(t);
    assert_int_equal(c.current, 1);
    assert_int_equal(c.by_kind[RENKEI__KIND__KIND_TOMBSTONE], 0);
    rk_txn_abort(t);
    t = fx_begin(&f->s, true);
    assert_int_equal(rk_store_remove_after(t, f->a.pub, 0, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    assert_int_equal(query_count(f, LOCAL), 0);
    assert_int_equal(set_count(f, RK_SET_MEMBERS), 0);
    FX_FREE_RECORDS(&early, &late, &tomb);
}

static void test_visibility_sets(void **state)
{
    fixture *f = *state;
    rk_record a, b, c, b2;
    fx_seal_case(&f->a, "pub", 10, PUBLIC, "public", &a);
    fx_seal_case(&f->a, "net", 10, NETWORK, "network", &b);
    fx_seal_case(&f->a, "loc", 10, LOCAL, "local", &c);
    put_one(f, &a, NULL);
    put_one(f, &b, NULL);
    put_one(f, &c, NULL);
    assert_int_equal(set_count(f, RK_SET_PUBLIC), 1);
    assert_int_equal(set_count(f, RK_SET_MEMBERS), 2);
    assert_int_equal(query_count(f, PUBLIC), 1);
    assert_int_equal(query_count(f, NETWORK), 2);
    assert_int_equal(query_count(f, LOCAL), 3);
    /* a new version that becomes local leaves both sets */
    fx_seal_case(&f->a, "net", 11, LOCAL, "now local", &b2);
    put_one(f, &b2, NULL);
    assert_int_equal(set_count(f, RK_SET_MEMBERS), 1);
    assert_int_equal(query_count(f, NETWORK), 1);
    assert_int_equal(query_count(f, LOCAL), 3);
    FX_FREE_RECORDS(&a, &b, &c, &b2);
}

typedef struct change_log {
    rk_change v[64];
    size_t n;
} change_log;

static int collect_change(const rk_change *c, void *ctx)
{
    change_log *l = ctx;
    l->v[l->n++] = *c;
    return 0;
}

static void test_changes_paging(void **state)
{
    fixture *f = *state;
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    for (int i = 0; i < 25; i++) {
        char rid[16];
        snprintf(rid, sizeof rid, "r%d", i);
        rk_record rec;
        fx_seal_case(&f->a, rid, 1000 + (uint64_t)i, i % 3 == 0 ? NETWORK : PUBLIC, "paged", &rec);
        rk_put_result res;
        uint64_t seq;
        assert_int_equal(rk_store_put(t, &rec, &res, &seq, &err), 0);
        assert_int_equal(res, RK_PUT_STORED);
        assert_int_equal(seq, (uint64_t)i + 1);
        rk_record_free(&rec);
    }
    assert_int_equal(rk_txn_commit(t, &err), 0);

    t = fx_begin(&f->s, false);
    change_log log = {.n = 0};
    uint64_t after = 0;
    for (int page = 0; page < 4; page++) {
        size_t before = log.n;
        assert_int_equal(rk_store_changes(t, after, 10, collect_change, &log, &err), 0);
        assert_true(log.n - before <= 10);
        if (log.n == before)
            break;
        after = log.v[log.n - 1].seq;
    }
    assert_int_equal(log.n, 25);
    for (size_t i = 0; i < log.n; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "r%zu", i);
        assert_int_equal(log.v[i].seq, i + 1);
        assert_string_equal(log.v[i].rid, rid);
        assert_int_equal(log.v[i].version, 1000 + i);
        assert_int_equal(log.v[i].kind, RENKEI__KIND__KIND_CASE);
        assert_int_equal(log.v[i].visibility, i % 3 == 0 ? NETWORK : PUBLIC);
        assert_memory_equal(log.v[i].author, f->a.pub, RK_KEY_LEN);
    }
    log.n = 0;
    assert_int_equal(rk_store_changes(t, 25, 10, collect_change, &log, &err), 0);
    assert_int_equal(log.n, 0);
    rk_txn_abort(t);
}

static void test_reopen_persists(void **state)
{
    fixture *f = *state;
    rk_record a, b;
    fx_seal_case(&f->a, "persist", 42, PUBLIC, "durable", &a);
    put_one(f, &a, NULL);
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    assert_int_equal(rk_store_meta_put(t, "peer.kuwana.last_sync", "12345", 5, &err), 0);
    assert_int_equal(rk_store_meta_put(t, "_counts", "x", 1, &err), -1);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    fx_store_reopen(&f->s, 0, false);

    t = fx_begin(&f->s, false);
    expect_current(f, t, "persist", &a);
    rk_buf b_meta;
    rk_buf_init(&b_meta);
    assert_int_equal(rk_store_meta_get(t, "peer.kuwana.last_sync", &b_meta, &err), 1);
    assert_int_equal(b_meta.len, 5);
    assert_memory_equal(b_meta.data, "12345", 5);
    assert_int_equal(rk_store_meta_get(t, "peer.none", &b_meta, &err), 0);
    rk_buf_free(&b_meta);
    rk_txn_abort(t);
    /* the sequence continues where it stopped */
    fx_seal_case(&f->a, "persist2", 43, PUBLIC, "durable too", &b);
    uint64_t seq;
    put_one(f, &b, &seq);
    assert_int_equal(seq, 2);
    assert_int_equal(set_count(f, RK_SET_PUBLIC), 2);
    FX_FREE_RECORDS(&a, &b);
}

static void test_map_full(void **state)
{
    fixture *f = *state;
    fx_store_reopen(&f->s, 256 * 1024, true);
    char *summary = malloc(6000);
    assert_non_null(summary);
    memset(summary, 'x', 5999);
    summary[5999] = '\0';
    size_t committed = 0;
    bool full = false;
    rk_error err;
    for (int i = 0; i < 1000 && !full; i++) {
        Renkei__Record r = RENKEI__RECORD__INIT;
        Renkei__Case c = RENKEI__CASE__INIT;
        char rid[16];
        snprintf(rid, sizeof rid, "big%d", i);
        fx_body(&r, RENKEI__KIND__KIND_CASE, &c);
        c.title = rid;
        c.summary = summary;
        c.prefecture = "17";
        c.industry = RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING;
        c.dx_level = RENKEI__DX_LEVEL__DX_LEVEL_EFFICIENCY;
        rk_record rec;
        fx_seal(&f->a, &r, rid, 1, PUBLIC, &rec);
        rk_txn *t = fx_begin(&f->s, true);
        rk_put_result res;
        uint64_t seq;
        if (rk_store_put(t, &rec, &res, &seq, &err) != 0) {
            assert_string_equal(err.code, "store_full");
            /* the transaction was aborted: committing it reports the same error and writes nothing */
            rk_error cerr;
            assert_int_equal(rk_txn_commit(t, &cerr), -1);
            assert_string_equal(cerr.code, "store_full");
            full = true;
        } else if (rk_txn_commit(t, &err) != 0) {
            assert_string_equal(err.code, "store_full");
            full = true;
        } else {
            committed++;
        }
        rk_record_free(&rec);
    }
    free(summary);
    assert_true(full);
    assert_true(committed > 0);
    for (int round = 0; round < 2; round++) {
        rk_txn *t = fx_begin(&f->s, false);
        struct rk_store_counts c = counts(t);
        assert_int_equal(c.current, committed);
        assert_int_equal(c.last_seq, committed);
        for (size_t i = 0; i < committed; i++) {
            char rid[32];
            snprintf(rid, sizeof rid, "big%zu", i);
            rk_current cur;
            assert_int_equal(rk_store_get_current(t, f->a.pub, rid, &cur, &err), 1);
            rk_record loaded;
            assert_int_equal(rk_store_load(t, cur.hash, &loaded, &err), 0);
            assert_string_equal(loaded.msg->case_->title, rid);
            rk_record_free(&loaded);
        }
        rk_txn_abort(t);
        assert_int_equal(set_count(f, RK_SET_PUBLIC), committed);
        assert_int_equal(query_count(f, PUBLIC), committed);
        /* and again after reopening */
        fx_store_reopen(&f->s, 256 * 1024, false);
    }
}

/* ---- the fingerprint index against brute force ---------------------------------------------------- */

typedef struct model_entry {
    char rid[32];
    uint64_t version;
    uint8_t hash[RK_HASH_LEN];
    int vis;
    bool present;
} model_entry;

static int cmp_item(const void *a, const void *b)
{
    return memcmp(a, b, RK_ITEM_LEN);
}

/* The sorted items of one set according to the model. */
static size_t model_items(const model_entry *m, size_t n, int set, uint8_t *items)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!m[i].present)
            continue;
        bool in = m[i].vis == PUBLIC || (set == RK_SET_MEMBERS && m[i].vis == NETWORK);
        if (!in)
            continue;
        rk_put_be64(items + k * RK_ITEM_LEN, m[i].version);
        memcpy(items + k * RK_ITEM_LEN + 8, m[i].hash, RK_HASH_LEN);
        k++;
    }
    qsort(items, k, RK_ITEM_LEN, cmp_item);
    return k;
}

static void brute_fingerprint(const uint8_t *items, size_t n, const uint8_t *lo, const uint8_t *hi, uint64_t *count,
                              uint8_t fp[RK_FP_LEN])
{
    uint8_t sum[32] = {0};
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *it = items + i * RK_ITEM_LEN;
        if (memcmp(it, lo, RK_ITEM_LEN) < 0 || memcmp(it, hi, RK_ITEM_LEN) >= 0)
            continue;
        unsigned carry = 0;
        for (int j = 0; j < 32; j++) {
            unsigned s = (unsigned)sum[j] + it[8 + j] + carry;
            sum[j] = (uint8_t)s;
            carry = s >> 8;
        }
        c++;
    }
    uint8_t buf[40], digest[32];
    memcpy(buf, sum, 32);
    for (int j = 0; j < 8; j++)
        buf[32 + j] = (uint8_t)(c >> (8 * j));
    rk_sha256(buf, sizeof buf, digest);
    memcpy(fp, digest, RK_FP_LEN);
    *count = c;
}

/* A bound: sometimes an existing item, sometimes an item plus or minus a little, sometimes random
 * bytes under a common version prefix, sometimes the extremes. */
static void random_bound(uint64_t *st, const uint8_t *items, size_t n, uint64_t base, uint8_t out[RK_ITEM_LEN])
{
    unsigned pick = (unsigned)(rk_test_rand(st) % 6);
    if (n && pick < 3) {
        memcpy(out, items + (rk_test_rand(st) % n) * RK_ITEM_LEN, RK_ITEM_LEN);
        if (pick == 1)
            out[RK_ITEM_LEN - 1] ^= 1;
        if (pick == 2)
            memset(out + 8 + (rk_test_rand(st) % 4), (int)(rk_test_rand(st) & 0xff), 1);
    } else if (pick == 3) {
        rk_put_be64(out, base + rk_test_rand(st) % 6000);
        for (int i = 8; i < RK_ITEM_LEN; i++)
            out[i] = (uint8_t)rk_test_rand(st);
    } else if (pick == 4) {
        memset(out, 0, RK_ITEM_LEN);
    } else {
        memset(out, 0xff, RK_ITEM_LEN);
    }
}

static void check_against_model(fixture *f, const model_entry *m, size_t n, uint64_t *st, uint64_t base)
{
    uint8_t *items = malloc(n * RK_ITEM_LEN + 1);
    assert_non_null(items);
    rk_txn *t = fx_begin(&f->s, false);
    rk_error err;
    for (int set = 0; set < 2; set++) {
        size_t k = model_items(m, n, set, items);
        for (int q = 0; q < 400; q++) {
            uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN], fp[RK_FP_LEN], want_fp[RK_FP_LEN];
            random_bound(st, items, k, base, lo);
            random_bound(st, items, k, base, hi);
            if (q % 2 && memcmp(lo, hi, RK_ITEM_LEN) > 0) {
                uint8_t tmp[RK_ITEM_LEN];
                memcpy(tmp, lo, sizeof tmp);
                memcpy(lo, hi, sizeof tmp);
                memcpy(hi, tmp, sizeof tmp);
            }
            uint64_t count, want;
            assert_int_equal(rk_store_set_fingerprint(t, set, lo, hi, &count, fp, &err), 0);
            brute_fingerprint(items, k, lo, hi, &want, want_fp);
            assert_int_equal(count, want);
            assert_memory_equal(fp, want_fp, RK_FP_LEN);

            /* adjacent ranges, as reconciliation asks for them: each bound is asked for twice in a
             * row, so these answers come from the transaction's memo of recent bounds */
            uint8_t mid[RK_ITEM_LEN];
            random_bound(st, items, k, base, mid);
            const uint8_t *bounds[] = {lo, mid, hi, mid, lo};
            for (int b = 0; b + 1 < 5; b++) {
                assert_int_equal(rk_store_set_fingerprint(t, set, bounds[b], bounds[b + 1], &count, fp, &err), 0);
                brute_fingerprint(items, k, bounds[b], bounds[b + 1], &want, want_fp);
                assert_int_equal(count, want);
                assert_memory_equal(fp, want_fp, RK_FP_LEN);
            }

            /* nth: the item n places after the first item >= lo */
            size_t first = 0;
            while (first < k && memcmp(items + first * RK_ITEM_LEN, lo, RK_ITEM_LEN) < 0)
                first++;
            uint64_t nth = rk_test_rand(st) % (k - first + 3);
            uint8_t got[RK_ITEM_LEN];
            int found = rk_store_set_nth(t, set, lo, nth, got, &err);
            assert_true(found >= 0);
            if (first + nth < k) {
                assert_int_equal(found, 1);
                assert_memory_equal(got, items + (first + nth) * RK_ITEM_LEN, RK_ITEM_LEN);
            } else {
                assert_int_equal(found, 0);
            }
        }
        /* every item, in order */
        uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
        memset(lo, 0, sizeof lo);
        memset(hi, 0xff, sizeof hi);
        for (size_t i = 0; i < k; i += 1 + k / 50) {
            uint8_t got[RK_ITEM_LEN];
            assert_int_equal(rk_store_set_nth(t, set, lo, i, got, &err), 1);
            assert_memory_equal(got, items + i * RK_ITEM_LEN, RK_ITEM_LEN);
        }
    }
    rk_txn_abort(t);
    free(items);
}

static int collect_items(const uint8_t item[RK_ITEM_LEN], void *ctx)
{
    uint8_t **p = ctx;
    memcpy(*p, item, RK_ITEM_LEN);
    *p += RK_ITEM_LEN;
    return 0;
}

static void test_fingerprints_match_brute_force(void **state)
{
    fixture *f = *state;
    enum { N = 2500, UPDATES = 2500 };
    model_entry *m = calloc(N, sizeof *m);
    assert_non_null(m);
    uint64_t st = 0x9e3779b97f4a7c15u;
    /* versions crowd into a few seconds so that items share long prefixes, and some collide exactly */
    const uint64_t base = 1700000000000u;
    const int vis_choice[4] = {PUBLIC, PUBLIC, NETWORK, LOCAL};
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    for (size_t i = 0; i < N + UPDATES; i++) {
        size_t idx = i < N ? i : rk_test_rand(&st) % N;
        model_entry *e = &m[idx];
        if (i < N) {
            snprintf(e->rid, sizeof e->rid, "fp%zu", idx);
            e->version = base + rk_test_rand(&st) % (i % 5 == 0 ? 40 : 5000);
        } else {
            e->version += 1 + rk_test_rand(&st) % 300;
        }
        int vis = vis_choice[rk_test_rand(&st) % 4];
        rk_record rec;
        bool tombstone = i >= N && rk_test_rand(&st) % 5 == 0;
        if (tombstone)
            fx_seal_tombstone(&f->a, e->rid, e->version, vis, &rec);
        else
            fx_seal_case(&f->a, e->rid, e->version, vis, e->rid, &rec);
        rk_put_result res;
        assert_int_equal(rk_store_put(t, &rec, &res, NULL, &err), 0);
        assert_int_equal(res, RK_PUT_STORED);
        memcpy(e->hash, rec.hash, RK_HASH_LEN);
        e->vis = vis;
        e->present = true;
        rk_record_free(&rec);
        if (i == N / 10) {
            /* check a small set too, inside the write transaction */
            assert_int_equal(rk_txn_commit(t, &err), 0);
            check_against_model(f, m, N, &st, base);
            t = fx_begin(&f->s, true);
        }
    }
    assert_int_equal(rk_txn_commit(t, &err), 0);
    check_against_model(f, m, N, &st, base);

    /* rk_store_set_items lists exactly the model's set, in order, and honours the limit */
    uint8_t *items = malloc(N * RK_ITEM_LEN), *got = malloc(N * RK_ITEM_LEN);
    assert_non_null(items);
    assert_non_null(got);
    size_t k = model_items(m, N, RK_SET_MEMBERS, items);
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    t = fx_begin(&f->s, false);
    uint8_t *p = got;
    assert_int_equal(rk_store_set_items(t, RK_SET_MEMBERS, lo, hi, 0, collect_items, &p, &err), 0);
    assert_int_equal((size_t)(p - got), k * RK_ITEM_LEN);
    assert_memory_equal(got, items, k * RK_ITEM_LEN);
    p = got;
    assert_int_equal(rk_store_set_items(t, RK_SET_MEMBERS, items + 10 * RK_ITEM_LEN, hi, 7, collect_items, &p, &err),
                     0);
    assert_int_equal((size_t)(p - got), 7 * RK_ITEM_LEN);
    assert_memory_equal(got, items + 10 * RK_ITEM_LEN, 7 * RK_ITEM_LEN);
    rk_txn_abort(t);
    free(items);
    free(got);
    free(m);
}

int main(void)
{
    return RK_RUN_TESTS(fx_store_author_setup, fx_store_author_teardown, cmocka_unit_test(test_put_get_load),
                        cmocka_unit_test(test_current_version_rule), cmocka_unit_test(test_tie_by_larger_hash),
                        cmocka_unit_test(test_tombstone), cmocka_unit_test(test_remove_after),
                        cmocka_unit_test(test_visibility_sets), cmocka_unit_test(test_changes_paging),
                        cmocka_unit_test(test_reopen_persists), cmocka_unit_test(test_map_full),
                        cmocka_unit_test(test_fingerprints_match_brute_force));
}
