/* peer_listen_int: one connection to the peer listener, shared by its transport (peer_listen.c:
 * accepting, framing, limits, parked polls) and the answers to its requests (peer_serve.c). Not for
 * the rest of the daemon, which uses peer_listen.h. */
#ifndef RENKEI_PEER_LISTEN_INT_H
#define RENKEI_PEER_LISTEN_INT_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "handshake.h"
#include "peer_listen.h"
#include "peerstat.h"

/* SP request headers: 4-byte words up to the one with the high bit set (the request id), at most
 * eight of them, as NNG's rep0 accepts. */
#define RK_LISTEN_MAX_HDR 32

/* One connection to our listener. Every field is guarded by the gossip lock. */
typedef struct rk_listen_conn {
    struct rk_gossip *g;
    rk_peer_listen *l;
    nng_stream *s;
    nng_aio *rxa, *txa;
    bool rx_busy, tx_busy, closed;
    char addr[64]; /* source address, for the per-address cap */
    uint64_t hs_started_ms;
    /* receiving */
    int rx_state;
    uint8_t rx_head[8];
    size_t rx_got;
    uint64_t rx_len;
    uint8_t *rx_body;                   /* the frame, or NULL while draining one over its limit */
    uint8_t *rx_scratch;                /* draining: LISTEN_SCRATCH bytes */
    uint8_t rx_keep[RK_LISTEN_MAX_HDR]; /* draining: the frame's first bytes, for the reply's header */
    uint64_t frame_started_ms;          /* 0 when no frame is in progress */
    /* sending */
    STAILQ_HEAD(peer_listen_frames, peer_listen_frame) txq; /* oldest first */
    /* protocol */
    int phase; /* 0 new, 1 Hello answered, 2 authenticated */
    uint8_t peer_key[RK_KEY_LEN], peer_nonce[RK_HANDSHAKE_NONCE_LEN], our_nonce[RK_HANDSHAKE_NONCE_LEN];
    bool member;
    /* what the latest Hello said about membership, kept for its Auth (NULL-equivalent: has_ false) */
    bool has_hello_charter, has_hello_roster;
    uint8_t hello_charter[RK_HASH_LEN], hello_roster[RK_HASH_LEN];
    bool zstd;       /* the dialer's Hello announced zstd and so do we: replies may be compressed */
    rk_peerstat *st; /* set once authenticated */
    unsigned bad;
    uint8_t *q; /* queued announcement items */
    size_t qn, qcap;
    bool parked;
    uint8_t park_hdr[RK_LISTEN_MAX_HDR];
    size_t park_nhdr;
    uint64_t park_deadline_ms;
} rk_listen_conn;

/* Closes the connection: its aios complete with an error and the ticker frees it. Lock held. */
void rk_peer_listen_close_locked(rk_listen_conn *c);
/* Moves the connection to handshake phase 0 (new), 1 (Hello answered) or 2 (authenticated), keeping
 * the counts of authenticated connections and the peer's inbound count right. Lock held. */
void rk_peer_listen_set_phase_locked(rk_listen_conn *c, int phase);
/* Publishes renkei_peer_connections and renkei_peer_input_bytes. Lock held. */
void rk_peer_listen_gauges_locked(rk_peer_listen *l);

/* Answers one complete frame of c (lock not held). Returns the reply body (NULL for none) and the
 * request's header words to send it under; sets *park, with *wait_ms, for a Poll. drained: the frame
 * was over its limit and only its first len bytes were kept, so it is answered too_large. */
nng_msg *rk_peer_serve_frame(rk_listen_conn *c, const uint8_t *frame, size_t len, bool drained,
                             uint8_t hdr[RK_LISTEN_MAX_HDR], size_t *nhdr, bool *park, uint32_t *wait_ms);
/* An Announce reply with n items, for a parked Poll. NULL when out of memory. */
nng_msg *rk_peer_serve_announce(const uint8_t *items, size_t n);

#endif
