/*
 * deltas.h - the delta service: uploads of delta bundles (docs/ADMIN_API.md, POST
 * /api/admin/releases with a "FOTD" body) and the lookups the device API serves them from.
 *
 *   delta bundle = delta manifest (320 bytes, signed) || blob (records rec_i || h_(i+1) over the
 *                  patch's records)
 *
 * An upload is checked as a release's (host/bundle.c's fota_delta_bundle_check: structure, the
 * signature with the configured key its key id names, the length, every record of the chain),
 * then against the releases: the release with the delta's product, version, security version,
 * image size and image SHA-256 must be stored (its newest upload, one of the delta's record size
 * first). Its blob and manifest are written as objects (objstore.h, so that every fotad on one
 * PostgreSQL can serve them), then its row. fotad does not apply the patch: it has no source
 * image.
 *
 * A prepared delta, like a release (releases.h), has its blob mapped and its path kept, and
 * points at its release prepared; deltas are never deleted, so a fotad_delta_t stays valid until
 * fotad_deltas_close. Thread-safe.
 */
#ifndef FOTAD_DELTAS_H
#define FOTAD_DELTAS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "bundle.h"
#include "keyring.h"
#include "objstore.h"
#include "releases.h"
#include "store.h"

typedef struct {
    fotad_delta_rec_t rec;
    const fotad_release_t *release; /* the release whose image it produces */
    const uint8_t *blob;            /* rec.blob_size bytes, mapped read-only */
    char blob_path[PATH_MAX];
} fotad_delta_t;

typedef struct fotad_deltas fotad_deltas_t;

fota_err_t fotad_deltas_open(fotad_store_t *store, fotad_objstore_t *objects,
                             const fotad_keyring_t *ring, fotad_releases_t *releases,
                             fotad_deltas_t **out);
void fotad_deltas_close(fotad_deltas_t *d);

/* The delta with this id (32 lowercase hex digits), prepared on first use. FOTA_ERR_NOT_FOUND if
 * there is none; FOTA_ERR_IO (logged) if its objects or its release cannot be opened. */
fota_err_t fotad_deltas_get(fotad_deltas_t *d, const char *id, const fotad_delta_t **out);

/* The delta of release `release` from the image whose id is source_sha256 (64 lowercase hex
 * digits), the newest upload if several: FOTA_ERR_NOT_FOUND when there is none. */
fota_err_t fotad_deltas_find(fotad_deltas_t *d, const char *release, const char *source_sha256,
                             fotad_delta_rec_t *out);

/* The deltas of a release, newest upload first. */
fota_err_t fotad_deltas_list(fotad_deltas_t *d, const char *release, fotad_delta_fn fn, void *arg);

/* The outcome of an upload. */
typedef struct {
    fotad_bundle_verdict_t verdict; /* FOTAD_BUNDLE_OK unless refused */
    fota_err_t detail;              /* the fota_err_t behind a refusal */
    uint32_t bad_record;            /* FOTAD_BUNDLE_CHAIN: the first record that fails */
    fota_delta_manifest_t manifest; /* as far as it was read */
    bool created;                   /* false: this delta was already uploaded */
    fotad_delta_rec_t rec;          /* the stored delta (on FOTA_OK) */
} fotad_delta_upload_t;

/*
 * Verify a delta bundle and store it. FOTA_OK: stored (or already there), *res describes it;
 * FOTA_ERR_ARG: refused, res->verdict says why (FOTAD_BUNDLE_NO_RELEASE, _NOT_RELEASE for the
 * release checks); FOTA_ERR_IO / FOTA_ERR_NO_MEM / FOTA_ERR_CRYPTO: server failure. Nothing is
 * written for a refused bundle.
 */
fota_err_t fotad_deltas_upload(fotad_deltas_t *d, const uint8_t *body, size_t len, int64_t now,
                               fotad_delta_upload_t *res);

#endif /* FOTAD_DELTAS_H */
