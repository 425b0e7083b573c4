/* members: the roster as this node computes it, kept as one current snapshot (see members.h). */
#include "members.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "charter_store.h"
#include "taxonomy.h"

/* The current snapshot and its holders. refs counts the node's own reference (while current) plus
 * every acquire not yet released; all under mu. */
typedef struct snapshot {
    rk_membership m; /* first: acquire hands out &snapshot.m */
    size_t refs;
} snapshot;

struct rk_members {
    pthread_mutex_t mu;
    snapshot *current;
};

int rk_members_charter(const rk_node *n, rk_charter *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    rk_charter held; /* members and names stay valid while the node runs (charter_store.h) */
    rk_charter_store_get(n->charter, &held, NULL);
    rk_charter_member *founding = calloc(held.founding_count ? held.founding_count : 1, sizeof *founding);
    if (!founding)
        return rk_fail(err, "no_memory", "", "out of memory");
    if (held.founding_count)
        memcpy(founding, held.founding, held.founding_count * sizeof *founding);
    out->threshold = held.threshold;
    out->founding = founding;
    out->founding_count = held.founding_count;
    return 0;
}

void rk_members_charter_free(rk_charter *c)
{
    free((void *)c->founding);
    memset(c, 0, sizeof *c);
}

int rk_members_compute(const rk_node *n, rk_txn *t, rk_membership *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    rk_charter charter;
    if (rk_members_charter(n, &charter, err) != 0)
        return -1;
    rk_membership_records r;
    int rc = rk_membership_records_read(t, &r, err);
    if (rc == 0)
        rc = rk_membership_records_compute(&charter, &r, out, NULL, err);
    rk_membership_records_free(&r);
    rk_members_charter_free(&charter);
    return rc;
}

/* ---------------------------------------------------------------------------- the snapshot */

int rk_members_start(rk_node *n, rk_error *err)
{
    rk_members *ms = calloc(1, sizeof *ms);
    if (!ms)
        return rk_fail(err, "no_memory", "", "out of memory");
    if (pthread_mutex_init(&ms->mu, NULL) != 0) {
        free(ms);
        return rk_fail(err, "internal", "", "pthread_mutex_init failed");
    }
    n->members = ms;
    rk_txn *t;
    rk_membership m;
    if (rk_txn_begin(n->store, false, &t, err) != 0)
        return -1;
    int rc = rk_members_compute(n, t, &m, err);
    rk_txn_abort(t);
    if (rc != 0)
        return -1;
    if (rk_members_publish(n, &m) != 0)
        return rk_fail(err, "no_memory", "", "out of memory");
    return 0;
}

static void snapshot_unref(snapshot *s)
{
    /* the caller dropped the last reference under mu; nobody can reach s any more */
    rk_membership_free(&s->m);
    free(s);
}

void rk_members_stop(rk_node *n)
{
    rk_members *ms = n->members;
    if (!ms)
        return;
    if (ms->current && --ms->current->refs == 0)
        snapshot_unref(ms->current);
    pthread_mutex_destroy(&ms->mu);
    free(ms);
    n->members = NULL;
}

const rk_membership *rk_members_acquire(rk_node *n)
{
    rk_members *ms = n->members;
    pthread_mutex_lock(&ms->mu);
    snapshot *s = ms->current;
    s->refs++;
    pthread_mutex_unlock(&ms->mu);
    return &s->m;
}

void rk_members_release(rk_node *n, const rk_membership *m)
{
    if (!m)
        return;
    rk_members *ms = n->members;
    snapshot *s = (snapshot *)(void *)m; /* m is the first member of its snapshot */
    pthread_mutex_lock(&ms->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&ms->mu);
    if (last)
        snapshot_unref(s);
}

