/* Tests of lib/ingest.c: every rejection code, the order of the checks (cheapest first, so the first
 * failing check names the reason), and that rejections leave the write transaction usable. Every test
 * that ingests envelope bytes runs twice: through rk_ingest, and through the two stages the daemon's
 * verifier threads and writer use (rk_ingest_prepare, then rk_ingest_prepared), which must give the
 * same results and reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "ingest.h"
#include "run_tests.h"
#include "sign.h"

#define NOW_MS UINT64_C(1700000000000)
#define PUBLIC RENKEI__VISIBILITY__VISIBILITY_PUBLIC

typedef struct fixture {
    fx_writer w;    /* first: fx_writer_teardown closes and frees the fixture as the fx_writer it starts with */
    bool two_stage; /* ingest in the daemon's two stages instead of rk_ingest */
} fixture;

static int setup(void **state)
{
    fixture *f = fx_state_new(state, sizeof *f);
    fx_writer_open(&f->w, "ingest");
    return 0;
}

static int setup_two_stage(void **state)
{
    setup(state);
    ((fixture *)*state)->two_stage = true;
    return 0;
}

/* Ingests envelope bytes; returns the status and leaves the reason in err. */
static rk_ingest_status ingest(fixture *f, const uint8_t *env, size_t len, rk_error *err)
{
    rk_ingest_result res;
    rk_record stored;
    memset(&stored, 0, sizeof stored);
    rk_error_clear(err);
    if (f->two_stage) {
        rk_signature_state sig = RK_SIGNATURE_GOOD;
        if (rk_ingest_prepare(&f->w.roster.base, &f->w.limits, NOW_MS, env, len, &stored, &sig, err) != 0) {
            assert_null(stored.msg);
            assert_true(err->code[0] != '\0');
            return RK_INGEST_REJECTED;
        }
        rk_ingest_prepared(f->w.txn, &f->w.roster.members, NULL, NOW_MS, &stored, sig, &res, err);
        if (res.status != RK_INGEST_STORED)
            rk_record_free(&stored);
    } else {
        rk_ingest(f->w.txn, &f->w.roster.members, &f->w.limits, NOW_MS, env, len, &res, &stored, err);
    }
    if (res.status == RK_INGEST_STORED) {
        assert_non_null(stored.msg);
        rk_record_free(&stored);
    }
    return res.status;
}

/* Ingests a parsed record as the node's own publishes are (rk_ingest_record) and checks its status
 * (a stored record also returns 0) and, unless code is NULL, the reason. Returns the result. */
static rk_ingest_result ingest_record(fixture *f, const rk_record *rec, rk_ingest_status status, const char *code)
{
    rk_ingest_result res;
    rk_error err;
    rk_error_clear(&err);
    int rc = rk_ingest_record(f->w.txn, &f->w.roster.members, rec, &res, &err);
    if (status == RK_INGEST_STORED)
        assert_int_equal(rc, 0);
    assert_int_equal(res.status, status);
    if (code)
        assert_string_equal(err.code, code);
    return res;
}

/* Ingests the node's own record as the API does (rk_ingest_own; create for a POST, else a PUT) and
 * checks its status (a stored record also returns 0) and, unless code is NULL, the reason. */
static void ingest_own(fixture *f, const rk_record *rec, bool create, rk_ingest_status status, const char *code)
{
    rk_ingest_result res;
    rk_error err;
    rk_error_clear(&err);
    int rc = rk_ingest_own(f->w.txn, &f->w.roster.members, NULL, &f->w.limits, NOW_MS, rec, create, &res, &err);
    if (status == RK_INGEST_STORED)
        assert_int_equal(rc, 0);
    assert_int_equal(res.status, status);
    if (code)
        assert_string_equal(err.code, code);
}

static void expect_rejected(fixture *f, const uint8_t *env, size_t len, const char *code)
{
    rk_error err;
    assert_int_equal(ingest(f, env, len, &err), RK_INGEST_REJECTED);
    assert_string_equal(err.code, code);
}

