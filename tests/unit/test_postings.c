/* Tests of the compact full-text posting lists (lib/postings.c) against a model: one token's list,
 * fed with batches of records in and out of version order (appends to the last block, insertions in
 * the middle and before the first key, blocks split), then emptied again by removals, must always hold
 * exactly the model's postings: its count, a walk from the newest, and walks resumed after any sort
 * key (listed, removed, or never listed) give the model's records in sort-key order. The same for a
 * filter list (lib/postings.h: entries with a two-bit attribute, in "indexes"), whose walk must also
 * return each entry's attribute and whose membership probe must answer for every record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "postings.h"
#include "run_tests.h"
#include "store.h"

#define N 2400
#define TOKEN "\xff\xfe"   /* not UTF-8, so no bigram of the records' own text */
#define FILTER "f\x01\xfe" /* a field no record has */

typedef struct entry {
    uint64_t seq;
    uint8_t sk[RK_SORT_KEY_LEN];
    bool listed;
} entry;

typedef struct fixture {
    rk_postings_list l; /* the list under test */
    rk_db db;           /* its database */
    fx_store s;
    fx_author a;
    entry e[N];
    uint64_t rng;
} fixture;

static uint64_t rnd(fixture *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return f->rng;
}

/* N records with distinct versions in shuffled order, so sequence numbers and versions disagree. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->rng = 0x9e3779b97f4a7c15u;
    assert_true(rk_postings_token_list(&f->l, (const uint8_t *)TOKEN, 2));
    f->db = RK_DB_TOKENS;
    fx_store_open(&f->s, "postings", 0);
    fx_author_init(&f->a);
    rk_error err;
    for (size_t i = 0; i < N; i += 200) {
        rk_txn *t = fx_begin(&f->s, true);
        for (size_t j = i; j < i + 200; j++) {
            char rid[32];
            snprintf(rid, sizeof rid, "p%zu", j);
            uint64_t version = 1000000 + (j * 7919) % N * 1000;
            rk_record rec;
            fx_seal_case(&f->a, rid, version, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, rid, &rec);
            rk_put_result res;
            assert_int_equal(rk_store_put(t, &rec, &res, &f->e[j].seq, &err), 0);
            assert_int_equal(res, RK_PUT_STORED);
            rk_put_be64(f->e[j].sk, ~version);
            memcpy(f->e[j].sk + 8, rec.hash, RK_HASH_LEN);
            rk_record_free(&rec);
        }
        assert_int_equal(rk_txn_commit(t, &err), 0);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_author_free(&f->a);
    fx_store_close(&f->s);
    free(f);
    return 0;
}

static const entry *sorted_entries;

/* Sort-key order: newest first. */
static int by_sk(const void *a, const void *b)
{
    return memcmp(sorted_entries[*(const size_t *)a].sk, sorted_entries[*(const size_t *)b].sk, RK_SORT_KEY_LEN);
}

/* Sorts the entry numbers idx[0..n) into sort-key order: newest first. */
static void sort_by_sk(fixture *f, size_t *idx, size_t n)
{
    sorted_entries = f->e;
    qsort(idx, n, sizeof *idx, by_sk);
}

/* The model's listed entries in sort-key order; returns how many. */
static size_t model(fixture *f, size_t *order)
{
    size_t n = 0;
    for (size_t i = 0; i < N; i++)
        if (f->e[i].listed)
            order[n++] = i;
    sort_by_sk(f, order, n);
    return n;
}

/* The attribute the model gives an entry in a list with attributes. */
static uint8_t attr_of(const fixture *f, const entry *e)
{
    return f->l.attrs ? (uint8_t)(e->seq * 7 % (RK_POSTINGS_ATTR_MAX + 1)) : 0;
}

/* The blocks the list has. */
static size_t blocks(fixture *f, rk_txn *t)
{
    MDB_cursor *c = fx_cursor(t, f->db);
    MDB_val k = {.mv_size = f->l.plen, .mv_data = f->l.prefix}, v;
    size_t n = 0;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < f->l.plen || memcmp(k.mv_data, f->l.prefix, f->l.plen) != 0)
            break;
        n++;
    }
    mdb_cursor_close(c);
    return n;
}

