/*
 * legacy.c - the legacy bridge's setting, fleet key, rate limits, counters and enrollments
 * (legacy.h).
 */
#include "legacy.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "fota/host/file_util.h"

#include "ident.h"
#include "log.h"

#define RATE_SLOTS 4096u /* client addresses tracked at once; a collision shares a bucket */
#define RATE_LOCKS 64u

static const char enroll_label[] = "fota-enroll-v1";
static const char wrap_label[] = "fota-enroll-wrap"; /* and its NUL, then the id */

typedef struct {
    char address[FOTAD_ADDRESS_MAX + 1];
    double tokens;
    int64_t last_ms;
} bucket_t;

struct fotad_legacy {
    fotad_store_t *store;
    const uint8_t *master;
    size_t master_len;
    uint8_t *fleet_key; /* NULL: no bridge */
    size_t fleet_key_len;
    uint8_t enroll_key[32];
    uint32_t rate_per_min;
    uint32_t burst;
    uint32_t max_pending;

    pthread_mutex_t lock; /* the setting */
    bool on;
    fotad_legacy_rec_t setting;

    pthread_mutex_t rate_locks[RATE_LOCKS];
    bucket_t buckets[RATE_SLOTS];

    _Atomic uint64_t counts[FOTAD_COUNT_ENROLL_REFUSED + 1];
};

static fota_err_t hmac(const uint8_t *key, size_t key_len, const void *a, size_t a_len,
                       const void *b, size_t b_len, uint8_t out[32])
{
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    int rc = mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    if (rc == 0) {
        rc = mbedtls_md_hmac_starts(&ctx, key, key_len);
    }
    if (rc == 0) {
        rc = mbedtls_md_hmac_update(&ctx, a, a_len);
    }
    if (rc == 0 && b_len > 0) {
        rc = mbedtls_md_hmac_update(&ctx, b, b_len);
    }
    if (rc == 0) {
        rc = mbedtls_md_hmac_finish(&ctx, out);
    }
    mbedtls_md_free(&ctx);
    return rc == 0 ? FOTA_OK : FOTA_ERR_CRYPTO;
}

static fota_err_t load_fleet_key(const char *path, fotad_legacy_t *l)
{
    fota_err_t err =
        fota_file_read_all(path, FOTAD_FLEET_KEY_MAX, &l->fleet_key, &l->fleet_key_len);
    if (err != FOTA_OK) {
        FOTAD_ERROR("legacy fleet key %s: cannot read: %s", path,
                    err == FOTA_ERR_TOO_LARGE ? "too large" : strerror(errno));
        return err;
    }
    if (l->fleet_key_len < FOTAD_FLEET_KEY_MIN) {
        FOTAD_ERROR("legacy fleet key %s: %zu bytes, at least %u expected", path, l->fleet_key_len,
                    FOTAD_FLEET_KEY_MIN);
        return FOTA_ERR_KEY;
    }
    if (l->fleet_key[l->fleet_key_len - 1] == '\n') {
        FOTAD_WARN("legacy fleet key %s ends with a newline, which is part of the key: the "
                   "original firmware's key must be the file's bytes exactly",
                   path);
    }
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
        FOTAD_WARN("legacy fleet key %s is readable by group or others (chmod 600 it)", path);
    }
    return hmac(l->fleet_key, l->fleet_key_len, enroll_label, strlen(enroll_label), NULL, 0,
                l->enroll_key);
}

fota_err_t fotad_legacy_open(const fotad_config_t *cfg, fotad_store_t *store, const uint8_t *master,
                             size_t master_len, fotad_legacy_t **out)
{
    fotad_legacy_t *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    l->store = store;
    l->master = master;
    l->master_len = master_len;
    l->rate_per_min = cfg->legacy_rate;
    l->burst = cfg->legacy_burst;
    l->max_pending = cfg->legacy_max_pending;
    pthread_mutex_init(&l->lock, NULL);
    for (size_t i = 0; i < RATE_LOCKS; i++) {
        pthread_mutex_init(&l->rate_locks[i], NULL);
    }
    fota_err_t err = FOTA_OK;
    if (cfg->legacy_fleet_key_file != NULL) {
        err = load_fleet_key(cfg->legacy_fleet_key_file, l);
    }
    if (err == FOTA_OK) {
        err = store->ops->legacy_get(store->ctx, &l->setting);
        l->on = err == FOTA_OK;
        err = err == FOTA_ERR_NOT_FOUND ? FOTA_OK : err;
    }
    if (err == FOTA_OK && l->on && l->fleet_key == NULL) {
        FOTAD_WARN("legacy bridge for product %s is set, but no legacy_fleet_key_file is given: "
                   "it stays off",
                   l->setting.product);
    } else if (err == FOTA_OK && l->on) {
        FOTAD_INFO("legacy bridge on: product %s, bridge release %s, MAC field \"%s\"",
                   l->setting.product, l->setting.bridge_release, l->setting.mac_field);
    }
    if (err != FOTA_OK) {
        fotad_legacy_free(l);
        return err;
    }
    *out = l;
    return FOTA_OK;
}