static void test_stores_a_member_record(void **state)
{
    fixture *f = *state;
    rk_record rec;
    fx_seal_case(&f->w.member, "ishikawa", NOW_MS - 5, PUBLIC, "石川樹脂工業", &rec);
    rk_ingest_result res;
    rk_record stored;
    rk_error err;
    assert_int_equal(
        rk_ingest(f->w.txn, &f->w.roster.members, &f->w.limits, NOW_MS, rec.env, rec.env_len, &res, &stored, &err), 0);
    assert_int_equal(res.status, RK_INGEST_STORED);
    assert_int_equal(res.seq, 1);
    assert_memory_equal(res.hash, rec.hash, RK_HASH_LEN);
    assert_string_equal(stored.msg->case_->title, "石川樹脂工業");
    rk_record_free(&stored);
    rk_current cur;
    assert_int_equal(rk_store_get_current(f->w.txn, f->w.member.pub, "ishikawa", &cur, &err), 1);
    assert_memory_equal(cur.hash, rec.hash, RK_HASH_LEN);
    /* the same bytes again */
    expect_rejected(f, rec.env, rec.env_len, "duplicate");
    rk_record_free(&rec);
}

static void test_size_decode_and_skew(void **state)
{
    fixture *f = *state;
    rk_record rec;
    fx_seal_case(&f->w.member, "skew", NOW_MS + 11 * 60 * 1000, PUBLIC, "from the future", &rec);
    expect_rejected(f, rec.env, rec.env_len, "clock_skew");
    f->w.limits.max_record_bytes = rec.env_len - 1;
    expect_rejected(f, rec.env, rec.env_len, "too_large");
    f->w.limits.max_record_bytes = 256 * 1024;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    expect_rejected(f, garbage, sizeof garbage, "malformed");
    expect_rejected(f, rec.env, 0, "malformed");
    rk_record_free(&rec);
}

static void test_order_of_checks(void **state)
{
    fixture *f = *state;
    /* a non-member's record is not_member even when its signature is also forged */
    rk_record outsider;
    fx_seal_case(&f->w.outsider, "forged", NOW_MS - 10, PUBLIC, "not ours", &outsider);
    outsider.env[outsider.env_len - 1] ^= 0x01;
    expect_rejected(f, outsider.env, outsider.env_len, "not_member");

    /* a member's record signed by someone else is bad_signature */
    rk_record genuine, forged;
    fx_seal_case(&f->w.member, "kaga", NOW_MS - 10, PUBLIC, "本物", &genuine);
    assert_int_equal(rk_record_clone(&genuine, &forged), 0);
    uint8_t sig[RK_SIG_LEN];
    assert_int_equal(rk_sign(f->w.outsider.key, RK_SIGN_DOMAIN_RECORD, forged.bytes, forged.len, sig), 0);
    memcpy(forged.env + forged.env_len - RK_SIG_LEN, sig, RK_SIG_LEN);
    expect_rejected(f, forged.env, forged.env_len, "bad_signature");

    /* a flipped byte in the signed bytes: the title "本物" still decodes, the signature fails */
    rk_record flipped;
    assert_int_equal(rk_record_clone(&genuine, &flipped), 0);
    size_t off = (size_t)(flipped.bytes - flipped.env);
    uint8_t *title = NULL;
    size_t tlen = strlen("本物");
    for (size_t i = 0; !title && i + tlen <= flipped.len; i++)
        if (memcmp(flipped.env + off + i, "本物", tlen) == 0)
            title = flipped.env + off + i;
    assert_non_null(title);
    title[2] ^= 0x01; /* stays a valid UTF-8 continuation byte */
    rk_error err;
    rk_ingest_status st = ingest(f, flipped.env, flipped.env_len, &err);
    assert_int_equal(st, RK_INGEST_REJECTED);
    assert_true(strcmp(err.code, "bad_signature") == 0 || strcmp(err.code, "malformed") == 0);

    /* nothing so far was stored */
    rk_current cur;
    assert_int_equal(rk_store_get_current(f->w.txn, f->w.member.pub, "kaga", &cur, &err), 0);

    /* store the genuine version, then an older one: stale_version, and checked before the signature */
    assert_int_equal(ingest(f, genuine.env, genuine.env_len, &err), RK_INGEST_STORED);
    rk_record older;
    fx_seal_case(&f->w.member, "kaga", NOW_MS - 20, PUBLIC, "古い版", &older);
    expect_rejected(f, older.env, older.env_len, "stale_version");
    older.env[older.env_len - 1] ^= 0x01;
    expect_rejected(f, older.env, older.env_len, "stale_version");
    /* the forged newer version is still bad_signature, and the stored one stays current */
    rk_record newer;
    fx_seal_case(&f->w.member, "kaga", NOW_MS - 1, PUBLIC, "新しい版", &newer);
    newer.env[newer.env_len - 1] ^= 0x01;
    expect_rejected(f, newer.env, newer.env_len, "bad_signature");
    assert_int_equal(rk_store_get_current(f->w.txn, f->w.member.pub, "kaga", &cur, &err), 1);
    assert_memory_equal(cur.hash, genuine.hash, RK_HASH_LEN);

    /* rejections wrote nothing, so the batch's transaction commits what was stored */
    assert_int_equal(rk_txn_commit(f->w.txn, &err), 0);
    assert_int_equal(rk_txn_begin(f->w.s.store, false, &f->w.txn, &err), 0);
    struct rk_store_counts counts;
    assert_int_equal(rk_store_counts(f->w.txn, &counts, &err), 0);
    assert_int_equal(counts.current, 1);
    assert_int_equal(counts.last_seq, 1);
    FX_FREE_RECORDS(&outsider, &genuine, &forged, &flipped, &older, &newer);
}

