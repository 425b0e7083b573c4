/* peer_msg: the two envelopes of the peer protocol, PeerRequest (dialer to listener) and PeerReply
 * (listener to dialer), as both roles put them on the wire and read them off it (docs/protocol.md):
 * one member of the envelope's oneof packed into an NNG message, compressed when both sides agreed
 * to, and decoded back, a compressed envelope replaced by the one it holds. The dialer (peer_dial.c)
 * and the listener (peer_serve.c) differ only in which envelope they send and which they read, so
 * the two directions cannot drift apart. No sockets, no locks, no counting: a rejection is returned
 * for the caller to count.
 */
#ifndef RENKEI_PEER_MSG_H
#define RENKEI_PEER_MSG_H

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RK_PEER_MSG_MAX (8u << 20) /* protocol limit on one message, compressed or not */

/* Why a frame was not accepted: a reason code as peers and the statistics count it, and a detail. */
typedef struct rk_peer_msg_reject {
    const char *code;
    char detail[64];
} rk_peer_msg_reject;

/* The codecs a node announces in its Hello or HelloReply (the compression field): zstd when its
 * configuration compresses. */
uint32_t rk_peer_msg_codecs(bool compress);
/* Whether the messages of a peering may be compressed: both sides announce zstd (ours: compress;
 * theirs: the compression field the peer sent). */
bool rk_peer_msg_zstd_agreed(bool compress, uint32_t theirs);

/* The envelope env (renkei__peer_request__descriptor or renkei__peer_reply__descriptor) carrying sub
 * as its oneof member number `member` (the msg_case of that member), packed. NULL when out of memory,
 * or when that member is not a message of sub's type (a programming error, refused rather than
 * written). */
nng_msg *rk_peer_msg_pack(const ProtobufCMessageDescriptor *env, uint32_t member, const ProtobufCMessage *sub);

/* Replaces a packed envelope env of RK_COMPRESS_MIN bytes or more by an envelope of the same type
 * whose zstd member holds it (docs/protocol.md, "Compression"); a shorter one, or one that would not
 * shrink, is kept. m is taken over; NULL stays NULL; NULL when out of memory. */
nng_msg *rk_peer_msg_compress(const ProtobufCMessageDescriptor *env, nng_msg *m);

/* Decodes the frame body data as an envelope env; a compressed one is replaced by the envelope it
 * holds, unless refuse_code is not NULL: then a compressed envelope is rejected with refuse_code and
 * refuse_detail. Returns the envelope (free it with protobuf_c_message_free_unpacked), or NULL with
 * *why set: "malformed" (undecodable, or compressed twice) or the decompressor's reason
 * (rk_compress_reason) when the content does not decompress within RK_PEER_MSG_MAX bytes. */
ProtobufCMessage *rk_peer_msg_decode(const ProtobufCMessageDescriptor *env, const uint8_t *data, size_t len,
                                     const char *refuse_code, const char *refuse_detail, rk_peer_msg_reject *why);

#endif
