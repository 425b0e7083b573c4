/* latefilters: the late filter postings of one write transaction, written when it commits.
 *
 * A record older than the newest of one of its filter lists (a repair's, spread over a year) puts its
 * posting into that list's side list (lib/postings.h, Late postings). Written at each put, every such
 * record rewrote a block of the side list of each of its ~7.5 lists, read to place it, and read and
 * rewrote the side list's last block for its count: a third of a receiving writer's CPU. Gathered
 * here instead, they are written by rk_txn_commit (rk_txn_deferred), sorted by list and then oldest
 * first, each list's run placed at once: a block of a side list is rewritten once per transaction for
 * all the records it takes, as the full-text batch does for token lists.
 *
 * Invariants: a posting is gathered only when it is late when its record is put, and stays late (a
 * list's last block key only grows while a transaction adds to it), so writing it at the commit puts
 * it where a put would have. Nothing reads filter lists inside a write transaction but the removal of
 * a replaced version, which drops a gathered posting of its record (rk_latefilters_drop); queries run
 * in read transactions, which see the transaction only once it has committed, with everything written.
 * What is gathered lives as long as the transaction: an abort drops it with the rest, so a crash or
 * a failed commit loses nothing that was committed and keeps nothing that was not. */
#ifndef RENKEI_LATEFILTERS_H
#define RENKEI_LATEFILTERS_H

#include <stdint.h>

#include "postings.h"
#include "txn.h"

/* Gathers the posting of seq (sort key sk, attribute attr) for filter list l, to be written into its
 * side list when t commits. 0, or -1 with err (out of memory; t is then aborted). */
int rk_latefilters_add(rk_txn *t, const rk_postings_list *l, uint64_t seq, const uint8_t sk[RK_SORT_KEY_LEN],
                       uint8_t attr, rk_error *err);
/* Forgets every gathered posting of seq (its record is being replaced or deleted in t). */
void rk_latefilters_drop(rk_txn *t, uint64_t seq);
/* Writes what t has gathered now (the commit does it too): for those that read the lists inside t. */
int rk_latefilters_write(rk_txn *t, rk_error *err);

#endif
