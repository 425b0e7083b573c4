/* ingest: the one path by which a signed record enters a store, from a peer or from the node's own
 * API. Checks run cheapest first, in DESIGN.md's order: size, decode, schema, clock skew, the author's
 * key valid for the record's version in the computed roster (not_member, rotated_key, revoked_key),
 * version newer than the stored one, signature, for a membership record the roster function's verdict
 * (bad_countersignature, equivocation, key_in_use, revoked_subject, ...), then the author's quota
 * (reason "quota", when a quota is given). The first failing check names the reason. The roster is a
 * rk_membership_txn: a membership record that is stored changes it for the rest of the transaction.
 */
#ifndef RENKEI_INGEST_H
#define RENKEI_INGEST_H

#include "membership_txn.h"
#include "quota.h"
#include "record.h"
#include "store.h"

/* What is known of a record's signature when it reaches the store checks. */
typedef enum rk_signature_state {
    RK_SIGNATURE_UNCHECKED = 0, /* not verified yet: the store checks verify it if they get that far */
    RK_SIGNATURE_GOOD,
    RK_SIGNATURE_BAD,
} rk_signature_state;

typedef enum rk_ingest_status {
    RK_INGEST_STORED = 0,
    RK_INGEST_REJECTED = 1, /* err names the reason */
    RK_INGEST_PENDING = 2,  /* not stored: kept aside until the roster admits the author (err: not_member) */
    RK_INGEST_FAILED = -1,  /* the store failed; err says why */
} rk_ingest_status;

typedef struct rk_ingest_result {
    rk_ingest_status status;
    uint64_t seq; /* change sequence when stored */
    uint8_t hash[RK_HASH_LEN];
} rk_ingest_result;

/* Parses, checks and stores one SignedRecord inside the caller's write transaction. On STORED,
 * *stored (if not NULL) receives the parsed record (owned by the caller). */
int rk_ingest(rk_txn *t, rk_membership_txn *members, const rk_limits *lim, uint64_t now_ms, const uint8_t *env,
              size_t len, rk_ingest_result *res, rk_record *stored, rk_error *err);

/* The same checks for an already parsed record (used by the node's own publishes). */
int rk_ingest_record(rk_txn *t, rk_membership_txn *members, const rk_record *rec, rk_ingest_result *res, rk_error *err);

/* For a record this node has just sealed with its own key (after the schema rules ran on it once):
 * the size limit, clock skew, roster, version and quota checks of the other entry points, but not the
 * Ed25519 verification of the node's own fresh signature. Never for bytes from anywhere else.
 * create: the record is new (POST); if any version of it is stored, it is rejected as "conflict". */
int rk_ingest_own(rk_txn *t, rk_membership_txn *members, rk_quota *quota, const rk_limits *lim, uint64_t now_ms,
                  const rk_record *rec, bool create, rk_ingest_result *res, rk_error *err);

/* The checks that need no store (size, decode, schema, clock skew, and the Ed25519 verification when
 * the author's key is valid in `roster`), for running on any thread before the write transaction.
 * Thread-safe. On 0, *rec is the parsed record (owned by the caller) and *sig the verification's
 * outcome (UNCHECKED when the roster does not take the author); on -1, err names the rejection and
 * *rec is empty. */
int rk_ingest_prepare(const rk_membership *roster, const rk_limits *lim, uint64_t now_ms, const uint8_t *env,
                      size_t len, rk_record *rec, rk_signature_state *sig, rk_error *err);
/* The rest of rk_ingest for a record from rk_ingest_prepare, inside the caller's write transaction:
 * roster, version, then the signature outcome given, then the write. Same results and reasons as
 * rk_ingest on the same bytes, plus the quota when one is given (NULL: none). */
int rk_ingest_prepared(rk_txn *t, rk_membership_txn *members, rk_quota *quota, uint64_t now_ms, const rk_record *rec,
                       rk_signature_state sig, rk_ingest_result *res, rk_error *err);

/* After the roster changed: the records kept aside of every author the roster now takes run through
 * the checks above (signature excepted: it held when they were kept; quota included), in the
 * caller's write transaction, and leave the aside databases. cb receives each record stored, and owns
 * it. Membership records among them change the roster in turn; it repeats while they do. */
typedef void (*rk_ingest_promoted_cb)(void *ctx, rk_record *rec, const rk_ingest_result *res, bool own);
int rk_ingest_promote(rk_txn *t, rk_membership_txn *members, rk_quota *quota, const rk_limits *lim, uint64_t now_ms,
                      rk_ingest_promoted_cb cb, void *ctx, rk_error *err);

#endif
