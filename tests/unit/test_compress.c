/* test_compress: the zstd codec of compressed peer messages (lib/compress.c). Round trips, and every
 * way a peer's frame can be refused: a declared size over the limit (refused before allocating), a
 * header that lies about the size in either direction, a frame without a size, trailing bytes and
 * corrupted content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include <cmocka.h>

#include "compress.h"
#include "run_tests.h"

#define LIMIT (8u << 20)

/* Text-like input that compresses: repeated Japanese phrases with a counter. */
static size_t fill_text(uint8_t *buf, size_t cap)
{
    static const char phrase[] = "加賀市のDX推進事例: 中小企業の業務効率化と人材育成 ";
    size_t n = 0;
    for (unsigned i = 0; n + sizeof phrase + 8 < cap; i++) {
        memcpy(buf + n, phrase, sizeof phrase - 1);
        n += sizeof phrase - 1;
        buf[n++] = (uint8_t)('0' + i % 10);
    }
    return n;
}

/* rk_decompress refuses the frame with code and hands back nothing. */
static void expect_refused(const uint8_t *z, size_t zlen, size_t limit, rk_compress_result code)
{
    uint8_t *back = (uint8_t *)z;
    size_t blen;
    assert_int_equal(rk_decompress(z, zlen, limit, &back, &blen), code);
    assert_null(back);
}

/* rk_decompress within limit gives back exactly the len bytes of src. */
static void expect_restored(const uint8_t *z, size_t zlen, size_t limit, const uint8_t *src, size_t len)
{
    uint8_t *back;
    size_t blen;
    assert_int_equal(rk_decompress(z, zlen, limit, &back, &blen), RK_COMPRESS_OK);
    assert_int_equal(blen, len);
    assert_memory_equal(back, src, len);
    free(back);
}

/* src compressed by zstd itself into a new *out, declaring its size in the header or not. */
static size_t zstd_frame(const uint8_t *src, size_t len, bool declare_size, uint8_t **out)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    assert_non_null(cc);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, declare_size ? 1 : 0)));
    size_t cap = ZSTD_compressBound(len);
    *out = malloc(cap);
    assert_non_null(*out);
    size_t n = ZSTD_compress2(cc, *out, cap, src, len);
    assert_false(ZSTD_isError(n));
    ZSTD_freeCCtx(cc);
    return n;
}

/* Frame header of zstd (RFC 8878 3.1.1): magic, descriptor, [window], content size. With the
 * single-segment flag and a 4-byte size field (descriptor 0xA0), the size is at bytes 5..8. */
static size_t frame_with_size_field(const uint8_t *src, size_t len, uint8_t **out)
{
    size_t n = zstd_frame(src, len, true, out);
    assert_int_equal((*out)[4], 0xA0); /* single segment, 4-byte content size: what the test edits */
    return n;
}

static void set_size(uint8_t *frame, uint32_t size)
{
    frame[5] = (uint8_t)size;
    frame[6] = (uint8_t)(size >> 8);
    frame[7] = (uint8_t)(size >> 16);
    frame[8] = (uint8_t)(size >> 24);
}

/* Text that compresses and a frame of it, made anew for each test that decodes one. */
typedef struct text_frame {
    uint8_t src[70000];
    size_t len;
    uint8_t *z;
    size_t zlen;
} text_frame;

static text_frame *frame_new(void **state, size_t len)
{
    text_frame *f = malloc(sizeof *f);
    assert_non_null(f);
    f->len = fill_text(f->src, len);
    *state = f;
    return f;
}

/* 20,000 bytes of text compressed by rk_compress, as a node sends a message. */
static int compressed_setup(void **state)
{
    text_frame *f = frame_new(state, 20000);
    assert_int_equal(rk_compress(f->src, f->len, &f->z, &f->zlen), RK_COMPRESS_OK);
    return 0;
}

/* 70,000 bytes of text compressed by zstd with a 4-byte size field in the header, for the tests
 * that edit that field. */
static int sized_frame_setup(void **state)
{
    text_frame *f = frame_new(state, sizeof f->src);
    f->zlen = frame_with_size_field(f->src, f->len, &f->z);
    return 0;
}

static int frame_teardown(void **state)
{
    text_frame *f = *state;
    free(f->z);
    free(f);
    return 0;
}

static void test_round_trip(void **state)
{
    text_frame *f = *state;
    assert_true(f->zlen < f->len / 4); /* repetitive text must actually shrink */
    assert_int_equal(ZSTD_getFrameContentSize(f->z, f->zlen), f->len);
    expect_restored(f->z, f->zlen, LIMIT, f->src, f->len);
    /* The limit is inclusive: exactly len is allowed, one less is not. */
    expect_restored(f->z, f->zlen, f->len, f->src, f->len);
    expect_refused(f->z, f->zlen, f->len - 1, RK_COMPRESS_TOO_LARGE);
}

