/*
 * loaded.c - objects prepared once and kept, by id (loaded.h).
 */
#include "loaded.h"

#include <stdlib.h>
#include <string.h>

void fotad_loaded_init(fotad_loaded_t *l, const char *(*id_of)(const void *item),
                       void (*free_item)(void *item))
{
    memset(l, 0, sizeof *l);
    pthread_rwlock_init(&l->lock, NULL);
    l->id_of = id_of;
    l->free_item = free_item;
}

void fotad_loaded_free(fotad_loaded_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        l->free_item(l->items[i]);
    }
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
    pthread_rwlock_destroy(&l->lock);
}

/* The item of this id, the lock held by the caller. */
static void *find_locked(const fotad_loaded_t *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->id_of(l->items[i]), id) == 0) {
            return l->items[i];
        }
    }
    return NULL;
}

void *fotad_loaded_find(fotad_loaded_t *l, const char *id)
{
    pthread_rwlock_rdlock(&l->lock);
    void *item = find_locked(l, id);
    pthread_rwlock_unlock(&l->lock);
    return item;
}

fota_err_t fotad_loaded_add(fotad_loaded_t *l, void *item, void **out)
{
    fota_err_t err = FOTA_OK;
    pthread_rwlock_wrlock(&l->lock);
    void *have = find_locked(l, l->id_of(item));
    if (have == NULL && l->n == l->cap) {
        size_t cap = l->cap == 0 ? 16 : l->cap * 2;
        void **p = realloc(l->items, cap * sizeof *p);
        if (p == NULL) {
            err = FOTA_ERR_NO_MEM;
        } else {
            l->items = p;
            l->cap = cap;
        }
    }
    if (have == NULL && err == FOTA_OK) {
        l->items[l->n++] = item;
        have = item;
    }
    pthread_rwlock_unlock(&l->lock);
    if (have != item) {
        l->free_item(item);
    }
    *out = have;
    return err;
}
