/* relay: the record traffic both roles of the peer protocol share.
 *
 * Invariants: `local` records are never sent, and `network` records only to peers authenticated as
 * roster members; every envelope's visibility is read before it leaves (rk_relay_collect). Records
 * from peers reach the store only through the writer, which runs the full ingest checks on each, so
 * no peer can inject anything a member did not sign. A hash is fetched by one peer conversation at a
 * time (the in-flight table); a claim lapses after RELAY_INFLIGHT_MS so a lost fetch is retried.
 */
#include "relay.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "gossip_int.h"
#include "grow.h"
#include "log.h"
#include "membership_rid.h"
#include "renkei.pb-c.h"
#include "writer.h"

#define RELAY_INFLIGHT_MS 5000

/* ---- in-flight fetches -------------------------------------------------------------------------- */

static size_t relay_slot(const uint8_t *hash)
{
    return ((size_t)hash[0] | (size_t)hash[1] << 8) % RK_RELAY_INFLIGHT_SLOTS;
}

bool rk_relay_claim_locked(struct rk_gossip *g, const uint8_t *hash, uint64_t now_ms)
{
    rk_relay_inflight *f = &g->inflight;
    size_t s = relay_slot(hash);
    if (f->slot[s].until > now_ms && memcmp(f->slot[s].hash, hash, RK_HASH_LEN) == 0)
        return false;
    memcpy(f->slot[s].hash, hash, RK_HASH_LEN);
    f->slot[s].until = now_ms + RELAY_INFLIGHT_MS;
    return true;
}

size_t rk_relay_claim_list(struct rk_gossip *g, uint8_t *hashes, size_t n)
{
    size_t kept = 0;
    uint64_t now = rk_monotonic_ns() / 1000000;
    nng_mtx_lock(g->mu);
    for (size_t i = 0; i < n; i++)
        if (rk_relay_claim_locked(g, hashes + i * RK_HASH_LEN, now)) {
            if (kept != i)
                memcpy(hashes + kept * RK_HASH_LEN, hashes + i * RK_HASH_LEN, RK_HASH_LEN);
            kept++;
        }
    nng_mtx_unlock(g->mu);
    return kept;
}

void rk_relay_release_locked(struct rk_gossip *g, const uint8_t *hash)
{
    rk_relay_inflight *f = &g->inflight;
    size_t s = relay_slot(hash);
    if (memcmp(f->slot[s].hash, hash, RK_HASH_LEN) == 0)
        f->slot[s].until = 0;
}

int rk_relay_wanted(struct rk_gossip *g, const uint8_t *list, size_t n, size_t stride, rk_buf *out)
{
    rk_error err;
    rk_txn *t = NULL;
    if (rk_txn_begin(g->node->store, false, &t, &err) != 0)
        return -1;
    uint64_t now = rk_monotonic_ns() / 1000000;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const uint8_t *h = list + i * stride + (stride - RK_HASH_LEN);
        uint64_t seq; /* held already: the hash's key is enough, no envelope to decompress */
        int r = rk_records_seq(t, h, &seq, &err);
        if (r < 0)
            rc = -1;
        else if (r == 0) {
            nng_mtx_lock(g->mu);
            bool claim = rk_relay_claim_locked(g, h, now);
            nng_mtx_unlock(g->mu);
            if (claim && rk_buf_append(out, h, RK_HASH_LEN) != 0)
                rc = -1;
        }
    }
    rk_txn_abort(t);
    return rc;
}

/* ---- handing received records to the writer ------------------------------------------------------ */

static void relay_submit_done(void *ctx, const rk_ingest_result *res, const rk_record *rec, const rk_error *err)
{
    rk_peerstat *st = ctx;
    struct rk_gossip *g = st->g;
    (void)rec;
    nng_mtx_lock(g->mu);
    rk_relay_release_locked(g, res->hash);
    nng_mtx_unlock(g->mu);
    if (res->status == RK_INGEST_REJECTED)
        rk_peerstat_reject(&g->stats, st, err && err->code[0] ? err->code : "rejected", err ? err->message : NULL);
    else if (res->status == RK_INGEST_FAILED)
        rk_peerstat_store_result(&g->stats, st, err);
    else
        rk_peerstat_store_result(&g->stats, st, NULL);
    rk_gossip_unref(g);
}

/* Is this envelope a membership record (endorse, rotate, revoke)? Decodes it: only asked about the
 * traffic of a peer whose charter differs, which should not last. */
