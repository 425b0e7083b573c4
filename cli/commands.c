/* commands: the online commands, each one request (or a cursor-following series) to the node's API.
 *
 * Query values always go through rk_query_add (URL-encoded), so Japanese search text and filter
 * values reach the node unchanged. In --json mode the API's answer is printed as is (for list --all
 * the pages are merged into one answer of the same shape); otherwise it is rendered by view.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "taxonomy.h"

enum {
    OPT_KIND = 256,
    OPT_PREFECTURE,
    OPT_INDUSTRY,
    OPT_DX_LEVEL,
    OPT_SKILL,
    OPT_AUDIENCE,
    OPT_LIMIT,
    OPT_ALL,
    OPT_CURSOR,
    OPT_FROM,
    OPT_TO,
    OPT_FORMAT,
    OPT_OPEN_SCOPE,
    OPT_SIGNED,
    OPT_AUTHOR,
};

static const struct option online_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"json", no_argument, NULL, 'j'},
    {"socket", required_argument, NULL, 's'},
    {"out", required_argument, NULL, 'o'},
    {"q", required_argument, NULL, 'q'},
    {"kind", required_argument, NULL, OPT_KIND},
    {"prefecture", required_argument, NULL, OPT_PREFECTURE},
    {"industry", required_argument, NULL, OPT_INDUSTRY},
    {"dx-level", required_argument, NULL, OPT_DX_LEVEL},
    {"skill", required_argument, NULL, OPT_SKILL},
    {"audience", required_argument, NULL, OPT_AUDIENCE},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"all", no_argument, NULL, OPT_ALL},
    {"cursor", required_argument, NULL, OPT_CURSOR},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"open-scope", required_argument, NULL, OPT_OPEN_SCOPE},
    {"signed", no_argument, NULL, OPT_SIGNED},
    {"author", required_argument, NULL, OPT_AUTHOR},
    {NULL, 0, NULL, 0},
};

typedef struct opts {
    const char *out, *q, *kind, *prefecture, *industry, *dx_level, *skill, *audience, *limit, *cursor;
    const char *from, *to, *format, *open_scope, *author;
    bool all, is_signed;
    int nargs;
    char **args; /* positional arguments */
} opts;

/* The options each command accepts besides -h, --json and -s. */
static const struct {
    const char *cmd;
    int allowed[12];
} allowed_opts[] = {
    {"list",
     {OPT_KIND, OPT_PREFECTURE, OPT_INDUSTRY, OPT_DX_LEVEL, OPT_SKILL, OPT_AUDIENCE, OPT_AUTHOR, OPT_LIMIT, OPT_ALL,
      OPT_CURSOR}},
    {"search",
     {OPT_KIND, OPT_PREFECTURE, OPT_INDUSTRY, OPT_DX_LEVEL, OPT_SKILL, OPT_AUDIENCE, OPT_AUTHOR, OPT_LIMIT, OPT_ALL,
      OPT_CURSOR}},
    {"events", {OPT_FROM, OPT_TO, OPT_PREFECTURE, OPT_FORMAT, OPT_OPEN_SCOPE, OPT_LIMIT}},
    {"export", {OPT_FORMAT, OPT_KIND, OPT_PREFECTURE, OPT_INDUSTRY, 'q', OPT_LIMIT, OPT_FROM, OPT_TO, OPT_ALL, 'o'}},
    {"get", {OPT_SIGNED, 'o'}},
};

static bool option_allowed(const char *cmd, int c)
{
    for (size_t i = 0; i < sizeof allowed_opts / sizeof allowed_opts[0]; i++)
        if (strcmp(allowed_opts[i].cmd, cmd) == 0)
            for (size_t k = 0; k < sizeof allowed_opts[i].allowed / sizeof(int); k++)
                if (allowed_opts[i].allowed[k] == c)
                    return true;
    return false;
}

