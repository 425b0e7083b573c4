/* nng_send_hold: a shim preloaded into renkeid (LD_PRELOAD) that holds a dialer's thread inside
 * nng_ctx_send and reports a socket closed while a thread is inside a call into it.
 *
 * NNG 1.5 panics (pthread_mutex_lock: Invalid argument, in nni_ctx_rele) when a socket is closed while
 * another thread is inside nng_ctx_send on it; rk_peer_dial_stop therefore closes a dialer's REQ
 * socket only between two of its threads' calls (daemon/peer_dial.c). The window in which a stop
 * could break that is a few instructions wide, so a plain test hits it once in many runs. This shim
 * makes it as wide as RENKEI_NNG_HOLD_MS: the first nng_ctx_send on a context of a REQ socket appends
 * "send <socket id>" to RENKEI_NNG_HOLD_FILE and then waits that long before calling NNG's own, so a
 * test that stops the node once the line is there stops it while a thread is inside the send. nng_close
 * on a REQ socket with a thread inside nng_ctx_send prints "nng_send_hold: socket N closed during
 * nng_ctx_send" and aborts, as NNG may; a correct stop waits for the send to return first.
 *
 * The same NNG panics (pthread_mutex_unlock: Invalid argument, in nng_ctx_close) when a thread closes a
 * context while its socket is being closed: the socket's close closes its contexts itself and frees
 * the socket, under the other thread's feet. So nng_ctx_close on a context of a REQ socket whose
 * nng_close has begun prints "nng_send_hold: context N closed after its socket M began closing" and
 * aborts too; a correct stop leaves the contexts of a closed socket to its close.
 *
 * Only REQ sockets (the dialers') are watched: nng_req0_open and nng_ctx_open record them. Every
 * function calls the real one, found with dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define HOLD_MAX_IDS 1024

static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t hold_req[HOLD_MAX_IDS];    /* REQ socket ids */
static uint32_t hold_ctx[HOLD_MAX_IDS][2]; /* context id, its REQ socket id */
static int hold_inside[HOLD_MAX_IDS];      /* threads inside nng_ctx_send, by index in hold_req */
static bool hold_closing[HOLD_MAX_IDS];    /* nng_close has begun, by index in hold_req */
static size_t hold_nreq, hold_nctx;
static bool hold_done; /* the one held send has begun */

static void *hold_real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "nng_send_hold: no %s in the libraries after this one\n", name);
        abort();
    }
    return f;
}

/* Index of socket id in hold_req, or -1. hold_mu held. */
static int hold_req_index(uint32_t sock)
{
    for (size_t i = 0; i < hold_nreq; i++)
        if (hold_req[i] == sock)
            return (int)i;
    return -1;
}

int nng_req0_open(nng_socket *s)
{
    int (*real)(nng_socket *) = (int (*)(nng_socket *))hold_real("nng_req0_open");
    int rv = real(s);
    pthread_mutex_lock(&hold_mu);
    if (rv == 0 && hold_nreq < HOLD_MAX_IDS)
        hold_req[hold_nreq++] = s->id;
    pthread_mutex_unlock(&hold_mu);
    return rv;
}

int nng_ctx_open(nng_ctx *c, nng_socket s)
{
    int (*real)(nng_ctx *, nng_socket) = (int (*)(nng_ctx *, nng_socket))hold_real("nng_ctx_open");
    int rv = real(c, s);
    pthread_mutex_lock(&hold_mu);
    if (rv == 0 && hold_req_index(s.id) >= 0 && hold_nctx < HOLD_MAX_IDS) {
        hold_ctx[hold_nctx][0] = c->id;
        hold_ctx[hold_nctx++][1] = s.id;
    }
    pthread_mutex_unlock(&hold_mu);
    return rv;
}

void nng_ctx_send(nng_ctx c, nng_aio *aio)
{
    void (*real)(nng_ctx, nng_aio *) = (void (*)(nng_ctx, nng_aio *))hold_real("nng_ctx_send");
    int req = -1;
    bool hold = false;
    uint32_t sock = 0;
    pthread_mutex_lock(&hold_mu);
    for (size_t i = 0; i < hold_nctx && req < 0; i++)
        if (hold_ctx[i][0] == c.id) {
            sock = hold_ctx[i][1];
            req = hold_req_index(sock);
        }
    if (req >= 0) {
        hold_inside[req]++;
        hold = !hold_done;
        hold_done = true;
    }
    pthread_mutex_unlock(&hold_mu);
    const char *ms = getenv("RENKEI_NNG_HOLD_MS"), *path = getenv("RENKEI_NNG_HOLD_FILE");
    if (hold && ms && path) {
        FILE *f = fopen(path, "a");
        if (f) {
            fprintf(f, "send %u\n", sock);
            fclose(f);
        }
        long n = atol(ms);
        struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    real(c, aio);
    if (req >= 0) {
        pthread_mutex_lock(&hold_mu);
        hold_inside[req]--;
        pthread_mutex_unlock(&hold_mu);
    }
}

int nng_close(nng_socket s)
{
    int (*real)(nng_socket) = (int (*)(nng_socket))hold_real("nng_close");
    pthread_mutex_lock(&hold_mu);
    int req = hold_req_index(s.id);
    int inside = req >= 0 ? hold_inside[req] : 0;
    if (req >= 0)
        hold_closing[req] = true;
    pthread_mutex_unlock(&hold_mu);
    if (inside > 0) {
        fprintf(stderr, "nng_send_hold: socket %u closed during nng_ctx_send\n", s.id);
        abort();
    }
    return real(s);
}

int nng_ctx_close(nng_ctx c)
{
    int (*real)(nng_ctx) = (int (*)(nng_ctx))hold_real("nng_ctx_close");
    uint32_t sock = 0;
    bool closing = false;
    pthread_mutex_lock(&hold_mu);
    for (size_t i = 0; i < hold_nctx; i++)
        if (hold_ctx[i][0] == c.id) {
            sock = hold_ctx[i][1];
            int req = hold_req_index(sock);
            closing = req >= 0 && hold_closing[req];
            break;
        }
    pthread_mutex_unlock(&hold_mu);
    if (closing) {
        fprintf(stderr, "nng_send_hold: context %u closed after its socket %u began closing\n", c.id, sock);
        abort();
    }
    return real(c);
}
