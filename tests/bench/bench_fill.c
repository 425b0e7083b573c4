/* bench_fill: writes N sealed ~1 KiB case records straight into a node's data directory.
 *
 *   bench_fill [--first I] [--seed S] [--api 1] DATA_DIR KEY_FILE [N [MAP_SIZE_GIB]]
 *   bench_fill --check DATA_DIR
 *
 * --check opens an existing data directory with this build's store and exits 0 if it can (1 if not,
 * e.g. a store of another format): the benchmarks that cache filled directories ask it before
 * reusing one, so a store format change rebuilds the cache instead of failing the run.
 * N defaults to 1,000,000, the map size to 16 GiB. Makes a fresh Ed25519 key and saves it as
 * KEY_FILE, so that a renkeid started with data_dir = DATA_DIR and key_file = KEY_FILE is the author
 * of every record; if KEY_FILE exists, its key signs instead, which is how bench_repair adds a node's
 * own extra records to a copy of a common set. Records are numbered from I (default 0; the rid is
 * fill-<number>), and S (default 1) seeds their versions and titles, so sets filled with different
 * I and S share no record. Records are
 * sealed and put through the store API (rk_store_put, the same code the writer runs) in transactions
 * of 10,000 without fsync, so preparing a large node takes minutes, not hours. Versions are random
 * within the year before now (so a peer's clock-skew check accepts them and reconciliation sees
 * differences spread over the whole set), put oldest first; each summary is about 900 bytes of
 * Japanese text, the sentence bench_store uses, so the two benchmarks index the same kind of record. With --api 1 the
 * records are instead bench_api's (bench_case.h: rid bench-<number>, the API's JSON body made into a
 * record by the API's own parser), so run_api_query_bench.sh can query a million of them without
 * publishing them first. Prints the time taken and the average envelope size.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_case.h"
#include "recjson.h"
#include "record.h"
#include "sign.h"
#include "store.h"
#include "testrand.h"

#define BATCH 10000

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static const char *const phrases[] = {
    "品質管理の担当者が生産データを分析し、",
    "ロボットの導入で検査工程を自動化した。",
    "社員向けにAI研修を三か月実施し、",
    "受発注をクラウドに移して紙の伝票をなくした。",
    "地域の大学と連携してデータ人材を育てた。",
    "ECサイトを立ち上げ自社ブランドで販売した。",
    "熟練工の技能を動画で記録し新人教育に使った。",
    "IoTセンサーで設備の稼働を見える化した。",
    "The team retrained operators in data analysis. ",
    "Orders moved from fax to a web form. ",
    "在庫の過不足が減り、納期遅れが半分になった。",
    "観光客の動向を分析して販促を見直した。",
    "農業法人がドローンで圃場を管理した。",
    "介護記録をタブレットで入力するようにした。",
    "Sales grew after the shop opened online. ",
    "若手社員がプログラミングを学び社内システムを作った。",
};
#define N_PHRASES (sizeof phrases / sizeof phrases[0])

static const char *const prefs[] = {"01", "13", "17", "23", "27", "34", "40", "47"};

static int seal_one(const rk_key *key, const uint8_t pub[RK_KEY_LEN], uint64_t i, uint64_t version, uint64_t *st,
                    rk_record *out, rk_error *err)
{
    char rid[32], title[128], summary[1024];
    snprintf(rid, sizeof rid, "fill-%09" PRIu64, i);
    snprintf(title, sizeof title, "製造業のDX事例 %" PRIu64 ": %s", i, phrases[rk_test_rand(st) % N_PHRASES]);
    /* The summary of bench_store's records (one sentence repeated with the record number), so store
     * figures and these agree on what indexing a record costs. */
    size_t n = 0;
    while (n + 64 < 900)
        n += (size_t)snprintf(summary + n, sizeof summary - n,
                              "品質管理の担当者が生産データを分析し改善した。%" PRIu64 " ", i);
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Case c = RENKEI__CASE__INIT;
    Renkei__Skill skills[2] = {RENKEI__SKILL__SKILL_AI, RENKEI__SKILL__SKILL_ROBOTICS};
    char *tags[1] = {"リスキリング"};
    r.author.data = (uint8_t *)pub;
    r.author.len = RK_KEY_LEN;
    r.rid = rid;
    r.version = version;
    r.created_at = version;
    r.language = "ja";
    r.kind = RENKEI__KIND__KIND_CASE;
    r.visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    r.body_case = RENKEI__RECORD__BODY_CASE;
    r.case_ = &c;
    c.title = title;
    c.summary = summary;
    c.prefecture = (char *)prefs[i % (sizeof prefs / sizeof prefs[0])];
    c.industry = RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING;
    c.dx_level = 1 + (int)(i % 5);
    c.skills = skills;
    c.n_skills = 1 + i % 2;
    c.tags = tags;
    c.n_tags = 1;
    return rk_record_seal(&r, key, out, err);
}

/* Record i as bench_api publishes it (bench_case.h), with this version. */
static int seal_api_one(const rk_key *key, const uint8_t pub[RK_KEY_LEN], uint64_t i, uint64_t version, rk_record *out,
                        rk_error *err)
{
    char body[1400];
    bench_case_json(body, sizeof body, (long)i);
    json_error_t jerr;
    json_t *j = json_loads(body, 0, &jerr);
    if (!j)
        return rk_fail(err, "malformed", "", "bench_case_json: %s", jerr.text);
    Renkei__Record *r = NULL;
    int rc = rk_record_from_json(j, &r, err);
    json_decref(j);
    if (rc != 0)
        return -1;
    r->author.data = (uint8_t *)pub;
    r->author.len = RK_KEY_LEN;
    r->version = version;
    r->created_at = version;
    rc = rk_record_seal(r, key, out, err);
    r->author.data = NULL; /* lent */
    r->author.len = 0;
    renkei__record__free_unpacked(r, NULL);
    return rc;
}

