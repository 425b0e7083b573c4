/* test_config: the INI file and -o overrides. Every error must name where (file:line or the override)
 * and which key, so each case checks the message, not only the return value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_check.h"
#include "renkei.pb-c.h"
#include "run_tests.h"

#define KEY_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char *const base = "[node]\n"
                                "name = 北見市              ; display name\n"
                                "kind = region\n"
                                "prefecture = 01\n"
                                "data_dir = /var/lib/renkei\n"
                                "\n"
                                "[api]\n"
                                "socket = /run/renkei/api.sock\n";

static int parse(const char *text, char *const *ov, size_t n, rk_config *c, rk_error *err)
{
    return rk_config_parse_text("t.ini", text, strlen(text), ov, n, c, err);
}

/* Parses text with the overrides ov[0..n) and expects failure with each non-NULL needle in the
 * message; label names the case when it fails. Returns the error. */
static rk_error parse_fails(const char *label, const char *text, char *const *ov, size_t n, const char *n1,
                            const char *n2, const char *n3)
{
    rk_config c;
    rk_error err;
    rk_error_clear(&err);
    int rc = parse(text, ov, n, &c, &err);
    if (rc == 0 || (n1 && !strstr(err.message, n1)) || (n2 && !strstr(err.message, n2)) ||
        (n3 && !strstr(err.message, n3)))
        fail_msg("input:\n%s\nrc=%d message: %s (wanted %s / %s / %s)", label, rc, err.message, n1, n2 ? n2 : "",
                 n3 ? n3 : "");
    rk_config_free(&c);
    return err;
}

/* A configuration that must be refused, and the words its message must hold (the unused ones NULL):
 * where (file:line or the override) and which key. */
typedef struct refusal {
    const char *input;
    const char *words[3];
} refusal;

/* What a refusal's input is: lines added after base (the error code is checked too), a whole file,
 * or one -o override applied to base. */
typedef enum refusal_input { AFTER_BASE, WHOLE_FILE, OVERRIDE } refusal_input;

/* Each case must be refused with all of its words in the message; a failure shows the case's input. */
static void expect_refusals(const refusal *cases, size_t n, refusal_input as)
{
    for (size_t i = 0; i < n; i++) {
        const refusal *r = &cases[i];
        char text[4096];
        snprintf(text, sizeof text, "%s%s", as == WHOLE_FILE ? "" : base, as == OVERRIDE ? "" : r->input);
        char *ov[] = {(char *)r->input};
        rk_error err = parse_fails(r->input, text, ov, as == OVERRIDE, r->words[0], r->words[1], r->words[2]);
        if (as == AFTER_BASE)
            assert_string_equal(err.code, "invalid_config");
    }
}
#define EXPECT_REFUSALS(cases, as) expect_refusals(cases, sizeof cases / sizeof cases[0], as)

/* Parses base + extra with the overrides ov[0..n) into c, which must succeed. */
static void parse_base_ok(const char *extra, char *const *ov, size_t n, rk_config *c)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s", base, extra);
    rk_error err;
    if (parse(text, ov, n, c, &err) != 0)
        fail_msg("%s", err.message);
}

static void test_minimal_and_defaults(void **state)
{
    (void)state;
    rk_config c;
    parse_base_ok("", NULL, 0, &c);
    assert_string_equal(c.name, "北見市");
    assert_int_equal(c.kind, RENKEI__NODE_KIND__NODE_KIND_REGION);
    assert_string_equal(c.prefecture, "01");
    assert_string_equal(c.key_file, "/var/lib/renkei/node.key");
    assert_int_equal(c.map_size, (size_t)1 << 30);
    assert_int_equal(c.max_clock_skew_ms, 600000);
    assert_int_equal(c.max_record_bytes, 256 * 1024);
    assert_int_equal(c.max_body, 1 << 20);
    assert_int_equal(c.max_connections, 256);
    assert_int_equal(c.export_spool, (size_t)256 << 20);
    assert_int_equal(c.sync_interval_s, 30);
    assert_string_equal(c.log_level, "info");
    assert_null(c.tcp);
    assert_int_equal(c.listen_count, 0);
    assert_int_equal(c.peer_count, 0);
    rk_config_free(&c);
}

