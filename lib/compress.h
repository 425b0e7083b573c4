/* compress: the zstd codec of compressed peer messages (docs/protocol.md, "Compression").
 *
 * Invariants: a compressed message is exactly one zstd frame that declares its content size; the
 * decoder refuses a frame before allocating anything unless that declared size is within the
 * caller's limit, and refuses a frame whose content is not exactly the declared size. So a peer's
 * "zstd bomb" costs at most `max` bytes of memory, and only if it really holds that much. Pure: no
 * state, safe from any thread. */
#ifndef RENKEI_COMPRESS_H
#define RENKEI_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* Level 1 (zstd's fastest ordinary level): the bytes that compress in a record batch are its text
 * and field tags, which level 1 already finds; higher levels cost more CPU than they save on the
 * wire (docs/benchmarks.md, "Compressed peer transfer"). */
#define RK_COMPRESS_LEVEL 1
/* Hello.compression and HelloReply.compression: the codecs a side accepts, one bit each. */
#define RK_COMPRESSION_ZSTD 1u
/* Messages shorter than this are sent as they are: a frame header and a second protobuf wrapper
 * would eat what little a short message saves. */
#define RK_COMPRESS_MIN 512

typedef enum {
    RK_COMPRESS_OK = 0,
    RK_COMPRESS_NOMEM = -1,
    RK_COMPRESS_TOO_LARGE = -2, /* the declared content size is over the limit */
    RK_COMPRESS_CORRUPT = -3,   /* not one complete zstd frame with a declared, truthful size */
} rk_compress_result;

/* Compresses len bytes into one zstd frame (content size declared). *out is malloc'd. */
rk_compress_result rk_compress(const uint8_t *src, size_t len, uint8_t **out, size_t *out_len);

/* Decompresses one zstd frame whose declared content size is at most max. *out is malloc'd (at
 * least one byte, so an empty content is not a NULL). */
rk_compress_result rk_decompress(const uint8_t *src, size_t len, size_t max, uint8_t **out, size_t *out_len);

/* The rejection reason for a failed decode: "too_large" or "bad_compression". */
const char *rk_compress_reason(rk_compress_result r);

#endif
