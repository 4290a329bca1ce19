/*
 * loaded.h - objects prepared once per process and kept, found by their id: the releases
 * (releases.c) and the deltas (deltas.c) a device asks for. A small array behind a read-write
 * lock: lookups (every device request) take the read side; adding a newly prepared object takes
 * the write side once. Objects are never removed before fotad_loaded_free, so a pointer handed
 * out stays valid until then.
 */
#ifndef FOTAD_LOADED_H
#define FOTAD_LOADED_H

#include <pthread.h>
#include <stddef.h>

#include "fota/err.h"

typedef struct {
    pthread_rwlock_t lock;
    void **items;
    size_t n;
    size_t cap;
    const char *(*id_of)(const void *item); /* the item's id */
    void (*free_item)(void *item);
} fotad_loaded_t;

void fotad_loaded_init(fotad_loaded_t *l, const char *(*id_of)(const void *item),
                       void (*free_item)(void *item));

/* Free every item, then the set. */
void fotad_loaded_free(fotad_loaded_t *l);

/* The item of this id, or NULL. */
void *fotad_loaded_find(fotad_loaded_t *l, const char *id);

/* Keep item unless one of its id is there already (another thread prepared it first): *out
 * gets the one kept, and item is freed when it is not that one. FOTA_ERR_NO_MEM: item freed,
 * *out NULL. */
fota_err_t fotad_loaded_add(fotad_loaded_t *l, void *item, void **out);

#endif /* FOTAD_LOADED_H */
