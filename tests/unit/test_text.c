/* Tests for lib/text.c: normal form equates full/half width and case, and is exactly utf8proc's NFKC
 * case folding of the whole text (whichever parts text.c copies without utf8proc); tokens are
 * bigrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "run_tests.h"
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

/* Where NFKC matters inside mixed ASCII, full-width and kana text: each of these changes, or joins the
 * character before it, and a normal form that skipped it would index something a query never finds. */
static void test_normalize_mixed(void **state)
{
    (void)state;
    assert_normal("ＡＩとIoTで生産性１２０％", "aiとiotで生産性120%");
    assert_normal("ｶﾞｲﾄﾞ ﾃﾞｰﾀ", "ガイド データ");        /* half-width katakana, voiced marks joined */
    assert_normal("ｶﾞ", "ガ");                           /* ﾞ joins the kana before it */
    assert_normal("か\u3099き\u309Aく", "がき\u309Aく"); /* only pairs that exist compose */
    assert_normal("Cafe\u0301 CAFE\u0301", "café café"); /* an ASCII letter composes with a mark after it */
    assert_normal("A\u00ADI \u200BX", "ai x");           /* ignorable characters vanish */
    assert_normal("\u212A\u212B Straße ﬁ", "kå strasse fi");
    assert_normal("① ㈱北見 ＤＸ推進", "1 (株)北見 dx推進");
    assert_normal("\u1100\u1161\u11A8 가", "각 가"); /* Hangul jamo compose by algorithm */
    assert_normal("豈", "豈");                       /* CJK compatibility ideograph U+F900 */
    assert_normal("", "");
    assert_null(rk_text_normalize("ok\xe3\x81", 5));     /* a character cut short */
    assert_null(rk_text_normalize("ab\xed\xa0\x80", 5)); /* a surrogate */
}

/* utf8proc's own NFKC case folding of the whole text, the definition rk_text_normalize keeps to. */
static char *reference(const char *s, size_t len)
{
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &out,
                     UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
    if (n < 0) {
        free(out);
        return NULL;
    }
    return (char *)out;
}

/* Random texts of characters that change under NFKC case folding, combine, reorder or vanish, mixed
 * with ones that do not: the normal form equals utf8proc's of the whole text every time. */
static void test_normalize_equals_utf8proc(void **state)
{
    (void)state;
    static const char *const pool[] = {
        "A",      "e",      "k",      "o",      "z",      "0",      " ",      ",",          "\n",         "-",
        "\u0301", "\u0308", "\u0323", "\u0327", "\u0345", "\u0344", "\u3099", "\u309A",     "\u309B",     "\uFF9E",
        "\uFF9F", "\uFF76", "\uFF8A", "\uFF70", "\u30AB", "\u304B", "\u30CF", "\u30FC",     "\uFF21",     "\uFF41",
        "\uFF11", "\uFF0C", "\u212A", "\u212B", "\u00DF", "\u0130", "\u03A3", "\u03C2",     "\u00AD",     "\u200B",
        "\uFB01", "\u2460", "\u3231", "\u1100", "\u1161", "\u11A8", "\uAC00", "\uF900",     "\u5C0E",     "\u3001",
        "\u3002", "\u00C5", "\u00E9", "\u1E0A", "\u0E33", "\u0F73", "\u1E9B", "\U0001D400", "\U0001F600", "\u00A0",
        "\u3000", "\u30AC", "\u304C", "\u30D1", "\u309F", "\u30FF", "\u0334", "\u0B47",     "\u0B3E",
    };
    const size_t n_pool = sizeof pool / sizeof pool[0];
    uint32_t x = 12345;
    size_t same_length = 0;
    for (int round = 0; round < 40000; round++) {
        char text[256];
        size_t len = 0;
        x = x * 1103515245u + 12345u;
        int chars = 1 + (int)((x >> 16) % 12);
        for (int c = 0; c < chars; c++) {
            x = x * 1103515245u + 12345u;
            const char *piece = pool[(x >> 16) % n_pool];
            memcpy(text + len, piece, strlen(piece));
            len += strlen(piece);
        }
        text[len] = '\0';
        char *want = reference(text, len), *got = rk_text_normalize(text, len);
        assert_non_null(want);
        assert_non_null(got);
        if (strcmp(want, got) != 0)
            fail_msg("normal form of \"%s\": \"%s\", utf8proc gives \"%s\"", text, got, want);
        same_length += strlen(got) == len;
        free(want);
        free(got);
    }
    assert_true(same_length > 0 && same_length < 40000); /* both kinds of text were tried */
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

/* Appends cp's UTF-8 to out at *len. */
static void put_cp(char *out, size_t *len, utf8proc_int32_t cp)
{
    *len += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out + *len);
}

/* Every code point of the Basic Multilingual Plane, whose properties text.c keeps as bits, alone and
 * beside characters it may combine with or follow: the normal form is utf8proc's of the whole text. */
