/* bench_sign: Ed25519 signing and verification rates of rk_sign and rk_verify on one thread.
 *
 *   bench_sign [COUNT=20000 [ROUNDS=9]]
 *
 * Signs and verifies COUNT record-sized messages (1,100 bytes, each different) per round and prints
 * the median rate over ROUNDS rounds, measured in the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so
 * the figure says what one core does even while other work shares the machine; the wall-clock rate
 * is printed beside it. Every verification must succeed and a changed signature must fail, or the
 * program stops: a fast verifier that accepts everything is not measured.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign.h"

#define MSG_LEN 1100

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    size_t rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 9;
    if (count == 0 || rounds == 0 || rounds > 99) {
        fprintf(stderr, "usage: bench_sign [COUNT [ROUNDS (1..99)]]\n");
        return 2;
    }
    rk_key *key;
    rk_error err;
    if (rk_key_generate(&key, &err) != 0) {
        fprintf(stderr, "bench_sign: %s\n", err.message);
        return 1;
    }
    uint8_t pub[RK_KEY_LEN];
    rk_key_public(key, pub);
    uint8_t *msgs = malloc(count * MSG_LEN), *sigs = malloc(count * RK_SIG_LEN);
    if (!msgs || !sigs || rk_random(msgs, count * MSG_LEN) != 0) {
        fprintf(stderr, "bench_sign: out of memory or no random bytes\n");
        return 1;
    }
    double sign_cpu[99], verify_cpu[99], sign_wall[99], verify_wall[99];
    for (size_t r = 0; r < rounds; r++) {
        double c0 = cpu_now(), w0 = wall_now();
        for (size_t i = 0; i < count; i++)
            if (rk_sign(key, RK_SIGN_DOMAIN_RECORD, msgs + i * MSG_LEN, MSG_LEN, sigs + i * RK_SIG_LEN) != 0) {
                fprintf(stderr, "bench_sign: signing failed\n");
                return 1;
            }
        double c1 = cpu_now(), w1 = wall_now();
        for (size_t i = 0; i < count; i++)
            if (!rk_verify(pub, RK_SIGN_DOMAIN_RECORD, msgs + i * MSG_LEN, MSG_LEN, sigs + i * RK_SIG_LEN)) {
                fprintf(stderr, "bench_sign: a valid signature did not verify\n");
                return 1;
            }
        double c2 = cpu_now(), w2 = wall_now();
        sign_cpu[r] = (double)count / (c1 - c0);
        verify_cpu[r] = (double)count / (c2 - c1);
        sign_wall[r] = (double)count / (w1 - w0);
        verify_wall[r] = (double)count / (w2 - w1);
    }
    sigs[5] ^= 1;
    if (rk_verify(pub, RK_SIGN_DOMAIN_RECORD, msgs, MSG_LEN, sigs)) {
        fprintf(stderr, "bench_sign: a changed signature verified\n");
        return 1;
    }
    qsort(sign_cpu, rounds, sizeof(double), cmp_double);
    qsort(verify_cpu, rounds, sizeof(double), cmp_double);
    qsort(sign_wall, rounds, sizeof(double), cmp_double);
    qsort(verify_wall, rounds, sizeof(double), cmp_double);
    printf("bench_sign: %zu messages of %d bytes, median of %zu rounds, one thread\n", count, MSG_LEN, rounds);
    printf("  sign:   %8.0f per CPU second (%8.0f per wall second)\n", sign_cpu[rounds / 2], sign_wall[rounds / 2]);
    printf("  verify: %8.0f per CPU second (%8.0f per wall second)\n", verify_cpu[rounds / 2], verify_wall[rounds / 2]);
    free(msgs);
    free(sigs);
    rk_key_free(key);
    return 0;
}