/* order[0..N) gets the records newest first: rank r (0 = oldest) is order[N - 1 - r]. */
static void by_age(fixture *f, size_t *order)
{
    for (size_t i = 0; i < N; i++)
        order[i] = i;
    sort_by_sk(f, order, N);
}

/* A walk (after a sort key, or from the newest) returns exactly the model's entries that sort after it. */
static void expect_walk(fixture *f, rk_txn *t, MDB_cursor *c, const size_t *order, size_t n, const uint8_t *after)
{
    static rk_postings_walk w;
    rk_error err;
    assert_int_equal(rk_postings_list_walk_start(&w, t, c, &f->l, after, &err), 0);
    size_t i = 0;
    while (after && i < n && memcmp(f->e[order[i]].sk, after, RK_SORT_KEY_LEN) <= 0)
        i++;
    rk_posting p;
    int r;
    while ((r = rk_postings_walk_next(&w, &p, &err)) == 1) {
        if (i == n)
            fail_msg("the walk returns change %llu after the model's last", (unsigned long long)p.seq);
        const entry *e = &f->e[order[i++]];
        assert_int_equal(p.seq, e->seq);
        assert_memory_equal(p.sk, e->sk, RK_SORT_KEY_LEN);
        assert_int_equal(p.kind, RENKEI__KIND__KIND_CASE);
        assert_int_equal(p.visibility, RENKEI__VISIBILITY__VISIBILITY_PUBLIC);
        assert_int_equal(p.attr, attr_of(f, e));
    }
    assert_int_equal(r, 0);
    assert_int_equal(i, n);
}

/* The list against the model: count, the whole walk, and walks after 40 sort keys of every kind. */
static size_t check(fixture *f)
{
    static size_t order[N];
    size_t n = model(f, order);
    rk_error err;
    rk_txn *t = fx_begin(&f->s, false);
    MDB_cursor *c = fx_cursor(t, f->db);
    uint64_t count;
    assert_int_equal(rk_postings_list_count(t, c, &f->l, &count, &err), 0);
    assert_int_equal(count, n);
    /* Membership of every record, met in sort-key order as a query meets them, then in random order. */
    static size_t all[N];
    by_age(f, all);
    static rk_postings_probe probe;
    for (int pass = 0; pass < 2; pass++) {
        memset(&probe, 0, sizeof probe);
        for (size_t i = 0; i < N; i++) {
            const entry *e = &f->e[pass ? rnd(f) % N : all[i]];
            int in = rk_postings_contains(&probe, t, c, &f->l, e->seq, e->sk, &err);
            assert_int_equal(in, e->listed ? 1 : 0);
        }
    }
    expect_walk(f, t, c, order, n, NULL);
    for (int i = 0; i < 40; i++) {
        const uint8_t *after = f->e[rnd(f) % N].sk; /* listed or not */
        uint8_t between[RK_SORT_KEY_LEN];
        if (i % 4 == 3) { /* a version no record has: between two of them */
            memcpy(between, after, sizeof between);
            rk_put_be64(between, rk_get_be64(after) + 500);
            after = between;
        }
        expect_walk(f, t, c, order, n, after);
    }
    size_t b = blocks(f, t);
    mdb_cursor_close(c);
    rk_txn_abort(t);
    return b;
}

/* Adds the unlisted records among idx[0..n) in one batch, in the order the batch writes (oldest
 * first); returns what placing the older ones cost. */
static rk_postings_cost add(fixture *f, size_t *idx, size_t n)
{
    sort_by_sk(f, idx, n);
    rk_posting_new v[N];
    size_t m = 0;
    for (size_t i = n; i-- > 0;)
        if (!f->e[idx[i]].listed) {
            v[m++] =
                (rk_posting_new){.seq = f->e[idx[i]].seq, .sk = f->e[idx[i]].sk, .attr = attr_of(f, &f->e[idx[i]])};
            f->e[idx[i]].listed = true;
        }
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    MDB_cursor *c = fx_cursor(t, f->db);
    rk_postings_cost cost = {0};
    assert_int_equal(rk_postings_list_add(t, c, &f->l, v, m, NULL, &cost, &err), 0);
    mdb_cursor_close(c);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    return cost;
}

