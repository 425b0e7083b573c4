/* postings: the compact posting lists of "tokens" and of the filters in "indexes" (layout and
 * invariants in postings.h). Over 800 lines as one piece because every part (encoding, walks, probes,
 * appends, merges, removals) reads and writes the same blocks through the same seek and decode
 * helpers, and the invariants of postings.h hold only while no other file touches a block.
 *
 * Why sequence numbers in blocks: a posting used to be one 24-byte duplicate (a sort-key prefix) and
 * the lists took 1.1 KB per benchmark record, 3.4 KB per API record; a delta-coded sequence number
 * takes one or two bytes, and a batch rewrites one tail block per token instead of adding a value per
 * posting. Why ordered by version rather than by sequence number: queries walk newest version first
 * and resume from a sort-key cursor, so a list kept in that order is walked a block at a time and a
 * cursor finds its block with one seek, where a list in arrival order would have to be read whole and
 * sorted by a query. The versions are not stored but read from `changes` when a walk returns a posting
 * (it needed the kind, visibility and hash from the 'a' list before, one lookup either way), and when
 * postings go in the middle of a list (records that arrive older than the token's newest). Records
 * arrive mostly in version order, so the batch appends; but a publishing node writes a batch while the
 * records sealed just before its newest are still on their way to the writer, so about one posting in
 * eight of a batch is older than its list's newest. Those are merged a block at a time, each block
 * read and rewritten once and the change entries of its newest entries read once for all of them:
 * inserted one by one (a binary search, a rewrite and often a split each) they cost up to a fifth
 * of the writer's CPU per published record, and twenty times the block writes. A repair's records
 * are older than most of each list they join, so every posting lands in a block in the middle; the
 * sort keys read to place them are shared by the lists of one batch (rk_postings_sks), since those
 * lists hold mostly the same records around each place, and the last block's total is rewritten once
 * per run instead of once per merged block. Even so, a repair's record cost six times an appended
 * one's writer CPU in a list of a million (a block rewrite per posting), so the postings that belong
 * before a list's last block wait in a side list of the same layout, small enough that one rewrite
 * takes many of them, and are merged in bulk once it is an eighth of the list (late postings,
 * postings.h); walks, counts, probes and removals read both lists.
 * The filter lists took 913 bytes per benchmark record as one 45- to 75-byte key per posting in
 * half-full pages; the same blocks, with the visibility in two bits of each entry, take a few.
 */
#include "postings.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#define KP_LEN 16
#define KEY_MAX (RK_POSTINGS_PREFIX_MAX + 1 + KP_LEN)
#define VALUE_MAX (RK_VARINT_MAX * (3 + RK_POSTINGS_ENTRIES_MAX))
#define ATTR_BITS 2

/* The change entry (lib/store.c, docs/storage.md): author (32) || be64(version) || hash (32) || kind
 * || visibility || rid. */
#define CHANGE_VERSION RK_KEY_LEN
#define CHANGE_HASH (CHANGE_VERSION + 8)
#define CHANGE_KIND (CHANGE_HASH + RK_HASH_LEN)
#define CHANGE_VISIBILITY (CHANGE_KIND + 1)

typedef struct block {
    uint8_t key[KEY_MAX];
    size_t klen;
    bool attrs; /* the list's entries carry attributes */
    uint64_t total, span;
    size_t n;
    uint64_t seq[RK_POSTINGS_ENTRIES_MAX];
    uint8_t attr[RK_POSTINGS_ENTRIES_MAX];
} block;

static const uint8_t kp_top[KP_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- encoding ------------------------------------------------------------------------------------ */

/* A step between sequence numbers, which may go down (records that arrived out of version order),
 * zigzag coded so that small steps either way take one byte. */
static uint64_t step_code(uint64_t from, uint64_t to)
{
    uint64_t d = to - from;
    return (d << 1) ^ (0 - (d >> 63));
}

static uint64_t step_apply(uint64_t from, uint64_t code)
{
    return from + ((code >> 1) ^ (0 - (code & 1)));
}

/* The code of entry seq (after prev, or first when i is 0) with its attribute when the list has them. */
static uint64_t entry_code(bool attrs, size_t i, uint64_t prev, uint64_t seq, uint8_t attr)
{
    uint64_t code = i ? step_code(prev, seq) : seq;
    return attrs ? code << ATTR_BITS | (attr & RK_POSTINGS_ATTR_MAX) : code;
}

static size_t entry_bytes(const block *b, size_t i, uint64_t seq, uint8_t attr)
{
    return rk_varint_len(entry_code(b->attrs, i, i ? b->seq[i - 1] : 0, seq, attr));
}

static size_t entries_bytes(const block *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += entry_bytes(b, i, b->seq[i], b->attr[i]);
    return n;
}

static size_t block_encode(const block *b, uint8_t *out)
{
    size_t n = rk_varint_put(out, b->total);
    n += rk_varint_put(out + n, b->span);
    for (size_t i = 0; i < b->n; i++)
        n += rk_varint_put(out + n, entry_code(b->attrs, i, i ? b->seq[i - 1] : 0, b->seq[i], b->attr[i]));
    return n;
}

/* The header and entries of a block's value; -1 if it is malformed or empty. */
static int value_decode(const MDB_val *v, bool attrs, uint64_t *total, uint64_t *span, uint64_t *seq, uint8_t *attr,
                        size_t *n)
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    *n = 0;
    if (!rk_varint_get(&p, end, total) || !rk_varint_get(&p, end, span))
        return -1;
    while (p < end) {
        uint64_t x;
        if (*n == RK_POSTINGS_ENTRIES_MAX || !rk_varint_get(&p, end, &x))
            return -1;
        attr[*n] = attrs ? (uint8_t)(x & RK_POSTINGS_ATTR_MAX) : 0;
        if (attrs)
            x >>= ATTR_BITS;
        seq[*n] = *n ? step_apply(seq[*n - 1], x) : x;
        ++*n;
    }
    return *n ? 0 : -1;
}

static int corrupt(rk_error *err)
{
    return rk_fail(err, "store_corrupt", "", "a posting block is malformed");
}

static int block_decode(const rk_postings_list *l, const MDB_val *k, const MDB_val *v, block *b, rk_error *err)
{
    b->attrs = l->attrs;
    if (k->mv_size > KEY_MAX || value_decode(v, l->attrs, &b->total, &b->span, b->seq, b->attr, &b->n) != 0)
        return corrupt(err);
    memcpy(b->key, k->mv_data, k->mv_size);
    b->klen = k->mv_size;
    return 0;
}

/* ---- keys ---------------------------------------------------------------------------------------- */

