/* jsoncache: a byte-bounded LRU of rendered record JSON (the rules are in jsoncache.h).
 *
 * Invariants: every entry is both in `by_hash` (keyed by its own hash bytes) and in `lru` (most
 * recent at the head) through its embedded link, and `bytes` is the sum of the entries' costs, never
 * above max_bytes; an entry is one allocation holding its JSON and then its name, so freeing it
 * frees everything it counts. Tombstones and renderings larger than the whole bound are not stored.
 * An entry keeps its author's key, so a lookup by hash alone (a query walk that has not loaded the
 * record) resolves the name the view would show and compares it as a lookup with the record does.
 */
#include "jsoncache.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "recview.h"

/* A GHashTable slot is a hash, a key and a value pointer, with the table at most about half full. */
#define JC_TABLE_SHARE (2 * (sizeof(guint) + 2 * sizeof(void *)))

typedef struct jc_entry {
    uint8_t hash[RK_HASH_LEN];
    uint8_t author[RK_KEY_LEN]; /* whose roster name the JSON shows, for a lookup by hash alone */
    int visibility;
    bool has_name;
    size_t len, cost;
    GList link;  /* in lru; data is the entry */
    char data[]; /* the JSON (len bytes), then the name and its NUL when has_name */
} jc_entry;

struct rk_jsoncache {
    GMutex mu;
    GHashTable *by_hash;
    GQueue lru;
    size_t max_bytes, bytes;
    uint64_t hits, misses;
};

static guint jc_hash(gconstpointer key)
{
    guint h; /* a SHA-256 is uniform already: its first bytes are the bucket */
    memcpy(&h, key, sizeof h);
    return h;
}

static gboolean jc_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, RK_HASH_LEN) == 0;
}

rk_jsoncache *rk_jsoncache_new(size_t max_bytes)
{
    rk_jsoncache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->by_hash = g_hash_table_new(jc_hash, jc_equal);
    g_mutex_init(&c->mu);
    g_queue_init(&c->lru);
    c->max_bytes = max_bytes;
    return c;
}

void rk_jsoncache_free(rk_jsoncache *c)
{
    if (!c)
        return;
    GList *l;
    while ((l = g_queue_pop_head_link(&c->lru)))
        free(l->data);
    g_hash_table_destroy(c->by_hash);
    g_mutex_clear(&c->mu);
    free(c);
}

static const char *jc_name(const jc_entry *e)
{
    return e->has_name ? e->data + e->len : NULL;
}

static bool jc_same_name(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Called with mu held. */
static void jc_remove(rk_jsoncache *c, jc_entry *e)
{
    g_hash_table_remove(c->by_hash, e->hash);
    g_queue_unlink(&c->lru, &e->link);
    c->bytes -= e->cost;
    free(e);
}

/* The entry's JSON appended to out when it may be shown under the ceiling max_visibility with the
 * author name `name` (1), else nothing (0); -1 out of memory. Called with mu held. */
static int jc_serve(rk_jsoncache *c, jc_entry *e, int max_visibility, const char *name, rk_buf *out)
{
    if (e->visibility > max_visibility || !jc_same_name(jc_name(e), name))
        return 0;
    if (rk_buf_append(out, e->data, e->len) != 0)
        return -1;
    c->hits++;
    g_queue_unlink(&c->lru, &e->link);
    g_queue_push_head_link(&c->lru, &e->link);
    return 1;
}

int rk_jsoncache_get(rk_jsoncache *c, const uint8_t hash[RK_HASH_LEN], const rk_jsonview *view, rk_buf *out)
{
    g_mutex_lock(&c->mu);
    jc_entry *e = g_hash_table_lookup(c->by_hash, hash);
    int rc = e ? jc_serve(c, e, view->max_visibility, view->author_name, out) : 0;
    g_mutex_unlock(&c->mu);
    return rc;
}

int rk_jsoncache_get_hash(rk_jsoncache *c, const uint8_t hash[RK_HASH_LEN], int max_visibility,
                          rk_jsoncache_name_fn name, void *name_ctx, rk_buf *out)
{
    g_mutex_lock(&c->mu);
    jc_entry *e = g_hash_table_lookup(c->by_hash, hash);
    int rc = e ? jc_serve(c, e, max_visibility, name(e->author, name_ctx), out) : 0;
    g_mutex_unlock(&c->mu);
    return rc;
}

/* A new entry holding a copy of json as rec's rendering for name, or NULL when it is not to be kept
 * (a tombstone, an author that is not a key, larger than the whole bound) or memory ran out: it is then rendered again next time. */
static jc_entry *jc_entry_new(const rk_jsoncache *c, const rk_record *rec, const char *name, const char *json,
                              size_t len)
{
    size_t name_size = name ? strlen(name) + 1 : 0;
    size_t cost = sizeof(jc_entry) + len + name_size + JC_TABLE_SHARE;
    if (rec->msg->kind == RENKEI__KIND__KIND_TOMBSTONE || rec->msg->author.len != RK_KEY_LEN || cost > c->max_bytes)
        return NULL;
    jc_entry *e = malloc(sizeof(jc_entry) + len + name_size);
    if (!e)
        return NULL;
    memcpy(e->hash, rec->hash, RK_HASH_LEN);
    memcpy(e->author, rec->msg->author.data, RK_KEY_LEN);
    e->visibility = rec->msg->visibility;
    e->has_name = name != NULL;
    e->len = len;
    e->cost = cost;
    e->link = (GList){.data = e};
    memcpy(e->data, json, len);
    if (name)
        memcpy(e->data + len, name, name_size);
    return e;
}

/* Called with mu held. */
static void jc_store(rk_jsoncache *c, jc_entry *e)
{
    jc_entry *old = g_hash_table_lookup(c->by_hash, e->hash);
    if (old) /* rendered for another name, or by another thread meanwhile: the newest wins */
        jc_remove(c, old);
    while (c->bytes + e->cost > c->max_bytes)
        jc_remove(c, g_queue_peek_tail(&c->lru));
    g_hash_table_insert(c->by_hash, e->hash, e);
    g_queue_push_head_link(&c->lru, &e->link);
    c->bytes += e->cost;
}

int rk_jsoncache_append(rk_jsoncache *c, const rk_record *rec, const rk_jsonview *view, rk_buf *out)
{
    if (!rec->msg || (int)rec->msg->visibility > view->max_visibility)
        return -1;
    int rc = rk_jsoncache_get(c, rec->hash, view, out);
    if (rc != 0)
        return rc == 1 ? 0 : -1;
    size_t start = out->len;
    if (rk_record_json_append(rec, view->author_name, out) != 0) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return -1;
    }
    jc_entry *e = jc_entry_new(c, rec, view->author_name, out->data + start, out->len - start);
    g_mutex_lock(&c->mu);
    c->misses++;
    if (e)
        jc_store(c, e);
    g_mutex_unlock(&c->mu);
    return 0;
}

void rk_jsoncache_take_counts(rk_jsoncache *c, rk_jsoncache_counts *out)
{
    g_mutex_lock(&c->mu);
    out->hits = c->hits;
    out->misses = c->misses;
    out->bytes = c->bytes;
    out->entries = g_hash_table_size(c->by_hash);
    c->hits = c->misses = 0;
    g_mutex_unlock(&c->mu);
}
