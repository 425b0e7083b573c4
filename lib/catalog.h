/* catalog: the node's public records described as a DCAT catalog in JSON-LD, the form CKAN's DCAT
 * harvester (ckanext-dcat) reads, so a national or prefectural open-data portal lists them.
 */
#ifndef RENKEI_CATALOG_H
#define RENKEI_CATALOG_H

#include "feed_meta.h"

/* newest[kind]: the version (ms) of the newest public record of each Renkei__Kind (case, event,
 * region), 0 when the node has none of that kind (the kind then has no dataset). */
int rk_catalog_jsonld(const rk_feed_meta *m, const uint64_t newest[4], rk_buf *out);

#endif
