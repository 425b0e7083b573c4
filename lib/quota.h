/* quota: the write policy per author, applied by ingest to every new version, whether it comes from
 * the node's own API or from a peer. Two limits: records (distinct rids) an author may have stored,
 * and new versions of an author this node stores per window of time.
 *
 * Invariants: the state is owned by one thread (the writer) and is never shared. A version counts
 * against the rate only if it is recent (its version time is within the last window): an older one is
 * history arriving late (a node catching up, a partition healing), was counted when it was new, and
 * once a refused version has aged past the window it is always admitted, so reconciliation fetching it
 * again cannot be refused forever. Record counts are read from the store the first time an author is
 * seen and kept in step with what is written; rk_quota_forget drops them after a failed transaction.
 */
#ifndef RENKEI_QUOTA_H
#define RENKEI_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "record.h"
#include "txn.h"

typedef struct rk_quota_policy {
    uint64_t max_records;  /* records (rids) per author; 0 = no limit */
    uint64_t max_versions; /* new versions per author per window; 0 = no limit */
    uint64_t window_ms;    /* length of the rate window */
} rk_quota_policy;

#define RK_QUOTA_RECORDS_DEFAULT 200000
#define RK_QUOTA_VERSIONS_DEFAULT 10000
#define RK_QUOTA_WINDOW_S_DEFAULT 3600

void rk_quota_policy_default(rk_quota_policy *p);

typedef struct rk_quota rk_quota;

/* NULL on out of memory. */
rk_quota *rk_quota_new(const rk_quota_policy *p);
void rk_quota_free(rk_quota *q);

/* May this version of (author, rid) be stored now? new_rid: the author has no stored record with this
 * rid, so storing it adds a record. Returns 0 if admitted (and counts it: call only right before the
 * write), 1 if refused (err: "quota", saying which limit), -1 if the store failed (err). */
int rk_quota_admit(rk_quota *q, rk_txn *t, const uint8_t author[RK_KEY_LEN], uint64_t version, bool new_rid,
                   uint64_t now_ms, rk_error *err);
/* After a transaction was aborted: what was admitted in it was not written, so counts read from the
 * store must be read again. The rate counts stay (a refusal they cause is retried by reconciliation). */
void rk_quota_forget(rk_quota *q);

#endif
