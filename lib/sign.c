/* sign: Ed25519 keys and signatures on libsodium; key files, SHA-256 and random bytes on OpenSSL 3.
 *
 * libsodium signs and verifies because it is about twice as fast as OpenSSL 3.0 here and because its
 * verification rules are documented and fixed (docs/protocol.md, *Signature rules*): one library for
 * every verification keeps every node's verdict on a record the same. Key files stay PKCS#8 PEM,
 * read and written through OpenSSL, so keys made by earlier versions load unchanged; only the 32-byte
 * seed crosses between the two libraries, and the expanded secret is wiped when the key is freed.
 */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sodium.h>

struct rk_key {
    uint8_t sk[crypto_sign_SECRETKEYBYTES]; /* libsodium's form: seed || public key */
    uint8_t pub[RK_KEY_LEN];
};

_Static_assert(crypto_sign_PUBLICKEYBYTES == RK_KEY_LEN, "Ed25519 public keys are 32 bytes");
_Static_assert(crypto_sign_BYTES == RK_SIG_LEN, "Ed25519 signatures are 64 bytes");
_Static_assert(crypto_sign_SEEDBYTES == 32, "Ed25519 seeds are 32 bytes");

/* Signed messages are small (records are at most a few hundred KiB), so the prefixed copy is cheap
 * compared with the signature itself. */
#define RK_MAX_DOMAIN 64

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_state = -1;

static void sodium_start(void)
{
    sodium_state = sodium_init() < 0 ? -1 : 0;
}

/* sodium_init picks the fastest implementations for this CPU and seeds libsodium's generator; it
 * takes a lock on every call, so it runs once rather than on each verification. */
static bool sodium_ready(void)
{
    return pthread_once(&sodium_once, sodium_start) == 0 && sodium_state == 0;
}

static rk_key *key_from_seed(const uint8_t seed[crypto_sign_SEEDBYTES])
{
    if (!sodium_ready())
        return NULL;
    rk_key *key = calloc(1, sizeof *key);
    if (!key)
        return NULL;
    if (crypto_sign_seed_keypair(key->pub, key->sk, seed) != 0) {
        rk_key_free(key);
        return NULL;
    }
    return key;
}

int rk_key_generate(rk_key **out, rk_error *err)
{
    if (!sodium_ready())
        return rk_fail(err, "key_error", "", "the Ed25519 library could not start");
    rk_key *key = calloc(1, sizeof *key);
    if (!key)
        return rk_fail(err, "no_memory", "", "out of memory");
    if (crypto_sign_keypair(key->pub, key->sk) != 0) {
        rk_key_free(key);
        return rk_fail(err, "key_error", "", "Ed25519 key generation failed");
    }
    *out = key;
    return 0;
}

int rk_key_load(const char *path, rk_key **out, rk_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rk_fail(err, errno == ENOENT ? "key_missing" : "key_error", "key_file", "cannot open key file %s: %s",
                       path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        return rk_fail(err, "key_error", "key_file", "key file %s must not be readable by group or others (chmod 600)",
                       path);
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return rk_fail(err, "key_error", "key_file", "cannot read key file %s", path);
    }
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    uint8_t seed[crypto_sign_SEEDBYTES];
    size_t len = sizeof seed;
    bool ok = pkey && EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519 &&
              EVP_PKEY_get_raw_private_key(pkey, seed, &len) == 1 && len == sizeof seed;
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    if (!ok) {
        sodium_memzero(seed, sizeof seed);
        return rk_fail(err, "key_error", "key_file", "%s is not an Ed25519 private key in PEM form", path);
    }
    rk_key *key = key_from_seed(seed);
    sodium_memzero(seed, sizeof seed);
    if (!key)
        return rk_fail(err, "key_error", "key_file", "could not load the Ed25519 key of %s", path);
    *out = key;
    return 0;
}

int rk_key_save(const rk_key *key, const char *path, rk_error *err)
{
    /* the seed is the PKCS#8 private key of RFC 8410, exactly what earlier versions wrote */
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, key->sk, crypto_sign_SEEDBYTES);
    if (!pkey) {
        ERR_clear_error();
        return rk_fail(err, "key_error", "key_file", "could not encode the Ed25519 key for %s", path);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        EVP_PKEY_free(pkey);
        return rk_fail(err, "key_error", "key_file", "cannot create key file %s: %s", path, strerror(errno));
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(path);
        EVP_PKEY_free(pkey);
        return rk_fail(err, "key_error", "key_file", "cannot write key file %s", path);
    }
    int ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1;
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        unlink(path);
        return rk_fail(err, "key_error", "key_file", "writing key file %s failed", path);
    }
    return 0;
}

int rk_key_load_or_create(const char *path, rk_key **out, bool *created, rk_error *err)
{
    if (created)
        *created = false;
    if (access(path, F_OK) == 0)
        return rk_key_load(path, out, err);
    rk_key *key;
    if (rk_key_generate(&key, err) != 0)
        return -1;
    if (rk_key_save(key, path, err) != 0) {
        rk_key_free(key);
        return -1;
    }
    if (created)
        *created = true;
    *out = key;
    return 0;
}

void rk_key_public(const rk_key *key, uint8_t pub[RK_KEY_LEN])
{
    memcpy(pub, key->pub, RK_KEY_LEN);
}

void rk_key_free(rk_key *key)
{
    if (!key)
        return;
    sodium_memzero(key->sk, sizeof key->sk);
    free(key);
}

static uint8_t *prefixed(const char *domain, const void *data, size_t len, size_t *out_len)
{
    size_t dlen = strnlen(domain, RK_MAX_DOMAIN);
    if (len > SIZE_MAX - dlen - 1)
        return NULL;
    uint8_t *msg = malloc(dlen + 1 + len);
    if (!msg)
        return NULL;
    memcpy(msg, domain, dlen);
    msg[dlen] = 0;
    if (len)
        memcpy(msg + dlen + 1, data, len);
    *out_len = dlen + 1 + len;
    return msg;
}

int rk_sign(const rk_key *key, const char *domain, const void *data, size_t len, uint8_t sig[RK_SIG_LEN])
{
    size_t mlen;
    uint8_t *msg = prefixed(domain, data, len, &mlen);
    if (!msg)
        return -1;
    int rc = crypto_sign_detached(sig, NULL, msg, mlen, key->sk);
    free(msg);
    return rc == 0 ? 0 : -1;
}

bool rk_verify(const uint8_t pub[RK_KEY_LEN], const char *domain, const void *data, size_t len,
               const uint8_t sig[RK_SIG_LEN])
{
    if (!sodium_ready())
        return false;
    size_t mlen;
    uint8_t *msg = prefixed(domain, data, len, &mlen);
    if (!msg)
        return false;
    bool ok = crypto_sign_verify_detached(sig, msg, mlen, pub) == 0;
    free(msg);
    return ok;
}

/* SHA256() fetches the algorithm from OpenSSL's provider store on every call, which cost as much as
 * hashing a 1 KiB record; it is fetched once instead, and SHA256() is left for when that failed. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void rk_sha256(const void *data, size_t len, uint8_t out[RK_HASH_LEN])
{
    pthread_once(&sha256_once, sha256_fetch);
    unsigned n = 0;
    if (!sha256_md || EVP_Digest(data, len, out, &n, sha256_md, NULL) != 1 || n != RK_HASH_LEN)
        SHA256(data, len, out);
}

int rk_random(void *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}
