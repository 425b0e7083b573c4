/* handshake: the peer handshake's signed transcript, the one place its layout is written.
 *
 * Each side signs the nonce the *other* side chose, so a recorded handshake cannot be replayed, and
 * both keys are inside both signatures, so a handshake cannot be relayed to a third node. The role
 * label comes first so that a listener's signature can never pass as a dialer's: the two transcripts
 * differ in length and in their first bytes. tests/unit/test_handshake.c pins the bytes of both
 * roles, since any change here breaks peering with every node already deployed.
 */
#include "handshake.h"

#include <string.h>

size_t rk_handshake_transcript(rk_handshake_role signer, const uint8_t challenge[RK_HANDSHAKE_NONCE_LEN],
                               const uint8_t verifier_key[RK_KEY_LEN], const uint8_t signer_key[RK_KEY_LEN],
                               uint8_t out[RK_HANDSHAKE_TRANSCRIPT_MAX])
{
    const char *label = signer == RK_HANDSHAKE_LISTENER ? "listener" : "dialer";
    size_t n = strlen(label);
    memcpy(out, label, n);
    memcpy(out + n, challenge, RK_HANDSHAKE_NONCE_LEN);
    n += RK_HANDSHAKE_NONCE_LEN;
    memcpy(out + n, verifier_key, RK_KEY_LEN);
    n += RK_KEY_LEN;
    memcpy(out + n, signer_key, RK_KEY_LEN);
    return n + RK_KEY_LEN;
}

int rk_handshake_sign(const rk_key *key, rk_handshake_role signer, const uint8_t challenge[RK_HANDSHAKE_NONCE_LEN],
                      const uint8_t verifier_key[RK_KEY_LEN], const uint8_t signer_key[RK_KEY_LEN],
                      uint8_t sig[RK_SIG_LEN])
{
    uint8_t buf[RK_HANDSHAKE_TRANSCRIPT_MAX];
    size_t n = rk_handshake_transcript(signer, challenge, verifier_key, signer_key, buf);
    return rk_sign(key, RK_SIGN_DOMAIN_PEER, buf, n, sig) == 0 ? 0 : -1;
}

bool rk_handshake_verify(rk_handshake_role signer, const uint8_t challenge[RK_HANDSHAKE_NONCE_LEN],
                         const uint8_t verifier_key[RK_KEY_LEN], const uint8_t signer_key[RK_KEY_LEN],
                         const uint8_t sig[RK_SIG_LEN])
{
    uint8_t buf[RK_HANDSHAKE_TRANSCRIPT_MAX];
    size_t n = rk_handshake_transcript(signer, challenge, verifier_key, signer_key, buf);
    return rk_verify(signer_key, RK_SIGN_DOMAIN_PEER, buf, n, sig);
}
