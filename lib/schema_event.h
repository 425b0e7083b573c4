/* schema_event: an event record as a schema.org Event in JSON-LD, the markup search engines and
 * portals read from a page that embeds it (<script type="application/ld+json">).
 */
#ifndef RENKEI_SCHEMA_EVENT_H
#define RENKEI_SCHEMA_EVENT_H

#include <jansson.h>

#include "feed_meta.h"

/* The Event object (without @context), or NULL for a record that is not an event with a usable
 * starts_at, or when memory runs out (*oom set). */
json_t *rk_schema_event(const rk_record *rec, const rk_feed_meta *m, bool *oom);

/* The streaming document: {"@context": "https://schema.org", "@graph": [ event, ... ]}. */
int rk_schema_events_begin(rk_buf *out);
int rk_schema_events_add(const rk_record *rec, const rk_feed_meta *m, bool *first, rk_buf *out);
int rk_schema_events_end(rk_buf *out);

#endif
