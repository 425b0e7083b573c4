/* api_read: the local API's read-only handlers: status, one record, the record and event lists,
 * peers, exports and metrics (docs/api.md).
 *
 * Invariants: a read opens its own short LMDB read transaction and ends it before the response is
 * built further, so a slow client never holds a snapshot; handlers flagged API_POOL in api.c touch
 * nothing but immutable node fields, the store and the roster snapshot (daemon/members.h, acquired and
 * released within the handler), and leave gossip state (the "peers" part of the
 * status) to a `then` step on the loop thread. Query parameters are checked against each endpoint's
 * list, so a misspelt filter is a 400 rather than a silently wider answer.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "api_query.h"
#include "writer.h"
#include "members.h"
#include "export.h"
#include "gauges.h"
#include "gossip.h"
#include "jsonlist.h"
#include "metrics.h"
#include "query.h"
#include "recjson.h"
#include "spool.h"
#include "taxonomy.h"
#include "text.h"

/* ---------------------------------------------------------------------------- helpers */

/* Whom the local API and the web page answer: the node's own coordinators, who see every record. */
#define READ_CEILING RENKEI__VISIBILITY__VISIBILITY_LOCAL

const char *rk_api_author_name(const uint8_t author[RK_KEY_LEN], void *roster)
{
    return rk_members_name(roster, author);
}

static int read_begin(rk_api *a, rk_txn **t, rk_api_response *res)
{
    rk_error err;
    if (rk_txn_begin(a->node->store, false, t, &err) != 0) {
        rk_api_rk_error(res, &err);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------- GET /v1/status */

/* Loop thread: the peers summary is gossip state; it goes last, as it always has. */
static bool read_status_add_peers(rk_api *a, rk_http_req *req, const char *route, rk_api_response *res)
{
    (void)req;
    (void)route;
    json_t *peers = rk_gossip_summary_json(a->node->gossip);
    if (!peers || json_object_set_new(res->json, "peers", peers) != 0) {
        rk_api_json(res, 500, NULL);
        return true;
    }
    /* a store that cannot be written (full map, full disk) shows here as well as in the log */
    rk_writer_failure f = {0};
    if (a->node->writer)
        rk_writer_last_failure(a->node->writer, &f);
    json_t *failure = json_null();
    if (f.code[0]) {
        char ts[32];
        rk_format_rfc3339((int64_t)(f.at_ms / 1000), 0, true, ts);
        failure = json_pack("{s:s,s:s,s:I}", "code", f.code, "at", ts, "failures", (json_int_t)f.failures);
    }
    if (!failure || json_object_set_new(res->json, "last_store_failure", failure) != 0)
        rk_api_json(res, 500, NULL);
    return true;
}

void rk_api_get_status(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)req;
    (void)arg;
    rk_node *n = a->node;
    rk_txn *t;
    if (read_begin(a, &t, res) != 0)
        return;
    struct rk_store_counts c;
    rk_error err;
    uint8_t fp[2][RK_FP_LEN];
    uint64_t cnt[2];
    if (rk_store_counts(t, &c, &err) != 0 || rk_store_set_total(t, RK_SET_PUBLIC, &cnt[0], fp[0], &err) != 0 ||
        rk_store_set_total(t, RK_SET_MEMBERS, &cnt[1], fp[1], &err) != 0) {
        rk_txn_abort(t);
        rk_api_rk_error(res, &err);
        return;
    }
    rk_txn_abort(t);
    char fph[2][2 * RK_FP_LEN + 1];
    rk_hex_encode(fp[0], RK_FP_LEN, fph[0]);
    rk_hex_encode(fp[1], RK_FP_LEN, fph[1]);
    json_t *j = json_pack(
        "{s:s, s:s, s:s?, s:s, s:s, s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:{s:{s:I, s:s}, s:{s:I, s:s}}}", "name",
        n->cfg->name, "kind", rk_taxonomy_code(&renkei__node_kind__descriptor, n->cfg->kind), "prefecture",
        n->cfg->prefecture[0] ? n->cfg->prefecture : NULL, "key", n->pub_hex, "version", RENKEI_VERSION, "uptime_s",
        (json_int_t)((rk_now_ms() - n->started_ms) / 1000), "records", "total", (json_int_t)c.current, "case",
        (json_int_t)c.by_kind[RENKEI__KIND__KIND_CASE], "event", (json_int_t)c.by_kind[RENKEI__KIND__KIND_EVENT],
        "region", (json_int_t)c.by_kind[RENKEI__KIND__KIND_REGION], "tombstone",
        (json_int_t)c.by_kind[RENKEI__KIND__KIND_TOMBSTONE], "last_seq", (json_int_t)c.last_seq, "digest", "public",
        "count", (json_int_t)cnt[0], "fingerprint", fph[0], "members", "count", (json_int_t)cnt[1], "fingerprint",
        fph[1]);
    const rk_membership *roster = rk_members_acquire(n);
    json_t *summary = rk_members_summary_json(roster);
    rk_members_release(n, roster);
    if (j && (!summary || json_object_set_new(j, "roster", summary) != 0)) {
        json_decref(j);
        j = NULL;
    }
    rk_api_json(res, 200, j);
    if (j)
        res->then = read_status_add_peers;
}

/* ---------------------------------------------------------------------------- GET /v1/members */

void rk_api_get_members(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)req;
    (void)arg;
    const rk_membership *roster = rk_members_acquire(a->node);
    rk_api_json(res, 200, rk_members_json(roster, a->node));
    rk_members_release(a->node, roster);
}