static void remove_some(fixture *f, size_t every, size_t offset)
{
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    MDB_cursor *c = fx_cursor(t, f->db);
    for (size_t i = offset; i < N; i += every) {
        /* removing what is not listed changes nothing */
        assert_int_equal(rk_postings_list_remove(t, c, &f->l, f->e[i].seq, f->e[i].sk, &err), 0);
        f->e[i].listed = false;
    }
    mdb_cursor_close(c);
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

static void test_postings_match_the_model(void **state)
{
    fixture *f = *state;
    static size_t idx[N];
    /* Two of every three of the newest third first, in batches, in version order: appends, blocks
     * closed as they fill. */
    size_t n = 0;
    for (size_t i = 0; i < N; i++)
        if (~rk_get_be64(f->e[i].sk) >= 1000000 + 2 * N / 3 * 1000 && i % 3 != 0)
            idx[n++] = i;
    sort_by_sk(f, idx, n);
    for (size_t i = n; i > 0; i -= i < 100 ? i : 100) /* oldest batch first */
        add(f, idx + (i < 100 ? 0 : i - 100), i < 100 ? i : 100);
    size_t b = check(f);
    assert_true(b >= 2);
    /* Then the rest, in random batches: insertions in the middle of blocks (the last one included),
     * before the first key, and splits of full blocks. */
    for (int round = 0; round < 12; round++) {
        n = 0;
        for (size_t i = 0; i < N; i++)
            if (!f->e[i].listed && rnd(f) % 12 == 0)
                idx[n++] = i;
        add(f, idx, n);
    }
    n = 0;
    for (size_t i = 0; i < N; i++)
        idx[n++] = i;
    add(f, idx, n);
    b = check(f);
    print_message("%d postings in %zu blocks\n", N, b);
    assert_true(b >= 8);
    /* Removals from every block: some emptied, the last among them. */
    remove_some(f, 3, 0);
    check(f);
    remove_some(f, 3, 1);
    check(f);
    /* Added again while others go: a list that shrinks and grows stays exact. */
    n = 0;
    for (size_t i = 0; i < N; i += 2)
        idx[n++] = i;
    add(f, idx, n);
    check(f);
    remove_some(f, 1, 0);
    assert_int_equal(check(f), 0);
}

/* The batches of a node publishing through its API: records come in version order, except that the
 * ones still on their way when a batch was written (sealed, not yet committed) come with the next
 * batch, older than the list's newest. Here every other one of each batch's newest 60 waits for the
 * next. Placing them used to cost a binary search per posting over the last block (8 change reads
 * and more, and a block rewrite and often a split each): up to a fifth of the writer's CPU.
 * Each batch's older postings now cost at most 3 change reads each and are merged into at most two
 * blocks, and the list stays exact. */
static void test_postings_late_records_merge_per_block(void **state)
{
    fixture *f = *state;
    static size_t order[N], batch[N];
    by_age(f, order);
    /* order is newest first: rank r (0 = oldest) is order[N - 1 - r] */
    size_t held[30], n_held = 0, late_total = 0, reads_total = 0;
    for (size_t from = 0; from < N; from += 200) {
        size_t n = 0;
        for (size_t j = 0; j < n_held; j++)
            batch[n++] = held[j];
        size_t late = n_held;
        n_held = 0;
        for (size_t r = from; r < from + 200; r++) {
            if (r >= from + 140 && r % 2 == 1 && from + 200 < N)
                held[n_held++] = order[N - 1 - r];
            else
                batch[n++] = order[N - 1 - r];
        }
        rk_postings_cost cost = add(f, batch, n);
        if (from > 0) {
            assert_int_equal(late, 30);
            assert_true(cost.merged_blocks >= 1 && cost.merged_blocks <= 2);
            assert_true(cost.change_reads <= 3 * late);
        }
        late_total += late;
        reads_total += cost.change_reads;
    }
    print_message("%zu older postings placed with %zu change reads\n", late_total, reads_total);
    check(f);
}

/* Many older postings merged into one block at once: the block is cut into several, and the keys of
 * the later pieces are the kps of entries that were listed before (never read to place a posting). */
static void test_postings_merge_cuts_a_block_into_many(void **state)
{
    fixture *f = *state;
    static size_t order[N], idx[N];
    by_age(f, order);
    size_t n = 0;
    for (size_t r = 0; r < 10; r++) /* rank r (0 = oldest) is order[N - 1 - r] */
        idx[n++] = order[N - 1 - r];
    for (size_t r = 500; r < 640; r++)
        idx[n++] = order[N - 1 - r];
    add(f, idx, n);
    assert_int_equal(check(f), 1);
    n = 0;
    for (size_t r = 10; r < 500; r++)
        idx[n++] = order[N - 1 - r];
    rk_postings_cost cost = add(f, idx, n);
    assert_int_equal(cost.merged_blocks, 1);
    size_t b = check(f);
    print_message("640 postings in %zu blocks\n", b);
    assert_true(b >= 4);
}

/* Adds v[0..m) to l in t with sks shared; returns the cost. */
static rk_postings_cost add_to(fixture *f, rk_txn *t, const rk_postings_list *l, const rk_posting_new *v, size_t m,
                               rk_postings_sks *sks)
{
    rk_error err;
    MDB_cursor *c = fx_cursor(t, f->db);
    rk_postings_cost cost = {0};
    assert_int_equal(rk_postings_list_add(t, c, l, v, m, sks, &cost, &err), 0);
    mdb_cursor_close(c);
    return cost;
}

/* Fills the list under test and a twin token list with every record but those of rank skip modulo
 * every (order by_age), oldest first, appended in one transaction; returns the blocks of the list. */
static size_t fill_twins(fixture *f, const size_t *order, size_t every, size_t skip, rk_postings_list *twin,
                         rk_posting_new *v)
{
    if (f->l.attrs)
        assert_true(rk_postings_filter_list(twin, (const uint8_t *)"f\x01\xfd", 3));
    else
        assert_true(rk_postings_token_list(twin, (const uint8_t *)"\xff\xfd", 2));
    size_t n = 0;
    for (size_t r = 0; r < N; r++) /* rank r (0 = oldest) is order[N - 1 - r] */
        if (r % every != skip) {
            entry *e = &f->e[order[N - 1 - r]];
            v[n++] = (rk_posting_new){.seq = e->seq, .sk = e->sk, .attr = attr_of(f, e)};
            e->listed = true;
        }
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    add_to(f, t, &f->l, v, n, NULL);
    add_to(f, t, twin, v, n, NULL);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    return check(f);
}

/* A repair's records: versions spread over the whole list, each older than the list's newest. One
 * batch of them rewrites each block it touches once and the last block's total once, and the block
 * that holds a posting's place is searched in about log2(its entries) change reads; a second list with
 * the same records, written in the same transaction with the sort keys shared, reads none. Placed one
 * posting at a time (or with the last block's total rewritten per block, or galloping from each
 * block's end) the batch would write more blocks than it has, or read more change entries. */
static void test_postings_spread_batch_writes_each_block_once(void **state)
{
    fixture *f = *state;
    static size_t order[N];
    static rk_posting_new v[N];
    by_age(f, order);
    /* every record but one in 16, oldest first: appended, in two lists */
    rk_postings_list twin;
    size_t before = fill_twins(f, order, 16, 5, &twin, v);
    rk_error err;
    rk_txn *t;
    /* then the other 150, spread one every 16 records over the whole list, in one batch */
    size_t m = 0;
    for (size_t r = 5; r < N; r += 16) {
        entry *e = &f->e[order[N - 1 - r]];
        v[m++] = (rk_posting_new){.seq = e->seq, .sk = e->sk};
        e->listed = true;
    }
    rk_postings_sks *sks = rk_postings_sks_new();
    assert_non_null(sks);
    t = fx_begin(&f->s, true);
    rk_postings_cost cost = add_to(f, t, &f->l, v, m, sks);
    rk_postings_cost again = add_to(f, t, &twin, v, m, sks);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    rk_postings_sks_free(sks);
    size_t after = check(f);
    print_message("%zu spread postings into %zu blocks (%zu after): %zu merged, %zu written, %zu change reads; "
                  "the same list with the keys shared: %zu written, %zu change reads\n",
                  m, before, after, cost.merged_blocks, cost.block_writes, cost.change_reads, again.block_writes,
                  again.change_reads);
    assert_true(before >= 8);
    /* each block holding some of them merged once, each piece written once, the total once */
    assert_true(cost.merged_blocks <= before);
    assert_true(cost.block_writes <= after + 1);
    /* a binary search for the newest posting of each block, then galloping from its place: under
     * log2(190 entries a block) per posting (galloping from the block's end costs twice that) */
    assert_true(cost.change_reads < m * 8);
    assert_int_equal(again.change_reads, 0);
    assert_int_equal(again.block_writes, cost.block_writes);
    f->l = twin;
    assert_int_equal(check(f), after);
}

/* The blocks of list l in t, key suffix (kp) and value without the total (stale but in the last
 * block), concatenated: two lists are placed alike when these agree. */
static size_t list_layout(fixture *f, rk_txn *t, const rk_postings_list *l, uint8_t *out, size_t cap,
                          size_t *blocks_out)
{
    MDB_cursor *c = fx_cursor(t, f->db);
    MDB_val k = {.mv_size = l->plen, .mv_data = (void *)l->prefix}, v;
    size_t n = 0;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != l->plen + 16 || memcmp(k.mv_data, l->prefix, l->plen) != 0)
            break;
        const uint8_t *p = v.mv_data, *end = p + v.mv_size;
        uint64_t total;
        assert_true(rk_varint_get(&p, end, &total));
        assert_true(n + 16 + (size_t)(end - p) <= cap);
        memcpy(out + n, (const uint8_t *)k.mv_data + l->plen, 16);
        memcpy(out + n + 16, p, (size_t)(end - p));
        n += 16 + (size_t)(end - p);
        if (blocks_out)
            ++*blocks_out;
    }
    mdb_cursor_close(c);
    return n;
}

