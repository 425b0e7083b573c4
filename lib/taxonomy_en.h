/* taxonomy_en: English labels of the domain's taxonomies, for the web page's English view and for
 * anyone reading the code lists without Japanese.
 *
 * Japanese stays the primary label (lib/taxonomy.h): English labels are for display only, are never
 * read back from input, and never replace the code in a record or an export.
 */
#ifndef RENKEI_TAXONOMY_EN_H
#define RENKEI_TAXONOMY_EN_H

#include "renkei.pb-c.h"

/* The English label of an enum value ("Manufacturing"), NULL when the value has none (zero values,
 * values unknown to the table). */
const char *rk_label_en(const ProtobufCEnumDescriptor *d, int value);

/* The romanised name of a JIS X 0401 prefecture code ("17" -> "Ishikawa"), NULL for other input. */
const char *rk_prefecture_name_en(const char *code);

#endif
