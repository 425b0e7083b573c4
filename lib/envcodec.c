/* envcodec: stored envelopes compressed with the store's zstd dictionary (see envcodec.h).
 *
 * Why a dictionary: an envelope is about 1.2 KB, too little for zstd to find much repetition inside
 * it, while envelopes repeat each other (field tags, the author's key, the taxonomy's codes, the
 * phrases of one community's records); a dictionary trained on the store's own first envelopes
 * carries that shared part once. Why trained from the store rather than shipped: the records a node
 * holds are its network's, which no sample in the source tree resembles, and the dictionary never
 * leaves the node (what leaves the store is decompressed), so nodes need not agree on one.
 *
 * Envelopes from peers are compressed on the verifier threads and the node's own on the API's pool
 * threads that sealed them (rk_envcodec_precompress), with the store's committed dictionary, so the
 * single writer thread only compresses the ones that arrive before the store has one, or that a
 * transaction training a dictionary stores.
 *
 * The compression and decompression contexts are per thread (a context is tens of kilobytes to set
 * up, and a store is read from many threads); the dictionary's digested forms are shared by every
 * thread of a store, read-only once made.
 */
#include "envcodec.h"
#include "threadslot.h"

#include <stdlib.h>
#include <string.h>

#include <zdict.h>
#include <zstd.h>

#define DICT_KEY "_zdict"
/* Stored envelopes in their canonical layout start with the record's field tag (lib/envelope.h). */
#define ENVELOPE_TAG 0x0a

typedef struct envdict {
    ZSTD_CDict *c;
    ZSTD_DDict *d;
} envdict;

static void envdict_free(void *p)
{
    envdict *d = p;
    if (!d)
        return;
    ZSTD_freeCDict(d->c);
    ZSTD_freeDDict(d->d);
    free(d);
}

static envdict *envdict_new(const void *bytes, size_t len)
{
    envdict *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->c = ZSTD_createCDict(bytes, len, RK_ENVCODEC_LEVEL);
    d->d = ZSTD_createDDict(bytes, len);
    if (!d->c || !d->d) {
        envdict_free(d);
        return NULL;
    }
    return d;
}

/* ---- per-thread contexts ------------------------------------------------------------------------- */

/* A thread's contexts, made on first use and freed with the thread (threadslot.h). */
typedef struct zstd_thread {
    ZSTD_CCtx *c;
    ZSTD_DCtx *d;
} zstd_thread;

static void zstd_thread_release(void *p)
{
    zstd_thread *z = p;
    ZSTD_freeCCtx(z->c);
    ZSTD_freeDCtx(z->d);
}

static rk_thread_slot zstd_slot = RK_THREAD_SLOT_INIT(zstd_thread, zstd_thread_release);

static ZSTD_CCtx *thread_cctx(void)
{
    zstd_thread *z = rk_thread_slot_get(&zstd_slot);
    if (!z || z->c)
        return z ? z->c : NULL;
    ZSTD_CCtx *c = ZSTD_createCCtx();
    /* The frame carries nothing the store does not need: no checksum (LMDB's pages are the store's
     * integrity), no dictionary id (a store has one dictionary). Its content size stays: the decoder
     * checks it and allocates by it. */
    if (c && (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0)) ||
              ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0)))) {
        ZSTD_freeCCtx(c);
        return NULL;
    }
    z->c = c;
    return c;
}

static ZSTD_DCtx *thread_dctx(void)
{
    zstd_thread *z = rk_thread_slot_get(&zstd_slot);
    if (z && !z->d)
        z->d = ZSTD_createDCtx();
    return z ? z->d : NULL;
}

/* ---- the store's dictionary ---------------------------------------------------------------------- */

/* The dictionary t uses: the one it trained, the store's, or the one committed in `meta`, which then
 * becomes the store's. NULL (with *rc 0) when there is none yet; *rc -1 on error. */
