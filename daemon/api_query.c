/* api_query: the read routes' query strings (api_query.h). Values are checked here, before any
 * store is opened, so a bad query costs no transaction. */
#include "api_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recjson.h"
#include "taxonomy.h"

/* The first key of p not in allowed, or NULL. */
static const char *query_unknown_key(const rk_params *p, const char *const *allowed)
{
    for (size_t i = 0; i < p->count; i++) {
        bool ok = false;
        for (size_t k = 0; allowed[k]; k++)
            ok |= strcmp(p->keys[i], allowed[k]) == 0;
        if (!ok)
            return p->keys[i];
    }
    return NULL;
}

int rk_api_params(const char *query, const char *const *allowed, rk_params *p, rk_error *err)
{
    if (rk_params_parse(query, p, err) != 0)
        return -1;
    const char *bad = query_unknown_key(p, allowed);
    if (bad) {
        rk_fail(err, "unknown_parameter", bad, "unknown query parameter \"%s\"", bad);
        rk_params_free(p);
        return -1;
    }
    return 0;
}

int rk_api_parse_limit(const char *v, size_t def, size_t *out)
{
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!v[0] || *end || n < 1 || n > RK_API_MAX_LIMIT)
        return -1;
    *out = (size_t)n;
    return 0;
}

static int query_limit(const rk_params *p, size_t def, size_t *out, rk_error *err)
{
    if (rk_api_parse_limit(rk_params_get(p, "limit"), def, out) != 0)
        return rk_fail(err, "invalid_parameter", "limit", "limit must be 1..%d", RK_API_MAX_LIMIT);
    return 0;
}

static int query_enum(const rk_params *p, const char *key, const ProtobufCEnumDescriptor *d, int *out, rk_error *err)
{
    const char *v = rk_params_get(p, key);
    *out = 0;
    if (!v)
        return 0;
    int e = rk_enum_parse(d, v);
    if (e <= 0)
        return rk_fail(err, "invalid_parameter", key, "\"%s\" is not a %s code", v, d->short_name);
    *out = e;
    return 0;
}

static int query_prefecture(const rk_params *p, char out[3], rk_error *err)
{
    const char *v = rk_params_get(p, "prefecture");
    out[0] = '\0';
    if (!v)
        return 0;
    if (!rk_prefecture_valid(v))
        return rk_fail(err, "invalid_parameter", "prefecture", "\"%s\" is not a prefecture code 01..47", v);
    memcpy(out, v, 3);
    return 0;
}

/* YYYY-MM-DD (00:00 JST, or 23:59:59 JST for end_of_day) or RFC 3339. */
static int query_when(const char *v, bool end_of_day, int64_t *out)
{
    int y, m, d, off;
    if (strlen(v) == 10 && rk_parse_date(v, &y, &m, &d) == 0) {
        char buf[40];
        snprintf(buf, sizeof buf, "%.10sT00:00:00+09:00", v);
        int64_t e;
        if (rk_parse_rfc3339(buf, &e, &off) != 0)
            return -1;
        *out = end_of_day ? e + 86399 : e;
        return 0;
    }
    return rk_parse_rfc3339(v, out, &off);
}

int rk_api_records_query(const char *query, rk_params *p, rk_query *q, uint8_t author[RK_KEY_LEN],
                         const char **author_name, rk_error *err)
{
    static const char *const allowed[] = {"kind",   "prefecture", "industry", "dx_level", "skill", "audience",
                                          "author", "q",          "limit",    "cursor",   NULL};
    memset(q, 0, sizeof *q);
    *author_name = NULL;
    if (rk_api_params(query, allowed, p, err) != 0)
        return -1;
    q->max_visibility = RENKEI__VISIBILITY__VISIBILITY_LOCAL;
    const char *v;
    if ((v = rk_params_get(p, "kind"))) {
        q->kind = rk_enum_parse(&renkei__kind__descriptor, v);
        if (q->kind <= 0 || q->kind == RENKEI__KIND__KIND_TOMBSTONE) {
            rk_fail(err, "invalid_parameter", "kind", "kind must be case, event or region");
            goto fail;
        }
    }
    if (query_prefecture(p, q->prefecture, err) != 0 ||
        query_enum(p, "industry", &renkei__industry__descriptor, &q->industry, err) != 0 ||
        query_enum(p, "dx_level", &renkei__dx_level__descriptor, &q->dx_level, err) != 0 ||
        query_enum(p, "skill", &renkei__skill__descriptor, &q->skill, err) != 0 ||
        query_enum(p, "audience", &renkei__audience__descriptor, &q->audience, err) != 0)
        goto fail;
    if ((v = rk_params_get(p, "author"))) {
        if (strlen(v) == 2 * RK_KEY_LEN && rk_hex_decode(v, author, RK_KEY_LEN) == 0)
            q->author = author;
        else
            *author_name = v;
    }
    q->q = rk_params_get(p, "q");
    if (query_limit(p, RK_API_DEFAULT_LIMIT, &q->limit, err) != 0)
        goto fail;
    q->cursor = rk_params_get(p, "cursor");
    if (q->cursor && strlen(q->cursor) >= RK_CURSOR_MAX) {
        rk_fail(err, "invalid_parameter", "cursor", "malformed cursor");
        goto fail;
    }
    return 0;
fail:
    rk_params_free(p);
    memset(q, 0, sizeof *q);
    *author_name = NULL;
    return -1;
}

