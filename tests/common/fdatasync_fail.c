/* fdatasync_fail: a shim preloaded into renkeid (LD_PRELOAD) that makes the flush after a commit fail
 * as a failing disk does, for test_flush_failure.
 *
 * The writer commits a batch (LMDB writes and flushes its data pages, not yet the page that makes it
 * current) and its sync thread, named "renkei-sync", then flushes that with one fdatasync
 * (daemon/writer.c, rk_store_sync). While the file RENKEI_FDATASYNC_FAIL_FILE names exists, every
 * fdatasync of that thread fails with EIO and appends "fail" to the file; other threads (the writer's
 * own commit flushes) and every call while the file is absent go to the real fdatasync. So the
 * commit succeeds and only its flush fails, the case the node must not acknowledge.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real && !(real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync"))) {
        fprintf(stderr, "fdatasync_fail: no fdatasync in the libraries after this one\n");
        abort();
    }
    const char *path = getenv("RENKEI_FDATASYNC_FAIL_FILE");
    char name[16] = "";
    if (!path || !*path || pthread_getname_np(pthread_self(), name, sizeof name) != 0 ||
        strcmp(name, "renkei-sync") != 0 || access(path, F_OK) != 0)
        return real(fd);
    FILE *f = fopen(path, "a");
    if (f) {
        fputs("fail\n", f);
        fclose(f);
    }
    errno = EIO;
    return -1;
}
