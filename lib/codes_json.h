/* codes_json: the taxonomies' code lists with their Japanese and English labels, as JSON. */
#ifndef RENKEI_CODES_JSON_H
#define RENKEI_CODES_JSON_H

#include <jansson.h>

#include "taxonomy.h"

/* {"industry": [{"code": "manufacturing", "label_ja": "製造業", "label_en": "Manufacturing"}, ...],
 * "prefecture": [...], ...}: every taxonomy of lib/taxonomy.h (or only one), as `renkei codes --json` prints it and a form needs it
 * for its choices. NULL when memory ran out. */
json_t *rk_codes_to_json(const rk_taxonomy *only);

#endif
