/* Tests for daemon/peer_msg.c: the envelopes both roles of the peer protocol pack and decode.
 *
 * What is packed must be byte for byte what protobuf-c packs for the same envelope built by hand
 * (the form every running node sends and expects), compressed or not; what is decoded must come back
 * whole, and every frame the protocol forbids must be rejected with the reason peers count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "peer_msg.h"
#include "renkei.pb-c.h"
#include "run_tests.h"

/* n bytes that compress well (RK_COMPRESS_MIN and more) but are not all alike. */
static uint8_t *compressible(size_t n)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i / 64);
    return b;
}

/* The hand-built envelope, packed by protobuf-c: what peer_msg must produce. */
static void assert_packs_as(nng_msg *m, const ProtobufCMessage *expected)
{
    size_t n = protobuf_c_message_get_packed_size(expected);
    uint8_t *want = malloc(n ? n : 1);
    assert_non_null(want);
    protobuf_c_message_pack(expected, want);
    assert_int_equal(nng_msg_len(m), n);
    assert_memory_equal(nng_msg_body(m), want, n);
    free(want);
}

/* Packs sub as member `member` of env and checks the bytes against the hand-built envelope expected. */
static nng_msg *pack_as(const ProtobufCMessageDescriptor *env, uint32_t member, const ProtobufCMessage *sub,
                        const ProtobufCMessage *expected)
{
    nng_msg *m = rk_peer_msg_pack(env, member, sub);
    assert_non_null(m);
    assert_packs_as(m, expected);
    return m;
}

static void test_request_packs_as_protobuf_does(void **state)
{
    (void)state;
    uint8_t hashes[64];
    memset(hashes, 7, sizeof hashes);
    Renkei__Fetch f = RENKEI__FETCH__INIT;
    f.hashes = (ProtobufCBinaryData){sizeof hashes, hashes};
    Renkei__PeerRequest req = RENKEI__PEER_REQUEST__INIT;
    req.msg_case = RENKEI__PEER_REQUEST__MSG_FETCH;
    req.fetch = &f;
    nng_msg *m = pack_as(&renkei__peer_request__descriptor, RENKEI__PEER_REQUEST__MSG_FETCH, &f.base, &req.base);
    /* short: not compressed even when asked */
    m = rk_peer_msg_compress(&renkei__peer_request__descriptor, m);
    assert_packs_as(m, &req.base);
    nng_msg_free(m);
}

static void test_reply_packs_as_protobuf_does(void **state)
{
    (void)state;
    Renkei__Ack a = RENKEI__ACK__INIT;
    a.accepted = 3;
    a.rejected = 1;
    a.retry_after_ms = 250;
    Renkei__PeerReply r = RENKEI__PEER_REPLY__INIT;
    r.msg_case = RENKEI__PEER_REPLY__MSG_ACK;
    r.ack = &a;
    nng_msg_free(pack_as(&renkei__peer_reply__descriptor, RENKEI__PEER_REPLY__MSG_ACK, &a.base, &r.base));
}

static void test_wrong_member_is_refused(void **state)
{
    (void)state;
    Renkei__Ack a = RENKEI__ACK__INIT;
    /* a Fetch member given an Ack, the bytes member given a message, a number no member has */
    assert_null(rk_peer_msg_pack(&renkei__peer_reply__descriptor, RENKEI__PEER_REPLY__MSG_FETCH, &a.base));
    assert_null(rk_peer_msg_pack(&renkei__peer_reply__descriptor, RENKEI__PEER_REPLY__MSG_ZSTD, &a.base));
    assert_null(rk_peer_msg_pack(&renkei__peer_reply__descriptor, 999, &a.base));
    /* an Ack is no member of a request */
    assert_null(rk_peer_msg_pack(&renkei__peer_request__descriptor, RENKEI__PEER_REPLY__MSG_ACK, &a.base));
}

/* A compressed envelope is the envelope whose zstd member holds rk_compress of the packed one, and
 * decodes back to the original. */
static void test_compressed_round_trip(void **state)
{
    (void)state;
    size_t n = 4 * RK_COMPRESS_MIN;
    uint8_t *items = compressible(n);
    Renkei__Announce a = RENKEI__ANNOUNCE__INIT;
    a.items = (ProtobufCBinaryData){n, items};
    nng_msg *plain = rk_peer_msg_pack(&renkei__peer_reply__descriptor, RENKEI__PEER_REPLY__MSG_ANNOUNCE, &a.base);
    assert_non_null(plain);
    uint8_t *z;
    size_t zlen;
    assert_int_equal(rk_compress(nng_msg_body(plain), nng_msg_len(plain), &z, &zlen), RK_COMPRESS_OK);
    Renkei__PeerReply w = RENKEI__PEER_REPLY__INIT;
    w.msg_case = RENKEI__PEER_REPLY__MSG_ZSTD;
    w.zstd = (ProtobufCBinaryData){zlen, z};
    nng_msg *m = rk_peer_msg_compress(&renkei__peer_reply__descriptor, plain);
    assert_non_null(m);
    assert_packs_as(m, &w.base);
    free(z);

    rk_peer_msg_reject why;
    Renkei__PeerReply *r = (Renkei__PeerReply *)rk_peer_msg_decode(&renkei__peer_reply__descriptor, nng_msg_body(m),
                                                                   nng_msg_len(m), NULL, NULL, &why);
    assert_non_null(r);
    assert_int_equal(r->msg_case, RENKEI__PEER_REPLY__MSG_ANNOUNCE);
    assert_int_equal(r->announce->items.len, n);
    assert_memory_equal(r->announce->items.data, items, n);
    renkei__peer_reply__free_unpacked(r, NULL);

    /* the same frame where compression is refused */
    assert_null(rk_peer_msg_decode(&renkei__peer_reply__descriptor, nng_msg_body(m), nng_msg_len(m), "unexpected",
                                   "compressed request without negotiated compression", &why));
    assert_string_equal(why.code, "unexpected");
    assert_string_equal(why.detail, "compressed request without negotiated compression");
    nng_msg_free(m);
    free(items);
}