static envdict *dict_of(rk_txn *t, int *rc, rk_error *err)
{
    *rc = 0;
    envdict *d = rk_txn_envdict(t);
    if (d)
        return d;
    MDB_val v;
    int found = rk_txn_get(t, RK_DB_META, DICT_KEY, strlen(DICT_KEY), &v, err);
    if (found <= 0) {
        *rc = found;
        return NULL;
    }
    /* t did not train it (it would have it), so this is the committed dictionary. */
    d = envdict_new(v.mv_data, v.mv_size);
    if (!d) {
        *rc = rk_fail(err, "no_memory", "", "out of memory while reading the envelope dictionary");
        return NULL;
    }
    return rk_txn_envdict_share(t, d, envdict_free);
}

/* env[0..len) compressed with d: 1 with *out a malloc'd frame, 0 when the frame would not be smaller,
 * -1 out of memory. */
static int compress_with(const envdict *d, const uint8_t *env, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    ZSTD_CCtx *c = thread_cctx();
    size_t cap = ZSTD_compressBound(len);
    uint8_t *buf = c ? malloc(cap) : NULL;
    if (!buf)
        return -1;
    size_t n = ZSTD_CCtx_refCDict(c, d->c);
    if (!ZSTD_isError(n))
        n = ZSTD_compress2(c, buf, cap, env, len);
    if (ZSTD_isError(n) || n >= len) {
        free(buf); /* an envelope that does not shrink is stored as it is */
        return 0;
    }
    *out = buf;
    *out_len = n;
    return 1;
}

int rk_envcodec_encode(rk_txn *t, const uint8_t *env, size_t len, uint8_t **out, size_t *out_len, rk_error *err)
{
    *out = NULL;
    *out_len = 0;
    int rc;
    envdict *d = dict_of(t, &rc, err);
    if (!d)
        return rc;
    rc = compress_with(d, env, len, out, out_len);
    return rc < 0 ? rk_fail(err, "no_memory", "", "out of memory while storing an envelope") : rc;
}

int rk_envcodec_precompress(rk_store *s, rk_record *rec)
{
    const envdict *d = rk_store_envdict(s);
    if (!d || rec->stored)
        return 0;
    int rc = compress_with(d, rec->env, rec->env_len, &rec->stored, &rec->stored_len);
    if (rc == 1)
        rec->stored_dict = d;
    return rc;
}

int rk_envcodec_value(rk_txn *t, const rk_record *rec, MDB_val *v, uint8_t **owned, rk_error *err)
{
    *owned = NULL;
    int rc;
    envdict *d = rec->stored ? dict_of(t, &rc, err) : NULL;
    if (d && rec->stored_dict == d) {
        *v = rk_mdb_val(rec->stored, rec->stored_len);
        return 0;
    }
    /* not compressed ahead, or with a dictionary this transaction does not use (there was none yet,
     * or this transaction trained its own) */
    size_t n;
    rc = rk_envcodec_encode(t, rec->env, rec->env_len, owned, &n, err);
    if (rc < 0)
        return -1;
    *v = rc ? rk_mdb_val(*owned, n) : rk_mdb_val(rec->env, rec->env_len);
    return 0;
}

static int corrupt(rk_error *err)
{
    return rk_fail(err, "store_corrupt", "", "a stored envelope does not decompress");
}

int rk_envcodec_decode(rk_txn *t, const uint8_t *val, size_t len, uint8_t **out, size_t *out_len, rk_error *err)
{
    *out = NULL;
    *out_len = 0;
    if (len > 0 && val[0] == ENVELOPE_TAG)
        return 0;
    unsigned long long size = ZSTD_getFrameContentSize(val, len);
    /* A frame is one whole frame of a declared, bounded size: nothing is allocated for a lie. */
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size == 0 || size > RK_ENVCODEC_MAX)
        return corrupt(err);
    size_t flen = ZSTD_findFrameCompressedSize(val, len);
    if (ZSTD_isError(flen) || flen != len)
        return corrupt(err);
    int rc;
    envdict *d = dict_of(t, &rc, err);
    if (!d)
        return rc < 0 ? -1 : corrupt(err); /* a frame but no dictionary */
    ZSTD_DCtx *dc = thread_dctx();
    uint8_t *buf = dc ? malloc((size_t)size) : NULL;
    if (!buf)
        return rk_fail(err, "no_memory", "", "out of memory while loading an envelope");
    size_t n = ZSTD_decompress_usingDDict(dc, buf, (size_t)size, val, len, d->d);
    if (ZSTD_isError(n) || n != size) {
        free(buf);
        return corrupt(err);
    }
    *out = buf;
    *out_len = n;
    return 1;
}

