/* api: routes of the local API (DESIGN.md's table, docs/api.md).
 *
 * Invariants:
 * - A bad request never changes state: everything is checked (JSON, schema, permissions, ids,
 *   current version) before a record is signed and submitted to the writer.
 * - A publish is answered only from the writer's completion callback, after the commit.
 * - A record's new version is above its current one, and the versions this node assigns increase
 *   strictly (max(now, last assigned + 1, current + 1)) while that stays within VERSION_LEAD_MAX_MS
 *   of the clock; see next_version_locked.
 * - Every response goes through send_owned() on the loop thread, which records the route/code
 *   counter and latency. Handlers running on the thread pool (offload()) only render: reply()
 *   captures their response and job_done() sends it.
 * - Handlers on the pool touch only immutable node fields, the store through their own read
 *   transaction, and (POST) pending/last_version under a->mu; gossip state, waiters, the writer
 *   and a->stopping are the loop thread's.
 * Errors are {"error": {"code", "message", "field"}} with a stable code.
 */
#include "api.h"

#include <grp.h>
#include <pthread.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uriparser/Uri.h>

#include "export.h"
#include "gauges.h"
#include "gossip.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "query.h"
#include "recjson.h"
#include "taxonomy.h"
#include "text.h"
#include "writer.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 1000
#define MAX_WAIT_S 60

typedef struct waiter {
    struct waiter *prev, *next;
    rk_api *api;
    rk_http_req *req;
    uint64_t after;
    size_t limit;
    uv_timer_t timer;
} waiter;

typedef struct pending_rid {
    struct pending_rid *next;
    char rid[RK_RID_MAX + 1];
} pending_rid;

struct rk_api {
    rk_node *node;
    rk_http_server *http;
    waiter *waiters;
    pending_rid *pending;       /* rids of POSTs in flight, for 409 before the commit */
    uint64_t last_version;      /* the last version this node assigned */
    bool have_group;
    gid_t group_gid;
    bool stopping;
    size_t jobs;                /* handlers queued on or running in the thread pool */
    pthread_mutex_t mu;         /* pending and last_version: POSTs are prepared on the thread pool */
};

/* ---------------------------------------------------------------------------- responses */

/* A read-only GET runs on libuv's thread pool (see offload()). While its handler runs there, the
 * worker thread's `capturing` points at its job and reply() stores the response in the job instead
 * of sending it; the loop thread sends it afterwards. On the loop thread `capturing` is always NULL. */
typedef struct read_job read_job;
typedef void (*read_fn)(rk_api *a, rk_http_req *req, const char *route, const char *arg);

struct read_job {
    uv_work_t work;
    rk_api *api;
    rk_http_req *req;
    const char *route;
    read_fn fn;
    char *arg;              /* the id or export name, or NULL */
    bool answered, oom;
    int status;
    bool has_ctype;
    char ctype[128];
    char *extra;            /* NULL or "Name: value\r\n"... */
    char *body;             /* owned */
    size_t len;
    json_t *status_json;    /* GET /v1/status: everything but "peers", which the loop thread adds */
    struct publish *pub;    /* POST: sealed here, submitted to the writer by the loop thread */
    rk_record rec;          /* with pub: the sealed record */
};

static _Thread_local read_job *capturing;

/* Counts the response and sends it; takes ownership of body (malloc'd or NULL). Loop thread. */
static void send_owned(rk_api *a, rk_http_req *req, const char *route, int status, const char *ctype,
                       const char *extra, char *body, size_t len)
{
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    double secs = (double)(rk_monotonic_ns() - req->start_ns) / 1e9;
    rk_metrics *m = a->node->metrics;
    rk_metrics_add2(m, "renkei_http_requests_total", "route", route, "code", code, 1);
    rk_metrics_observe(m, "renkei_http_request_duration_seconds", "route", route, secs);
    rk_debug("api", "%s %s -> %d (%.3f ms)", req->method, req->path, status, secs * 1e3);
    rk_http_respond_owned(req, status, ctype, extra, body, len);
}

/* Takes ownership of body (malloc'd or NULL). */
static void reply_owned(rk_api *a, rk_http_req *req, const char *route, int status, const char *ctype,
                        const char *extra, char *body, size_t len)
{
    read_job *j = capturing;
    if (!j) {
        send_owned(a, req, route, status, ctype, extra, body, len);
        return;
    }
    if (j->answered) { /* a handler answers once; never reached */
        free(body);
        return;
    }
    j->answered = true;
    j->status = status;
    j->has_ctype = ctype != NULL;
    if (ctype && (size_t)snprintf(j->ctype, sizeof j->ctype, "%s", ctype) >= sizeof j->ctype)
        j->oom = true;
    if (extra && !(j->extra = strdup(extra)))
        j->oom = true;
    j->body = body;
    j->len = len;
}

static void reply(rk_api *a, rk_http_req *req, const char *route, int status, const char *ctype, const char *extra,
                  const void *body, size_t len)
{
    char *copy = NULL;
    if (len) {
        if (!(copy = malloc(len))) {
            static const char oom[] = "{\"error\":{\"code\":\"no_memory\",\"message\":\"out of memory\",\"field\":null}}\n";
            char *o = malloc(sizeof oom - 1);
            if (o)
                memcpy(o, oom, sizeof oom - 1);
            reply_owned(a, req, route, 500, "application/json", NULL, o, o ? sizeof oom - 1 : 0);
            return;
        }
        memcpy(copy, body, len);
    }
    reply_owned(a, req, route, status, ctype, extra, copy, len);
}

static int dump_to_buf(const char *data, size_t size, void *ctx)
{
    return rk_buf_append(ctx, data, size) == 0 ? 0 : -1;
}

/* Takes ownership of j. The body is rendered once, straight into the buffer that is sent. */
static void reply_json(rk_api *a, rk_http_req *req, const char *route, int status, json_t *j, const char *extra)
{
    rk_buf b;
    rk_buf_init(&b);
    bool ok = j && rk_buf_reserve(&b, 4096) == 0 && json_dump_callback(j, dump_to_buf, &b, JSON_COMPACT) == 0 &&
              rk_buf_append(&b, "\n", 1) == 0;
    json_decref(j);
    if (!ok) {
        rk_buf_free(&b);
        static const char oom[] = "{\"error\":{\"code\":\"no_memory\",\"message\":\"out of memory\",\"field\":null}}\n";
        reply(a, req, route, 500, "application/json", NULL, oom, sizeof oom - 1);
        return;
    }
    size_t n;
    char *body = rk_buf_take(&b, &n);
    reply_owned(a, req, route, status, "application/json", extra, body, n);
}

static void reply_error(rk_api *a, rk_http_req *req, const char *route, int status, const char *code, const char *field,
                        const char *fmt, ...) RK_PRINTF(7, 8);
static void reply_error(rk_api *a, rk_http_req *req, const char *route, int status, const char *code, const char *field,
                        const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(code));
    json_object_set_new(e, "message", json_stringn(msg, strnlen(msg, sizeof msg)));
    json_object_set_new(e, "field", field && field[0] ? json_string(field) : json_null());
    reply_json(a, req, route, status, json_pack("{s:o}", "error", e), NULL);
}

