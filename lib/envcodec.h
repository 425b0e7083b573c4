/* envcodec: the stored form of envelopes in `records` (docs/storage.md, Envelopes compressed).
 * lib/records.c stores and loads envelopes through it; the verifier threads (daemon/writer.c) and
 * the API's sealing threads (daemon/api_publish.c) compress envelopes ahead of the put with
 * rk_envcodec_precompress.
 *
 * A stored value is either the envelope itself (its canonical layout starts with 0x0a, lib/envelope.h)
 * or one zstd frame (it starts with zstd's magic number) of the envelope, made with the store's
 * dictionary, with its content size declared and no checksum or dictionary id. The dictionary is
 * trained once, from the first RK_ENVCODEC_TRAIN_AT envelopes the store holds, by the put that reaches
 * that sequence number, and kept in `meta` under "_zdict"; envelopes stored before it stay as they are.
 * A frame made ahead of the put is stored only when the dictionary that made it is the one the
 * storing transaction uses; any other is made again, so what is stored always decodes with `meta`'s.
 *
 * Invariants: decoding gives back exactly the bytes that were encoded, so what leaves the store
 * (the API, peers, hashes, signatures) is what was sealed; a value that is neither form, or a frame
 * that does not decompress to exactly its declared size (at most RK_ENVCODEC_MAX bytes), is
 * "store_corrupt", never a crash or an allocation of the declared size. The store's dictionary never
 * changes once committed: the copy a store keeps in memory is taken from `meta` as committed, or from
 * the transaction that trained it once that transaction has committed (lib/txn.h).
 */
#ifndef RENKEI_ENVCODEC_H
#define RENKEI_ENVCODEC_H

#include "record.h"
#include "txn.h"

/* The put whose sequence number is a multiple of this trains the dictionary if the store has none. */
#define RK_ENVCODEC_TRAIN_AT 1024
/* The dictionary's size: about a hundredth of the samples, as zstd's documentation advises. */
#define RK_ENVCODEC_DICT_BYTES (16 * 1024)
/* zstd's level for stored envelopes: compressed once per put, decompressed once per load. */
#define RK_ENVCODEC_LEVEL 3
/* The largest envelope a stored frame may declare (records are limited to 256 KiB by default). */
#define RK_ENVCODEC_MAX (16u * 1024 * 1024)

/* The value to store for env[0..len): 1 with *out a malloc'd frame of *out_len bytes, 0 when env is
 * to be stored as it is (no dictionary yet, or the frame would not be smaller), -1 on error. */
int rk_envcodec_encode(rk_txn *t, const uint8_t *env, size_t len, uint8_t **out, size_t *out_len, rk_error *err);

/* Compresses rec's envelope ahead of its put, on any thread, with the store's committed dictionary
 * (rk_store_envdict): 1 with rec->stored, rec->stored_len and rec->stored_dict set, 0 when the store
 * has no dictionary loaded yet or the frame would not be smaller (rec unchanged), -1 out of memory
 * (rec unchanged: the put compresses it then). */
int rk_envcodec_precompress(rk_store *s, rk_record *rec);

/* The value to store for rec in t: its frame from rk_envcodec_precompress when made with the
 * dictionary t compresses with, otherwise what rk_envcodec_encode makes, and then *owned is the
 * caller's to free (NULL when *v points into rec). 0, or -1 with err filled. */
int rk_envcodec_value(rk_txn *t, const rk_record *rec, MDB_val *v, uint8_t **owned, rk_error *err);

/* The envelope of a stored value: 1 with *out a malloc'd copy of *out_len bytes decompressed from a
 * frame, 0 when the value is the envelope itself, -1 (store_corrupt, no_memory) on error. */
int rk_envcodec_decode(rk_txn *t, const uint8_t *val, size_t len, uint8_t **out, size_t *out_len, rk_error *err);

/* Called by the put that stored change seq: trains and stores the dictionary when seq is a multiple
 * of RK_ENVCODEC_TRAIN_AT and the store has none. 0, or -1 with err filled (t then aborted). */
int rk_envcodec_maybe_train(rk_txn *t, uint64_t seq, rk_error *err);

#endif
