/* Tests for lib/sign.c: keys, signatures with domain separation, key file permissions, compatibility
 * with the OpenSSL signer of earlier versions both ways, and the verification rules of
 * docs/protocol.md (*Signature rules*), each edge case built so that only its own rule rejects it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "fixture.h"
#include "run_tests.h"
#include "sign.h"

#define DATA_DIR RK_SOURCE_DIR "/tests/unit/data/sign"

/* The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t ed25519_l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                      0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
/* The neutral element (order 1) and a point of order 8, as libsodium's list of small-order points
 * spells them. */
static const uint8_t point_identity[32] = {1};
static const uint8_t point_order8[32] = {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
                                         0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
                                         0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05};

/* A file of tests/unit/data/sign, NUL-terminated; the caller frees it. */
static char *read_file(const char *path, size_t *len)
{
    rk_buf b;
    rk_buf_init(&b);
    assert_int_equal(rk_read_path(path, 65536, &b), 0);
    if (len)
        *len = b.len;
    return b.data;
}

/* "name <hex>" line of openssl-vector.txt */
static void vector_field(const char *text, const char *name, uint8_t *out, size_t len)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\n%s ", name);
    const char *p = strstr(text, needle);
    assert_non_null(p);
    p += strlen(needle);
    char hex[2 * RK_SIG_LEN + 1];
    assert_true(2 * len < sizeof hex);
    memcpy(hex, p, 2 * len);
    hex[2 * len] = 0;
    assert_int_equal(rk_hex_decode(hex, out, len), 0);
}

/* The key file of the vector, copied with mode 0600 since git checks files out readable by all. */
static rk_key *load_vector_key(void)
{
    size_t len;
    char *pem = read_file(DATA_DIR "/openssl-node.pem", &len);
    rk_key *key = fx_key_from_pem(pem, len);
    free(pem);
    return key;
}

static uint8_t *domain_message(const char *domain, const void *data, size_t len, size_t *mlen)
{
    *mlen = strlen(domain) + 1 + len;
    uint8_t *m = malloc(*mlen);
    assert_non_null(m);
    memcpy(m, domain, strlen(domain) + 1);
    memcpy(m + strlen(domain) + 1, data, len);
    return m;
}

/* What OpenSSL 3's EVP interface, the verifier of earlier versions, says of a signature. */
static bool openssl_verifies(const uint8_t pub[RK_KEY_LEN], const char *domain, const void *data, size_t len,
                             const uint8_t sig[RK_SIG_LEN])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, RK_KEY_LEN);
    assert_non_null(pkey);
    size_t mlen;
    uint8_t *m = domain_message(domain, data, len, &mlen);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey), 1);
    bool ok = EVP_DigestVerify(ctx, sig, RK_SIG_LEN, m, mlen) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    free(m);
    return ok;
}

/* k = SHA-512(R || A || domain || 0 || data) mod L, the challenge of RFC 8032's verification. */
static void challenge(const uint8_t r[32], const uint8_t a[32], const char *domain, const void *data, size_t len,
                      uint8_t k[32])
{
    size_t mlen;
    uint8_t *m = domain_message(domain, data, len, &mlen);
    crypto_hash_sha512_state st;
    uint8_t h[64];
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, r, 32);
    crypto_hash_sha512_update(&st, a, 32);
    crypto_hash_sha512_update(&st, m, mlen);
    crypto_hash_sha512_final(&st, h);
    crypto_core_ed25519_scalar_reduce(k, h);
    free(m);
}

/* A new key signs msg in the record domain: verify must accept the signature there and refuse it in
 * the peer domain. Returns the key, its public half in pub and the signature in sig. */
