/* txn: the LMDB environment of a store, its named databases, and the transactions over them.
 *
 * Every failure path inside a write transaction goes through rk_txn_fail or rk_txn_poison, which
 * abort the LMDB transaction at once and keep the reason for rk_txn_commit: a change that failed
 * half-way can only be thrown away, never committed.
 */
#include "txn.h"

#include <errno.h>
#include <glib.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

#define DEFAULT_MAP_SIZE ((size_t)1 << 30)

static const char *const db_names[RK_DB_COUNT] = {"records", "current", "changes",     "set0",  "set1",
                                                  "fp0",     "fp1",     "indexes",     "meta",  "tokens",
                                                  "pending", "aside",   "aside_order", "hashes"};
/* The layout this code reads and writes (docs/storage.md, "Format"), kept in meta under FORMAT_KEY.
 * Format 1 (no key) kept each token's postings newest first and envelopes by hash; format 2 kept the
 * postings oldest first; format 3 also kept envelopes by sequence number; format 4 keeps the postings
 * as blocks of delta-coded sequence numbers (lib/postings.h) instead of sorted duplicates; format 5
 * keeps the filter lists of "indexes" as such blocks too, instead of a key per posting; format 6
 * keeps envelopes compressed with a dictionary in meta (lib/envcodec.h); format 7 may keep a
 * token's late postings in a side list in "tokens" (lib/postings.h), which a format 6 reader would not
 * see; format 8 leaves out the fingerprint buckets below a small one (lib/fpset.h), which a format 7
 * writer would keep up to date and read. A store of another format is refused at open, before the
 * databases whose layout it decides are opened: formats 1 to 3 made "tokens" a DUPSORT database,
 * which LMDB would corrupt if it were written as another. A format 6 or 7 store is a format 8 store
 * with unused buckets (and, for 6, without side lists): it is marked 8 and opened. */
#define STORE_FORMAT 8
/* formats that this code reads as they are: they are marked STORE_FORMAT when opened */
#define STORE_FORMAT_UPGRADABLE(f) ((f) == 6 || (f) == 7)
#define FORMAT_KEY "_format"

struct rk_store {
    MDB_env *env;
    MDB_dbi dbi[RK_DB_COUNT];
    /* What read transactions keep across transactions, and when it was last made stale; under mu,
     * since read transactions run on several threads and the writer on its own. */
    GMutex mu;
    uint64_t known;  /* every commit up to this txnid was made through this handle */
    uint64_t marked; /* the latest write transaction that called rk_txn_mark_shared */
    void *shared;    /* rk_txn_store_shared's object */
    void (*shared_destroy)(void *obj);
    _Atomic(void *) envdict; /* set once, read by every thread */
    void (*envdict_free)(void *);
    void *write_slot; /* rk_txn_write_slot */
    void (*write_slot_free)(void *);
};

struct rk_txn {
    rk_store *s;
    MDB_txn *txn; /* NULL once a failure aborted it */
    bool write;
    rk_error failure;                                               /* why it was aborted, reported again by commit */
    alignas(max_align_t) unsigned char scratch[RK_TXN_SCRATCH_LEN]; /* read-only transactions only */
    void (*scratch_free)(void *scratch);
    void **held; /* rk_txn_hold */
    size_t n_held, cap_held;
    void *envdict_made; /* rk_txn_envdict_made */
    void (*envdict_made_free)(void *);
    void *deferred; /* rk_txn_deferred */
    int (*deferred_run)(rk_txn *t, void *ctx, rk_error *err);
    void (*deferred_free)(void *ctx);
};

/* ---- transactions and errors --------------------------------------------------------------------- */

int rk_txn_fail(rk_txn *t, int mdb_rc, const char *what, rk_error *err)
{
    rk_error e;
    if (mdb_rc == MDB_MAP_FULL)
        rk_fail(&e, "store_full", "", "the store is full (map size reached) while %s; nothing was written", what);
    else if (mdb_rc == ENOSPC)
        rk_fail(&e, "store_full", "", "the disk is full while %s; nothing was written", what);
    else if (mdb_rc == ENOMEM)
        rk_fail(&e, "no_memory", "", "out of memory while %s", what);
    else
        rk_fail(&e, "store_error", "", "LMDB failed while %s: %s", what, mdb_strerror(mdb_rc));
    if (t && t->write && t->txn) {
        mdb_txn_abort(t->txn);
        t->txn = NULL;
        t->failure = e;
    }
    if (err)
        *err = e;
    return -1;
}

int rk_txn_cursor(rk_txn *t, rk_db db, MDB_cursor **c, const char *what, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    int rc = mdb_cursor_open(txn, rk_txn_dbi(t, db), c);
    return rc == 0 ? 0 : rk_txn_fail(t, rc, what, err);
}

