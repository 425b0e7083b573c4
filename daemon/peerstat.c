/* peerstat: what the node knows about each peer, for operators.
 *
 * An entry exists per peer name: every configured [peer] with a url (dialed), every key that
 * authenticated on our listener (by roster name, or "unknown-<key prefix>"), and "unauthenticated"
 * for input that came before any handshake. Every rejected input is counted here by reason and in
 * renkei_peer_rejections_total{reason,peer}; its log line is rate-limited per peer to one a second
 * (with the number suppressed), so a peer sending garbage cannot flood the log.
 *
 * Invariants: the table is guarded by the gossip lock and only grows; entries are freed with the
 * table, after the last completion callback that may still count against them (gossip.c).
 */
#include "peerstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"

static const char *const peerstat_state_names[] = {"connecting", "handshake", "connected", "failed", "disconnected"};

static rk_peerstat *peerstat_find_locked(rk_peerstats *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i]->name, name) == 0)
            return t->v[i];
    return NULL;
}

rk_peerstat *rk_peerstat_get_locked(rk_peerstats *t, const char *name)
{
    rk_peerstat *s = peerstat_find_locked(t, name);
    if (s)
        return s;
    rk_peerstat **arr = rk_grow(t->v, &t->cap, t->n + 1, sizeof(*arr));
    if (!arr)
        return NULL;
    t->v = arr;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->g = t->g;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->state = RK_PEERSTAT_DISCONNECTED;
    t->v[t->n++] = s;
    return s;
}

void rk_peerstat_reject(rk_peerstats *t, rk_peerstat *st, const char *reason, const char *detail)
{
    if (!st)
        st = t->anon;
    bool log = false;
    uint64_t suppressed = 0;
    uint64_t now = rk_monotonic_ns() / 1000000;
    nng_mtx_lock(t->mu);
    size_t i;
    for (i = 0; i < st->nrej; i++)
        if (strcmp(st->rej[i].reason, reason) == 0)
            break;
    if (i == st->nrej && st->nrej < RK_PEERSTAT_MAX_REASONS)
        snprintf(st->rej[st->nrej++].reason, sizeof(st->rej[0].reason), "%s", reason);
    if (i < st->nrej)
        st->rej[i].n++;
    if (now - st->last_log_ms >= 1000 || st->last_log_ms == 0) {
        log = true;
        suppressed = st->suppressed;
        st->suppressed = 0;
        st->last_log_ms = now;
    } else {
        st->suppressed++;
    }
    nng_mtx_unlock(t->mu);
    rk_metrics_add2(t->metrics, "renkei_peer_rejections_total", "reason", reason, "peer", st->name, 1);
    if (log)
        rk_warn("gossip", "rejected from peer=%s reason=%s detail=\"%s\" suppressed=%llu", st->name, reason,
                detail ? detail : "", (unsigned long long)suppressed);
}

void rk_peerstat_store_result(rk_peerstats *t, rk_peerstat *st, const rk_error *err)
{
    /* no log line here: the writer logs the failure itself, once a second, whoever sent the records */
    nng_mtx_lock(t->mu);
    if (!err) {
        st->store_error[0] = '\0';
    } else {
        snprintf(st->store_error, sizeof st->store_error, "%s", err->code[0] ? err->code : "store_error");
        snprintf(st->last_sync_result, sizeof st->last_sync_result, "%s", st->store_error);
    }
    nng_mtx_unlock(t->mu);
}

void rk_peerstat_count_io(rk_peerstats *t, rk_peerstat *st, uint64_t sent, uint64_t received)
{
    nng_mtx_lock(t->mu);
    st->sent += sent;
    st->received += received;
    nng_mtx_unlock(t->mu);
    if (sent)
        rk_metrics_add(t->metrics, "renkei_peer_records_sent_total", "peer", st->name, sent);
    if (received)
        rk_metrics_add(t->metrics, "renkei_peer_records_received_total", "peer", st->name, received);
}

