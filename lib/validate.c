/* validate: the content rules every record must satisfy, wherever it comes from.
 *
 * The walk over a record is driven by protobuf-c's descriptors, so every string (UTF-8, length),
 * every list (item count) and every enum (known value) is checked, including fields added to the
 * proto later. Rules that depend on meaning (prefecture codes, dates, URLs) are keyed by field name
 * and, where a name is ambiguous, by the message that owns it. Each rejection names one stable code
 * and the dotted field path, so API clients and rejection metrics can rely on them.
 *
 * rk_record_validate_content is the same check without the fields a node fills when it publishes
 * (author, rid, version); lib/recjson.c uses it for publish bodies.
 */
#include "record.h"
#include "taxonomy.h"
#include "text.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_TITLE_BYTES 300
#define MAX_TEXT_BYTES 20000
#define MAX_ITEM_BYTES 200
#define MAX_LIST_ITEMS 64
#define MAX_LANGUAGE_BYTES 35

bool rk_rid_valid(const char *rid)
{
    if (!rid)
        return false;
    size_t n = 0;
    for (; rid[n]; n++) {
        char c = rid[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
        if (!ok || n >= RK_RID_MAX)
            return false;
    }
    return n >= 1;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static void join_path(char *out, size_t cap, const char *path, const char *name)
{
    if (path[0])
        snprintf(out, cap, "%s.%s", path, name);
    else
        snprintf(out, cap, "%s", name);
}

/* JIS X 0402: five digits (six with the check digit), starting with the prefecture code. */
static bool municipality_valid(const char *s)
{
    size_t n = strlen(s);
    if ((n != 5 && n != 6) || !all_digits(s, n))
        return false;
    char pref[3] = {s[0], s[1], '\0'};
    return rk_prefecture_valid(pref);
}

static bool url_valid(const char *s)
{
    if (strncmp(s, "https://", 8) == 0)
        return s[8] != '\0';
    if (strncmp(s, "http://", 7) == 0)
        return s[7] != '\0';
    return false;
}

/* YYYY-MM-DD or YYYY-MM. */
static bool period_date_valid(const char *s)
{
    int y, m, d;
    size_t n = strlen(s);
    if (n == 10)
        return rk_parse_date(s, &y, &m, &d) == 0;
    if (n != 7 || s[4] != '-' || !all_digits(s, 4) || !all_digits(s + 5, 2))
        return false;
    m = (s[5] - '0') * 10 + (s[6] - '0');
    return m >= 1 && m <= 12 && s[0] != '0';
}

static bool rfc3339_valid(const char *s)
{
    int64_t t;
    int off;
    return rk_parse_rfc3339(s, &t, &off) == 0;
}

static bool day_valid(const char *s)
{
    int y, m, d;
    return strlen(s) == 10 && rk_parse_date(s, &y, &m, &d) == 0;
}

/* HH:MM, for agenda slots within the event's day. */
static bool clock_time_valid(const char *s)
{
    if (strlen(s) != 5 || s[2] != ':' || !all_digits(s, 2) || !all_digits(s + 3, 2))
        return false;
    return (s[0] - '0') * 10 + (s[1] - '0') <= 23 && (s[3] - '0') * 10 + (s[4] - '0') <= 59;
}

/* BCP 47 in the loose sense: letters, digits and hyphens. */
static bool language_valid(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

/* Rules that depend on what a non-empty string means. */
static int check_meaning(const ProtobufCMessageDescriptor *owner, const char *name, const char *s, const char *path,
                         rk_error *err)
{
    if (strcmp(name, "prefecture") == 0 || (owner == &renkei__event__descriptor && strcmp(name, "regions") == 0)) {
        if (!rk_prefecture_valid(s))
            return rk_fail(err, "invalid_prefecture", path, "\"%s\" is not a JIS X 0401 prefecture code 01..47", s);
    } else if (strcmp(name, "municipality") == 0) {
        if (!municipality_valid(s))
            return rk_fail(err, "invalid_value", path, "\"%s\" is not a JIS X 0402 municipality code", s);
    } else if (strcmp(name, "url") == 0 || strcmp(name, "website") == 0 || strcmp(name, "application_url") == 0) {
        if (!url_valid(s))
            return rk_fail(err, "invalid_value", path, "a URL must start with http:// or https://");
    } else if (strcmp(name, "language") == 0) {
        if (!language_valid(s))
            return rk_fail(err, "invalid_value", path, "\"%s\" is not a BCP 47 language tag", s);
    } else if (owner == &renkei__period__descriptor) {
        if (strcmp(name, "fiscal_year") == 0) {
            if (strlen(s) != 4 || !all_digits(s, 4))
                return rk_fail(err, "invalid_date", path, "a fiscal year is four digits, e.g. 2022");
        } else if (!period_date_valid(s)) {
            return rk_fail(err, "invalid_date", path, "\"%s\" is not YYYY-MM-DD or YYYY-MM", s);
        }
    } else if (owner == &renkei__event__descriptor) {
        if ((strcmp(name, "starts_at") == 0 || strcmp(name, "ends_at") == 0) && !rfc3339_valid(s))
            return rk_fail(err, "invalid_date", path, "\"%s\" is not an RFC 3339 time with an offset", s);
        if (strcmp(name, "application_deadline") == 0 && !rfc3339_valid(s) && !day_valid(s))
            return rk_fail(err, "invalid_date", path, "\"%s\" is neither RFC 3339 nor YYYY-MM-DD", s);
    } else if (owner == &renkei__agenda_item__descriptor) {
        if ((strcmp(name, "starts_at") == 0 || strcmp(name, "ends_at") == 0) && !clock_time_valid(s) &&
            !rfc3339_valid(s))
            return rk_fail(err, "invalid_date", path, "\"%s\" is neither HH:MM nor RFC 3339", s);
    }
    return 0;
}

static size_t string_limit(const char *name, bool in_list)
{
    if (in_list)
        return MAX_ITEM_BYTES;
    if (strcmp(name, "title") == 0)
        return MAX_TITLE_BYTES;
    if (strcmp(name, "language") == 0)
        return MAX_LANGUAGE_BYTES;
    return MAX_TEXT_BYTES;
}

static int walk_message(const ProtobufCMessage *m, const char *path, rk_error *err);

/* One value of field f (an element when in_list), at p. */
static int check_value(const ProtobufCMessageDescriptor *owner, const ProtobufCFieldDescriptor *f, const void *p,
                       bool in_list, const char *path, rk_error *err)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        if (!s)
            return 0;
        size_t len = strlen(s);
        if (!rk_text_valid_utf8(s, len))
            return rk_fail(err, "invalid_utf8", path, "the text is not valid UTF-8");
        size_t limit = string_limit(f->name, in_list);
        if (len > limit)
            return rk_fail(err, "too_long", path, "%zu bytes exceed the limit of %zu", len, limit);
        return len ? check_meaning(owner, f->name, s, path, err) : 0;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        if (in_list && v == 0)
            return rk_fail(err, "invalid_enum", path, "a list of %s values cannot hold the unspecified value",
                           ((const ProtobufCEnumDescriptor *)f->descriptor)->short_name);
        if (!protobuf_c_enum_descriptor_get_value(f->descriptor, v))
            return rk_fail(err, "invalid_enum", path, "%d is not a known %s value", v,
                           ((const ProtobufCEnumDescriptor *)f->descriptor)->short_name);
        return 0;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!isfinite(*(const double *)p))
            return rk_fail(err, "invalid_value", path, "numbers must be finite");
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if (!isfinite(*(const float *)p))
            return rk_fail(err, "invalid_value", path, "numbers must be finite");
        return 0;
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub ? walk_message(sub, path, err) : 0;
    }
    default:
        return 0;
    }
}