static void reply_rk_error(rk_api *a, rk_http_req *req, const char *route, int status, const rk_error *err)
{
    reply_error(a, req, route, status, err->code[0] ? err->code : "error", err->field, "%s", err->message);
}

/* ---------------------------------------------------------------------------- helpers */

static const char *author_name(const uint8_t author[RK_KEY_LEN], void *ctx)
{
    rk_node *n = ctx;
    const rk_member *m = rk_roster_find(&n->roster, author);
    return m ? m->name : NULL;
}

static void hex32(const uint8_t h[RK_HASH_LEN], char out[2 * RK_HASH_LEN + 1])
{
    rk_hex_encode(h, RK_HASH_LEN, out);
}

/* Publishing methods: with [api] group set, the caller must be root or in that group. */
static bool may_publish(rk_api *a, const rk_http_req *req)
{
    if (!a->have_group)
        return true;
    if (!req->has_cred)
        return false; /* TCP callers cannot be identified */
    if (req->uid == 0 || req->gid == a->group_gid)
        return true;
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(req->uid, &pw, buf, sizeof buf, &res) != 0 || !res)
        return false;
    gid_t groups[256];
    int n = 256;
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
        return false;
    for (int i = 0; i < n; i++)
        if (groups[i] == a->group_gid)
            return true;
    return false;
}

/* Percent-decodes a path segment in place (uriparser); '+' stays '+'. */
static void url_decode(char *s)
{
    uriUnescapeInPlaceExA(s, URI_FALSE, URI_BR_DONT_TOUCH);
}

static int parse_limit(const char *v, size_t def, size_t *out)
{
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!v[0] || *end || n < 1 || n > MAX_LIMIT)
        return -1;
    *out = (size_t)n;
    return 0;
}

static int parse_u64(const char *v, uint64_t *out)
{
    if (!v || !v[0] || v[0] == '-' || v[0] == '+')
        return -1;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end)
        return -1;
    *out = n;
    return 0;
}

/* Checks that only `allowed` keys are present. Returns the offending key or NULL. */
static const char *unknown_param(const rk_params *p, const char *const *allowed)
{
    for (size_t i = 0; i < p->count; i++) {
        bool ok = false;
        for (size_t k = 0; allowed[k]; k++)
            ok |= strcmp(p->keys[i], allowed[k]) == 0;
        if (!ok)
            return p->keys[i];
    }
    return NULL;
}

static int begin_read(rk_api *a, rk_http_req *req, const char *route, rk_txn **t)
{
    rk_error err;
    if (rk_txn_begin(a->node->store, false, t, &err) != 0) {
        reply_rk_error(a, req, route, 503, &err);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------- GET /v1/status */

/* Loop thread: appends the peers summary (last, as always) and answers. Takes ownership of j. */
static void finish_status(rk_api *a, rk_http_req *req, const char *route, json_t *j)
{
    json_t *peers = j ? rk_gossip_summary_json(a->node->gossip) : NULL;
    if (j && (!peers || json_object_set_new(j, "peers", peers) != 0)) {
        json_decref(j);
        j = NULL;
    }
    reply_json(a, req, route, 200, j, NULL);
}

static void get_status(rk_api *a, rk_http_req *req, const char *route)
{
    rk_node *n = a->node;
    rk_txn *t;
    if (begin_read(a, req, route, &t) != 0)
        return;
    struct rk_store_counts c;
    rk_error err;
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN], fp[2][RK_FP_LEN];
    uint64_t cnt[2];
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    if (rk_store_counts(t, &c, &err) != 0 || rk_store_set_fingerprint(t, RK_SET_PUBLIC, lo, hi, &cnt[0], fp[0], &err) != 0 ||
        rk_store_set_fingerprint(t, RK_SET_MEMBERS, lo, hi, &cnt[1], fp[1], &err) != 0) {
        rk_txn_abort(t);
        reply_rk_error(a, req, route, 503, &err);
        return;
    }
    rk_txn_abort(t);
    char fph[2][2 * RK_FP_LEN + 1];
    rk_hex_encode(fp[0], RK_FP_LEN, fph[0]);
    rk_hex_encode(fp[1], RK_FP_LEN, fph[1]);
    json_t *j = json_pack(
        "{s:s, s:s, s:s?, s:s, s:s, s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:{s:{s:I, s:s}, s:{s:I, s:s}}}",
        "name", n->cfg->name, "kind", rk_taxonomy_code(&renkei__node_kind__descriptor, n->cfg->kind), "prefecture",
        n->cfg->prefecture[0] ? n->cfg->prefecture : NULL, "key", n->pub_hex, "version", RENKEI_VERSION, "uptime_s",
        (json_int_t)((rk_now_ms() - n->started_ms) / 1000), "records", "total", (json_int_t)c.current, "case",
        (json_int_t)c.by_kind[RENKEI__KIND__KIND_CASE], "event", (json_int_t)c.by_kind[RENKEI__KIND__KIND_EVENT],
        "region", (json_int_t)c.by_kind[RENKEI__KIND__KIND_REGION], "tombstone",
        (json_int_t)c.by_kind[RENKEI__KIND__KIND_TOMBSTONE], "last_seq", (json_int_t)c.last_seq, "digest", "public",
        "count", (json_int_t)cnt[0], "fingerprint", fph[0], "members", "count", (json_int_t)cnt[1], "fingerprint",
        fph[1]);
    if (capturing && j) { /* on the thread pool: gossip state is the loop thread's, so it adds "peers" */
        capturing->status_json = j;
        capturing->answered = true;
        return;
    }
    finish_status(a, req, route, j);
}

/* ---------------------------------------------------------------------------- publishing */

typedef struct publish {
    rk_api *api;
    rk_http_req *req;
    const char *route;
    int ok_status;
    bool is_delete, is_create;
    char id[RK_ID_MAX];
    char rid[RK_RID_MAX + 1];
    uint64_t version;
    char hash[2 * RK_HASH_LEN + 1];
} publish;

static void pending_remove(rk_api *a, const char *rid)
{
    pthread_mutex_lock(&a->mu);
    for (pending_rid **pp = &a->pending; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->rid, rid) == 0) {
            pending_rid *d = *pp;
            *pp = d->next;
            free(d);
            break;
        }
    pthread_mutex_unlock(&a->mu);
}

/* With a->mu held. */
static bool pending_has(rk_api *a, const char *rid)
{
    for (pending_rid *p = a->pending; p; p = p->next)
        if (strcmp(p->rid, rid) == 0)
            return true;
    return false;
}

