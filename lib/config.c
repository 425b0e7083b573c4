/* config: parses the node's INI file with inih, then applies `-o section.key=value` overrides.
 *
 * The file is read into memory and fed to inih through a line-counting reader, so every handler call
 * knows its line: errors read "FILE:LINE: [section] key: problem". Within the file a key may appear
 * once per section; overrides replace values and may add [peer]/[member] sections. Whole-config rules
 * (required keys, a peer needs key and url, TLS files for tls+tcp://) run after the overrides, naming
 * the line of the section (or of the URL that needs the TLS files).
 *
 * Parsing goes on after an error so that --check can list every one (rk_config_load_report); err
 * keeps the first, the one a person should fix first. A rule about a key that already failed is not
 * reported again. Where each key was set is kept in the result (rk_config_where), so checks made
 * after parsing (config_check.c) can name the line too. On error *out is left empty.
 *
 * Over 800 lines as one piece because the parse context (reader position, line, first
 * error, origins) is shared by the reader, every section handler, the overrides and the whole-config
 * rules; single values are parsed in config_value.c.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config_value.h"
#include "renkei.pb-c.h"
#include "taxonomy.h"
#include "text.h"

#define MAX_FILE_BYTES (1u << 20)

typedef struct seen_key {
    char *section;
    char *key;
} seen_key;

typedef struct parse_ctx {
    rk_config *cfg;
    const char *origin; /* file name or "-o ..." */
    /* the memory reader */
    const char *text;
    size_t len, pos;
    int line;
    bool line_indented; /* the current line starts with white space: an inih continuation line */
    bool line_too_long;
    bool in_file; /* duplicate keys are errors in the file, not in overrides */
    seen_key *seen;
    size_t seen_count;
    /* per peer: is it a [member], and where was it first seen (for whole-config errors) */
    bool *peer_is_member;
    int *peer_line;
    char **peer_origin;
    /* the first error in err; every error, one line each, in all when it is not NULL */
    bool failed;
    size_t nerr;
    bool stop;            /* after a line too long for inih the rest of the file is not line-aligned */
    int first_fail_line;  /* the file line of the first error, to tell inih's syntax errors apart */
    char **failed_fields; /* "section.key" of each error, so whole-config rules do not repeat them */
    size_t failed_count;
    rk_buf *all;
    rk_error *err;
} parse_ctx;

static int set_str(char **dst, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return -1;
    free(*dst);
    *dst = c;
    return 0;
}

