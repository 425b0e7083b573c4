/* bench_verify: the CPU a peer verifier thread spends on each record, step by step, on one thread.
 *
 *   bench_verify DATA_DIR [N [ROUNDS]]
 *
 * Loads the envelopes of the first N records (default 20,000) that DATA_DIR's store lists (a node A
 * that bench_fill made, e.g. bench_fullsync.sh's cache), then, ROUNDS times (default 5), runs over all
 * of them the steps daemon/writer.c's verifier threads run for a record from a peer: decoding with
 * the schema rules and the hash (rk_record_parse), the Ed25519 check (rk_record_signature_ok), the
 * tokens (rk_rectokens_of) and the compression with the store's dictionary (rk_envcodec_precompress),
 * then freeing it all. Each step runs over every record before the next starts and is timed in the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so the figures hardly depend on what else shares the
 * machine; prints the median over the rounds of each step's microseconds per record. The store is
 * only read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envcodec.h"
#include "record.h"
#include "records.h"
#include "rectokens.h"
#include "store.h"

enum { STEP_PARSE, STEP_VERIFY, STEP_TOKENS, STEP_COMPRESS, STEP_FREE, STEPS };
static const char *const step_names[STEPS] = {"decode, schema, hash", "Ed25519", "tokens", "compression", "free"};

typedef struct loaded {
    uint8_t (*hashes)[RK_HASH_LEN];
    uint8_t **envs;
    size_t *lens;
    size_t n, cap;
} loaded;

static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int take_hash(const rk_change *c, void *ctx)
{
    loaded *l = ctx;
    if (c->kind == RENKEI__KIND__KIND_TOMBSTONE)
        return 0;
    if (l->n == l->cap)
        return 1;
    memcpy(l->hashes[l->n++], c->hash, RK_HASH_LEN);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_verify DATA_DIR [N [ROUNDS]]\n");
        return 2;
    }
    size_t want = argc > 2 ? strtoull(argv[2], NULL, 10) : 20000;
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    if (want == 0 || rounds < 1)
        return 2;
    rk_store_options o = {.dir = argv[1], .map_size = (size_t)16 << 30, .no_sync = true};
    rk_store *s;
    rk_error err;
    if (rk_store_open(&o, &s, &err) != 0) {
        fprintf(stderr, "bench_verify: %s\n", err.message);
        return 1;
    }
    loaded l = {.cap = want};
    l.hashes = calloc(want, sizeof *l.hashes);
    l.envs = calloc(want, sizeof *l.envs);
    l.lens = calloc(want, sizeof *l.lens);
    rk_record *recs = calloc(want, sizeof *recs);
    rk_rectokens **toks = calloc(want, sizeof *toks);
    double *per_round = calloc((size_t)rounds * STEPS, sizeof *per_round);
    if (!l.hashes || !l.envs || !l.lens || !recs || !toks || !per_round)
        return 1;
    rk_txn *t;
    if (rk_txn_begin(s, false, &t, &err) != 0 || rk_store_changes(t, 0, want, take_hash, &l, &err) != 0)
        return 1;
    for (size_t i = 0; i < l.n; i++) {
        const uint8_t *env;
        if (rk_store_get_envelope(t, l.hashes[i], &env, &l.lens[i], &err) != 1 || !(l.envs[i] = malloc(l.lens[i])))
            return 1;
        memcpy(l.envs[i], env, l.lens[i]);
    }
    rk_txn_abort(t);
    if (!rk_store_envdict(s))
        fprintf(stderr, "bench_verify: the store has no dictionary loaded; compression is not measured\n");
    size_t bytes = 0;
    for (size_t i = 0; i < l.n; i++)
        bytes += l.lens[i];
    printf("bench_verify: %zu records (%zu bytes average envelope), %d rounds\n", l.n, l.n ? bytes / l.n : 0, rounds);

    for (int r = 0; r < rounds; r++) {
        double *us = per_round + (size_t)r * STEPS, t0 = cpu_us(), t1;
        for (size_t i = 0; i < l.n; i++)
            if (rk_record_parse(l.envs[i], l.lens[i], NULL, 0, &recs[i], &err) != 0) {
                fprintf(stderr, "bench_verify: record %zu: %s\n", i, err.message);
                return 1;
            }
        us[STEP_PARSE] = (t1 = cpu_us()) - t0;
        for (size_t i = 0; i < l.n; i++)
            if (!rk_record_signature_ok(&recs[i])) {
                fprintf(stderr, "bench_verify: record %zu: bad signature\n", i);
                return 1;
            }
        us[STEP_VERIFY] = (t0 = cpu_us()) - t1;
        for (size_t i = 0; i < l.n; i++)
            toks[i] = rk_rectokens_of(recs[i].msg);
        us[STEP_TOKENS] = (t1 = cpu_us()) - t0;
        for (size_t i = 0; i < l.n; i++)
            rk_envcodec_precompress(s, &recs[i]);
        us[STEP_COMPRESS] = (t0 = cpu_us()) - t1;
        for (size_t i = 0; i < l.n; i++) {
            rk_record_free(&recs[i]);
            rk_rectokens_free(toks[i]);
        }
        us[STEP_FREE] = cpu_us() - t0;
    }
    double total = 0;
    for (int k = 0; k < STEPS; k++) {
        double *col = malloc((size_t)rounds * sizeof *col);
        if (!col)
            return 1;
        for (int r = 0; r < rounds; r++)
            col[r] = per_round[(size_t)r * STEPS + k] / (double)l.n;
        qsort(col, (size_t)rounds, sizeof *col, cmp_double);
        printf("  %-22s %7.2f us per record (median; %.2f to %.2f)\n", step_names[k], col[rounds / 2], col[0],
               col[rounds - 1]);
        total += col[rounds / 2];
        free(col);
    }
    printf("  %-22s %7.2f us per record\n", "all", total);
    for (size_t i = 0; i < l.n; i++)
        free(l.envs[i]);
    free(l.envs);
    free(l.lens);
    free(l.hashes);
    free(recs);
    free(toks);
    free(per_round);
    rk_store_close(s);
    return 0;
}
