/* membership: the roster function of docs/membership.md.
 *
 * The records are first reduced to a canonical set (one current version per author and rid, no
 * duplicates) and sorted by (version, hash); a pass then applies them in that order, so arrival
 * order never matters. A record whose author is not a member yet at its place in the order is set
 * aside and applied at the moment its author is admitted (a new member's endorsements made while its
 * own admission was still being gathered must not be lost to clock differences).
 *
 * A revocation may reach back (`since` before its own version) and so invalidate records that an
 * earlier part of the pass already applied. The pass is then repeated with every key's final cutoff
 * assumed from the start, until two passes apply the same records. Mutual revocations can make
 * that alternate (a key whose admission depended on the revoked key's endorsement revokes it); after
 * MAX_PASSES the tightest cutoff any pass assumed is kept and the key stays revoked: in doubt,
 * revocation wins, as in Tailscale's fork rule.
 *
 * Keys are gathered up front into one sorted array, so every lookup is a binary search and no entry
 * moves while a pass holds indices into the array.
 */
#include "membership.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

#define MAX_PASSES 8
#define NONE SIZE_MAX

static const char *const status_names[] = {"unknown", "pending", "founding", "admitted", "rotated", "revoked"};

const char *rk_member_status_name(rk_member_status s)
{
    return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "unknown";
}

void rk_membership_rotation_message(const uint8_t old_key[RK_KEY_LEN], const uint8_t new_key[RK_KEY_LEN],
                                    uint8_t out[2 * RK_KEY_LEN])
{
    memcpy(out, old_key, RK_KEY_LEN);
    memcpy(out + RK_KEY_LEN, new_key, RK_KEY_LEN);
}

/* ---------------------------------------------------------------- working state */

typedef struct item {
    const rk_record *rec;
    const Renkei__Record *m;
    size_t input;           /* index into the caller's array */
    size_t author, subject; /* indices into the key table */
    bool countersig_ok;     /* rotations only, checked once */
} item;

typedef struct revocation {
    size_t by;
    uint64_t since;
} revocation;

typedef struct sizes {
    size_t *v;
    size_t n, cap;
} sizes;

typedef struct state {
    rk_member_status status;
    bool was_member, founding;
    size_t charter; /* index into the charter, or NONE */
    size_t meta;    /* item of the latest endorsement that counted, or NONE */
    uint64_t since, cutoff, max_applied;
    size_t successor, predecessor;
    sizes endorsers; /* key indices */
    revocation *revokers;
    size_t revoker_count, revoker_cap;
    sizes deferred; /* items waiting for this key's admission, in order */
} state;

typedef struct ctx {
    const rk_charter *charter;
    uint8_t (*keys)[RK_KEY_LEN];
    size_t key_count;
    item *items; /* canonical set, (version, hash) order */
    size_t item_count;
    state *st;           /* one per key */
    uint64_t *assumed;   /* cutoffs assumed for this pass, per key */
    const char **reason; /* per item, this pass; NULL = applied */
    bool consistent;     /* no applied record lies beyond its author's final cutoff */
} ctx;

static int sizes_push(sizes *s, size_t v)
{
    size_t *nv = rk_grow(s->v, &s->cap, s->n + 1, sizeof *nv);
    if (!nv)
        return -1;
    s->v = nv;
    s->v[s->n++] = v;
    return 0;
}

static bool sizes_has(const sizes *s, size_t v)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == v)
            return true;
    return false;
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, RK_KEY_LEN);
}

