/* txn: the bottom of the store. One LMDB environment with its named databases (docs/storage.md),
 * the transactions every other store module works in, and the LMDB error mapping.
 *
 * Invariants: a write transaction whose change failed half-way is aborted at once (rk_txn_fail,
 * rk_txn_poison) and remembers why, so rk_txn_commit reports that reason and nothing half-applied is
 * ever committed. A read-only transaction sees one snapshot for its whole life, which is what makes
 * its scratch space (rk_txn_scratch) a valid cache. What is kept across read transactions
 * (rk_txn_store_shared) is used only by those rk_txn_shared_valid admits: every write that changes it
 * marks itself before it commits, and a commit this handle did not make counts as such a write.
 *
 * The public half (open, close, begin, commit, abort) keeps the rk_store_ and rk_txn_ names callers
 * use through store.h; the rest is internal to lib/.
 */
#ifndef RENKEI_TXN_H
#define RENKEI_TXN_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

typedef struct rk_store rk_store;
typedef struct rk_txn rk_txn;

typedef struct rk_store_options {
    const char *dir; /* created if missing */
    size_t map_size; /* bytes; default 1 GiB */
    bool no_sync;    /* benchmarks and unit tests only: skip fsync */
    /* A commit syncs its data pages but only writes the metadata page that makes it current
     * (LMDB's MDB_NOMETASYNC), so it costs one disk flush instead of two. The store stays
     * consistent whatever happens (LMDB never reuses the pages of the last two commits); a system
     * crash may undo commits that no later flush covered. A commit is durable once an rk_store_sync
     * begun after it returned, or the next commit, has returned 0. For the daemon's writer, which
     * acknowledges a batch only after such a sync, made on another thread while it writes the next. */
    bool defer_meta_sync;
} rk_store_options;

int rk_store_open(const rk_store_options *opts, rk_store **out, rk_error *err);
void rk_store_close(rk_store *s); /* flushes what defer_meta_sync left unflushed */
/* Any thread, also while a write transaction runs: flushes every commit that returned before this
 * call to the disk (fdatasync). */
int rk_store_sync(rk_store *s, rk_error *err);

int rk_txn_begin(rk_store *s, bool write, rk_txn **out, rk_error *err);
int rk_txn_commit(rk_txn *t, rk_error *err); /* frees t in every case */
void rk_txn_abort(rk_txn *t);                /* frees t */

/* ---- internal to lib/ ---------------------------------------------------------------------------- */

/* The named databases of the environment (key formats in docs/storage.md):
 *   records   seq(be64) -> SignedRecord bytes, current versions only, under the change sequence
 *             number that stored them: every new envelope has the highest key, so pages fill
 *   hashes    hash -> seq(be64): where a current envelope is in `records`
 *   current   author || rid -> hash || version(be64)         the current-version rule
 *   changes   seq(be64) -> change entry                         the local change feed
 *   set0/fp0  RBSR ordered set of public records and its fingerprint index
 *   set1/fp1  the same for public + network records (what members exchange)
 *   indexes   secondary indexes and the event date index (lib/index.c)
 *   tokens    full-text postings: blocks of delta-coded change sequence numbers per token, in
 *             sort-key order, oldest first (lib/postings.h)
 *   pending   sort key -> kind, visibility: records whose tokens are not yet in `tokens`; a put
 *             lists a record here and, once 512 wait, writes all their tokens in one pass; queries
 *             search them as well, so results never depend on it
 *   meta      small key/value pairs (peer state, schema version)
 *   aside, aside_order   records of non-members kept aside until their author is admitted
 *             (lib/pending.h gives the key formats)
 */
typedef enum rk_db {
    RK_DB_RECORDS,
    RK_DB_CURRENT,
    RK_DB_CHANGES,
    RK_DB_SET0,
    RK_DB_SET1,
    RK_DB_FP0,
    RK_DB_FP1,
    RK_DB_INDEXES,
    RK_DB_META,
    RK_DB_TOKENS,
    RK_DB_PENDING,
    RK_DB_ASIDE,
    RK_DB_ASIDE_ORDER,
    RK_DB_HASHES,
    RK_DB_COUNT
} rk_db;

/* The live LMDB transaction, or NULL (with err filled) when an earlier write failed and aborted it. */
MDB_txn *rk_txn_mdb(rk_txn *t, rk_error *err);
MDB_dbi rk_txn_dbi(const rk_txn *t, rk_db db);
/* The LMDB name of database db ("records", "tokens", ...), for reports such as tests/bench/bench_store. */
const char *rk_txn_db_name(rk_db db);
bool rk_txn_writable(const rk_txn *t);
/* 0, or -1 with err filled when t is read-only or already aborted. */
int rk_txn_need_write(rk_txn *t, rk_error *err);

/* Turns an LMDB return code into err. A failure inside a write transaction aborts it at once, so a
 * half-applied change can never be committed; MDB_MAP_FULL and ENOSPC become "store_full". */
int rk_txn_fail(rk_txn *t, int mdb_rc, const char *what, rk_error *err);
/* Opens a cursor on database db; what names the work for the error (rk_txn_fail). 0, or -1. */
int rk_txn_cursor(rk_txn *t, rk_db db, MDB_cursor **c, const char *what, rk_error *err);
/* Closes a cursor whose walk ended with rc: 0 when it ran out of keys (MDB_NOTFOUND) or stopped
 * early (0), else -1 with err (rk_txn_fail). */
