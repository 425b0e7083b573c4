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
#include "fieldpath.h"
#include "membership_rid.h"
#include "problems.h"
#include "validate.h"
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
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        if (!ok || n >= RK_RID_MAX)
            return false;
    }
    return n >= 1;
}

const char *rk_kind_name(int kind)
{
    switch (kind) {
    case RENKEI__KIND__KIND_CASE: return "case";
    case RENKEI__KIND__KIND_EVENT: return "event";
    case RENKEI__KIND__KIND_REGION: return "region";
    case RENKEI__KIND__KIND_TOMBSTONE: return "tombstone";
    case RENKEI__KIND__KIND_ENDORSE: return "endorse";
    case RENKEI__KIND__KIND_ROTATE: return "rotate";
    case RENKEI__KIND__KIND_REVOKE: return "revoke";
    default: return "unknown";
    }
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
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
static void check_meaning(const ProtobufCMessageDescriptor *owner, const char *name, const char *s, const char *path,
                          rk_sink *sink)
{
    if (strcmp(name, "prefecture") == 0 || (owner == &renkei__event__descriptor && strcmp(name, "regions") == 0)) {
        if (!rk_prefecture_valid(s)) {
            const char *near = rk_prefecture_suggest(s);
            const char *near_name = near ? rk_prefecture_name(near) : NULL;
            if (near_name)
                rk_sink_note(sink, "invalid_prefecture", path, near,
                             "\"%s\" is not a prefecture; did you mean %s (%s)? A prefecture is its JIS X 0401 code "
                             "01..47 or its name (list: renkei codes prefecture)",
                             "「%s」は都道府県として読めません。%s（%s）のことですか？ 都道府県は JIS X 0401 のコード "
                             "01〜47 か名前で書きます（一覧: renkei codes prefecture）",
                             s, near, near_name);
            else
                rk_sink_note(sink, "invalid_prefecture", path, NULL,
                             "\"%s\" is not a prefecture: give its JIS X 0401 code 01..47 or its name, e.g. 17 or "
                             "石川県 (list: renkei codes prefecture)",
                             "「%s」は都道府県として読めません。JIS X 0401 のコード 01〜47 か名前で書きます"
                             "（例: 17 または 石川県。一覧: renkei codes prefecture）",
                             s);
        }
    } else if (strcmp(name, "municipality") == 0) {
        if (!municipality_valid(s))
            rk_sink_note(sink, "invalid_value", path, NULL,
                         "\"%s\" is not a JIS X 0402 municipality code (5 or 6 digits, e.g. 17206)",
                         "「%s」は JIS X 0402 の市区町村コード（5桁か6桁。例: 17206）ではありません", s);
    } else if (strcmp(name, "url") == 0 || strcmp(name, "website") == 0 || strcmp(name, "application_url") == 0) {
        if (!url_valid(s))
            rk_sink_note(sink, "invalid_value", path, NULL, "a URL must start with http:// or https:// (got \"%s\")",
                         "URL は http:// か https:// で始めます（「%s」）", s);
    } else if (owner == &renkei__endorse__descriptor && strcmp(name, "urls") == 0) {
        if (strncmp(s, "tcp://", 6) != 0 && strncmp(s, "tls+tcp://", 10) != 0)
            rk_sink_note(sink, "invalid_value", path, NULL,
                         "a listen URL starts with tcp:// or tls+tcp:// (got \"%s\")",
                         "待ち受け URL は tcp:// か tls+tcp:// で始めます（「%s」）", s);
    } else if (strcmp(name, "language") == 0) {
        if (!language_valid(s))
            rk_sink_note(sink, "invalid_value", path, NULL, "\"%s\" is not a BCP 47 language tag (e.g. ja, en)",
                         "「%s」は BCP 47 の言語タグ（例: ja, en）ではありません", s);
    } else if (owner == &renkei__period__descriptor) {
        if (strcmp(name, "fiscal_year") == 0) {
            if (strlen(s) != 4 || !all_digits(s, 4))
                rk_sink_note(sink, "invalid_date", path, NULL, "a fiscal year is four digits, e.g. 2022 (got \"%s\")",
                             "年度は4桁の西暦で書きます（例: 2022。「%s」）", s);
        } else if (!period_date_valid(s)) {
            rk_sink_note(sink, "invalid_date", path, NULL, "\"%s\" is not YYYY-MM-DD or YYYY-MM",
                         "「%s」は YYYY-MM-DD か YYYY-MM の日付ではありません", s);
        }
    } else if (owner == &renkei__event__descriptor) {
        if ((strcmp(name, "starts_at") == 0 || strcmp(name, "ends_at") == 0) && !rfc3339_valid(s))
            rk_sink_note(sink, "invalid_date", path, NULL,
                         "\"%s\" is not an RFC 3339 time with an offset, e.g. 2024-09-10T13:00:00+09:00",
                         "「%s」は時差つきの RFC 3339 の日時（例: 2024-09-10T13:00:00+09:00）ではありません", s);
        if (strcmp(name, "application_deadline") == 0 && !rfc3339_valid(s) && !day_valid(s))
            rk_sink_note(sink, "invalid_date", path, NULL, "\"%s\" is neither RFC 3339 nor YYYY-MM-DD",
                         "「%s」は RFC 3339 の日時でも YYYY-MM-DD の日付でもありません", s);
    } else if (owner == &renkei__agenda_item__descriptor) {
        if ((strcmp(name, "starts_at") == 0 || strcmp(name, "ends_at") == 0) && !clock_time_valid(s) &&
            !rfc3339_valid(s))
            rk_sink_note(sink, "invalid_date", path, NULL, "\"%s\" is neither HH:MM nor RFC 3339",
                         "「%s」は HH:MM の時刻でも RFC 3339 の日時でもありません", s);
    }
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

static void walk_message(const ProtobufCMessage *m, const char *path, rk_sink *sink);

static const char *enum_name(const ProtobufCFieldDescriptor *f)
{
    return ((const ProtobufCEnumDescriptor *)f->descriptor)->short_name;
}

/* One value of field f (an element when in_list), at p. */
static void check_value(const ProtobufCMessageDescriptor *owner, const ProtobufCFieldDescriptor *f, const void *p,
                        bool in_list, const char *path, rk_sink *sink)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        if (!s)
            return;
        size_t len = strlen(s);
        if (!rk_text_valid_utf8(s, len)) {
            rk_sink_note(sink, "invalid_utf8", path, NULL, "the text is not valid UTF-8%s",
                         "文字列が UTF-8 として正しくありません%s", "");
            return;
        }
        size_t limit = string_limit(f->name, in_list);
        if (len > limit) {
            rk_sink_note(sink, "too_long", path, NULL, "%zu bytes exceed the limit of %zu",
                         "%zu バイトあり、上限の %zu バイトを超えています", len, limit);
            return;
        }
        if (len)
            check_meaning(owner, f->name, s, path, sink);
        return;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        if (in_list && v == 0)
            rk_sink_note(sink, "invalid_enum", path, NULL, "a list of %s values cannot hold the unspecified value",
                         "%s の一覧に「未指定」は入れられません", enum_name(f));
        else if (!protobuf_c_enum_descriptor_get_value(f->descriptor, v))
            rk_sink_note(sink, "invalid_enum", path, NULL, "%d is not a known %s value",
                         "%d は %s の値として定義されていません", v, enum_name(f));
        return;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!isfinite(*(const double *)p))
            rk_sink_note(sink, "invalid_value", path, NULL, "numbers must be finite%s", "数値は有限の値にします%s", "");
        return;
    case PROTOBUF_C_TYPE_FLOAT:
        if (!isfinite(*(const float *)p))
            rk_sink_note(sink, "invalid_value", path, NULL, "numbers must be finite%s", "数値は有限の値にします%s", "");
        return;
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (sub)
            walk_message(sub, path, sink);
        return;
    }
    default: return;
    }
}

