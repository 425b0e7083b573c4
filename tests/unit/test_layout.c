/* Tests of the store's on-disk layout (lib/txn.c, lib/index.c, lib/storepages.c): a new store is
 * marked with its format and a store of another format is refused with a message that says what to
 * do; records published in version order fill the pages of the token lists (their postings are
 * appended) and of `records` (envelopes are kept by sequence number) instead of leaving them half or
 * two-thirds full, and full-text paging over those multi-page lists still returns every record once,
 * newest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "index.h"
#include "query.h"
#include "sign.h"
#include "store.h"
#include "storepages.h"

#define FORMAT_KEY "_format"

typedef struct fixture {
    char dir[64];
    char db[80];
    rk_store *store;
    rk_key *key;
    uint8_t pub[RK_KEY_LEN];
} fixture;

static int open_store(fixture *f, rk_error *err)
{
    rk_store_options o = {.dir = f->db, .no_sync = true};
    return rk_store_open(&o, &f->store, err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rk-test-layout-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    rk_error err;
    assert_int_equal(open_store(f, &err), 0);
    assert_int_equal(rk_key_generate(&f->key, &err), 0);
    rk_key_public(f->key, f->pub);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rk_store_close(f->store);
    rk_key_free(f->key);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", f->db);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", f->db);
    unlink(path);
    rmdir(f->db);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void seal_case(fixture *f, size_t i, uint64_t version, rk_record *out)
{
    char rid[32], title[96];
    snprintf(rid, sizeof rid, "layout-%zu", i);
    snprintf(title, sizeof title, "ロボット導入事例 %zu", i);
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Case c = RENKEI__CASE__INIT;
    r.author.data = f->pub;
    r.author.len = RK_KEY_LEN;
    r.rid = rid;
    r.version = version;
    r.kind = RENKEI__KIND__KIND_CASE;
    r.visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC;
    r.body_case = RENKEI__RECORD__BODY_CASE;
    r.case_ = &c;
    c.title = title;
    /* About 1.1 KB of envelope, as the records of the benchmarks: three fit in a page */
    char summary[1024];
    size_t len = 0;
    while (len + 120 < sizeof summary)
        len += (size_t)snprintf(summary + len, sizeof summary - len,
                                "品質管理の担当者が生産データを分析し、検査工程に"
                                "ロボットとAIを導入した。");
    c.summary = summary;
    c.prefecture = "17";
    c.industry = RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING;
    c.dx_level = RENKEI__DX_LEVEL__DX_LEVEL_EFFICIENCY;
    rk_error err;
    if (rk_record_seal(&r, f->key, out, &err) != 0)
        fail_msg("seal: %s (%s)", err.message, err.code);
}

/* Puts records first..first+n-1 (version 1000 + i) in transactions of `batch`, as the writer does;
 * returns the bytes of their envelopes. */
static size_t publish(fixture *f, size_t first, size_t n, size_t batch)
{
    size_t bytes = 0;
    rk_error err;
    for (size_t i = first; i < first + n; i += batch) {
        rk_txn *t;
        assert_int_equal(rk_txn_begin(f->store, true, &t, &err), 0);
        for (size_t j = i; j < first + n && j < i + batch; j++) {
            rk_record rec;
            seal_case(f, j, 1000 + j, &rec);
            rk_put_result res;
            assert_int_equal(rk_store_put(t, &rec, &res, NULL, &err), 0);
            assert_int_equal(res, RK_PUT_STORED);
            bytes += rec.env_len;
            rk_record_free(&rec);
        }
        assert_int_equal(rk_txn_commit(t, &err), 0);
    }
    return bytes;
}

/* Closes the store and writes its format mark with LMDB directly (removes it when format is 0), as
 * other code would have left it. */
