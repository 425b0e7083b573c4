/* regions: the directory of nodes this node holds records from (GET /v1/regions), each named by its
 * newest region profile.
 *
 * Invariants: public and network records count, local ones never (they do not leave their node);
 * an author without a profile still appears, under its roster name or key; the list is sorted by
 * prefecture code, then key, so the answer is stable.
 */
#include "regions.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "query.h"
#include "taxonomy.h"

typedef struct region_entry {
    uint8_t key[RK_KEY_LEN];
    uint64_t records, last_version, profile_version;
    rk_record profile; /* the author's newest region profile, if any (msg NULL when none) */
} region_entry;

typedef struct region_acc {
    region_entry *v;
    size_t n, cap;
    int failed;
} region_acc;

static int regions_cb(const rk_record *rec, void *ctx)
{
    region_acc *a = ctx;
    const Renkei__Record *r = rec->msg;
    if (!r || r->author.len != RK_KEY_LEN)
        return 0;
    region_entry *e = NULL;
    for (size_t i = 0; i < a->n; i++)
        if (memcmp(a->v[i].key, r->author.data, RK_KEY_LEN) == 0) {
            e = &a->v[i];
            break;
        }
    if (!e) {
        region_entry *v = rk_grow(a->v, &a->cap, a->n + 1, sizeof *v);
        if (!v) {
            a->failed = 1;
            return 1;
        }
        a->v = v;
        e = &a->v[a->n++];
        memset(e, 0, sizeof *e);
        memcpy(e->key, r->author.data, RK_KEY_LEN);
    }
    e->records++;
    if (r->version > e->last_version)
        e->last_version = r->version;
    if (r->body_case == RENKEI__RECORD__BODY_REGION && r->region && r->version > e->profile_version) {
        rk_record copy;
        if (rk_record_clone(rec, &copy) != 0) {
            a->failed = 1;
            return 1;
        }
        if (e->profile.msg)
            rk_record_free(&e->profile);
        e->profile = copy;
        e->profile_version = r->version;
    }
    return 0;
}

static int cmp_region(const void *a, const void *b)
{
    const region_entry *x = a, *y = b;
    const char *px = x->profile.msg ? x->profile.msg->region->prefecture : "";
    const char *py = y->profile.msg ? y->profile.msg->region->prefecture : "";
    int c = strcmp(px ? px : "", py ? py : "");
    return c ? c : memcmp(x->key, y->key, RK_KEY_LEN);
}

static int jset(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v);
}

static json_t *region_json(const region_entry *e, const rk_feed_meta *m)
{
    char hex[2 * RK_KEY_LEN + 1], ver[32];
    rk_hex_encode(e->key, RK_KEY_LEN, hex);
    rk_format_rfc3339((int64_t)(e->last_version / 1000), 0, true, ver);
    const char *roster = m && m->author_name ? m->author_name(e->key, m->ctx) : NULL;
    const Renkei__RegionProfile *g = e->profile.msg ? e->profile.msg->region : NULL;
    const char *name = g && g->name && *g->name ? g->name : roster && *roster ? roster : hex;
    const char *kind = g ? rk_taxonomy_code(&renkei__node_kind__descriptor, (int)g->node_kind) : NULL;
    const char *pref = g && g->prefecture ? g->prefecture : "";
    const char *pname = rk_prefecture_name(pref);
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (jset(o, "name", json_string(name)) || jset(o, "roster_name", roster ? json_string(roster) : json_null()) ||
        jset(o, "kind", kind ? json_string(kind) : json_null()) ||
        jset(o, "prefecture", *pref ? json_string(pref) : json_null()) ||
        jset(o, "prefecture_name", pname ? json_string(pname) : json_null()) || jset(o, "key", json_string(hex)) ||
        jset(o, "last_record_version", json_string(ver)) || jset(o, "records", json_integer((json_int_t)e->records)))
        goto fail;
    if (g) {
        char id[RK_ID_MAX];
        rk_record_id(e->key, e->profile.msg->rid, id);
        const char *org = g->coordinating_organisation;
        if (jset(o, "profile_id", json_string(id)) ||
            jset(o, "coordinating_organisation", org && *org ? json_string(org) : json_null()) ||
            jset(o, "website", g->website && *g->website ? json_string(g->website) : json_null()))
            goto fail;
    } else if (jset(o, "profile_id", json_null())) {
        goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *rk_regions_json(rk_txn *t, const rk_feed_meta *m, rk_error *err)
{
    region_acc a = {0};
    rk_query q = {.max_visibility = RENKEI__VISIBILITY__VISIBILITY_NETWORK};
    char cursor[RK_CURSOR_MAX];
    json_t *j = NULL;
    if (rk_store_query(t, &q, regions_cb, &a, cursor, err) != 0 || a.failed) {
        if (a.failed)
            rk_fail(err, "internal", "", "out of memory");
        goto done;
    }
    qsort(a.v, a.n, sizeof *a.v, cmp_region);
    j = json_object();
    json_t *arr = json_array();
    bool bad = !j || jset(j, "regions", arr) || jset(j, "count", json_integer((json_int_t)a.n));
    for (size_t i = 0; i < a.n && !bad; i++)
        bad = json_array_append_new(arr, region_json(&a.v[i], m)) != 0;
    if (bad) {
        json_decref(j);
        j = NULL;
        rk_fail(err, "internal", "", "out of memory");
    }
done:
    for (size_t i = 0; i < a.n; i++)
        if (a.v[i].profile.msg)
            rk_record_free(&a.v[i].profile);
    free(a.v);
    return j;
}