static void test_equal_version_tie(void **state)
{
    fixture *f = *state;
    rk_record a, b;
    fx_seal_case(&f->w.member, "tie", NOW_MS - 100, PUBLIC, "one", &a);
    fx_seal_case(&f->w.member, "tie", NOW_MS - 100, PUBLIC, "two", &b);
    rk_record *small = memcmp(a.hash, b.hash, RK_HASH_LEN) < 0 ? &a : &b;
    rk_record *large = small == &a ? &b : &a;
    rk_error err;
    assert_int_equal(ingest(f, large->env, large->env_len, &err), RK_INGEST_STORED);
    expect_rejected(f, small->env, small->env_len, "stale_version");
    FX_FREE_RECORDS(&a, &b);
}

static void test_ingest_record_for_own_publishes(void **state)
{
    fixture *f = *state;
    rk_record rec;
    fx_seal_case(&f->w.member, "own", NOW_MS, PUBLIC, "自ノードの公開", &rec);
    assert_int_equal(ingest_record(f, &rec, RK_INGEST_STORED, NULL).seq, 1);
    ingest_record(f, &rec, RK_INGEST_REJECTED, "duplicate");
    rk_record other;
    fx_seal_case(&f->w.outsider, "own", NOW_MS, PUBLIC, "外部", &other);
    ingest_record(f, &other, RK_INGEST_REJECTED, "not_member");
    FX_FREE_RECORDS(&rec, &other);
}

/* A POST's "already exists" is decided inside the write transaction by rk_ingest_own (create),
 * before the version rules: the API no longer reads the current version itself. */
static void test_own_create_conflicts_with_any_stored_version(void **state)
{
    fixture *f = *state;
    rk_record first, newer, older;
    fx_seal_case(&f->w.member, "create", NOW_MS - 5, PUBLIC, "最初の公開", &first);
    fx_seal_case(&f->w.member, "create", NOW_MS - 4, PUBLIC, "同じ rid の二度目", &newer);
    fx_seal_case(&f->w.member, "create", NOW_MS - 6, PUBLIC, "古い版", &older);
    ingest_own(f, &first, true, RK_INGEST_STORED, NULL);
    ingest_own(f, &newer, true, RK_INGEST_REJECTED, "conflict");
    ingest_own(f, &older, true, RK_INGEST_REJECTED, "conflict");
    /* an update (PUT) of the same record goes through the version rules as before */
    ingest_own(f, &older, false, RK_INGEST_REJECTED, "stale_version");
    ingest_own(f, &newer, false, RK_INGEST_STORED, NULL);
    rk_current cur;
    rk_error err;
    assert_int_equal(rk_store_get_current(f->w.txn, f->w.member.pub, "create", &cur, &err), 1);
    assert_int_equal(cur.version, NOW_MS - 4);
    FX_FREE_RECORDS(&first, &newer, &older);
}

static void test_two_stage_verifies_members_only(void **state)
{
    fixture *f = *state;
    rk_record member, outsider;
    fx_seal_case(&f->w.member, "m", NOW_MS - 1, PUBLIC, "会員", &member);
    fx_seal_case(&f->w.outsider, "o", NOW_MS - 1, PUBLIC, "非会員", &outsider);
    rk_record parsed;
    rk_signature_state sig = RK_SIGNATURE_BAD;
    rk_error err;
    assert_int_equal(
        rk_ingest_prepare(&f->w.roster.base, &f->w.limits, NOW_MS, member.env, member.env_len, &parsed, &sig, &err), 0);
    assert_int_equal(sig, RK_SIGNATURE_GOOD);
    rk_ingest_result res;
    assert_int_equal(rk_ingest_prepared(f->w.txn, &f->w.roster.members, NULL, NOW_MS, &parsed, sig, &res, &err), 0);
    assert_int_equal(res.status, RK_INGEST_STORED);
    rk_record_free(&parsed);
    /* an outsider's genuine signature is never checked: it is not_member before any verification */
    sig = RK_SIGNATURE_GOOD;
    assert_int_equal(
        rk_ingest_prepare(&f->w.roster.base, &f->w.limits, NOW_MS, outsider.env, outsider.env_len, &parsed, &sig, &err),
        0);
    assert_int_equal(sig, RK_SIGNATURE_UNCHECKED);
    rk_ingest_prepared(f->w.txn, &f->w.roster.members, NULL, NOW_MS, &parsed, sig, &res, &err);
    assert_int_equal(res.status, RK_INGEST_REJECTED);
    assert_string_equal(err.code, "not_member");
    FX_FREE_RECORDS(&parsed, &member, &outsider);
}