static void test_full(void **state)
{
    (void)state;
    const char *text =
        "[node]\nname = 桑名市\nkind = national\ndata_dir = /d\nkey_file = /k/node.key\nmap_size = 64M\n"
        "clock_skew = 30\nmax_record = 64K\nlog_level = debug\n"
        "[api]\nsocket = /s.sock\ntcp = 127.0.0.1:7480\ngroup = renkei\nmax_body = 2M\nmax_connections = 40\n"
        "export_spool = 2G\n"
        "[gossip]\nlisten = tcp://0.0.0.0:7470, tls+tcp://0.0.0.0:7471\nsync_interval = 5\n"
        "tls_cert = /c.pem\ntls_key = /k.pem\ntls_ca = /ca.pem\n"
        "[peer \"kuwana\"]\nkey = " KEY_A "\nurl = tcp://192.0.2.7:7470\n"
        "[member \"okinawa\"]\nkey = " KEY_B "\n";
    rk_config c;
    rk_error err;
    int rc = parse(text, NULL, 0, &c, &err);
    if (rc != 0)
        fail_msg("%s", err.message);
    assert_int_equal(c.kind, RENKEI__NODE_KIND__NODE_KIND_NATIONAL);
    assert_string_equal(c.prefecture, "");
    assert_string_equal(c.key_file, "/k/node.key");
    assert_int_equal(c.map_size, 64u << 20);
    assert_int_equal(c.max_clock_skew_ms, 30000);
    assert_int_equal(c.max_record_bytes, 64 * 1024);
    assert_string_equal(c.log_level, "debug");
    assert_string_equal(c.tcp, "127.0.0.1:7480");
    assert_string_equal(c.group, "renkei");
    assert_int_equal(c.max_body, 2u << 20);
    assert_int_equal(c.max_connections, 40);
    assert_int_equal(c.export_spool, (size_t)2 << 30);
    assert_int_equal(c.listen_count, 2);
    assert_string_equal(c.listen[0], "tcp://0.0.0.0:7470");
    assert_string_equal(c.listen[1], "tls+tcp://0.0.0.0:7471");
    assert_int_equal(c.sync_interval_s, 5);
    assert_string_equal(c.tls_ca, "/ca.pem");
    assert_int_equal(c.peer_count, 2);
    assert_string_equal(c.peers[0].name, "kuwana");
    assert_string_equal(c.peers[0].url, "tcp://192.0.2.7:7470");
    assert_true(c.peers[0].has_key);
    assert_int_equal(c.peers[0].key[0], 0xaa);
    assert_string_equal(c.peers[1].name, "okinawa");
    assert_null(c.peers[1].url);
    assert_int_equal(c.peers[1].key[31], 0xbb);
    rk_config_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
    static const refusal cases[] = {
        /* base has 8 lines, so the first extra line is line 9 */
        {"[nodes]\nname = x\n", {"t.ini:10", "[nodes] name", "unknown section"}},
        {"[api]\nsockit = /x\n", {"t.ini:10", "sockit", "unknown key"}},
        {"[api]\nsocket = /x\n", {"t.ini:10", "[api] socket", "duplicate key"}},
        {"[gossip]\nlisten = http://x\n", {"t.ini:10", "listen", "http://x"}},
        {"[gossip]\nsync_interval = 0\n", {"t.ini:10", "sync_interval"}},
        {"[gossip]\nsync_interval = 5s\n", {"t.ini:10", "sync_interval"}},
        {"[gossip]\nlisten = tls+tcp://0.0.0.0:1\n", {"[gossip] tls_cert", "required"}},
        {"[api]\ntcp = 0.0.0.0:7480\n", {"t.ini:10", "tcp", "loopback"}},
        {"[api]\ntcp = 192.168.1.1:80\n", {"t.ini:10", "tcp", "loopback"}},
        {"[api]\ntcp = 127.0.0.1:0\n", {"t.ini:10", "tcp"}},
        {"[api]\nmax_body = 12\n", {"t.ini:10", "max_body"}},
        {"[api]\npublic_url = renkei.example.jp\n", {"t.ini:10", "public_url"}},
        {"[api]\npublic_url = ftp://renkei.example.jp/\n", {"t.ini:10", "public_url"}},
        {"[api]\npublic_url = https://renkei.example.jp/?a=b\n", {"t.ini:10", "public_url"}},
        {"[api]\nmax_body = 1T\n", {"t.ini:10", "max_body"}},
        {"[api]\nmax_connections = 0\n", {"t.ini:10", "max_connections"}},
        {"[api]\nmax_connections = many\n", {"t.ini:10", "max_connections"}},
        /* smaller than the largest export, which could then never be sent */
        {"[api]\nexport_spool = 63M\n", {"t.ini:10", "export_spool", "64M"}},
        {"[peer \"kuwana\"]\nkey = abc\n", {"t.ini:10", "[peer \"kuwana\"] key", "64 hex"}},
        {"[peer \"kuwana\"]\nkey = " KEY_A "\n", {"t.ini:10", "[peer \"kuwana\"] url", "missing"}},
        {"[peer \"kuwana\"]\nurl = tcp://1.2.3.4:5\n", {"[peer \"kuwana\"] key", "missing"}},
        {"[peer \"kuwana\"]\nkey = " KEY_A "\nurl = tcp://1.2.3.4:5\nport = 7\n", {"t.ini:12", "port", "unknown key"}},
        {"[member \"oki\"]\nkey = " KEY_A "\nurl = tcp://1.2.3.4:5\n", {"t.ini:11", "url", "unknown key"}},
        {"[peer]\nkey = " KEY_A "\n", {"t.ini:10", "quoted name"}},
        {"[peer \"a\"]\nkey = " KEY_A "\nurl = tcp://h:1\n[member \"b\"]\nkey = " KEY_A "\n",
         {"member \"b\"", "same key"}},
        {"[member \"a\"]\nkey = " KEY_A "\n[peer \"a\"]\nkey = " KEY_B "\n", {"t.ini:12", "already"}},
        {"this is not ini\n", {"t.ini:9", "syntax"}},
        {"[node]\nname = again\n", {"t.ini:10", "[node] name", "duplicate"}},
        {"[gossip]\nlisten = tcp://a:1\n  tcp://b:2\n", {"t.ini:11", "listen", "continuation"}},
    };
    EXPECT_REFUSALS(cases, AFTER_BASE);
}

