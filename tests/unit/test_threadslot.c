/* Tests of lib/threadslot.c: a thread gets the same zeroed object on every call, another thread gets
 * its own, and each object is destroyed when its thread ends, once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "run_tests.h"
#include "threadslot.h"

typedef struct counter {
    int value;
    char pad[200];
} counter;

static atomic_int released;

static void counter_release(void *p)
{
    counter *c = p;
    if (c->value > 0) /* what its thread counted is still there */
        atomic_fetch_add(&released, 1);
}

static rk_thread_slot slot = RK_THREAD_SLOT_INIT(counter, counter_release);

/* Counts to n (its argument) in the thread's object, asking for it each time; the value it reached:
 * n only if the object started at zero, stayed the same and nobody else counted in it. */
static void *count_in_thread(void *arg)
{
    int *n = arg, got = -1;
    for (int i = 0; i < *n; i++) {
        counter *c = rk_thread_slot_get(&slot);
        if (!c)
            break;
        got = ++c->value;
    }
    *n = got;
    return NULL;
}

static void test_one_object_per_thread(void **state)
{
    (void)state;
    atomic_store(&released, 0);
    enum { THREADS = 8 };
    pthread_t tid[THREADS];
    int runs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        runs[i] = 1000 + i;
        assert_int_equal(pthread_create(&tid[i], NULL, count_in_thread, &runs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(runs[i], 1000 + i);
    /* every thread's object was released when it ended, once each (ASan: and freed) */
    assert_int_equal(atomic_load(&released), THREADS);
}

int main(void)
{
    /* only in threads that end: the main thread's object would be freed by no one */
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_one_object_per_thread));
}
