/* batchorder: own records of a writer batch in version order (invariants in batchorder.h). */
#include "batchorder.h"

#include <stdlib.h>

bool rk_batchorder_add(rk_batchorder *b, void *item, bool own, uint64_t version)
{
    if (b->n == RK_BATCHORDER_MAX)
        return false;
    b->item[b->n] = item;
    b->own[b->n] = own;
    b->version[b->n] = own ? version : 0;
    b->n++;
    return true;
}

static int own_cmp(const void *a, const void *b)
{
    const rk_batchorder_own *x = a, *y = b;
    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
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
        if (k > 0 && b->version[i] < b->scratch[k - 1].version)
            sorted = false;
        b->scratch[k++] = (rk_batchorder_own){.version = b->version[i], .index = i};
    }
    if (sorted)
        return false;
    qsort(b->scratch, k, sizeof *b->scratch, own_cmp);
    for (size_t i = 0, j = 0; i < b->n; i++)
        if (b->own[i])
            b->order[i] = b->scratch[j++].index;
    return true;
}
