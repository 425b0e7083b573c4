/* gossip_roster: gossip's use of the roster (docs/membership.md): the digest it sends in handshakes,
 * the names and rights of the peers that connect, and the peers drawn from the roster
 * ([gossip] peers).
 *
 * A ticker thread looks at the roster every ROSTER_TICK_MS. When its digest has changed it refreshes
 * the rights of every connection (a key admitted a moment ago gets `network` records without
 * reconnecting, a revoked one stops getting them) and re-evaluates the roster peers; a roster peer
 * that has not completed a handshake for ROSTER_FAIL_MS is replaced by the next candidate and not
 * tried again for ROSTER_PAUSE_MS.
 *
 * Candidates are the members (founding or admitted) other than this node and its configured [peer]s
 * that have a listen URL from an endorsement that passes rk_config_url_problem, the check configured
 * URLs pass (NNG 1.5's URL parser reads past the end of some URLs); a URL that fails it is skipped
 * and counted in renkei_roster_bad_urls_total. They are ordered by SHA-256(own key || their key), a
 * shuffle that differs from node to node (so the members do not all dial the same few) and is stable
 * for one node (so a roster change does not reshuffle its peerings). A roster peer is kept while it
 * ranks among the first 2 x peers candidates and replaced once it falls out of that band (see
 * roster_peers), so the first members admitted do not keep everyone's peerings.
 *
 * Invariants: the roster dialers are created, listed and removed under the gossip lock, and stopped
 * (threads joined) outside it; the ticker is stopped before any dialer.
 */
#include <stdlib.h>
#include <string.h>

#include "charter_store.h"
#include "config_value.h"
#include "gossip_int.h"
#include "log.h"
#include "members.h"
#include "peer_dial.h"
#include "peer_listen.h"

#define ROSTER_TICK_MS 500
#define ROSTER_FAIL_MS 15000
#define ROSTER_PAUSE_MS 60000

/* ---- the roster as gossip reads it ------------------------------------------------------------- */

static const rk_membership *roster_acquire(struct rk_gossip *g)
{
    return rk_members_acquire(g->node);
}

static void roster_release(struct rk_gossip *g, const rk_membership *m)
{
    rk_members_release(g->node, m);
}

bool rk_gossip_roster_digest(struct rk_gossip *g, uint8_t out[RK_HASH_LEN])
{
    const rk_membership *m = roster_acquire(g);
    if (m)
        memcpy(out, m->digest, RK_HASH_LEN);
    roster_release(g, m);
    return m != NULL;
}

void rk_gossip_roster_changed(struct rk_gossip *g)
{
    /* the charter changed under the snapshot: compute it anew now rather than at the next commit of
     * a membership record */
    rk_txn *t;
    rk_error err;
    rk_membership m;
    if (rk_txn_begin(g->node->store, false, &t, &err) == 0) {
        int rc = rk_members_compute(g->node, t, &m, &err);
        rk_txn_abort(t);
        if (rc == 0 && rk_members_publish(g->node, &m) != 0)
            rc = -1;
        if (rc != 0)
            rk_warn("members", "cannot recompute the roster after the charter changed: %s", err.message);
    }
    nng_mtx_lock(g->mu);
    g->roster_dirty = true;
    if (g->roster_cv)
        nng_cv_wake(g->roster_cv);
    nng_mtx_unlock(g->mu);
}

static bool roster_is_member(const rk_member_entry *e)
{
    return e && (e->status == RK_MEMBER_FOUNDING || e->status == RK_MEMBER_ADMITTED);
}

/* The name the node gives key: its configured name, the roster's, or "unknown-<16 hex>". */
static bool roster_name(struct rk_gossip *g, const rk_membership *m, const uint8_t key[RK_KEY_LEN], char *name,
                        size_t cap)
{
    const rk_member *cm = rk_roster_find(&g->node->roster, key);
    const rk_member_entry *e = m ? rk_membership_find(m, key) : NULL;
    bool member = roster_is_member(e) && memcmp(key, g->node->pub, RK_KEY_LEN) != 0;
    if (cm && !cm->is_self)
        snprintf(name, cap, "%s", cm->name);
    else if (e && e->name && e->name[0])
        snprintf(name, cap, "%s", e->name);
    else {
        char hex[2 * RK_KEY_LEN + 1];
        rk_hex_encode(key, RK_KEY_LEN, hex);
        hex[16] = '\0';
        snprintf(name, cap, "unknown-%s", hex);
    }
    return member;
}

bool rk_gossip_peer_name(struct rk_gossip *g, const uint8_t key[RK_KEY_LEN], char *name, size_t cap)
{
    const rk_membership *m = roster_acquire(g);
    bool member = roster_name(g, m, key, name, cap);
    roster_release(g, m);
    return member;
}

