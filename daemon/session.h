/* session: the web page's one-time login tokens and browser sessions (docs/api.md, "Web access").
 *
 * `renkei web` asks the Unix socket for a login token; the browser trades it once at /login for a
 * session id (sent back in an HttpOnly cookie) and a CSRF token (read by the page through
 * GET /v1/web/session and sent in X-CSRF-Token on every state-changing request).
 *
 * Invariants: every secret is 32 bytes from libsodium's CSPRNG as 64 hex characters; a token is
 * redeemed at most once and within RK_SESSION_TOKEN_TTL_S; a session lives at most
 * RK_SESSION_TTL_S; both tables are fixed in size (the oldest entry gives way to a new one), so no
 * caller can make the node hold more. Secrets are compared in constant time. Loop thread only.
 */
#ifndef RENKEI_SESSION_H
#define RENKEI_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#define RK_SESSION_SECRET_LEN 64 /* hex characters */
#define RK_SESSION_TOKENS 16
#define RK_SESSION_MAX 64
#define RK_SESSION_TOKEN_TTL_S (10 * 60)
#define RK_SESSION_TTL_S (12 * 3600)

typedef struct rk_session_store rk_session_store;

/* NULL when memory or libsodium's initialisation failed. */
rk_session_store *rk_session_store_new(void);
void rk_session_store_free(rk_session_store *s);

/* A fresh one-time login token in out (NUL-terminated). now_s: a monotonic clock in seconds. */
int rk_session_new_token(rk_session_store *s, uint64_t now_s, char out[RK_SESSION_SECRET_LEN + 1]);

/* Redeems token (consumed whether or not a session could be made): on success fills sid and csrf
 * and returns true. */
bool rk_session_redeem(rk_session_store *s, const char *token, uint64_t now_s, char sid[RK_SESSION_SECRET_LEN + 1],
                       char csrf[RK_SESSION_SECRET_LEN + 1]);

/* The CSRF token of a live session sid, or NULL. The pointer stays valid until the next call that
 * changes the store. */
const char *rk_session_find(rk_session_store *s, const char *sid, uint64_t now_s);

/* Ends session sid, if live. */
void rk_session_end(rk_session_store *s, const char *sid);

/* Whether a and b are equal, in time independent of where they differ (b may be NULL). */
bool rk_session_secret_equal(const char *a, const char *b);

#endif
