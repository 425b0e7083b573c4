/* bench_sync: range-based set reconciliation between two real stores, in process.
 *
 *   bench_sync [N [DIR]]      N records in common (default 1,000,000), stores under DIR (default a
 *                             fresh directory in /tmp, removed at the end); a DIR that holds the
 *                             common store of an earlier run with the same N is reused, so runs of
 *                             two builds can be interleaved without building it each time
 *   bench_sync --memory [N]   the same scenarios over in-memory sets of random items (prefix sums for
 *                             the fingerprints): the cost of the protocol alone, without LMDB
 *
 * Builds one store of N sealed ~1 KiB case records (random versions within a year, so differences are
 * spread over the whole set, the hard case for RBSR), copies its files to make two identical stores,
 * then measures two scenarios of DESIGN.md with every message packed and unpacked between the sides:
 *   (a) 500 records only in A and 500 only in B (1,000 differences);
 *   (b) 10,000 only in A and 5,000 only in B (the 1% case).
 * The initiator reads its store through one read transaction for the whole reconciliation and the
 * responder through one per message, as the daemon's dialer and listener do.
 * For each: wall time of the reconciliation, round trips, bytes both ways, bytes relative to the
 * size of the differing records (their SignedRecord envelopes), and how many fingerprints, nth items
 * and items in order each side asked its set for (its work, which unlike time does not depend on what
 * else the machine runs: this machine's virtual CPUs count no instructions). The result is checked: the
 * initiator's need and have must be exactly the records added to the other side and to its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "reconcile_run.h"
#include "record.h"
#include "sign.h"
#include "store.h"
#include "sync.h"
#include "testrand.h"

typedef struct gen {
    rk_key *key;
    uint8_t author[RK_KEY_LEN];
    uint64_t rng;
    char filler[900];
} gen;

static double secs_since(uint64_t t0)
{
    return (double)(rk_monotonic_ns() - t0) / 1e9;
}

static uint64_t random_version(gen *g)
{
    return UINT64_C(1735689600000) + rk_test_rand(&g->rng) % UINT64_C(31536000000);
}

/* Seals case record number i with this version and puts it. */
static int put_record(gen *g, rk_txn *t, uint64_t i, uint64_t version, rk_error *err)
{
    Renkei__Record r;
    Renkei__Case c;
    renkei__record__init(&r);
    renkei__case__init(&c);
    char rid[32], title[64];
    snprintf(rid, sizeof rid, "bench-%09" PRIu64, i);
    snprintf(title, sizeof title, "リスキリング事例 %" PRIu64, i);
    r.author.data = g->author;
    r.author.len = RK_KEY_LEN;
    r.rid = rid;
    r.version = version;
    r.created_at = r.version;
    r.visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    r.language = "ja";
    r.kind = RENKEI__KIND__KIND_CASE;
    r.body_case = RENKEI__RECORD__BODY_CASE;
    r.case_ = &c;
    c.title = title;
    c.summary = g->filler;
    c.prefecture = "34";
    c.industry = RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING;
    c.dx_level = RENKEI__DX_LEVEL__DX_LEVEL_EFFICIENCY;
    Renkei__Skill skills[1] = {RENKEI__SKILL__SKILL_AI};
    c.skills = skills;
    c.n_skills = 1;
    char *tags[1] = {"bench"};
    c.tags = tags;
    c.n_tags = 1;
    rk_record rec;
    if (rk_record_seal(&r, g->key, &rec, err) != 0)
        return -1;
    rk_put_result res;
    uint64_t seq;
    int rc = rk_store_put(t, &rec, &res, &seq, err);
    rk_record_free(&rec);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Puts records from .. from+n-1 with random versions within a year, in transactions of 10,000. With
 * `ascending` the versions are drawn first and put in order, as bench_fill does: the same spread,
 * but each transaction appends to the B-trees instead of touching pages all over them, so the common
 * store of 1,000,000 builds in minutes rather than an hour. */
static int add_records(gen *g, rk_store *s, uint64_t from, uint64_t n, bool ascending, rk_error *err)
{
    uint64_t *versions = malloc((size_t)(n ? n : 1) * sizeof *versions);
    if (!versions)
        return rk_fail(err, "no_memory", "", "out of memory");
    for (uint64_t i = 0; i < n; i++)
        versions[i] = random_version(g);
    if (ascending)
        qsort(versions, (size_t)n, sizeof *versions, cmp_u64);
    int rc = 0;
    for (uint64_t done = 0; done < n && rc == 0;) {
        rk_txn *t;
        if (rk_txn_begin(s, true, &t, err) != 0) {
            rc = -1;
            break;
        }
        uint64_t batch = n - done < 10000 ? n - done : 10000;
        for (uint64_t k = 0; k < batch && rc == 0; k++)
            rc = put_record(g, t, from + done + k, versions[done + k], err);
        if (rc != 0)
            rk_txn_abort(t);
        else
            rc = rk_txn_commit(t, err);
        done += batch;
    }
    free(versions);
    return rc;
}

static int open_store(const char *dir, rk_store **s, rk_error *err)
{
    rk_store_options o = {.dir = dir, .map_size = (size_t)8 << 30, .no_sync = true};
    return rk_store_open(&o, s, err);
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = -1, rc = -1;
    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0)
        goto done;
    static const size_t bufsz = 1 << 20;
    char *buf = malloc(bufsz);
    if (!buf)
        goto done;
    for (;;) {
        ssize_t r = read(in, buf, bufsz);
        if (r == 0) {
            rc = 0;
            break;
        }
        if (r < 0 || write(out, buf, (size_t)r) != r)
            break;
    }
    free(buf);
done:
    if (out >= 0 && close(out) != 0)
        rc = -1;
    close(in);
    return rc;
}

