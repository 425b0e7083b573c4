/* drainrate: how fast the writer empties its queue, for telling a pushing peer when its next push
 * will find room (docs/protocol.md, "busy"; daemon/peer_serve.c).
 *
 * The rate is nanoseconds per delivered item, an exponential average over the deliveries made while
 * work was outstanding. Invariants: idle time is never drain time (a measurement starts when work
 * arrives at an idle writer); the first delivery after idle is not a sample: it took the time to
 * verify and commit the first items (the pipeline filling), not the time per item once it runs, and
 * taking it as a rate overstated the wait a thousandfold (0.59 s for 96 records: a peer told to wait
 * 5 s for a writer that drained 3,000 records in 1.5 s).
 * Not thread-safe: the writer calls it under its lock.
 */
#ifndef RENKEI_DRAINRATE_H
#define RENKEI_DRAINRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The rate assumed before any delivery was measured: about what one core verifies. */
#define RK_DRAINRATE_DEFAULT_NS 200000.0

typedef struct rk_drainrate {
    double ns_per_item; /* 0 until measured */
    uint64_t from_ns;   /* start of the current measurement: the last delivery, or when work arrived */
    bool filling;       /* work arrived at an idle writer and nothing was delivered since */
} rk_drainrate;

/* Work arrived at an idle writer at now_ns. */
void rk_drainrate_start(rk_drainrate *r, uint64_t now_ns);
/* n items were delivered at now_ns. */
void rk_drainrate_delivered(rk_drainrate *r, size_t n, uint64_t now_ns);
/* Milliseconds to deliver excess items (rounded up: never 0 for excess > 0), at most UINT32_MAX. */
unsigned rk_drainrate_ms(const rk_drainrate *r, size_t excess);

#endif
