/* test_spool_flight: one rendering for the requests that want the same body at the same time
 * (rk_spool_claim, lib/spool.c). A request that claims a key being rendered waits for the renderer to
 * unclaim it and then shares its file; when the render left no file, the waiter claims the key and
 * renders in its turn; distinct keys never wait for each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "run_tests.h"
#include "spool.h"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rk-test-flight-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    return rmdir(dir);
}

typedef struct waiter {
    rk_spool *s;
    const char *key;
    rk_spool_file *got;
    atomic_bool returned;
} waiter;

static void *claim_thread(void *arg)
{
    waiter *w = arg;
    w->got = rk_spool_claim(w->s, w->key);
    atomic_store(&w->returned, true);
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_a_claimed_key_is_waited_for_and_shared(void **state)
{
    (void)state;
    rk_error err;
    rk_spool *s = rk_spool_new(dir, 1 << 20, &err);
    assert_non_null(s);
    assert_null(rk_spool_claim(s, "\"etag-1\"")); /* this thread renders */
    waiter w = {.s = s, .key = "\"etag-1\""};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, claim_thread, &w), 0);
    /* another key is not held up by the render in progress */
    assert_null(rk_spool_claim(s, "\"etag-2\""));
    rk_spool_unclaim(s, "\"etag-2\"");
    pause_ms(200);
    assert_false(atomic_load(&w.returned)); /* still waiting for the render */
    rk_spool_writer *wr = rk_spool_begin(s, &err);
    assert_non_null(wr);
    assert_int_equal(rk_spool_write(wr, "body", 4, &err), 0);
    rk_spool_file *f = rk_spool_finish(wr, "\"etag-1\"", "note", &err);
    assert_non_null(f);
    pause_ms(50);
    assert_false(atomic_load(&w.returned)); /* the claim, not the file, ends the wait */
    rk_spool_unclaim(s, "\"etag-1\"");
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_ptr_equal(w.got, f); /* shared, not rendered again */
    rk_spool_file_unref(w.got);
    rk_spool_file_unref(f);
    assert_int_equal(rk_spool_used(s), 0);
    rk_spool_release(s);
}

static void test_a_render_that_left_no_file_passes_the_claim_on(void **state)
{
    (void)state;
    rk_error err;
    rk_spool *s = rk_spool_new(dir, 1 << 20, &err);
    assert_non_null(s);
    assert_null(rk_spool_claim(s, "k"));
    waiter w = {.s = s, .key = "k"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, claim_thread, &w), 0);
    pause_ms(100);
    assert_false(atomic_load(&w.returned));
    rk_spool_unclaim(s, "k"); /* a small body, a 304 or an error: nothing in the spool */
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_null(w.got); /* the waiter now holds the claim: a third one waits for it */
    waiter w3 = {.s = s, .key = "k"};
    assert_int_equal(pthread_create(&th, NULL, claim_thread, &w3), 0);
    pause_ms(100);
    assert_false(atomic_load(&w3.returned));
    rk_spool_unclaim(s, "k");
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_null(w3.got);
    rk_spool_unclaim(s, "k");
    rk_spool_release(s);
}

int main(void)
{
    return RK_RUN_TESTS(make_dir, remove_dir, cmocka_unit_test(test_a_claimed_key_is_waited_for_and_shared),
                        cmocka_unit_test(test_a_render_that_left_no_file_passes_the_claim_on));
}
