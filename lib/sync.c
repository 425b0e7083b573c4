/* sync: range-based set reconciliation, negentropy style (docs/reconciliation.md).
 *
 * Every message partitions the item space [00 x 40, FF x 40) into ascending ranges, so a reply can be
 * computed from the incoming message and the local set alone: no session state. Each incoming range
 * is answered by ranges covering exactly the same interval, which keeps the two sides' partitions
 * aligned. Messages we build stay within RK_SYNC_MAX_RANGES ranges and RK_SYNC_MAX_BYTES encoded
 * bytes: a differing range whose split or listing would leave too little room for the incoming
 * ranges still to answer is deferred (answered over its own bounds with our fingerprint, which the
 * other side takes up in its next answer), so the cap costs round trips, never correctness, and a
 * range the other side settled (SKIP) is never covered again. The first differing range of a message
 * is always split or listed, so every round makes progress. Only a message larger than ours (an
 * older node's) can make us collapse the rest of the space into one range (negentropy's frame limit).
 * Incoming messages are fully validated before anything is computed from them.
 * Answers depend only on the message and the set; how they are computed (from a pass over a small
 * range's items, or from the set's fingerprints and ranks) is a matter of cost, never of result.
 */
#include "sync.h"

#include <stdlib.h>
#include <string.h>

#include "fpagg.h"
#include "grow.h"
#include "syncbound.h"

_Static_assert(RK_SYNC_ITEMS_THRESHOLD >= RK_SYNC_BRANCH, "a split needs at least one item per sub-range");

/* Reading items in order costs tens of nanoseconds each, while a store positions a bound (a prefix
 * aggregate, or the item of a rank) in microseconds. So a range of at most SPLIT_SCAN_MAX of our
 * items is split from one pass over them instead of a descent per bound, and up to RUN_MAX
 * consecutive incoming FINGERPRINT ranges whose counts average at most RUN_SCAN_PER_RANGE items are
 * answered from one pass over our items in them instead of a walk per bound. The results are the
 * same either way; only the cost differs. */
#define SPLIT_SCAN_MAX 4096
#define RUN_MAX 64
#define RUN_SCAN_PER_RANGE 128

/* ---- bounds and items ------------------------------------------------------------------------ */

/* The shortest prefix of `next` that is still greater than `prev` once padded with zeros: every
 * item <= prev sorts below it and `next` does not. */
static size_t separator_len(const uint8_t prev[RK_ITEM_LEN], const uint8_t next[RK_ITEM_LEN])
{
    size_t i = 0;
    while (i < RK_ITEM_LEN && prev[i] == next[i])
        i++;
    return i < RK_ITEM_LEN ? i + 1 : RK_ITEM_LEN;
}

/* ---- the diff ---------------------------------------------------------------------------------- */

void rk_sync_diff_init(rk_sync_diff *d)
{
    memset(d, 0, sizeof *d);
}

void rk_sync_diff_free(rk_sync_diff *d)
{
    if (!d)
        return;
    free(d->need);
    free(d->have);
    memset(d, 0, sizeof *d);
}

static int grow_append(uint8_t **buf, size_t *n, size_t *cap, const uint8_t *rec, size_t rec_len)
{
    uint8_t *nb = rk_grow(*buf, cap, *n + 1, rec_len);
    if (!nb)
        return -1;
    *buf = nb;
    memcpy(*buf + *n * rec_len, rec, rec_len);
    (*n)++;
    return 0;
}

static int diff_need(rk_sync_diff *d, const uint8_t item[RK_ITEM_LEN])
{
    if (d->max_need && d->n_need >= d->max_need) {
        d->truncated = true;
        return 0;
    }
    return grow_append(&d->need, &d->n_need, &d->cap_need, item + 8, RK_HASH_LEN);
}

static int diff_have(rk_sync_diff *d, const uint8_t item[RK_ITEM_LEN])
{
    if (d->max_have && d->n_have >= d->max_have) {
        d->truncated = true;
        return 0;
    }
    return grow_append(&d->have, &d->n_have, &d->cap_have, item, RK_ITEM_LEN);
}

