/* jsonlist: a JSON list object assembled from rendered items (the rules are in jsonlist.h).
 *
 * Invariant: between rk_jsonlist_open and rk_jsonlist_close, l->out ends with either `[` or a
 * complete item, so the separator goes before every item but the first. The indented document's
 * pieces are jansson's own: the head is jansson's dump with the list empty, cut before the list's
 * "]", and an item is jansson's dump of it at depth 0 with every line break followed by the list's
 * extra indentation, which is exactly what jansson writes for it at depth 2 (a JSON string never
 * holds a raw line break, so only the layout's breaks are touched).
 */
#include "jsonlist.h"

#include <stdarg.h>
#include <string.h>

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

/* What an empty list under the top-level object ends the document with, and the layout jansson
 * (JSON_INDENT(1)) gives a list one level down: items on lines indented by two, the "]" by one. */
#define DOC_EMPTY_TAIL "]\n}\n"
#define DOC_ITEM_BREAK "\n  "

int rk_jsonlist_document_open(rk_jsonlist *l, rk_buf *out, json_t *head, const char *key)
{
    l->out = out;
    l->count = 0;
    size_t tail = strlen(DOC_EMPTY_TAIL);
    if (json_object_set_new(head, key, json_array()) != 0 || rk_jsonlist_document(head, out) != 0)
        return -1;
    if (out->len < tail || memcmp(out->data + out->len - tail, DOC_EMPTY_TAIL, tail) != 0)
        return -1;    /* head was not an object, or already had key */
    out->len -= tail; /* the document now ends with the list's "[" */
    out->data[out->len] = '\0';
    return 0;
}

/* json_dump_callback's sink for an item: the layout's line breaks get the list's indentation. */
static int jsonlist_indented_to_buf(const char *data, size_t size, void *ctx)
{
    rk_buf *out = ctx;
    for (const char *end = data + size; data < end;) {
        const char *nl = memchr(data, '\n', (size_t)(end - data));
        size_t run = nl ? (size_t)(nl - data) : (size_t)(end - data);
        if (rk_buf_append(out, data, run) != 0 || (nl && rk_buf_puts(out, DOC_ITEM_BREAK) != 0))
            return -1;
        data += run + (nl ? 1 : 0);
    }
    return 0;
}

int rk_jsonlist_document_item(rk_jsonlist *l, const json_t *item)
{
    if (rk_buf_puts(l->out, l->count++ ? "," DOC_ITEM_BREAK : DOC_ITEM_BREAK) != 0)
        return -1;
    return json_dump_callback(item, jsonlist_indented_to_buf, l->out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
}

int rk_jsonlist_document_close(rk_jsonlist *l)
{
    return rk_buf_puts(l->out, l->count ? "\n " DOC_EMPTY_TAIL : DOC_EMPTY_TAIL);
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
