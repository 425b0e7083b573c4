/* postings: the compact posting lists of the store (docs/storage.md, Full-text postings and Filter
 * postings): each token's list in the LMDB database "tokens", and each filter value's list ('a' for
 * every indexed record, 'f' || field || value) in "indexes". Internal to lib/: lib/index.c writes
 * them, lib/query.c walks them.
 *
 * A list names each indexed record by its change sequence number (the key of `records`), ordered by
 * pk = be64(version) || ~hash, the bitwise complement of the sort key: oldest first, so a new record's
 * posting goes at the end. The list is cut into blocks, one LMDB entry each:
 *
 *     key    prefix || kp      kp: 16 bytes, at most the pk of every entry; prefix: len(token) ||
 *                              token in "tokens", the filter prefix in "indexes"
 *     value  varint(total) varint(span) varint(first code) varint(code)...
 *
 * An entry's code is its step from the previous sequence number, zigzag coded (the first entry's is
 * the sequence number itself); in a list with attributes (the filter lists) it is shifted left by two
 * bits that hold the entry's attribute, the record's visibility, so a walk can pass over records a
 * reader may not see without reading anything else.
 *
 * Invariants: every block holds at least one entry, in pk order; for a block b and the next block b'
 * of the same list, key(b) <= kp(e) < key(b') for every entry e of b, where kp(e) is the first 16
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
/* The longest prefix of a list: a token's length byte and the token (a filter prefix is shorter). */
#define RK_POSTINGS_PREFIX_MAX (1 + RK_POSTINGS_TOKEN_MAX)
/* The attribute of an entry of a list with attributes takes two bits. */
#define RK_POSTINGS_ATTR_MAX 3
/* A block of a token's list is closed once its entries take this many bytes; the next posting starts a
 * new block. */
#define RK_POSTINGS_BLOCK_BYTES 384
/* The same for a filter's list: a query decodes the block of every other filter that holds a
 * candidate's place, and a put rewrites the last block of each of its record's lists, so smaller
 * blocks cost less per query and per put; their keys still take under a byte per posting. */
#define RK_POSTINGS_FILTER_BLOCK_BYTES 128
/* The most entries a block can hold (each takes at least a byte; a block only overruns
 * RK_POSTINGS_BLOCK_BYTES while its entries share one kp, which takes a 64-bit hash collision). */
#define RK_POSTINGS_ENTRIES_MAX (RK_POSTINGS_BLOCK_BYTES + 64)

/* Late postings (docs/storage.md, Late postings): every list has a side list, a posting list of the
 * same layout whose prefix is RK_POSTINGS_SIDE_TAG || the list's prefix (no token's length is 0 and
 * no filter prefix starts with it, so the two never share a block). rk_postings_list_add_late puts there the postings that would land
 * in a block before the list's last one, which is where a repair's records, spread over a year of
 * versions, go: the side list is small and its blocks take many postings per rewrite, where each of
 * them would cost a block decode, merge and rewrite in the middle of the main list. Once the side
 * list holds RK_POSTINGS_LATE_MIN postings and an RK_POSTINGS_LATE_RATIO-th of the main list's, it
 * is merged into the main list at once, each touched block rewritten once (rk_postings_merge_late).
 * Counts, walks, membership and removals read both lists, so results never depend on where a posting
 * is. Invariant: a sequence number is in the main list or its side list, never both. */
#define RK_POSTINGS_SIDE_TAG 0x00
#define RK_POSTINGS_LATE_MIN 1024
#define RK_POSTINGS_LATE_RATIO 8

/* One posting list: the key prefix of its blocks and whether its entries carry an attribute. */
typedef struct rk_postings_list {
    uint8_t prefix[RK_POSTINGS_PREFIX_MAX + 1]; /* + RK_POSTINGS_SIDE_TAG for a side list */
    size_t plen;
    bool attrs;
    bool side;          /* has a side list of late postings (the token lists) */
    size_t block_bytes; /* RK_POSTINGS_BLOCK_BYTES or RK_POSTINGS_FILTER_BLOCK_BYTES */
} rk_postings_list;

/* A token's list in "tokens" (no attributes); false if the token is empty or too long to index. */
bool rk_postings_token_list(rk_postings_list *l, const uint8_t *tok, size_t len);
/* A filter's list in "indexes" (attributes: visibilities, side list: 0x00 || prefix); false if the
 * prefix is empty or too long. */
