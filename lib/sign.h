/* sign: node keys, Ed25519 signatures (libsodium) and SHA-256 hashes (OpenSSL 3).
 *
 * Every signature is made over a domain-separation label followed by the bytes, so a signature made
 * for one purpose (a record, a peer handshake) can never be replayed as another. Key files are PEM
 * PKCS#8 and are created with mode 0600; a key file readable by others is refused.
 *
 * Invariant: every signature this node accepts, from any peer or client, passes rk_verify and
 * nothing else, so every node applies the one rule set of docs/protocol.md (*Signature rules*):
 * libsodium 1.0.18's crypto_sign_verify_detached. Signatures are deterministic (RFC 8032), so a
 * key signs the same bytes to the same signature under any conforming library.
 */
#ifndef RENKEI_SIGN_H
#define RENKEI_SIGN_H

#include "util.h"

#define RK_SIGN_DOMAIN_RECORD "renkei-record-v1"
#define RK_SIGN_DOMAIN_PEER "renkei-peer-auth-v1"

typedef struct rk_key rk_key;

int rk_key_generate(rk_key **out, rk_error *err);
int rk_key_load(const char *path, rk_key **out, rk_error *err);
/* Writes a new key file with mode 0600; fails if the file exists. */
int rk_key_save(const rk_key *key, const char *path, rk_error *err);
/* Loads the key, or creates and saves a new one if the file does not exist. */
int rk_key_load_or_create(const char *path, rk_key **out, bool *created, rk_error *err);
void rk_key_public(const rk_key *key, uint8_t pub[RK_KEY_LEN]);
void rk_key_free(rk_key *key);

/* Ed25519 over domain || '\0' || data. rk_verify is thread-safe and applies the rules of
 * docs/protocol.md: canonical S, canonical non-small-order public key and R, cofactorless equation. */
int rk_sign(const rk_key *key, const char *domain, const void *data, size_t len, uint8_t sig[RK_SIG_LEN]);
bool rk_verify(const uint8_t pub[RK_KEY_LEN], const char *domain, const void *data, size_t len,
               const uint8_t sig[RK_SIG_LEN]);

void rk_sha256(const void *data, size_t len, uint8_t out[RK_HASH_LEN]);
/* Cryptographically random bytes; returns -1 if the system could not supply them. */
int rk_random(void *out, size_t len);

#endif
