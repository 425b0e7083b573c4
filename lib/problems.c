/* problems: the list of a record's mistakes and the sink validation writes them to. */
#include "problems.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

void rk_problems_init(rk_problems *p)
{
    memset(p, 0, sizeof *p);
}

void rk_problems_free(rk_problems *p)
{
    free(p->items);
    memset(p, 0, sizeof *p);
}

const rk_problem *rk_problems_find(const rk_problems *p, const char *field)
{
    for (size_t i = 0; p && i < p->n; i++)
        if (strcmp(p->items[i].field, field ? field : "") == 0)
            return &p->items[i];
    return NULL;
}

void rk_sink_init(rk_sink *s, rk_problems *all, rk_error *first)
{
    memset(s, 0, sizeof *s);
    s->all = all;
    s->first = first;
    rk_error_clear(first);
}

int rk_sink_note(rk_sink *s, const char *code, const char *field, const char *suggestion, const char *en,
                 const char *ja, ...)
{
    if (!s)
        return -1;
    if (!field)
        field = "";
    bool first = s->count++ == 0;
    bool listed = s->all && s->all->n < RK_PROBLEMS_MAX && !rk_problems_find(s->all, field);
    if (!first && !listed)
        return -1;
    rk_problem pr;
    memset(&pr, 0, sizeof pr);
    snprintf(pr.code, sizeof pr.code, "%s", code ? code : "error");
    snprintf(pr.field, sizeof pr.field, "%s", field);
    snprintf(pr.suggestion, sizeof pr.suggestion, "%s", suggestion ? suggestion : "");
    va_list ap, aq;
    va_start(ap, ja);
    va_copy(aq, ap);
    vsnprintf(pr.message, sizeof pr.message, en, ap);
    /* The compiler checks en against the arguments; ja is its translation, written next to it at every
     * call with the same conversions in the same order, which no attribute can express. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(pr.message_ja, sizeof pr.message_ja, ja, aq);
#pragma GCC diagnostic pop
    va_end(aq);
    va_end(ap);
    if (first && s->first) {
        snprintf(s->first->code, sizeof s->first->code, "%s", pr.code);
        snprintf(s->first->field, sizeof s->first->field, "%s", pr.field);
        snprintf(s->first->message, sizeof s->first->message, "%s", pr.message);
    }
    if (listed) {
        rk_problem *items = rk_grow(s->all->items, &s->all->cap, s->all->n + 1, sizeof *items);
        if (!items) {
            s->oom = true;
            return -1;
        }
        s->all->items = items;
        s->all->items[s->all->n++] = pr;
    }
    return -1;
}
