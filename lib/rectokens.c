/* rectokens: a record's searchable text and distinct tokens, and their hand-over to the full-text
 * batch (see rectokens.h for why and the invariants).
 *
 * The hand-over is a GLib hash table from record hash to tokens, in the store's write slot
 * (rk_txn_write_slot): LMDB runs one write transaction at a time, so the writer, the only thread that
 * offers and takes, needs no lock of its own, and a transaction that aborts leaves at worst tokens
 * nobody takes, which are still right for their hash and are dropped with the next batch.
 */
#include "rectokens.h"
#include "threadslot.h"
#include "util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "text.h"

/* ---- a thread's scratch ------------------------------------------------------------------------- */

/* The buffers one record's tokens go through: its text, the normal form, the token occurrences with
 * as much room again for the sort, and the dedupe table. Each thread that computes tokens (verifiers,
 * sealing threads, the writer's batch) keeps its own, made on first use and freed with the thread,
 * so a record costs no allocation but its result. A buffer that grew beyond SCRATCH_KEEP for a large
 * record is freed after it, so what a thread keeps stays small. */
#define SCRATCH_KEEP (64 * 1024)

typedef struct scratch {
    rk_buf text, norm;
    uint64_t *v;
    size_t v_cap; /* elements */
    uint64_t *seen;
    size_t seen_cap; /* elements */
} scratch;

static void scratch_release(void *p)
{
    scratch *sc = p;
    rk_buf_free(&sc->text);
    rk_buf_free(&sc->norm);
    free(sc->v);
    free(sc->seen);
    memset(sc, 0, sizeof *sc);
}

static rk_thread_slot scratch_slot = RK_THREAD_SLOT_INIT(scratch, scratch_release);

/* After a record: frees what grew too large to keep, or everything of a scratch that is not a
 * thread's. */
static void scratch_done(scratch *sc, bool kept)
{
    if (!kept) {
        scratch_release(sc);
        return;
    }
    if (sc->text.cap > SCRATCH_KEEP)
        rk_buf_free(&sc->text);
    if (sc->norm.cap > SCRATCH_KEEP)
        rk_buf_free(&sc->norm);
    if (sc->v_cap * sizeof *sc->v > SCRATCH_KEEP) {
        free(sc->v);
        sc->v = NULL;
        sc->v_cap = 0;
    }
    if (sc->seen_cap * sizeof *sc->seen > SCRATCH_KEEP) {
        free(sc->seen);
        sc->seen = NULL;
        sc->seen_cap = 0;
    }
}

/* Makes *p hold at least n elements of size bytes, keeping nothing of what it held. */
static int scratch_room(uint64_t **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    uint64_t *q = malloc(n * sizeof *q);
    if (!q)
        return -1;
    free(*p);
    *p = q;
    *cap = n;
    return 0;
}

/* ---- searchable text ---------------------------------------------------------------------------- */

static int add_text(rk_buf *b, const char *s)
{
    if (!s || !s[0])
        return 0;
    /* Fields are separated by a newline so a phrase never matches across two fields. */
    return rk_buf_puts(b, s) | rk_buf_append(b, "\n", 1);
}

static int add_texts(rk_buf *b, char **v, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        rc |= add_text(b, v[i]);
    return rc;
}

static int add_contact(rk_buf *b, const Renkei__Contact *c)
{
    return c ? add_text(b, c->name) | add_text(b, c->organisation) : 0;
}

