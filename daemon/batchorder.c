/* batchorder: own records of a writer batch in version order (invariants in batchorder.h). */
#include "batchorder.h"

#include <stdlib.h>
#include <string.h>

bool rk_batchorder_add(rk_batchorder *b, void *item, bool own, uint64_t version, const uint8_t *hash)
{
    if (b->n == RK_BATCHORDER_MAX)
        return false;
    b->item[b->n] = item;
    b->own[b->n] = own;
    b->version[b->n] = own ? version : 0;
    b->hash[b->n] = own ? hash : NULL;
    b->n++;
    return true;
}

static int own_cmp(const void *a, const void *b)
{
    const rk_batchorder_own *x = a, *y = b;
    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
    int c = memcmp(y->hash, x->hash, RK_BATCHORDER_HASH_LEN);
    if (c != 0)
        return c;
    return (x->index > y->index) - (x->index < y->index); /* stable */
}

bool rk_batchorder_sort(rk_batchorder *b)
{
    size_t k = 0;
    bool sorted = true;
    for (size_t i = 0; i < b->n; i++) {
        b->order[i] = i;
        if (!b->own[i])
            continue;
        b->scratch[k] = (rk_batchorder_own){.version = b->version[i], .hash = b->hash[i], .index = i};
        if (k > 0 && own_cmp(&b->scratch[k - 1], &b->scratch[k]) > 0)
            sorted = false;
        k++;
    }
    if (sorted)
        return false;
    qsort(b->scratch, k, sizeof *b->scratch, own_cmp);
    for (size_t i = 0, j = 0; i < b->n; i++)
        if (b->own[i])
            b->order[i] = b->scratch[j++].index;
    return true;
}
