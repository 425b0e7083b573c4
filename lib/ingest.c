/* ingest: the one gate into the store. The checks run cheapest first (DESIGN.md): size, decode,
 * schema and clock skew (rk_record_parse), then the author's key in the computed roster (valid for
 * the record's version: docs/membership.md), then the stored version, then the Ed25519 verification
 * because it costs the most, then for a membership record the roster function's verdict on it
 * (lib/membership_txn.c), and the author's quota (lib/quota.c) last, so only a version that would
 * really be stored counts against it. Nothing is written before every check has
 * passed, so a rejection leaves the caller's write transaction usable for the rest of its batch.
 * rk_ingest_own is the one exception to "every check": for a record the node has just sealed with its
 * own key it skips the signature verification (the node made that signature) and the schema rules
 * (the API ran them once, before sealing); nothing else. It also makes the API's "already exists"
 * check for a POST, in the write transaction, so the current version is read once per publish and
 * that one read also serves the store's put (rk_store_put_over).
 * A record whose author is not a member yet is kept aside (lib/pending.h) when the roster allows it,
 * checked against the bounds before its signature; rk_ingest_promote runs the kept records of
 * authors the roster has since admitted through the same checks.
 * rk_ingest_prepare/rk_ingest_prepared split the same checks in two so that the store-free ones,
 * verification included, can run on other threads before the write transaction; the order in which
 * a rejection is reported stays the same (a stale copy with a bad signature is still "stale_version").
 */
#include "ingest.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

/* The author's key must be valid for this version in the roster by which the transaction checks. */
static int ingest_author_valid(const rk_membership *roster, const Renkei__Record *m, rk_error *err)
{
    const char *why = "not_member";
    if (roster && rk_membership_key_valid(roster, m->author.data, m->version, &why))
        return 0;
    if (strcmp(why, "rotated_key") == 0)
        return rk_fail(err, why, "author",
                       "the author's key was rotated before version %llu; new records must come from its new key",
                       (unsigned long long)m->version);
    if (strcmp(why, "revoked_key") == 0)
        return rk_fail(err, why, "author", "the author's key was revoked before version %llu",
                       (unsigned long long)m->version);
    return rk_fail(err, "not_member", "author", "the author is not a member of this network");
}

/* Whether a record the roster does not take is kept aside: its author is not a member yet (never one
 * that was revoked: that blocks its admission), and a policy says how much to keep. */
static bool ingest_may_hold(const rk_membership_txn *members, const Renkei__Record *m, const rk_error *err)
{
    if (!members || !members->pending || strcmp(err->code, "not_member") != 0)
        return false;
    const rk_member_entry *e = rk_membership_find(rk_membership_txn_roster(members), m->author.data);
    return !e || e->status != RK_MEMBER_REVOKED;
}

/* Keeps rec aside: the bounds first (cheap, no signature work for a stranger beyond them), then the
 * signature, then the write. The result is PENDING with the reason not_member. */
static int ingest_hold(rk_txn *t, rk_membership_txn *members, uint64_t now_ms, const rk_record *rec,
                       rk_signature_state sig, bool own, rk_ingest_result *res, rk_error *err)
{
    int room = rk_pending_room(t, members->pending, rec, own, err);
    if (room <= 0) {
        if (room < 0)
            res->status = RK_INGEST_FAILED;
        return -1;
    }
    if (sig == RK_SIGNATURE_BAD || (sig == RK_SIGNATURE_UNCHECKED && !rk_record_signature_ok(rec)))
        return rk_fail(err, "bad_signature", "signature", "the signature does not match the author's key");
    uint64_t evicted;
    if (rk_pending_put(t, members->pending, rec, own, now_ms, &evicted, err) != 0) {
        res->status = RK_INGEST_FAILED;
        return -1;
    }
    members->held++;
    members->evicted += evicted;
    res->status = RK_INGEST_PENDING;
    return rk_fail(err, "not_member", "author",
                   "the author is not a member yet: the record is kept aside until the roster admits it");
}

/* create: the record must not exist yet, in any version (a POST of the node's own). own: sealed by
 * this node (kept aside without bounds when the node is not a member yet). */
