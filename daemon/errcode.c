/* errcode: error code -> HTTP status, as a table rather than guesses from the code's spelling.
 *
 * Invariant: a code appears once. Statuses follow docs/api.md: 4xx for what the caller can fix, 5xx
 * for what the node could not do; a record that loses to the stored version is a 409 wherever the
 * loss is found (the API's own check or the writer's), a full map is 507.
 */
#include "errcode.h"

#include <string.h>

typedef struct errcode_entry {
    const char *code;
    int status;
} errcode_entry;

static const errcode_entry errcode_table[] = {
    /* the request itself (http.c, api.c) */
    {"invalid_request", 400},
    {"invalid_json", 400},
    {"invalid_utf8", 400},
    {"invalid_id", 400},
    {"unknown_parameter", 400},
    {"invalid_parameter", 400},
    {"invalid_query", 400},
    {"invalid_cursor", 400},
    {"no_session", 401},
    {"forbidden", 403},
    {"host_not_allowed", 403},
    {"cross_site", 403},
    {"not_found", 404},
    {"method_not_allowed", 405},
    {"request_timeout", 408},
    {"conflict", 409},
    {"gone", 410},
    {"body_too_large", 413},
    {"unsupported_media_type", 415},
    {"uri_too_long", 414},
    {"headers_too_large", 431},
    /* record content: the schema rules (validate.c, recjson.c) */
    {"wrong_type", 400},
    {"unknown_field", 400},
    {"missing_field", 400},
    {"invalid_enum", 400},
    {"invalid_value", 400},
    {"invalid_date", 400},
    {"invalid_prefecture", 400},
    {"invalid_rid", 400},
    {"invalid_author", 400},
    {"invalid_version", 400},
    {"too_long", 400},
    {"too_many", 400},
    {"kind_mismatch", 400},
    /* the ingest checks (record.c, ingest.c) */
    {"too_large", 400},
    {"malformed", 400},
    {"clock_skew", 400},
    {"not_member", 400},
    {"rotated_key", 403},
    {"revoked_key", 403},
    /* a membership record the roster function does not take (lib/membership.c) */
    {"bad_countersignature", 400},
    {"self_endorsement", 400},
    {"equivocation", 409},
    {"key_in_use", 409},
    {"revoked_subject", 409},
    {"rotated_subject", 409},
    {"superseded", 409},
    {"bad_signature", 400},
    {"duplicate", 400},
    {"stale_version", 409},
    {"quota", 429},
    /* the node */
    {"no_memory", 500},
    {"internal", 500},
    {"sign_failed", 500},
    {"stopping", 503},
    {"too_many_connections", 503},
    {"export_busy", 503},
    {"store_error", 503},
    {"store_corrupt", 503},
    {"store_full", 507},
};

static const errcode_entry *errcode_find(const char *code)
{
    if (!code)
        return NULL;
    for (size_t i = 0; i < sizeof errcode_table / sizeof errcode_table[0]; i++)
        if (strcmp(errcode_table[i].code, code) == 0)
            return &errcode_table[i];
    return NULL;
}

int rk_errcode_status(const char *code)
{
    const errcode_entry *e = errcode_find(code);
    return e ? e->status : 500;
}

const char *rk_errcode_at(size_t i, int *status)
{
    if (i >= sizeof errcode_table / sizeof errcode_table[0])
        return NULL;
    *status = errcode_table[i].status;
    return errcode_table[i].code;
}
