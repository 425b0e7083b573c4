/* Tests of the store's on-disk layout (lib/txn.c, lib/postings.c, lib/storepages.c): a new store is
 * marked with its format and a store of another format is refused with a message that says what to
 * do, a store of the format before this one (whose token lists were DUPSORT) included; the token lists
 * of records published in version order take a few bytes per posting (delta-coded sequence numbers in
 * blocks) where a posting took 24 bytes and more, and so do the filter lists of `indexes`, where a
 * posting was a key of 45 to 75 bytes in half-full pages; envelopes fill the pages of `records` (kept by
 * sequence number) instead of leaving them two-thirds full; and full-text paging over lists of many
 * blocks still returns every record once, newest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "index.h"
#include "query.h"
#include "run_tests.h"
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
    static const char *const prefs[4] = {"17", "34", "41", "23"};
    c.prefecture = (char *)prefs[i % 4];
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
    assert_int_equal(rk_get_be64(v.mv_data), 8);
    rk_txn_abort(t);
    publish(f, 0, 3, 3);

    /* A store of records without the mark was written by the format-1 code: refused, untouched. */
    write_format(f, 0);
    assert_int_equal(open_store(f, &err), -1);
    assert_null(f->store);
    assert_string_equal(err.code, "store_error");
    assert_non_null(strstr(err.message, "store format 1"));
    assert_non_null(strstr(err.message, "empty data_dir"));

    /* So are ones marked with the formats before this one, and a newer format. */
    write_format(f, 2);
    assert_int_equal(open_store(f, &err), -1);
    assert_non_null(strstr(err.message, "store format 2"));
    write_format(f, 3);
    assert_int_equal(open_store(f, &err), -1);
    assert_non_null(strstr(err.message, "store format 3"));
    assert_non_null(strstr(err.message, "empty data_dir"));
    for (int old = 4; old <= 5; old++) {
        char name[32];
        snprintf(name, sizeof name, "store format %d", old);
        write_format(f, (uint64_t)old);
        assert_int_equal(open_store(f, &err), -1);
        assert_non_null(strstr(err.message, name));
        assert_non_null(strstr(err.message, "empty data_dir"));
    }
    write_format(f, 9);
    assert_int_equal(open_store(f, &err), -1);
    assert_non_null(strstr(err.message, "store format 9"));

    /* Formats 6 and 7 are format 8 with fingerprint buckets it does not read (and, for 6, without late
     * postings in side lists): they open, marked 8 from then on. */
    for (int older = 6; older <= 7; older++) {
        write_format(f, (uint64_t)older);
        assert_int_equal(open_store(f, &err), 0);
        assert_int_equal(rk_txn_begin(f->store, false, &t, &err), 0);
        assert_int_equal(rk_txn_get(t, RK_DB_META, FORMAT_KEY, strlen(FORMAT_KEY), &v, &err), 1);
        assert_int_equal(rk_get_be64(v.mv_data), 8);
        rk_txn_abort(t);
    }

    /* Marked with this format again, it opens with its records. */
    write_format(f, 8);
    assert_int_equal(open_store(f, &err), 0);
    struct rk_store_counts c;
    assert_int_equal(rk_txn_begin(f->store, false, &t, &err), 0);
    assert_int_equal(rk_store_counts(t, &c, &err), 0);
    rk_txn_abort(t);
    assert_int_equal(c.current, 3);
}

/* A store in format 3's layout: "tokens" a DUPSORT database of 24-byte postings, one change, the mark.
 * Opening it is refused with the format's message (not an LMDB error about the database's flags) and
 * leaves it as it was. */
static void test_format_3_store_is_refused(void **state)
{
    fixture *f = *state;
    char old[96];
    snprintf(old, sizeof old, "%s/old", f->dir);
    assert_int_equal(mkdir(old, 0700), 0);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi tokens, meta, changes;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, old, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "tokens", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &tokens), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "changes", MDB_CREATE, &changes), 0);
    uint8_t posting[24] = {0}, mark[8], seq[8], change[32 + 8 + 32 + 2 + 1] = {0};
    MDB_val k = {.mv_size = 2, .mv_data = "ai"}, v = {.mv_size = sizeof posting, .mv_data = posting};
    for (int i = 0; i < 2; i++) {
        posting[0] = (uint8_t)i;
        assert_int_equal(mdb_put(txn, tokens, &k, &v, 0), 0);
    }
    rk_put_be64(mark, 3);
    k = (MDB_val){.mv_size = strlen(FORMAT_KEY), .mv_data = FORMAT_KEY};
    v = (MDB_val){.mv_size = sizeof mark, .mv_data = mark};
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    rk_put_be64(seq, 1);
    k = (MDB_val){.mv_size = sizeof seq, .mv_data = seq};
    v = (MDB_val){.mv_size = sizeof change, .mv_data = change};
    assert_int_equal(mdb_put(txn, changes, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    rk_store_options o = {.dir = old, .no_sync = true};
    rk_store *s = NULL;
    rk_error err;
    assert_int_equal(rk_store_open(&o, &s, &err), -1);
    assert_null(s);
    assert_string_equal(err.code, "store_error");
    assert_non_null(strstr(err.message, "store format 3"));
    assert_non_null(strstr(err.message, "empty data_dir"));

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, old, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "tokens", 0, &tokens), 0);
    unsigned flags;
    assert_int_equal(mdb_dbi_flags(txn, tokens, &flags), 0);
    assert_true(flags & MDB_DUPSORT);
    MDB_cursor *c;
    size_t dups;
    assert_int_equal(mdb_cursor_open(txn, tokens, &c), 0);
    k = (MDB_val){.mv_size = 2, .mv_data = "ai"};
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_SET), 0);
    assert_int_equal(mdb_cursor_count(c, &dups), 0);
    assert_int_equal(dups, 2);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", old);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", old);
    unlink(path);
    rmdir(old);
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

