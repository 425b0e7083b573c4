/* Tests of lib/envelope.c: the canonical SignedRecord layout against fixed vectors, the split that
 * loads stored envelopes (and refuses anything else), the visibility scanner against protobuf-c's own
 * decode, and rk_record's use of the layout for parsed and sealed records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "fixture.h"
#include "record.h"
#include "run_tests.h"

static void fill_sig(uint8_t sig[RK_SIG_LEN])
{
    for (int i = 0; i < RK_SIG_LEN; i++)
        sig[i] = (uint8_t)(0xc0 + i);
}

/* A five-byte record: one-byte length. */
static void test_write_short_vector(void **state)
{
    (void)state;
    static const uint8_t record[5] = {0x08, 0x01, 0x28, 0x02, 0x7f};
    uint8_t sig[RK_SIG_LEN];
    fill_sig(sig);
    uint8_t expect[1 + 1 + 5 + 2 + RK_SIG_LEN] = {0x0a, 0x05, 0x08, 0x01, 0x28, 0x02, 0x7f, 0x12, 0x40};
    memcpy(expect + 9, sig, RK_SIG_LEN);
    assert_int_equal(rk_envelope_size(sizeof record), sizeof expect);
    uint8_t out[sizeof expect];
    memset(out, 0xee, sizeof out);
    assert_int_equal(rk_envelope_write(out, record, sizeof record, sig), 2);
    assert_memory_equal(out, expect, sizeof expect);
}

/* 300 record bytes: the length is the two-byte varint 0xac 0x02. */
static void test_write_long_vector(void **state)
{
    (void)state;
    uint8_t record[300];
    for (size_t i = 0; i < sizeof record; i++)
        record[i] = (uint8_t)i;
    uint8_t sig[RK_SIG_LEN];
    fill_sig(sig);
    size_t n = rk_envelope_size(sizeof record);
    assert_int_equal(n, 3 + 300 + 2 + RK_SIG_LEN);
    uint8_t *out = malloc(n);
    assert_non_null(out);
    assert_int_equal(rk_envelope_write(out, record, sizeof record, sig), 3);
    assert_int_equal(out[0], 0x0a);
    assert_int_equal(out[1], 0xac);
    assert_int_equal(out[2], 0x02);
    assert_memory_equal(out + 3, record, sizeof record);
    assert_int_equal(out[303], 0x12);
    assert_int_equal(out[304], 0x40);
    assert_memory_equal(out + 305, sig, RK_SIG_LEN);
    free(out);
}

static void test_split_canonical(void **state)
{
    (void)state;
    uint8_t record[200];
    memset(record, 0x5a, sizeof record);
    uint8_t sig[RK_SIG_LEN];
    fill_sig(sig);
    size_t n = rk_envelope_size(sizeof record);
    uint8_t *env = malloc(n);
    assert_non_null(env);
    size_t off = rk_envelope_write(env, record, sizeof record, sig);
    rk_envelope e;
    assert_true(rk_envelope_split(env, n, &e));
    assert_ptr_equal(e.record, env + off);
    assert_int_equal(e.record_len, sizeof record);
    assert_ptr_equal(e.sig, env + n - RK_SIG_LEN);
    assert_memory_equal(e.sig, sig, RK_SIG_LEN);

    /* every truncation and one extra byte are refused */
    for (size_t len = 0; len < n; len++)
        assert_false(rk_envelope_split(env, len, &e));
    uint8_t *longer = malloc(n + 1);
    assert_non_null(longer);
    memcpy(longer, env, n);
    longer[n] = 0;
    assert_false(rk_envelope_split(longer, n + 1, &e));
    free(longer);

    /* wrong tags or signature length */
    env[0] = 0x12;
    assert_false(rk_envelope_split(env, n, &e));
    env[0] = 0x0a;
    env[off + sizeof record] = 0x1a;
    assert_false(rk_envelope_split(env, n, &e));
    env[off + sizeof record] = 0x12;
    env[off + sizeof record + 1] = 0x3f;
    assert_false(rk_envelope_split(env, n, &e));
    free(env);
}

/* Layouts that are valid protobuf (or nearly) but not the canonical envelope: a buffer of `fill`
 * with each part's bytes at its offset, of which the first len bytes are split. */
