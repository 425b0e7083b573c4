/* index: the secondary, event-date and full-text indexes of the store: filters and event dates in the
 * LMDB database named "indexes", full-text postings in "tokens" (key formats in docs/storage.md). Internal to lib/: store.c keeps them in step with
 * the current records inside rk_store_put, and index.c implements rk_store_query and rk_store_events.
 *
 * Invariant: a current record that is not a tombstone has exactly the entries rk_index_add writes for
 * it, and nothing else in the database refers to its hash; tombstones and replaced versions have none.
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
/* Turns an LMDB return code into err. A failure inside a write transaction aborts it at once, so a
 * half-applied change can never be committed; MDB_MAP_FULL becomes the code "store_full". */
int rk_txn_fail(rk_txn *t, int mdb_rc, const char *what, rk_error *err);

/* ---- index maintenance ------------------------------------------------------------------------- */

/* Both are no-ops for tombstones. rk_index_remove must be given the same record rk_index_add was. */
int rk_index_add(rk_txn *t, const rk_record *rec, rk_error *err);
int rk_index_remove(rk_txn *t, const rk_record *rec, rk_error *err);

/* The sort key of query results: be64(~version) || hash, so ascending key order is newest first. */
#define RK_SORT_KEY_LEN (8 + RK_HASH_LEN)
void rk_index_sort_key(const rk_record *rec, uint8_t out[RK_SORT_KEY_LEN]);

#endif
