/* envelope: the SignedRecord wire layout, the only code that knows it.
 *
 * Writing goes through protobuf-c (renkei__signed_record__pack emits fields in number order, which is
 * the canonical layout, byte for byte; tests/unit/test_envelope.c holds a fixed vector). Reading has
 * two hand-written pieces because protobuf-c offers only whole-message unpack, which allocates and
 * copies: the canonical split (one varint) used to load stored records, and a field scanner used to
 * read a record's visibility when serving peers. Both bound every read by the length they are given.
 */
#include "envelope.h"

#include "renkei.pb-c.h"

#define ENVELOPE_TAG_RECORD 0x0a /* field 1, length-delimited */
#define ENVELOPE_TAG_SIG 0x12    /* field 2, length-delimited */
#define RECORD_FIELD_VISIBILITY 5

size_t rk_envelope_size(size_t record_len)
{
    Renkei__SignedRecord sr = RENKEI__SIGNED_RECORD__INIT;
    sr.record.len = record_len;
    sr.signature.len = RK_SIG_LEN;
    return renkei__signed_record__get_packed_size(&sr);
}

size_t rk_envelope_write(uint8_t *out, const uint8_t *record, size_t record_len, const uint8_t sig[RK_SIG_LEN])
{
    Renkei__SignedRecord sr = RENKEI__SIGNED_RECORD__INIT;
    sr.record.data = (uint8_t *)record;
    sr.record.len = record_len;
    sr.signature.data = (uint8_t *)sig;
    sr.signature.len = RK_SIG_LEN;
    size_t n = renkei__signed_record__pack(&sr, out);
    return n - 2 - RK_SIG_LEN - record_len;
}

/* Reads a varint of at most 10 bytes at p[*i..len); returns -1 if it is cut short or too long. */
static int read_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *out)
{
    const uint8_t *q = p + *i;
    if (*i > len || !rk_varint_get(&q, p + len, out))
        return -1;
    *i = (size_t)(q - p);
    return 0;
}

bool rk_envelope_split(const uint8_t *env, size_t len, rk_envelope *out)
{
    size_t i = 1;
    uint64_t rlen = 0;
    if (len < 1 + 1 + 1 + 2 + RK_SIG_LEN || env[0] != ENVELOPE_TAG_RECORD || read_varint(env, len, &i, &rlen) != 0)
        return false;
    if (rlen == 0 || rlen > len - i || len - i - rlen != 2 + RK_SIG_LEN)
        return false;
    /* a length padded with continuation bytes decodes, but is not what protobuf-c writes */
    size_t minimal = 1;
    for (uint64_t v = rlen; v >= 0x80; v >>= 7)
        minimal++;
    if (i - 1 != minimal)
        return false;
    const uint8_t *tail = env + i + rlen;
    if (tail[0] != ENVELOPE_TAG_SIG || tail[1] != RK_SIG_LEN)
        return false;
    out->record = env + i;
    out->record_len = (size_t)rlen;
    out->sig = tail + 2;
    return true;
}

/* The last occurrence of field `want` in the message p[0..len): a varint value into *val, or a
 * length-delimited one into *sub and *sublen. Returns 1 if found, 0 if absent, -1 if malformed. */
static int wire_last_field(const uint8_t *p, size_t len, unsigned want, uint64_t *val, const uint8_t **sub,
                           size_t *sublen)
{
    int found = 0;
    size_t i = 0;
    while (i < len) {
        uint64_t key = 0, v = 0;
        if (read_varint(p, len, &i, &key) != 0)
            return -1;
        uint64_t field = key >> 3;
        switch (key & 7) {
        case 0:
            if (read_varint(p, len, &i, &v) != 0)
                return -1;
            if (field == want && val) {
                *val = v;
                found = 1;
            }
            break;
        case 1:
        case 5: {
            size_t w = (key & 7) == 1 ? 8 : 4;
            if (len - i < w)
                return -1;
            i += w;
            break;
        }
        case 2:
            if (read_varint(p, len, &i, &v) != 0 || v > len - i)
                return -1;
            if (field == want && sub) {
                *sub = p + i;
                *sublen = (size_t)v;
                found = 1;
            }
            i += (size_t)v;
            break;
        default: return -1;
        }
    }
    return found;
}

int rk_envelope_visibility(const uint8_t *env, size_t len)
{
    const uint8_t *rec = NULL;
    size_t rlen = 0;
    uint64_t v = 0;
    if (wire_last_field(env, len, 1, NULL, &rec, &rlen) != 1)
        return 0;
    if (wire_last_field(rec, rlen, RECORD_FIELD_VISIBILITY, &v, NULL, NULL) != 1)
        return 0;
    return v > RENKEI__VISIBILITY__VISIBILITY_LOCAL ? 0 : (int)v;
}
