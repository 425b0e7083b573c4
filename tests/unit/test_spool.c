/* test_spool: large response bodies on disk (lib/spool.c) and the exports that use it (lib/export.c).
 * The spool's budget refuses with export_busy and frees with the last reference, a key names one file
 * and is found while held, nothing keeps a name in the directory; every export rendered through a
 * spool (in pieces, for the CSV and the calendar) is byte for byte the body rendered in memory, a
 * second request with the same ETag shares the file, and a full spool is a 503. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "export.h"
#include "fixture.h"
#include "run_tests.h"
#include "spool.h"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rk-test-spool-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

/* Names left in dir (the spool's files are unlinked as soon as they are made). */
static int names_in(const char *d)
{
    DIR *h = opendir(d);
    assert_non_null(h);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(h)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(h);
    return n;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static rk_spool_file *spool_text(rk_spool *s, const char *key, const char *text, size_t times)
{
    rk_error err;
    rk_spool_writer *w = rk_spool_begin(s, &err);
    assert_non_null(w);
    for (size_t i = 0; i < times; i++)
        assert_int_equal(rk_spool_write(w, text, strlen(text), &err), 0);
    rk_spool_file *f = rk_spool_finish(w, key, "note", &err);
    assert_non_null(f);
    return f;
}

static void test_files_shared_by_key_and_freed_with_the_last_reference(void **state)
{
    (void)state;
    rk_error err;
    rk_spool *s = rk_spool_new(dir, 1 << 20, &err);
    assert_non_null(s);
    rk_spool_file *a = spool_text(s, "k1", "0123456789", 1000);
    assert_int_equal(rk_spool_file_size(a), 10000);
    assert_string_equal(rk_spool_file_note(a), "note");
    assert_int_equal(rk_spool_used(s), 10000);
    char buf[10];
    assert_int_equal(rk_spool_file_read(a, 9995, buf, 5), 0);
    assert_memory_equal(buf, "56789", 5);
    assert_int_equal(rk_spool_file_read(a, 9995, buf, 10), -1); /* past the end */
    assert_int_equal(names_in(dir), 0);

    rk_spool_file *b = rk_spool_find(s, "k1");
    assert_ptr_equal(b, a);
    assert_null(rk_spool_find(s, "k2"));
    /* a second rendering of the same key gives the first file, and its bytes are not counted twice */
    rk_spool_file *c = spool_text(s, "k1", "x", 5000);
    assert_ptr_equal(c, a);
    assert_int_equal(rk_spool_used(s), 10000);
    rk_spool_file_unref(b);
    rk_spool_file_unref(c);
    assert_ptr_equal(rk_spool_find(s, "k1"), a);
    rk_spool_file_unref(a);
    rk_spool_file_unref(a); /* the last one: gone from the table and from the budget */
    assert_null(rk_spool_find(s, "k1"));
    assert_int_equal(rk_spool_used(s), 0);

    /* the owner may let go first: a file being sent keeps the spool */
    rk_spool_file *d = spool_text(s, "k3", "abc", 3);
    rk_spool_release(s);
    assert_int_equal(rk_spool_file_read(d, 0, buf, 9), 0);
    assert_memory_equal(buf, "abcabcabc", 9);
    rk_spool_file_unref(d);
}

static void test_budget_refuses_with_export_busy(void **state)
{
    (void)state;
    rk_error err;
    rk_spool *s = rk_spool_new(dir, 1000, &err);
    assert_non_null(s);
    rk_spool_writer *w = rk_spool_begin(s, &err);
    assert_non_null(w);
    char block[600];
    memset(block, 'a', sizeof block);
    assert_int_equal(rk_spool_write(w, block, sizeof block, &err), 0);
    rk_spool_writer *w2 = rk_spool_begin(s, &err);
    assert_non_null(w2);
    assert_int_equal(rk_spool_write(w2, block, sizeof block, &err), -1);
    assert_string_equal(err.code, "export_busy");
    rk_spool_abandon(w2);
    rk_spool_file *f = rk_spool_finish(w, "k", "", &err);
    assert_non_null(f);
    assert_int_equal(rk_spool_write(w = rk_spool_begin(s, &err), block, 400, &err), 0);
    /* full: not even a start */
    assert_null(rk_spool_begin(s, &err));
    assert_string_equal(err.code, "export_busy");
    rk_spool_abandon(w);
    rk_spool_file_unref(f);
    assert_int_equal(rk_spool_used(s), 0);
    w = rk_spool_begin(s, &err);
    assert_non_null(w);
    assert_int_equal(rk_spool_write(w, block, sizeof block, &err), 0);
    rk_spool_abandon(w);
    rk_spool_release(s);
}

static void test_leftover_names_are_removed(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/export-left", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(names_in(dir), 1);
    rk_error err;
    rk_spool *s = rk_spool_new(dir, 1 << 20, &err);
    assert_non_null(s);
    assert_int_equal(names_in(dir), 0);
    rk_spool_release(s);
}

/* ----------------------------------------------------------------------------- the exports */

#define CASES 400
#define EVENTS 300

static void seal_event(const fx_author *a, const char *rid, uint64_t version, const char *text, int day, rk_record *out)
{
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Event e = RENKEI__EVENT__INIT;
    char starts[40], ends[40];
    snprintf(starts, sizeof starts, "2031-%02d-%02dT10:00:00+09:00", day % 12 + 1, day % 28 + 1);
    snprintf(ends, sizeof ends, "2031-%02d-%02dT12:00:00+09:00", day % 12 + 1, day % 28 + 1);
    fx_body(&r, RENKEI__KIND__KIND_EVENT, &e);
    e.title = (char *)rid;
    e.summary = (char *)text;
    e.event_type = RENKEI__EVENT_TYPE__EVENT_TYPE_SEMINAR;
    e.starts_at = starts;
    e.ends_at = ends;
    e.format = RENKEI__EVENT_FORMAT__EVENT_FORMAT_ONLINE;
    e.prefecture = "01";
    fx_seal(a, &r, rid, version, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, out);
}

/* A store whose CSV and calendar are several spool pieces long (about 1 MiB each). */
static void fill(fx_store *st)
{
    fx_author a;
    fx_author_init(&a);
    char title[2100];
    size_t n = 0;
    while (n + 40 < 2000)
        n += (size_t)snprintf(title + n, sizeof title - n, "地域のDX人材育成、\"連携\";事例 ");
    rk_txn *t = fx_begin(st, true);
    rk_error err;
    for (int i = 0; i < CASES + EVENTS; i++) {
        char rid[32];
        rk_record rec;
        snprintf(rid, sizeof rid, "r%d", i);
        if (i < CASES)
            fx_seal_case_text(&a, rid, 1700000000000ull + (uint64_t)i, RENKEI__VISIBILITY__VISIBILITY_PUBLIC, rid,
                              title, &rec);
        else
            seal_event(&a, rid, 1700000000000ull + (uint64_t)i, title, i, &rec);
        rk_put_result res;
        assert_int_equal(rk_store_put(t, &rec, &res, NULL, &err), 0);
        rk_record_free(&rec);
    }
    assert_int_equal(rk_txn_commit(t, &err), 0);
    fx_author_free(&a);
}

static void serve(fx_store *st, const char *name, const char *query, const char *inm, rk_spool *spool,
                  rk_export_response *out)
{
    rk_feed_meta m = {.node_name = "全国事務局", .base_url = "https://renkei.example.jp"};
    rk_txn *t = fx_begin(st, false);
    assert_int_equal(rk_export_serve(t, name, query, inm, NULL, &m, spool, out), 0);
    rk_txn_abort(t);
}

static void free_response(rk_export_response *r)
{
    rk_buf_free(&r->body);
    rk_buf_free(&r->headers);
    rk_spool_file_unref(r->file);
}

static void test_spooled_exports_are_the_bodies_rendered_whole(void **state)
{
    (void)state;
    fx_store st;
    fx_store_open(&st, "spool", 0);
    fill(&st);
    rk_error err;
    rk_spool *s = rk_spool_new(dir, 64 << 20, &err);
    assert_non_null(s);
    static const char *const names[] = {"records.csv", "events.ics", "events.jsonld", "feed.atom", "feed.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *q = strncmp(names[i], "feed", 4) == 0 ? "limit=500" : NULL;
        rk_export_response whole, spooled;
        serve(&st, names[i], q, NULL, NULL, &whole);
        assert_int_equal(whole.status, 200);
        assert_null(whole.file);
        assert_true(whole.body.len > (512u << 10)); /* two spool pieces at least */
        serve(&st, names[i], q, NULL, s, &spooled);
        assert_int_equal(spooled.status, 200);
        assert_non_null(spooled.file);
        assert_int_equal(spooled.body.len, 0);
        assert_string_equal(spooled.etag, whole.etag);
        assert_string_equal(spooled.last_modified, whole.last_modified);
        assert_string_equal(spooled.headers.data ? spooled.headers.data : "",
                            whole.headers.data ? whole.headers.data : "");
        assert_int_equal(rk_spool_file_size(spooled.file), whole.body.len);
        char *back = malloc(whole.body.len);
        assert_non_null(back);
        assert_int_equal(rk_spool_file_read(spooled.file, 0, back, whole.body.len), 0);
        assert_memory_equal(back, whole.body.data, whole.body.len);
        free(back);
        /* while it is held, the same request shares the file; If-None-Match still costs nothing */
        rk_export_response again, cond;
        serve(&st, names[i], q, NULL, s, &again);
        assert_ptr_equal(again.file, spooled.file);
        assert_string_equal(again.last_modified, whole.last_modified);
        assert_string_equal(again.headers.data ? again.headers.data : "", whole.headers.data ? whole.headers.data : "");
        serve(&st, names[i], q, whole.etag, s, &cond);
        assert_int_equal(cond.status, 304);
        assert_null(cond.file);
        free_response(&whole);
        free_response(&spooled);
        free_response(&again);
        free_response(&cond);
        assert_int_equal(rk_spool_used(s), 0);
    }
    /* a small answer stays in memory */
    rk_export_response small;
    serve(&st, "feed.json", "limit=1", NULL, s, &small);
    assert_int_equal(small.status, 200);
    assert_null(small.file);
    assert_true(small.body.len > 0);
    free_response(&small);
    rk_spool_release(s);

    /* a spool too small for the CSV: 503 export_busy, nothing held */
    s = rk_spool_new(dir, 1 << 20, &err);
    assert_non_null(s);
    rk_export_response busy;
    serve(&st, "records.csv", NULL, NULL, s, &busy);
    assert_int_equal(busy.status, 503);
    assert_string_equal(busy.err.code, "export_busy");
    assert_null(busy.file);
    assert_int_equal(rk_spool_used(s), 0);
    free_response(&busy);
    rk_spool_release(s);

    /* the Atom page moves its entries to the spool while they are rendered: refused the same way */
    s = rk_spool_new(dir, 256 << 10, &err);
    assert_non_null(s);
    serve(&st, "feed.atom", "limit=500", NULL, s, &busy);
    assert_int_equal(busy.status, 503);
    assert_string_equal(busy.err.code, "export_busy");
    assert_null(busy.file);
    assert_int_equal(busy.body.len, 0);
    assert_int_equal(rk_spool_used(s), 0);
    free_response(&busy);
    rk_spool_release(s);
    assert_int_equal(names_in(dir), 0);
    fx_store_close(&st);
}

int main(void)
{
    return RK_RUN_TESTS(
        make_dir, remove_dir, cmocka_unit_test(test_files_shared_by_key_and_freed_with_the_last_reference),
        cmocka_unit_test(test_budget_refuses_with_export_busy), cmocka_unit_test(test_leftover_names_are_removed),
        cmocka_unit_test(test_spooled_exports_are_the_bodies_rendered_whole));
}
