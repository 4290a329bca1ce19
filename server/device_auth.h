/*
 * device_auth.h - checking a device request's authentication (docs/PROTOCOL.md section 2) with
 * the agent's own code (fota/auth.h): the device key is an enrolled device's own (legacy.h), or
 * else derived from the master secret and the claimed id, the auth key from the device key, and the
 * MAC over METHOD\nTARGET\nTIME\nNONCE\nhex(SHA-256(body)) is compared in constant time. The clock
 * must agree within the window and the (device, nonce) pair must be new (nonce_cache.h); the nonce
 * is remembered only after the MAC verified, so nobody without the key can burn a device's nonces
 * or fill the cache. With a key cache (keycache.h) the two derivations are skipped for a device
 * whose keys are cached; the MAC, the clock and the nonce are checked on every request all the
 * same, and keys enter the cache only after their MAC verified.
 */
#ifndef FOTAD_DEVICE_AUTH_H
#define FOTAD_DEVICE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#include "ident.h"
#include "keycache.h"
#include "nonce_cache.h"
#include "store.h"

#define FOTAD_AUTH_WINDOW_S 300u
#define FOTAD_NONCE_HEX_LEN 16u

typedef struct {
    const uint8_t *master; /* the master secret */
    size_t master_len;
    fotad_nonce_cache_t *nonces;
    uint32_t window_s;      /* FOTAD_AUTH_WINDOW_S */
    fotad_keycache_t *keys; /* derived keys of devices seen before, or NULL (derive each time) */
    /* The key of an enrolled device (legacy.h), asked before a key is derived: FOTA_OK, or
     * FOTA_ERR_NOT_FOUND for a device that is not enrolled. NULL: none are. */
    fota_err_t (*enrolled)(void *arg, const char *id, uint8_t key[32]);
    void *enrolled_arg;
    /* Every id signs with this device key (an enrollment request: the fleet's enrollment key),
     * nothing cached; NULL for device requests. */
    const uint8_t *fixed_key;
    /* A store shared by several fotad (its nonce_claim set): the (device, nonce) pairs are
     * recorded there, so a request seen by one node is a replay on every other; NULL or a store
     * without nonce_claim: `nonces`, in this process's memory. */
    const fotad_store_t *shared;
} fotad_device_auth_cfg_t;

/* What the request carried: header values are NULL when absent. */
typedef struct {
    const char *method;
    const char *target; /* raw request target, as sent */
    const char *device_id;
    const char *time;
    const char *nonce;
    const char *auth;
    const uint8_t *body;
    size_t body_len;
} fotad_device_auth_in_t;

/* An authenticated device. */
typedef struct {
    char id[FOTAD_DEVICE_ID_MAX + 1];
    uint8_t device_key[32]; /* signs seed-mode chunks */
} fotad_device_cred_t;

/*
 * FOTA_OK and *out filled, or FOTA_ERR_HTTP_AUTH with *why (a static string for the log and the
 * error body: which header is missing or malformed, "clock skew", "bad MAC", "replayed nonce"),
 * or FOTA_ERR_NO_MEM / FOTA_ERR_CRYPTO. wall_now: unix seconds; mono_now: monotonic seconds.
 */
fota_err_t fotad_device_auth_check(const fotad_device_auth_cfg_t *cfg,
                                   const fotad_device_auth_in_t *in, int64_t wall_now,
                                   int64_t mono_now, fotad_device_cred_t *out, const char **why);

#endif /* FOTAD_DEVICE_AUTH_H */