static rk_key *sign_in_record_domain(bool (*verify)(const uint8_t *, const char *, const void *, size_t,
                                                    const uint8_t *),
                                     const char *msg, size_t len, uint8_t pub[RK_KEY_LEN], uint8_t sig[RK_SIG_LEN])
{
    rk_key *key;
    assert_int_equal(rk_key_generate(&key, NULL), 0);
    rk_key_public(key, pub);
    assert_int_equal(rk_sign(key, RK_SIGN_DOMAIN_RECORD, msg, len, sig), 0);
    assert_true(verify(pub, RK_SIGN_DOMAIN_RECORD, msg, len, sig));
    assert_false(verify(pub, RK_SIGN_DOMAIN_PEER, msg, len, sig));
    return key;
}

static void test_sign_verify_roundtrip(void **state)
{
    (void)state;
    uint8_t pub[RK_KEY_LEN], sig[RK_SIG_LEN];
    const char msg[] = "石川樹脂工業";
    /* another domain (checked there), a changed byte, a changed signature: all rejected */
    rk_key *key = sign_in_record_domain(rk_verify, msg, sizeof msg, pub, sig);
    char changed[sizeof msg];
    memcpy(changed, msg, sizeof msg);
    changed[3] ^= 1;
    assert_false(rk_verify(pub, RK_SIGN_DOMAIN_RECORD, changed, sizeof changed, sig));
    sig[10] ^= 0x40;
    assert_false(rk_verify(pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig));
    rk_key_free(key);
}

static void test_key_file_roundtrip_and_mode(void **state)
{
    (void)state;
    fx_tempfile tf;
    fx_tempfile_make(&tf, "sign", "node.key");
    const char *path = tf.path;
    rk_key *a, *b;
    bool created;
    assert_int_equal(rk_key_load_or_create(path, &a, &created, NULL), 0);
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(rk_key_load_or_create(path, &b, &created, NULL), 0);
    assert_false(created);
    uint8_t pa[RK_KEY_LEN], pb[RK_KEY_LEN];
    rk_key_public(a, pa);
    rk_key_public(b, pb);
    assert_memory_equal(pa, pb, RK_KEY_LEN);
    /* saving over an existing file is refused */
    rk_error err;
    assert_int_equal(rk_key_save(a, path, &err), -1);
    /* a key readable by others is refused */
    assert_int_equal(chmod(path, 0644), 0);
    rk_key *c = NULL;
    assert_int_equal(rk_key_load(path, &c, &err), -1);
    assert_null(c);
    assert_non_null(strstr(err.message, "chmod 600"));
    rk_key_free(a);
    rk_key_free(b);
    fx_tempfile_remove(&tf);
}