/* ---- rights of the connections ------------------------------------------------------------------ */

static bool roster_member_cb(void *ctx, const uint8_t key[RK_KEY_LEN])
{
    const rk_membership *m = ctx;
    return roster_is_member(rk_membership_find(m, key));
}

/* ---- peers drawn from the roster ---------------------------------------------------------------- */

typedef struct roster_pause {
    uint8_t key[RK_KEY_LEN];
    uint64_t until_ms;
} roster_pause;

typedef struct roster_mgr {
    uint8_t seen[RK_HASH_LEN];
    bool seen_valid;
    roster_pause *pauses;
    size_t npauses;
} roster_mgr;

typedef struct roster_cand {
    uint8_t order[RK_HASH_LEN];
    const rk_member_entry *e;
    const char *url;
    bool paused;
} roster_cand;

static int cand_cmp(const void *a, const void *b)
{
    return memcmp(((const roster_cand *)a)->order, ((const roster_cand *)b)->order, RK_HASH_LEN);
}

static bool roster_paused(roster_mgr *mg, const uint8_t key[RK_KEY_LEN], uint64_t now)
{
    for (size_t i = 0; i < mg->npauses; i++)
        if (memcmp(mg->pauses[i].key, key, RK_KEY_LEN) == 0)
            return mg->pauses[i].until_ms > now;
    return false;
}

static void roster_pause_key(roster_mgr *mg, const uint8_t key[RK_KEY_LEN], uint64_t until)
{
    for (size_t i = 0; i < mg->npauses; i++)
        if (memcmp(mg->pauses[i].key, key, RK_KEY_LEN) == 0) {
            mg->pauses[i].until_ms = until;
            return;
        }
    roster_pause *p = realloc(mg->pauses, (mg->npauses + 1) * sizeof *p);
    if (!p)
        return; /* then it may be tried again at once: harmless */
    mg->pauses = p;
    memcpy(p[mg->npauses].key, key, RK_KEY_LEN);
    p[mg->npauses++].until_ms = until;
}

static bool roster_configured(const rk_config *cfg, const uint8_t key[RK_KEY_LEN])
{
    for (size_t i = 0; i < cfg->peer_count; i++)
        if (cfg->peers[i].url && cfg->peers[i].has_key && memcmp(cfg->peers[i].key, key, RK_KEY_LEN) == 0)
            return true;
    return false;
}

/* The members this node may dial, best first, paused ones included (so a member that is down keeps
 * its rank and does not push the others out of the band). *bad counts URLs that fail the check. */
static roster_cand *roster_candidates(struct rk_gossip *g, roster_mgr *mg, const rk_membership *m, uint64_t now,
                                      size_t *n, size_t *bad)
{
    *n = *bad = 0;
    roster_cand *c = calloc(m->count ? m->count : 1, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < m->count; i++) {
        const rk_member_entry *e = &m->entries[i];
        if (!roster_is_member(e) || memcmp(e->key, g->node->pub, RK_KEY_LEN) == 0 ||
            roster_configured(g->node->cfg, e->key))
            continue;
        const char *url = NULL;
        for (size_t u = 0; u < e->url_count && !url; u++) {
            if (rk_config_url_problem(e->urls[u], false) == NULL)
                url = e->urls[u];
            else
                ++*bad;
        }
        if (!url)
            continue;
        uint8_t seed[2 * RK_KEY_LEN];
        memcpy(seed, g->node->pub, RK_KEY_LEN);
        memcpy(seed + RK_KEY_LEN, e->key, RK_KEY_LEN);
        rk_sha256(seed, sizeof seed, c[*n].order);
        c[*n].e = e;
        c[*n].url = url;
        c[*n].paused = roster_paused(mg, e->key, now);
        ++*n;
    }
    if (*n)
        qsort(c, *n, sizeof *c, cand_cmp);
    return c;
}

/* key's rank among the candidates, or n when it is none of them. */
static size_t cand_rank(const roster_cand *c, size_t n, const uint8_t key[RK_KEY_LEN])
{
    size_t i = 0;
    while (i < n && memcmp(c[i].e->key, key, RK_KEY_LEN) != 0)
        i++;
    return i;
}

