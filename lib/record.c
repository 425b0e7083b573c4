/* record: the life of a signed record's bytes.
 *
 * rk_record_parse is the defensive entry for bytes from anywhere (peer, disk, CLI): it bounds sizes
 * before decoding and copies the envelope so the result never points into caller memory. A canonical
 * envelope (lib/envelope.h), which is what peers send, is copied as it is; any other valid layout is
 * decoded and rebuilt around the same signed bytes, so the result is canonical either way.
 * rk_record_seal and rk_record_seal_owned are the only places a Record is ever serialised: packed
 * once, then the same bytes are hashed, signed, stored and relayed. The _owned form (the publish
 * path) keeps the very message it packed instead of decoding the bytes back.
 */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

void rk_limits_default(rk_limits *lim)
{
    lim->max_record_bytes = 256 * 1024;
    lim->max_clock_skew_ms = 10 * 60 * 1000;
}

void rk_record_free(rk_record *rec)
{
    if (!rec)
        return;
    if (rec->msg)
        renkei__record__free_unpacked(rec->msg, NULL);
    free(rec->env);
    free(rec->stored);
    memset(rec, 0, sizeof *rec);
}

/* The envelope is kept in the canonical layout (lib/envelope.h) so that `bytes` sits at a known
 * offset. Only the wrapper is rebuilt; the signed record bytes are copied untouched. */
static int build_envelope(rk_record *rec, const uint8_t *bytes, size_t len, const uint8_t sig[RK_SIG_LEN],
                          rk_error *err)
{
    rec->env_len = rk_envelope_size(len);
    rec->env = malloc(rec->env_len);
    if (!rec->env)
        return rk_fail(err, "no_memory", "", "out of memory");
    rec->bytes = rec->env + rk_envelope_write(rec->env, bytes, len, sig);
    rec->len = len;
    memcpy(rec->sig, sig, RK_SIG_LEN);
    return 0;
}

/* Decodes and checks the record whose bytes the rk_record already owns. */
static int decode_owned(rk_record *rec, const rk_limits *lim, uint64_t now_ms, rk_error *err)
{
    rec->msg = renkei__record__unpack(NULL, rec->len, rec->bytes);
    if (!rec->msg)
        return rk_fail(err, "malformed", "record", "the record bytes do not decode");
    rk_sha256(rec->bytes, rec->len, rec->hash);
    if (rk_record_validate(rec->msg, err) != 0)
        return -1;
    if (lim && now_ms && rec->msg->version > now_ms + lim->max_clock_skew_ms)
        return rk_fail(err, "clock_skew", "version", "version %llu is %llu ms in the future (limit %llu ms)",
                       (unsigned long long)rec->msg->version, (unsigned long long)(rec->msg->version - now_ms),
                       (unsigned long long)lim->max_clock_skew_ms);
    return 0;
}

int rk_record_parse(const uint8_t *env, size_t len, const rk_limits *lim, uint64_t now_ms, rk_record *out,
                    rk_error *err)
{
    memset(out, 0, sizeof *out);
    rk_limits defaults;
    if (!lim) {
        rk_limits_default(&defaults);
        lim = &defaults;
    }
    if (len > lim->max_record_bytes)
        return rk_fail(err, "too_large", "", "signed record of %zu bytes exceeds the limit of %zu", len,
                       lim->max_record_bytes);
    if (len == 0)
        return rk_fail(err, "malformed", "", "empty signed record");
    /* What peers and the store hand over is canonical: then the envelope is already the one
     * build_envelope would make, and it is copied once instead of decoded, copied out and rebuilt. */
    rk_envelope canon;
    if (rk_envelope_split(env, len, &canon)) {
        out->env = malloc(len);
        if (!out->env)
            return rk_fail(err, "no_memory", "", "out of memory");
        memcpy(out->env, env, len);
        out->env_len = len;
        out->bytes = out->env + (canon.record - env);
        out->len = canon.record_len;
        memcpy(out->sig, canon.sig, RK_SIG_LEN);
        if (decode_owned(out, lim, now_ms, err) != 0) {
            rk_record_free(out);
            return -1;
        }
        return 0;
    }
    Renkei__SignedRecord *sr = renkei__signed_record__unpack(NULL, len, env);
    if (!sr)
        return rk_fail(err, "malformed", "", "the signed record envelope does not decode");
    int rc = 0;
    if (sr->record.len == 0 || sr->signature.len != RK_SIG_LEN)
        rc = rk_fail(err, "malformed", "signature", "the envelope needs record bytes and a 64-byte signature");
    else
        rc = build_envelope(out, sr->record.data, sr->record.len, sr->signature.data, err);
    renkei__signed_record__free_unpacked(sr, NULL);
    if (rc == 0)
        rc = decode_owned(out, lim, now_ms, err);
    if (rc != 0)
        rk_record_free(out);
    return rc;
}

