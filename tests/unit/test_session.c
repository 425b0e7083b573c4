/* test_session: the web page's login tokens and sessions (daemon/session.c): a token is redeemed
 * once and only before it expires, sessions expire, both tables stay bounded (the oldest entry gives
 * way), and secrets of the wrong length or content never match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "run_tests.h"
#include "session.h"

/* Each test gets an empty session store as *state. */
static int setup(void **state)
{
    *state = rk_session_store_new();
    assert_non_null(*state);
    return 0;
}

static int teardown(void **state)
{
    rk_session_store_free(*state);
    return 0;
}

static void token_works_once(void **state)
{
    rk_session_store *s = *state;
    char tok[RK_SESSION_SECRET_LEN + 1], sid[RK_SESSION_SECRET_LEN + 1], csrf[RK_SESSION_SECRET_LEN + 1];
    assert_int_equal(rk_session_new_token(s, 100, tok), 0);
    assert_int_equal(strlen(tok), RK_SESSION_SECRET_LEN);
    assert_true(rk_session_redeem(s, tok, 101, sid, csrf));
    assert_false(rk_session_redeem(s, tok, 102, sid, csrf));
    const char *c = rk_session_find(s, sid, 103);
    assert_non_null(c);
    assert_string_equal(c, csrf);
    assert_string_not_equal(sid, csrf);
    rk_session_end(s, sid);
    assert_null(rk_session_find(s, sid, 104));
}

static void expiry(void **state)
{
    rk_session_store *s = *state;
    char tok[RK_SESSION_SECRET_LEN + 1], sid[RK_SESSION_SECRET_LEN + 1], csrf[RK_SESSION_SECRET_LEN + 1];
    rk_session_new_token(s, 1000, tok);
    assert_false(rk_session_redeem(s, tok, 1000 + RK_SESSION_TOKEN_TTL_S, sid, csrf));
    rk_session_new_token(s, 1000, tok);
    assert_true(rk_session_redeem(s, tok, 1000 + RK_SESSION_TOKEN_TTL_S - 1, sid, csrf));
    assert_non_null(rk_session_find(s, sid, 1000 + RK_SESSION_TTL_S));
    assert_null(rk_session_find(s, sid, 1000 + RK_SESSION_TOKEN_TTL_S - 1 + RK_SESSION_TTL_S));
}

static void tables_bounded(void **state)
{
    rk_session_store *s = *state;
    char first[RK_SESSION_SECRET_LEN + 1], tok[RK_SESSION_SECRET_LEN + 1];
    char sid[RK_SESSION_SECRET_LEN + 1], csrf[RK_SESSION_SECRET_LEN + 1];
    rk_session_new_token(s, 10, first);
    for (int i = 1; i <= RK_SESSION_TOKENS; i++)
        rk_session_new_token(s, 10 + (uint64_t)i, tok); /* the 17th token pushes out the first */
    assert_false(rk_session_redeem(s, first, 50, sid, csrf));
    assert_true(rk_session_redeem(s, tok, 50, sid, csrf));
    char first_sid[RK_SESSION_SECRET_LEN + 1];
    memcpy(first_sid, sid, sizeof sid);
    for (int i = 0; i < RK_SESSION_MAX; i++) {
        rk_session_new_token(s, 100 + (uint64_t)i, tok);
        assert_true(rk_session_redeem(s, tok, 100 + (uint64_t)i, sid, csrf));
    }
    assert_null(rk_session_find(s, first_sid, 200));
    assert_non_null(rk_session_find(s, sid, 200));
}

static void secrets_compared_whole(void **state)
{
    rk_session_store *s = *state;
    char tok[RK_SESSION_SECRET_LEN + 1], sid[RK_SESSION_SECRET_LEN + 1], csrf[RK_SESSION_SECRET_LEN + 1];
    rk_session_new_token(s, 1, tok);
    char bad[RK_SESSION_SECRET_LEN + 2];
    memcpy(bad, tok, sizeof tok);
    bad[RK_SESSION_SECRET_LEN - 1] = bad[RK_SESSION_SECRET_LEN - 1] == '0' ? '1' : '0';
    assert_false(rk_session_redeem(s, bad, 2, sid, csrf));
    memcpy(bad, tok, sizeof tok);
    bad[RK_SESSION_SECRET_LEN - 1] = '\0'; /* a prefix */
    assert_false(rk_session_redeem(s, bad, 2, sid, csrf));
    assert_false(rk_session_redeem(s, "", 2, sid, csrf));
    assert_false(rk_session_secret_equal(tok, NULL));
    assert_true(rk_session_redeem(s, tok, 2, sid, csrf)); /* failed tries did not spend it */
    assert_null(rk_session_find(s, "", 3));
}

int main(void)
{
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(token_works_once), cmocka_unit_test(expiry),
                        cmocka_unit_test(tables_bounded), cmocka_unit_test(secrets_compared_whole));
}
