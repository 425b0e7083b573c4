/* gauges: the node's state as /metrics gauges (peers, records, the LMDB map, the build), declared at
 * start-up and refreshed on each scrape.
 */
#ifndef RENKEI_GAUGES_H
#define RENKEI_GAUGES_H

#include "node.h"

/* Describes every gauge, and the counters whose label values are known in advance, at zero. */
void rk_gauges_declare(rk_node *node);
/* Reads the store and gossip state into the gauges; loop thread (gossip state is the loop's). */
void rk_gauges_refresh(rk_node *node);

#endif
