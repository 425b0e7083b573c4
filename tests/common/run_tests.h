/* run_tests: the one way a unit test program runs its tests. Its main() is one call that lists them:
 *
 *     return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_a), cmocka_unit_test(test_b));
 *
 * Every test that names no setup or teardown of its own (cmocka_unit_test_setup_teardown) gets the
 * setup and teardown given (NULL for none), so each test starts from a fresh fixture and the list
 * names only the tests. RK_RUN_GROUP_TESTS is for tests that share one state set up once for the
 * whole group (cmocka's group setup). Either way the group is called "tests", as cmocka names a
 * group after its array, and the exit status is the number of tests that failed. Include after
 * <cmocka.h>. */
#ifndef RENKEI_RUN_TESTS_H
#define RENKEI_RUN_TESTS_H

#include <stddef.h>

static inline int rk_run_tests(struct CMUnitTest *tests, size_t n, CMFixtureFunction setup, CMFixtureFunction teardown,
                               CMFixtureFunction group_setup, CMFixtureFunction group_teardown)
{
    for (size_t i = 0; i < n; i++) {
        if (!tests[i].setup_func)
            tests[i].setup_func = setup;
        if (!tests[i].teardown_func)
            tests[i].teardown_func = teardown;
    }
    return _cmocka_run_group_tests("tests", tests, n, group_setup, group_teardown);
}

/* The tests listed as an array and its length (sizeof does not evaluate its operand). */
#define RK_TEST_LIST(...) \
    (struct CMUnitTest[]){__VA_ARGS__}, sizeof((struct CMUnitTest[]){__VA_ARGS__}) / sizeof(struct CMUnitTest)
#define RK_RUN_TESTS(setup, teardown, ...) rk_run_tests(RK_TEST_LIST(__VA_ARGS__), setup, teardown, NULL, NULL)
#define RK_RUN_GROUP_TESTS(group_setup, group_teardown, ...) \
    rk_run_tests(RK_TEST_LIST(__VA_ARGS__), NULL, NULL, group_setup, group_teardown)

#endif