void rk_txn_cursor_close(rk_txn *t, MDB_cursor *c)
{
    if (!t->write || t->txn)
        mdb_cursor_close(c);
}

int rk_txn_cursor_done(rk_txn *t, MDB_cursor *c, int rc, const char *what, rk_error *err)
{
    rk_txn_cursor_close(t, c);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : rk_txn_fail(t, rc, what, err);
}

void rk_txn_poison(rk_txn *t, const rk_error *why)
{
    if (t->write && t->txn) {
        mdb_txn_abort(t->txn);
        t->txn = NULL;
        t->failure = *why;
    }
}

MDB_txn *rk_txn_mdb(rk_txn *t, rk_error *err)
{
    if (!t->txn && err)
        *err = t->failure;
    return t->txn;
}

MDB_dbi rk_txn_dbi(const rk_txn *t, rk_db db)
{
    return t->s->dbi[db];
}

const char *rk_txn_db_name(rk_db db)
{
    return db >= 0 && db < RK_DB_COUNT ? db_names[db] : "";
}

bool rk_txn_writable(const rk_txn *t)
{
    return t->write;
}

uint64_t rk_txn_id(const rk_txn *t)
{
    return t->txn ? (uint64_t)mdb_txn_id(t->txn) : 0;
}

void rk_txn_mark_shared(rk_txn *t)
{
    if (!t->write || !t->txn)
        return;
    uint64_t id = (uint64_t)mdb_txn_id(t->txn);
    g_mutex_lock(&t->s->mu);
    if (id > t->s->marked)
        t->s->marked = id;
    g_mutex_unlock(&t->s->mu);
}

bool rk_txn_shared_valid(const rk_txn *t, uint64_t since)
{
    if (t->write || !t->txn)
        return false;
    uint64_t id = (uint64_t)mdb_txn_id(t->txn), older = since < id ? since : id;
    g_mutex_lock(&t->s->mu);
    bool ok = id <= t->s->known && since <= t->s->known && t->s->marked <= older;
    g_mutex_unlock(&t->s->mu);
    return ok;
}

void *rk_txn_store_shared(rk_txn *t, void *(*make)(void), void (*destroy)(void *obj))
{
    g_mutex_lock(&t->s->mu);
    if (!t->s->shared) {
        t->s->shared = make();
        t->s->shared_destroy = t->s->shared ? destroy : NULL;
    }
    void *obj = t->s->shared;
    g_mutex_unlock(&t->s->mu);
    return obj;
}

/* After a write transaction committed as `id`: a gap since the last known commit means another
 * process or handle committed in between, whose changes nobody marked, so everything kept from
 * before counts as stale. */
static void store_committed(rk_store *s, uint64_t id)
{
    g_mutex_lock(&s->mu);
    if (id != s->known + 1 && id > s->marked)
        s->marked = id;
    if (id > s->known)
        s->known = id;
    g_mutex_unlock(&s->mu);
}

void *rk_txn_scratch(rk_txn *t)
{
    return t->write ? NULL : t->scratch;
}

void **rk_txn_write_slot(rk_txn *t, void (*free_fn)(void *))
{
    if (!t->write)
        return NULL;
    t->s->write_slot_free = free_fn;
    return &t->s->write_slot;
}

void **rk_txn_deferred(rk_txn *t, int (*run)(rk_txn *t, void *ctx, rk_error *err), void (*free_fn)(void *ctx))
{
    if (!t->write)
        return NULL;
    t->deferred_run = run;
    t->deferred_free = free_fn;
    return &t->deferred;
}

void rk_txn_scratch_cleanup(rk_txn *t, void (*fn)(void *scratch))
{
    if (!t->write)
        t->scratch_free = fn;
}