/* Every whole-number key at both ends of its range lands in its field (seconds as milliseconds for
 * clock_skew), and one past an end is refused with the range in the message; likewise the sizes,
 * and the optional strings, which an empty value unsets. */
static void test_ranged_keys(void **state)
{
    (void)state;
    rk_config c;
    parse_base_ok("[node]\nclock_skew = 604800\n[api]\nmax_connections = 100000\n"
                  "[gossip]\nsync_interval = 86400\npeers = 0\n[network]\nthreshold = 1\n"
                  "[quota]\nrecords_per_author = 1000000000\nversions_per_window = 0\nwindow = 1\n"
                  "pending_per_author = 100000000\npending_total = 0\npending_keep = 31536000\n",
                  NULL, 0, &c);
    assert_true(c.max_clock_skew_ms == 604800000ULL);
    assert_int_equal(c.max_connections, 100000);
    assert_int_equal(c.sync_interval_s, 86400);
    assert_int_equal(c.roster_peers, 0);
    assert_int_equal(c.threshold, 1);
    assert_true(c.quota_records == 1000000000ULL);
    assert_true(c.quota_versions == 0);
    assert_int_equal(c.quota_window_s, 1);
    assert_true(c.pending_per_author == 100000000ULL);
    assert_true(c.pending_total == 0);
    assert_int_equal(c.pending_keep_s, 31536000);
    rk_config_free(&c);
    parse_base_ok("[node]\nmap_size = 1024G\nmax_record = 1K\n[api]\nrecord_cache = 0\nmax_body = 1G\n"
                  "tcp = 127.0.0.1:7480\npublic_url = https://renkei.example.jp//\ngroup =\n",
                  NULL, 0, &c);
    assert_true(c.map_size == (size_t)1 << 40);
    assert_int_equal(c.max_record_bytes, 1024);
    assert_int_equal(c.record_cache, 0);
    assert_int_equal(c.max_body, 1u << 30);
    assert_string_equal(c.tcp, "127.0.0.1:7480");
    assert_string_equal(c.public_url, "https://renkei.example.jp");
    assert_null(c.group);
    rk_config_free(&c);
    static const refusal past[] = {
        {"[node]\nclock_skew = 604801\n",
         {"[node] clock_skew", "\"604801\" is not a number of seconds between 0 and 604800"}},
        {"[quota]\nrecords_per_author = 1000000001\n",
         {"[quota] records_per_author", "is not a number between 0 (no limit) and 1000000000"}},
        {"[quota]\npending_total = -1\n", {"pending_total", "between 0 (keep none) and 100000000"}},
        {"[quota]\npending_keep = 59\n", {"pending_keep", "a number of seconds between 60 and 31536000"}},
        {"[gossip]\npeers = 1000000\n", {"peers", "is not a number of peers between 0 and 64"}},
        {"[network]\nthreshold = 0\n", {"threshold", "is not a number of members between 1 and 1000"}},
        {"[quota]\nwindows = 5\n", {"[quota] windows", "unknown key"}},
        {"[api]\nclock_skew = 5\n", {"[api] clock_skew", "unknown key"}},
        {"[node]\nmap_size = 1023K\n",
         {"[node] map_size", "\"1023K\" is not a size between 1M and 1024G (suffixes K, M, G)"}},
        {"[node]\nmax_record = 65M\n", {"[node] max_record", "is not a size between 1K and 64M"}},
        {"[api]\nrecord_cache = 2G\n", {"[api] record_cache", "is not a size between 0 and 1G"}},
        {"[api]\ntcp = 0.0.0.0:7480\n",
         {"[api] tcp", "\"0.0.0.0:7480\" is not a loopback HOST:PORT (127.0.0.1:7480 or [::1]:7480)"}},
        {"[api]\npublic_url = ftp://x/\n",
         {"[api] public_url", "is not an http:// or https:// URL with a host and no query"}},
    };
    EXPECT_REFUSALS(past, AFTER_BASE);
}

