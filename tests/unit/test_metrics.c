/* Tests for daemon/metrics.c: updates find their series by the name and label strings as given, so
 * every distinct (name, labels) is its own series and the same one always adds to it: one label or
 * two, values that differ only in characters the exposition escapes, a label given as NULL or as "",
 * counters, gauges and histograms; and what renders is the escaped text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "run_tests.h"

/* The rendered exposition, NUL-terminated; the caller frees it. */
static char *render(rk_metrics *m)
{
    rk_buf b;
    rk_buf_init(&b);
    assert_int_equal(rk_metrics_render(m, &b), 0);
    assert_int_equal(rk_buf_puts(&b, ""), 0);
    size_t len;
    return rk_buf_take(&b, &len);
}

static void assert_line(const char *text, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "\n%s\n", line);
    if (!strstr(text, want))
        fail_msg("no line \"%s\" in\n%s", line, text);
}

static void test_each_label_set_is_its_own_series(void **state)
{
    (void)state;
    rk_metrics *m = rk_metrics_new();
    assert_non_null(m);
    rk_metrics_describe(m, "t_total", "counter", "test");
    for (int i = 0; i < 3; i++) {
        rk_metrics_add2(m, "t_total", "route", "/v1/records", "code", "200", 1);
        rk_metrics_add2(m, "t_total", "route", "/v1/records", "code", "404", 2);
        rk_metrics_add(m, "t_total", "route", "/v1/records", 10);
        rk_metrics_add(m, "t_total", "route", "a\"b", 100);
        rk_metrics_add(m, "t_total", "route", "a\\b", 1000);
        rk_metrics_add(m, "t_total", "route", "a\nb", 10000);
        rk_metrics_add(m, "t_total", "code", "/v1/records", 100000);
    }
    rk_metrics_add(m, "u_total", "route", NULL, 5);
    rk_metrics_add(m, "u_total", "route", "", 5);
    rk_metrics_set_gauge(m, "g", 1.5);
    rk_metrics_set_gauge(m, "g", 2.5);
    rk_metrics_set_gauge1(m, "g", "peer", "x", 7);
    rk_metrics_observe(m, "h", "route", "r", 0.002);
    rk_metrics_observe(m, "h", "route", "r", 0.2);
    char *text = render(m);
    assert_line(text, "t_total{route=\"/v1/records\",code=\"200\"} 3");
    assert_line(text, "t_total{route=\"/v1/records\",code=\"404\"} 6");
    assert_line(text, "t_total{route=\"/v1/records\"} 30");
    assert_line(text, "t_total{route=\"a\\\"b\"} 300");
    assert_line(text, "t_total{route=\"a\\\\b\"} 3000");
    assert_line(text, "t_total{route=\"a\\nb\"} 30000");
    assert_line(text, "t_total{code=\"/v1/records\"} 300000");
    assert_line(text, "u_total{route=\"\"} 10");
    assert_line(text, "g 2.5");
    assert_line(text, "g{peer=\"x\"} 7");
    assert_line(text, "h_bucket{route=\"r\",le=\"0.0025\"} 1");
    assert_line(text, "h_bucket{route=\"r\",le=\"0.25\"} 2");
    assert_line(text, "h_count{route=\"r\"} 2");
    /* every series once: 7 + 1 + 2 + 1, each a value line (histogram: its _count line) */
    size_t series = 0;
    for (const char *p = text; (p = strstr(p, "\n")); p++)
        series += strncmp(p + 1, "t_total{", 8) == 0 || strncmp(p + 1, "u_total{", 8) == 0 ||
                  strncmp(p + 1, "g ", 2) == 0 || strncmp(p + 1, "g{", 2) == 0 || strncmp(p + 1, "h_count", 7) == 0;
    assert_int_equal(series, 11);
    free(text);
    rk_metrics_free(m);
}

/* Many series, as a node with many routes and peers has: each still adds to itself. */
static void test_many_series(void **state)
{
    (void)state;
    rk_metrics *m = rk_metrics_new();
    assert_non_null(m);
    char v[32];
    for (int round = 1; round <= 2; round++)
        for (int i = 0; i < 500; i++) {
            snprintf(v, sizeof v, "peer-%d", i);
            rk_metrics_add(m, "p_total", "peer", v, (uint64_t)i);
        }
    char *text = render(m);
    for (int i = 0; i < 500; i += 37) {
        char line[64];
        snprintf(line, sizeof line, "p_total{peer=\"peer-%d\"} %d", i, 2 * i);
        assert_line(text, line);
    }
    free(text);
    rk_metrics_free(m);
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_each_label_set_is_its_own_series),
                        cmocka_unit_test(test_many_series));
}
