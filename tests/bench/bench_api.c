/* bench_api: publish and query throughput and latency of a running renkeid over its Unix socket.
 *
 * Each worker thread holds one keep-alive connection and keeps one request in flight, so the
 * server sees `connections` concurrent requests, which is how many coordinators, tools and a
 * national-office poller load it. Responses are parsed with http_parser; any non-2xx response is
 * counted as an error and reported. Figures go to stdout; docs/benchmarks.md records them.
 *
 * usage: bench_api SOCKET [records=100000] [connections=64] [query_seconds=10] [publish=1]
 * With publish=0 only the queries run, over records an earlier run published (profile_api_queries.sh
 * runs them apart so that a profiler counts the queries alone); with query_seconds=0 only the
 * publishes (run_api_bench.sh reads the daemon's CPU between the two). The publish phase also prints
 * this client's own CPU time: it shares the machine's cores with the daemon.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "bench_case.h"

typedef struct {
    const char *socket_path;
    int fd;
    http_parser parser;
    http_parser_settings settings;
    int done;
    unsigned status;
    size_t body_len;
    char rid_buf[80];
} conn;

static int on_body(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;
    c->body_len += len;
    (void)at;
    return 0;
}

static int on_complete(http_parser *p)
{
    conn *c = p->data;
    c->done = 1;
    c->status = p->status_code;
    return 0;
}

static int conn_open(conn *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->socket_path = path;
    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(c->fd);
        return -1;
    }
    http_parser_settings_init(&c->settings);
    c->settings.on_body = on_body;
    c->settings.on_message_complete = on_complete;
    return 0;
}

/* Sends one request and reads its whole response; returns the status or -1. */
static int conn_roundtrip(conn *c, const char *req, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(c->fd, req + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    c->done = 0;
    c->body_len = 0;
    char buf[65536];
    while (!c->done) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        size_t parsed = http_parser_execute(&c->parser, &c->settings, buf, (size_t)n);
        if (parsed != (size_t)n || c->parser.http_errno != HPE_OK)
            return -1;
    }
    return (int)c->status;
}

/* User + system CPU seconds of this whole process, every thread included. */
static double cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    const char *socket_path;
    int id;
    long first, count;  /* publish: record numbers [first, first+count) */
    double query_until; /* query phase end time */
    double *latencies;  /* this phase's samples (successful requests) */
    size_t nlat, caplat;
    long errors;
    long errors_by_status[600]; /* [0]: no response (connection failed or closed) */
    long requests;
} worker;

static void count_error(worker *w, int status)
{
    w->errors++;
    w->errors_by_status[status > 0 && status < 600 ? status : 0]++;
}

/* Prints " (404: n, 507: n, ...)" for the statuses that occurred, so a failing run says why. */
static void print_error_statuses(const worker *ws, int n)
{
    const char *sep = " (";
    for (int st = 0; st < 600; st++) {
        long c = 0;
        for (int i = 0; i < n; i++)
            c += ws[i].errors_by_status[st];
        if (c) {
            if (st)
                printf("%s%d: %ld", sep, st, c);
            else
                printf("%sno response: %ld", sep, c);
            sep = ", ";
        }
    }
    if (sep[0] == ',')
        printf(")");
}

/* A case of about 1 KiB (bench_case.h), varied over prefecture and industry so filtered queries have
 * work to do. */
static int make_publish(char *out, size_t cap, long n)
{
    char body[1400];
    int blen = bench_case_json(body, sizeof body, n);
    return snprintf(out, cap,
                    "POST /v1/records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\n\r\n%s",
                    blen, body);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Keeps one latency sample of w's phase; -1 when out of memory. */
static int add_latency(worker *w, double dt)
{
    if (w->nlat == w->caplat) {
        size_t cap = w->caplat ? w->caplat * 2 : 4096;
        double *p = realloc(w->latencies, cap * sizeof *p);
        if (!p)
            return -1;
        w->latencies = p;
        w->caplat = cap;
    }
    w->latencies[w->nlat++] = dt;
    return 0;
}

/* Prints "WHAT latency: p50 ..., p99 ..., max ..." over the samples of every worker, which it frees;
 * returns how many there were, or -1 when out of memory. */
static long print_latencies(const char *what, worker *ws, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += ws[i].nlat;
    double *all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return -1;
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (ws[i].nlat)
            memcpy(all + k, ws[i].latencies, ws[i].nlat * sizeof *all);
        k += ws[i].nlat;
        free(ws[i].latencies);
        ws[i].latencies = NULL;
        ws[i].nlat = ws[i].caplat = 0;
    }
    qsort(all, total, sizeof *all, cmp_double);
    if (total)
        printf("%s latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", what, all[total / 2] * 1e3,
               all[(size_t)((double)total * 0.99)] * 1e3, all[total - 1] * 1e3);
    free(all);
    return (long)total;
}

