/* envelope: the SignedRecord wire layout (proto/renkei.proto), written and read in this one place.
 *
 * A canonical envelope is exactly what protobuf-c packs for a SignedRecord with both fields set:
 *     0x0a varint(record_len) record_bytes 0x12 0x40 signature[64]
 * Every envelope this node stores or relays is canonical (rk_record rebuilds the wrapper around the
 * untouched signed bytes), so readers that find the canonical layout may point into it without a
 * decode; anything else must go through rk_record_parse.
 */
#ifndef RENKEI_ENVELOPE_H
#define RENKEI_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The parts of a canonical envelope; the pointers point into the envelope they were read from. */
typedef struct rk_envelope {
    const uint8_t *record; /* the signed Record bytes */
    size_t record_len;
    const uint8_t *sig; /* RK_SIG_LEN bytes */
} rk_envelope;

/* Bytes of the canonical envelope around record_len (> 0) record bytes. */
size_t rk_envelope_size(size_t record_len);

/* Writes the canonical envelope of record (record_len > 0) and sig into out, which holds
 * rk_envelope_size(record_len) bytes. Returns the offset of the record bytes inside out. */
size_t rk_envelope_write(uint8_t *out, const uint8_t *record, size_t record_len, const uint8_t sig[RK_SIG_LEN]);

/* True, with *out filled, if env[0..len) is a canonical envelope with a non-empty record; false
 * otherwise (the caller then decodes it the defensive way). Reads nothing beyond len. */
bool rk_envelope_split(const uint8_t *env, size_t len, rk_envelope *out);

/* Visibility (field 5) of the Record inside an envelope of any valid layout, read straight from the
 * wire without decoding the record, so serving a fetch costs no allocation. When a field occurs more
 * than once the last occurrence counts, as in protobuf-c's decode. Returns 0 (unspecified) when it
 * cannot tell: malformed bytes, no visibility, or a value beyond VISIBILITY_LOCAL. */
int rk_envelope_visibility(const uint8_t *env, size_t len);

#endif