/* Starts a dialer to candidate c; on failure pauses it. Lock not held. */
static void roster_dial(struct rk_gossip *g, roster_mgr *mg, const rk_membership *m, const roster_cand *c, uint64_t now)
{
    char name[80], unique[80];
    roster_name(g, m, c->e->key, name, sizeof name);
    nng_mtx_lock(g->mu);
    rk_peerstat_unique_name_locked(&g->stats, name, c->e->key, unique, sizeof unique);
    nng_mtx_unlock(g->mu);
    rk_peer_config pc = {.name = unique, .has_key = true, .url = (char *)c->url};
    memcpy(pc.key, c->e->key, RK_KEY_LEN);
    rk_error err;
    rk_peer_dial *dp = NULL;
    if (rk_peer_dial_start(g, &pc, false, &dp, &err) != 0) {
        rk_warn("gossip", "cannot dial roster peer=%s at %s: %s", unique, c->url, err.message);
        roster_pause_key(mg, c->e->key, now + ROSTER_PAUSE_MS);
        if (dp) {
            nng_mtx_lock(g->mu);
            rk_peer_dial_halt_locked(dp);
            nng_mtx_unlock(g->mu);
            rk_peer_dial_stop(dp);
        }
        return;
    }
    nng_mtx_lock(g->mu);
    g->rdps[g->nrdps++] = dp;
    nng_mtx_unlock(g->mu);
    rk_info("gossip", "dialing roster peer=%s at %s", unique, c->url);
}

/* One roster dialer as roster_peers judges it. */
typedef struct roster_held {
    rk_peer_dial *dp;
    size_t rank;
    bool connected;
} roster_held;

static int held_cmp(const void *a, const void *b)
{
    size_t x = ((const roster_held *)a)->rank, y = ((const roster_held *)b)->rank;
    return x < y ? -1 : x > y;
}

/* Dials the best candidates ranked below `to` that are neither dialed nor paused, until `want`
 * dialers run. Lock not held. */
static void roster_fill(struct rk_gossip *g, roster_mgr *mg, const rk_membership *m, const roster_cand *c, size_t nc,
                        size_t to, size_t want, uint64_t now)
{
    for (size_t i = 0; i < to && i < nc; i++) {
        nng_mtx_lock(g->mu);
        size_t have = g->nrdps;
        bool dialed = false;
        for (size_t k = 0; k < have && !dialed; k++) {
            bool connected;
            uint64_t failing;
            dialed = memcmp(rk_peer_dial_key_locked(g->rdps[k], &connected, &failing), c[i].e->key, RK_KEY_LEN) == 0;
        }
        nng_mtx_unlock(g->mu);
        if (have >= want)
            return;
        if (!dialed && !c[i].paused)
            roster_dial(g, mg, m, &c[i], now);
    }
}

/* Keeps [gossip] peers roster dialers, spread so that no member collects everyone's peerings:
 *  - a dialer is dropped when its member is no longer a candidate or when it has failed for
 *    ROSTER_FAIL_MS (then paused for ROSTER_PAUSE_MS);
 *  - the band is the first 2 x peers candidates: the best `peers` dialers in the band are the core,
 *    and missing core places are dialed from the band, best first;
 *  - the other dialers (outside the band, or more than `peers` in it) are spares: kept only while
 *    the core has fewer than `peers` connected, so the node never holds fewer peerings than it
 *    could while replacements connect; if the band has nobody left to dial, members outside it
 *    are dialed to make up `peers`.
 * A member stays a peer until 2 x peers candidates rank before it (hysteresis: peerings do not flap
 * at every admission), and the early members, once everyone's only candidates, are let go as the
 * network grows. */
static void roster_peers(struct rk_gossip *g, roster_mgr *mg, const rk_membership *m, bool changed)
{
    size_t want = g->node->cfg->roster_peers, band = 2 * want;
    uint64_t now = rk_monotonic_ns() / 1000000;
    size_t nc, bad;
    roster_cand *c = roster_candidates(g, mg, m, now, &nc, &bad);
    if (!c)
        return;
    if (changed && bad) {
        rk_metrics_add(g->metrics, "renkei_roster_bad_urls_total", NULL, NULL, bad);
        rk_warn("gossip", "%zu listen URLs of the roster fail the URL check and are skipped", bad);
    }
    rk_peer_dial *drop[2 * RK_CONFIG_MAX_ROSTER_PEERS];
    roster_held held[2 * RK_CONFIG_MAX_ROSTER_PEERS];
    size_t ndrop = 0, nheld = 0;
    nng_mtx_lock(g->mu);
    for (size_t i = 0; i < g->nrdps; i++) {
        bool connected;
        uint64_t failing;
        const uint8_t *key = rk_peer_dial_key_locked(g->rdps[i], &connected, &failing);
        size_t rank = cand_rank(c, nc, key);
        if (rank < nc && failing <= ROSTER_FAIL_MS) {
            held[nheld++] = (roster_held){.dp = g->rdps[i], .rank = rank, .connected = connected};
            continue;
        }
        if (failing > ROSTER_FAIL_MS) {
            roster_pause_key(mg, key, now + ROSTER_PAUSE_MS);
            if (rank < nc)
                c[rank].paused = true; /* not dialed again by this very tick */
        }
        drop[ndrop++] = g->rdps[i];
    }
    qsort(held, nheld, sizeof *held, held_cmp);
    size_t core = 0, core_up = 0;
    while (core < nheld && core < want && held[core].rank < band)
        core_up += held[core++].connected;
    /* spares, best first, as many as the core lacks connections */
    size_t keep = core + (want > core_up ? want - core_up : 0);
    g->nrdps = 0;
    for (size_t i = 0; i < nheld; i++) {
        if (i < keep)
            g->rdps[g->nrdps++] = held[i].dp;
        else
            drop[ndrop++] = held[i].dp;
    }
    for (size_t i = 0; i < ndrop; i++)
        rk_peer_dial_halt_locked(drop[i]);
    nng_mtx_unlock(g->mu);
    for (size_t i = 0; i < ndrop; i++)
        rk_peer_dial_stop(drop[i]);
    /* the core's missing places from the band; then, if that left too few, from anywhere */
    roster_fill(g, mg, m, c, nc, band, g->nrdps + (want - core), now);
    if (g->nrdps < want)
        roster_fill(g, mg, m, c, nc, nc, want, now);
    free(c);
}

