/* recview: protobuf -> JSON for records, driven by protobuf-c's descriptors, so the JSON shape
 * cannot drift from proto/renkei.proto; and the API view of a stored record, as a jansson tree and as
 * the bytes the API sends (the same bytes: test_jsoncache holds them equal for every kind).
 *
 * Output omits fields at their default value; enums are their codes (lib/taxonomy.h), bytes
 * lower-case hex, repeated fields arrays, and a uint64 above 2^63-1 a string of its digits.
 */
#include "recview.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonlist.h"
#include "taxonomy.h"

/* Hex is ASCII by construction, so jansson need not check it; keys, hashes and signatures fit the
 * stack buffer, longer bytes fields take the heap. */
static json_t *hex_string(const uint8_t *data, size_t len)
{
    char small[2 * RK_SIG_LEN + 1];
    char *hex = 2 * len < sizeof small ? small : malloc(2 * len + 1);
    if (!hex)
        return NULL;
    rk_hex_encode(data, len, hex);
    json_t *s = json_stringn_nocheck(hex, 2 * len);
    if (hex != small)
        free(hex);
    return s;
}

static json_t *message_to_json(const ProtobufCMessage *m, bool trusted);

/* trusted: the message's strings are known to be valid UTF-8 (a stored record's are: lib/validate.c
 * checks every string before anything is stored or signed), so jansson need not check them again;
 * at worst an invalid one makes the dump fail where json_string would have failed the build. */
static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *p, bool trusted)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return json_integer(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v = *(const uint64_t *)p;
        if (v <= (uint64_t)INT64_MAX)
            return json_integer((json_int_t)v);
        /* JSON integers stop at 2^63-1 in jansson; keep the exact value as text. */
        char digits[24];
        snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
        return json_string(digits);
    }
    case PROTOBUF_C_TYPE_FLOAT: return json_real(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const char *code = rk_taxonomy_code(f->descriptor, v);
        /* Only unvalidated messages carry unknown values; show the number rather than lose it. */
        return code ? json_string_nocheck(code) : json_integer(v); /* codes are ASCII */
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        if (!s)
            return json_string_nocheck("");
        return trusted ? json_string_nocheck(s) : json_string(s);
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        return hex_string(b->data, b->len);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub ? message_to_json(sub, trusted) : json_object();
    }
    default: return NULL;
    }
}

static bool is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return !s || !s[0];
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(void *const *)p == NULL;
    case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0.0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0.0f;
    default:
        if (rk_pb_element_size(f->type) == sizeof(uint64_t))
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

/* Steals v; fails (and frees v) if v is NULL or the insert fails. Keys are proto field names and
 * the record view's own, all ASCII, so jansson need not check them. */
static int put(json_t *obj, const char *key, json_t *v)
{
    if (!v)
        return -1;
    return json_object_set_new_nocheck(obj, key, v);
}

json_t *rk_json_from_message(const ProtobufCMessage *m)
{
    return message_to_json(m, false);
}

