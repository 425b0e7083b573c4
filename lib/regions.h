/* regions: the directory of the nodes whose records this node holds, for GET /v1/regions. */
#ifndef RENKEI_REGIONS_H
#define RENKEI_REGIONS_H

#include <jansson.h>

#include "feed_meta.h"
#include "store.h"

/* {"regions": [...], "count": n}, or NULL with err filled. */
json_t *rk_regions_json(rk_txn *t, const rk_feed_meta *m, rk_error *err);

#endif
