/* Tests of lib/pending.c, the records of non-members kept aside: the per-author bound refuses (before
 * any signature work), the total bound evicts the oldest of other nodes' records, the node's own
 * records are never evicted nor expired, a record is kept once, and take empties an author's records
 * from both databases. */
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
#include "pending.h"
#include "run_tests.h"
#include "sign.h"
#include "store.h"

#define NOW_MS UINT64_C(1700000000000)

typedef struct fixture {
    fx_store s;
    fx_author a, b;
    rk_txn *txn;
    rk_pending_policy policy;
} fixture;

static int setup(void **state)
{
    fixture *f = fx_state_new(state, sizeof *f);
    fx_store_open(&f->s, "pending", 0);
    fx_author_init(&f->a);
    fx_author_init(&f->b);
    f->txn = fx_begin(&f->s, true);
    f->policy = (rk_pending_policy){.per_author = 2, .total = 3, .keep_ms = 1000};
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rk_txn_abort(f->txn);
    fx_store_close(&f->s);
    fx_author_free(&f->a);
    fx_author_free(&f->b);
    free(f);
    return 0;
}

/* Keeps a record by author as the writer would: room first, then put. Returns rk_pending_room's
 * answer. */
static int keep(fixture *f, const fx_author *author, const char *rid, bool own, uint64_t at, uint64_t *evicted,
                rk_error *err)
{
    rk_record rec;
    fx_seal_case(author, rid, NOW_MS - 10, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, rid, &rec);
    int room = rk_pending_room(f->txn, &f->policy, &rec, own, err);
    if (room == 1)
        assert_int_equal(rk_pending_put(f->txn, &f->policy, &rec, own, at, evicted, err), 0);
    rk_record_free(&rec);
    return room;
}

static uint64_t count(fixture *f)
{
    uint64_t n;
    rk_error err;
    assert_int_equal(rk_pending_count(f->txn, &n, &err), 0);
    return n;
}

static size_t taken(fixture *f, const uint8_t *author, const char *first_rid_or_null)
{
    rk_pending_list l;
    rk_error err;
    assert_int_equal(rk_pending_take(f->txn, author, &l, &err), 0);
    size_t n = l.n;
    if (first_rid_or_null) {
        bool found = false;
        for (size_t i = 0; i < l.n; i++) {
            rk_record rec;
            assert_int_equal(rk_record_parse(l.items[i].env, l.items[i].len, NULL, 0, &rec, &err), 0);
            assert_memory_equal(rec.msg->author.data, author, RK_KEY_LEN);
            found |= strcmp(rec.msg->rid, first_rid_or_null) == 0;
            rk_record_free(&rec);
        }
        assert_true(found);
    }
    rk_pending_list_free(&l);
    return n;
}

static void test_per_author_bound_refuses_and_duplicates_are_kept_once(void **state)
{
    fixture *f = *state;
    rk_error err;
    uint64_t ev;
    assert_int_equal(keep(f, &f->a, "a1", false, NOW_MS, &ev, &err), 1);
    assert_int_equal(keep(f, &f->a, "a1", false, NOW_MS, &ev, &err), 0);
    assert_string_equal(err.code, "duplicate");
    assert_int_equal(keep(f, &f->a, "a2", false, NOW_MS, &ev, &err), 1);
    assert_int_equal(keep(f, &f->a, "a3", false, NOW_MS, &ev, &err), 0);
    assert_string_equal(err.code, "pending_full");
    /* another author still has room, and the node's own records are not bounded */
    assert_int_equal(keep(f, &f->b, "b1", false, NOW_MS, &ev, &err), 1);
    assert_int_equal(keep(f, &f->a, "own1", true, NOW_MS, &ev, &err), 1);
    assert_int_equal(count(f), 4);
}

static void test_total_bound_evicts_oldest_of_others(void **state)
{
    fixture *f = *state;
    rk_error err;
    uint64_t ev = 99;
    assert_int_equal(keep(f, &f->a, "own", true, NOW_MS, &ev, &err), 1); /* the oldest, but own */
    assert_int_equal(keep(f, &f->a, "a1", false, NOW_MS + 1, &ev, &err), 1);
    assert_int_equal(ev, 0);
    assert_int_equal(keep(f, &f->b, "b1", false, NOW_MS + 2, &ev, &err), 1);
    assert_int_equal(ev, 0);
    assert_int_equal(count(f), 3);
    /* full: the oldest record of another node (a1) goes, never the node's own */
    assert_int_equal(keep(f, &f->b, "b2", false, NOW_MS + 3, &ev, &err), 1);
    assert_int_equal(ev, 1);
    assert_int_equal(count(f), 3);
    assert_int_equal(taken(f, f->a.pub, "own"), 1);
    assert_int_equal(taken(f, f->b.pub, "b2"), 2);
    assert_int_equal(count(f), 0);
}

static void test_expiry_spares_own_and_recent(void **state)
{
    fixture *f = *state;
    rk_error err;
    uint64_t ev, dropped;
    assert_int_equal(keep(f, &f->a, "own", true, NOW_MS, &ev, &err), 1);
    assert_int_equal(keep(f, &f->b, "old", false, NOW_MS, &ev, &err), 1);
    assert_int_equal(keep(f, &f->b, "new", false, NOW_MS + 900, &ev, &err), 1);
    assert_int_equal(rk_pending_expire(f->txn, &f->policy, NOW_MS + 500, &dropped, &err), 0);
    assert_int_equal(dropped, 0);
    assert_int_equal(rk_pending_expire(f->txn, &f->policy, NOW_MS + 1500, &dropped, &err), 0);
    assert_int_equal(dropped, 1);
    assert_int_equal(taken(f, f->b.pub, "new"), 1);
    assert_int_equal(taken(f, f->a.pub, "own"), 1);
}

typedef struct seen {
    uint8_t keys[4][RK_KEY_LEN];
    size_t n;
} seen;

static int see_author(const uint8_t author[RK_KEY_LEN], void *ctx)
{
    seen *s = ctx;
    assert_true(s->n < 4);
    memcpy(s->keys[s->n++], author, RK_KEY_LEN);
    return 0;
}

static void test_authors_lists_each_once_and_take_empties(void **state)
{
    fixture *f = *state;
    rk_error err;
    uint64_t ev;
    f->policy.total = 100;
    assert_int_equal(keep(f, &f->a, "a1", false, NOW_MS, &ev, &err), 1);
    assert_int_equal(keep(f, &f->a, "a2", false, NOW_MS, &ev, &err), 1);
    assert_int_equal(keep(f, &f->b, "b1", false, NOW_MS, &ev, &err), 1);
    seen s = {0};
    assert_int_equal(rk_pending_authors(f->txn, see_author, &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_true(memcmp(s.keys[0], s.keys[1], RK_KEY_LEN) < 0);
    assert_int_equal(taken(f, f->a.pub, "a2"), 2);
    assert_int_equal(taken(f, f->a.pub, NULL), 0);
    s.n = 0;
    assert_int_equal(rk_pending_authors(f->txn, see_author, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_memory_equal(s.keys[0], f->b.pub, RK_KEY_LEN);
    assert_int_equal(count(f), 1);
    /* once taken, a's records are room again */
    assert_int_equal(keep(f, &f->a, "a1", false, NOW_MS, &ev, &err), 1);
}

int main(void)
{
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_per_author_bound_refuses_and_duplicates_are_kept_once),
                        cmocka_unit_test(test_total_bound_evicts_oldest_of_others),
                        cmocka_unit_test(test_expiry_spares_own_and_recent),
                        cmocka_unit_test(test_authors_lists_each_once_and_take_empties));
}