static void test_sha256_known_vector(void **state)
{
    (void)state;
    uint8_t h[RK_HASH_LEN];
    char hex[2 * RK_HASH_LEN + 1];
    rk_sha256("abc", 3, h);
    rk_hex_encode(h, sizeof h, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Signatures made by the OpenSSL signer of earlier versions (tests/unit/data/sign) still verify, its key
 * file still loads to the same public key, and signing again gives the same bytes. */
static void test_openssl_vector_still_verifies(void **state)
{
    (void)state;
    char *text = read_file(DATA_DIR "/openssl-vector.txt", NULL);
    size_t rlen;
    char *record = read_file(DATA_DIR "/openssl-record.bin", &rlen);
    uint8_t pub[RK_KEY_LEN], rsig[RK_SIG_LEN], psig[RK_SIG_LEN];
    vector_field(text, "public", pub, sizeof pub);
    vector_field(text, "record-signature", rsig, sizeof rsig);
    vector_field(text, "peer-signature", psig, sizeof psig);
    const char peer[] = "renkei peer handshake vector";

    assert_true(rk_verify(pub, RK_SIGN_DOMAIN_RECORD, record, rlen, rsig));
    assert_true(rk_verify(pub, RK_SIGN_DOMAIN_PEER, peer, strlen(peer), psig));
    assert_false(rk_verify(pub, RK_SIGN_DOMAIN_PEER, record, rlen, rsig));

    rk_key *key = load_vector_key();
    uint8_t loaded[RK_KEY_LEN], sig[RK_SIG_LEN];
    rk_key_public(key, loaded);
    assert_memory_equal(loaded, pub, RK_KEY_LEN);
    assert_int_equal(rk_sign(key, RK_SIGN_DOMAIN_RECORD, record, rlen, sig), 0);
    assert_memory_equal(sig, rsig, RK_SIG_LEN);
    assert_int_equal(rk_sign(key, RK_SIGN_DOMAIN_PEER, peer, strlen(peer), sig), 0);
    assert_memory_equal(sig, psig, RK_SIG_LEN);
    rk_key_free(key);
    free(record);
    free(text);
}

/* The reverse: what this signer makes, OpenSSL verifies, and the key file it writes OpenSSL reads as
 * the same key. */
static void test_signature_verifies_with_openssl(void **state)
{
    (void)state;
    uint8_t pub[RK_KEY_LEN], sig[RK_SIG_LEN];
    const char msg[] = "北見市 ドローン調査";
    rk_key *key = sign_in_record_domain(openssl_verifies, msg, sizeof msg, pub, sig);

    fx_tempfile tf;
    fx_tempfile_make(&tf, "sign", "node.key");
    const char *path = tf.path;
    assert_int_equal(rk_key_save(key, path, NULL), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pkey);
    uint8_t opub[RK_KEY_LEN];
    size_t olen = sizeof opub;
    assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, opub, &olen), 1);
    assert_memory_equal(opub, pub, RK_KEY_LEN);
    size_t mlen;
    uint8_t *m = domain_message(RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, &mlen);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    uint8_t osig[RK_SIG_LEN];
    size_t slen = sizeof osig;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey), 1);
    assert_int_equal(EVP_DigestSign(ctx, osig, &slen, m, mlen), 1);
    assert_memory_equal(osig, sig, RK_SIG_LEN);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    free(m);
    fx_tempfile_remove(&tf);
    rk_key_free(key);
}

/* challenge() computes what verification computes: for a signature of the signer, [S]B = R + [k]A. */
static void test_challenge_matches_signer(void **state)
{
    (void)state;
    rk_key *key = load_vector_key();
    uint8_t pub[RK_KEY_LEN], sig[RK_SIG_LEN], k[32], ka[32], sum[32], sb[32];
    rk_key_public(key, pub);
    const char msg[] = "challenge";
    assert_int_equal(rk_sign(key, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig), 0);
    challenge(sig, pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, k);
    assert_int_equal(crypto_scalarmult_ed25519_noclamp(ka, k, pub), 0);
    assert_int_equal(crypto_core_ed25519_add(sum, sig, ka), 0);
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(sb, sig + 32), 0);
    assert_memory_equal(sum, sb, 32);
    rk_key_free(key);
}

/* S + L is S under a verifier that reduces S modulo L; the rules require S < L, so that a signature
 * has one encoding and its bytes cannot be changed into another valid signature. */
static void test_noncanonical_s_rejected(void **state)
{
    (void)state;
    rk_key *key = load_vector_key();
    uint8_t pub[RK_KEY_LEN], sig[RK_SIG_LEN];
    rk_key_public(key, pub);
    const char msg[] = "malleable?";
    assert_int_equal(rk_sign(key, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig), 0);
    assert_true(rk_verify(pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig));

    uint8_t bent[RK_SIG_LEN];
    memcpy(bent, sig, RK_SIG_LEN);
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        unsigned v = bent[32 + i] + ed25519_l[i] + carry;
        bent[32 + i] = (uint8_t)v;
        carry = v >> 8;
    }
    assert_int_equal(carry, 0); /* S < L < 2^253, so S + L fits in 32 bytes */
    uint8_t wide[64] = {0}, reduced[32];
    memcpy(wide, bent + 32, 32);
    crypto_core_ed25519_scalar_reduce(reduced, wide);
    assert_memory_equal(reduced, sig + 32, 32); /* the same scalar, another encoding */
    assert_false(rk_verify(pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, bent));
    /* OpenSSL 3 also requires S < L, so here the two rule sets agree */
    assert_false(openssl_verifies(pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, bent));
    rk_key_free(key);
}

