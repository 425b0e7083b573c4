/* drainrate: the writer's drain rate (see drainrate.h for the invariants and why). */
#include "drainrate.h"

/* Weight of the newest delivery in the average: a few commits follow a change of pace. */
#define DRAINRATE_WEIGHT 0.3

void rk_drainrate_start(rk_drainrate *r, uint64_t now_ns)
{
    r->from_ns = now_ns;
    r->filling = true;
}

void rk_drainrate_delivered(rk_drainrate *r, size_t n, uint64_t now_ns)
{
    if (n == 0)
        return;
    double per = (double)(now_ns - r->from_ns) / (double)n;
    r->from_ns = now_ns;
    if (r->filling) {
        r->filling = false;
        return;
    }
    r->ns_per_item = r->ns_per_item > 0 ? DRAINRATE_WEIGHT * per + (1 - DRAINRATE_WEIGHT) * r->ns_per_item : per;
}

unsigned rk_drainrate_ms(const rk_drainrate *r, size_t excess)
{
    if (excess == 0)
        return 0;
    double per = r->ns_per_item > 0 ? r->ns_per_item : RK_DRAINRATE_DEFAULT_NS;
    double ms = (double)excess * per / 1e6 + 1; /* rounded up: never "now" while over the target */
    return ms >= (double)UINT32_MAX ? UINT32_MAX : (unsigned)ms;
}