/* URLs are checked by the parse the dialer runs (nng_url_parse), plus the port range NNG leaves to
 * dial time: each of these used to pass and leave the peer "connecting" forever. */
static void test_url_errors(void **state)
{
    (void)state;
    /* a peer section after base whose url, on line 11, is url */
#define PEER_URL(url) "[peer \"kuwana\"]\nkey = " KEY_A "\nurl = " url "\n"
#define PEER_URL_KEY "[peer \"kuwana\"] url"
    static const refusal cases[] = {
        {PEER_URL("tcp://127.0.0.1:x5"), {"t.ini:11", PEER_URL_KEY, "port"}},
        {PEER_URL("tcp://127.0.0.1:99999"), {"t.ini:11", PEER_URL_KEY, "port"}},
        {PEER_URL("tcp://127.0.0.1:0"), {"t.ini:11", PEER_URL_KEY, "port"}},
        {PEER_URL("tcp://127.0.0.1"), {"t.ini:11", PEER_URL_KEY, "no port"}},
        {PEER_URL("tcp://127.0.0.1:-1"), {"t.ini:11", PEER_URL_KEY, "port"}},
        {PEER_URL("tcp://:7470"), {"t.ini:11", PEER_URL_KEY, "no host"}},
        {PEER_URL("http://h:80"), {"t.ini:11", PEER_URL_KEY, "scheme"}},
        {PEER_URL("tcp://h:1/path"), {"t.ini:11", PEER_URL_KEY, "path"}},
        {PEER_URL("tls+tcp://h:65536"), {"t.ini:11", PEER_URL_KEY, "port"}},
        {PEER_URL("ipc://"), {"t.ini:11", PEER_URL_KEY, "socket path"}},
        {PEER_URL("tcp://a@"), {"t.ini:11", PEER_URL_KEY, "'@'"}},
        {PEER_URL("tcp://127.0.0.1:7470@"), {"t.ini:11", PEER_URL_KEY, "'@'"}},
        {PEER_URL("tcp://h\xca\xd1:1"), {"t.ini:11", PEER_URL_KEY, "ASCII"}},
        {"[gossip]\nlisten = tcp://0.0.0.0:7470, tcp://0.0.0.0:70000\n",
         {"t.ini:10", "[gossip] listen", "tcp://0.0.0.0:70000"}},
        {"[gossip]\nlisten = tcp://0.0.0.0\n", {"t.ini:10", "[gossip] listen", "no port"}},
    };
#undef PEER_URL
#undef PEER_URL_KEY
    EXPECT_REFUSALS(cases, AFTER_BASE);
    /* the edges that must pass: port 1 and 65535, an IPv6 literal, a listener on all addresses */
    const char *good = "[gossip]\nlisten = tcp://:1, tcp://[::1]:65535, ipc:///tmp/rk.ipc\n"
                       "[peer \"kuwana\"]\nkey = " KEY_A "\nurl = tcp6://[::1]:65535\n";
    rk_config c;
    parse_base_ok(good, NULL, 0, &c);
    assert_int_equal(c.listen_count, 3);
    rk_config_free(&c);
}