int rk_members_publish(rk_node *n, rk_membership *m)
{
    rk_members *ms = n->members;
    snapshot *s = calloc(1, sizeof *s);
    if (!s) {
        rk_membership_free(m);
        return -1;
    }
    s->m = *m;
    memset(m, 0, sizeof *m);
    s->refs = 1;
    pthread_mutex_lock(&ms->mu);
    snapshot *old = ms->current;
    ms->current = s;
    bool last = old && --old->refs == 0;
    pthread_mutex_unlock(&ms->mu);
    if (last)
        snapshot_unref(old);
    return 0;
}

const char *rk_members_name(const rk_membership *m, const uint8_t key[RK_KEY_LEN])
{
    const rk_member_entry *e = m ? rk_membership_find(m, key) : NULL;
    return e && e->name && e->name[0] ? e->name : NULL;
}

bool rk_members_find_name(const rk_membership *m, const char *name, uint8_t key[RK_KEY_LEN])
{
    for (size_t i = 0; m && i < m->count; i++)
        if (m->entries[i].name && strcmp(m->entries[i].name, name) == 0) {
            memcpy(key, m->entries[i].key, RK_KEY_LEN);
            return true;
        }
    return false;
}

/* ---------------------------------------------------------------------------- JSON */

static json_t *hex_json(const uint8_t *p, size_t len)
{
    char hex[2 * RK_HASH_LEN + 1];
    if (len > RK_HASH_LEN)
        return NULL;
    rk_hex_encode(p, len, hex);
    return json_string(hex);
}

json_t *rk_members_summary_json(const rk_membership *m)
{
    return json_pack("{s:o, s:I, s:I}", "digest", hex_json(m->digest, RK_HASH_LEN), "members",
                     (json_int_t)m->member_count, "threshold", (json_int_t)m->threshold);
}

static json_t *keys_json(const uint8_t (*keys)[RK_KEY_LEN], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, hex_json(keys[i], RK_KEY_LEN)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *member_json(const rk_member_entry *e, const rk_node *n)
{
    json_t *urls = json_array();
    for (size_t i = 0; urls && i < e->url_count; i++)
        if (json_array_append_new(urls, json_string(e->urls[i])) != 0) {
            json_decref(urls);
            urls = NULL;
        }
    const char *kind = e->node_kind ? rk_taxonomy_code(&renkei__node_kind__descriptor, e->node_kind) : NULL;
    json_t *o =
        json_pack("{s:o, s:s, s:s?, s:s?, s:s?, s:s, s:b, s:b, s:I, s:o*, s:o*, s:o*, s:o*, s:o*}", "key",
                  hex_json(e->key, RK_KEY_LEN), "name", e->name, "kind", kind, "prefecture",
                  e->prefecture[0] ? e->prefecture : NULL, "municipality", e->municipality[0] ? e->municipality : NULL,
                  "status", rk_member_status_name(e->status), "self", memcmp(e->key, n->pub, RK_KEY_LEN) == 0,
                  "was_member", e->was_member, "since", (json_int_t)e->since, "endorsers",
                  keys_json(e->endorsers, e->endorser_count), "revokers", keys_json(e->revokers, e->revoker_count),
                  "urls", urls, "rotated_to", e->has_successor ? hex_json(e->successor, RK_KEY_LEN) : NULL,
                  "rotated_from", e->has_predecessor ? hex_json(e->predecessor, RK_KEY_LEN) : NULL);
    if (o && e->cutoff != UINT64_MAX &&
        json_object_set_new(o, "valid_until", json_integer((json_int_t)e->cutoff)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *rk_members_json(const rk_membership *m, const rk_node *n)
{
    json_t *list = json_array();
    json_t *j = json_pack("{s:o, s:I, s:I, s:o}", "digest", hex_json(m->digest, RK_HASH_LEN), "count",
                          (json_int_t)m->member_count, "threshold", (json_int_t)m->threshold, "members", list);
    if (!j) {
        json_decref(j);
        return NULL;
    }
    for (size_t i = 0; i < m->count; i++)
        if (json_array_append_new(list, member_json(&m->entries[i], n)) != 0) {
            json_decref(j);
            return NULL;
        }
    return j;
}
