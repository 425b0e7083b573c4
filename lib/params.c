/* params: thin wrapper over uriparser's query dissection. */
#include "params.h"

#include <stdlib.h>
#include <string.h>

#include <uriparser/Uri.h>

#include "text.h"

int rk_params_parse(const char *query, rk_params *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    if (!query || !*query)
        return 0;
    UriQueryListA *list = NULL;
    int count = 0;
    if (uriDissectQueryMallocA(&list, &count, query, query + strlen(query)) != URI_SUCCESS)
        return rk_fail(err, "invalid_query", "", "the query string cannot be parsed");
    out->keys = calloc((size_t)count + 1, sizeof *out->keys);
    out->values = calloc((size_t)count + 1, sizeof *out->values);
    if (!out->keys || !out->values) {
        uriFreeQueryListA(list);
        rk_params_free(out);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    for (UriQueryListA *it = list; it; it = it->next) {
        const char *k = it->key ? it->key : "";
        const char *v = it->value ? it->value : "";
        if (!rk_text_valid_utf8(k, strlen(k)) || !rk_text_valid_utf8(v, strlen(v))) {
            /* the error names k, which lives in the list: before the list is freed */
            rk_fail(err, "invalid_utf8", k, "query parameter is not valid UTF-8");
            uriFreeQueryListA(list);
            rk_params_free(out);
            return -1;
        }
        out->keys[out->count] = strdup(k);
        out->values[out->count] = strdup(v);
        if (!out->keys[out->count] || !out->values[out->count]) {
            out->count++;
            uriFreeQueryListA(list);
            rk_params_free(out);
            return rk_fail(err, "no_memory", "", "out of memory");
        }
        out->count++;
    }
    uriFreeQueryListA(list);
    return 0;
}

const char *rk_params_get(const rk_params *p, const char *key)
{
    const char *found = NULL;
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->keys[i], key) == 0)
            found = p->values[i];
    return found;
}

void rk_params_free(rk_params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->keys[i]);
        free(p->values[i]);
    }
    free(p->keys);
    free(p->values);
    memset(p, 0, sizeof *p);
}
