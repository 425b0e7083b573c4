/* config: the node's one INI file (git-config style sections) plus `-o section.key=value` overrides.
 *
 * Every error names the file and line, or the override, and the key. Unknown sections and keys are
 * errors, so a typo never silently falls back to a default. See docs/configuration.md.
 */
#ifndef RENKEI_CONFIG_H
#define RENKEI_CONFIG_H

#include "roster.h"
#include "util.h"

#define RK_CONFIG_MAX_ROSTER_PEERS 64 /* [gossip] peers */
#define RK_CONFIG_MAX_THRESHOLD 1000  /* [network] threshold */

typedef struct rk_peer_config {
    char *name; /* the quoted section name */
    uint8_t key[RK_KEY_LEN];
    bool has_key;
    char *url; /* NULL for [member] sections: trusted but not dialled */
} rk_peer_config;

/* Where a key was set: origin is the file name or "-o ...", line 0 for an override. */
typedef struct rk_config_origin {
    char *section, *key, *origin;
    int line;
} rk_config_origin;

typedef struct rk_config {
    /* [node] */
    char *name;
    int kind;           /* Renkei__NodeKind */
    char prefecture[3]; /* "" when not set */
    char *data_dir;
    char *key_file;             /* default: <data_dir>/node.key */
    size_t map_size;            /* map_size = 1GiB (suffixes K M G) */
    uint64_t max_clock_skew_ms; /* clock_skew = 600 (seconds) */
    size_t max_record_bytes;    /* max_record = 256K */
    char *log_level;            /* debug | info | warn | error */
    /* [api] */
    char *socket;
    char *tcp;                /* optional loopback "127.0.0.1:7480" */
    char *group;              /* optional Unix group allowed to publish */
    size_t max_body;          /* max_body = 1M */
    unsigned max_connections; /* max_connections = 256: open API connections, both listeners */
    size_t record_cache;      /* record_cache = 4M: rendered record JSON kept (lib/jsoncache.h); 0 = none */
    size_t export_spool;      /* export_spool = 256M: large exports being downloaded, on disk */
    char *public_url;         /* optional http(s)://host[/path] the world uses; no trailing '/' */
    /* [gossip] */
    char **listen; /* comma-separated in the file */
    size_t listen_count;
    unsigned sync_interval_s;          /* sync_interval = 30 */
    char *tls_cert, *tls_key, *tls_ca; /* for tls+tcp:// */
    bool compress;                     /* compress = yes: announce and use zstd with peers that do too */
    unsigned roster_peers;             /* peers = 4: outgoing peerings to members drawn from the roster */
    /* [network] (docs/membership.md, "How nodes agree") */
    unsigned threshold; /* threshold = 2: endorsements (or revocations) that admit (or revoke) a key */
    bool join;          /* join = yes: the charter is learned from a [peer], not built from this file */
    /* [quota] (docs/configuration.md; 0 = no limit) */
    unsigned long long quota_records;  /* records_per_author = 200000 */
    unsigned long long quota_versions; /* versions_per_window = 10000 */
    unsigned quota_window_s;           /* window = 3600 (seconds) */
    /* records of non-members kept aside until admission (lib/pending.h) */
    unsigned long long pending_per_author; /* pending_per_author = 1000 */
    unsigned long long pending_total;      /* pending_total = 20000 */
    unsigned pending_keep_s;               /* pending_keep = 604800 (seconds) */
    /* [peer "x"] and [member "x"] */
    rk_peer_config *peers;
    size_t peer_count;
    /* the file it came from and where each key was set, for messages after parsing */
    char *path;
    rk_config_origin *origins;
    size_t origin_count;
} rk_config;

/* Loads path (may be NULL: overrides only) and applies overrides "section.key=value" in order. */
int rk_config_load(const char *path, char *const *overrides, size_t override_count, rk_config *out, rk_error *err);
/* The same from INI text in memory (len bytes); `name` labels error messages. For tests and fuzzing. */
int rk_config_parse_text(const char *name, const char *text, size_t len, char *const *overrides, size_t override_count,
                         rk_config *out, rk_error *err);
/* As rk_config_load, and every error (one line each, in the order found) is appended to all, which
 * may be NULL. The first is also in err. For --check, which should name all mistakes at once. */
int rk_config_load_report(const char *path, char *const *overrides, size_t override_count, rk_config *out, rk_buf *all,
                          rk_error *err);
/* "FILE:LINE" where section.key was set, "-o ..." for an override; for a key left at its default,
 * the first line of its section, else the file name. */
void rk_config_where(const rk_config *c, const char *section, const char *key, char *buf, size_t cap);
void rk_config_free(rk_config *c);

#endif
