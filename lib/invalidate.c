/* invalidate: records a new roster no longer takes (see invalidate.h). */
#include "invalidate.h"

/* The highest version of key's records the roster takes; 0 when it takes none. */
static uint64_t valid_until(const rk_member_entry *e)
{
    return e && e->was_member ? e->cutoff : 0;
}

int rk_invalidate_records(rk_txn *t, const rk_membership *before, const rk_membership *after, uint64_t *removed,
                          rk_error *err)
{
    *removed = 0;
    for (size_t i = 0; i < before->count; i++) {
        const rk_member_entry *old = &before->entries[i];
        uint64_t was = valid_until(old), now = valid_until(rk_membership_find(after, old->key));
        if (now >= was)
            continue;
        uint64_t n;
        if (rk_store_remove_after(t, old->key, now, &n, err) != 0)
            return -1;
        *removed += n;
    }
    return 0;
}