size_t rk_pb_element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    default: return sizeof(uint32_t);
    }
}

static void walk_message(const ProtobufCMessage *m, const char *path, rk_sink *sink)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char fpath[sizeof((rk_problem *)0)->field];
        rk_fieldpath_join(fpath, sizeof fpath, path, f->name);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE) {
            if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *arr = *(char *const *)(base + f->offset);
            if (n > MAX_LIST_ITEMS) {
                rk_sink_note(sink, "too_many", fpath, NULL, "%zu items exceed the limit of %d",
                             "%zu 個あり、上限の %d 個を超えています", n, MAX_LIST_ITEMS);
                continue;
            }
            for (size_t k = 0; k < n; k++) {
                char ipath[sizeof fpath + 32];
                rk_fieldpath_item(ipath, sizeof ipath, fpath, k);
                check_value(d, f, arr + k * rk_pb_element_size(f->type), true, ipath, sink);
            }
        } else {
            check_value(d, f, base + f->offset, false, fpath, sink);
        }
    }
}

static bool empty(const char *s)
{
    return !s || !s[0];
}

/* A required field: reported once, and not again when its value was already rejected (a rejected
 * code is left unset by lib/recjson.c, and "missing" would only repeat the first report). */
static void require(bool present, const char *path, rk_sink *sink)
{
    if (present || (sink->all && rk_problems_find(sink->all, path)))
        return;
    rk_sink_note(sink, "missing_field", path, NULL, "%s is required", "%s は必須です", path);
}