static void test_node_value_errors(void **state)
{
    (void)state;
    /* a whole file whose [node] has one more key, on line 3 */
#define NODE_KEY(line) "[node]\nname = x\n" line "\ndata_dir = /d\n[api]\nsocket = /s\n"
    static const refusal cases[] = {
        {NODE_KEY("kind = regoin"), {"t.ini:3", "[node] kind"}},
        {NODE_KEY("prefecture = 48"), {"t.ini:3", "prefecture"}},
        {NODE_KEY("prefecture = 1"), {"t.ini:3", "prefecture"}},
        {NODE_KEY("map_size = 10Q"), {"t.ini:3", "map_size"}},
        {NODE_KEY("map_size = 99999999999999999999G"), {"t.ini:3", "map_size"}},
        {NODE_KEY("clock_skew = -1"), {"t.ini:3", "clock_skew"}},
        {NODE_KEY("max_record = 1"), {"t.ini:3", "max_record"}},
        {NODE_KEY("log_level = loud"), {"t.ini:3", "log_level"}},
        {"[node]\nname = \xff\xfe\ndata_dir = /d\n[api]\nsocket = /s\n", {"t.ini:2", "[node] name"}},
        {"[node]\ndata_dir = /d\n[api]\nsocket = /s\n", {"[node] name", "missing"}},
        {"[node]\nname = x\n[api]\nsocket = /s\n", {"[node] data_dir", "missing"}},
        {"[node]\nname = x\ndata_dir = /d\n", {"[api] socket", "missing"}},
        {"name = x\n", {"t.ini:1", "outside"}},
    };
#undef NODE_KEY
    EXPECT_REFUSALS(cases, WHOLE_FILE);
}

static void test_overrides(void **state)
{
    (void)state;
    char *ov[] = {
        "node.name=override",
        "api.max_body=4096",
        "gossip.listen=tcp://127.0.0.1:9000",
        "peer \"kuwana\".key=" KEY_A,
        "peer \"kuwana\".url=tcp://127.0.0.1:9001",
        "member \"x.y\".key=" KEY_B,
        "api.socket=/tmp/a=b.sock",
        "api.public_url=https://renkei.example.jp/kitami/",
        "node.name=twice",
    };
    rk_config c;
    parse_base_ok("", ov, sizeof ov / sizeof ov[0], &c);
    assert_string_equal(c.name, "twice"); /* the last override wins */
    assert_int_equal(c.max_body, 4096);
    assert_int_equal(c.listen_count, 1);
    assert_string_equal(c.listen[0], "tcp://127.0.0.1:9000");
    assert_int_equal(c.peer_count, 2);
    assert_string_equal(c.peers[0].name, "kuwana");
    assert_string_equal(c.peers[0].url, "tcp://127.0.0.1:9001");
    assert_string_equal(c.peers[1].name, "x.y");
    assert_null(c.peers[1].url);
    assert_string_equal(c.socket, "/tmp/a=b.sock");
    /* the trailing slash goes, because exports append "/v1/export/..." */
    assert_string_equal(c.public_url, "https://renkei.example.jp/kitami");
    rk_config_free(&c);

    /* clearing another [api] key leaves public_url alone (it was once freed there by mistake) */
    char *clear[] = {"api.public_url=https://renkei.example.jp/", "api.group=staff", "api.group="};
    parse_base_ok("", clear, 3, &c);
    assert_null(c.group);
    assert_string_equal(c.public_url, "https://renkei.example.jp");
    rk_config_free(&c);

    /* overrides alone are a whole configuration */
    char *only[] = {"node.name=n", "node.data_dir=/d", "api.socket=/s"};
    rk_error err;
    assert_int_equal(rk_config_load(NULL, only, 3, &c, &err), 0);
    assert_string_equal(c.key_file, "/d/node.key");
    rk_config_free(&c);
}

static void test_override_errors(void **state)
{
    (void)state;
    static const refusal cases[] = {
        {"node.kind=galaxy", {"-o node.kind=galaxy", "[node] kind"}},
        {"nodename=x", {"-o nodename=x", "section.key=value"}},
        {"node.name", {"-o node.name", "section.key=value"}},
        {".name=x", {"-o .name=x", "section.key=value"}},
        {"node.=x", {"-o node.=x", "section.key=value"}},
        {"api.colour=blue", {"-o api.colour=blue", "unknown key"}},
        {"peer \"k\".url=tcp://h:1", {"[peer \"k\"] key", "missing"}},
        {"peer \"k\".key=zz", {"[peer \"k\"] key", "64 hex"}},
    };
    EXPECT_REFUSALS(cases, OVERRIDE);
}

