/* Tests for lib/charter.c (the charter's wire form, digest and signature) and daemon/roster_sync.c's
 * list check and difference (docs/protocol.md, "Roster").
 *
 * What would break: a digest that depends on the order or the names under which a configuration
 * lists its members (two founding nodes would report a mismatch that is not there), a threshold left
 * out of it (a mismatch that is there would go unseen), a charter with a repeated or short key
 * accepted from a peer, a charter signature that could be replayed into another handshake, and a
 * roster exchange that fetches what both sides have or misses what one lacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "charter.h"
#include "renkei.pb-c.h"
#include "roster_sync.h"
#include "run_tests.h"

static void key_of(uint8_t k[RK_KEY_LEN], uint8_t seed)
{
    for (int i = 0; i < RK_KEY_LEN; i++)
        k[i] = (uint8_t)(seed * 7 + i);
}

static void three(rk_charter_member m[3], const char *names[3])
{
    memset(m, 0, 3 * sizeof *m);
    for (int i = 0; i < 3; i++) {
        key_of(m[i].key, (uint8_t)(i + 1));
        m[i].name = names[i];
    }
}

static void test_digest_ignores_order_and_names(void **state)
{
    (void)state;
    rk_charter_member a[3], b[3];
    three(a, (const char *[]){"a", "b", "c"});
    three(b, (const char *[]){"桑名市", "北見市", "全国"});
    rk_charter_member swapped[3] = {b[2], b[0], b[1]};
    rk_charter ca = {.threshold = 2, .founding = a, .founding_count = 3};
    rk_charter cb = {.threshold = 2, .founding = swapped, .founding_count = 3};
    uint8_t da[RK_HASH_LEN], db[RK_HASH_LEN];
    assert_int_equal(rk_charter_digest(&ca, da), 0);
    assert_int_equal(rk_charter_digest(&cb, db), 0);
    assert_memory_equal(da, db, RK_HASH_LEN);
    /* the threshold and the set of keys are in it */
    cb.threshold = 3;
    assert_int_equal(rk_charter_digest(&cb, db), 0);
    assert_memory_not_equal(da, db, RK_HASH_LEN);
    cb.threshold = 2;
    cb.founding_count = 2;
    assert_int_equal(rk_charter_digest(&cb, db), 0);
    assert_memory_not_equal(da, db, RK_HASH_LEN);
}

static void test_pack_unpack_round_trip(void **state)
{
    (void)state;
    rk_charter_member m[3];
    three(m, (const char *[]){"北見市", "b", "c"});
    m[0].node_kind = RENKEI__NODE_KIND__NODE_KIND_REGION;
    m[0].prefecture = "01";
    rk_charter c = {.threshold = 2, .founding = m, .founding_count = 3};
    uint8_t *buf;
    size_t len;
    assert_int_equal(rk_charter_pack(&c, &buf, &len), 0);
    rk_charter out;
    rk_error err;
    assert_int_equal(rk_charter_unpack(buf, len, &out, &err), 0);
    assert_int_equal(out.threshold, 2);
    assert_int_equal(out.founding_count, 3);
    assert_string_equal(out.founding[0].name, "北見市");
    assert_string_equal(out.founding[0].prefecture, "01");
    assert_int_equal(out.founding[0].node_kind, RENKEI__NODE_KIND__NODE_KIND_REGION);
    assert_null(out.founding[1].prefecture);
    uint8_t d1[RK_HASH_LEN], d2[RK_HASH_LEN];
    assert_int_equal(rk_charter_digest(&c, d1), 0);
    assert_int_equal(rk_charter_digest(&out, d2), 0);
    assert_memory_equal(d1, d2, RK_HASH_LEN);
    rk_charter_free_owned(&out);
    free(buf);
}

/* Packs a charter that bypasses rk_charter_pack's types, to hand unpack what a hostile peer might. */
static void expect_refused(rk_charter *c, const char *code)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(rk_charter_pack(c, &buf, &len), 0);
    rk_charter out;
    rk_error err;
    assert_int_equal(rk_charter_unpack(buf, len, &out, &err), -1);
    assert_string_equal(err.code, code);
    free(buf);
}