typedef struct parse_ctx {
    const char *cmd;
    opts *o;
} parse_ctx;

/* The long name of option c, for messages. */
static const char *option_name(int c)
{
    for (const struct option *p = online_opts; p->name; p++)
        if (p->val == c)
            return p->name;
    return "?";
}

static int online_option(int c, void *ctx)
{
    const char *cmd = ((parse_ctx *)ctx)->cmd;
    opts *o = ((parse_ctx *)ctx)->o;
    if (!option_allowed(cmd, c))
        return rk_usage_error(cmd, "option %s%s is not used by this command", c < 256 ? "-" : "--",
                              c < 256 ? (c == 'o' ? "o/--out" : "q") : option_name(c));
    switch (c) {
    case 'o': o->out = optarg; break;
    case 'q': o->q = optarg; break;
    case OPT_KIND: o->kind = optarg; break;
    case OPT_PREFECTURE: {
        /* 石川県, 石川 or 17: the node's filter takes the code */
        const char *code = rk_prefecture_parse(optarg);
        o->prefecture = code ? code : optarg;
        break;
    }
    case OPT_INDUSTRY: o->industry = optarg; break;
    case OPT_DX_LEVEL: o->dx_level = optarg; break;
    case OPT_SKILL: o->skill = optarg; break;
    case OPT_AUDIENCE: o->audience = optarg; break;
    case OPT_LIMIT: o->limit = optarg; break;
    case OPT_ALL: o->all = true; break;
    case OPT_CURSOR: o->cursor = optarg; break;
    case OPT_FROM: o->from = optarg; break;
    case OPT_TO: o->to = optarg; break;
    case OPT_FORMAT: o->format = optarg; break;
    case OPT_OPEN_SCOPE: o->open_scope = optarg; break;
    case OPT_SIGNED: o->is_signed = true; break;
    case OPT_AUTHOR: o->author = optarg; break;
    default: return rk_usage_error(cmd, "unknown option");
    }
    return -1;
}

/* Returns -1 to go on, else the exit code (help printed, or a usage error). */
static int parse(rk_cli *cli, const char *cmd, int argc, char **argv, int min_args, int max_args, opts *o)
{
    memset(o, 0, sizeof *o);
    parse_ctx ctx = {cmd, o};
    int rc = rk_parse_options(cli, cmd, argc, argv, &(rk_options){"hs:o:q:", online_opts, NULL, online_option, &ctx});
    if (rc >= 0)
        return rc;
    o->nargs = argc - optind;
    o->args = argv + optind;
    if (o->nargs < min_args)
        return rk_usage_error(cmd, "missing argument");
    if (o->nargs > max_args)
        return rk_usage_error(cmd, "unexpected argument '%s'", o->args[max_args]);
    if (o->limit) {
        char *end;
        long n = strtol(o->limit, &end, 10);
        if (*end || end == o->limit || n <= 0)
            return rk_usage_error(cmd, "--limit needs a positive number");
    }
    return -1;
}

/* A command's work once its options and arguments are parsed (the arguments in o->args). */
typedef int (*online_run)(rk_cli *cli, const opts *o);

/* Parses cmd's options and its min_args..max_args arguments, then runs it; returns the exit code. */
static int online(rk_cli *cli, const char *cmd, int argc, char **argv, int min_args, int max_args, online_run run)
{
    opts o;
    int rc = parse(cli, cmd, argc, argv, min_args, max_args, &o);
    return rc >= 0 ? rc : run(cli, &o);
}

static int oom(void)
{
    fprintf(stderr, "renkei: out of memory\n");
    return RK_EXIT_FAIL;
}

/* GETs path for a command that renders the answer for people. Returns -1 with *out for the caller
 * to render (and free), or the exit code when nothing is left to do: the request failed (reported
 * already), or --json printed the answer as it came. */