static void on_written(void *ctx, const rk_ingest_result *res, const rk_record *rec, const rk_error *err)
{
    (void)rec;
    publish *p = ctx;
    rk_api *a = p->api;
    if (p->is_create)
        pending_remove(a, p->rid);
    if (res->status == RK_INGEST_STORED) {
        rk_metrics_add(a->node->metrics, "renkei_publishes_total", "op",
                       p->is_delete ? "delete" : p->is_create ? "create" : "update", 1);
        json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "id", p->id, "rid", p->rid, "version", (json_int_t)p->version,
                              "hash", p->hash);
        if (j && p->is_delete)
            json_object_set_new(j, "deleted", json_true());
        char loc[RK_ID_MAX + 64];
        snprintf(loc, sizeof loc, "Location: /v1/records/%s\r\n", p->id);
        reply_json(a, p->req, p->route, p->ok_status, j, p->is_create ? loc : NULL);
    } else if (res->status == RK_INGEST_REJECTED) {
        bool stale = err && (strstr(err->code, "stale") || strstr(err->code, "version") || strstr(err->code, "older"));
        reply_rk_error(a, p->req, p->route, stale ? 409 : 400, err);
    } else {
        bool full = err && (strstr(err->code, "full") != NULL);
        rk_error e;
        if (err)
            e = *err;
        else
            rk_fail(&e, "store_error", "", "the store failed");
        reply_rk_error(a, p->req, p->route, full ? 507 : 503, &e);
    }
    free(p);
}

/* Hands a sealed record to the writer (loop thread); the response is sent from on_written. Takes
 * ownership of p and rec. */
static void submit_sealed(rk_api *a, publish *p, rk_record *rec)
{
    /* the node's own fresh signature is not verified again on the writer thread */
    if (a->stopping || rk_writer_submit_own(a->node->writer, rec, on_written, p) != 0) {
        rk_record_free(rec);
        if (p->is_create)
            pending_remove(a, p->rid);
        reply_error(a, p->req, p->route, 503, "stopping", NULL, "the node is shutting down");
        free(p);
    }
}

/* Signs msg (any thread). Returns the publish to submit with the sealed record in *rec, or NULL
 * after replying with the error; then the caller removes a pending rid itself. */
static publish *seal_publish(rk_api *a, rk_http_req *req, const char *route, const Renkei__Record *msg, int ok_status,
                             bool is_create, bool is_delete, rk_record *rec)
{
    rk_node *n = a->node;
    rk_error err;
    memset(rec, 0, sizeof *rec);
    if (rk_record_seal(msg, n->key, rec, &err) != 0) {
        reply_rk_error(a, req, route, 400, &err);
        return NULL;
    }
    publish *p = calloc(1, sizeof *p);
    if (!p) {
        rk_record_free(rec);
        reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
        return NULL;
    }
    p->api = a;
    p->req = req;
    p->route = route;
    p->ok_status = ok_status;
    p->is_create = is_create;
    p->is_delete = is_delete;
    rk_record_id(n->pub, msg->rid, p->id);
    snprintf(p->rid, sizeof p->rid, "%s", msg->rid);
    p->version = msg->version;
    hex32(rec->hash, p->hash);
    return p;
}

/* Loop thread: signs msg and hands it to the writer. */
static void submit(rk_api *a, rk_http_req *req, const char *route, const Renkei__Record *msg, int ok_status,
                   bool is_delete)
{
    rk_record rec;
    publish *p = seal_publish(a, req, route, msg, ok_status, false, is_delete, &rec);
    if (p)
        submit_sealed(a, p, &rec);
}

/* How far ahead of the clock node-wide strictly increasing versions may run. */
#define VERSION_LEAD_MAX_MS 1000

/* Versions are milliseconds. Strictly increasing versions keep two updates of one record that are
 * in flight together in order. Above 1,000 publishes a second they would run ahead of the clock
 * for as long as the rate lasts, until every node, this one included, rejects them as clock_skew;
 * so the lead is capped (at half the allowed skew if that is smaller). Past the cap a version is the
 * clock's (still above the record's current one): two updates of one record in the same
 * millisecond are then ordered by hash, and the other gets a 409. With a->mu held. */
static uint64_t next_version_locked(rk_api *a, uint64_t current)
{
    uint64_t now = rk_now_ms();
    uint64_t lead = a->node->limits.max_clock_skew_ms / 2;
    if (lead > VERSION_LEAD_MAX_MS)
        lead = VERSION_LEAD_MAX_MS;
    uint64_t v = now;
    if (v <= a->last_version && a->last_version < now + lead)
        v = a->last_version + 1;
    if (v <= current)
        v = current + 1;
    if (v > a->last_version)
        a->last_version = v;
    return v;
}

static uint64_t next_version(rk_api *a, uint64_t current)
{
    pthread_mutex_lock(&a->mu);
    uint64_t v = next_version_locked(a, current);
    pthread_mutex_unlock(&a->mu);
    return v;
}

static void replace_string(char **dst, const char *v)
{
    if (*dst && *dst != protobuf_c_empty_string)
        free(*dst);
    *dst = strdup(v);
}

/* Parses the request body into a record message, or replies with the error and returns NULL. */
static Renkei__Record *parse_body(rk_api *a, rk_http_req *req, const char *route)
{
    if (!rk_text_valid_utf8(req->body, req->body_len)) {
        reply_error(a, req, route, 400, "invalid_utf8", NULL, "the request body is not valid UTF-8");
        return NULL;
    }
    if (req->body_len == 0) {
        reply_error(a, req, route, 400, "invalid_json", NULL, "the request body is empty; expected a JSON object");
        return NULL;
    }
    json_error_t je;
    size_t body_len = req->body_len;
    const char *body = rk_json_skip_bom(req->body, &body_len);
    json_t *j = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        reply_error(a, req, route, 400, "invalid_json", NULL, "invalid JSON at line %d column %d (position %d): %s",
                    je.line, je.column, je.position, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        reply_error(a, req, route, 400, "invalid_json", NULL, "the request body must be a JSON object");
        return NULL;
    }
    Renkei__Record *msg = NULL;
    rk_error err;
    rk_problems all;
    rk_problems_init(&all);
    int rc = rk_record_from_json_all(j, &msg, &all, &err);
    json_decref(j);
    if (rc != 0) {
        /* error.code/message/field stay the first problem's; details lists every one (docs/api.md) */
        json_t *e = json_pack("{s:s, s:s, s:o, s:o*}", "code", err.code[0] ? err.code : "error", "message",
                              err.message, "field", err.field[0] ? json_string(err.field) : json_null(), "details",
                              rk_problems_to_json(&all));
        rk_problems_free(&all);
        reply_json(a, req, route, 400, e ? json_pack("{s:o}", "error", e) : NULL, NULL);
        return NULL;
    }
    rk_problems_free(&all);
    /* the node is the author, whatever the body said */
    free(msg->author.data);
    msg->author.data = malloc(RK_KEY_LEN);
    if (!msg->author.data) {
        msg->author.len = 0;
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
        return NULL;
    }
    memcpy(msg->author.data, a->node->pub, RK_KEY_LEN);
    msg->author.len = RK_KEY_LEN;
    return msg;
}

