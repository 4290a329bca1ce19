/*
 * devices.h - the device service: what the server knows of each device and which release it
 * should get. It records checks and reports, resolves assignments, and decides offers:
 *
 *   - assignment: the device's own, else its product's (the hw of the check);
 *   - offer: the assigned release if its product equals hw and its version differs from the
 *     running one; otherwise nothing (204);
 *   - pinned release (seed-mode chunks without release=): the release of the device's last
 *     offer, recorded at check time, so a download keeps its release when a newer one is
 *     uploaded or assigned in the middle of it; the current assignment only when no offer was
 *     recorded. The device moves to the new release at its next check.
 *
 * "Seen" bookkeeping: every authenticated request touches the device (it exists from its first
 * one), but last_seen is written at most once a minute per device from chunk and blob requests
 * (checks and reports write it anyway): a download of a thousand chunks costs no database write
 * per chunk. Thread-safe.
 */
#ifndef FOTAD_DEVICES_H
#define FOTAD_DEVICES_H

#include <stdint.h>

#include "releases.h"
#include "store.h"

#define FOTAD_TOUCH_INTERVAL_S 60

typedef struct fotad_devices fotad_devices_t;

fota_err_t fotad_devices_open(fotad_store_t *store, fotad_releases_t *releases,
                              fotad_devices_t **out);
void fotad_devices_close(fotad_devices_t *d);

/* The device made an authenticated request (mono_now: monotonic seconds, for the throttle). */
fota_err_t fotad_devices_touch(fotad_devices_t *d, const char *id, int64_t now, int64_t mono_now);

/* A check: record hw and version, decide the offer (*offer NULL: none) and record it. */
fota_err_t fotad_devices_check(fotad_devices_t *d, const char *id, const char *hw,
                               const char *version, int64_t now, const fotad_release_t **offer);

/* A check decided elsewhere (a rollout): record hw, version and the offer ("" for none). */
fota_err_t fotad_devices_record_check(fotad_devices_t *d, const char *id, const char *hw,
                                      const char *version, const char *offered, int64_t now);

/* The release a seed-mode chunk request without release= is served from (see above).
 * FOTA_ERR_NOT_FOUND when the device has neither an offer nor an assignment. */
fota_err_t fotad_devices_pinned(fotad_devices_t *d, const char *id, const fotad_release_t **out);

/* Store a report (r->time is set by the caller) and update the device. */
/*
 * The device asked for the start of a release's data (seed-mode chunk 0, a blob Range from byte
 * 0), or of a delta's to it (delta, else NULL): its download began. Recorded as a
 * "downloading 0/chunk_count" report made by fotad (the delta's record count for a delta; the
 * device sends none at the start: docs/PROTOCOL.md 6.1), at most once per device and release
 * (or delta) a FOTAD_TOUCH_INTERVAL_S, so repeated requests cost no write.
 */
fota_err_t fotad_devices_download_started(fotad_devices_t *d, const char *id,
                                          const fotad_release_rec_t *rel,
                                          const fotad_delta_rec_t *delta, int64_t now,
                                          int64_t mono_now);

fota_err_t fotad_devices_report(fotad_devices_t *d, const char *id, const fotad_report_rec_t *r);

/*
 * Assign a release to a device or a product. FOTA_ERR_NOT_FOUND: no such release;
 * FOTA_ERR_MANIFEST_PRODUCT: the release is for another product than the product assigned to,
 * or than the device's known product.
 */
fota_err_t fotad_devices_assign(fotad_devices_t *d, fotad_assignment_rec_t *a);

fota_err_t fotad_devices_get(fotad_devices_t *d, const char *id, fotad_device_rec_t *out);
fota_err_t fotad_devices_list(fotad_devices_t *d, fotad_device_fn fn, void *arg);
fota_err_t fotad_devices_reports(fotad_devices_t *d, const char *id, uint32_t limit,
                                 fotad_report_fn fn, void *arg);
fota_err_t fotad_devices_assignments(fotad_devices_t *d, fotad_assignment_fn fn, void *arg);

#endif /* FOTAD_DEVICES_H */