static int fetch(rk_cli *cli, const char *path, json_t **out)
{
    *out = rk_http_json(cli, "GET", path, NULL, 0, NULL);
    if (!*out)
        return RK_EXIT_FAIL;
    if (!cli->json)
        return -1;
    rk_print_json(*out);
    json_decref(*out);
    return RK_EXIT_OK;
}

/* For a command cmd that takes no argument and shows the answer to one GET of path: parses its
 * options, then fetches. Returns -1 with *out to render (and free), or the exit code. */
static int fetch_for(rk_cli *cli, const char *cmd, int argc, char **argv, const char *path, json_t **out)
{
    opts o;
    int rc = parse(cli, cmd, argc, argv, 0, 0, &o);
    return rc >= 0 ? rc : fetch(cli, path, out);
}

/* The same, printing the answer generically. */
static int simple_get(rk_cli *cli, const char *cmd, int argc, char **argv, const char *path)
{
    json_t *j;
    int rc = fetch_for(cli, cmd, argc, argv, path, &j);
    if (rc >= 0)
        return rc;
    rk_print_json_human(j);
    json_decref(j);
    return RK_EXIT_OK;
}

/* One query parameter; a NULL value is left out (rk_query_add). */
typedef struct query_param {
    const char *name, *value;
} query_param;

/* url = path (then path2, if not NULL) and the parameters, URL-encoded. 0, or -1 out of memory with
 * url freed. */
static int build_url(rk_buf *url, const char *path, const char *path2, const query_param *q, size_t n)
{
    rk_buf_init(url);
    int rc = rk_buf_puts(url, path) || (path2 && rk_buf_puts(url, path2));
    for (size_t i = 0; i < n && !rc; i++)
        rc = rk_query_add(url, q[i].name, q[i].value);
    if (rc)
        rk_buf_free(url);
    return rc ? -1 : 0;
}

int rk_cmd_status(rk_cli *cli, int argc, char **argv)
{
    return simple_get(cli, "status", argc, argv, "/v1/status");
}

int rk_cmd_peers(rk_cli *cli, int argc, char **argv)
{
    json_t *j;
    int rc = fetch_for(cli, "peers", argc, argv, "/v1/peers", &j);
    if (rc >= 0)
        return rc;
    json_t *peers = json_object_get(j, "peers");
    if (json_is_array(peers) && json_array_size(peers) == 0)
        printf("no peers configured\n");
    else
        rk_print_json_human(json_is_array(peers) ? peers : j);
    json_decref(j);
    return RK_EXIT_OK;
}

/* Prints the answer to a publish, update or delete: {"id","rid","version","hash"}. */
static void print_write_result(const rk_cli *cli, const json_t *j, const char *verb)
{
    if (cli->json) {
        rk_print_json(j);
        return;
    }
    char id[512], version[64], hash[128];
    rk_json_scalar(json_object_get(j, "id"), id, sizeof id);
    rk_json_scalar(json_object_get(j, "version"), version, sizeof version);
    rk_json_scalar(json_object_get(j, "hash"), hash, sizeof hash);
    printf("%s\nid       %s\nversion  %s\nhash     %s\n", verb, id, version, hash);
}

/* Sends method on path with body (NULL for none) and prints the result; the exit code. */
static int send_write(rk_cli *cli, const char *method, const char *path, const char *body, const char *verb)
{
    json_t *j = rk_http_json(cli, method, path, body, body ? strlen(body) : 0, NULL);
    if (!j)
        return RK_EXIT_FAIL;
    print_write_result(cli, j, verb);
    json_decref(j);
    return RK_EXIT_OK;
}

