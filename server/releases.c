/*
 * releases.c - the release service (releases.h): upload = verify (bundle.c), write the image,
 * blob and manifest objects (objstore.c), then insert the row (store.h); the row is written last,
 * so a release the database knows always has its files. A release is prepared (its files
 * mapped) once per process and kept (loaded.h): lookups, on every device request, only read.
 *
 * An upload is checked against its product's chip (products.c) after the bundle verifies and
 * before anything is written. At open, rows from before chips were recorded get theirs from the
 * first bytes of their stored images, and their products are created, oldest upload first.
 */
#include "releases.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/esp_image.h"

#include "loaded.h"
#include "log.h"

struct fotad_releases {
    fotad_store_t *store;
    fotad_objstore_t *objects;
    const fotad_keyring_t *ring;
    fotad_loaded_t loaded;
};

static fota_err_t backfill_chips(fotad_releases_t *r);

static const char *release_id(const void *item)
{
    return ((const fotad_release_t *)item)->rec.id;
}

static void release_free(void *item)
{
    fotad_release_t *rel = item;
    if (rel->image != NULL) {
        munmap((void *)rel->image, rel->rec.image_size);
    }
    if (rel->blob != NULL) {
        munmap((void *)rel->blob, rel->rec.blob_size);
    }
    free(rel);
}

fota_err_t fotad_releases_open(fotad_store_t *store, fotad_objstore_t *objects,
                               const fotad_keyring_t *ring, fotad_releases_t **out)
{
    fotad_releases_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    r->store = store;
    r->objects = objects;
    r->ring = ring;
    fotad_loaded_init(&r->loaded, release_id, release_free);
    fota_err_t err = backfill_chips(r);
    if (err != FOTA_OK) {
        fotad_releases_close(r);
        return err;
    }
    *out = r;
    return FOTA_OK;
}

void fotad_releases_close(fotad_releases_t *r)
{
    if (r == NULL) {
        return;
    }
    fotad_loaded_free(&r->loaded);
    free(r);
}

/* Map object `hex` (the image or the blob) read-only, of the recorded size. */
static fota_err_t map_object(fotad_releases_t *r, const fotad_release_t *rel, const char *hex,
                             uint64_t size, const uint8_t **out)
{
    fota_err_t err = fotad_objstore_map(r->objects, hex, size, out);
    if (err != FOTA_OK) {
        FOTAD_ERROR("release %s: object %s cannot be served", rel->rec.id, hex);
    }
    return err;
}