static void test_unpack_refuses_unusable_charters(void **state)
{
    (void)state;
    rk_charter_member m[3];
    three(m, (const char *[]){"a", "b", "c"});
    rk_charter c = {.threshold = 0, .founding = m, .founding_count = 3};
    expect_refused(&c, "bad_charter"); /* threshold 0 */
    c.threshold = 2;
    memcpy(m[2].key, m[0].key, RK_KEY_LEN);
    expect_refused(&c, "bad_charter"); /* a key twice */
    key_of(m[2].key, 9);
    m[1].prefecture = "48";
    expect_refused(&c, "bad_charter"); /* no such prefecture */
    m[1].prefecture = NULL;
    c.founding_count = 0;
    expect_refused(&c, "bad_charter"); /* nobody founded it */
    rk_charter out;
    rk_error err;
    const uint8_t junk[] = {0x0a, 0xff};
    assert_int_equal(rk_charter_unpack(junk, sizeof junk, &out, &err), -1);
    assert_string_equal(err.code, "malformed");
}

static void test_signature_binds_the_nonce(void **state)
{
    (void)state;
    rk_key *k;
    rk_error err;
    assert_int_equal(rk_key_generate(&k, &err), 0);
    uint8_t pub[RK_KEY_LEN], nonce[32], other[32], sig[RK_SIG_LEN];
    rk_key_public(k, pub);
    memset(nonce, 1, sizeof nonce);
    memset(other, 2, sizeof other);
    const uint8_t charter[] = "charter bytes";
    assert_int_equal(rk_charter_sign(k, nonce, charter, sizeof charter, sig), 0);
    assert_true(rk_charter_verify(pub, nonce, charter, sizeof charter, sig));
    assert_false(rk_charter_verify(pub, other, charter, sizeof charter, sig));
    assert_false(rk_charter_verify(pub, nonce, charter, sizeof charter - 1, sig));
    rk_key_free(k);
}

static void item(uint8_t *out, uint64_t version, uint8_t h)
{
    rk_put_be64(out, version);
    memset(out + 8, h, RK_HASH_LEN);
}

static void test_roster_lists_and_difference(void **state)
{
    (void)state;
    uint8_t ours[3 * RK_ITEM_LEN], theirs[3 * RK_ITEM_LEN];
    item(ours, 1, 0xa1);
    item(ours + RK_ITEM_LEN, 2, 0xa2);
    item(ours + 2 * RK_ITEM_LEN, 5, 0xa5);
    item(theirs, 2, 0xa2);
    item(theirs + RK_ITEM_LEN, 3, 0xb3);
    item(theirs + 2 * RK_ITEM_LEN, 6, 0xb6);
    assert_null(rk_roster_sync_check(ours, sizeof ours));
    assert_string_equal(rk_roster_sync_check(ours, sizeof ours - 1), "bad_field");
    uint8_t unsorted[2 * RK_ITEM_LEN];
    memcpy(unsorted, ours + RK_ITEM_LEN, RK_ITEM_LEN);
    memcpy(unsorted + RK_ITEM_LEN, ours, RK_ITEM_LEN);
    assert_string_equal(rk_roster_sync_check(unsorted, sizeof unsorted), "bad_field");
    memcpy(unsorted + RK_ITEM_LEN, unsorted, RK_ITEM_LEN);
    assert_string_equal(rk_roster_sync_check(unsorted, sizeof unsorted), "bad_field"); /* repeated */
    rk_buf need, have;
    rk_buf_init(&need);
    rk_buf_init(&have);
    assert_int_equal(rk_roster_sync_diff(ours, 3, theirs, 3, &need, &have), 0);
    assert_int_equal(need.len, 2 * RK_HASH_LEN);
    assert_int_equal((uint8_t)need.data[0], 0xb3);
    assert_int_equal((uint8_t)need.data[RK_HASH_LEN], 0xb6);
    assert_int_equal(have.len, 2 * RK_ITEM_LEN);
    assert_memory_equal(have.data, ours, RK_ITEM_LEN);
    assert_memory_equal(have.data + RK_ITEM_LEN, ours + 2 * RK_ITEM_LEN, RK_ITEM_LEN);
    rk_buf_free(&need);
    rk_buf_free(&have);
    /* equal lists: nothing either way */
    rk_buf_init(&need);
    rk_buf_init(&have);
    assert_int_equal(rk_roster_sync_diff(ours, 3, ours, 3, &need, &have), 0);
    assert_int_equal(need.len + have.len, 0);
    rk_buf_free(&need);
    rk_buf_free(&have);
}

int main(void)
{
    return RK_RUN_TESTS(
        NULL, NULL, cmocka_unit_test(test_digest_ignores_order_and_names),
        cmocka_unit_test(test_pack_unpack_round_trip), cmocka_unit_test(test_unpack_refuses_unusable_charters),
        cmocka_unit_test(test_signature_binds_the_nonce), cmocka_unit_test(test_roster_lists_and_difference));
}