static size_t key_index(const ctx *c, const uint8_t *key)
{
    const uint8_t(*k)[RK_KEY_LEN] = bsearch(key, c->keys, c->key_count, RK_KEY_LEN, key_cmp);
    return k ? (size_t)(k - c->keys) : NONE;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static void reset_state(ctx *c)
{
    for (size_t i = 0; i < c->key_count; i++) {
        state *s = &c->st[i];
        sizes e = s->endorsers, d = s->deferred;
        revocation *r = s->revokers;
        size_t rcap = s->revoker_cap;
        e.n = d.n = 0;
        memset(s, 0, sizeof *s);
        s->endorsers = e;
        s->deferred = d;
        s->revokers = r;
        s->revoker_cap = rcap;
        s->charter = s->meta = s->successor = s->predecessor = NONE;
        s->cutoff = UINT64_MAX;
    }
    for (size_t i = 0; i < c->charter->founding_count; i++) {
        state *s = &c->st[key_index(c, c->charter->founding[i].key)];
        s->status = RK_MEMBER_FOUNDING;
        s->was_member = s->founding = true;
        s->charter = i;
    }
}

/* ---------------------------------------------------------------- one pass */

static int apply(ctx *c, size_t it);

/* A key just became a member: what it signed while it was not one is applied now, in order. */
static int admit(ctx *c, size_t k, rk_member_status status, uint64_t since)
{
    state *s = &c->st[k];
    s->status = status;
    s->was_member = true;
    s->since = since;
    /* a member is never set aside again, so the list does not grow while it is applied */
    size_t n = s->deferred.n;
    for (size_t i = 0; i < n; i++)
        if (apply(c, s->deferred.v[i]) != 0)
            return -1;
    s->deferred.n = 0;
    return 0;
}

/* The t-th smallest `since` among the revokers: the moment from which t members agree the key was
 * no longer its owner's. */
static uint64_t threshold_since(const state *s, unsigned t)
{
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < s->revoker_count; i++) {
        size_t below = 0;
        for (size_t j = 0; j < s->revoker_count; j++)
            if (s->revokers[j].since < s->revokers[i].since || (s->revokers[j].since == s->revokers[i].since && j < i))
                below++;
        if (below + 1 == t)
            best = s->revokers[i].since;
    }
    return best;
}

static void set_cutoff(ctx *c, size_t k, uint64_t cutoff)
{
    state *s = &c->st[k];
    s->cutoff = min64(s->cutoff, cutoff);
    if (s->max_applied > s->cutoff)
        c->consistent = false;
}

static const char *apply_endorse(ctx *c, size_t it)
{
    const item *x = &c->items[it];
    state *s = &c->st[x->subject];
    if (x->subject == x->author)
        return "self_endorsement";
    if (s->status == RK_MEMBER_REVOKED)
        return "revoked_subject";
    if (s->status == RK_MEMBER_ROTATED)
        return "rotated_subject";
    if (!sizes_has(&s->endorsers, x->author) && sizes_push(&s->endorsers, x->author) != 0)
        return NULL; /* reported by the caller through the push failure flag */
    s->meta = it;
    if (s->status == RK_MEMBER_UNKNOWN) {
        s->status = RK_MEMBER_PENDING;
        s->since = x->m->version;
    }
    return "";
}

static const char *apply_rotate(ctx *c, size_t it)
{
    const item *x = &c->items[it];
    state *old = &c->st[x->author], *nw = &c->st[x->subject];
    if (!x->countersig_ok)
        return "bad_countersignature";
    if (nw->was_member || nw->status == RK_MEMBER_REVOKED || x->subject == x->author)
        return "key_in_use";
    old->status = RK_MEMBER_ROTATED;
    old->successor = x->subject;
    old->since = x->m->version;
    nw->predecessor = x->author;
    nw->founding = old->founding;
    nw->charter = old->charter;
    nw->meta = old->meta;
    for (size_t i = 0; i < old->endorsers.n; i++)
        if (!sizes_has(&nw->endorsers, old->endorsers.v[i]) && sizes_push(&nw->endorsers, old->endorsers.v[i]) != 0)
            return NULL;
    set_cutoff(c, x->author, x->m->version);
    return "";
}

