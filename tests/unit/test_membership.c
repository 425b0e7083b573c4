/* Tests of lib/membership.c, the roster function: thresholds, rotation and its countersignature,
 * equivocation, revocation by self and by threshold (including revocations that reach back), the
 * records that must change nothing (unknown endorsers, forged countersignatures, endorsements of
 * revoked keys), and the property every node relies on: the same set of records in any order gives
 * the same roster, verdicts and digest. Also the schema rules of membership records (lib/validate.c)
 * and their JSON form (lib/recjson.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fixture.h"
#include "membership.h"
#include "recjson.h"
#include "recview.h"
#include "record.h"
#include "run_tests.h"
#include "sign.h"

#define NKEYS 12
#define MAXRECS 64

typedef struct fixture {
    rk_key *key[NKEYS];
    uint8_t pub[NKEYS][RK_KEY_LEN];
    rk_charter_member founding[NKEYS];
    rk_charter charter;
    rk_record recs[MAXRECS];
    size_t n;
} fixture;

/* key indices used by the scenarios: F0..F4 may be founding, J* join, N* are rotation targets */
enum { F0, F1, F2, F3, F4, J1, J2, J3, N1, N2, S1, X1 };

static int setup(void **state)
{
    fixture *f = fx_state_new(state, sizeof *f);
    rk_error err;
    for (int i = 0; i < NKEYS; i++) {
        assert_int_equal(rk_key_generate(&f->key[i], &err), 0);
        rk_key_public(f->key[i], f->pub[i]);
    }
    static const char *const names[] = {"全国事務局", "北見市", "加賀市", "桑名市", "南城市"};
    for (int i = 0; i < 5; i++) {
        memcpy(f->founding[i].key, f->pub[i], RK_KEY_LEN);
        f->founding[i].name = names[i];
        f->founding[i].node_kind = RENKEI__NODE_KIND__NODE_KIND_REGION;
    }
    f->charter = (rk_charter){.threshold = 2, .founding = f->founding, .founding_count = 3};
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_record_array_free(f->recs, f->n);
    for (int i = 0; i < NKEYS; i++)
        rk_key_free(f->key[i]);
    free(f);
    return 0;
}

/* The header every membership record has: public, by author, at version, under the rid its body
 * gives (computed into rid, which must outlive r). */
static void membership_header(fixture *f, int author, Renkei__Record *r, uint64_t version,
                              char rid[RK_MEMBERSHIP_RID_MAX + 1])
{
    r->author.data = f->pub[author];
    r->author.len = RK_KEY_LEN;
    r->version = version;
    r->visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    assert_int_equal(rk_membership_rid(r, rid), 0);
    r->rid = rid;
}

static void seal(fixture *f, int author, Renkei__Record *r, uint64_t version)
{
    assert_true(f->n < MAXRECS);
    char rid[RK_MEMBERSHIP_RID_MAX + 1];
    membership_header(f, author, r, version, rid);
    r->created_at = version;
    rk_error err;
    if (rk_record_seal(r, f->key[author], &f->recs[f->n], &err) != 0)
        fail_msg("seal: %s %s %s", err.code, err.field, err.message);
    f->n++;
}

static size_t endorse(fixture *f, int author, int subject, uint64_t version, const char *name, const char *url)
{
    Renkei__Endorse e = RENKEI__ENDORSE__INIT;
    e.key.data = f->pub[subject];
    e.key.len = RK_KEY_LEN;
    e.name = (char *)name;
    e.node_kind = RENKEI__NODE_KIND__NODE_KIND_REGION;
    e.prefecture = "41";
    char *urls[1] = {(char *)url};
    if (url) {
        e.urls = urls;
        e.n_urls = 1;
    }
    Renkei__Record r = RENKEI__RECORD__INIT;
    fx_body(&r, RENKEI__KIND__KIND_ENDORSE, &e);
    seal(f, author, &r, version);
    return f->n - 1;
}

/* J1 (佐賀県) admitted by F0 and F1, at 100 and 101: the starting point of most scenarios. */
static void admit_j1(fixture *f)
{
    endorse(f, F0, J1, 100, "佐賀県", NULL);
    endorse(f, F1, J1, 101, "佐賀県", NULL);
}

/* old rotates to new_key with a consent to succeed consent_old (old itself unless testing a replay),
 * signed by countersigner (the new key itself unless testing a forgery). */
static size_t rotate_consented(fixture *f, int old, int new_key, int consent_old, int countersigner, uint64_t version)
{
    uint8_t msg[2 * RK_KEY_LEN], sig[RK_SIG_LEN];
    rk_membership_rotation_message(f->pub[consent_old], f->pub[new_key], msg);
    assert_int_equal(rk_sign(f->key[countersigner], RK_SIGN_DOMAIN_ROTATE, msg, sizeof msg, sig), 0);
    Renkei__Rotate ro = RENKEI__ROTATE__INIT;
    ro.new_key.data = f->pub[new_key];
    ro.new_key.len = RK_KEY_LEN;
    ro.countersignature.data = sig;
    ro.countersignature.len = RK_SIG_LEN;
    Renkei__Record r = RENKEI__RECORD__INIT;
    fx_body(&r, RENKEI__KIND__KIND_ROTATE, &ro);
    seal(f, old, &r, version);
    return f->n - 1;
}