/* Copies the files of a closed store (not its lock file). */
static int copy_store(const char *from, const char *to)
{
    if (mkdir(to, 0700) != 0 && errno != EEXIST)
        return -1;
    DIR *d = opendir(from);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "lock.mdb") == 0)
            continue;
        char a[4096], b[4096];
        snprintf(a, sizeof a, "%s/%s", from, e->d_name);
        snprintf(b, sizeof b, "%s/%s", to, e->d_name);
        if (copy_file(a, b) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- counting what each side asks of its set --------------------------------------------------- */

/* A set source that counts the questions it passes on: a count of work that, unlike time, does not
 * depend on what else the machine runs. A store answers a fingerprint or an nth item with a descent
 * (microseconds) and an item read in order with a cursor step (tens of nanoseconds). */
typedef struct counted {
    rk_set_source in;
    uint64_t fingerprints, nths, item_reads;
} counted;

typedef struct counted_cb {
    rk_item_cb cb;
    void *ctx;
    uint64_t *reads;
} counted_cb;

static int counted_item(const uint8_t item[RK_ITEM_LEN], void *ctx)
{
    counted_cb *c = ctx;
    (*c->reads)++;
    return c->cb(item, c->ctx);
}

static int counted_fingerprint(void *ctx, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], uint64_t *count,
                               uint8_t fp[RK_FP_LEN], rk_error *err)
{
    counted *c = ctx;
    c->fingerprints++;
    return c->in.fingerprint(c->in.ctx, lo, hi, count, fp, err);
}

static int counted_items(void *ctx, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], size_t limit,
                         rk_item_cb cb, void *cbctx, rk_error *err)
{
    counted *c = ctx;
    counted_cb w = {cb, cbctx, &c->item_reads};
    return c->in.items(c->in.ctx, lo, hi, limit, counted_item, &w, err);
}

static int counted_nth(void *ctx, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
                       uint8_t next[RK_ITEM_LEN], rk_error *err)
{
    counted *c = ctx;
    c->nths++;
    return c->in.nth(c->in.ctx, lo, n, out, next, err);
}

/* src asks through c, which passes on to in. */
static void counted_wrap(counted *c, const rk_set_source *in, rk_set_source *src)
{
    memset(c, 0, sizeof *c);
    c->in = *in;
    src->fingerprint = counted_fingerprint;
    src->items = counted_items;
    src->nth = counted_nth;
    src->ctx = c;
}

