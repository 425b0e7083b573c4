/* problems: how the client shows a record's mistakes to a person, in Japanese when the locale is
 * Japanese.
 *
 * The API sends every problem of a rejected record in error.details, each in English and Japanese;
 * `renkei publish`, `update` and `import` print them all, one line each, so a file is fixed in one
 * go. The language follows LC_ALL, then LC_MESSAGES, then LANG (the POSIX order): "ja..." means
 * Japanese. Codes and field paths are printed as they are in every language, beside the text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

bool rk_cli_japanese(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0])
            return strncmp(v, "ja", 2) == 0;
    }
    return false;
}

void rk_print_problem(FILE *f, const char *where, const char *field, const char *code, const char *message,
                      const char *message_ja, const char *suggestion)
{
    bool ja = rk_cli_japanese() && message_ja && message_ja[0];
    fprintf(f, "  %s%s%s: %s [%s]", where ? where : "", where && where[0] ? " " : "", field && field[0] ? field : "-",
            ja        ? message_ja
            : message ? message
                      : "",
            code ? code : "error");
    if (suggestion && suggestion[0])
        fprintf(f, ja ? " → 候補: %s" : " -> suggestion: %s", suggestion);
    fputc('\n', f);
}

size_t rk_print_details(FILE *f, const char *where, const json_t *details)
{
    size_t i;
    json_t *d;
    json_array_foreach(details, i, d)
    {
        rk_print_problem(
            f, where, json_string_value(json_object_get(d, "field")), json_string_value(json_object_get(d, "code")),
            json_string_value(json_object_get(d, "message")), json_string_value(json_object_get(d, "message_ja")),
            json_string_value(json_object_get(d, "suggestion")));
    }
    return json_array_size(details);
}
