/* storepages: where the pages of a store's file go (see storepages.h). The free list is LMDB's
 * database 0: each value is a list of page numbers whose first word is its length. */
#include "storepages.h"

#include <string.h>

static int free_pages(rk_txn *t, MDB_txn *txn, size_t *n, rk_error *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, 0, &c);
    if (rc != 0)
        return rk_txn_fail(t, rc, "opening a cursor on the free list", err);
    *n = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (v.mv_size >= sizeof(size_t)) {
            size_t len;
            memcpy(&len, v.mv_data, sizeof len);
            *n += len;
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rk_txn_fail(t, rc, "reading the free list", err);
}

int rk_storepages_read(rk_txn *t, rk_storepages *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_envinfo info;
    MDB_stat st, fst;
    int rc = mdb_env_info(mdb_txn_env(txn), &info);
    if (rc == 0)
        rc = mdb_env_stat(mdb_txn_env(txn), &st); /* the catalogue (LMDB's main database) */
    if (rc == 0)
        rc = mdb_stat(txn, 0, &fst); /* the free list's own tree */
    if (rc != 0)
        return rk_txn_fail(t, rc, "reading the page counts", err);
    out->page_size = st.ms_psize;
    out->used = info.me_last_pgno + 1;
    out->catalogue = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    size_t counted = 2 + out->catalogue;
    for (int db = 0; db < RK_DB_COUNT; db++) {
        rc = mdb_stat(txn, rk_txn_dbi(t, (rk_db)db), &st);
        if (rc != 0)
            return rk_txn_fail(t, rc, "reading the page counts", err);
        out->pages[db] = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
        out->entries[db] = st.ms_entries;
        counted += out->pages[db];
    }
    if (free_pages(t, txn, &out->free, err) != 0)
        return -1;
    out->free += fst.ms_branch_pages + fst.ms_leaf_pages + fst.ms_overflow_pages;
    counted += out->free;
    out->unaccounted = out->used > counted ? out->used - counted : 0;
    return 0;
}
