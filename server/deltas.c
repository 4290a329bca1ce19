/*
 * deltas.c - the delta service (deltas.h): upload = check (host/bundle.c, with the key the
 * manifest names), find its release, write the blob and manifest objects, then the row; lookups
 * prepare a delta once per process (its blob mapped, its release prepared) and keep it
 * (loaded.h), as releases.c does for releases.
 */
#include "deltas.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fota/host/bundle.h"

#include "loaded.h"
#include "log.h"

struct fotad_deltas {
    fotad_store_t *store;
    fotad_objstore_t *objects;
    const fotad_keyring_t *ring;
    fotad_releases_t *releases;
    fotad_loaded_t loaded;
};

static const char *delta_id(const void *item)
{
    return ((const fotad_delta_t *)item)->rec.id;
}

static void delta_free(void *item)
{
    fotad_delta_t *x = item;
    if (x->blob != NULL) {
        munmap((void *)x->blob, x->rec.blob_size);
    }
    free(x);
}

fota_err_t fotad_deltas_open(fotad_store_t *store, fotad_objstore_t *objects,
                             const fotad_keyring_t *ring, fotad_releases_t *releases,
                             fotad_deltas_t **out)
{
    fotad_deltas_t *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    d->store = store;
    d->objects = objects;
    d->ring = ring;
    d->releases = releases;
    fotad_loaded_init(&d->loaded, delta_id, delta_free);
    *out = d;
    return FOTA_OK;
}

void fotad_deltas_close(fotad_deltas_t *d)
{
    if (d == NULL) {
        return;
    }
    fotad_loaded_free(&d->loaded);
    free(d);
}

/* ---- lookups -------------------------------------------------------------------------------- */