bool rk_postings_token_list(rk_postings_list *l, const uint8_t *tok, size_t len)
{
    if (len == 0 || len > RK_POSTINGS_TOKEN_MAX)
        return false;
    l->prefix[0] = (uint8_t)len;
    memcpy(l->prefix + 1, tok, len);
    l->plen = 1 + len;
    l->attrs = false;
    l->side = true;
    l->block_bytes = RK_POSTINGS_BLOCK_BYTES;
    return true;
}

bool rk_postings_filter_list(rk_postings_list *l, const uint8_t *prefix, size_t len)
{
    if (len == 0 || len > RK_POSTINGS_PREFIX_MAX)
        return false;
    memcpy(l->prefix, prefix, len);
    l->plen = len;
    l->attrs = true;
    l->side = true;
    l->block_bytes = RK_POSTINGS_FILTER_BLOCK_BYTES;
    return true;
}

/* The side list of l (postings.h): the same layout under RK_POSTINGS_SIDE_TAG || l's prefix. */
static void side_of(const rk_postings_list *l, rk_postings_list *s)
{
    *s = *l;
    s->prefix[0] = RK_POSTINGS_SIDE_TAG;
    memcpy(s->prefix + 1, l->prefix, l->plen);
    s->plen = l->plen + 1;
    s->side = false;
}

/* A block of l: its prefix and a kp. The lists that share a database never confuse their blocks:
 * tokens start with their length, and a filter's prefix fixes the length of its value. */
static bool is_block_of(const MDB_val *k, const rk_postings_list *l)
{
    return k->mv_size == l->plen + KP_LEN && memcmp(k->mv_data, l->prefix, l->plen) == 0;
}

/* The first KP_LEN bytes of a posting's pk: the complement of its sort key's. */
static void kp_of(const uint8_t sk[RK_SORT_KEY_LEN], uint8_t kp[KP_LEN])
{
    for (size_t i = 0; i < KP_LEN; i++)
        kp[i] = (uint8_t)~sk[i];
}

static uint64_t sk_version(const uint8_t sk[RK_SORT_KEY_LEN])
{
    return ~rk_get_be64(sk);
}

static uint64_t key_version(const block *b)
{
    return rk_get_be64(b->key + b->klen - KP_LEN);
}

static void set_key(block *b, const uint8_t *prefix, size_t plen, const uint8_t kp[KP_LEN])
{
    memcpy(b->key, prefix, plen);
    memcpy(b->key + plen, kp, KP_LEN);
    b->klen = plen + KP_LEN;
}

/* Positions c on the list's last block whose key is at most prefix || kp: 1 with k and v set, 0 when
 * every block's key is above it (or there is none), -1 on error. */
static int seek(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, const uint8_t kp[KP_LEN], MDB_val *k, MDB_val *v,
                rk_error *err)
{
    uint8_t key[KEY_MAX];
    memcpy(key, l->prefix, l->plen);
    memcpy(key + l->plen, kp, KP_LEN);
    k->mv_size = l->plen + KP_LEN;
    k->mv_data = key;
    int rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    bool exact = rc == 0 && k->mv_size == l->plen + KP_LEN && memcmp(k->mv_data, key, l->plen + KP_LEN) == 0;
    if (!exact && rc == 0)
        rc = mdb_cursor_get(c, k, v, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, k, v, MDB_LAST);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rk_txn_fail(t, rc, "reading a posting list", err);
    return is_block_of(k, l) ? 1 : 0;
}

static int seek_block(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, const uint8_t kp[KP_LEN], block *b,
                      rk_error *err)
{
    MDB_val k, v;
    int found = seek(t, c, l, kp, &k, &v, err);
    return found == 1 ? (block_decode(l, &k, &v, b, err) == 0 ? 1 : -1) : found;
}

/* The list's first block: 1, 0 if the list is empty, -1 on error. */
static int seek_first(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, block *b, rk_error *err)
{
    MDB_val k = {.mv_size = l->plen, .mv_data = (void *)l->prefix}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND || (rc == 0 && !is_block_of(&k, l)))
        return 0;
    if (rc != 0)
        return rk_txn_fail(t, rc, "reading a posting list", err);
    return block_decode(l, &k, &v, b, err) == 0 ? 1 : -1;
}

/* Whether the block c is on is the list's last: 1 yes, 0 no, -1 error. Moves c to the next block; k
 * (when not NULL) is then its key. */
static int is_tail(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, MDB_val *next, rk_error *err)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    if (rc == MDB_NOTFOUND)
        return 1;
    if (rc != 0)
        return rk_txn_fail(t, rc, "reading a posting list", err);
    if (next)
        *next = k;
    return is_block_of(&k, l) ? 0 : 1;
}

/* Writes b, over the entry c is on when here (whose key must be b's: MDB_CURRENT trusts it), else
 * where its key belongs; *writes (when not NULL) counts the blocks written, for rk_postings_cost. */
static int block_write_at(rk_txn *t, MDB_cursor *c, const block *b, bool here, size_t *writes, rk_error *err)
{
    if (writes)
        ++*writes;
    uint8_t buf[VALUE_MAX];
    MDB_val k = {.mv_size = b->klen, .mv_data = (void *)b->key};
    MDB_val v = {.mv_size = block_encode(b, buf), .mv_data = buf};
    int rc = mdb_cursor_put(c, &k, &v, here ? MDB_CURRENT : 0);
    return rc == 0 ? 0 : rk_txn_fail(t, rc, "writing a posting list", err);
}

static int block_write(rk_txn *t, MDB_cursor *c, const block *b, size_t *writes, rk_error *err)
{
    return block_write_at(t, c, b, false, writes, err);
}

static int block_delete(rk_txn *t, MDB_cursor *c, const block *b, rk_error *err)
{
    MDB_val k = {.mv_size = b->klen, .mv_data = (void *)b->key}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET);
    if (rc == 0)
        rc = mdb_cursor_del(c, 0);
    return rc == 0 ? 0 : rk_txn_fail(t, rc, "writing a posting list", err);
}

/* Adds delta to the total in the list's last block. */
static int tail_total_add(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, int64_t delta, size_t *writes,
                          rk_error *err)
{
    block tail;
    int found = seek_block(t, c, l, kp_top, &tail, err);
    if (found <= 0)
        return found < 0 ? -1 : corrupt(err);
    tail.total += (uint64_t)delta;
    return block_write(t, c, &tail, writes, err);
}

/* ---- reading ------------------------------------------------------------------------------------- */

