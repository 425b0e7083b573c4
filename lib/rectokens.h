/* rectokens: a record's searchable text and its distinct full-text tokens, computed once, and the
 * store-wide hand-over that lets them be computed outside the writer thread (docs/storage.md,
 * Full-text postings).
 *
 * The tokens of a record are a pure function of its content, so of its hash: the API's sealing threads
 * and the peer verifier threads compute them (rk_rectokens_of) while the record is decoded anyway,
 * the writer offers them under the record's hash just before the put, and the full-text batch that
 * writes the record's postings takes them (rk_rectokens_take) instead of loading the record,
 * normalising its text and collecting its bigrams again. A record with nothing offered (pending at a
 * restart, kept aside and admitted later, or offered to a transaction that aborted) has its tokens
 * computed by the batch with the same function, so the postings never depend on which path ran.
 *
 * Invariants: what is kept under a hash was computed from the record with that hash; the hand-over
 * holds at most RK_RECTOKENS_KEPT_MAX records (beyond that it is emptied, which only costs the
 * batch the computation) and lives as long as the store; only write transactions touch it.
 */
#ifndef RENKEI_RECTOKENS_H
#define RENKEI_RECTOKENS_H

#include "renkei.pb-c.h"
#include "txn.h"

/* Tokens longer than this are not indexed (a token is one or two characters, at most 8 bytes). */
#define RK_RECTOKENS_TOKEN_MAX 64
#define RK_RECTOKENS_KEPT_MAX 4096

/* The distinct tokens of one record: n NUL-terminated tokens one after the other in data, in byte
 * order (as strcmp sorts them). One allocation. */
typedef struct rk_rectokens {
    uint8_t hash[RK_HASH_LEN]; /* the record's, once offered */
    size_t n;
    size_t len; /* bytes of data */
    char data[];
} rk_rectokens;

/* The normalised searchable text of a record (its text fields, one a line, NFKC case-folded),
 * malloc'd; NULL when out of memory. An empty record gives "". */
char *rk_rectokens_text(const Renkei__Record *m);
/* The distinct tokens of a record's searchable text; NULL when out of memory. */
rk_rectokens *rk_rectokens_of(const Renkei__Record *m);
/* The same, of an already normalised text. */
rk_rectokens *rk_rectokens_of_text(const char *norm);
void rk_rectokens_free(rk_rectokens *tok);
/* The token after prev (the first when prev is NULL), or NULL after the last. */
const char *rk_rectokens_next(const rk_rectokens *tok, const char *prev);

/* Keeps tok, the tokens of the record whose hash is given, for the batch that will write the record's
 * postings; ownership passes in every case. t is a write transaction (no-op otherwise). */
void rk_rectokens_offer(rk_txn *t, const uint8_t hash[RK_HASH_LEN], rk_rectokens *tok);
/* The kept tokens of hash, now the caller's to free; NULL when none were kept. */
rk_rectokens *rk_rectokens_take(rk_txn *t, const uint8_t hash[RK_HASH_LEN]);
/* Drops everything kept: called once a batch wrote every pending record's postings, after which
 * anything left was offered for a record that was not stored, or replaced before its batch. */
void rk_rectokens_forget(rk_txn *t);
/* How many records' tokens are kept (tests). */
size_t rk_rectokens_kept(rk_txn *t);

#endif