/* ---------------------------------------------------------------------------- GET /v1/records/{id} */

/* A GET's look into the JSON cache on its way to the record: when the current version's JSON is kept
 * for this view, it is appended to out and the record is never loaded (hit). */
typedef struct read_probe {
    const rk_membership *roster;
    rk_jsoncache *cache;
    rk_buf *out;
    bool hit;
} read_probe;

static int read_target(rk_api *a, const char *id, bool must_own, rk_api_target *target, read_probe *probe,
                       rk_api_response *res)
{
    rk_node *n = a->node;
    memset(target, 0, sizeof *target);
    const uint8_t *author = target->author;
    if (rk_record_id_parse(id, n->pub, target->author, target->rid) != 0) {
        rk_api_error(res, "invalid_id", "id", "\"%s\" is not a record id (<author hex>:<rid> or a bare rid)", id);
        return 0;
    }
    if (must_own && memcmp(author, n->pub, RK_KEY_LEN) != 0) {
        const rk_membership *roster = rk_members_acquire(n);
        const char *name = rk_members_name(roster, author);
        rk_api_error(res, "forbidden", "id", "only the author can change a record; this one belongs to %s",
                     name ? name : "another node");
        rk_members_release(n, roster);
        return 0;
    }
    rk_txn *t;
    if (read_begin(a, &t, res) != 0)
        return 0;
    rk_error err;
    int found = rk_store_get_current(t, author, target->rid, &target->cur, &err);
    if (found == 1 && probe) {
        /* a tombstone is never kept, so a hit is a live record: the 410 below cannot be skipped */
        rk_jsonview view = {rk_members_name(probe->roster, author), READ_CEILING};
        int got = rk_jsoncache_get(probe->cache, target->cur.hash, &view, probe->out);
        if (got != 0) {
            rk_txn_abort(t);
            if (got < 0)
                rk_api_error(res, "no_memory", NULL, "out of memory");
            probe->hit = got > 0;
            return got > 0;
        }
    }
    if (found == 1 && rk_store_load(t, target->cur.hash, &target->rec, &err) != 0)
        found = -1;
    rk_txn_abort(t);
    if (found < 0) {
        rk_api_rk_error(res, &err);
        return 0;
    }
    if (!found) {
        rk_api_error(res, "not_found", "id", "no record %s", id);
        return 0;
    }
    if (target->rec.msg->kind == RENKEI__KIND__KIND_TOMBSTONE) {
        rk_record_free(&target->rec);
        rk_api_error(res, "gone", "id", "record %s was deleted", id);
        return 0;
    }
    return 1;
}

int rk_api_load_target(rk_api *a, const char *id, bool must_own, rk_api_target *target, rk_api_response *res)
{
    return read_target(a, id, must_own, target, NULL, res);
}

