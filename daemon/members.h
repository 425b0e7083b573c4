/* members: the node's view of the network's membership. The charter is this node's founding roster
 * (itself and every [peer] and [member] of its configuration) with the default threshold; the
 * membership records are the endorse, rotate and revoke records in its store; lib/membership.c
 * computes the roster from both. Serves GET /v1/members and the roster part of GET /v1/status.
 *
 * Thread-safe: it reads only the node's immutable fields and the store through the caller's read
 * transaction, so API handlers on the thread pool call it.
 */
#ifndef RENKEI_MEMBERS_H
#define RENKEI_MEMBERS_H

#include <jansson.h>

#include "membership.h"
#include "node.h"

/* Computes the roster from the charter and the membership records stored in t. */
int rk_members_compute(const rk_node *n, rk_txn *t, rk_membership *out, rk_error *err);

/* {"digest": hex, "members": n, "threshold": t}, or NULL when out of memory. */
json_t *rk_members_summary_json(const rk_membership *m);
/* GET /v1/members: {"digest", "count" (founding and admitted), "threshold", "members": [every listed
 * key with its status]}. */
json_t *rk_members_json(const rk_membership *m, const rk_node *n);

#endif
