/* threadslot: one object per thread, made zeroed on first use and destroyed with its thread: what a
 * thread keeps between calls (compression contexts, scratch buffers) so a call costs no allocation.
 *
 * A slot is a static object of its module, initialised with RK_THREAD_SLOT_INIT; its key is made on
 * the first rk_thread_slot_get of any thread. When a thread ends, `release` (may be NULL) frees what
 * its object holds; the slot frees the object.
 */
#ifndef RK_THREADSLOT_H
#define RK_THREADSLOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct rk_thread_slot {
    size_t size;
    void (*release)(void *obj);
    atomic_bool ready;
    pthread_key_t key;
} rk_thread_slot;

#define RK_THREAD_SLOT_INIT(type, destroy_fn) \
    {                                         \
        sizeof(type), (destroy_fn), false, 0  \
    }

/* The calling thread's object of slot s; NULL when out of memory (nothing is then kept). */
void *rk_thread_slot_get(rk_thread_slot *s);

#endif