int rk_txn_hold(rk_txn *t, void *p, rk_error *err)
{
    void **v = rk_grow(t->held, &t->cap_held, t->n_held + 1, sizeof *v);
    if (!v) {
        free(p);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    t->held = v;
    t->held[t->n_held++] = p;
    return 0;
}

void *rk_store_envdict(rk_store *s)
{
    return atomic_load(&s->envdict);
}

void *rk_txn_envdict(rk_txn *t)
{
    return t->envdict_made ? t->envdict_made : atomic_load(&t->s->envdict);
}

void *rk_txn_envdict_share(rk_txn *t, void *d, void (*free_fn)(void *))
{
    void *expected = NULL;
    if (atomic_compare_exchange_strong(&t->s->envdict, &expected, d)) {
        t->s->envdict_free = free_fn;
        return d;
    }
    free_fn(d);
    return expected;
}

void rk_txn_envdict_made(rk_txn *t, void *d, void (*free_fn)(void *))
{
    if (t->envdict_made)
        t->envdict_made_free(t->envdict_made);
    t->envdict_made = d;
    t->envdict_made_free = free_fn;
}

/* committed: whether t's changes were committed, so a dictionary it made may become the store's. */
static void txn_free(rk_txn *t, bool committed)
{
    if (t->deferred && t->deferred_free)
        t->deferred_free(t->deferred);
    if (t->scratch_free)
        t->scratch_free(t->scratch);
    for (size_t i = 0; i < t->n_held; i++)
        free(t->held[i]);
    free(t->held);
    if (t->envdict_made) {
        if (committed)
            rk_txn_envdict_share(t, t->envdict_made, t->envdict_made_free);
        else
            t->envdict_made_free(t->envdict_made);
    }
    free(t);
}

int rk_txn_begin(rk_store *s, bool write, rk_txn **out, rk_error *err)
{
    *out = NULL;
    rk_txn *t = calloc(1, sizeof *t);
    if (!t)
        return rk_fail(err, "no_memory", "", "out of memory");
    t->s = s;
    t->write = write;
    int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc != 0) {
        free(t);
        return rk_txn_fail(NULL, rc, "starting a transaction", err);
    }
    *out = t;
    return 0;
}

int rk_txn_commit(rk_txn *t, rk_error *err)
{
    int result = 0;
    rk_error why;
    if (t->txn && t->deferred && t->deferred_run(t, t->deferred, &why) != 0) {
        if (t->txn) /* failed without an LMDB error (memory): nothing of t may be committed */
            mdb_txn_abort(t->txn);
        t->txn = NULL;
        if (err)
            *err = why;
        result = -1;
    } else if (!t->txn) {
        if (err)
            *err = t->failure;
        result = -1;
    } else {
        uint64_t id = (uint64_t)mdb_txn_id(t->txn);
        int rc = mdb_txn_commit(t->txn);
        t->txn = NULL;
        if (rc != 0)
            result = rk_txn_fail(NULL, rc, "committing", err);
        else if (t->write)
            store_committed(t->s, id);
    }
    txn_free(t, result == 0);
    return result;
}

void rk_txn_abort(rk_txn *t)
{
    if (!t)
        return;
    if (t->txn)
        mdb_txn_abort(t->txn);
    txn_free(t, false);
}

int rk_store_sync(rk_store *s, rk_error *err)
{
    /* mdb_env_sync only reads the environment's flags and calls fdatasync: safe beside the writer */
    int rc = mdb_env_sync(s->env, 1);
    if (rc != 0)
        return rk_fail(err, "store_error", "", "flushing the store's commits to the disk failed: %s", mdb_strerror(rc));
    return 0;
}

/* ---- open and close ------------------------------------------------------------------------------ */

