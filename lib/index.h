/* index: the secondary, event-date and full-text indexes of the store: filters and event dates in the
 * LMDB database named "indexes", full-text postings in "tokens" (through lib/postings.h), records
 * whose tokens are still to be written in "pending" (key formats below and in docs/storage.md). Internal to lib/: store.c keeps
 * them in step with the current records inside rk_store_put; query.c reads them through the key
 * formats and helpers declared here, so both sides of every format are named in one header.
 *
 * Invariant: a current record that is not a tombstone has exactly the entries rk_index_add writes for
 * it, and nothing else in the database refers to its hash; tombstones and replaced versions have none.
 * Its tokens are either all in "tokens" or, instead, its sort key is in "pending" — never both.
 */
#ifndef RENKEI_INDEX_H
#define RENKEI_INDEX_H

#include "postings.h"
#include "record.h"
#include "txn.h"

/* ---- maintenance (lib/store.c) ------------------------------------------------------------------- */

/* Both are no-ops for tombstones. rk_index_remove must be given the same record rk_index_add was.
 * rk_index_add writes the filter postings and the event entry at once but only lists the record in
 * "pending" for full-text indexing; when RK_INDEX_PENDING_MAX records are pending, the same call
 * indexes all their tokens together (rk_index_flush). Queries merge the pending records in, so
 * results never depend on when that happens. */
int rk_index_add(rk_txn *t, const rk_record *rec, rk_error *err);
int rk_index_remove(rk_txn *t, const rk_record *rec, rk_error *err);

#define RK_INDEX_PENDING_MAX 512
/* Writes the postings of every pending record into "tokens", token by token, and empties "pending". Needs
 * a write transaction, which must not be committed if this fails. Never needed for correct results. */
int rk_index_flush(rk_txn *t, rk_error *err);
/* Merges every token's side list of late postings into its list (lib/postings.h), which the writes
 * otherwise do only once a side list is large; the same write-transaction rule. Never needed for
 * correct results either. */
int rk_index_merge_late(rk_txn *t, rk_error *err);

/* ---- key formats ------------------------------------------------------------------------------- */

/* The sort key of query results (RK_SORT_KEY_LEN, lib/postings.h). */
void rk_index_sort_key(const rk_record *rec, uint8_t out[RK_SORT_KEY_LEN]);

/* First byte of a key in "indexes": 'a' is the posting list of every record and 'f' || field ||
 * value that of a filter value (blocks of lib/postings.h, each entry carrying the record's
 * visibility); 'e' || time key(start) || hash is an event (value below); 'm' holds the longest event
 * duration. */
#define RK_INDEX_TAG_ALL 'a'
#define RK_INDEX_TAG_EVENT 'e'
#define RK_INDEX_TAG_MAX_DURATION 'm'
/* Second byte of a filter posting list 'f' || field || value. */
#define RK_INDEX_FIELD_KIND 'k'
#define RK_INDEX_FIELD_PREFECTURE 'p'
#define RK_INDEX_FIELD_INDUSTRY 'i'
#define RK_INDEX_FIELD_DX_LEVEL 'd'
#define RK_INDEX_FIELD_SKILL 's'
#define RK_INDEX_FIELD_AUDIENCE 'u'
#define RK_INDEX_FIELD_AUTHOR 'w'

#define RK_INDEX_TOKEN_MAX RK_POSTINGS_TOKEN_MAX     /* longer tokens are not indexed */
#define RK_INDEX_PREFIX_MAX (2 + RK_INDEX_TOKEN_MAX) /* a token, or 'f' || field || author */
/* An event: key 'e' || time key(start) || hash; value time key(end) || visibility || format ||
 * open_scope || the two characters of the prefecture code (0 0 when none). */
#define RK_INDEX_EVENT_KEY_LEN (1 + 8 + RK_HASH_LEN)
#define RK_INDEX_EVENT_VAL_LEN (8 + 3 + 2)
/* Seconds since the epoch as big-endian bytes that sort like the signed values. */
uint64_t rk_index_time_key(int64_t v);
int64_t rk_index_time_of(uint64_t v);

/* One posting list: a filter prefix in "indexes" or a token in "tokens". */
typedef struct rk_index_prefix {
    uint8_t b[RK_INDEX_PREFIX_MAX];
    size_t len;
} rk_index_prefix;

typedef struct rk_index_prefixes {
    rk_index_prefix *v;
    size_t n, cap;
} rk_index_prefixes;

void rk_index_prefixes_free(rk_index_prefixes *l);
/* A prefix longer than RK_INDEX_PREFIX_MAX is not indexed and is skipped; -1 only when out of memory. */
int rk_index_prefixes_push(rk_index_prefixes *l, const uint8_t *b, size_t len);
/* The filter prefix of one value; values that are not filterable (zero, out of range, a malformed
 * prefecture) add nothing. -1 only when out of memory. */
int rk_index_push_field(rk_index_prefixes *l, uint8_t field, const void *value, size_t len);
int rk_index_push_enum(rk_index_prefixes *l, uint8_t field, int value);
int rk_index_push_prefecture(rk_index_prefixes *l, const char *pref);

/* The filterable values of a record, one posting-list prefix each, sorted and distinct. */
int rk_index_record_fields(const Renkei__Record *m, rk_index_prefixes *l);
/* The tokens of a normalised text as "tokens" keys, by the rule the index uses. */
int rk_index_term_tokens(const char *norm, rk_index_prefixes *l);

/* Posting list sizes: a filter's document count (its last block's total) and the pending records (a
 * token's: lib/postings.h). */
int rk_index_count(rk_txn *t, MDB_txn *txn, const rk_index_prefix *p, uint64_t *n, rk_error *err);
int rk_index_pending_count(rk_txn *t, MDB_txn *txn, size_t *n, rk_error *err);

#endif
