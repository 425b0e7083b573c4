/* conditional: the HTTP validators of the exports, split out of export.c, which decides them.
 *
 * Invariants: dates are IMF-fixdate (RFC 9110 5.6.7) with fixed English names whatever the process
 * locale is; If-None-Match is compared weakly as RFC 9110 13.1.2 asks, and when present it decides
 * alone (If-Modified-Since is then ignored, 13.1.3).
 */
#include "conditional.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

bool rk_conditional_etag_matches(const char *header, const char *etag)
{
    if (!header)
        return false;
    size_t elen = strlen(etag);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"') {
            while (*p && *p != ',')
                p++;
            continue;
        }
        const char *e = strchr(p + 1, '"');
        if (!e)
            return false;
        if ((size_t)(e - p + 1) == elen && memcmp(p, etag, elen) == 0)
            return true;
        p = e + 1;
    }
    return false;
}

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void rk_conditional_date(int64_t epoch, char out[40])
{
    time_t t = (time_t)epoch;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        out[0] = '\0';
        return;
    }
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int rk_conditional_parse_date(const char *s, int64_t *out)
{
    char wd[4], mon[4];
    int d, y, hh, mm, ss, n = 0;
    if (sscanf(s, "%3s, %d %3s %d %d:%d:%d GMT%n", wd, &d, mon, &y, &hh, &mm, &ss, &n) != 7 || n == 0)
        return -1;
    int mi = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, months[i]) == 0)
            mi = i;
    if (mi < 0 || d < 1 || d > 31 || y < 1970 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mi, .tm_mday = d, .tm_hour = hh, .tm_min = mm, .tm_sec = ss};
    *out = (int64_t)timegm(&tm);
    return 0;
}

bool rk_conditional_not_modified(const char *if_none_match, const char *if_modified_since, uint64_t newest)
{
    int64_t ims;
    return !if_none_match && if_modified_since && newest && rk_conditional_parse_date(if_modified_since, &ims) == 0 &&
           (int64_t)(newest / 1000) <= ims;
}
