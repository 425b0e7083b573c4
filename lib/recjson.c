/* recjson: JSON <-> protobuf for records, driven by protobuf-c's descriptors.
 *
 * Nothing here names a record field except the top level of a publish body, so the JSON shape
 * follows proto/renkei.proto by construction. Messages built from JSON are allocated with malloc and
 * laid out exactly as protobuf-c's unpacker would lay them out, which lets every error path (and the
 * caller) release a partial message with protobuf_c_message_free_unpacked(msg, NULL). Repeated
 * fields grow their element count only after an element is complete, so a half-built list is always
 * safe to free.
 */
#include "recjson.h"
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

/* ---------------------------------------------------------------------------- message -> JSON */

static size_t element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    default:
        return sizeof(uint32_t);
    }
}

static json_t *hex_string(const uint8_t *data, size_t len)
{
    char *hex = malloc(2 * len + 1);
    if (!hex)
        return NULL;
    rk_hex_encode(data, len, hex);
    json_t *s = json_string(hex);
    free(hex);
    return s;
}

static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v = *(const uint64_t *)p;
        if (v <= (uint64_t)INT64_MAX)
            return json_integer((json_int_t)v);
        /* JSON integers stop at 2^63-1 in jansson; keep the exact value as text. */
        char digits[24];
        snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
        return json_string(digits);
    }
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const char *code = rk_enum_code(f->descriptor, v);
        /* Only unvalidated messages carry unknown values; show the number rather than lose it. */
        return code ? json_string(code) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return json_string(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        return hex_string(b->data, b->len);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub ? rk_json_from_message(sub) : json_object();
    }
    default:
        return NULL;
    }
}

static bool is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return !s || !s[0];
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(void *const *)p == NULL;
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p == 0.0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)p == 0.0f;
    default:
        if (element_size(f->type) == sizeof(uint64_t))
            return *(const uint64_t *)p == 0;
        return *(const uint32_t *)p == 0;
    }
}

/* True if a field of a LABEL_NONE/OPTIONAL/oneof kind is present in the sense of the output rules. */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)m;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return true;
    return !is_default(f, base + f->offset);
}

/* Steals v; fails (and frees v) if v is NULL or the insert fails. */
static int put(json_t *obj, const char *key, json_t *v)
{
    if (!v)
        return -1;
    return json_object_set_new(obj, key, v);
}

