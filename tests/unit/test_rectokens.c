/* Tests of lib/rectokens.c: the tokens a record's sealing or verifying thread computes are the ones
 * the full-text batch would compute from the stored record, for every sample record of
 * config/samples (Japanese text from DOMAIN.md's domain: cases, events, regions); the batch takes
 * offered tokens instead of computing them, and a store fed with offered tokens holds exactly the
 * token lists of one fed without. */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fixture.h"
#include "index.h"
#include "postings.h"
#include "recjson.h"
#include "records.h"
#include "rectokens.h"
#include "run_tests.h"
#include "store.h"
#include "text.h"

#define SAMPLES_MAX 64
#define MARKER "\xef\xbf\xbf\xef\xbf\xbf" /* U+FFFF twice: no text's bigram */

typedef struct fixture {
    fx_author a;
    rk_record recs[SAMPLES_MAX];
    size_t n;
} fixture;

/* Every sample record of config/samples, sealed by one author at increasing versions. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fx_author_init(&f->a);
    glob_t g;
    assert_int_equal(glob(RK_SOURCE_DIR "/config/samples/*/*.json", 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc && f->n < SAMPLES_MAX; i++) {
        json_error_t je;
        json_t *j = json_load_file(g.gl_pathv[i], 0, &je);
        if (!j)
            fail_msg("%s: %s", g.gl_pathv[i], je.text);
        Renkei__Record *msg;
        rk_error err;
        if (rk_record_from_json(j, &msg, &err) != 0)
            fail_msg("%s: %s %s", g.gl_pathv[i], err.code, err.message);
        json_decref(j);
        free(msg->author.data);
        msg->author.data = malloc(RK_KEY_LEN);
        assert_non_null(msg->author.data);
        memcpy(msg->author.data, f->a.pub, RK_KEY_LEN);
        msg->author.len = RK_KEY_LEN;
        free(msg->rid); /* two directories may hold one record */
        msg->rid = malloc(16);
        assert_non_null(msg->rid);
        snprintf(msg->rid, 16, "s%zu", f->n);
        msg->version = 1700000000000 + f->n;
        if (rk_record_seal_owned(msg, f->a.key, &f->recs[f->n], &err) != 0)
            fail_msg("%s: %s %s", g.gl_pathv[i], err.code, err.message);
        f->n++;
    }
    globfree(&g);
    assert_true(f->n >= 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->n; i++)
        rk_record_free(&f->recs[i]);
    fx_author_free(&f->a);
    free(f);
    return 0;
}

static void assert_same_tokens(const rk_rectokens *x, const rk_rectokens *y)
{
    assert_int_equal(x->n, y->n);
    assert_int_equal(x->len, y->len);
    assert_memory_equal(x->data, y->data, x->len);
}

/* Every token occurrence rk_text_tokens yields, as NUL-terminated copies. */
typedef struct occurrences {
    char (*tok)[16];
    size_t n, cap;
} occurrences;

static int occurrence(const char *tok, size_t len, void *ctx)
{
    occurrences *o = ctx;
    assert_true(len > 0 && len < 16);
    assert_true(o->n < o->cap);
    memcpy(o->tok[o->n], tok, len);
    o->tok[o->n++][len] = '\0';
    return 0;
}

/* A record's tokens are exactly the distinct tokens of its normal form, each once, in strcmp order:
 * the set every consumer relies on, however rectokens.c dedups it. Checked against a plain search
 * over every occurrence, on every sample record and on mixed text. */