static void post_record(rk_api *a, rk_http_req *req, const char *route)
{
    Renkei__Record *msg = parse_body(a, req, route);
    if (!msg)
        return;
    rk_node *n = a->node;
    if (!msg->rid || !msg->rid[0]) {
        uint8_t r[16];
        char hex[33];
        if (rk_random(r, sizeof r) != 0) {
            protobuf_c_message_free_unpacked(&msg->base, NULL);
            reply_error(a, req, route, 500, "internal", NULL, "no random bytes available");
            return;
        }
        rk_hex_encode(r, sizeof r, hex);
        replace_string(&msg->rid, hex);
        if (!msg->rid) {
            protobuf_c_message_free_unpacked(&msg->base, NULL);
            reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
            return;
        }
    } else if (!rk_rid_valid(msg->rid)) {
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        reply_error(a, req, route, 400, "invalid_rid", "rid", "rid must be 1..64 characters of A-Z a-z 0-9 . _ -");
        return;
    }
    /* The 409 check, the pending mark and the version are one step under a->mu: a POST of the same
     * rid leaves the pending list only after its commit, so a transaction begun after that sees it. */
    pending_rid *pr = calloc(1, sizeof *pr);
    if (!pr) {
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
        return;
    }
    snprintf(pr->rid, sizeof pr->rid, "%s", msg->rid);
    pthread_mutex_lock(&a->mu);
    bool pending = pending_has(a, msg->rid);
    rk_txn *t = NULL;
    rk_current cur;
    rk_error err;
    int found = 0;
    if (!pending) {
        found = rk_txn_begin(n->store, false, &t, &err) != 0 ? -1 : rk_store_get_current(t, n->pub, msg->rid, &cur, &err);
        if (t)
            rk_txn_abort(t);
    }
    if (!pending && found == 0) {
        pr->next = a->pending;
        a->pending = pr;
        pr = NULL;
        msg->version = next_version_locked(a, 0);
    }
    pthread_mutex_unlock(&a->mu);
    if (pr) {
        free(pr);
        if (found < 0)
            reply_rk_error(a, req, route, 503, &err);
        else
            reply_error(a, req, route, 409, "conflict", "rid",
                        "a record with rid \"%s\" already exists; use PUT to update it", msg->rid);
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        return;
    }
    msg->created_at = msg->version;
    rk_record rec;
    publish *p = seal_publish(a, req, route, msg, 201, true, false, &rec);
    if (!p)
        pending_remove(a, msg->rid);
    protobuf_c_message_free_unpacked(&msg->base, NULL);
    if (!p)
        return;
    if (capturing) { /* on the thread pool: the loop thread submits it (job_done) */
        capturing->pub = p;
        capturing->rec = rec;
        capturing->answered = true;
        return;
    }
    submit_sealed(a, p, &rec);
}

/* Resolves /v1/records/{id} to a current own-or-foreign record. Returns 1 found (rec loaded), 0 after
 * replying with an error. */
static int load_target(rk_api *a, rk_http_req *req, const char *route, const char *id, bool must_own, uint8_t author[RK_KEY_LEN],
                       char rid[RK_RID_MAX + 1], rk_current *cur, rk_record *rec)
{
    rk_node *n = a->node;
    if (rk_record_id_parse(id, n->pub, author, rid) != 0) {
        reply_error(a, req, route, 400, "invalid_id", "id", "\"%s\" is not a record id (<author hex>:<rid> or a bare rid)", id);
        return 0;
    }
    if (must_own && memcmp(author, n->pub, RK_KEY_LEN) != 0) {
        reply_error(a, req, route, 403, "forbidden", "id", "only the author can change a record; this one belongs to %s",
                    author_name(author, n) ? author_name(author, n) : "another node");
        return 0;
    }
    rk_txn *t;
    if (begin_read(a, req, route, &t) != 0)
        return 0;
    rk_error err;
    int found = rk_store_get_current(t, author, rid, cur, &err);
    if (found == 1 && rk_store_load(t, cur->hash, rec, &err) != 0)
        found = -1;
    rk_txn_abort(t);
    if (found < 0) {
        reply_rk_error(a, req, route, 503, &err);
        return 0;
    }
    if (!found) {
        reply_error(a, req, route, 404, "not_found", "id", "no record %s", id);
        return 0;
    }
    if (rec->msg->kind == RENKEI__KIND__KIND_TOMBSTONE) {
        rk_record_free(rec);
        reply_error(a, req, route, 410, "gone", "id", "record %s was deleted", id);
        return 0;
    }
    return 1;
}

static void get_record(rk_api *a, rk_http_req *req, const char *route, const char *id)
{
    uint8_t author[RK_KEY_LEN];
    char rid[RK_RID_MAX + 1];
    rk_current cur;
    rk_record rec;
    memset(&rec, 0, sizeof rec);
    /* ?format=signed serves the exact SignedRecord bytes, for offline `renkei verify` */
    rk_params p;
    rk_error perr;
    if (rk_params_parse(req->query, &p, &perr) != 0) {
        reply_rk_error(a, req, route, 400, &perr);
        return;
    }
    const char *format = rk_params_get(&p, "format");
    bool signed_form = format && strcmp(format, "signed") == 0;
    bool bad_format = format && !signed_form && strcmp(format, "json") != 0;
    rk_params_free(&p);
    if (bad_format) {
        reply_error(a, req, route, 400, "invalid_value", "format", "format is json (default) or signed");
        return;
    }
    if (!load_target(a, req, route, id, false, author, rid, &cur, &rec))
        return;
    if (signed_form) {
        char hash_hex[2 * RK_HASH_LEN + 3];
        rk_hex_encode(rec.hash, RK_HASH_LEN, hash_hex + 1);
        hash_hex[0] = '"';
        snprintf(hash_hex + 1 + 2 * RK_HASH_LEN, 2, "\"");
        char extra[128];
        snprintf(extra, sizeof extra, "ETag: %s\r\n", hash_hex);
        reply(a, req, route, 200, "application/vnd.renkei.signed-record", extra, rec.env, rec.env_len);
        rk_record_free(&rec);
        return;
    }
    json_t *j = rk_record_to_json(&rec, author_name(author, a->node));
    rk_record_free(&rec);
    reply_json(a, req, route, 200, j, NULL);
}

static void put_record(rk_api *a, rk_http_req *req, const char *route, const char *id)
{
    uint8_t author[RK_KEY_LEN];
    char rid[RK_RID_MAX + 1];
    rk_current cur;
    rk_record rec;
    memset(&rec, 0, sizeof rec);
    if (!load_target(a, req, route, id, true, author, rid, &cur, &rec))
        return;
    uint64_t created = rec.msg->created_at;
    rk_record_free(&rec);
    Renkei__Record *msg = parse_body(a, req, route);
    if (!msg)
        return;
    if (msg->rid && msg->rid[0] && strcmp(msg->rid, rid) != 0) {
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        reply_error(a, req, route, 400, "invalid_value", "rid", "the body's rid \"%s\" differs from the URL's", rid);
        return;
    }
    replace_string(&msg->rid, rid);
    if (!msg->rid) {
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
        return;
    }
    msg->version = next_version(a, cur.version);
    msg->created_at = created ? created : msg->version;
    submit(a, req, route, msg, 200, false);
    protobuf_c_message_free_unpacked(&msg->base, NULL);
}

