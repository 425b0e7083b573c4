/* Tests of the writer's batch order (daemon/batchorder.c): the node's own records run in version
 * order, in the places own records held; peers' items never move; the result is a permutation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "batchorder.h"
#include "run_tests.h"

#define N_MAX 64

static rk_batchorder b;

/* The order rk_batchorder gives n items (item i is &items[i]), checked to be a permutation. */
static const uint8_t zero_hash[RK_BATCHORDER_HASH_LEN];

/* The order of n items of the given versions, all of the same hash. */
static void order_of_hashed(const uint64_t *version, const bool *own, const uint8_t *const *hash, size_t n,
                            size_t *order)
{
    static int items[N_MAX];
    b.n = 0;
    for (size_t i = 0; i < n; i++)
        assert_true(rk_batchorder_add(&b, &items[i], own[i], version[i], hash ? hash[i] : zero_hash));
    bool moved = rk_batchorder_sort(&b);
    bool seen[N_MAX] = {false};
    bool identity = true;
    for (size_t i = 0; i < n; i++) {
        assert_true(b.order[i] < n);
        assert_false(seen[b.order[i]]);
        seen[b.order[i]] = true;
        assert_ptr_equal(b.item[b.order[i]], &items[b.order[i]]);
        order[i] = b.order[i];
        identity = identity && order[i] == i;
    }
    assert_int_equal(moved, !identity);
}

static void order_of(const uint64_t *version, const bool *own, size_t n, size_t *order)
{
    order_of_hashed(version, own, NULL, n, order);
}

/* Records of one version (many share one above 1,000 publishes a second) come in the order of the
 * posting lists: the larger hash first. */
static void test_equal_versions_run_by_descending_hash(void **state)
{
    (void)state;
    uint8_t h[4][RK_BATCHORDER_HASH_LEN] = {{0}};
    h[0][0] = 0x10;
    h[1][0] = 0x90;
    h[2][0] = 0x10;
    h[2][31] = 1; /* above h[0] by its last byte */
    h[3][0] = 0x05;
    const uint8_t *hash[4] = {h[0], h[1], h[2], h[3]};
    uint64_t version[4] = {7, 7, 7, 6};
    bool own[4] = {true, true, true, true};
    size_t order[4];
    order_of_hashed(version, own, hash, 4, order);
    size_t want[4] = {3, 1, 2, 0};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(order[i], want[i]);
}

/* A batch holds at most RK_BATCHORDER_MAX items. */
static void test_full_batch_refuses_more(void **state)
{
    (void)state;
    b.n = 0;
    for (size_t i = 0; i < RK_BATCHORDER_MAX; i++)
        assert_true(rk_batchorder_add(&b, NULL, true, RK_BATCHORDER_MAX - i, zero_hash));
    assert_false(rk_batchorder_add(&b, NULL, true, 0, zero_hash));
    assert_true(rk_batchorder_sort(&b));
    for (size_t i = 0; i < RK_BATCHORDER_MAX; i++)
        assert_int_equal(b.order[i], RK_BATCHORDER_MAX - 1 - i);
}

/* Own records sealed on several threads reach the writer out of version order: they run sorted. */
static void test_own_records_run_in_version_order(void **state)
{
    (void)state;
    uint64_t version[6] = {105, 101, 103, 102, 106, 104};
    bool own[6] = {true, true, true, true, true, true};
    size_t order[6];
    order_of(version, own, 6, order);
    size_t want[6] = {1, 3, 2, 5, 0, 4};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(order[i], want[i]);
}

/* Peers' items keep their places, so a membership record still comes before the items that follow
 * it; own records take the remaining places in version order. */
static void test_peer_items_keep_their_places(void **state)
{
    (void)state;
    uint64_t version[7] = {30, 999, 10, 5, 20, 1, 0};
    bool own[7] = {true, false, true, false, true, false, false};
    size_t order[7];
    order_of(version, own, 7, order);
    size_t want[7] = {2, 1, 4, 3, 0, 5, 6};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(order[i], want[i]);
}

/* Equal versions and hashes keep their order (a stable sort), and a sorted batch is left as it is. */
static void test_equal_versions_and_sorted_batches_keep_their_order(void **state)
{
    (void)state;
    uint64_t version[5] = {7, 3, 7, 3, 7};
    bool own[5] = {true, true, true, true, true};
    size_t order[5];
    order_of(version, own, 5, order);
    size_t want[5] = {1, 3, 0, 2, 4};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(order[i], want[i]);
    uint64_t sorted[4] = {1, 2, 2, 9};
    bool all[4] = {true, true, true, true};
    order_of(sorted, all, 4, order);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(order[i], i);
}

/* Many records in reverse order, mixed with peers' items every third place. */
static void test_long_reversed_batch(void **state)
{
    (void)state;
    uint64_t version[N_MAX];
    bool own[N_MAX];
    for (size_t i = 0; i < N_MAX; i++) {
        own[i] = i % 3 != 1;
        version[i] = 1000 - i;
    }
    size_t order[N_MAX];
    order_of(version, own, N_MAX, order);
    uint64_t last = 0;
    for (size_t i = 0; i < N_MAX; i++) {
        assert_int_equal(own[order[i]], own[i]);
        if (!own[i]) {
            assert_int_equal(order[i], i);
            continue;
        }
        assert_true(version[order[i]] > last);
        last = version[order[i]];
    }
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_own_records_run_in_version_order),
                        cmocka_unit_test(test_peer_items_keep_their_places),
                        cmocka_unit_test(test_equal_versions_and_sorted_batches_keep_their_order),
                        cmocka_unit_test(test_long_reversed_batch), cmocka_unit_test(test_full_batch_refuses_more),
                        cmocka_unit_test(test_equal_versions_run_by_descending_hash));
}
