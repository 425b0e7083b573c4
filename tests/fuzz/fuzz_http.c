/* fuzz_http: bytes from a local API client, taken as the daemon takes them up to its handlers'
 * store reads: daemon/http_parse.c turns them into requests, the route lookup (daemon/api_route.c)
 * picks a route, and the route's query string is parsed and checked as its handler does
 * (daemon/api_query.c over lib/params.c), then run against a small store opened once: the record
 * and event lists and the change feed through lib/query.c and lib/store.c, a record's id through
 * rk_record_id_parse, the exports, /v1/stats and /v1/regions through rk_export_serve (lib/export.c,
 * with the request's If-None-Match and If-Modified-Since), and the web page's one-time login token
 * through daemon/session.c. No daemon, no socket, no thread.
 *
 * The first input byte chooses how the rest is cut into reads (bits 0-6 modulo 65: 1..64 bytes, or
 * all at once for 0), so requests split anywhere and pipelined requests arrive together, and
 * which listener it came on (bit 7: the TCP one, where the web page's routes live). The input is
 * parsed up to the first rejection, as the connection would then close.
 *
 * Invariants checked beyond the sanitizers: a request has a method and a path, its body is no longer
 * than max_body, a rejection names a code with a message, and parsing always moves forward; a route
 * found matches the method and the listener, a 405 lists methods; every error a request can get has
 * a code listed in daemon/errcode.c and a code, field and message that are valid UTF-8 (they are sent
 * as JSON strings); a query that passes its route's checks has its values in range; an export's
 * extra header lines have no control characters, and its JSON bodies parse.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_query.h"
#include "api_route.h"
#include "errcode.h"
#include "export.h"
#include "http_conn.h"
#include "params.h"
#include "recjson.h"
#include "session.h"
#include "sign.h"
#include "store.h"
#include "taxonomy.h"
#include "text.h"

#define FUZZ_MAX_BODY 4096 /* small, so the 413 paths are reached */

/* ---------------------------------------------------------------------------- the store */

static rk_store *fuzz_store;
static uint8_t fuzz_self[RK_KEY_LEN];
static rk_session_store *fuzz_sessions; /* holds one login token that no input will guess */

/* Records the queries can find: a case, an event, and a record above public that exports must skip. */
static const char *const fuzz_records[] = {
    ("{\"kind\":\"case\",\"case\":{\"title\":\"品質管理担当者をロボット導入リーダーに\",\"summary\":\"樹脂食器のOEM"
     "メーカーが社員をリスキリングした。\",\"prefecture\":\"17\",\"industry\":\"manufacturing\",\"dx_level\":"
     "\"new_offering\",\"skills\":[\"robotics\"],\"tags\":[\"リスキリング\"]}}"),
    ("{\"kind\":\"event\",\"event\":{\"title\":\"石川の公開セミナー\",\"event_type\":\"seminar\",\"starts_at\":"
     "\"2030-10-10T13:00:00+09:00\",\"ends_at\":\"2030-10-10T16:30:00+09:00\",\"format\":\"online\","
     "\"prefecture\":\"17\"}}"),
    ("{\"kind\":\"case\",\"visibility\":\"local\",\"case\":{\"title\":\"ローカル限定の事例\",\"summary\":\"外に出ない"
     "\",\"prefecture\":\"01\",\"industry\":\"fisheries\",\"dx_level\":\"efficiency\"}}"),
};

