/* grow: capacity doubling for the daemon's growable arrays (connections, contexts, peers, queues).
 * Header-only: one small function each array's owner calls before appending. */
#ifndef RENKEI_GROW_H
#define RENKEI_GROW_H

#include <stdlib.h>

/* Returns an array with room for `need` elements of `elem` bytes: p itself if it already has it,
 * else p reallocated to double capacity (at least 8), with *cap updated. On allocation failure
 * returns NULL and leaves p and *cap untouched, so the caller still owns p. */
static inline void *rk_grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    if (q)
        *cap = n;
    return q;
}

#endif
