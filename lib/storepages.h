/* storepages: where the pages of a store's file go, database by database.
 *
 * LMDB's mdb_stat counts only the main tree of a DUPSORT database, not the sub-trees that hold the
 * duplicates of each key; since store format 4 no database of the store is one, so what the file
 * holds beyond every tree, LMDB's catalogue of databases, the free list and the two meta pages should
 * be nothing, and is reported as `unaccounted` so that a figure never silently leaves pages out.
 * Read-only: nothing here changes the store. Used by tests/bench/bench_store and the tests of
 * the store's layout, so a disk figure and the test of it count the same way.
 */
#ifndef RENKEI_STOREPAGES_H
#define RENKEI_STOREPAGES_H

#include "txn.h"

typedef struct rk_storepages {
    size_t page_size;
    size_t used;                 /* pages up to the last one written: what the file holds */
    size_t pages[RK_DB_COUNT];   /* branch, leaf and overflow pages of each database's main tree */
    size_t entries[RK_DB_COUNT]; /* its entries (a DUPSORT database counts every duplicate) */
    size_t catalogue;            /* LMDB's main database, which names the others */
    size_t free;                 /* pages on the free list (reused by later writes) and of the list itself */
    size_t unaccounted;          /* the rest: pages in no tree (duplicate sub-trees, if any) */
} rk_storepages;

/* Fills out from the snapshot of t. 0, or -1 with err filled. */
int rk_storepages_read(rk_txn *t, rk_storepages *out, rk_error *err);

#endif
