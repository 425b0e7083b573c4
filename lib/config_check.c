/* config_check: what `renkeid --check` verifies beyond the file itself, against the system the node
 * will run on: that data_dir can be created and written, that key_file is a regular file holding a
 * usable key (or can be created) that no [peer] or [member] also carries, that the TLS files are
 * readable PEM files, and that the host names in peer and listen URLs resolve.
 *
 * Invariants: nothing is created or changed (a probe file in an existing data_dir is removed at
 * once), so --check can run on a live node's configuration. Every finding names the place and the
 * key as the parser's errors do ("FILE:LINE: [node] data_dir: ..."). A host name that does not
 * resolve is a warning, not an error: DNS may be set up after the node, and the dialer keeps trying.
 */
#include "config_check.h"

#include <errno.h>
#include <netdb.h>
#include <nng/nng.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign.h"

typedef struct report {
    const rk_config *cfg;
    rk_buf *out;
    rk_config_check_counts *n;
} report;

static void note(report *r, bool warning, const char *section, const char *key, const char *fmt, ...) RK_PRINTF(5, 6);
static void note(report *r, bool warning, const char *section, const char *key, const char *fmt, ...)
{
    char where[300], problem[400];
    rk_config_where(r->cfg, section, key, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    /* out of memory only shortens the report; the counts stay right */
    (void)rk_buf_printf(r->out, "%s: [%s] %s: %s%s\n", where, section, key, warning ? "warning: " : "", problem);
    if (warning)
        r->n->warnings++;
    else
        r->n->errors++;
}

/* The nearest existing ancestor of path (path itself if it exists), in buf. */
static void existing_ancestor(const char *path, char *buf, size_t cap, struct stat *st)
{
    snprintf(buf, cap, "%s", path);
    for (;;) {
        if (stat(buf, st) == 0)
            return;
        char *slash = strrchr(buf, '/');
        if (!slash) {
            snprintf(buf, cap, ".");
            if (stat(buf, st) != 0)
                memset(st, 0, sizeof *st);
            return;
        }
        if (slash == buf) {
            buf[1] = '\0';
            if (stat(buf, st) != 0)
                memset(st, 0, sizeof *st);
            return;
        }
        *slash = '\0';
    }
}

static void check_data_dir(report *r)
{
    const char *dir = r->cfg->data_dir;
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            note(r, false, "node", "data_dir", "%s: %s", dir, strerror(errno));
            return;
        }
        /* created at start: its nearest existing ancestor must be a directory we may write into */
        char *anc = malloc(strlen(dir) + 2);
        if (!anc) {
            note(r, false, "node", "data_dir", "out of memory");
            return;
        }
        existing_ancestor(dir, anc, strlen(dir) + 2, &st);
        if (!S_ISDIR(st.st_mode))
            note(r, false, "node", "data_dir", "%s cannot be created: %s is not a directory", dir, anc);
        else if (access(anc, W_OK | X_OK) != 0)
            note(r, false, "node", "data_dir", "%s cannot be created in %s: %s", dir, anc, strerror(errno));
        free(anc);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        note(r, false, "node", "data_dir", "%s exists and is not a directory", dir);
        return;
    }
    /* access() says yes to root even on a read-only file system's files; a real probe does not */
    size_t n = strlen(dir) + sizeof "/.renkeid-check-XXXXXX";
    char *probe = malloc(n);
    if (!probe) {
        note(r, false, "node", "data_dir", "out of memory");
        return;
    }
    snprintf(probe, n, "%s/.renkeid-check-XXXXXX", dir);
    int fd = mkstemp(probe);
    if (fd < 0) {
        note(r, false, "node", "data_dir", "%s is not writable: %s", dir, strerror(errno));
    } else {
        close(fd);
        unlink(probe);
    }
    free(probe);
}

