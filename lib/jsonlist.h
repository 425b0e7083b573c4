/* jsonlist: a JSON object made of one list of already-rendered JSON values and then plain members,
 * written straight into a buffer, so a list response is its items' bytes (lib/jsoncache.h) around a
 * small envelope rather than a jansson tree rendered again:
 *
 *     {"<key>":[<item>,<item>,...],"<key>":<value>,...}
 *
 * byte for byte what jansson's JSON_COMPACT dump of the same tree gives (members in insertion order,
 * no spaces). Keys are the program's own ASCII names, which JSON never escapes; member values are
 * dumped by jansson. Items must each be one complete JSON value.
 */
#ifndef RENKEI_JSONLIST_H
#define RENKEI_JSONLIST_H

#include <jansson.h>

#include "util.h"

typedef struct rk_jsonlist {
    rk_buf *out;
    size_t count; /* items so far */
} rk_jsonlist;

/* Appends `{"key":[` to out. Each returns 0, or -1 when out of memory. */
int rk_jsonlist_open(rk_jsonlist *l, rk_buf *out, const char *key);
/* Before each item: the separator; the caller then appends the item's bytes to l->out. */
int rk_jsonlist_next(rk_jsonlist *l);
/* Takes back the separator of the last rk_jsonlist_next, for an item that was not appended after all. */
void rk_jsonlist_unnext(rk_jsonlist *l);
/* Ends the list and adds `"key":value` members (NULL-terminated key, value pairs, values borrowed),
 * then the closing brace. */
int rk_jsonlist_close(rk_jsonlist *l, ...);
/* Appends jansson's dump of j (json_dump_flags) to out, the one way this tree turns a jansson value
 * into bytes in a buffer. 0, or -1 when out of memory (out may then hold part). */
int rk_jsonlist_dump(const json_t *j, size_t flags, rk_buf *out);
/* j as a whole JSON document the exports serve (the feed, the catalog, statistics): indented by one,
 * members in the order they were set, and a final newline. 0, or -1 when out of memory. */
int rk_jsonlist_document(const json_t *j, rk_buf *out);

/* The same document written in pieces, for one whose last member is a list too large to hold as a
 * tree (the JSON Feed's items): rk_jsonlist_document_open sets key in head (an object without it) to
 * an empty list and appends the document up to that list's "["; each rk_jsonlist_document_item
 * appends one item, indented at the list's depth; rk_jsonlist_document_close ends the list and the
 * document. out may be emptied between calls. The bytes are rk_jsonlist_document's of head with the
 * items set under key, whatever their number (none included). */
int rk_jsonlist_document_open(rk_jsonlist *l, rk_buf *out, json_t *head, const char *key);
int rk_jsonlist_document_item(rk_jsonlist *l, const json_t *item);
int rk_jsonlist_document_close(rk_jsonlist *l);

#endif
