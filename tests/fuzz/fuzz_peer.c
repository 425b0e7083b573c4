/* fuzz_peer: peer messages from the network. The input is decoded as a PeerRequest, a PeerReply and a
 * bare Reconcile; a compressed message (the zstd field) goes through the bounded decoder
 * (lib/compress.c) and what it yields is decoded again, as the daemon does; every Reconcile that decodes is processed against a small in-memory set, as
 * responder and as initiator, and any reply must itself pass validation (what we send, a peer must
 * accept). Nothing may crash, leak, or trip the sanitizers. The set lives on the stack of each call:
 * no state survives between inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "sign.h"
#include "sync.h"

#define SET_N 600 /* enough items that splits and listings both happen */

typedef struct fset {
    uint8_t items[SET_N * RK_ITEM_LEN];
    rk_memory_set set;
} fset;

/* Strictly ascending items (a set source's contract) with small first bytes, so that fuzzed bounds
 * often fall among them: byte 0 spreads the set over 0..255, bytes 1-2 are i itself. */
static void fill(fset *s, size_t n)
{
    s->set.items = s->items;
    s->set.count = n;
    for (size_t i = 0; i < n; i++) {
        uint8_t *it = s->items + i * RK_ITEM_LEN;
        memset(it, 0, RK_ITEM_LEN);
        it[0] = (uint8_t)(i * 256 / SET_N);
        it[1] = (uint8_t)(i >> 8);
        it[2] = (uint8_t)i;
        for (size_t k = 8; k < RK_ITEM_LEN; k++)
            it[k] = (uint8_t)(i * 31 + k * 7);
        if (i > 0 && memcmp(it - RK_ITEM_LEN, it, RK_ITEM_LEN) >= 0)
            abort(); /* the harness itself would be wrong */
    }
}

static void exercise(const rk_set_source *src, const Renkei__Reconcile *m)
{
    rk_error err;
    for (int initiator = 0; initiator < 2; initiator++) {
        Renkei__Reconcile *reply = NULL;
        rk_sync_diff diff;
        rk_sync_diff_init(&diff);
        if (rk_sync_process(src, initiator, m, &reply, &diff, &err) == 0) {
            if (!initiator && !reply)
                abort(); /* a responder always answers */
            if (reply) {
                if (rk_sync_validate(reply, &err) != 0)
                    abort(); /* we must never send what we would reject */
                size_t len = renkei__reconcile__get_packed_size(reply);
                if (len > RK_SYNC_MAX_BYTES)
                    abort();
            }
        } else if (reply) {
            abort();
        }
        rk_sync_free_message(reply);
        rk_sync_diff_free(&diff);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The daemon's limit on one message (RK_GOSSIP_MAX_MSG in daemon/gossip_int.h). */
#define FUZZ_MAX_MSG (8u << 20)

/* The member `name` of an envelope's oneof when it is the member the envelope carries, else NULL.
 * PeerRequest and PeerReply name their members alike (reconcile, zstd), so one reader serves both. */
static const void *oneof_member(const ProtobufCMessage *env, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(env->descriptor, name);
    if (!f || *(const uint32_t *)((const char *)env + f->quantifier_offset) != f->id)
        return NULL;
    return (const char *)env + f->offset;
}

/* The input as an envelope of type desc (PeerRequest or PeerReply): its Reconcile, or (outer only) the
 * envelope its zstd field holds, decoded with the daemon's bound and not unwrapped again (the daemon
 * takes one level of compression). */
static void exercise_envelope(const rk_set_source *src, const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                              size_t len, bool outer)
{
    ProtobufCMessage *env = protobuf_c_message_unpack(desc, NULL, len, data);
    if (!env)
        return;
    Renkei__Reconcile *const *rc = oneof_member(env, "reconcile");
    if (rc && *rc)
        exercise(src, *rc);
    const ProtobufCBinaryData *z = oneof_member(env, "zstd");
    uint8_t *raw;
    size_t raw_len;
    if (outer && z && rk_decompress(z->data, z->len, FUZZ_MAX_MSG, &raw, &raw_len) == RK_COMPRESS_OK) {
        if (raw_len > FUZZ_MAX_MSG)
            abort(); /* the bound is the decoder's whole point */
        exercise_envelope(src, desc, raw, raw_len, false);
        free(raw);
    }
    protobuf_c_message_free_unpacked(env, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fset *s = malloc(sizeof *s);
    if (!s)
        return 0;
    /* the first byte picks the size of the local set, including empty */
    fill(s, size ? (size_t)data[0] * SET_N / 255 : 0);
    rk_set_source src;
    rk_set_source_from_memory(&src, &s->set);

    exercise_envelope(&src, &renkei__peer_request__descriptor, data, size, true);
    exercise_envelope(&src, &renkei__peer_reply__descriptor, data, size, true);
    Renkei__Reconcile *rc = renkei__reconcile__unpack(NULL, size, data);
    if (rc) {
        exercise(&src, rc);
        renkei__reconcile__free_unpacked(rc, NULL);
    }
    free(s);
    return 0;
}