/* ---- messages ---------------------------------------------------------------------------------- */

/* One allocation per range: the upper bound and fingerprint live inside it; items are separate. */
typedef struct range_block {
    Renkei__SyncRange r;
    uint8_t upper[RK_ITEM_LEN];
    uint8_t fp[RK_FP_LEN];
} range_block;

typedef struct builder {
    Renkei__Reconcile *m;
    size_t cap;
    size_t bytes; /* exact encoded size of m so far */
} builder;

/* Encoded size of a SyncRange including its field tag and length in Reconcile. */
static size_t range_wire_len(size_t upper_len, int mode, uint64_t count, size_t items_len)
{
    size_t inner = 0;
    if (upper_len)
        inner += 1 + rk_varint_len(upper_len) + upper_len;
    inner += 2; /* mode, always non-zero */
    if (mode == RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT) {
        inner += 2 + RK_FP_LEN;
        if (count)
            inner += 1 + rk_varint_len(count);
    }
    if (items_len)
        inner += 1 + rk_varint_len(items_len) + items_len;
    return 1 + rk_varint_len(inner) + inner;
}

void rk_sync_free_message(Renkei__Reconcile *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_ranges; i++) {
        Renkei__SyncRange *r = m->ranges[i];
        if (!r)
            continue;
        free(r->items.data);
        free(r); /* r is the first member of its range_block */
    }
    free(m->ranges);
    free(m);
}

static int builder_init(builder *b, uint32_t set)
{
    b->m = malloc(sizeof *b->m);
    if (!b->m)
        return -1;
    renkei__reconcile__init(b->m);
    b->m->set = set;
    b->cap = 0;
    b->bytes = set ? 1 + rk_varint_len(set) : 0;
    return 0;
}

static int nomem(rk_error *err)
{
    return rk_fail(err, "no_memory", "", "out of memory in reconciliation");
}

/* Appends a range. `items` (n x 40 bytes) is taken over on success and on failure. A SKIP after a
 * SKIP widens the previous range instead, so agreeing stretches cost one range. */
static int add_range(builder *b, const uint8_t *upper, size_t upper_len, int mode, const uint8_t *fp, uint64_t count,
                     uint8_t *items, size_t n_items, rk_error *err)
{
    Renkei__Reconcile *m = b->m;
    if (mode == RENKEI__RANGE_MODE__RANGE_MODE_SKIP && m->n_ranges > 0 &&
        m->ranges[m->n_ranges - 1]->mode == RENKEI__RANGE_MODE__RANGE_MODE_SKIP) {
        range_block *last = (range_block *)m->ranges[m->n_ranges - 1];
        b->bytes -= range_wire_len(last->r.upper.len, mode, 0, 0);
        if (upper_len)
            memcpy(last->upper, upper, upper_len);
        last->r.upper.data = upper_len ? last->upper : NULL;
        last->r.upper.len = upper_len;
        b->bytes += range_wire_len(upper_len, mode, 0, 0);
        return 0;
    }
    Renkei__SyncRange **nr = rk_grow(m->ranges, &b->cap, m->n_ranges + 1, sizeof *nr);
    if (!nr) {
        free(items);
        return nomem(err);
    }
    m->ranges = nr;
    range_block *rb = malloc(sizeof *rb);
    if (!rb) {
        free(items);
        return nomem(err);
    }
    renkei__sync_range__init(&rb->r);
    if (upper_len)
        memcpy(rb->upper, upper, upper_len);
    rb->r.upper.data = upper_len ? rb->upper : NULL;
    rb->r.upper.len = upper_len;
    rb->r.mode = (Renkei__RangeMode)mode;
    if (mode == RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT) {
        memcpy(rb->fp, fp, RK_FP_LEN);
        rb->r.fingerprint.data = rb->fp;
        rb->r.fingerprint.len = RK_FP_LEN;
        rb->r.count = count;
    }
    if (mode == RENKEI__RANGE_MODE__RANGE_MODE_ITEMS && n_items) {
        rb->r.items.data = items;
        rb->r.items.len = n_items * RK_ITEM_LEN;
    } else {
        free(items);
    }
    m->ranges[m->n_ranges++] = &rb->r;
    b->bytes += range_wire_len(upper_len, mode, rb->r.count, rb->r.items.len);
    return 0;
}