static bool relay_is_membership(const uint8_t *env, size_t len)
{
    Renkei__SignedRecord *sr = renkei__signed_record__unpack(NULL, len, env);
    if (!sr)
        return false;
    Renkei__Record *r = renkei__record__unpack(NULL, sr->record.len, sr->record.data);
    bool yes = r && rk_membership_rid_kind(r->kind);
    if (r)
        renkei__record__free_unpacked(r, NULL);
    renkei__signed_record__free_unpacked(sr, NULL);
    return yes;
}

bool rk_relay_charter_mismatch(struct rk_gossip *g, const rk_peerstat *st)
{
    if (!st)
        return false;
    nng_mtx_lock(g->mu);
    bool m = st->charter_mismatch;
    nng_mtx_unlock(g->mu);
    return m;
}

uint32_t rk_relay_submit(struct rk_gossip *g, rk_peerstat *st, ProtobufCBinaryData *recs, size_t n)
{
    uint32_t ok = 0;
    bool mismatch = rk_relay_charter_mismatch(g, st);
    for (size_t i = 0; i < n; i++) {
        if (recs[i].len == 0 || recs[i].len > g->node->limits.max_record_bytes + 128) {
            rk_peerstat_reject(&g->stats, st, "too_large", "record over the size limit");
            continue;
        }
        if (mismatch && relay_is_membership(recs[i].data, recs[i].len)) {
            rk_peerstat_reject(&g->stats, st, "charter_mismatch",
                               "a membership record from a peer with another charter");
            continue;
        }
        uint8_t *env = malloc(recs[i].len);
        if (!env)
            break;
        memcpy(env, recs[i].data, recs[i].len);
        atomic_fetch_add(&g->refs, 1);
        if (rk_writer_submit(g->node->writer, env, recs[i].len, st->name, relay_submit_done, st) != 0) {
            atomic_fetch_sub(&g->refs, 1);
            break;
        }
        ok++;
    }
    rk_peerstat_count_io(&g->stats, st, 0, n);
    return ok;
}

/* ---- what may be sent -------------------------------------------------------------------------- */

/* May this envelope go to a peer with these rights? The visibility is read from the wire without a
 * full decode; an envelope whose visibility cannot be read is never sent. */
static bool relay_may_send(const uint8_t *env, size_t len, bool member)
{
    int vis = rk_envelope_visibility(env, len);
    if (vis == RENKEI__VISIBILITY__VISIBILITY_PUBLIC)
        return true;
    return vis == RENKEI__VISIBILITY__VISIBILITY_NETWORK && member;
}

int rk_relay_collect(struct rk_gossip *g, rk_relay_envset *es, const uint8_t *list, size_t n, size_t stride,
                     bool member, bool no_membership, size_t max_records, size_t budget, size_t *used,
                     size_t *forbidden)
{
    rk_error err;
    size_t bytes = 0;
    *used = 0;
    if (rk_txn_begin(g->node->store, false, &es->t, &err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *h = list + i * stride + (stride - RK_HASH_LEN);
        const uint8_t *env;
        size_t len;
        int r = rk_store_get_envelope(es->t, h, &env, &len, &err);
        if (r < 0)
            return -1;
        if (r == 1 && (!relay_may_send(env, len, member) || (no_membership && relay_is_membership(env, len)))) {
            if (forbidden)
                (*forbidden)++;
            r = 0;
        }
        if (r == 1) {
            if (es->n >= max_records || (es->n > 0 && bytes + len + 16 > budget))
                break;
            ProtobufCBinaryData *p = rk_grow(es->recs, &es->cap, es->n + 1, sizeof(*p));
            if (!p)
                return -1;
            es->recs = p;
            es->recs[es->n].data = (uint8_t *)env;
            es->recs[es->n].len = len;
            es->n++;
            bytes += len + 16;
        }
        *used = i + 1;
    }
    return 0;
}

void rk_relay_envset_free(rk_relay_envset *es)
{
    if (es->t)
        rk_txn_abort(es->t);
    free(es->recs);
    memset(es, 0, sizeof(*es));
}

int rk_relay_queue_item(uint8_t **q, size_t *qn, size_t *qcap, const uint8_t item[RK_ITEM_LEN])
{
    if (*qn >= RK_RELAY_QUEUE_MAX)
        return -1;
    uint8_t *p = rk_grow(*q, qcap, *qn + 1, RK_ITEM_LEN);
    if (!p)
        return -1;
    *q = p;
    memcpy(p + *qn * RK_ITEM_LEN, item, RK_ITEM_LEN);
    (*qn)++;
    return 0;
}
