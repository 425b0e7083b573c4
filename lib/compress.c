/* compress: the zstd codec of compressed peer messages; see compress.h for the invariants. */
#include "compress.h"

#include <stdlib.h>
#include <zstd.h>

rk_compress_result rk_compress(const uint8_t *src, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    size_t cap = ZSTD_compressBound(len);
    uint8_t *buf = malloc(cap);
    if (!buf)
        return RK_COMPRESS_NOMEM;
    /* ZSTD_compress writes the content size into the frame header, which the decoder requires. */
    size_t n = ZSTD_compress(buf, cap, src, len, RK_COMPRESS_LEVEL);
    if (ZSTD_isError(n)) {
        free(buf);
        return RK_COMPRESS_NOMEM;
    }
    *out = buf;
    *out_len = n;
    return RK_COMPRESS_OK;
}

rk_compress_result rk_decompress(const uint8_t *src, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    unsigned long long size = ZSTD_getFrameContentSize(src, len);
    /* Unknown size (a streamed frame) is refused: the bound must be known before allocating. */
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
        return RK_COMPRESS_CORRUPT;
    if (size > max)
        return RK_COMPRESS_TOO_LARGE;
    /* Exactly one frame: trailing bytes (a second frame, skippable frames) are not part of the format. */
    size_t flen = ZSTD_findFrameCompressedSize(src, len);
    if (ZSTD_isError(flen) || flen != len)
        return RK_COMPRESS_CORRUPT;
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    if (!buf)
        return RK_COMPRESS_NOMEM;
    /* The destination holds exactly the declared size: content longer than declared fails with
     * dstSize_tooSmall, shorter is caught by the comparison, so a lying header is refused. */
    size_t n = ZSTD_decompress(buf, size ? (size_t)size : 1, src, len);
    if (ZSTD_isError(n) || n != size) {
        free(buf);
        return RK_COMPRESS_CORRUPT;
    }
    *out = buf;
    *out_len = n;
    return RK_COMPRESS_OK;
}

const char *rk_compress_reason(rk_compress_result r)
{
    return r == RK_COMPRESS_TOO_LARGE ? "too_large" : r == RK_COMPRESS_NOMEM ? "internal" : "bad_compression";
}
