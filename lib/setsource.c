/* setsource: the sets reconciliation reads (setsource.h): the store's RBSR sets through a read
 * transaction, and two in-memory sets: one summed item by item (the reference for the store's index),
 * one with prefix sums (fast at millions of items).
 */
#include "setsource.h"

#include <stdlib.h>
#include <string.h>

#include "fpdigest.h"

static int nomem(rk_error *err)
{
    return rk_fail(err, "no_memory", "", "out of memory in reconciliation");
}

/* ---- the store as a set source ----------------------------------------------------------------- */

#define STORE_ADAPTER(set)                                                                                     \
    static int store_fp_##set(void *ctx, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],         \
                              uint64_t *count, uint8_t fp[RK_FP_LEN], rk_error *err)                           \
    {                                                                                                          \
        return rk_store_set_fingerprint(ctx, set, lo, hi, count, fp, err);                                     \
    }                                                                                                          \
    static int store_items_##set(void *ctx, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],      \
                                 size_t limit, rk_item_cb cb, void *cbctx, rk_error *err)                      \
    {                                                                                                          \
        return rk_store_set_items(ctx, set, lo, hi, limit, cb, cbctx, err);                                    \
    }                                                                                                          \
    static int store_nth_##set(void *ctx, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN], \
                               uint8_t next[RK_ITEM_LEN], rk_error *err)                                       \
    {                                                                                                          \
        return rk_store_set_nth_pair(ctx, set, lo, n, out, next, err);                                         \
    }

STORE_ADAPTER(0)
STORE_ADAPTER(1)

void rk_set_source_from_store(rk_set_source *src, rk_txn *t, int set)
{
    /* The set is baked into the functions so the source needs no storage of its own. */
    src->ctx = t;
    if (set == RK_SET_MEMBERS) {
        src->fingerprint = store_fp_1;
        src->items = store_items_1;
        src->nth = store_nth_1;
    } else {
        src->fingerprint = store_fp_0;
        src->items = store_items_0;
        src->nth = store_nth_0;
    }
}

/* ---- in-memory sets ------------------------------------------------------------------------------ */

static size_t memory_lower_bound(const rk_memory_set *s, const uint8_t key[RK_ITEM_LEN])
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(s->items + mid * RK_ITEM_LEN, key, RK_ITEM_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Sums of hashes as 256-bit little-endian integers modulo 2^256 (sign > 0 adds h to acc, else
 * subtracts it), and the fingerprint of a sum and a count: the definition in store.h. */
static void sum_add(uint8_t acc[RK_HASH_LEN], const uint8_t h[RK_HASH_LEN], int sign)
{
    int carry = 0;
    for (size_t k = 0; k < RK_HASH_LEN; k++) {
        int v = sign > 0 ? acc[k] + h[k] + carry : acc[k] - h[k] - carry;
        carry = sign > 0 ? v >> 8 : v < 0;
        acc[k] = (uint8_t)v;
    }
}

static void sum_fingerprint(const uint8_t sum[RK_HASH_LEN], uint64_t count, uint8_t fp[RK_FP_LEN])
{
    rk_fpdigest(sum, count, fp);
}

/* The items of s in [lo, hi): first index *a, end *b. */
static void memory_range(const rk_memory_set *s, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                         size_t *a, size_t *b)
{
    *a = memory_lower_bound(s, lo);
    *b = memory_lower_bound(s, hi);
    if (*b < *a)
        *b = *a;
}

static int memory_fingerprint(void *ctx, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], uint64_t *count,
                              uint8_t fp[RK_FP_LEN], rk_error *err)
{
    (void)err;
    const rk_memory_set *s = ctx;
    size_t a, b;
    memory_range(s, lo, hi, &a, &b);
    uint8_t sum[RK_HASH_LEN] = {0};
    for (size_t i = a; i < b; i++)
        sum_add(sum, s->items + i * RK_ITEM_LEN + 8, 1);
    *count = b - a;
    sum_fingerprint(sum, *count, fp);
    return 0;
}

static int memory_items(void *ctx, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], size_t limit,
                        rk_item_cb cb, void *cbctx, rk_error *err)
{
    (void)err;
    const rk_memory_set *s = ctx;
    size_t a, b;
    memory_range(s, lo, hi, &a, &b);
    for (size_t i = a, k = 0; i < b && (limit == 0 || k < limit); i++, k++)
        if (cb(s->items + i * RK_ITEM_LEN, cbctx))
            break;
    return 0;
}

static int memory_nth(void *ctx, const uint8_t lo[RK_ITEM_LEN], uint64_t n, uint8_t out[RK_ITEM_LEN],
                      uint8_t next[RK_ITEM_LEN], rk_error *err)
{
    (void)err;
    const rk_memory_set *s = ctx;
    size_t a = memory_lower_bound(s, lo);
    if (n >= s->count - a)
        return 0;
    memcpy(out, s->items + (a + n) * RK_ITEM_LEN, RK_ITEM_LEN);
    if (n + 1 >= s->count - a)
        return 1;
    memcpy(next, s->items + (a + n + 1) * RK_ITEM_LEN, RK_ITEM_LEN);
    return 2;
}

void rk_set_source_from_memory(rk_set_source *src, rk_memory_set *set)
{
    src->fingerprint = memory_fingerprint;
    src->items = memory_items;
    src->nth = memory_nth;
    src->ctx = set;
}

/* ---- in-memory sets with prefix sums ------------------------------------------------------------- */

int rk_summed_set_init(rk_summed_set *s, rk_error *err)
{
    s->sums = calloc(s->set.count + 1, RK_HASH_LEN);
    if (!s->sums)
        return nomem(err);
    for (size_t i = 0; i < s->set.count; i++) {
        memcpy(s->sums + (i + 1) * RK_HASH_LEN, s->sums + i * RK_HASH_LEN, RK_HASH_LEN);
        sum_add(s->sums + (i + 1) * RK_HASH_LEN, s->set.items + i * RK_ITEM_LEN + 8, 1);
    }
    return 0;
}

void rk_summed_set_free(rk_summed_set *s)
{
    free(s->sums);
    s->sums = NULL;
}

static int summed_fingerprint(void *ctx, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN], uint64_t *count,
                              uint8_t fp[RK_FP_LEN], rk_error *err)
{
    (void)err;
    const rk_summed_set *s = ctx;
    size_t a, b;
    memory_range(&s->set, lo, hi, &a, &b);
    uint8_t sum[RK_HASH_LEN];
    memcpy(sum, s->sums + b * RK_HASH_LEN, RK_HASH_LEN);
    sum_add(sum, s->sums + a * RK_HASH_LEN, -1);
    *count = b - a;
    sum_fingerprint(sum, *count, fp);
    return 0;
}

void rk_set_source_from_summed(rk_set_source *src, rk_summed_set *s)
{
    /* items and nth read the memory set, the first member of s */
    rk_set_source_from_memory(src, &s->set);
    src->fingerprint = summed_fingerprint;
    src->ctx = s;
}
