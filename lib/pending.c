/* pending: records of non-members kept aside (see pending.h for the layout and the invariants).
 * Counting one author's records walks its key range, at most per_author keys, so the cost of a
 * stranger's record stays bounded whatever it sends; the total is the order database's entry count. */
#include "pending.h"

#include <stdlib.h>
#include <string.h>

#define KEY_LEN (RK_KEY_LEN + RK_HASH_LEN)
#define VAL_HEAD (8 + 8 + 1)        /* received_ms, seq, own */
#define ORDER_VAL (KEY_LEN + 1 + 8) /* author || hash, own, received_ms */

void rk_pending_policy_default(rk_pending_policy *p)
{
    p->per_author = RK_PENDING_DEFAULT_PER_AUTHOR;
    p->total = RK_PENDING_DEFAULT_TOTAL;
    p->keep_ms = (uint64_t)RK_PENDING_DEFAULT_KEEP_S * 1000;
}

static void aside_key(const uint8_t author[RK_KEY_LEN], const uint8_t hash[RK_HASH_LEN], uint8_t out[KEY_LEN])
{
    memcpy(out, author, RK_KEY_LEN);
    memcpy(out + RK_KEY_LEN, hash, RK_HASH_LEN);
}

/* How many records of author are kept, counting up to limit (and a little past it). */
static int author_count(rk_txn *t, const uint8_t author[RK_KEY_LEN], uint64_t limit, uint64_t *out, rk_error *err)
{
    *out = 0;
    MDB_cursor *c;
    if (rk_txn_cursor(t, RK_DB_ASIDE, &c, "pending: cursor", err) != 0)
        return -1;
    uint8_t start[KEY_LEN];
    memcpy(start, author, RK_KEY_LEN);
    memset(start + RK_KEY_LEN, 0, RK_HASH_LEN);
    MDB_val k = rk_mdb_val(start, KEY_LEN), v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == KEY_LEN && memcmp(k.mv_data, author, RK_KEY_LEN) == 0 && *out <= limit) {
        ++*out;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    rk_txn_cursor_close(t, c);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : rk_txn_fail(t, rc, "pending: count", err);
}

int rk_pending_room(rk_txn *t, const rk_pending_policy *p, const rk_record *rec, bool own, rk_error *err)
{
    uint8_t key[KEY_LEN];
    aside_key(rec->msg->author.data, rec->hash, key);
    MDB_val v;
    int found = rk_txn_get(t, RK_DB_ASIDE, key, KEY_LEN, &v, err);
    if (found < 0)
        return -1;
    if (found)
        return rk_fail(err, "duplicate", "", "this record is already kept aside until its author is admitted"), 0;
    if (own)
        return 1;
    uint64_t n;
    if (author_count(t, rec->msg->author.data, p->per_author, &n, err) != 0)
        return -1;
    if (n >= p->per_author || p->total == 0)
        return rk_fail(err, "pending_full", "author",
                       "the author is not a member, and this node keeps no more of its records aside (%llu)",
                       (unsigned long long)p->per_author),
               0;
    return 1;
}

static int delete_entry(rk_txn *t, const uint8_t key[KEY_LEN], uint64_t seq, rk_error *err)
{
    uint8_t sk[8];
    rk_put_be64(sk, seq);
    if (rk_txn_del(t, RK_DB_ASIDE, key, KEY_LEN, err) != 0 || rk_txn_del(t, RK_DB_ASIDE_ORDER, sk, 8, err) != 0)
        return -1;
    return 0;
}

/* Walks aside_order from the oldest; for each entry that `pick` accepts, deletes it, until `pick`
 * says stop (returns -1) or `max` were deleted. */
typedef int (*order_pick)(const uint8_t *val, void *ctx); /* 1 delete, 0 skip, -1 stop */

