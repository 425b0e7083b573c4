/* stats: counts over current records for /v1/stats (lib/stats.c says which records count and how).
 * Add each record, then render; the clock is the caller's (now_s).
 */
#ifndef RENKEI_STATS_H
#define RENKEI_STATS_H

#include <jansson.h>

#include "record.h"

typedef struct rk_stats rk_stats;
rk_stats *rk_stats_new(int64_t now_s);
void rk_stats_add(rk_stats *s, const rk_record *rec);
json_t *rk_stats_to_json(const rk_stats *s);
void rk_stats_free(rk_stats *s);

#endif