/* ---- reading the local set --------------------------------------------------------------------- */

typedef struct collect {
    uint8_t *items;
    size_t n, cap;
    int oom;
} collect;

static int collect_cb(const uint8_t item[RK_ITEM_LEN], void *ctx)
{
    collect *c = ctx;
    if (grow_append(&c->items, &c->n, &c->cap, item, RK_ITEM_LEN) != 0) {
        c->oom = 1;
        return 1;
    }
    return 0;
}

static int own_items(const rk_set_source *src, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                     size_t limit, collect *c, rk_error *err)
{
    memset(c, 0, sizeof *c);
    if (src->items(src->ctx, lo, hi, limit, collect_cb, c, err) != 0) {
        free(c->items);
        c->items = NULL;
        return -1;
    }
    if (c->oom) {
        free(c->items);
        c->items = NULL;
        return nomem(err);
    }
    return 0;
}

/* ---- answering ranges -------------------------------------------------------------------------- */

/* Budget left for ranges when `reserve` bytes must stay free for what follows. */
static size_t room(const builder *b, size_t reserve)
{
    size_t used = b->bytes + reserve;
    return used < RK_SYNC_MAX_BYTES ? RK_SYNC_MAX_BYTES - used : 0;
}

/* The collapse range: fingerprint of everything from lo to +infinity. Its worst size. */
#define COLLAPSE_LEN (1 + 1 + 2 + 2 + RK_FP_LEN + 1 + 10)

static int add_fingerprint(const rk_set_source *src, builder *b, const uint8_t lo[RK_ITEM_LEN],
                           const uint8_t hi[RK_ITEM_LEN], const uint8_t *upper, size_t upper_len, rk_error *err)
{
    uint64_t count;
    uint8_t fp[RK_FP_LEN];
    if (src->fingerprint(src->ctx, lo, hi, &count, fp, err) != 0)
        return -1;
    return add_range(b, upper, upper_len, RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT, fp, count, NULL, 0, err);
}

static int add_collapse(const rk_set_source *src, builder *b, const uint8_t lo[RK_ITEM_LEN], rk_error *err)
{
    uint8_t hi[RK_ITEM_LEN];
    rk_sync_bound_inf(hi);
    return add_fingerprint(src, b, lo, hi, NULL, 0, err);
}

/* Lists our items in [lo, hi) as one ITEMS range, keeping `reserve` bytes free. If they do not all
 * fit, lists a prefix [lo, x) and sends our fingerprint of [x, hi) (of all of [lo, hi) when not even
 * one item fits): the range keeps its upper bound, and the other side takes the rest up in its answer. */
static int add_items(const rk_set_source *src, builder *b, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                     const uint8_t *upper, size_t upper_len, size_t reserve, rk_error *err)
{
    size_t fit = room(b, reserve + COLLAPSE_LEN + 64) / RK_ITEM_LEN;
    collect c;
    if (own_items(src, lo, hi, fit + 1, &c, err) != 0)
        return -1;
    if (c.n <= fit)
        return add_range(b, upper, upper_len, RENKEI__RANGE_MODE__RANGE_MODE_ITEMS, NULL, 0, c.items, c.n, err);
    if (fit == 0) {
        free(c.items);
        return add_fingerprint(src, b, lo, hi, upper, upper_len, err);
    }
    const uint8_t *next = c.items + fit * RK_ITEM_LEN;
    size_t sl = separator_len(next - RK_ITEM_LEN, next);
    uint8_t cut[RK_ITEM_LEN] = {0};
    memcpy(cut, next, sl);
    if (add_range(b, cut, sl, RENKEI__RANGE_MODE__RANGE_MODE_ITEMS, NULL, 0, c.items, fit, err) != 0)
        return -1;
    return add_fingerprint(src, b, cut, hi, upper, upper_len, err);
}

/* The rank of the first item of sub-range k (1 .. RK_SYNC_BRANCH-1) of a split of `count` items:
 * floor(count * k / RK_SYNC_BRANCH) without overflow. */