/* "FILE:LINE: [section] key: <problem>" into ctx->err, once. Returns 0 so inih records the line. */
static int fail_at(parse_ctx *ctx, const char *section, const char *key, const char *fmt, ...) RK_PRINTF(4, 5);
static int fail_at(parse_ctx *ctx, const char *section, const char *key, const char *fmt, ...)
{
    char problem[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    char field[128];
    snprintf(field, sizeof field, "%s%s%s", section, key && key[0] ? "." : "", key ? key : "");
    char where[160];
    if (ctx->in_file)
        snprintf(where, sizeof where, "%s:%d", ctx->origin, ctx->line);
    else
        snprintf(where, sizeof where, "%s", ctx->origin);
    rk_error e;
    rk_fail(&e, "invalid_config", field, "%s: [%s]%s%s: %s", where, section, key && key[0] ? " " : "", key ? key : "",
            problem);
    if (!ctx->failed && ctx->err)
        *ctx->err = e;
    if (!ctx->failed && ctx->in_file)
        ctx->first_fail_line = ctx->line;
    ctx->failed = true;
    ctx->nerr++;
    /* out of memory here only shortens the list; the first error is kept above */
    if (ctx->all)
        (void)rk_buf_printf(ctx->all, "%s\n", e.message);
    char **nf = realloc(ctx->failed_fields, (ctx->failed_count + 1) * sizeof *nf);
    if (nf) {
        ctx->failed_fields = nf;
        if ((nf[ctx->failed_count] = strdup(field)) != NULL)
            ctx->failed_count++;
    }
    return 0;
}

/* An error that belongs to no key (a malformed override, a syntax error): same bookkeeping. */
static void fail_plain(parse_ctx *ctx, const char *fmt, ...) RK_PRINTF(2, 3);
static void fail_plain(parse_ctx *ctx, const char *fmt, ...)
{
    rk_error e;
    rk_error_clear(&e);
    snprintf(e.code, sizeof e.code, "invalid_config");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    if (!ctx->failed && ctx->err)
        *ctx->err = e;
    ctx->failed = true;
    ctx->nerr++;
    if (ctx->all)
        (void)rk_buf_printf(ctx->all, "%s\n", e.message);
}

static bool field_failed(const parse_ctx *ctx, const char *section, const char *key)
{
    size_t sl = strlen(section);
    for (size_t i = 0; i < ctx->failed_count; i++) {
        const char *f = ctx->failed_fields[i];
        if (strncmp(f, section, sl) == 0 && f[sl] == '.' && strcmp(f + sl + 1, key) == 0)
            return true;
    }
    return false;
}

/* Remembers where section.key was set (the last setting wins, as for the value). */
static int note_origin(parse_ctx *ctx, const char *section, const char *key)
{
    rk_config *c = ctx->cfg;
    for (size_t i = 0; i < c->origin_count; i++)
        if (strcmp(c->origins[i].section, section) == 0 && strcmp(c->origins[i].key, key) == 0) {
            char *o = strdup(ctx->origin);
            if (!o)
                return -1;
            free(c->origins[i].origin);
            c->origins[i].origin = o;
            c->origins[i].line = ctx->in_file ? ctx->line : 0;
            return 0;
        }
    rk_config_origin *no = realloc(c->origins, (c->origin_count + 1) * sizeof *no);
    if (!no)
        return -1;
    c->origins = no;
    rk_config_origin *o = &no[c->origin_count];
    o->section = strdup(section);
    o->key = strdup(key);
    o->origin = strdup(ctx->origin);
    o->line = ctx->in_file ? ctx->line : 0;
    if (!o->section || !o->key || !o->origin) {
        free(o->section);
        free(o->key);
        free(o->origin);
        return -1;
    }
    c->origin_count++;
    return 0;
}

/* The origin of section.key, or else the earliest line of its section (where a key left at its
 * default would go), or NULL when nothing of the section was set. */
static const rk_config_origin *find_origin(const rk_config *c, const char *section, const char *key)
{
    const rk_config_origin *best = NULL;
    for (size_t i = 0; i < c->origin_count; i++) {
        const rk_config_origin *o = &c->origins[i];
        if (strcmp(o->section, section) != 0)
            continue;
        if (key && strcmp(o->key, key) == 0)
            return o;
        if (!best || (o->line > 0 && (best->line == 0 || o->line < best->line)))
            best = o;
    }
    return best;
}

void rk_config_where(const rk_config *c, const char *section, const char *key, char *buf, size_t cap)
{
    const rk_config_origin *o = find_origin(c, section, key);
    if (!o)
        snprintf(buf, cap, "%s", c->path ? c->path : "<config>");
    else if (o->line > 0)
        snprintf(buf, cap, "%s:%d", o->origin, o->line);
    else
        snprintf(buf, cap, "%s", o->origin);
}

/* ---------------------------------------------------------------------------- lists */

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* Splits a comma-separated list of URLs, trimming white space. */
static int parse_listen(parse_ctx *ctx, const char *section, const char *key, const char *v)
{
    char **list = NULL;
    size_t n = 0;
    const char *p = v;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
            l--;
        char *u = strndup(p, l);
        char **nl = u ? realloc(list, (n + 1) * sizeof *nl) : NULL;
        if (!nl) {
            free(u);
            free_list(list, n);
            return fail_at(ctx, section, key, "out of memory");
        }
        list = nl;
        list[n++] = u;
        const char *why = rk_config_url_problem(u, true);
        if (why) {
            fail_at(ctx, section, key, "\"%s\" %s (expected tcp://HOST:PORT, tls+tcp://HOST:PORT or ipc://PATH)", u,
                    why);
            free_list(list, n);
            return 0;
        }
        if (!e)
            break;
        p = e + 1;
    }
    free_list(ctx->cfg->listen, ctx->cfg->listen_count);
    ctx->cfg->listen = list;
    ctx->cfg->listen_count = n;
    return 1;
}

/* ---------------------------------------------------------------------------- sections */

/* `peer "kuwana"` -> type "peer", name "kuwana". Returns -1 if not of that shape. */
static int split_section(const char *section, char *type, size_t tcap, char *name, size_t ncap)
{
    const char *sp = strchr(section, ' ');
    if (!sp) {
        if (strlen(section) >= tcap)
            return -1;
        strcpy(type, section);
        name[0] = '\0';
        return 0;
    }
    size_t tl = (size_t)(sp - section);
    if (tl >= tcap)
        return -1;
    memcpy(type, section, tl);
    type[tl] = '\0';
    const char *q = sp;
    while (*q == ' ')
        q++;
    size_t ql = strlen(q);
    if (ql < 3 || q[0] != '"' || q[ql - 1] != '"' || ql - 2 >= ncap)
        return -1;
    memcpy(name, q + 1, ql - 2);
    name[ql - 2] = '\0';
    if (strchr(name, '"'))
        return -1;
    return 0;
}