/* Build the prepared release for a stored record. */
static fota_err_t prepare(fotad_releases_t *r, const fotad_release_rec_t *rec,
                          fotad_release_t **out)
{
    fotad_release_t *rel = calloc(1, sizeof *rel);
    if (rel == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    rel->rec = *rec;
    fota_err_t err =
        fotad_objstore_path(r->objects, rec->blob_sha256, rel->blob_path, sizeof rel->blob_path);
    if (err == FOTA_OK) {
        err = map_object(r, rel, rec->image_sha256, rec->image_size, &rel->image);
    }
    if (err == FOTA_OK) {
        err = map_object(r, rel, rec->blob_sha256, rec->blob_size, &rel->blob);
    }
    if (err != FOTA_OK) {
        release_free(rel);
        return err;
    }
    *out = rel;
    return FOTA_OK;
}

/* Load a release not yet in memory: read the row, prepare it, add it unless another thread
 * was faster (then keep theirs). */
static fota_err_t load(fotad_releases_t *r, const char *id, const fotad_release_t **out)
{
    fotad_release_rec_t rec;
    fota_err_t err = r->store->ops->release_get(r->store->ctx, id, &rec);
    fotad_release_t *rel = NULL;
    if (err == FOTA_OK) {
        err = prepare(r, &rec, &rel);
    }
    if (err != FOTA_OK) {
        return err;
    }
    void *kept = NULL;
    err = fotad_loaded_add(&r->loaded, rel, &kept);
    *out = kept;
    return err;
}

fota_err_t fotad_releases_get(fotad_releases_t *r, const char *id, const fotad_release_t **out)
{
    if (!fotad_is_release_id(id)) {
        return FOTA_ERR_NOT_FOUND;
    }
    const fotad_release_t *rel = fotad_loaded_find(&r->loaded, id);
    if (rel != NULL) {
        *out = rel;
        return FOTA_OK;
    }
    return load(r, id, out);
}

fota_err_t fotad_releases_get_rec(fotad_releases_t *r, const char *id, fotad_release_rec_t *out)
{
    if (!fotad_is_release_id(id)) {
        return FOTA_ERR_NOT_FOUND;
    }
    return r->store->ops->release_get(r->store->ctx, id, out);
}

fota_err_t fotad_releases_list(fotad_releases_t *r, fotad_release_fn fn, void *arg)
{
    return r->store->ops->release_list(r->store->ctx, fn, arg);
}

/* The row for a verified bundle. */
static void make_rec(const fotad_bundle_t *b, int64_t now, fotad_release_rec_t *rec)
{
    const fota_manifest_t *m = &b->manifest;
    memset(rec, 0, sizeof *rec);
    fotad_release_id(b->manifest_raw, FOTA_MANIFEST_LEN, rec->id);
    memcpy(rec->product, m->product_id, sizeof rec->product);
    memcpy(rec->version, m->version, sizeof rec->version);
    rec->security_version = m->security_version;
    rec->image_size = m->image_size;
    rec->chunk_size = m->chunk_size;
    rec->chunk_count = m->chunk_count;
    rec->blob_size = fota_manifest_blob_size(m);
    fotad_hex(m->image_sha256, 32, rec->image_sha256);
    fotad_hex(b->blob_sha256, 32, rec->blob_sha256);
    rec->created = (int64_t)m->created;
    rec->uploaded = now;
    memcpy(rec->manifest, b->manifest_raw, FOTA_MANIFEST_LEN);
    rec->chip_id = b->chip_id;
}

/* Objects first (each durable on its own), then the row. */
static fota_err_t store_bundle(fotad_releases_t *r, const fotad_bundle_t *b, fotad_upload_t *res)
{
    uint8_t manifest_sha[32];
    fotad_sha256(b->manifest_raw, FOTA_MANIFEST_LEN, manifest_sha);
    fota_err_t err =
        fotad_objstore_put(r->objects, b->manifest.image_sha256, b->image, b->manifest.image_size);
    if (err == FOTA_OK) {
        err = fotad_objstore_put(r->objects, b->blob_sha256, b->blob, b->blob_len);
    }
    if (err == FOTA_OK) {
        err = fotad_objstore_put(r->objects, manifest_sha, b->manifest_raw, FOTA_MANIFEST_LEN);
    }
    if (err == FOTA_OK) {
        err = r->store->ops->release_insert(r->store->ctx, &res->rec, &res->created);
    }
    if (err == FOTA_OK && !res->created) {
        err = r->store->ops->release_get(r->store->ctx, res->rec.id, &res->rec);
    }
    return err;
}

fota_err_t fotad_releases_upload(fotad_releases_t *r, const uint8_t *body, size_t len, int64_t now,
                                 fotad_upload_t *res)
{
    memset(res, 0, sizeof *res);
    res->verdict = fotad_bundle_check(r->ring, body, len, &res->bundle);
    fota_err_t err = FOTA_OK;
    if (res->verdict == FOTAD_BUNDLE_FAILED) {
        err = res->bundle.detail == FOTA_ERR_NO_MEM ? FOTA_ERR_NO_MEM : FOTA_ERR_CRYPTO;
    } else if (res->verdict != FOTAD_BUNDLE_OK) {
        err = FOTA_ERR_ARG;
    } else {
        make_rec(&res->bundle, now, &res->rec);
        err = fotad_products_admit(r->store, res->rec.product, res->bundle.chip_id, now,
                                   &res->product);
    }
    if (err == FOTA_ERR_IMAGE_CHIP) {
        res->verdict = FOTAD_BUNDLE_CHIP;
        err = FOTA_ERR_ARG;
    } else if (res->verdict == FOTAD_BUNDLE_OK && err == FOTA_OK) {
        err = store_bundle(r, &res->bundle, res);
    }
    fotad_bundle_free(&res->bundle);
    return err;
}

/* --- chips of rows from before chips were recorded ----------------------------------------- */

typedef struct {
    fotad_release_rec_t *v;
    size_t n, cap;
} rec_list_t;

static fota_err_t collect_rec(void *arg, const fotad_release_rec_t *rec)
{
    rec_list_t *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 16 : l->cap * 2;
        fotad_release_rec_t *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            return FOTA_ERR_NO_MEM;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *rec;
    return FOTA_OK;
}

/* The chip id in the header of a release's stored image. */
static fota_err_t image_chip(fotad_releases_t *r, const fotad_release_rec_t *rec, uint16_t *chip)
{
    char path[PATH_MAX] = "";
    uint8_t head[FOTA_ESP_IMAGE_HEADER_LEN];
    fota_esp_image_header_t h;
    fota_err_t err = fotad_objstore_ensure(r->objects, rec->image_sha256);
    if (err == FOTA_OK) {
        err = fotad_objstore_path(r->objects, rec->image_sha256, path, sizeof path);
    }
    int fd = err == FOTA_OK ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    ssize_t got = fd >= 0 ? read(fd, head, sizeof head) : -1;
    if (fd >= 0) {
        close(fd);
    }
    if (got != (ssize_t)sizeof head ||
        fota_esp_image_header_parse(head, sizeof head, &h) != FOTA_OK) {
        FOTAD_ERROR("release %s: cannot read the chip of image %s: %s", rec->id, path,
                    got < 0 ? strerror(errno) : "no image header");
        return FOTA_ERR_IO;
    }
    *chip = h.chip_id;
    return FOTA_OK;
}

/* One release, oldest first: its chip if unknown, its product if it has none. */
static fota_err_t backfill_one(fotad_releases_t *r, fotad_release_rec_t *rec)
{
    uint16_t chip = 0;
    if (rec->chip_id == FOTAD_CHIP_UNKNOWN) {
        if (image_chip(r, rec, &chip) != FOTA_OK) {
            return FOTA_OK; /* logged; the release stays unassignable */
        }
        fota_err_t err = r->store->ops->release_set_chip(r->store->ctx, rec->id, chip);
        if (err != FOTA_OK) {
            return err;
        }
        rec->chip_id = chip;
    }
    fotad_product_rec_t p;
    fota_err_t err = r->store->ops->product_get(r->store->ctx, rec->product, &p);
    if (err == FOTA_ERR_NOT_FOUND) {
        err =
            fotad_products_admit(r->store, rec->product, (uint16_t)rec->chip_id, rec->uploaded, &p);
    }
    if (err == FOTA_ERR_IMAGE_CHIP || (err == FOTA_OK && p.chip_id != rec->chip_id)) {
        const fota_esp_chip_t *a = fota_esp_chip_by_id((uint16_t)rec->chip_id);
        const fota_esp_chip_t *b = fota_esp_chip_by_id(p.chip_id);
        FOTAD_WARN("release %s of product %s is built for %s, the product for %s: it cannot be "
                   "assigned",
                   rec->id, rec->product, a != NULL ? a->name : "an unknown chip",
                   b != NULL ? b->name : "an unknown chip");
        err = FOTA_OK;
    }
    return err;
}

static fota_err_t backfill_chips(fotad_releases_t *r)
{
    rec_list_t l = {NULL, 0, 0};
    fota_err_t err = r->store->ops->release_list(r->store->ctx, collect_rec, &l);
    for (size_t i = l.n; err == FOTA_OK && i > 0; i--) {
        err = backfill_one(r, &l.v[i - 1]);
    }
    free(l.v);
    return err;
}