static int ingest_checked(rk_txn *t, rk_membership_txn *members, rk_quota *quota, uint64_t now_ms, const rk_record *rec,
                          rk_signature_state sig, bool create, bool own, rk_ingest_result *res, rk_error *err)
{
    memset(res, 0, sizeof *res);
    res->status = RK_INGEST_REJECTED;
    memcpy(res->hash, rec->hash, RK_HASH_LEN);
    const Renkei__Record *m = rec->msg;
    if (!m || m->author.len != RK_KEY_LEN)
        return rk_fail(err, "malformed", "author", "a record needs a 32-byte author");
    if (ingest_author_valid(members ? rk_membership_txn_roster(members) : NULL, m, err) != 0)
        return ingest_may_hold(members, m, err) ? ingest_hold(t, members, now_ms, rec, sig, own, res, err) : -1;
    rk_current cur;
    int found = rk_store_get_current(t, m->author.data, m->rid, &cur, err);
    if (found < 0) {
        res->status = RK_INGEST_FAILED;
        return -1;
    }
    if (found == 1 && create)
        return rk_fail(err, "conflict", "rid", "a record with rid \"%s\" already exists; use PUT to update it", m->rid);
    if (found == 1) {
        if (cur.version == m->version && memcmp(cur.hash, rec->hash, RK_HASH_LEN) == 0)
            return rk_fail(err, "duplicate", "version", "this version is already stored");
        if (cur.version > m->version || (cur.version == m->version && memcmp(cur.hash, rec->hash, RK_HASH_LEN) > 0))
            return rk_fail(err, "stale_version", "version", "version %llu is not newer than the stored %llu",
                           (unsigned long long)m->version, (unsigned long long)cur.version);
    }
    if (sig == RK_SIGNATURE_BAD || (sig == RK_SIGNATURE_UNCHECKED && !rk_record_signature_ok(rec)))
        return rk_fail(err, "bad_signature", "signature", "the signature does not match the author's key");
    /* a membership record is judged by the roster function over the stored ones plus itself: the
     * costliest check of all, so after the signature */
    bool membership = rk_membership_rid_kind(m->kind);
    if (membership) {
        const char *why;
        if (rk_membership_txn_judge(members, t, rec, &why, err) != 0) {
            res->status = RK_INGEST_FAILED;
            return -1;
        }
        if (why)
            return rk_fail(err, why, "kind", "the roster does not take this %s record: %s",
                           m->kind == RENKEI__KIND__KIND_ENDORSE  ? "endorse"
                           : m->kind == RENKEI__KIND__KIND_ROTATE ? "rotate"
                                                                  : "revoke",
                           why);
    }
    /* last: only a version that would be stored counts against the author's quota */
    if (quota) {
        int q = rk_quota_admit(quota, t, m->author.data, m->version, found == 0, now_ms, err);
        if (q != 0) {
            if (q < 0)
                res->status = RK_INGEST_FAILED;
            if (membership)
                rk_membership_txn_drop(members);
            return -1;
        }
    }
    rk_put_result put;
    if (rk_store_put_over(t, rec, found == 1 ? &cur : NULL, &put, &res->seq, err) != 0) {
        res->status = RK_INGEST_FAILED;
        if (membership)
            rk_membership_txn_drop(members);
        return -1;
    }
    if (put != RK_PUT_STORED) {
        if (membership)
            rk_membership_txn_drop(members);
        return rk_fail(err, "stale_version", "version", "a newer version is already stored");
    }
    if (membership)
        rk_membership_txn_accept(members);
    res->status = RK_INGEST_STORED;
    return 0;
}

int rk_ingest_record(rk_txn *t, rk_membership_txn *members, const rk_record *rec, rk_ingest_result *res, rk_error *err)
{
    return ingest_checked(t, members, NULL, 0, rec, RK_SIGNATURE_UNCHECKED, false, false, res, err);
}

int rk_ingest_own(rk_txn *t, rk_membership_txn *members, rk_quota *quota, const rk_limits *lim, uint64_t now_ms,
                  const rk_record *rec, bool create, rk_ingest_result *res, rk_error *err)
{
    memset(res, 0, sizeof *res);
    res->status = RK_INGEST_REJECTED;
    memcpy(res->hash, rec->hash, RK_HASH_LEN);
    if (!rec->msg || !rec->env)
        return rk_fail(err, "malformed", "record", "not a sealed record");
    if (lim && rec->env_len > lim->max_record_bytes)
        return rk_fail(err, "too_large", "", "signed record of %zu bytes exceeds the limit of %zu", rec->env_len,
                       lim->max_record_bytes);
    if (lim && now_ms && rec->msg->version > now_ms + lim->max_clock_skew_ms)
        return rk_fail(err, "clock_skew", "version", "version %llu is %llu ms in the future (limit %llu ms)",
                       (unsigned long long)rec->msg->version, (unsigned long long)(rec->msg->version - now_ms),
                       (unsigned long long)lim->max_clock_skew_ms);
    return ingest_checked(t, members, quota, now_ms, rec, RK_SIGNATURE_GOOD, create, true, res, err);
}

