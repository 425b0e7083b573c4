/* taxonomy: the stable codes of the domain's taxonomies, their Japanese labels, and the forgiving
 * reading of what people type for them.
 *
 * Codes of enum values are derived from protobuf-c's descriptors (value name minus the enum's
 * UPPER_SNAKE prefix, lower case: INDUSTRY_MANUFACTURING -> "manufacturing"), so a value added to
 * proto/renkei.proto gets its code without touching this module. Zero values (*_UNSPECIFIED) mean
 * "not given" and have no code. Labels are for display, exports and typed input; stored records and
 * every output keep the code. `renkei codes` prints every taxonomy listed here.
 */
#ifndef RENKEI_TAXONOMY_H
#define RENKEI_TAXONOMY_H

#include <stdbool.h>
#include <stddef.h>

#include "renkei.pb-c.h"

/* JIS X 0401: "01" 北海道 .. "47" 沖縄県. NULL when the code is not one of the 47. */
const char *rk_prefecture_name(const char *code);
bool rk_prefecture_valid(const char *code);
/* The two-digit code of prefecture number n (1..47), NULL otherwise. */
const char *rk_prefecture_code(int n);
/* The canonical code for typed input: "17", "７", "石川県" or "石川" (the name without 都/府/県, which
 * is unambiguous among the 47), in any width. NULL when it names no prefecture. */
const char *rk_prefecture_parse(const char *s);
/* The code of the prefecture whose name is nearest to a mistyped one ("石河県" -> "17"), or NULL. */
const char *rk_prefecture_suggest(const char *s);

/* The lower-case code of an enum value; NULL for zero and unknown values. The returned string lives
 * as long as the process. */
const char *rk_taxonomy_code(const ProtobufCEnumDescriptor *d, int value);
/* The value for typed input, or -1 if it names none: the code exactly, or in any case and width with
 * spaces or hyphens for underscores ("AI", "Value-Add"), or the Japanese label ("製造業"). For Industry
 * the JSIC division letter "A".."T" is accepted too. Zero values are never accepted. */
int rk_taxonomy_value(const ProtobufCEnumDescriptor *d, const char *code);
/* The value whose code or label is nearest to a near miss ("manufactring", "製造"), or -1 when none is
 * close enough to be a likely typo. */
int rk_taxonomy_suggest(const ProtobufCEnumDescriptor *d, const char *input);

/* Japanese label of a value, falling back to the code; NULL only when the value has no code either. */
const char *rk_label_ja(const ProtobufCEnumDescriptor *d, int value);

/* The labels of one enum in one language, indexed by enum value (NULL at zero): each language keeps
 * an array of these, one row per enum (here for Japanese, taxonomy_en.c for English). */
typedef struct rk_label_table {
    const ProtobufCEnumDescriptor *desc;
    const char *const *labels;
    size_t n;
} rk_label_table;
#define RK_LABELS(desc, table)                       \
    {                                                \
        &desc, table, sizeof table / sizeof table[0] \
    }
/* The label of value in the row of tables for d; NULL when there is none. */
const char *rk_label_lookup(const rk_label_table *tables, size_t n_tables, const ProtobufCEnumDescriptor *d, int value);

/* Levenshtein distance over Unicode code points of two UTF-8 strings; -1 if either is not valid
 * UTF-8 or is longer than 96 code points. */
int rk_edit_distance(const char *a, const char *b);

/* A taxonomy by the name people look it up with (`renkei codes industry`). desc is NULL for the
 * prefectures, which are strings (JIS X 0401 codes) rather than an enum. */
typedef struct rk_taxonomy {
    const char *name;  /* "industry", "skills", "prefecture" ... */
    const char *alias; /* another accepted spelling ("industries", "skill", "prefectures") */
    const char *title_ja;
    const char *title_en;
    const ProtobufCEnumDescriptor *desc;
} rk_taxonomy;

const rk_taxonomy *rk_taxonomy_list(size_t *n);
const rk_taxonomy *rk_taxonomy_find(const char *name);
const rk_taxonomy *rk_taxonomy_of(const ProtobufCEnumDescriptor *d);

#endif