#define ODD_BUF_LEN (2 + 2 + RK_SIG_LEN + 16)
#define BYTES(s) s, sizeof(s) - 1
static const struct odd_layout {
    const char *why;
    uint8_t fill;
    struct {
        size_t at;
        const char *bytes;
        size_t n;
    } part[2];
    size_t len;
} odd_layouts[] = {
    {"signature first, then the record", 0, {{0, BYTES("\x12\x40")}, {66, BYTES("\x0a\x02\x08\x01")}}, 70},
    {"an empty record", 0, {{0, BYTES("\x0a\x00\x12\x40")}}, 4 + RK_SIG_LEN},
    {"a length varint that never ends", 0xff, {{0, BYTES("\x0a")}}, ODD_BUF_LEN},
    {"a length that points beyond the end", 0, {{0, BYTES("\x0a\x7f")}}, 2 + 2 + RK_SIG_LEN},
    /* 0x82 0x00 is 2: valid protobuf, not what protobuf-c writes */
    {"a length padded with a continuation byte", 0, {{0, BYTES("\x0a\x82\x00\x08\x01\x12\x40")}}, 7 + RK_SIG_LEN},
};

static void test_split_refuses_odd_layouts(void **state)
{
    (void)state;
    rk_envelope e;
    uint8_t buf[ODD_BUF_LEN];
    for (size_t i = 0; i < sizeof odd_layouts / sizeof odd_layouts[0]; i++) {
        const struct odd_layout *o = &odd_layouts[i];
        memset(buf, o->fill, sizeof buf);
        for (size_t p = 0; p < 2; p++)
            if (o->part[p].bytes)
                memcpy(buf + o->part[p].at, o->part[p].bytes, o->part[p].n);
        print_message("%s\n", o->why);
        assert_false(rk_envelope_split(buf, o->len, &e));
    }
    /* the padded length unpadded is canonical */
    memset(buf, 0, sizeof buf);
    memcpy(buf, "\x0a\x02\x08\x01\x12\x40", 6);
    assert_true(rk_envelope_split(buf, 6 + RK_SIG_LEN, &e));
    assert_int_equal(e.record_len, 2);
}

/* Packs a Record with protobuf-c and wraps it canonically. */
static uint8_t *envelope_of(const Renkei__Record *r, size_t *n)
{
    size_t rlen = renkei__record__get_packed_size(r);
    uint8_t *rec = malloc(rlen);
    assert_non_null(rec);
    renkei__record__pack(r, rec);
    uint8_t sig[RK_SIG_LEN];
    fill_sig(sig);
    *n = rk_envelope_size(rlen);
    uint8_t *env = malloc(*n);
    assert_non_null(env);
    rk_envelope_write(env, rec, rlen, sig);
    free(rec);
    return env;
}

static void test_visibility_matches_decode(void **state)
{
    (void)state;
    for (int vis = 0; vis <= RENKEI__VISIBILITY__VISIBILITY_LOCAL; vis++) {
        Renkei__Record r = RENKEI__RECORD__INIT;
        r.rid = "a-rid";
        r.version = 1700000000000ULL;
        r.kind = RENKEI__KIND__KIND_EVENT;
        r.visibility = vis;
        size_t n;
        uint8_t *env = envelope_of(&r, &n);
        assert_int_equal(rk_envelope_visibility(env, n), vis);
        /* cut anywhere inside the record: never a guess */
        assert_int_equal(rk_envelope_visibility(env, n / 2), 0);
        free(env);
    }
}

/* A record that names its visibility twice: protobuf-c keeps the last value, and so must the scanner,
 * or a record stored as NETWORK could be served as PUBLIC. */
static void test_visibility_last_occurrence_counts(void **state)
{
    (void)state;
    const uint8_t record[] = {0x28, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, 0x28,
                              RENKEI__VISIBILITY__VISIBILITY_NETWORK};
    Renkei__Record *decoded = renkei__record__unpack(NULL, sizeof record, record);
    assert_non_null(decoded);
    assert_int_equal(decoded->visibility, RENKEI__VISIBILITY__VISIBILITY_NETWORK);
    renkei__record__free_unpacked(decoded, NULL);
    uint8_t sig[RK_SIG_LEN];
    fill_sig(sig);
    uint8_t env[2 + sizeof record + 2 + RK_SIG_LEN];
    rk_envelope_write(env, record, sizeof record, sig);
    assert_int_equal(rk_envelope_visibility(env, sizeof env), RENKEI__VISIBILITY__VISIBILITY_NETWORK);
}

static void test_visibility_odd_inputs(void **state)
{
    (void)state;
    /* signature before record: still readable */
    uint8_t buf[2 + RK_SIG_LEN + 4] = {0x12, 0x40};
    buf[66] = 0x0a;
    buf[67] = 0x02;
    buf[68] = 0x28;
    buf[69] = RENKEI__VISIBILITY__VISIBILITY_NETWORK;
    assert_int_equal(rk_envelope_visibility(buf, sizeof buf), RENKEI__VISIBILITY__VISIBILITY_NETWORK);
    /* a value beyond the enum */
    buf[69] = 9;
    assert_int_equal(rk_envelope_visibility(buf, sizeof buf), 0);
    /* skipping fixed64 / fixed32 fields, and refusing groups */
    const uint8_t fixed[] = {0x0a, 0x10, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4, 0x28, 0x01};
    assert_int_equal(rk_envelope_visibility(fixed, sizeof fixed), RENKEI__VISIBILITY__VISIBILITY_PUBLIC);
    const uint8_t group[] = {0x0a, 0x03, 0x0b, 0x28, 0x01};
    assert_int_equal(rk_envelope_visibility(group, sizeof group), 0);
    /* no record at all */
    assert_int_equal(rk_envelope_visibility(buf, 0), 0);
    const uint8_t varint_one[] = {0x08, 0x05};
    assert_int_equal(rk_envelope_visibility(varint_one, sizeof varint_one), 0);
}