static int make_dirs(const char *dir, rk_error *err)
{
    if (g_mkdir_with_parents(dir, 0700) != 0)
        return rk_fail(err, "store_error", "data_dir", "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

/* The store's format: the one in meta, or STORE_FORMAT for an empty store (which is marked with it
 * here), or 1 for a store of records without the mark. *rc is an LMDB error, if any. */
static int check_format(MDB_txn *txn, rk_store *s, int *rc)
{
    MDB_dbi meta = s->dbi[RK_DB_META];
    MDB_val k = rk_mdb_val(FORMAT_KEY, strlen(FORMAT_KEY)), v;
    *rc = mdb_get(txn, meta, &k, &v);
    if (*rc == 0) {
        if (v.mv_size != 8)
            return -1;
        uint64_t f = rk_get_be64(v.mv_data);
        if (!STORE_FORMAT_UPGRADABLE(f))
            return f > INT32_MAX ? -1 : (int)f;
        uint8_t b[8];
        rk_put_be64(b, STORE_FORMAT);
        v = rk_mdb_val(b, sizeof b);
        *rc = mdb_put(txn, meta, &k, &v, 0);
        return STORE_FORMAT;
    }
    if (*rc != MDB_NOTFOUND)
        return 0;
    MDB_stat st;
    *rc = mdb_stat(txn, s->dbi[RK_DB_CHANGES], &st);
    if (*rc != 0)
        return 0;
    if (st.ms_entries > 0)
        return 1;
    uint8_t b[8];
    rk_put_be64(b, STORE_FORMAT);
    v = rk_mdb_val(b, sizeof b);
    *rc = mdb_put(txn, meta, &k, &v, 0);
    return STORE_FORMAT;
}

int rk_store_open(const rk_store_options *opts, rk_store **out, rk_error *err)
{
    *out = NULL;
    if (!opts || !opts->dir || !opts->dir[0])
        return rk_fail(err, "store_error", "data_dir", "no data directory given");
    if (make_dirs(opts->dir, err) != 0)
        return -1;
    rk_store *s = calloc(1, sizeof *s);
    if (!s)
        return rk_fail(err, "no_memory", "", "out of memory");
    int rc = mdb_env_create(&s->env);
    if (rc != 0) {
        free(s);
        return rk_txn_fail(NULL, rc, "creating the environment", err);
    }
    rc = mdb_env_set_maxdbs(s->env, RK_DB_COUNT + 4);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, 256);
    /* MDB_NOTLS: read transactions are opened on the loop thread, the writer and sync helpers alike. */
    unsigned flags = MDB_NOTLS | (opts->no_sync ? MDB_NOSYNC : 0) | (opts->defer_meta_sync ? MDB_NOMETASYNC : 0);
    if (rc == 0)
        rc = mdb_env_open(s->env, opts->dir, flags, 0600);
    if (rc != 0) {
        rk_fail(err, rc == MDB_MAP_FULL ? "store_full" : "store_error", "data_dir", "cannot open the store in %s: %s",
                opts->dir, mdb_strerror(rc));
        mdb_env_close(s->env);
        free(s);
        return -1;
    }
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    MDB_txn *txn;
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    /* meta and changes first: the format decides whether the others may be opened at all */
    if (rc == 0)
        rc = mdb_dbi_open(txn, db_names[RK_DB_META], MDB_CREATE, &s->dbi[RK_DB_META]);
    if (rc == 0)
        rc = mdb_dbi_open(txn, db_names[RK_DB_CHANGES], MDB_CREATE, &s->dbi[RK_DB_CHANGES]);
    int format = rc == 0 ? check_format(txn, s, &rc) : 0;
    for (int i = 0; rc == 0 && format == STORE_FORMAT && i < RK_DB_COUNT; i++)
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]);
    if (rc == 0 && format != STORE_FORMAT) {
        mdb_txn_abort(txn);
        if (format >= 1 && format < STORE_FORMAT)
            rk_fail(err, "store_error", "data_dir",
                    "the store in %s was written by an older renkeid (store format %d); this one reads format %d "
                    "only: start this node on an empty data_dir and let it catch up from its peers "
                    "(docs/storage.md, Format)",
                    opts->dir, format, STORE_FORMAT);
        else
            rk_fail(err, "store_error", "data_dir",
                    "the store in %s has store format %d; this renkeid reads format %d only (docs/storage.md, Format)",
                    opts->dir, format, STORE_FORMAT);
        mdb_env_close(s->env);
        free(s);
        return -1;
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        rk_fail(err, rc == MDB_MAP_FULL ? "store_full" : "store_error", "data_dir",
                "cannot open the databases in %s: %s", opts->dir, mdb_strerror(rc));
        mdb_env_close(s->env);
        free(s);
        return -1;
    }
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    g_mutex_init(&s->mu);
    s->known = (uint64_t)info.me_last_txnid;
    *out = s;
    return 0;
}

void rk_store_close(rk_store *s)
{
    if (!s)
        return;
    if (s->shared)
        s->shared_destroy(s->shared);
    g_mutex_clear(&s->mu);
    void *d = atomic_load(&s->envdict);
    if (d)
        s->envdict_free(d);
    if (s->write_slot && s->write_slot_free)
        s->write_slot_free(s->write_slot);
    mdb_env_sync(s->env, 1); /* a no-op but for defer_meta_sync's last commit; nothing to do if it fails */
    mdb_env_close(s->env);
    free(s);
}

/* ---- reads and writes of one key ------------------------------------------------------------------ */

int rk_txn_get(rk_txn *t, rk_db db, const void *key, size_t klen, MDB_val *val, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_val k = rk_mdb_val(key, klen);
    int rc = mdb_get(txn, t->s->dbi[db], &k, val);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rk_txn_fail(t, rc, "reading", err);
    return 1;
}

int rk_txn_put(rk_txn *t, rk_db db, const void *key, size_t klen, const void *val, size_t vlen, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_val k = rk_mdb_val(key, klen), v = rk_mdb_val(val, vlen);
    int rc = mdb_put(txn, t->s->dbi[db], &k, &v, 0);
    return rc == 0 ? 0 : rk_txn_fail(t, rc, "writing", err);
}

int rk_txn_del(rk_txn *t, rk_db db, const void *key, size_t klen, rk_error *err)
{
    MDB_txn *txn = rk_txn_mdb(t, err);
    if (!txn)
        return -1;
    MDB_val k = rk_mdb_val(key, klen);
    int rc = mdb_del(txn, t->s->dbi[db], &k, NULL);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : rk_txn_fail(t, rc, "deleting", err);
}

int rk_txn_need_write(rk_txn *t, rk_error *err)
{
    if (!t->write)
        return rk_fail(err, "store_error", "", "a write needs a write transaction");
    return rk_txn_mdb(t, err) ? 0 : -1;
}
