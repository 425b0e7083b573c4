/* api_publish: POST, PUT and DELETE on records: the node signs a new version of one of its own
 * records and hands it to the writer.
 *
 * Invariants:
 * - A bad request never changes state: the JSON, schema, permissions, id and current version are
 *   checked before a record is signed and submitted.
 * - A publish is answered only from the writer's completion callback, after the commit, so a 201 or
 *   200 means the record is durable.
 * - A record's new version is above its current one, and the versions this node assigns increase
 *   strictly (max(now, last assigned + 1, current + 1)) while that stays within
 *   PUBLISH_LEAD_MAX_MS of the clock; see publish_next_version_locked.
 * - One publish validates the record once (rk_record_from_json, or rk_record_validate_content for a
 *   deletion), reads its current version once for POST (in the writer's transaction, where the
 *   "already exists" 409 is decided) and twice for PUT and DELETE (once here for 404, 410 and the
 *   creation time, once in the write transaction), packs it once and never decodes what it sealed.
 * - POST may run on the thread pool: it touches a->last_version only under a->mu, and leaves the
 *   hand-over to the writer to the loop thread (publish_submit, its `then`).
 */
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"
#include "envcodec.h"
#include "members.h"
#include "errcode.h"
#include "metrics.h"
#include "recjson.h"
#include "text.h"
#include "writer.h"

/* How far ahead of the clock node-wide strictly increasing versions may run. */
#define PUBLISH_LEAD_MAX_MS 1000

/* One publish between its sealing and its answer. */
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
    /* the answer's body once the record is stored, formatted on the sealing thread: every value in it
     * is hex, a number or a rid (A-Z a-z 0-9 . _ -), so it needs no escaping and the loop thread no
     * JSON tree */
    char stored_body[2 * RK_ID_MAX + 4 * RK_HASH_LEN];
    int stored_len;
    rk_record rec;        /* sealed, until handed to the writer */
    rk_rectokens *tokens; /* its full-text tokens, computed on the sealing thread, or NULL */
} publish;

/* A publish refused before anything was signed: drops msg and answers the error. */
static void publish_refuse(Renkei__Record *msg, rk_api_response *res, const char *code, const char *field,
                           const char *fmt, ...) RK_PRINTF(5, 6);

static void publish_refuse(Renkei__Record *msg, rk_api_response *res, const char *code, const char *field,
                           const char *fmt, ...)
{
    protobuf_c_message_free_unpacked(&msg->base, NULL);
    va_list ap;
    va_start(ap, fmt);
    rk_api_verror(res, code, field, fmt, ap);
    va_end(ap);
}

/* Makes this node msg's author, whatever it said; -1 when out of memory. */
static int publish_set_author(rk_api *a, Renkei__Record *msg)
{
    free(msg->author.data);
    msg->author.len = 0;
    if (!(msg->author.data = malloc(RK_KEY_LEN)))
        return -1;
    memcpy(msg->author.data, a->node->pub, RK_KEY_LEN);
    msg->author.len = RK_KEY_LEN;
    return 0;
}

bool rk_api_may_publish(rk_api *a, const rk_http_req *req)
{
    if (!a->have_group)
        return true;
    if (!req->has_cred)
        return false; /* TCP callers cannot be identified */
    if (req->uid == 0 || req->gid == a->group_gid)
        return true;
    struct passwd pw, *pres = NULL;
    char buf[4096];
    if (getpwuid_r(req->uid, &pw, buf, sizeof buf, &pres) != 0 || !pres)
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

/* Loop thread, once the writer has committed (or failed) the record. */
static void publish_written(void *ctx, const rk_ingest_result *ir, const rk_record *rec, const rk_error *err)
{
    (void)rec;
    publish *p = ctx;
    rk_api *a = p->api;
    rk_api_response res;
    rk_api_response_init(&res);
    if (ir->status == RK_INGEST_STORED) {
        rk_metrics_add(a->node->metrics, "renkei_publishes_total", "op",
                       p->is_delete   ? "delete"
                       : p->is_create ? "create"
                                      : "update",
                       1);
        char loc[RK_ID_MAX + 64] = "";
        if (p->is_create)
            snprintf(loc, sizeof loc, "Location: /v1/records/%s\r\n", p->id);
        rk_api_bytes(&res, p->ok_status, "application/json", loc, p->stored_body, (size_t)p->stored_len);
    } else if (ir->status == RK_INGEST_PENDING) {
        /* this node is not a member yet: the record is kept and goes out once the roster admits the
         * node, so it is acknowledged, as accepted rather than stored */
        rk_api_json(&res, 202,
                    json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "id", p->id, "rid", p->rid, "version",
                              (json_int_t)p->version, "hash", p->hash, "status", "pending_admission", "message",
                              "this node is not a member of the network yet; the record is kept and published "
                              "once members admit it"));
    } else if (err && err->code[0]) {
        rk_api_rk_error(&res, err);
    } else {
        rk_api_error(&res, "store_error", NULL, "the store failed");
    }
    rk_api_send(a, p->req, p->route, &res);
    free(p);
}