/* Sends the record of file (JSON, as `renkei new` writes it) with method on path. */
static int write_record(rk_cli *cli, const char *method, const char *path, const char *file, const char *verb)
{
    rk_buf body;
    rk_buf_init(&body);
    if (rk_read_file(file, &body) != 0)
        return RK_EXIT_FAIL;
    /* A BOM (Windows editors) and the // comment lines of `renkei new` templates are not JSON. */
    rk_record_text_clean(&body);
    /* Checked here so a typo in a file gets a line and column, not just the node's "invalid_json". */
    json_error_t jerr;
    json_t *parsed = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
    if (!parsed) {
        fprintf(stderr,
                rk_cli_japanese() ? "renkei: %s は JSON として読めません: %s（%d 行目 %d 文字目）\n"
                                  : "renkei: %s is not valid JSON: %s (line %d, column %d)\n",
                file, jerr.text, jerr.line, jerr.column);
        rk_buf_free(&body);
        return RK_EXIT_FAIL;
    }
    rk_buf_free(&body);
    rk_json_prune_empty(parsed);
    char *text = json_dumps(parsed, JSON_COMPACT);
    json_decref(parsed);
    if (!text)
        return oom();
    int rc = send_write(cli, method, path, text, verb);
    free(text);
    return rc;
}

static int record_path(rk_buf *p, const char *id, const char *suffix)
{
    rk_buf_init(p);
    if (rk_buf_puts(p, "/v1/records/") != 0 || rk_path_add(p, id) != 0 || (suffix && rk_buf_puts(p, suffix) != 0)) {
        rk_buf_free(p);
        return -1;
    }
    return 0;
}

static int run_publish(rk_cli *cli, const opts *o)
{
    return write_record(cli, "POST", "/v1/records", o->args[0],
                        rk_cli_japanese() ? "登録しました (published)" : "published");
}

int rk_cmd_publish(rk_cli *cli, int argc, char **argv)
{
    return online(cli, "publish", argc, argv, 1, 1, run_publish);
}

/* update and delete: method on the record id, with the record of file (NULL: no body). */
static int write_named(rk_cli *cli, const char *method, const char *id, const char *file, const char *verb)
{
    rk_buf p;
    if (record_path(&p, id, NULL) != 0)
        return oom();
    int rc = file ? write_record(cli, method, p.data, file, verb) : send_write(cli, method, p.data, NULL, verb);
    rk_buf_free(&p);
    return rc;
}

static int run_update(rk_cli *cli, const opts *o)
{
    return write_named(cli, "PUT", o->args[0], o->args[1], rk_cli_japanese() ? "更新しました (updated)" : "updated");
}

int rk_cmd_update(rk_cli *cli, int argc, char **argv)
{
    return online(cli, "update", argc, argv, 2, 2, run_update);
}

static int run_delete(rk_cli *cli, const opts *o)
{
    return write_named(cli, "DELETE", o->args[0], NULL,
                       rk_cli_japanese() ? "削除しました（署名つきの削除記録が全ノードで置き換えます） (deleted)"
                                         : "deleted (a signed tombstone now supersedes the record)");
}

int rk_cmd_delete(rk_cli *cli, int argc, char **argv)
{
    return online(cli, "delete", argc, argv, 1, 1, run_delete);
}

static int write_out(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "renkei: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = len ? fwrite(data, 1, len, f) : 0;
    int bad = n != len || ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "renkei: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* GET path and write the raw body to out (a file, or stdout when NULL). */
static int raw_get(rk_cli *cli, const char *path, const char *out, bool binary)
{
    rk_http_response resp;
    if (rk_http(cli, "GET", path, NULL, 0, &resp) != 0)
        return RK_EXIT_FAIL;
    int rc = RK_EXIT_FAIL;
    if (resp.status != 200) {
        rk_http_report_error(cli, &resp);
    } else if (binary && strncmp(resp.content_type, "application/json", 16) == 0) {
        /* Saving a JSON view as "signed bytes" would only make verify fail later, for the wrong reason. */
        fprintf(stderr, "renkei: the node answered JSON instead of the signed record bytes (it does not serve "
                        "?format=signed)\n");
    } else if (out) {
        if (write_out(out, resp.body.data, resp.body.len) == 0) {
            fprintf(stderr, "renkei: wrote %zu bytes to %s\n", resp.body.len, out);
            rc = RK_EXIT_OK;
        }
    } else if (binary && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "renkei: the signed record is binary; use --out FILE or redirect stdout\n");
    } else {
        if (resp.body.len && fwrite(resp.body.data, 1, resp.body.len, stdout) != resp.body.len)
            fprintf(stderr, "renkei: cannot write to stdout\n");
        else
            rc = RK_EXIT_OK;
    }
    rk_buf_free(&resp.body);
    return rc;
}

