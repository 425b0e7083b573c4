/* Tests for lib/export.c's query checks: which parameters each export takes. The rendering itself is
 * test_feed's and test_export.py's. */
#include "fixture.h"

#include <string.h>

#include "export.h"
#include "run_tests.h"

static int serve(const fx_store *s, const char *name, const char *query, rk_export_response *out)
{
    rk_txn *t = fx_begin(s, false);
    int rc = rk_export_serve(t, name, query, NULL, NULL, NULL, NULL, out);
    rk_txn_abort(t);
    rk_buf_free(&out->body);
    rk_buf_free(&out->headers);
    return rc;
}

/* A parameter's name is one of the export's names, whole: an empty name was looked for as a
 * substring and read the byte before the list (fuzz_http found it under ASan:
 * tests/fuzz/corpus/fuzz_http/export-empty-parameter-name), and a name holding a space, such as
 * "kind prefecture", matched two of them and was let in. */
static void test_parameter_names_are_whole(void **state)
{
    const fx_store *s = *state;
    rk_export_response r;
    const char *const bad[] = {
        "=2030-10-11", "&=x&limit=1", "kind%20prefecture=17", "kind+prefecture=17", "%20kind=case", "limit%20=1",
        "ind=x",       "kinds=case"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(serve(s, "events.ics", bad[i], &r), 0);
        assert_int_equal(r.status, 400);
        assert_string_equal(r.err.code, "unknown_parameter");
    }
    assert_int_equal(serve(s, "catalog.jsonld", "=1", &r), 0);
    assert_string_equal(r.err.code, "unknown_parameter");
    /* the names of the list, first, middle and last, are taken */
    assert_int_equal(serve(s, "events.ics", "kind=event&from=2030-10-10&limit=5", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(serve(s, "feed.atom", "kind=case&q=x&cursor=", &r), 0);
    assert_int_equal(r.status, 200);
}

int main(void)
{
    return RK_RUN_TESTS(fx_store_setup, fx_store_teardown, cmocka_unit_test(test_parameter_names_are_whole));
}
