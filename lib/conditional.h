/* conditional: HTTP validators of the exports (lib/conditional.c): If-None-Match against an ETag,
 * Last-Modified dates, and the If-Modified-Since decision (RFC 9110 13.1). */
#ifndef RENKEI_CONDITIONAL_H
#define RENKEI_CONDITIONAL_H

#include <stdbool.h>
#include <stdint.h>

/* If-None-Match: "*" or a list of entity tags, compared weakly with etag (a quoted strong tag). */
bool rk_conditional_etag_matches(const char *header, const char *etag);
/* The IMF-fixdate of epoch seconds ("" if it has none). */
void rk_conditional_date(int64_t epoch, char out[40]);
/* Parses an IMF-fixdate into epoch seconds: 0, or -1 if it is not one. */
int rk_conditional_parse_date(const char *s, int64_t *out);
/* Whether If-Modified-Since (NULL if absent) answers 304 for a body whose newest record has version
 * newest (ms); If-None-Match (NULL if absent) takes precedence, so when it was sent this is false. */
bool rk_conditional_not_modified(const char *if_none_match, const char *if_modified_since, uint64_t newest);

#endif
