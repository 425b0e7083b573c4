/* store: the node's record store, as the rest of the program sees it. This header is the store's
 * public face: it brings in the environment and transactions (txn.h), reading stored records
 * (records.h) and the reconciliation sets (fpset.h), and declares what store.c adds on top: the
 * current-version rule (rk_store_put), the change feed, the counters and the small metadata.
 * Queries are one layer up, in query.h, because they read the indexes that rk_store_put maintains.
 *
 * Invariants: the current version of (author, rid) is the highest version, ties broken by the larger
 * hash; an older or equal version changes nothing. Every stored change gets the next change sequence
 * number. The RBSR sets hold exactly the current versions (tombstones included, local excluded),
 * keyed by version(be64) || hash, and the fingerprint index is updated in the same transaction.
 * A write is durable when rk_txn_commit returns 0.
 */
#ifndef RENKEI_STORE_H
#define RENKEI_STORE_H

#include "fpset.h"
#include "record.h"
#include "records.h"
#include "txn.h"
#include "util.h"

typedef enum rk_put_result {
    RK_PUT_STORED = 0,
    RK_PUT_STALE = 1, /* an equal or newer version is current */
} rk_put_result;

/* Stores a record that the caller has validated and whose signature it has checked, applying the
 * current-version rule and updating every index. *seq gets the change sequence number when stored. */
int rk_store_put(rk_txn *t, const rk_record *rec, rk_put_result *res, uint64_t *seq, rk_error *err);
/* The same for a caller that has just read the current version of (author, rid) in this transaction
 * (rk_store_get_current): current is what it found, or NULL for none. Ingest reads it once for both
 * its own checks and the put. */
int rk_store_put_over(rk_txn *t, const rk_record *rec, const rk_current *current, rk_put_result *res, uint64_t *seq,
                      rk_error *err);

struct rk_store_counts {
    uint64_t current;    /* current records, tombstones excluded */
    uint64_t by_kind[5]; /* indexed by Renkei__Kind */
    uint64_t last_seq;
};
/* The struct tag and the function share a name on purpose; callers write `struct rk_store_counts`. */
int rk_store_counts(rk_txn *t, struct rk_store_counts *out, rk_error *err);

typedef struct rk_change {
    uint64_t seq;
    uint8_t author[RK_KEY_LEN];
    char rid[RK_RID_MAX + 1];
    uint64_t version;
    uint8_t hash[RK_HASH_LEN];
    int kind; /* KIND_TOMBSTONE for deletions */
    int visibility;
} rk_change;
typedef int (*rk_change_cb)(const rk_change *c, void *ctx); /* non-zero stops */
int rk_store_changes(rk_txn *t, uint64_t after, size_t limit, rk_change_cb cb, void *ctx, rk_error *err);

/* Removes every current record of author whose version is above cutoff (a roster that no longer
 * takes them: docs/membership.md, "Records invalidated later"), from the records, the sets, the
 * indexes and the counters; *removed gets how many. 0 = nothing of author stays. */
int rk_store_remove_after(rk_txn *t, const uint8_t author[RK_KEY_LEN], uint64_t cutoff, uint64_t *removed,
                          rk_error *err);

/* ---- small metadata --------------------------------------------------------------------------- */
int rk_store_meta_get(rk_txn *t, const char *key, rk_buf *out, rk_error *err); /* 1 found, 0 not */
int rk_store_meta_put(rk_txn *t, const char *key, const void *val, size_t len, rk_error *err);

#endif
