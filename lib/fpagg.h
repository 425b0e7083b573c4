/* fpagg: the aggregate the RBSR fingerprint index keeps per trie bucket (docs/storage.md, "The RBSR
 * fingerprint index"): the count and the 256-bit sum of the item hashes below it, with the layout of
 * the index's keys and values.
 *
 * Sums are kept little-endian in four 64-bit limbs and wrap modulo 2^256, so adding and removing an
 * item are exact inverses and a range is the difference of two prefix aggregates. Header-only: these
 * run once per cursor step of every fingerprint walk, in lib/fpset.c and lib/fpcache.c alike.
 */
#ifndef RENKEI_FPAGG_H
#define RENKEI_FPAGG_H

#include <endian.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fpdigest.h"
#include "sign.h"

#define RK_ITEM_LEN 40 /* a set's item: version(be64) || hash */
#define RK_FP_LEN 16
_Static_assert(RK_FP_LEN == RK_FPDIGEST_LEN, "the index hashes what reconciliation sends");
#define RK_FP_DEPTH 10                  /* prefix lengths 1..10 are aggregated, plus the root */
#define RK_FP_KEY_MAX (1 + RK_FP_DEPTH) /* level byte || prefix */
#define RK_FP_VAL_LEN (8 + 32)          /* count(le64) || sum(32 bytes little-endian) */

/* Count and 256-bit sum of the item hashes of a range of a reconciliation set. */
typedef struct rk_fpagg {
    uint64_t count;
    uint64_t sum[4]; /* little-endian limbs of the 256-bit sum */
} rk_fpagg;

/* One load or store and a byte swap where the host is big-endian: gcc did not merge the byte loop
 * these were, which made decoding an item's hash a hundred instructions of the one-pass answers. */
static inline void rk_fpagg_put_le64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, 8);
}

static inline uint64_t rk_fpagg_get_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

static inline void rk_fpagg_add(rk_fpagg *a, const rk_fpagg *b)
{
    unsigned carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = a->sum[i] + b->sum[i];
        unsigned c1 = x < a->sum[i];
        uint64_t y = x + carry;
        unsigned c2 = y < x;
        a->sum[i] = y;
        carry = c1 | c2;
    }
    a->count += b->count;
}

static inline void rk_fpagg_sub(rk_fpagg *a, const rk_fpagg *b)
{
    unsigned borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = a->sum[i] - b->sum[i];
        unsigned b1 = a->sum[i] < b->sum[i];
        uint64_t y = x - borrow;
        unsigned b2 = x < borrow;
        a->sum[i] = y;
        borrow = b1 | b2;
    }
    a->count -= b->count;
}

static inline void rk_fpagg_of_hash(rk_fpagg *a, const uint8_t hash[RK_HASH_LEN])
{
    a->count = 1;
    for (int i = 0; i < 4; i++)
        a->sum[i] = rk_fpagg_get_le64(hash + 8 * i);
}

static inline void rk_fpagg_decode(rk_fpagg *a, const MDB_val *v)
{
    const uint8_t *p = v->mv_data;
    a->count = rk_fpagg_get_le64(p);
    for (int i = 0; i < 4; i++)
        a->sum[i] = rk_fpagg_get_le64(p + 8 + 8 * i);
}

static inline void rk_fpagg_encode(const rk_fpagg *a, uint8_t out[RK_FP_VAL_LEN])
{
    rk_fpagg_put_le64(out, a->count);
    for (int i = 0; i < 4; i++)
        rk_fpagg_put_le64(out + 8 + 8 * i, a->sum[i]);
}

/* The first 16 bytes of SHA-256(sum || count(le64)): what reconciliation compares. */
static inline void rk_fpagg_fingerprint(const rk_fpagg *a, uint8_t fp[RK_FP_LEN])
{
    uint8_t sum[32];
    for (int i = 0; i < 4; i++)
        rk_fpagg_put_le64(sum + 8 * i, a->sum[i]);
    rk_fpdigest(sum, a->count, fp);
}

/* True if key is a bucket of `level` whose first level-1 prefix bytes equal parent. */
static inline bool rk_fpagg_is_child(const MDB_val *k, int level, const uint8_t *parent)
{
    return k->mv_size == 1 + (size_t)level && ((const uint8_t *)k->mv_data)[0] == level &&
           memcmp((const uint8_t *)k->mv_data + 1, parent, (size_t)level - 1) == 0;
}

/* memcmp of two items, deciding on the version alone when it differs (as it mostly does). */
static inline int rk_fpagg_item_cmp(const uint8_t a[RK_ITEM_LEN], const uint8_t b[RK_ITEM_LEN])
{
    uint64_t va = 0, vb = 0;
    for (int i = 0; i < 8; i++) {
        va = (va << 8) | a[i]; /* gcc and clang make these loads and byte swaps */
        vb = (vb << 8) | b[i];
    }
    if (va != vb)
        return va < vb ? -1 : 1;
    return memcmp(a + 8, b + 8, RK_ITEM_LEN - 8);
}

#endif