/* Loop thread: hands the sealed record to the writer; the answer comes from publish_written. */
static bool publish_submit(rk_api *a, rk_http_req *req, const char *route, rk_api_response *res)
{
    publish *p = res->then_ctx;
    res->then_ctx = NULL;
    p->req = req;
    p->route = route;
    /* the node's own fresh signature is not verified again on the writer thread */
    if (!a->stopping &&
        rk_writer_submit_own(a->node->writer, &p->rec, p->tokens, p->is_create, publish_written, p) == 0)
        return false;
    rk_record_free(&p->rec);
    rk_rectokens_free(p->tokens);
    free(p);
    rk_api_error(res, "stopping", NULL, "the node is shutting down");
    return true;
}

/* Signs msg (any thread; ownership taken) and leaves the hand-over to the writer to publish_submit.
 * On failure res holds the error. */
static void publish_seal(rk_api *a, Renkei__Record *msg, int ok_status, bool is_create, bool is_delete,
                         rk_api_response *res)
{
    rk_node *n = a->node;
    /* after `renkei key rotate` the roster takes nothing more from this key: say what to do rather
     * than sign records every node would refuse (docs/membership.md, "Rotate a key") */
    const rk_membership *roster = rk_members_acquire(n);
    const rk_member_entry *self = rk_membership_find(roster, n->pub);
    if (self && self->status == RK_MEMBER_ROTATED && self->has_successor) {
        char next[2 * RK_KEY_LEN + 1];
        rk_hex_encode(self->successor, RK_KEY_LEN, next);
        rk_members_release(n, roster);
        publish_refuse(msg, res, "rotated_key", NULL,
                       "this node's key was rotated to %.16s…: set [node] key_file to the new key's file and restart "
                       "renkeid to publish again",
                       next);
        return;
    }
    rk_members_release(n, roster);
    publish *p = calloc(1, sizeof *p);
    if (!p) {
        publish_refuse(msg, res, "no_memory", NULL, "out of memory");
        return;
    }
    rk_error err;
    if (rk_record_seal_owned(msg, n->key, &p->rec, &err) != 0) {
        free(p);
        rk_api_rk_error(res, &err);
        return;
    }
    msg = p->rec.msg;
    p->api = a;
    p->ok_status = ok_status;
    p->is_create = is_create;
    p->is_delete = is_delete;
    rk_record_id(n->pub, msg->rid, p->id);
    snprintf(p->rid, sizeof p->rid, "%s", msg->rid);
    p->version = msg->version;
    rk_hex_encode(p->rec.hash, RK_HASH_LEN, p->hash);
    p->stored_len = snprintf(p->stored_body, sizeof p->stored_body,
                             "{\"id\":\"%s\",\"rid\":\"%s\",\"version\":%llu,\"hash\":\"%s\"%s}\n", p->id, p->rid,
                             (unsigned long long)p->version, p->hash, is_delete ? ",\"deleted\":true" : "");
    if (p->stored_len < 0 || (size_t)p->stored_len >= sizeof p->stored_body) { /* cannot happen: sized above */
        rk_record_free(&p->rec);
        free(p);
        rk_api_error(res, "internal", NULL, "the answer does not fit");
        return;
    }
    /* normalised and tokenised here, on a pool thread, rather than again on the writer thread; the
     * envelope compressed as the store keeps it, too (a failure leaves that to the writer) */
    p->tokens = rk_writer_tokens(msg);
    rk_envcodec_precompress(n->store, &p->rec);
    res->then = publish_submit;
    res->then_ctx = p;
}

