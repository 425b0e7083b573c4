/* fixture: what the unit tests of the store, the records and the renderers set up again and again: a
 * store in a fresh temporary directory, an author's key pair, and sealed records of each kind.
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

#include "sign.h"
#include "store.h"

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

/* Sets the header of r (author a, rid, version, visibility) around the body the caller
 * filled in (created_at and the rest are left as the caller set them), and seals it into out; the
 * test fails with the reason if sealing does. */
void fx_seal(const fx_author *a, Renkei__Record *r, const char *rid, uint64_t version, int vis, rk_record *out);
/* A case in Ishikawa (manufacturing, efficiency) with this title and a fixed summary. */
void fx_seal_case(const fx_author *a, const char *rid, uint64_t version, int vis, const char *title, rk_record *out);
/* A tombstone for rid. */
void fx_seal_tombstone(const fx_author *a, const char *rid, uint64_t version, int vis, rk_record *out);

#endif