/* rk_record_parse rebuilds any valid layout into the canonical one around the same signed bytes. */
static void test_record_parse_canonicalises(void **state)
{
    (void)state;
    fx_author a;
    fx_author_init(&a);
    rk_record sealed;
    fx_seal_case(&a, "case-1", 1700000000000ULL, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "ロボット導入", &sealed);
    rk_envelope e;
    assert_true(rk_envelope_split(sealed.env, sealed.env_len, &e));
    assert_ptr_equal(e.record, sealed.bytes);
    assert_int_equal(e.record_len, sealed.len);
    assert_memory_equal(e.sig, sealed.sig, RK_SIG_LEN);

    /* the same parts in the other order */
    size_t n = 2 + RK_SIG_LEN + sealed.env_len - 2 - RK_SIG_LEN;
    uint8_t *swapped = malloc(n);
    assert_non_null(swapped);
    swapped[0] = 0x12;
    swapped[1] = RK_SIG_LEN;
    memcpy(swapped + 2, sealed.sig, RK_SIG_LEN);
    memcpy(swapped + 2 + RK_SIG_LEN, sealed.env, sealed.env_len - 2 - RK_SIG_LEN);
    rk_record parsed;
    rk_error err;
    assert_int_equal(rk_record_parse(swapped, n, NULL, 0, &parsed, &err), 0);
    assert_int_equal(parsed.env_len, sealed.env_len);
    assert_memory_equal(parsed.env, sealed.env, sealed.env_len);
    assert_int_equal(parsed.bytes - parsed.env, sealed.bytes - sealed.env);
    assert_memory_equal(parsed.hash, sealed.hash, RK_HASH_LEN);
    assert_true(rk_record_signature_ok(&parsed));
    rk_record_free(&parsed);
    free(swapped);

    /* the length padded with one continuation byte: decodes the same, comes out canonical */
    size_t hdr = (size_t)(sealed.bytes - sealed.env); /* tag and varint */
    uint8_t *padded = malloc(sealed.env_len + 1);
    assert_non_null(padded);
    memcpy(padded, sealed.env, hdr);
    padded[hdr - 1] |= 0x80;
    padded[hdr] = 0x00;
    memcpy(padded + hdr + 1, sealed.env + hdr, sealed.env_len - hdr);
    assert_int_equal(rk_record_parse(padded, sealed.env_len + 1, NULL, 0, &parsed, &err), 0);
    assert_int_equal(parsed.env_len, sealed.env_len);
    assert_memory_equal(parsed.env, sealed.env, sealed.env_len);
    assert_memory_equal(parsed.hash, sealed.hash, RK_HASH_LEN);
    rk_record_free(&parsed);
    free(padded);

    /* the canonical envelope itself: the same record, the same bytes */
    assert_int_equal(rk_record_parse(sealed.env, sealed.env_len, NULL, 0, &parsed, &err), 0);
    assert_ptr_not_equal(parsed.env, sealed.env);
    assert_int_equal(parsed.env_len, sealed.env_len);
    assert_memory_equal(parsed.env, sealed.env, sealed.env_len);
    assert_int_equal(parsed.bytes - parsed.env, sealed.bytes - sealed.env);
    assert_memory_equal(parsed.sig, sealed.sig, RK_SIG_LEN);
    assert_memory_equal(parsed.hash, sealed.hash, RK_HASH_LEN);
    assert_string_equal(parsed.msg->rid, "case-1");
    assert_true(rk_record_signature_ok(&parsed));
    rk_record_free(&parsed);
    rk_record_free(&sealed);
    fx_author_free(&a);
}

int main(void)
{
    return RK_RUN_TESTS(
        NULL, NULL, cmocka_unit_test(test_write_short_vector), cmocka_unit_test(test_write_long_vector),
        cmocka_unit_test(test_split_canonical), cmocka_unit_test(test_split_refuses_odd_layouts),
        cmocka_unit_test(test_visibility_matches_decode), cmocka_unit_test(test_visibility_last_occurrence_counts),
        cmocka_unit_test(test_visibility_odd_inputs), cmocka_unit_test(test_record_parse_canonicalises));
}