/* Versions are milliseconds. Strictly increasing versions keep two updates of one record that are
 * in flight together in order. Above 1,000 publishes a second they would run ahead of the clock
 * for as long as the rate lasts, until every node, this one included, rejects them as clock_skew;
 * so the lead is capped (at half the allowed skew if that is smaller). At the cap a version is the
 * cap's, now + lead (still above the record's current one): two updates of one record in the same
 * millisecond are then ordered by hash, and the other gets a 409. Why the cap's and not the clock's:
 * versions then never fall back, so the records reach the store in version order and their postings
 * are appended; falling back a second at every cap put three records in four at 4,000 publishes a
 * second behind the newest of every list they join (merged into blocks or side lists, a third of the
 * writer's CPU). With a->mu held. */
static uint64_t publish_next_version_locked(rk_api *a, uint64_t current)
{
    uint64_t now = rk_now_ms();
    uint64_t lead = a->node->limits.max_clock_skew_ms / 2;
    if (lead > PUBLISH_LEAD_MAX_MS)
        lead = PUBLISH_LEAD_MAX_MS;
    uint64_t v = now;
    if (v <= a->last_version)
        v = a->last_version < now + lead ? a->last_version + 1 : now + lead;
    if (v <= current)
        v = current + 1;
    if (v > a->last_version)
        a->last_version = v;
    return v;
}

static uint64_t publish_next_version(rk_api *a, uint64_t current)
{
    pthread_mutex_lock(&a->mu);
    uint64_t v = publish_next_version_locked(a, current);
    pthread_mutex_unlock(&a->mu);
    return v;
}

static void publish_replace_string(char **dst, const char *v)
{
    if (*dst && *dst != protobuf_c_empty_string)
        free(*dst);
    *dst = strdup(v);
}

/* Parses the request body into a record message authored by this node, or fills res with the error
 * and returns NULL. */
static Renkei__Record *publish_parse_body(rk_api *a, rk_http_req *req, rk_api_response *res)
{
    if (req->body_len == 0) {
        rk_api_error(res, "invalid_json", NULL, "the request body is empty; expected a JSON object");
        return NULL;
    }
    json_error_t je;
    size_t body_len = req->body_len;
    const char *body = rk_json_skip_bom(req->body, &body_len);
    json_t *j = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        /* jansson accepts only ASCII outside strings and checks every string by the rules of
         * rk_text_valid_utf8 (no overlong forms, surrogates or code points past U+10FFFF), so a body
         * it parsed is valid UTF-8: the separate pass over every body is made only to name the error */
        if (!rk_text_valid_utf8(req->body, req->body_len))
            rk_api_error(res, "invalid_utf8", NULL, "the request body is not valid UTF-8");
        else
            rk_api_error(res, "invalid_json", NULL, "invalid JSON at line %d column %d (position %d): %s", je.line,
                         je.column, je.position, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        rk_api_error(res, "invalid_json", NULL, "the request body must be a JSON object");
        return NULL;
    }
    Renkei__Record *msg = NULL;
    rk_error err;
    rk_error_clear(&err);
    rk_problems all;
    rk_problems_init(&all);
    int rc = rk_record_from_json_all(j, &msg, &all, &err);
    json_decref(j);
    if (rc != 0) {
        /* error.code/message/field stay the first problem's; details lists every one (docs/api.md) */
        const char *code = err.code[0] ? err.code : "internal";
        json_t *e =
            json_pack("{s:s, s:s, s:o, s:o*}", "code", code, "message", err.message, "field",
                      err.field[0] ? json_string(err.field) : json_null(), "details", rk_problems_to_json(&all));
        rk_problems_free(&all);
        rk_api_json(res, rk_errcode_status(code), e ? json_pack("{s:o}", "error", e) : NULL);
        return NULL;
    }
    rk_problems_free(&all);
    if (publish_set_author(a, msg) != 0) {
        publish_refuse(msg, res, "no_memory", NULL, "out of memory");
        return NULL;
    }
    return msg;
}