bool rk_record_signature_ok(const rk_record *rec)
{
    if (!rec->msg || rec->msg->author.len != RK_KEY_LEN)
        return false;
    return rk_verify(rec->msg->author.data, RK_SIGN_DOMAIN_RECORD, rec->bytes, rec->len, rec->sig);
}

/* Packs r once, signs the bytes and builds the canonical envelope around them; out gets everything
 * but msg. r's content is the caller's to have checked. */
static int seal_envelope(const Renkei__Record *r, const rk_key *key, rk_record *out, rk_error *err)
{
    uint8_t pub[RK_KEY_LEN];
    rk_key_public(key, pub);
    if (r->author.len != RK_KEY_LEN || memcmp(r->author.data, pub, RK_KEY_LEN) != 0)
        return rk_fail(err, "invalid_author", "author", "a node can only sign its own records");
    size_t rlen = renkei__record__get_packed_size(r);
    uint8_t *bytes = malloc(rlen ? rlen : 1);
    if (!bytes)
        return rk_fail(err, "no_memory", "", "out of memory");
    renkei__record__pack(r, bytes);
    uint8_t sig[RK_SIG_LEN];
    if (rk_sign(key, RK_SIGN_DOMAIN_RECORD, bytes, rlen, sig) != 0) {
        free(bytes);
        return rk_fail(err, "sign_failed", "", "signing failed");
    }
    int rc = build_envelope(out, bytes, rlen, sig, err);
    free(bytes);
    if (rc == 0)
        rk_sha256(out->bytes, out->len, out->hash);
    return rc;
}

int rk_record_seal(const Renkei__Record *r, const rk_key *key, rk_record *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    if (rk_record_validate(r, err) != 0)
        return -1;
    if (seal_envelope(r, key, out, err) != 0) {
        rk_record_free(out);
        return -1;
    }
    /* r is the caller's: the record keeps its own decoded copy of what was signed */
    out->msg = renkei__record__unpack(NULL, out->len, out->bytes);
    if (!out->msg) {
        rk_record_free(out);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    return 0;
}

int rk_record_seal_owned(Renkei__Record *msg, const rk_key *key, rk_record *out, rk_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = rk_record_validate_filled(msg, err);
    if (rc == 0)
        rc = seal_envelope(msg, key, out, err);
    if (rc != 0) {
        rk_record_free(out);
        protobuf_c_message_free_unpacked(&msg->base, NULL);
        return -1;
    }
    out->msg = msg; /* what was packed, so never decoded again */
    return 0;
}

int rk_record_clone(const rk_record *src, rk_record *dst)
{
    memset(dst, 0, sizeof *dst);
    dst->env = malloc(src->env_len);
    if (!dst->env)
        return -1;
    memcpy(dst->env, src->env, src->env_len);
    dst->env_len = src->env_len;
    dst->bytes = dst->env + (src->bytes - src->env);
    dst->len = src->len;
    memcpy(dst->hash, src->hash, RK_HASH_LEN);
    memcpy(dst->sig, src->sig, RK_SIG_LEN);
    dst->msg = renkei__record__unpack(NULL, dst->len, dst->bytes);
    if (!dst->msg) {
        rk_record_free(dst);
        return -1;
    }
    return 0;
}

void rk_record_id(const uint8_t author[RK_KEY_LEN], const char *rid, char out[RK_ID_MAX])
{
    char hex[2 * RK_KEY_LEN + 1];
    rk_hex_encode(author, RK_KEY_LEN, hex);
    snprintf(out, RK_ID_MAX, "%s:%s", hex, rid);
}

int rk_record_id_parse(const char *id, const uint8_t self[RK_KEY_LEN], uint8_t author[RK_KEY_LEN],
                       char rid[RK_RID_MAX + 1])
{
    const char *colon = strchr(id, ':');
    const char *r = id;
    if (colon) {
        char hex[2 * RK_KEY_LEN + 1];
        if ((size_t)(colon - id) != 2 * RK_KEY_LEN)
            return -1;
        memcpy(hex, id, 2 * RK_KEY_LEN);
        hex[2 * RK_KEY_LEN] = '\0';
        if (rk_hex_decode(hex, author, RK_KEY_LEN) != 0)
            return -1;
        r = colon + 1;
    } else {
        memcpy(author, self, RK_KEY_LEN);
    }
    if (!rk_rid_valid(r))
        return -1;
    snprintf(rid, RK_RID_MAX + 1, "%s", r);
    return 0;
}
