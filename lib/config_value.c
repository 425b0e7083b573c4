/* config_value: single configuration values, checked whole (see config_value.h).
 *
 * URLs go through nng_url_parse, the parse the dialer and listener run, so what passes here is what
 * NNG will see; NNG leaves the port unchecked until it dials (where a bad one fails every attempt,
 * quietly), so the port range is checked here.
 */
#include "config_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <nng/nng.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uriparser/Uri.h>

/* Unsigned decimal with an optional K/M/G suffix (powers of 1024; "KiB"/"KB"/"B" spellings too). */
int rk_config_parse_size(const char *v, size_t min, size_t max, size_t *out)
{
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno)
        return -1;
    unsigned long long mul = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K':
        mul = 1ull << 10;
        end++;
        break;
    case 'M':
        mul = 1ull << 20;
        end++;
        break;
    case 'G':
        mul = 1ull << 30;
        end++;
        break;
    default: break;
    }
    if (mul > 1 && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0')
        return -1;
    if (n > ULLONG_MAX / mul)
        return -1;
    n *= mul;
    if (n < min || n > max)
        return -1;
    *out = (size_t)n;
    return 0;
}

int rk_config_parse_uint(const char *v, unsigned long long min, unsigned long long max, unsigned long long *out)
{
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

/* Why the URL cannot be used, or NULL. The parse is nng_url_parse, the one the dialer and listener
 * run, so what passes here is what they will see; NNG leaves the port unchecked until it dials (a bad
 * one then fails on every attempt, quietly), so the port is checked here: digits, 1..65535. A dialled
 * URL needs a host; a listened one may leave it empty (all addresses). NNG's TCP transports take no
 * path, and white space or a comma means a list went wrong. */
const char *rk_config_url_problem(const char *u, bool listen)
{
    for (const char *p = u; *p; p++) {
        if (isspace((unsigned char)*p) || *p == ',')
            return "contains white space or a comma";
        /* NNG 1.5's nng_url_parse reads past the end of a URL whose authority ends in '@' (found by
         * fuzz_config): user information means nothing to NNG's transports, so '@' and anything
         * outside printable ASCII are refused before the parse ever sees them. */
        if (*p == '@')
            return "contains '@' (user information, which the peer transports do not use)";
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return "contains a character outside printable ASCII";
    }
    nng_url *url = NULL;
    if (nng_url_parse(&url, u) != 0)
        return "is not a URL";
    const char *why = NULL;
    const char *sch = url->u_scheme;
    bool ipc = strcmp(sch, "ipc") == 0;
    if (!ipc && strcmp(sch, "tcp") != 0 && strcmp(sch, "tcp4") != 0 && strcmp(sch, "tcp6") != 0 &&
        strcmp(sch, "tls+tcp") != 0)
        why = "has a scheme other than tcp://, tcp4://, tcp6://, tls+tcp:// or ipc://";
    else if (ipc)
        why = url->u_path && url->u_path[0] ? NULL : "has no socket path after ipc://";
    else if (!url->u_port || !url->u_port[0])
        why = "has no port (HOST:PORT)";
    else {
        unsigned long long port = 0;
        const char *q = url->u_port;
        while (isdigit((unsigned char)*q) && port <= 65535)
            port = port * 10 + (unsigned)(*q++ - '0');
        if (*q || port < 1 || port > 65535)
            why = "has a port that is not a number from 1 to 65535";
        else if (!listen && (!url->u_hostname || !url->u_hostname[0]))
            why = "has no host to dial";
        else if (url->u_path && url->u_path[0] && strcmp(url->u_path, "/") != 0)
            why = "has a path, which tcp:// URLs cannot carry";
    }
    nng_url_free(url);
    return why;
}

/* "127.0.0.1:7480", "[::1]:7480" or "localhost:7480"; loopback addresses only. */
bool rk_config_loopback_ok(const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v)
        return false;
    unsigned long long port;
    if (rk_config_parse_uint(colon + 1, 1, 65535, &port) != 0)
        return false;
    char host[64];
    size_t hl = (size_t)(colon - v);
    if (hl >= sizeof host)
        return false;
    memcpy(host, v, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, host + 1, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

/* public_url: an absolute http(s) URL with a host and no query or fragment, because exports append
 * "/v1/export/..." to it for every link they print. */
bool rk_config_public_url_ok(const char *v)
{
    UriUriA u;
    const char *end = NULL;
    if (uriParseSingleUriA(&u, v, &end) != URI_SUCCESS)
        return false;
    size_t sl = (size_t)(u.scheme.afterLast - u.scheme.first);
    bool ok = u.scheme.first &&
              ((sl == 4 && strncasecmp(u.scheme.first, "http", 4) == 0) ||
               (sl == 5 && strncasecmp(u.scheme.first, "https", 5) == 0)) &&
              u.hostText.first && u.hostText.afterLast > u.hostText.first && !u.query.first && !u.fragment.first &&
              !strpbrk(v, " \t\r\n\"<>");
    uriFreeUriMembersA(&u);
    return ok;
}