static void test_rectokens_are_the_distinct_tokens(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i <= f->n; i++) {
        char *norm = i < f->n ? rk_rectokens_text(f->recs[i].msg)
                              : rk_text_normalize("ＡＩ AI ai ｶﾞｲﾄﾞ ガイド aa aaa 1 1",
                                                  strlen("ＡＩ AI ai ｶﾞｲﾄﾞ ガイド aa aaa 1 1"));
        assert_non_null(norm);
        occurrences o = {.cap = strlen(norm) + 1};
        o.tok = calloc(o.cap, sizeof *o.tok);
        assert_non_null(o.tok);
        assert_int_equal(rk_text_tokens(norm, occurrence, &o), 0);
        rk_rectokens *tok = rk_rectokens_of_text(norm);
        assert_non_null(tok);
        size_t n = 0;
        const char *prev = NULL;
        for (const char *x = rk_rectokens_next(tok, NULL); x; prev = x, x = rk_rectokens_next(tok, x), n++) {
            if (prev)
                assert_true(strcmp(prev, x) < 0); /* sorted, so each at most once */
            bool seen = false;
            for (size_t k = 0; k < o.n && !seen; k++)
                seen = strcmp(o.tok[k], x) == 0;
            assert_true(seen);
        }
        assert_int_equal(n, tok->n);
        for (size_t k = 0; k < o.n; k++) { /* and every occurrence is among them */
            bool found = false;
            for (const char *x = rk_rectokens_next(tok, NULL); x && !found; x = rk_rectokens_next(tok, x))
                found = strcmp(o.tok[k], x) == 0;
            if (!found)
                fail_msg("token \"%s\" of \"%s\" is missing", o.tok[k], norm);
        }
        if (i == f->n) /* ai three times, ガイ and イド twice, aa (of aa and aaa), 1 twice */
            assert_int_equal(tok->n, 5);
        rk_rectokens_free(tok);
        free(o.tok);
        free(norm);
    }
}