static void roster_tick(struct rk_gossip *g, roster_mgr *mg)
{
    const rk_membership *m = roster_acquire(g);
    if (!m)
        return;
    nng_mtx_lock(g->mu);
    bool changed = !mg->seen_valid || memcmp(mg->seen, m->digest, RK_HASH_LEN) != 0 || g->roster_dirty;
    g->roster_dirty = false;
    if (changed) {
        rk_peer_listen_members_locked(g->listen, roster_member_cb, (void *)m);
        for (size_t i = 0; i < g->ndps; i++)
            rk_peer_dial_roster_changed_locked(g->dps[i]);
        for (size_t i = 0; i < g->nrdps; i++)
            rk_peer_dial_roster_changed_locked(g->rdps[i]);
    }
    nng_mtx_unlock(g->mu);
    if (changed) {
        memcpy(mg->seen, m->digest, RK_HASH_LEN);
        mg->seen_valid = true;
    }
    if (g->node->cfg->roster_peers)
        roster_peers(g, mg, m, changed);
    roster_release(g, m);
}

static void roster_thread(void *arg)
{
    struct rk_gossip *g = arg;
    roster_mgr mg = {0};
    for (;;) {
        nng_mtx_lock(g->mu);
        bool stop = g->stopping;
        nng_mtx_unlock(g->mu);
        if (stop)
            break;
        roster_tick(g, &mg);
        nng_mtx_lock(g->mu);
        if (!g->stopping && !g->roster_dirty)
            nng_cv_until(g->roster_cv, nng_clock() + ROSTER_TICK_MS);
        nng_mtx_unlock(g->mu);
    }
    free(mg.pauses);
}

int rk_gossip_roster_start(struct rk_gossip *g, rk_error *err)
{
    rk_metrics_describe(g->metrics, "renkei_roster_bad_urls_total", "counter",
                        "Listen URLs from membership records skipped because they fail the URL check.");
    rk_metrics_describe(g->metrics, "renkei_roster_exchanges_total", "counter",
                        "Roster exchanges after a handshake that showed different roster digests, by result and peer.");
    unsigned want = g->node->cfg->roster_peers;
    /* the core and as many spares while it connects (roster_peers) */
    if (!(g->rdps = calloc(want ? 2 * want : 1, sizeof *g->rdps)))
        return rk_fail(err, "no_memory", NULL, "out of memory");
    int rv;
    if ((rv = nng_cv_alloc(&g->roster_cv, g->mu)) != 0 ||
        (rv = nng_thread_create(&g->roster_thr, roster_thread, g)) != 0)
        return rk_fail(err, "gossip", NULL, "cannot start the roster thread: %s", nng_strerror(rv));
    return 0;
}

void rk_gossip_roster_stop(struct rk_gossip *g)
{
    /* g->stopping is set: the thread ends at its next look, and starts no dialer after it */
    if (g->roster_thr) {
        nng_mtx_lock(g->mu);
        nng_cv_wake(g->roster_cv);
        nng_mtx_unlock(g->mu);
        nng_thread_destroy(g->roster_thr);
        g->roster_thr = NULL;
    }
    nng_mtx_lock(g->mu);
    for (size_t i = 0; i < g->nrdps; i++)
        rk_peer_dial_halt_locked(g->rdps[i]);
    nng_mtx_unlock(g->mu);
    for (size_t i = 0; i < g->nrdps; i++)
        rk_peer_dial_stop(g->rdps[i]);
    free(g->rdps);
    g->rdps = NULL;
    g->nrdps = 0;
    if (g->roster_cv)
        nng_cv_free(g->roster_cv);
    g->roster_cv = NULL;
}
