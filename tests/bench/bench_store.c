/* bench_store: store put throughput, where the disk goes, and the fingerprint query rate.
 *
 *   bench_store [N] [DIR] [BATCH]   N records (default 100000), store in DIR (default a fresh /tmp
 *                                   dir), BATCH records per write transaction (default 1000)
 *   bench_store 0 DIR               only the page report of the store in DIR
 *
 * Records (about 1 KiB each) are sealed first, outside the timing, then put in transactions of BATCH
 * as the writer thread batches them (the daemon's group commits of publishes hold about 30); the put
 * phase is reported in wall and CPU time. Then the pages of every database are listed, with the
 * pages in no tree (LMDB's mdb_stat leaves out a DUPSORT database's sub-trees; the store has none
 * since format 4, so that line should read 0), and the bytes of the stored envelopes (zstd frames
 * since format 6, lib/envcodec.h) against those sealed. Last, random ranges of the
 * members' set are fingerprinted, which is what each round of reconciliation asks the store. The
 * store runs without fsync (no_sync) so the figures are the store's own cost, not the disk's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign.h"
#include "store.h"
#include "storepages.h"

#define FP_QUERIES 100000

static double seconds_since(uint64_t t0)
{
    return (double)(rk_monotonic_ns() - t0) / 1e9;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Where the file's pages go, per database and per record. */
static int report_pages(rk_store *store, size_t n)
{
    rk_error err;
    rk_txn *t;
    rk_storepages p;
    if (rk_txn_begin(store, false, &t, &err) != 0)
        return -1;
    int rc = rk_storepages_read(t, &p, &err);
    rk_txn_abort(t);
    if (rc != 0)
        return -1;
    double per = (double)p.page_size / (double)n;
    printf("%-28s %12s %10s %14s\n", "database", "entries", "pages", "bytes/record");
    for (int db = 0; db < RK_DB_COUNT; db++)
        printf("%-28s %12zu %10zu %14.0f\n", rk_txn_db_name((rk_db)db), p.entries[db], p.pages[db],
               (double)p.pages[db] * per);
    printf("%-28s %12s %10zu %14.0f\n", "(free pages)", "", p.free, (double)p.free * per);
    printf("%-28s %12s %10zu %14.0f\n", "(pages in no tree)", "", p.unaccounted, (double)p.unaccounted * per);
    printf("%-28s %12zu %10zu %14.0f\n", "data.mdb in use", n, p.used, (double)p.used * per);
    return 0;
}

