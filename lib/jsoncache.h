/* jsoncache: the API's JSON of records (lib/recjson.h), rendered once per record version and reused.
 *
 * A record version never changes (its hash is over its bytes), so its JSON depends only on the hash
 * and on the view: what a response shows of it. Today every route shows the same fields to everyone
 * it answers (the node's own coordinators), and the one part of the JSON that does not come from the
 * record is the author's roster name ("provenance.node"), which a new roster can change. An entry is
 * keyed by the hash and holds the name it was rendered with and the record's visibility: a lookup
 * for another name misses (the new rendering replaces the entry), and a lookup by a view whose
 * visibility ceiling is below the record's is never served, so the cache cannot show a record to a
 * view that the store's own filters would hide it from. Tombstones are never cached, so a hit is a
 * live record. Nothing needs invalidating: a lookup always comes with a hash the store just gave as
 * current, and a superseded or removed version is simply no longer asked for and ages out.
 *
 * Memory: bounded by max_bytes, counting each entry's struct, JSON, name and its share of the hash
 * table, evicting the least recently used; 0 caches nothing (every record is rendered). Thread-safe:
 * one mutex, held to copy a hit (a few KiB) or insert; rendering is done outside it.
 */
#ifndef RENKEI_JSONCACHE_H
#define RENKEI_JSONCACHE_H

#include "record.h"

/* What a response shows of a record: the author's roster name (NULL: none) and the highest
 * visibility the reader may see (Renkei__Visibility). */
typedef struct rk_jsonview {
    const char *author_name;
    int max_visibility;
} rk_jsonview;

typedef struct rk_jsoncache rk_jsoncache;

typedef struct rk_jsoncache_counts {
    uint64_t hits, misses; /* since the last rk_jsoncache_take_counts */
    size_t bytes, entries; /* now */
} rk_jsoncache_counts;

/* NULL when out of memory. */
rk_jsoncache *rk_jsoncache_new(size_t max_bytes);
void rk_jsoncache_free(rk_jsoncache *c);
/* Appends the cached JSON of the record version `hash` as `view` shows it: 1 appended (a hit), 0 not
 * cached for this view (nothing appended, nothing counted: the caller renders with
 * rk_jsoncache_append, which counts the miss), -1 out of memory. */
int rk_jsoncache_get(rk_jsoncache *c, const uint8_t hash[RK_HASH_LEN], const rk_jsonview *view, rk_buf *out);
/* The roster name of an author for a lookup by hash alone, NULL when it has none; called with the
 * cache's lock held, so it must not use the cache. */
typedef const char *(*rk_jsoncache_name_fn)(const uint8_t author[RK_KEY_LEN], void *ctx);
/* rk_jsoncache_get for a caller that has the hash of a current version but not the record (a query
 * walk before it loads it, lib/query.h): the view is the ceiling max_visibility and the name that
 * name(author, name_ctx) gives the entry's own author. Same results; a record above the ceiling is a
 * miss, never served. */
int rk_jsoncache_get_hash(rk_jsoncache *c, const uint8_t hash[RK_HASH_LEN], int max_visibility,
                          rk_jsoncache_name_fn name, void *name_ctx, rk_buf *out);
/* Appends rec's JSON as `view` shows it, from the cache or rendered (rk_record_json_append) and then
 * cached. -1 (nothing appended) when out of memory or rendering fails, or when rec's visibility is
 * above the view's ceiling: a caller bug that fails closed. */
int rk_jsoncache_append(rk_jsoncache *c, const rk_record *rec, const rk_jsonview *view, rk_buf *out);
/* The hits and misses since the last call (and resets them), the bytes and entries held now. */
void rk_jsoncache_take_counts(rk_jsoncache *c, rk_jsoncache_counts *out);

#endif