/* The postings in "tokens": the sum of the counts of every token listed there. */
static size_t count_postings(fixture *f)
{
    rk_error err;
    rk_txn *t;
    assert_int_equal(rk_txn_begin(f->store, false, &t, &err), 0);
    MDB_cursor *c = fx_cursor(t, RK_DB_TOKENS), *counter = fx_cursor(t, RK_DB_TOKENS);
    uint8_t last[1 + RK_POSTINGS_TOKEN_MAX] = {0};
    size_t total = 0;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *key = k.mv_data;
        assert_true(k.mv_size > 1u + key[0]);
        if (memcmp(key, last, 1u + key[0]) == 0)
            continue; /* another block of the same token */
        memcpy(last, key, 1u + key[0]);
        uint64_t n;
        assert_int_equal(rk_postings_count(t, counter, key + 1, key[0], &n, &err), 0);
        total += n;
    }
    mdb_cursor_close(counter);
    mdb_cursor_close(c);
    rk_txn_abort(t);
    return total;
}

/* The postings of the filter lists in "indexes": the sum of the counts of every list ('a', 'f'). */
static size_t count_filter_postings(fixture *f)
{
    rk_error err;
    rk_txn *t;
    assert_int_equal(rk_txn_begin(f->store, false, &t, &err), 0);
    MDB_txn *txn = rk_txn_mdb(t, &err);
    assert_non_null(txn);
    MDB_cursor *c = fx_cursor(t, RK_DB_INDEXES);
    rk_index_prefix last = {.len = 0};
    size_t total = 0, lists = 0;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *key = k.mv_data;
        if (key[0] != RK_INDEX_TAG_ALL && key[0] != 'f')
            continue;
        assert_true(k.mv_size > 16 && k.mv_size - 16 <= RK_INDEX_PREFIX_MAX);
        if (last.len == k.mv_size - 16 && memcmp(last.b, key, last.len) == 0)
            continue; /* another block of the same list */
        last.len = k.mv_size - 16;
        memcpy(last.b, key, last.len);
        uint64_t n;
        assert_int_equal(rk_index_count(t, txn, &last, &n, &err), 0);
        total += n;
        lists++;
    }
    mdb_cursor_close(c);
    rk_txn_abort(t);
    /* 'a', kind, author, industry, DX level and four prefectures */
    assert_int_equal(lists, 9);
    return total;
}

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
    size_t postings = count_postings(f), token_bytes = p.pages[RK_DB_TOKENS] * p.page_size;
    print_message("%zu postings in %zu blocks and %zu pages (%.2f bytes per posting)\n", postings,
                  p.entries[RK_DB_TOKENS], p.pages[RK_DB_TOKENS], (double)token_bytes / (double)postings);
    assert_true(postings > 10 * (size_t)N_PUBLISHED);
    assert_int_equal(p.unaccounted, 0);
    /* A posting is a delta-coded sequence number, one byte here (every record has these tokens), in
     * blocks of a few hundred; with the blocks' keys and LMDB's pages, under 3 bytes. As 24-byte
     * duplicates it took 24 bytes in full pages and 48 in half-full ones. */
    assert_true(token_bytes <= 3 * postings);
    /* The filter lists likewise: every record is in six of them ('a', kind, author, prefecture,
     * industry, DX level), each posting a delta-coded sequence number and its visibility, one byte
     * here. As a key per posting (prefix and sort key) they took 45 to 75 bytes in half-full pages. */
    size_t filter_postings = count_filter_postings(f), index_bytes = p.pages[RK_DB_INDEXES] * p.page_size;
    print_message("%zu filter postings in %zu blocks and %zu pages (%.2f bytes per posting)\n", filter_postings,
                  p.entries[RK_DB_INDEXES], p.pages[RK_DB_INDEXES], (double)index_bytes / (double)filter_postings);
    assert_int_equal(filter_postings, 6 * (size_t)N_PUBLISHED);
    assert_true(index_bytes <= 3 * filter_postings);
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
    return RK_RUN_TESTS(setup, teardown, cmocka_unit_test(test_format_mark),
                        cmocka_unit_test(test_format_3_store_is_refused),
                        cmocka_unit_test(test_published_records_fill_their_pages));
}
