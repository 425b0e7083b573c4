/* charter_store: the charter this node holds (docs/membership.md, "How nodes agree").
 *
 * A founding node builds it from its configuration: itself, every [peer] and [member], and
 * [network] threshold, each key mapped back through the rotations in its store to the key that
 * founded the network (so rotating a founding key does not change the charter). A joining node ([network] join = yes) has none until the first handshake with
 * a [peer] it trusts hands one over (signed, lib/charter.h); it then keeps it in <data_dir>/charter
 * and loads it from there on every start.
 *
 * Invariants: a charter, once held, never changes for the life of the process, so the members and
 * names it lends stay valid until rk_charter_store_close; the first charter learned wins (a later,
 * different one is a mismatch to report, not a replacement). Thread-safe.
 */
#ifndef RENKEI_CHARTER_STORE_H
#define RENKEI_CHARTER_STORE_H

#include "charter.h"
#include "node.h"

typedef struct rk_charter_store rk_charter_store;

/* Builds (founding) or loads (joining) the node's charter; n->roster and n->pub must be set. */
int rk_charter_store_open(const rk_node *n, rk_charter_store **out, rk_error *err);
void rk_charter_store_close(rk_charter_store *s);

/* The charter, borrowed (valid until close), and its digest. False while a joining node has none;
 * *c is then an empty charter with the default threshold. */
bool rk_charter_store_get(rk_charter_store *s, rk_charter *c, uint8_t digest[RK_HASH_LEN]);
/* The packed charter to hand to a dialer (copy, malloc'd). 0 when it has none (*out NULL). */
int rk_charter_store_packed(rk_charter_store *s, uint8_t **out, size_t *len);
/* True for a node with [network] join = yes that has not learned its charter yet. */
bool rk_charter_store_wants(rk_charter_store *s);
/* A joining node adopts c and writes it to <data_dir>/charter. Returns 1 when adopted, 0 when the
 * node already had a charter (nothing changes), -1 with err when it could not be kept. */
int rk_charter_store_learn(rk_charter_store *s, const rk_charter *c, rk_error *err);

#endif
