/* recview: protobuf -> JSON for records, derived from protobuf-c's descriptors so that the JSON
 * shape cannot drift from proto/renkei.proto, and the API view of a stored record (docs/api.md). The
 * output rules are those of lib/recjson.h: proto field names, enum codes, lower-case hex for bytes,
 * arrays for repeated fields, fields at their default value left out.
 */
#ifndef RENKEI_RECVIEW_H
#define RENKEI_RECVIEW_H

#include <jansson.h>

#include "record.h"

/* Generic conversion of any message. */
json_t *rk_json_from_message(const ProtobufCMessage *m);

/* The API view of a stored record: the record fields plus "id", "hash", "signature" and
 * "provenance": {"author", "node", "version", "hash", "signature"}. node_name may be NULL. */
json_t *rk_record_to_json(const rk_record *rec, const char *node_name);
/* That view as the API sends it, appended to out: exactly the bytes of dumping rk_record_to_json's
 * tree with JSON_COMPACT. The record's strings are taken as valid UTF-8, which every stored
 * record's are (lib/validate.c); an invalid one fails the dump. -1 on failure (out may hold part). */
int rk_record_json_append(const rk_record *rec, const char *node_name, rk_buf *out);

#endif
