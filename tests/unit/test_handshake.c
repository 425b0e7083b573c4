/* Tests for daemon/handshake.c: the bytes each role of the peer handshake signs.
 *
 * The expected transcripts were produced by the layouts gossip.c wrote by hand before they were
 * gathered into rk_handshake_transcript (on_hello and dp_handshake at 0b95551, fed the inputs
 * below), and the expected signatures by `openssl pkeyutl -sign -rawin` over
 * "renkei-peer-auth-v1" 0x00 ‖ transcript with TEST_KEY_PEM. A change to either breaks peering
 * with every node already running, so these vectors must never be edited to make a test pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "handshake.h"
#include "run_tests.h"

/* Fixed inputs: the dialer's nonce and key, the listener's nonce and key. */
static uint8_t dialer_nonce[32], listener_nonce[32], dialer_key[32], listener_key[32];

static int setup_inputs(void **state)
{
    (void)state;
    for (int i = 0; i < 32; i++) {
        dialer_nonce[i] = (uint8_t)(0x00 + i);
        listener_nonce[i] = (uint8_t)(0x40 + i);
        dialer_key[i] = (uint8_t)(0x80 + i);
        listener_key[i] = (uint8_t)(0xc0 + i);
    }
    return 0;
}

/* What the listener signs in its HelloReply: "listener" ‖ Nd ‖ D ‖ L. */
static const uint8_t listener_transcript[104] = {
    0x6c, 0x69, 0x73, 0x74, 0x65, 0x6e, 0x65, 0x72, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
    0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d,
    0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1,
    0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
};

/* What the dialer signs in its Auth: "dialer" ‖ Nl ‖ L ‖ D. */
static const uint8_t dialer_transcript[102] = {
    0x64, 0x69, 0x61, 0x6c, 0x65, 0x72, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
    0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b,
    0x5c, 0x5d, 0x5e, 0x5f, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc,
    0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd,
    0xde, 0xdf, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e,
    0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};

#define TEST_KEY_PEM                                                     \
    "-----BEGIN PRIVATE KEY-----\n"                                      \
    "MC4CAQAwBQYDK2VwBCIEIE9UBg5rRKnKDdpQmHVrBaGxI28AdcWl8HZq2m31Ov2H\n" \
    "-----END PRIVATE KEY-----\n"

static const uint8_t listener_sig[64] = {
    0xb4, 0xc8, 0x55, 0xd3, 0xd7, 0xe4, 0x21, 0x3e, 0xfc, 0xc4, 0xf0, 0x07, 0x66, 0x8a, 0x11, 0xe7,
    0x38, 0xd2, 0x10, 0xfb, 0xf4, 0xc0, 0x4f, 0xc7, 0x23, 0xdb, 0x77, 0xd4, 0xf0, 0xce, 0x3a, 0x89,
    0x47, 0x6d, 0xb9, 0xfc, 0xbf, 0x7f, 0xc3, 0x9a, 0xba, 0xf2, 0x58, 0x6d, 0x2e, 0x34, 0x05, 0x67,
    0x6e, 0x77, 0xde, 0x6e, 0x53, 0x18, 0x20, 0x09, 0x5a, 0x92, 0x23, 0x2f, 0xd6, 0x22, 0xd8, 0x08,
};

static const uint8_t dialer_sig[64] = {
    0x0b, 0x7b, 0x83, 0x79, 0x96, 0x6b, 0x67, 0x90, 0xfd, 0xae, 0xf4, 0x2c, 0xa9, 0x10, 0x6a, 0x4c,
    0x6e, 0x0e, 0x98, 0x29, 0x75, 0x6a, 0x60, 0x27, 0x75, 0xa0, 0x4d, 0xbd, 0xb8, 0x14, 0xd3, 0xe9,
    0x3e, 0xe8, 0x0c, 0x9b, 0x46, 0x91, 0x3d, 0x8c, 0xc5, 0x70, 0xaf, 0x5e, 0x3a, 0xbc, 0x03, 0x3d,
    0xb7, 0x49, 0xd2, 0x89, 0x71, 0x33, 0x2f, 0x09, 0x52, 0x41, 0x20, 0x55, 0x44, 0x2e, 0x15, 0x06,
};