static size_t element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static int walk_message(const ProtobufCMessage *m, const char *path, rk_error *err)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char fpath[sizeof err->field];
        join_path(fpath, sizeof fpath, path, f->name);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                   f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) {
            if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *arr = *(char *const *)(base + f->offset);
            if (n > MAX_LIST_ITEMS)
                return rk_fail(err, "too_many", fpath, "%zu items exceed the limit of %d", n, MAX_LIST_ITEMS);
            for (size_t k = 0; k < n; k++) {
                char ipath[sizeof err->field + 32];
                snprintf(ipath, sizeof ipath, "%s[%zu]", fpath, k);
                if (check_value(d, f, arr + k * element_size(f->type), true, ipath, err) != 0)
                    return -1;
            }
        } else if (check_value(d, f, base + f->offset, false, fpath, err) != 0) {
            return -1;
        }
    }
    return 0;
}

static bool empty(const char *s)
{
    return !s || !s[0];
}

static int require_text(const char *s, const char *path, rk_error *err)
{
    return empty(s) ? rk_fail(err, "missing_field", path, "%s is required", path) : 0;
}

static int require_enum(int v, const char *path, rk_error *err)
{
    return v == 0 ? rk_fail(err, "missing_field", path, "%s is required", path) : 0;
}

static int check_case(const Renkei__Case *c, rk_error *err)
{
    if (require_text(c->title, "case.title", err) || require_text(c->summary, "case.summary", err) ||
        require_text(c->prefecture, "case.prefecture", err) || require_enum(c->industry, "case.industry", err) ||
        require_enum(c->dx_level, "case.dx_level", err))
        return -1;
    return 0;
}

