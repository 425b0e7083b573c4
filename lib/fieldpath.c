/* fieldpath: dotted field paths for problems (fieldpath.h).
 *
 * Invariant: every function leaves out NUL-terminated within cap bytes (cap > 0), whatever the
 * lengths of its parts.
 */
#include "fieldpath.h"

#include <string.h>

#include "util.h"

/* Appends s to out[0..*len) within cap bytes, NUL included, cutting it as snprintf would. */
static void fieldpath_put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n >= cap)
        n = cap - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

void rk_fieldpath_join(char *out, size_t cap, const char *path, const char *name)
{
    size_t len = 0;
    out[0] = '\0';
    if (path && path[0]) {
        fieldpath_put(out, cap, &len, path, strlen(path));
        fieldpath_put(out, cap, &len, ".", 1);
    }
    fieldpath_put(out, cap, &len, name, strlen(name));
}

void rk_fieldpath_item(char *out, size_t cap, const char *path, size_t k)
{
    char index[RK_UINT_DIGITS + 2] = "[";
    size_t n = 1 + rk_format_uint(k, index + 1), len = 0;
    index[n++] = ']';
    out[0] = '\0';
    fieldpath_put(out, cap, &len, path, strlen(path));
    fieldpath_put(out, cap, &len, index, n);
}
