/* index: the secondary, event-date and full-text indexes of the store: filters and event dates in the
 * LMDB database named "indexes", full-text postings in "tokens", records whose tokens are still to be
 * written in "pending" (key formats in docs/storage.md). Internal to lib/: store.c keeps them in step with
 * the current records inside rk_store_put, and index.c implements rk_store_query and rk_store_events.
 *
 * Invariant: a current record that is not a tombstone has exactly the entries rk_index_add writes for
 * it, and nothing else in the database refers to its hash; tombstones and replaced versions have none.
 * Its tokens are either all in "tokens" or, instead, its sort key is in "pending" — never both.
 */
#ifndef RENKEI_INDEX_H
#define RENKEI_INDEX_H

#include <lmdb.h>

#include "store.h"

/* ---- store internals shared with index.c -------------------------------------------------------- */

/* The live LMDB transaction, or NULL (with err filled) when an earlier write failed and aborted it. */
MDB_txn *rk_txn_mdb(rk_txn *t, rk_error *err);
MDB_dbi rk_txn_index_dbi(const rk_txn *t);
/* The full-text postings, opened MDB_DUPSORT | MDB_DUPFIXED: token -> sorted sort-key prefixes. */
MDB_dbi rk_txn_tokens_dbi(const rk_txn *t);
/* Records whose tokens are not yet in "tokens": sort key -> kind, visibility (lib/index.c). */
MDB_dbi rk_txn_pending_dbi(const rk_txn *t);
/* Turns an LMDB return code into err. A failure inside a write transaction aborts it at once, so a
 * half-applied change can never be committed; MDB_MAP_FULL becomes the code "store_full". */
int rk_txn_fail(rk_txn *t, int mdb_rc, const char *what, rk_error *err);

/* ---- index maintenance ------------------------------------------------------------------------- */

/* Both are no-ops for tombstones. rk_index_remove must be given the same record rk_index_add was.
 * rk_index_add writes the filter postings and the event entry at once but only lists the record in
 * "pending" for full-text indexing; when RK_INDEX_PENDING_MAX records are pending, the same call
 * indexes all their tokens together (rk_index_flush). Queries merge the pending records in, so
 * results never depend on when that happens. */
int rk_index_add(rk_txn *t, const rk_record *rec, rk_error *err);
int rk_index_remove(rk_txn *t, const rk_record *rec, rk_error *err);

#define RK_INDEX_PENDING_MAX 512
/* Writes the tokens of every pending record into "tokens", in key order, and empties "pending". Needs
 * a write transaction, which must not be committed if this fails. Never needed for correct results. */
int rk_index_flush(rk_txn *t, rk_error *err);

/* The sort key of query results: be64(~version) || hash, so ascending key order is newest first. */
#define RK_SORT_KEY_LEN (8 + RK_HASH_LEN)
void rk_index_sort_key(const rk_record *rec, uint8_t out[RK_SORT_KEY_LEN]);

#endif
