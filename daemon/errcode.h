/* errcode: the one table from a stable error code (rk_error.code, the "code" of an API error body
 * and a metric label) to the HTTP status the local API answers it with.
 *
 * Every code the API or its HTTP server can send is listed once with its status; a code that is not
 * listed is a bug in the caller and is answered 500. docs/api.md's error table is this table.
 */
#ifndef RENKEI_ERRCODE_H
#define RENKEI_ERRCODE_H

#include <stddef.h>

/* The HTTP status for code (500 for NULL, "" or an unlisted code). */
int rk_errcode_status(const char *code);
/* The table's i-th code (NULL past the end) and its status: for tests that hold the docs to it. */
const char *rk_errcode_at(size_t i, int *status);

#endif
