/* text: NFKC + case folding and bigram tokens, all Unicode work delegated to utf8proc.
 *
 * Why bigrams: Japanese has no spaces, so word tokenisation would need a dictionary; overlapping
 * character bigrams find any substring of two or more characters, in Japanese and in English alike.
 */
#include "text.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

/* ---- normal form ---------------------------------------------------------------------------------
 *
 * Most characters of a record's text come out of NFKC case folding as they went in: ASCII except the
 * capitals, kana, kanji, and Japanese punctuation. Sending all of it through utf8proc_map cost a
 * catching-up node about a quarter of its verifier threads' CPU, so only the stretches that can change
 * go through utf8proc; the rest is copied, ASCII capitals folded by a table. The result is the same
 * byte for byte (tests/unit/test_text.c compares it with utf8proc_map on mixed text). */

#define TEXT_UTF8PROC_FLAGS (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

/* Whether NFKC case folding leaves cp as it is whatever surrounds it, and never joins it to the
 * character before: no compatibility decomposition, no case folding, not ignorable, a starter
 * (combining class 0), not the second of a composition pair, not Hangul (composed by algorithm, not
 * by table), assigned, and no canonical decomposition either, except the voiced kana (ガ is カ and
 * U+3099, which compose back to ガ, and カ is the second of no pair). Such a character ends whatever
 * came before it, so normalising the text on either side of it separately gives what normalising the
 * whole would. It may still be the first of a pair (か, e), so the character before a stretch that
 * changes goes with that stretch. ASCII counts as inert: its only change, capitals to small letters,
 * is made by text_copy. */
static bool text_inert_of(utf8proc_int32_t cp)
{
    if (cp < 0x80)
        return true;
    if ((cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0xAC00 && cp <= 0xD7A3))
        return false;
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    bool kana = cp >= 0x3040 && cp <= 0x30FF;
    bool decomposes =
        p->decomp_seqindex != UINT16_MAX && !(kana && p->decomp_type == 0 && !p->comp_exclusion); /* 0: canonical */
    /* utf8proc's comb_index: UINT16_MAX combines with nothing, below 0x8000 only as a pair's first */
    return p->category != UTF8PROC_CATEGORY_CN && !decomposes && p->casefold_seqindex == UINT16_MAX && !p->ignorable &&
           p->combining_class == 0 && (p->comb_index == UINT16_MAX || p->comb_index < 0x8000);
}

/* Letters, marks and numbers form tokens; everything else (spaces, punctuation, symbols) separates. */
static bool text_token_char_of(utf8proc_int32_t cp)
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

/* ---- the answers for the Basic Multilingual Plane, kept as bits ------------------------------------
 *
 * Japanese text is nearly all in the BMP, and asking utf8proc for every character's properties (a
 * call through two tables each time) was a fifth of the time of a record's tokens. The two pure functions
 * above are asked once for each of its 65,536 code points when the first text is normalised or tokenised
 * (about a millisecond), and their answers kept here: 16 KiB that never change afterwards, so every
 * thread reads them without a lock. Code points above the BMP still ask utf8proc. */

#define TEXT_BMP 0x10000

static uint8_t text_inert_bits[TEXT_BMP / 8], text_token_bits[TEXT_BMP / 8];
static pthread_once_t text_bits_once = PTHREAD_ONCE_INIT;

static void text_bits_build(void)
{
    for (utf8proc_int32_t cp = 0; cp < TEXT_BMP; cp++) {
        text_inert_bits[cp >> 3] |= (uint8_t)(text_inert_of(cp) << (cp & 7));
        text_token_bits[cp >> 3] |= (uint8_t)(text_token_char_of(cp) << (cp & 7));
    }
}

static void text_bits_ready(void)
{
    pthread_once(&text_bits_once, text_bits_build);
}

static bool text_inert(utf8proc_int32_t cp)
{
    return cp < TEXT_BMP ? text_inert_bits[cp >> 3] >> (cp & 7) & 1 : text_inert_of(cp);
}

static bool is_token_char(utf8proc_int32_t cp)
{
    return cp < TEXT_BMP ? text_token_bits[cp >> 3] >> (cp & 7) & 1 : text_token_char_of(cp);
}

/* Appends s[0..len), a stretch of inert characters, with its ASCII capitals made small (in UTF-8
 * the bytes A to Z only ever stand for themselves). */