static int walk_order(rk_txn *t, order_pick pick, void *ctx, uint64_t max, uint64_t *deleted, rk_error *err)
{
    *deleted = 0;
    while (*deleted < max) {
        MDB_cursor *c;
        if (rk_txn_cursor(t, RK_DB_ASIDE_ORDER, &c, "pending: cursor", err) != 0)
            return -1;
        MDB_val k, v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        int choice = 0;
        while (rc == 0 && v.mv_size == ORDER_VAL && k.mv_size == 8 && (choice = pick(v.mv_data, ctx)) == 0)
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        uint8_t key[KEY_LEN];
        uint64_t seq = 0;
        if (rc == 0 && choice == 1) {
            memcpy(key, v.mv_data, KEY_LEN);
            seq = rk_get_be64(k.mv_data);
        }
        rk_txn_cursor_close(t, c);
        if (rc == MDB_NOTFOUND || (rc == 0 && choice != 1))
            return 0;
        if (rc != 0)
            return rk_txn_fail(t, rc, "pending: order", err);
        if (delete_entry(t, key, seq, err) != 0)
            return -1;
        ++*deleted;
    }
    return 0;
}

static int pick_not_own(const uint8_t *val, void *ctx)
{
    (void)ctx;
    return val[KEY_LEN] ? 0 : 1;
}

int rk_pending_count(rk_txn *t, uint64_t *out, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_stat st;
    int rc = mdb_stat(txn, rk_txn_dbi(t, RK_DB_ASIDE_ORDER), &st);
    if (rc != 0)
        return rk_txn_fail(t, rc, "pending: stat", err);
    *out = st.ms_entries;
    return 0;
}

int rk_pending_put(rk_txn *t, const rk_pending_policy *p, const rk_record *rec, bool own, uint64_t now_ms,
                   uint64_t *evicted, rk_error *err)
{
    if (evicted)
        *evicted = 0;
    uint64_t total = 0;
    if (rk_pending_count(t, &total, err) != 0)
        return -1;
    if (!own && total >= p->total) {
        uint64_t n;
        if (walk_order(t, pick_not_own, NULL, total - p->total + 1, &n, err) != 0)
            return -1;
        if (evicted)
            *evicted = n;
    }
    /* the next sequence number follows the newest entry */
    MDB_cursor *c;
    if (rk_txn_cursor(t, RK_DB_ASIDE_ORDER, &c, "pending: cursor", err) != 0)
        return -1;
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    uint64_t seq = rc == 0 && k.mv_size == 8 ? rk_get_be64(k.mv_data) + 1 : 1;
    if (rk_txn_cursor_done(t, c, rc, "pending: last", err) != 0)
        return -1;

    uint8_t key[KEY_LEN], sk[8], ov[ORDER_VAL];
    aside_key(rec->msg->author.data, rec->hash, key);
    rk_put_be64(sk, seq);
    memcpy(ov, key, KEY_LEN);
    ov[KEY_LEN] = own;
    rk_put_be64(ov + KEY_LEN + 1, now_ms);
    uint8_t *val = malloc(VAL_HEAD + rec->env_len);
    if (!val)
        return rk_fail(err, "no_memory", "", "out of memory");
    rk_put_be64(val, now_ms);
    rk_put_be64(val + 8, seq);
    val[16] = own;
    memcpy(val + VAL_HEAD, rec->env, rec->env_len);
    int r = rk_txn_put(t, RK_DB_ASIDE, key, KEY_LEN, val, VAL_HEAD + rec->env_len, err);
    free(val);
    if (r != 0 || rk_txn_put(t, RK_DB_ASIDE_ORDER, sk, 8, ov, ORDER_VAL, err) != 0)
        return -1;
    return 0;
}

void rk_pending_list_free(rk_pending_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].env);
    free(l->items);
    memset(l, 0, sizeof *l);
}