static void delete_record(rk_api *a, rk_http_req *req, const char *route, const char *id)
{
    uint8_t author[RK_KEY_LEN];
    char rid[RK_RID_MAX + 1];
    rk_current cur;
    rk_record rec;
    memset(&rec, 0, sizeof rec);
    if (!load_target(a, req, route, id, true, author, rid, &cur, &rec))
        return;
    Renkei__Record msg = RENKEI__RECORD__INIT;
    Renkei__Tombstone ts = RENKEI__TOMBSTONE__INIT;
    msg.author.data = a->node->pub;
    msg.author.len = RK_KEY_LEN;
    msg.rid = rid;
    msg.kind = RENKEI__KIND__KIND_TOMBSTONE;
    msg.visibility = rec.msg->visibility; /* a deletion travels as far as the record did */
    msg.created_at = rec.msg->created_at;
    msg.language = (char *)"ja";
    msg.body_case = RENKEI__RECORD__BODY_TOMBSTONE;
    msg.tombstone = &ts;
    msg.version = next_version(a, cur.version);
    submit(a, req, route, &msg, 200, true);
    rk_record_free(&rec);
}

/* ---------------------------------------------------------------------------- lists */

typedef struct list_ctx {
    json_t *arr;
    rk_node *node;
    bool oom;
} list_ctx;

static int add_record_json(const rk_record *rec, void *ctx)
{
    list_ctx *l = ctx;
    json_t *j = rk_record_to_json(rec, author_name(rec->msg->author.data, l->node));
    if (!j || json_array_append_new(l->arr, j) != 0) {
        l->oom = true;
        return 1;
    }
    return 0;
}

static int enum_param(rk_api *a, rk_http_req *req, const char *route, const rk_params *p, const char *key,
                      const ProtobufCEnumDescriptor *d, int *out)
{
    const char *v = rk_params_get(p, key);
    *out = 0;
    if (!v)
        return 0;
    int e = rk_enum_parse(d, v);
    if (e <= 0) {
        reply_error(a, req, route, 400, "invalid_parameter", key, "\"%s\" is not a %s code", v, d->short_name);
        return -1;
    }
    *out = e;
    return 0;
}

static int prefecture_param(rk_api *a, rk_http_req *req, const char *route, const rk_params *p, char out[3])
{
    const char *v = rk_params_get(p, "prefecture");
    out[0] = '\0';
    if (!v)
        return 0;
    if (!rk_prefecture_valid(v)) {
        reply_error(a, req, route, 400, "invalid_parameter", "prefecture", "\"%s\" is not a prefecture code 01..47", v);
        return -1;
    }
    memcpy(out, v, 3);
    return 0;
}

static bool parse_params(rk_api *a, rk_http_req *req, const char *route, const char *const *allowed, rk_params *p)
{
    rk_error err;
    if (rk_params_parse(req->query, p, &err) != 0) {
        reply_rk_error(a, req, route, 400, &err);
        return false;
    }
    const char *bad = unknown_param(p, allowed);
    if (bad) {
        reply_error(a, req, route, 400, "unknown_parameter", bad, "unknown query parameter \"%s\"", bad);
        rk_params_free(p);
        return false;
    }
    return true;
}

static void list_records(rk_api *a, rk_http_req *req, const char *route)
{
    static const char *const allowed[] = {"kind",     "prefecture", "industry", "dx_level", "skill", "audience",
                                          "author",   "q",          "limit",    "cursor",   NULL};
    rk_params p;
    if (!parse_params(a, req, route, allowed, &p))
        return;
    rk_query q;
    memset(&q, 0, sizeof q);
    q.max_visibility = RENKEI__VISIBILITY__VISIBILITY_LOCAL;
    uint8_t author[RK_KEY_LEN];
    const char *v;
    if ((v = rk_params_get(&p, "kind"))) {
        q.kind = rk_enum_parse(&renkei__kind__descriptor, v);
        if (q.kind <= 0 || q.kind == RENKEI__KIND__KIND_TOMBSTONE) {
            reply_error(a, req, route, 400, "invalid_parameter", "kind", "kind must be case, event or region");
            goto out;
        }
    }
    if (prefecture_param(a, req, route, &p, q.prefecture) != 0 ||
        enum_param(a, req, route, &p, "industry", &renkei__industry__descriptor, &q.industry) != 0 ||
        enum_param(a, req, route, &p, "dx_level", &renkei__dx_level__descriptor, &q.dx_level) != 0 ||
        enum_param(a, req, route, &p, "skill", &renkei__skill__descriptor, &q.skill) != 0 ||
        enum_param(a, req, route, &p, "audience", &renkei__audience__descriptor, &q.audience) != 0)
        goto out;
    if ((v = rk_params_get(&p, "author"))) {
        bool ok = strlen(v) == 2 * RK_KEY_LEN && rk_hex_decode(v, author, RK_KEY_LEN) == 0;
        for (size_t i = 0; !ok && i < a->node->roster.count; i++)
            if (strcmp(a->node->roster.members[i].name, v) == 0) {
                memcpy(author, a->node->roster.members[i].key, RK_KEY_LEN);
                ok = true;
            }
        if (!ok) {
            reply_error(a, req, route, 400, "invalid_parameter", "author", "\"%s\" is neither a key nor a member name", v);
            goto out;
        }
        q.author = author;
    }
    q.q = rk_params_get(&p, "q");
    if (parse_limit(rk_params_get(&p, "limit"), DEFAULT_LIMIT, &q.limit) != 0) {
        reply_error(a, req, route, 400, "invalid_parameter", "limit", "limit must be 1..%d", MAX_LIMIT);
        goto out;
    }
    q.cursor = rk_params_get(&p, "cursor");
    if (q.cursor && strlen(q.cursor) >= RK_CURSOR_MAX) {
        reply_error(a, req, route, 400, "invalid_parameter", "cursor", "malformed cursor");
        goto out;
    }
    rk_txn *t;
    if (begin_read(a, req, route, &t) != 0)
        goto out;
    list_ctx l = {.arr = json_array(), .node = a->node};
    char next[RK_CURSOR_MAX] = "";
    rk_error err;
    rk_error_clear(&err);
    int rc = l.arr ? rk_store_query(t, &q, add_record_json, &l, next, &err) : -1;
    rk_txn_abort(t);
    if (rc != 0 || l.oom) {
        json_decref(l.arr);
        if (l.oom || !err.code[0])
            reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
        else
            reply_rk_error(a, req, route, strstr(err.code, "cursor") || strstr(err.code, "query") ? 400 : 503, &err);
        goto out;
    }
    reply_json(a, req, route, 200,
               json_pack("{s:o, s:o}", "records", l.arr, "next_cursor", next[0] ? json_string(next) : json_null()), NULL);
out:
    rk_params_free(&p);
}

