/* recjson: JSON -> protobuf for records, derived from protobuf-c's descriptors so that the JSON
 * shape cannot drift from proto/renkei.proto (the other way, and the API view of a record, is
 * lib/recview.h).
 *
 * Rules: JSON names are proto field names; enums are lower-case codes (value name minus the enum's
 * UPPER_SNAKE prefix) on output, and on input also any case, the Japanese label or, for Industry, the
 * JSIC division letter A..T (lib/taxonomy.h); prefectures are JIS X 0401 codes on output and also
 * names ("石川県", "石川") on input; bytes are lower-case hex; repeated fields are arrays; unknown keys,
 * wrong types and unknown enum values are errors naming the field path ("case.skills[2]"). Input
 * never stops at the first error: every mistake of a record is found in one pass (lib/problems.h).
 */
#ifndef RENKEI_RECJSON_H
#define RENKEI_RECJSON_H

#include <jansson.h>

#include "problems.h"
#include "record.h"
#include "taxonomy.h"

/* *out is allocated with malloc and must be freed with protobuf_c_message_free_unpacked(*out, NULL).
 * `path` prefixes field names in errors ("" at top level). */
int rk_message_from_json(const json_t *j, const ProtobufCMessageDescriptor *desc, const char *path,
                         ProtobufCMessage **out, rk_error *err);

/* A publish/update body: {"kind", "rid"?, "visibility"?, "language"?, "<kind>": {...}}.
 * Output-only keys (id, hash, signature, author, version, created_at, provenance) are ignored so a
 * record fetched with GET can be edited and sent back. Defaults: visibility public, language "ja".
 * Author, version and created_at are left for the node to fill. Runs rk_record_validate except for
 * the author/version checks. */
int rk_record_from_json(const json_t *j, Renkei__Record **out, rk_error *err);
/* The same, listing every problem in all (may be NULL); first gets the first one (may be NULL). */
int rk_record_from_json_all(const json_t *j, Renkei__Record **out, rk_problems *all, rk_error *first);
/* The API's error.details: [{"field", "code", "message", "message_ja", "suggestion" (null if none)}]. */
json_t *rk_problems_to_json(const rk_problems *p);
/* Skips a UTF-8 byte order mark (Windows editors and Excel write one) at the start of a JSON text;
 * returns where the JSON starts and shortens *len to match. */
const char *rk_json_skip_bom(const char *buf, size_t *len);

/* Enum code helpers (also used by query parameters and exports). Return NULL / -1 when unknown. */
const char *rk_enum_code(const ProtobufCEnumDescriptor *d, int value);
int rk_enum_parse(const ProtobufCEnumDescriptor *d, const char *code);

#endif