static int check_event(const Renkei__Event *e, rk_error *err)
{
    if (require_text(e->title, "event.title", err) || require_enum(e->event_type, "event.event_type", err) ||
        require_text(e->starts_at, "event.starts_at", err) || require_text(e->ends_at, "event.ends_at", err) ||
        require_enum(e->format, "event.format", err) || require_text(e->prefecture, "event.prefecture", err))
        return -1;
    int64_t starts, ends;
    int off;
    /* Both parse: the walk has already checked their form. */
    if (rk_parse_rfc3339(e->starts_at, &starts, &off) != 0 || rk_parse_rfc3339(e->ends_at, &ends, &off) != 0)
        return rk_fail(err, "invalid_date", "event.starts_at", "the event times are not RFC 3339");
    if (ends < starts)
        return rk_fail(err, "invalid_date", "event.ends_at", "the event ends before it starts");
    return 0;
}

static int check_region(const Renkei__RegionProfile *p, rk_error *err)
{
    if (require_text(p->name, "region.name", err) || require_enum(p->node_kind, "region.node_kind", err))
        return -1;
    return 0;
}

static int check_body(const Renkei__Record *r, rk_error *err)
{
    const char *kind = rk_kind_name(r->kind);
    const ProtobufCFieldDescriptor *body = protobuf_c_message_descriptor_get_field_by_name(&renkei__record__descriptor, kind);
    if (!body)
        return rk_fail(err, "invalid_enum", "kind", "%d is not a known kind", (int)r->kind);
    if (r->body_case == RENKEI__RECORD__BODY__NOT_SET)
        return rk_fail(err, "missing_field", kind, "a %s record needs a \"%s\" body", kind, kind);
    if ((unsigned)r->body_case != body->id)
        return rk_fail(err, "kind_mismatch", "kind", "kind is %s but the body is another kind", kind);
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE:
        return r->case_ ? check_case(r->case_, err) : rk_fail(err, "missing_field", kind, "the body is empty");
    case RENKEI__RECORD__BODY_EVENT:
        return r->event ? check_event(r->event, err) : rk_fail(err, "missing_field", kind, "the body is empty");
    case RENKEI__RECORD__BODY_REGION:
        return r->region ? check_region(r->region, err) : rk_fail(err, "missing_field", kind, "the body is empty");
    case RENKEI__RECORD__BODY_TOMBSTONE:
        return r->tombstone ? 0 : rk_fail(err, "missing_field", kind, "the body is empty");
    default:
        return rk_fail(err, "kind_mismatch", "kind", "unknown body");
    }
}

int rk_record_validate_content(const Renkei__Record *r, rk_error *err)
{
    if (r->kind == RENKEI__KIND__KIND_UNSPECIFIED)
        return rk_fail(err, "missing_field", "kind", "kind is required");
    if (r->visibility == RENKEI__VISIBILITY__VISIBILITY_UNSPECIFIED)
        return rk_fail(err, "missing_field", "visibility", "visibility is required");
    if (walk_message(&r->base, "", err) != 0)
        return -1;
    return check_body(r, err);
}

int rk_record_validate(const Renkei__Record *r, rk_error *err)
{
    if (r->author.len != RK_KEY_LEN || !r->author.data)
        return rk_fail(err, "invalid_author", "author", "the author must be a 32-byte public key, not %zu bytes",
                       r->author.len);
    if (!rk_rid_valid(r->rid))
        return rk_fail(err, "invalid_rid", "rid", "a rid is 1..64 of A-Z a-z 0-9 . _ -");
    if (r->version == 0)
        return rk_fail(err, "invalid_version", "version", "the version must be greater than 0");
    return rk_record_validate_content(r, err);
}
