/* main: renkeid's command line, start-up order and shutdown.
 *
 * Start: config -> log level -> data dir -> key -> store -> roster -> metrics -> writer -> API ->
 * gossip -> loop. Shutdown on SIGINT/SIGTERM, in the order that loses nothing acknowledged: stop
 * accepting API requests, stop gossip, let the writer finish and commit its queue (its completion
 * callbacks still answer waiting clients), then close the store. Exit codes: 0 ok, 1 runtime or
 * configuration error, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <glib.h>
#include <signal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "api.h"
#include "charter_store.h"
#include "config.h"
#include "config_check.h"
#include "gossip.h"
#include "log.h"
#include "gauges.h"
#include "members.h"
#include "metrics.h"
#include "node.h"
#include "writer.h"

/* Every module closes its own handles when it stops (the API gives busy connections ten seconds);
 * this only catches a handle that would otherwise keep a stopping daemon alive for ever. */
#define SHUTDOWN_GRACE_MS 20000

static void usage(FILE *f)
{
    fprintf(f, "usage: renkeid -c FILE [-o section.key=value]... [--check] [--version] [--help]\n"
               "\n"
               "  -c, --config FILE   the node's INI configuration (see docs/configuration.md)\n"
               "  -o SECTION.KEY=VAL  override or add a key, e.g. -o 'peer \"kuwana\".url=tcp://...'\n"
               "      --check         validate the configuration (and the key file) and exit\n"
               "      --version       print the version and exit\n"
               "  -h, --help          this text\n");
}

typedef struct daemon_state {
    rk_node node;
    uv_signal_t sigint, sigterm;
    uv_timer_t grace;
    bool stopping;
} daemon_state;

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_grace(uv_timer_t *t)
{
    rk_error_log("main", "handles still open %d s after shutdown began; closing them", SHUTDOWN_GRACE_MS / 1000);
    uv_walk(t->loop, close_walk, NULL);
}

static void shutdown_node(daemon_state *d)
{
    if (d->stopping)
        return;
    d->stopping = true;
    rk_node *n = &d->node;
    rk_api_stop(n->api);
    rk_gossip_stop(n->gossip);
    n->gossip = NULL;
    rk_writer_stop(n->writer); /* commits the queue and answers its clients */
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_timer_start(&d->grace, on_grace, SHUTDOWN_GRACE_MS, 0);
    uv_unref((uv_handle_t *)&d->grace);
}

static void on_signal(uv_signal_t *s, int signum)
{
    daemon_state *d = s->data;
    rk_info("main", "received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    shutdown_node(d);
}

/* A start-up error about a configured value names the file line that set it, as --check does:
 * err->field is "section.key" for such errors. */
static void log_start_error(const rk_config *cfg, const char *what, const rk_error *err)
{
    const char *dot = strrchr(err->field, '.');
    if (!dot || dot == err->field) {
        rk_error_log("main", "%s: %s", what, err->message);
        return;
    }
    char section[128], where[300];
    snprintf(section, sizeof section, "%.*s", (int)(dot - err->field), err->field);
    rk_config_where(cfg, section, dot + 1, where, sizeof where);
    rk_error_log("main", "%s: [%s] %s: %s: %s", where, section, dot + 1, what, err->message);
}

/* One "renkeid: " line on stderr per line of a --check report. */
static void print_report(const char *lines)
{
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(stderr, "renkeid: %.*s\n", n, p);
        p += n + (nl ? 1 : 0);
    }
}

static void describe_metrics(rk_metrics *m)
{
    rk_metrics_describe(m, "renkei_ingest_total", "counter", "Records stored, by source (local or peer).");
    rk_metrics_describe(m, "renkei_rejections_total", "counter", "Records rejected, by reason and source.");
    rk_metrics_describe(m, "renkei_store_errors_total", "counter", "Write transactions that failed, by error code.");
    rk_metrics_describe(m, "renkei_commit_duration_seconds", "histogram", "Time per group-commit transaction.");
    rk_metrics_describe(m, "renkei_commit_batch_items_total", "counter", "Items processed by the writer.");
    rk_metrics_describe(m, "renkei_store_flushes_total", "counter",
                        "Disk flushes that made commits durable before they were acknowledged.");
}