static int run_get(rk_cli *cli, const opts *o)
{
    if (o->out && !o->is_signed)
        return rk_usage_error("get", "--out is for --signed; the JSON view goes to stdout");
    rk_buf p;
    if (record_path(&p, o->args[0], o->is_signed ? "?format=signed" : NULL) != 0)
        return oom();
    if (o->is_signed) {
        int rc = raw_get(cli, p.data, o->out, true);
        rk_buf_free(&p);
        return rc;
    }
    json_t *j;
    int rc = fetch(cli, p.data, &j);
    rk_buf_free(&p);
    if (rc >= 0)
        return rc;
    rk_print_record(j);
    json_decref(j);
    return RK_EXIT_OK;
}

int rk_cmd_get(rk_cli *cli, int argc, char **argv)
{
    return online(cli, "get", argc, argv, 1, 1, run_get);
}

static int print_record_table(const json_t *records)
{
    static const char *const headers[] = {"KIND", "PREFECTURE", "TITLE", "ID"};
    rk_table *t = rk_table_new(4, headers);
    if (!t)
        return oom();
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        char pref[64], title[256];
        rk_prefecture_label(rk_record_prefecture(r), pref, sizeof pref);
        rk_fit_width(rk_record_title(r), 48, title, sizeof title);
        const char *cells[4] = {json_string_value(json_object_get(r, "kind")), pref, title,
                                json_string_value(json_object_get(r, "id"))};
        if (rk_table_add(t, cells) != 0) {
            rk_table_free(t);
            return oom();
        }
    }
    if (rk_table_rows(t))
        rk_table_print(t);
    rk_table_free(t);
    return RK_EXIT_OK;
}

/* list and search: one page, or every page with --all. */
static int list_records(rk_cli *cli, const opts *o, const char *q)
{
    json_t *all = json_array();
    if (!all)
        return oom();
    char *cursor = o->cursor ? strdup(o->cursor) : NULL;
    if (o->cursor && !cursor) {
        json_decref(all);
        return oom();
    }
    int rc = RK_EXIT_FAIL;
    json_t *page = NULL;
    for (;;) {
        const query_param params[] = {
            {"kind", o->kind},         {"prefecture", o->prefecture}, {"industry", o->industry},
            {"dx_level", o->dx_level}, {"skill", o->skill},           {"audience", o->audience},
            {"author", o->author},     {"limit", o->limit},           {"q", q},
            {"cursor", cursor},
        };
        rk_buf url;
        if (build_url(&url, "/v1/records", NULL, params, sizeof params / sizeof params[0]) != 0) {
            rc = oom();
            goto out;
        }
        json_decref(page);
        page = rk_http_json(cli, "GET", url.data, NULL, 0, NULL);
        rk_buf_free(&url);
        if (!page)
            goto out;
        json_t *recs = json_object_get(page, "records");
        if (!json_is_array(recs)) {
            fprintf(stderr, "renkei: the node's answer has no \"records\" list\n");
            goto out;
        }
        if (json_array_extend(all, recs) != 0) {
            rc = oom();
            goto out;
        }
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        free(cursor);
        cursor = NULL;
        if (!o->all || !next || !next[0]) {
            if (next && next[0] && !(cursor = strdup(next))) {
                rc = oom();
                goto out;
            }
            break;
        }
        if (!(cursor = strdup(next))) {
            rc = oom();
            goto out;
        }
    }
    if (cli->json) {
        if (o->all) {
            json_t *merged = json_pack("{s:O, s:n}", "records", all, "next_cursor");
            if (!merged) {
                rc = oom();
                goto out;
            }
            rk_print_json(merged);
            json_decref(merged);
        } else {
            rk_print_json(page);
        }
        rc = RK_EXIT_OK;
        goto out;
    }
    rc = print_record_table(all);
    if (rc == RK_EXIT_OK) {
        size_t n = json_array_size(all);
        printf("%zu record%s%s", n, n == 1 ? "" : "s", cursor ? "; more with --all or --cursor " : "\n");
        if (cursor)
            printf("%s\n", cursor);
    }
out:
    free(cursor);
    json_decref(page);
    json_decref(all);
    return rc;
}

