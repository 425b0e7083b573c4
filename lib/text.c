/* text: NFKC + case folding and bigram tokens, all Unicode work delegated to utf8proc.
 *
 * Why bigrams: Japanese has no spaces, so word tokenisation would need a dictionary; overlapping
 * character bigrams find any substring of two or more characters, in Japanese and in English alike.
 */
#include "text.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

bool rk_text_valid_utf8(const char *s, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0 || cp < 0)
            return false;
        i += (size_t)n;
    }
    return true;
}

char *rk_text_normalize(const char *s, size_t len)
{
    if (!rk_text_valid_utf8(s, len))
        return NULL;
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

/* Letters, marks and numbers form tokens; everything else (spaces, punctuation, symbols) separates. */
static bool is_token_char(utf8proc_int32_t cp)
{
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return true;
    default: return cp == 0x30FC; /* ー, the prolonged sound mark, is part of katakana words */
    }
}

int rk_text_tokens(const char *normalized, rk_token_cb cb, void *ctx)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)normalized;
    size_t len = strlen(normalized), i = 0;
    /* start of previous token character and of the current one, or SIZE_MAX at a separator */
    size_t prev = SIZE_MAX;
    size_t run = 0; /* characters in the current run */
    size_t run_start = 0, run_first_len = 0;
    while (i <= len) {
        utf8proc_int32_t cp = -1;
        utf8proc_ssize_t n = 0;
        if (i < len) {
            n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
            if (n <= 0)
                return -1;
        }
        if (i < len && is_token_char(cp)) {
            if (prev != SIZE_MAX) {
                int rc = cb(normalized + prev, i + (size_t)n - prev, ctx);
                if (rc)
                    return rc;
            } else {
                run_start = i;
                run_first_len = (size_t)n;
            }
            prev = i;
            run++;
        } else {
            if (run == 1) {
                int rc = cb(normalized + run_start, run_first_len, ctx);
                if (rc)
                    return rc;
            }
            prev = SIZE_MAX;
            run = 0;
        }
        if (i == len)
            break;
        i += (size_t)n;
    }
    return 0;
}

size_t rk_text_width(const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t len = strlen(s), i = 0, width = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) {
            i++;
            width++;
            continue;
        }
        int w = utf8proc_charwidth(cp);
        width += w > 0 ? (size_t)w : 0;
        i += (size_t)n;
    }
    return width;
}