/* A PeerRequest whose zstd member holds rk_compress of content, packed by hand. */
static uint8_t *hand_compressed(const uint8_t *content, size_t clen, size_t *len)
{
    uint8_t *z;
    size_t zlen;
    assert_int_equal(rk_compress(content, clen, &z, &zlen), RK_COMPRESS_OK);
    Renkei__PeerRequest w = RENKEI__PEER_REQUEST__INIT;
    w.msg_case = RENKEI__PEER_REQUEST__MSG_ZSTD;
    w.zstd = (ProtobufCBinaryData){zlen, z};
    *len = renkei__peer_request__get_packed_size(&w);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    renkei__peer_request__pack(&w, out);
    free(z);
    return out;
}

static void test_rejections(void **state)
{
    (void)state;
    rk_peer_msg_reject why;
    /* not protobuf: field 1, length-delimited, longer than the frame */
    const uint8_t junk[] = {0x0a, 0x7f, 0x01};
    assert_null(rk_peer_msg_decode(&renkei__peer_reply__descriptor, junk, sizeof junk, NULL, NULL, &why));
    assert_string_equal(why.code, "malformed");
    assert_string_equal(why.detail, "undecodable PeerReply");

    /* compressed twice */
    size_t inner_len, outer_len;
    uint8_t *inner = hand_compressed(junk, sizeof junk, &inner_len);
    uint8_t *outer = hand_compressed(inner, inner_len, &outer_len);
    assert_null(rk_peer_msg_decode(&renkei__peer_request__descriptor, outer, outer_len, NULL, NULL, &why));
    assert_string_equal(why.code, "malformed");
    assert_string_equal(why.detail, "undecodable compressed PeerRequest");
    free(outer);

    /* compressed content that is no envelope */
    assert_null(rk_peer_msg_decode(&renkei__peer_request__descriptor, inner, inner_len, NULL, NULL, &why));
    assert_string_equal(why.code, "malformed");
    assert_string_equal(why.detail, "undecodable compressed PeerRequest");
    free(inner);

    /* content over the protocol's limit */
    size_t big = RK_PEER_MSG_MAX + 1;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    uint8_t *bomb = hand_compressed(zeros, big, &outer_len);
    free(zeros);
    assert_null(rk_peer_msg_decode(&renkei__peer_request__descriptor, bomb, outer_len, NULL, NULL, &why));
    assert_string_equal(why.code, "too_large");
    assert_string_equal(why.detail, "compressed PeerRequest");
    free(bomb);

    /* a zstd frame that is not one */
    Renkei__PeerRequest w = RENKEI__PEER_REQUEST__INIT;
    w.msg_case = RENKEI__PEER_REQUEST__MSG_ZSTD;
    w.zstd = (ProtobufCBinaryData){sizeof junk, (uint8_t *)junk};
    uint8_t buf[16];
    size_t blen = renkei__peer_request__pack(&w, buf);
    assert_null(rk_peer_msg_decode(&renkei__peer_request__descriptor, buf, blen, NULL, NULL, &why));
    assert_string_equal(why.code, "bad_compression");
    assert_string_equal(why.detail, "compressed PeerRequest");
}

/* Compression is used only when both sides announce it, whatever else the peer's field holds. */
static void test_zstd_agreement(void **state)
{
    (void)state;
    assert_int_equal(rk_peer_msg_codecs(true), RK_COMPRESSION_ZSTD);
    assert_int_equal(rk_peer_msg_codecs(false), 0);
    assert_true(rk_peer_msg_zstd_agreed(true, RK_COMPRESSION_ZSTD));
    assert_true(rk_peer_msg_zstd_agreed(true, RK_COMPRESSION_ZSTD | 0x6));
    assert_false(rk_peer_msg_zstd_agreed(true, 0x6));
    assert_false(rk_peer_msg_zstd_agreed(false, RK_COMPRESSION_ZSTD));
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_request_packs_as_protobuf_does),
                        cmocka_unit_test(test_reply_packs_as_protobuf_does),
                        cmocka_unit_test(test_wrong_member_is_refused), cmocka_unit_test(test_compressed_round_trip),
                        cmocka_unit_test(test_rejections), cmocka_unit_test(test_zstd_agreement));
}
