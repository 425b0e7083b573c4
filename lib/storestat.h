/* storestat: the store's size and record counts for monitoring (the /metrics gauges), each read in
 * time that does not grow with the number of records.
 */
#ifndef RENKEI_STORESTAT_H
#define RENKEI_STORESTAT_H

#include "store.h"

typedef struct rk_storestat {
    uint64_t map_size;         /* bytes LMDB may use ([node] map_size) */
    uint64_t map_used;         /* bytes of the map in use: pages up to the last one written */
    uint64_t by_kind[5];       /* current records by Renkei__Kind (tombstones under KIND_TOMBSTONE) */
    uint64_t by_visibility[4]; /* current versions by Renkei__Visibility, tombstones included */
} rk_storestat;

int rk_storestat_read(rk_txn *t, rk_storestat *out, rk_error *err);

#endif
