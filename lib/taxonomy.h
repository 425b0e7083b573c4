/* taxonomy: the stable codes of DOMAIN.md's taxonomies and their Japanese labels.
 *
 * Codes of enum values are derived from protobuf-c's descriptors (value name minus the enum's
 * UPPER_SNAKE prefix, lower case: INDUSTRY_MANUFACTURING -> "manufacturing"), so a value added to
 * proto/renkei.proto gets its code without touching this module. Zero values (*_UNSPECIFIED) mean
 * "not given" and have no code. Labels are for display and exports only; machines use codes.
 */
#ifndef RENKEI_TAXONOMY_H
#define RENKEI_TAXONOMY_H

#include <stdbool.h>

#include "renkei.pb-c.h"

/* JIS X 0401: "01" 北海道 .. "47" 沖縄県. NULL when the code is not one of the 47. */
const char *rk_prefecture_name(const char *code);
bool rk_prefecture_valid(const char *code);

/* The lower-case code of an enum value; NULL for zero and unknown values. The returned string lives
 * as long as the process. */
const char *rk_taxonomy_code(const ProtobufCEnumDescriptor *d, int value);
/* The value for a code, or -1 if unknown. Zero values are never accepted. For Industry the JSIC
 * division letter "A".."T" is accepted as an alias. */
int rk_taxonomy_value(const ProtobufCEnumDescriptor *d, const char *code);

/* Japanese label of a value (Industry, DxLevel, Skill, EventType, Audience, NodeKind and the other
 * taxonomies DOMAIN.md names in Japanese), falling back to the code; NULL only when the value has no
 * code either. */
const char *rk_label_ja(const ProtobufCEnumDescriptor *d, int value);

#endif