int rk_postings_resolve(rk_txn *t, uint64_t seq, rk_posting *out, rk_error *err)
{
    uint8_t key[8];
    rk_put_be64(key, seq);
    MDB_val v;
    int found = rk_txn_get(t, RK_DB_CHANGES, key, sizeof key, &v, err);
    if (found != 1)
        return found;
    if (v.mv_size <= CHANGE_VISIBILITY)
        return rk_fail(err, "store_corrupt", "", "a change entry is malformed");
    const uint8_t *p = v.mv_data;
    out->seq = seq;
    rk_put_be64(out->sk, ~rk_get_be64(p + CHANGE_VERSION));
    memcpy(out->sk + 8, p + CHANGE_HASH, RK_HASH_LEN);
    out->kind = p[CHANGE_KIND];
    out->visibility = p[CHANGE_VISIBILITY];
    return 1;
}

/* The sort key of a listed sequence number, which must have its change entry. */
static int listed_sk(rk_txn *t, uint64_t seq, rk_posting *p, rk_error *err)
{
    int found = rk_postings_resolve(t, seq, p, err);
    if (found == 0)
        return rk_fail(err, "store_corrupt", "", "a posting names change %llu, which is missing",
                       (unsigned long long)seq);
    return found < 0 ? -1 : 0;
}

/* The number of entries of seq[0..n) that sort after sk (are older), which come first: a binary
 * search that reads the change entries it probes. -1 on error. */
static long count_older(rk_txn *t, const uint64_t *seq, size_t n, const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        rk_posting p;
        if (listed_sk(t, seq[mid], &p, err) != 0)
            return -1;
        if (memcmp(p.sk, sk, RK_SORT_KEY_LEN) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo;
}

/* The number of postings of one list, its side list apart. */
static int count_one(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, uint64_t *n, rk_error *err)
{
    MDB_val k, v;
    *n = 0;
    int found = seek(t, c, l, kp_top, &k, &v, err);
    if (found <= 0)
        return found;
    const uint8_t *p = v.mv_data;
    if (!rk_varint_get(&p, p + v.mv_size, n))
        return corrupt(err);
    return 0;
}

/* The number of postings in l's side list (none when l has no side list); s gets the side list. */
static int side_count(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, rk_postings_list *s, uint64_t *n,
                      rk_error *err)
{
    *n = 0;
    if (!l->side)
        return 0;
    side_of(l, s);
    return count_one(t, c, s, n, err);
}

int rk_postings_list_count(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, uint64_t *n, rk_error *err)
{
    rk_postings_list s;
    uint64_t late;
    if (count_one(t, c, l, n, err) != 0 || side_count(t, c, l, &s, &late, err) != 0)
        return -1;
    *n += late;
    return 0;
}

int rk_postings_count(rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len, uint64_t *n, rk_error *err)
{
    rk_postings_list l;
    *n = 0;
    return rk_postings_token_list(&l, tok, len) ? rk_postings_list_count(t, c, &l, n, err) : 0;
}

/* Starts r at the newest posting of its list, or at the first that sorts after `after`. */
static int run_start(rk_postings_run *r, rk_txn *t, MDB_cursor *c, const uint8_t *after, rk_error *err)
{
    r->in_block = false;
    r->n = r->i = 0;
    uint8_t kp[KP_LEN];
    if (after)
        kp_of(after, kp);
    MDB_val k, v;
    /* With a cursor, the blocks after the one that holds after's place list only newer records. */
    int found = seek(t, c, &r->l, after ? kp : kp_top, &k, &v, err);
    if (found <= 0)
        return found;
    uint64_t total, span;
    if (value_decode(&v, r->l.attrs, &total, &span, r->seq, r->attr, &r->n) != 0)
        return corrupt(err);
    memcpy(r->kp, (const uint8_t *)k.mv_data + r->l.plen, KP_LEN);
    r->in_block = true;
    r->i = r->n;
    if (after) {
        long older = count_older(t, r->seq, r->n, after, err);
        if (older < 0)
            return -1;
        r->i = (size_t)older;
    }
    return 0;
}

/* The next entry of r: 1, 0 at the end of its list, -1 on error. c is on r's block unless reseek,
 * when the other list of a merged walk may have moved it: the block is found again by its key. */
static int run_entry(rk_postings_run *r, rk_txn *t, MDB_cursor *c, bool reseek, uint64_t *seq, uint8_t *attr,
                     rk_error *err)
{
    while (r->i == 0) {
        if (!r->in_block)
            return 0;
        MDB_val k, v;
        if (reseek && seek(t, c, &r->l, r->kp, &k, &v, err) < 0)
            return -1;
        int rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
        if (rc == MDB_NOTFOUND || (rc == 0 && !is_block_of(&k, &r->l))) {
            r->in_block = false;
            return 0;
        }
        if (rc != 0)
            return rk_txn_fail(t, rc, "reading a posting list", err);
        uint64_t total, span;
        if (value_decode(&v, r->l.attrs, &total, &span, r->seq, r->attr, &r->n) != 0)
            return corrupt(err);
        memcpy(r->kp, (const uint8_t *)k.mv_data + r->l.plen, KP_LEN);
        r->i = r->n;
    }
    r->i--;
    *seq = r->seq[r->i];
    *attr = r->attr[r->i];
    return 1;
}

int rk_postings_list_walk_start(rk_postings_walk *w, rk_txn *t, MDB_cursor *c, const rk_postings_list *l,
                                const uint8_t *after, rk_error *err)
{
    w->t = t;
    w->c = c;
    w->merging = w->have_main = w->have_side = false;
    w->main.l = *l;
    w->side.in_block = false;
    w->side.n = w->side.i = 0;
    /* The side list first: an unmerged walk then steps back from the main list's block, where c is. */
    if (l->side) {
        side_of(l, &w->side.l);
        if (run_start(&w->side, t, c, after, err) != 0)
            return -1;
        w->merging = w->side.in_block;
    }
    return run_start(&w->main, t, c, after, err);
}

int rk_postings_walk_start(rk_postings_walk *w, rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len,
                           const uint8_t *after, rk_error *err)
{
    rk_postings_list l;
    if (!rk_postings_token_list(&l, tok, len)) {
        w->merging = false;
        w->main.in_block = false;
        w->main.n = w->main.i = 0;
        return 0;
    }
    return rk_postings_list_walk_start(w, t, c, &l, after, err);
}

/* Fills a list's head when it has none: 0, or -1 on error. */
static int head_fill(rk_postings_walk *w, rk_postings_run *r, bool *have, rk_posting *head, rk_error *err)
{
    if (*have)
        return 0;
    uint64_t seq;
    uint8_t attr;
    int got = run_entry(r, w->t, w->c, true, &seq, &attr, err);
    if (got <= 0)
        return got;
    if (listed_sk(w->t, seq, head, err) != 0)
        return -1;
    head->attr = attr;
    *have = true;
    return 0;
}

/* The next posting of a merged walk: the newer of the two lists' heads. */
static int merged_next(rk_postings_walk *w, rk_posting *out, rk_error *err)
{
    if (head_fill(w, &w->main, &w->have_main, &w->head_main, err) != 0 ||
        head_fill(w, &w->side, &w->have_side, &w->head_side, err) != 0)
        return -1;
    if (!w->have_main && !w->have_side)
        return 0;
    bool main_first = w->have_main && (!w->have_side || memcmp(w->head_main.sk, w->head_side.sk, RK_SORT_KEY_LEN) < 0);
    if (main_first) {
        *out = w->head_main;
        w->have_main = false;
    } else {
        *out = w->head_side;
        w->have_side = false;
    }
    return 1;
}

int rk_postings_walk_entry(rk_postings_walk *w, uint64_t *seq, uint8_t *attr, rk_error *err)
{
    if (!w->merging)
        return run_entry(&w->main, w->t, w->c, false, seq, attr, err);
    int r = merged_next(w, &w->last, err);
    if (r == 1) {
        *seq = w->last.seq;
        *attr = w->last.attr;
    }
    return r;
}

const rk_posting *rk_postings_walk_resolved(const rk_postings_walk *w)
{
    return w->merging ? &w->last : NULL;
}

int rk_postings_walk_next(rk_postings_walk *w, rk_posting *out, rk_error *err)
{
    if (w->merging)
        return merged_next(w, out, err);
    uint64_t seq;
    uint8_t attr;
    int r = run_entry(&w->main, w->t, w->c, false, &seq, &attr, err);
    if (r != 1)
        return r;
    if (listed_sk(w->t, seq, out, err) != 0)
        return -1;
    out->attr = attr;
    return 1;
}

static int seq_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) ascending. A block's numbers are in version order, which is arrival order but for
 * records published at once by several clients: nearly sorted, which an insertion sort handles in
 * about n steps, where qsort's comparisons cost more than the rest of a query's probe. A block far
 * from sorted (more than a few steps per entry) goes to qsort. */
