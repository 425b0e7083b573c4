/* recjson: JSON -> protobuf for records, driven by protobuf-c's descriptors (the other way is
 * recview.c).
 *
 * Nothing here names a record field except the top level of a publish body, so the JSON shape
 * follows proto/renkei.proto by construction. Messages built from JSON are allocated with malloc and
 * laid out exactly as protobuf-c's unpacker would lay them out, which lets every error path (and the
 * caller) release a partial message with protobuf_c_message_free_unpacked(msg, NULL). Repeated
 * fields grow their element count only after an element is complete, so a half-built list is always
 * safe to free.
 */
#include "fieldpath.h"
#include "membership_rid.h"
#include "recjson.h"
#include "problems.h"
#include "taxonomy.h"
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rk_enum_code(const ProtobufCEnumDescriptor *d, int value)
{
    return rk_taxonomy_code(d, value);
}

int rk_enum_parse(const ProtobufCEnumDescriptor *d, const char *code)
{
    return rk_taxonomy_value(d, code);
}

/* ---------------------------------------------------------------------------- JSON -> message */

/* Every parse problem goes to a rk_sink and parsing goes on, so one pass reports all the mistakes of
 * a record. A value that cannot be read is left unset (a list skips the item); a nested message with
 * problems is kept as far as it was read, so the caller can free it and validation can still look at
 * what was there. */

#define PATH_MAX_LEN (sizeof((rk_problem *)0)->field)

/* A kind of JSON value named in both languages, for "expected X, got Y". */
typedef struct kind_words {
    const char *en, *ja;
} kind_words;

static kind_words json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return (kind_words){"an object", "オブジェクト"};
    case JSON_ARRAY: return (kind_words){"an array", "配列"};
    case JSON_STRING: return (kind_words){"a string", "文字列"};
    case JSON_INTEGER: return (kind_words){"an integer", "整数"};
    case JSON_REAL: return (kind_words){"a number", "数値"};
    case JSON_TRUE:
    case JSON_FALSE: return (kind_words){"a boolean", "真偽値"};
    default: return (kind_words){"null", "null"};
    }
}

static const kind_words W_OBJECT = {"an object", "オブジェクト {…}"};
static const kind_words W_ARRAY = {"an array", "配列 […]"};
static const kind_words W_STRING = {"a string", "文字列"};
static const kind_words W_INTEGER = {"an integer", "整数"};
static const kind_words W_NUMBER = {"a number", "数値"};
static const kind_words W_BOOL = {"true or false", "true か false"};
static const kind_words W_CODE = {"a code string", "コードの文字列"};
static const kind_words W_HEX = {"a hex string", "16進数の文字列"};

static int expect(bool ok, const json_t *v, kind_words w, const char *path, rk_sink *sink)
{
    if (ok)
        return 0;
    kind_words got = json_kind(v);
    return rk_sink_note(sink, "wrong_type", path, NULL, "expected %s%.0s, got %s%.0s",
                        "%.0s%sを書く項目ですが、%.0s%sが書かれています", w.en, w.ja, got.en, got.ja);
}

static int copy_string(const json_t *v, const char *path, char **out, rk_sink *sink)
{
    if (expect(json_is_string(v), v, W_STRING, path, sink) != 0)
        return -1;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (memchr(s, '\0', len))
        return rk_sink_note(sink, "invalid_value", path, NULL, "text may not contain NUL characters%s",
                            "文字列に NUL 文字は使えません%s", "");
    if (!rk_text_valid_utf8(s, len))
        return rk_sink_note(sink, "invalid_utf8", path, NULL, "the text is not valid UTF-8%s",
                            "文字列が UTF-8 として正しくありません%s", "");
    char *copy = malloc(len + 1);
    if (!copy)
        return rk_sink_note(sink, "no_memory", path, NULL, "out of memory%s", "メモリが足りません%s", "");
    memcpy(copy, s, len + 1);
    *out = copy;
    return 0;
}

static int integer_in(const json_t *v, json_int_t lo, json_int_t hi, const char *path, json_int_t *out, rk_sink *sink)
{
    if (expect(json_is_integer(v), v, W_INTEGER, path, sink) != 0)
        return -1;
    json_int_t n = json_integer_value(v);
    if (n < lo || n > hi)
        return rk_sink_note(sink, "invalid_value", path, NULL, "%lld is out of range %lld..%lld",
                            "%lld は範囲 %lld〜%lld の外です", (long long)n, (long long)lo, (long long)hi);
    *out = n;
    return 0;
}

/* "online (オンライン), onsite (会場), hybrid (ハイブリッド)" for small taxonomies; "" for large ones,
 * whose list is better read with `renkei codes`. */
