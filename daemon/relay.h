/* relay: moving records between this node and its peers, shared by the listener (peer_listen.c) and
 * the dialers (peer_dial.c): which announced records to fetch, which stored envelopes a peer may
 * receive, handing received records to the writer, and queueing announcements. */
#ifndef RENKEI_RELAY_H
#define RENKEI_RELAY_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerstat.h"
#include "store.h"
#include "util.h"

#define RK_RELAY_INFLIGHT_SLOTS 4096

struct rk_gossip;

/* Hashes being fetched, so several peers announcing the same record cause one fetch. A slot per
 * hash prefix: a collision only costs a duplicate fetch, which the store then finds is already there. */
typedef struct rk_relay_inflight {
    struct {
        uint8_t hash[RK_HASH_LEN];
        uint64_t until;
    } slot[RK_RELAY_INFLIGHT_SLOTS];
} rk_relay_inflight;

/* True if the caller should fetch hash (nobody else is fetching it right now); it is then claimed
 * for a few seconds. Gossip lock held. */
bool rk_relay_claim_locked(struct rk_gossip *g, const uint8_t *hash, uint64_t now_ms);
/* Claims each of the n hashes nobody is fetching and moves them, in order, to the front of the list;
 * returns how many. In place: a node catching up needs a hash per missing record, and a second copy
 * of that list would double its memory. Takes the gossip lock. */
size_t rk_relay_claim_list(struct rk_gossip *g, uint8_t *hashes, size_t n);
/* Ends the claim on hash (fetched, or given up). Gossip lock held. */
void rk_relay_release_locked(struct rk_gossip *g, const uint8_t *hash);

/* From a list of items or hashes (stride 40 or 32, hash at offset stride-32), appends to out the
 * hashes we neither store nor are already fetching, claiming them. */
int rk_relay_wanted(struct rk_gossip *g, const uint8_t *list, size_t n, size_t stride, rk_buf *out);

/* Hands records received from st to the writer, each with a reference on g that its completion
 * drops; returns how many were submitted. Oversized ones are rejected as too_large. */
uint32_t rk_relay_submit(struct rk_gossip *g, rk_peerstat *st, ProtobufCBinaryData *recs, size_t n);

/* Stored envelopes read for sending, pointing into the read transaction t until rk_relay_envset_free. */
typedef struct rk_relay_envset {
    rk_txn *t;
    ProtobufCBinaryData *recs;
    size_t n, cap;
} rk_relay_envset;

/* Reads up to `budget` bytes (and max_records) of envelopes for hashes in list (stride apart, hash at
 * offset stride-32) that may go to a peer with `member` rights. Skips unknown records and, counting
 * them in *forbidden if not NULL, those the peer may not read (membership records too when the
 * peer's charter differs from ours). *used is how many list entries were
 * consumed. */
int rk_relay_collect(struct rk_gossip *g, rk_relay_envset *es, const uint8_t *list, size_t n, size_t stride,
                     bool member, bool no_membership, size_t max_records, size_t budget, size_t *used,
                     size_t *forbidden);
/* Whether a peer's charter differs from ours, so membership records must not go to it nor be taken
 * from it (docs/membership.md, "How nodes agree"). Takes the lock. */
bool rk_relay_charter_mismatch(struct rk_gossip *g, const rk_peerstat *st);
void rk_relay_envset_free(rk_relay_envset *es);

/* Appends one announcement item to a queue of at most RK_RELAY_QUEUE_MAX items; -1 if it is full
 * (or out of memory): the item is dropped and reconciliation repairs it. */
#define RK_RELAY_QUEUE_MAX 100000
int rk_relay_queue_item(uint8_t **q, size_t *qn, size_t *qcap, const uint8_t item[RK_ITEM_LEN]);

#endif
