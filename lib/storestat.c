/* storestat: gauges of the store for /metrics.
 *
 * Invariants: nothing here walks the records. The kind counts are the store's own counters
 * (rk_store_counts). Visibility comes from the two reconciliation sets, whose counts the fingerprint
 * index answers in O(log n): set0 holds the public current versions, set1 public and network, and
 * neither holds local ones, so network = set1 - set0 and local = every current version - set1
 * (tombstones count under the visibility their record had, as the sets keep them). Map use is LMDB's
 * last written page, which is what map_size has to hold.
 */
#include "storestat.h"

#include <lmdb.h>
#include <string.h>

#include "fpset.h"
#include "txn.h"

static int set_count(rk_txn *t, int set, uint64_t *n, rk_error *err)
{
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN], fp[RK_FP_LEN];
    memset(lo, 0, sizeof lo);
    memset(hi, 0xFF, sizeof hi); /* an exclusive bound no version(be64) || hash reaches in practice */
    return rk_store_set_fingerprint(t, set, lo, hi, n, fp, err);
}

int rk_storestat_read(rk_txn *t, rk_storestat *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_env *env = mdb_txn_env(txn);
    MDB_envinfo info;
    MDB_stat st;
    int rc = mdb_env_info(env, &info);
    if (rc == 0)
        rc = mdb_env_stat(env, &st);
    if (rc != 0)
        return rk_fail(err, "store", "", "reading the map's size: %s", mdb_strerror(rc));
    out->map_size = (uint64_t)info.me_mapsize;
    out->map_used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    struct rk_store_counts c;
    uint64_t pub = 0, members = 0;
    if (rk_store_counts(t, &c, err) != 0 || set_count(t, RK_SET_PUBLIC, &pub, err) != 0 ||
        set_count(t, RK_SET_MEMBERS, &members, err) != 0)
        return -1;
    memcpy(out->by_kind, c.by_kind, sizeof out->by_kind);
    uint64_t all = c.current + c.by_kind[RENKEI__KIND__KIND_TOMBSTONE];
    out->by_visibility[RENKEI__VISIBILITY__VISIBILITY_PUBLIC] = pub;
    out->by_visibility[RENKEI__VISIBILITY__VISIBILITY_NETWORK] = members >= pub ? members - pub : 0;
    out->by_visibility[RENKEI__VISIBILITY__VISIBILITY_LOCAL] = all >= members ? all - members : 0;
    return 0;
}