bool rk_postings_filter_list(rk_postings_list *l, const uint8_t *prefix, size_t len);

/* A posting as a walk returns it: the record's sequence number, its sort key, kind and visibility,
 * and the entry's attribute (0 in a list without). */
typedef struct rk_posting {
    uint64_t seq;
    uint8_t sk[RK_SORT_KEY_LEN];
    uint8_t kind, visibility, attr;
} rk_posting;

/* A posting to add: the sequence number and the sort key of the record it names, and its attribute
 * (at most RK_POSTINGS_ATTR_MAX; ignored in a list without). */
typedef struct rk_posting_new {
    uint64_t seq;
    const uint8_t *sk;
    uint8_t attr;
} rk_posting_new;

/* The postings of one change sequence number, from `changes`: 1 found, 0 not, -1 error. */
int rk_postings_resolve(rk_txn *t, uint64_t seq, rk_posting *out, rk_error *err);

/* What adding postings cost: the change entries read to place the postings older than a list's newest,
 * the blocks that merged them (each read and rewritten once per call), and every block written (the
 * merged ones, their pieces, the appended ones, and the last block's total, rewritten once per call). */
typedef struct rk_postings_cost {
    size_t change_reads;
    size_t merged_blocks;
    size_t block_writes;
    size_t side_postings; /* postings rk_postings_list_add_late put in a side list */
    size_t side_merged;   /* postings rk_postings_merge_late moved from a side list into its main list */
} rk_postings_cost;

/* The sort keys that placing postings read from `changes`, kept for the other lists of one batch:
 * records that arrive spread over the versions of a list go into the middle of its blocks, and each is
 * placed by a binary search over the sort keys of the block's entries; the lists of one batch (the
 * tokens of 512 records, the filters of one record) hold many of the same records around the same
 * places, so their searches probe the same sequence numbers. Lives within one write transaction (a
 * sequence number the transaction wrote is reused if it aborts); holds at most RK_POSTINGS_SKS_MAX
 * keys, and a key it could not keep is read again. */
typedef struct rk_postings_sks rk_postings_sks;
#define RK_POSTINGS_SKS_MAX 65536
/* NULL when out of memory (then pass NULL: nothing is shared). */
rk_postings_sks *rk_postings_sks_new(void);
void rk_postings_sks_free(rk_postings_sks *s);

/* What writing a batch's runs into many lists of one database takes: a cursor on it, a buffer for the
 * longest run, and the sort keys shared by the lists (the full-text batch and a transaction's late
 * filter postings both write this way). */
typedef struct rk_postings_runs {
    MDB_cursor *c;
    rk_posting_new *run; /* room for the max_run postings given to rk_postings_runs_open */
    rk_postings_sks *sks;
} rk_postings_runs;
/* 0, or -1 with err filled (t is then aborted when the cursor could not be opened). */
int rk_postings_runs_open(rk_txn *t, rk_db db, size_t max_run, rk_postings_runs *w, rk_error *err);
void rk_postings_runs_close(rk_txn *t, rk_postings_runs *w);

/* Adds v[0..n) to list l; v is sorted by pk (sort key descending) and names distinct records. c is a
 * cursor on the list's database in t, a write transaction; sks (may be NULL) shares the sort keys read
 * with other calls in t; cost (may be NULL) is added to. 0, or -1 with err filled (t is then aborted). */
int rk_postings_list_add(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, const rk_posting_new *v, size_t n,
                         rk_postings_sks *sks, rk_postings_cost *cost, rk_error *err);
/* The same, except that in a list with a side list the postings that belong before its last block go
 * to the side list, which is merged into the list once it is large enough (RK_POSTINGS_LATE_MIN). */
int rk_postings_list_add_late(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, const rk_posting_new *v, size_t n,
                              rk_postings_sks *sks, rk_postings_cost *cost, rk_error *err);
/* 1 if a posting of sort key sk would go to l's side list (it sorts before the key of l's last block),
 * 0 if not (or l has no side list), -1 on error. A late posting stays late while t only adds to l. */
int rk_postings_list_is_late(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, const uint8_t sk[RK_SORT_KEY_LEN],
                             rk_error *err);
/* Moves every posting of l's side list into l, each block that takes some rewritten once. */
int rk_postings_merge_late(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, rk_postings_sks *sks,
                           rk_postings_cost *cost, rk_error *err);
/* The same for every list with a non-empty side list: the token lists of "tokens" (tokens, c on it)
 * or the filter lists of "indexes". */