static void write_format(fixture *f, uint64_t format)
{
    rk_store_close(f->store);
    f->store = NULL;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, f->db, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    uint8_t b[8];
    rk_put_be64(b, format);
    MDB_val k = {.mv_size = strlen(FORMAT_KEY), .mv_data = FORMAT_KEY}, v = {.mv_size = 8, .mv_data = b};
    assert_int_equal(format ? mdb_put(txn, meta, &k, &v, 0) : mdb_del(txn, meta, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_format_mark(void **state)
{
    fixture *f = *state;
    rk_error err;
    rk_txn *t;
    assert_int_equal(rk_txn_begin(f->store, false, &t, &err), 0);
    MDB_val v;
    assert_int_equal(rk_txn_get(t, RK_DB_META, FORMAT_KEY, strlen(FORMAT_KEY), &v, &err), 1);
    assert_int_equal(v.mv_size, 8);
    assert_int_equal(rk_get_be64(v.mv_data), 3);
    rk_txn_abort(t);
    publish(f, 0, 3, 3);

    /* A store of records without the mark was written by the format-1 code: refused, untouched. */
    write_format(f, 0);
    assert_int_equal(open_store(f, &err), -1);
    assert_null(f->store);
    assert_string_equal(err.code, "store_error");
    assert_non_null(strstr(err.message, "store format 1"));
    assert_non_null(strstr(err.message, "empty data_dir"));

    /* So is one marked with the format before this one, and a newer format. */
    write_format(f, 2);
    assert_int_equal(open_store(f, &err), -1);
    assert_non_null(strstr(err.message, "store format 2"));
    write_format(f, 4);
    assert_int_equal(open_store(f, &err), -1);
    assert_non_null(strstr(err.message, "store format 4"));

    /* Marked with this format again, it opens with its records. */
    write_format(f, 3);
    assert_int_equal(open_store(f, &err), 0);
    struct rk_store_counts c;
    assert_int_equal(rk_txn_begin(f->store, false, &t, &err), 0);
    assert_int_equal(rk_store_counts(t, &c, &err), 0);
    rk_txn_abort(t);
    assert_int_equal(c.current, 3);
}

typedef struct seen {
    uint64_t *versions;
    size_t n, cap;
} seen;

static int collect(const rk_record *rec, void *ctx)
{
    seen *s = ctx;
    assert_true(s->n < s->cap);
    s->versions[s->n++] = rec->msg->version;
    return 0;
}

#define N_PUBLISHED 3000

static void test_published_records_fill_their_pages(void **state)
{
    fixture *f = *state;
    size_t env_bytes = publish(f, 0, N_PUBLISHED, 30);
    rk_error err;
    rk_txn *t;
    assert_int_equal(rk_txn_begin(f->store, true, &t, &err), 0);
    assert_int_equal(rk_index_flush(t, &err), 0);
    assert_int_equal(rk_txn_commit(t, &err), 0);

    assert_int_equal(rk_txn_begin(f->store, false, &t, &err), 0);
    rk_storepages p;
    assert_int_equal(rk_storepages_read(t, &p, &err), 0);
    rk_txn_abort(t);
    size_t posting_bytes = p.entries[RK_DB_TOKENS] * RK_INDEX_TOKEN_VAL_LEN;
    size_t page_bytes = p.token_subtrees * p.page_size;
    print_message("%zu postings (%zu bytes) in %zu sub-tree pages (%zu bytes)\n", p.entries[RK_DB_TOKENS],
                  posting_bytes, p.token_subtrees, page_bytes);
    assert_true(p.entries[RK_DB_TOKENS] > 10 * (size_t)N_PUBLISHED);
    /* Appended postings fill each page before the next; an insert that splits full pages in halves
     * left them at about twice the postings' bytes. */
    assert_true(page_bytes * 4 <= posting_bytes * 5);
    /* Envelopes are appended too: each page holds as many as fit (a node adds 8 bytes of header and
     * 8 of key, and its pointer 2; a page has 16 bytes of header). Keyed by hash, they went to random
     * pages, which split when full and stood at about two thirds full. */
    size_t node = (env_bytes + N_PUBLISHED - 1) / N_PUBLISHED + 18;
    size_t full_pages = (N_PUBLISHED + (p.page_size - 16) / node - 1) / ((p.page_size - 16) / node);
    print_message("%zu envelopes of about %zu bytes in %zu pages (%zu if every page were full)\n", (size_t)N_PUBLISHED,
                  node - 18, p.pages[RK_DB_RECORDS], full_pages);
    assert_true(p.pages[RK_DB_RECORDS] * 10 <= full_pages * 11 + 20);
    /* Every record once, newest first, across pages of results and of the token lists. */
    seen s = {.versions = calloc(N_PUBLISHED, sizeof(uint64_t)), .cap = N_PUBLISHED};
    assert_non_null(s.versions);
    char cursor[RK_CURSOR_MAX] = "";
    do {
        char next[RK_CURSOR_MAX];
        rk_query q = {.q = "ロボット", .max_visibility = RENKEI__VISIBILITY__VISIBILITY_PUBLIC, .limit = 97};
        q.cursor = cursor[0] ? cursor : NULL;
        assert_int_equal(rk_txn_begin(f->store, false, &t, &err), 0);
        assert_int_equal(rk_store_query(t, &q, collect, &s, next, &err), 0);
        rk_txn_abort(t);
        memcpy(cursor, next, sizeof cursor);
    } while (cursor[0]);
    assert_int_equal(s.n, N_PUBLISHED);
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(s.versions[i], 1000 + N_PUBLISHED - 1 - i);
    free(s.versions);
}

int main(void)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_mark),
        cmocka_unit_test(test_published_records_fill_their_pages),
    };
    return FX_RUN_TESTS(tests, setup, teardown);
}