static json_t *message_to_json(const ProtobufCMessage *m, bool trusted)
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
                if (json_array_append_new(v, value_to_json(f, arr + k * rk_pb_element_size(f->type), trusted)) != 0) {
                    json_decref(v);
                    v = NULL;
                }
        } else {
            if (!field_present(m, f))
                continue;
            v = value_to_json(f, base + f->offset, trusted);
        }
        if (put(obj, f->name, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *rk_record_to_json(const rk_record *rec, const char *node_name)
{
    const Renkei__Record *r = rec->msg;
    if (!r)
        return NULL;
    json_t *obj = message_to_json(&r->base, true);
    json_t *prov = json_object();
    if (!obj || !prov)
        goto fail;
    if (r->author.len == RK_KEY_LEN && r->rid) {
        char id[RK_ID_MAX];
        rk_record_id(r->author.data, r->rid, id);
        if (put(obj, "id", json_string_nocheck(id)) != 0) /* hex, ':' and a rid: ASCII */
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
    if (json_object_set_new_nocheck(obj, "provenance", prov) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
fail:
    json_decref(prov);
    json_decref(obj);
    return NULL;
}

/* Appends "<hex>" (with the quotes): hex digits are never escaped in JSON, so these bytes are what
 * jansson would write for the same string, without its character-by-character pass over them. */
static int hex_append(rk_buf *out, const uint8_t *data, size_t len)
{
    if (rk_buf_reserve(out, 2 * len + 2) != 0)
        return -1;
    out->data[out->len++] = '"';
    rk_hex_encode(data, len, out->data + out->len);
    out->len += 2 * len;
    out->data[out->len++] = '"';
    out->data[out->len] = '\0';
    return 0;
}

/* Appends jansson's compact dump of v, which it takes. */
static int dump_new(rk_buf *out, json_t *v)
{
    int rc = v ? rk_jsonlist_dump(v, JSON_COMPACT | JSON_ENCODE_ANY, out) : -1;
    json_decref(v);
    return rc;
}

static int message_append(rk_buf *out, const ProtobufCMessage *m);

/* One field value as message_to_json(.., true) would make it and jansson's compact dump write it:
 * numbers, booleans, enum codes and hex are written here (none of them is ever escaped), strings and
 * reals go through jansson, which escapes and formats them. */
static int value_append(rk_buf *out, const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return rk_buf_printf(out, "%" JSON_INTEGER_FORMAT, (json_int_t) * (const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return rk_buf_printf(out, "%" JSON_INTEGER_FORMAT, (json_int_t) * (const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return rk_buf_printf(out, "%" JSON_INTEGER_FORMAT, (json_int_t) * (const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v = *(const uint64_t *)p;
        if (v <= (uint64_t)INT64_MAX)
            return rk_buf_printf(out, "%" JSON_INTEGER_FORMAT, (json_int_t)v);
        return rk_buf_printf(out, "\"%llu\"", (unsigned long long)v); /* digits: never escaped */
    }
    case PROTOBUF_C_TYPE_BOOL: return rk_buf_puts(out, *(const protobuf_c_boolean *)p ? "true" : "false");
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const char *code = rk_taxonomy_code(f->descriptor, v);
        if (!code)
            return rk_buf_printf(out, "%" JSON_INTEGER_FORMAT, (json_int_t)v);
        return rk_buf_puts(out, "\"") || rk_buf_puts(out, code) || rk_buf_puts(out, "\""); /* codes: ASCII */
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        return hex_append(out, b->data, b->len);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub ? message_append(out, sub) : rk_buf_puts(out, "{}");
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(char *const *)p;
        return dump_new(out, json_string_nocheck(str ? str : ""));
    }
    default: return dump_new(out, value_to_json(f, p, true)); /* reals: jansson's own format */
    }
}

/* A trusted message's JSON, written as it goes: the bytes of dumping message_to_json(m, true)
 * compact, without building and freeing the tree (members in field order, as the tree keeps them). */
static int message_append(rk_buf *out, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    const char *sep = "{\"";
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        size_t n = 1;
        const char *arr = NULL;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)(base + f->quantifier_offset);
            arr = *(char *const *)(base + f->offset);
        } else if (!field_present(m, f)) {
            continue;
        }
        if (n == 0)
            continue;
        /* field names are ASCII identifiers: never escaped */
        if (rk_buf_puts(out, sep) || rk_buf_puts(out, f->name) || rk_buf_puts(out, arr ? "\":[" : "\":"))
            return -1;
        sep = ",\"";
        for (size_t k = 0; k < n; k++)
            if ((k && rk_buf_puts(out, ",")) ||
                value_append(out, f, arr ? arr + k * rk_pb_element_size(f->type) : base + f->offset) != 0)
                return -1;
        if (arr && rk_buf_puts(out, "]"))
            return -1;
    }
    return rk_buf_puts(out, sep[0] == '{' ? "{}" : "}");
}

/* The record's fields (message_append) and then the members rk_record_to_json adds after them, in its
 * order, written here rather than built as a tree: the hashes, signatures and key are a third of a record's JSON and hex, so dumping
 * them through jansson cost more than all the rest of the tail. test_jsoncache holds the bytes equal
 * to the tree's for every kind. */
int rk_record_json_append(const rk_record *rec, const char *node_name, rk_buf *out)
{
    const Renkei__Record *r = rec->msg;
    if (!r)
        return -1;
    size_t start = out->len;
    if (message_append(out, &r->base) != 0 || out->len - start < 2)
        return -1;
    out->len--; /* reopen the object: its closing brace comes last */
    bool empty = out->len - start == 1;
    bool ok = true;
    if (r->author.len == RK_KEY_LEN && r->rid) {
        char id[RK_ID_MAX];
        rk_record_id(r->author.data, r->rid, id);
        ok = rk_buf_puts(out, empty ? "\"id\":" : ",\"id\":") == 0 && dump_new(out, json_string_nocheck(id)) == 0;
        empty = false;
    }
    ok = ok && rk_buf_puts(out, empty ? "\"hash\":" : ",\"hash\":") == 0 &&
         hex_append(out, rec->hash, RK_HASH_LEN) == 0 && rk_buf_puts(out, ",\"signature\":") == 0 &&
         hex_append(out, rec->sig, RK_SIG_LEN) == 0 &&
         (r->kind != RENKEI__KIND__KIND_TOMBSTONE || rk_buf_puts(out, ",\"deleted\":true") == 0) &&
         rk_buf_puts(out, ",\"provenance\":{\"author\":") == 0 && hex_append(out, r->author.data, r->author.len) == 0 &&
         rk_buf_puts(out, ",\"node\":") == 0 && dump_new(out, node_name ? json_string(node_name) : json_null()) == 0 &&
         rk_buf_printf(out, ",\"version\":%lld,\"hash\":", (long long)(json_int_t)r->version) == 0 &&
         hex_append(out, rec->hash, RK_HASH_LEN) == 0 && rk_buf_puts(out, ",\"signature\":") == 0 &&
         hex_append(out, rec->sig, RK_SIG_LEN) == 0 && rk_buf_puts(out, "}}") == 0;
    return ok ? 0 : -1;
}