static size_t rotate_signed(fixture *f, int old, int new_key, int countersigner, uint64_t version)
{
    return rotate_consented(f, old, new_key, old, countersigner, version);
}

static size_t rotate(fixture *f, int old, int new_key, uint64_t version)
{
    return rotate_signed(f, old, new_key, new_key, version);
}

static size_t revoke(fixture *f, int author, int subject, uint64_t version, uint64_t since)
{
    Renkei__Revoke rv = RENKEI__REVOKE__INIT;
    rv.key.data = f->pub[subject];
    rv.key.len = RK_KEY_LEN;
    rv.reason = "鍵の紛失";
    rv.since = since;
    Renkei__Record r = RENKEI__RECORD__INIT;
    fx_body(&r, RENKEI__KIND__KIND_REVOKE, &rv);
    seal(f, author, &r, version);
    return f->n - 1;
}

/* Computes the roster over records [0, n) of the fixture. */
static void compute_n(fixture *f, size_t n, rk_membership *m, rk_membership_verdict *v)
{
    const rk_record *ptrs[MAXRECS];
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &f->recs[i];
    rk_error err;
    assert_int_equal(rk_membership_compute(&f->charter, ptrs, n, m, v, &err), 0);
}

static void compute(fixture *f, rk_membership *m, rk_membership_verdict *v)
{
    compute_n(f, f->n, m, v);
}

static rk_member_status status_of(const rk_membership *m, const fixture *f, int k)
{
    const rk_member_entry *e = rk_membership_find(m, f->pub[k]);
    return e ? e->status : RK_MEMBER_UNKNOWN;
}

/* Key k is revoked with this cutoff: what it signed up to the cutoff stays valid, nothing after. */
static void assert_revoked_from(const rk_membership *m, const fixture *f, int k, uint64_t cutoff)
{
    const rk_member_entry *e = rk_membership_find(m, f->pub[k]);
    assert_non_null(e);
    assert_int_equal(e->status, RK_MEMBER_REVOKED);
    assert_int_equal(e->cutoff, cutoff);
    assert_true(rk_membership_key_valid(m, f->pub[k], cutoff, NULL));
    assert_false(rk_membership_key_valid(m, f->pub[k], cutoff + 1, NULL));
}

static void assert_reason(const rk_membership_verdict *v, size_t i, const char *reason)
{
    if (!reason) {
        if (v[i].reason)
            fail_msg("record %zu: expected to count, got %s", i, v[i].reason);
        return;
    }
    if (!v[i].reason || strcmp(v[i].reason, reason) != 0)
        fail_msg("record %zu: expected %s, got %s", i, reason, v[i].reason ? v[i].reason : "(counts)");
}

/* The records [0, n) without record `skip` give the same digest as all of them: `skip` changed nothing. */
static void assert_changes_nothing(fixture *f, size_t skip)
{
    assert_int_equal(skip, f->n - 1); /* the scenarios add the inert record last */
    rk_membership with, without;
    compute(f, &with, NULL);
    compute_n(f, f->n - 1, &without, NULL);
    assert_memory_equal(with.digest, without.digest, RK_HASH_LEN);
    assert_int_equal(with.count, without.count);
    rk_membership_free(&with);
    rk_membership_free(&without);
}

/* Record i, the last one added, is refused with reason, and the roster is the same without it. m
 * receives the roster with it for the caller's own checks (the caller frees it), or is NULL. */
static void compute_refused(fixture *f, size_t i, const char *reason, rk_membership *m)
{
    rk_membership with;
    rk_membership_verdict v[MAXRECS];
    compute(f, &with, v);
    assert_reason(v, i, reason);
    if (m)
        *m = with;
    else
        rk_membership_free(&with);
    assert_changes_nothing(f, i);
}

/* ---------------------------------------------------------------- thresholds */

static void test_founding_only(void **state)
{
    fixture *f = *state;
    rk_membership m;
    compute(f, &m, NULL);
    assert_int_equal(m.count, 3);
    assert_int_equal(m.member_count, 3);
    assert_int_equal(status_of(&m, f, F0), RK_MEMBER_FOUNDING);
    assert_string_equal(rk_membership_find(&m, f->pub[F1])->name, "北見市");
    assert_true(rk_membership_key_valid(&m, f->pub[F2], 12345, NULL));
    const char *why;
    assert_false(rk_membership_key_valid(&m, f->pub[J1], 12345, &why));
    assert_string_equal(why, "not_member");
    uint8_t d1[RK_HASH_LEN];
    memcpy(d1, m.digest, RK_HASH_LEN);
    rk_membership_free(&m);
    /* the threshold is part of what nodes must agree on, so it is part of the digest */
    f->charter.threshold = 3;
    compute(f, &m, NULL);
    assert_memory_not_equal(d1, m.digest, RK_HASH_LEN);
    rk_membership_free(&m);
    /* how a node's configuration names a founding member is its own business, not the network's */
    f->founding[F1].name = "kitami";
    f->charter.threshold = 2;
    compute(f, &m, NULL);
    assert_memory_equal(d1, m.digest, RK_HASH_LEN);
    assert_string_equal(rk_membership_find(&m, f->pub[F1])->name, "kitami");
    rk_membership_free(&m);
    f->charter.threshold = 0;
    rk_error err;
    assert_int_equal(rk_membership_compute(&f->charter, NULL, 0, &m, NULL, &err), -1);
}

