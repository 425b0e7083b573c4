/* reconcile_run: see reconcile_run.h. The loop is the daemon's (peer_dial.c initiates and processes
 * replies, peer_listen.c answers) without the transport. */
#include "reconcile_run.h"

#include <stdlib.h>
#include <string.h>

/* Packs m, checks and counts it into *bytes, and unpacks it as the other side would. Frees m. */
static Renkei__Reconcile *wire(Renkei__Reconcile *m, uint64_t *bytes, reconcile_stats *st, rk_error *err)
{
    size_t len = renkei__reconcile__get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        rk_sync_free_message(m);
        rk_fail(err, "no_memory", "", "out of memory");
        return NULL;
    }
    size_t packed = renkei__reconcile__pack(m, buf);
    size_t n_ranges = m->n_ranges;
    if (n_ranges > st->max_ranges)
        st->max_ranges = n_ranges;
    for (size_t i = 0; i < m->n_ranges; i++)
        if (m->ranges[i]->upper.len > st->max_upper)
            st->max_upper = m->ranges[i]->upper.len;
    rk_sync_free_message(m);
    Renkei__Reconcile *u = NULL;
    if (packed != len || len > RK_SYNC_MAX_BYTES || n_ranges > RK_SYNC_MAX_RANGES)
        rk_fail(err, "too_large", "", "a message of %zu bytes and %zu ranges", len, n_ranges);
    else if (!(u = renkei__reconcile__unpack(NULL, len, buf)))
        rk_fail(err, "malformed", "", "a packed message did not unpack");
    free(buf);
    *bytes += len;
    if (len > st->max_message)
        st->max_message = len;
    return u;
}

int reconcile_respond_from(void *ctx, const Renkei__Reconcile *in, Renkei__Reconcile **reply, rk_error *err)
{
    return rk_sync_process(ctx, false, in, reply, NULL, err);
}

int reconcile_respond_from_store(void *ctx, const Renkei__Reconcile *in, Renkei__Reconcile **reply, rk_error *err)
{
    rk_txn *t;
    if (rk_txn_begin(ctx, false, &t, err) != 0)
        return -1;
    rk_set_source src;
    rk_set_source_from_store(&src, t, (int)in->set);
    int rc = rk_sync_process(&src, false, in, reply, NULL, err);
    rk_txn_abort(t);
    return rc;
}

int reconcile_run(const rk_set_source *initiator, uint32_t set, reconcile_respond_fn respond, void *ctx,
                  rk_sync_diff *diff, unsigned max_rounds, reconcile_stats *st, rk_error *err)
{
    memset(st, 0, sizeof *st);
    Renkei__Reconcile *m = NULL;
    if (rk_sync_initiate(initiator, set, &m, err) != 0)
        return -1;
    while (m) {
        if (st->round_trips >= max_rounds) {
            rk_sync_free_message(m);
            return rk_fail(err, "too_many_rounds", "", "no end after %u round trips", st->round_trips);
        }
        Renkei__Reconcile *in = wire(m, &st->bytes_out, st, err);
        if (!in)
            return -1;
        Renkei__Reconcile *reply = NULL;
        int rc = respond(ctx, in, &reply, err);
        renkei__reconcile__free_unpacked(in, NULL);
        if (rc != 0)
            return -1;
        if (!reply || reply->set != set) {
            rk_sync_free_message(reply);
            return rk_fail(err, "wrong_set", "", "the responder did not answer about set %u", set);
        }
        st->round_trips++;
        in = wire(reply, &st->bytes_back, st, err);
        if (!in)
            return -1;
        m = NULL;
        rc = rk_sync_process(initiator, true, in, &m, diff, err);
        renkei__reconcile__free_unpacked(in, NULL);
        if (rc != 0)
            return -1;
    }
    return 0;
}
