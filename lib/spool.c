/* spool: rendered response bodies on disk while clients download them, as a reverse proxy keeps a
 * large upstream response in a temporary file (nginx's proxy_temp_path) instead of in memory.
 *
 * A file is created in the spool's directory and unlinked at once, so it disappears with its last
 * descriptor whatever happens to the process; a name lingers only if the process dies between
 * mkstemp and unlink, and rk_spool_new removes such leftovers. Finished files are kept in a hash
 * table by key while referenced, so clients asking for the same body share one file; a file leaves
 * the table, and its bytes the budget, with its last reference.
 *
 * A body is also rendered once for all the requests that want it at the same time (single flight):
 * the first to claim a key renders it, and the others wait for it to finish and then share its file,
 * instead of rendering the same export side by side (twice the memory and CPU).
 *
 * Invariants: used == the bytes of every open writer and finished file, and never passes max (a
 * write that would is refused, export_busy); a key names at most one finished file and at most one
 * claim, and a claimer always unclaims (waiters wake then, whatever became of the render); the spool
 * itself lives while its owner, a writer or a file holds it (refs), so a download may outlive the
 * server.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPOOL_PREFIX "export-"

struct rk_spool {
    pthread_mutex_t mu;
    char *dir;
    uint64_t max, used;
    GHashTable *files;   /* key -> rk_spool_file (finished, referenced) */
    GHashTable *flights; /* keys being rendered by the request that claimed them */
    pthread_cond_t done; /* broadcast when a claim ends */
    unsigned refs;       /* the owner's, and one per writer and file */
};

struct rk_spool_file {
    rk_spool *s;
    int fd;
    uint64_t size;
    char *key, *note;
    unsigned refs;
};

struct rk_spool_writer {
    rk_spool *s;
    int fd;
    uint64_t size;
};

/* Removes the names a crash may have left between mkstemp and unlink. */
static void spool_clean(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d)
        return;
    const char *name;
    while ((name = g_dir_read_name(d)))
        if (strncmp(name, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) == 0) {
            char *p = g_build_filename(dir, name, NULL);
            (void)g_unlink(p); /* best effort: a leftover only costs its disk space */
            g_free(p);
        }
    g_dir_close(d);
}

rk_spool *rk_spool_new(const char *dir, uint64_t max_bytes, rk_error *err)
{
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        rk_fail(err, "internal", "", "cannot create %s: %s", dir, strerror(errno));
        return NULL;
    }
    spool_clean(dir);
    rk_spool *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir)) || pthread_mutex_init(&s->mu, NULL) != 0) {
        if (s)
            free(s->dir);
        free(s);
        rk_fail(err, "no_memory", "", "out of memory");
        return NULL;
    }
    if (pthread_cond_init(&s->done, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s->dir);
        free(s);
        rk_fail(err, "no_memory", "", "out of memory");
        return NULL;
    }
    /* keys are the caller's strings copied into the file, which owns them */
    s->files = g_hash_table_new(g_str_hash, g_str_equal);
    s->flights = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s->max = max_bytes;
    s->refs = 1;
    return s;
}

static void spool_destroy(rk_spool *s)
{
    g_hash_table_destroy(s->files);
    g_hash_table_destroy(s->flights);
    pthread_cond_destroy(&s->done);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s);
}

/* Gives bytes back to the budget and drops one reference, freeing the spool with its last: how the
 * owner, a writer and a file each let go of it. Bytes are given back once the file holding them is
 * closed, when the disk has them back. */
static void spool_put(rk_spool *s, uint64_t bytes)
{
    pthread_mutex_lock(&s->mu);
    s->used -= bytes;
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last)
        spool_destroy(s);
}

void rk_spool_release(rk_spool *s)
{
    if (s)
        spool_put(s, 0);
}

rk_spool_file *rk_spool_find(rk_spool *s, const char *key)
{
    pthread_mutex_lock(&s->mu);
    rk_spool_file *f = g_hash_table_lookup(s->files, key);
    if (f)
        f->refs++;
    pthread_mutex_unlock(&s->mu);
    return f;
}

rk_spool_file *rk_spool_claim(rk_spool *s, const char *key)
{
    pthread_mutex_lock(&s->mu);
    rk_spool_file *f;
    /* a render in progress ends in bounded time (exports are bounded in rows and bytes) */
    while (!(f = g_hash_table_lookup(s->files, key)) && g_hash_table_contains(s->flights, key))
        pthread_cond_wait(&s->done, &s->mu);
    if (f)
        f->refs++;
    else
        g_hash_table_add(s->flights, g_strdup(key));
    pthread_mutex_unlock(&s->mu);
    return f;
}