static int find_peer(rk_config *c, const char *name)
{
    for (size_t i = 0; i < c->peer_count; i++)
        if (strcmp(c->peers[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int add_peer(parse_ctx *ctx, const char *name, bool member)
{
    rk_config *c = ctx->cfg;
    size_t n = c->peer_count + 1;
    rk_peer_config *np = realloc(c->peers, n * sizeof *np);
    if (np)
        c->peers = np;
    bool *nm = realloc(ctx->peer_is_member, n * sizeof *nm);
    if (nm)
        ctx->peer_is_member = nm;
    int *nl = realloc(ctx->peer_line, n * sizeof *nl);
    if (nl)
        ctx->peer_line = nl;
    char **no = realloc(ctx->peer_origin, n * sizeof *no);
    if (no)
        ctx->peer_origin = no;
    if (!np || !nm || !nl || !no)
        return -1;
    rk_peer_config *p = &c->peers[c->peer_count];
    memset(p, 0, sizeof *p);
    p->name = strdup(name);
    ctx->peer_origin[c->peer_count] = strdup(ctx->origin);
    if (!p->name || !ctx->peer_origin[c->peer_count]) {
        free(p->name);
        free(ctx->peer_origin[c->peer_count]);
        return -1;
    }
    ctx->peer_is_member[c->peer_count] = member;
    ctx->peer_line[c->peer_count] = ctx->in_file ? ctx->line : 0;
    return (int)c->peer_count++;
}

static int handle_peer(parse_ctx *ctx, const char *section, const char *type, const char *pname, const char *key,
                       const char *value)
{
    bool member = strcmp(type, "member") == 0;
    if (!pname[0])
        return fail_at(ctx, section, key, "a [%s] section needs a quoted name: [%s \"name\"]", type, type);
    if (!rk_text_valid_utf8(pname, strlen(pname)))
        return fail_at(ctx, section, key, "the section name is not valid UTF-8");
    int i = find_peer(ctx->cfg, pname);
    if (i >= 0 && ctx->peer_is_member[i] != member)
        return fail_at(ctx, section, key, "\"%s\" is already a [%s]", pname,
                       ctx->peer_is_member[i] ? "member" : "peer");
    if (strcmp(key, "key") == 0) {
        uint8_t k[RK_KEY_LEN];
        if (strlen(value) != 2 * RK_KEY_LEN || rk_hex_decode(value, k, RK_KEY_LEN) != 0)
            return fail_at(ctx, section, key, "expected 64 hex characters (a public key from `renkei keygen`)");
        if (i < 0 && (i = add_peer(ctx, pname, member)) < 0)
            return fail_at(ctx, section, key, "out of memory");
        memcpy(ctx->cfg->peers[i].key, k, RK_KEY_LEN);
        ctx->cfg->peers[i].has_key = true;
        return 1;
    }
    if (!member && strcmp(key, "url") == 0) {
        const char *why = rk_config_url_problem(value, false);
        if (why)
            return fail_at(ctx, section, key, "\"%s\" %s (expected tcp://HOST:PORT or tls+tcp://HOST:PORT)", value,
                           why);
        if (i < 0 && (i = add_peer(ctx, pname, member)) < 0)
            return fail_at(ctx, section, key, "out of memory");
        if (set_str(&ctx->cfg->peers[i].url, value) != 0)
            return fail_at(ctx, section, key, "out of memory");
        return 1;
    }
    return fail_at(ctx, section, key, "unknown key (a [%s] section takes %s)", type, member ? "key" : "key and url");
}

static const char *const node_kinds[] = {"region", "theme", "partnership", "national", NULL};
static const int node_kind_values[] = {RENKEI__NODE_KIND__NODE_KIND_REGION, RENKEI__NODE_KIND__NODE_KIND_THEME,
                                       RENKEI__NODE_KIND__NODE_KIND_PARTNERSHIP, RENKEI__NODE_KIND__NODE_KIND_NATIONAL};

/* The keys whose value is a whole number in a range, or a size with an optional K, M or G suffix:
 * where each goes in rk_config and how its error names the range ("\"V\" is not a number of seconds
 * between MIN and MAX", "\"V\" is not a size between 1K and 64M"). */
typedef struct ranged_key {
    const char *section, *key;
    bool size; /* rk_config_parse_size into a size_t, else a whole number */
    unsigned long long min, max;
    const char *what;          /* numbers: "a number of seconds"...; sizes: the range as said */
    const char *min_note;      /* numbers: said after the minimum, " (no limit)" or "" */
    size_t offset, field_size; /* numbers: an unsigned or a 64-bit field */
    unsigned scale;            /* numbers: the field holds value x scale (seconds kept as ms) */
} ranged_key;

#define NUMBER_KEY(section, key, min, max, what, note, field, scale)                                                  \
    {                                                                                                                 \
        section, key, false, min, max, what, note, offsetof(rk_config, field), sizeof(((rk_config *)0)->field), scale \
    }
#define SIZE_KEY(section, key, min, max, range, field)                                                          \
    {                                                                                                           \
        section, key, true, min, max, range, "", offsetof(rk_config, field), sizeof(((rk_config *)0)->field), 1 \
    }

static const ranged_key ranged_keys[] = {
    NUMBER_KEY("node", "clock_skew", 0, 7 * 86400, "a number of seconds", "", max_clock_skew_ms, 1000),
    SIZE_KEY("node", "map_size", 1u << 20, (size_t)1 << 40, "1M and 1024G (suffixes K, M, G)", map_size),
    SIZE_KEY("node", "max_record", 1024, 64u << 20, "1K and 64M", max_record_bytes),
    NUMBER_KEY("api", "max_connections", 1, 100000, "a number", "", max_connections, 1),
    SIZE_KEY("api", "max_body", 1024, 1u << 30, "1K and 1G", max_body),
    SIZE_KEY("api", "record_cache", 0, 1u << 30, "0 and 1G", record_cache),
    /* at least one export of the largest size (EXPORT_MAX_BYTES in lib/export.c) must fit */
    SIZE_KEY("api", "export_spool", 64u << 20, (size_t)1 << 40, "64M and 1T", export_spool),
    NUMBER_KEY("gossip", "sync_interval", 1, 86400, "a number of seconds", "", sync_interval_s, 1),
    NUMBER_KEY("gossip", "peers", 0, RK_CONFIG_MAX_ROSTER_PEERS, "a number of peers", "", roster_peers, 1),
    NUMBER_KEY("network", "threshold", 1, RK_CONFIG_MAX_THRESHOLD, "a number of members", "", threshold, 1),
    NUMBER_KEY("quota", "records_per_author", 0, 1000000000ULL, "a number", " (no limit)", quota_records, 1),
    NUMBER_KEY("quota", "versions_per_window", 0, 1000000000ULL, "a number", " (no limit)", quota_versions, 1),
    NUMBER_KEY("quota", "window", 1, 7 * 86400, "a number of seconds", "", quota_window_s, 1),
    NUMBER_KEY("quota", "pending_per_author", 0, 100000000ULL, "a number", " (keep none)", pending_per_author, 1),
    NUMBER_KEY("quota", "pending_total", 0, 100000000ULL, "a number", " (keep none)", pending_total, 1),
    NUMBER_KEY("quota", "pending_keep", 60, 365 * 86400, "a number of seconds", "", pending_keep_s, 1),
};

_Static_assert(sizeof(unsigned long long) == sizeof(uint64_t), "ranged_keys' 64-bit fields");

static const ranged_key *ranged_key_find(const char *section, const char *key)
{
    for (size_t i = 0; i < sizeof ranged_keys / sizeof ranged_keys[0]; i++)
        if (strcmp(ranged_keys[i].section, section) == 0 && strcmp(ranged_keys[i].key, key) == 0)
            return &ranged_keys[i];
    return NULL;
}

/* Parses v for the key k of section s into its field. Returns 1, or 0 after fail_at. */
static int set_ranged(parse_ctx *ctx, const char *s, const ranged_key *k, const char *v)
{
    char *field = (char *)ctx->cfg + k->offset;
    if (k->size) {
        size_t n;
        if (rk_config_parse_size(v, (size_t)k->min, (size_t)k->max, &n) != 0)
            return fail_at(ctx, s, k->key, "\"%s\" is not a size between %s", v, k->what);
        memcpy(field, &n, sizeof n);
        return 1;
    }
    unsigned long long n;
    if (rk_config_parse_uint(v, k->min, k->max, &n) != 0)
        return fail_at(ctx, s, k->key, "\"%s\" is not %s between %llu%s and %llu", v, k->what, k->min, k->min_note,
                       k->max);
    if (k->field_size == sizeof(unsigned)) {
        unsigned u = (unsigned)(n * k->scale);
        memcpy(field, &u, sizeof u);
    } else {
        uint64_t u = (uint64_t)n * k->scale;
        memcpy(field, &u, sizeof u);
    }
    return 1;
}

/* A key whose string may be left empty to unset it: otherwise v must pass ok (when given), or the
 * error says it is not `what`. Returns 1, or 0 after fail_at. */
static int set_optional(parse_ctx *ctx, const char *s, const char *key, const char *v, char **dst,
                        bool (*ok)(const char *), const char *what)
{
    if (v[0] == '\0') {
        free(*dst);
        *dst = NULL;
        return 1;
    }
    if (ok && !ok(v))
        return fail_at(ctx, s, key, "\"%s\" is not %s", v, what);
    return set_str(dst, v) == 0 ? 1 : fail_at(ctx, s, key, "out of memory");
}

static int handle_node(parse_ctx *ctx, const char *s, const char *key, const char *v)
{
    rk_config *c = ctx->cfg;
    if (strcmp(key, "name") == 0) {
        if (!v[0] || !rk_text_valid_utf8(v, strlen(v)) || strlen(v) > 200)
            return fail_at(ctx, s, key, "expected a non-empty UTF-8 name of at most 200 bytes");
        return set_str(&c->name, v) == 0 ? 1 : fail_at(ctx, s, key, "out of memory");
    }
    if (strcmp(key, "kind") == 0) {
        for (int i = 0; node_kinds[i]; i++)
            if (strcmp(v, node_kinds[i]) == 0) {
                c->kind = node_kind_values[i];
                return 1;
            }
        return fail_at(ctx, s, key, "\"%s\" is not one of region, theme, partnership, national", v);
    }
    if (strcmp(key, "prefecture") == 0) {
        if (v[0] == '\0') {
            c->prefecture[0] = '\0';
            return 1;
        }
        if (!rk_prefecture_valid(v))
            return fail_at(ctx, s, key, "\"%s\" is not a JIS X 0401 prefecture code (\"01\"..\"47\")", v);
        memcpy(c->prefecture, v, 3);
        return 1;
    }
    if (strcmp(key, "data_dir") == 0 || strcmp(key, "key_file") == 0) {
        if (!v[0])
            return fail_at(ctx, s, key, "expected a path");
        return set_str(key[0] == 'd' ? &c->data_dir : &c->key_file, v) == 0 ? 1 : fail_at(ctx, s, key, "out of memory");
    }
    if (strcmp(key, "log_level") == 0) {
        if (strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "warn") && strcmp(v, "error"))
            return fail_at(ctx, s, key, "\"%s\" is not one of debug, info, warn, error", v);
        return set_str(&c->log_level, v) == 0 ? 1 : fail_at(ctx, s, key, "out of memory");
    }
    return fail_at(ctx, s, key, "unknown key (see docs/configuration.md)");
}

static int handle_api(parse_ctx *ctx, const char *s, const char *key, const char *v)
{
    rk_config *c = ctx->cfg;
    if (strcmp(key, "socket") == 0) {
        if (!v[0] || strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return fail_at(ctx, s, key, "expected a socket path shorter than %zu bytes",
                           sizeof(((struct sockaddr_un *)0)->sun_path));
        return set_str(&c->socket, v) == 0 ? 1 : fail_at(ctx, s, key, "out of memory");
    }
    if (strcmp(key, "tcp") == 0)
        return set_optional(ctx, s, key, v, &c->tcp, rk_config_loopback_ok,
                            "a loopback HOST:PORT (127.0.0.1:7480 or [::1]:7480)");
    if (strcmp(key, "group") == 0)
        return set_optional(ctx, s, key, v, &c->group, NULL, NULL);
    if (strcmp(key, "public_url") == 0) {
        if (!set_optional(ctx, s, key, v, &c->public_url, rk_config_public_url_ok,
                          "an http:// or https:// URL with a host and no query"))
            return 0;
        size_t n = c->public_url ? strlen(c->public_url) : 0;
        while (n > 0 && c->public_url[n - 1] == '/') /* links append "/v1/..." */
            c->public_url[--n] = '\0';
        return 1;
    }
    return fail_at(ctx, s, key, "unknown key (see docs/configuration.md)");
}

/* A key whose value is yes or no. Returns 1, or 0 after fail_at. */
static int set_yes_no(parse_ctx *ctx, const char *s, const char *key, const char *v, bool *out)
{
    if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
        return fail_at(ctx, s, key, "\"%s\" is not yes or no", v);
    *out = strcmp(v, "yes") == 0;
    return 1;
}

static int handle_gossip(parse_ctx *ctx, const char *s, const char *key, const char *v)
{
    rk_config *c = ctx->cfg;
    if (strcmp(key, "listen") == 0) {
        if (v[0] == '\0') {
            free_list(c->listen, c->listen_count);
            c->listen = NULL;
            c->listen_count = 0;
            return 1;
        }
        return parse_listen(ctx, s, key, v);
    }
    if (strcmp(key, "compress") == 0)
        return set_yes_no(ctx, s, key, v, &c->compress);
    char **dst = strcmp(key, "tls_cert") == 0  ? &c->tls_cert
                 : strcmp(key, "tls_key") == 0 ? &c->tls_key
                 : strcmp(key, "tls_ca") == 0  ? &c->tls_ca
                                               : NULL;
    if (dst) {
        if (!v[0])
            return fail_at(ctx, s, key, "expected a file path");
        return set_str(dst, v) == 0 ? 1 : fail_at(ctx, s, key, "out of memory");
    }
    return fail_at(ctx, s, key, "unknown key (see docs/configuration.md)");
}

static int handle_network(parse_ctx *ctx, const char *s, const char *key, const char *v)
{
    rk_config *c = ctx->cfg;
    if (strcmp(key, "join") == 0)
        return set_yes_no(ctx, s, key, v, &c->join);
    return fail_at(ctx, s, key, "unknown key (see docs/configuration.md)");
}

static bool seen_before(parse_ctx *ctx, const char *section, const char *key, bool *oom)
{
    for (size_t i = 0; i < ctx->seen_count; i++)
        if (strcmp(ctx->seen[i].section, section) == 0 && strcmp(ctx->seen[i].key, key) == 0)
            return true;
    seen_key *ns = realloc(ctx->seen, (ctx->seen_count + 1) * sizeof *ns);
    if (!ns) {
        *oom = true;
        return false;
    }
    ctx->seen = ns;
    ns[ctx->seen_count].section = strdup(section);
    ns[ctx->seen_count].key = strdup(key);
    if (!ns[ctx->seen_count].section || !ns[ctx->seen_count].key) {
        free(ns[ctx->seen_count].section);
        free(ns[ctx->seen_count].key);
        *oom = true;
        return false;
    }
    ctx->seen_count++;
    return false;
}

/* One key = value: routes it to its section's parser. Returns 1, or 0 after fail_at. */
static int dispatch(parse_ctx *ctx, const char *section, const char *key, const char *value)
{
    if (ctx->in_file) {
        bool oom = false;
        if (seen_before(ctx, section, key, &oom))
            return fail_at(ctx, section, key,
                           ctx->line_indented ? "continuation lines are not supported (a line starts with white space)"
                                              : "duplicate key");
        if (oom)
            return fail_at(ctx, section, key, "out of memory");
    }
    if (!section[0])
        return fail_at(ctx, "", key, "key outside any section");
    char type[32], pname[128];
    if (split_section(section, type, sizeof type, pname, sizeof pname) != 0)
        return fail_at(ctx, section, key, "malformed section name (use [peer \"name\"])");
    if (strcmp(type, "peer") == 0 || strcmp(type, "member") == 0)
        return handle_peer(ctx, section, type, pname, key, value);
    if (pname[0])
        return fail_at(ctx, section, key, "unknown section (quoted names are for [peer] and [member])");
    const ranged_key *ranged = ranged_key_find(type, key);
    if (ranged)
        return set_ranged(ctx, section, ranged, value);
    if (strcmp(type, "node") == 0)
        return handle_node(ctx, section, key, value);
    if (strcmp(type, "api") == 0)
        return handle_api(ctx, section, key, value);
    if (strcmp(type, "gossip") == 0)
        return handle_gossip(ctx, section, key, value);
    if (strcmp(type, "quota") == 0) /* numbers only, all in ranged_keys */
        return fail_at(ctx, section, key, "unknown key (see docs/configuration.md)");
    if (strcmp(type, "network") == 0)
        return handle_network(ctx, section, key, value);
    return fail_at(ctx, section, key,
                   "unknown section (expected node, api, gossip, quota, network, peer \"NAME\", member \"NAME\")");
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
    parse_ctx *ctx = user;
    if (ctx->stop)
        return 0;
    if (ctx->line_too_long) {
        fail_at(ctx, section, key, "line longer than %d bytes", INI_MAX_LINE - 2);
        ctx->stop = true;
        return 0;
    }
    int rc = dispatch(ctx, section, key, value);
    if (rc == 1 && note_origin(ctx, section, key) != 0)
        return fail_at(ctx, section, key, "out of memory");
    return rc;
}

/* inih reader over the in-memory file; counts lines so the handler can name them. */
static char *mem_reader(char *str, int num, void *stream)
{
    parse_ctx *ctx = stream;
    if (ctx->pos >= ctx->len || num < 2)
        return NULL;
    size_t cap = (size_t)num - 1, n = 0;
    bool nl = false;
    while (n < cap && ctx->pos < ctx->len) {
        char ch = ctx->text[ctx->pos++];
        str[n++] = ch;
        if (ch == '\n') {
            nl = true;
            break;
        }
    }
    str[n] = '\0';
    ctx->line++;
    ctx->line_indented = str[0] == ' ' || str[0] == '\t';
    if (!nl && ctx->pos < ctx->len)
        ctx->line_too_long = true;
    return str;
}

/* ---------------------------------------------------------------------------- whole config */

/* Points ctx's error location at where section.key was set, or else at its section's first line. */
static void locate(parse_ctx *ctx, const char *section, const char *key)
{
    const rk_config_origin *o = find_origin(ctx->cfg, section, key);
    ctx->origin = o ? o->origin : ctx->cfg->path ? ctx->cfg->path : "<config>";
    ctx->line = o ? o->line : 0;
    ctx->in_file = o && o->line > 0;
}

static void require(parse_ctx *ctx, const void *value, const char *section, const char *key)
{
    if (value || field_failed(ctx, section, key))
        return;
    locate(ctx, section, NULL);
    if (find_origin(ctx->cfg, section, NULL))
        fail_at(ctx, section, key, "required key is missing");
    else
        fail_at(ctx, section, key, "required key is missing (there is no [%s] section)", section);
}

/* A joining node learns the charter, threshold included, from a [peer] it trusts: it needs one, and
 * a threshold of its own would be a second source of truth. */
static void check_join(parse_ctx *ctx)
{
    rk_config *c = ctx->cfg;
    if (!c->join || field_failed(ctx, "network", "join"))
        return;
    const rk_config_origin *o = find_origin(c, "network", "threshold");
    if (o && strcmp(o->key, "threshold") == 0 && !field_failed(ctx, "network", "threshold")) {
        locate(ctx, "network", "threshold");
        fail_at(ctx, "network", "threshold", "a joining node (join = yes) learns the threshold from its peer");
    }
    bool dialed = false;
    for (size_t i = 0; i < c->peer_count; i++)
        dialed |= c->peers[i].url != NULL && !ctx->peer_is_member[i];
    if (!dialed) {
        locate(ctx, "network", "join");
        fail_at(ctx, "network", "join",
                "a joining node needs a [peer \"NAME\"] with key and url to learn the charter from");
    }
}

/* Rules about the configuration as a whole, after the file and the overrides; all are reported. */
static int check_whole(parse_ctx *ctx)
{
    rk_config *c = ctx->cfg;
    size_t nerr_before = ctx->nerr;
    require(ctx, c->name, "node", "name");
    require(ctx, c->data_dir, "node", "data_dir");
    require(ctx, c->socket, "api", "socket");
    for (size_t i = 0; i < c->peer_count; i++) {
        rk_peer_config *p = &c->peers[i];
        char sec[200];
        snprintf(sec, sizeof sec, "%s \"%s\"", ctx->peer_is_member[i] ? "member" : "peer", p->name);
        const char *miss = !p->has_key ? "key" : (!ctx->peer_is_member[i] && !p->url) ? "url" : NULL;
        if (miss && !field_failed(ctx, sec, miss)) {
            ctx->origin = ctx->peer_origin[i];
            ctx->line = ctx->peer_line[i];
            ctx->in_file = ctx->peer_line[i] > 0;
            fail_at(ctx, sec, miss, "required key is missing");
        }
        for (size_t j = 0; p->has_key && j < i; j++)
            if (c->peers[j].has_key && memcmp(c->peers[j].key, p->key, RK_KEY_LEN) == 0) {
                locate(ctx, sec, "key");
                fail_at(ctx, sec, "key", "the same key as \"%s\"", c->peers[j].name);
                break;
            }
    }
    /* the TLS files are required by the first tls+tcp:// URL; the message names where it is */
    char tls_at[300] = "";
    for (size_t i = 0; !tls_at[0] && i < c->listen_count; i++)
        if (strncmp(c->listen[i], "tls+tcp://", 10) == 0)
            rk_config_where(c, "gossip", "listen", tls_at, sizeof tls_at);
    for (size_t i = 0; !tls_at[0] && i < c->peer_count; i++)
        if (c->peers[i].url && strncmp(c->peers[i].url, "tls+tcp://", 10) == 0) {
            char sec[200];
            snprintf(sec, sizeof sec, "peer \"%s\"", c->peers[i].name);
            rk_config_where(c, sec, "url", tls_at, sizeof tls_at);
        }
    check_join(ctx);
    if (tls_at[0])
        for (int k = 0; k < 2; k++) {
            const char *key = k == 0 ? "tls_cert" : "tls_key";
            if ((k == 0 ? c->tls_cert : c->tls_key) || field_failed(ctx, "gossip", key))
                continue;
            locate(ctx, "gossip", NULL);
            fail_at(ctx, "gossip", key, "required by the tls+tcp:// URL at %s", tls_at);
        }
    if (ctx->nerr != nerr_before || ctx->failed)
        return -1;
    ctx->in_file = false;
    ctx->origin = c->path ? c->path : "<config>";
    if (!c->key_file) {
        rk_buf b;
        rk_buf_init(&b);
        if (rk_buf_printf(&b, "%s/node.key", c->data_dir) != 0) {
            rk_buf_free(&b);
            return fail_at(ctx, "node", "key_file", "out of memory"), -1;
        }
        c->key_file = rk_buf_take(&b, NULL);
    }
    if (!c->log_level && set_str(&c->log_level, "info") != 0)
        return fail_at(ctx, "node", "log_level", "out of memory"), -1;
    return 0;
}

static int apply_override(parse_ctx *ctx, const char *o)
{
    char origin[300];
    snprintf(origin, sizeof origin, "-o %s", o);
    ctx->origin = origin;
    ctx->in_file = false;
    const char *eq = strchr(o, '=');
    const char *q = strrchr(o, '"');
    if (q && eq && q > eq)
        q = NULL; /* a quote in the value is not part of the section */
    const char *dot = NULL;
    if (eq) {
        for (const char *p = q ? q : o; p < eq; p++)
            if (*p == '.')
                dot = p;
    }
    if (!eq || !dot || dot == o || dot + 1 == eq) {
        fail_plain(ctx, "%s: expected section.key=value (e.g. -o 'peer \"kuwana\".url=tcp://…')", origin);
        ctx->origin = NULL;
        return -1;
    }
    char *section = strndup(o, (size_t)(dot - o));
    char *key = strndup(dot + 1, (size_t)(eq - dot - 1));
    int rc = -1;
    if (section && key) {
        size_t before = ctx->nerr;
        handler(ctx, section, key, eq + 1);
        rc = ctx->nerr == before ? 0 : -1;
    } else {
        fail_plain(ctx, "%s: out of memory", origin);
    }
    free(section);
    free(key);
    ctx->origin = NULL;
    return rc;
}

static int read_file(const char *path, char **out, size_t *len, rk_error *err)
{
    rk_buf b;
    rk_buf_init(&b);
    if (rk_read_path(path, MAX_FILE_BYTES, &b) != 0) {
        int e = errno;
        rk_buf_free(&b);
        if (e == EFBIG)
            return rk_fail(err, "invalid_config", "", "%s: larger than %u bytes", path, MAX_FILE_BYTES);
        return rk_fail(err, "invalid_config", "", "%s: cannot open: %s", path, strerror(e));
    }
    *out = rk_buf_take(&b, len);
    return 0;
}

static void init_defaults(rk_config *c)
{
    memset(c, 0, sizeof *c);
    c->kind = RENKEI__NODE_KIND__NODE_KIND_REGION;
    c->map_size = (size_t)1 << 30;
    c->max_clock_skew_ms = 600 * 1000;
    c->max_record_bytes = 256 * 1024;
    c->max_body = 1 << 20;
    c->max_connections = 256;
    c->record_cache = 4 << 20;
    c->export_spool = (size_t)256 << 20;
    c->sync_interval_s = 30;
    c->quota_records = 200000; /* the values of rk_quota_policy_default (test_quota holds them equal) */
    c->quota_versions = 10000;
    c->quota_window_s = 3600;
    c->pending_per_author = 1000; /* the values of rk_pending_policy_default */
    c->pending_total = 20000;
    c->pending_keep_s = 7 * 86400;
    c->compress = true;
    c->roster_peers = 4;
    c->threshold = 2; /* RK_MEMBERSHIP_DEFAULT_THRESHOLD */
}

static int parse_text(const char *name, const char *text, size_t len, char *const *overrides, size_t override_count,
                      rk_config *out, rk_buf *all, rk_error *err)
{
    rk_config cfg;
    init_defaults(&cfg);
    parse_ctx ctx = {.cfg = &cfg, .err = err, .all = all};
    if (err)
        rk_error_clear(err);
    int rc = 0;
    if (name && !(cfg.path = strdup(name))) {
        rk_fail(err, "invalid_config", "", "%s: out of memory", name);
        rk_config_free(&cfg);
        init_defaults(out);
        return -1;
    }
    if (text) {
        ctx.origin = name ? name : "<config>";
        ctx.text = text;
        ctx.len = len;
        ctx.in_file = true;
        if (memchr(text, '\0', len)) {
            fail_plain(&ctx, "%s: contains a NUL byte", ctx.origin);
        } else {
            int line = ini_parse_stream(mem_reader, &ctx, handler, &ctx);
            if (line < 0)
                fail_plain(&ctx, "%s: out of memory", ctx.origin);
            else if (line > 0 && line != ctx.first_fail_line && !ctx.stop)
                /* inih reports only its first error line; one that no handler failed on is a syntax error */
                fail_plain(&ctx, "%s:%d: syntax error (expected [section] or key = value)", ctx.origin, line);
        }
    }
    for (size_t i = 0; i < override_count; i++)
        apply_override(&ctx, overrides[i]);
    if (check_whole(&ctx) != 0 || ctx.failed)
        rc = -1;
    for (size_t i = 0; i < ctx.seen_count; i++) {
        free(ctx.seen[i].section);
        free(ctx.seen[i].key);
    }
    free(ctx.seen);
    for (size_t i = 0; i < ctx.failed_count; i++)
        free(ctx.failed_fields[i]);
    free(ctx.failed_fields);
    for (size_t i = 0; i < cfg.peer_count; i++)
        free(ctx.peer_origin[i]);
    free(ctx.peer_origin);
    free(ctx.peer_is_member);
    free(ctx.peer_line);
    if (rc != 0) {
        rk_config_free(&cfg);
        init_defaults(out);
        return -1;
    }
    *out = cfg;
    return 0;
}

int rk_config_parse_text(const char *name, const char *text, size_t len, char *const *overrides, size_t override_count,
                         rk_config *out, rk_error *err)
{
    return parse_text(name, text, len, overrides, override_count, out, NULL, err);
}

int rk_config_load_report(const char *path, char *const *overrides, size_t override_count, rk_config *out, rk_buf *all,
                          rk_error *err)
{
    char *text = NULL;
    size_t len = 0;
    rk_error local;
    if (!err)
        err = &local;
    if (path && read_file(path, &text, &len, err) != 0) {
        if (all)
            (void)rk_buf_printf(all, "%s\n", err->message);
        init_defaults(out);
        return -1;
    }
    int rc = parse_text(path, text, len, overrides, override_count, out, all, err);
    free(text);
    return rc;
}

int rk_config_load(const char *path, char *const *overrides, size_t override_count, rk_config *out, rk_error *err)
{
    return rk_config_load_report(path, overrides, override_count, out, NULL, err);
}

void rk_config_free(rk_config *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->data_dir);
    free(c->key_file);
    free(c->log_level);
    free(c->socket);
    free(c->tcp);
    free(c->group);
    free(c->public_url);
    free_list(c->listen, c->listen_count);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->tls_ca);
    for (size_t i = 0; i < c->peer_count; i++) {
        free(c->peers[i].name);
        free(c->peers[i].url);
    }
    free(c->peers);
    for (size_t i = 0; i < c->origin_count; i++) {
        free(c->origins[i].section);
        free(c->origins[i].key);
        free(c->origins[i].origin);
    }
    free(c->origins);
    free(c->path);
    memset(c, 0, sizeof *c);
}