static void small_choices(const ProtobufCEnumDescriptor *d, char *out, size_t cap)
{
    out[0] = '\0';
    if (d->n_values > 8)
        return;
    size_t used = 0;
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *code = rk_taxonomy_code(d, d->values[i].value);
        if (!code)
            continue;
        int w =
            snprintf(out + used, cap - used, "%s%s (%s)", used ? ", " : "", code, rk_label_ja(d, d->values[i].value));
        if (w < 0 || (size_t)w >= cap - used)
            return;
        used += (size_t)w;
    }
}

/* Reads an enum value, accepting codes, labels and case variants (lib/taxonomy.c); an unknown one is
 * reported with the nearest value, if any, and where to find the list. */
static int parse_enum(const json_t *v, const ProtobufCEnumDescriptor *d, const char *path, int *out, rk_sink *sink)
{
    if (expect(json_is_string(v), v, W_CODE, path, sink) != 0)
        return -1;
    const char *s = json_string_value(v);
    if (!s[0]) {
        *out = 0; /* "" is "not given", as an unselected choice in a form or spreadsheet sends it */
        return 0;
    }
    int e = rk_enum_parse(d, s);
    if (e >= 0) {
        *out = e;
        return 0;
    }
    const rk_taxonomy *tx = rk_taxonomy_of(d);
    const char *tname = tx ? tx->name : d->short_name;
    const char *title_en = tx ? tx->title_en : d->short_name, *title_ja = tx ? tx->title_ja : d->short_name;
    int near = rk_taxonomy_suggest(d, s);
    const char *near_code = near > 0 ? rk_taxonomy_code(d, near) : NULL;
    char choices[400];
    small_choices(d, choices, sizeof choices);
    /* %.0s consumes the title of the other language, so both formats take the same arguments. */
    if (near_code)
        return rk_sink_note(sink, "invalid_enum", path, near_code,
                            "\"%s\" is not a valid %s%.0s code; did you mean \"%s\" (%s)? (list: renkei codes %s)",
                            "「%s」は%.0s%sのコードではありません。「%s」（%s）のことですか？（一覧: renkei codes %s）",
                            s, title_en, title_ja, near_code, rk_label_ja(d, near), tname);
    if (choices[0])
        return rk_sink_note(sink, "invalid_enum", path, NULL, "\"%s\" is not a valid %s%.0s code; the codes are %s",
                            "「%s」は%.0s%sのコードではありません。使えるのは %s です", s, title_en, title_ja, choices);
    return rk_sink_note(sink, "invalid_enum", path, NULL, "\"%s\" is not a valid %s%.0s code (list: renkei codes %s)",
                        "「%s」は%.0s%sのコードではありません（一覧: renkei codes %s）", s, title_en, title_ja, tname);
}

static int parse_message(const json_t *j, const ProtobufCMessageDescriptor *desc, const char *path,
                         ProtobufCMessage **out, rk_sink *sink);

/* An integer field of any of protobuf's widths and encodings: one range check for its type, then the
 * value stored in its slot. A signed value is stored through the unsigned type of its width, which
 * gives the same bits (C11 6.3.1.3) and may alias the signed slot (6.5). uint64 stops at INT64_MAX,
 * the largest json_int_t. */
static int integer_from_json(ProtobufCType type, const json_t *v, const char *path, void *dst, rk_sink *sink)
{
    json_int_t min = 0, max = INT64_MAX, n = 0;
    bool wide = true;
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        min = INT32_MIN;
        max = INT32_MAX;
        wide = false;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        max = UINT32_MAX;
        wide = false;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: min = INT64_MIN; break;
    default: break; /* uint64, fixed64 */
    }
    if (integer_in(v, min, max, path, &n, sink) != 0)
        return -1;
    if (wide)
        *(uint64_t *)dst = (uint64_t)n;
    else
        *(uint32_t *)dst = (uint32_t)n;
    return 0;
}

