/* test_feed_stream: the feed pages the export renders from the store's walk, a piece at a time
 * (lib/export.c, lib/feed.c), are byte for byte the pages rendered whole (rk_feed_atom, rk_feed_json)
 * from the same records: for an empty store, one record, and a store with version ties between two
 * authors and a deleted record, at page sizes 1, 2, 7, the whole store and past it, following the next
 * links to the last page, in memory and through a spool (several pieces). The JSON Feed is also
 * jansson's own dump of the tree it parses to, whatever the number of items (none included).
 */
#include "fixture.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "jsonlist.h"
#include "run_tests.h"
#include "spool.h"

#define BASE "https://renkei.example.jp"
#define PAIRS 24 /* two records of each version, one per author */

typedef struct fixture {
    fx_store st;
    fx_author a[2];
    rk_record live[2 * PAIRS + 1]; /* what the store serves, newest first once sorted */
    size_t n_live;
    char dir[64];
    rk_spool *spool;
} fixture;

static int setup(void **state)
{
    fixture *f = fx_state_new(state, sizeof *f);
    fx_author_init(&f->a[0]);
    fx_author_init(&f->a[1]);
    snprintf(f->dir, sizeof f->dir, "/tmp/rk-test-feedstream-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    rk_error err;
    f->spool = rk_spool_new(f->dir, 64u << 20, &err);
    return f->spool ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rk_spool_release(f->spool);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    fx_author_free(&f->a[0]);
    fx_author_free(&f->a[1]);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void put(fx_store *st, rk_record *rec)
{
    rk_txn *t = fx_begin(st, true);
    rk_error err;
    rk_put_result res;
    assert_int_equal(rk_store_put(t, rec, &res, NULL, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);
}

/* The store's order (query.h): newest version first, ties by hash, lowest first. */
static int store_order(const void *x, const void *y)
{
    const rk_record *a = x, *b = y;
    if (a->msg->version != b->msg->version)
        return a->msg->version < b->msg->version ? 1 : -1;
    return memcmp(a->hash, b->hash, RK_HASH_LEN);
}

/* count live cases (count 0: none) in a new store; with more than one, pairs share a version and a
 * further case is deleted, so the store holds a tombstone the feed must leave out. Each case carries
 * about 12 KB of text, so the whole store is several spool pieces. */
static void fill(fixture *f, size_t count)
{
    fx_store_open(&f->st, "feedstream", 0);
    static char text[12600];
    size_t len = 0;
    while (len + 64 < sizeof text - 64)
        len += (size_t)snprintf(text + len, sizeof text - len, "地域のDX人材育成 <連携> & \"事例\" %zu\n", len);
    for (size_t i = 0; i < count; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "c%zu", i);
        fx_seal_case_text(&f->a[i % 2], rid, 1700000000000ull + i / 2, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, rid, text,
                          &f->live[i]);
        put(&f->st, &f->live[i]);
    }
    f->n_live = count;
    if (count > 1) {
        rk_record gone, tomb;
        fx_seal_case(&f->a[0], "gone", 1700000000000ull + count, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, "消える",
                     &gone);
        put(&f->st, &gone);
        fx_seal_tombstone(&f->a[0], "gone", 1700000000000ull + count + 1, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, &tomb);
        put(&f->st, &tomb);
        FX_FREE_RECORDS(&gone, &tomb);
    }
    qsort(f->live, f->n_live, sizeof f->live[0], store_order);
}

static void unfill(fixture *f)
{
    fx_record_array_free(f->live, f->n_live);
    fx_store_close(&f->st);
}

/* The export's body, from memory or read back from its spool file. */
static void body_of(rk_export_response *r, rk_buf *out)
{
    rk_buf_reset(out);
    if (!r->file) {
        assert_int_equal(rk_buf_append(out, r->body.data ? r->body.data : "", r->body.len), 0);
        return;
    }
    size_t n = (size_t)rk_spool_file_size(r->file);
    assert_int_equal(rk_buf_reserve(out, n), 0);
    assert_int_equal(rk_spool_file_read(r->file, 0, out->data, n), 0);
    out->len = n;
}

/* The next page's URL from the response's Link header ("" on the last page). */
static void next_link(const rk_export_response *r, char *out, size_t size)
{
    out[0] = '\0';
    const char *h = r->headers.data ? strstr(r->headers.data, "Link: <") : NULL;
    if (!h)
        return;
    h += strlen("Link: <");
    const char *end = strchr(h, '>');
    assert_non_null(end);
    assert_true((size_t)(end - h) < size);
    memcpy(out, h, (size_t)(end - h));
    out[end - h] = '\0';
}

/* The JSON Feed is what jansson writes for the tree it parses to. */
static void expect_jansson_dump(const rk_buf *body)
{
    json_error_t jerr;
    json_t *j = json_loadb(body->data, body->len, 0, &jerr);
    if (!j)
        fail_msg("not JSON: %s at %d", jerr.text, jerr.position);
    rk_buf again;
    rk_buf_init(&again);
    assert_int_equal(rk_jsonlist_document(j, &again), 0);
    assert_int_equal(again.len, body->len);
    assert_memory_equal(again.data, body->data, body->len);
    rk_buf_free(&again);
    json_decref(j);
}

/* Every page of name at page size limit equals the whole rendering of its slice of f->live. */
static void expect_pages(fixture *f, const char *name, size_t limit, rk_spool *spool)
{
    bool json = strcmp(name, "feed.json") == 0;
    char self[512], next[512], query[128];
    snprintf(self, sizeof self, BASE "/v1/export/%s?limit=%zu", name, limit);
    rk_buf body, whole;
    rk_buf_init(&body);
    rk_buf_init(&whole);
    size_t from = 0, pages = 0;
    for (;;) {
        const char *cursor = strstr(self, "cursor=");
        snprintf(query, sizeof query, "limit=%zu%s%s", limit, cursor ? "&" : "", cursor ? cursor : "");
        rk_feed_meta m = {.node_name = "全国事務局", .base_url = BASE, .node_key = f->a[0].pub};
        rk_export_response r;
        rk_txn *t = fx_begin(&f->st, false);
        assert_int_equal(rk_export_serve(t, name, query, NULL, NULL, &m, spool, &r), 0);
        rk_txn_abort(t);
        assert_int_equal(r.status, 200);
        body_of(&r, &body);
        next_link(&r, next, sizeof next);

        size_t n = f->n_live - from < limit ? f->n_live - from : limit;
        const rk_record *slice[2 * PAIRS + 1];
        for (size_t i = 0; i < n; i++)
            slice[i] = &f->live[from + i];
        m.self_url = self;
        m.next_url = next[0] ? next : NULL;
        rk_buf_reset(&whole);
        assert_int_equal(json ? rk_feed_json(slice, n, &m, &whole) : rk_feed_atom(slice, n, &m, &whole), 0);
        if (body.len != whole.len || memcmp(body.data, whole.data, body.len) != 0)
            fail_msg("%s limit=%zu page %zu (%s): %zu bytes streamed, %zu whole", name, limit, pages,
                     spool ? "spool" : "memory", body.len, whole.len);
        if (json)
            expect_jansson_dump(&body);
        rk_buf_free(&r.body);
        rk_buf_free(&r.headers);
        rk_spool_file_unref(r.file);
        from += n;
        pages++;
        if (!next[0])
            break;
        snprintf(self, sizeof self, "%s", next);
    }
    assert_int_equal(from, f->n_live);
    rk_buf_free(&body);
    rk_buf_free(&whole);
}

static void expect_every_page_size(fixture *f)
{
    const size_t limits[] = {1, 2, 7, f->n_live ? f->n_live : 1, 2 * PAIRS + 5};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        for (int s = 0; s < 2; s++) {
            expect_pages(f, "feed.atom", limits[i], s ? f->spool : NULL);
            expect_pages(f, "feed.json", limits[i], s ? f->spool : NULL);
        }
    assert_int_equal(rk_spool_used(f->spool), 0);
}

static void test_empty_feed(void **state)
{
    fixture *f = *state;
    fill(f, 0);
    expect_every_page_size(f);
    unfill(f);
}

static void test_one_record(void **state)
{
    fixture *f = *state;
    fill(f, 1);
    expect_every_page_size(f);
    unfill(f);
}

static void test_ties_and_a_tombstone(void **state)
{
    fixture *f = *state;
    fill(f, 2 * PAIRS);
    /* the whole store is several spool pieces in either format */
    rk_buf whole;
    rk_buf_init(&whole);
    const rk_record *all[2 * PAIRS];
    for (size_t i = 0; i < f->n_live; i++)
        all[i] = &f->live[i];
    rk_feed_meta m = {.node_name = "全国事務局", .base_url = BASE};
    assert_int_equal(rk_feed_json(all, f->n_live, &m, &whole), 0);
    assert_true(whole.len > 2 * (256u << 10));
    rk_buf_free(&whole);
    expect_every_page_size(f);
    unfill(f);
}

int main(void)
{
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_empty_feed), cmocka_unit_test(test_one_record),
                        cmocka_unit_test(test_ties_and_a_tombstone));
}