static int fuzz_remove(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fuzz_fail(const char *what, const rk_error *err)
{
    fprintf(stderr, "fuzz_http: %s: %s %s\n", what, err->code, err->message);
    abort();
}

/* Seals and stores fuzz_records under a new key. */
static void fuzz_fill_store(void)
{
    rk_error err;
    rk_key *key;
    if (rk_key_generate(&key, &err) != 0)
        fuzz_fail("key", &err);
    rk_key_public(key, fuzz_self);
    rk_txn *t;
    if (rk_txn_begin(fuzz_store, true, &t, &err) != 0)
        fuzz_fail("begin", &err);
    for (size_t i = 0; i < sizeof fuzz_records / sizeof fuzz_records[0]; i++) {
        json_t *j = json_loads(fuzz_records[i], 0, NULL);
        Renkei__Record *msg = NULL;
        if (!j || rk_record_from_json(j, &msg, &err) != 0)
            fuzz_fail("record", &err);
        json_decref(j);
        char rid[16];
        snprintf(rid, sizeof rid, "r%zu", i);
        msg->author.data = fuzz_self;
        msg->author.len = RK_KEY_LEN;
        msg->rid = rid;
        msg->version = 1000 + i;
        msg->created_at = 1700000000 + i;
        rk_record rec;
        rk_put_result put;
        uint64_t seq;
        if (rk_record_seal(msg, key, &rec, &err) != 0 || rk_store_put(t, &rec, &put, &seq, &err) != 0)
            fuzz_fail("store", &err);
        rk_record_free(&rec);
        msg->author.data = NULL;
        msg->rid = NULL;
        protobuf_c_message_free_unpacked(&msg->base, NULL);
    }
    if (rk_txn_commit(t, &err) != 0)
        fuzz_fail("commit", &err);
    rk_key_free(key);
}

/* The store lives in a directory removed as soon as it is open: nothing is left behind, even after
 * a crash (the environment keeps its files open). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/fuzz_http-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    rk_store_options o = {.dir = dir, .map_size = 16u << 20, .no_sync = true};
    rk_error err;
    if (rk_store_open(&o, &fuzz_store, &err) != 0)
        fuzz_fail("open", &err);
    fuzz_fill_store();
    char token[RK_SESSION_SECRET_LEN + 1];
    if (!(fuzz_sessions = rk_session_store_new()) || rk_session_new_token(fuzz_sessions, 1000, token) != 0)
        abort();
    if (nftw(dir, fuzz_remove, 8, FTW_DEPTH | FTW_PHYS) != 0)
        abort();
    return 0;
}

/* ---------------------------------------------------------------------------- checks */

static bool fuzz_utf8(const char *s)
{
    return rk_text_valid_utf8(s, strlen(s));
}

/* An error a client can get: sent as JSON strings, with the status errcode.c gives its code. */
static void check_error(const rk_error *err)
{
    if (!err->code[0] || !fuzz_utf8(err->code) || !fuzz_utf8(err->field) || !fuzz_utf8(err->message))
        abort();
    if (rk_errcode_status(err->code) == 500 && strcmp(err->code, "internal") != 0 &&
        strcmp(err->code, "no_memory") != 0)
        abort();
}

static void check_limit(size_t limit)
{
    if (limit < 1 || limit > RK_API_MAX_LIMIT)
        abort();
}

static void check_prefecture(const char p[3])
{
    if (p[0] && !rk_prefecture_valid(p))
        abort();
}

/* Header lines as http.c sends them: "Name: value\r\n", printable, no line break inside. */
static void check_header_lines(const rk_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c == '\r' && i + 1 < b->len && b->data[i + 1] == '\n')
            i++;
        else if (c < 0x20 || c == 0x7f)
            abort();
    }
    if (b->len && (b->len < 2 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0))
        abort();
}

/* ---------------------------------------------------------------------------- routes */

typedef struct fuzz_walk {
    size_t n;
    int max_visibility;
} fuzz_walk;

static int fuzz_on_record(const rk_record *rec, void *ctx)
{
    fuzz_walk *w = ctx;
    if (rec->msg->kind == RENKEI__KIND__KIND_TOMBSTONE || (int)rec->msg->visibility > w->max_visibility)
        abort();
    w->n++;
    return 0;
}

static int fuzz_on_change(const rk_change *c, void *ctx)
{
    (void)c;
    ((fuzz_walk *)ctx)->n++;
    return 0;
}

static rk_txn *fuzz_read(void)
{
    rk_txn *t;
    rk_error err;
    if (rk_txn_begin(fuzz_store, false, &t, &err) != 0)
        fuzz_fail("begin", &err);
    return t;
}

static void route_records(const char *query)
{
    rk_params p;
    rk_query q;
    uint8_t author[RK_KEY_LEN];
    const char *author_name;
    rk_error err;
    if (rk_api_records_query(query, &p, &q, author, &author_name, &err) != 0) {
        check_error(&err);
        return;
    }
    check_limit(q.limit);
    check_prefecture(q.prefecture);
    if (q.kind < 0 || q.kind == RENKEI__KIND__KIND_TOMBSTONE || (q.cursor && strlen(q.cursor) >= RK_CURSOR_MAX))
        abort();
    if (!author_name) {
        rk_txn *t = fuzz_read();
        fuzz_walk w = {.max_visibility = q.max_visibility};
        char next[RK_CURSOR_MAX];
        if (rk_store_query(t, &q, fuzz_on_record, &w, next, &err) != 0)
            check_error(&err);
        else if (w.n > q.limit || strlen(next) >= RK_CURSOR_MAX)
            abort();
        rk_txn_abort(t);
    }
    rk_params_free(&p);
}

