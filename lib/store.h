/* store: the node's LMDB environment.
 *
 * Named databases (one environment, see docs/storage.md):
 *   records   hash -> SignedRecord bytes, current versions only
 *   current   author || rid -> hash || version(be64)         the current-version rule
 *   changes   seq(be64) -> change entry                         the local change feed
 *   set0/fp0  RBSR ordered set of public records and its fingerprint index
 *   set1/fp1  the same for public + network records (what members exchange)
 *   indexes   secondary indexes and the event date index (lib/index.c)
 *   tokens    full-text postings: token -> sorted 24-byte sort-key prefixes (DUPSORT, DUPFIXED)
 *   pending   sort key -> kind, visibility: records whose tokens are not yet in `tokens`; a put
 *             lists a record here and, once 512 wait, writes all their tokens in one pass; queries
 *             search them as well, so results never depend on it
 *   meta      small key/value pairs (peer state, schema version)
 *
 * Invariants: the current version of (author, rid) is the highest version, ties broken by the larger
 * hash; an older or equal version changes nothing. Every stored change gets the next change sequence
 * number. The RBSR sets hold exactly the current versions (tombstones included, local excluded),
 * keyed by version(be64) || hash, and the fingerprint index is updated in the same transaction.
 * A write is durable when rk_txn_commit returns 0.
 */
#ifndef RENKEI_STORE_H
#define RENKEI_STORE_H

#include "record.h"
#include "util.h"

typedef struct rk_store rk_store;
typedef struct rk_txn rk_txn;

typedef struct rk_store_options {
    const char *dir;     /* created if missing */
    size_t map_size;     /* bytes; default 1 GiB */
    bool no_sync;        /* benchmarks and unit tests only: skip fsync */
} rk_store_options;

int rk_store_open(const rk_store_options *opts, rk_store **out, rk_error *err);
void rk_store_close(rk_store *s);

int rk_txn_begin(rk_store *s, bool write, rk_txn **out, rk_error *err);
int rk_txn_commit(rk_txn *t, rk_error *err);   /* frees t in every case */
void rk_txn_abort(rk_txn *t);                  /* frees t */

typedef struct rk_current {
    uint8_t hash[RK_HASH_LEN];
    uint64_t version;
} rk_current;

/* 1 found, 0 not found, -1 error. */
int rk_store_get_current(rk_txn *t, const uint8_t author[RK_KEY_LEN], const char *rid, rk_current *out,
                         rk_error *err);
/* The SignedRecord bytes of a current record; the pointer is valid until the transaction ends.
 * 1 found, 0 not found, -1 error. */
int rk_store_get_envelope(rk_txn *t, const uint8_t hash[RK_HASH_LEN], const uint8_t **env, size_t *len,
                          rk_error *err);
/* Loads and decodes a stored record (no signature re-check: it was checked on ingest). */
int rk_store_load(rk_txn *t, const uint8_t hash[RK_HASH_LEN], rk_record *out, rk_error *err);

typedef enum rk_put_result {
    RK_PUT_STORED = 0,
    RK_PUT_STALE = 1,      /* an equal or newer version is current */
} rk_put_result;

/* Stores a record that the caller has validated and whose signature it has checked, applying the
 * current-version rule and updating every index. *seq gets the change sequence number when stored. */
int rk_store_put(rk_txn *t, const rk_record *rec, rk_put_result *res, uint64_t *seq, rk_error *err);

struct rk_store_counts {
    uint64_t current;      /* current records, tombstones excluded */
    uint64_t by_kind[5];   /* indexed by Renkei__Kind */
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
    int kind;              /* KIND_TOMBSTONE for deletions */
    int visibility;
} rk_change;
typedef int (*rk_change_cb)(const rk_change *c, void *ctx); /* non-zero stops */
int rk_store_changes(rk_txn *t, uint64_t after, size_t limit, rk_change_cb cb, void *ctx, rk_error *err);

#define RK_CURSOR_MAX 96

typedef struct rk_query {
    int kind;                  /* Renkei__Kind, 0 = case, event and region */
    char prefecture[3];        /* "" = any */
    int industry, dx_level, skill, audience; /* enum values, 0 = any */
    const uint8_t *author;     /* NULL = any */
    const char *q;             /* full-text query, NULL or "" = none */
    int max_visibility;        /* VISIBILITY_PUBLIC, _NETWORK or _LOCAL: include up to this */
    size_t limit;              /* 0 = no limit */
    const char *cursor;        /* from a previous page; NULL = first page */
} rk_query;

/* Calls cb for each matching current record (tombstones never), newest version first. On return
 * next_cursor is "" when there are no more results. */
typedef int (*rk_record_cb)(const rk_record *rec, void *ctx); /* non-zero stops */
int rk_store_query(rk_txn *t, const rk_query *q, rk_record_cb cb, void *ctx, char next_cursor[RK_CURSOR_MAX],
                   rk_error *err);

typedef struct rk_event_query {
    int64_t from, to;          /* seconds since the epoch; events overlapping [from, to] */
    char prefecture[3];
    int format, open_scope;    /* 0 = any */
    int max_visibility;
    size_t limit;
} rk_event_query;
/* Events sorted by start time, soonest first. */
int rk_store_events(rk_txn *t, const rk_event_query *q, rk_record_cb cb, void *ctx, rk_error *err);

/* ---- range-based set reconciliation support -------------------------------------------------- */

#define RK_SET_PUBLIC 0
#define RK_SET_MEMBERS 1
#define RK_ITEM_LEN 40          /* version(be64) || hash */
#define RK_FP_LEN 16

/* Items in [lo, hi): count and fingerprint = first 16 bytes of SHA-256(sum || count(le64)) where sum
 * is the sum of the item hashes as 256-bit little-endian integers modulo 2^256. Cost grows with
 * log n, not with the number of items in the range. */
int rk_store_set_fingerprint(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                             uint64_t *count, uint8_t fp[RK_FP_LEN], rk_error *err);
typedef int (*rk_item_cb)(const uint8_t item[RK_ITEM_LEN], void *ctx); /* non-zero stops */
int rk_store_set_items(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                       size_t limit, rk_item_cb cb, void *ctx, rk_error *err);
/* The item n positions after the first item >= lo (n = 0 is that first item). 1 found, 0 none. */
int rk_store_set_nth(rk_txn *t, int set, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
                     rk_error *err);

/* ---- small metadata --------------------------------------------------------------------------- */
int rk_store_meta_get(rk_txn *t, const char *key, rk_buf *out, rk_error *err); /* 1 found, 0 not */
int rk_store_meta_put(rk_txn *t, const char *key, const void *val, size_t len, rk_error *err);

#endif
