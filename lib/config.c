/* config: parses the node's INI file with inih, then applies `-o section.key=value` overrides.
 *
 * The file is read into memory and fed to inih through a line-counting reader, so every handler call
 * knows its line: errors read "FILE:LINE: [section] key: problem". Only the first error is kept (the
 * one a person should fix first). Within the file a key may appear once per section; overrides
 * replace values and may add [peer]/[member] sections. Whole-config rules (required keys, a peer
 * needs key and url, TLS files for tls+tcp://) run after the overrides, naming the section's line.
 * On error *out is left empty; nothing is half-filled.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <nng/nng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

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
    const char *origin;     /* file name or "-o ..." */
    /* the memory reader */
    const char *text;
    size_t len, pos;
    int line;
    bool line_indented;     /* the current line starts with white space: an inih continuation line */
    bool line_too_long;
    bool in_file;           /* duplicate keys are errors in the file, not in overrides */
    seen_key *seen;
    size_t seen_count;
    /* per peer: is it a [member], and where was it first seen (for whole-config errors) */
    bool *peer_is_member;
    int *peer_line;
    char **peer_origin;
    /* the first error */
    bool failed;
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
    if (ctx->failed)
        return 0;
    ctx->failed = true;
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
    rk_fail(ctx->err, "invalid_config", field, "%s: [%s]%s%s: %s", where, section, key && key[0] ? " " : "",
            key ? key : "", problem);
    return 0;
}

/* ---------------------------------------------------------------------------- value parsers */

/* Unsigned decimal with an optional K/M/G suffix (powers of 1024; "KiB"/"KB"/"B" spellings too). */
static int parse_size(const char *v, size_t min, size_t max, size_t *out)
{
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno)
        return -1;
    unsigned long long mul = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mul = 1ull << 10; end++; break;
    case 'M': mul = 1ull << 20; end++; break;
    case 'G': mul = 1ull << 30; end++; break;
    default: break;
    }
    if (mul > 1 && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0')
        return -1;
    if (n > ULLONG_MAX / mul)
        return -1;
    n *= mul;
    if (n < min || n > max)
        return -1;
    *out = (size_t)n;
    return 0;
}