void fotad_legacy_free(fotad_legacy_t *l)
{
    if (l == NULL) {
        return;
    }
    if (l->fleet_key != NULL) {
        mbedtls_platform_zeroize(l->fleet_key, l->fleet_key_len);
        free(l->fleet_key);
    }
    mbedtls_platform_zeroize(l->enroll_key, sizeof l->enroll_key);
    pthread_mutex_destroy(&l->lock);
    for (size_t i = 0; i < RATE_LOCKS; i++) {
        pthread_mutex_destroy(&l->rate_locks[i]);
    }
    free(l);
}

bool fotad_legacy_has_key(const fotad_legacy_t *l)
{
    return l->fleet_key != NULL;
}

bool fotad_legacy_setting(fotad_legacy_t *l, fotad_legacy_rec_t *out)
{
    pthread_mutex_lock(&l->lock);
    bool on = l->on && l->fleet_key != NULL;
    if (on) {
        *out = l->setting;
    }
    pthread_mutex_unlock(&l->lock);
    return on;
}

fota_err_t fotad_legacy_configure(fotad_legacy_t *l, const fotad_legacy_rec_t *rec)
{
    pthread_mutex_lock(&l->lock);
    fota_err_t err = l->store->ops->legacy_set(l->store->ctx, rec);
    if (err == FOTA_OK) {
        l->on = rec != NULL;
        if (rec != NULL) {
            l->setting = *rec;
        }
    }
    pthread_mutex_unlock(&l->lock);
    return err;
}

static size_t address_slot(const char *address)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = address; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 16777619u;
    }
    return h % RATE_SLOTS;
}

bool fotad_legacy_admit(fotad_legacy_t *l, const char *address, int64_t mono_ms)
{
    size_t i = address_slot(address);
    pthread_mutex_t *lock = &l->rate_locks[i % RATE_LOCKS];
    pthread_mutex_lock(lock);
    bucket_t *b = &l->buckets[i];
    if (strcmp(b->address, address) != 0) {
        /* another address had the slot: its bucket refills while unused, so a full one is as
         * good as a new one; a partly used one is shared (the stricter choice) */
        snprintf(b->address, sizeof b->address, "%s", address);
        if (b->last_ms == 0) {
            b->tokens = l->burst;
            b->last_ms = mono_ms;
        }
    }
    double refill = (double)(mono_ms - b->last_ms) * l->rate_per_min / 60000.0;
    b->tokens = b->tokens + (refill > 0 ? refill : 0);
    b->tokens = b->tokens > l->burst ? l->burst : b->tokens;
    b->last_ms = mono_ms > b->last_ms ? mono_ms : b->last_ms;
    bool ok = b->tokens >= 1.0;
    if (ok) {
        b->tokens -= 1.0;
    }
    pthread_mutex_unlock(lock);
    if (!ok) {
        fotad_legacy_count(l, FOTAD_COUNT_RATE_LIMITED);
    }
    return ok;
}

void fotad_legacy_count(fotad_legacy_t *l, fotad_legacy_counter_t which)
{
    atomic_fetch_add(&l->counts[which], 1);
}

void fotad_legacy_counts(fotad_legacy_t *l, fotad_legacy_counts_t *out)
{
    out->chunks = atomic_load(&l->counts[FOTAD_COUNT_CHUNK]);
    out->refused = atomic_load(&l->counts[FOTAD_COUNT_REFUSED]);
    out->rate_limited = atomic_load(&l->counts[FOTAD_COUNT_RATE_LIMITED]);
    out->enroll_requests = atomic_load(&l->counts[FOTAD_COUNT_ENROLL]);
    out->enroll_refused = atomic_load(&l->counts[FOTAD_COUNT_ENROLL_REFUSED]);
}

const uint8_t *fotad_legacy_fleet_key(const fotad_legacy_t *l, size_t *len)
{
    *len = l->fleet_key_len;
    return l->fleet_key;
}

const uint8_t *fotad_legacy_enroll_key(const fotad_legacy_t *l)
{
    return l->fleet_key != NULL ? l->enroll_key : NULL;
}