static void counted_print(const char *side, const counted *c)
{
    printf("  %s asked its set for %" PRIu64 " fingerprints, %" PRIu64 " nth items, %" PRIu64 " items in order\n", side,
           c->fingerprints, c->nths, c->item_reads);
}

/* reconcile_respond_from_store (a read transaction per message, as the daemon's listener), counting
 * what it asks across the messages. */
typedef struct counted_store {
    rk_store *store;
    counted count;
} counted_store;

static int respond_counted(void *ctx, const Renkei__Reconcile *in, Renkei__Reconcile **reply, rk_error *err)
{
    counted_store *cs = ctx;
    rk_txn *t;
    if (rk_txn_begin(cs->store, false, &t, err) != 0)
        return -1;
    rk_set_source_from_store(&cs->count.in, t, (int)in->set); /* the counts go on across messages */
    rk_set_source src = {
        .fingerprint = counted_fingerprint, .items = counted_items, .nth = counted_nth, .ctx = &cs->count};
    int rc = rk_sync_process(&src, false, in, reply, NULL, err);
    rk_txn_abort(t);
    return rc;
}

typedef struct result {
    double seconds;
    double cpu; /* CPU time of the exchange: on a shared machine it varies less than the wall time */
    unsigned round_trips;
    uint64_t bytes_out, bytes_back;
    uint64_t diff_bytes; /* envelopes of the differing records */
    size_t need, have;
    counted initiator, responder;
} result;

static int env_size_cb(rk_txn *t, const uint8_t hash[RK_HASH_LEN], uint64_t *sum, rk_error *err)
{
    const uint8_t *env;
    size_t len;
    int rc = rk_store_get_envelope(t, hash, &env, &len, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return rk_fail(err, "not_found", "", "a differing record is missing from its store");
    *sum += len;
    return 0;
}

static int reconcile(rk_store *a, rk_store *b, result *res, rk_error *err)
{
    memset(res, 0, sizeof *res);
    rk_txn *ta = NULL, *tb = NULL;
    rk_sync_diff diff;
    rk_sync_diff_init(&diff);
    int rc = -1;
    if (rk_txn_begin(a, false, &ta, err) != 0)
        goto done;
    /* the initiator keeps one read transaction for the whole reconciliation, as daemon/peer_dial.c */
    rk_set_source plain, sa;
    rk_set_source_from_store(&plain, ta, RK_SET_PUBLIC);
    counted_wrap(&res->initiator, &plain, &sa);
    counted_store cs = {.store = b};
    uint64_t t0 = rk_monotonic_ns();
    double c0 = cpu_seconds();
    reconcile_stats st;
    if (reconcile_run(&sa, RK_SET_PUBLIC, respond_counted, &cs, &diff, UINT_MAX, &st, err) != 0)
        goto done;
    res->seconds = secs_since(t0);
    res->cpu = cpu_seconds() - c0;
    res->responder = cs.count;
    res->round_trips = st.round_trips;
    res->bytes_out = st.bytes_out;
    res->bytes_back = st.bytes_back;
    if (rk_txn_begin(b, false, &tb, err) != 0)
        goto done;
    res->need = diff.n_need;
    res->have = diff.n_have;
    for (size_t i = 0; i < diff.n_need; i++)
        if (env_size_cb(tb, diff.need + i * RK_HASH_LEN, &res->diff_bytes, err) != 0)
            goto done;
    for (size_t i = 0; i < diff.n_have; i++)
        if (env_size_cb(ta, diff.have + i * RK_ITEM_LEN + 8, &res->diff_bytes, err) != 0)
            goto done;
    rc = 0;
done:
    if (ta)
        rk_txn_abort(ta);
    if (tb)
        rk_txn_abort(tb);
    rk_sync_diff_free(&diff);
    return rc;
}

static int report(const char *name, rk_store *a, rk_store *b, size_t want_have, size_t want_need, rk_error *err)
{
    result r;
    if (reconcile(a, b, &r, err) != 0)
        return -1;
    uint64_t total = r.bytes_out + r.bytes_back;
    printf("%s\n  time %.3f s (CPU %.3f s), %u round trips, %" PRIu64 " bytes (%" PRIu64
           " initiator->responder, %" PRIu64 " back)\n  need %zu, have %zu; differing records %" PRIu64
           " bytes; wire/differing = %.3f\n",
           name, r.seconds, r.cpu, r.round_trips, total, r.bytes_out, r.bytes_back, r.need, r.have, r.diff_bytes,
           r.diff_bytes ? (double)total / (double)r.diff_bytes : 0.0);
    counted_print("initiator", &r.initiator);
    counted_print("responder", &r.responder);
    if (r.have != want_have || r.need != want_need)
        return rk_fail(err, "wrong_result", "", "expected have %zu need %zu", want_have, want_need);
    fflush(stdout);
    return 0;
}

/* ---- in-memory sets: the protocol's own cost ---------------------------------------------------- */

static int cmp_item(const void *a, const void *b)
{
    return memcmp(a, b, RK_ITEM_LEN);
}

/* A = common + only_a, B = common + only_b; the common items come from the same seed. */
static int summed_make(rk_summed_set *s, uint64_t common, uint64_t extra, uint64_t extra_seed, rk_error *err)
{
    memset(s, 0, sizeof *s);
    s->set.count = (size_t)(common + extra);
    s->set.items = malloc(s->set.count * RK_ITEM_LEN + 1);
    if (!s->set.items)
        return rk_fail(err, "no_memory", "", "out of memory");
    uint64_t st = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < common; i++)
        rk_test_random_item(&st, s->set.items + i * RK_ITEM_LEN);
    st = extra_seed;
    for (size_t i = 0; i < extra; i++)
        rk_test_random_item(&st, s->set.items + (common + i) * RK_ITEM_LEN);
    qsort(s->set.items, s->set.count, RK_ITEM_LEN, cmp_item);
    return rk_summed_set_init(s, err);
}