static void test_threshold(void **state)
{
    fixture *f = *state;
    endorse(f, F0, J1, 100, "佐賀県", "tcp://127.0.0.1:7471");
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    const rk_member_entry *e = rk_membership_find(&m, f->pub[J1]);
    assert_non_null(e);
    assert_int_equal(e->status, RK_MEMBER_PENDING);
    assert_int_equal(e->endorser_count, 1);
    assert_memory_equal(e->endorsers[0], f->pub[F0], RK_KEY_LEN);
    assert_string_equal(e->name, "佐賀県");
    assert_int_equal(m.member_count, 3);
    assert_false(rk_membership_key_valid(&m, f->pub[J1], 50, NULL));
    rk_membership_free(&m);

    endorse(f, F1, J1, 120, "佐賀県", "tcp://127.0.0.1:7471");
    compute(f, &m, v);
    e = rk_membership_find(&m, f->pub[J1]);
    assert_int_equal(e->status, RK_MEMBER_ADMITTED);
    assert_int_equal(e->since, 120);
    assert_int_equal(e->endorser_count, 2);
    assert_int_equal(e->url_count, 1);
    assert_string_equal(e->urls[0], "tcp://127.0.0.1:7471");
    assert_string_equal(e->prefecture, "41");
    assert_int_equal(m.member_count, 4);
    /* what the new member signed before its admission counts */
    assert_true(rk_membership_key_valid(&m, f->pub[J1], 50, NULL));
    assert_reason(v, 0, NULL);
    assert_reason(v, 1, NULL);
    rk_membership_free(&m);

    /* with a threshold of three the same two endorsements leave it pending */
    f->charter.threshold = 3;
    compute(f, &m, v);
    assert_int_equal(status_of(&m, f, J1), RK_MEMBER_PENDING);
    rk_membership_free(&m);
    endorse(f, F2, J1, 130, "佐賀県", NULL);
    compute(f, &m, v);
    assert_int_equal(status_of(&m, f, J1), RK_MEMBER_ADMITTED);
    assert_int_equal(rk_membership_find(&m, f->pub[J1])->since, 130);
    /* the latest endorsement that counted describes the member: it announced no URL */
    assert_int_equal(rk_membership_find(&m, f->pub[J1])->url_count, 0);
    rk_membership_free(&m);
}

static void test_unknown_endorser(void **state)
{
    fixture *f = *state;
    endorse(f, F0, J1, 100, "佐賀県", NULL);
    size_t i = endorse(f, X1, J1, 110, "佐賀県", NULL);
    rk_membership m;
    compute_refused(f, i, "not_member", &m);
    assert_int_equal(status_of(&m, f, J1), RK_MEMBER_PENDING);
    assert_int_equal(rk_membership_find(&m, f->pub[J1])->endorser_count, 1);
    rk_membership_free(&m);
    /* an outsider's endorsement of another outsider does not even list it */
    size_t j = endorse(f, X1, J2, 120, "広島県", NULL);
    compute_refused(f, j, "not_member", &m);
    assert_null(rk_membership_find(&m, f->pub[J2]));
    rk_membership_free(&m);
}

static void test_endorsement_made_before_own_admission(void **state)
{
    fixture *f = *state;
    /* J1's clock is behind: it endorses J2 at 99, before the endorsements that admit it (100, 101) */
    size_t early = endorse(f, J1, J2, 99, "広島県", NULL);
    admit_j1(f);
    endorse(f, F2, J2, 102, "広島県", NULL);
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    assert_int_equal(status_of(&m, f, J1), RK_MEMBER_ADMITTED);
    assert_int_equal(status_of(&m, f, J2), RK_MEMBER_ADMITTED);
    assert_reason(v, early, NULL);
    rk_membership_free(&m);
}

static void test_self_endorsement(void **state)
{
    fixture *f = *state;
    admit_j1(f);
    size_t i = endorse(f, J1, J1, 102, "佐賀県", "tcp://127.0.0.1:9");
    compute_refused(f, i, "self_endorsement", NULL);
}

static void test_newer_endorsement_supersedes(void **state)
{
    fixture *f = *state;
    size_t old = endorse(f, F0, J1, 100, "佐賀県", "tcp://127.0.0.1:1");
    endorse(f, F1, J1, 101, "佐賀県", "tcp://127.0.0.1:2");
    endorse(f, F0, J1, 300, "佐賀県", "tcp://127.0.0.1:3");
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    assert_reason(v, old, "superseded");
    const rk_member_entry *e = rk_membership_find(&m, f->pub[J1]);
    /* F0's first endorsement is replaced by its newer one, so the threshold is reached at 300 */
    assert_int_equal(e->status, RK_MEMBER_ADMITTED);
    assert_int_equal(e->since, 300);
    assert_string_equal(e->urls[0], "tcp://127.0.0.1:3");
    rk_membership_free(&m);
}

