/* sign: Ed25519 keys and signatures, SHA-256, on OpenSSL 3's EVP interface. */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
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

struct rk_key {
    EVP_PKEY *pkey;
    uint8_t pub[RK_KEY_LEN];
};

/* Signed messages are small (records are at most a few hundred KiB), so the prefixed copy is cheap
 * compared with the signature itself. */
#define RK_MAX_DOMAIN 64

static int fill_public(rk_key *key, rk_error *err)
{
    size_t len = RK_KEY_LEN;
    if (EVP_PKEY_get_raw_public_key(key->pkey, key->pub, &len) != 1 || len != RK_KEY_LEN)
        return rk_fail(err, "key_error", "", "could not read the Ed25519 public key");
    return 0;
}

int rk_key_generate(rk_key **out, rk_error *err)
{
    rk_key *key = calloc(1, sizeof *key);
    if (!key)
        return rk_fail(err, "no_memory", "", "out of memory");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key->pkey) != 1) {
        EVP_PKEY_CTX_free(ctx);
        free(key);
        return rk_fail(err, "key_error", "", "Ed25519 key generation failed");
    }
    EVP_PKEY_CTX_free(ctx);
    if (fill_public(key, err) != 0) {
        rk_key_free(key);
        return -1;
    }
    *out = key;
    return 0;
}

int rk_key_load(const char *path, rk_key **out, rk_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rk_fail(err, errno == ENOENT ? "key_missing" : "key_error", "key_file",
                       "cannot open key file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        return rk_fail(err, "key_error", "key_file",
                       "key file %s must not be readable by group or others (chmod 600)", path);
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return rk_fail(err, "key_error", "key_file", "cannot read key file %s", path);
    }
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!pkey || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        return rk_fail(err, "key_error", "key_file", "%s is not an Ed25519 private key in PEM form", path);
    }
    rk_key *key = calloc(1, sizeof *key);
    if (!key) {
        EVP_PKEY_free(pkey);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    key->pkey = pkey;
    if (fill_public(key, err) != 0) {
        rk_key_free(key);
        return -1;
    }
    *out = key;
    return 0;
}

int rk_key_save(const rk_key *key, const char *path, rk_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return rk_fail(err, "key_error", "key_file", "cannot create key file %s: %s", path, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(path);
        return rk_fail(err, "key_error", "key_file", "cannot write key file %s", path);
    }
    int ok = PEM_write_PrivateKey(f, key->pkey, NULL, NULL, 0, NULL, NULL) == 1;
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

void rk_key_public(const rk_key *key, uint8_t pub[RK_KEY_LEN]) { memcpy(pub, key->pub, RK_KEY_LEN); }

void rk_key_free(rk_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey);
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
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = RK_SIG_LEN;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, msg, mlen) == 1 && siglen == RK_SIG_LEN;
    EVP_MD_CTX_free(ctx);
    free(msg);
    return ok ? 0 : -1;
}

bool rk_verify(const uint8_t pub[RK_KEY_LEN], const char *domain, const void *data, size_t len,
               const uint8_t sig[RK_SIG_LEN])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, RK_KEY_LEN);
    if (!pkey) {
        ERR_clear_error();
        return false;
    }
    size_t mlen;
    uint8_t *msg = prefixed(domain, data, len, &mlen);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = msg && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
              EVP_DigestVerify(ctx, sig, RK_SIG_LEN, msg, mlen) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    free(msg);
    ERR_clear_error();
    return ok;
}

void rk_sha256(const void *data, size_t len, uint8_t out[RK_HASH_LEN]) { SHA256(data, len, out); }

int rk_random(void *out, size_t len) { return RAND_bytes(out, (int)len) == 1 ? 0 : -1; }