static uint64_t split_rank(uint64_t count, uint64_t k)
{
    return count / RK_SYNC_BRANCH * k + count % RK_SYNC_BRANCH * k / RK_SYNC_BRANCH;
}

/* A split computed from one pass over the range's items: the bounds between the sub-ranges and the
 * aggregate of each. */
typedef struct split_scan {
    uint64_t count, seen;
    uint64_t next; /* the rank that starts sub-range part + 1 (UINT64_MAX after the last) */
    unsigned part; /* the sub-range the next item falls into */
    uint8_t prev[RK_ITEM_LEN];
    uint8_t bound[RK_SYNC_BRANCH][RK_ITEM_LEN]; /* bound[p]: upper of sub-range p < part */
    size_t bound_len[RK_SYNC_BRANCH];
    rk_fpagg agg[RK_SYNC_BRANCH];
} split_scan;

static int split_scan_cb(const uint8_t item[RK_ITEM_LEN], void *ctx)
{
    split_scan *s = ctx;
    if (s->seen == s->next) {
        size_t sl = separator_len(s->prev, item);
        memset(s->bound[s->part], 0, RK_ITEM_LEN);
        memcpy(s->bound[s->part], item, sl);
        s->bound_len[s->part] = sl;
        s->part++;
        s->next = s->part + 1 < RK_SYNC_BRANCH ? split_rank(s->count, s->part + 1) : UINT64_MAX;
    }
    rk_fpagg a;
    rk_fpagg_of_hash(&a, item + 8);
    rk_fpagg_add(&s->agg[s->part], &a);
    memcpy(s->prev, item, RK_ITEM_LEN);
    s->seen++;
    return 0;
}

/* add_split for a range of at most SPLIT_SCAN_MAX items: the same bounds and fingerprints from its
 * items read in order, which costs less than a descent per bound while the range is small. */
static int add_split_scan(const rk_set_source *src, builder *b, const uint8_t lo[RK_ITEM_LEN],
                          const uint8_t hi[RK_ITEM_LEN], const uint8_t *upper, size_t upper_len, uint64_t count,
                          rk_error *err)
{
    split_scan s;
    memset(&s, 0, sizeof s);
    s.count = count;
    s.next = split_rank(count, 1);
    if (src->items(src->ctx, lo, hi, 0, split_scan_cb, &s, err) != 0)
        return -1;
    /* the set shrank under us (a source without a snapshot): the last sub-range takes the rest */
    for (unsigned p = 0; p <= s.part; p++) {
        uint8_t fp[RK_FP_LEN];
        rk_fpagg_fingerprint(&s.agg[p], fp);
        bool last = p == s.part;
        if (add_range(b, last ? upper : s.bound[p], last ? upper_len : s.bound_len[p],
                      RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT, fp, s.agg[p].count, NULL, 0, err) != 0)
            return -1;
    }
    return 0;
}

/* Splits [lo, hi) holding our `count` > RK_SYNC_BRANCH items into RK_SYNC_BRANCH fingerprinted
 * sub-ranges of (nearly) equal count. */
static int add_split(const rk_set_source *src, builder *b, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                     const uint8_t *upper, size_t upper_len, uint64_t count, rk_error *err)
{
    if (count <= SPLIT_SCAN_MAX)
        return add_split_scan(src, b, lo, hi, upper, upper_len, count, err);
    uint8_t cur[RK_ITEM_LEN];
    memcpy(cur, lo, RK_ITEM_LEN);
    for (uint64_t k = 1; k < RK_SYNC_BRANCH; k++) {
        uint64_t idx = split_rank(count, k);
        uint8_t prev[RK_ITEM_LEN], next[RK_ITEM_LEN];
        int found = src->nth(src->ctx, lo, idx - 1, prev, next, err);
        if (found < 0)
            return -1;
        if (found < 2 || memcmp(next, hi, RK_ITEM_LEN) >= 0)
            break; /* the set shrank under us; the last sub-range takes the rest */
        size_t sl = separator_len(prev, next);
        uint8_t bound[RK_ITEM_LEN] = {0};
        memcpy(bound, next, sl);
        if (add_fingerprint(src, b, cur, bound, bound, sl, err) != 0)
            return -1;
        memcpy(cur, bound, RK_ITEM_LEN);
    }
    return add_fingerprint(src, b, cur, hi, upper, upper_len, err);
}