/* YYYY-MM-DD (00:00 JST, or 23:59:59 JST for end_of_day) or RFC 3339. */
static int parse_when(const char *v, bool end_of_day, int64_t *out)
{
    int y, m, d, off;
    if (strlen(v) == 10 && rk_parse_date(v, &y, &m, &d) == 0) {
        char buf[40];
        snprintf(buf, sizeof buf, "%.10sT00:00:00+09:00", v);
        int64_t e;
        if (rk_parse_rfc3339(buf, &e, &off) != 0)
            return -1;
        *out = end_of_day ? e + 86399 : e;
        return 0;
    }
    return rk_parse_rfc3339(v, out, &off);
}

static void list_events(rk_api *a, rk_http_req *req, const char *route)
{
    static const char *const allowed[] = {"from", "to", "prefecture", "format", "open_scope", "limit", NULL};
    rk_params p;
    if (!parse_params(a, req, route, allowed, &p))
        return;
    rk_event_query q;
    memset(&q, 0, sizeof q);
    q.max_visibility = RENKEI__VISIBILITY__VISIBILITY_LOCAL;
    q.from = (int64_t)(rk_now_ms() / 1000);
    q.to = INT64_C(253402300799); /* 9999-12-31T23:59:59Z */
    const char *v;
    if ((v = rk_params_get(&p, "from")) && parse_when(v, false, &q.from) != 0) {
        reply_error(a, req, route, 400, "invalid_parameter", "from", "from must be YYYY-MM-DD or RFC 3339");
        goto out;
    }
    if ((v = rk_params_get(&p, "to")) && parse_when(v, true, &q.to) != 0) {
        reply_error(a, req, route, 400, "invalid_parameter", "to", "to must be YYYY-MM-DD or RFC 3339");
        goto out;
    }
    if (q.to < q.from) {
        reply_error(a, req, route, 400, "invalid_parameter", "to", "to is before from");
        goto out;
    }
    if (prefecture_param(a, req, route, &p, q.prefecture) != 0 ||
        enum_param(a, req, route, &p, "format", &renkei__event_format__descriptor, &q.format) != 0 ||
        enum_param(a, req, route, &p, "open_scope", &renkei__open_scope__descriptor, &q.open_scope) != 0)
        goto out;
    if (parse_limit(rk_params_get(&p, "limit"), DEFAULT_LIMIT, &q.limit) != 0) {
        reply_error(a, req, route, 400, "invalid_parameter", "limit", "limit must be 1..%d", MAX_LIMIT);
        goto out;
    }
    rk_txn *t;
    if (begin_read(a, req, route, &t) != 0)
        goto out;
    list_ctx l = {.arr = json_array(), .node = a->node};
    rk_error err;
    rk_error_clear(&err);
    int rc = l.arr ? rk_store_events(t, &q, add_record_json, &l, &err) : -1;
    rk_txn_abort(t);
    if (rc != 0 || l.oom) {
        json_decref(l.arr);
        if (l.oom || !err.code[0])
            reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
        else
            reply_rk_error(a, req, route, 503, &err);
        goto out;
    }
    reply_json(a, req, route, 200, json_pack("{s:o}", "events", l.arr), NULL);
out:
    rk_params_free(&p);
}

/* ---------------------------------------------------------------------------- changes */

typedef struct changes_ctx {
    json_t *arr;
    uint64_t last;
    bool oom;
} changes_ctx;

static int add_change(const rk_change *c, void *ctx)
{
    changes_ctx *cc = ctx;
    char id[RK_ID_MAX], hash[2 * RK_HASH_LEN + 1];
    rk_record_id(c->author, c->rid, id);
    hex32(c->hash, hash);
    json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:s, s:b}", "seq", (json_int_t)c->seq, "id", id, "kind",
                          rk_kind_name(c->kind), "version", (json_int_t)c->version, "hash", hash, "deleted",
                          c->kind == RENKEI__KIND__KIND_TOMBSTONE);
    if (!j || json_array_append_new(cc->arr, j) != 0) {
        cc->oom = true;
        return 1;
    }
    cc->last = c->seq;
    return 0;
}

/* Reads the changes after `after`. Returns the array (maybe empty) or NULL with err set. */
static json_t *read_changes(rk_api *a, uint64_t after, size_t limit, uint64_t *next, rk_error *err)
{
    rk_txn *t;
    if (rk_txn_begin(a->node->store, false, &t, err) != 0)
        return NULL;
    changes_ctx cc = {.arr = json_array(), .last = after};
    int rc = cc.arr ? rk_store_changes(t, after, limit, add_change, &cc, err) : -1;
    rk_txn_abort(t);
    if (rc != 0 || cc.oom || !cc.arr) {
        json_decref(cc.arr);
        if (cc.oom || !cc.arr)
            rk_fail(err, "no_memory", "", "out of memory");
        return NULL;
    }
    *next = cc.last;
    return cc.arr;
}

static void reply_changes(rk_api *a, rk_http_req *req, json_t *arr, uint64_t next)
{
    reply_json(a, req, "/v1/changes", 200, json_pack("{s:o, s:I}", "changes", arr, "next", (json_int_t)next), NULL);
}

static void waiter_closed(uv_handle_t *h)
{
    free(h->data);
}

static void waiter_unlink(waiter *w)
{
    rk_api *a = w->api;
    if (w->prev)
        w->prev->next = w->next;
    else
        a->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, waiter_closed);
}

/* Answers a waiter if there is something after its cursor, or unconditionally when `force`. */
static void waiter_try(waiter *w, bool force)
{
    rk_api *a = w->api;
    rk_error err;
    uint64_t next = w->after;
    json_t *arr = read_changes(a, w->after, w->limit, &next, &err);
    if (arr && json_array_size(arr) == 0 && !force) {
        json_decref(arr);
        return;
    }
    rk_http_req *req = w->req;
    waiter_unlink(w);
    if (arr)
        reply_changes(a, req, arr, next);
    else
        reply_rk_error(a, req, "/v1/changes", 503, &err);
}

static void on_wait_timeout(uv_timer_t *t)
{
    waiter_try(t->data, true);
}

static void on_wait_abort(rk_http_req *req, void *ctx)
{
    waiter *w = ctx;
    waiter_unlink(w);
    rk_http_respond(req, 499, NULL, NULL, NULL, 0); /* orphaned: only frees the request */
}

static void on_commit(void *ctx, const rk_record *const *recs, const char *const *sources, size_t n)
{
    (void)recs;
    (void)sources;
    (void)n;
    rk_api *a = ctx;
    for (waiter *w = a->waiters, *next; w; w = next) {
        next = w->next;
        waiter_try(w, false);
    }
}

