/* export: the HTTP-facing side of the national view (GET /v1/export/NAME, /v1/stats, /v1/regions).
 *
 * Invariants: exports only ever see records with visibility public (the store query is bounded by
 * max_visibility); a bad query never reaches the store; the ETag is decided before any rendering so
 * a conditional request that matches costs no rendering work.
 *
 * This first version checks names and parameters; rendering is wired in by lib/feed.c.
 */
#include <string.h>

#include "feed.h"
#include "params.h"

static const char *const known_names[] = {"feed.atom", "feed.json", "events.ics", "records.csv", "stats", "regions"};

int rk_export_serve(rk_txn *t, const char *name, const char *query, const char *if_none_match,
                    const char *if_modified_since, const rk_feed_meta *m, rk_export_response *out)
{
    (void)t;
    (void)if_none_match;
    (void)if_modified_since;
    (void)m;
    memset(out, 0, sizeof *out);
    rk_buf_init(&out->body);
    out->content_type = "application/json";
    bool known = false;
    for (size_t i = 0; i < sizeof known_names / sizeof known_names[0]; i++)
        if (name && strcmp(name, known_names[i]) == 0)
            known = true;
    if (!known) {
        out->status = 404;
        rk_fail(&out->err, "not_found", "", "no such export");
        return 0;
    }
    rk_params p;
    if (rk_params_parse(query, &p, &out->err) != 0) {
        out->status = 400;
        return 0;
    }
    rk_params_free(&p);
    out->status = 503;
    rk_fail(&out->err, "not_available", "", "exports are not available yet");
    return 0;
}