/* A small-order public key satisfies the equation [S]B = R + [k]A for every message whenever [k]A
 * vanishes: with the neutral element always, with a point of order 8 when 8 divides k. The
 * signature (R = [S]B, S) then "verifies" anything; the rules refuse such keys. */
static void test_small_order_public_key_rejected(void **state)
{
    (void)state;
    assert_int_equal(sodium_init() >= 0, 1);
    uint8_t sig[RK_SIG_LEN], k[32];
    crypto_core_ed25519_scalar_random(sig + 32);
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(sig, sig + 32), 0);
    const char msg[] = "signed by nobody";
    assert_false(rk_verify(point_identity, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig));
    /* the equation holds: the verifier of earlier versions (OpenSSL 3) accepted it */
    assert_true(openssl_verifies(point_identity, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig));

    /* with the point of order 8, find a message whose challenge is a multiple of 8 */
    char text[64];
    int tries = 0;
    do {
        snprintf(text, sizeof text, "signed by nobody %d", tries++);
        challenge(sig, point_order8, RK_SIGN_DOMAIN_RECORD, text, strlen(text), k);
    } while ((k[0] & 7) != 0 && tries < 1000);
    assert_int_equal(k[0] & 7, 0);
    assert_false(rk_verify(point_order8, RK_SIGN_DOMAIN_RECORD, text, strlen(text), sig));
    assert_true(openssl_verifies(point_order8, RK_SIGN_DOMAIN_RECORD, text, strlen(text), sig));
}

/* With R the neutral element and S = k * a, the equation holds for an honest key: [S]B = [k][a]B =
 * R + [k]A. Such an R reveals nothing and is refused. */
static void test_small_order_r_rejected(void **state)
{
    (void)state;
    assert_int_equal(sodium_init() >= 0, 1);
    uint8_t seed[crypto_sign_SEEDBYTES], pub[RK_KEY_LEN], sk[crypto_sign_SECRETKEYBYTES];
    memset(seed, 0x5a, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(pub, sk, seed), 0);
    /* a: the clamped first half of SHA-512(seed), the secret scalar with A = [a]B */
    uint8_t a[64] = {0}, a_reduced[32];
    assert_int_equal(crypto_sign_ed25519_sk_to_curve25519(a, sk), 0);
    crypto_core_ed25519_scalar_reduce(a_reduced, a);
    uint8_t check[32];
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(check, a_reduced), 0);
    assert_memory_equal(check, pub, 32);

    const char msg[] = "R is the neutral element";
    uint8_t sig[RK_SIG_LEN], k[32];
    memcpy(sig, point_identity, 32);
    challenge(sig, pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, k);
    crypto_core_ed25519_scalar_mul(sig + 32, k, a_reduced);
    assert_false(rk_verify(pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig));
    uint8_t sb[32], ka[32];
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(sb, sig + 32), 0);
    assert_int_equal(crypto_scalarmult_ed25519_noclamp(ka, k, pub), 0);
    assert_memory_equal(sb, ka, 32); /* [S]B = [k]A = R + [k]A */
    assert_true(openssl_verifies(pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig));
}

int main(void)
{
    return RK_RUN_TESTS(
        NULL, NULL, cmocka_unit_test(test_sign_verify_roundtrip), cmocka_unit_test(test_key_file_roundtrip_and_mode),
        cmocka_unit_test(test_sha256_known_vector), cmocka_unit_test(test_openssl_vector_still_verifies),
        cmocka_unit_test(test_signature_verifies_with_openssl), cmocka_unit_test(test_challenge_matches_signer),
        cmocka_unit_test(test_noncanonical_s_rejected), cmocka_unit_test(test_small_order_public_key_rejected),
        cmocka_unit_test(test_small_order_r_rejected));
}