static void get_changes(rk_api *a, rk_http_req *req, const char *route)
{
    static const char *const allowed[] = {"after", "limit", "wait", NULL};
    rk_params p;
    if (!parse_params(a, req, route, allowed, &p))
        return;
    uint64_t after = 0, wait = 0;
    size_t limit;
    const char *v;
    if ((v = rk_params_get(&p, "after")) && parse_u64(v, &after) != 0) {
        reply_error(a, req, route, 400, "invalid_parameter", "after", "after must be a change sequence number");
        goto out;
    }
    if ((v = rk_params_get(&p, "wait")) && (parse_u64(v, &wait) != 0 || wait > MAX_WAIT_S)) {
        reply_error(a, req, route, 400, "invalid_parameter", "wait", "wait must be 0..%d seconds", MAX_WAIT_S);
        goto out;
    }
    if (parse_limit(rk_params_get(&p, "limit"), 100, &limit) != 0) {
        reply_error(a, req, route, 400, "invalid_parameter", "limit", "limit must be 1..%d", MAX_LIMIT);
        goto out;
    }
    rk_error err;
    uint64_t next = after;
    json_t *arr = read_changes(a, after, limit, &next, &err);
    if (!arr) {
        reply_rk_error(a, req, route, 503, &err);
        goto out;
    }
    if (json_array_size(arr) > 0 || wait == 0 || a->stopping) {
        reply_changes(a, req, arr, next);
        goto out;
    }
    json_decref(arr);
    waiter *w = calloc(1, sizeof *w);
    if (!w || uv_timer_init(a->node->loop, &w->timer) != 0) {
        free(w);
        reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
        goto out;
    }
    w->api = a;
    w->req = req;
    w->after = after;
    w->limit = limit;
    w->timer.data = w;
    w->next = a->waiters;
    if (a->waiters)
        a->waiters->prev = w;
    a->waiters = w;
    rk_http_set_abort(req, on_wait_abort, w);
    uv_timer_start(&w->timer, on_wait_timeout, wait * 1000, 0);
out:
    rk_params_free(&p);
}

/* ---------------------------------------------------------------------------- exports, metrics */

static void get_export(rk_api *a, rk_http_req *req, const char *route, const char *name)
{
    rk_node *n = a->node;
    char base[512];
    /* links must work where the exports are read: behind the reverse proxy, public_url */
    if (n->cfg->public_url)
        snprintf(base, sizeof base, "%s", n->cfg->public_url);
    else
        snprintf(base, sizeof base, "http://%s", n->cfg->tcp ? n->cfg->tcp : "localhost");
    rk_feed_meta meta = {.node_name = n->cfg->name, .base_url = base, .node_key = n->pub,
                         .author_name = author_name, .ctx = n};
    rk_txn *t;
    if (begin_read(a, req, route, &t) != 0)
        return;
    rk_export_response r;
    memset(&r, 0, sizeof r);
    rk_buf_init(&r.body);
    rk_buf_init(&r.headers);
    int rc = rk_export_serve(t, name, req->query, req->if_none_match, req->if_modified_since, &meta, &r);
    rk_txn_abort(t);
    if (rc != 0 && r.status < 400) {
        r.status = 500;
        if (!r.err.code[0])
            rk_fail(&r.err, "internal", "", "export failed");
    }
    if (r.status >= 400) {
        reply_rk_error(a, req, route, r.status, &r.err);
    } else {
        rk_buf extra;
        rk_buf_init(&extra);
        if ((r.etag[0] && rk_buf_printf(&extra, "ETag: %s\r\n", r.etag)) ||
            (r.last_modified[0] && rk_buf_printf(&extra, "Last-Modified: %s\r\n", r.last_modified)) ||
            (r.status != 304 && r.headers.len && rk_buf_append(&extra, r.headers.data, r.headers.len)) ||
            rk_buf_puts(&extra, ""))
            reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
        else if (r.status == 304)
            reply(a, req, route, 304, NULL, extra.data, NULL, 0);
        else
            reply(a, req, route, r.status ? r.status : 200, r.content_type ? r.content_type : "application/octet-stream",
                  extra.data, r.body.data, r.body.len);
        rk_buf_free(&extra);
    }
    rk_buf_free(&r.body);
    rk_buf_free(&r.headers);
}

static void get_metrics(rk_api *a, rk_http_req *req, const char *route)
{
    rk_buf b;
    rk_buf_init(&b);
    rk_gauges_refresh(a->node);
    if (rk_metrics_render(a->node->metrics, &b) != 0) {
        rk_buf_free(&b);
        reply_error(a, req, route, 500, "no_memory", NULL, "out of memory");
        return;
    }
    reply(a, req, route, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.data, b.len);
    rk_buf_free(&b);
}

/* ---------------------------------------------------------------------------- the thread pool */

static void job_work(uv_work_t *w)
{
    read_job *j = w->data;
    capturing = j;
    j->fn(j->api, j->req, j->route, j->arg);
    capturing = NULL;
}

/* Loop thread: sends what the handler rendered (the request may be orphaned by now, in which case
 * rk_http_respond_owned only frees it). */
static void job_done(uv_work_t *w, int status)
{
    read_job *j = w->data;
    rk_api *a = j->api;
    a->jobs--;
    if (status == 0 && j->pub) {
        submit_sealed(a, j->pub, &j->rec);
    } else if (status == 0 && j->answered && !j->oom && j->status_json) {
        finish_status(a, j->req, j->route, j->status_json);
    } else if (status == 0 && j->answered && !j->oom) {
        send_owned(a, j->req, j->route, j->status, j->has_ctype ? j->ctype : NULL, j->extra, j->body, j->len);
        j->body = NULL;
    } else {
        json_decref(j->status_json);
        if (j->pub) { /* not reached: jobs are never cancelled */
            rk_record_free(&j->rec);
            pending_remove(a, j->pub->rid);
            free(j->pub);
        }
        reply_error(a, j->req, j->route, 500, "no_memory", NULL, "out of memory");
    }
    free(j->body);
    free(j->extra);
    free(j->arg);
    free(j);
}

/* Runs a read-only handler on libuv's thread pool; it opens its own read transaction there and its
 * response is sent from job_done on the loop thread. Falls back to running it here. */
static void offload(rk_api *a, rk_http_req *req, const char *route, read_fn fn, const char *arg)
{
    read_job *j = calloc(1, sizeof *j);
    if (j && arg && !(j->arg = strdup(arg))) {
        free(j);
        j = NULL;
    }
    if (!j) {
        fn(a, req, route, arg);
        return;
    }
    j->api = a;
    j->req = req;
    j->route = route;
    j->fn = fn;
    j->work.data = j;
    if (uv_queue_work(a->node->loop, &j->work, job_work, job_done) != 0) {
        free(j->arg);
        free(j);
        fn(a, req, route, arg);
        return;
    }
    a->jobs++;
}

static void post_record_fn(rk_api *a, rk_http_req *req, const char *route, const char *arg)
{
    (void)arg;
    post_record(a, req, route);
}

static void status_fn(rk_api *a, rk_http_req *req, const char *route, const char *arg)
{
    (void)arg;
    get_status(a, req, route);
}

static void list_records_fn(rk_api *a, rk_http_req *req, const char *route, const char *arg)
{
    (void)arg;
    list_records(a, req, route);
}

static void get_record_fn(rk_api *a, rk_http_req *req, const char *route, const char *arg)
{
    get_record(a, req, route, arg);
}

static void list_events_fn(rk_api *a, rk_http_req *req, const char *route, const char *arg)
{
    (void)arg;
    list_events(a, req, route);
}

static void changes_fn(rk_api *a, rk_http_req *req, const char *route, const char *arg)
{
    (void)arg;
    get_changes(a, req, route);
}