json_t *rk_json_from_message(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        json_t *v;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (n == 0)
                continue;
            const char *arr = *(char *const *)(base + f->offset);
            v = json_array();
            for (size_t k = 0; v && k < n; k++)
                if (json_array_append_new(v, value_to_json(f, arr + k * element_size(f->type))) != 0) {
                    json_decref(v);
                    v = NULL;
                }
        } else {
            if (!field_present(m, f))
                continue;
            v = value_to_json(f, base + f->offset);
        }
        if (put(obj, f->name, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* ---------------------------------------------------------------------------- JSON -> message */

static void join_path(char *out, size_t cap, const char *path, const char *name)
{
    if (path && path[0])
        snprintf(out, cap, "%s.%s", path, name);
    else
        snprintf(out, cap, "%s", name);
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int expect(bool ok, const json_t *v, const char *wanted, const char *path, rk_error *err)
{
    return ok ? 0 : rk_fail(err, "wrong_type", path, "expected %s, got %s", wanted, json_kind(v));
}

static int copy_string(const json_t *v, const char *path, char **out, rk_error *err)
{
    if (expect(json_is_string(v), v, "a string", path, err) != 0)
        return -1;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (memchr(s, '\0', len))
        return rk_fail(err, "invalid_value", path, "text may not contain NUL characters");
    if (!rk_text_valid_utf8(s, len))
        return rk_fail(err, "invalid_utf8", path, "the text is not valid UTF-8");
    char *copy = malloc(len + 1);
    if (!copy)
        return rk_fail(err, "no_memory", path, "out of memory");
    memcpy(copy, s, len + 1);
    *out = copy;
    return 0;
}

static int integer_in(const json_t *v, json_int_t lo, json_int_t hi, const char *path, json_int_t *out, rk_error *err)
{
    if (expect(json_is_integer(v), v, "an integer", path, err) != 0)
        return -1;
    json_int_t n = json_integer_value(v);
    if (n < lo || n > hi)
        return rk_fail(err, "invalid_value", path, "%lld is out of range %lld..%lld", (long long)n, (long long)lo,
                       (long long)hi);
    *out = n;
    return 0;
}

/* Parses one value of field f into dst (an element slot when the field is repeated). */
static int value_from_json(const ProtobufCFieldDescriptor *f, const json_t *v, const char *path, void *dst,
                           rk_error *err)
{
    json_int_t n;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        if (integer_in(v, INT32_MIN, INT32_MAX, path, &n, err) != 0)
            return -1;
        *(int32_t *)dst = (int32_t)n;
        return 0;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        if (integer_in(v, 0, UINT32_MAX, path, &n, err) != 0)
            return -1;
        *(uint32_t *)dst = (uint32_t)n;
        return 0;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        if (integer_in(v, INT64_MIN, INT64_MAX, path, &n, err) != 0)
            return -1;
        *(int64_t *)dst = (int64_t)n;
        return 0;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        if (integer_in(v, 0, INT64_MAX, path, &n, err) != 0)
            return -1;
        *(uint64_t *)dst = (uint64_t)n;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if (expect(json_is_number(v), v, "a number", path, err) != 0)
            return -1;
        *(float *)dst = (float)json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (expect(json_is_number(v), v, "a number", path, err) != 0)
            return -1;
        *(double *)dst = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (expect(json_is_boolean(v), v, "true or false", path, err) != 0)
            return -1;
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        if (expect(json_is_string(v), v, "a code string", path, err) != 0)
            return -1;
        int e = rk_enum_parse(f->descriptor, json_string_value(v));
        if (e < 0)
            return rk_fail(err, "invalid_enum", path, "\"%s\" is not a %s code", json_string_value(v),
                           ((const ProtobufCEnumDescriptor *)f->descriptor)->short_name);
        *(int *)dst = e;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
        return copy_string(v, path, (char **)dst, err);
    case PROTOBUF_C_TYPE_BYTES: {
        if (expect(json_is_string(v), v, "a hex string", path, err) != 0)
            return -1;
        size_t hlen = json_string_length(v);
        if (hlen % 2)
            return rk_fail(err, "invalid_value", path, "hex must have an even number of digits");
        ProtobufCBinaryData *b = dst;
        if (hlen == 0)
            return 0;
        uint8_t *data = malloc(hlen / 2);
        if (!data)
            return rk_fail(err, "no_memory", path, "out of memory");
        if (rk_hex_decode(json_string_value(v), data, hlen / 2) != 0) {
            free(data);
            return rk_fail(err, "invalid_value", path, "not a hex string");
        }
        b->data = data;
        b->len = hlen / 2;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return rk_message_from_json(v, f->descriptor, path, (ProtobufCMessage **)dst, err);
    default:
        return rk_fail(err, "wrong_type", path, "unsupported field type");
    }
}

static int field_from_json(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, const json_t *v,
                           const char *path, rk_error *err)
{
    char *base = (char *)msg;
    if (json_is_null(v))
        return 0; /* null means "not given", the same as leaving the key out */
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (expect(json_is_array(v), v, "an array", path, err) != 0)
            return -1;
        size_t n = json_array_size(v);
        if (n == 0)
            return 0;
        size_t esize = element_size(f->type);
        char *arr = calloc(n, esize);
        if (!arr)
            return rk_fail(err, "no_memory", path, "out of memory");
        size_t *count = (size_t *)(base + f->quantifier_offset);
        *(void **)(base + f->offset) = arr;
        *count = 0;
        for (size_t k = 0; k < n; k++) {
            char ipath[sizeof err->field + 32];
            snprintf(ipath, sizeof ipath, "%s[%zu]", path, k);
            const json_t *item = json_array_get(v, k);
            if (json_is_null(item))
                return rk_fail(err, "wrong_type", ipath, "list items cannot be null");
            if (value_from_json(f, item, ipath, arr + k * esize, err) != 0)
                return -1;
            (*count)++;
        }
        return 0;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
        if (*which != 0 && *which != f->id)
            return rk_fail(err, "invalid_value", path, "only one of a set of alternatives may be given");
        if (value_from_json(f, v, path, base + f->offset, err) != 0)
            return -1;
        *which = f->id;
        return 0;
    }
    if (value_from_json(f, v, path, base + f->offset, err) != 0)
        return -1;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    return 0;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    if (msg)
        protobuf_c_message_init(desc, msg);
    return msg;
}

int rk_message_from_json(const json_t *j, const ProtobufCMessageDescriptor *desc, const char *path,
                         ProtobufCMessage **out, rk_error *err)
{
    *out = NULL;
    if (!path)
        path = "";
    if (expect(json_is_object(j), j, "an object", path, err) != 0)
        return -1;
    ProtobufCMessage *msg = new_message(desc);
    if (!msg)
        return rk_fail(err, "no_memory", path, "out of memory");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) {
        char fpath[sizeof err->field];
        join_path(fpath, sizeof fpath, path, key);
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, key);
        if (!f) {
            protobuf_c_message_free_unpacked(msg, NULL);
            return rk_fail(err, "unknown_field", fpath, "%s has no field \"%s\"", desc->short_name, key);
        }
        if (field_from_json(msg, f, v, fpath, err) != 0) {
            protobuf_c_message_free_unpacked(msg, NULL);
            return -1;
        }
    }
    *out = msg;
    return 0;
}

