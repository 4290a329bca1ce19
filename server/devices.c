/*
 * devices.c - the device service (devices.h): assignments, offers, pinning, reports, and the
 * throttled "seen" write.
 */
#include "devices.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpset.h"
#include "log.h"

struct fotad_devices {
    fotad_store_t *store;
    fotad_releases_t *releases;
    pthread_mutex_t lock; /* guards the touch throttle */
    fotad_fp_salt_t salt;
    fotad_fpset_t touched; /* devices whose last_seen was written in this interval */
    fotad_fpset_t started; /* (device, release) whose download start was written in it */
    int64_t interval_start;
};

fota_err_t fotad_devices_open(fotad_store_t *store, fotad_releases_t *releases,
                              fotad_devices_t **out)
{
    fotad_devices_t *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    if (fotad_fp_salt_init(&d->salt) != FOTA_OK) {
        free(d);
        return FOTA_ERR_IO;
    }
    d->store = store;
    d->releases = releases;
    pthread_mutex_init(&d->lock, NULL);
    fotad_fpset_init(&d->touched);
    fotad_fpset_init(&d->started);
    *out = d;
    return FOTA_OK;
}

void fotad_devices_close(fotad_devices_t *d)
{
    if (d == NULL) {
        return;
    }
    fotad_fpset_free(&d->touched);
    fotad_fpset_free(&d->started);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* True if (id, release) is new in `set` this interval (and remember it): a write is due. */
static bool write_due(fotad_devices_t *d, fotad_fpset_t *set, const char *id, const char *release,
                      int64_t mono_now)
{
    uint8_t fp[FOTAD_FP_LEN];
    fotad_fingerprint(&d->salt, id, release, fp);
    bool added = false;
    pthread_mutex_lock(&d->lock);
    if (mono_now - d->interval_start >= FOTAD_TOUCH_INTERVAL_S || mono_now < d->interval_start) {
        fotad_fpset_clear(&d->touched);
        fotad_fpset_clear(&d->started);
        d->interval_start = mono_now;
    }
    /* Out of memory: not added, so the write is skipped; both writes are informative. */
    (void)fotad_fpset_add(set, fp, &added);
    pthread_mutex_unlock(&d->lock);
    return added;
}

/* True if the device's last_seen should be written now (and remember that it was). */
static bool touch_due(fotad_devices_t *d, const char *id, int64_t mono_now)
{
    return write_due(d, &d->touched, id, NULL, mono_now);
}

fota_err_t fotad_devices_download_started(fotad_devices_t *d, const char *id,
                                          const fotad_release_rec_t *rel,
                                          const fotad_delta_rec_t *delta, int64_t now,
                                          int64_t mono_now)
{
    if (!write_due(d, &d->started, id, delta != NULL ? delta->id : rel->id, mono_now)) {
        return FOTA_OK;
    }
    fotad_report_rec_t r = {.time = now,
                            .total = delta != NULL ? delta->chunk_count : rel->chunk_count};
    snprintf(r.state, sizeof r.state, "downloading");
    memcpy(r.release, rel->id, sizeof r.release);
    memcpy(r.version, rel->version, sizeof r.version);
    return d->store->ops->device_report(d->store->ctx, id, &r);
}

fota_err_t fotad_devices_touch(fotad_devices_t *d, const char *id, int64_t now, int64_t mono_now)
{
    if (!touch_due(d, id, mono_now)) {
        return FOTA_OK;
    }
    return d->store->ops->device_touch(d->store->ctx, id, now);
}

/* The assigned release id: the device's own assignment, else its product's. */
static fota_err_t assigned(fotad_devices_t *d, const char *id, const char *product,
                           char release[FOTAD_RELEASE_ID_LEN + 1])
{
    fotad_assignment_rec_t a;
    fota_err_t err = d->store->ops->assignment_get(d->store->ctx, FOTAD_TARGET_DEVICE, id, &a);
    if (err == FOTA_ERR_NOT_FOUND && product[0] != '\0') {
        err = d->store->ops->assignment_get(d->store->ctx, FOTAD_TARGET_PRODUCT, product, &a);
    }
    if (err == FOTA_OK) {
        memcpy(release, a.release, FOTAD_RELEASE_ID_LEN + 1);
    }
    return err;
}

/* How often a release may roll back on one device before it is no longer offered to it. The
 * agent installs a rolled-back release once more from its slot (a power cut during the first
 * boot rolls back like a failed self-test), then refuses it (FOTA_CONFIG_MAX_INSTALL_ATTEMPTS). */
#define FOTAD_MAX_ROLLBACKS 2

typedef struct {
    const char *release;
    unsigned count;
} rollback_count_t;

static fota_err_t count_rollback(void *arg, const fotad_report_rec_t *r)
{
    rollback_count_t *c = arg;
    if (strcmp(r->state, "rolled_back") == 0 && strcmp(r->release, c->release) == 0) {
        c->count++;
    }
    return FOTA_OK;
}

/* The device rolled this release back often enough: offering it again would only download,
 * boot and roll back the same image forever. */
static bool rolled_back(fotad_devices_t *d, const char *id, const char *release)
{
    rollback_count_t c = {release, 0};
    return d->store->ops->report_list(d->store->ctx, id, 100, count_rollback, &c) == FOTA_OK &&
           c.count >= FOTAD_MAX_ROLLBACKS;
}

fota_err_t fotad_devices_check(fotad_devices_t *d, const char *id, const char *hw,
                               const char *version, int64_t now, const fotad_release_t **offer)
{
    char release_id[FOTAD_RELEASE_ID_LEN + 1];
    const fotad_release_t *rel = NULL;
    fota_err_t err = assigned(d, id, hw, release_id);
    if (err == FOTA_OK) {
        err = fotad_releases_get(d->releases, release_id, &rel);
    }
    if (err == FOTA_ERR_NOT_FOUND) {
        err = FOTA_OK; /* nothing assigned */
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (rel != NULL &&
        (strcmp(rel->rec.product, hw) != 0 || strcmp(rel->rec.version, version) == 0 ||
         rolled_back(d, id, rel->rec.id))) {
        rel = NULL;
    }
    err = d->store->ops->device_check(d->store->ctx, id, hw, version,
                                      rel != NULL ? rel->rec.id : "", now);
    *offer = err == FOTA_OK ? rel : NULL;
    return err;
}

fota_err_t fotad_devices_record_check(fotad_devices_t *d, const char *id, const char *hw,
                                      const char *version, const char *offered, int64_t now)
{
    return d->store->ops->device_check(d->store->ctx, id, hw, version, offered, now);
}

fota_err_t fotad_devices_pinned(fotad_devices_t *d, const char *id, const fotad_release_t **out)
{
    fotad_device_rec_t dev;
    fota_err_t err = d->store->ops->device_get(d->store->ctx, id, &dev);
    if (err != FOTA_OK) {
        return err;
    }
    if (dev.offered[0] != '\0') {
        return fotad_releases_get(d->releases, dev.offered, out);
    }
    char release_id[FOTAD_RELEASE_ID_LEN + 1];
    err = assigned(d, id, dev.product, release_id);
    return err == FOTA_OK ? fotad_releases_get(d->releases, release_id, out) : err;
}

fota_err_t fotad_devices_report(fotad_devices_t *d, const char *id, const fotad_report_rec_t *r)
{
    return d->store->ops->device_report(d->store->ctx, id, r);
}

fota_err_t fotad_devices_assign(fotad_devices_t *d, fotad_assignment_rec_t *a)
{
    fotad_release_rec_t rel;
    fota_err_t err = fotad_releases_get_rec(d->releases, a->release, &rel);
    if (err != FOTA_OK) {
        return err;
    }
    const char *product = a->target;
    fotad_device_rec_t dev;
    if (a->kind == FOTAD_TARGET_DEVICE) {
        err = d->store->ops->device_get(d->store->ctx, a->target, &dev);
        if (err != FOTA_OK && err != FOTA_ERR_NOT_FOUND) {
            return err;
        }
        product = err == FOTA_OK ? dev.product : "";
    }
    if (product[0] != '\0' && strcmp(product, rel.product) != 0) {
        return FOTA_ERR_MANIFEST_PRODUCT;
    }
    return d->store->ops->assignment_set(d->store->ctx, a);
}

fota_err_t fotad_devices_get(fotad_devices_t *d, const char *id, fotad_device_rec_t *out)
{
    return d->store->ops->device_get(d->store->ctx, id, out);
}

fota_err_t fotad_devices_list(fotad_devices_t *d, fotad_device_fn fn, void *arg)
{
    return d->store->ops->device_list(d->store->ctx, fn, arg);
}

fota_err_t fotad_devices_reports(fotad_devices_t *d, const char *id, uint32_t limit,
                                 fotad_report_fn fn, void *arg)
{
    return d->store->ops->report_list(d->store->ctx, id, limit, fn, arg);
}

fota_err_t fotad_devices_assignments(fotad_devices_t *d, fotad_assignment_fn fn, void *arg)
{
    return d->store->ops->assignment_list(d->store->ctx, fn, arg);
}