/* ---- training ------------------------------------------------------------------------------------ */

/* The first RK_ENVCODEC_TRAIN_AT envelopes of `records` that are stored as they are, concatenated. */
static int collect_samples(rk_txn *t, rk_buf *samples, size_t *sizes, unsigned *n, rk_error *err)
{
    MDB_cursor *c;
    if (rk_txn_cursor(t, RK_DB_RECORDS, &c, "reading envelopes", err) != 0)
        return -1;
    *n = 0;
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0 && *n < RK_ENVCODEC_TRAIN_AT; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *p = v.mv_data;
        if (v.mv_size == 0 || p[0] != ENVELOPE_TAG)
            continue;
        if (rk_buf_append(samples, p, v.mv_size) != 0) {
            rk_txn_cursor_close(t, c);
            return rk_fail(err, "no_memory", "", "out of memory while training the envelope dictionary");
        }
        sizes[(*n)++] = v.mv_size;
    }
    return rk_txn_cursor_done(t, c, rc, "reading envelopes", err);
}

int rk_envcodec_maybe_train(rk_txn *t, uint64_t seq, rk_error *err)
{
    if (seq == 0 || seq % RK_ENVCODEC_TRAIN_AT != 0)
        return 0;
    int rc;
    if (dict_of(t, &rc, err) || rc < 0)
        return rc;
    rk_buf samples;
    rk_buf_init(&samples);
    uint8_t *dict = malloc(RK_ENVCODEC_DICT_BYTES);
    size_t *sizes = malloc(RK_ENVCODEC_TRAIN_AT * sizeof *sizes);
    if (!dict || !sizes) {
        free(dict);
        free(sizes);
        rc = rk_fail(err, "no_memory", "", "out of memory while training the envelope dictionary");
        rk_txn_poison(t, err);
        return rc;
    }
    unsigned n;
    size_t dlen = 0;
    rc = collect_samples(t, &samples, sizes, &n, err);
    if (rc == 0 && n >= RK_ENVCODEC_TRAIN_AT / 2) {
        dlen = ZDICT_trainFromBuffer(dict, RK_ENVCODEC_DICT_BYTES, samples.data, sizes, n);
        /* Samples too alike to train on (zstd wants variety): their last bytes, as a raw-content
         * dictionary, still carry what the envelopes share. */
        if (ZDICT_isError(dlen)) {
            dlen = samples.len < RK_ENVCODEC_DICT_BYTES ? samples.len : RK_ENVCODEC_DICT_BYTES;
            memcpy(dict, samples.data + samples.len - dlen, dlen);
        }
    }
    free(sizes);
    rk_buf_free(&samples);
    envdict *d = NULL;
    if (rc == 0 && dlen > 0) {
        d = envdict_new(dict, dlen);
        if (!d)
            rc = rk_fail(err, "no_memory", "", "out of memory while training the envelope dictionary");
    }
    if (rc == 0 && d)
        rc = rk_txn_put(t, RK_DB_META, DICT_KEY, strlen(DICT_KEY), dict, dlen, err);
    free(dict);
    if (rc == 0 && d)
        rk_txn_envdict_made(t, d, envdict_free);
    else
        envdict_free(d);
    if (rc != 0) {
        rk_txn_poison(t, err);
        return -1;
    }
    return 0;
}