/* The kp of the last block of l in t (16 bytes). */
static void last_kp(fixture *f, rk_txn *t, const rk_postings_list *l, uint8_t kp[16])
{
    MDB_cursor *c = fx_cursor(t, f->db);
    MDB_val k = {.mv_size = l->plen, .mv_data = (void *)l->prefix}, v;
    bool found = false;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != l->plen + 16 || memcmp(k.mv_data, l->prefix, l->plen) != 0)
            break;
        memcpy(kp, (const uint8_t *)k.mv_data + l->plen, 16);
        found = true;
    }
    mdb_cursor_close(c);
    assert_true(found);
}

static int posting_oldest_first(const void *a, const void *b)
{
    const rk_posting_new *x = a, *y = b;
    return memcmp(y->sk, x->sk, RK_SORT_KEY_LEN);
}

/* A repair's records added with rk_postings_list_add_late: the ones before the list's last block go to
 * its side list (the blocks before the last are not touched), and counts, walks from any cursor,
 * membership probes and removals see them there; merging the side list moves them into the list's
 * blocks exactly as placing them directly would have (a twin list fed the same postings with
 * rk_postings_list_add: the ones of the last block's range when they came, the others at the merge),
 * and leaves no side block. */
static void test_postings_late_postings_wait_in_a_side_list(void **state)
{
    fixture *f = *state;
    static size_t order[N];
    static rk_posting_new v[N], late[N], side_all[N], batch[N], tail_part[N];
    by_age(f, order);
    /* every record but one in 8, oldest first: appended, in two lists */
    rk_postings_list twin;
    size_t before = fill_twins(f, order, 8, 3, &twin, v);
    rk_error err;
    rk_txn *t;
    assert_true(before >= 8);
    /* the other 300, spread over the whole list (oldest first), in two batches */
    size_t m = 0;
    for (size_t r = 3; r < N; r += 8) {
        entry *e = &f->e[order[N - 1 - r]];
        late[m++] = (rk_posting_new){.seq = e->seq, .sk = e->sk, .attr = attr_of(f, e)};
        e->listed = true;
    }
    rk_postings_cost cost = {0};
    size_t n_side = 0;
    for (size_t half = 0; half < 2; half++) {
        size_t nb = 0, nt = 0;
        for (size_t i = half; i < m; i += 2)
            batch[nb++] = late[i];
        t = fx_begin(&f->s, true);
        uint8_t tail[16];
        last_kp(f, t, &f->l, tail);
        for (size_t i = 0; i < nb; i++) {
            uint8_t kp[16];
            for (size_t j = 0; j < 16; j++)
                kp[j] = (uint8_t)~batch[i].sk[j];
            if (memcmp(kp, tail, 16) < 0)
                side_all[n_side++] = batch[i];
            else
                tail_part[nt++] = batch[i];
        }
        add_to(f, t, &twin, tail_part, nt, NULL);
        MDB_cursor *c = fx_cursor(t, f->db);
        assert_int_equal(rk_postings_list_add_late(t, c, &f->l, batch, nb, NULL, &cost, &err), 0);
        mdb_cursor_close(c);
        assert_int_equal(rk_txn_commit(t, &err), 0);
    }
    print_message("%zu late postings: %zu to the side list, %zu blocks written\n", m, cost.side_postings,
                  cost.block_writes);
    rk_postings_list side = f->l;
    side.prefix[0] = RK_POSTINGS_SIDE_TAG;
    memcpy(side.prefix + 1, f->l.prefix, f->l.plen);
    side.plen = f->l.plen + 1;
    static uint8_t a[64 * 1024], b[64 * 1024];
    size_t side_blocks = 0;
    t = fx_begin(&f->s, false);
    assert_true(list_layout(f, t, &side, a, sizeof a, &side_blocks) > 0);
    rk_txn_abort(t);
    /* all but those of the last block's range wait in the side list, below RK_POSTINGS_LATE_MIN none is
     * merged, and each batch writes each side block and the last block once, where placed in the list
     * they would have rewritten nearly every block of it */
    assert_int_equal(cost.side_postings, n_side);
    assert_true(n_side >= m - 40);
    assert_int_equal(cost.side_merged, 0);
    print_message("%zu blocks in the list, %zu in its side list\n", before, side_blocks);
    assert_true(4 * side_blocks < before);
    assert_true(cost.block_writes <= 2 * (side_blocks + 1));
    check(f);
    /* removals reach postings in the side list: one in 10 of them goes */
    t = fx_begin(&f->s, true);
    MDB_cursor *c = fx_cursor(t, f->db);
    size_t kept = 0;
    for (size_t i = 0; i < n_side; i++) {
        if (i % 10 != 0) {
            side_all[kept++] = side_all[i];
            continue;
        }
        assert_int_equal(rk_postings_list_remove(t, c, &f->l, side_all[i].seq, side_all[i].sk, &err), 0);
        for (size_t j = 0; j < N; j++)
            if (f->e[j].seq == side_all[i].seq)
                f->e[j].listed = false;
    }
    mdb_cursor_close(c);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    check(f);
    /* merged: no side block left, and the list placed as directly placing the same postings places them */
    rk_postings_cost merged = {0};
    t = fx_begin(&f->s, true);
    c = fx_cursor(t, f->db);
    assert_int_equal(rk_postings_merge_late(t, c, &f->l, NULL, &merged, &err), 0);
    mdb_cursor_close(c);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    assert_int_equal(merged.side_merged, kept);
    t = fx_begin(&f->s, false);
    assert_int_equal(list_layout(f, t, &side, a, sizeof a, NULL), 0);
    rk_txn_abort(t);
    size_t after = check(f);
    print_message("merged into %zu blocks (%zu before): %zu merged, %zu written\n", after, before, merged.merged_blocks,
                  merged.block_writes);
    assert_true(merged.block_writes <= after + 1);
    qsort(side_all, kept, sizeof *side_all, posting_oldest_first);
    t = fx_begin(&f->s, true);
    add_to(f, t, &twin, side_all, kept, NULL);
    assert_int_equal(rk_txn_commit(t, &err), 0);
    t = fx_begin(&f->s, false);
    size_t la = list_layout(f, t, &f->l, a, sizeof a, NULL), lb = list_layout(f, t, &twin, b, sizeof b, NULL);
    rk_txn_abort(t);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    f->l = twin;
    assert_int_equal(check(f), after);
}

