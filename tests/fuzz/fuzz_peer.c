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

typedef void (*exercise_fn)(const rk_set_source *src, const uint8_t *data, size_t len, bool outer);

/* A compressed request or reply: decoded with the daemon's bound, then as the message it holds (which
 * is not unwrapped again: the daemon takes one level of compression). */
static void exercise_compressed(const rk_set_source *src, const ProtobufCBinaryData *z, exercise_fn inner)
{
    uint8_t *raw;
    size_t len;
    if (rk_decompress(z->data, z->len, FUZZ_MAX_MSG, &raw, &len) != RK_COMPRESS_OK)
        return;
    if (len > FUZZ_MAX_MSG)
        abort(); /* the bound is the decoder's whole point */
    inner(src, raw, len, false);
    free(raw);
}

/* The input as a PeerRequest: its Reconcile, or (outer only) the request its zstd field holds. */
static void exercise_request(const rk_set_source *src, const uint8_t *data, size_t len, bool outer)
{
    Renkei__PeerRequest *rq = renkei__peer_request__unpack(NULL, len, data);
    if (!rq)
        return;
    if (rq->msg_case == RENKEI__PEER_REQUEST__MSG_RECONCILE && rq->reconcile)
        exercise(src, rq->reconcile);
    if (outer && rq->msg_case == RENKEI__PEER_REQUEST__MSG_ZSTD)
        exercise_compressed(src, &rq->zstd, exercise_request);
    renkei__peer_request__free_unpacked(rq, NULL);
}

/* The same as a PeerReply. */
static void exercise_reply(const rk_set_source *src, const uint8_t *data, size_t len, bool outer)
{
    Renkei__PeerReply *rp = renkei__peer_reply__unpack(NULL, len, data);
    if (!rp)
        return;
    if (rp->msg_case == RENKEI__PEER_REPLY__MSG_RECONCILE && rp->reconcile)
        exercise(src, rp->reconcile);
    if (outer && rp->msg_case == RENKEI__PEER_REPLY__MSG_ZSTD)
        exercise_compressed(src, &rp->zstd, exercise_reply);
    renkei__peer_reply__free_unpacked(rp, NULL);
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

    exercise_request(&src, data, size, true);
    exercise_reply(&src, data, size, true);
    Renkei__Reconcile *rc = renkei__reconcile__unpack(NULL, size, data);
    if (rc) {
        exercise(&src, rc);
        renkei__reconcile__free_unpacked(rc, NULL);
    }
    free(s);
    return 0;
}