/* ---------------------------------------------------------------------------- ingest by the roster */

/* A membership record by key: endorse (subject, name) or a revocation of subject with since. */
static void seal_membership(const fx_author *a, int kind, const uint8_t subject[RK_KEY_LEN], uint64_t version,
                            uint64_t since, rk_record *out)
{
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Endorse e = RENKEI__ENDORSE__INIT;
    Renkei__Revoke v = RENKEI__REVOKE__INIT;
    r.author.data = (uint8_t *)a->pub; /* the rid is derived from the author and the body */
    r.author.len = RK_KEY_LEN;
    if (kind == RENKEI__KIND__KIND_ENDORSE) {
        fx_body(&r, kind, &e);
        e.key.data = (uint8_t *)subject;
        e.key.len = RK_KEY_LEN;
        e.name = "佐賀県";
    } else {
        fx_body(&r, kind, &v);
        v.key.data = (uint8_t *)subject;
        v.key.len = RK_KEY_LEN;
        v.since = since;
    }
    char rid[RK_MEMBERSHIP_RID_MAX + 1];
    assert_int_equal(rk_membership_rid(&r, rid), 0);
    fx_seal(a, &r, rid, version, PUBLIC, out);
}

static bool stored_rid(fixture *f, const uint8_t *author, const char *rid)
{
    rk_current cur;
    rk_error err;
    return rk_store_get_current(f->w.txn, author, rid, &cur, &err) == 1;
}

typedef struct promoted {
    char rids[4][RK_RID_MAX + 1];
    size_t n;
} promoted;

static void on_promoted(void *ctx, rk_record *rec, const rk_ingest_result *res, bool own)
{
    promoted *p = ctx;
    assert_int_equal(res->status, RK_INGEST_STORED);
    assert_false(own);
    assert_true(p->n < 4);
    snprintf(p->rids[p->n++], RK_RID_MAX + 1, "%s", rec->msg->rid);
    rk_record_free(rec);
}

/* A stranger's record is kept aside (not stored, not in the sets); when a membership record admits
 * the stranger, promotion stores it with the same checks; nothing is left aside. */
