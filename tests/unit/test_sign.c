/* Tests for lib/sign.c: keys, signatures with domain separation, key file permissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign.h"

static void test_sign_verify_roundtrip(void **state)
{
    (void)state;
    rk_key *key;
    assert_int_equal(rk_key_generate(&key, NULL), 0);
    uint8_t pub[RK_KEY_LEN], sig[RK_SIG_LEN];
    rk_key_public(key, pub);
    const char msg[] = "石川樹脂工業";
    assert_int_equal(rk_sign(key, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig), 0);
    assert_true(rk_verify(pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig));
    /* another domain, a changed byte, a changed signature: all rejected */
    assert_false(rk_verify(pub, RK_SIGN_DOMAIN_PEER, msg, sizeof msg, sig));
    char changed[sizeof msg];
    memcpy(changed, msg, sizeof msg);
    changed[3] ^= 1;
    assert_false(rk_verify(pub, RK_SIGN_DOMAIN_RECORD, changed, sizeof changed, sig));
    sig[10] ^= 0x40;
    assert_false(rk_verify(pub, RK_SIGN_DOMAIN_RECORD, msg, sizeof msg, sig));
    rk_key_free(key);
}

static void test_key_file_roundtrip_and_mode(void **state)
{
    (void)state;
    char dir[] = "/tmp/rk-sign-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/node.key", dir);
    rk_key *a, *b;
    bool created;
    assert_int_equal(rk_key_load_or_create(path, &a, &created, NULL), 0);
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(rk_key_load_or_create(path, &b, &created, NULL), 0);
    assert_false(created);
    uint8_t pa[RK_KEY_LEN], pb[RK_KEY_LEN];
    rk_key_public(a, pa);
    rk_key_public(b, pb);
    assert_memory_equal(pa, pb, RK_KEY_LEN);
    /* saving over an existing file is refused */
    rk_error err;
    assert_int_equal(rk_key_save(a, path, &err), -1);
    /* a key readable by others is refused */
    assert_int_equal(chmod(path, 0644), 0);
    rk_key *c = NULL;
    assert_int_equal(rk_key_load(path, &c, &err), -1);
    assert_null(c);
    assert_non_null(strstr(err.message, "chmod 600"));
    rk_key_free(a);
    rk_key_free(b);
    unlink(path);
    rmdir(dir);
}

static void test_sha256_known_vector(void **state)
{
    (void)state;
    uint8_t h[RK_HASH_LEN];
    char hex[2 * RK_HASH_LEN + 1];
    rk_sha256("abc", 3, h);
    rk_hex_encode(h, sizeof h, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verify_roundtrip),
        cmocka_unit_test(test_key_file_roundtrip_and_mode),
        cmocka_unit_test(test_sha256_known_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