/* Sends body (its JSON, to which the final newline is added) as a 200, or the out-of-memory error
 * when building it failed; body is left empty. */
static void read_send_json(rk_buf *body, bool ok, rk_api_response *res)
{
    if (ok && rk_buf_append(body, "\n", 1) == 0) {
        size_t len;
        char *bytes = rk_buf_take(body, &len);
        rk_api_owned(res, 200, "application/json", NULL, bytes, len);
    } else {
        rk_api_error(res, "no_memory", NULL, "out of memory");
    }
    rk_buf_free(body);
}

void rk_api_get_record(rk_api *a, rk_http_req *req, const char *id, rk_api_response *res)
{
    rk_api_target target;
    rk_record *rec = &target.rec;
    /* ?format=signed serves the exact SignedRecord bytes, for offline `renkei verify` */
    bool signed_form;
    rk_error perr;
    if (rk_api_record_format(req->query, &signed_form, &perr) != 0) {
        rk_api_rk_error(res, &perr);
        return;
    }
    if (signed_form) {
        if (!rk_api_load_target(a, id, false, &target, res))
            return;
        char hash_hex[2 * RK_HASH_LEN + 1];
        rk_hex_encode(rec->hash, RK_HASH_LEN, hash_hex);
        char headers[128];
        snprintf(headers, sizeof headers, "ETag: \"%s\"\r\n", hash_hex);
        rk_api_bytes(res, 200, "application/vnd.renkei.signed-record", headers, rec->env, rec->env_len);
        rk_record_free(rec);
        return;
    }
    rk_buf body;
    rk_buf_init(&body);
    read_probe probe = {.roster = rk_members_acquire(a->node), .cache = a->records_json, .out = &body};
    if (read_target(a, id, false, &target, &probe, res)) {
        bool ok = probe.hit;
        if (!probe.hit) {
            rk_jsonview view = {rk_members_name(probe.roster, target.author), READ_CEILING};
            ok = rk_jsoncache_append(a->records_json, rec, &view, &body) == 0;
            rk_record_free(rec);
        }
        read_send_json(&body, ok, res);
    }
    rk_members_release(a->node, probe.roster);
    rk_buf_free(&body);
}

/* ---------------------------------------------------------------------------- lists */

/* A list response under construction: {"<key>":[ then each record's JSON from the cache. */
typedef struct read_list {
    rk_buf body;
    rk_jsonlist list;
    rk_jsoncache *cache;
    const rk_membership *roster; /* held for the walk: the authors' names */
    bool oom;
} read_list;

static void read_list_open(read_list *l, rk_api *a, const char *key)
{
    rk_buf_init(&l->body);
    l->cache = a->records_json;
    l->roster = rk_members_acquire(a->node);
    /* about 2 KiB a record: a page of 10 without growing on the way */
    l->oom = rk_buf_reserve(&l->body, 24576) != 0 || rk_jsonlist_open(&l->list, &l->body, key) != 0;
}

static int read_add_record(const rk_record *rec, void *ctx)
{
    read_list *l = ctx;
    rk_jsonview view = {rk_members_name(l->roster, rec->msg->author.data), READ_CEILING};
    if (rk_jsonlist_next(&l->list) != 0 || rk_jsoncache_append(l->cache, rec, &view, &l->body) != 0) {
        l->oom = true;
        return 1;
    }
    return 0;
}

static const char *read_author_name(const uint8_t author[RK_KEY_LEN], void *ctx)
{
    return rk_members_name(ctx, author);
}

/* The walk's offer of a match by its hash (lib/query.h): its JSON from the cache when kept for this
 * view, so the record is never read and unpacked; a miss has it loaded and rendered by
 * read_add_record. */
static int read_add_cached(const uint8_t hash[RK_HASH_LEN], int max_visibility, void *ctx)
{
    read_list *l = ctx;
    int ceiling = max_visibility < READ_CEILING ? max_visibility : READ_CEILING;
    int got = rk_jsonlist_next(&l->list) != 0
                  ? -1
                  : rk_jsoncache_get_hash(l->cache, hash, ceiling, read_author_name, (void *)l->roster, &l->body);
    if (got == 0)
        rk_jsonlist_unnext(&l->list);
    if (got < 0)
        l->oom = true;
    return got;
}

