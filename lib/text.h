/* text: Unicode normalisation and tokens for the full-text index (utf8proc).
 *
 * Normal form: NFKC, case-folded, so full-width and half-width forms (ＡＩ, ai, AI; ｶﾀｶﾅ, カタカナ)
 * compare equal. Tokens are overlapping character bigrams of the normal form with whitespace and
 * punctuation acting as separators; a run of one character yields that character. The same function
 * tokenises documents and queries, so a query matches when all its tokens are indexed and its normal
 * form occurs in the document's normal form.
 */
#ifndef RENKEI_TEXT_H
#define RENKEI_TEXT_H

#include "util.h"

/* Returns a malloc'd NUL-terminated normal form, or NULL if the input is not valid UTF-8 or memory ran
 * out. */
char *rk_text_normalize(const char *s, size_t len);
/* The same appended to out, NUL-terminated (the NUL not counted in out->len), so a caller that
 * normalises text after text reuses one buffer. 0, or -1 (invalid UTF-8, out of memory) with out as
 * it was. */
int rk_text_normalize_append(rk_buf *out, const char *s, size_t len);
bool rk_text_valid_utf8(const char *s, size_t len);
/* Calls cb once per token occurrence (UTF-8, not NUL-terminated) of an already normalised string. */
typedef int (*rk_token_cb)(const char *tok, size_t len, void *ctx);
int rk_text_tokens(const char *normalized, rk_token_cb cb, void *ctx);
/* Display width in terminal columns (East Asian wide characters count 2). */
size_t rk_text_width(const char *s);

#endif