/* The values of `records`: how many are zstd frames and their bytes, against sealed (0: unknown). */
static int report_envelopes(rk_store *store, size_t sealed)
{
    rk_error err;
    rk_txn *t;
    if (rk_txn_begin(store, false, &t, &err) != 0)
        return -1;
    MDB_cursor *c;
    if (rk_txn_cursor(t, RK_DB_RECORDS, &c, "reading envelopes", &err) != 0) {
        rk_txn_abort(t);
        return -1;
    }
    size_t n = 0, frames = 0, bytes = 0;
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        n++;
        bytes += v.mv_size;
        if (v.mv_size >= 4 && memcmp(v.mv_data, "\x28\xb5\x2f\xfd", 4) == 0)
            frames++;
    }
    rc = rk_txn_cursor_done(t, c, rc, "reading envelopes", &err);
    rk_txn_abort(t);
    if (rc != 0)
        return -1;
    printf("envelopes %zu stored, %zu of them zstd frames: %zu bytes (%.0f per envelope)", n, frames, bytes,
           n ? (double)bytes / (double)n : 0.0);
    if (sealed)
        printf(", %.1f %% of the %zu bytes sealed", 100.0 * (double)bytes / (double)sealed, sealed);
    printf("\n");
    return 0;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int seal_one(const rk_key *key, const uint8_t pub[RK_KEY_LEN], size_t i, uint64_t version, rk_record *out)
{
    static const char *const prefs[4] = {"17", "34", "41", "23"};
    char rid[32], title[96], summary[1024];
    snprintf(rid, sizeof rid, "bench-%zu", i);
    snprintf(title, sizeof title, "製造業のDX事例 %zu: ロボットとAIによる工程改善", i);
    size_t n = 0;
    while (n + 64 < sizeof summary)
        n += (size_t)snprintf(summary + n, sizeof summary - n, "品質管理の担当者が生産データを分析し改善した。%zu ", i);
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Case c = RENKEI__CASE__INIT;
    Renkei__Skill skills[2] = {RENKEI__SKILL__SKILL_AI, RENKEI__SKILL__SKILL_ROBOTICS};
    r.author.data = (uint8_t *)pub;
    r.author.len = RK_KEY_LEN;
    r.rid = rid;
    r.version = version;
    r.kind = RENKEI__KIND__KIND_CASE;
    r.visibility = i % 10 == 0 ? RENKEI__VISIBILITY__VISIBILITY_NETWORK : RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    r.body_case = RENKEI__RECORD__BODY_CASE;
    r.case_ = &c;
    c.title = title;
    c.summary = summary;
    c.prefecture = (char *)prefs[i % 4];
    c.industry = RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING;
    c.dx_level = 1 + (int)(i % 5);
    c.skills = skills;
    c.n_skills = 1 + i % 2;
    rk_error err;
    if (rk_record_seal(&r, key, out, &err) != 0) {
        fprintf(stderr, "seal: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* bench_store 0 DIR: the page report of an existing store (a daemon's data_dir, say), per current
 * record (tombstones included). */
static int report_existing(const char *dir)
{
    rk_store *store;
    rk_error err;
    rk_store_options o = {.dir = dir};
    if (rk_store_open(&o, &store, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    rk_txn *t;
    struct rk_store_counts c;
    int rc = rk_txn_begin(store, false, &t, &err);
    if (rc == 0) {
        rc = rk_store_counts(t, &c, &err);
        rk_txn_abort(t);
    }
    size_t n = rc == 0 ? (size_t)(c.current + c.by_kind[RENKEI__KIND__KIND_TOMBSTONE]) : 0;
    if (rc == 0)
        rc = report_pages(store, n ? n : 1);
    if (rc == 0)
        rc = report_envelopes(store, 0);
    rk_store_close(store);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    size_t batch = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
    if (batch == 0)
        batch = 1;
    char dir[256];
    if (argc > 2) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
    } else {
        snprintf(dir, sizeof dir, "/tmp/rk-bench-store-XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    if (n == 0)
        return argc > 2 ? report_existing(dir) : 1;
    rk_error err;
    rk_key *key;
    if (rk_key_generate(&key, &err) != 0) {
        fprintf(stderr, "keygen: %s\n", err.message);
        return 1;
    }
    uint8_t pub[RK_KEY_LEN];
    rk_key_public(key, pub);
    rk_record *recs = calloc(n, sizeof *recs);
    if (!recs) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t base = rk_now_ms() - n * 10, t0 = rk_monotonic_ns();
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (seal_one(key, pub, i, base + i * 7, &recs[i]) != 0)
            return 1;
        bytes += recs[i].env_len;
    }
    double seal_s = seconds_since(t0);
    printf("sealed   %zu records (%.0f bytes average) in %.2f s: %.0f records/s\n", n, (double)bytes / (double)n,
           seal_s, (double)n / seal_s);

    rk_store *store;
    rk_store_options o = {.dir = dir, .map_size = (size_t)8 << 30, .no_sync = true};
    if (rk_store_open(&o, &store, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    t0 = rk_monotonic_ns();
    double cpu0 = cpu_seconds();
    for (size_t i = 0; i < n; i += batch) {
        rk_txn *t;
        if (rk_txn_begin(store, true, &t, &err) != 0) {
            fprintf(stderr, "begin: %s\n", err.message);
            return 1;
        }
        for (size_t j = i; j < n && j < i + batch; j++) {
            rk_put_result res;
            uint64_t seq;
            if (rk_store_put(t, &recs[j], &res, &seq, &err) != 0) {
                fprintf(stderr, "put: %s (%s)\n", err.message, err.code);
                return 1;
            }
        }
        if (rk_txn_commit(t, &err) != 0) {
            fprintf(stderr, "commit: %s\n", err.message);
            return 1;
        }
    }
    double put_s = seconds_since(t0), put_cpu = cpu_seconds() - cpu0;
    printf("put      %zu records in batches of %zu in %.2f s: %.0f records/s; CPU %.2f s, %.1f us per record\n", n,
           batch, put_s, (double)n / put_s, put_cpu, put_cpu * 1e6 / (double)n);
    if (report_pages(store, n) != 0 || report_envelopes(store, bytes) != 0) {
        fprintf(stderr, "reading the page counts failed\n");
        return 1;
    }

    rk_txn *t;
    if (rk_txn_begin(store, false, &t, &err) != 0)
        return 1;
    uint64_t st = 0x2545f4914f6cdd1dULL, total = 0;
    t0 = rk_monotonic_ns();
    for (int q = 0; q < FP_QUERIES; q++) {
        uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN], fp[RK_FP_LEN];
        uint64_t a = base + rng_next(&st) % (n * 7 + 1), b = base + rng_next(&st) % (n * 7 + 1);
        rk_put_be64(lo, a < b ? a : b);
        rk_put_be64(hi, a < b ? b : a);
        for (int i = 8; i < RK_ITEM_LEN; i++) {
            lo[i] = (uint8_t)rng_next(&st);
            hi[i] = (uint8_t)rng_next(&st);
        }
        uint64_t count;
        if (rk_store_set_fingerprint(t, RK_SET_MEMBERS, lo, hi, &count, fp, &err) != 0) {
            fprintf(stderr, "fingerprint: %s\n", err.message);
            return 1;
        }
        total += count;
    }
    double fp_s = seconds_since(t0);
    printf("fingerprint %d random ranges (%.0f items each on average) in %.2f s: %.0f queries/s\n", FP_QUERIES,
           (double)total / FP_QUERIES, fp_s, FP_QUERIES / fp_s);
    rk_txn_abort(t);

    rk_store_close(store);
    for (size_t i = 0; i < n; i++)
        rk_record_free(&recs[i]);
    free(recs);
    rk_key_free(key);
    printf("store left in %s\n", dir);
    return 0;
}
