/* charter: the network's charter on the wire (the Charter message of proto/renkei.proto) and its
 * digest, which nodes compare to check they agree on the founding members and the threshold
 * (docs/membership.md, "How nodes agree").
 *
 * Invariants:
 *  * The digest covers the threshold and the *set* of founding keys, never their order nor how a
 *    configuration names them, so two founding nodes that list the same members under different
 *    names agree.
 *  * rk_charter_unpack accepts only a charter the roster function can use: threshold >= 1, keys of
 *    32 bytes without repeats, UTF-8 names, prefecture codes that exist.
 *  * A charter handed over in a handshake is signed by the listener together with the dialer's
 *    nonce, so it can neither be altered on the way nor replayed from another handshake.
 */
#ifndef RENKEI_CHARTER_H
#define RENKEI_CHARTER_H

#include "membership.h"
#include "sign.h"

#define RK_SIGN_DOMAIN_CHARTER "renkei-charter-v1"
#define RK_CHARTER_MAX_FOUNDING 10000

/* SHA-256 over "renkei-charter-v1\0", the threshold, the count and the sorted keys. -1: no memory. */
int rk_charter_digest(const rk_charter *c, uint8_t out[RK_HASH_LEN]);

/* The packed Charter message (malloc'd). -1: no memory. */
int rk_charter_pack(const rk_charter *c, uint8_t **out, size_t *len);
/* Decodes and checks a packed Charter into *out, which owns its members and names afterwards (free
 * with rk_charter_free_owned). -1 with err (code malformed or bad_charter) otherwise. */
int rk_charter_unpack(const uint8_t *buf, size_t len, rk_charter *out, rk_error *err);
/* A deep copy of src that owns its members and names. -1: no memory. */
int rk_charter_copy(const rk_charter *src, rk_charter *out);
/* Frees a charter made by rk_charter_unpack or rk_charter_copy. */
void rk_charter_free_owned(rk_charter *c);

/* The listener's signature over a charter it hands to the dialer whose Hello carried `nonce`. */
int rk_charter_sign(const rk_key *key, const uint8_t nonce[32], const uint8_t *charter, size_t len,
                    uint8_t sig[RK_SIG_LEN]);
bool rk_charter_verify(const uint8_t pub[RK_KEY_LEN], const uint8_t nonce[32], const uint8_t *charter, size_t len,
                       const uint8_t sig[RK_SIG_LEN]);

#endif