static void test_normalize_every_bmp_character(void **state)
{
    (void)state;
    static const utf8proc_int32_t before[] = {0, 'a', 'A', 0x304B /* か */, 0x1100 /* ᄀ */};
    static const utf8proc_int32_t after[] = {0, 0x0301, 0x3099, 0x1161 /* ᅡ */, 'b'};
    for (utf8proc_int32_t cp = 1; cp < 0x10000; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue; /* surrogates are not UTF-8 */
        for (size_t k = 0; k < sizeof before / sizeof *before; k++) {
            char text[16];
            size_t len = 0;
            if (before[k])
                put_cp(text, &len, before[k]);
            put_cp(text, &len, cp);
            if (after[k])
                put_cp(text, &len, after[k]);
            text[len] = '\0';
            char *want = reference(text, len), *got = rk_text_normalize(text, len);
            assert_non_null(want);
            assert_non_null(got);
            if (strcmp(want, got) != 0)
                fail_msg("normal form of U+%04X in \"%s\": \"%s\", utf8proc gives \"%s\"", (unsigned)cp, text, got,
                         want);
            free(want);
            free(got);
        }
    }
}

static int count_tokens(const char *tok, size_t len, void *ctx)
{
    (void)tok;
    (void)len;
    (*(int *)ctx)++;
    return 0;
}

/* The categories that make tokens (text.h): letters, marks, numbers; and ー. */
static bool reference_token_char(utf8proc_int32_t cp)
{
    static const utf8proc_category_t tokens[] = {
        UTF8PROC_CATEGORY_LU, UTF8PROC_CATEGORY_LL, UTF8PROC_CATEGORY_LT, UTF8PROC_CATEGORY_LM, UTF8PROC_CATEGORY_LO,
        UTF8PROC_CATEGORY_MN, UTF8PROC_CATEGORY_MC, UTF8PROC_CATEGORY_ND, UTF8PROC_CATEGORY_NL, UTF8PROC_CATEGORY_NO,
    };
    for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++)
        if (utf8proc_category(cp) == tokens[i])
            return true;
    return cp == 0x30FC;
}

/* Every code point of the BMP and a few above it, twice in a row: one bigram when it is a token
 * character, none when it separates. */
static void test_token_characters(void **state)
{
    (void)state;
    for (utf8proc_int32_t cp = 1; cp < 0x10000 + 0x400; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        char text[16];
        size_t len = 0;
        put_cp(text, &len, cp);
        put_cp(text, &len, cp);
        text[len] = '\0';
        int n = 0;
        assert_int_equal(rk_text_tokens(text, count_tokens, &n), 0);
        if (n != (reference_token_char(cp) ? 1 : 0))
            fail_msg("U+%04X twice gives %d tokens", (unsigned)cp, n);
    }
}

/* Whether s[0..len) is UTF-8 as utf8proc_iterate reads it, the definition text.c keeps to. */
static bool reference_valid_utf8(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0 || cp < 0)
            return false;
        i += (size_t)n;
    }
    return true;
}

/* Every lead byte from 0x80 with every two bytes after it, whole and cut short, then followed by a
 * letter: text.c's own reading of three-byte sequences agrees with utf8proc on what is UTF-8, and a
 * text it refuses has no normal form and no tokens. */
static void test_utf8_reading_equals_utf8proc(void **state)
{
    (void)state;
    for (unsigned lead = 0x80; lead <= 0xFF; lead++)
        for (unsigned b1 = 0; b1 <= 0xFF; b1++)
            for (unsigned b2 = 0; b2 <= 0xFF; b2++) {
                uint8_t s[4] = {(uint8_t)lead, (uint8_t)b1, (uint8_t)b2, 'a'};
                for (size_t len = 1; len <= 4; len++) {
                    if (len < 3 && b2) /* the cut-short forms once per b1 (and once per lead for len 1) */
                        continue;
                    if (len == 1 && b1)
                        continue;
                    bool want = reference_valid_utf8(s, len);
                    if (rk_text_valid_utf8((const char *)s, len) != want)
                        fail_msg("%02X %02X %02X (%zu bytes): valid is %d", lead, b1, b2, len, want);
                }
                if (lead < 0xE0 || lead > 0xEF || !b1 || !b2)
                    continue;
                /* the reading the normal form and the tokens share, on the whole sequence */
                char text[5] = {(char)lead, (char)b1, (char)b2, 'a', '\0'};
                bool want = reference_valid_utf8(s, 4);
                char *norm = rk_text_normalize(text, 4);
                int n = 0;
                if ((norm != NULL) != want || (rk_text_tokens(text, count_tokens, &n) == 0) != want)
                    fail_msg("%02X %02X %02X: normal form or tokens disagree with validity %d", lead, b1, b2, want);
                free(norm);
            }
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
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_normalize_width_and_case),
                        cmocka_unit_test(test_normalize_mixed), cmocka_unit_test(test_normalize_equals_utf8proc),
                        cmocka_unit_test(test_normalize_every_bmp_character), cmocka_unit_test(test_bigrams),
                        cmocka_unit_test(test_token_characters), cmocka_unit_test(test_utf8_reading_equals_utf8proc),
                        cmocka_unit_test(test_width));
}