static void check_case(const Renkei__Case *c, rk_sink *sink)
{
    require(!empty(c->title), "case.title", sink);
    require(!empty(c->summary), "case.summary", sink);
    require(!empty(c->prefecture), "case.prefecture", sink);
    require(c->industry != 0, "case.industry", sink);
    require(c->dx_level != 0, "case.dx_level", sink);
}

static void check_event(const Renkei__Event *e, rk_sink *sink)
{
    require(!empty(e->title), "event.title", sink);
    require(e->event_type != 0, "event.event_type", sink);
    require(!empty(e->starts_at), "event.starts_at", sink);
    require(!empty(e->ends_at), "event.ends_at", sink);
    require(e->format != 0, "event.format", sink);
    require(!empty(e->prefecture), "event.prefecture", sink);
    int64_t starts, ends;
    int off;
    /* Only when both parse; a malformed time has been reported by the walk already. */
    if (!empty(e->starts_at) && !empty(e->ends_at) && rk_parse_rfc3339(e->starts_at, &starts, &off) == 0 &&
        rk_parse_rfc3339(e->ends_at, &ends, &off) == 0 && ends < starts)
        rk_sink_note(sink, "invalid_date", "event.ends_at", NULL, "the event ends before it starts (%s)",
                     "終了日時（%s）が開始日時より前です", e->ends_at);
}

static void check_region(const Renkei__RegionProfile *p, rk_sink *sink)
{
    require(!empty(p->name), "region.name", sink);
    require(p->node_kind != 0, "region.node_kind", sink);
}

static void require_bytes(const ProtobufCBinaryData *b, size_t len, const char *path, rk_sink *sink)
{
    require(b->len != 0, path, sink);
    if (b->len != 0 && b->len != len)
        rk_sink_note(sink, "invalid_value", path, NULL, "%s must be %zu bytes, not %zu",
                     "%s は %zu バイトです（%zu バイトではありません）", path, len, b->len);
}

static void check_endorse(const Renkei__Endorse *e, rk_sink *sink)
{
    require_bytes(&e->key, RK_KEY_LEN, "endorse.key", sink);
    require(!empty(e->name), "endorse.name", sink);
}

static void check_rotate(const Renkei__Rotate *r, rk_sink *sink)
{
    require_bytes(&r->new_key, RK_KEY_LEN, "rotate.new_key", sink);
    require_bytes(&r->countersignature, RK_SIG_LEN, "rotate.countersignature", sink);
}

const void *rk_record_body(const Renkei__Record *r)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name(&renkei__record__descriptor, rk_kind_name(r->kind));
    if (!field || (unsigned)r->body_case != field->id)
        return NULL;
    const void *body; /* the oneof's members are all pointers to messages */
    memcpy(&body, (const char *)r + field->offset, sizeof body);
    return body;
}

static void check_body(const Renkei__Record *r, rk_sink *sink)
{
    const char *kind = rk_kind_name(r->kind);
    const ProtobufCFieldDescriptor *body =
        protobuf_c_message_descriptor_get_field_by_name(&renkei__record__descriptor, kind);
    if (!body) {
        rk_sink_note(sink, "invalid_enum", "kind", NULL, "%d is not a known kind",
                     "%d はレコードの種類として定義されていません", (int)r->kind);
        return;
    }
    if (r->body_case == RENKEI__RECORD__BODY__NOT_SET) {
        rk_sink_note(sink, "missing_field", kind, NULL, "a %s record needs a \"%s\" body",
                     "%s のレコードには「%s」の本体が必要です", kind, kind);
        return;
    }
    if ((unsigned)r->body_case != body->id) {
        rk_sink_note(sink, "kind_mismatch", "kind", NULL, "kind is %s but the body is another kind",
                     "kind は %s ですが、本体は別の種類です", kind);
        return;
    }
    if (!rk_record_body(r)) {
        rk_sink_note(sink, "missing_field", kind, NULL, "the %s body is empty", "%s の本体が空です", kind);
        return;
    }
    switch (r->body_case) {
    case RENKEI__RECORD__BODY_CASE: check_case(r->case_, sink); break;
    case RENKEI__RECORD__BODY_EVENT: check_event(r->event, sink); break;
    case RENKEI__RECORD__BODY_REGION: check_region(r->region, sink); break;
    case RENKEI__RECORD__BODY_ENDORSE: check_endorse(r->endorse, sink); break;
    case RENKEI__RECORD__BODY_ROTATE: check_rotate(r->rotate, sink); break;
    case RENKEI__RECORD__BODY_REVOKE: require_bytes(&r->revoke->key, RK_KEY_LEN, "revoke.key", sink); break;
    default: break;
    }
}