static void *publish_worker(void *arg)
{
    worker *w = arg;
    conn c;
    if (conn_open(&c, w->socket_path) != 0) {
        w->errors = w->errors_by_status[0] = w->count;
        return NULL;
    }
    char req[2048];
    for (long i = 0; i < w->count; i++) {
        int len = make_publish(req, sizeof req, w->first + i);
        double t0 = now_s();
        int st = conn_roundtrip(&c, req, (size_t)len);
        w->requests++;
        if (st == 201 && add_latency(w, now_s() - t0) != 0) {
            fprintf(stderr, "bench_api: out of memory for the latencies\n");
            w->errors += w->count - i - 1; /* the records left unpublished */
            w->errors_by_status[0] += w->count - i - 1;
            break;
        }
        if (st != 201) {
            count_error(w, st);
            if (st < 0) {
                close(c.fd);
                if (conn_open(&c, w->socket_path) != 0)
                    return NULL;
            }
        }
    }
    close(c.fd);
    return NULL;
}

static void *query_worker(void *arg)
{
    worker *w = arg;
    conn c;
    if (conn_open(&c, w->socket_path) != 0) {
        count_error(w, 0);
        return NULL;
    }
    char req[512];
    unsigned seed = (unsigned)w->id * 7919u + 1;
    while (now_s() < w->query_until) {
        long n = rand_r(&seed) % (w->count > 0 ? w->count : 1);
        int len;
        /* alternate the two simple requests of DESIGN.md: a record by id and a filtered list */
        if (w->requests % 2 == 0)
            len = snprintf(req, sizeof req, "GET /v1/records/bench-%ld HTTP/1.1\r\nHost: localhost\r\n\r\n", n);
        else
            len = snprintf(req, sizeof req,
                           "GET /v1/records?prefecture=%s&industry=%s&limit=10 HTTP/1.1\r\nHost: localhost\r\n\r\n",
                           BENCH_CASE_PREFECTURES[n % BENCH_CASE_NPREF], BENCH_CASE_INDUSTRIES[n % BENCH_CASE_NIND]);
        double t0 = now_s();
        int st = conn_roundtrip(&c, req, (size_t)len);
        double dt = now_s() - t0;
        w->requests++;
        if (st != 200) {
            count_error(w, st);
            if (st < 0)
                break;
            continue;
        }
        if (add_latency(w, dt) != 0)
            break;
    }
    close(c.fd);
    return NULL;
}

/* Publishes records over conns connections and prints the rate; returns the errors, -1 if a thread
 * could not start. */
static long publish_phase(worker *ws, pthread_t *th, const char *sock, long records, int conns)
{
    double t0 = now_s(), cpu0 = cpu_s();
    long per = records / conns, extra = records % conns, next = 0;
    for (int i = 0; i < conns; i++) {
        ws[i] = (worker){.socket_path = sock, .id = i, .first = next, .count = per + (i < extra)};
        next += ws[i].count;
        if (pthread_create(&th[i], NULL, publish_worker, &ws[i]) != 0)
            return -1;
    }
    long errors = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        errors += ws[i].errors;
    }
    double pub_s = now_s() - t0;
    printf("publish: %ld records over %d connections in %.2f s = %.0f records/s (errors: %ld", records, conns, pub_s,
           (double)records / pub_s, errors);
    print_error_statuses(ws, conns);
    printf(")\n");
    double cpu = cpu_s() - cpu0;
    printf("publish: client CPU %.2f s (%.0f us per record)\n", cpu, cpu * 1e6 / (double)records);
    if (print_latencies("publish", ws, conns) < 0)
        return -1;
    return errors;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SOCKET [records=100000] [connections=64] [query_seconds=10] [publish=1]\n", argv[0]);
        return 2;
    }
    const char *sock = argv[1];
    long records = argc > 2 ? atol(argv[2]) : 100000;
    int conns = argc > 3 ? atoi(argv[3]) : 64;
    double qsecs = argc > 4 ? atof(argv[4]) : 10;
    bool publish = argc > 5 ? atoi(argv[5]) != 0 : true;
    if (records <= 0 || conns <= 0 || conns > 1024 || qsecs < 0 || (!publish && qsecs == 0)) {
        fprintf(stderr, "bench_api: bad arguments\n");
        return 2;
    }
    worker *ws = calloc((size_t)conns, sizeof *ws);
    pthread_t *th = calloc((size_t)conns, sizeof *th);
    if (!ws || !th)
        return 1;

    /* phase 1: publish */
    long errors = publish ? publish_phase(ws, th, sock, records, conns) : 0;
    if (errors < 0)
        return 1;
    if (qsecs == 0) {
        free(ws);
        free(th);
        return errors ? 1 : 0;
    }

    /* phase 2: simple queries */
    double until = now_s() + qsecs;
    for (int i = 0; i < conns; i++) {
        ws[i] = (worker){.socket_path = sock, .id = i, .count = records, .query_until = until};
        if (pthread_create(&th[i], NULL, query_worker, &ws[i]) != 0)
            return 1;
    }
    size_t total = 0;
    long qerr = 0, reqs = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        total += ws[i].nlat;
        qerr += ws[i].errors;
        reqs += ws[i].requests;
    }
    if (total) {
        printf("query: %ld requests in %.1f s = %.0f requests/s over %d connections (errors: %ld", reqs, qsecs,
               (double)total / qsecs, conns, qerr);
        print_error_statuses(ws, conns);
        printf(")\n");
    } else {
        printf("query: no successful requests (errors: %ld)\n", qerr);
    }
    if (print_latencies("query", ws, conns) < 0)
        return 1;
    free(ws);
    free(th);
    return errors || qerr ? 1 : 0;
}