static int record_text(const Renkei__Record *m, rk_buf *b)
{
    int rc = 0;
    switch (m->body_case) {
    case RENKEI__RECORD__BODY_CASE: {
        const Renkei__Case *c = m->case_;
        rc |= add_text(b, c->title) | add_text(b, c->summary) | add_text(b, c->place_name);
        if (c->organisation)
            rc |= add_text(b, c->organisation->name);
        rc |= add_text(b, c->challenge) | add_text(b, c->initiative);
        rc |= add_texts(b, c->technologies, c->n_technologies);
        rc |= add_texts(b, c->support_organisations, c->n_support_organisations);
        rc |= add_texts(b, c->funding, c->n_funding);
        for (size_t i = 0; i < c->n_results; i++)
            rc |= add_text(b, c->results[i]->metric);
        rc |= add_text(b, c->lessons) | add_text(b, c->failures);
        if (c->spread)
            rc |= add_texts(b, c->spread->adopted_by, c->spread->n_adopted_by);
        rc |= add_texts(b, c->tags, c->n_tags);
        rc |= add_contact(b, c->contact);
        break;
    }
    case RENKEI__RECORD__BODY_EVENT: {
        const Renkei__Event *e = m->event;
        rc |= add_text(b, e->title) | add_text(b, e->summary) | add_text(b, e->organiser);
        rc |= add_texts(b, e->co_organisers, e->n_co_organisers);
        rc |= add_text(b, e->online_platform);
        if (e->venue)
            rc |= add_text(b, e->venue->name) | add_text(b, e->venue->address);
        for (size_t i = 0; i < e->n_speakers; i++)
            rc |= add_text(b, e->speakers[i]->name) | add_text(b, e->speakers[i]->affiliation);
        for (size_t i = 0; i < e->n_agenda; i++)
            rc |= add_text(b, e->agenda[i]->title) | add_text(b, e->agenda[i]->speaker);
        rc |= add_texts(b, e->tags, e->n_tags);
        rc |= add_contact(b, e->contact);
        break;
    }
    case RENKEI__RECORD__BODY_REGION: {
        const Renkei__RegionProfile *r = m->region;
        rc |= add_text(b, r->name) | add_text(b, r->coordinating_organisation) | add_text(b, r->summary);
        rc |= add_texts(b, r->issues, r->n_issues) | add_texts(b, r->attractions, r->n_attractions);
        rc |= add_contact(b, r->contact);
        break;
    }
    default: break;
    }
    return rc ? -1 : 0;
}

char *rk_rectokens_text(const Renkei__Record *m)
{
    rk_buf b;
    rk_buf_init(&b);
    if (record_text(m, &b) != 0) {
        rk_buf_free(&b);
        return NULL;
    }
    char *norm = rk_text_normalize(b.data ? b.data : "", b.len);
    rk_buf_free(&b);
    return norm;
}

/* ---- distinct tokens ----------------------------------------------------------------------------- */

/* A token is one or two characters, so at most 8 bytes of UTF-8, none of them 0: packed big-endian
 * into a uint64_t and padded with zeros, tokens compare as numbers as they do as strings, and a
 * record's distinct tokens are one array sorted and deduplicated in place, with no allocation per
 * token and no hash set. */
#define TOKEN_PACKED 8

typedef struct token_list {
    uint64_t *v;
    size_t n, cap; /* cap: one per byte of the text, an upper bound on its token occurrences */
} token_list;

static int collect(const char *tok, size_t len, void *ctx)
{
    token_list *l = ctx;
    /* rk_text_tokens makes none longer (two characters of at most 4 bytes) */
    if (len == 0 || len > TOKEN_PACKED || l->n == l->cap)
        return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < TOKEN_PACKED; i++)
        x = x << 8 | (i < len ? (uint8_t)tok[i] : 0);
    l->v[l->n++] = x;
    return 0;
}

/* Sorts v[0..n) with tmp[0..n) as scratch: least significant byte first, one counting pass per byte
 * that differs between tokens (the zero padding of short ones and the lead bytes one script shares
 * are skipped). Linear whatever the input, so it is where packed_sort goes when a text defeats its
 * pivots; for a record's few hundred tokens its 256 counters per pass cost more than comparisons. */
