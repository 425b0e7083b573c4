/* schema_event: event records as schema.org Event JSON-LD (https://schema.org/Event).
 *
 * Invariants: @id is the record's network-wide identity (urn:renkei:<author hex>:<rid>, as the
 * feeds' entry ids), so a page embedding the same event from two nodes names one event. Dates keep
 * the precision the publisher gave: a full date-time with its offset, a date (day precision), a
 * year-month (month precision), or the 年度 as 1 April .. 31 March (fiscal-year precision); schema.org
 * takes ISO 8601 dates at each of these precisions. The status maps onto schema.org's EventStatusType
 * (cancelled → EventCancelled, changed → EventRescheduled); the others are EventScheduled.
 */
#include "schema_event.h"

#include <stdlib.h>
#include <string.h>

#include "taxonomy.h"

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

static int jset(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

static int jset_opt(json_t *o, const char *k, const char *s)
{
    return s && *s ? jset(o, k, json_string(s)) : 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static void civil(int64_t epoch, int offset, int *y, int *mo, int *d)
{
    rk_civil_from_days(floor_div(epoch + offset, 86400), y, mo, d);
}

/* startDate and endDate at the publisher's precision. 0, or -1 when starts_at is unusable. */
static int dates(const Renkei__Event *e, char start[40], char end[40])
{
    int64_t s, t;
    int soff, toff;
    if (!e->starts_at || rk_parse_rfc3339(e->starts_at, &s, &soff) != 0)
        return -1;
    bool has_end = e->ends_at && *e->ends_at && rk_parse_rfc3339(e->ends_at, &t, &toff) == 0 && t >= s;
    if (!has_end) {
        t = s;
        toff = soff;
    }
    int y, mo, d, ey, emo, ed;
    civil(s, soff, &y, &mo, &d);
    civil(t, toff, &ey, &emo, &ed);
    switch (e->date_precision) {
    case RENKEI__DATE_PRECISION__DATE_PRECISION_DAY:
        snprintf(start, 40, "%04d-%02d-%02d", y, mo, d);
        snprintf(end, 40, "%04d-%02d-%02d", ey, emo, ed);
        break;
    case RENKEI__DATE_PRECISION__DATE_PRECISION_MONTH:
        snprintf(start, 40, "%04d-%02d", y, mo);
        snprintf(end, 40, "%04d-%02d", y, mo);
        break;
    case RENKEI__DATE_PRECISION__DATE_PRECISION_FISCAL_YEAR: {
        int fy = mo >= 4 ? y : y - 1;
        snprintf(start, 40, "%04d-04-01", fy);
        snprintf(end, 40, "%04d-03-31", fy + 1);
        break;
    }
    default:
        snprintf(start, 40, "%s", e->starts_at);
        snprintf(end, 40, "%s", has_end ? e->ends_at : e->starts_at);
        break;
    }
    return 0;
}

static const char *status_iri(int status)
{
    switch (status) {
    case RENKEI__EVENT_STATUS__EVENT_STATUS_CANCELLED: return "https://schema.org/EventCancelled";
    case RENKEI__EVENT_STATUS__EVENT_STATUS_CHANGED: return "https://schema.org/EventRescheduled";
    default: return "https://schema.org/EventScheduled";
    }
}

static const char *attendance_iri(int format)
{
    switch (format) {
    case RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE: return "https://schema.org/OnlineEventAttendanceMode";
    case RENKEI__EVENT_FORMAT__EVENT_FORMAT_HYBRID: return "https://schema.org/MixedEventAttendanceMode";
    default: return "https://schema.org/OfflineEventAttendanceMode";
    }
}

static json_t *place(const Renkei__Event *e)
{
    const char *pref = e->venue && nz(e->venue->prefecture) ? e->venue->prefecture : e->prefecture;
    const char *pname = pref ? rk_prefecture_name(pref) : NULL;
    json_t *p = json_object();
    if (!p || jset(p, "@type", json_string("Place")) || jset_opt(p, "name", e->venue ? e->venue->name : NULL))
        goto fail;
    json_t *a = json_object();
    if (jset(p, "address", a) || jset(a, "@type", json_string("PostalAddress")) ||
        jset_opt(a, "streetAddress", e->venue ? e->venue->address : NULL) || jset_opt(a, "addressRegion", pname) ||
        jset(a, "addressCountry", json_string("JP")))
        goto fail;
    return p;
fail:
    json_decref(p);
    return NULL;
}

json_t *rk_schema_event(const rk_record *rec, const rk_feed_meta *m, bool *oom)
{
    *oom = false;
    if (!rec || !rec->msg || rec->msg->body_case != RENKEI__RECORD__BODY_EVENT || !rec->msg->event)
        return NULL;
    const Renkei__Record *r = rec->msg;
    const Renkei__Event *e = r->event;
    char start[40], end[40];
    if (dates(e, start, end) != 0)
        return NULL;
    char hex[2 * RK_KEY_LEN + 1] = "";
    if (r->author.len == RK_KEY_LEN)
        rk_hex_encode(r->author.data, RK_KEY_LEN, hex);
    char id[2 * RK_KEY_LEN + RK_RID_MAX + 32];
    snprintf(id, sizeof id, "urn:renkei:%s:%s", hex, r->rid ? r->rid : "");
    const char *org = nz(e->organiser);
    if (!org && m && m->author_name && r->author.len == RK_KEY_LEN)
        org = nz(m->author_name(r->author.data, m->ctx));
    json_t *o = json_object();
    if (!o || jset(o, "@type", json_string("Event")) || jset(o, "@id", json_string(id)) ||
        jset(o, "name", json_string(e->title ? e->title : "")) || jset_opt(o, "description", e->summary) ||
        jset(o, "startDate", json_string(start)) || jset(o, "endDate", json_string(end)) ||
        jset(o, "eventStatus", json_string(status_iri((int)e->status))) ||
        jset(o, "eventAttendanceMode", json_string(attendance_iri((int)e->format))) ||
        jset(o, "inLanguage", json_string(r->language && *r->language ? r->language : "ja")) ||
        jset_opt(o, "url", e->application_url))
        goto fail;
    /* schema.org wants a location: the venue for events in a place, a VirtualLocation online */
    json_t *loc = NULL;
    if (e->format == RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE && !e->venue) {
        loc = json_object();
        if (jset(o, "location", loc) || jset(loc, "@type", json_string("VirtualLocation")) ||
            jset(loc, "name", json_string(nz(e->online_platform) ? e->online_platform : "オンライン")))
            goto fail;
    } else if (jset(o, "location", place(e))) {
        goto fail;
    }
    if (org) {
        json_t *who = json_object();
        if (jset(o, "organizer", who) || jset(who, "@type", json_string("Organization")) ||
            jset(who, "name", json_string(org)))
            goto fail;
    }
    if (e->fee_yen || nz(e->application_url)) {
        json_t *offer = json_object();
        char price[16];
        snprintf(price, sizeof price, "%u", (unsigned)e->fee_yen);
        if (jset(o, "offers", offer) || jset(offer, "@type", json_string("Offer")) ||
            jset(offer, "price", json_string(price)) || jset(offer, "priceCurrency", json_string("JPY")) ||
            jset_opt(offer, "url", e->application_url))
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    *oom = true;
    return NULL;
}

int rk_schema_events_begin(rk_buf *out)
{
    return rk_buf_puts(out, "{\n \"@context\": \"https://schema.org\",\n \"@graph\": [");
}

int rk_schema_events_add(const rk_record *rec, const rk_feed_meta *m, bool *first, rk_buf *out)
{
    bool oom;
    json_t *o = rk_schema_event(rec, m, &oom);
    if (!o)
        return oom ? -1 : 0;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    int rc = !s || rk_buf_puts(out, *first ? "\n  " : ",\n  ") || rk_buf_puts(out, s);
    free(s);
    if (rc)
        return -1;
    *first = false;
    return 0;
}

int rk_schema_events_end(rk_buf *out)
{
    return rk_buf_puts(out, "\n ]\n}\n");
}