static const char *apply_revoke(ctx *c, size_t it)
{
    const item *x = &c->items[it];
    state *s = &c->st[x->subject];
    const Renkei__Revoke *rv = x->m->revoke;
    uint64_t since = rv->since ? rv->since : x->m->version;
    if (x->subject == x->author) {
        if (s->status != RK_MEMBER_REVOKED)
            s->since = x->m->version;
        s->status = RK_MEMBER_REVOKED;
        set_cutoff(c, x->subject, since);
        return "";
    }
    bool present = false;
    for (size_t i = 0; i < s->revoker_count; i++)
        present |= s->revokers[i].by == x->author;
    if (!present) {
        revocation *nr = rk_grow(s->revokers, &s->revoker_cap, s->revoker_count + 1, sizeof *nr);
        if (!nr)
            return NULL;
        s->revokers = nr;
        s->revokers[s->revoker_count++] = (revocation){x->author, since};
    }
    if (s->revoker_count >= c->charter->threshold) {
        if (s->status != RK_MEMBER_REVOKED)
            s->since = x->m->version;
        s->status = RK_MEMBER_REVOKED;
        set_cutoff(c, x->subject, threshold_since(s, c->charter->threshold));
    }
    return "";
}

/* Whether the author may sign this record at this point of the pass: NULL yes, "" not yet (set the
 * record aside), otherwise the rejection. */
static const char *author_check(const ctx *c, const item *x)
{
    const state *a = &c->st[x->author];
    uint64_t v = x->m->version;
    if (x->m->kind == RENKEI__KIND__KIND_ROTATE && a->successor != NONE)
        return "equivocation";
    /* A key that is or was a member may always revoke itself, also with a `since` before the
     * revocation's own version (the owner bounding what a thief signed): the cutoff it sets must not
     * invalidate the record that sets it. Revoking can only take away what the key may sign. */
    if (x->m->kind == RENKEI__KIND__KIND_REVOKE && x->subject == x->author &&
        (a->was_member || a->status == RK_MEMBER_FOUNDING || a->status == RK_MEMBER_ADMITTED))
        return NULL;
    if (v > c->assumed[x->author])
        return a->status == RK_MEMBER_ROTATED ? "rotated_key" : "revoked_key";
    switch (a->status) {
    case RK_MEMBER_FOUNDING:
    case RK_MEMBER_ADMITTED: return NULL;
    case RK_MEMBER_ROTATED: return v <= a->cutoff ? NULL : "rotated_key";
    case RK_MEMBER_REVOKED:
        return a->was_member && v <= a->cutoff ? NULL : a->was_member ? "revoked_key" : "not_member";
    default: return "";
    }
}

/* Applies item `it` (or sets it aside). Returns -1 on allocation failure. */
static int apply(ctx *c, size_t it)
{
    item *x = &c->items[it];
    const char *why = author_check(c, x);
    if (why && !why[0]) {
        c->reason[it] = "not_member";
        return sizes_push(&c->st[x->author].deferred, it);
    }
    if (why) {
        c->reason[it] = why;
        return 0;
    }
    const char *r;
    switch (x->m->kind) {
    case RENKEI__KIND__KIND_ENDORSE: r = apply_endorse(c, it); break;
    case RENKEI__KIND__KIND_ROTATE: r = apply_rotate(c, it); break;
    default: r = apply_revoke(c, it); break;
    }
    if (!r)
        return -1;
    if (r[0]) {
        c->reason[it] = r;
        return 0;
    }
    c->reason[it] = NULL;
    state *a = &c->st[x->author];
    if (x->m->version > a->max_applied)
        a->max_applied = x->m->version;
    if (a->cutoff < a->max_applied)
        c->consistent = false;
    /* consequences that admit a key, and so release what it signed before */
    state *s = &c->st[x->subject];
    if (x->m->kind == RENKEI__KIND__KIND_ENDORSE && s->status == RK_MEMBER_PENDING &&
        s->endorsers.n >= c->charter->threshold)
        return admit(c, x->subject, RK_MEMBER_ADMITTED, x->m->version);
    if (x->m->kind == RENKEI__KIND__KIND_ROTATE)
        return admit(c, x->subject, s->founding ? RK_MEMBER_FOUNDING : RK_MEMBER_ADMITTED, x->m->version);
    return 0;
}