static int run(rk_config *cfg)
{
    daemon_state d;
    memset(&d, 0, sizeof d);
    rk_node *n = &d.node;
    rk_error err;
    rk_error_clear(&err);
    int rc = 1;
    bool looped = false;
    /* A client that closes its socket while its response is being written must cost an EPIPE on
     * that write, not the process. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        rk_warn("main", "cannot ignore SIGPIPE: %s", strerror(errno));
    /* Read-only API requests run on libuv's thread pool: one thread per core unless the operator set
     * UV_THREADPOOL_SIZE. Read before the pool's first use, so it must be set here. */
    if (!getenv("UV_THREADPOOL_SIZE")) {
        char nthreads[16];
        unsigned int cores = uv_available_parallelism();
        snprintf(nthreads, sizeof nthreads, "%u", cores < 2 ? 2 : cores);
        if (setenv("UV_THREADPOOL_SIZE", nthreads, 0) != 0)
            rk_warn("main", "cannot size the thread pool: %s", strerror(errno));
    }
    /* jansson seeds its hash function on first use; do it before any thread may build JSON */
    json_object_seed(0);
    uv_loop_t *loop = uv_default_loop();
    n->loop = loop;
    n->cfg = cfg;
    n->started_ms = rk_now_ms();
    rk_limits_default(&n->limits);
    n->limits.max_record_bytes = cfg->max_record_bytes;
    n->limits.max_clock_skew_ms = cfg->max_clock_skew_ms;

    if (g_mkdir_with_parents(cfg->data_dir, 0700) != 0) {
        rk_error e;
        rk_fail(&e, "config", "node.data_dir", "cannot create %s: %s", cfg->data_dir, strerror(errno));
        log_start_error(cfg, "data_dir", &e);
        goto out;
    }
    bool created = false;
    if (rk_key_load_or_create(cfg->key_file, &n->key, &created, &err) != 0) {
        snprintf(err.field, sizeof err.field, "node.key_file");
        log_start_error(cfg, "node key", &err);
        goto out;
    }
    rk_key_public(n->key, n->pub);
    rk_hex_encode(n->pub, RK_KEY_LEN, n->pub_hex);
    if (created)
        rk_info("main", "created node key %s public=%s", cfg->key_file, n->pub_hex);

    /* the writer acknowledges a batch after its own flush (daemon/writer.c) */
    rk_store_options so = {.dir = cfg->data_dir, .map_size = cfg->map_size, .defer_meta_sync = true};
    if (rk_store_open(&so, &n->store, &err) != 0) {
        snprintf(err.field, sizeof err.field, "node.data_dir");
        log_start_error(cfg, "cannot open the store", &err);
        goto out;
    }
    if (rk_roster_add(&n->roster, cfg->name, n->pub, NULL, true) != 0) {
        rk_error_log("main", "out of memory building the roster");
        goto out;
    }
    for (size_t i = 0; i < cfg->peer_count; i++) {
        const rk_peer_config *p = &cfg->peers[i];
        if (rk_roster_add(&n->roster, p->name, p->key, p->url, false) != 0) {
            char sec[200], where[300];
            snprintf(sec, sizeof sec, "%s \"%s\"", p->url ? "peer" : "member", p->name);
            rk_config_where(cfg, sec, "key", where, sizeof where);
            rk_error_log("main", "%s: [%s] key: this node's own key, or out of memory", where, sec);
            goto out;
        }
    }
    if (rk_charter_store_open(n, &n->charter, &err) != 0) {
        log_start_error(cfg, "charter", &err);
        goto out;
    }
    if (!(n->metrics = rk_metrics_new())) {
        rk_error_log("main", "out of memory");
        goto out;
    }
    describe_metrics(n->metrics);
    rk_gauges_declare(n);
    if (rk_members_start(n, &err) != 0) {
        rk_error_log("main", "membership: %s", err.message);
        goto out;
    }
    if (rk_writer_start(n, &n->writer, &err) != 0) {
        rk_error_log("main", "writer: %s", err.message);
        goto out;
    }
    if (rk_api_start(n, &n->api, &err) != 0) {
        log_start_error(cfg, "API", &err);
        goto out;
    }
    rk_info("main", "API listening on %s%s%s", cfg->socket, cfg->tcp ? " and tcp " : "", cfg->tcp ? cfg->tcp : "");
    if (rk_gossip_start(n, &n->gossip, &err) != 0) {
        log_start_error(cfg, "gossip", &err);
        goto out;
    }
    uv_signal_init(loop, &d.sigint);
    uv_signal_init(loop, &d.sigterm);
    uv_timer_init(loop, &d.grace);
    d.sigint.data = d.sigterm.data = &d;
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    rk_info("main", "renkeid %s started name=%s key=%s peers=%zu data_dir=%s", RENKEI_VERSION, cfg->name, n->pub_hex,
            cfg->peer_count, cfg->data_dir);
    looped = true;
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&d.grace, NULL);
    rc = 0;

