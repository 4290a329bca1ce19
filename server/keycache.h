/*
 * keycache.h - the keys of recently authenticated devices, so a device's request costs one MAC
 * check instead of two key derivations and a MAC check (device_auth.c). A device key is
 * HMAC-SHA256(master secret, device id) and its auth key HMAC-SHA256(device key, "fota-auth-v1")
 * (docs/PROTOCOL.md section 1): both follow from the master secret and the id alone, and the
 * master secret does not change while fotad runs, so a derived entry is never stale. An enrolled
 * device's key (legacy.h) is cached the same way and dropped when its enrollment is revoked. A
 * fotad started with another master secret starts with an empty cache.
 *
 * A fixed table of slots, one per hash of the id (a newer device takes the slot of an older one
 * that hashes the same: a miss costs a derivation, nothing else). Only keys whose MAC verified
 * are put in (device_auth.c), so requests with made-up ids cannot push real devices out. The keys
 * are wiped when the cache is freed. Thread-safe (striped locks).
 */
#ifndef FOTAD_KEYCACHE_H
#define FOTAD_KEYCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#define FOTAD_KEYCACHE_SLOTS 8192u /* 113 bytes each, pages touched only when used */

typedef struct fotad_keycache fotad_keycache_t;

/* slots: rounded up to a power of two (at least 1). FOTA_ERR_NO_MEM. */
fota_err_t fotad_keycache_new(size_t slots, fotad_keycache_t **out);

/* Wipe the keys and free (NULL is fine). */
void fotad_keycache_free(fotad_keycache_t *c);

/* The cached keys of device `id` into device_key and auth_key: true, or false (a miss). */
bool fotad_keycache_get(fotad_keycache_t *c, const char *id, uint8_t device_key[32],
                        uint8_t auth_key[32]);

/* Remember the keys of device `id` (a valid device id: at most FOTAD_DEVICE_ID_MAX characters). */
void fotad_keycache_put(fotad_keycache_t *c, const char *id, const uint8_t device_key[32],
                        const uint8_t auth_key[32]);

/* Forget device `id` (its enrolled key was revoked). */
void fotad_keycache_drop(fotad_keycache_t *c, const char *id);

/* Lookups that found their device and lookups that did not, since the cache was made. */
void fotad_keycache_stats(fotad_keycache_t *c, uint64_t *hits, uint64_t *misses);

#endif /* FOTAD_KEYCACHE_H */