/* Parses one value of field f of message owner into dst (an element slot when the field is repeated). */
static int value_from_json(const ProtobufCMessageDescriptor *owner, const ProtobufCFieldDescriptor *f, const json_t *v,
                           const char *path, void *dst, rk_sink *sink)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return integer_from_json(f->type, v, path, dst, sink);
    case PROTOBUF_C_TYPE_FLOAT:
        if (expect(json_is_number(v), v, W_NUMBER, path, sink) != 0)
            return -1;
        *(float *)dst = (float)json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (expect(json_is_number(v), v, W_NUMBER, path, sink) != 0)
            return -1;
        *(double *)dst = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (expect(json_is_boolean(v), v, W_BOOL, path, sink) != 0)
            return -1;
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: return parse_enum(v, f->descriptor, path, (int *)dst, sink);
    case PROTOBUF_C_TYPE_STRING: {
        char *s = NULL;
        if (copy_string(v, path, &s, sink) != 0)
            return -1;
        /* Prefectures are codes in records but names to people: "石川県" and "石川" mean "17". */
        if (strcmp(f->name, "prefecture") == 0 ||
            (owner == &renkei__event__descriptor && strcmp(f->name, "regions") == 0)) {
            const char *code = rk_prefecture_parse(s);
            if (code && strcmp(code, s) != 0) {
                char *c = strdup(code);
                if (!c) {
                    free(s);
                    return rk_sink_note(sink, "no_memory", path, NULL, "out of memory%s", "メモリが足りません%s", "");
                }
                free(s);
                s = c;
            }
        }
        *(char **)dst = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        if (expect(json_is_string(v), v, W_HEX, path, sink) != 0)
            return -1;
        size_t hlen = json_string_length(v);
        if (hlen % 2)
            return rk_sink_note(sink, "invalid_value", path, NULL, "hex must have an even number of digits%s",
                                "16進数の桁数は偶数にします%s", "");
        ProtobufCBinaryData *b = dst;
        if (hlen == 0)
            return 0;
        uint8_t *data = malloc(hlen / 2);
        if (!data)
            return rk_sink_note(sink, "no_memory", path, NULL, "out of memory%s", "メモリが足りません%s", "");
        if (rk_hex_decode(json_string_value(v), data, hlen / 2) != 0) {
            free(data);
            return rk_sink_note(sink, "invalid_value", path, NULL, "not a hex string%s",
                                "16進数の文字列ではありません%s", "");
        }
        b->data = data;
        b->len = hlen / 2;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: return parse_message(v, f->descriptor, path, (ProtobufCMessage **)dst, sink);
    default:
        return rk_sink_note(sink, "wrong_type", path, NULL, "unsupported field type%s", "対応していない型です%s", "");
    }
}

/* True when a failed value still left something in its slot that must be kept to be freed (a nested
 * message read in part). */
static bool slot_holds(const ProtobufCFieldDescriptor *f, const void *slot)
{
    return f->type == PROTOBUF_C_TYPE_MESSAGE && *(void *const *)slot != NULL;
}

static void field_from_json(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, const json_t *v, const char *path,
                            rk_sink *sink)
{
    char *base = (char *)msg;
    const ProtobufCMessageDescriptor *owner = msg->descriptor;
    if (json_is_null(v))
        return; /* null means "not given", the same as leaving the key out */
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (expect(json_is_array(v), v, W_ARRAY, path, sink) != 0)
            return;
        size_t n = json_array_size(v);
        if (n == 0)
            return;
        size_t esize = rk_pb_element_size(f->type);
        char *arr = calloc(n, esize);
        if (!arr) {
            rk_sink_note(sink, "no_memory", path, NULL, "out of memory%s", "メモリが足りません%s", "");
            return;
        }
        size_t *count = (size_t *)(base + f->quantifier_offset);
        *(void **)(base + f->offset) = arr;
        *count = 0;
        for (size_t k = 0; k < n; k++) {
            char ipath[PATH_MAX_LEN + 32];
            rk_fieldpath_item(ipath, sizeof ipath, path, k);
            const json_t *item = json_array_get(v, k);
            if (json_is_null(item)) {
                rk_sink_note(sink, "wrong_type", ipath, NULL, "list items cannot be null%s",
                             "配列の要素に null は使えません%s", "");
                continue;
            }
            /* Items that fail are left out, so the ones kept stay contiguous. */
            void *slot = arr + *count * esize;
            if (value_from_json(owner, f, item, ipath, slot, sink) == 0) {
                if (!(f->type == PROTOBUF_C_TYPE_ENUM && *(int *)slot == 0)) /* "" items are left out */
                    (*count)++;
            } else if (slot_holds(f, slot)) {
                (*count)++;
            }
        }
        return;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
        if (*which != 0 && *which != f->id) {
            rk_sink_note(sink, "invalid_value", path, NULL, "only one of a set of alternatives may be given%s",
                         "選択肢のうち一つだけを書きます%s", "");
            return;
        }
        if (value_from_json(owner, f, v, path, base + f->offset, sink) == 0 || slot_holds(f, base + f->offset))
            *which = f->id;
        return;
    }
    if (value_from_json(owner, f, v, path, base + f->offset, sink) != 0)
        return;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    if (msg)
        protobuf_c_message_init(desc, msg);
    return msg;
}

