/* lookup_cases: a text-to-text lookup (a prefecture code for what a user typed, an English name for
 * a code) checked against a table of inputs and what each must give, NULL where it must give
 * nothing. A failure names the input, so one table row says which case broke. Include after
 * <cmocka.h>. */
#ifndef RENKEI_LOOKUP_CASES_H
#define RENKEI_LOOKUP_CASES_H

#include <stddef.h>
#include <string.h>

typedef struct lookup_case {
    const char *in;   /* NULL is a valid input: the lookup must take it */
    const char *want; /* NULL: the lookup must give nothing */
} lookup_case;

static inline void expect_lookups(const char *name, const char *(*fn)(const char *), const lookup_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *in = cases[i].in, *want = cases[i].want, *got = fn(in);
        if (want ? !got || strcmp(got, want) != 0 : got != NULL)
            fail_msg("%s(\"%s\") gave %s%s%s, want %s%s%s", name, in ? in : "(null)", got ? "\"" : "",
                     got ? got : "nothing", got ? "\"" : "", want ? "\"" : "", want ? want : "nothing",
                     want ? "\"" : "");
    }
}
#define EXPECT_LOOKUPS(fn, cases) expect_lookups(#fn, fn, cases, sizeof cases / sizeof cases[0])

#endif
