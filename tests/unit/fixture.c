/* fixture: the shared setup of the unit tests (see fixture.h). Errors fail the running test at once:
 * a fixture that half worked would only make the test's own failure harder to read. */
#define _XOPEN_SOURCE 700
#include "fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "validate.h"

static void open_at(fx_store *s, size_t map_size)
{
    rk_error err;
    rk_store_options o = {.dir = s->db, .map_size = map_size, .no_sync = true};
    if (rk_store_open(&o, &s->store, &err) != 0)
        fail_msg("open the store in %s: %s %s", s->db, err.code, err.message);
}

static void make_dir(char dir[64], const char *name)
{
    snprintf(dir, 64, "/tmp/rk-test-%s-XXXXXX", name);
    assert_non_null(mkdtemp(dir));
}

void fx_store_open(fx_store *s, const char *name, size_t map_size)
{
    memset(s, 0, sizeof *s);
    make_dir(s->dir, name);
    snprintf(s->db, sizeof s->db, "%s/db", s->dir);
    open_at(s, map_size);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything below it, deepest first; a directory already gone is no error. */
static void remove_tree(const char *dir)
{
    if (access(dir, F_OK) == 0)
        assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

void fx_tempfile_make(fx_tempfile *t, const char *name, const char *file)
{
    make_dir(t->dir, name);
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, file);
}

void fx_tempfile_remove(fx_tempfile *t)
{
    remove_tree(t->dir);
}

rk_key *fx_key_from_pem(const char *pem, size_t len)
{
    fx_tempfile t;
    fx_tempfile_make(&t, "key", "node.key");
    FILE *f = fopen(t.path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(pem, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(t.path, 0600), 0);
    rk_key *key = NULL;
    rk_error err;
    if (rk_key_load(t.path, &key, &err) != 0)
        fail_msg("load the key: %s %s", err.code, err.message);
    fx_tempfile_remove(&t);
    return key;
}

void fx_store_reopen(fx_store *s, size_t map_size, bool wipe)
{
    rk_store_close(s->store);
    s->store = NULL;
    if (wipe)
        remove_tree(s->db);
    open_at(s, map_size);
}

void fx_store_close(fx_store *s)
{
    if (s->store)
        rk_store_close(s->store);
    s->store = NULL;
    remove_tree(s->dir);
}

int fx_store_setup(void **state)
{
    fx_store *s = calloc(1, sizeof *s);
    assert_non_null(s);
    fx_store_open(s, "store", 0);
    *state = s;
    return 0;
}

int fx_store_teardown(void **state)
{
    fx_store_close(*state);
    free(*state);
    return 0;
}

int fx_store_author_setup(void **state)
{
    fx_store_author *f = fx_state_new(state, sizeof *f);
    fx_store_open(&f->s, "store", 0);
    fx_author_init(&f->a);
    return 0;
}

int fx_store_author_teardown(void **state)
{
    fx_store_author *f = *state;
    fx_store_close(&f->s);
    fx_author_free(&f->a);
    free(f);
    return 0;
}

rk_txn *fx_begin(const fx_store *s, bool write)
{
    rk_error err;
    rk_txn *t = NULL;
    if (rk_txn_begin(s->store, write, &t, &err) != 0)
        fail_msg("begin a transaction: %s %s", err.code, err.message);
    return t;
}

MDB_cursor *fx_cursor(rk_txn *t, rk_db db)
{
    MDB_cursor *c = NULL;
    rk_error err;
    if (rk_txn_cursor(t, db, &c, "test", &err) != 0)
        fail_msg("open a cursor on %s: %s %s", rk_txn_db_name(db), err.code, err.message);
    return c;
}

void fx_author_init(fx_author *a)
{
    rk_error err;
    assert_int_equal(rk_key_generate(&a->key, &err), 0);
    rk_key_public(a->key, a->pub);
}

void fx_author_free(fx_author *a)
{
    rk_key_free(a->key);
    a->key = NULL;
}

void fx_seal(const fx_author *a, Renkei__Record *r, const char *rid, uint64_t version, int vis, rk_record *out)
{
    r->author.data = (uint8_t *)a->pub;
    r->author.len = RK_KEY_LEN;
    r->rid = (char *)rid;
    r->version = version;
    r->visibility = vis;
    rk_error err;
    if (rk_record_seal(r, a->key, out, &err) != 0)
        fail_msg("seal %s: %s %s %s", rid, err.code, err.field, err.message);
}

void fx_body(Renkei__Record *r, Renkei__Kind kind, void *body)
{
    /* the rule lib/validate.c checks: a record's body is the oneof field named after its kind */
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name(&renkei__record__descriptor, rk_kind_name(kind));
    if (!field || !field->quantifier_offset)
        fail_msg("kind %d names no body field of Record", (int)kind);
    r->kind = kind;
    r->body_case = (Renkei__Record__BodyCase)field->id;
    memcpy((char *)r + field->offset, &body, sizeof body);
}

void fx_seal_case(const fx_author *a, const char *rid, uint64_t version, int vis, const char *title, rk_record *out)
{
    fx_seal_case_text(a, rid, version, vis, title, "品質管理の社員をロボット導入の担当に育成した。", out);
}

void fx_seal_case_text(const fx_author *a, const char *rid, uint64_t version, int vis, const char *title,
                       const char *summary, rk_record *out)
{
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Case c = RENKEI__CASE__INIT;
    fx_body(&r, RENKEI__KIND__KIND_CASE, &c);
    c.title = (char *)title;
    c.summary = (char *)summary;
    c.prefecture = "17";
    c.industry = RENKEI__INDUSTRY__INDUSTRY_MANUFACTURING;
    c.dx_level = RENKEI__DX_LEVEL__DX_LEVEL_EFFICIENCY;
    fx_seal(a, &r, rid, version, vis, out);
}

void fx_seal_tombstone(const fx_author *a, const char *rid, uint64_t version, int vis, rk_record *out)
{
    Renkei__Record r = RENKEI__RECORD__INIT;
    Renkei__Tombstone tomb = RENKEI__TOMBSTONE__INIT;
    fx_body(&r, RENKEI__KIND__KIND_TOMBSTONE, &tomb);
    fx_seal(a, &r, rid, version, vis, out);
}

void fx_records_free(rk_record *const *recs)
{
    for (; *recs; recs++)
        rk_record_free(*recs);
}

void fx_record_array_free(rk_record *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rk_record_free(&recs[i]);
}

void *fx_state_new(void **state, size_t size)
{
    void *f = calloc(1, size);
    assert_non_null(f);
    *state = f;
    return f;
}

void fx_roster_init(fx_roster *r, const fx_author *member, const char *name, unsigned threshold)
{
    memcpy(r->founding.key, member->pub, RK_KEY_LEN);
    r->founding.name = name;
    r->charter = (rk_charter){.threshold = threshold, .founding = &r->founding, .founding_count = 1};
    rk_error err;
    if (rk_membership_compute(&r->charter, NULL, 0, &r->base, NULL, &err) != 0)
        fail_msg("compute the roster: %s %s", err.code, err.message);
    rk_membership_txn_init(&r->members, &r->charter, &r->base);
}

void fx_roster_free(fx_roster *r)
{
    rk_membership_txn_free(&r->members);
    rk_membership_free(&r->base);
}

void fx_writer_open(fx_writer *w, const char *name)
{
    fx_store_open(&w->s, name, 0);
    fx_author_init(&w->member);
    fx_author_init(&w->outsider);
    fx_roster_init(&w->roster, &w->member, "kaga", 2);
    rk_limits_default(&w->limits);
    w->txn = fx_begin(&w->s, true);
}

void fx_writer_close(fx_writer *w)
{
    rk_txn_abort(w->txn);
    w->txn = NULL;
    fx_store_close(&w->s);
    fx_author_free(&w->member);
    fx_author_free(&w->outsider);
    fx_roster_free(&w->roster);
}

int fx_writer_setup(void **state)
{
    fx_writer_open(fx_state_new(state, sizeof(fx_writer)), "writer");
    return 0;
}

int fx_writer_teardown(void **state)
{
    fx_writer_close(*state);
    free(*state);
    return 0;
}

static int list_cb(const uint8_t item[RK_ITEM_LEN], void *ctx)
{
    fx_listing *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->items = realloc(l->items, l->cap * RK_ITEM_LEN);
        assert_non_null(l->items);
    }
    memcpy(l->items + l->n++ * RK_ITEM_LEN, item, RK_ITEM_LEN);
    return 0;
}

void fx_list_set(rk_txn *t, int set, fx_listing *l)
{
    uint8_t lo[RK_ITEM_LEN], hi[RK_ITEM_LEN];
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    rk_error err;
    l->n = 0;
    assert_int_equal(rk_store_set_items(t, set, lo, hi, 0, list_cb, l, &err), 0);
}
