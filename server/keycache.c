/*
 * keycache.c - recently authenticated devices' keys (keycache.h). A slot is chosen by an FNV-1a
 * hash of the id; each group of slots has its own mutex (slot index modulo N_LOCKS), so threads
 * answering different devices rarely wait for each other. A lookup copies 64 bytes out under
 * the lock: the slot can be overwritten by another device the moment the lock is released.
 */
#include "keycache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "ident.h"

#define N_LOCKS 64u

typedef struct {
    char id[FOTAD_DEVICE_ID_MAX + 1]; /* "" = empty */
    uint8_t device_key[32];
    uint8_t auth_key[32];
} slot_t;

struct fotad_keycache {
    slot_t *slots;
    size_t mask; /* slots - 1, slots a power of two */
    pthread_mutex_t locks[N_LOCKS];
    atomic_uint_fast64_t hits;
    atomic_uint_fast64_t misses;
};

fota_err_t fotad_keycache_new(size_t slots, fotad_keycache_t **out)
{
    size_t n = 1;
    while (n < slots && n < ((size_t)1 << 30)) {
        n <<= 1;
    }
    fotad_keycache_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    c->slots = calloc(n, sizeof *c->slots); /* large: mapped lazily, pages count once used */
    if (c->slots == NULL) {
        free(c);
        return FOTA_ERR_NO_MEM;
    }
    c->mask = n - 1;
    for (size_t i = 0; i < N_LOCKS; i++) {
        pthread_mutex_init(&c->locks[i], NULL);
    }
    atomic_init(&c->hits, 0);
    atomic_init(&c->misses, 0);
    *out = c;
    return FOTA_OK;
}

void fotad_keycache_free(fotad_keycache_t *c)
{
    if (c == NULL) {
        return;
    }
    mbedtls_platform_zeroize(c->slots, (c->mask + 1) * sizeof *c->slots);
    free(c->slots);
    for (size_t i = 0; i < N_LOCKS; i++) {
        pthread_mutex_destroy(&c->locks[i]);
    }
    free(c);
}

static size_t slot_of(const fotad_keycache_t *c, const char *id)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++) {
        h = (h ^ *p) * 0x100000001b3u;
    }
    return (size_t)(h ^ (h >> 32)) & c->mask;
}

bool fotad_keycache_get(fotad_keycache_t *c, const char *id, uint8_t device_key[32],
                        uint8_t auth_key[32])
{
    size_t i = slot_of(c, id);
    pthread_mutex_t *lock = &c->locks[i % N_LOCKS];
    pthread_mutex_lock(lock);
    const slot_t *s = &c->slots[i];
    bool hit = s->id[0] != '\0' && strcmp(s->id, id) == 0;
    if (hit) {
        memcpy(device_key, s->device_key, 32);
        memcpy(auth_key, s->auth_key, 32);
    }
    pthread_mutex_unlock(lock);
    atomic_fetch_add(hit ? &c->hits : &c->misses, 1);
    return hit;
}

void fotad_keycache_put(fotad_keycache_t *c, const char *id, const uint8_t device_key[32],
                        const uint8_t auth_key[32])
{
    size_t n = strlen(id);
    if (n == 0 || n > FOTAD_DEVICE_ID_MAX) {
        return;
    }
    size_t i = slot_of(c, id);
    pthread_mutex_t *lock = &c->locks[i % N_LOCKS];
    pthread_mutex_lock(lock);
    slot_t *s = &c->slots[i];
    memcpy(s->id, id, n + 1);
    memcpy(s->device_key, device_key, 32);
    memcpy(s->auth_key, auth_key, 32);
    pthread_mutex_unlock(lock);
}

void fotad_keycache_drop(fotad_keycache_t *c, const char *id)
{
    size_t i = slot_of(c, id);
    pthread_mutex_t *lock = &c->locks[i % N_LOCKS];
    pthread_mutex_lock(lock);
    slot_t *s = &c->slots[i];
    if (strcmp(s->id, id) == 0) {
        mbedtls_platform_zeroize(s, sizeof *s);
    }
    pthread_mutex_unlock(lock);
}

void fotad_keycache_stats(fotad_keycache_t *c, uint64_t *hits, uint64_t *misses)
{
    *hits = atomic_load(&c->hits);
    *misses = atomic_load(&c->misses);
}