int rk_postings_merge_all_late(rk_txn *t, MDB_cursor *c, bool tokens, rk_postings_cost *cost, rk_error *err);
/* Removes the posting of seq (whose sort key is sk) from l; nothing if it is not there. */
int rk_postings_list_remove(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, uint64_t seq,
                            const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err);
/* The number of postings of l. */
int rk_postings_list_count(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, uint64_t *n, rk_error *err);

/* The same for a token's list in "tokens". */
int rk_postings_add(rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len, const rk_posting_new *v, size_t n,
                    rk_postings_sks *sks, rk_postings_cost *cost, rk_error *err);
int rk_postings_remove(rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len, uint64_t seq,
                       const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err);
int rk_postings_count(rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len, uint64_t *n, rk_error *err);

/* One list's part of a walk: the block it is in, read backwards. */
typedef struct rk_postings_run {
    rk_postings_list l;
    bool in_block; /* seq holds the entries of the block whose kp is kp */
    uint8_t kp[16];
    size_t n, i; /* the block's n entries, oldest first; seq[0..i) are still to return */
    uint64_t seq[RK_POSTINGS_ENTRIES_MAX];
    uint8_t attr[RK_POSTINGS_ENTRIES_MAX];
} rk_postings_run;

/* A walk over a list's postings in sort-key order (newest first). It reads one block at a time
 * backwards; when the list's side list has postings after the start, the two lists are walked side
 * by side and merged by sort key (each posting resolved from its change entry to compare them). */
typedef struct rk_postings_walk {
    rk_txn *t;
    MDB_cursor *c;
    rk_postings_run main, side;
    bool merging;              /* the side list has postings to return */
    bool have_main, have_side; /* head_main, head_side hold the next posting of each list */
    rk_posting head_main, head_side;
    rk_posting last; /* the posting rk_postings_walk_entry returned last, when merging */
} rk_postings_walk;

/* Starts at the newest posting of l, or, when after is not NULL, at the first that sorts after the
 * sort key after (binary search in one block: a few change entries read). 0, or -1. */
int rk_postings_list_walk_start(rk_postings_walk *w, rk_txn *t, MDB_cursor *c, const rk_postings_list *l,
                                const uint8_t *after, rk_error *err);
/* The same over a token's list. */
int rk_postings_walk_start(rk_postings_walk *w, rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len,
                           const uint8_t *after, rk_error *err);
/* 1 with the next entry's sequence number and attribute, 0 at the end of the list, -1 on error. Reads
 * nothing but the list, so a caller can pass over an entry by its attribute before resolving it. */
int rk_postings_walk_entry(rk_postings_walk *w, uint64_t *seq, uint8_t *attr, rk_error *err);
/* The posting rk_postings_walk_entry returned last, resolved, when the walk had to resolve it (a
 * merged walk compares sort keys); NULL when it did not, and the caller resolves it if it needs to. */
const rk_posting *rk_postings_walk_resolved(const rk_postings_walk *w);
/* 1 with *out the next posting, resolved from its change entry; 0 at the end of the list, -1 on error. */
int rk_postings_walk_next(rk_postings_walk *w, rk_posting *out, rk_error *err);

/* Membership tests against one list, for records met in sort-key order: the block that holds a sort
 * key's place is read once and kept, with the range of kp it covers, so the records that fall in the
 * same block cost a binary search in memory. */
typedef struct rk_postings_range {
    bool valid, has_hi;
    uint8_t lo[16], hi[16]; /* the kept block covers kp in [lo, hi), or [lo, end) without hi; n is 0
                               for the range before the list's first block */
    size_t n;
    uint64_t seq[RK_POSTINGS_ENTRIES_MAX]; /* its sequence numbers, ascending */
} rk_postings_range;

/* A probe keeps a range of the list and one of its side list, so a side list that is empty where
 * the records are costs one seek per probe, not one per record. */
typedef struct rk_postings_probe {
    bool valid; /* false: nothing kept yet */
    rk_postings_range main, side;
} rk_postings_probe;

/* 1 if l lists seq (the record whose sort key is sk) in the list or its side list, 0 if not, -1 on
 * error. p->valid must be false before the first call, and p belongs to one list and one
 * transaction. */
int rk_postings_contains(rk_postings_probe *p, rk_txn *t, MDB_cursor *c, const rk_postings_list *l, uint64_t seq,
                         const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err);

#endif