static void test_empty(void **state)
{
    (void)state;
    uint8_t *z, *back;
    size_t zlen, blen = 99;
    assert_int_equal(rk_compress((const uint8_t *)"", 0, &z, &zlen), RK_COMPRESS_OK);
    assert_int_equal(rk_decompress(z, zlen, LIMIT, &back, &blen), RK_COMPRESS_OK);
    assert_non_null(back);
    assert_int_equal(blen, 0);
    free(back);
    free(z);
}

/* A frame of 64 MiB of zeros compresses to a few kilobytes: a bomb. It is refused from its header,
 * so nothing near 64 MiB is ever allocated (ASan's allocator would show it; the result code says it). */
static void test_bomb_refused(void **state)
{
    (void)state;
    size_t big = 64u << 20;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    uint8_t *z;
    size_t zlen;
    assert_int_equal(rk_compress(zeros, big, &z, &zlen), RK_COMPRESS_OK);
    free(zeros);
    assert_true(zlen < 64u << 10);
    expect_refused(z, zlen, LIMIT, RK_COMPRESS_TOO_LARGE);
    assert_string_equal(rk_compress_reason(RK_COMPRESS_TOO_LARGE), "too_large");
    free(z);
}

/* A header that claims a huge size on a small frame: refused as too large before allocating. */
static void test_claims_huge_size(void **state)
{
    text_frame *f = *state;
    assert_int_equal(ZSTD_getFrameContentSize(f->z, f->zlen), f->len);
    set_size(f->z, 0xF0000000u);
    assert_int_equal(ZSTD_getFrameContentSize(f->z, f->zlen), 0xF0000000u);
    expect_refused(f->z, f->zlen, LIMIT, RK_COMPRESS_TOO_LARGE);
}

/* A header that lies within the limit: claiming less than the content (the content would overflow
 * the buffer sized from the header) or more (the content ends early). Both are corrupt. */
static void test_lies_about_size(void **state)
{
    text_frame *f = *state;
    set_size(f->z, (uint32_t)(f->len - 1000));
    expect_refused(f->z, f->zlen, LIMIT, RK_COMPRESS_CORRUPT);
    set_size(f->z, (uint32_t)(f->len + 1000));
    expect_refused(f->z, f->zlen, LIMIT, RK_COMPRESS_CORRUPT);
    set_size(f->z, (uint32_t)f->len);
    expect_restored(f->z, f->zlen, LIMIT, f->src, f->len);
}

/* Frames without a declared size (streamed), with trailing bytes, truncated, corrupted, or not zstd. */
static void test_corrupt_frames(void **state)
{
    text_frame *f = *state;
    uint8_t *back;
    size_t blen;

    uint8_t *s;
    size_t slen = zstd_frame(f->src, f->len, false, &s);
    assert_int_equal(ZSTD_getFrameContentSize(s, slen), ZSTD_CONTENTSIZE_UNKNOWN);
    expect_refused(s, slen, LIMIT, RK_COMPRESS_CORRUPT);
    free(s);

    const uint8_t *z = f->z;
    size_t zlen = f->zlen;
    uint8_t *t = malloc(zlen + 4);
    assert_non_null(t);
    memcpy(t, z, zlen);
    memset(t + zlen, 0, 4);
    expect_refused(t, zlen + 4, LIMIT, RK_COMPRESS_CORRUPT); /* trailing */
    expect_refused(t, zlen - 1, LIMIT, RK_COMPRESS_CORRUPT); /* truncated */
    expect_refused(t, 3, LIMIT, RK_COMPRESS_CORRUPT);        /* no header */
    /* A flipped byte in the compressed blocks: the content no longer decodes to the declared size,
     * or fails outright. (zstd has no content checksum by default; the receiver's protobuf and the
     * records' own hashes and signatures catch a garbled frame that happens to decode.) */
    memcpy(t, z, zlen);
    for (size_t i = zlen / 2; i < zlen / 2 + 8; i++)
        t[i] ^= 0xFF;
    rk_compress_result r = rk_decompress(t, zlen, LIMIT, &back, &blen);
    if (r == RK_COMPRESS_OK) {
        assert_int_equal(blen, f->len);
        assert_memory_not_equal(back, f->src, f->len);
        free(back);
    } else {
        assert_int_equal(r, RK_COMPRESS_CORRUPT);
        assert_string_equal(rk_compress_reason(r), "bad_compression");
    }
    expect_refused((const uint8_t *)"not zstd at all", 15, LIMIT, RK_COMPRESS_CORRUPT);
    free(t);
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test_setup_teardown(test_round_trip, compressed_setup, frame_teardown),
                        cmocka_unit_test(test_empty), cmocka_unit_test(test_bomb_refused),
                        cmocka_unit_test_setup_teardown(test_claims_huge_size, sized_frame_setup, frame_teardown),
                        cmocka_unit_test_setup_teardown(test_lies_about_size, sized_frame_setup, frame_teardown),
                        cmocka_unit_test_setup_teardown(test_corrupt_frames, compressed_setup, frame_teardown));
}