/* The transcript of role over these inputs is exactly want, and nothing is written past it. */
static void expect_transcript(rk_handshake_role role, const uint8_t *nonce, const uint8_t *key1, const uint8_t *key2,
                              const uint8_t *want, size_t want_len)
{
    uint8_t out[RK_HANDSHAKE_TRANSCRIPT_MAX];
    memset(out, 0xee, sizeof out);
    size_t n = rk_handshake_transcript(role, nonce, key1, key2, out);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, want_len);
    for (size_t i = n; i < sizeof out; i++)
        assert_int_equal(out[i], 0xee);
}

static void test_listener_transcript_vector(void **state)
{
    (void)state;
    expect_transcript(RK_HANDSHAKE_LISTENER, dialer_nonce, dialer_key, listener_key, listener_transcript,
                      sizeof listener_transcript);
}

static void test_dialer_transcript_vector(void **state)
{
    (void)state;
    expect_transcript(RK_HANDSHAKE_DIALER, listener_nonce, listener_key, dialer_key, dialer_transcript,
                      sizeof dialer_transcript);
}

/* The signatures cover the domain label too: fixed vectors from OpenSSL prove the whole signed input. */
static void test_signature_vectors(void **state)
{
    (void)state;
    rk_key *key = fx_key_from_pem(TEST_KEY_PEM, strlen(TEST_KEY_PEM));
    uint8_t sig[RK_SIG_LEN];
    assert_int_equal(rk_handshake_sign(key, RK_HANDSHAKE_LISTENER, dialer_nonce, dialer_key, listener_key, sig), 0);
    assert_memory_equal(sig, listener_sig, RK_SIG_LEN);
    assert_int_equal(rk_handshake_sign(key, RK_HANDSHAKE_DIALER, listener_nonce, listener_key, dialer_key, sig), 0);
    assert_memory_equal(sig, dialer_sig, RK_SIG_LEN);
    rk_key_free(key);
}

/* A full exchange with real keys: each side verifies what the other signed, and a signature is
 * bound to its role, its nonce and both keys. */
static void test_roles_verify_each_other(void **state)
{
    (void)state;
    rk_key *lkey, *dkey, *other;
    assert_int_equal(rk_key_generate(&lkey, NULL), 0);
    assert_int_equal(rk_key_generate(&dkey, NULL), 0);
    assert_int_equal(rk_key_generate(&other, NULL), 0);
    uint8_t lpub[RK_KEY_LEN], dpub[RK_KEY_LEN], opub[RK_KEY_LEN], lsig[RK_SIG_LEN], dsig[RK_SIG_LEN];
    rk_key_public(lkey, lpub);
    rk_key_public(dkey, dpub);
    rk_key_public(other, opub);

    /* HelloReply: the listener signs the dialer's nonce; the dialer checks it. */
    assert_int_equal(rk_handshake_sign(lkey, RK_HANDSHAKE_LISTENER, dialer_nonce, dpub, lpub, lsig), 0);
    assert_true(rk_handshake_verify(RK_HANDSHAKE_LISTENER, dialer_nonce, dpub, lpub, lsig));
    /* Auth: the dialer signs the listener's nonce; the listener checks it. */
    assert_int_equal(rk_handshake_sign(dkey, RK_HANDSHAKE_DIALER, listener_nonce, lpub, dpub, dsig), 0);
    assert_true(rk_handshake_verify(RK_HANDSHAKE_DIALER, listener_nonce, lpub, dpub, dsig));

    /* a listener's signature is not a dialer's */
    assert_false(rk_handshake_verify(RK_HANDSHAKE_DIALER, dialer_nonce, dpub, lpub, lsig));
    /* replayed against another nonce */
    assert_false(rk_handshake_verify(RK_HANDSHAKE_LISTENER, listener_nonce, dpub, lpub, lsig));
    /* relayed to a third node */
    assert_false(rk_handshake_verify(RK_HANDSHAKE_LISTENER, dialer_nonce, opub, lpub, lsig));
    /* claimed by another key */
    assert_false(rk_handshake_verify(RK_HANDSHAKE_DIALER, listener_nonce, lpub, opub, dsig));
    rk_key_free(lkey);
    rk_key_free(dkey);
    rk_key_free(other);
}

int main(void)
{
    return RK_RUN_GROUP_TESTS(setup_inputs, NULL, cmocka_unit_test(test_listener_transcript_vector),
                              cmocka_unit_test(test_dialer_transcript_vector), cmocka_unit_test(test_signature_vectors),
                              cmocka_unit_test(test_roles_verify_each_other));
}