/* Compares their items in [lo, hi) with ours (initiator only) and records the differences. */
typedef struct merge {
    const uint8_t *theirs;
    size_t n, j;
    rk_sync_diff *diff;
    int oom;
} merge;

static int merge_cb(const uint8_t item[RK_ITEM_LEN], void *ctx)
{
    merge *mg = ctx;
    while (mg->j < mg->n) {
        int c = memcmp(mg->theirs + mg->j * RK_ITEM_LEN, item, RK_ITEM_LEN);
        if (c > 0)
            break;
        if (c == 0) {
            mg->j++;
            return 0;
        }
        if (diff_need(mg->diff, mg->theirs + mg->j * RK_ITEM_LEN) != 0)
            goto oom;
        mg->j++;
    }
    if (diff_have(mg->diff, item) != 0)
        goto oom;
    return 0;
oom:
    mg->oom = 1;
    return 1;
}

static int record_diff(const rk_set_source *src, const uint8_t lo[RK_ITEM_LEN], const uint8_t hi[RK_ITEM_LEN],
                       const ProtobufCBinaryData *theirs, rk_sync_diff *diff, rk_error *err)
{
    merge mg = {theirs->data, theirs->len / RK_ITEM_LEN, 0, diff, 0};
    if (src->items(src->ctx, lo, hi, 0, merge_cb, &mg, err) != 0)
        return -1;
    if (mg.oom)
        return nomem(err);
    for (; mg.j < mg.n; mg.j++)
        if (diff_need(diff, mg.theirs + mg.j * RK_ITEM_LEN) != 0)
            return nomem(err);
    return 0;
}

/* ---- fingerprints of consecutive ranges from one pass ------------------------------------------- */

/* Our aggregates of up to RUN_MAX consecutive ranges of an incoming message, ranges [from, valid)
 * known from one pass over our items; ranges [valid, end) were tried and are left to the per-range
 * path. */
typedef struct run {
    size_t from, valid, end;
    uint8_t hi[RUN_MAX][RK_ITEM_LEN];
    rk_fpagg agg[RUN_MAX];
    size_t cur; /* while scanning: the range the next item falls into */
    uint64_t seen;
} run;

static int run_cb(const uint8_t item[RK_ITEM_LEN], void *ctx)
{
    run *r = ctx;
    size_t n = r->end - r->from;
    while (r->cur < n && memcmp(item, r->hi[r->cur], RK_ITEM_LEN) >= 0)
        r->cur++;
    if (r->cur == n)
        return 1;
    rk_fpagg a;
    rk_fpagg_of_hash(&a, item + 8);
    rk_fpagg_add(&r->agg[r->cur], &a);
    r->seen++;
    return 0;
}

/* Tries the FINGERPRINT ranges from index i of msg (i is one; lo is its lower bound) in one pass:
 * the run ends at the first range of another mode or after RUN_MAX. The pass is taken when the
 * sender's counts are small and stops after twice as many items as they announce, so a sender that
 * understates its counts costs a bounded pass per range it sends. */
static int run_scan(const rk_set_source *src, const Renkei__Reconcile *msg, size_t i, const uint8_t lo[RK_ITEM_LEN],
                    run *r, rk_error *err)
{
    uint64_t theirs = 0;
    size_t j = i;
    for (; j < msg->n_ranges && j - i < RUN_MAX && msg->ranges[j]->mode == RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT;
         j++) {
        theirs += msg->ranges[j]->count; /* each at most RK_SYNC_MAX_COUNT: no overflow */
        rk_sync_bound_from_wire(&msg->ranges[j]->upper, r->hi[j - i]);
    }
    r->from = r->valid = i;
    r->end = j;
    uint64_t budget = (uint64_t)(j - i) * RUN_SCAN_PER_RANGE;
    if (theirs > budget)
        return 0;
    memset(r->agg, 0, sizeof r->agg);
    r->cur = 0;
    r->seen = 0;
    uint64_t limit = 2 * budget;
    if (src->items(src->ctx, lo, r->hi[j - i - 1], (size_t)limit, run_cb, r, err) != 0)
        return -1;
    /* cut short by the limit: the range it was in may hold more than was read */
    r->valid = r->seen < limit ? j : i + r->cur;
    return 0;
}

