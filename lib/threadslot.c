/* threadslot: see threadslot.h. A slot's key is made under one lock the first time any thread asks;
 * pthread_once cannot serve, as its routine takes no argument to say which slot. */
#include "threadslot.h"

#include <stdbool.h>
#include <stdlib.h>

static pthread_mutex_t threadslot_lock = PTHREAD_MUTEX_INITIALIZER;

/* What the key holds: the object behind the slot it belongs to, which the key's destructor needs. */
typedef struct threadslot_obj {
    const rk_thread_slot *slot;
    max_align_t data[];
} threadslot_obj;

static void threadslot_destroy(void *p)
{
    threadslot_obj *o = p;
    if (o->slot->release)
        o->slot->release(o->data);
    free(o);
}

static bool threadslot_ready(rk_thread_slot *s)
{
    if (atomic_load_explicit(&s->ready, memory_order_acquire))
        return true;
    pthread_mutex_lock(&threadslot_lock);
    if (!atomic_load_explicit(&s->ready, memory_order_relaxed) && pthread_key_create(&s->key, threadslot_destroy) == 0)
        atomic_store_explicit(&s->ready, true, memory_order_release);
    pthread_mutex_unlock(&threadslot_lock);
    return atomic_load_explicit(&s->ready, memory_order_acquire);
}

void *rk_thread_slot_get(rk_thread_slot *s)
{
    if (!threadslot_ready(s))
        return NULL;
    threadslot_obj *o = pthread_getspecific(s->key);
    if (o)
        return o->data;
    o = calloc(1, sizeof *o + s->size);
    if (!o)
        return NULL;
    o->slot = s;
    if (pthread_setspecific(s->key, o) != 0) {
        free(o);
        return NULL;
    }
    return o->data;
}
