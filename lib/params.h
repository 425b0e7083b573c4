/* params: URL query strings ("a=1&b=%E5%8C%97") decoded with uriparser into key/value pairs.
 * Values are percent-decoded, '+' is a space, and every key and value must be valid UTF-8. */
#ifndef RENKEI_PARAMS_H
#define RENKEI_PARAMS_H

#include "util.h"

typedef struct rk_params {
    char **keys;
    char **values;
    size_t count;
} rk_params;

/* query may be NULL or "" (no parameters). Errors: invalid_query, invalid_utf8. */
int rk_params_parse(const char *query, rk_params *out, rk_error *err);
/* The last value given for key, or NULL. */
const char *rk_params_get(const rk_params *p, const char *key);
void rk_params_free(rk_params *p);

#endif