/* ---------------------------------------------------------------- rotation */

static void test_rotation(void **state)
{
    fixture *f = *state;
    size_t rot = rotate(f, F0, N1, 200);
    size_t late = endorse(f, F0, J1, 300, "佐賀県", NULL); /* the old key after its rotation */
    endorse(f, N1, J2, 310, "広島県", NULL);               /* the new key */
    endorse(f, F1, J2, 320, "広島県", NULL);
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    assert_reason(v, rot, NULL);
    assert_reason(v, late, "rotated_key");
    const rk_member_entry *old = rk_membership_find(&m, f->pub[F0]), *nw = rk_membership_find(&m, f->pub[N1]);
    assert_int_equal(old->status, RK_MEMBER_ROTATED);
    assert_true(old->has_successor);
    assert_memory_equal(old->successor, f->pub[N1], RK_KEY_LEN);
    assert_int_equal(old->cutoff, 200);
    assert_int_equal(nw->status, RK_MEMBER_FOUNDING);
    assert_true(nw->has_predecessor);
    assert_memory_equal(nw->predecessor, f->pub[F0], RK_KEY_LEN);
    assert_string_equal(nw->name, "全国事務局");
    assert_int_equal(m.member_count, 4); /* F1, F2, N1 (F0's successor) and J2 */
    /* the old key's records up to the rotation still count, later ones do not */
    const char *why;
    assert_true(rk_membership_key_valid(&m, f->pub[F0], 150, NULL));
    assert_true(rk_membership_key_valid(&m, f->pub[F0], 200, NULL));
    assert_false(rk_membership_key_valid(&m, f->pub[F0], 201, &why));
    assert_string_equal(why, "rotated_key");
    assert_true(rk_membership_key_valid(&m, f->pub[N1], 250, NULL));
    assert_int_equal(status_of(&m, f, J1), RK_MEMBER_UNKNOWN);
    assert_int_equal(status_of(&m, f, J2), RK_MEMBER_ADMITTED);
    rk_membership_free(&m);
}

static void test_forged_countersignature(void **state)
{
    fixture *f = *state;
    /* J3 signs the consent for N1's key: N1 never agreed */
    size_t i = rotate_signed(f, F0, N1, J3, 200);
    rk_membership m;
    compute_refused(f, i, "bad_countersignature", &m);
    assert_int_equal(status_of(&m, f, F0), RK_MEMBER_FOUNDING);
    assert_int_equal(status_of(&m, f, N1), RK_MEMBER_UNKNOWN);
    rk_membership_free(&m);
}

static void test_countersignature_bound_to_old_key(void **state)
{
    fixture *f = *state;
    /* N1's consent to become F1's successor, replayed in a rotation of F0 */
    rotate_consented(f, F0, N1, F1, N1, 200);
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    assert_reason(v, 0, "bad_countersignature");
    rk_membership_free(&m);
}

static void test_equivocating_rotations(void **state)
{
    fixture *f = *state;
    size_t first = rotate(f, F0, N1, 200);
    size_t second = rotate(f, F0, N2, 210);
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    assert_reason(v, first, NULL);
    rk_membership_free(&m);
    compute_refused(f, second, "equivocation", &m);
    assert_int_equal(status_of(&m, f, N1), RK_MEMBER_FOUNDING);
    assert_int_equal(status_of(&m, f, N2), RK_MEMBER_UNKNOWN);
    assert_false(rk_membership_key_valid(&m, f->pub[N2], 300, NULL));
    rk_membership_free(&m);
}

static void test_equivocation_at_one_version(void **state)
{
    fixture *f = *state;
    /* the same version: the lower record hash is the rotation, whatever the order they arrive in */
    size_t a = rotate(f, F0, N1, 200);
    size_t b = rotate(f, F0, N2, 200);
    size_t winner = memcmp(f->recs[a].hash, f->recs[b].hash, RK_HASH_LEN) < 0 ? a : b;
    int winner_key = winner == a ? N1 : N2, loser_key = winner == a ? N2 : N1;
    for (int order = 0; order < 2; order++) {
        const rk_record *ptrs[2] = {&f->recs[order ? a : b], &f->recs[order ? b : a]};
        rk_membership m;
        rk_error err;
        assert_int_equal(rk_membership_compute(&f->charter, ptrs, 2, &m, NULL, &err), 0);
        assert_int_equal(status_of(&m, f, winner_key), RK_MEMBER_FOUNDING);
        assert_int_equal(status_of(&m, f, loser_key), RK_MEMBER_UNKNOWN);
        rk_membership_free(&m);
    }
}

static void test_rotation_to_member_key(void **state)
{
    fixture *f = *state;
    /* F1 consents, but its key is already a member: one key cannot be two members */
    size_t i = rotate(f, F0, F1, 200);
    compute_refused(f, i, "key_in_use", NULL);
}