static void seq_sort(uint64_t *v, size_t n)
{
    if (!rk_u64_insertion_sort(v, n, 8 * n))
        qsort(v, n, sizeof *v, seq_cmp);
}

/* Reads the block of l that holds kp's place into r, or, when kp is before the list's first block,
 * the empty range up to that block. 0, -1. */
static int range_load(rk_postings_range *r, rk_txn *t, MDB_cursor *c, const rk_postings_list *l,
                      const uint8_t kp[KP_LEN], rk_error *err)
{
    r->valid = false;
    MDB_val k, v;
    int found = seek(t, c, l, kp, &k, &v, err);
    if (found < 0)
        return -1;
    static_assert(sizeof r->lo == KP_LEN, "a probe keeps kp bounds");
    r->n = 0;
    if (found == 0) {
        memset(r->lo, 0, KP_LEN);
        uint8_t key[KEY_MAX];
        memcpy(key, l->prefix, l->plen);
        memcpy(key + l->plen, kp, KP_LEN);
        k.mv_size = l->plen + KP_LEN;
        k.mv_data = key;
        int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rk_txn_fail(t, rc, "reading a posting list", err);
        r->has_hi = rc == 0 && is_block_of(&k, l);
        if (r->has_hi)
            memcpy(r->hi, (const uint8_t *)k.mv_data + l->plen, KP_LEN);
        r->valid = true;
        return 0;
    }
    uint64_t total, span;
    uint8_t attr[RK_POSTINGS_ENTRIES_MAX];
    if (value_decode(&v, l->attrs, &total, &span, r->seq, attr, &r->n) != 0)
        return corrupt(err);
    memcpy(r->lo, (const uint8_t *)k.mv_data + l->plen, KP_LEN);
    MDB_val next = {0};
    int tail = is_tail(t, c, l, &next, err);
    if (tail < 0)
        return -1;
    r->has_hi = !tail;
    if (!tail)
        memcpy(r->hi, (const uint8_t *)next.mv_data + l->plen, KP_LEN);
    seq_sort(r->seq, r->n);
    r->valid = true;
    return 0;
}

/* Whether the range of l kept in r (loaded when kp is outside it) lists seq: 1, 0, -1. */
static int range_contains(rk_postings_range *r, rk_txn *t, MDB_cursor *c, const rk_postings_list *l,
                          const uint8_t kp[KP_LEN], uint64_t seq, rk_error *err)
{
    bool in = r->valid && memcmp(kp, r->lo, KP_LEN) >= 0 && (!r->has_hi || memcmp(kp, r->hi, KP_LEN) < 0);
    if (!in && range_load(r, t, c, l, kp, err) != 0)
        return -1;
    return bsearch(&seq, r->seq, r->n, sizeof *r->seq, seq_cmp) != NULL;
}

int rk_postings_contains(rk_postings_probe *p, rk_txn *t, MDB_cursor *c, const rk_postings_list *l, uint64_t seq,
                         const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err)
{
    if (!p->valid) {
        p->main.valid = p->side.valid = false;
        p->valid = true;
    }
    uint8_t kp[KP_LEN];
    kp_of(sk, kp);
    int in = range_contains(&p->main, t, c, l, kp, seq, err);
    if (in != 0 || !l->side)
        return in;
    rk_postings_list s;
    side_of(l, &s);
    return range_contains(&p->side, t, c, &s, kp, seq, err);
}

/* ---- writing ------------------------------------------------------------------------------------- */

/* Appends v[0..n), all newer than every posting of the list, to its last block (cur, or none when the
 * list is empty), starting a new block whenever one is full. on_cur: c is still on cur's entry, as the
 * read of cur left it, so cur is rewritten there (no second B-tree descent). */
static int append(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, block *cur, bool on_cur, const rk_posting_new *v,
                  size_t n, rk_postings_cost *cost, rk_error *err)
{
    block fresh;
    uint64_t total = cur ? cur->total : 0;
    if (!cur) {
        on_cur = false;
        cur = &fresh;
        cur->n = 0;
        cur->attrs = l->attrs;
    }
    size_t bytes = entries_bytes(cur);
    bool dirty = false;
    uint8_t prev_kp[KP_LEN];
    for (size_t i = 0; i < n; i++) {
        uint8_t kp[KP_LEN];
        kp_of(v[i].sk, kp);
        /* Two entries that share a kp stay in one block, or the second could not be found by it. */
        bool same_kp = i > 0 && memcmp(kp, prev_kp, KP_LEN) == 0;
        if (cur->n == 0 || (bytes >= l->block_bytes && !same_kp)) {
            if (dirty && block_write_at(t, c, cur, on_cur, &cost->block_writes, err) != 0)
                return -1;
            on_cur = false; /* a new block, or c moved by the write */
            set_key(cur, l->prefix, l->plen, kp);
            cur->n = 0;
            cur->span = 0;
            cur->total = 0;
            bytes = 0;
        }
        if (cur->n == RK_POSTINGS_ENTRIES_MAX)
            return rk_fail(err, "store_error", "", "too many postings share a 128-bit prefix");
        bytes += entry_bytes(cur, cur->n, v[i].seq, v[i].attr);
        cur->seq[cur->n] = v[i].seq;
        cur->attr[cur->n++] = v[i].attr;
        uint64_t ahead = sk_version(v[i].sk) - key_version(cur);
        if (ahead > cur->span)
            cur->span = ahead;
        dirty = true;
        memcpy(prev_kp, kp, KP_LEN);
    }
    cur->total = total + n;
    return block_write_at(t, c, cur, on_cur, &cost->block_writes, err);
}

