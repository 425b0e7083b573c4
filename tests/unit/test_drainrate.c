/* Tests of the writer's drain rate (daemon/drainrate.c), which tells a pushing peer how long to wait:
 * the first delivery after idle (the pipeline filling) is not a sample, the ones after it are, idle
 * time never counts, and the wait is rounded up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "drainrate.h"
#include "run_tests.h"

#define MS 1000000ull

/* Before anything was measured, the default rate: 200 us per item. */
static void test_drainrate_default(void **state)
{
    (void)state;
    rk_drainrate r = {0};
    assert_int_equal(rk_drainrate_ms(&r, 0), 0);
    assert_int_equal(rk_drainrate_ms(&r, 1000), 201);
}

/* A writer idle for a minute gets 3,000 items; verifying and committing the first 96 takes 590 ms,
 * then it delivers 1,024 every 250 ms. Taking the first delivery as a rate (6 ms an item) told a
 * peer pushing 953 items over the bound to wait 5.8 s; the writer drained them in 0.25 s. */
static void test_drainrate_first_delivery_after_idle_is_not_a_rate(void **state)
{
    (void)state;
    rk_drainrate r = {0};
    uint64_t now = 60000 * MS;
    rk_drainrate_start(&r, now);
    rk_drainrate_delivered(&r, 96, now + 590 * MS);
    assert_int_equal(rk_drainrate_ms(&r, 953), 191); /* still the default */
    rk_drainrate_delivered(&r, 1024, now + 840 * MS);
    unsigned ms = rk_drainrate_ms(&r, 953);
    assert_true(ms >= 232 && ms <= 234); /* 244 us an item */
    /* the next delivery moves the average by a third of the difference */
    rk_drainrate_delivered(&r, 1024, now + 1340 * MS); /* 488 us an item */
    ms = rk_drainrate_ms(&r, 1000);
    assert_true(ms >= 316 && ms <= 318); /* 0.3 * 488 + 0.7 * 244 = 317 us */
}

/* Idle time between bursts is not drain time, and each burst's first delivery is skipped again. */
static void test_drainrate_idle_time_does_not_count(void **state)
{
    (void)state;
    rk_drainrate r = {0};
    rk_drainrate_start(&r, 0);
    rk_drainrate_delivered(&r, 10, 100 * MS);
    rk_drainrate_delivered(&r, 100, 110 * MS); /* 100 us an item */
    assert_int_equal(rk_drainrate_ms(&r, 10000), 1001);
    rk_drainrate_start(&r, 3600000 * MS); /* an hour later */
    rk_drainrate_delivered(&r, 1, 3600500 * MS);
    assert_int_equal(rk_drainrate_ms(&r, 10000), 1001);
    rk_drainrate_delivered(&r, 0, 3600600 * MS); /* nothing delivered: nothing learnt */
    assert_int_equal(rk_drainrate_ms(&r, 10000), 1001);
}

/* A wait that does not fit in 32 bits is the largest that does. */
static void test_drainrate_saturates(void **state)
{
    (void)state;
    rk_drainrate r = {0};
    rk_drainrate_start(&r, 0);
    rk_drainrate_delivered(&r, 1, 1);
    rk_drainrate_delivered(&r, 1, UINT64_MAX / 2);
    assert_int_equal(rk_drainrate_ms(&r, SIZE_MAX), UINT32_MAX);
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_drainrate_default),
                        cmocka_unit_test(test_drainrate_first_delivery_after_idle_is_not_a_rate),
                        cmocka_unit_test(test_drainrate_idle_time_does_not_count),
                        cmocka_unit_test(test_drainrate_saturates));
}