void rk_spool_unclaim(rk_spool *s, const char *key)
{
    pthread_mutex_lock(&s->mu);
    g_hash_table_remove(s->flights, key);
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
}

static int spool_busy(rk_spool *s, rk_error *err)
{
    return rk_fail(err, "export_busy", "",
                   "the node is busy sending %llu MiB of exports to other clients; try again shortly",
                   (unsigned long long)(s->max >> 20));
}

rk_spool_writer *rk_spool_begin(rk_spool *s, rk_error *err)
{
    rk_spool_writer *w = calloc(1, sizeof *w);
    if (!w) {
        rk_fail(err, "no_memory", "", "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    bool full = s->used >= s->max;
    if (!full)
        s->refs++;
    pthread_mutex_unlock(&s->mu);
    if (full) {
        free(w);
        spool_busy(s, err);
        return NULL;
    }
    w->s = s;
    char *path = g_build_filename(s->dir, SPOOL_PREFIX "XXXXXX", NULL);
    w->fd = g_mkstemp_full(path, O_RDWR | O_CLOEXEC, 0600);
    int e = errno;
    if (w->fd >= 0)
        (void)g_unlink(path); /* a failure leaves a name that rk_spool_new removes at the next start */
    g_free(path);
    if (w->fd < 0) {
        rk_fail(err, "internal", "", "cannot create a file in %s: %s", s->dir, strerror(e));
        rk_spool_abandon(w);
        return NULL;
    }
    return w;
}

int rk_spool_write(rk_spool_writer *w, const void *data, size_t len, rk_error *err)
{
    rk_spool *s = w->s;
    pthread_mutex_lock(&s->mu);
    bool full = s->used + len > s->max;
    if (!full) {
        s->used += len;
        w->size += len;
    }
    pthread_mutex_unlock(&s->mu);
    if (full)
        return spool_busy(s, err);
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return rk_fail(err, errno == ENOSPC ? "export_busy" : "internal", "", "writing an export to %s: %s", s->dir,
                           n < 0 ? strerror(errno) : "no progress");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void rk_spool_abandon(rk_spool_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    spool_put(w->s, w->size);
    free(w);
}

rk_spool_file *rk_spool_finish(rk_spool_writer *w, const char *key, const char *note, rk_error *err)
{
    rk_spool *s = w->s;
    rk_spool_file *f = calloc(1, sizeof *f);
    if (!f || !(f->key = strdup(key)) || !(f->note = strdup(note ? note : ""))) {
        if (f) {
            free(f->key);
            free(f);
        }
        rk_spool_abandon(w);
        rk_fail(err, "no_memory", "", "out of memory");
        return NULL;
    }
    f->s = s;
    f->fd = w->fd;
    f->size = w->size;
    f->refs = 1;
    pthread_mutex_lock(&s->mu);
    rk_spool_file *first = g_hash_table_lookup(s->files, key);
    if (first)
        first->refs++;
    else
        g_hash_table_insert(s->files, f->key, f); /* the file takes over the writer's spool reference */
    pthread_mutex_unlock(&s->mu);
    if (first) {
        free(f->key);
        free(f->note);
        free(f);
        rk_spool_abandon(w);
        return first;
    }
    free(w);
    return f;
}

uint64_t rk_spool_file_size(const rk_spool_file *f)
{
    return f->size;
}

const char *rk_spool_file_note(const rk_spool_file *f)
{
    return f->note;
}

int rk_spool_file_read(const rk_spool_file *f, uint64_t off, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = pread(f->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return 0;
}

void rk_spool_file_unref(rk_spool_file *f)
{
    if (!f)
        return;
    rk_spool *s = f->s;
    pthread_mutex_lock(&s->mu);
    bool gone = --f->refs == 0;
    if (gone)
        g_hash_table_remove(s->files, f->key);
    pthread_mutex_unlock(&s->mu);
    if (!gone)
        return;
    close(f->fd);
    spool_put(s, f->size);
    free(f->key);
    free(f->note);
    free(f);
}

uint64_t rk_spool_used(rk_spool *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t u = s->used;
    pthread_mutex_unlock(&s->mu);
    return u;
}