static int parse_uint(const char *v, unsigned long long min, unsigned long long max, unsigned long long *out)
{
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

/* Why the URL cannot be used, or NULL. The parse is nng_url_parse, the one the dialer and listener
 * run, so what passes here is what they will see; NNG leaves the port unchecked until it dials (a bad
 * one then fails on every attempt, quietly), so the port is checked here: digits, 1..65535. A dialled
 * URL needs a host; a listened one may leave it empty (all addresses). NNG's TCP transports take no
 * path, and white space or a comma means a list went wrong. */
static const char *url_problem(const char *u, bool listen)
{
    for (const char *p = u; *p; p++)
        if (isspace((unsigned char)*p) || *p == ',')
            return "contains white space or a comma";
    nng_url *url = NULL;
    if (nng_url_parse(&url, u) != 0)
        return "is not a URL";
    const char *why = NULL;
    const char *sch = url->u_scheme;
    bool ipc = strcmp(sch, "ipc") == 0;
    if (!ipc && strcmp(sch, "tcp") != 0 && strcmp(sch, "tcp4") != 0 && strcmp(sch, "tcp6") != 0 &&
        strcmp(sch, "tls+tcp") != 0)
        why = "has a scheme other than tcp://, tcp4://, tcp6://, tls+tcp:// or ipc://";
    else if (ipc)
        why = url->u_path && url->u_path[0] ? NULL : "has no socket path after ipc://";
    else if (!url->u_port || !url->u_port[0])
        why = "has no port (HOST:PORT)";
    else {
        unsigned long long port = 0;
        const char *q = url->u_port;
        while (isdigit((unsigned char)*q) && port <= 65535)
            port = port * 10 + (unsigned)(*q++ - '0');
        if (*q || port < 1 || port > 65535)
            why = "has a port that is not a number from 1 to 65535";
        else if (!listen && (!url->u_hostname || !url->u_hostname[0]))
            why = "has no host to dial";
        else if (url->u_path && url->u_path[0] && strcmp(url->u_path, "/") != 0)
            why = "has a path, which tcp:// URLs cannot carry";
    }
    nng_url_free(url);
    return why;
}

/* "127.0.0.1:7480", "[::1]:7480" or "localhost:7480"; loopback addresses only. */
static bool tcp_loopback_ok(const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v)
        return false;
    unsigned long long port;
    if (parse_uint(colon + 1, 1, 65535, &port) != 0)
        return false;
    char host[64];
    size_t hl = (size_t)(colon - v);
    if (hl >= sizeof host)
        return false;
    memcpy(host, v, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, host + 1, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

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
        const char *why = url_problem(u, true);
        if (why) {
            fail_at(ctx, section, key, "\"%s\" %s (expected tcp://HOST:PORT, tls+tcp://HOST:PORT or ipc://PATH)", u, why);
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
        return fail_at(ctx, section, key, "\"%s\" is already a [%s]", pname, ctx->peer_is_member[i] ? "member" : "peer");
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
        const char *why = url_problem(value, false);
        if (why)
            return fail_at(ctx, section, key, "\"%s\" %s (expected tcp://HOST:PORT or tls+tcp://HOST:PORT)", value, why);
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
                                       RENKEI__NODE_KIND__NODE_KIND_PARTNERSHIP,
                                       RENKEI__NODE_KIND__NODE_KIND_NATIONAL};

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
    if (strcmp(key, "map_size") == 0) {
        if (parse_size(v, 1u << 20, (size_t)1 << 40, &c->map_size) != 0)
            return fail_at(ctx, s, key, "\"%s\" is not a size between 1M and 1024G (suffixes K, M, G)", v);
        return 1;
    }
    if (strcmp(key, "clock_skew") == 0) {
        unsigned long long n;
        if (parse_uint(v, 0, 7 * 86400, &n) != 0)
            return fail_at(ctx, s, key, "\"%s\" is not a number of seconds between 0 and 604800", v);
        c->max_clock_skew_ms = n * 1000;
        return 1;
    }
    if (strcmp(key, "max_record") == 0) {
        if (parse_size(v, 1024, 64u << 20, &c->max_record_bytes) != 0)
            return fail_at(ctx, s, key, "\"%s\" is not a size between 1K and 64M", v);
        return 1;
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
    if (strcmp(key, "tcp") == 0) {
        if (v[0] == '\0') {
            free(c->tcp);
            c->tcp = NULL;
            return 1;
        }
        if (!tcp_loopback_ok(v))
            return fail_at(ctx, s, key, "\"%s\" is not a loopback HOST:PORT (127.0.0.1:7480 or [::1]:7480)", v);
        return set_str(&c->tcp, v) == 0 ? 1 : fail_at(ctx, s, key, "out of memory");
    }
    if (strcmp(key, "group") == 0) {
        if (v[0] == '\0') {
            free(c->group);
            c->group = NULL;
            return 1;
        }
        return set_str(&c->group, v) == 0 ? 1 : fail_at(ctx, s, key, "out of memory");
    }
    if (strcmp(key, "max_body") == 0) {
        if (parse_size(v, 1024, 1u << 30, &c->max_body) != 0)
            return fail_at(ctx, s, key, "\"%s\" is not a size between 1K and 1G", v);
        return 1;
    }
    return fail_at(ctx, s, key, "unknown key (see docs/configuration.md)");
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
    if (strcmp(key, "sync_interval") == 0) {
        unsigned long long n;
        if (parse_uint(v, 1, 86400, &n) != 0)
            return fail_at(ctx, s, key, "\"%s\" is not a number of seconds between 1 and 86400", v);
        c->sync_interval_s = (unsigned)n;
        return 1;
    }
    char **dst = strcmp(key, "tls_cert") == 0 ? &c->tls_cert
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

static int handler(void *user, const char *section, const char *key, const char *value)
{
    parse_ctx *ctx = user;
    if (ctx->failed)
        return 0;
    if (ctx->line_too_long)
        return fail_at(ctx, section, key, "line longer than %d bytes", INI_MAX_LINE - 2);
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
    if (strcmp(type, "node") == 0)
        return handle_node(ctx, section, key, value);
    if (strcmp(type, "api") == 0)
        return handle_api(ctx, section, key, value);
    if (strcmp(type, "gossip") == 0)
        return handle_gossip(ctx, section, key, value);
    return fail_at(ctx, section, key, "unknown section (expected node, api, gossip, peer \"NAME\", member \"NAME\")");
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

static int check_whole(parse_ctx *ctx)
{
    rk_config *c = ctx->cfg;
    ctx->in_file = false;
    const char *missing_sec = NULL, *missing_key = NULL;
    if (!c->name)
        missing_sec = "node", missing_key = "name";
    else if (!c->data_dir)
        missing_sec = "node", missing_key = "data_dir";
    else if (!c->socket)
        missing_sec = "api", missing_key = "socket";
    if (missing_sec) {
        ctx->failed = false;
        fail_at(ctx, missing_sec, missing_key, "required key is missing");
        return -1;
    }
    for (size_t i = 0; i < c->peer_count; i++) {
        rk_peer_config *p = &c->peers[i];
        const char *miss = !p->has_key ? "key" : (!ctx->peer_is_member[i] && !p->url) ? "url" : NULL;
        if (miss) {
            char sec[200];
            snprintf(sec, sizeof sec, "%s \"%s\"", ctx->peer_is_member[i] ? "member" : "peer", p->name);
            ctx->origin = ctx->peer_origin[i];
            ctx->line = ctx->peer_line[i];
            ctx->in_file = ctx->peer_line[i] > 0;
            fail_at(ctx, sec, miss, "required key is missing");
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (memcmp(c->peers[j].key, p->key, RK_KEY_LEN) == 0) {
                char sec[200];
                snprintf(sec, sizeof sec, "%s \"%s\"", ctx->peer_is_member[i] ? "member" : "peer", p->name);
                ctx->origin = ctx->peer_origin[i];
                ctx->line = ctx->peer_line[i];
                ctx->in_file = ctx->peer_line[i] > 0;
                fail_at(ctx, sec, "key", "the same key as \"%s\"", c->peers[j].name);
                return -1;
            }
    }
    bool tls = false;
    for (size_t i = 0; i < c->listen_count; i++)
        tls |= strncmp(c->listen[i], "tls+tcp://", 10) == 0;
    for (size_t i = 0; i < c->peer_count; i++)
        tls |= c->peers[i].url && strncmp(c->peers[i].url, "tls+tcp://", 10) == 0;
    if (tls && (!c->tls_cert || !c->tls_key)) {
        fail_at(ctx, "gossip", c->tls_cert ? "tls_key" : "tls_cert", "required when a tls+tcp:// URL is used");
        return -1;
    }
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
        ctx->failed = true;
        rk_fail(ctx->err, "invalid_config", "", "%s: expected section.key=value (e.g. -o 'peer \"kuwana\".url=tcp://…')", origin);
        return -1;
    }
    char *section = strndup(o, (size_t)(dot - o));
    char *key = strndup(dot + 1, (size_t)(eq - dot - 1));
    int rc = -1;
    if (section && key) {
        handler(ctx, section, key, eq + 1);
        rc = ctx->failed ? -1 : 0;
    } else {
        rk_fail(ctx->err, "no_memory", "", "out of memory");
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
    c->sync_interval_s = 30;
}

int rk_config_parse_text(const char *name, const char *text, size_t len, char *const *overrides,
                         size_t override_count, rk_config *out, rk_error *err)
{
    rk_config cfg;
    init_defaults(&cfg);
    parse_ctx ctx = {.cfg = &cfg, .err = err};
    int rc = 0;
    if (text) {
        ctx.origin = name ? name : "<config>";
        ctx.text = text;
        ctx.len = len;
        ctx.in_file = true;
        if (memchr(text, '\0', len)) {
            rc = rk_fail(err, "invalid_config", "", "%s: contains a NUL byte", ctx.origin);
        } else {
            int line = ini_parse_stream(mem_reader, &ctx, handler, &ctx);
            if (line < 0) {
                rc = rk_fail(err, "invalid_config", "", "%s: out of memory", ctx.origin);
            } else if (line > 0 && !ctx.failed) {
                rc = rk_fail(err, "invalid_config", "", "%s:%d: syntax error (expected [section] or key = value)",
                             ctx.origin, line);
            } else if (ctx.failed) {
                rc = -1;
            }
        }
    }
    for (size_t i = 0; rc == 0 && i < override_count; i++)
        rc = apply_override(&ctx, overrides[i]);
    if (rc == 0)
        rc = check_whole(&ctx);
    for (size_t i = 0; i < ctx.seen_count; i++) {
        free(ctx.seen[i].section);
        free(ctx.seen[i].key);
    }
    free(ctx.seen);
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

int rk_config_load(const char *path, char *const *overrides, size_t override_count, rk_config *out, rk_error *err)
{
    char *text = NULL;
    size_t len = 0;
    if (path && read_file(path, &text, &len, err) != 0) {
        init_defaults(out);
        return -1;
    }
    int rc = rk_config_parse_text(path, text, len, overrides, override_count, out, err);
    free(text);
    return rc;
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
    free_list(c->listen, c->listen_count);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->tls_ca);
    for (size_t i = 0; i < c->peer_count; i++) {
        free(c->peers[i].name);
        free(c->peers[i].url);
    }
    free(c->peers);
    memset(c, 0, sizeof *c);
}
