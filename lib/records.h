/* records: the `records`, `hashes` and `current` databases. A record's current version by (author,
 * rid), its stored envelope by hash, and the decoded record. Only rk_store_put (lib/store.c) writes
 * them, through rk_records_put and rk_records_del; everything that needs a stored record (the
 * indexes, queries, sync, the API) reads it here.
 *
 * Invariants: `current` maps author || rid to hash || version(be64) of the one envelope `records`
 * holds for that pair. `records` keeps each envelope under the change sequence number that stored it,
 * which is higher than every key already there, so envelopes are appended and LMDB fills each page
 * before it starts the next (keyed by hash, every insert landed on a random page and pages held two
 * envelopes of 1.2 KB where three fit); `hashes` maps the hash to that number, and the two databases
 * hold the same envelopes. An envelope is stored in the form lib/envcodec.h gives it (a zstd frame
 * once the store has its dictionary) and always handed out as sealed. The functions keep the
 * rk_store_ names callers use through store.h.
 */
#ifndef RENKEI_RECORDS_H
#define RENKEI_RECORDS_H

#include "record.h"
#include "txn.h"

typedef struct rk_current {
    uint8_t hash[RK_HASH_LEN];
    uint64_t version;
} rk_current;

/* 1 found, 0 not found, -1 error. */
int rk_store_get_current(rk_txn *t, const uint8_t author[RK_KEY_LEN], const char *rid, rk_current *out, rk_error *err);
/* The SignedRecord bytes of a current record, as sealed; the pointer is valid until the transaction
 * ends (into the map, or a decompressed copy the transaction holds). 1 found, 0 not found, -1 error. */
int rk_store_get_envelope(rk_txn *t, const uint8_t hash[RK_HASH_LEN], const uint8_t **env, size_t *len, rk_error *err);
/* Loads and decodes a stored record (no signature re-check: it was checked on ingest). */
int rk_store_load(rk_txn *t, const uint8_t hash[RK_HASH_LEN], rk_record *out, rk_error *err);
/* The same for the record whose envelope is kept under seq (a posting's), whose hash is hash: one
 * read fewer than by hash. */
int rk_records_load_seq(rk_txn *t, uint64_t seq, const uint8_t hash[RK_HASH_LEN], rk_record *out, rk_error *err);

/* Stores rec's envelope under seq, the change sequence number of the put storing it (higher than any
 * before), and deletes the envelope of hash. Write transaction; 0, or -1 with err filled. */
int rk_records_put(rk_txn *t, uint64_t seq, const rk_record *rec, rk_error *err);
int rk_records_del(rk_txn *t, const uint8_t hash[RK_HASH_LEN], rk_error *err);
/* The change sequence number under which the envelope of hash is kept: 1 found, 0 not, -1 error. */
int rk_records_seq(rk_txn *t, const uint8_t hash[RK_HASH_LEN], uint64_t *seq, rk_error *err);

/* The key of (author, rid) in `current`; fails with "invalid_rid" for an empty or too long rid. */
#define RK_CURRENT_KEY_MAX (RK_KEY_LEN + RK_RID_MAX)
int rk_records_current_key(const uint8_t author[RK_KEY_LEN], const char *rid, uint8_t key[RK_CURRENT_KEY_MAX],
                           size_t *klen, rk_error *err);

#endif
