/* util: the small shared vocabulary of librenkei.
 *
 * rk_error carries a stable machine code (used as API error code and metric label), the offending
 * field when there is one, and a human sentence. rk_buf is a growable byte buffer whose data is
 * always NUL-terminated. Functions here never abort: allocation failure is reported to the caller.
 */
#ifndef RENKEI_UTIL_H
#define RENKEI_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RK_KEY_LEN 32
#define RK_SIG_LEN 64
#define RK_HASH_LEN 32

/* Japan Standard Time, seconds east of UTC: the network's calendar day, feeds and exports use it.
 * Japan has no daylight saving time, so a constant is exact. */
#define RK_JST_OFFSET_S (9 * 3600)

typedef struct rk_error {
    char code[48];     /* e.g. "invalid_json", "unknown_field", "bad_signature" */
    char field[128];   /* dotted path such as "case.industry", or "" */
    char message[320]; /* one sentence for a person */
} rk_error;

#if defined(__GNUC__)
#define RK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RK_PRINTF(a, b)
#endif

/* Fills err (if not NULL) and returns -1, so callers can `return rk_fail(...)`. Code, field and
 * message are left valid UTF-8, as rk_vformat_utf8 leaves them: clients get them as JSON strings. */
int rk_fail(rk_error *err, const char *code, const char *field, const char *fmt, ...) RK_PRINTF(4, 5);
/* vsnprintf into out (size > 0), then made valid UTF-8 in place, whatever the arguments held: a
 * character cut at the end is dropped, any other byte that starts no valid character becomes '?'. */
void rk_vformat_utf8(char *out, size_t size, const char *fmt, va_list ap) RK_PRINTF(3, 0);
void rk_error_clear(rk_error *err);

typedef struct rk_buf {
    char *data;
    size_t len;
    size_t cap;
} rk_buf;

void rk_buf_init(rk_buf *b);
void rk_buf_free(rk_buf *b);
void rk_buf_reset(rk_buf *b);
int rk_buf_reserve(rk_buf *b, size_t extra);
int rk_buf_append(rk_buf *b, const void *data, size_t len);
int rk_buf_puts(rk_buf *b, const char *s);
int rk_buf_printf(rk_buf *b, const char *fmt, ...) RK_PRINTF(2, 3);
/* Takes ownership of the data; the buffer is left empty. */
char *rk_buf_take(rk_buf *b, size_t *len);

/* The one whole-file reader of the tree. Appends all of f, or of the file at path, to b. max bounds
 * the bytes appended (0: no bound) so a configuration or PEM path pointing at something huge cannot
 * exhaust memory. Returns 0, or -1 with errno set (EFBIG over max, ENOMEM, or the open/read error) so
 * each caller words its own message. Written here rather than with g_file_get_contents because that
 * has no size bound, cannot read stdin, and aborts on allocation failure. */
int rk_read_stream(FILE *f, size_t max, rk_buf *b);
int rk_read_path(const char *path, size_t max, rk_buf *b);

void rk_hex_encode(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
/* Decodes exactly 2*len hex characters; returns -1 on any other input. */
int rk_hex_decode(const char *in, uint8_t *out, size_t len);

uint64_t rk_now_ms(void); /* wall clock, ms since the epoch */
uint64_t rk_monotonic_ns(void);

/* Writes the decimal digits of v at the start of out (no NUL) and returns how many there are, for the
 * per-response and per-item paths where printf's format parsing shows in profiles. */
#define RK_UINT_DIGITS 20
size_t rk_format_uint(uint64_t v, char out[RK_UINT_DIGITS]);

void rk_put_be64(uint8_t *p, uint64_t v);
uint64_t rk_get_be64(const uint8_t *p);

/* Unsigned LEB128 varints, as protobuf encodes them (at most 10 bytes): rk_varint_put writes v at p
 * and returns its length; rk_varint_get reads one at *p (before end), advances *p, and returns false
 * if it is cut short or longer than 10 bytes. */
#define RK_VARINT_MAX 10
size_t rk_varint_len(uint64_t v);
size_t rk_varint_put(uint8_t *p, uint64_t v);
bool rk_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM)" into seconds since the epoch and the offset
 * in seconds east of UTC. Returns -1 if malformed or out of range. */
int rk_parse_rfc3339(const char *s, int64_t *epoch, int *offset_s);
/* Parses YYYY-MM-DD (day 1..31 checked against the month). */
int rk_parse_date(const char *s, int *y, int *m, int *d);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t rk_days_from_civil(int64_t y, int m, int d);
void rk_civil_from_days(int64_t days, int *y, int *m, int *d);
/* Formats seconds since the epoch as RFC 3339 with the given offset ("Z" when 0 and utc_z). */
void rk_format_rfc3339(int64_t epoch, int offset_s, bool utc_z, char out[32]);

/* Sorts v[0..n) ascending by insertion, the cheapest order for short or nearly sorted runs. Gives up
 * once its entries have moved more than max_moves places in all and returns false: v is then a
 * permutation of its input for the caller to sort another way. Inline because it runs on the small
 * partitions of hot sorts. */
static inline bool rk_u64_insertion_sort(uint64_t *v, size_t n, size_t max_moves)
{
    size_t moves = 0;
    for (size_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
        moves += i - j;
        if (moves > max_moves)
            return false;
    }
    return true;
}

#endif