int rk_record_check(const Renkei__Record *r, rk_sink *sink)
{
    size_t before = sink->count;
    if (r->kind == RENKEI__KIND__KIND_UNSPECIFIED && !(sink->all && rk_problems_find(sink->all, "kind")))
        rk_sink_note(sink, "missing_field", "kind", NULL, "kind is required (%s)", "kind は必須です（%s）",
                     "case, event, region");
    if (r->visibility == RENKEI__VISIBILITY__VISIBILITY_UNSPECIFIED &&
        !(sink->all && rk_problems_find(sink->all, "visibility")))
        rk_sink_note(sink, "missing_field", "visibility", NULL, "visibility is required (%s)",
                     "visibility は必須です（%s）", "public, network, local");
    /* a joining node learns the roster over a connection that only carries public records */
    if (rk_membership_rid_kind(r->kind) && r->visibility != RENKEI__VISIBILITY__VISIBILITY_PUBLIC)
        rk_sink_note(sink, "invalid_value", "visibility", NULL, "membership records are public",
                     "メンバーシップのレコードは公開（public）です");
    walk_message(&r->base, "", sink);
    if (r->kind != RENKEI__KIND__KIND_UNSPECIFIED)
        check_body(r, sink);
    return sink->count > before ? -1 : 0;
}

int rk_record_validate_content(const Renkei__Record *r, rk_error *err)
{
    rk_sink sink;
    rk_sink_init(&sink, NULL, err);
    return rk_record_check(r, &sink);
}

/* Membership records live at the rid derived from their subject, so one author has one endorsement,
 * one revocation and one rotation per key, and no other record can replace them. */
_Static_assert(RK_MEMBERSHIP_RID_MAX == RK_RID_MAX, "membership rids are rids");
static int check_membership_identity(const Renkei__Record *r, rk_error *err)
{
    if (!rk_membership_rid_kind(r->kind))
        return rk_membership_rid_reserved(r->rid)
                   ? rk_fail(err, "invalid_rid", "rid",
                             "rids starting endorse., rotate. or revoke. are membership records'")
                   : 0;
    char rid[RK_MEMBERSHIP_RID_MAX + 1];
    if (rk_membership_rid(r, rid) != 0 || strcmp(rid, r->rid) != 0)
        return rk_fail(err, "invalid_rid", "rid", "a %s record's rid must be %s", rk_kind_name(r->kind),
                       rk_membership_rid(r, rid) == 0 ? rid : "derived from its key");
    if (r->kind == RENKEI__KIND__KIND_ROTATE && memcmp(r->rotate->new_key.data, r->author.data, RK_KEY_LEN) == 0)
        return rk_fail(err, "invalid_value", "rotate.new_key", "a key cannot rotate to itself");
    if (r->kind == RENKEI__KIND__KIND_REVOKE && r->revoke->since > r->version)
        return rk_fail(err, "invalid_value", "revoke.since", "a revocation cannot reach past its own version");
    return 0;
}

static int check_filled(const Renkei__Record *r, rk_error *err)
{
    if (r->author.len != RK_KEY_LEN || !r->author.data)
        return rk_fail(err, "invalid_author", "author", "the author must be a 32-byte public key, not %zu bytes",
                       r->author.len);
    if (!rk_rid_valid(r->rid))
        return rk_fail(err, "invalid_rid", "rid", "a rid is 1..64 of A-Z a-z 0-9 . _ -");
    if (r->version == 0)
        return rk_fail(err, "invalid_version", "version", "the version must be greater than 0");
    return 0;
}

int rk_record_validate(const Renkei__Record *r, rk_error *err)
{
    if (check_filled(r, err) != 0 || rk_record_validate_content(r, err) != 0)
        return -1;
    return check_membership_identity(r, err);
}

int rk_record_validate_filled(const Renkei__Record *r, rk_error *err)
{
    if (check_filled(r, err) != 0)
        return -1;
    return check_membership_identity(r, err);
}
