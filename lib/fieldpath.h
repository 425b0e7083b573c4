/* fieldpath: the name of a field inside a record as problems report it ("case.results[2].metric"),
 * built for every field of every record that is parsed or validated, so by copying rather than by
 * snprintf, whose format parsing was a tenth of rk_record_from_json_all. Output is cut to fit cap and always
 * NUL-terminated, as snprintf would leave it. */
#ifndef RENKEI_FIELDPATH_H
#define RENKEI_FIELDPATH_H

#include <stddef.h>

/* path.name, or name alone when path is NULL or empty. */
void rk_fieldpath_join(char *out, size_t cap, const char *path, const char *name);
/* path[k]. */
void rk_fieldpath_item(char *out, size_t cap, const char *path, size_t k);

#endif