static fota_err_t prepare(fotad_deltas_t *d, const fotad_delta_rec_t *rec, fotad_delta_t **out)
{
    fotad_delta_t *x = calloc(1, sizeof *x);
    if (x == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    x->rec = *rec;
    fota_err_t err = fotad_releases_get(d->releases, rec->release, &x->release);
    if (err == FOTA_OK) {
        err = fotad_objstore_path(d->objects, rec->blob_sha256, x->blob_path, sizeof x->blob_path);
    }
    if (err == FOTA_OK) {
        err = fotad_objstore_map(d->objects, rec->blob_sha256, rec->blob_size, &x->blob);
    }
    if (err != FOTA_OK) {
        FOTAD_ERROR("delta %s of release %s cannot be served (%s)", rec->id, rec->release,
                    fota_err_name(err));
        delta_free(x);
        return err == FOTA_ERR_NO_MEM ? err : FOTA_ERR_IO;
    }
    *out = x;
    return FOTA_OK;
}

/* Read the row, prepare it, add it unless another thread was faster (then keep theirs). */
static fota_err_t load(fotad_deltas_t *d, const char *id, const fotad_delta_t **out)
{
    fotad_delta_rec_t rec;
    fota_err_t err = d->store->ops->delta_get(d->store->ctx, id, &rec);
    fotad_delta_t *x = NULL;
    if (err == FOTA_OK) {
        err = prepare(d, &rec, &x);
    }
    if (err != FOTA_OK) {
        return err;
    }
    void *kept = NULL;
    err = fotad_loaded_add(&d->loaded, x, &kept);
    *out = kept;
    return err;
}

fota_err_t fotad_deltas_get(fotad_deltas_t *d, const char *id, const fotad_delta_t **out)
{
    if (!fotad_is_release_id(id)) {
        return FOTA_ERR_NOT_FOUND;
    }
    const fotad_delta_t *x = fotad_loaded_find(&d->loaded, id);
    if (x != NULL) {
        *out = x;
        return FOTA_OK;
    }
    return load(d, id, out);
}

fota_err_t fotad_deltas_find(fotad_deltas_t *d, const char *release, const char *source_sha256,
                             fotad_delta_rec_t *out)
{
    return d->store->ops->delta_find(d->store->ctx, release, source_sha256, out);
}

fota_err_t fotad_deltas_list(fotad_deltas_t *d, const char *release, fotad_delta_fn fn, void *arg)
{
    return d->store->ops->delta_list(d->store->ctx, release, fn, arg);
}

/* ---- uploads -------------------------------------------------------------------------------- */

/* The bundle's own checks: structure, signature with the key its id names, length, chain. */
static fotad_bundle_verdict_t check_bundle(const fotad_keyring_t *ring, const uint8_t *body,
                                           size_t len, fotad_delta_upload_t *res)
{
    if (len < FOTA_DELTA_MANIFEST_LEN) {
        res->detail = FOTA_ERR_TRUNCATED;
        return FOTAD_BUNDLE_SHORT;
    }
    res->detail = fota_delta_manifest_parse(body, FOTA_DELTA_MANIFEST_LEN, &res->manifest);
    if (res->detail != FOTA_OK) {
        return FOTAD_BUNDLE_BAD_MANIFEST;
    }
    const fotad_pubkey_t *key = fotad_keyring_find(ring, res->manifest.m.key_id);
    res->detail = key != NULL ? fota_delta_bundle_check(body, len, key->der, key->der_len,
                                                        &res->manifest, &res->bad_record)
                              : FOTA_ERR_MANIFEST_SIGNATURE;
    switch (res->detail) {
    case FOTA_OK:
        return FOTAD_BUNDLE_OK;
    case FOTA_ERR_MANIFEST_SIGNATURE:
    case FOTA_ERR_KEY:
        return FOTAD_BUNDLE_BAD_SIGNATURE;
    case FOTA_ERR_IMAGE_TRUNCATED:
    case FOTA_ERR_TOO_LARGE:
        return FOTAD_BUNDLE_BAD_LENGTH;
    case FOTA_ERR_CHAIN_MISMATCH:
        return FOTAD_BUNDLE_CHAIN;
    default:
        return FOTAD_BUNDLE_FAILED;
    }
}

/* The search for the delta's release over every release, newest upload first. */
typedef struct {
    const fota_manifest_t *m;
    char image_sha256[FOTAD_SHA256_HEX + 1];
    bool same_version; /* a release of the product and version exists */
    bool found;
    fotad_release_rec_t rec; /* the best match so far */
} release_search_t;

static fota_err_t match_release(void *arg, const fotad_release_rec_t *r)
{
    release_search_t *s = arg;
    const fota_manifest_t *m = s->m;
    if (strcmp(r->product, m->product_id) != 0 || strcmp(r->version, m->version) != 0) {
        return FOTA_OK;
    }
    s->same_version = true;
    if (r->security_version != m->security_version || r->image_size != m->image_size ||
        strcmp(r->image_sha256, s->image_sha256) != 0) {
        return FOTA_OK;
    }
    if (!s->found || (s->rec.chunk_size != m->chunk_size && r->chunk_size == m->chunk_size)) {
        s->rec = *r;
        s->found = true;
    }
    return FOTA_OK;
}

static fota_err_t find_release(fotad_deltas_t *d, fotad_delta_upload_t *res)
{
    release_search_t s = {.m = &res->manifest.m};
    fotad_hex(res->manifest.m.image_sha256, 32, s.image_sha256);
    fota_err_t err = fotad_releases_list(d->releases, match_release, &s);
    if (err == FOTA_OK && !s.found) {
        res->verdict = s.same_version ? FOTAD_BUNDLE_NOT_RELEASE : FOTAD_BUNDLE_NO_RELEASE;
        res->detail = FOTA_ERR_NOT_FOUND;
        return FOTA_ERR_ARG;
    }
    memcpy(res->rec.release, s.rec.id, sizeof res->rec.release);
    return err;
}

static void make_rec(const uint8_t *body, size_t len, int64_t now, fotad_delta_rec_t *rec,
                     uint8_t blob_sha[32], const fota_delta_manifest_t *d)
{
    fotad_release_id(body, FOTA_DELTA_MANIFEST_LEN, rec->id);
    fotad_hex(d->source_sha256, 32, rec->source_sha256);
    rec->source_size = d->source_size;
    rec->patch_size = d->patch_size;
    rec->chunk_size = d->m.chunk_size;
    rec->chunk_count = d->m.chunk_count;
    rec->blob_size = (uint32_t)(len - FOTA_DELTA_MANIFEST_LEN);
    fotad_sha256(body + FOTA_DELTA_MANIFEST_LEN, rec->blob_size, blob_sha);
    fotad_hex(blob_sha, 32, rec->blob_sha256);
    rec->created = (int64_t)d->m.created;
    rec->uploaded = now;
    memcpy(rec->manifest, body, FOTA_DELTA_MANIFEST_LEN);
}

/* Objects first (each durable on its own), then the row. */
static fota_err_t store_delta(fotad_deltas_t *d, const uint8_t *body, int64_t now,
                              fotad_delta_upload_t *res, size_t len)
{
    uint8_t blob_sha[32], manifest_sha[32];
    make_rec(body, len, now, &res->rec, blob_sha, &res->manifest);
    fotad_sha256(body, FOTA_DELTA_MANIFEST_LEN, manifest_sha);
    fota_err_t err = fotad_objstore_put(d->objects, blob_sha, body + FOTA_DELTA_MANIFEST_LEN,
                                        res->rec.blob_size);
    if (err == FOTA_OK) {
        err = fotad_objstore_put(d->objects, manifest_sha, body, FOTA_DELTA_MANIFEST_LEN);
    }
    if (err == FOTA_OK) {
        err = d->store->ops->delta_insert(d->store->ctx, &res->rec, &res->created);
    }
    if (err == FOTA_OK && !res->created) {
        err = d->store->ops->delta_get(d->store->ctx, res->rec.id, &res->rec);
    }
    return err;
}

fota_err_t fotad_deltas_upload(fotad_deltas_t *d, const uint8_t *body, size_t len, int64_t now,
                               fotad_delta_upload_t *res)
{
    memset(res, 0, sizeof *res);
    res->verdict = check_bundle(d->ring, body, len, res);
    if (res->verdict == FOTAD_BUNDLE_FAILED) {
        return res->detail == FOTA_ERR_NO_MEM ? FOTA_ERR_NO_MEM : FOTA_ERR_CRYPTO;
    }
    if (res->verdict != FOTAD_BUNDLE_OK) {
        return FOTA_ERR_ARG;
    }
    fota_err_t err = find_release(d, res);
    return err == FOTA_OK ? store_delta(d, body, now, res, len) : err;
}