void rk_api_post_record(rk_api *a, rk_http_req *req, const char *arg, rk_api_response *res)
{
    (void)arg;
    Renkei__Record *msg = publish_parse_body(a, req, res);
    if (!msg)
        return;
    if (!msg->rid || !msg->rid[0]) {
        uint8_t r[16];
        char hex[33];
        if (rk_random(r, sizeof r) != 0) {
            publish_refuse(msg, res, "internal", NULL, "no random bytes available");
            return;
        }
        rk_hex_encode(r, sizeof r, hex);
        publish_replace_string(&msg->rid, hex);
        if (!msg->rid) {
            publish_refuse(msg, res, "no_memory", NULL, "out of memory");
            return;
        }
    } else if (!rk_rid_valid(msg->rid)) {
        publish_refuse(msg, res, "invalid_rid", "rid", "rid must be 1..64 characters of A-Z a-z 0-9 . _ -");
        return;
    }
    /* "already exists" is checked by the writer, in the transaction that stores the record, so the
     * current version is read once; two POSTs of one rid in flight together: the second gets 409 */
    msg->version = publish_next_version(a, 0);
    msg->created_at = msg->version;
    publish_seal(a, msg, 201, true, false, res);
}

void rk_api_put_record(rk_api *a, rk_http_req *req, const char *id, rk_api_response *res)
{
    rk_api_target t;
    if (!rk_api_load_target(a, id, true, &t, res))
        return;
    uint64_t created = t.rec.msg->created_at;
    rk_record_free(&t.rec);
    Renkei__Record *msg = publish_parse_body(a, req, res);
    if (!msg)
        return;
    if (msg->rid && msg->rid[0] && strcmp(msg->rid, t.rid) != 0) {
        publish_refuse(msg, res, "invalid_value", "rid", "the body's rid \"%s\" differs from the URL's", t.rid);
        return;
    }
    publish_replace_string(&msg->rid, t.rid);
    if (!msg->rid) {
        publish_refuse(msg, res, "no_memory", NULL, "out of memory");
        return;
    }
    msg->version = publish_next_version(a, t.cur.version);
    msg->created_at = created ? created : msg->version;
    publish_seal(a, msg, 200, false, false, res);
}

/* A heap tombstone for rid that rk_record_seal_owned can own; NULL when out of memory. A deletion
 * travels as far as the record did (its visibility) and keeps its creation time. */
static Renkei__Record *publish_tombstone(rk_api *a, const char *rid, Renkei__Visibility visibility, uint64_t created_at)
{
    Renkei__Record *msg = malloc(sizeof *msg);
    Renkei__Tombstone *ts = malloc(sizeof *ts);
    if (!msg || !ts) {
        free(msg);
        free(ts);
        return NULL;
    }
    renkei__record__init(msg);
    renkei__tombstone__init(ts);
    msg->kind = RENKEI__KIND__KIND_TOMBSTONE;
    msg->visibility = visibility;
    msg->created_at = created_at;
    msg->body_case = RENKEI__RECORD__BODY_TOMBSTONE;
    msg->tombstone = ts;
    msg->rid = strdup(rid);
    msg->language = strdup("ja");
    if (!msg->rid || !msg->language || publish_set_author(a, msg) != 0) {
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        return NULL;
    }
    return msg;
}

void rk_api_delete_record(rk_api *a, rk_http_req *req, const char *id, rk_api_response *res)
{
    (void)req;
    rk_api_target t;
    if (!rk_api_load_target(a, id, true, &t, res))
        return;
    Renkei__Record *msg = publish_tombstone(a, t.rid, t.rec.msg->visibility, t.rec.msg->created_at);
    rk_record_free(&t.rec);
    if (!msg) {
        rk_api_error(res, "no_memory", NULL, "out of memory");
        return;
    }
    rk_error err;
    if (rk_record_validate_content(msg, &err) != 0) { /* the one schema check of a deletion */
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        rk_api_rk_error(res, &err);
        return;
    }
    msg->version = publish_next_version(a, t.cur.version);
    publish_seal(a, msg, 200, false, true, res);
}