/* ---- postings of one version ------------------------------------------------------------------------ */

#define SAME_N 120

static int by_sk_desc(const void *a, const void *b)
{
    return memcmp(((const rk_posting_new *)b)->sk, ((const rk_posting_new *)a)->sk, RK_SORT_KEY_LEN);
}

/* Many records share a version when the API publishes more than 1,000 a second: added one at a
 * time in list order (as the writer's batch order gives them), each is appended after the last entry
 * with one read of its sort key, never merged into the block; added in the reverse order, each is
 * merged. The lists hold the same postings either way. */
static void test_postings_same_version_in_list_order_appends(void **state)
{
    fixture *f = *state;
    static uint8_t sks[SAME_N][RK_SORT_KEY_LEN];
    rk_posting_new v[SAME_N];
    rk_error err;
    rk_txn *t = fx_begin(&f->s, true);
    for (size_t i = 0; i < SAME_N; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "same%zu", i);
        rk_record rec;
        fx_seal_case(&f->a, rid, 5000000, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, rid, &rec);
        rk_put_result res;
        uint64_t seq;
        assert_int_equal(rk_store_put(t, &rec, &res, &seq, &err), 0);
        assert_int_equal(res, RK_PUT_STORED);
        rk_put_be64(sks[i], ~UINT64_C(5000000));
        memcpy(sks[i] + 8, rec.hash, RK_HASH_LEN);
        v[i] = (rk_posting_new){.seq = seq, .sk = sks[i], .attr = 0};
        rk_record_free(&rec);
    }
    qsort(v, SAME_N, sizeof *v, by_sk_desc); /* oldest first: the list's order */
    rk_postings_list in_order, reversed;
    assert_true(rk_postings_token_list(&in_order, (const uint8_t *)"\xff\xfd", 2));
    assert_true(rk_postings_token_list(&reversed, (const uint8_t *)"\xff\xfc", 2));
    MDB_cursor *c = fx_cursor(t, RK_DB_TOKENS);
    for (size_t i = 0; i < SAME_N; i++) {
        rk_postings_cost cost = {0};
        assert_int_equal(rk_postings_list_add(t, c, &in_order, &v[i], 1, NULL, &cost, &err), 0);
        assert_int_equal(cost.merged_blocks, 0);
        assert_true(cost.change_reads <= 1);
    }
    size_t merged = 0;
    for (size_t i = SAME_N; i-- > 0;) {
        rk_postings_cost cost = {0};
        assert_int_equal(rk_postings_list_add(t, c, &reversed, &v[i], 1, NULL, &cost, &err), 0);
        merged += cost.merged_blocks;
    }
    assert_true(merged >= SAME_N - 1);
    /* both lists walk the records newest first, each once */
    static rk_postings_walk w;
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(rk_postings_list_walk_start(&w, t, c, pass ? &reversed : &in_order, NULL, &err), 0);
        rk_posting p;
        size_t i = SAME_N;
        int r;
        while ((r = rk_postings_walk_next(&w, &p, &err)) == 1) {
            assert_true(i > 0);
            i--;
            assert_int_equal(p.seq, v[i].seq);
            assert_memory_equal(p.sk, v[i].sk, RK_SORT_KEY_LEN);
        }
        assert_int_equal(r, 0);
        assert_int_equal(i, 0);
    }
    mdb_cursor_close(c);
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

static int setup_filter(void **state)
{
    setup(state);
    fixture *f = *state;
    assert_true(rk_postings_filter_list(&f->l, (const uint8_t *)FILTER, 3));
    f->db = RK_DB_INDEXES;
    return 0;
}

int main(void)
{
    return RK_RUN_TESTS(
        setup, teardown, cmocka_unit_test(test_postings_match_the_model),
        cmocka_unit_test_setup_teardown(test_postings_match_the_model, setup_filter, teardown),
        cmocka_unit_test(test_postings_late_records_merge_per_block),
        cmocka_unit_test(test_postings_merge_cuts_a_block_into_many),
        cmocka_unit_test(test_postings_spread_batch_writes_each_block_once),
        cmocka_unit_test(test_postings_late_postings_wait_in_a_side_list),
        cmocka_unit_test_setup_teardown(test_postings_late_postings_wait_in_a_side_list, setup_filter, teardown),
        cmocka_unit_test(test_postings_same_version_in_list_order_appends));
}