static void packed_radix_sort(uint64_t *v, uint64_t *tmp, size_t n)
{
    uint64_t varies = 0;
    for (size_t i = 1; i < n; i++)
        varies |= v[i] ^ v[0];
    uint64_t *from = v, *to = tmp;
    for (int shift = 0; shift < 64; shift += 8) {
        if (!(varies >> shift & 0xff))
            continue;
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[from[i] >> shift & 0xff]++;
        for (size_t b = 0, sum = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            to[count[from[i] >> shift & 0xff]++] = from[i];
        uint64_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != v)
        memcpy(v, from, n * sizeof *v);
}

#define PACKED_SORT_SMALL 16 /* below this, insertion sort */

static uint64_t packed_median3(uint64_t a, uint64_t b, uint64_t c)
{
    if (a < b)
        return b < c ? b : a < c ? c : a;
    return a < c ? a : b < c ? c : b;
}

/* Sorts v[0..n) with tmp[0..n) as scratch for the radix sort: quicksort with inlined comparisons
 * (a record's ~150 token occurrences in 1.6 µs, where the radix sort's eight passes took 4.2 µs),
 * median-of-three pivots, and, as in an introsort, the radix sort for any part still unsorted after
 * depth halvings, so a text built against the pivots costs linear time, not quadratic. */
static void packed_sort(uint64_t *v, uint64_t *tmp, size_t n, unsigned depth)
{
    while (n > PACKED_SORT_SMALL) {
        if (depth-- == 0) {
            packed_radix_sort(v, tmp, n);
            return;
        }
        uint64_t pivot = packed_median3(v[0], v[n / 2], v[n - 1]);
        /* Hoare's partition: afterwards v[0..j] <= pivot <= v[j+1..n), both sides non-empty */
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i >= j)
                break;
            uint64_t x = v[i];
            v[i++] = v[j];
            v[j--] = x;
        }
        size_t left = j + 1;
        /* the smaller side by recursion, so the stack stays logarithmic; the larger one here */
        if (left < n - left) {
            packed_sort(v, tmp, left, depth);
            v += left;
            tmp += left;
            n -= left;
        } else {
            packed_sort(v + left, tmp + left, n - left, depth);
            n = left;
        }
    }
    rk_u64_insertion_sort(v, n, SIZE_MAX);
}

/* The depth packed_sort allows before it falls back to the radix sort: twice log2(n). */
static unsigned packed_sort_depth(size_t n)
{
    unsigned d = 0;
    for (; n > 1; n >>= 1)
        d += 2;
    return d;
}

/* Keeps the first of each token in v[0..n) in place, in order; returns how many are left. A record
 * repeats its words (a sentence in every field, a place name in each line), so the sort after this
 * has fewer to order: a table of the tokens seen, open addressing over at least twice as many slots,
 * 0 marking a free one (no token packs to 0: its first byte is not NUL), in sc. -1 when out of memory.
 * Not GLib's GHashTable: it keeps each key behind a pointer and hashes through a call; over 1,200
 * tokens (566 distinct) it took 32-35 us against 2.0 us for this loop (gcc -O2, loaded machine). */
static ptrdiff_t packed_dedupe(scratch *sc, uint64_t *v, size_t n)
{
    unsigned bits = 4;
    while (((size_t)1 << bits) < 2 * n)
        bits++;
    size_t mask = ((size_t)1 << bits) - 1;
    if (scratch_room(&sc->seen, &sc->seen_cap, mask + 1) != 0)
        return -1;
    uint64_t *seen = sc->seen;
    memset(seen, 0, (mask + 1) * sizeof *seen);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        size_t at = (size_t)((x * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits));
        while (seen[at] && seen[at] != x)
            at = (at + 1) & mask;
        if (!seen[at]) {
            seen[at] = x;
            v[kept++] = x;
        }
    }
    return (ptrdiff_t)kept;
}

/* The distinct tokens of norm[0..len), a normal form, with sc's buffers. */
static rk_rectokens *tokens_of(scratch *sc, const char *norm, size_t len)
{
    /* the occurrences, then as much scratch for the sort */
    token_list l = {.cap = len};
    if (scratch_room(&sc->v, &sc->v_cap, len ? 2 * len : 1) != 0)
        return NULL;
    l.v = sc->v;
    if (rk_text_tokens(norm, collect, &l) != 0)
        return NULL;
    ptrdiff_t kept = packed_dedupe(sc, l.v, l.n);
    if (kept < 0)
        return NULL;
    size_t distinct = (size_t)kept;
    if (distinct > 1)
        packed_sort(l.v, l.v + l.cap, distinct, packed_sort_depth(distinct));
    /* each token takes its bytes and a NUL: at most TOKEN_PACKED + 1 */
    rk_rectokens *tok = malloc(sizeof *tok + distinct * (TOKEN_PACKED + 1));
    if (!tok)
        return NULL;
    memset(tok->hash, 0, sizeof tok->hash);
    tok->n = distinct;
    tok->len = 0;
    for (size_t i = 0; i < distinct; i++) {
        for (int shift = 56; shift >= 0 && (uint8_t)(l.v[i] >> shift); shift -= 8)
            tok->data[tok->len++] = (char)(uint8_t)(l.v[i] >> shift);
        tok->data[tok->len++] = '\0';
    }
    return tok;
}

