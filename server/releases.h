/*
 * releases.h - the release service: uploads (verify the bundle, store its objects, then its
 * row) and lookups that hand the device API what it serves, prepared once per release and
 * process: the image mapped into memory (a seed-mode chunk is a slice of it, base64-encoded and
 * MAC'ed per request; nothing is parsed or read from disk per chunk) and the blob, mapped as
 * well (a short chain-mode Range is answered straight from the mapping) with its path (a long
 * Range is sent from a file descriptor with sendfile). Objects are content-addressed and never
 * rewritten, so a mapping stays valid for the life of the process.
 *
 * Releases are never deleted, so a fotad_release_t returned by a lookup stays valid until
 * fotad_releases_close: callers use it without reference counting. Thread-safe.
 *
 * Chips: a release records the chip its image is built for (the image header's chip id), and an
 * upload for another chip than its product's is refused before anything is stored (products.h).
 * Rows written before fotad recorded chips get theirs at open, read from their stored images,
 * and their products are created from them, oldest upload first.
 */
#ifndef FOTAD_RELEASES_H
#define FOTAD_RELEASES_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "bundle.h"
#include "keyring.h"
#include "objstore.h"
#include "products.h"
#include "store.h"

typedef struct {
    fotad_release_rec_t rec;
    const uint8_t *image; /* rec.image_size bytes, mapped read-only */
    const uint8_t *blob;  /* rec.blob_size bytes, mapped read-only */
    char blob_path[PATH_MAX];
} fotad_release_t;

typedef struct fotad_releases fotad_releases_t;

/* Open the service; releases stored without a chip get it from their images now (a failure to
 * read one is logged, and that release cannot be assigned). */
fota_err_t fotad_releases_open(fotad_store_t *store, fotad_objstore_t *objects,
                               const fotad_keyring_t *ring, fotad_releases_t **out);
void fotad_releases_close(fotad_releases_t *r);

/*
 * The release with this id, loaded and prepared on first use. FOTA_ERR_NOT_FOUND if there is
 * none; FOTA_ERR_IO (logged) if its objects cannot be opened.
 */
fota_err_t fotad_releases_get(fotad_releases_t *r, const char *id, const fotad_release_t **out);

/* The outcome of an upload. */
typedef struct {
    fotad_bundle_verdict_t verdict; /* FOTAD_BUNDLE_OK unless the bundle was refused */
    fotad_bundle_t bundle;          /* details of a refusal (image freed); bundle.chip_id */
    fotad_product_rec_t product;    /* FOTAD_BUNDLE_CHIP: the product and its chip */
    bool created;                   /* false: this manifest was already uploaded */
    fotad_release_rec_t rec;        /* the stored release (on FOTA_OK) */
} fotad_upload_t;

/*
 * Verify a bundle and store it. FOTA_OK: stored (or already there) and *res describes it;
 * FOTA_ERR_ARG: refused, res->verdict says why (FOTAD_BUNDLE_CHIP: its product is built on
 * another chip, res->product); FOTA_ERR_IO / FOTA_ERR_NO_MEM: server failure.
 */
fota_err_t fotad_releases_upload(fotad_releases_t *r, const uint8_t *body, size_t len, int64_t now,
                                 fotad_upload_t *res);

/* Every release, newest upload first (store order). */
fota_err_t fotad_releases_list(fotad_releases_t *r, fotad_release_fn fn, void *arg);

/* The stored record only (no preparation): for the admin API. */
fota_err_t fotad_releases_get_rec(fotad_releases_t *r, const char *id, fotad_release_rec_t *out);

#endif /* FOTAD_RELEASES_H */
