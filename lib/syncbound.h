/* syncbound: range bounds of reconciliation as sync.c and sync_validate.c read them: 40-byte keys of
 * the item space [00 x 40, FF x 40), where forty 0xFF bytes stand for +infinity (no item can be
 * that, docs/reconciliation.md) and a bound on the wire is a prefix padded with zero bytes.
 */
#ifndef RENKEI_SYNCBOUND_H
#define RENKEI_SYNCBOUND_H

#include <stdbool.h>
#include <string.h>

#include "renkei.pb-c.h"
#include "fpset.h"

static const uint8_t rk_sync_zero_bound[RK_ITEM_LEN] = {0};

static inline void rk_sync_bound_inf(uint8_t b[RK_ITEM_LEN])
{
    memset(b, 0xff, RK_ITEM_LEN);
}

static inline bool rk_sync_bound_is_inf(const uint8_t b[RK_ITEM_LEN])
{
    for (size_t i = 0; i < RK_ITEM_LEN; i++)
        if (b[i] != 0xff)
            return false;
    return true;
}

/* A wire bound: empty means +infinity, otherwise a prefix padded with zero bytes. */
static inline void rk_sync_bound_from_wire(const ProtobufCBinaryData *u, uint8_t out[RK_ITEM_LEN])
{
    if (u->len == 0) {
        rk_sync_bound_inf(out);
        return;
    }
    memset(out, 0, RK_ITEM_LEN);
    memcpy(out, u->data, u->len);
}

#endif