/* After a list walk: the error (none of the walk's output is kept) or false when all went well. */
static bool read_list_failed(read_list *l, int rc, const rk_error *err, rk_api_response *res)
{
    if (rc == 0 && !l->oom)
        return false;
    rk_buf_free(&l->body);
    if (l->oom || !err->code[0])
        rk_api_error(res, "no_memory", NULL, "out of memory");
    else
        rk_api_rk_error(res, err);
    return true;
}

void rk_api_list_records(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)arg;
    rk_params p;
    rk_query q;
    uint8_t author[RK_KEY_LEN];
    const char *author_name;
    rk_error perr;
    if (rk_api_records_query(req->query, &p, &q, author, &author_name, &perr) != 0) {
        rk_api_rk_error(res, &perr);
        return;
    }
    if (author_name) {
        const rk_membership *roster = rk_members_acquire(a->node);
        bool ok = rk_members_find_name(roster, author_name, author);
        rk_members_release(a->node, roster);
        if (!ok) {
            rk_api_error(res, "invalid_parameter", "author", "\"%s\" is neither a key nor a member name", author_name);
            goto out;
        }
        q.author = author;
    }
    q.cached = read_add_cached;
    rk_txn *t;
    if (read_begin(a, &t, res) != 0)
        goto out;
    read_list l;
    read_list_open(&l, a, "records");
    char next[RK_CURSOR_MAX] = "";
    rk_error err;
    rk_error_clear(&err);
    int rc = l.oom ? -1 : rk_store_query(t, &q, read_add_record, &l, next, &err);
    rk_txn_abort(t);
    rk_members_release(a->node, l.roster);
    if (read_list_failed(&l, rc, &err, res))
        goto out;
    json_t *cursor = next[0] ? json_string(next) : json_null();
    read_send_json(&l.body, cursor && rk_jsonlist_close(&l.list, "next_cursor", cursor, NULL) == 0, res);
    json_decref(cursor);
out:
    rk_params_free(&p);
}

void rk_api_list_events(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)arg;
    rk_event_query q;
    rk_error perr;
    if (rk_api_events_query(req->query, (int64_t)(rk_now_ms() / 1000), &q, &perr) != 0) {
        rk_api_rk_error(res, &perr);
        return;
    }
    q.cached = read_add_cached;
    rk_txn *t;
    if (read_begin(a, &t, res) != 0)
        return;
    read_list l;
    read_list_open(&l, a, "events");
    rk_error err;
    rk_error_clear(&err);
    int rc = l.oom ? -1 : rk_store_events(t, &q, read_add_record, &l, &err);
    rk_txn_abort(t);
    rk_members_release(a->node, l.roster);
    if (read_list_failed(&l, rc, &err, res))
        return;
    read_send_json(&l.body, rk_jsonlist_close(&l.list, NULL) == 0, res);
}

/* ---------------------------------------------------------------------------- peers, exports, metrics */

void rk_api_get_peers(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)req;
    (void)arg;
    rk_api_json(res, 200, json_pack("{s:o}", "peers", rk_gossip_peers_json(a->node->gossip)));
}

/* How long a client refused for a full spool is asked to wait: downloads in progress take seconds,
 * and one that stalls is closed after http.c's idle timeout. */
#define READ_EXPORT_RETRY_S 5

static int read_spooled(void *ctx, uint64_t off, void *buf, size_t n)
{
    return rk_spool_file_read(ctx, off, buf, n);
}

static void read_spooled_done(void *ctx)
{
    rk_spool_file_unref(ctx);
}

/* A large export is sent from its spool file as the client reads (rk_export_serve, http.c); a full
 * spool is a 503 with Retry-After, counted with the HTTP server's own refusals. */