/* The message's fields named like each key; with problems, *out holds what could be read and -1 is
 * returned. *out is NULL only when j is not an object or memory ran out. */
static int parse_message(const json_t *j, const ProtobufCMessageDescriptor *desc, const char *path,
                         ProtobufCMessage **out, rk_sink *sink)
{
    *out = NULL;
    if (!path)
        path = "";
    if (expect(json_is_object(j), j, W_OBJECT, path, sink) != 0)
        return -1;
    ProtobufCMessage *msg = new_message(desc);
    if (!msg)
        return rk_sink_note(sink, "no_memory", path, NULL, "out of memory%s", "メモリが足りません%s", "");
    size_t before = sink->count;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v)
    {
        char fpath[PATH_MAX_LEN];
        rk_fieldpath_join(fpath, sizeof fpath, path, key);
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, key);
        if (!f) {
            rk_sink_note(sink, "unknown_field", fpath, NULL, "%s has no field \"%s\"",
                         "%s に「%s」という項目はありません", desc->short_name, key);
            continue;
        }
        field_from_json(msg, f, v, fpath, sink);
    }
    *out = msg;
    return sink->count > before ? -1 : 0;
}

int rk_message_from_json(const json_t *j, const ProtobufCMessageDescriptor *desc, const char *path,
                         ProtobufCMessage **out, rk_error *err)
{
    rk_sink sink;
    rk_sink_init(&sink, NULL, err);
    if (parse_message(j, desc, path, out, &sink) != 0) {
        if (*out)
            protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------- records */

static bool output_only(const char *key)
{
    static const char *const keys[] = {"id",      "hash",       "signature",  "author",
                                       "version", "created_at", "provenance", "deleted"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

/* The Record fields that hold a body (the oneof), e.g. "case". */
static const ProtobufCFieldDescriptor *body_field(const char *key)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(&renkei__record__descriptor, key);
    return f && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? f : NULL;
}

/* The rules of rk_record_validate on a rid that the JSON alone decides, so that a record accepted
 * here stays valid once the node fills in author and version: a membership record's rid is the one
 * derived from its key, and no other record may take a rid of that form. */
static void check_membership_rid(const Renkei__Record *r, int kind, rk_sink *sink)
{
    if (!r->rid || !r->rid[0])
        return;
    char derived[RK_MEMBERSHIP_RID_MAX + 1];
    if (!rk_membership_rid_kind(kind) && rk_membership_rid_reserved(r->rid))
        rk_sink_note(sink, "invalid_rid", "rid", NULL,
                     "rids starting endorse., rotate. or revoke. are membership records' (got \"%s\")",
                     "endorse.・rotate.・revoke. で始まる rid はメンバーシップのレコードのものです（「%s」）", r->rid);
    else if (rk_membership_rid_kind(kind) && rk_membership_rid(r, derived) == 0 && strcmp(derived, r->rid) != 0)
        rk_sink_note(sink, "invalid_rid", "rid", NULL, "a membership record's rid must be %s",
                     "メンバーシップのレコードの rid は %s です", derived);
}

/* A membership record's rid is derived from the key it is about (lib/membership.h). */
static void set_membership_rid(Renkei__Record *r, rk_sink *sink)
{
    char rid[RK_MEMBERSHIP_RID_MAX + 1];
    if (rk_membership_rid(r, rid) != 0)
        return; /* the key is missing or malformed: validation names it */
    char *copy = strdup(rid);
    if (!copy) {
        rk_sink_note(sink, "no_memory", "rid", NULL, "out of memory%s", "メモリが足りません%s", "");
        return;
    }
    if (r->rid && r->rid != (char *)protobuf_c_empty_string)
        free(r->rid);
    r->rid = copy;
}

static void record_from_json(const json_t *j, Renkei__Record *r, rk_sink *sink)
{
    if (expect(json_is_object(j), j, W_OBJECT, "", sink) != 0)
        return;
    const json_t *kind_json = NULL;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v)
    {
        if (strcmp(key, "kind") == 0) {
            kind_json = v;
        } else if (strcmp(key, "rid") == 0) {
            if (json_is_null(v) || copy_string(v, "rid", &r->rid, sink) != 0)
                continue;
            if (!rk_rid_valid(r->rid))
                rk_sink_note(sink, "invalid_rid", "rid", NULL, "a rid is 1..64 of A-Z a-z 0-9 . _ - (got \"%s\")",
                             "rid は A-Z a-z 0-9 . _ - の1〜64文字です（「%s」）", r->rid);
        } else if (strcmp(key, "visibility") == 0) {
            int vis = 0;
            if (!json_is_null(v) && parse_enum(v, &renkei__visibility__descriptor, "visibility", &vis, sink) == 0)
                r->visibility = (Renkei__Visibility)vis;
        } else if (strcmp(key, "language") == 0) {
            if (!json_is_null(v))
                copy_string(v, "language", &r->language, sink);
        } else if (!output_only(key) && !body_field(key)) {
            rk_sink_note(sink, "unknown_field", key, NULL, "a record has no field \"%s\"",
                         "レコードに「%s」という項目はありません", key);
        }
    }
    if (!kind_json || json_is_null(kind_json)) {
        rk_sink_note(sink, "missing_field", "kind", NULL, "kind is required (%s)", "kind は必須です（%s）",
                     "case, event, region");
        return;
    }
    int kind = 0;
    if (parse_enum(kind_json, &renkei__kind__descriptor, "kind", &kind, sink) != 0)
        return;
    if (kind == 0) {
        rk_sink_note(sink, "missing_field", "kind", NULL, "kind is required (%s)", "kind は必須です（%s）",
                     "case, event, region");
        return;
    }
    if (kind == RENKEI__KIND__KIND_TOMBSTONE) {
        rk_sink_note(sink, "invalid_enum", "kind", NULL, "tombstones are published by deleting a record%s",
                     "削除の記録（tombstone）はレコードを削除すると作られます%s", "");
        return;
    }
    r->kind = (Renkei__Kind)kind;
    const char *kind_name = rk_kind_name(kind);

    json_object_foreach((json_t *)j, key, v)
    {
        const ProtobufCFieldDescriptor *f = body_field(key);
        if (f && strcmp(key, kind_name) != 0)
            rk_sink_note(sink, "kind_mismatch", key, NULL, "a %s record cannot have a \"%s\" body",
                         "%s のレコードに「%s」の本体は書けません", kind_name, key);
    }
    const json_t *body = json_object_get(j, kind_name);
    if (!body || json_is_null(body)) {
        rk_sink_note(sink, "missing_field", kind_name, NULL, "a %s record needs a \"%s\" body",
                     "%s のレコードには「%s」の本体が必要です", kind_name, kind_name);
        return;
    }
    const ProtobufCFieldDescriptor *f = body_field(kind_name);
    ProtobufCMessage *sub = NULL;
    parse_message(body, f->descriptor, kind_name, &sub, sink);
    if (!sub)
        return;
    *(ProtobufCMessage **)((char *)r + f->offset) = sub;
    *(uint32_t *)((char *)r + f->quantifier_offset) = f->id;
    if (rk_membership_rid_kind(kind) && (!r->rid || !r->rid[0]))
        set_membership_rid(r, sink);
    check_membership_rid(r, kind, sink);

    if (r->visibility == RENKEI__VISIBILITY__VISIBILITY_UNSPECIFIED)
        r->visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    if (!r->language || !r->language[0]) {
        char *ja = strdup("ja");
        if (!ja) {
            rk_sink_note(sink, "no_memory", "language", NULL, "out of memory%s", "メモリが足りません%s", "");
            return;
        }
        if (r->language != (char *)protobuf_c_empty_string)
            free(r->language);
        r->language = ja;
    }
    rk_record_check(r, sink);
}

int rk_record_from_json_all(const json_t *j, Renkei__Record **out, rk_problems *all, rk_error *first)
{
    *out = NULL;
    rk_sink sink;
    rk_sink_init(&sink, all, first);
    Renkei__Record *r = malloc(sizeof *r);
    if (!r)
        return rk_sink_note(&sink, "no_memory", "", NULL, "out of memory%s", "メモリが足りません%s", "");
    renkei__record__init(r);
    record_from_json(j, r, &sink);
    if (sink.count) {
        renkei__record__free_unpacked(r, NULL);
        return -1;
    }
    *out = r;
    return 0;
}

int rk_record_from_json(const json_t *j, Renkei__Record **out, rk_error *err)
{
    return rk_record_from_json_all(j, out, NULL, err);
}

json_t *rk_problems_to_json(const rk_problems *p)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < p->n; i++) {
        const rk_problem *pr = &p->items[i];
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s, s:s?}", "field", pr->field, "code", pr->code, "message", pr->message,
                      "message_ja", pr->message_ja, "suggestion", pr->suggestion[0] ? pr->suggestion : NULL);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

const char *rk_json_skip_bom(const char *buf, size_t *len)
{
    if (buf && *len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        *len -= 3;
        return buf + 3;
    }
    return buf;
}
