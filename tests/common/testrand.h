/* testrand: the reproducible pseudo-random numbers of the unit tests and benchmarks. xorshift64, so
 * a seed gives the same records, set items and differences on every machine and a failing case or a
 * benchmark figure can be reproduced from its seed. Not for anything secret; the state must not be 0. */
#ifndef RENKEI_TESTRAND_H
#define RENKEI_TESTRAND_H

#include <stdint.h>
#include <string.h>

#include "fpset.h"
#include "util.h"

static inline uint64_t rk_test_rand(uint64_t *st)
{
    uint64_t x = *st;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *st = x;
}

/* A set item as real sets hold them: a version in milliseconds within 2025, then a random hash. */
static inline void rk_test_random_item(uint64_t *st, uint8_t out[RK_ITEM_LEN])
{
    rk_put_be64(out, UINT64_C(1735689600000) + rk_test_rand(st) % UINT64_C(31536000000));
    for (size_t k = 8; k < RK_ITEM_LEN; k += 8) {
        uint64_t v = rk_test_rand(st);
        memcpy(out + k, &v, 8);
    }
}

#endif
