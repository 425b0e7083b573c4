/* validate: the content rules every record must satisfy, wherever it comes from (peer, disk, CLI,
 * publish body). Sits below record.h, which includes it, so lib/record.c and lib/recjson.c call into
 * it without validate.c knowing anything about rk_record. The functions keep the rk_record_ names
 * every caller already uses: they judge a Record, which is what they are named after.
 *
 * Each rejection names one stable reason code and the dotted field path (docs/api.md lists the codes).
 */
#ifndef RENKEI_VALIDATE_H
#define RENKEI_VALIDATE_H

#include <stdbool.h>

#include "renkei.pb-c.h"
#include "util.h"

#define RK_RID_MAX 64

/* Schema rules only (every rule of DESIGN.md's ingest list that concerns content). */
int rk_record_validate(const Renkei__Record *r, rk_error *err);
/* The same without author, rid and version, which the node fills in on publish. */
int rk_record_validate_content(const Renkei__Record *r, rk_error *err);
/* The rest: the fields the node fills in on publish (author, rid, version) and the rules that tie
 * them to the content (a membership record's rid). For a message whose content was validated already,
 * so that a publish validates each rule once (rk_record_seal_owned). */
int rk_record_validate_filled(const Renkei__Record *r, rk_error *err);
/* rk_record_validate_content noting every problem in sink (lib/problems.h) rather than the first. */
struct rk_sink;
int rk_record_check(const Renkei__Record *r, struct rk_sink *sink);

/* 1 to RK_RID_MAX characters of [A-Za-z0-9._-]. */
bool rk_rid_valid(const char *rid);

/* The bytes one element of a repeated field of this type takes in a protobuf-c message (its array
 * stride). The rules here and recjson.c both walk messages through their descriptors. */
size_t rk_pb_element_size(ProtobufCType type);

/* "case", "event", "region", "tombstone", "endorse", "rotate", "revoke"; "unknown" for anything else. The check of a record's body
 * looks the body field up by this name. */
const char *rk_kind_name(int kind);
/* The body of r when it has the one its kind names (the field of Record named after the kind), else
 * NULL: an unknown kind, no body, or a body of another kind. Readers of stored records call it
 * rather than trusting kind and body_case to agree. */
const void *rk_record_body(const Renkei__Record *r);

#endif