/* The sort keys read for one batch (postings.h): sequence number -> sort key. */
typedef struct sks_entry {
    gint64 seq; /* the table's key points here */
    uint8_t sk[RK_SORT_KEY_LEN];
} sks_entry;

struct rk_postings_sks {
    GHashTable *map;
};

rk_postings_sks *rk_postings_sks_new(void)
{
    rk_postings_sks *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    s->map = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, free);
    return s;
}

void rk_postings_sks_free(rk_postings_sks *s)
{
    if (!s)
        return;
    g_hash_table_destroy(s->map);
    free(s);
}

int rk_postings_runs_open(rk_txn *t, rk_db db, size_t max_run, rk_postings_runs *w, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    w->run = malloc((max_run ? max_run : 1) * sizeof *w->run);
    if (!w->run)
        return rk_fail(err, "no_memory", "", "out of memory while indexing records");
    int rc = mdb_cursor_open(txn, rk_txn_dbi(t, db), &w->c);
    if (rc != 0) {
        free(w->run);
        return rk_txn_fail(t, rc, "opening a cursor", err);
    }
    w->sks = rk_postings_sks_new();
    return 0;
}

void rk_postings_runs_close(rk_txn *t, rk_postings_runs *w)
{
    rk_postings_sks_free(w->sks);
    rk_txn_cursor_close(t, w->c);
    free(w->run);
}

static bool sks_get(const rk_postings_sks *s, uint64_t seq, uint8_t sk[RK_SORT_KEY_LEN])
{
    if (!s)
        return false;
    gint64 key = (gint64)seq;
    const sks_entry *e = g_hash_table_lookup(s->map, &key);
    if (e)
        memcpy(sk, e->sk, RK_SORT_KEY_LEN);
    return e != NULL;
}

/* Keeps seq's sort key unless the table is full or memory is short: a key not kept is read again. */
static void sks_put(rk_postings_sks *s, uint64_t seq, const uint8_t sk[RK_SORT_KEY_LEN])
{
    if (!s || g_hash_table_size(s->map) >= RK_POSTINGS_SKS_MAX)
        return;
    sks_entry *e = malloc(sizeof *e);
    if (!e)
        return;
    e->seq = (gint64)seq;
    memcpy(e->sk, sk, RK_SORT_KEY_LEN);
    g_hash_table_insert(s->map, &e->seq, e);
}

/* The sort keys of a block's entries, read from `changes` once each and only when a merge needs
 * them: a batch's older postings mostly land among the newest entries of a list's last block, so the
 * binary searches of one run share most of their probes; the batch's other lists share them through
 * sks. */
typedef struct sk_memo {
    const uint64_t *seq;
    uint8_t (*sk)[RK_SORT_KEY_LEN];
    bool *have;
    rk_postings_sks *sks;
    size_t reads, writes;
} sk_memo;

static const uint8_t *memo_sk(rk_txn *t, sk_memo *m, size_t i, rk_error *err)
{
    if (!m->have[i]) {
        if (!sks_get(m->sks, m->seq[i], m->sk[i])) {
            rk_posting p;
            if (listed_sk(t, m->seq[i], &p, err) != 0)
                return NULL;
            memcpy(m->sk[i], p.sk, RK_SORT_KEY_LEN);
            sks_put(m->sks, m->seq[i], p.sk);
            m->reads++;
        }
        m->have[i] = true;
    }
    return m->sk[i];
}

/* One entry of a merged block: its sequence number and where its sort key is (an old entry's index
 * in the memo, or a new posting). */
typedef struct merged {
    uint64_t seq;
    uint8_t attr;
    size_t old;                /* SIZE_MAX for a new posting */
    const rk_posting_new *new; /* when old == SIZE_MAX */
} merged;

static const uint8_t *merged_sk(rk_txn *t, sk_memo *m, const merged *e, rk_error *err)
{
    return e->old == SIZE_MAX ? e->new->sk : memo_sk(t, m, e->old, err);
}

/* The bytes entry v[i] takes in a block that starts at v[from]. */
static size_t merged_entry_bytes(bool attrs, const merged *v, size_t from, size_t i)
{
    return rk_varint_len(entry_code(attrs, i - from, i > from ? v[i - 1].seq : 0, v[i].seq, v[i].attr));
}

/* The bytes the entries v[0..n) take in a block. */
static size_t merged_bytes(bool attrs, const merged *v, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += merged_entry_bytes(attrs, v, 0, i);
    return bytes;
}

/* Where a merged block may be cut before entry i: 1 when i's kp differs from i-1's (never between two
 * entries that share a kp, or the second could not be found by it), 0 not, -1 error. */
static int cut_allowed(rk_txn *t, sk_memo *m, const merged *v, size_t i, uint8_t kp[KP_LEN], rk_error *err)
{
    const uint8_t *lo = merged_sk(t, m, &v[i - 1], err), *hi = lo ? merged_sk(t, m, &v[i], err) : NULL;
    if (!hi)
        return -1;
    uint8_t lo_kp[KP_LEN];
    kp_of(lo, lo_kp);
    kp_of(hi, kp);
    return memcmp(lo_kp, kp, KP_LEN) != 0;
}

/* Writes the merged entries v[0..n) of block b (whose key, total and span describe the whole) as one
 * block, or as several when they have outgrown one: a list's last block is cut into full blocks from
 * the oldest entry, since later postings land after them; a block in the middle into equal parts, so
 * the next insertions there do not split it again at once. */
