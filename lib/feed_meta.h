/* feed_meta: what the renderers of the national view (feed, ical, csvout, xlsx, schema_event,
 * catalog) are told about the serving node and the page they render.
 */
#ifndef RENKEI_FEED_META_H
#define RENKEI_FEED_META_H

#include "record.h"
#include "util.h"

typedef struct rk_feed_meta {
    const char *node_name;   /* the serving node */
    const char *base_url;    /* the public address ([api] public_url); every absolute link starts with it */
    const char *self_url;    /* this page, absolute (NULL: base_url + the export's path) */
    const char *next_url;    /* the next page (RFC 5005 rel="next", JSON Feed next_url), or NULL */
    const uint8_t *node_key; /* serving node's key */
    /* returns the display name of an author, or NULL if unknown */
    const char *(*author_name)(const uint8_t author[RK_KEY_LEN], void *ctx);
    void *ctx;
} rk_feed_meta;

#endif
