/*
 * app.h - everything a running fotad holds, built from its configuration: the secrets (master
 * secret, admin token digest, release keys), the store, the object files, the services, the
 * nonce cache and the cache of derived device keys. The HTTP layer hands a fotad_app_t to every
 * handler. Opening it checks the configuration for real (keys parse, the secret is long enough,
 * the data directory is usable) and logs what is wrong; nothing listens until it is open.
 */
#ifndef FOTAD_APP_H
#define FOTAD_APP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "deltas.h"
#include "devices.h"
#include "keycache.h"
#include "legacy.h"
#include "metrics.h"
#include "keyring.h"
#include "nonce_cache.h"
#include "objstore.h"
#include "releases.h"
#include "rollouts.h"
#include "store.h"

#define FOTAD_MASTER_MIN 32u
#define FOTAD_MASTER_MAX 4096u
#define FOTAD_DB_NAME "fotad.db"

typedef struct {
    const fotad_config_t *cfg;
    fotad_keyring_t keys;
    uint8_t *master; /* master secret (wiped at close) */
    size_t master_len;
    uint8_t admin_token_sha256[32]; /* only the digest of the token is kept */
    fotad_store_t store;
    fotad_objstore_t *objects;
    fotad_releases_t *releases;
    fotad_deltas_t *deltas; /* delta bundles of releases (deltas.h) */
    fotad_devices_t *devices;
    fotad_nonce_cache_t *nonces;
    fotad_keycache_t *device_keys; /* derived keys of devices that authenticated */
    fotad_legacy_t *legacy;        /* the legacy bridge and enrollments (legacy.h) */
    fotad_rollouts_t *rollouts;    /* rollouts and their scheduler tick (rollouts.h) */
    fotad_metrics_t *metrics;      /* this process's counters (metrics.h) */
    fotad_metrics_route_t
        metric_routes[FOTAD_METRICS_ROUTES_MAX]; /* what the registry knows of each route */
    int64_t started;                             /* wall-clock unix seconds of the start */
} fotad_app_t;

/* Build the app from cfg (which must outlive it), rollouts on the system clock. Errors are
 * logged. */
fota_err_t fotad_app_open(const fotad_config_t *cfg, fotad_app_t *app);

/* The same with the rollouts' clock given (a test build's fake clock, server/main.c). */
fota_err_t fotad_app_open_clock(const fotad_config_t *cfg, fotad_clock_t clock, fotad_app_t *app);

/* Release everything (safe on a partly opened app). */
void fotad_app_close(fotad_app_t *app);

/* Wall-clock unix seconds (times stored and compared with X-Fota-Time). */
int64_t fotad_now(void);

/* Monotonic seconds (intervals: nonce generations, the "seen" throttle). */
int64_t fotad_mono_now(void);

#endif /* FOTAD_APP_H */
