/* peer_msg: packing, compressing and decoding the peer protocol's envelopes for both roles (see
 * peer_msg.h).
 *
 * An envelope's member is set and read through protobuf-c's descriptors: a oneof member's field number
 * is its msg_case, its field descriptor gives the offsets of the member and of the case, and its type
 * is checked before anything is written. The envelopes are built on the stack in storage large enough
 * for either (checked against the descriptor's size), so packing allocates only the NNG message.
 *
 * Invariants: a compressed envelope holds exactly one packed envelope of its own type, never another
 * compressed one, and its content is never decompressed past RK_PEER_MSG_MAX bytes.
 */
#include "peer_msg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "renkei.pb-c.h"

/* Room for either envelope, aligned as they are. */
typedef union peer_msg_storage {
    ProtobufCMessage base;
    Renkei__PeerRequest request;
    Renkei__PeerReply reply;
} peer_msg_storage;

/* Makes *w an envelope env whose oneof member number `member`, of type `type` (and, for a message,
 * of descriptor sub_desc), holds the size bytes at value. NULL when env has no such member. */
static ProtobufCMessage *peer_msg_envelope(peer_msg_storage *w, const ProtobufCMessageDescriptor *env, uint32_t member,
                                           ProtobufCType type, const ProtobufCMessageDescriptor *sub_desc,
                                           const void *value, size_t size)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(env, member);
    if (!f || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->type != type || f->descriptor != sub_desc ||
        env->sizeof_message > sizeof(*w))
        return NULL;
    protobuf_c_message_init(env, w);
    memcpy((char *)w + f->quantifier_offset, &member, sizeof(member));
    memcpy((char *)w + f->offset, value, size);
    return &w->base;
}

/* The compressed content of m, or NULL when m is not a compressed envelope. */
static const ProtobufCBinaryData *peer_msg_zstd(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "zstd");
    uint32_t which;
    if (!f)
        return NULL;
    memcpy(&which, (const char *)m + f->quantifier_offset, sizeof(which));
    return which == f->id ? (const ProtobufCBinaryData *)((const char *)m + f->offset) : NULL;
}

uint32_t rk_peer_msg_codecs(bool compress)
{
    return compress ? RK_COMPRESSION_ZSTD : 0;
}

bool rk_peer_msg_zstd_agreed(bool compress, uint32_t theirs)
{
    return compress && (theirs & RK_COMPRESSION_ZSTD);
}

static nng_msg *peer_msg_pack_whole(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    nng_msg *out;
    if (nng_msg_alloc(&out, n) != 0)
        return NULL;
    protobuf_c_message_pack(m, nng_msg_body(out));
    return out;
}

nng_msg *rk_peer_msg_pack(const ProtobufCMessageDescriptor *env, uint32_t member, const ProtobufCMessage *sub)
{
    peer_msg_storage w;
    const ProtobufCMessage *m =
        peer_msg_envelope(&w, env, member, PROTOBUF_C_TYPE_MESSAGE, sub->descriptor, &sub, sizeof(sub));
    return m ? peer_msg_pack_whole(m) : NULL;
}

nng_msg *rk_peer_msg_compress(const ProtobufCMessageDescriptor *env, nng_msg *m)
{
    if (!m || nng_msg_len(m) < RK_COMPRESS_MIN)
        return m;
    ProtobufCBinaryData z;
    if (rk_compress(nng_msg_body(m), nng_msg_len(m), &z.data, &z.len) != RK_COMPRESS_OK) {
        nng_msg_free(m);
        return NULL;
    }
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(env, "zstd");
    peer_msg_storage w;
    const ProtobufCMessage *wrapped =
        f ? peer_msg_envelope(&w, env, f->id, PROTOBUF_C_TYPE_BYTES, NULL, &z, sizeof(z)) : NULL;
    if (wrapped && protobuf_c_message_get_packed_size(wrapped) < nng_msg_len(m)) {
        nng_msg *c = peer_msg_pack_whole(wrapped);
        nng_msg_free(m);
        m = c;
    }
    free(z.data);
    return m;
}

ProtobufCMessage *rk_peer_msg_decode(const ProtobufCMessageDescriptor *env, const uint8_t *data, size_t len,
                                     const char *refuse_code, const char *refuse_detail, rk_peer_msg_reject *why)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(env, NULL, len, data);
    if (!m) {
        why->code = "malformed";
        snprintf(why->detail, sizeof(why->detail), "undecodable %s", env->short_name);
        return NULL;
    }
    const ProtobufCBinaryData *z = peer_msg_zstd(m);
    if (!z)
        return m;
    if (refuse_code) {
        protobuf_c_message_free_unpacked(m, NULL);
        why->code = refuse_code;
        snprintf(why->detail, sizeof(why->detail), "%s", refuse_detail);
        return NULL;
    }
    uint8_t *raw;
    size_t rlen;
    rk_compress_result cr = rk_decompress(z->data, z->len, RK_PEER_MSG_MAX, &raw, &rlen);
    protobuf_c_message_free_unpacked(m, NULL);
    if (cr != RK_COMPRESS_OK) {
        why->code = rk_compress_reason(cr);
        snprintf(why->detail, sizeof(why->detail), "compressed %s", env->short_name);
        return NULL;
    }
    m = protobuf_c_message_unpack(env, NULL, rlen, raw);
    free(raw);
    if (!m || peer_msg_zstd(m)) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        why->code = "malformed";
        snprintf(why->detail, sizeof(why->detail), "undecodable compressed %s", env->short_name);
        return NULL;
    }
    return m;
}