out:
    if (!d.stopping) { /* a start-up error: undo what started */
        rk_api_stop(n->api);
        rk_gossip_stop(n->gossip);
        rk_writer_stop(n->writer);
    }
    uv_run(loop, UV_RUN_DEFAULT); /* close callbacks */
    rk_api_free(n->api);
    rk_members_stop(n);
    rk_metrics_free(n->metrics);
    rk_roster_free(&n->roster);
    rk_charter_store_close(n->charter);
    if (n->store)
        rk_store_close(n->store);
    if (n->key)
        rk_key_free(n->key);
    if (uv_loop_close(loop) != 0)
        rk_warn("main", "the loop still had open handles at exit");
    if (looped)
        rk_info("main", "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'C'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    bool check = false;
    char **overrides = calloc((size_t)argc + 1, sizeof *overrides);
    size_t noverrides = 0;
    if (!overrides) {
        fprintf(stderr, "renkeid: out of memory\n");
        return 1;
    }
    int c;
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'o': overrides[noverrides++] = optarg; break;
        case 'C': check = true; break;
        case 'V':
            printf("renkeid %s\n", RENKEI_VERSION);
            free(overrides);
            return 0;
        case 'h':
            usage(stdout);
            free(overrides);
            return 0;
        default:
            usage(stderr);
            free(overrides);
            return 2;
        }
    }
    if (optind < argc || !config) {
        if (optind < argc)
            fprintf(stderr, "renkeid: unexpected argument \"%s\"\n", argv[optind]);
        else
            fprintf(stderr, "renkeid: -c FILE is required\n");
        usage(stderr);
        free(overrides);
        return 2;
    }
    rk_config cfg;
    rk_error err;
    rk_error_clear(&err);
    /* --check lists every mistake at once, so an operator fixes the file in one pass */
    rk_buf report;
    rk_buf_init(&report);
    int rc;
    if (rk_config_load_report(config, overrides, noverrides, &cfg, check ? &report : NULL, &err) != 0) {
        if (report.len)
            print_report(report.data);
        else
            fprintf(stderr, "renkeid: %s\n", err.message);
        rk_buf_free(&report);
        free(overrides);
        return 1;
    }
    free(overrides);
    if (check) {
        rk_config_check_counts n;
        rc = rk_config_check_system(&cfg, &report, &n) == 0 ? 0 : 1;
        if (report.len)
            print_report(report.data);
        if (rc == 0 && n.warnings)
            printf("configuration OK (%zu warning%s)\n", n.warnings, n.warnings == 1 ? "" : "s");
        else if (rc == 0)
            printf("configuration OK\n");
    } else {
        rk_log_set_level(cfg.log_level);
        rc = run(&cfg);
    }
    rk_buf_free(&report);
    rk_config_free(&cfg);
    return rc;
}
