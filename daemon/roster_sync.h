/* roster_sync: the lists of the roster exchange (docs/protocol.md, "Roster"): the items of this
 * node's membership records, the check of a peer's list, and the difference between the two.
 * Pure functions over the store and memory; the dialer (peer_dial_roster.c) and the listener
 * (peer_serve.c) speak the messages. */
#ifndef RENKEI_ROSTER_SYNC_H
#define RENKEI_ROSTER_SYNC_H

#include "store.h"
#include "util.h"

#define RK_ROSTER_SYNC_MAX_ITEMS 10000 /* items in one RosterItems; more are left to reconciliation */

/* Appends to out the items (version be64 || hash) of the current endorse, rotate and revoke records
 * in the store, ascending, at most RK_ROSTER_SYNC_MAX_ITEMS (the lowest). 0, or -1 with err. */
int rk_roster_sync_items(rk_store *store, rk_buf *out, rk_error *err);
/* NULL when items[0..len) is a list we accept (a multiple of 40 bytes, at most the maximum, strictly
 * ascending), else the rejection code. */
const char *rk_roster_sync_check(const uint8_t *items, size_t len);
/* Both lists ascending: appends to need the hashes of theirs that ours lacks, to have the items of
 * ours that theirs lacks. 0, or -1 when out of memory. */
int rk_roster_sync_diff(const uint8_t *ours, size_t n_ours, const uint8_t *theirs, size_t n_theirs, rk_buf *need,
                        rk_buf *have);

#endif