static void summed_free(rk_summed_set *s)
{
    free(s->set.items);
    rk_summed_set_free(s);
}

static int run_memory(uint64_t n, uint64_t only_a, uint64_t only_b, rk_error *err)
{
    rk_summed_set a = {0}, b = {0};
    rk_sync_diff diff;
    rk_sync_diff_init(&diff);
    int rc = -1;
    if (summed_make(&a, n, only_a, 1, err) != 0 || summed_make(&b, n, only_b, 2, err) != 0)
        goto done;
    rk_set_source plain_a, plain_b, sa, sb;
    rk_set_source_from_summed(&plain_a, &a);
    rk_set_source_from_summed(&plain_b, &b);
    counted ca, cb;
    counted_wrap(&ca, &plain_a, &sa);
    counted_wrap(&cb, &plain_b, &sb);
    uint64_t t0 = rk_monotonic_ns();
    double c0 = cpu_seconds();
    reconcile_stats st;
    if (reconcile_run(&sa, RK_SET_PUBLIC, reconcile_respond_from, &sb, &diff, UINT_MAX, &st, err) != 0)
        goto done;
    double secs = secs_since(t0), cpu = cpu_seconds() - c0;
    uint64_t out = st.bytes_out, back = st.bytes_back;
    printf("memory: %" PRIu64 " common, %" PRIu64 " only in A (initiator), %" PRIu64 " only in B\n"
           "  time %.3f s (CPU %.3f s), %u round trips, %" PRIu64 " bytes (%" PRIu64 " out, %" PRIu64
           " back), %.0f bytes per difference; need %zu, have %zu\n",
           n, only_a, only_b, secs, cpu, st.round_trips, out + back, out, back,
           (double)(out + back) / (double)(only_a + only_b), diff.n_need, diff.n_have);
    counted_print("A", &ca);
    counted_print("B", &cb);
    if (diff.n_need != only_b || diff.n_have != only_a) {
        rk_fail(err, "wrong_result", "", "wrong need/have");
        goto done;
    }
    rc = 0;
done:
    summed_free(&a);
    summed_free(&b);
    rk_sync_diff_free(&diff);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--memory") == 0) {
        uint64_t mn = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
        rk_error merr;
        rk_error_clear(&merr);
        if (run_memory(mn, 500, 500, &merr) != 0 || run_memory(mn, 1000, 0, &merr) != 0 ||
            run_memory(mn, 10000, 5000, &merr) != 0) {
            fprintf(stderr, "bench_sync: %s: %s\n", merr.code, merr.message);
            return 1;
        }
        return 0;
    }
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char tmpl[] = "/tmp/renkei-bench-sync-XXXXXX";
    const char *root = argc > 2 ? argv[2] : NULL;
    bool own_root = false;
    if (!root) {
        root = mkdtemp(tmpl);
        own_root = true;
        if (!root) {
            perror("mkdtemp");
            return 1;
        }
    }
    char base[4096], da[4096], db[4096];
    snprintf(base, sizeof base, "%s/base", root);
    snprintf(da, sizeof da, "%s/a", root);
    snprintf(db, sizeof db, "%s/b", root);

    rk_error err;
    rk_error_clear(&err);
    gen g;
    memset(&g, 0, sizeof g);
    g.rng = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i + 3 <= sizeof g.filler - 1; i += 3)
        memcpy(g.filler + i, "連", 3); /* ~900 bytes of summary: ~1 KiB records */
    int rc = 1;
    rk_store *sa = NULL, *sb = NULL, *sbase = NULL;
    if (rk_key_generate(&g.key, &err) != 0)
        goto out;
    rk_key_public(g.key, g.author);

    printf("bench_sync: %" PRIu64 " records in common, stores in %s\n", n, root);
    char done_mark[4096];
    snprintf(done_mark, sizeof done_mark, "%s/base-%" PRIu64 ".complete", root, n);
    struct stat sbuf;
    if (stat(done_mark, &sbuf) == 0) {
        printf("  reusing the common store of an earlier run\n");
        for (uint64_t i = 0; i < n; i++)
            (void)random_version(&g); /* the versions it drew: the added records draw the same as in that run */
        remove_tree(da);
        remove_tree(db);
    } else {
        uint64_t t0 = rk_monotonic_ns();
        if (open_store(base, &sbase, &err) != 0 || add_records(&g, sbase, 0, n, true, &err) != 0)
            goto out;
        rk_store_close(sbase);
        sbase = NULL;
        printf("  built the common store in %.1f s\n", secs_since(t0));
        FILE *mark = own_root ? NULL : fopen(done_mark, "w");
        if (mark)
            fclose(mark);
    }
    if (copy_store(base, da) != 0 || copy_store(base, db) != 0) {
        rk_fail(&err, "io", "", "cannot copy the store");
        goto out;
    }
    if (open_store(da, &sa, &err) != 0 || open_store(db, &sb, &err) != 0)
        goto out;

    /* (a) 500 on each side */
    if (add_records(&g, sa, n, 500, false, &err) != 0 || add_records(&g, sb, n + 500, 500, false, &err) != 0)
        goto out;
    if (report("(a) 1,000 differences: 500 only in A (initiator), 500 only in B", sa, sb, 500, 500, &err) != 0)
        goto out;
    /* (b) grow to 10,000 and 5,000 */
    if (add_records(&g, sa, n + 1000, 9500, false, &err) != 0 || add_records(&g, sb, n + 10500, 4500, false, &err) != 0)
        goto out;
    if (report("(b) 1% case: 10,000 only in A (initiator), 5,000 only in B", sa, sb, 10000, 5000, &err) != 0)
        goto out;
    if (report("(b') the same, B initiating", sb, sa, 5000, 10000, &err) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "bench_sync: %s: %s\n", err.code, err.message);
    if (sa)
        rk_store_close(sa);
    if (sb)
        rk_store_close(sb);
    if (sbase)
        rk_store_close(sbase);
    rk_key_free(g.key);
    if (own_root)
        remove_tree(root);
    return rc;
}
