/* errcode: the one table from a stable error code (rk_error.code, the "code" of an API error body
 * and a metric label) to the HTTP status the local API answers it with.
 *
 * Every code the API or its HTTP server can send is listed once with its status; a code that is not
 * listed is a bug in the caller and is answered 500. docs/api.md's error table is this table.
 */
#ifndef RENKEI_ERRCODE_H
#define RENKEI_ERRCODE_H

/* The HTTP status for code (500 for NULL, "" or an unlisted code). */
int rk_errcode_status(const char *code);
/* True if code is in the table (for tests). */
int rk_errcode_known(const char *code);

#endif