static void route_events(const char *query)
{
    rk_event_query q;
    rk_error err;
    if (rk_api_events_query(query, 1700000000, &q, &err) != 0) {
        check_error(&err);
        return;
    }
    check_limit(q.limit);
    check_prefecture(q.prefecture);
    if (q.to < q.from)
        abort();
    rk_txn *t = fuzz_read();
    fuzz_walk w = {.max_visibility = q.max_visibility};
    if (rk_store_events(t, &q, fuzz_on_record, &w, &err) != 0)
        check_error(&err);
    else if (w.n > q.limit)
        abort();
    rk_txn_abort(t);
}

static void route_record(const char *id, const char *query, bool get)
{
    rk_error err;
    bool signed_form;
    if (get && rk_api_record_format(query, &signed_form, &err) != 0) {
        check_error(&err);
        return;
    }
    uint8_t author[RK_KEY_LEN];
    char rid[RK_RID_MAX + 1];
    if (rk_record_id_parse(id, fuzz_self, author, rid) != 0)
        return;
    if (strlen(rid) > RK_RID_MAX)
        abort();
    rk_txn *t = fuzz_read();
    rk_current cur;
    if (rk_store_get_current(t, author, rid, &cur, &err) < 0)
        check_error(&err);
    rk_txn_abort(t);
}

static void route_changes(const char *query)
{
    rk_api_changes q;
    rk_error err;
    if (rk_api_changes_query(query, &q, &err) != 0) {
        check_error(&err);
        return;
    }
    check_limit(q.limit);
    if (q.wait > RK_API_WAIT_MAX_S)
        abort();
    rk_txn *t = fuzz_read();
    fuzz_walk w = {0};
    if (rk_store_changes(t, q.after, q.limit, fuzz_on_change, &w, &err) != 0)
        check_error(&err);
    else if (w.n > q.limit)
        abort();
    rk_txn_abort(t);
}

static const char *fuzz_author_name(const uint8_t author[RK_KEY_LEN], void *ctx)
{
    (void)ctx;
    return memcmp(author, fuzz_self, RK_KEY_LEN) == 0 ? "全国事務局" : NULL;
}

static void route_export(const char *name, const rk_http_req *r)
{
    rk_feed_meta meta = {.node_name = "全国事務局",
                         .base_url = "https://renkei.example.jp",
                         .node_key = fuzz_self,
                         .author_name = fuzz_author_name};
    rk_export_response out;
    rk_txn *t = fuzz_read();
    int rc = rk_export_serve(t, name, r->query, r->if_none_match, r->if_modified_since, &meta, NULL, &out);
    rk_txn_abort(t);
    if (rc != 0 || out.status >= 400) {
        check_error(&out.err);
    } else {
        if (out.status != 200 && out.status != 304)
            abort();
        check_header_lines(&out.headers);
        if (out.status == 200 && strstr(out.content_type, "json")) {
            json_t *j = json_loadb(out.body.data ? out.body.data : "", out.body.len, 0, NULL);
            if (!j)
                abort();
            json_decref(j);
        }
    }
    rk_buf_free(&out.body);
    rk_buf_free(&out.headers);
}

/* GET /login?token=...: the one-time token is redeemed as web.c does (HEAD never spends it). */
static void route_login(const rk_http_req *r)
{
    char sid[RK_SESSION_SECRET_LEN + 1], csrf[RK_SESSION_SECRET_LEN + 1];
    if (r->query && strncmp(r->query, "token=", 6) == 0 && strcmp(r->method, "HEAD") != 0 &&
        rk_session_redeem(fuzz_sessions, r->query + 6, 1001, sid, csrf))
        abort(); /* a token nobody was given */
}