static void test_rotation_chain(void **state)
{
    fixture *f = *state;
    admit_j1(f);
    rotate(f, J1, N1, 200);
    rotate(f, N1, N2, 300);
    rk_membership m;
    compute(f, &m, NULL);
    assert_int_equal(status_of(&m, f, J1), RK_MEMBER_ROTATED);
    assert_int_equal(status_of(&m, f, N1), RK_MEMBER_ROTATED);
    assert_int_equal(status_of(&m, f, N2), RK_MEMBER_ADMITTED);
    assert_string_equal(rk_membership_find(&m, f->pub[N2])->name, "佐賀県");
    assert_true(rk_membership_key_valid(&m, f->pub[J1], 150, NULL));
    assert_true(rk_membership_key_valid(&m, f->pub[N1], 250, NULL));
    assert_false(rk_membership_key_valid(&m, f->pub[N1], 350, NULL));
    assert_int_equal(m.member_count, 4);
    rk_membership_free(&m);
}

/* ---------------------------------------------------------------- revocation */

static void test_revocation_by_self(void **state)
{
    fixture *f = *state;
    revoke(f, F2, F2, 300, 0);
    size_t after = endorse(f, F2, J1, 400, "佐賀県", NULL);
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    const rk_member_entry *e = rk_membership_find(&m, f->pub[F2]);
    assert_int_equal(e->status, RK_MEMBER_REVOKED);
    assert_int_equal(e->cutoff, 300);
    assert_int_equal(m.member_count, 2);
    assert_reason(v, after, "revoked_key");
    const char *why;
    assert_true(rk_membership_key_valid(&m, f->pub[F2], 299, NULL));
    assert_false(rk_membership_key_valid(&m, f->pub[F2], 301, &why));
    assert_string_equal(why, "revoked_key");
    rk_membership_free(&m);
}

/* The owner revokes its key back to before the revocation (since < version): the revocation counts,
 * although it is signed after the cutoff it sets, and what the key signed in between is invalid. */
static void test_self_revocation_reaching_back(void **state)
{
    fixture *f = *state;
    size_t between = endorse(f, F2, J1, 250, "佐賀県", NULL);
    size_t rv = revoke(f, F2, F2, 300, 200);
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    assert_reason(v, rv, NULL);
    assert_reason(v, between, "revoked_key");
    assert_revoked_from(&m, f, F2, 200);
    rk_membership_free(&m);
}

static void test_revocation_by_threshold(void **state)
{
    fixture *f = *state;
    admit_j1(f);
    revoke(f, F0, J1, 300, 150);
    rk_membership m;
    compute(f, &m, NULL);
    const rk_member_entry *e = rk_membership_find(&m, f->pub[J1]);
    assert_int_equal(e->status, RK_MEMBER_ADMITTED); /* one revoker is below the threshold */
    assert_int_equal(e->revoker_count, 1);
    assert_true(rk_membership_key_valid(&m, f->pub[J1], 250, NULL));
    rk_membership_free(&m);

    revoke(f, F1, J1, 310, 170);
    compute(f, &m, NULL);
    assert_int_equal(rk_membership_find(&m, f->pub[J1])->since, 310);
    /* both revokers agree the key was bad from 170 on (F0 says from 150 already) */
    assert_revoked_from(&m, f, J1, 170);
    assert_int_equal(m.member_count, 3);
    rk_membership_free(&m);
}

static void test_endorsement_of_revoked_key(void **state)
{
    fixture *f = *state;
    admit_j1(f);
    revoke(f, F0, J1, 300, 0);
    revoke(f, F1, J1, 301, 0);
    size_t i = endorse(f, F2, J1, 400, "佐賀県", NULL);
    rk_membership m;
    compute_refused(f, i, "revoked_subject", &m);
    assert_int_equal(status_of(&m, f, J1), RK_MEMBER_REVOKED);
    rk_membership_free(&m);
}

static void test_revoked_before_admission(void **state)
{
    fixture *f = *state;
    endorse(f, F0, J1, 100, "佐賀県", NULL);
    revoke(f, F1, J1, 110, 0);
    revoke(f, F2, J1, 111, 0);
    size_t late = endorse(f, F2, J1, 120, "佐賀県", NULL);
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    assert_int_equal(status_of(&m, f, J1), RK_MEMBER_REVOKED);
    assert_reason(v, late, "revoked_subject");
    const char *why;
    assert_false(rk_membership_key_valid(&m, f->pub[J1], 50, &why));
    assert_string_equal(why, "not_member");
    rk_membership_free(&m);
}

/* A thief holding F2's key endorses a confederate S1 at 200; J1 (an honest member) is fooled into the
 * second endorsement. F0 and F1 revoke F2 from 150, when the key was stolen: the thief's
 * endorsement no longer counts and S1 is not a member, although its revocation came last. */
