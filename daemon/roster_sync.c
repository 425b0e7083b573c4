/* roster_sync: see roster_sync.h. The items come from the store's kind index (one query per
 * membership kind), so listing them costs in proportion to the membership records, never to the
 * whole store. Membership records are always public (lib/validate.c), so the list is the same for
 * every peer, member or not. */
#include "roster_sync.h"

#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "renkei.pb-c.h"

/* The items gathered so far (RK_ITEM_LEN bytes each, in query order); oom once an append failed. */
typedef struct gathered {
    rk_buf items;
    bool oom;
} gathered;

static int gather_item(const rk_record *rec, void *ctx)
{
    gathered *g = ctx;
    uint8_t item[RK_ITEM_LEN];
    rk_put_be64(item, rec->msg->version);
    memcpy(item + 8, rec->hash, RK_HASH_LEN);
    if (rk_buf_append(&g->items, item, sizeof item) != 0) {
        g->oom = true;
        return 1;
    }
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    return memcmp(a, b, RK_ITEM_LEN);
}

int rk_roster_sync_items(rk_store *store, rk_buf *out, rk_error *err)
{
    static const int kinds[] = {RENKEI__KIND__KIND_ENDORSE, RENKEI__KIND__KIND_ROTATE, RENKEI__KIND__KIND_REVOKE};
    rk_txn *t;
    if (rk_txn_begin(store, false, &t, err) != 0)
        return -1;
    gathered g = {.oom = false};
    rk_buf_init(&g.items);
    int rc = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && rc == 0; k++) {
        rk_query q = {.kind = kinds[k], .max_visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC};
        char next[RK_CURSOR_MAX];
        rc = rk_store_query(t, &q, gather_item, &g, next, err);
        if (g.oom)
            rc = rk_fail(err, "no_memory", "", "out of memory while listing membership records");
    }
    rk_txn_abort(t);
    size_t all = g.items.len / RK_ITEM_LEN;
    if (rc == 0) {
        if (all) /* qsort of a NULL array is undefined even for 0 items */
            qsort(g.items.data, all, RK_ITEM_LEN, item_cmp);
        size_t n = all < RK_ROSTER_SYNC_MAX_ITEMS ? all : RK_ROSTER_SYNC_MAX_ITEMS;
        if (n && rk_buf_append(out, g.items.data, n * RK_ITEM_LEN) != 0)
            rc = rk_fail(err, "no_memory", "", "out of memory");
    }
    rk_buf_free(&g.items);
    return rc;
}

const char *rk_roster_sync_check(const uint8_t *items, size_t len)
{
    if (len % RK_ITEM_LEN != 0)
        return "bad_field";
    if (len / RK_ITEM_LEN > RK_ROSTER_SYNC_MAX_ITEMS)
        return "too_many";
    for (size_t i = RK_ITEM_LEN; i < len; i += RK_ITEM_LEN)
        if (memcmp(items + i - RK_ITEM_LEN, items + i, RK_ITEM_LEN) >= 0)
            return "bad_field";
    return NULL;
}

int rk_roster_sync_diff(const uint8_t *ours, size_t n_ours, const uint8_t *theirs, size_t n_theirs, rk_buf *need,
                        rk_buf *have)
{
    size_t i = 0, j = 0;
    while (i < n_ours || j < n_theirs) {
        int c = i == n_ours     ? 1
                : j == n_theirs ? -1
                                : memcmp(ours + i * RK_ITEM_LEN, theirs + j * RK_ITEM_LEN, RK_ITEM_LEN);
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            if (rk_buf_append(have, ours + i++ * RK_ITEM_LEN, RK_ITEM_LEN) != 0)
                return -1;
        } else {
            if (rk_buf_append(need, theirs + j++ * RK_ITEM_LEN + 8, RK_HASH_LEN) != 0)
                return -1;
        }
    }
    return 0;
}
