/* ingest: the one gate into the store. The checks run cheapest first (DESIGN.md): size, decode,
 * schema and clock skew (rk_record_parse), then roster membership, then the stored version, then the
 * Ed25519 verification because it costs the most, and the author's quota (lib/quota.c) last, so only
 * a version that would really be stored counts against it. Nothing is written before every check has
 * passed, so a rejection leaves the caller's write transaction usable for the rest of its batch.
 * rk_ingest_own is the one exception to "every check": for a record the node has just sealed with its
 * own key it skips the signature verification (the node made that signature) and the schema rules
 * (the API ran them once, before sealing); nothing else. It also makes the API's "already exists"
 * check for a POST, in the write transaction, so the current version is read once per publish and
 * that one read also serves the store's put (rk_store_put_over).
 * rk_ingest_prepare/rk_ingest_prepared split the same checks in two so that the store-free ones,
 * verification included, can run on other threads before the write transaction; the order in which
 * a rejection is reported stays the same (a stale copy with a bad signature is still "stale_version").
 */
#include "ingest.h"

#include <string.h>

typedef enum signature_state { SIGNATURE_UNCHECKED, SIGNATURE_GOOD, SIGNATURE_BAD } signature_state;

/* create: the record must not exist yet, in any version (a POST of the node's own). */
static int ingest_checked(rk_txn *t, const rk_roster *roster, rk_quota *quota, uint64_t now_ms, const rk_record *rec,
                          signature_state sig, bool create, rk_ingest_result *res, rk_error *err)
{
    memset(res, 0, sizeof *res);
    res->status = RK_INGEST_REJECTED;
    memcpy(res->hash, rec->hash, RK_HASH_LEN);
    const Renkei__Record *m = rec->msg;
    if (!m || m->author.len != RK_KEY_LEN)
        return rk_fail(err, "malformed", "author", "a record needs a 32-byte author");
    if (!roster || !rk_roster_find(roster, m->author.data))
        return rk_fail(err, "not_member", "author", "the author is not a member of this network");
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
    if (sig == SIGNATURE_BAD || (sig == SIGNATURE_UNCHECKED && !rk_record_signature_ok(rec)))
        return rk_fail(err, "bad_signature", "signature", "the signature does not match the author's key");
    /* last: only a version that would be stored counts against the author's quota */
    if (quota) {
        int q = rk_quota_admit(quota, t, m->author.data, m->version, found == 0, now_ms, err);
        if (q != 0) {
            if (q < 0)
                res->status = RK_INGEST_FAILED;
            return -1;
        }
    }
    rk_put_result put;
    if (rk_store_put_over(t, rec, found == 1 ? &cur : NULL, &put, &res->seq, err) != 0) {
        res->status = RK_INGEST_FAILED;
        return -1;
    }
    if (put != RK_PUT_STORED)
        return rk_fail(err, "stale_version", "version", "a newer version is already stored");
    res->status = RK_INGEST_STORED;
    return 0;
}

int rk_ingest_record(rk_txn *t, const rk_roster *roster, const rk_record *rec, rk_ingest_result *res, rk_error *err)
{
    return ingest_checked(t, roster, NULL, 0, rec, SIGNATURE_UNCHECKED, false, res, err);
}

int rk_ingest_own(rk_txn *t, const rk_roster *roster, rk_quota *quota, const rk_limits *lim, uint64_t now_ms,
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
    return ingest_checked(t, roster, quota, now_ms, rec, SIGNATURE_GOOD, create, res, err);
}

int rk_ingest(rk_txn *t, const rk_roster *roster, const rk_limits *lim, uint64_t now_ms, const uint8_t *env, size_t len,
              rk_ingest_result *res, rk_record *stored, rk_error *err)
{
    memset(res, 0, sizeof *res);
    res->status = RK_INGEST_REJECTED;
    rk_record rec;
    if (rk_record_parse(env, len, lim, now_ms, &rec, err) != 0)
        return -1;
    int rc = rk_ingest_record(t, roster, &rec, res, err);
    if (res->status == RK_INGEST_STORED && stored)
        *stored = rec;
    else
        rk_record_free(&rec);
    return rc;
}

int rk_ingest_prepare(const rk_roster *roster, const rk_limits *lim, uint64_t now_ms, const uint8_t *env, size_t len,
                      rk_record *rec, bool *signature_ok, rk_error *err)
{
    *signature_ok = false;
    if (rk_record_parse(env, len, lim, now_ms, rec, err) != 0)
        return -1;
    const Renkei__Record *m = rec->msg;
    bool member = m && m->author.len == RK_KEY_LEN && roster && rk_roster_find(roster, m->author.data);
    /* a non-member's record is rejected by rk_ingest_prepared without looking at its signature, so
     * verifying it here would only let strangers spend this node's CPU */
    if (member)
        *signature_ok = rk_record_signature_ok(rec);
    return 0;
}

int rk_ingest_prepared(rk_txn *t, const rk_roster *roster, rk_quota *quota, uint64_t now_ms, const rk_record *rec,
                       bool signature_ok, rk_ingest_result *res, rk_error *err)
{
    return ingest_checked(t, roster, quota, now_ms, rec, signature_ok ? SIGNATURE_GOOD : SIGNATURE_BAD, false, res,
                          err);
}
