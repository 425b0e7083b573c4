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

/* What a one-time token and a session have in common, first in both so that one walk serves both
 * tables: the secret that names it (the token, or the session id; "" when the slot is free) and when
 * it expires. */
typedef struct session_slot {
    char secret[RK_SESSION_SECRET_LEN + 1];
    uint64_t expires;
} session_slot;

typedef struct session_entry {
    session_slot slot; /* the session id */
    char csrf[RK_SESSION_SECRET_LEN + 1];
} session_entry;

struct rk_session_store {
    session_slot tokens[RK_SESSION_TOKENS];
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

/* Slot i of a table whose slots are stride bytes apart (each beginning with its session_slot). */
static session_slot *session_at(void *table, size_t stride, size_t i)
{
    return (session_slot *)((char *)table + i * stride);
}

/* The slot to fill among n: the first free or expired one, else the one that expires first. */
static session_slot *session_pick(void *table, size_t n, size_t stride, uint64_t now_s)
{
    session_slot *pick = table;
    for (size_t i = 0; i < n; i++) {
        session_slot *t = session_at(table, stride, i);
        if (!t->secret[0] || t->expires <= now_s)
            return t;
        if (t->expires < pick->expires)
            pick = t;
    }
    return pick;
}

/* The live slot among n named by secret, or NULL. Every slot is compared, in constant time. */
static session_slot *session_match(void *table, size_t n, size_t stride, const char *secret, uint64_t now_s)
{
    session_slot *found = NULL;
    for (size_t i = 0; i < n; i++) {
        session_slot *t = session_at(table, stride, i);
        bool live = t->secret[0] && t->expires > now_s;
        if (rk_session_secret_equal(t->secret, secret) && live)
            found = t;
    }
    return found;
}

int rk_session_new_token(rk_session_store *s, uint64_t now_s, char out[RK_SESSION_SECRET_LEN + 1])
{
    session_slot *slot = session_pick(s->tokens, RK_SESSION_TOKENS, sizeof s->tokens[0], now_s);
    session_random(slot->secret);
    slot->expires = now_s + RK_SESSION_TOKEN_TTL_S;
    memcpy(out, slot->secret, sizeof slot->secret);
    return 0;
}

bool rk_session_redeem(rk_session_store *s, const char *token, uint64_t now_s, char sid[RK_SESSION_SECRET_LEN + 1],
                       char csrf[RK_SESSION_SECRET_LEN + 1])
{
    session_slot *found = session_match(s->tokens, RK_SESSION_TOKENS, sizeof s->tokens[0], token, now_s);
    if (!found)
        return false;
    sodium_memzero(found, sizeof *found);
    session_entry *e = (session_entry *)session_pick(s->sessions, RK_SESSION_MAX, sizeof s->sessions[0], now_s);
    session_random(e->slot.secret);
    session_random(e->csrf);
    e->slot.expires = now_s + RK_SESSION_TTL_S;
    memcpy(sid, e->slot.secret, sizeof e->slot.secret);
    memcpy(csrf, e->csrf, sizeof e->csrf);
    return true;
}

static session_entry *session_lookup(rk_session_store *s, const char *sid, uint64_t now_s)
{
    return (session_entry *)session_match(s->sessions, RK_SESSION_MAX, sizeof s->sessions[0], sid, now_s);
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