static void test_non_member_kept_aside_then_promoted(void **state)
{
    fixture *f = *state;
    rk_pending_policy policy;
    rk_pending_policy_default(&policy);
    fx_roster_free(&f->w.roster);
    fx_roster_init(&f->w.roster, &f->w.member, "kaga", 1); /* the one founding member admits alone */
    f->w.roster.members.pending = &policy;
    rk_error err;

    rk_record early;
    fx_seal_case(&f->w.outsider, "early", NOW_MS - 50, PUBLIC, "加入前の事例", &early);
    ingest_record(f, &early, RK_INGEST_PENDING, "not_member");
    assert_false(stored_rid(f, f->w.outsider.pub, "early"));
    assert_int_equal(f->w.roster.members.held, 1);
    /* nothing to promote while the roster has not changed */
    promoted p = {0};
    assert_int_equal(
        rk_ingest_promote(f->w.txn, &f->w.roster.members, NULL, &f->w.limits, NOW_MS, on_promoted, &p, &err), 0);
    assert_int_equal(p.n, 0);

    rk_record endorsement;
    seal_membership(&f->w.member, RENKEI__KIND__KIND_ENDORSE, f->w.outsider.pub, NOW_MS - 10, 0, &endorsement);
    ingest_record(f, &endorsement, RK_INGEST_STORED, NULL);
    assert_true(f->w.roster.members.changed);
    assert_int_equal(rk_membership_find(rk_membership_txn_roster(&f->w.roster.members), f->w.outsider.pub)->status,
                     RK_MEMBER_ADMITTED);
    assert_int_equal(
        rk_ingest_promote(f->w.txn, &f->w.roster.members, NULL, &f->w.limits, NOW_MS, on_promoted, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.rids[0], "early");
    assert_true(stored_rid(f, f->w.outsider.pub, "early"));
    assert_int_equal(f->w.roster.members.promoted, 1);
    uint64_t left;
    assert_int_equal(rk_pending_count(f->w.txn, &left, &err), 0);
    assert_int_equal(left, 0);
    FX_FREE_RECORDS(&early, &endorsement);
}

/* Beyond the per-author bound a stranger's record is refused before its signature is looked at: a
 * forged one is "pending_full", not "bad_signature". Within the bound a forgery is found and not kept. */
static void test_stranger_beyond_bound_is_not_verified(void **state)
{
    fixture *f = *state;
    rk_pending_policy policy = {.per_author = 1, .total = 10, .keep_ms = 1000};
    f->w.roster.members.pending = &policy;
    rk_record first, forged;
    fx_seal_case(&f->w.outsider, "first", NOW_MS - 5, PUBLIC, "一件目", &first);
    fx_seal_case(&f->w.outsider, "second", NOW_MS - 5, PUBLIC, "二件目", &forged);
    forged.sig[0] ^= 1;
    ingest_record(f, &forged, RK_INGEST_REJECTED, "bad_signature");
    ingest_record(f, &first, RK_INGEST_PENDING, NULL);
    ingest_record(f, &forged, RK_INGEST_REJECTED, "pending_full");
    FX_FREE_RECORDS(&first, &forged);
}

/* After a revocation with an earlier `since`, the key's records above it are revoked_key, below it
 * still stored; a revoked key's records are never kept aside. */
static void test_revoked_key_cutoff(void **state)
{
    fixture *f = *state;
    rk_pending_policy policy;
    rk_pending_policy_default(&policy);
    f->w.roster.members.pending = &policy;
    rk_record revoke, before, after;
    seal_membership(&f->w.member, RENKEI__KIND__KIND_REVOKE, f->w.member.pub, NOW_MS - 10, NOW_MS - 100, &revoke);
    fx_seal_case(&f->w.member, "before", NOW_MS - 200, PUBLIC, "失効前", &before);
    fx_seal_case(&f->w.member, "after", NOW_MS - 50, PUBLIC, "失効後", &after);
    rk_ingest_result res;
    rk_error err;
    assert_int_equal(rk_ingest_record(f->w.txn, &f->w.roster.members, &revoke, &res, &err), 0);
    ingest_record(f, &after, RK_INGEST_REJECTED, "revoked_key");
    assert_int_equal(f->w.roster.members.held, 0);
    ingest_record(f, &before, RK_INGEST_STORED, NULL);
    FX_FREE_RECORDS(&revoke, &before, &after);
}

/* A membership record the roster function rejects is not stored and leaves the roster as it was. */
static void test_membership_verdict_rejects(void **state)
{
    fixture *f = *state;
    rk_record selfie;
    seal_membership(&f->w.member, RENKEI__KIND__KIND_ENDORSE, f->w.member.pub, NOW_MS - 10, 0, &selfie);
    ingest_record(f, &selfie, RK_INGEST_REJECTED, "self_endorsement");
    assert_false(f->w.roster.members.changed);
    assert_false(stored_rid(f, f->w.member.pub, selfie.msg->rid));
    rk_record_free(&selfie);
}

int main(void)
{
    return RK_RUN_TESTS(setup, fx_writer_teardown, cmocka_unit_test(test_stores_a_member_record),
                        cmocka_unit_test(test_size_decode_and_skew), cmocka_unit_test(test_order_of_checks),
                        cmocka_unit_test(test_equal_version_tie),
                        cmocka_unit_test(test_ingest_record_for_own_publishes),
                        cmocka_unit_test(test_own_create_conflicts_with_any_stored_version),
                        cmocka_unit_test_setup_teardown(test_size_decode_and_skew, setup_two_stage, fx_writer_teardown),
                        cmocka_unit_test_setup_teardown(test_order_of_checks, setup_two_stage, fx_writer_teardown),
                        cmocka_unit_test_setup_teardown(test_equal_version_tie, setup_two_stage, fx_writer_teardown),
                        cmocka_unit_test(test_two_stage_verifies_members_only),
                        cmocka_unit_test(test_non_member_kept_aside_then_promoted),
                        cmocka_unit_test(test_stranger_beyond_bound_is_not_verified),
                        cmocka_unit_test(test_revoked_key_cutoff), cmocka_unit_test(test_membership_verdict_rejects));
}