int rk_ingest(rk_txn *t, rk_membership_txn *members, const rk_limits *lim, uint64_t now_ms, const uint8_t *env,
              size_t len, rk_ingest_result *res, rk_record *stored, rk_error *err)
{
    memset(res, 0, sizeof *res);
    res->status = RK_INGEST_REJECTED;
    rk_record rec;
    if (rk_record_parse(env, len, lim, now_ms, &rec, err) != 0)
        return -1;
    int rc = rk_ingest_record(t, members, &rec, res, err);
    if (res->status == RK_INGEST_STORED && stored)
        *stored = rec;
    else
        rk_record_free(&rec);
    return rc;
}

int rk_ingest_prepare(const rk_membership *roster, const rk_limits *lim, uint64_t now_ms, const uint8_t *env,
                      size_t len, rk_record *rec, rk_signature_state *sig, rk_error *err)
{
    *sig = RK_SIGNATURE_UNCHECKED;
    if (rk_record_parse(env, len, lim, now_ms, rec, err) != 0)
        return -1;
    const Renkei__Record *m = rec->msg;
    bool valid =
        m && m->author.len == RK_KEY_LEN && roster && rk_membership_key_valid(roster, m->author.data, m->version, NULL);
    /* a record the roster does not take is rejected by rk_ingest_prepared without looking at its
     * signature, so verifying it here would only let strangers spend this node's CPU; one whose
     * author the writer's roster admits meanwhile is verified there */
    if (valid)
        *sig = rk_record_signature_ok(rec) ? RK_SIGNATURE_GOOD : RK_SIGNATURE_BAD;
    return 0;
}

int rk_ingest_prepared(rk_txn *t, rk_membership_txn *members, rk_quota *quota, uint64_t now_ms, const rk_record *rec,
                       rk_signature_state sig, rk_ingest_result *res, rk_error *err)
{
    return ingest_checked(t, members, quota, now_ms, rec, sig, false, false, res, err);
}

/* ---------------------------------------------------------------------------- promotion */

typedef struct authors {
    uint8_t (*keys)[RK_KEY_LEN];
    size_t n, cap;
    const rk_membership *roster;
    bool oom;
} authors;

static int collect_admitted(const uint8_t author[RK_KEY_LEN], void *ctx)
{
    authors *a = ctx;
    const rk_member_entry *e = rk_membership_find(a->roster, author);
    if (!e || !e->was_member)
        return 0;
    uint8_t(*nk)[RK_KEY_LEN] = rk_grow(a->keys, &a->cap, a->n + 1, sizeof *nk);
    if (!nk) {
        a->oom = true;
        return 1;
    }
    a->keys = nk;
    memcpy(a->keys[a->n++], author, RK_KEY_LEN);
    return 0;
}

/* Runs one author's kept records through the checks; stored ones go to cb. */
static int promote_author(rk_txn *t, rk_membership_txn *members, rk_quota *quota, const rk_limits *lim, uint64_t now_ms,
                          const uint8_t author[RK_KEY_LEN], rk_ingest_promoted_cb cb, void *ctx, rk_error *err)
{
    rk_pending_list l;
    if (rk_pending_take(t, author, &l, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        rk_record rec;
        rk_error why;
        /* no clock-skew check: the record was in time when it arrived, and its signature held then */
        if (rk_record_parse(l.items[i].env, l.items[i].len, lim, 0, &rec, &why) != 0)
            continue;
        rk_ingest_result res;
        ingest_checked(t, members, quota, now_ms, &rec, RK_SIGNATURE_GOOD, false, l.items[i].own, &res, &why);
        if (res.status == RK_INGEST_FAILED) {
            *err = why;
            rc = -1;
        } else if (res.status == RK_INGEST_STORED) {
            members->promoted++;
            cb(ctx, &rec, &res, l.items[i].own);
            continue; /* cb owns rec */
        }
        rk_record_free(&rec);
    }
    rk_pending_list_free(&l);
    return rc;
}

int rk_ingest_promote(rk_txn *t, rk_membership_txn *members, rk_quota *quota, const rk_limits *lim, uint64_t now_ms,
                      rk_ingest_promoted_cb cb, void *ctx, rk_error *err)
{
    /* a promoted membership record can admit further keys: repeat while the roster changes, a bounded
     * number of times (each pass empties the kept records of every author it admits) */
    for (int pass = 0; pass < 8; pass++) {
        unsigned generation = members->generation;
        authors a = {.roster = rk_membership_txn_roster(members)};
        if (rk_pending_authors(t, collect_admitted, &a, err) != 0 || a.oom) {
            free(a.keys);
            return a.oom ? rk_fail(err, "no_memory", "", "out of memory") : -1;
        }
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < a.n; i++)
            rc = promote_author(t, members, quota, lim, now_ms, a.keys[i], cb, ctx, err);
        free(a.keys);
        if (rc != 0)
            return -1;
        if (a.n == 0 || members->generation == generation)
            break;
    }
    return 0;
}