/* final: the last pass after alternation, where a cutoff assumed from an earlier pass revokes the key
 * even if no record of this pass does. */
static int run_pass(ctx *c, bool final)
{
    reset_state(c);
    c->consistent = true;
    for (size_t i = 0; i < c->item_count; i++)
        c->reason[i] = "not_member";
    for (size_t i = 0; i < c->item_count; i++)
        if (apply(c, i) != 0)
            return -1;
    for (size_t k = 0; final && k < c->key_count; k++) {
        state *s = &c->st[k];
        if (c->assumed[k] == UINT64_MAX || c->assumed[k] >= s->cutoff)
            continue;
        s->cutoff = c->assumed[k];
        if (s->was_member && s->status != RK_MEMBER_ROTATED)
            s->status = RK_MEMBER_REVOKED;
    }
    return 0;
}

/* ---------------------------------------------------------------- canonical input */

static int by_author_rid(const void *a, const void *b)
{
    const item *x = a, *y = b;
    int d = memcmp(x->m->author.data, y->m->author.data, RK_KEY_LEN);
    if (d)
        return d;
    d = strcmp(x->m->rid, y->m->rid);
    if (d)
        return d;
    if (x->m->version != y->m->version)
        return x->m->version > y->m->version ? -1 : 1; /* newest first */
    return -memcmp(x->rec->hash, y->rec->hash, RK_HASH_LEN);
}

static int by_version_hash(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->m->version != y->m->version)
        return x->m->version < y->m->version ? -1 : 1;
    return memcmp(x->rec->hash, y->rec->hash, RK_HASH_LEN);
}

static bool usable(const rk_record *r)
{
    const Renkei__Record *m = r ? r->msg : NULL;
    return m && rk_membership_rid_kind(m->kind) && m->author.len == RK_KEY_LEN && m->rid &&
           rk_membership_rid_subject(m) && (m->kind != RENKEI__KIND__KIND_REVOKE || m->revoke->since <= m->version);
}

/* ---------------------------------------------------------------- output */

static int copy_str(char **dst, const char *src)
{
    *dst = strdup(src ? src : "");
    return *dst ? 0 : -1;
}

static int fill_entry(const ctx *c, size_t k, rk_member_entry *e)
{
    const state *s = &c->st[k];
    memcpy(e->key, c->keys[k], RK_KEY_LEN);
    e->status = s->status;
    e->was_member = s->was_member;
    if (s->status == RK_MEMBER_ADMITTED && s->founding)
        e->status = RK_MEMBER_FOUNDING;
    e->since = s->since;
    e->cutoff = s->cutoff;
    if ((e->has_successor = s->successor != NONE))
        memcpy(e->successor, c->keys[s->successor], RK_KEY_LEN);
    if ((e->has_predecessor = s->predecessor != NONE))
        memcpy(e->predecessor, c->keys[s->predecessor], RK_KEY_LEN);
    const Renkei__Endorse *en = s->meta != NONE ? c->items[s->meta].m->endorse : NULL;
    const char *pref = NULL, *muni = en ? en->municipality : NULL;
    if (s->charter != NONE) {
        const rk_charter_member *f = &c->charter->founding[s->charter];
        if (copy_str(&e->name, f->name) != 0)
            return -1;
        e->local_description = true;
        e->node_kind = f->node_kind;
        pref = f->prefecture;
    } else {
        if (copy_str(&e->name, en ? en->name : NULL) != 0)
            return -1;
        e->node_kind = en ? (int)en->node_kind : 0;
        pref = en ? en->prefecture : NULL;
    }
    snprintf(e->prefecture, sizeof e->prefecture, "%s", pref ? pref : "");
    snprintf(e->municipality, sizeof e->municipality, "%s", muni ? muni : "");
    if (en && en->n_urls) {
        e->urls = calloc(en->n_urls, sizeof *e->urls);
        if (!e->urls)
            return -1;
        for (size_t i = 0; i < en->n_urls; i++, e->url_count++)
            if (copy_str(&e->urls[i], en->urls[i]) != 0)
                return -1;
    }
    if (s->endorsers.n) {
        e->endorsers = malloc(s->endorsers.n * RK_KEY_LEN);
        if (!e->endorsers)
            return -1;
        for (size_t i = 0; i < s->endorsers.n; i++)
            memcpy(e->endorsers[i], c->keys[s->endorsers.v[i]], RK_KEY_LEN);
        e->endorser_count = s->endorsers.n;
        qsort(e->endorsers, e->endorser_count, RK_KEY_LEN, key_cmp);
    }
    if (s->revoker_count) {
        e->revokers = malloc(s->revoker_count * RK_KEY_LEN);
        if (!e->revokers)
            return -1;
        for (size_t i = 0; i < s->revoker_count; i++)
            memcpy(e->revokers[i], c->keys[s->revokers[i].by], RK_KEY_LEN);
        e->revoker_count = s->revoker_count;
        qsort(e->revokers, e->revoker_count, RK_KEY_LEN, key_cmp);
    }
    return 0;
}

