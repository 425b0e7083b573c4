/* members: the node's view of the network's membership, as one current snapshot.
 *
 * The charter (founding members and threshold) comes from rk_members_charter() and nowhere else; the
 * membership records are the endorse, rotate and revoke records in the store; lib/membership.c
 * computes the roster from both. The result is kept as an immutable, reference-counted snapshot:
 * computed at start-up (rk_members_start) and replaced by the writer after every commit that changed
 * the membership records (rk_members_publish). Ingest, GET /v1/members, GET /v1/status, the
 * renkei_members gauge and the author names of the API all read that one snapshot, so no request
 * recomputes the roster.
 *
 * Invariants:
 *  * A snapshot never changes once published; any thread may acquire the current one and must
 *    release it. A released snapshot is freed when its last holder releases it, so a reader keeps a
 *    consistent roster for as long as it holds it, even while the writer publishes a newer one.
 *  * The swap happens under a mutex that is held only to exchange or count a pointer, never while
 *    computing.
 */
#ifndef RENKEI_MEMBERS_H
#define RENKEI_MEMBERS_H

#include <jansson.h>

#include "membership_txn.h"
#include "node.h"

typedef struct rk_members rk_members;

/* The network's charter: the founding members and the threshold, as the node's charter store holds
 * them (daemon/charter_store.h: built from the configuration on a founding node, learned from a peer
 * on a joining one, empty until then). Names are borrowed from the store, which never changes a
 * charter it holds; free with rk_members_charter_free. */
int rk_members_charter(const rk_node *n, rk_charter *out, rk_error *err);
void rk_members_charter_free(rk_charter *c);

/* Computes the roster from the charter and the membership records stored in t. */
int rk_members_compute(const rk_node *n, rk_txn *t, rk_membership *out, rk_error *err);

/* Computes the first snapshot from the store (before the writer starts). */
int rk_members_start(rk_node *n, rk_error *err);
/* Frees the current snapshot; every acquired snapshot must have been released. */
void rk_members_stop(rk_node *n);

/* Thread-safe. The current snapshot (never NULL after rk_members_start); release it when done. */
const rk_membership *rk_members_acquire(rk_node *n);
void rk_members_release(rk_node *n, const rk_membership *m);
/* Thread-safe. Makes *m (owned from now on: *m is cleared) the current snapshot. Returns -1 when out
 * of memory (m is freed and the previous snapshot stays). */
int rk_members_publish(rk_node *n, rk_membership *m);

/* {"digest": hex, "members": n, "threshold": t}, or NULL when out of memory. */
json_t *rk_members_summary_json(const rk_membership *m);
/* GET /v1/members: {"digest", "count" (founding and admitted), "threshold", "members": [every listed
 * key with its status]}. */
json_t *rk_members_json(const rk_membership *m, const rk_node *n);
/* The name the roster gives a key ("" and unknown keys: NULL). Valid while m is held. */
const char *rk_members_name(const rk_membership *m, const uint8_t key[RK_KEY_LEN]);
/* The key of the member named `name` (the first by key order when names repeat); false if none. */
bool rk_members_find_name(const rk_membership *m, const char *name, uint8_t key[RK_KEY_LEN]);

#endif
