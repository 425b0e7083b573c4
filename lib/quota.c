/* quota: per-author limits on records and on the rate of new versions (see quota.h).
 *
 * The rate is a fixed window per author, started by the first counted version: simple, O(1) and
 * stateful only per active author; a burst across a window boundary can reach twice the limit, which
 * the limits' generous values make harmless. Authors are members of the roster, so the table is as
 * small as the network; it lives in a GLib hash table keyed by the 32-byte author key.
 */
#include "quota.h"

#include <glib.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

typedef struct author_state {
    uint8_t author[RK_KEY_LEN]; /* the table's key points here */
    bool records_known;
    uint64_t records;
    uint64_t window_start_ms;
    uint64_t versions; /* counted in the current window */
} author_state;

struct rk_quota {
    rk_quota_policy policy;
    GHashTable *authors;
};

void rk_quota_policy_default(rk_quota_policy *p)
{
    p->max_records = RK_QUOTA_RECORDS_DEFAULT;
    p->max_versions = RK_QUOTA_VERSIONS_DEFAULT;
    p->window_ms = (uint64_t)RK_QUOTA_WINDOW_S_DEFAULT * 1000;
}

/* author keys are Ed25519 public keys, uniformly distributed: their first bytes are a good hash */
static guint quota_author_hash(gconstpointer k)
{
    guint h;
    memcpy(&h, k, sizeof h);
    return h;
}

static gboolean quota_author_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, RK_KEY_LEN) == 0;
}

rk_quota *rk_quota_new(const rk_quota_policy *p)
{
    rk_quota *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->policy = *p;
    q->authors = g_hash_table_new_full(quota_author_hash, quota_author_equal, NULL, free);
    return q;
}

void rk_quota_free(rk_quota *q)
{
    if (!q)
        return;
    g_hash_table_destroy(q->authors);
    free(q);
}

/* Counts the author's entries in `current`, whose keys are author || rid. */
static int quota_count_records(rk_txn *t, const uint8_t author[RK_KEY_LEN], uint64_t *out, rk_error *err)
{
    MDB_cursor *cur;
    if (rk_txn_cursor(t, RK_DB_CURRENT, &cur, "counting an author's records", err) != 0)
        return -1;
    int rc;
    MDB_val k = rk_mdb_val(author, RK_KEY_LEN), v;
    uint64_t n = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < RK_KEY_LEN || memcmp(k.mv_data, author, RK_KEY_LEN) != 0)
            break;
        n++;
    }
    if (rk_txn_cursor_done(t, cur, rc, "counting an author's records", err) != 0)
        return -1;
    *out = n;
    return 0;
}

int rk_quota_admit(rk_quota *q, rk_txn *t, const uint8_t author[RK_KEY_LEN], uint64_t version, bool new_rid,
                   uint64_t now_ms, rk_error *err)
{
    const rk_quota_policy *p = &q->policy;
    bool rate_counted = p->max_versions && version + p->window_ms > now_ms;
    bool records_counted = p->max_records && new_rid;
    if (!rate_counted && !records_counted)
        return 0;
    author_state *s = g_hash_table_lookup(q->authors, author);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            rk_fail(err, "no_memory", "", "out of memory");
            return -1;
        }
        memcpy(s->author, author, RK_KEY_LEN);
        g_hash_table_insert(q->authors, s->author, s);
    }
    if (records_counted && !s->records_known) {
        if (quota_count_records(t, author, &s->records, err) != 0)
            return -1;
        s->records_known = true;
    }
    if (rate_counted && now_ms >= s->window_start_ms + p->window_ms) {
        s->window_start_ms = now_ms;
        s->versions = 0;
    }
    if (records_counted && s->records >= p->max_records) {
        rk_fail(err, "quota", "author", "the author already has %llu records, the limit of this node",
                (unsigned long long)s->records);
        return 1;
    }
    if (rate_counted && s->versions >= p->max_versions) {
        uint64_t wait_s = (s->window_start_ms + p->window_ms - now_ms + 999) / 1000;
        rk_fail(err, "quota", "author",
                "the author has published %llu versions within %llu s, the limit of this node; retry in %llu s",
                (unsigned long long)s->versions, (unsigned long long)(p->window_ms / 1000), (unsigned long long)wait_s);
        return 1;
    }
    if (records_counted)
        s->records++;
    if (rate_counted)
        s->versions++;
    return 0;
}

void rk_quota_forget(rk_quota *q)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, q->authors);
    while (g_hash_table_iter_next(&it, &k, &v))
        ((author_state *)v)->records_known = false;
}