static int run_list(rk_cli *cli, const opts *o)
{
    return list_records(cli, o, NULL);
}

int rk_cmd_list(rk_cli *cli, int argc, char **argv)
{
    return online(cli, "list", argc, argv, 0, 0, run_list);
}

static int run_search(rk_cli *cli, const opts *o)
{
    if (!o->args[0][0])
        return rk_usage_error("search", "the search TEXT is empty");
    return list_records(cli, o, o->args[0]);
}

int rk_cmd_search(rk_cli *cli, int argc, char **argv)
{
    return online(cli, "search", argc, argv, 1, 1, run_search);
}

/* When an event happens, at the precision it was announced with. */
static void event_when(const json_t *ev, char *out, size_t out_size)
{
    const char *s = json_string_value(json_object_get(ev, "starts_at"));
    const char *e = json_string_value(json_object_get(ev, "ends_at"));
    const char *prec = json_string_value(json_object_get(ev, "date_precision"));
    if (!s || strlen(s) < 16) {
        snprintf(out, out_size, "%s", s ? s : "");
        return;
    }
    bool have_end = e && strlen(e) >= 16;
    if (prec && strcmp(prec, "month") == 0)
        snprintf(out, out_size, "%.7s", s);
    else if (prec && strcmp(prec, "fiscal_year") == 0)
        snprintf(out, out_size, "FY%.4s", s);
    else if (prec && strcmp(prec, "day") == 0) {
        if (have_end && strncmp(s, e, 10) != 0)
            snprintf(out, out_size, "%.10s – %.5s", s, e + 5);
        else
            snprintf(out, out_size, "%.10s", s);
    } else if (have_end && strncmp(s, e, 10) == 0)
        snprintf(out, out_size, "%.10s %.5s–%.5s", s, s + 11, e + 11);
    else if (have_end)
        snprintf(out, out_size, "%.10s %.5s – %.10s %.5s", s, s + 11, e, e + 11);
    else
        snprintf(out, out_size, "%.10s %.5s", s, s + 11);
}