static void test_backdated_revocation_undoes_thief(void **state)
{
    fixture *f = *state;
    admit_j1(f);
    size_t thief = endorse(f, F2, S1, 200, "偽の地域", NULL);
    endorse(f, J1, S1, 210, "偽の地域", NULL);
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    assert_int_equal(status_of(&m, f, S1), RK_MEMBER_ADMITTED);
    rk_membership_free(&m);

    revoke(f, F0, F2, 300, 150);
    revoke(f, F1, F2, 301, 150);
    compute(f, &m, v);
    assert_reason(v, thief, "revoked_key");
    assert_int_equal(status_of(&m, f, F2), RK_MEMBER_REVOKED);
    assert_int_equal(status_of(&m, f, S1), RK_MEMBER_PENDING);
    assert_false(rk_membership_key_valid(&m, f->pub[S1], 220, NULL));
    assert_true(rk_membership_key_valid(&m, f->pub[F2], 150, NULL));
    assert_false(rk_membership_key_valid(&m, f->pub[F2], 151, NULL));
    assert_true(m.passes > 1);
    rk_membership_free(&m);
}

/* Thieves holding F3's and F4's keys revoke F0 at 200 and 201. The honest F0, F1 and F2 revoke F3
 * and F4 from 150: the thieves' revocation of F0 falls with them and F0 stays a member. */
static void test_thieves_revocation_falls_with_them(void **state)
{
    fixture *f = *state;
    f->charter.founding_count = 5;
    revoke(f, F3, F0, 200, 0);
    revoke(f, F4, F0, 201, 0);
    revoke(f, F1, F3, 300, 150);
    revoke(f, F2, F3, 301, 150);
    revoke(f, F1, F4, 302, 150);
    revoke(f, F2, F4, 303, 150);
    rk_membership m;
    rk_membership_verdict v[MAXRECS];
    compute(f, &m, v);
    assert_reason(v, 0, "revoked_key");
    assert_reason(v, 1, "revoked_key");
    assert_int_equal(status_of(&m, f, F0), RK_MEMBER_FOUNDING);
    assert_int_equal(status_of(&m, f, F3), RK_MEMBER_REVOKED);
    assert_int_equal(status_of(&m, f, F4), RK_MEMBER_REVOKED);
    assert_int_equal(m.member_count, 3);
    rk_membership_free(&m);
}

/* J1 was admitted with F0's endorsement at 10; J1 and F1 then revoke F0 from 1. If F0 is revoked,
 * J1 was never admitted and its revocation does not count; if it is not, it does. The passes
 * alternate; the function must stop, and in doubt the revocation wins. */
static void test_paradox_terminates(void **state)
{
    fixture *f = *state;
    f->charter.founding_count = 2;
    endorse(f, F0, J1, 10, "佐賀県", NULL);
    endorse(f, F1, J1, 11, "佐賀県", NULL);
    revoke(f, J1, F0, 30, 1);
    revoke(f, F1, F0, 31, 1);
    rk_membership m;
    compute(f, &m, NULL);
    assert_int_equal(status_of(&m, f, F0), RK_MEMBER_REVOKED);
    assert_int_equal(rk_membership_find(&m, f->pub[F0])->cutoff, 1);
    assert_int_equal(status_of(&m, f, J1), RK_MEMBER_PENDING);
    assert_true(m.passes <= 10);
    rk_membership_free(&m);
}

