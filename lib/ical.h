/* ical: event records as iCalendar (RFC 5545) for calendar subscriptions. */
#ifndef RENKEI_ICAL_H
#define RENKEI_ICAL_H

#include "feed_meta.h"

/* A whole calendar of the events among recs (other kinds are skipped). */
int rk_ical_render(const rk_record *const *recs, size_t n, const rk_feed_meta *m, rk_buf *out);

/* Streaming form: begin, then one call per record in the order wanted, then end. A record that is
 * not an event renders nothing. truncated: the caller leaves matching events out, which the
 * calendar states (X-RENKEI-TRUNCATED:TRUE) so a subscriber can tell. */
int rk_ical_begin(const rk_feed_meta *m, bool truncated, rk_buf *out);
int rk_ical_event(const rk_record *rec, const rk_feed_meta *m, rk_buf *out);
int rk_ical_end(rk_buf *out);

#endif
