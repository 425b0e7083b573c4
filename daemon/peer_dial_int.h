/* peer_dial_int: one dialed peer's state and the request helpers that the dialer's files share
 * (peer_dial.c: handshake, reconciliation, polls; peer_push.c: announcements and pushes of our
 * records, paced by the listener's writer; peer_dial_roster.c: the charter and roster part of the
 * handshake and the roster exchange). Not for the rest of the daemon, which uses peer_dial.h. */
#ifndef RENKEI_PEER_DIAL_INT_H
#define RENKEI_PEER_DIAL_INT_H

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "peer_dial.h"
#include "tls.h"
#include "peerstat.h"
#include "renkei.pb-c.h"

struct rk_peer_dial {
    struct rk_gossip *g;
    rk_peerstat *st;
    nng_socket sock;
    bool sock_open;   /* under sock_mu once the threads run */
    nng_mtx *sock_mu; /* held by a thread during each call into the socket (peer_dial_sock_enter) */
    nng_dialer dialer;
    nng_cv *cv; /* on g->mu */
    nng_thread *ctl, *poller;
    bool authed;
    bool zstd; /* both sides announced zstd in the last handshake: requests may be compressed */
    uint32_t auth_pipe;
    bool sync_now;
    int set;    /* RK_SET_MEMBERS until the listener says we are not a member */
    uint8_t *q; /* items to announce */
    size_t qn, qcap;
    nng_tls_config *tls;
    /* membership (peer_dial_roster.c) */
    bool configured;  /* a [peer] of the configuration: trusted to hand over the charter */
    bool roster_now;  /* the last handshake showed different roster digests: exchange them first */
    bool stop;        /* this dialer alone is stopping (a roster peer no longer wanted) */
    uint64_t up_ms;   /* when it last completed a handshake, 0 if never since it started */
    uint64_t born_ms; /* when it started */
    /* catch-up ranges (peer_catchup.c): whether this connection takes them, and the last item taken,
     * which outlives a broken connection so that the next one resumes there */
    int catchup; /* RK_CATCHUP_UNDECIDED, _TAKING or _DONE */
    uint8_t catchup_after[40];
    bool catchup_has_after;
};

enum { RK_CATCHUP_UNDECIDED = 0, RK_CATCHUP_TAKING, RK_CATCHUP_DONE };

/* How long one request waits for its reply. */
#define RK_DIAL_CALL_TIMEOUT_MS 30000

/* A PeerRequest carrying sub as its member `member` (a RENKEI__PEER_REQUEST__MSG_ case), as it goes on
 * the wire (compressed when negotiated); NULL when out of memory. */
nng_msg *rk_peer_dial_pack(rk_peer_dial *dp, uint32_t member, const ProtobufCMessage *sub);
/* Sends the packed request m (always taken over) on ctx and waits for its reply, decompressed;
 * blocks the calling (dialer) thread. A PeerError is a reply (0). 0, or an NNG error. */
int rk_peer_dial_exchange(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, nng_msg *m, nng_duration timeout,
                          Renkei__PeerReply **out, uint32_t *pipe);
/* One request and its reply on ctx (rk_peer_dial_pack, then rk_peer_dial_exchange); blocks the
 * calling (dialer) thread. 0, or an NNG error. */
int rk_peer_dial_call(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, uint32_t member, const ProtobufCMessage *sub,
                      nng_duration timeout, Renkei__PeerReply **out, uint32_t *pipe);
/* Fetches hashes (already claimed in the in-flight table) in batches and hands the records to the
 * writer; releases what was not delivered. 0 or -1. */
int rk_peer_dial_fetch(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *hashes, size_t n);
/* Runs body(arg, ctx, aio) on a context of the peer's socket with an aio of its own, for one thread's
 * blocking requests. False when NNG has none to give (the socket is closing, or out of memory): body
 * did not run. */
bool rk_peer_dial_run(rk_peer_dial *dp, void (*body)(void *arg, nng_ctx ctx, nng_aio *aio), void *arg);
/* Pushes the envelopes of a list (items: stride 40, or hashes: stride 32) that the peer lacks as
 * Records, each when the listener's writer has room for it (peer_push.c). 0 when every push was
 * taken; -1 on a transport error, a refusal, a listener that stayed busy, or stopping. */
int rk_peer_push(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *list, size_t n, size_t stride);
/* rk_peer_push for one of several lists sent in turn: *pace_ms is the wait the last Ack asked for,
 * honoured before the first push of this list and set from the last one (start with 0). */
int rk_peer_push_paced(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *list, size_t n, size_t stride,
                       unsigned *pace_ms);
/* Announces our queued items (n x 40 bytes); pushes the records the listener asks for. 0 or -1. */
int rk_peer_push_announce(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio, const uint8_t *items, size_t n);

/* The membership part of the Hello: the roster digest, the charter digest, or the request for a
 * charter. roster and charter are buffers that must outlive the request. */
void rk_peer_dial_hello_membership(rk_peer_dial *dp, Renkei__Hello *h, uint8_t roster[RK_HASH_LEN],
                                   uint8_t charter[RK_HASH_LEN]);
/* After the listener proved its key: learns the charter it handed over (a joining node, from a
 * configured peer only), records a charter mismatch and whether the rosters differ. */
void rk_peer_dial_reply_membership(rk_peer_dial *dp, const Renkei__HelloReply *hr, const uint8_t nonce[32]);
/* The roster exchange (RosterItems), then fetch what we lack and push what the peer lacks. 0 or -1. */
int rk_peer_dial_roster_exchange(rk_peer_dial *dp, nng_ctx ctx, nng_aio *aio);

#endif