/* ---------------------------------------------------------------- order independence */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void test_any_order_same_roster(void **state)
{
    fixture *f = *state;
    f->charter.founding_count = 5;
    /* every rule at once: admissions, a deferred endorsement, rotations with an equivocation and a
     * forgery, revocations by self and by threshold reaching back, superseded and duplicate input */
    endorse(f, J1, J2, 99, "広島県", NULL);
    endorse(f, F0, J1, 100, "佐賀県", "tcp://127.0.0.1:1");
    endorse(f, F1, J1, 101, "佐賀県", NULL);
    endorse(f, F2, J2, 102, "広島県", NULL);
    endorse(f, F3, J3, 103, "大分県", NULL);
    endorse(f, F2, S1, 200, "偽の地域", NULL);
    endorse(f, J1, S1, 201, "偽の地域", NULL);
    rotate(f, J2, N1, 210);
    rotate(f, J2, N2, 210);
    rotate_signed(f, F4, N2, X1, 220);
    endorse(f, F0, J1, 230, "佐賀県", "tcp://127.0.0.1:2");
    revoke(f, F0, F2, 300, 150);
    revoke(f, F1, F2, 301, 150);
    revoke(f, F3, F3, 310, 0);
    endorse(f, F4, J3, 320, "大分県", NULL);
    endorse(f, X1, J3, 330, "大分県", NULL);
    revoke(f, F3, F0, 340, 0);
    size_t n = f->n;
    const rk_record *base[MAXRECS + 1];
    for (size_t i = 0; i < n; i++)
        base[i] = &f->recs[i];
    base[n] = &f->recs[3]; /* one record twice */

    rk_membership ref;
    rk_membership_verdict ref_v[MAXRECS + 1];
    rk_error err;
    assert_int_equal(rk_membership_compute(&f->charter, base, n + 1, &ref, ref_v, &err), 0);
    assert_int_equal(status_of(&ref, f, F2), RK_MEMBER_REVOKED);
    assert_int_equal(status_of(&ref, f, S1), RK_MEMBER_PENDING);
    assert_int_equal(status_of(&ref, f, J3), RK_MEMBER_ADMITTED);
    assert_int_equal(status_of(&ref, f, F3), RK_MEMBER_REVOKED);
    assert_int_equal(status_of(&ref, f, F0), RK_MEMBER_FOUNDING); /* F3's revocation came after its own */

    uint64_t seed = 42;
    for (int round = 0; round < 500; round++) {
        const rk_record *p[MAXRECS + 1];
        size_t idx[MAXRECS + 1];
        for (size_t i = 0; i <= n; i++)
            idx[i] = i;
        for (size_t i = n; i > 0; i--) {
            size_t j = (size_t)(splitmix(&seed) % (i + 1));
            size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        for (size_t i = 0; i <= n; i++)
            p[i] = base[idx[i]];
        rk_membership m;
        rk_membership_verdict v[MAXRECS + 1];
        assert_int_equal(rk_membership_compute(&f->charter, p, n + 1, &m, v, &err), 0);
        assert_memory_equal(m.digest, ref.digest, RK_HASH_LEN);
        assert_int_equal(m.count, ref.count);
        for (size_t i = 0; i < m.count; i++) {
            assert_memory_equal(m.entries[i].key, ref.entries[i].key, RK_KEY_LEN);
            assert_int_equal(m.entries[i].status, ref.entries[i].status);
            assert_int_equal(m.entries[i].cutoff, ref.entries[i].cutoff);
        }
        /* the same record gets the same verdict wherever it sits (the duplicate aside: which of two
         * copies is "the duplicate" depends on the order) */
        for (size_t i = 0; i <= n; i++) {
            if (base[idx[i]] == &f->recs[3])
                continue;
            const char *a = v[i].reason, *b = ref_v[idx[i]].reason;
            assert_true((a == NULL) == (b == NULL));
            if (a)
                assert_string_equal(a, b);
        }
        rk_membership_free(&m);
    }
    rk_membership_free(&ref);
}

/* ---------------------------------------------------------------- schema and JSON */

/* Sealing r with the first founding member's key fails with code (unless NULL) at field (unless
 * NULL). */
static void expect_refused(fixture *f, const Renkei__Record *r, const char *code, const char *field)
{
    rk_error err;
    rk_record out;
    assert_int_equal(rk_record_seal(r, f->key[F0], &out, &err), -1);
    if (code)
        assert_string_equal(err.code, code);
    if (field)
        assert_string_equal(err.field, field);
}

static void test_schema_rules(void **state)
{
    fixture *f = *state;
    rk_error err;
    rk_record out;
    Renkei__Endorse e = RENKEI__ENDORSE__INIT;
    e.key = (ProtobufCBinaryData){RK_KEY_LEN, f->pub[J1]};
    e.name = "佐賀県";
    Renkei__Record r = RENKEI__RECORD__INIT;
    fx_body(&r, RENKEI__KIND__KIND_ENDORSE, &e);
    r.author = (ProtobufCBinaryData){RK_KEY_LEN, f->pub[F0]};
    r.version = 100;
    r.visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    r.rid = "endorse.saga";
    expect_refused(f, &r, "invalid_rid", NULL);
    char rid[RK_MEMBERSHIP_RID_MAX + 1];
    assert_int_equal(rk_membership_rid(&r, rid), 0);
    assert_int_equal(strlen(rid), strlen("endorse.") + 2 * RK_MEMBERSHIP_RID_KEY_BYTES);
    r.rid = rid;
    r.visibility = RENKEI__VISIBILITY__VISIBILITY_NETWORK;
    expect_refused(f, &r, NULL, "visibility");
    r.visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    char *bad_url[1] = {"http://127.0.0.1:7470"};
    e.urls = bad_url;
    e.n_urls = 1;
    expect_refused(f, &r, NULL, "endorse.urls[0]");
    e.n_urls = 0;
    e.key.len = 31;
    expect_refused(f, &r, NULL, "endorse.key");
    e.key.len = RK_KEY_LEN;
    assert_int_equal(rk_record_seal(&r, f->key[F0], &out, &err), 0);
    rk_record_free(&out);

    /* no other record may take a membership rid (a tombstone would silently withdraw an endorsement) */
    Renkei__Tombstone t = RENKEI__TOMBSTONE__INIT;
    Renkei__Record d = RENKEI__RECORD__INIT;
    fx_body(&d, RENKEI__KIND__KIND_TOMBSTONE, &t);
    d.author = r.author;
    d.version = 200;
    d.visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    d.rid = rid;
    expect_refused(f, &d, "invalid_rid", NULL);

    /* a key cannot rotate to itself; a revocation cannot reach past its own version */
    uint8_t sig[RK_SIG_LEN] = {0};
    Renkei__Rotate ro = RENKEI__ROTATE__INIT;
    ro.new_key = (ProtobufCBinaryData){RK_KEY_LEN, f->pub[F0]};
    ro.countersignature = (ProtobufCBinaryData){RK_SIG_LEN, sig};
    Renkei__Record rr = RENKEI__RECORD__INIT;
    fx_body(&rr, RENKEI__KIND__KIND_ROTATE, &ro);
    membership_header(f, F0, &rr, 100, rid);
    expect_refused(f, &rr, NULL, "rotate.new_key");
    ro.countersignature.len = 10;
    ro.new_key.data = f->pub[N1];
    assert_int_equal(rk_membership_rid(&rr, rid), 0);
    expect_refused(f, &rr, NULL, "rotate.countersignature");

    Renkei__Revoke rv = RENKEI__REVOKE__INIT;
    rv.key = (ProtobufCBinaryData){RK_KEY_LEN, f->pub[J1]};
    rv.since = 101;
    Renkei__Record rk = RENKEI__RECORD__INIT;
    fx_body(&rk, RENKEI__KIND__KIND_REVOKE, &rv);
    membership_header(f, F0, &rk, 100, rid);
    expect_refused(f, &rk, NULL, "revoke.since");
    rv.since = 100;
    assert_int_equal(rk_record_seal(&rk, f->key[F0], &out, &err), 0);
    rk_record_free(&out);
}

static void test_json_form(void **state)
{
    fixture *f = *state;
    char hex[2 * RK_KEY_LEN + 1];
    rk_hex_encode(f->pub[J1], RK_KEY_LEN, hex);
    char text[512];
    snprintf(text, sizeof text,
             "{\"kind\":\"endorse\",\"endorse\":{\"key\":\"%s\",\"name\":\"佐賀県\",\"node_kind\":\"region\","
             "\"prefecture\":\"41\",\"municipality\":\"41201\",\"urls\":[\"tcp://127.0.0.1:7471\"]}}",
             hex);
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    Renkei__Record *r;
    rk_error err;
    if (rk_record_from_json(j, &r, &err) != 0)
        fail_msg("%s %s %s", err.code, err.field, err.message);
    json_decref(j);
    /* the node fills the rid from the key, and the visibility is public */
    char expected[RK_RID_MAX + 1];
    snprintf(expected, sizeof expected, "endorse.%.48s", hex);
    assert_string_equal(r->rid, expected);
    assert_int_equal(r->visibility, RENKEI__VISIBILITY__VISIBILITY_PUBLIC);
    r->author = (ProtobufCBinaryData){RK_KEY_LEN, NULL};
    uint8_t author[RK_KEY_LEN];
    memcpy(author, f->pub[F0], RK_KEY_LEN);
    r->author.data = author;
    r->version = 100;
    rk_record rec;
    assert_int_equal(rk_record_seal(r, f->key[F0], &rec, &err), 0);
    r->author.data = NULL; /* not owned by the message */
    r->author.len = 0;
    renkei__record__free_unpacked(r, NULL);
    json_t *back = rk_record_to_json(&rec, NULL);
    assert_non_null(back);
    assert_string_equal(json_string_value(json_object_get(back, "kind")), "endorse");
    json_t *body = json_object_get(back, "endorse");
    assert_string_equal(json_string_value(json_object_get(body, "key")), hex);
    assert_string_equal(json_string_value(json_array_get(json_object_get(body, "urls"), 0)), "tcp://127.0.0.1:7471");
    json_decref(back);
    rk_record_free(&rec);

    /* a bad listen URL is named by its path */
    snprintf(text, sizeof text,
             "{\"kind\":\"endorse\",\"endorse\":{\"key\":\"%s\",\"name\":\"x\",\"urls\":[\"ftp://x\"]}}", hex);
    j = json_loads(text, 0, &jerr);
    assert_int_equal(rk_record_from_json(j, &r, &err), -1);
    assert_string_equal(err.field, "endorse.urls[0]");
    json_decref(j);
}

int main(void)
{
    return RK_RUN_TESTS(
        setup, teardown, cmocka_unit_test(test_founding_only), cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_unknown_endorser), cmocka_unit_test(test_endorsement_made_before_own_admission),
        cmocka_unit_test(test_self_endorsement), cmocka_unit_test(test_newer_endorsement_supersedes),
        cmocka_unit_test(test_rotation), cmocka_unit_test(test_forged_countersignature),
        cmocka_unit_test(test_countersignature_bound_to_old_key), cmocka_unit_test(test_equivocating_rotations),
        cmocka_unit_test(test_equivocation_at_one_version), cmocka_unit_test(test_rotation_to_member_key),
        cmocka_unit_test(test_rotation_chain), cmocka_unit_test(test_revocation_by_self),
        cmocka_unit_test(test_self_revocation_reaching_back), cmocka_unit_test(test_revocation_by_threshold),
        cmocka_unit_test(test_endorsement_of_revoked_key), cmocka_unit_test(test_revoked_before_admission),
        cmocka_unit_test(test_backdated_revocation_undoes_thief),
        cmocka_unit_test(test_thieves_revocation_falls_with_them), cmocka_unit_test(test_paradox_terminates),
        cmocka_unit_test(test_any_order_same_roster), cmocka_unit_test(test_schema_rules),
        cmocka_unit_test(test_json_form));
}
