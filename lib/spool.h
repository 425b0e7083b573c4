/* spool: rendered response bodies kept in unlinked temporary files while clients download them,
 * shared by key, under one byte budget (lib/spool.c).
 *
 * A body is written once (rk_spool_begin, _write, _finish) on whatever thread renders it, then read
 * in pieces by the one sending it (rk_spool_file_read) for as long as the client takes; every
 * function is thread-safe. A finished file is found again by its key while someone still holds it,
 * so clients asking for the same thing share one copy.
 */
#ifndef RENKEI_SPOOL_H
#define RENKEI_SPOOL_H

#include "util.h"

typedef struct rk_spool rk_spool;
typedef struct rk_spool_file rk_spool_file;
typedef struct rk_spool_writer rk_spool_writer;

/* Files go to dir (created 0700 if missing); max_bytes bounds what all files and writers hold. */
rk_spool *rk_spool_new(const char *dir, uint64_t max_bytes, rk_error *err);
/* Drops the caller's reference: the spool goes once every file and writer is gone too. */
void rk_spool_release(rk_spool *s);

/* A finished file under key, with a new reference; NULL if there is none. */
rk_spool_file *rk_spool_find(rk_spool *s, const char *key);
/* Single flight: the finished file under key with a new reference, as rk_spool_find, after waiting
 * for the request that claimed key, if any, to unclaim it. NULL when there is no such file: key is
 * then claimed by the caller, who renders it and must call rk_spool_unclaim(s, key) on every path,
 * after rk_spool_finish when the body went to the spool; the requests waiting then wake and share the
 * file (or, for a body that did not go to the spool, claim and render in their turn). */
rk_spool_file *rk_spool_claim(rk_spool *s, const char *key);
void rk_spool_unclaim(rk_spool *s, const char *key);
/* Starts a file: NULL with err "export_busy" when the budget is spent, or the system's error. */
rk_spool_writer *rk_spool_begin(rk_spool *s, rk_error *err);
/* Appends len bytes: -1 with err "export_busy" if they would pass the budget (the writer is then
 * only good for rk_spool_abandon), or with the write error. */
int rk_spool_write(rk_spool_writer *w, const void *data, size_t len, rk_error *err);
/* Ends the writer (in every case) and returns a reference to the file under key with its note (a
 * string kept with it, such as headers). When a file of the same key was finished first, that one is
 * returned and this one dropped, so the key names one body. NULL only for lack of memory. */
rk_spool_file *rk_spool_finish(rk_spool_writer *w, const char *key, const char *note, rk_error *err);
void rk_spool_abandon(rk_spool_writer *w);

uint64_t rk_spool_file_size(const rk_spool_file *f);
const char *rk_spool_file_note(const rk_spool_file *f);
/* Exactly n bytes from off (off + n within the size): 0, or -1 on a read error. */
int rk_spool_file_read(const rk_spool_file *f, uint64_t off, void *buf, size_t n);
void rk_spool_file_unref(rk_spool_file *f);

/* The bytes held now (files and writers), for metrics and tests. */
uint64_t rk_spool_used(rk_spool *s);

#endif
