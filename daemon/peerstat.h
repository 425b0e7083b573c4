/* peerstat: per-peer statistics and rejections, as GET /v1/peers and GET /v1/status show them and
 * as renkei_peer_* metrics count them. */
#ifndef RENKEI_PEERSTAT_H
#define RENKEI_PEERSTAT_H

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "util.h"

#define RK_PEERSTAT_MAX_REASONS 24

/* Connection state of a dialed peer. */
enum {
    RK_PEERSTAT_CONNECTING,
    RK_PEERSTAT_HANDSHAKE,
    RK_PEERSTAT_CONNECTED,
    RK_PEERSTAT_FAILED,
    RK_PEERSTAT_DISCONNECTED
};

struct rk_gossip;

/* One peer as /v1/peers shows it: a configured dialed peer, or whoever authenticated on our listener. */
typedef struct rk_peerstat {
    struct rk_gossip *g; /* the owner, for completion callbacks that only hold this entry */
    char name[80];
    uint8_t key[RK_KEY_LEN];
    bool has_key, member, dialed;
    char *url;
    int state;        /* dialed peers */
    unsigned inbound; /* authenticated pipes from it */
    uint64_t last_sync_ms;
    char last_sync_result[64];
    uint64_t sent, received;
    struct {
        char reason[40];
        uint64_t n;
    } rej[RK_PEERSTAT_MAX_REASONS];
    size_t nrej;
    uint64_t last_log_ms;
    uint64_t suppressed;
    char store_error[48]; /* this node could not store what the peer sent (e.g. "store_full"); "" once one is stored */
    /* membership (docs/membership.md, "How nodes agree"), from the peer's latest handshake */
    bool charter_mismatch; /* its charter digest differs from ours: no membership records either way */
    bool charter_logged;   /* the mismatch has been logged (once per peer) */
    bool has_roster_digest;
    uint8_t roster_digest[RK_HASH_LEN];
    bool roster; /* dialed because the roster lists it, not because the configuration does */
} rk_peerstat;

/* Every peer's entry, guarded by the gossip lock `mu`. Entries are never removed before the table is
 * freed, so a pointer to one stays valid for the table's life. */
typedef struct rk_peerstats {
    struct rk_gossip *g;
    nng_mtx *mu;
    rk_metrics *metrics;
    rk_peerstat **v;
    size_t n, cap;
    rk_peerstat *anon; /* rejections before any handshake: the peer "unauthenticated" */
} rk_peerstats;

/* The entry named name, created if missing. NULL only when memory ran out. Lock held. */
rk_peerstat *rk_peerstat_get_locked(rk_peerstats *t, const char *name);
/* A name for key's entry: name itself, unless an entry of that name belongs to another key, then
 * "name-<first 8 hex of key>". Lock held. */
void rk_peerstat_unique_name_locked(const rk_peerstats *t, const char *name, const uint8_t key[RK_KEY_LEN], char *out,
                                    size_t cap);
/* Counts one rejection of input from st (NULL: unauthenticated) and logs it, at most once a second
 * per peer. Takes the lock. */
void rk_peerstat_reject(rk_peerstats *t, rk_peerstat *st, const char *reason, const char *detail);
/* The outcome of storing one record from st: err NULL when it was stored (which clears the peer's
 * store error), else the local failure, which becomes the peer's last_sync_result until a record of
 * it is stored again (the writer logs the failure). Takes the lock. */
void rk_peerstat_store_result(rk_peerstats *t, rk_peerstat *st, const rk_error *err);
/* Records what st's handshake said about its charter and roster (digests NULL when it sent none):
 * sets charter_mismatch when both sides have a charter and they differ, and logs the first mismatch
 * with both digests. Takes the lock. */
void rk_peerstat_membership(rk_peerstats *t, rk_peerstat *st, const uint8_t *ours_charter, const uint8_t *their_charter,
                            const uint8_t *their_roster);
/* Counts records sent to and received from st. Takes the lock. */
void rk_peerstat_count_io(rk_peerstats *t, rk_peerstat *st, uint64_t sent, uint64_t received);
/* The views of rk_gossip_peers_json and rk_gossip_summary_json. Lock held. */
json_t *rk_peerstat_list_json_locked(const rk_peerstats *t);
json_t *rk_peerstat_summary_json_locked(const rk_peerstats *t);
void rk_peerstat_free_all(rk_peerstats *t);

#endif