static int put_bytes(rk_buf *b, const void *p, size_t n)
{
    uint8_t len[8];
    rk_put_be64(len, n);
    return rk_buf_append(b, len, 8) || (n && rk_buf_append(b, p, n));
}

static int put_u64(rk_buf *b, uint64_t v)
{
    uint8_t x[8];
    rk_put_be64(x, v);
    return rk_buf_append(b, x, 8);
}

/* SHA-256 over a length-prefixed encoding of the threshold and every entry, in key order. A founding
 * member's charter description is left out: each node's configuration names the others its own way. */
static int digest(rk_membership *m)
{
    rk_buf b;
    rk_buf_init(&b);
    int rc = rk_buf_puts(&b, "renkei-roster-v1") || rk_buf_append(&b, "", 1) || put_u64(&b, m->threshold) ||
             put_u64(&b, m->count);
    for (size_t i = 0; i < m->count && !rc; i++) {
        const rk_member_entry *e = &m->entries[i];
        bool local = e->local_description;
        rc |= rk_buf_append(&b, e->key, RK_KEY_LEN) || put_u64(&b, (uint64_t)e->status) || put_u64(&b, e->was_member) ||
              put_u64(&b, e->since) || put_u64(&b, e->cutoff) ||
              put_bytes(&b, e->has_successor ? e->successor : NULL, e->has_successor ? RK_KEY_LEN : 0) ||
              put_bytes(&b, e->has_predecessor ? e->predecessor : NULL, e->has_predecessor ? RK_KEY_LEN : 0) ||
              put_bytes(&b, local ? "" : e->name, local ? 0 : strlen(e->name)) ||
              put_u64(&b, local ? 0 : (uint64_t)e->node_kind) ||
              put_bytes(&b, local ? "" : e->prefecture, local ? 0 : strlen(e->prefecture)) ||
              put_bytes(&b, e->municipality, strlen(e->municipality)) || put_u64(&b, e->url_count);
        for (size_t j = 0; j < e->url_count && !rc; j++)
            rc |= put_bytes(&b, e->urls[j], strlen(e->urls[j]));
        rc |= put_bytes(&b, e->endorsers, e->endorser_count * RK_KEY_LEN) ||
              put_bytes(&b, e->revokers, e->revoker_count * RK_KEY_LEN);
    }
    if (!rc)
        rk_sha256(b.data, b.len, m->digest);
    rk_buf_free(&b);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- entry point */

static void ctx_free(ctx *c)
{
    for (size_t i = 0; c->st && i < c->key_count; i++) {
        free(c->st[i].endorsers.v);
        free(c->st[i].deferred.v);
        free(c->st[i].revokers);
    }
    free(c->st);
    free(c->keys);
    free(c->items);
    free(c->assumed);
    free(c->reason);
}

static int gather(ctx *c, const rk_record *const *recs, size_t n, rk_membership_verdict *verdicts)
{
    c->items = calloc(n ? n : 1, sizeof *c->items);
    if (!c->items)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (verdicts)
            verdicts[i].reason = usable(recs[i]) ? NULL : "not_membership";
        if (usable(recs[i]))
            c->items[m++] = (item){.rec = recs[i], .m = recs[i]->msg, .input = i};
    }
    /* one current version per (author, rid), as the store keeps */
    qsort(c->items, m, sizeof *c->items, by_author_rid);
    size_t kept = 0;
    for (size_t i = 0; i < m; i++) {
        const item *prev = kept ? &c->items[kept - 1] : NULL, *x = &c->items[i];
        if (prev && memcmp(prev->m->author.data, x->m->author.data, RK_KEY_LEN) == 0 &&
            strcmp(prev->m->rid, x->m->rid) == 0) {
            if (verdicts)
                verdicts[x->input].reason =
                    memcmp(prev->rec->hash, x->rec->hash, RK_HASH_LEN) == 0 ? "duplicate" : "superseded";
            continue;
        }
        c->items[kept++] = *x;
    }
    c->item_count = kept;
    qsort(c->items, kept, sizeof *c->items, by_version_hash);

    size_t cap = c->charter->founding_count + 2 * kept;
    c->keys = malloc((cap ? cap : 1) * RK_KEY_LEN);
    if (!c->keys)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < c->charter->founding_count; i++)
        memcpy(c->keys[k++], c->charter->founding[i].key, RK_KEY_LEN);
    for (size_t i = 0; i < kept; i++) {
        memcpy(c->keys[k++], c->items[i].m->author.data, RK_KEY_LEN);
        memcpy(c->keys[k++], rk_membership_rid_subject(c->items[i].m), RK_KEY_LEN);
    }
    qsort(c->keys, k, RK_KEY_LEN, key_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || memcmp(c->keys[u - 1], c->keys[i], RK_KEY_LEN) != 0)
            memmove(c->keys[u++], c->keys[i], RK_KEY_LEN);
    c->key_count = u;
    c->st = calloc(u ? u : 1, sizeof *c->st);
    c->assumed = malloc((u ? u : 1) * sizeof *c->assumed);
    c->reason = calloc(kept ? kept : 1, sizeof *c->reason);
    if (!c->st || !c->assumed || !c->reason)
        return -1;
    for (size_t i = 0; i < u; i++)
        c->assumed[i] = UINT64_MAX;
    for (size_t i = 0; i < kept; i++) {
        item *x = &c->items[i];
        x->author = key_index(c, x->m->author.data);
        x->subject = key_index(c, rk_membership_rid_subject(x->m));
        if (x->m->kind == RENKEI__KIND__KIND_ROTATE && x->m->rotate->countersignature.len == RK_SIG_LEN) {
            uint8_t msg[2 * RK_KEY_LEN];
            rk_membership_rotation_message(x->m->author.data, x->m->rotate->new_key.data, msg);
            x->countersig_ok = rk_verify(x->m->rotate->new_key.data, RK_SIGN_DOMAIN_ROTATE, msg, sizeof msg,
                                         x->m->rotate->countersignature.data);
        }
    }
    return 0;
}

