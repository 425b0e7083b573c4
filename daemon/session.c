/* session: one-time login tokens and browser sessions in two fixed tables (session.h).
 *
 * Lookups walk the whole table and compare every live entry in constant time, so neither the
 * position of a match nor the length of a common prefix shows in the timing. A secret of the wrong
 * length never matches.
 */
#include "session.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct session_token {
    char token[RK_SESSION_SECRET_LEN + 1]; /* "" when free */
    uint64_t expires;
} session_token;

typedef struct session_entry {
    char sid[RK_SESSION_SECRET_LEN + 1]; /* "" when free */
    char csrf[RK_SESSION_SECRET_LEN + 1];
    uint64_t expires;
} session_entry;

struct rk_session_store {
    session_token tokens[RK_SESSION_TOKENS];
    session_entry sessions[RK_SESSION_MAX];
};

rk_session_store *rk_session_store_new(void)
{
    if (sodium_init() < 0)
        return NULL;
    return calloc(1, sizeof(rk_session_store));
}

void rk_session_store_free(rk_session_store *s)
{
    if (s)
        sodium_memzero(s, sizeof *s);
    free(s);
}

static void session_random(char out[RK_SESSION_SECRET_LEN + 1])
{
    unsigned char b[RK_SESSION_SECRET_LEN / 2];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, RK_SESSION_SECRET_LEN + 1, b, sizeof b);
    sodium_memzero(b, sizeof b);
}

bool rk_session_secret_equal(const char *a, const char *b)
{
    if (!a || !b || strlen(a) != RK_SESSION_SECRET_LEN || strlen(b) != RK_SESSION_SECRET_LEN)
        return false;
    return sodium_memcmp(a, b, RK_SESSION_SECRET_LEN) == 0;
}

int rk_session_new_token(rk_session_store *s, uint64_t now_s, char out[RK_SESSION_SECRET_LEN + 1])
{
    /* a free or expired slot, else the one that expires first */
    session_token *slot = &s->tokens[0];
    for (size_t i = 0; i < RK_SESSION_TOKENS; i++) {
        session_token *t = &s->tokens[i];
        if (!t->token[0] || t->expires <= now_s) {
            slot = t;
            break;
        }
        if (t->expires < slot->expires)
            slot = t;
    }
    session_random(slot->token);
    slot->expires = now_s + RK_SESSION_TOKEN_TTL_S;
    memcpy(out, slot->token, sizeof slot->token);
    return 0;
}

bool rk_session_redeem(rk_session_store *s, const char *token, uint64_t now_s, char sid[RK_SESSION_SECRET_LEN + 1],
                       char csrf[RK_SESSION_SECRET_LEN + 1])
{
    session_token *found = NULL;
    for (size_t i = 0; i < RK_SESSION_TOKENS; i++) {
        session_token *t = &s->tokens[i];
        bool live = t->token[0] && t->expires > now_s;
        if (rk_session_secret_equal(t->token, token) && live)
            found = t;
    }
    if (!found)
        return false;
    sodium_memzero(found, sizeof *found);
    session_entry *slot = &s->sessions[0];
    for (size_t i = 0; i < RK_SESSION_MAX; i++) {
        session_entry *e = &s->sessions[i];
        if (!e->sid[0] || e->expires <= now_s) {
            slot = e;
            break;
        }
        if (e->expires < slot->expires)
            slot = e;
    }
    session_random(slot->sid);
    session_random(slot->csrf);
    slot->expires = now_s + RK_SESSION_TTL_S;
    memcpy(sid, slot->sid, sizeof slot->sid);
    memcpy(csrf, slot->csrf, sizeof slot->csrf);
    return true;
}

static session_entry *session_lookup(rk_session_store *s, const char *sid, uint64_t now_s)
{
    session_entry *found = NULL;
    for (size_t i = 0; i < RK_SESSION_MAX; i++) {
        session_entry *e = &s->sessions[i];
        bool live = e->sid[0] && e->expires > now_s;
        if (rk_session_secret_equal(e->sid, sid) && live)
            found = e;
    }
    return found;
}

const char *rk_session_find(rk_session_store *s, const char *sid, uint64_t now_s)
{
    session_entry *e = session_lookup(s, sid, now_s);
    return e ? e->csrf : NULL;
}

void rk_session_end(rk_session_store *s, const char *sid)
{
    session_entry *e = session_lookup(s, sid, 0);
    if (e)
        sodium_memzero(e, sizeof *e);
}