/* The route the server would pick for r, and what its handler would do before its own work. */
static void route_request(const rk_http_req *r, bool tcp)
{
    rk_api_route_match m;
    rk_api_route_result found = rk_api_route_lookup(r->method, r->path, tcp, &m);
    if (found == RK_API_ROUTE_NOT_FOUND) {
        if (m.route)
            abort();
        return;
    }
    if (!m.route || !m.route->pattern)
        abort();
    if (found == RK_API_ROUTE_NOT_ALLOWED) {
        if (!m.allow[0] || strcmp(m.route->method, r->method) == 0)
            abort();
        return;
    }
    const rk_api_route *route = m.route;
    bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    if ((strcmp(route->method, r->method) != 0 && !(get && strcmp(route->method, "GET") == 0)) ||
        (route->flags & RK_API_SOCKET && tcp) || (route->flags & RK_API_WEB && !tcp))
        abort();
    if (found == RK_API_ROUTE_ARG_TOO_LONG)
        return;
    /* only a one-segment placeholder is bounded; a rest-of-path one (an export's name) is as sent */
    if (m.arg && !(route->flags & RK_API_REST) && strlen(m.arg) >= RK_API_ARG_MAX)
        abort();
    switch (route->op) {
    case RK_API_OP_LIST_RECORDS: route_records(r->query); break;
    case RK_API_OP_LIST_EVENTS: route_events(r->query); break;
    case RK_API_OP_GET_RECORD: route_record(m.arg, r->query, true); break;
    case RK_API_OP_PUT_RECORD:
    case RK_API_OP_DELETE_RECORD: route_record(m.arg, r->query, false); break;
    case RK_API_OP_CHANGES: route_changes(r->query); break;
    case RK_API_OP_EXPORT: route_export(m.arg, r); break;
    case RK_API_OP_WEB_LOGIN: route_login(r); break;
    default: break; /* no query parameters */
    }
}

/* ---------------------------------------------------------------------------- parsing */

static void take_request(http_conn *c, bool tcp)
{
    const char *code = NULL;
    rk_http_req *r = rk_http_parse_take(c, &code);
    if (!r) {
        if (!code || (strcmp(code, "invalid_request") != 0 && strcmp(code, "no_memory") != 0))
            abort();
        return;
    }
    if (!r->method || !r->path || !r->body || r->body_len > FUZZ_MAX_BODY || r->body[r->body_len] != '\0')
        abort();
    rk_params p;
    rk_error err;
    if (rk_params_parse(r->query, &p, &err) == 0) {
        for (size_t i = 0; i < p.count; i++)
            if (!p.keys[i] || !p.values[i] || !fuzz_utf8(p.keys[i]) || !fuzz_utf8(p.values[i]))
                abort();
        rk_params_free(&p);
    } else {
        check_error(&err);
    }
    route_request(r, tcp);
    rk_http_req_free(r);
}

/* Parses what c->in holds; false once the connection would close. */
static bool parse_available(http_conn *c, bool tcp)
{
    while (c->in_off < c->in.len) {
        size_t before = c->in_off;
        rk_http_step step = rk_http_parse_step(c);
        c->message_began = false;
        if (c->in_off < before || c->in_off > c->in.len)
            abort();
        if (step == RK_HTTP_STEP_REQUEST) {
            take_request(c, tcp);
        } else if (step == RK_HTTP_STEP_REJECT) {
            if (!c->reject_code || !rk_http_reject_message(c->reject_code))
                abort();
            return false;
        } else if (step == RK_HTTP_STEP_MALFORMED) {
            return false;
        } else if (step == RK_HTTP_STEP_MORE && c->in_off == before) {
            break;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = (data[0] & 0x7f) % 65; /* 0: everything in one read */
    bool tcp = data[0] & 0x80;
    data++;
    size--;
    rk_http_server srv;
    memset(&srv, 0, sizeof srv);
    srv.max_body = FUZZ_MAX_BODY;
    http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return 0;
    c->srv = &srv;
    rk_http_parse_init(c);
    for (size_t fed = 0; fed < size;) {
        size_t n = chunk && chunk < size - fed ? chunk : size - fed;
        if (rk_buf_append(&c->in, (const char *)data + fed, n) != 0)
            break;
        fed += n;
        if (!parse_available(c, tcp))
            break;
    }
    rk_http_parse_release(c);
    free(c);
    return 0;
}
