/* record: decoding, validation and sealing of signed records.
 *
 * A rk_record owns a copy of the SignedRecord bytes (`env`) and the decoded Record (`msg`);
 * `bytes` points inside `env` at the exact record bytes that were hashed and signed. Nothing here
 * ever re-encodes a received record. Validation failures name a stable reason code and the field
 * (see docs/api.md for the list of codes).
 */
#ifndef RENKEI_RECORD_H
#define RENKEI_RECORD_H

#include "renkei.pb-c.h"
#include "sign.h"
#include "util.h"
#include "validate.h"

/* "<64 hex author>:<rid>" */
#define RK_ID_MAX (2 * RK_KEY_LEN + 1 + RK_RID_MAX + 1)

typedef struct rk_limits {
    size_t max_record_bytes;    /* SignedRecord size limit; default 256 KiB */
    uint64_t max_clock_skew_ms; /* how far in the future a version may be; default 10 min */
} rk_limits;

void rk_limits_default(rk_limits *lim);

typedef struct rk_record {
    Renkei__Record *msg; /* decoded record (owned) */
    uint8_t *env;        /* serialised SignedRecord (owned) */
    size_t env_len;
    const uint8_t *bytes; /* the signed record bytes, inside env */
    size_t len;
    uint8_t hash[RK_HASH_LEN]; /* SHA-256(bytes) */
    uint8_t sig[RK_SIG_LEN];
    /* env as stored, compressed ahead of the put off the writer thread (lib/envcodec.h), and the
     * dictionary that made it; NULL when it was not. Owned. */
    uint8_t *stored;
    size_t stored_len;
    const void *stored_dict;
} rk_record;

/* Ingest checks that need no store: size limit, decode of envelope and record, schema, clock skew
 * (against now_ms). Does not check the roster, the stored version or the signature. On success *out
 * owns copies of everything. Reason codes: too_large, malformed, invalid_* / missing_field /
 * invalid_enum / invalid_utf8 / too_long, clock_skew. */
int rk_record_parse(const uint8_t *env, size_t len, const rk_limits *lim, uint64_t now_ms, rk_record *out,
                    rk_error *err);

/* True if the signature over `bytes` holds for msg->author. */
bool rk_record_signature_ok(const rk_record *rec);

/* Serialises r once, hashes and signs it with key (r->author must equal the key's public key), and
 * fills out as rk_record_parse would. Validates first. */
int rk_record_seal(const Renkei__Record *r, const rk_key *key, rk_record *out, rk_error *err);
/* The publish path's seal: msg's content has been validated already (rk_record_from_json does, or the
 * caller ran rk_record_validate_content), so only the rest is checked (rk_record_validate_filled:
 * author, rid, version and a membership record's rid; the author must be the key's). Takes ownership of msg (a heap message freeable with
 * protobuf_c_message_free_unpacked) in every case; on success out->msg is msg itself, not a decode
 * of the bytes just packed. */
int rk_record_seal_owned(Renkei__Record *msg, const rk_key *key, rk_record *out, rk_error *err);

void rk_record_free(rk_record *rec);

/* Deep copy (a new owned rk_record); returns -1 on allocation failure. */
int rk_record_clone(const rk_record *src, rk_record *dst);

/* Record ids as used by the API: "<author hex>:<rid>". */
void rk_record_id(const uint8_t author[RK_KEY_LEN], const char *rid, char out[RK_ID_MAX]);
/* Accepts "<author hex>:<rid>" or a bare rid, which means self's record. */
int rk_record_id_parse(const char *id, const uint8_t self[RK_KEY_LEN], uint8_t author[RK_KEY_LEN],
                       char rid[RK_RID_MAX + 1]);

#endif
