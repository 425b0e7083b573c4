/* test_usage: the table of usage errors in Japanese (cli/usage.c).
 *
 * Both formats of an entry are given the same arguments, so a Japanese format with other conversions
 * than its English key would read the wrong argument: every entry is checked. Then the language
 * follows the locale: Japanese text and hint under ja_JP, the English ones otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "run_tests.h"

/* The conversions of a printf format, flags and width included, e.g. "%s|%d|" (%% is text). */
static void conversions(const char *fmt, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%')
            continue;
        if (p[1] == '%') {
            p++;
            continue;
        }
        const char *end = p + 1 + strcspn(p + 1, "diouxXeEfgGcsp");
        assert_true(*end);
        assert_true(n + (size_t)(end - p) + 2 < cap);
        memcpy(out + n, p, (size_t)(end - p) + 1);
        n += (size_t)(end - p) + 1;
        out[n++] = '|';
        p = end;
    }
    out[n] = 0;
}

static void locale(const char *lang)
{
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    setenv("LANG", lang, 1);
}

/* What rk_usage_error printed on stderr, into buf. */
static void usage_error_text(char *buf, size_t cap, const char *cmd, const char *arg)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(fileno(stderr));
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), fileno(stderr)) >= 0);
    int rc = rk_usage_error(cmd, "unexpected argument '%s'", arg);
    fflush(stderr);
    assert_true(dup2(saved, fileno(stderr)) >= 0);
    close(saved);
    assert_int_equal(rc, RK_EXIT_USAGE);
    rewind(tmp);
    size_t n = fread(buf, 1, cap - 1, tmp);
    buf[n] = 0;
    fclose(tmp);
}

static void every_entry_takes_the_same_arguments_in_both_languages(void **state)
{
    (void)state;
    assert_true(rk_usage_count() > 20);
    for (size_t i = 0; i < rk_usage_count(); i++) {
        const char *en = rk_usage_english(i);
        const char *ja = rk_usage_japanese(en);
        assert_non_null(ja);
        char ce[64], cj[64];
        conversions(en, ce, sizeof ce);
        conversions(ja, cj, sizeof cj);
        if (strcmp(ce, cj) != 0)
            fail_msg("\"%s\" takes %s but its Japanese \"%s\" takes %s", en, ce, ja, cj);
        /* Japanese first: each entry has Japanese text, not the English copied */
        assert_string_not_equal(en, ja);
        bool wide = false;
        for (const unsigned char *p = (const unsigned char *)ja; *p; p++)
            wide |= *p >= 0xe3; /* the lead byte of kana and kanji in UTF-8 */
        if (!wide)
            fail_msg("\"%s\" has no Japanese", ja);
    }
}

static void the_locale_chooses_the_language(void **state)
{
    (void)state;
    const char *en = "missing argument";
    locale("ja_JP.UTF-8");
    assert_string_equal(rk_usage_text(en), rk_usage_japanese(en));
    setenv("LC_ALL", "C", 1); /* LC_ALL wins over LANG, as POSIX says */
    assert_string_equal(rk_usage_text(en), en);
    locale("C.UTF-8");
    setenv("LC_MESSAGES", "ja_JP.UTF-8", 1);
    assert_string_equal(rk_usage_text(en), rk_usage_japanese(en));
    locale("en_US.UTF-8");
    assert_string_equal(rk_usage_text(en), en);
    /* a format the table lacks is printed as it is */
    locale("ja_JP.UTF-8");
    assert_null(rk_usage_japanese("no such message"));
    assert_string_equal(rk_usage_text("no such message"), "no such message");
}

static void the_message_and_the_hint_follow_the_locale(void **state)
{
    (void)state;
    char out[512];
    locale("ja_JP.UTF-8");
    usage_error_text(out, sizeof out, "list", "x");
    assert_string_equal(out, "renkei list: 余分な引数「x」があります\n使い方は 'renkei list --help' で表示できます\n");
    locale("C");
    usage_error_text(out, sizeof out, "list", "x");
    assert_string_equal(out, "renkei list: unexpected argument 'x'\ntry 'renkei list --help'\n");
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(every_entry_takes_the_same_arguments_in_both_languages),
                        cmocka_unit_test(the_locale_chooses_the_language),
                        cmocka_unit_test(the_message_and_the_hint_follow_the_locale));
}
