/* test_errcode: the error code -> HTTP status table, and docs/api.md's error table, which must say
 * the same thing: every documented code has its documented status, every code of the table is
 * documented. Statuses were once guessed from a code's spelling (anything containing "version"
 * became 409, so invalid_version did); the table makes each one explicit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "run_tests.h"

static void test_explicit_statuses(void **state)
{
    (void)state;
    assert_int_equal(rk_errcode_status("invalid_version"), 400);
    assert_int_equal(rk_errcode_status("stale_version"), 409);
    assert_int_equal(rk_errcode_status("conflict"), 409);
    assert_int_equal(rk_errcode_status("duplicate"), 400);
    assert_int_equal(rk_errcode_status("invalid_cursor"), 400);
    assert_int_equal(rk_errcode_status("store_full"), 507);
    assert_int_equal(rk_errcode_status("store_error"), 503);
    assert_int_equal(rk_errcode_status("no_memory"), 500);
    assert_int_equal(rk_errcode_status("uri_too_long"), 414);
    assert_int_equal(rk_errcode_status("headers_too_large"), 431);
    /* not listed: a caller's bug, never a 2xx or a guess */
    assert_int_equal(rk_errcode_status("version_of_something"), 500);
    assert_int_equal(rk_errcode_status("out_of_memory"), 500); /* retired: no_memory is the one spelling */
    assert_int_equal(rk_errcode_status(""), 500);
    assert_int_equal(rk_errcode_status(NULL), 500);
}

static void test_codes_unique(void **state)
{
    (void)state;
    int st, st2;
    const char *c;
    for (size_t i = 0; (c = rk_errcode_at(i, &st)); i++) {
        assert_true(st >= 400 && st <= 599);
        const char *d;
        for (size_t k = i + 1; (d = rk_errcode_at(k, &st2)); k++)
            assert_string_not_equal(c, d);
    }
}

#define DOC_MAX 256

typedef struct doc_code {
    char code[64];
    int status;
} doc_code;

/* Reads the rows of docs/api.md's "| status | code | when |" table: one status, then `codes`. */
static size_t read_doc_table(doc_code *out)
{
    FILE *f = fopen(RK_SOURCE_DIR "/docs/api.md", "r");
    assert_non_null(f);
    char line[2048];
    bool in_table = false;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "| status | code |", 17) == 0) {
            in_table = true;
            continue;
        }
        if (!in_table || strncmp(line, "| ---", 5) == 0)
            continue;
        if (line[0] != '|')
            break;
        int status = atoi(line + 1);
        assert_true(status >= 400 && status <= 599);
        char *codes = strchr(line + 1, '|');
        assert_non_null(codes);
        char *end = strchr(codes + 1, '|');
        assert_non_null(end);
        *end = '\0';
        for (char *p = strchr(codes, '`'); p; p = strchr(p, '`')) {
            char *q = strchr(p + 1, '`');
            assert_non_null(q);
            assert_true(n < DOC_MAX && (size_t)(q - p - 1) < sizeof out[n].code);
            memcpy(out[n].code, p + 1, (size_t)(q - p - 1));
            out[n].code[q - p - 1] = '\0';
            out[n].status = status;
            n++;
            p = q + 1;
        }
    }
    fclose(f);
    return n;
}

static void test_docs_agree(void **state)
{
    (void)state;
    doc_code *doc = calloc(DOC_MAX, sizeof *doc);
    assert_non_null(doc);
    size_t n = read_doc_table(doc);
    assert_true(n > 30);
    for (size_t i = 0; i < n; i++) {
        if (rk_errcode_status(doc[i].code) != doc[i].status)
            fail_msg("docs/api.md gives %s status %d, the table %d", doc[i].code, doc[i].status,
                     rk_errcode_status(doc[i].code));
    }
    int st;
    const char *c;
    for (size_t i = 0; (c = rk_errcode_at(i, &st)); i++) {
        bool documented = false;
        for (size_t k = 0; k < n && !documented; k++)
            documented = strcmp(doc[k].code, c) == 0;
        if (!documented)
            fail_msg("%s (status %d) is not in docs/api.md's error table", c, st);
    }
    free(doc);
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_explicit_statuses), cmocka_unit_test(test_codes_unique),
                        cmocka_unit_test(test_docs_agree));
}