/* Writes text to a new temporary file; path must be a mkstemp template. */
static void write_temp(char *path, const char *text)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* --check lists every error, each with its line, and a rule about the whole file does not repeat a
 * key that already failed. */
static void test_report_lists_every_error(void **state)
{
    (void)state;
    char path[] = "/tmp/rk-config-XXXXXX";
    write_temp(path, "[node]\nname = x\nkind = regoin\ndata_dir = /d\n"     /* 1-4 */
                     "[api]\nsocket = /s\nmax_body = 1T\n"                  /* 5-7 */
                     "[peer \"a\"]\nkey = " KEY_A "\nurl = tcp://h:99999\n" /* 8-10 */
                     "[peer \"b\"]\nkey = nothex\nurl = tcp://h:1\n");      /* 11-13 */
    char *ov[] = {"node.prefecture=99"};
    rk_config c;
    rk_error err;
    rk_buf all;
    rk_buf_init(&all);
    assert_int_equal(rk_config_load_report(path, ov, 1, &c, &all, &err), -1);
    const char *want[] = {":3: [node] kind:", ":7: [api] max_body:", ":10: [peer \"a\"] url:", ":12: [peer \"b\"] key:",
                          "-o node.prefecture=99: [node] prefecture:"};
    size_t lines = 0;
    for (const char *p = all.data; *p; p++)
        lines += *p == '\n';
    if (lines != 5)
        fail_msg("%zu lines:\n%s", lines, all.data);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(all.data, want[i]))
            fail_msg("no \"%s\" in:\n%s", want[i], all.data);
    /* the first error is the one in err, as rk_config_load reports it */
    assert_non_null(strstr(err.message, ":3: [node] kind:"));
    assert_int_equal(c.peer_count, 0);
    rk_buf_free(&all);
    unlink(path);
}

/* A required key that is absent names the line of its section (where it would go). */
static void test_missing_keys_name_a_line(void **state)
{
    (void)state;
    rk_config c;
    rk_error err;
    assert_int_equal(parse("\n[api]\nsocket = /s\n[node]\nname = n\n", NULL, 0, &c, &err), -1);
    if (!strstr(err.message, "t.ini:5: [node] data_dir: required key is missing"))
        fail_msg("%s", err.message);
    assert_int_equal(parse("[node]\nname = n\ndata_dir = /d\n", NULL, 0, &c, &err), -1);
    if (!strstr(err.message, "t.ini: [api] socket") || !strstr(err.message, "no [api] section"))
        fail_msg("%s", err.message);
    assert_int_equal(parse("[node]\nname = n\ndata_dir = /d\n[api]\nsocket = /s\n[gossip]\nsync_interval = 5\n"
                           "listen = tls+tcp://:7471\n",
                           NULL, 0, &c, &err),
                     -1);
    if (!strstr(err.message, "t.ini:7: [gossip] tls_cert") || !strstr(err.message, "URL at t.ini:8"))
        fail_msg("%s", err.message);
}

/* rk_config_where: the line a key was set on, the override that set it, or its section's line. */
static void test_where(void **state)
{
    (void)state;
    char *ov[] = {"node.map_size=2G"};
    rk_config c;
    parse_base_ok("[gossip]\nsync_interval = 9\n", ov, 1, &c);
    char w[300];
    rk_config_where(&c, "node", "kind", w, sizeof w);
    assert_string_equal(w, "t.ini:3");
    rk_config_where(&c, "node", "map_size", w, sizeof w);
    assert_string_equal(w, "-o node.map_size=2G");
    rk_config_where(&c, "node", "key_file", w, sizeof w); /* a default: the section's first key */
    assert_string_equal(w, "t.ini:2");
    rk_config_where(&c, "gossip", "listen", w, sizeof w);
    assert_string_equal(w, "t.ini:10");
    rk_config_where(&c, "peer \"x\"", "url", w, sizeof w);
    assert_string_equal(w, "t.ini");
    rk_config_free(&c);
}