/* ---- the protocol ------------------------------------------------------------------------------ */

/* Worst size of a split: RK_SYNC_BRANCH fingerprint ranges with 40-byte bounds. */
#define SPLIT_LEN ((size_t)RK_SYNC_BRANCH * (1 + 2 + (2 + RK_ITEM_LEN) + 2 + (2 + RK_FP_LEN) + (1 + 10)))
/* Splits and listings we choose to make keep our message this far under RK_SYNC_MAX_RANGES, so the
 * other side can always answer each of our ranges with one range and still split its first
 * differing one (RK_SYNC_BRANCH more) without running out of ranges. */
#define OUT_MAX_RANGES (RK_SYNC_MAX_RANGES - 2 * RK_SYNC_BRANCH - 2)

/* Splits we choose to make stop once the other side's answer to them would likely need this many
 * ranges: what it cannot answer in one message it defers, and every range deferred is fingerprinted
 * again by both sides in every round until it is taken up. Twice what one message holds, since not
 * every sub-range differs (bench_sync at 1,000,000: 13 round trips for the 1% case; the same
 * fingerprints about four times as often without the bound, a third more rounds with half of it). */
#define EXPECT_MAX (2 * OUT_MAX_RANGES)

/* Worst size of our fingerprint range over an incoming range whose upper bound is upper_len bytes:
 * what answering it costs at most when it is deferred (a SKIP costs less). */
static size_t echo_len(size_t upper_len)
{
    return range_wire_len(upper_len, RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT, RK_SYNC_MAX_COUNT, 0);
}

/* The incoming ranges after the one being answered, as what they may need in our message: one range
 * and echo_len bytes each. A split or a listing is made only while this stays free, so every range
 * behind it can still be answered over its own bounds: nothing the other side settled (sent as SKIP)
 * is ever covered by a range of ours again, and no range is collapsed into one the other side would
 * split from the top. */
typedef struct pending {
    size_t ranges, bytes;
    size_t expect; /* ranges the other side's answer to our splits so far will likely need */
    bool answered; /* a differing range of this message got split or listed: progress is made */
} pending;

static bool fits_with_pending(const builder *b, const pending *p, size_t max_ranges, size_t ranges, size_t bytes)
{
    return b->m->n_ranges + ranges + p->ranges + 2 <= max_ranges && room(b, bytes + p->bytes + COLLAPSE_LEN) > 0;
}

/* The answer when both sides must look closer at [lo, hi): list it when either side has few items,
 * split it otherwise. With p (answering a message), a range whose split or listing would crowd out
 * the pending ones is deferred instead: our own fingerprint of it (ours, fp), which differs from
 * theirs, so the other side takes it up in its answer. The first differing range of a message is
 * never deferred, so every round makes progress: everything before it was answered by one SKIP, so
 * its split or listing fits (if what is pending then no longer does, add_rest ends the message). */