static int write_merged(rk_txn *t, MDB_cursor *c, sk_memo *m, block *b, const rk_postings_list *l, bool tail,
                        const merged *v, size_t n, rk_error *err)
{
    size_t bytes = merged_bytes(l->attrs, v, n);
    size_t target = l->block_bytes;
    if (!tail && bytes >= l->block_bytes)
        target = bytes / (bytes / l->block_bytes + 1) + 1;
    uint64_t newest = key_version(b) + b->span;
    size_t from = 0;
    while (from < n) {
        /* the piece is v[from..to): at least target bytes unless it is the last one */
        size_t to = from + 1, piece = merged_entry_bytes(l->attrs, v, from, from);
        uint8_t kp[KP_LEN];
        for (; to < n; to++) {
            if (piece >= target || to - from == RK_POSTINGS_ENTRIES_MAX) {
                int ok = cut_allowed(t, m, v, to, kp, err);
                if (ok < 0)
                    return -1;
                if (ok)
                    break;
                if (to - from == RK_POSTINGS_ENTRIES_MAX)
                    return rk_fail(err, "store_error", "", "too many postings share a 128-bit prefix");
            }
            piece += merged_entry_bytes(l->attrs, v, from, to);
        }
        if (from > 0) {
            /* the key of a later piece: its first entry's kp, above every entry before it */
            const uint8_t *sk = merged_sk(t, m, &v[from], err);
            if (!sk)
                return -1;
            kp_of(sk, kp);
            set_key(b, l->prefix, l->plen, kp);
        }
        b->n = to - from;
        for (size_t i = 0; i < b->n; i++) {
            b->seq[i] = v[from + i].seq;
            b->attr[i] = v[from + i].attr;
        }
        b->span = newest - key_version(b);
        if (block_write(t, c, b, &m->writes, err) != 0)
            return -1;
        from = to;
    }
    return 0;
}

/* The place of sk among the old entries [0, hi) of m: the first index whose entry does not sort before
 * it (is not older). With gallop, galloping back from hi, since a batch's older postings mostly belong
 * among a list's newest entries and are placed newest first: each costs about twice the logarithm of
 * its distance from the previous one's place in change reads, and neighbours share them. Without, a
 * plain binary search: a posting that lands in a block in the middle of its list (a record older than
 * most) is anywhere in it, and galloping from the end would read twice as many entries. -1 on error. */
