/* postings: the full-text posting lists of the store, compact, in the LMDB database "tokens"
 * (docs/storage.md, Full-text postings). Internal to lib/: lib/index.c writes them, lib/query.c walks
 * them.
 *
 * A token's list names each indexed record by its change sequence number (the key of `records`),
 * ordered by pk = be64(version) || ~hash, the bitwise complement of the sort key: oldest first, so a
 * new record's posting goes at the end. The list is cut into blocks, one LMDB entry each:
 *
 *     key    len(token) (1 byte) || token || kp      kp: 16 bytes, at most the pk of every entry
 *     value  varint(total) varint(span) varint(first seq) zigzag-varint(seq delta)...
 *
 * Invariants: every block holds at least one entry, in pk order; for a block b and the next block b'
 * of the same token, key(b) <= kp(e) < key(b') for every entry e of b, where kp(e) is the first 16
 * bytes of e's pk; version(key(b)) + span is at least the newest version in b; the last block's total
 * is the number of entries of the whole list (other blocks' totals are stale and never read); a
 * sequence number is listed once. Versions and hashes are not stored: the change entry of a sequence
 * number (`changes`, written by lib/store.c) gives them, and the kind and visibility, when a walk or an
 * insertion in the middle of a list needs them.
 */
#ifndef RENKEI_POSTINGS_H
#define RENKEI_POSTINGS_H

#include "txn.h"

/* The sort key of query results: be64(~version) || hash, so ascending key order is newest first. */
#define RK_SORT_KEY_LEN (8 + RK_HASH_LEN)

#define RK_POSTINGS_TOKEN_MAX 64 /* bigrams are at most 8 bytes; longer tokens are not indexed */
/* A block is closed once its entries take this many bytes; the next posting starts a new block. */
#define RK_POSTINGS_BLOCK_BYTES 384
/* The most entries a block can hold (each takes at least a byte; a block only overruns
 * RK_POSTINGS_BLOCK_BYTES while its entries share one kp, which takes a 64-bit hash collision). */
#define RK_POSTINGS_ENTRIES_MAX (RK_POSTINGS_BLOCK_BYTES + 64)

/* A posting as a walk returns it: the record's sequence number, its sort key, kind and visibility. */
typedef struct rk_posting {
    uint64_t seq;
    uint8_t sk[RK_SORT_KEY_LEN];
    uint8_t kind, visibility;
} rk_posting;

/* A posting to add: the sequence number and the sort key of the record it names. */
typedef struct rk_posting_new {
    uint64_t seq;
    const uint8_t *sk;
} rk_posting_new;

/* The postings of one change sequence number, from `changes`: 1 found, 0 not, -1 error. */
int rk_postings_resolve(rk_txn *t, uint64_t seq, rk_posting *out, rk_error *err);

/* What adding postings cost beyond appending: the change entries read to place the postings older than
 * a list's newest, and the blocks that merged them (each read and rewritten once per call). */
typedef struct rk_postings_cost {
    size_t change_reads;
    size_t merged_blocks;
} rk_postings_cost;

/* Adds v[0..n) to token's list; v is sorted by pk (sort key descending) and names distinct records.
 * c is a cursor on "tokens" in t, a write transaction; cost (may be NULL) is added to. 0, or -1 with
 * err filled (t is then aborted). */
int rk_postings_add(rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len, const rk_posting_new *v, size_t n,
                    rk_postings_cost *cost, rk_error *err);
/* Removes the posting of seq (whose sort key is sk) from token's list; nothing if it is not there. */
int rk_postings_remove(rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len, uint64_t seq,
                       const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err);
/* The number of postings of token. */
int rk_postings_count(rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len, uint64_t *n, rk_error *err);

/* A walk over a token's postings in sort-key order (newest first). It reads one block at a time
 * backwards and resolves each sequence number when it returns it. */
typedef struct rk_postings_walk {
    rk_txn *t;
    MDB_cursor *c;
    uint8_t prefix[1 + RK_POSTINGS_TOKEN_MAX];
    size_t plen;
    bool in_block; /* c is on the block whose entries are in seq */
    size_t n, i;   /* the block's n entries, oldest first; seq[0..i) are still to return */
    uint64_t seq[RK_POSTINGS_ENTRIES_MAX];
} rk_postings_walk;

/* Starts at the newest posting of token, or, when after is not NULL, at the first that sorts after
 * the sort key after (binary search in one block: a few change entries read). 0, or -1. */
int rk_postings_walk_start(rk_postings_walk *w, rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len,
                           const uint8_t *after, rk_error *err);
/* 1 with *out the next posting, 0 at the end of the list, -1 on error. */
int rk_postings_walk_next(rk_postings_walk *w, rk_posting *out, rk_error *err);

#endif