static int cmp_token(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Texts of thousands of two-character words, their bigrams in ascending, descending, random,
 * organ-pipe order and all alike, the orders that trouble a sort's pivots: the tokens are the
 * occurrences sorted by strcmp without repeats, checked against qsort. */
static void test_rectokens_long_texts(void **state)
{
    (void)state;
    enum { WORDS = 6000 };
    static const char *const orders[] = {"ascending", "descending", "random", "organ pipe", "alike", "few"};
    uint32_t x = 7;
    /* a short text's tokens, before and after each long one: the thread's buffers, grown by a long
     * text and then freed, leave nothing behind that changes them */
    const char *small = "ＡＩ AI ai ｶﾞｲﾄﾞ ガイド aa aaa 1 1";
    char *small_norm = rk_text_normalize(small, strlen(small));
    assert_non_null(small_norm);
    rk_rectokens *small_tok = rk_rectokens_of_text(small_norm);
    assert_non_null(small_tok);
    for (size_t order = 0; order < sizeof orders / sizeof *orders; order++) {
        rk_buf text;
        rk_buf_init(&text);
        for (uint32_t w = 0; w < WORDS; w++) {
            uint32_t k = w;
            x = x * 1103515245u + 12345u;
            switch (order) {
            case 1: k = WORDS - w; break;
            case 2: k = (x >> 8) % WORDS; break;
            case 3: k = w < WORDS / 2 ? w : WORDS - w; break;
            case 4: k = 42; break;
            case 5: k = (x >> 8) % 3; break;
            default: break;
            }
            /* two CJK ideographs (3 bytes each) or, every seventh word, two ASCII letters */
            char word[16];
            if (k % 7 == 0)
                snprintf(word, sizeof word, "%c%c ", 'a' + (int)(k / 7 % 26), 'a' + (int)(k / 182 % 26));
            else {
                uint32_t a = 0x4E00 + k / 64, b = 0x4E00 + k % 64;
                snprintf(word, sizeof word, "%c%c%c%c%c%c ", 0xE0 | a >> 12, 0x80 | (a >> 6 & 0x3F), 0x80 | (a & 0x3F),
                         0xE0 | b >> 12, 0x80 | (b >> 6 & 0x3F), 0x80 | (b & 0x3F));
            }
            assert_int_equal(rk_buf_puts(&text, word), 0);
        }
        assert_int_equal(rk_buf_append(&text, "", 1), 0);
        occurrences o = {.cap = WORDS};
        o.tok = calloc(o.cap, sizeof *o.tok);
        assert_non_null(o.tok);
        assert_int_equal(rk_text_tokens(text.data, occurrence, &o), 0);
        assert_int_equal(o.n, WORDS);
        qsort(o.tok, o.n, sizeof *o.tok, cmp_token);
        rk_rectokens *tok = rk_rectokens_of_text(text.data);
        assert_non_null(tok);
        const char *got = rk_rectokens_next(tok, NULL);
        size_t distinct = 0;
        for (size_t k = 0; k < o.n; k++) {
            if (k > 0 && strcmp(o.tok[k - 1], o.tok[k]) == 0)
                continue;
            if (!got || strcmp(got, o.tok[k]) != 0)
                fail_msg("%s: token %zu is \"%s\", expected \"%s\"", orders[order], distinct, got ? got : "(none)",
                         o.tok[k]);
            got = rk_rectokens_next(tok, got);
            distinct++;
        }
        assert_null(got);
        assert_int_equal(tok->n, distinct);
        rk_rectokens_free(tok);
        free(o.tok);
        rk_buf_free(&text);
        rk_rectokens *again = rk_rectokens_of_text(small_norm);
        assert_non_null(again);
        assert_int_equal(again->n, small_tok->n);
        assert_int_equal(again->len, small_tok->len);
        assert_memory_equal(again->data, small_tok->data, small_tok->len);
        rk_rectokens_free(again);
    }
    rk_rectokens_free(small_tok);
    free(small_norm);
}

/* Puts every sample record, offering each one's tokens first when offer is set (tokens of its own
 * plus MARKER when mark is set), then writes the pending postings. */
static void fill(fixture *f, fx_store *s, const char *name, bool offer, bool mark)
{
    fx_store_open(s, name, 0);
    rk_error err;
    rk_txn *t = fx_begin(s, true);
    for (size_t i = 0; i < f->n; i++) {
        if (offer) {
            rk_rectokens *tok = rk_rectokens_of(f->recs[i].msg);
            assert_non_null(tok);
            if (mark) { /* tokens the batch could only have from the offer */
                rk_rectokens *more = malloc(sizeof *more + tok->len + sizeof MARKER);
                assert_non_null(more);
                memcpy(more, tok, sizeof *tok + tok->len);
                memcpy(more->data + more->len, MARKER, sizeof MARKER);
                more->len += sizeof MARKER;
                more->n++;
                rk_rectokens_free(tok);
                tok = more;
            }
            rk_rectokens_offer(t, f->recs[i].hash, tok);
        }
        rk_put_result res;
        uint64_t seq;
        assert_int_equal(rk_store_put(t, &f->recs[i], &res, &seq, &err), 0);
        assert_int_equal(res, RK_PUT_STORED);
    }
    assert_int_equal(rk_rectokens_kept(t), offer ? f->n : 0);
    assert_int_equal(rk_index_flush(t, &err), 0);
    assert_int_equal(rk_rectokens_kept(t), 0); /* taken, or dropped */
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

static uint64_t count_of(fx_store *s, const char *tok)
{
    rk_error err;
    rk_txn *t = fx_begin(s, false);
    MDB_cursor *c = fx_cursor(t, RK_DB_TOKENS);
    uint64_t n;
    assert_int_equal(rk_postings_count(t, c, (const uint8_t *)tok, strlen(tok), &n, &err), 0);
    mdb_cursor_close(c);
    rk_txn_abort(t);
    return n;
}

/* What the sealing thread computes from the record it sealed is what the batch computes from the
 * stored envelope. */
static void test_rectokens_equal_the_stored_records(void **state)
{
    fixture *f = *state;
    fx_store s;
    fx_store_open(&s, "rectokens-equal", 0);
    rk_error err;
    rk_txn *t = fx_begin(&s, true);
    size_t japanese = 0;
    for (size_t i = 0; i < f->n; i++) {
        rk_put_result res;
        uint64_t seq;
        assert_int_equal(rk_store_put(t, &f->recs[i], &res, &seq, &err), 0);
        rk_record stored;
        assert_int_equal(rk_store_load(t, f->recs[i].hash, &stored, &err), 0);
        rk_rectokens *sealed = rk_rectokens_of(f->recs[i].msg), *loaded = rk_rectokens_of(stored.msg);
        assert_non_null(sealed);
        assert_non_null(loaded);
        assert_true(sealed->n > 10);
        assert_same_tokens(sealed, loaded);
        for (const char *tok = rk_rectokens_next(sealed, NULL); tok; tok = rk_rectokens_next(sealed, tok))
            if ((unsigned char)tok[0] >= 0xe3) { /* kana and kanji */
                japanese++;
                break;
            }
        /* the text is normalised: no token has a capital letter or a full-width form */
        char *norm = rk_rectokens_text(f->recs[i].msg);
        assert_non_null(norm);
        assert_null(strstr(norm, "ＡＩ"));
        assert_null(strpbrk(norm, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
        rk_rectokens *again = rk_rectokens_of_text(norm);
        assert_same_tokens(sealed, again);
        free(norm);
        rk_rectokens_free(again);
        rk_rectokens_free(sealed);
        rk_rectokens_free(loaded);
        rk_record_free(&stored);
    }
    assert_int_equal(japanese, f->n);
    rk_txn_abort(t);
    fx_store_close(&s);
}

/* The batch takes what was offered (the marker is indexed only from there) and a store fed with
 * offered tokens has exactly the token lists of one whose batch computed them. */
static void test_rectokens_offered_are_written(void **state)
{
    fixture *f = *state;
    fx_store computed, offered, marked;
    fill(f, &computed, "rectokens-computed", false, false);
    fill(f, &offered, "rectokens-offered", true, false);
    fill(f, &marked, "rectokens-marked", true, true);
    assert_int_equal(count_of(&computed, MARKER), 0);
    assert_int_equal(count_of(&offered, MARKER), 0);
    assert_int_equal(count_of(&marked, MARKER), f->n);
    size_t checked = 0;
    for (size_t i = 0; i < f->n; i++) {
        rk_rectokens *tok = rk_rectokens_of(f->recs[i].msg);
        assert_non_null(tok);
        for (const char *x = rk_rectokens_next(tok, NULL); x; x = rk_rectokens_next(tok, x)) {
            uint64_t n = count_of(&computed, x);
            assert_true(n >= 1);
            assert_int_equal(count_of(&offered, x), n);
            checked++;
        }
        rk_rectokens_free(tok);
    }
    print_message("%zu records, %zu postings compared\n", f->n, checked);
    fx_store_close(&computed);
    fx_store_close(&offered);
    fx_store_close(&marked);
}

/* Offered tokens that no batch takes (a record that was not stored) are bounded and dropped. */
static void test_rectokens_kept_are_bounded(void **state)
{
    fixture *f = *state;
    fx_store s;
    fx_store_open(&s, "rectokens-bounded", 0);
    rk_txn *t = fx_begin(&s, true);
    uint8_t hash[RK_HASH_LEN] = {0};
    for (uint32_t i = 0; i < RK_RECTOKENS_KEPT_MAX + 10; i++) {
        memcpy(hash, &i, sizeof i);
        rk_rectokens_offer(t, hash, rk_rectokens_of(f->recs[0].msg));
    }
    assert_true(rk_rectokens_kept(t) <= RK_RECTOKENS_KEPT_MAX);
    rk_rectokens *got = rk_rectokens_take(t, hash);
    assert_non_null(got); /* the last one offered */
    rk_rectokens_free(got);
    assert_null(rk_rectokens_take(t, hash));
    rk_rectokens_forget(t);
    assert_int_equal(rk_rectokens_kept(t), 0);
    rk_txn_abort(t);
    /* a read-only transaction keeps nothing */
    t = fx_begin(&s, false);
    rk_rectokens_offer(t, hash, rk_rectokens_of(f->recs[0].msg));
    assert_int_equal(rk_rectokens_kept(t), 0);
    rk_txn_abort(t);
    /* what is kept when the store closes is freed with it (ASan's leak check) */
    t = fx_begin(&s, true);
    rk_rectokens_offer(t, hash, rk_rectokens_of(f->recs[0].msg));
    rk_txn_abort(t);
    fx_store_close(&s);
}

int main(void)
{
    return RK_RUN_GROUP_TESTS(
        setup, teardown, cmocka_unit_test(test_rectokens_equal_the_stored_records),
        cmocka_unit_test(test_rectokens_are_the_distinct_tokens), cmocka_unit_test(test_rectokens_long_texts),
        cmocka_unit_test(test_rectokens_offered_are_written), cmocka_unit_test(test_rectokens_kept_are_bounded));
}
