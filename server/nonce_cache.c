/*
 * nonce_cache.c - two generations of (device, nonce) fingerprints behind one mutex
 * (nonce_cache.h). The SHA-256 of the fingerprint is computed outside the lock; inside it is a
 * probe of one or two tables, so contention stays low even with many threads.
 */
#include "nonce_cache.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>

#include "fpset.h"

struct fotad_nonce_cache {
    pthread_mutex_t lock;
    fotad_fp_salt_t salt;
    fotad_fpset_t gen[2]; /* gen[0] current, gen[1] previous */
    int64_t gen_start;    /* monotonic seconds when gen[0] started */
    int64_t period;       /* 2 x window */
    int started;
};

fota_err_t fotad_nonce_cache_new(uint32_t window_s, fotad_nonce_cache_t **out)
{
    if (window_s == 0) {
        return FOTA_ERR_ARG;
    }
    fotad_nonce_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    if (fotad_fp_salt_init(&c->salt) != FOTA_OK) {
        free(c);
        return FOTA_ERR_IO;
    }
    pthread_mutex_init(&c->lock, NULL);
    fotad_fpset_init(&c->gen[0]);
    fotad_fpset_init(&c->gen[1]);
    c->period = 2 * (int64_t)window_s;
    *out = c;
    return FOTA_OK;
}

void fotad_nonce_cache_free(fotad_nonce_cache_t *c)
{
    if (c == NULL) {
        return;
    }
    fotad_fpset_free(&c->gen[0]);
    fotad_fpset_free(&c->gen[1]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Start a new generation when the current one is a period old; after two idle periods both
 * are stale (see nonce_cache.h) and both are dropped. Called with the lock held. */
static void rotate(fotad_nonce_cache_t *c, int64_t now)
{
    if (!c->started) {
        c->started = 1;
        c->gen_start = now;
        return;
    }
    int64_t age = now - c->gen_start;
    if (age < c->period) {
        return;
    }
    fotad_fpset_t old = c->gen[1];
    c->gen[1] = c->gen[0];
    c->gen[0] = old;
    fotad_fpset_clear(&c->gen[0]);
    if (age >= 2 * c->period) {
        fotad_fpset_clear(&c->gen[1]);
    }
    c->gen_start = now;
}

fota_err_t fotad_nonce_cache_use(fotad_nonce_cache_t *c, const char *device_id, const char *nonce,
                                 int64_t mono_now)
{
    char lower[64];
    size_t i = 0;
    for (; nonce[i] != '\0' && i + 1 < sizeof lower; i++) {
        lower[i] = (char)tolower((unsigned char)nonce[i]);
    }
    lower[i] = '\0';
    uint8_t fp[FOTAD_FP_LEN];
    fotad_fingerprint(&c->salt, device_id, lower, fp);

    pthread_mutex_lock(&c->lock);
    rotate(c, mono_now);
    bool added = false;
    fota_err_t err = FOTA_ERR_STATE;
    if (!fotad_fpset_contains(&c->gen[1], fp)) {
        err = fotad_fpset_add(&c->gen[0], fp, &added);
        if (err == FOTA_OK && !added) {
            err = FOTA_ERR_STATE;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}
