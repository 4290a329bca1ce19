/*
 * legacy.h - the legacy bridge (docs/MIGRATION.md): the one way in for devices that still run
 * the original firmware, which knows one fleet-wide HMAC key, sends no device id and signs no
 * request.
 *
 * Fenced on every side: off unless fotad was given the fleet key (legacy_fleet_key_file, read at
 * start, never stored) and an operator named a product and its bridge release (admin API); at
 * most one product per fotad, because an unauthenticated request names none; only the chunks of
 * that one release are ever served that way; every client address is rate-limited (token bucket,
 * legacy_rate per minute, legacy_burst at once); everything is counted (fotad_legacy_counts_t,
 * the admin API's GET /api/admin/legacy) and every request logged.
 *
 * Enrollment: a bridge device makes its own device key and registers it, signing the request as
 * PROTOCOL.md section 2 does with the enrollment key HMAC-SHA256(fleet key, "fota-enroll-v1") as
 * its device key. A registration waits for an operator's approval; once approved the device signs
 * its requests with its own key like any other device (device_auth.c asks fotad_legacy_key). The
 * store keeps the key wrapped: XOR HMAC-SHA256(master secret, "fota-enroll-wrap\0" || id), so the
 * database alone does not give it away.
 *
 * Thread-safe: the setting under a lock, the counters atomic, the rate table striped.
 */
#ifndef FOTAD_LEGACY_H
#define FOTAD_LEGACY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

#define FOTAD_LEGACY_CHUNK_SIZE 1024u /* what the original firmware fetches */
#define FOTAD_FLEET_KEY_MIN 16u
#define FOTAD_FLEET_KEY_MAX 1024u

typedef struct fotad_legacy fotad_legacy_t;

/* What the bridge has done since fotad started. */
typedef struct {
    uint64_t chunks;          /* chunks served */
    uint64_t refused;         /* legacy requests refused (bad number, past the end, no bridge) */
    uint64_t rate_limited;    /* legacy and enrollment requests over the address's rate */
    uint64_t enroll_requests; /* registrations whose signature held */
    uint64_t enroll_refused;  /* registrations refused (bad signature, conflict, rejected, full) */
} fotad_legacy_counts_t;

typedef enum {
    FOTAD_COUNT_CHUNK,
    FOTAD_COUNT_REFUSED,
    FOTAD_COUNT_RATE_LIMITED,
    FOTAD_COUNT_ENROLL,
    FOTAD_COUNT_ENROLL_REFUSED,
} fotad_legacy_counter_t;

/* Open: the fleet key from cfg->legacy_fleet_key_file (if given) and the setting from the store.
 * master: the master secret (kept by the app; it must outlive this). Errors are logged. */
fota_err_t fotad_legacy_open(const fotad_config_t *cfg, fotad_store_t *store, const uint8_t *master,
                             size_t master_len, fotad_legacy_t **out);
void fotad_legacy_free(fotad_legacy_t *l);

/* fotad was given a fleet key. */
bool fotad_legacy_has_key(const fotad_legacy_t *l);

/* The bridge setting: true and *out when legacy mode is on. */
bool fotad_legacy_setting(fotad_legacy_t *l, fotad_legacy_rec_t *out);

/* Store the setting (rec) or turn legacy mode off (NULL); the caller has checked rec. */
fota_err_t fotad_legacy_configure(fotad_legacy_t *l, const fotad_legacy_rec_t *rec);

/* A request from `address` at mono_ms may go on (true), or the address is over its rate (false,
 * counted). */
bool fotad_legacy_admit(fotad_legacy_t *l, const char *address, int64_t mono_ms);

void fotad_legacy_count(fotad_legacy_t *l, fotad_legacy_counter_t which);
void fotad_legacy_counts(fotad_legacy_t *l, fotad_legacy_counts_t *out);

/* The fleet key a legacy chunk is MAC'd with (HMAC-SHA256), or NULL. */
const uint8_t *fotad_legacy_fleet_key(const fotad_legacy_t *l, size_t *len);

/* The enrollment key every bridge device signs its registration with. */
const uint8_t *fotad_legacy_enroll_key(const fotad_legacy_t *l);

/* ---- enrollment ------------------------------------------------------------------------------ */

typedef enum {
    FOTAD_ENROLL_NEW,        /* registered now: pending */
    FOTAD_ENROLL_SAME,       /* the same key was registered before: its state stands */
    FOTAD_ENROLL_CONFLICT,   /* another key was registered for this id: both refused */
    FOTAD_ENROLL_KNOWN,      /* a device of this id already authenticates with its own key */
    FOTAD_ENROLL_FULL,       /* too many registrations wait for approval */
    FOTAD_ENROLL_NO_PRODUCT, /* legacy mode is off */
} fotad_enroll_result_t;

/* A registration of `key` for device `id` from `address`; *out the enrollment as it now is. */
fota_err_t fotad_legacy_enroll(fotad_legacy_t *l, const char *id, const uint8_t key[32],
                               const char *address, int64_t now, fotad_enrollment_rec_t *out,
                               fotad_enroll_result_t *result);

/* The key of an approved enrollment: FOTA_OK and key, or FOTA_ERR_NOT_FOUND (none, or not
 * approved). Asked by device authentication before it derives a key from the master secret. */
fota_err_t fotad_legacy_key(fotad_legacy_t *l, const char *id, uint8_t key[32]);

/* The first 8 bytes of SHA-256(key) in hex: what an operator compares with the device's log. */
void fotad_legacy_fingerprint(const fotad_legacy_t *l, const fotad_enrollment_rec_t *e,
                              char out[17]);

#endif /* FOTAD_LEGACY_H */
