/* config_value: the parsers of single configuration values (sizes, numbers, peer and listen URLs,
 * loopback HOST:PORT, the public URL), shared by the file parser (config.c) and nothing else. Each either accepts the
 * whole value or rejects it; none allocates. */
#ifndef RENKEI_CONFIG_VALUE_H
#define RENKEI_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>

/* Unsigned decimal with an optional K/M/G suffix (powers of 1024), within [min, max]. 0 or -1. */
int rk_config_parse_size(const char *v, size_t min, size_t max, size_t *out);
/* Unsigned decimal within [min, max]. 0 or -1. */
int rk_config_parse_uint(const char *v, unsigned long long min, unsigned long long max, unsigned long long *out);
/* NULL if the NNG URL can be dialled (listen false) or listened on (listen true), else why not. */
const char *rk_config_url_problem(const char *u, bool listen);
/* "127.0.0.1:7480", "[::1]:7480" or "localhost:7480" with a port 1..65535. */
bool rk_config_loopback_ok(const char *v);
/* An absolute http(s) URL with a host and no query or fragment (for [api] public_url). */
bool rk_config_public_url_ok(const char *v);

#endif