static int answer_difference(const rk_set_source *src, builder *b, const uint8_t lo[RK_ITEM_LEN],
                             const uint8_t hi[RK_ITEM_LEN], const uint8_t *upper, size_t upper_len, uint64_t ours,
                             uint64_t theirs, const uint8_t fp[RK_FP_LEN], pending *p, rk_error *err)
{
    bool list = ours <= RK_SYNC_ITEMS_THRESHOLD || theirs <= RK_SYNC_ITEMS_THRESHOLD;
    size_t list_len = ours < RK_SYNC_MAX_BYTES / RK_ITEM_LEN ? 64 + (size_t)ours * RK_ITEM_LEN : RK_SYNC_MAX_BYTES;
    size_t ranges = list ? 2 : RK_SYNC_BRANCH;
    /* what the other side's answer to this split will likely need: a split of each sub-range too
     * large to list, or a listing and a SKIP */
    size_t expect = list                                              ? 0
                    : ours / RK_SYNC_BRANCH > RK_SYNC_ITEMS_THRESHOLD ? RK_SYNC_BRANCH * RK_SYNC_BRANCH
                                                                      : 2 * RK_SYNC_BRANCH;
    if (p && p->answered &&
        (!fits_with_pending(b, p, OUT_MAX_RANGES, ranges, list ? list_len : SPLIT_LEN) ||
         p->expect + expect > EXPECT_MAX))
        return add_range(b, upper, upper_len, RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT, fp, ours, NULL, 0, err);
    if (p)
        p->expect += expect;
    if (p)
        p->answered = true;
    if (list)
        return add_items(src, b, lo, hi, upper, upper_len, p ? p->bytes : 0, err);
    return add_split(src, b, lo, hi, upper, upper_len, ours, err);
}

/* Ends a message that cannot answer range i of msg (lower bound lo) and those after it one by one:
 * only when msg holds more ranges or bytes than ours ever do (an older node's). Each stretch of
 * ranges between the other side's SKIPs becomes one fingerprint of ours, and the SKIPs stay SKIPs,
 * when that fits; otherwise the rest of the space [lo, +inf) becomes one fingerprint (the collapse
 * of docs/reconciliation.md). */
static int add_rest(const rk_set_source *src, builder *b, const Renkei__Reconcile *msg, size_t i,
                    const uint8_t lo[RK_ITEM_LEN], rk_error *err)
{
    size_t ranges = 0, bytes = 0;
    for (size_t j = i; j < msg->n_ranges; j++) {
        bool skip = msg->ranges[j]->mode == RENKEI__RANGE_MODE__RANGE_MODE_SKIP;
        if (skip || j == i || msg->ranges[j - 1]->mode == RENKEI__RANGE_MODE__RANGE_MODE_SKIP) {
            ranges++;
            bytes += echo_len(RK_ITEM_LEN);
        }
    }
    if (b->m->n_ranges + ranges > RK_SYNC_MAX_RANGES || room(b, bytes + COLLAPSE_LEN) == 0)
        return add_collapse(src, b, lo, err);
    uint8_t from[RK_ITEM_LEN], hi[RK_ITEM_LEN];
    memcpy(from, lo, RK_ITEM_LEN);
    for (size_t j = i; j < msg->n_ranges; j++) {
        const Renkei__SyncRange *r = msg->ranges[j];
        rk_sync_bound_from_wire(&r->upper, hi);
        if (r->mode == RENKEI__RANGE_MODE__RANGE_MODE_SKIP) {
            if (add_range(b, r->upper.data, r->upper.len, RENKEI__RANGE_MODE__RANGE_MODE_SKIP, NULL, 0, NULL, 0, err) !=
                0)
                return -1;
            memcpy(from, hi, RK_ITEM_LEN);
        } else if (j + 1 == msg->n_ranges || msg->ranges[j + 1]->mode == RENKEI__RANGE_MODE__RANGE_MODE_SKIP) {
            if (add_fingerprint(src, b, from, hi, r->upper.data, r->upper.len, err) != 0)
                return -1;
        }
    }
    return 0;
}

int rk_sync_initiate(const rk_set_source *src, uint32_t set, Renkei__Reconcile **out, rk_error *err)
{
    *out = NULL;
    if (set != RK_SET_PUBLIC && set != RK_SET_MEMBERS)
        return rk_fail(err, "unknown_set", "set", "unknown set %u", (unsigned)set);
    builder b;
    if (builder_init(&b, set) != 0)
        return nomem(err);
    uint8_t hi[RK_ITEM_LEN];
    rk_sync_bound_inf(hi);
    uint64_t count;
    uint8_t fp[RK_FP_LEN];
    if (src->fingerprint(src->ctx, rk_sync_zero_bound, hi, &count, fp, err) != 0)
        goto fail;
    /* Unknown peer count: list a small set outright, else split it so the first reply can already
     * narrow down. */
    if (answer_difference(src, &b, rk_sync_zero_bound, hi, NULL, 0, count, UINT64_MAX, fp, NULL, err) < 0)
        goto fail;
    *out = b.m;
    return 0;
fail:
    rk_sync_free_message(b.m);
    return -1;
}

