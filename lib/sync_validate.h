/* sync_validate: what an incoming Reconcile may hold (docs/reconciliation.md, *Validation of incoming
 * messages*): the limits every node accepts and the structural checks made before anything is
 * computed from a message. sync.h builds on it; a listener may check a message before choosing the
 * set to answer it from.
 */
#ifndef RENKEI_SYNC_VALIDATE_H
#define RENKEI_SYNC_VALIDATE_H

#include "renkei.pb-c.h"
#include "util.h"

#define RK_SYNC_MAX_RANGES 8192               /* ranges per message, sent and accepted */
#define RK_SYNC_MAX_IN_ITEMS 32768            /* items accepted in one incoming message, all ranges together */
#define RK_SYNC_MAX_COUNT (UINT64_C(1) << 48) /* largest count accepted in a FINGERPRINT range */

/* The structural checks of rk_sync_process (sync.h), which needs no set: 0, or -1 with err->code one
 * of unknown_set, too_many_ranges, unknown_mode, malformed_range, bad_fingerprint, bad_count,
 * bad_items, too_many_items (err->field names the range). */
int rk_sync_validate(const Renkei__Reconcile *msg, rk_error *err);

#endif
