/* members: the roster as this node computes it (see members.h). The records are gathered with the
 * store's kind index, so the cost is one query per membership kind, in proportion to the number of
 * membership records, never to the whole store. */
#include "members.h"

#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "taxonomy.h"

typedef struct gathered {
    rk_record *recs;
    size_t n, cap;
    bool oom;
} gathered;

static int gather_one(const rk_record *rec, void *ctx)
{
    gathered *g = ctx;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        rk_record *nr = realloc(g->recs, cap * sizeof *nr);
        if (!nr) {
            g->oom = true;
            return 1;
        }
        g->recs = nr;
        g->cap = cap;
    }
    if (rk_record_clone(rec, &g->recs[g->n]) != 0) {
        g->oom = true;
        return 1;
    }
    g->n++;
    return 0;
}

int rk_members_compute(const rk_node *n, rk_txn *t, rk_membership *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    rk_charter_member *founding = calloc(n->roster.count ? n->roster.count : 1, sizeof *founding);
    if (!founding)
        return rk_fail(err, "no_memory", "", "out of memory");
    for (size_t i = 0; i < n->roster.count; i++) {
        const rk_member *m = &n->roster.members[i];
        memcpy(founding[i].key, m->key, RK_KEY_LEN);
        founding[i].name = m->is_self ? n->cfg->name : m->name;
        founding[i].node_kind = m->is_self ? n->cfg->kind : 0;
        founding[i].prefecture = m->is_self ? n->cfg->prefecture : NULL;
    }
    rk_charter charter = {
        .threshold = RK_MEMBERSHIP_DEFAULT_THRESHOLD, .founding = founding, .founding_count = n->roster.count};
    gathered g = {0};
    static const int kinds[] = {RENKEI__KIND__KIND_ENDORSE, RENKEI__KIND__KIND_ROTATE, RENKEI__KIND__KIND_REVOKE};
    int rc = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && rc == 0; k++) {
        rk_query q = {.kind = kinds[k], .max_visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC};
        char next[RK_CURSOR_MAX];
        rc = rk_store_query(t, &q, gather_one, &g, next, err);
        if (g.oom)
            rc = rk_fail(err, "no_memory", "", "out of memory while reading membership records");
    }
    const rk_record **ptrs = rc == 0 ? malloc((g.n ? g.n : 1) * sizeof *ptrs) : NULL;
    if (rc == 0 && !ptrs)
        rc = rk_fail(err, "no_memory", "", "out of memory");
    for (size_t i = 0; rc == 0 && i < g.n; i++)
        ptrs[i] = &g.recs[i];
    if (rc == 0)
        rc = rk_membership_compute(&charter, ptrs, g.n, out, NULL, err);
    free(ptrs);
    for (size_t i = 0; i < g.n; i++)
        rk_record_free(&g.recs[i]);
    free(g.recs);
    free(founding);
    return rc;
}

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