static void check_key_file(report *r)
{
    const rk_config *c = r->cfg;
    const char *path = c->key_file;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            note(r, false, "node", "key_file", "%s is %s, not a key file", path,
                 S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
            return;
        }
        rk_key *k = NULL;
        rk_error err;
        rk_error_clear(&err);
        if (rk_key_load(path, &k, &err) != 0) {
            note(r, false, "node", "key_file", "%s", err.message);
            return;
        }
        /* the start would refuse a roster entry with the node's own key; say where it is now */
        uint8_t pub[RK_KEY_LEN];
        rk_key_public(k, pub);
        rk_key_free(k);
        for (size_t i = 0; i < c->peer_count; i++)
            if (c->peers[i].has_key && memcmp(c->peers[i].key, pub, RK_KEY_LEN) == 0) {
                char sec[200];
                snprintf(sec, sizeof sec, "%s \"%s\"", c->peers[i].url ? "peer" : "member", c->peers[i].name);
                note(r, false, sec, "key", "this is the node's own public key (from %s)", path);
            }
        return;
    }
    if (errno != ENOENT) {
        note(r, false, "node", "key_file", "%s: %s", path, strerror(errno));
        return;
    }
    /* created on first start; its directory must exist by then (data_dir is created first) */
    char *dir = strdup(path);
    if (!dir) {
        note(r, false, "node", "key_file", "out of memory");
        return;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    const char *d = slash ? dir : ".";
    bool in_data_dir = strcmp(d, c->data_dir) == 0;
    if (!in_data_dir) {
        if (stat(d, &st) != 0)
            note(r, false, "node", "key_file", "%s cannot be created: the directory %s does not exist", path, d);
        else if (!S_ISDIR(st.st_mode))
            note(r, false, "node", "key_file", "%s cannot be created: %s is not a directory", path, d);
        else if (access(d, W_OK | X_OK) != 0)
            note(r, false, "node", "key_file", "%s cannot be created in %s: %s", path, d, strerror(errno));
    }
    free(dir);
}

/* A TLS file the peer transport will load at start: a readable regular file that looks like PEM. */
static void check_pem(report *r, const char *key, const char *path)
{
    if (!path)
        return;
    struct stat st;
    if (stat(path, &st) != 0) {
        note(r, false, "gossip", key, "%s: %s", path, strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        note(r, false, "gossip", key, "%s is not a regular file", path);
        return;
    }
    rk_buf b;
    rk_buf_init(&b);
    if (rk_read_path(path, 1024 * 1024, &b) != 0)
        note(r, false, "gossip", key, "%s cannot be read: %s", path, strerror(errno));
    else if (!strstr(b.data, "-----BEGIN "))
        note(r, false, "gossip", key, "%s is not a PEM file (no -----BEGIN line)", path);
    rk_buf_free(&b);
}

/* A host name (not an address literal) in url that does not resolve is a warning. */
static void check_host(report *r, const char *section, const char *key, const char *url_text)
{
    nng_url *u = NULL;
    if (nng_url_parse(&u, url_text) != 0)
        return; /* the parser has reported it */
    const char *host = u->u_hostname;
    if (host && host[0] && strcmp(u->u_scheme, "ipc") != 0) {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
        hints.ai_family = strcmp(u->u_scheme, "tcp4") == 0   ? AF_INET
                          : strcmp(u->u_scheme, "tcp6") == 0 ? AF_INET6
                                                             : AF_UNSPEC;
        struct addrinfo *res = NULL;
        int rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc != 0)
            note(r, true, section, key, "the host %s in %s does not resolve (%s); the node will keep trying", host,
                 url_text, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        else
            freeaddrinfo(res);
    }
    nng_url_free(u);
}

int rk_config_check_system(const rk_config *c, rk_buf *out, rk_config_check_counts *counts)
{
    memset(counts, 0, sizeof *counts);
    report r = {.cfg = c, .out = out, .n = counts};
    check_data_dir(&r);
    check_key_file(&r);
    check_pem(&r, "tls_cert", c->tls_cert);
    check_pem(&r, "tls_key", c->tls_key);
    check_pem(&r, "tls_ca", c->tls_ca);
    for (size_t i = 0; i < c->listen_count; i++)
        check_host(&r, "gossip", "listen", c->listen[i]);
    for (size_t i = 0; i < c->peer_count; i++) {
        if (!c->peers[i].url)
            continue;
        char sec[200];
        snprintf(sec, sizeof sec, "peer \"%s\"", c->peers[i].name);
        check_host(&r, sec, "url", c->peers[i].url);
    }
    return counts->errors ? -1 : 0;
}