static bool same_reasons(const ctx *c, const bool *applied)
{
    for (size_t i = 0; i < c->item_count; i++)
        if ((c->reason[i] == NULL) != applied[i])
            return false;
    return true;
}

int rk_membership_compute(const rk_charter *charter, const rk_record *const *recs, size_t n, rk_membership *out,
                          rk_membership_verdict *verdicts, rk_error *err)
{
    memset(out, 0, sizeof *out);
    if (!charter || charter->threshold == 0)
        return rk_fail(err, "invalid_value", "threshold", "the membership threshold must be at least 1");
    ctx c = {.charter = charter};
    bool *applied = NULL;
    uint64_t *tightest = NULL;
    if (gather(&c, recs, n, verdicts) != 0)
        goto oom;
    applied = calloc(c.item_count ? c.item_count : 1, sizeof *applied);
    tightest = malloc((c.key_count ? c.key_count : 1) * sizeof *tightest);
    if (!applied || !tightest)
        goto oom;
    for (size_t k = 0; k < c.key_count; k++)
        tightest[k] = UINT64_MAX;
    unsigned passes = 0;
    for (;;) {
        if (run_pass(&c, false) != 0)
            goto oom;
        passes++;
        /* the first pass assumed no cutoffs, so it stands if no applied record lies beyond one; a later
         * pass stands when it applied exactly what the previous one did (then it derived the same
         * cutoffs it assumed) */
        bool settled = passes == 1 ? c.consistent : same_reasons(&c, applied);
        if (settled)
            break;
        if (passes >= MAX_PASSES) {
            /* alternating passes: keep every cutoff any pass assumed */
            for (size_t k = 0; k < c.key_count; k++)
                c.assumed[k] = tightest[k];
            if (run_pass(&c, true) != 0)
                goto oom;
            passes++;
            break;
        }
        for (size_t i = 0; i < c.item_count; i++)
            applied[i] = c.reason[i] == NULL;
        for (size_t k = 0; k < c.key_count; k++) {
            c.assumed[k] = c.st[k].cutoff;
            tightest[k] = min64(tightest[k], c.st[k].cutoff);
        }
    }

    out->threshold = charter->threshold;
    out->passes = passes;
    size_t shown = 0;
    for (size_t k = 0; k < c.key_count; k++)
        shown += c.st[k].status != RK_MEMBER_UNKNOWN;
    out->entries = calloc(shown ? shown : 1, sizeof *out->entries);
    if (!out->entries)
        goto oom;
    for (size_t k = 0; k < c.key_count; k++) {
        if (c.st[k].status == RK_MEMBER_UNKNOWN)
            continue;
        rk_member_entry *e = &out->entries[out->count++];
        if (fill_entry(&c, k, e) != 0)
            goto oom;
        out->member_count += e->status == RK_MEMBER_FOUNDING || e->status == RK_MEMBER_ADMITTED;
    }
    if (digest(out) != 0)
        goto oom;
    if (verdicts)
        for (size_t i = 0; i < c.item_count; i++)
            verdicts[c.items[i].input].reason = c.reason[i];
    free(applied);
    free(tightest);
    ctx_free(&c);
    return 0;
oom:
    free(applied);
    free(tightest);
    ctx_free(&c);
    rk_membership_free(out);
    return rk_fail(err, "no_memory", "", "out of memory while computing the roster");
}

