/* membership_txn: the roster as one write transaction changes it.
 *
 * Ingest judges a membership record (endorse, rotate, revoke) by running the roster function over
 * the membership records already stored plus the candidate: the candidate's verdict decides whether
 * it is stored, and the roster with it applied becomes the roster by which the rest of the
 * transaction is checked. After the commit, the caller publishes that roster as the node's snapshot.
 *
 * Invariants:
 *  * The stored membership records are read once per transaction, and only when a membership record
 *    is judged; ordinary records are checked against rk_membership_txn_roster alone.
 *  * A judged candidate changes nothing until rk_membership_txn_accept (called once the record is
 *    really stored); rk_membership_txn_drop forgets it, so a later check (quota) that rejects the
 *    record leaves the roster as it was.
 *  * The charter and the base snapshot are borrowed and must outlive the transaction.
 */
#ifndef RENKEI_MEMBERSHIP_TXN_H
#define RENKEI_MEMBERSHIP_TXN_H

#include "membership.h"
#include "pending.h"
#include "txn.h"

/* Membership records (cloned). */
typedef struct rk_membership_records {
    rk_record *recs;
    size_t n, cap;
} rk_membership_records;

/* The membership records stored in t (they are public). */
int rk_membership_records_read(rk_txn *t, rk_membership_records *out, rk_error *err);
/* Appends a clone of rec. */
int rk_membership_records_add(rk_membership_records *r, const rk_record *rec, rk_error *err);
void rk_membership_records_free(rk_membership_records *r);
/* The roster over r's records; verdicts (may be NULL) gets one per record, in r's order. */
int rk_membership_records_compute(const rk_charter *charter, const rk_membership_records *r, rk_membership *out,
                                  rk_membership_verdict *verdicts, rk_error *err);

typedef struct rk_membership_txn {
    const rk_charter *charter;
    const rk_membership *base; /* the snapshot the transaction started from */
    rk_membership next;        /* the roster after the accepted membership records (when changed) */
    rk_membership candidate;   /* the roster with the judged candidate applied (when judged) */
    rk_membership_records records;
    bool loaded, changed, judged;
    unsigned generation; /* counts accepted membership records */
    /* records whose author the roster does not take yet are kept aside under this policy (lib/pending.h);
     * NULL: they are rejected. The counters are for the caller's metrics. */
    const rk_pending_policy *pending;
    uint64_t held, evicted, promoted;
} rk_membership_txn;

void rk_membership_txn_init(rk_membership_txn *m, const rk_charter *charter, const rk_membership *base);
/* The roster by which records are checked now. */
const rk_membership *rk_membership_txn_roster(const rk_membership_txn *m);
/* Judges a membership record whose author may sign it: 0 with *reason NULL when it counts (the
 * candidate is held until accept or drop), 0 with *reason set to the roster function's verdict when
 * it does not, -1 when reading the store or memory failed. */
int rk_membership_txn_judge(rk_membership_txn *m, rk_txn *t, const rk_record *rec, const char **reason, rk_error *err);
/* The judged candidate was stored: its roster becomes the transaction's roster. */
void rk_membership_txn_accept(rk_membership_txn *m);
/* The judged candidate was not stored: forgotten. */
void rk_membership_txn_drop(rk_membership_txn *m);
/* Recomputes the roster from every membership record this transaction holds (after records were
 * removed from the store, for instance). */
int rk_membership_txn_recompute(rk_membership_txn *m, rk_txn *t, rk_error *err);
/* When the transaction changed the roster: moves it to *out and returns true. */
bool rk_membership_txn_take(rk_membership_txn *m, rk_membership *out);
void rk_membership_txn_free(rk_membership_txn *m);

#endif