int rk_pending_authors(rk_txn *t, rk_pending_author_cb cb, void *ctx, rk_error *err)
{
    uint8_t next[KEY_LEN];
    memset(next, 0, sizeof next);
    for (;;) {
        MDB_cursor *c;
        if (rk_txn_cursor(t, RK_DB_ASIDE, &c, "pending: cursor", err) != 0)
            return -1;
        MDB_val k = rk_mdb_val(next, KEY_LEN), v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        uint8_t author[RK_KEY_LEN];
        if (rc == 0 && k.mv_size == KEY_LEN)
            memcpy(author, k.mv_data, RK_KEY_LEN);
        rk_txn_cursor_close(t, c);
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc != 0)
            return rk_txn_fail(t, rc, "pending: authors", err);
        if (k.mv_size != KEY_LEN)
            return rk_fail(err, "store_corrupt", "", "a record kept aside has a malformed key");
        /* cb may take the author's records out: the walk continues after the author, not the key */
        if (cb(author, ctx) != 0)
            return 0;
        memcpy(next, author, RK_KEY_LEN);
        memset(next + RK_KEY_LEN, 0xff, RK_HASH_LEN);
        /* the next author starts above author || ff..ff; a hash of all ff is skipped, which cannot
         * happen for SHA-256 in practice and would only delay that record's promotion */
        size_t i = KEY_LEN;
        while (i > 0 && ++next[i - 1] == 0)
            i--;
        if (i == 0)
            return 0;
    }
}

int rk_pending_take(rk_txn *t, const uint8_t author[RK_KEY_LEN], rk_pending_list *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    for (;;) {
        MDB_cursor *c;
        if (rk_txn_cursor(t, RK_DB_ASIDE, &c, "pending: cursor", err) != 0)
            break;
        uint8_t start[KEY_LEN];
        memcpy(start, author, RK_KEY_LEN);
        memset(start + RK_KEY_LEN, 0, RK_HASH_LEN);
        MDB_val k = rk_mdb_val(start, KEY_LEN), v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        bool mine = rc == 0 && k.mv_size == KEY_LEN && memcmp(k.mv_data, author, RK_KEY_LEN) == 0;
        uint8_t key[KEY_LEN];
        uint64_t seq = 0;
        rk_pending_entry e = {0};
        if (mine && v.mv_size > VAL_HEAD) {
            memcpy(key, k.mv_data, KEY_LEN);
            const uint8_t *p = v.mv_data;
            seq = rk_get_be64(p + 8);
            e.own = p[16];
            e.len = v.mv_size - VAL_HEAD;
            e.env = malloc(e.len);
            if (e.env)
                memcpy(e.env, p + VAL_HEAD, e.len);
        }
        rk_txn_cursor_close(t, c);
        if (rc != 0 && rc != MDB_NOTFOUND) {
            rk_txn_fail(t, rc, "pending: take", err);
            break;
        }
        if (!mine)
            return 0;
        if (!e.env) {
            rk_fail(err, e.len ? "no_memory" : "store_corrupt", "", "cannot read a record kept aside");
            break;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 8;
            rk_pending_entry *ni = realloc(out->items, cap * sizeof *ni);
            if (!ni) {
                free(e.env);
                rk_fail(err, "no_memory", "", "out of memory");
                break;
            }
            out->items = ni;
        }
        out->items[out->n++] = e;
        if (delete_entry(t, key, seq, err) != 0)
            break;
    }
    rk_pending_list_free(out);
    return -1;
}

typedef struct expire_ctx {
    uint64_t before;
} expire_ctx;

static int pick_expired(const uint8_t *val, void *ctx)
{
    const expire_ctx *e = ctx;
    if (val[KEY_LEN])
        return 0; /* own: kept until promoted */
    return rk_get_be64(val + KEY_LEN + 1) < e->before ? 1 : -1;
}

int rk_pending_expire(rk_txn *t, const rk_pending_policy *p, uint64_t now_ms, uint64_t *dropped, rk_error *err)
{
    expire_ctx e = {.before = now_ms > p->keep_ms ? now_ms - p->keep_ms : 0};
    return walk_order(t, pick_expired, &e, UINT64_MAX, dropped, err);
}