/* key XOR HMAC-SHA256(master, "fota-enroll-wrap\0" || id): wraps and unwraps alike. */
static fota_err_t wrap(const fotad_legacy_t *l, const char *id, const uint8_t in[32],
                       uint8_t out[32])
{
    uint8_t pad[32];
    fota_err_t err =
        hmac(l->master, l->master_len, wrap_label, sizeof wrap_label, id, strlen(id), pad);
    for (size_t i = 0; i < 32; i++) {
        out[i] = in[i] ^ pad[i];
    }
    mbedtls_platform_zeroize(pad, sizeof pad);
    return err;
}

fota_err_t fotad_legacy_enroll(fotad_legacy_t *l, const char *id, const uint8_t key[32],
                               const char *address, int64_t now, fotad_enrollment_rec_t *out,
                               fotad_enroll_result_t *result)
{
    fotad_store_t *s = l->store;
    fotad_legacy_rec_t setting;
    if (!fotad_legacy_setting(l, &setting)) {
        *result = FOTAD_ENROLL_NO_PRODUCT;
        return FOTA_OK;
    }
    fotad_enrollment_rec_t e = {.requested = now};
    snprintf(e.device_id, sizeof e.device_id, "%s", id);
    snprintf(e.product, sizeof e.product, "%s", setting.product);
    snprintf(e.state, sizeof e.state, "pending");
    snprintf(e.address, sizeof e.address, "%s", address);
    fota_err_t err = wrap(l, id, key, e.key_wrapped);
    fotad_enrollment_rec_t had;
    if (err == FOTA_OK) {
        err = s->ops->enrollment_get(s->ctx, id, &had);
    }
    if (err == FOTA_ERR_NOT_FOUND) {
        /* a new id: not one a device already signs for with a key derived from the master
         * secret (its enrollment would lock that device out), and room left */
        fotad_device_rec_t d;
        uint64_t pending = 0;
        err = s->ops->device_get(s->ctx, id, &d);
        if (err == FOTA_OK) {
            *result = FOTAD_ENROLL_KNOWN;
            return FOTA_OK;
        }
        err =
            err == FOTA_ERR_NOT_FOUND ? s->ops->enrollment_count(s->ctx, "pending", &pending) : err;
        if (err == FOTA_OK && pending >= l->max_pending) {
            *result = FOTAD_ENROLL_FULL;
            return FOTA_OK;
        }
        bool inserted = false;
        if (err == FOTA_OK) {
            err = s->ops->enrollment_insert(s->ctx, &e, &inserted);
        }
        if (err == FOTA_OK && inserted) {
            *out = e;
            *result = FOTAD_ENROLL_NEW;
            return FOTA_OK;
        }
        if (err == FOTA_OK) { /* another registration of this id came first */
            err = s->ops->enrollment_get(s->ctx, id, &had);
        }
    }
    if (err != FOTA_OK) {
        return err;
    }
    *out = had;
    if (fotad_equal_ct(had.key_wrapped, e.key_wrapped, sizeof e.key_wrapped)) {
        *result = FOTAD_ENROLL_SAME;
        return FOTA_OK;
    }
    /* Two keys for one id: one of them is not the device's. A pending registration can no longer
     * be approved; an approved or rejected one stays as it is. */
    uint64_t moved = 0;
    err = s->ops->enrollment_move(s->ctx, id, "pending", "conflict", now, &moved);
    if (err == FOTA_OK && moved > 0) {
        snprintf(out->state, sizeof out->state, "conflict");
        out->decided = now;
    }
    *result = FOTAD_ENROLL_CONFLICT;
    return err;
}

fota_err_t fotad_legacy_key(fotad_legacy_t *l, const char *id, uint8_t key[32])
{
    fotad_enrollment_rec_t e;
    fota_err_t err = l->store->ops->enrollment_get(l->store->ctx, id, &e);
    if (err == FOTA_OK && strcmp(e.state, "approved") != 0) {
        err = FOTA_ERR_NOT_FOUND;
    }
    if (err == FOTA_OK) {
        err = wrap(l, id, e.key_wrapped, key);
    }
    mbedtls_platform_zeroize(&e, sizeof e);
    return err;
}

void fotad_legacy_fingerprint(const fotad_legacy_t *l, const fotad_enrollment_rec_t *e,
                              char out[17])
{
    uint8_t key[32];
    uint8_t digest[32];
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (wrap(l, e->device_id, e->key_wrapped, key) != FOTA_OK ||
        mbedtls_md(sha, key, sizeof key, digest) != 0) {
        memset(digest, 0, sizeof digest);
    }
    mbedtls_platform_zeroize(key, sizeof key);
    fotad_hex(digest, 8, out);
}