/* ---------------------------------------------------------------------------- records */

static bool output_only(const char *key)
{
    static const char *const keys[] = {"id", "hash", "signature", "author", "version", "created_at", "provenance",
                                       "deleted"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

/* The Record fields that hold a body (the oneof), e.g. "case". */
static const ProtobufCFieldDescriptor *body_field(const char *key)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(&renkei__record__descriptor, key);
    return f && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? f : NULL;
}

static int parse_enum_key(const json_t *v, const ProtobufCEnumDescriptor *d, const char *path, int *out, rk_error *err)
{
    if (expect(json_is_string(v), v, "a code string", path, err) != 0)
        return -1;
    int e = rk_enum_parse(d, json_string_value(v));
    if (e < 0)
        return rk_fail(err, "invalid_enum", path, "\"%s\" is not a %s code", json_string_value(v), d->short_name);
    *out = e;
    return 0;
}

static int record_from_json(const json_t *j, Renkei__Record *r, rk_error *err)
{
    if (expect(json_is_object(j), j, "an object", "", err) != 0)
        return -1;
    const json_t *kind_json = NULL;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) {
        if (strcmp(key, "kind") == 0) {
            kind_json = v;
        } else if (strcmp(key, "rid") == 0) {
            if (json_is_null(v))
                continue;
            if (copy_string(v, "rid", &r->rid, err) != 0)
                return -1;
            if (!rk_rid_valid(r->rid))
                return rk_fail(err, "invalid_rid", "rid", "a rid is 1..64 of A-Z a-z 0-9 . _ -");
        } else if (strcmp(key, "visibility") == 0) {
            int vis = 0;
            if (!json_is_null(v) && parse_enum_key(v, &renkei__visibility__descriptor, "visibility", &vis, err) != 0)
                return -1;
            if (!json_is_null(v))
                r->visibility = (Renkei__Visibility)vis;
        } else if (strcmp(key, "language") == 0) {
            if (!json_is_null(v) && copy_string(v, "language", &r->language, err) != 0)
                return -1;
        } else if (!output_only(key) && !body_field(key)) {
            return rk_fail(err, "unknown_field", key, "a record has no field \"%s\"", key);
        }
    }
    if (!kind_json || json_is_null(kind_json))
        return rk_fail(err, "missing_field", "kind", "kind is required (case, event or region)");
    int kind = 0;
    if (parse_enum_key(kind_json, &renkei__kind__descriptor, "kind", &kind, err) != 0)
        return -1;
    if (kind == RENKEI__KIND__KIND_TOMBSTONE)
        return rk_fail(err, "invalid_enum", "kind", "tombstones are published by deleting a record");
    r->kind = (Renkei__Kind)kind;
    const char *kind_name = rk_kind_name(kind);

    json_object_foreach((json_t *)j, key, v) {
        const ProtobufCFieldDescriptor *f = body_field(key);
        if (f && strcmp(key, kind_name) != 0)
            return rk_fail(err, "kind_mismatch", key, "a %s record cannot have a \"%s\" body", kind_name, key);
    }
    const json_t *body = json_object_get(j, kind_name);
    if (!body || json_is_null(body))
        return rk_fail(err, "missing_field", kind_name, "a %s record needs a \"%s\" body", kind_name, kind_name);
    const ProtobufCFieldDescriptor *f = body_field(kind_name);
    ProtobufCMessage *sub;
    if (rk_message_from_json(body, f->descriptor, kind_name, &sub, err) != 0)
        return -1;
    *(ProtobufCMessage **)((char *)r + f->offset) = sub;
    *(uint32_t *)((char *)r + f->quantifier_offset) = f->id;

    if (r->visibility == RENKEI__VISIBILITY__VISIBILITY_UNSPECIFIED)
        r->visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    if (!r->language || !r->language[0]) {
        char *ja = strdup("ja");
        if (!ja)
            return rk_fail(err, "no_memory", "language", "out of memory");
        if (r->language != (char *)protobuf_c_empty_string)
            free(r->language);
        r->language = ja;
    }
    return rk_record_validate_content(r, err);
}