void rk_api_get_export(rk_api *a, rk_http_req *req, const char *name, rk_api_response *res)
{
    rk_node *n = a->node;
    char base[512];
    /* links must work where the exports are read: behind the reverse proxy, public_url */
    if (n->cfg->public_url)
        snprintf(base, sizeof base, "%s", n->cfg->public_url);
    else
        snprintf(base, sizeof base, "http://%s", n->cfg->tcp ? n->cfg->tcp : "localhost");
    rk_feed_meta meta = {
        .node_name = n->cfg->name, .base_url = base, .node_key = n->pub, .author_name = rk_api_author_name};
    rk_txn *t;
    if (read_begin(a, &t, res) != 0)
        return;
    const rk_membership *roster = rk_members_acquire(n);
    meta.ctx = (void *)roster;
    rk_export_response r;
    memset(&r, 0, sizeof r);
    rk_buf_init(&r.body);
    rk_buf_init(&r.headers);
    int rc = rk_export_serve(t, name, req->query, req->if_none_match, req->if_modified_since, &meta, a->spool, &r);
    rk_txn_abort(t);
    rk_members_release(n, roster);
    if (r.rendered)
        rk_metrics_add(n->metrics, "renkei_export_renders_total", "export", name, 1);
    if (rc != 0 && r.status < 400) {
        r.status = 500;
        if (!r.err.code[0])
            rk_fail(&r.err, "internal", "", "export failed");
    }
    if (r.status >= 400) {
        rk_api_rk_error(res, &r.err);
        if (r.status == 503 && !res->oom) {
            char retry[32];
            snprintf(retry, sizeof retry, "Retry-After: %d\r\n", READ_EXPORT_RETRY_S);
            if (!(res->headers = strdup(retry)))
                rk_api_json(res, 500, NULL);
            rk_metrics_add(n->metrics, "renkei_http_rejections_total", "code", "503", 1);
        }
    } else {
        rk_buf extra;
        rk_buf_init(&extra);
        if ((r.etag[0] && rk_buf_printf(&extra, "ETag: %s\r\n", r.etag)) ||
            (r.last_modified[0] && rk_buf_printf(&extra, "Last-Modified: %s\r\n", r.last_modified)) ||
            (r.status != 304 && r.headers.len && rk_buf_append(&extra, r.headers.data, r.headers.len)) ||
            rk_buf_puts(&extra, "")) {
            rk_api_error(res, "no_memory", NULL, "out of memory");
        } else if (r.status == 304) {
            rk_api_bytes(res, 304, NULL, extra.data, NULL, 0);
        } else if (r.file) {
            rk_http_body src = {
                .len = rk_spool_file_size(r.file), .read = read_spooled, .release = read_spooled_done, .ctx = r.file};
            r.file = NULL; /* the response owns it now */
            rk_api_stream(res, 200, r.content_type, extra.data, &src);
        } else {
            size_t len;
            char *body = rk_buf_take(&r.body, &len);
            rk_api_owned(res, r.status ? r.status : 200, r.content_type ? r.content_type : "application/octet-stream",
                         extra.data, body, len);
        }
        rk_buf_free(&extra);
    }
    rk_spool_file_unref(r.file);
    rk_buf_free(&r.body);
    rk_buf_free(&r.headers);
}

void rk_api_get_metrics(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)req;
    (void)arg;
    rk_buf b;
    rk_buf_init(&b);
    rk_gauges_refresh(a->node);
    rk_jsoncache_counts jc;
    rk_jsoncache_take_counts(a->records_json, &jc);
    rk_metrics_add(a->node->metrics, "renkei_record_cache_total", "result", "hit", jc.hits);
    rk_metrics_add(a->node->metrics, "renkei_record_cache_total", "result", "miss", jc.misses);
    rk_metrics_set_gauge(a->node->metrics, "renkei_record_cache_bytes", (double)jc.bytes);
    rk_metrics_set_gauge(a->node->metrics, "renkei_record_cache_entries", (double)jc.entries);
    if (rk_metrics_render(a->node->metrics, &b) != 0) {
        rk_buf_free(&b);
        rk_api_error(res, "no_memory", NULL, "out of memory");
        return;
    }
    size_t len;
    char *body = rk_buf_take(&b, &len);
    rk_api_owned(res, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, body, len);
}
