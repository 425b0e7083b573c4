/* problems: every mistake found in one record, each with its field, in English and Japanese.
 *
 * Validation used to stop at the first mistake, which made people fix a file one error at a time.
 * A rk_sink collects all of them: the first also fills a plain rk_error (the API's error.code and
 * error.message, the ingest reason), and, when a list is attached, each goes into it as a rk_problem
 * (the API's error.details). At most one problem is kept per field: a later one about the same field
 * is a consequence of the first (a rejected code then counts as missing). A list holds at most
 * RK_PROBLEMS_MAX problems: a body of thousands of bad keys is answered with the first ones, in time
 * linear in its size, and the count says how many there were.
 */
#ifndef RENKEI_PROBLEMS_H
#define RENKEI_PROBLEMS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define RK_PROBLEMS_MAX 100

typedef struct rk_problem {
    char code[48];
    char field[128];
    char message[320];
    char message_ja[400];
    char suggestion[128]; /* the canonical value a near miss probably meant, or "" */
} rk_problem;

typedef struct rk_problems {
    rk_problem *items;
    size_t n, cap;
} rk_problems;

void rk_problems_init(rk_problems *p);
void rk_problems_free(rk_problems *p);
/* The problem recorded for field, or NULL. */
const rk_problem *rk_problems_find(const rk_problems *p, const char *field);

typedef struct rk_sink {
    rk_problems *all; /* may be NULL: then only the first problem is kept, in first */
    rk_error *first;  /* may be NULL */
    size_t count;     /* problems noted, duplicates per field included */
    bool oom;         /* a problem could not be listed for lack of memory */
} rk_sink;

void rk_sink_init(rk_sink *s, rk_problems *all, rk_error *first);

/* Notes one problem and returns -1. en and ja are printf formats that take the same arguments in the
 * same order; suggestion may be NULL. */
int rk_sink_note(rk_sink *s, const char *code, const char *field, const char *suggestion, const char *en,
                 const char *ja, ...) RK_PRINTF(5, 7);

#endif