void rk_membership_free(rk_membership *m)
{
    for (size_t i = 0; m->entries && i < m->count; i++) {
        rk_member_entry *e = &m->entries[i];
        free(e->name);
        for (size_t j = 0; j < e->url_count; j++)
            free(e->urls[j]);
        free(e->urls);
        free(e->endorsers);
        free(e->revokers);
    }
    free(m->entries);
    memset(m, 0, sizeof *m);
}

const rk_member_entry *rk_membership_find(const rk_membership *m, const uint8_t key[RK_KEY_LEN])
{
    return m->count ? bsearch(key, m->entries, m->count, sizeof *m->entries, key_cmp) : NULL;
}

bool rk_membership_key_valid(const rk_membership *m, const uint8_t key[RK_KEY_LEN], uint64_t version,
                             const char **reason)
{
    const rk_member_entry *e = rk_membership_find(m, key);
    const char *why = NULL;
    if (!e || e->status == RK_MEMBER_PENDING || e->status == RK_MEMBER_UNKNOWN)
        why = "not_member";
    else if (!e->was_member)
        why = "not_member"; /* revoked before it was ever admitted */
    else if (version > e->cutoff)
        why = e->status == RK_MEMBER_ROTATED ? "rotated_key" : "revoked_key";
    if (reason)
        *reason = why;
    return why == NULL;
}