int rk_sync_process(const rk_set_source *src, bool initiator, const Renkei__Reconcile *msg, Renkei__Reconcile **reply,
                    rk_sync_diff *diff, rk_error *err)
{
    *reply = NULL;
    if (rk_sync_validate(msg, err) != 0)
        return -1;
    if (initiator && !diff)
        return rk_fail(err, "invalid_argument", "", "the initiator needs a diff");
    builder b;
    if (builder_init(&b, msg->set) != 0)
        return nomem(err);
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
    memcpy(lo, rk_sync_zero_bound, RK_ITEM_LEN);
    bool only_skips = true;
    run ahead; /* about 4.5 KB: kept on the stack, a message is answered in one call */
    ahead.from = ahead.valid = ahead.end = 0;
    pending p = {msg->n_ranges, 0, 0, false};
    for (size_t i = 0; i < msg->n_ranges; i++)
        p.bytes += echo_len(msg->ranges[i]->upper.len);
    for (size_t i = 0; i < msg->n_ranges; i++) {
        const Renkei__SyncRange *r = msg->ranges[i];
        const uint8_t *upper = r->upper.data;
        size_t upper_len = r->upper.len;
        rk_sync_bound_from_wire(&r->upper, hi);
        p.ranges--;
        p.bytes -= echo_len(upper_len);
        /* Only a message larger than ours can leave too little room to answer range by range. */
        if (!fits_with_pending(&b, &p, RK_SYNC_MAX_RANGES, 1, echo_len(upper_len))) {
            if (add_rest(src, &b, msg, i, lo, err) != 0)
                goto fail;
            only_skips = false;
            break;
        }
        int rc = 0;
        if (r->mode == RENKEI__RANGE_MODE__RANGE_MODE_SKIP) {
            rc = add_range(&b, upper, upper_len, RENKEI__RANGE_MODE__RANGE_MODE_SKIP, NULL, 0, NULL, 0, err);
        } else if (r->mode == RENKEI__RANGE_MODE__RANGE_MODE_FINGERPRINT) {
            uint64_t count;
            uint8_t fp[RK_FP_LEN];
            if (i >= ahead.end && run_scan(src, msg, i, lo, &ahead, err) != 0)
                goto fail;
            if (i < ahead.valid) {
                count = ahead.agg[i - ahead.from].count;
                rk_fpagg_fingerprint(&ahead.agg[i - ahead.from], fp);
            } else if (src->fingerprint(src->ctx, lo, hi, &count, fp, err) != 0) {
                goto fail;
            }
            if (count == r->count && memcmp(fp, r->fingerprint.data, RK_FP_LEN) == 0) {
                rc = add_range(&b, upper, upper_len, RENKEI__RANGE_MODE__RANGE_MODE_SKIP, NULL, 0, NULL, 0, err);
            } else {
                rc = answer_difference(src, &b, lo, hi, upper, upper_len, count, r->count, fp, &p, err);
                only_skips = false;
            }
        } else if (initiator) {
            /* ITEMS to the initiator: it now knows both sides of this range and closes it. */
            if (record_diff(src, lo, hi, &r->items, diff, err) != 0)
                goto fail;
            rc = add_range(&b, upper, upper_len, RENKEI__RANGE_MODE__RANGE_MODE_SKIP, NULL, 0, NULL, 0, err);
        } else {
            /* ITEMS to the responder: it answers with its own so the initiator learns both sides (what
             * does not fit as our fingerprint, which the initiator answers by listing again). */
            rc = add_items(src, &b, lo, hi, upper, upper_len, p.bytes, err);
            p.answered = true;
            only_skips = false;
        }
        if (rc < 0)
            goto fail;
        memcpy(lo, hi, RK_ITEM_LEN);
    }
    if (initiator && only_skips) {
        rk_sync_free_message(b.m);
        return 0;
    }
    *reply = b.m;
    return 0;
fail:
    rk_sync_free_message(b.m);
    return -1;
}