static long place(rk_txn *t, sk_memo *m, const uint8_t sk[RK_SORT_KEY_LEN], size_t hi, bool gallop, rk_error *err)
{
    size_t lo = 0, step = 1;
    while (gallop && hi > lo) {
        size_t probe = hi >= step ? hi - step : 0;
        const uint8_t *e = memo_sk(t, m, probe, err);
        if (!e)
            return -1;
        if (memcmp(e, sk, RK_SORT_KEY_LEN) > 0) { /* older: the place is above probe */
            lo = probe + 1;
            break;
        }
        hi = probe;
        step *= 2;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const uint8_t *e = memo_sk(t, m, mid, err);
        if (!e)
            return -1;
        if (memcmp(e, sk, RK_SORT_KEY_LEN) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo;
}

/* Merges the postings x[0..g) (oldest first, none newer than the list's newest) into block b, which
 * holds the place of each of them, or into the list's first block when `first` (x[0] is older than
 * its key, which becomes x[0]'s). Postings already listed are skipped; *added gets how many were not.
 * The total of the list's last block is not rewritten for a block in the middle: *owed collects what
 * it lacks, and the merge into the last block (or insert_older at its end) adds it, so a batch spread
 * over a list rewrites the last block once, not once per block it merges. */
static int merge_into(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, block *b, bool first, bool tail,
                      const rk_posting_new *x, size_t g, rk_postings_sks *sks, uint64_t *owed, rk_postings_cost *cost,
                      rk_error *err)
{
    size_t added = 0;
    /* the memo keeps its own copy of the old entries: writing the pieces reuses b */
    uint64_t *seq = malloc(b->n * sizeof *seq);
    sk_memo m = {.seq = seq, .sks = sks};
    merged *v = malloc((b->n + g) * sizeof *v);
    size_t *pos = malloc(g * sizeof *pos);
    m.sk = malloc(b->n * sizeof *m.sk);
    m.have = calloc(b->n, sizeof *m.have);
    int rc = 0;
    if (!seq || !v || !pos || !m.sk || !m.have) {
        rc = rk_fail(err, "no_memory", "", "out of memory while indexing records");
        goto done;
    }
    memcpy(seq, b->seq, b->n * sizeof *seq);
    /* Places, newest posting first; SIZE_MAX marks one listed already. The newest gallops from the
     * end only in the last block, where a batch's late postings gather; the others from the place of
     * the one before. */
    for (size_t j = g, hi = b->n; j-- > 0;) {
        long at = place(t, &m, x[j].sk, hi, tail || j + 1 < g, err);
        if (at < 0) {
            rc = -1;
            goto done;
        }
        hi = (size_t)at;
        pos[j] = hi;
        if (hi < b->n && m.have[hi] && memcmp(m.sk[hi], x[j].sk, RK_SORT_KEY_LEN) == 0)
            pos[j] = SIZE_MAX;
    }
    uint64_t newest = key_version(b) + b->span;
    size_t n = 0, old = 0;
    for (size_t j = 0; j < g; j++) {
        if (pos[j] == SIZE_MAX || (n > 0 && v[n - 1].old == SIZE_MAX && v[n - 1].seq == x[j].seq))
            continue; /* listed already, or twice in the run */
        for (; old < pos[j]; old++)
            v[n++] = (merged){.seq = b->seq[old], .attr = b->attr[old], .old = old};
        v[n++] = (merged){.seq = x[j].seq, .attr = x[j].attr, .old = SIZE_MAX, .new = &x[j]};
        added++;
        if (sk_version(x[j].sk) > newest)
            newest = sk_version(x[j].sk);
    }
    for (; old < b->n; old++)
        v[n++] = (merged){.seq = b->seq[old], .attr = b->attr[old], .old = old};
    if (added == 0)
        goto done;
    if (first) {
        if (block_delete(t, c, b, err) != 0) {
            rc = -1;
            goto done;
        }
        uint8_t kp[KP_LEN];
        kp_of(v[0].new->sk, kp); /* the oldest entry is new: it is older than the old key */
        set_key(b, l->prefix, l->plen, kp);
    }
    b->span = newest - key_version(b);
    if (tail) {
        b->total += added + *owed;
        *owed = 0;
    } else {
        *owed += added;
    }
    rc = write_merged(t, c, &m, b, l, tail, v, n, err);
done:
    cost->change_reads += m.reads;
    cost->block_writes += m.writes;
    free(seq);
    free(v);
    free(pos);
    free(m.sk);
    free(m.have);
    return rc;
}

/* Puts the postings x[0..g) (oldest first), none newer than the list's newest, where they belong:
 * each block that holds the place of some of them is read, merged and rewritten once, and the last
 * block (tail, as read before) gets the total of those merged elsewhere at the end; no merge in the
 * middle of the list writes the last block, and a merge into it takes that total itself. */
static int insert_older(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, block *tail, const rk_posting_new *x,
                        size_t g, rk_postings_sks *sks, rk_postings_cost *cost, rk_error *err)
{
    size_t i = 0;
    uint64_t owed = 0; /* postings merged into blocks in the middle, not yet in the last block's total */
    while (i < g) {
        uint8_t kp[KP_LEN];
        kp_of(x[i].sk, kp);
        block b;
        bool first = false; /* x[i] is older than the list's first key */
        int found = seek_block(t, c, l, kp, &b, err);
        if (found == 0) {
            found = seek_first(t, c, l, &b, err);
            first = found == 1;
        }
        if (found < 0)
            return -1;
        if (found == 0) /* an empty list: nothing is newer than x */
            return append(t, c, l, NULL, false, x + i, g - i, cost, err);
        /* The run's postings up to the next block's key go into this block. */
        MDB_val k, v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rk_txn_fail(t, rc, "reading a posting list", err);
        bool is_last = rc == MDB_NOTFOUND || !is_block_of(&k, l);
        size_t j = i + 1;
        if (is_last) {
            j = g;
        } else {
            for (; j < g; j++) {
                uint8_t next[KP_LEN];
                kp_of(x[j].sk, next);
                if (memcmp(next, (const uint8_t *)k.mv_data + l->plen, KP_LEN) >= 0)
                    break;
            }
        }
        if (merge_into(t, c, l, &b, first, is_last, x + i, j - i, sks, &owed, cost, err) != 0)
            return -1;
        cost->merged_blocks++;
        i = j;
    }
    if (owed == 0)
        return 0;
    tail->total += owed;
    return block_write(t, c, tail, &cost->block_writes, err);
}

/* Whether the postings x (oldest first), of the version of tail's newest entry, all sort after its
 * last entry: 1, 0, -1. At more than 1,000 publishes a second many records share a version
 * (api_publish.c); one that sorts after the last entry is appended, with one read of that entry's
 * sort key, instead of merged into the block. */
static int after_last(rk_txn *t, const block *tail, const rk_posting_new *x, rk_postings_sks *sks,
                      rk_postings_cost *cost, rk_error *err)
{
    uint64_t seq = tail->seq[tail->n - 1];
    uint8_t sk[RK_SORT_KEY_LEN];
    if (!sks_get(sks, seq, sk)) {
        rk_posting p;
        if (listed_sk(t, seq, &p, err) != 0)
            return -1;
        memcpy(sk, p.sk, RK_SORT_KEY_LEN);
        sks_put(sks, seq, sk);
        cost->change_reads++;
    }
    return memcmp(x->sk, sk, RK_SORT_KEY_LEN) < 0; /* sort keys ascend newest first */
}

/* rk_postings_list_add once the list's last block was read: tail when have is 1 (c still on it), none
 * when have is 0 (the list is empty). */
static int add_after_tail(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, block *tail, int have,
                          const rk_posting_new *v, size_t n, rk_postings_sks *sks, rk_postings_cost *cost,
                          rk_error *err)
{
    size_t i = 0;
    bool on_tail = have == 1;
    if (have) {
        uint64_t newest = key_version(tail) + tail->span;
        while (i < n && sk_version(v[i].sk) <= newest)
            i++;
        if (i > 0 && sk_version(v[0].sk) == newest) {
            int after = after_last(t, tail, v, sks, cost, err);
            if (after < 0)
                return -1;
            if (after)
                i = 0;
        }
        if (i > 0 && insert_older(t, c, l, tail, v, i, sks, cost, err) != 0)
            return -1;
        if (i > 0 && i < n && (have = seek_block(t, c, l, kp_top, tail, err)) < 0)
            return -1;
        on_tail = have == 1;
    }
    return i < n ? append(t, c, l, have ? tail : NULL, on_tail, v + i, n - i, cost, err) : 0;
}

int rk_postings_list_add(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, const rk_posting_new *v, size_t n,
                         rk_postings_sks *sks, rk_postings_cost *cost, rk_error *err)
{
    rk_postings_cost ignored = {0};
    if (!cost)
        cost = &ignored;
    if (n == 0)
        return 0;
    block tail;
    int have = seek_block(t, c, l, kp_top, &tail, err);
    if (have < 0)
        return -1;
    return add_after_tail(t, c, l, &tail, have, v, n, sks, cost, err);
}

int rk_postings_add(rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len, const rk_posting_new *v, size_t n,
                    rk_postings_sks *sks, rk_postings_cost *cost, rk_error *err)
{
    rk_postings_list l;
    return rk_postings_token_list(&l, tok, len) ? rk_postings_list_add(t, c, &l, v, n, sks, cost, err) : 0;
}

/* ---- late postings (postings.h) -------------------------------------------------------------------- */

int rk_postings_list_is_late(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, const uint8_t sk[RK_SORT_KEY_LEN],
                             rk_error *err)
{
    if (!l->side)
        return 0;
    MDB_val k, v;
    int found = seek(t, c, l, kp_top, &k, &v, err);
    if (found <= 0)
        return found;
    uint8_t kp[KP_LEN];
    kp_of(sk, kp);
    return memcmp(kp, (const uint8_t *)k.mv_data + l->plen, KP_LEN) < 0;
}

int rk_postings_list_add_late(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, const rk_posting_new *v, size_t n,
                              rk_postings_sks *sks, rk_postings_cost *cost, rk_error *err)
{
    rk_postings_cost ignored = {0};
    if (!cost)
        cost = &ignored;
    if (!l->side || n == 0)
        return rk_postings_list_add(t, c, l, v, n, sks, cost, err);
    block tail;
    int have = seek_block(t, c, l, kp_top, &tail, err);
    if (have < 0)
        return -1;
    /* v is oldest first: the postings before the last block's key are late */
    size_t late = 0;
    while (have && late < n) {
        uint8_t kp[KP_LEN];
        kp_of(v[late].sk, kp);
        if (memcmp(kp, tail.key + l->plen, KP_LEN) >= 0)
            break;
        late++;
    }
    if (late < n && add_after_tail(t, c, l, &tail, have, v + late, n - late, sks, cost, err) != 0)
        return -1;
    if (late == 0)
        return 0;
    rk_postings_list s;
    side_of(l, &s);
    if (rk_postings_list_add(t, c, &s, v, late, sks, cost, err) != 0)
        return -1;
    cost->side_postings += late;
    uint64_t in_side, in_main;
    if (count_one(t, c, &s, &in_side, err) != 0)
        return -1;
    if (in_side < RK_POSTINGS_LATE_MIN)
        return 0;
    if (count_one(t, c, l, &in_main, err) != 0)
        return -1;
    if (in_side < in_main / RK_POSTINGS_LATE_RATIO)
        return 0;
    return rk_postings_merge_late(t, c, l, sks, cost, err);
}

int rk_postings_merge_late(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, rk_postings_sks *sks,
                           rk_postings_cost *cost, rk_error *err)
{
    rk_postings_cost ignored = {0};
    if (!cost)
        cost = &ignored;
    rk_postings_list s;
    uint64_t n;
    if (side_count(t, c, l, &s, &n, err) != 0)
        return -1;
    if (n == 0)
        return 0;
    /* The side list's entries, oldest first as its blocks hold them, and their sort keys. */
    rk_posting_new *v = malloc(n * sizeof *v);
    uint8_t(*sk)[RK_SORT_KEY_LEN] = malloc(n * sizeof *sk);
    int rc = 0;
    if (!v || !sk) {
        rc = rk_fail(err, "no_memory", "", "out of memory while merging late postings");
        goto done;
    }
    size_t m = 0;
    block b;
    int found = seek_first(t, c, &s, &b, err);
    while (found == 1) {
        for (size_t i = 0; i < b.n; i++) {
            if (m == n) {
                rc = corrupt(err);
                goto done;
            }
            if (!sks_get(sks, b.seq[i], sk[m])) {
                rk_posting p;
                if (listed_sk(t, b.seq[i], &p, err) != 0) {
                    rc = -1;
                    goto done;
                }
                memcpy(sk[m], p.sk, RK_SORT_KEY_LEN);
                sks_put(sks, b.seq[i], p.sk);
                cost->change_reads++;
            }
            v[m] = (rk_posting_new){.seq = b.seq[i], .sk = sk[m], .attr = b.attr[i]};
            m++;
        }
        MDB_val k;
        found = is_tail(t, c, &s, &k, err);
        if (found == 0) {
            MDB_val val;
            int grc = mdb_cursor_get(c, &k, &val, MDB_GET_CURRENT);
            found = grc != 0 ? rk_txn_fail(t, grc, "reading a posting list", err)
                             : (block_decode(&s, &k, &val, &b, err) == 0 ? 1 : -1);
        } else if (found == 1) {
            found = 0;
        }
    }
    if (found < 0 || m != n) {
        rc = found < 0 ? -1 : corrupt(err);
        goto done;
    }
    /* Emptied first: the main list's merge reuses the cursor. */
    for (;;) {
        MDB_val k = {.mv_size = s.plen, .mv_data = s.prefix}, val;
        int grc = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE);
        if (grc == MDB_NOTFOUND || (grc == 0 && !is_block_of(&k, &s)))
            break;
        if (grc == 0)
            grc = mdb_cursor_del(c, 0);
        if (grc != 0) {
            rc = rk_txn_fail(t, grc, "writing a posting list", err);
            goto done;
        }
    }
    rc = rk_postings_list_add(t, c, l, v, m, sks, cost, err);
    if (rc == 0)
        cost->side_merged += m;
done:
    free(v);
    free(sk);
    return rc;
}

int rk_postings_merge_all_late(rk_txn *t, MDB_cursor *c, bool tokens, rk_postings_cost *cost, rk_error *err)
{
    rk_postings_sks *sks = rk_postings_sks_new();
    int rc = 0;
    for (;;) {
        uint8_t tag = RK_POSTINGS_SIDE_TAG;
        MDB_val k = {.mv_size = 1, .mv_data = &tag}, v;
        int grc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (grc == MDB_NOTFOUND)
            break;
        if (grc != 0) {
            rc = rk_txn_fail(t, grc, "reading a posting list", err);
            break;
        }
        const uint8_t *key = k.mv_data;
        if (key[0] != RK_POSTINGS_SIDE_TAG)
            break;
        rk_postings_list l;
        bool ok = k.mv_size > 1 + KP_LEN &&
                  (tokens ? k.mv_size == 2u + key[1] + KP_LEN && rk_postings_token_list(&l, key + 2, key[1])
                          : rk_postings_filter_list(&l, key + 1, k.mv_size - 1 - KP_LEN));
        if (!ok) {
            rc = corrupt(err);
            break;
        }
        if ((rc = rk_postings_merge_late(t, c, &l, sks, cost, err)) != 0)
            break;
    }
    rk_postings_sks_free(sks);
    return rc;
}

/* Removes seq from one list, its side list apart: 1, 0 if it is not there, -1 on error. */
static int remove_one(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, uint64_t seq,
                      const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err)
{
    uint8_t kp[KP_LEN];
    kp_of(sk, kp);
    block b;
    int found = seek_block(t, c, l, kp, &b, err);
    if (found <= 0)
        return found;
    size_t j = 0;
    while (j < b.n && b.seq[j] != seq)
        j++;
    if (j == b.n)
        return 0;
    int tail = is_tail(t, c, l, NULL, err);
    if (tail < 0)
        return -1;
    memmove(b.seq + j, b.seq + j + 1, (b.n - j - 1) * sizeof *b.seq);
    memmove(b.attr + j, b.attr + j + 1, (b.n - j - 1) * sizeof *b.attr);
    b.n--;
    if (!tail) {
        if ((b.n ? block_write(t, c, &b, NULL, err) : block_delete(t, c, &b, err)) != 0)
            return -1;
        return tail_total_add(t, c, l, -1, NULL, err) == 0 ? 1 : -1;
    }
    if (b.total == 0)
        return corrupt(err);
    b.total--;
    if (b.n)
        return block_write(t, c, &b, NULL, err) == 0 ? 1 : -1;
    if (block_delete(t, c, &b, err) != 0)
        return -1;
    if (b.total == 0)
        return 1;
    /* The block before is the last one now, and carries the total. */
    block prev;
    found = seek_block(t, c, l, kp_top, &prev, err);
    if (found <= 0)
        return found < 0 ? -1 : corrupt(err);
    prev.total = b.total;
    return block_write(t, c, &prev, NULL, err) == 0 ? 1 : -1;
}

int rk_postings_list_remove(rk_txn *t, MDB_cursor *c, const rk_postings_list *l, uint64_t seq,
                            const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err)
{
    int removed = remove_one(t, c, l, seq, sk, err);
    if (removed != 0 || !l->side)
        return removed < 0 ? -1 : 0;
    rk_postings_list s;
    side_of(l, &s);
    return remove_one(t, c, &s, seq, sk, err) < 0 ? -1 : 0;
}

int rk_postings_remove(rk_txn *t, MDB_cursor *c, const uint8_t *tok, size_t len, uint64_t seq,
                       const uint8_t sk[RK_SORT_KEY_LEN], rk_error *err)
{
    rk_postings_list l;
    return rk_postings_token_list(&l, tok, len) ? rk_postings_list_remove(t, c, &l, seq, sk, err) : 0;
}