int rk_record_from_json(const json_t *j, Renkei__Record **out, rk_error *err)
{
    *out = NULL;
    Renkei__Record *r = malloc(sizeof *r);
    if (!r)
        return rk_fail(err, "no_memory", "", "out of memory");
    renkei__record__init(r);
    if (record_from_json(j, r, err) != 0) {
        renkei__record__free_unpacked(r, NULL);
        return -1;
    }
    *out = r;
    return 0;
}

json_t *rk_record_to_json(const rk_record *rec, const char *node_name)
{
    const Renkei__Record *r = rec->msg;
    if (!r)
        return NULL;
    json_t *obj = rk_json_from_message(&r->base);
    json_t *prov = json_object();
    if (!obj || !prov)
        goto fail;
    if (r->author.len == RK_KEY_LEN && r->rid) {
        char id[RK_ID_MAX];
        rk_record_id(r->author.data, r->rid, id);
        if (put(obj, "id", json_string(id)) != 0)
            goto fail;
    }
    if (put(obj, "hash", hex_string(rec->hash, RK_HASH_LEN)) != 0 ||
        put(obj, "signature", hex_string(rec->sig, RK_SIG_LEN)) != 0)
        goto fail;
    if (r->kind == RENKEI__KIND__KIND_TOMBSTONE && put(obj, "deleted", json_true()) != 0)
        goto fail;
    if (put(prov, "author", hex_string(r->author.data, r->author.len)) != 0 ||
        put(prov, "node", node_name ? json_string(node_name) : json_null()) != 0 ||
        put(prov, "version", json_integer((json_int_t)r->version)) != 0 ||
        put(prov, "hash", hex_string(rec->hash, RK_HASH_LEN)) != 0 ||
        put(prov, "signature", hex_string(rec->sig, RK_SIG_LEN)) != 0)
        goto fail;
    if (json_object_set_new(obj, "provenance", prov) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
fail:
    json_decref(prov);
    json_decref(obj);
    return NULL;
}