int rk_api_events_query(const char *query, int64_t now_s, rk_event_query *q, rk_error *err)
{
    static const char *const allowed[] = {"from", "to", "prefecture", "format", "open_scope", "limit", NULL};
    memset(q, 0, sizeof *q);
    rk_params p;
    if (rk_api_params(query, allowed, &p, err) != 0)
        return -1;
    q->max_visibility = RENKEI__VISIBILITY__VISIBILITY_LOCAL;
    q->from = now_s;
    q->to = INT64_C(253402300799); /* 9999-12-31T23:59:59Z */
    const char *v;
    int rc = -1;
    if ((v = rk_params_get(&p, "from")) && query_when(v, false, &q->from) != 0)
        rk_fail(err, "invalid_parameter", "from", "from must be YYYY-MM-DD or RFC 3339");
    else if ((v = rk_params_get(&p, "to")) && query_when(v, true, &q->to) != 0)
        rk_fail(err, "invalid_parameter", "to", "to must be YYYY-MM-DD or RFC 3339");
    else if (q->to < q->from)
        rk_fail(err, "invalid_parameter", "to", "to is before from");
    else if (query_prefecture(&p, q->prefecture, err) == 0 &&
             query_enum(&p, "format", &renkei__event_format__descriptor, &q->format, err) == 0 &&
             query_enum(&p, "open_scope", &renkei__open_scope__descriptor, &q->open_scope, err) == 0 &&
             query_limit(&p, RK_API_DEFAULT_LIMIT, &q->limit, err) == 0)
        rc = 0;
    rk_params_free(&p);
    return rc;
}

int rk_api_record_format(const char *query, bool *signed_form, rk_error *err)
{
    rk_params p;
    *signed_form = false;
    if (rk_params_parse(query, &p, err) != 0)
        return -1;
    const char *format = rk_params_get(&p, "format");
    *signed_form = format && strcmp(format, "signed") == 0;
    bool bad_format = format && !*signed_form && strcmp(format, "json") != 0;
    rk_params_free(&p);
    if (bad_format) {
        *signed_form = false;
        return rk_fail(err, "invalid_value", "format", "format is json (default) or signed");
    }
    return 0;
}

/* A decimal count: digits only, no sign, no blank. */
static int query_u64(const char *v, uint64_t *out)
{
    if (!v || !v[0] || v[0] == '-' || v[0] == '+')
        return -1;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end)
        return -1;
    *out = n;
    return 0;
}

int rk_api_changes_query(const char *query, rk_api_changes *q, rk_error *err)
{
    static const char *const allowed[] = {"after", "limit", "wait", NULL};
    memset(q, 0, sizeof *q);
    rk_params p;
    if (rk_api_params(query, allowed, &p, err) != 0)
        return -1;
    const char *v;
    int rc = -1;
    if ((v = rk_params_get(&p, "after")) && query_u64(v, &q->after) != 0)
        rk_fail(err, "invalid_parameter", "after", "after must be a change sequence number");
    else if ((v = rk_params_get(&p, "wait")) && (query_u64(v, &q->wait) != 0 || q->wait > RK_API_WAIT_MAX_S))
        rk_fail(err, "invalid_parameter", "wait", "wait must be 0..%d seconds", RK_API_WAIT_MAX_S);
    else if (query_limit(&p, RK_API_WAIT_DEFAULT_LIMIT, &q->limit, err) == 0)
        rc = 0;
    rk_params_free(&p);
    return rc;
}
