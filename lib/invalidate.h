/* invalidate: removes from the store the records a new roster no longer takes (docs/membership.md,
 * "Records invalidated later").
 *
 * When a revocation moves a key's cutoff below records already stored (a `since` before them), or a
 * key stops being a member at all (a revocation that reaches back undoes the endorsement that
 * admitted it), those records are invalid on every node; each node removes them, so the record sets
 * converge instead of differing forever. Only keys whose valid range shrank between the two rosters
 * are looked at, so the cost is in proportion to the records removed, not to the store.
 */
#ifndef RENKEI_INVALIDATE_H
#define RENKEI_INVALIDATE_H

#include "membership.h"
#include "store.h"

/* In the caller's write transaction; *removed gets how many records went. */
int rk_invalidate_records(rk_txn *t, const rk_membership *before, const rk_membership *after, uint64_t *removed,
                          rk_error *err);

#endif
