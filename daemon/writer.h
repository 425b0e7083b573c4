/* writer: the node's single LMDB writer thread with group commit.
 *
 * Any thread may submit signed records (the API for local publishes, NNG callbacks for peers). A pool
 * of verifier threads decodes and verifies submitted envelopes (rk_ingest_prepare); the writer drains
 * its queue, runs every item through the store checks (rk_ingest_prepared) in one write transaction
 * and commits, and a sync thread flushes the commit to the disk while the writer runs the next batch;
 * only then are completion callbacks and commit listeners run, on the libuv loop thread. So a 201 is
 * never sent before the record is durable, and a crash loses only unacknowledged work.
 */
#ifndef RENKEI_WRITER_H
#define RENKEI_WRITER_H

#include <uv.h>

#include "ingest.h"
#include "rectokens.h"

typedef struct rk_writer rk_writer;
struct rk_node;

/* Called on the loop thread once the item's transaction committed (or failed). `rec` is the stored
 * record when res->status == RK_INGEST_STORED, else NULL. */
typedef void (*rk_write_done)(void *ctx, const rk_ingest_result *res, const rk_record *rec, const rk_error *err);
/* Called on the loop thread after each commit with the records newly stored by it, with the source
 * each came from (NULL for local publishes, else the peer's name). */
typedef void (*rk_commit_listener)(void *ctx, const rk_record *const *recs, const char *const *sources, size_t n);

int rk_writer_start(struct rk_node *node, rk_writer **out, rk_error *err);
/* Stops accepting work, finishes and commits what is queued, runs pending callbacks, joins. */
void rk_writer_stop(rk_writer *w);

/* Thread-safe. Takes ownership of env (malloc'd). source: NULL for local, else a peer name (copied).
 * done may be NULL. Returns -1 if the writer is stopping (env is freed). */
int rk_writer_submit(rk_writer *w, uint8_t *env, size_t len, const char *source, rk_write_done done, void *ctx);
/* Thread-safe. For a record this node has just sealed with its own key: takes ownership of *rec (and
 * clears it) and of tokens (its rk_writer_tokens, or NULL), and ingests it with rk_ingest_own, i.e.
 * every check but the verification of the node's own signature; create (a POST) rejects it as
 * "conflict" if any version is stored. Local publishes only; a peer's record always goes through
 * rk_writer_submit. Returns -1 if the writer is stopping (the record and tokens are freed). */
int rk_writer_submit_own(rk_writer *w, rk_record *rec, rk_rectokens *tokens, bool create, rk_write_done done,
                         void *ctx);
/* Any thread: the full-text tokens of a record about to be submitted, so that the writer thread need
 * not normalise its text (lib/rectokens.h); NULL for a tombstone, or when out of memory. */
rk_rectokens *rk_writer_tokens(const Renkei__Record *m);
/* Items submitted and not yet delivered. Peers' records are only fetched while this stays below a
 * bound, so a node catching up holds a fixed amount of memory however far behind it is. */
size_t rk_writer_outstanding(rk_writer *w);
/* Blocks (never on the loop thread) until fewer than limit items are outstanding; -1 on timeout or
 * when the writer is stopping. */
int rk_writer_wait_room(rk_writer *w, size_t limit, unsigned timeout_ms);
/* Thread-safe. Milliseconds until at most target items are outstanding, at the rate the writer has
 * been delivering while it had work (a fixed guess until it has delivered once); 0 when already at
 * or below. An estimate, for telling a peer when to push again (docs/protocol.md, "busy"). */
unsigned rk_writer_drain_ms(rk_writer *w, size_t target);

/* The last failure of the store (a batch that could not be written), for GET /v1/status. */
typedef struct rk_writer_failure {
    char code[48];     /* e.g. "store_full"; "" if none since start */
    uint64_t at_ms;    /* wall clock */
    uint64_t failures; /* failed batches since start */
} rk_writer_failure;
/* Thread-safe. */
void rk_writer_last_failure(rk_writer *w, rk_writer_failure *out);

/* Register before rk_writer_start returns work; listeners are called in registration order. */
int rk_writer_add_listener(rk_writer *w, rk_commit_listener fn, void *ctx);

#endif