json_t *rk_peerstat_list_json_locked(const rk_peerstats *t)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        const rk_peerstat *s = t->v[i];
        json_t *rej = json_object();
        uint64_t total = 0;
        for (size_t k = 0; rej && k < s->nrej; k++) {
            json_object_set_new(rej, s->rej[k].reason, json_integer((json_int_t)s->rej[k].n));
            total += s->rej[k].n;
        }
        if (s == t->anon && total == 0) {
            json_decref(rej);
            continue;
        }
        char key[2 * RK_KEY_LEN + 1] = "";
        if (s->has_key)
            rk_hex_encode(s->key, RK_KEY_LEN, key);
        const char *state;
        if (s->dialed)
            state = peerstat_state_names[s->state];
        else if (s == t->anon)
            state = "n/a";
        else
            state = s->inbound ? "connected" : "disconnected";
        json_t *last = json_null();
        if (s->last_sync_ms) {
            char ts[32];
            rk_format_rfc3339((int64_t)(s->last_sync_ms / 1000), 0, true, ts);
            last = json_string(ts);
        }
        char roster[2 * RK_HASH_LEN + 1] = "";
        if (s->has_roster_digest)
            rk_hex_encode(s->roster_digest, RK_HASH_LEN, roster);
        json_t *o =
            json_pack("{s:s,s:s?,s:s?,s:s,s:s,s:b,s:i,s:o,s:s?,s:I,s:I,s:o*,s:b,s:s?,s:s}", "name", s->name, "key",
                      s->has_key ? key : NULL, "url", s->url, "direction",
                      s->dialed ? (s->inbound ? "both" : "out") : "in", "state", state, "member", s->member,
                      "connections", (int)s->inbound + (s->dialed && s->state == RK_PEERSTAT_CONNECTED), "last_sync",
                      last, "last_sync_result", s->last_sync_result[0] ? s->last_sync_result : NULL, "records_sent",
                      (json_int_t)s->sent, "records_received", (json_int_t)s->received, "rejections", rej,
                      "charter_mismatch", s->charter_mismatch, "roster_digest", roster[0] ? roster : NULL, "source",
                      s->roster   ? "roster"
                      : s->dialed ? "configuration"
                                  : "inbound");
        if (o)
            json_array_append_new(arr, o);
    }
    return arr;
}

json_t *rk_peerstat_summary_json_locked(const rk_peerstats *t)
{
    int peers = 0, connected = 0;
    for (size_t i = 0; i < t->n; i++) {
        const rk_peerstat *s = t->v[i];
        if (s == t->anon)
            continue;
        peers++;
        if ((s->dialed && s->state == RK_PEERSTAT_CONNECTED) || s->inbound)
            connected++;
    }
    return json_pack("{s:i,s:i}", "peers", peers, "connected", connected);
}

void rk_peerstat_free_all(rk_peerstats *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i]->url);
        free(t->v[i]);
    }
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
    t->anon = NULL;
}

void rk_peerstat_membership(rk_peerstats *t, rk_peerstat *st, const uint8_t *ours_charter, const uint8_t *their_charter,
                            const uint8_t *their_roster)
{
    if (!st)
        return;
    bool mismatch = ours_charter && their_charter && memcmp(ours_charter, their_charter, RK_HASH_LEN) != 0;
    nng_mtx_lock(t->mu);
    st->charter_mismatch = mismatch;
    bool log = mismatch && !st->charter_logged;
    st->charter_logged |= mismatch;
    st->has_roster_digest = their_roster != NULL;
    if (their_roster)
        memcpy(st->roster_digest, their_roster, RK_HASH_LEN);
    char name[sizeof st->name];
    memcpy(name, st->name, sizeof name);
    nng_mtx_unlock(t->mu);
    if (log) {
        char ours[2 * RK_HASH_LEN + 1], theirs[2 * RK_HASH_LEN + 1];
        rk_hex_encode(ours_charter, RK_HASH_LEN, ours);
        rk_hex_encode(their_charter, RK_HASH_LEN, theirs);
        rk_warn("members",
                "peer=%s has a different charter (ours %s, theirs %s): no membership records are exchanged with it "
                "until the founding members and threshold agree",
                name, ours, theirs);
    }
}

void rk_peerstat_unique_name_locked(const rk_peerstats *t, const char *name, const uint8_t key[RK_KEY_LEN], char *out,
                                    size_t cap)
{
    snprintf(out, cap, "%s", name);
    for (size_t i = 0; i < t->n; i++) {
        const rk_peerstat *s = t->v[i];
        if (strcmp(s->name, name) == 0 && s->has_key && memcmp(s->key, key, RK_KEY_LEN) != 0) {
            char hex[2 * RK_KEY_LEN + 1];
            rk_hex_encode(key, RK_KEY_LEN, hex);
            hex[8] = '\0';
            snprintf(out, cap, "%s-%s", name, hex);
            return;
        }
    }
}
