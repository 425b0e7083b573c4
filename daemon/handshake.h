/* handshake: the bytes each side of a peering signs to prove its node key (docs/protocol.md,
 * "Handshake"). Both roles of the protocol build their transcripts here, in one function, so the
 * signer's layout and the verifier's layout cannot drift apart. Pure: no sockets, no state. */
#ifndef RENKEI_HANDSHAKE_H
#define RENKEI_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sign.h"
#include "util.h"

#define RK_HANDSHAKE_VERSION 1 /* Hello.protocol_version */
#define RK_HANDSHAKE_NONCE_LEN 32
/* The longest transcript: the label "listener", a nonce and two keys. */
#define RK_HANDSHAKE_TRANSCRIPT_MAX (8 + RK_HANDSHAKE_NONCE_LEN + 2 * RK_KEY_LEN)

/* Who signs: the listener signs its HelloReply, the dialer its Auth. */
typedef enum { RK_HANDSHAKE_LISTENER, RK_HANDSHAKE_DIALER } rk_handshake_role;

/* Lays out what `signer` signs: its role's label ("listener" or "dialer"), the nonce the other side
 * (the verifier) chose, the verifier's key, then the signer's key. Returns the length written to out
 * (104 for the listener, 102 for the dialer). */
size_t rk_handshake_transcript(rk_handshake_role signer, const uint8_t challenge[RK_HANDSHAKE_NONCE_LEN],
                               const uint8_t verifier_key[RK_KEY_LEN], const uint8_t signer_key[RK_KEY_LEN],
                               uint8_t out[RK_HANDSHAKE_TRANSCRIPT_MAX]);

/* Signs the transcript with the node key `key` (whose public half is signer_key) under
 * RK_SIGN_DOMAIN_PEER. Returns 0, or -1 if signing failed. */
int rk_handshake_sign(const rk_key *key, rk_handshake_role signer, const uint8_t challenge[RK_HANDSHAKE_NONCE_LEN],
                      const uint8_t verifier_key[RK_KEY_LEN], const uint8_t signer_key[RK_KEY_LEN],
                      uint8_t sig[RK_SIG_LEN]);

/* True if sig is signer_key's signature of the transcript. */
bool rk_handshake_verify(rk_handshake_role signer, const uint8_t challenge[RK_HANDSHAKE_NONCE_LEN],
                         const uint8_t verifier_key[RK_KEY_LEN], const uint8_t signer_key[RK_KEY_LEN],
                         const uint8_t sig[RK_SIG_LEN]);

#endif
