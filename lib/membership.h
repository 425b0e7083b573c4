/* membership: the roster function. From the network's charter (founding members and threshold) and
 * a set of verified membership records (endorse, rotate, revoke), computes every key's status and a
 * digest of the result. docs/membership.md is the specification; this is its one implementation.
 *
 * Invariants:
 *  * The result is a function of the charter and the *set* of records: the input order never
 *    matters (records are deduplicated, reduced to the current version per author and rid, and
 *    processed in (version, hash) order), so every node that holds the same records computes the same
 *    roster and the same digest.
 *  * Record signatures are the caller's business (ingest verifies them); countersignatures of
 *    rotations are checked here, because only the roster function knows which rotation counts.
 *  * A key's records are valid up to its cutoff: the version of its rotation, or the `since` of its
 *    revocation. A key that is admitted later makes its earlier records valid (a new member's first
 *    publications are not lost).
 */
#ifndef RENKEI_MEMBERSHIP_H
#define RENKEI_MEMBERSHIP_H

#include "membership_rid.h"
#include "record.h"

#define RK_SIGN_DOMAIN_ROTATE "renkei-rotate-v1"
#define RK_MEMBERSHIP_DEFAULT_THRESHOLD 2

typedef enum rk_member_status {
    RK_MEMBER_UNKNOWN = 0, /* mentioned (endorsed or revoked) by nobody who counts */
    RK_MEMBER_PENDING,     /* endorsed, below the threshold */
    RK_MEMBER_FOUNDING,    /* in the charter, or the rotated successor of a founding key */
    RK_MEMBER_ADMITTED,    /* reached the threshold, or the rotated successor of an admitted key */
    RK_MEMBER_ROTATED,     /* moved to `successor`; its records up to the rotation stay valid */
    RK_MEMBER_REVOKED,     /* its records after `cutoff` are invalid */
} rk_member_status;

/* One founding member as the charter names it. */
typedef struct rk_charter_member {
    uint8_t key[RK_KEY_LEN];
    const char *name;
    int node_kind;          /* Renkei__NodeKind */
    const char *prefecture; /* may be NULL */
} rk_charter_member;

typedef struct rk_charter {
    unsigned threshold; /* endorsements (or revocations) needed; at least 1 */
    const rk_charter_member *founding;
    size_t founding_count;
} rk_charter;

typedef struct rk_member_entry {
    uint8_t key[RK_KEY_LEN];
    rk_member_status status;
    bool was_member;        /* founding, admitted or rotated to at some point: its records up to cutoff count */
    char *name;             /* "" when nobody described the key */
    bool local_description; /* name, kind and prefecture are the charter's: how this node's own
                               configuration names a founding member, so not part of the digest */
    int node_kind;
    char prefecture[3];
    char municipality[7];
    char **urls; /* listen URLs from the latest endorsement that counted */
    size_t url_count;
    uint8_t (*endorsers)[RK_KEY_LEN]; /* whose endorsements counted, ascending */
    size_t endorser_count;
    uint8_t (*revokers)[RK_KEY_LEN]; /* whose revocations counted, ascending */
    size_t revoker_count;
    uint64_t since;  /* ms: when the status began (0 for founding) */
    uint64_t cutoff; /* records by this key with a version above it are invalid; UINT64_MAX: none */
    bool has_successor, has_predecessor;
    uint8_t successor[RK_KEY_LEN];   /* ROTATED (or REVOKED after a rotation): the new key */
    uint8_t predecessor[RK_KEY_LEN]; /* the key this one was rotated from */
} rk_member_entry;

/* What the roster function made of one input record. reason NULL: the record counts. Otherwise a
 * stable code: not_member (the author never becomes a member), rotated_key / revoked_key (signed
 * after the author's cutoff), bad_countersignature, equivocation (a second rotation of one key),
 * key_in_use (a rotation to a key that is or was a member), revoked_subject (an endorsement of a
 * revoked key), rotated_subject (an endorsement of a key rotated away), self_endorsement, superseded (a newer version of the same author and rid is in the
 * set), duplicate (the same record twice), not_membership (not an endorse, rotate or revoke). */
typedef struct rk_membership_verdict {
    const char *reason;
} rk_membership_verdict;

typedef struct rk_membership {
    unsigned threshold;
    rk_member_entry *entries; /* ascending by key */
    size_t count;
    uint8_t digest[RK_HASH_LEN];
    size_t member_count; /* FOUNDING + ADMITTED */
    unsigned passes;     /* how many passes the cutoffs took to settle (1 without retroactive cutoffs) */
} rk_membership;

/* Computes the roster. recs[i] are parsed records whose signatures hold (any kind: non-membership
 * records get the verdict not_membership). verdicts (may be NULL) receives one verdict per input.
 * Returns -1 only on allocation failure or a charter with threshold 0. */
int rk_membership_compute(const rk_charter *charter, const rk_record *const *recs, size_t n, rk_membership *out,
                          rk_membership_verdict *verdicts, rk_error *err);
void rk_membership_free(rk_membership *m);

const rk_member_entry *rk_membership_find(const rk_membership *m, const uint8_t key[RK_KEY_LEN]);
/* Whether a record by `key` with this version is valid: the key is or was a member (founding,
 * admitted, or rotated/revoked with the version at or before its cutoff). On false, *reason (if not
 * NULL) is not_member, rotated_key or revoked_key. */
bool rk_membership_key_valid(const rk_membership *m, const uint8_t key[RK_KEY_LEN], uint64_t version,
                             const char **reason);

/* "founding", "admitted", "pending", "rotated", "revoked", "unknown" */
const char *rk_member_status_name(rk_member_status s);
/* The bytes a rotation's countersignature covers: old key || new key (64 bytes). */
void rk_membership_rotation_message(const uint8_t old_key[RK_KEY_LEN], const uint8_t new_key[RK_KEY_LEN],
                                    uint8_t out[2 * RK_KEY_LEN]);

#endif
