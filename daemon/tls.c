/* tls: loading the certificate, key and CA files of [gossip] into NNG TLS configurations.
 *
 * TLS is optional on peer connections: authentication always comes from the node-key handshake
 * (handshake.c), so without tls_ca TLS gives confidentiality only, and with it the other side's
 * certificate must also chain to that CA. The key file is read into memory only long enough to hand
 * it to NNG, and wiped before it is freed.
 */
#include "tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* PEM files of a certificate chain or a key are a few KiB; a larger file is a mistake. */
#define TLS_PEM_MAX (1024 * 1024)

bool rk_tls_url(const char *url)
{
    return strncmp(url, "tls+tcp://", 10) == 0;
}

/* Reads a small PEM file whole; NULL (with err filled) if it cannot be read or is implausibly large. */
static char *tls_read_pem(const char *path, const char *field, rk_error *err)
{
    rk_buf b;
    rk_buf_init(&b);
    if (rk_read_path(path, TLS_PEM_MAX, &b) != 0 || b.len == 0) {
        int e = b.len == 0 ? 0 : errno;
        rk_buf_free(&b);
        rk_fail(err, "tls", field, "cannot read %s as a PEM file%s%s", path, e ? ": " : "", e ? strerror(e) : "");
        return NULL;
    }
    return rk_buf_take(&b, NULL);
}

/* Our certificate and key come from two files, as operators usually keep them. */
static int tls_own_cert(nng_tls_config *t, const rk_config *cfg, rk_error *err)
{
    char *cert = tls_read_pem(cfg->tls_cert, "gossip.tls_cert", err);
    char *key = cert ? tls_read_pem(cfg->tls_key, "gossip.tls_key", err) : NULL;
    int rv = cert && key ? nng_tls_config_own_cert(t, cert, key, NULL) : -1;
    if (key)
        memset(key, 0, strlen(key));
    free(cert);
    free(key);
    if (rv > 0)
        rk_fail(err, "tls", "gossip.tls_cert", "cannot use %s with %s: %s", cfg->tls_cert, cfg->tls_key,
                nng_strerror(rv));
    return rv == 0 ? 0 : -1;
}

int rk_tls_config(const rk_config *cfg, bool server, nng_tls_config **out, rk_error *err)
{
    nng_tls_config *t;
    int rv = nng_tls_config_alloc(&t, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT);
    if (rv != 0)
        return rk_fail(err, "tls", NULL, "TLS is not available: %s", nng_strerror(rv));
    if (server && !(cfg->tls_cert && cfg->tls_key)) {
        nng_tls_config_free(t);
        return rk_fail(err, "tls", "gossip.tls_cert", "a tls+tcp:// listener needs tls_cert and tls_key");
    }
    if (cfg->tls_cert && cfg->tls_key && tls_own_cert(t, cfg, err) != 0) {
        nng_tls_config_free(t);
        return -1;
    }
    if (cfg->tls_ca) {
        if ((rv = nng_tls_config_ca_file(t, cfg->tls_ca)) != 0 ||
            (rv = nng_tls_config_auth_mode(t, NNG_TLS_AUTH_MODE_REQUIRED)) != 0) {
            nng_tls_config_free(t);
            return rk_fail(err, "tls", "gossip.tls_ca", "cannot load %s: %s", cfg->tls_ca, nng_strerror(rv));
        }
    } else {
        /* Without a CA, TLS gives confidentiality; the peer handshake authenticates the node keys. */
        nng_tls_config_auth_mode(t, NNG_TLS_AUTH_MODE_NONE);
    }
    *out = t;
    return 0;
}
