/* Tests for lib/util.c: errors, RFC 3339 parsing and formatting, hex, buffers, whole-file reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_tests.h"
#include "text.h"
#include "util.h"

static void test_rfc3339(void **state)
{
    (void)state;
    int64_t t;
    int off;
    assert_int_equal(rk_parse_rfc3339("2021-10-10T13:00:00+09:00", &t, &off), 0);
    assert_int_equal(t, 1633838400);
    assert_int_equal(off, 9 * 3600);
    assert_int_equal(rk_parse_rfc3339("2021-10-10T04:00:00Z", &t, &off), 0);
    assert_int_equal(t, 1633838400);
    assert_int_equal(rk_parse_rfc3339("2024-02-29T00:00:00.123-05:30", &t, &off), 0);
    assert_int_equal(off, -(5 * 3600 + 1800));
    assert_int_equal(rk_parse_rfc3339("2023-02-29T00:00:00Z", &t, &off), -1);
    assert_int_equal(rk_parse_rfc3339("2021-10-10T13:00:00", &t, &off), -1);
    assert_int_equal(rk_parse_rfc3339("2021-10-10T25:00:00Z", &t, &off), -1);
    assert_int_equal(rk_parse_rfc3339("2021-10-10T13:00:00+09:00x", &t, &off), -1);
    char out[32];
    rk_format_rfc3339(1633838400, 9 * 3600, true, out);
    assert_string_equal(out, "2021-10-10T13:00:00+09:00");
    rk_format_rfc3339(1633838400, 0, true, out);
    assert_string_equal(out, "2021-10-10T04:00:00Z");
}

static void test_civil_days_round_trip(void **state)
{
    (void)state;
    assert_int_equal(rk_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(rk_days_from_civil(2021, 10, 10), 18910);
    /* every day from 1900 to 2100 maps back to itself, leap days included */
    for (int64_t z = rk_days_from_civil(1900, 1, 1); z <= rk_days_from_civil(2100, 12, 31); z++) {
        int y, m, d;
        rk_civil_from_days(z, &y, &m, &d);
        assert_int_equal(rk_days_from_civil(y, m, d), z);
    }
    int y, m, d;
    rk_civil_from_days(rk_days_from_civil(2024, 2, 29), &y, &m, &d);
    assert_true(y == 2024 && m == 2 && d == 29);
}

static void test_hex_and_buf(void **state)
{
    (void)state;
    uint8_t in[3] = {0x00, 0xab, 0xff}, back[3];
    char hex[7];
    rk_hex_encode(in, 3, hex);
    assert_string_equal(hex, "00abff");
    assert_int_equal(rk_hex_decode("00ABff", back, 3), 0);
    assert_memory_equal(in, back, 3);
    assert_int_equal(rk_hex_decode("00abf", back, 3), -1);
    assert_int_equal(rk_hex_decode("00abfg", back, 3), -1);
    rk_buf b;
    rk_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rk_buf_printf(&b, "%d,", i), 0);
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    assert_int_equal(b.data[b.len], '\0');
    rk_buf_free(&b);
}

/* The digits are those printf gives, for every width up to UINT64_MAX's twenty. */
static void test_format_uint_gives_printf_digits(void **state)
{
    (void)state;
    static const uint64_t values[] = {0, 7, 10, 409, 1000000, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char want[32], got[RK_UINT_DIGITS + 1];
        snprintf(want, sizeof want, "%" PRIu64, values[i]);
        size_t n = rk_format_uint(values[i], got);
        got[n] = '\0';
        assert_string_equal(got, want);
    }
}

static void test_read_path(void **state)
{
    (void)state;
    char path[] = "/tmp/rk_test_util_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    rk_buf b;
    rk_buf_init(&b);
    /* an empty file is an empty, NUL-terminated buffer, not NULL */
    assert_int_equal(rk_read_path(path, 10, &b), 0);
    assert_non_null(b.data);
    assert_int_equal(b.len, 0);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 100000; i++)
        fputc('a' + i % 26, f);
    fclose(f);
    rk_buf_reset(&b);
    assert_int_equal(rk_read_path(path, 0, &b), 0);
    assert_int_equal(b.len, 100000);
    assert_int_equal(b.data[99999], 'a' + 99999 % 26);
    assert_int_equal(b.data[b.len], '\0');
    /* the bound is exact: max bytes pass, one more is EFBIG */
    rk_buf_reset(&b);
    assert_int_equal(rk_read_path(path, 100000, &b), 0);
    rk_buf_reset(&b);
    assert_int_equal(rk_read_path(path, 99999, &b), -1);
    assert_int_equal(errno, EFBIG);
    unlink(path);
    assert_int_equal(rk_read_path(path, 0, &b), -1);
    assert_int_equal(errno, ENOENT);
    /* a directory opens but cannot be read */
    assert_int_equal(rk_read_path("/tmp", 0, &b), -1);
    assert_int_equal(errno, EISDIR);
    rk_buf_free(&b);
}

/* An error's code, field and message are valid UTF-8 whatever went into them: the API sends them as
 * JSON strings, which must be. A path naming no export in bytes that are not UTF-8 was answered 500
 * instead of 404, and so was a message cut inside a character (fuzz_http found both;
 * tests/fuzz/corpus/fuzz_http/export-name-invalid-utf8). */
static void test_error_is_valid_utf8(void **state)
{
    (void)state;
    rk_error err;
    assert_int_equal(rk_fail(&err, "not_found", "\xe6\x9b", "no export named \"%.64s\"", "r\xe6\x9b\xb4\xe5\xbeq"), -1);
    assert_string_equal(err.code, "not_found");
    assert_string_equal(err.field, "??");
    assert_string_equal(err.message, "no export named \"r更??q\"");
    /* cut by the buffer's size inside a three-byte character: the part of it left is dropped */
    char long_name[400];
    memset(long_name, 0, sizeof long_name);
    for (size_t i = 0; i + 3 < sizeof long_name; i += 3)
        memcpy(long_name + i, "北", 3);
    rk_fail(&err, "invalid_parameter", long_name, "\"%s\" is not a prefecture code", long_name);
    assert_true(rk_text_valid_utf8(err.field, strlen(err.field)));
    assert_true(rk_text_valid_utf8(err.message, strlen(err.message)));
    assert_int_equal(strlen(err.field), 126); /* 42 characters of 3 bytes fit in 127 */
    assert_int_equal(strlen(err.message), 1 + 106 * 3);
    assert_int_equal(strspn(err.field + 3, "?"), 0);
    /* valid text is left alone */
    rk_fail(&err, "x", "case.title", "%s", "北海道 café");
    assert_string_equal(err.message, "北海道 café");
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_error_is_valid_utf8), cmocka_unit_test(test_rfc3339),
                        cmocka_unit_test(test_civil_days_round_trip), cmocka_unit_test(test_hex_and_buf),
                        cmocka_unit_test(test_format_uint_gives_printf_digits), cmocka_unit_test(test_read_path));
}