static void export_fn(rk_api *a, rk_http_req *req, const char *route, const char *arg)
{
    get_export(a, req, route, arg);
}

/* ---------------------------------------------------------------------------- routing */

static bool is(const rk_http_req *req, const char *m) { return strcmp(req->method, m) == 0; }

static void method_not_allowed(rk_api *a, rk_http_req *req, const char *route, const char *allow)
{
    char extra[80];
    snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
    char msg[160];
    snprintf(msg, sizeof msg, "%s is not allowed on %s (allowed: %s)", req->method, route, allow);
    json_t *e = json_pack("{s:{s:s, s:s, s:n}}", "error", "code", "method_not_allowed", "message", msg, "field");
    reply_json(a, req, route, 405, e, extra);
}

static void handle(rk_http_req *req, void *ctx)
{
    rk_api *a = ctx;
    const char *path = req->path;
    static const char rec_prefix[] = "/v1/records/";
    static const char export_prefix[] = "/v1/export/";
    bool publishing = is(req, "POST") || is(req, "PUT") || is(req, "DELETE");

    if (strcmp(path, "/v1/status") == 0) {
        if (!is(req, "GET"))
            return method_not_allowed(a, req, "/v1/status", "GET");
        return offload(a, req, "/v1/status", status_fn, NULL);
    }
    if (strcmp(path, "/v1/records") == 0) {
        const char *route = "/v1/records";
        if (is(req, "GET"))
            return offload(a, req, route, list_records_fn, NULL);
        if (!is(req, "POST"))
            return method_not_allowed(a, req, route, "GET, POST");
        if (!may_publish(a, req))
            return reply_error(a, req, route, 403, "forbidden", NULL, "publishing needs membership of group %s",
                               a->node->cfg->group);
        return offload(a, req, route, post_record_fn, NULL);
    }
    if (strncmp(path, rec_prefix, sizeof rec_prefix - 1) == 0 && path[sizeof rec_prefix - 1] &&
        !strchr(path + sizeof rec_prefix - 1, '/')) {
        const char *route = "/v1/records/{id}";
        char id[512];
        if (strlen(path + sizeof rec_prefix - 1) >= sizeof id)
            return reply_error(a, req, route, 400, "invalid_id", "id", "the record id is too long");
        snprintf(id, sizeof id, "%s", path + sizeof rec_prefix - 1);
        url_decode(id);
        if (publishing && !may_publish(a, req))
            return reply_error(a, req, route, 403, "forbidden", NULL, "publishing needs membership of group %s",
                               a->node->cfg->group);
        if (is(req, "GET"))
            return offload(a, req, route, get_record_fn, id);
        if (is(req, "PUT"))
            return put_record(a, req, route, id);
        if (is(req, "DELETE"))
            return delete_record(a, req, route, id);
        return method_not_allowed(a, req, route, "GET, PUT, DELETE");
    }
    if (strcmp(path, "/v1/events") == 0) {
        if (!is(req, "GET"))
            return method_not_allowed(a, req, "/v1/events", "GET");
        return offload(a, req, "/v1/events", list_events_fn, NULL);
    }
    if (strcmp(path, "/v1/changes") == 0) {
        if (!is(req, "GET"))
            return method_not_allowed(a, req, "/v1/changes", "GET");
        /* a long-poll registers its waiter on the loop thread; the rest is a plain read */
        if (req->query && strstr(req->query, "wait"))
            return get_changes(a, req, "/v1/changes");
        return offload(a, req, "/v1/changes", changes_fn, NULL);
    }
    if (strcmp(path, "/v1/peers") == 0) {
        if (!is(req, "GET"))
            return method_not_allowed(a, req, "/v1/peers", "GET");
        return reply_json(a, req, "/v1/peers", 200, json_pack("{s:o}", "peers", rk_gossip_peers_json(a->node->gossip)),
                          NULL);
    }
    if (strncmp(path, export_prefix, sizeof export_prefix - 1) == 0 || strcmp(path, "/v1/stats") == 0 ||
        strcmp(path, "/v1/regions") == 0) {
        bool exp = strncmp(path, export_prefix, sizeof export_prefix - 1) == 0;
        const char *route = exp ? "/v1/export/{name}" : path[4] == 's' ? "/v1/stats" : "/v1/regions";
        if (!is(req, "GET"))
            return method_not_allowed(a, req, route, "GET");
        return offload(a, req, route, export_fn, exp ? path + sizeof export_prefix - 1 : path + 4);
    }
    if (strcmp(path, "/metrics") == 0) {
        if (!is(req, "GET"))
            return method_not_allowed(a, req, "/metrics", "GET");
        return get_metrics(a, req, "/metrics");
    }
    reply_error(a, req, "other", 404, "not_found", NULL, "no such endpoint: %s", path);
}

/* ---------------------------------------------------------------------------- life cycle */

int rk_api_start(rk_node *node, rk_api **out, rk_error *err)
{
    rk_api *a = calloc(1, sizeof *a);
    if (!a)
        return rk_fail(err, "no_memory", "", "out of memory");
    a->node = node;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return rk_fail(err, "internal", "", "pthread_mutex_init failed");
    }
    if (node->cfg->group) {
        struct group gr, *res = NULL;
        char buf[4096];
        if (getgrnam_r(node->cfg->group, &gr, buf, sizeof buf, &res) != 0 || !res) {
            pthread_mutex_destroy(&a->mu);
            free(a);
            return rk_fail(err, "config", "api.group", "unknown group \"%s\"", node->cfg->group);
        }
        a->have_group = true;
        a->group_gid = gr.gr_gid;
    }
    rk_metrics *m = node->metrics;
    rk_metrics_describe(m, "renkei_http_requests_total", "counter", "API requests by route and status code.");
    rk_metrics_describe(m, "renkei_http_request_duration_seconds", "histogram", "API request latency by route.");
    rk_metrics_describe(m, "renkei_publishes_total", "counter", "Records published through the API, by operation.");
    if (rk_writer_add_listener(node->writer, on_commit, a) != 0) {
        pthread_mutex_destroy(&a->mu);
        free(a);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    rk_http_options o = {.socket_path = node->cfg->socket, .tcp = node->cfg->tcp, .group = node->cfg->group,
                         .max_body = node->cfg->max_body};
    if (rk_http_start(node->loop, &o, handle, a, &a->http, err) != 0) {
        /* the listener stays registered; main exits on this error before the writer commits */
        a->stopping = true;
        *out = a;
        return -1;
    }
    *out = a;
    return 0;
}

void rk_api_stop(rk_api *a)
{
    if (!a || a->stopping)
        return;
    a->stopping = true;
    rk_http_stop(a->http);
    a->http = NULL;
    while (a->waiters)
        waiter_try(a->waiters, true);
}

void rk_api_free(rk_api *a)
{
    if (!a)
        return;
    while (a->pending) {
        pending_rid *n = a->pending->next;
        free(a->pending);
        a->pending = n;
    }
    pthread_mutex_destroy(&a->mu);
    free(a);
}