/* Closes a cursor of t unless t was a write transaction that failed: rk_txn_fail aborted it, and
 * LMDB freed its cursors with it (closing one then would free it twice). */
void rk_txn_cursor_close(rk_txn *t, MDB_cursor *c);
int rk_txn_cursor_done(rk_txn *t, MDB_cursor *c, int rc, const char *what, rk_error *err);
/* Aborts a write transaction whose change failed half-way for a reason that is not LMDB's own. */
void rk_txn_poison(rk_txn *t, const rk_error *why);

/* One key of database db: 1 found (val points into the map until the transaction ends), 0 not
 * found, -1 error. */
int rk_txn_get(rk_txn *t, rk_db db, const void *key, size_t klen, MDB_val *val, rk_error *err);
int rk_txn_put(rk_txn *t, rk_db db, const void *key, size_t klen, const void *val, size_t vlen, rk_error *err);
/* Deleting a key that is not there succeeds. */
int rk_txn_del(rk_txn *t, rk_db db, const void *key, size_t klen, rk_error *err);

/* Zeroed memory that lives as long as a read-only transaction, for the layers above to cache results
 * that hold for its snapshot (lib/fpset.c keeps its last range sums there). NULL for a write
 * transaction, whose view changes with every put. */
#define RK_TXN_SCRATCH_LEN 512
void *rk_txn_scratch(rk_txn *t);
/* fn(scratch) runs once when the read-only transaction ends (commit or abort), so a cache kept there
 * can own heap memory. One function per transaction; a later call replaces it. */
void rk_txn_scratch_cleanup(rk_txn *t, void (*fn)(void *scratch));

/* ---- what read transactions keep across transactions ---------------------------------------------- */

/* The id of the snapshot a read-only transaction sees, or the id a write transaction commits as. */
uint64_t rk_txn_id(const rk_txn *t);
/* A write transaction notes, before it commits, that it changes what read transactions keep across
 * transactions (lib/fpcache.c: the RBSR sets' trie nodes). Harmless if it then aborts. */
void rk_txn_mark_shared(rk_txn *t);
/* For a read-only transaction: true when what was read from snapshot `since` still holds for its own
 * snapshot: no write marked since the older of the two, and every commit up to its snapshot was made
 * through this store handle (a commit by another process or handle is not marked, so a snapshot
 * past one is never answered from what was kept). */
bool rk_txn_shared_valid(const rk_txn *t, uint64_t since);
/* The store's one object kept across transactions, made by make() on first call (NULL if make
 * fails) and destroyed by destroy() when the store closes. Every caller passes the same pair. */
void *rk_txn_store_shared(rk_txn *t, void *(*make)(void), void (*destroy)(void *obj));
/* Memory that lives as long as t: free(p) runs when t ends (commit or abort), so t can hand out
 * pointers valid for its life that do not point into the map (decompressed envelopes). 0, or -1 with
 * err filled (p has then been freed). */
int rk_txn_hold(rk_txn *t, void *p, rk_error *err);

/* The in-memory form of the store's envelope dictionary (lib/envcodec.c), opaque here; free_fn frees
 * it. rk_txn_envdict gives the one t made itself (not committed yet), else the store's, else NULL. */
void *rk_txn_envdict(rk_txn *t);
/* The store's dictionary outside any transaction, for threads that compress envelopes ahead of the
 * writer: NULL until a transaction has read it from `meta` or committed the one it made. It never
 * changes once set, and lives as long as the store. */
void *rk_store_envdict(rk_store *s);
/* Makes d, read from committed `meta`, the store's unless it has one already: returns the store's
 * (d, or the earlier one, and then d has been freed). */
void *rk_txn_envdict_share(rk_txn *t, void *d, void (*free_fn)(void *));
/* t made d and stored it in `meta`: t uses it until it ends; if t commits the store takes it (unless
 * it has one), otherwise it is freed, so the store never keeps a dictionary `meta` does not hold. */
void rk_txn_envdict_made(rk_txn *t, void *d, void (*free_fn)(void *));

/* One pointer that lives as long as the store, for what a write transaction leaves to a later one
 * (lib/rectokens.c keeps records' full-text tokens there until the batch that writes their postings).
 * Write transactions only: LMDB runs one at a time, so what the slot holds needs no lock. free_fn runs
 * on it when the store closes. NULL for a read-only transaction. */
void **rk_txn_write_slot(rk_txn *t, void (*free_fn)(void *));

/* Work a write transaction leaves to its commit, and the place where it gathers it (NULL at first; the
 * caller keeps its context there). run(t, ctx) runs first in rk_txn_commit, inside t; if it fails, t
 * is aborted and the commit reports run's error. free_fn(ctx) runs when t ends, committed or not. One
 * per transaction (lib/latefilters.c); NULL for a read-only transaction. */
void **rk_txn_deferred(rk_txn *t, int (*run)(rk_txn *t, void *ctx, rk_error *err), void (*free_fn)(void *ctx));

static inline MDB_val rk_mdb_val(const void *p, size_t n)
{
    MDB_val v = {.mv_size = n, .mv_data = (void *)p};
    return v;
}

#endif
