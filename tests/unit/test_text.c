/* Tests for lib/text.c: normal form equates full/half width and case; tokens are bigrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "text.h"

static void assert_normal(const char *in, const char *want)
{
    char *got = rk_text_normalize(in, strlen(in));
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_normalize_width_and_case(void **state)
{
    (void)state;
    assert_normal("ＡＩ", "ai");
    assert_normal("AI", "ai");
    assert_normal("ｶﾀｶﾅ", "カタカナ");
    assert_normal("ロボット", "ロボット");
    assert_normal("１２３", "123");
    assert_null(rk_text_normalize("\xff\xfe", 2));
}

typedef struct {
    char toks[32][16];
    int n;
} collected;

static int collect(const char *tok, size_t len, void *ctx)
{
    collected *c = ctx;
    if (c->n < 32 && len < 16) {
        memcpy(c->toks[c->n], tok, len);
        c->toks[c->n][len] = '\0';
        c->n++;
    }
    return 0;
}

static void test_bigrams(void **state)
{
    (void)state;
    collected c = {0};
    assert_int_equal(rk_text_tokens("ロボット導入 ai, x", collect, &c), 0);
    /* ロボ ボッ ット ト導 導入 | ai | x */
    assert_int_equal(c.n, 7);
    assert_string_equal(c.toks[0], "ロボ");
    assert_string_equal(c.toks[4], "導入");
    assert_string_equal(c.toks[5], "ai");
    assert_string_equal(c.toks[6], "x");
}

static void test_width(void **state)
{
    (void)state;
    assert_int_equal(rk_text_width("abc"), 3);
    assert_int_equal(rk_text_width("北見市"), 6);
    assert_int_equal(rk_text_valid_utf8("北見", strlen("北見")), true);
    assert_int_equal(rk_text_valid_utf8("\xe5\x8c", 2), false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_width_and_case),
        cmocka_unit_test(test_bigrams),
        cmocka_unit_test(test_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