rk_rectokens *rk_rectokens_of_text(const char *norm)
{
    scratch own = {0}, *sc = rk_thread_slot_get(&scratch_slot);
    rk_rectokens *tok = tokens_of(sc ? sc : &own, norm, strlen(norm));
    scratch_done(sc ? sc : &own, sc != NULL);
    return tok;
}

rk_rectokens *rk_rectokens_of(const Renkei__Record *m)
{
    scratch own = {0}, *sc = rk_thread_slot_get(&scratch_slot);
    if (!sc)
        sc = &own;
    rk_buf_reset(&sc->text);
    rk_buf_reset(&sc->norm);
    rk_rectokens *tok = NULL;
    if (record_text(m, &sc->text) == 0 &&
        rk_text_normalize_append(&sc->norm, sc->text.data ? sc->text.data : "", sc->text.len) == 0)
        tok = tokens_of(sc, sc->norm.data, sc->norm.len);
    scratch_done(sc, sc != &own);
    return tok;
}

void rk_rectokens_free(rk_rectokens *tok)
{
    free(tok);
}

const char *rk_rectokens_next(const rk_rectokens *tok, const char *prev)
{
    const char *next = prev ? prev + strlen(prev) + 1 : tok->data;
    return next < tok->data + tok->len ? next : NULL;
}

/* ---- the hand-over ------------------------------------------------------------------------------- */

static guint hash_of(gconstpointer key)
{
    guint h;
    memcpy(&h, key, sizeof h); /* a SHA-256 prefix is as uniform as a hash gets */
    return h;
}

static gboolean hash_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, RK_HASH_LEN) == 0;
}

static void kept_free(void *kept)
{
    g_hash_table_destroy(kept);
}

/* The table in the store's write slot, made on first use; NULL for a read-only transaction. */
static GHashTable *kept_of(rk_txn *t, bool create)
{
    void **slot = rk_txn_write_slot(t, kept_free);
    if (!slot)
        return NULL;
    if (!*slot && create)
        *slot = g_hash_table_new_full(hash_of, hash_equal, NULL, free); /* keys point into the values */
    return *slot;
}

void rk_rectokens_offer(rk_txn *t, const uint8_t hash[RK_HASH_LEN], rk_rectokens *tok)
{
    GHashTable *kept = tok ? kept_of(t, true) : NULL;
    if (!kept) {
        rk_rectokens_free(tok);
        return;
    }
    if (g_hash_table_size(kept) >= RK_RECTOKENS_KEPT_MAX)
        g_hash_table_remove_all(kept); /* offered to transactions that never stored them */
    memcpy(tok->hash, hash, RK_HASH_LEN);
    g_hash_table_replace(kept, tok->hash, tok);
}

rk_rectokens *rk_rectokens_take(rk_txn *t, const uint8_t hash[RK_HASH_LEN])
{
    GHashTable *kept = kept_of(t, false);
    gpointer key, value;
    if (!kept || !g_hash_table_lookup_extended(kept, hash, &key, &value))
        return NULL;
    g_hash_table_steal(kept, key);
    return value;
}

void rk_rectokens_forget(rk_txn *t)
{
    GHashTable *kept = kept_of(t, false);
    if (kept)
        g_hash_table_remove_all(kept);
}

size_t rk_rectokens_kept(rk_txn *t)
{
    GHashTable *kept = kept_of(t, false);
    return kept ? g_hash_table_size(kept) : 0;
}
