/* util: error reporting, growable buffers, whole-file reading, hex, clocks and RFC 3339 time. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

/* The length of the UTF-8 sequence that lead byte c starts (1 for a byte that starts none). */
static size_t util_utf8_len(unsigned char c)
{
    return c >= 0xf0 && c <= 0xf7 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* Makes s, of len bytes, valid UTF-8 in place: an error reaches clients as JSON strings, which must
 * be, whatever a client sent and wherever snprintf cut. A character cut at the end (truncated) is
 * dropped; any other byte that starts no valid character becomes '?'. */
static void util_utf8_repair(char *s, size_t len, bool truncated)
{
    for (size_t back = 1; truncated && back <= 3 && back <= len; back++) {
        unsigned char c = (unsigned char)s[len - back];
        if (c >= 0xc0) {
            if (util_utf8_len(c) > back)
                s[len -= back] = '\0';
            break;
        }
        if (c < 0x80)
            break;
    }
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0 || cp < 0) {
            s[i++] = '?';
            continue;
        }
        i += (size_t)n;
    }
}

void rk_vformat_utf8(char *out, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(out, size, fmt, ap);
    if (n < 0) {
        out[0] = '\0';
        return;
    }
    util_utf8_repair(out, strlen(out), (size_t)n >= size);
}

static void util_error_copy(char *out, size_t size, const char *fmt, ...) RK_PRINTF(3, 4);
static void util_error_copy(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rk_vformat_utf8(out, size, fmt, ap);
    va_end(ap);
}

int rk_fail(rk_error *err, const char *code, const char *field, const char *fmt, ...)
{
    if (err) {
        util_error_copy(err->code, sizeof err->code, "%s", code ? code : "error");
        util_error_copy(err->field, sizeof err->field, "%s", field ? field : "");
        va_list ap;
        va_start(ap, fmt);
        rk_vformat_utf8(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void rk_error_clear(rk_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

void rk_buf_init(rk_buf *b)
{
    memset(b, 0, sizeof *b);
}

void rk_buf_free(rk_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void rk_buf_reset(rk_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int rk_buf_reserve(rk_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int rk_buf_append(rk_buf *b, const void *data, size_t len)
{
    if (rk_buf_reserve(b, len) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int rk_buf_puts(rk_buf *b, const char *s)
{
    return rk_buf_append(b, s, strlen(s));
}

int rk_buf_printf(rk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || rk_buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *rk_buf_take(rk_buf *b, size_t *len)
{
    char *d = b->data;
    if (len)
        *len = b->len;
    if (!d)
        d = calloc(1, 1);
    memset(b, 0, sizeof *b);
    return d;
}

int rk_read_stream(FILE *f, size_t max, rk_buf *b)
{
    char chunk[65536];
    size_t n, got = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (max && n > max - got) {
            errno = EFBIG;
            return -1;
        }
        if (rk_buf_append(b, chunk, n) != 0) {
            errno = ENOMEM;
            return -1;
        }
        got += n;
    }
    if (ferror(f)) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    /* an empty file still yields a NUL-terminated, non-NULL buffer */
    if (!b->data && rk_buf_reserve(b, 1) != 0) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int rk_read_path(const char *path, size_t max, rk_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    errno = 0;
    int rc = rk_read_stream(f, max, b);
    int e = errno;
    fclose(f);
    errno = e;
    return rc;
}

void rk_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int rk_hex_decode(const char *in, uint8_t *out, size_t len)
{
    if (!in || strlen(in) != 2 * len)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

uint64_t rk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t rk_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t rk_format_uint(uint64_t v, char out[RK_UINT_DIGITS])
{
    char d[RK_UINT_DIGITS];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(out, d + i, sizeof d - i);
    return sizeof d - i;
}

void rk_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t rk_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

size_t rk_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t rk_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

bool rk_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static int read_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms). */
int64_t rk_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void rk_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int rk_parse_date(const char *s, int *y, int *m, int *d)
{
    if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (read_digits(s, 4, y) || read_digits(s + 5, 2, m) || read_digits(s + 8, 2, d))
        return -1;
    if (*y < 1900 || *y > 9999 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

int rk_parse_rfc3339(const char *s, int64_t *epoch, int *offset_s)
{
    int y, mo, d, h, mi, sec;
    if (!s || rk_parse_date(s, &y, &mo, &d) != 0 || strlen(s) < 20)
        return -1;
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return -1;
    if (read_digits(s + 11, 2, &h) || read_digits(s + 14, 2, &mi) || read_digits(s + 17, 2, &sec))
        return -1;
    if (h > 23 || mi > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (strlen(p) < 6 || p[3] != ':' || read_digits(p + 1, 2, &oh) || read_digits(p + 4, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    if (sec == 60)
        sec = 59;
    *epoch = rk_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (offset_s)
        *offset_s = off;
    return 0;
}

void rk_format_rfc3339(int64_t epoch, int offset_s, bool utc_z, char out[32])
{
    time_t t = (time_t)(epoch + offset_s);
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = (int)strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    if (offset_s == 0 && utc_z) {
        snprintf(out + n, (size_t)(32 - n), "Z");
    } else {
        int a = offset_s < 0 ? -offset_s : offset_s;
        snprintf(out + n, (size_t)(32 - n), "%c%02d:%02d", offset_s < 0 ? '-' : '+', a / 3600 % 100, a / 60 % 60);
    }
}
