/* jsonlist: a JSON list object assembled from rendered items (the rules are in jsonlist.h).
 *
 * Invariant: between rk_jsonlist_open and rk_jsonlist_close, l->out ends with either `[` or a
 * complete item, so the separator goes before every item but the first.
 */
#include "jsonlist.h"

#include <stdarg.h>

static int jsonlist_key(rk_buf *out, const char *lead, const char *key)
{
    return rk_buf_puts(out, lead) || rk_buf_puts(out, "\"") || rk_buf_puts(out, key) || rk_buf_puts(out, "\":");
}

int rk_jsonlist_open(rk_jsonlist *l, rk_buf *out, const char *key)
{
    l->out = out;
    l->count = 0;
    return jsonlist_key(out, "{", key) || rk_buf_puts(out, "[") ? -1 : 0;
}

int rk_jsonlist_next(rk_jsonlist *l)
{
    if (l->count++ && rk_buf_puts(l->out, ",") != 0)
        return -1;
    return 0;
}

void rk_jsonlist_unnext(rk_jsonlist *l)
{
    if (--l->count) /* the separator was the buffer's last byte */
        l->out->data[--l->out->len] = '\0';
}

static int jsonlist_dump_to_buf(const char *data, size_t size, void *ctx)
{
    return rk_buf_append(ctx, data, size) == 0 ? 0 : -1;
}

int rk_jsonlist_dump(const json_t *j, size_t flags, rk_buf *out)
{
    return json_dump_callback(j, jsonlist_dump_to_buf, out, flags);
}

int rk_jsonlist_document(const json_t *j, rk_buf *out)
{
    return rk_jsonlist_dump(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER, out) || rk_buf_puts(out, "\n") ? -1 : 0;
}

int rk_jsonlist_close(rk_jsonlist *l, ...)
{
    if (rk_buf_puts(l->out, "]") != 0)
        return -1;
    va_list ap;
    va_start(ap, l);
    const char *key;
    int rc = 0;
    while (rc == 0 && (key = va_arg(ap, const char *))) {
        const json_t *value = va_arg(ap, const json_t *);
        if (jsonlist_key(l->out, ",", key) != 0 || rk_jsonlist_dump(value, JSON_COMPACT | JSON_ENCODE_ANY, l->out) != 0)
            rc = -1;
    }
    va_end(ap);
    return rc == 0 && rk_buf_puts(l->out, "}") == 0 ? 0 : -1;
}
