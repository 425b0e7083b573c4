/* tls: the TLS configuration of peer connections (tls+tcp:// URLs), loaded from the [gossip]
 * tls_cert, tls_key and tls_ca files. */
#ifndef RENKEI_TLS_H
#define RENKEI_TLS_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stdbool.h>

#include "config.h"
#include "util.h"

/* True for a tls+tcp:// URL. */
bool rk_tls_url(const char *url);

/* A TLS configuration for a listener (server) or a dialer (client) from cfg's files. A server needs
 * tls_cert and tls_key; with tls_ca the other side's certificate is required and verified. */
int rk_tls_config(const rk_config *cfg, bool server, nng_tls_config **out, rk_error *err);

#endif