static int text_copy(rk_buf *out, const char *s, size_t len)
{
    size_t at = out->len;
    if (rk_buf_append(out, s, len) != 0)
        return -1;
    for (char *p = out->data + at, *end = p + len; p < end; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

/* The code point at s[i] and its length in bytes, or 0 when the bytes there are not UTF-8. ASCII
 * and the three-byte sequences that cannot be overlong or a surrogate (lead bytes E1 to EC, EE and
 * EF: kana, kanji and Japanese punctuation) are read here, as utf8proc_iterate reads them, because
 * the call through the library's PLT for each character of a Japanese text was a tenth of the
 * tokens' time; everything else goes to utf8proc_iterate. */
static size_t text_next(const char *s, size_t len, size_t i, utf8proc_int32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s + i;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xE1 && p[0] <= 0xEF && p[0] != 0xED && len - i >= 3 && (p[1] & 0xC0) == 0x80 &&
        (p[2] & 0xC0) == 0x80) {
        *cp = (utf8proc_int32_t)((p[0] & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F));
        return 3;
    }
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), cp);
    return n > 0 && *cp >= 0 ? (size_t)n : 0;
}

bool rk_text_valid_utf8(const char *s, size_t len)
{
    utf8proc_int32_t cp;
    for (size_t i = 0, n; i < len; i += n)
        if ((n = text_next(s, len, i, &cp)) == 0)
            return false;
    return true;
}

/* Appends the normal form of s[0..len) through utf8proc. */
static int text_map(rk_buf *out, const char *s, size_t len)
{
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &m, TEXT_UTF8PROC_FLAGS);
    int rc = n < 0 ? -1 : rk_buf_append(out, m, (size_t)n);
    free(m);
    return rc;
}

/* One character of a text being normalised: where it starts, its length (0 past the end) and
 * whether it is inert. */
typedef struct text_char {
    size_t at, n;
    bool inert;
} text_char;

/* The character at s[at] (n = 0 at the end); -1 when the bytes there are not UTF-8. */
static int text_char_at(const char *s, size_t len, size_t at, text_char *c)
{
    utf8proc_int32_t cp = 0;
    c->at = at;
    c->n = at < len ? text_next(s, len, at, &cp) : 0;
    c->inert = c->n && text_inert(cp);
    return at < len && c->n == 0 ? -1 : 0;
}

int rk_text_normalize_append(rk_buf *out, const char *s, size_t len)
{
    text_bits_ready();
    size_t start = out->len;
    /* the input's length when nothing changes; utf8proc's stretches grow it as needed */
    if (rk_buf_reserve(out, len + 1) != 0)
        return -1;
    size_t copy = 0; /* s[copy..cur.at) is inert and not appended yet */
    text_char cur, next;
    if (text_char_at(s, len, 0, &cur) != 0)
        goto fail;
    while (cur.n) {
        if (text_char_at(s, len, cur.at + cur.n, &next) != 0)
            goto fail;
        if (cur.inert && (next.n == 0 || next.inert)) {
            cur = next;
            continue;
        }
        /* a stretch that may change: from cur through the last character before the next inert one
         * (cur may be inert itself, as the first of a pair) */
        while (next.n && !next.inert)
            if (text_char_at(s, len, next.at + next.n, &next) != 0)
                goto fail;
        if (text_copy(out, s + copy, cur.at - copy) != 0 || text_map(out, s + cur.at, next.at - cur.at) != 0)
            goto fail;
        copy = next.at;
        cur = next;
    }
    if (text_copy(out, s + copy, len - copy) != 0)
        goto fail;
    out->data[out->len] = '\0'; /* rk_buf keeps room for it */
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return -1;
}

char *rk_text_normalize(const char *s, size_t len)
{
    rk_buf out;
    rk_buf_init(&out);
    if (rk_text_normalize_append(&out, s, len) != 0) {
        rk_buf_free(&out);
        return NULL;
    }
    return out.data;
}

int rk_text_tokens(const char *normalized, rk_token_cb cb, void *ctx)
{
    text_bits_ready();
    size_t len = strlen(normalized), i = 0;
    /* start of previous token character and of the current one, or SIZE_MAX at a separator */
    size_t prev = SIZE_MAX;
    size_t run = 0; /* characters in the current run */
    size_t run_start = 0, run_first_len = 0;
    while (i <= len) {
        utf8proc_int32_t cp = -1;
        utf8proc_ssize_t n = 0;
        if (i < len && (n = (utf8proc_ssize_t)text_next(normalized, len, i, &cp)) == 0)
            return -1;
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
