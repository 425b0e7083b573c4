/* fixture: what the unit tests of the store, the records and the renderers set up again and again: a
 * store in a fresh temporary directory, an author's key pair, sealed records of each kind, a roster of
 * one founding member.
 *
 * Every helper checks with cmocka and fails the running test on any error, so a test reads as what it
 * checks. The store lives in DIR/db, a directory that does not exist before rk_store_open, so every
 * store test also checks that the store creates it; fx_store_close removes the whole directory. Key
 * files are written with mode 0600, since the loader refuses any other. */
#ifndef RENKEI_TEST_FIXTURE_H
#define RENKEI_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest.h"
#include "membership_txn.h"
#include "sign.h"
#include "store.h"

/* A zeroed fixture of size bytes as cmocka's *state (for a setup); the teardown frees it. */
void *fx_state_new(void **state, size_t size);

typedef struct fx_store {
    char dir[64]; /* from mkdtemp; removed with everything below it */
    char db[80];  /* dir/db: where the store keeps its files */
    rk_store *store;
} fx_store;

/* Opens a store in a new directory /tmp/rk-test-NAME-XXXXXX (map_size 0: the default). */
void fx_store_open(fx_store *s, const char *name, size_t map_size);
/* Closes the store and opens it again with map_size; wipe drops its files first (an empty store). */
void fx_store_reopen(fx_store *s, size_t map_size, bool wipe);
/* Closes the store (if open) and removes the directory. */
void fx_store_close(fx_store *s);
/* cmocka setup and teardown for tests that need only a store: *state is the fx_store. */
int fx_store_setup(void **state);
int fx_store_teardown(void **state);
/* A transaction on the store; read-only unless write. */
rk_txn *fx_begin(const fx_store *s, bool write);

/* A cursor on the store's database db in t, for the tests that read the store's tables directly; the
 * caller closes it. */
MDB_cursor *fx_cursor(rk_txn *t, rk_db db);

/* A file path in a new directory /tmp/rk-test-NAME-XXXXXX (the file is not created);
 * fx_tempfile_remove deletes the directory and whatever is in it. */
typedef struct fx_tempfile {
    char dir[64];
    char path[96];
} fx_tempfile;

void fx_tempfile_make(fx_tempfile *t, const char *name, const char *file);
void fx_tempfile_remove(fx_tempfile *t);

/* The key of a PEM text, loaded through a key file of mode 0600 as a node loads its own. */
rk_key *fx_key_from_pem(const char *pem, size_t len);

typedef struct fx_author {
    rk_key *key;
    uint8_t pub[RK_KEY_LEN];
} fx_author;

void fx_author_init(fx_author *a);
void fx_author_free(fx_author *a);

/* A store and one author to seal records with: what the store's own tests start from. */
typedef struct fx_store_author {
    fx_store s;
    fx_author a;
} fx_store_author;

/* cmocka setup and teardown: *state is the fx_store_author. */
int fx_store_author_setup(void **state);
int fx_store_author_teardown(void **state);

/* Makes body the body of r and kind its kind: the body is the field of Record named after the kind,
 * so the kind and the body case cannot disagree unless a test sets them apart on purpose. */
void fx_body(Renkei__Record *r, Renkei__Kind kind, void *body);

/* Sets the header of r (author a, rid, version, visibility) around the body the caller
 * filled in (created_at and the rest are left as the caller set them), and seals it into out; the
 * test fails with the reason if sealing does. */
void fx_seal(const fx_author *a, Renkei__Record *r, const char *rid, uint64_t version, int vis, rk_record *out);
/* A case in Ishikawa (manufacturing, efficiency) with this title and a fixed summary. */
void fx_seal_case(const fx_author *a, const char *rid, uint64_t version, int vis, const char *title, rk_record *out);
/* The same case with this summary. */
void fx_seal_case_text(const fx_author *a, const char *rid, uint64_t version, int vis, const char *title,
                       const char *summary, rk_record *out);
/* A tombstone for rid. */
void fx_seal_tombstone(const fx_author *a, const char *rid, uint64_t version, int vis, rk_record *out);

/* Frees every record of a NULL-terminated list; FX_FREE_RECORDS(&a, &b, ...) is how a test releases
 * the records it sealed. */
void fx_records_free(rk_record *const *recs);
#define FX_FREE_RECORDS(...) fx_records_free((rk_record *const[]){__VA_ARGS__, NULL})
/* Frees the n records of an array a fixture or test sealed them into. */
void fx_record_array_free(rk_record *recs, size_t n);

/* A charter whose one founding member is member (named name) with threshold endorsements needed to
 * admit another key (above 1, the founding member cannot admit anyone alone), the roster it gives, and the view of that roster a write
 * transaction keeps, as the writer passes it to ingest. The charter and the view point into the
 * struct: it must not move between fx_roster_init and fx_roster_free. */
typedef struct fx_roster {
    rk_charter_member founding;
    rk_charter charter;
    rk_membership base;
    rk_membership_txn members;
} fx_roster;

void fx_roster_init(fx_roster *r, const fx_author *member, const char *name, unsigned threshold);
void fx_roster_free(fx_roster *r);

/* The items of one reconciliation set as a transaction lists them (read from the set, not from the
 * fingerprint index): the reference the tests of the index compare with. */
typedef struct fx_listing {
    uint8_t *items; /* n items of RK_ITEM_LEN bytes, in the set's order */
    size_t n, cap;
} fx_listing;

/* Lists the whole set into l (replacing what it held); free l->items when done. */
void fx_list_set(rk_txn *t, int set, fx_listing *l);

/* What the writer has when it ingests: a store with a write transaction open, the roster (member is
 * its one founding member, threshold 2), an outsider who is no member, and the default limits. The
 * teardown aborts the transaction, so a test keeps only what it commits itself. */
typedef struct fx_writer {
    fx_store s;
    fx_author member, outsider;
    fx_roster roster;
    rk_limits limits;
    rk_txn *txn;
} fx_writer;

void fx_writer_open(fx_writer *w, const char *name);
void fx_writer_close(fx_writer *w);
/* cmocka setup and teardown for tests that need only the writer's state: *state is the fx_writer. */
int fx_writer_setup(void **state);
int fx_writer_teardown(void **state);

#endif