static int run_events(rk_cli *cli, const opts *o)
{
    const query_param params[] = {{"from", o->from},
                                  {"to", o->to},
                                  {"prefecture", o->prefecture},
                                  {"format", o->format},
                                  {"open_scope", o->open_scope},
                                  {"limit", o->limit}};
    rk_buf url;
    if (build_url(&url, "/v1/events", NULL, params, sizeof params / sizeof params[0]) != 0)
        return oom();
    json_t *j;
    int rc = fetch(cli, url.data, &j);
    rk_buf_free(&url);
    if (rc >= 0)
        return rc;
    json_t *events = json_object_get(j, "events");
    static const char *const headers[] = {"WHEN", "PREFECTURE", "FORMAT", "TYPE", "TITLE"};
    rk_table *t = rk_table_new(5, headers);
    if (!t) {
        json_decref(j);
        return oom();
    }
    size_t i;
    json_t *item;
    rc = RK_EXIT_OK;
    json_array_foreach(events, i, item)
    {
        /* Items are record views ({"event": {...}, ...}); accept a bare event body too. */
        const json_t *ev = json_is_object(json_object_get(item, "event")) ? json_object_get(item, "event") : item;
        char when[96], pref[64], title[256];
        event_when(ev, when, sizeof when);
        rk_prefecture_label(json_string_value(json_object_get(ev, "prefecture")), pref, sizeof pref);
        rk_fit_width(json_string_value(json_object_get(ev, "title")), 56, title, sizeof title);
        const char *cells[5] = {when, pref, json_string_value(json_object_get(ev, "format")),
                                json_string_value(json_object_get(ev, "event_type")), title};
        if (rk_table_add(t, cells) != 0) {
            rc = oom();
            break;
        }
    }
    if (rc == RK_EXIT_OK) {
        if (rk_table_rows(t))
            rk_table_print(t);
        printf("%zu event%s\n", rk_table_rows(t), rk_table_rows(t) == 1 ? "" : "s");
    }
    rk_table_free(t);
    json_decref(j);
    return rc;
}

int rk_cmd_events(rk_cli *cli, int argc, char **argv)
{
    return online(cli, "events", argc, argv, 0, 0, run_events);
}

static int run_export(rk_cli *cli, const opts *o)
{
    static const struct {
        const char *format, *name;
        bool dated; /* takes --from and --to: the events */
    } names[] = {{"atom", "feed.atom", false},        {"json", "feed.json", false},
                 {"ics", "events.ics", true},         {"csv", "records.csv", false},
                 {"xlsx", "records.xlsx", false},     {"jsonld", "events.jsonld", true},
                 {"catalog", "catalog.jsonld", false}};
    const char *name = NULL;
    bool dated = false;
    for (size_t i = 0; o->format && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(o->format, names[i].format) == 0) {
            name = names[i].name;
            dated = names[i].dated;
        }
    if (!name)
        return rk_usage_error("export", "--format must be atom, json, ics, csv, xlsx, jsonld or catalog");
    if (!dated && (o->from || o->to))
        return rk_usage_error("export", "--from and --to choose events: use them with --format ics or jsonld");
    if (o->all && o->limit)
        return rk_usage_error("export", "--all and --limit contradict each other");
    /* --all: the calendars from the start of time (not the 180-day look-back); the feeds in their
     * largest page. The CSV and the workbook are complete already (up to the server's maximum). */
    const char *from = o->from ? o->from : o->all && dated ? "1970-01-01" : NULL;
    const char *limit = o->limit ? o->limit : o->all && !dated && strncmp(name, "feed.", 5) == 0 ? "10000" : NULL;
    const query_param params[] = {{"kind", o->kind},
                                  {"prefecture", o->prefecture},
                                  {"industry", o->industry},
                                  {"q", o->q},
                                  {"limit", limit},
                                  {"from", from},
                                  {"to", o->to}};
    rk_buf url;
    if (build_url(&url, "/v1/export/", name, params, sizeof params / sizeof params[0]) != 0)
        return oom();
    int rc = raw_get(cli, url.data, o->out, false);
    rk_buf_free(&url);
    return rc;
}

int rk_cmd_export(rk_cli *cli, int argc, char **argv)
{
    return online(cli, "export", argc, argv, 0, 0, run_export);
}

int rk_cmd_stats(rk_cli *cli, int argc, char **argv)
{
    json_t *j;
    int rc = fetch_for(cli, "stats", argc, argv, "/v1/stats", &j);
    if (rc >= 0)
        return rc;
    int r = rk_print_stats(j);
    if (r > 0)
        rk_print_json_human(j);
    json_decref(j);
    return r < 0 ? oom() : RK_EXIT_OK;
}

int rk_cmd_regions(rk_cli *cli, int argc, char **argv)
{
    return simple_get(cli, "regions", argc, argv, "/v1/regions");
}
