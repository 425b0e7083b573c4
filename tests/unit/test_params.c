/* Tests for lib/params.c: query strings decoded into keys and values, and the errors a client's bad
 * query gets (the field names the parameter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "params.h"
#include "run_tests.h"

static void test_decodes_keys_and_values(void **state)
{
    (void)state;
    rk_params p;
    rk_error err;
    assert_int_equal(rk_params_parse("q=%E5%8C%97+%E6%B5%B7&limit=5&limit=7&flag", &p, &err), 0);
    assert_int_equal(p.count, 4);
    assert_string_equal(rk_params_get(&p, "q"), "北 海");
    assert_string_equal(rk_params_get(&p, "limit"), "7"); /* the last one given */
    assert_string_equal(rk_params_get(&p, "flag"), "");
    assert_null(rk_params_get(&p, "absent"));
    rk_params_free(&p);
    assert_int_equal(rk_params_parse(NULL, &p, &err), 0);
    assert_int_equal(p.count, 0);
    assert_int_equal(rk_params_parse("", &p, &err), 0);
    assert_int_equal(p.count, 0);
}

/* The field of the error is the parameter's key, read before the decoded list is freed (it was read
 * after, a use after free that fuzz_http found; tests/fuzz/corpus/fuzz_http/params-invalid-utf8-after-free). */
static void test_invalid_utf8_names_the_parameter(void **state)
{
    (void)state;
    rk_params p;
    rk_error err;
    assert_int_equal(rk_params_parse("limit=1000&from=2030-01-01&to=%CE%C531-12-31", &p, &err), -1);
    assert_string_equal(err.code, "invalid_utf8");
    assert_string_equal(err.field, "to");
    assert_int_equal(p.count, 0);
    assert_null(p.keys);
    assert_int_equal(rk_params_parse("%FF%FE=x", &p, &err), -1);
    assert_string_equal(err.code, "invalid_utf8");
    assert_int_equal(p.count, 0);
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_decodes_keys_and_values),
                        cmocka_unit_test(test_invalid_utf8_names_the_parameter));
}