/* Whether this build's store opens dir (without creating it); the reason goes to stderr if not. */
static int fill_check(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        perror(dir);
        return 1;
    }
    rk_error err;
    rk_error_clear(&err);
    rk_store *store = NULL;
    rk_store_options o = {.dir = dir, .map_size = (size_t)16 << 30, .no_sync = true};
    if (rk_store_open(&o, &store, &err) != 0) {
        fprintf(stderr, "bench_fill: %s: %s\n", err.code, err.message);
        return 1;
    }
    rk_store_close(store);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--check") == 0)
        return fill_check(argv[2]);
    uint64_t first = 0, seed = 1;
    bool api = false;
    int a = 1;
    for (; a + 1 < argc && strncmp(argv[a], "--", 2) == 0; a += 2) {
        if (strcmp(argv[a], "--first") == 0)
            first = strtoull(argv[a + 1], NULL, 10);
        else if (strcmp(argv[a], "--seed") == 0)
            seed = strtoull(argv[a + 1], NULL, 10);
        else if (strcmp(argv[a], "--api") == 0)
            api = strcmp(argv[a + 1], "0") != 0;
        else
            break;
    }
    if (argc - a < 2 || strncmp(argv[a], "--", 2) == 0) {
        fprintf(stderr, "usage: bench_fill [--first I] [--seed S] [--api 1] DATA_DIR KEY_FILE [N [MAP_SIZE_GIB]]\n"
                        "       bench_fill --check DATA_DIR\n");
        return 2;
    }
    const char *dir = argv[a], *key_file = argv[a + 1];
    uint64_t n = argc - a > 2 ? strtoull(argv[a + 2], NULL, 10) : 1000000;
    unsigned long gib = argc - a > 3 ? strtoul(argv[a + 3], NULL, 10) : 16;
    if (n == 0 || gib == 0 || gib > 1024 || seed == 0 || first > UINT64_C(999999999) - n) {
        fprintf(stderr, "bench_fill: N, MAP_SIZE_GIB and S must be positive (map at most 1024 GiB, "
                        "numbers below 10^9)\n");
        return 2;
    }
    struct stat sb;
    bool have_key = stat(key_file, &sb) == 0;
    if (mkdir(dir, 0700) != 0 && stat(dir, &sb) != 0) {
        perror(dir);
        return 1;
    }

    rk_error err;
    rk_error_clear(&err);
    rk_key *key = NULL;
    rk_store *store = NULL;
    uint64_t *versions = NULL;
    int rc = 1;
    if (have_key ? rk_key_load(key_file, &key, &err) != 0
                 : rk_key_generate(&key, &err) != 0 || rk_key_save(key, key_file, &err) != 0)
        goto out;
    uint8_t pub[RK_KEY_LEN];
    rk_key_public(key, pub);
    rk_store_options o = {.dir = dir, .map_size = (size_t)gib << 30, .no_sync = true};
    if (rk_store_open(&o, &store, &err) != 0)
        goto out;

    uint64_t st = 0x9e3779b97f4a7c15u * seed | 1, now = rk_now_ms(), year = UINT64_C(31536000000);
    /* The versions are drawn first and put oldest first: the store's lists are kept in version
     * order, so the set comes out the same as from a random order, but each put appends to its
     * lists instead of rewriting a block in their middle (which made a million take hours). */
    versions = malloc(n * sizeof *versions);
    if (!versions) {
        rk_fail(&err, "no_memory", "", "out of memory for the versions");
        goto out;
    }
    for (uint64_t i = 0; i < n; i++)
        versions[i] = now - 60000 - rk_test_rand(&st) % year;
    qsort(versions, n, sizeof *versions, cmp_u64);
    uint64_t bytes = 0, t0 = rk_monotonic_ns();
    for (uint64_t done = 0; done < n;) {
        rk_txn *t;
        if (rk_txn_begin(store, true, &t, &err) != 0)
            goto out;
        uint64_t batch = n - done < BATCH ? n - done : BATCH;
        for (uint64_t k = 0; k < batch; k++) {
            rk_record rec;
            uint64_t version = versions[done + k];
            if ((api ? seal_api_one(key, pub, first + done + k, version, &rec, &err)
                     : seal_one(key, pub, first + done + k, version, &st, &rec, &err)) != 0) {
                rk_txn_abort(t);
                goto out;
            }
            bytes += rec.env_len;
            rk_put_result res;
            uint64_t seq;
            int prc = rk_store_put(t, &rec, &res, &seq, &err);
            rk_record_free(&rec);
            if (prc != 0) {
                rk_txn_abort(t);
                goto out;
            }
        }
        if (rk_txn_commit(t, &err) != 0)
            goto out;
        done += batch;
        if (done % 100000 == 0 || done == n) {
            double s = (double)(rk_monotonic_ns() - t0) / 1e9;
            printf("  %" PRIu64 " records, %.1f s, %.0f records/s\n", done, s, (double)done / s);
            fflush(stdout);
        }
    }
    printf("bench_fill: %" PRIu64 " records (%.0f bytes average envelope, %" PRIu64 " bytes) in %s, key %s\n", n,
           (double)bytes / (double)n, bytes, dir, key_file);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "bench_fill: %s: %s\n", err.code, err.message);
    if (store)
        rk_store_close(store);
    rk_key_free(key);
    free(versions);
    return rc;
}