/* The checks against the system: data_dir and key_file as the daemon will use them, host names. */
static void test_check_system(void **state)
{
    (void)state;
    char dir[] = "/tmp/rk-config-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[300], keydir[300], ini[4096];
    snprintf(file, sizeof file, "%s/file", dir);
    snprintf(keydir, sizeof keydir, "%s/keys", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(mkdir(keydir, 0700), 0);
    snprintf(ini, sizeof ini,
             "[node]\nname = n\ndata_dir = %s/data\nkey_file = %s\n[api]\nsocket = /s\n"
             "[peer \"far\"]\nkey = " KEY_A "\nurl = tcp://no-such-host.invalid:7470\n"
             "[peer \"near\"]\nkey = " KEY_B "\nurl = tcp://127.0.0.1:7470\n",
             file, keydir);
    rk_config c;
    rk_error err;
    if (parse(ini, NULL, 0, &c, &err) != 0)
        fail_msg("%s", err.message);
    rk_buf out;
    rk_buf_init(&out);
    rk_config_check_counts n;
    assert_int_equal(rk_config_check_system(&c, &out, &n), -1);
    assert_int_equal(n.errors, 2);
    assert_int_equal(n.warnings, 1);
    if (!strstr(out.data, "t.ini:3: [node] data_dir:") || !strstr(out.data, "is not a directory") ||
        !strstr(out.data, "t.ini:4: [node] key_file:") || !strstr(out.data, "a directory, not a key file") ||
        !strstr(out.data, "t.ini:9: [peer \"far\"] url: warning:") || strstr(out.data, "near"))
        fail_msg("%s", out.data);
    rk_config_free(&c);
    rk_buf_free(&out);

    /* a usable configuration: nothing to report, and nothing created */
    snprintf(ini, sizeof ini, "[node]\nname = n\ndata_dir = %s/data\n[api]\nsocket = /s\n", dir);
    assert_int_equal(parse(ini, NULL, 0, &c, &err), 0);
    rk_buf_init(&out);
    assert_int_equal(rk_config_check_system(&c, &out, &n), 0);
    assert_int_equal(n.errors + n.warnings, 0);
    assert_int_equal(out.len, 0);
    char data[300];
    snprintf(data, sizeof data, "%s/data", dir);
    assert_int_equal(access(data, F_OK), -1);
    rk_config_free(&c);
    rk_buf_free(&out);
    unlink(file);
    rmdir(keydir);
    rmdir(dir);
}

static void test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/rk-config-XXXXXX";
    write_temp(path, "[node]\nname = f\ndata_dir = /d\n[api]\nsocket = /s\nbogus = 1\n");
    rk_config c;
    rk_error err;
    assert_int_equal(rk_config_load(path, NULL, 0, &c, &err), -1);
    char want[64];
    snprintf(want, sizeof want, "%s:6", path);
    if (!strstr(err.message, want) || !strstr(err.message, "[api] bogus"))
        fail_msg("%s", err.message);
    assert_string_equal(err.field, "api.bogus");
    char *fix[] = {"api.socket=/t"};
    /* an override cannot repair an unknown key in the file */
    assert_int_equal(rk_config_load(path, fix, 1, &c, &err), -1);
    unlink(path);
    assert_int_equal(rk_config_load(path, NULL, 0, &c, &err), -1);
    assert_non_null(strstr(err.message, "cannot open"));

    /* a line longer than inih's buffer is an error, not a silently split line */
    char big[1024];
    snprintf(big, sizeof big, "[node]\nname = %0300d\ndata_dir = /d\n[api]\nsocket = /s\n", 7);
    assert_int_equal(parse(big, NULL, 0, &c, &err), -1);
    assert_non_null(strstr(err.message, "t.ini:2"));
}

int main(void)
{
    return RK_RUN_TESTS(NULL, NULL, cmocka_unit_test(test_minimal_and_defaults), cmocka_unit_test(test_full),
                        cmocka_unit_test(test_errors), cmocka_unit_test(test_ranged_keys),
                        cmocka_unit_test(test_node_value_errors), cmocka_unit_test(test_url_errors),
                        cmocka_unit_test(test_overrides), cmocka_unit_test(test_override_errors),
                        cmocka_unit_test(test_file), cmocka_unit_test(test_report_lists_every_error),
                        cmocka_unit_test(test_missing_keys_name_a_line), cmocka_unit_test(test_where),
                        cmocka_unit_test(test_check_system));
}
