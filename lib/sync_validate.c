/* sync_validate: the structural checks of an incoming Reconcile (docs/reconciliation.md,
 * *Validation of incoming messages*), made before anything is computed from it, so that answering
 * never reads outside the message. A message renkei sends always passes them (fuzz_peer asserts it).
 */
#include "sync_validate.h"

#include <stdio.h>
#include <string.h>

#include "fpset.h"
#include "syncbound.h"

/* Checks one range of a message: lo is the bound the previous one ended at (its upper bound goes into
 * hi), *total_items the items of the ranges before it. 0, or -1 with err (its field left for the
 * caller, which knows the range's index). */
static int validate_range(const Renkei__SyncRange *r, bool last, const uint8_t lo[RK_ITEM_LEN], uint8_t hi[RK_ITEM_LEN],
                          size_t *total_items, rk_error *err)
{
    if (!r)
        return rk_fail(err, "malformed_range", "", "missing range");
    if (r->mode != RENKEI__RANGE_MODE__RANGE_MODE_SKIP && r->mode != RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT &&
        r->mode != RENKEI__RANGE_MODE__RANGE_MODE_ITEMS)
        return rk_fail(err, "unknown_mode", "", "unknown range mode %d", (int)r->mode);
    if (r->upper.len > RK_ITEM_LEN)
        return rk_fail(err, "malformed_range", "", "upper bound longer than %d bytes", RK_ITEM_LEN);
    if (last != (r->upper.len == 0))
        return rk_fail(err, "malformed_range", "",
                       last ? "the last range must end at infinity" : "only the last range may end at infinity");
    rk_sync_bound_from_wire(&r->upper, hi);
    if (!last && rk_sync_bound_is_inf(hi))
        return rk_fail(err, "malformed_range", "", "reserved upper bound");
    if (memcmp(hi, lo, RK_ITEM_LEN) <= 0)
        return rk_fail(err, "malformed_range", "", "ranges are not ascending");
    if (r->mode == RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT) {
        if (r->fingerprint.len != RK_FP_LEN)
            return rk_fail(err, "bad_fingerprint", "", "fingerprint must be %d bytes", RK_FP_LEN);
        if (r->count > RK_SYNC_MAX_COUNT)
            return rk_fail(err, "bad_count", "", "count out of range");
    } else if (r->fingerprint.len != 0 || r->count != 0) {
        return rk_fail(err, "malformed_range", "", "fingerprint or count outside a FINGERPRINT range");
    }
    if (r->mode == RENKEI__RANGE_MODE__RANGE_MODE_ITEMS) {
        if (r->items.len % RK_ITEM_LEN != 0)
            return rk_fail(err, "bad_items", "", "items must be a multiple of %d bytes", RK_ITEM_LEN);
        size_t n = r->items.len / RK_ITEM_LEN;
        if (n > RK_SYNC_MAX_IN_ITEMS - *total_items)
            return rk_fail(err, "too_many_items", "", "more than %d items in one message", RK_SYNC_MAX_IN_ITEMS);
        *total_items += n;
        const uint8_t *prev = NULL;
        for (size_t k = 0; k < n; k++) {
            const uint8_t *it = r->items.data + k * RK_ITEM_LEN;
            if (prev ? memcmp(prev, it, RK_ITEM_LEN) >= 0 : memcmp(lo, it, RK_ITEM_LEN) > 0)
                return rk_fail(err, "bad_items", "", "items not ascending or below the range");
            if (memcmp(it, hi, RK_ITEM_LEN) >= 0)
                return rk_fail(err, "bad_items", "", "item above the range");
            prev = it;
        }
    } else if (r->items.len != 0) {
        return rk_fail(err, "malformed_range", "", "items outside an ITEMS range");
    }
    return 0;
}

int rk_sync_validate(const Renkei__Reconcile *msg, rk_error *err)
{
    if (!msg)
        return rk_fail(err, "malformed_range", "", "no reconcile message");
    if (msg->set != RK_SET_PUBLIC && msg->set != RK_SET_MEMBERS)
        return rk_fail(err, "unknown_set", "set", "unknown set %u", (unsigned)msg->set);
    if (msg->n_ranges == 0)
        return rk_fail(err, "malformed_range", "ranges", "a reconcile message needs at least one range");
    if (msg->n_ranges > RK_SYNC_MAX_RANGES)
        return rk_fail(err, "too_many_ranges", "ranges", "%zu ranges, at most %d accepted", msg->n_ranges,
                       RK_SYNC_MAX_RANGES);
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
    memcpy(lo, rk_sync_zero_bound, RK_ITEM_LEN);
    size_t total_items = 0;
    for (size_t i = 0; i < msg->n_ranges; i++) {
        if (validate_range(msg->ranges[i], i + 1 == msg->n_ranges, lo, hi, &total_items, err) != 0) {
            /* the field is named only on failure: formatting it for every range cost more than the checks */
            if (err)
                snprintf(err->field, sizeof err->field, "ranges[%zu]", i);
            return -1;
        }
        memcpy(lo, hi, RK_ITEM_LEN);
    }
    return 0;
}
