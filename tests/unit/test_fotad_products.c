/*
 * test_fotad_products.c - a product's chip in fotad (server/products.c, releases.c): the first
 * release of a product decides its chip unless the product was created with one; an upload of
 * another chip's image is refused (FOTAD_BUNDLE_CHIP) with nothing stored; a release whose chip
 * is not its product's cannot be assigned; and releases stored before chips were recorded get
 * their chips from their images when the service opens, their products from the oldest upload.
 * Run on SQLite, and by ctest a second time on PostgreSQL (tests/support/store_backend.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fota/emu/image_build.h"
#include "fota/host/bundle.h"
#include "fota/host/keys.h"

#include "ident.h"
#include "keyring.h"
#include "objstore.h"
#include "products.h"
#include "releases.h"
#include "store.h"
#include "store_backend.h"
#include "test_dir.h"

#define S3 FOTA_ESP_CHIP_ID_ESP32S3
#define ESP32 FOTA_ESP_CHIP_ID_ESP32

typedef struct {
    char dir[400];
    test_store_t db;
    fota_key_t *key;
    fotad_keyring_t ring;
    fotad_store_t store;
    fotad_objstore_t *objects;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    test_dir_make(f.dir, sizeof f.dir, "test_fotad_products");
    char priv[512], pub[512];
    snprintf(priv, sizeof priv, "%s/r.pem", f.dir);
    snprintf(pub, sizeof pub, "%s/r.pub", f.dir);
    assert_int_equal(fota_key_generate(priv, pub), FOTA_OK);
    assert_int_equal(fota_key_load_private(priv, &f.key), FOTA_OK);
    assert_int_equal(fotad_keyring_add_file(&f.ring, pub), FOTA_OK);
    test_store_begin(&f.db, "test_fotad_products", &f.store);
    assert_int_equal(fotad_objstore_open(f.dir, &f.objects), FOTA_OK);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fota_key_free(f->key);
    test_store_end(&f->db, &f->store);
    fotad_objstore_close(f->objects);
    test_dir_remove(f->dir);
    return 0;
}

static uint8_t *image_of(const char *version, uint16_t chip, size_t *len)
{
    fota_image_spec_t spec = {.version = version, .size = 5000, .chip_id = chip};
    uint8_t *img = NULL;
    assert_int_equal(fota_image_build(&spec, &img, len), FOTA_OK);
    return img;
}

/* Upload a release of `product` built for chip; returns fotad_releases_upload's answer. */
static fota_err_t upload(fixture_t *f, fotad_releases_t *rel, const char *product,
                         const char *version, uint16_t chip, fotad_upload_t *res)
{
    size_t len = 0, blen = 0;
    uint8_t *img = image_of(version, chip, &len), *bundle = NULL;
    fota_bundle_spec_t spec = {product, version, 0, 1024, 1700000000};
    assert_int_equal(fota_bundle_build(&spec, f->key, img, len, &bundle, &blen), FOTA_OK);
    fota_err_t err = fotad_releases_upload(rel, bundle, blen, 1700000100, res);
    free(bundle);
    free(img);
    return err;
}

static bool object_exists(fixture_t *f, const char *hex)
{
    char path[600];
    assert_int_equal(fotad_objstore_path(f->objects, hex, path, sizeof path), FOTA_OK);
    return access(path, F_OK) == 0;
}

/* --- the service ------------------------------------------------------------------------------ */

static void test_product_service(void **state)
{
    fixture_t *f = *state;
    fotad_product_rec_t p;
    bool created = false;
    assert_int_equal(fotad_products_create(&f->store, "inv-5k", ESP32, 100, &p, &created), FOTA_OK);
    assert_true(created);
    assert_int_equal(p.chip_id, ESP32);
    assert_int_equal(fotad_products_create(&f->store, "inv-5k", S3, 200, &p, &created), FOTA_OK);
    assert_false(created);
    assert_int_equal(p.chip_id, ESP32); /* set once */
    assert_int_equal(p.created, 100);
    assert_int_equal(fotad_products_create(&f->store, "", S3, 200, &p, &created), FOTA_ERR_ARG);
    assert_int_equal(
        fotad_products_create(&f->store, "012345678901234567890123456789012", S3, 1, &p, &created),
        FOTA_ERR_ARG);
    /* Admission: a new product takes the chip, an existing one must have it. */
    assert_int_equal(fotad_products_admit(&f->store, "inv-s3", S3, 300, &p), FOTA_OK);
    assert_int_equal(fotad_products_admit(&f->store, "inv-s3", S3, 400, &p), FOTA_OK);
    assert_int_equal(p.created, 300);
    assert_int_equal(fotad_products_admit(&f->store, "inv-s3", ESP32, 500, &p),
                     FOTA_ERR_IMAGE_CHIP);
    assert_int_equal(p.chip_id, S3);
    assert_string_equal(p.id, "inv-s3");
    assert_int_equal(fotad_products_get(&f->store, "inv-s3", &p), FOTA_OK);
    assert_int_equal(fotad_products_get(&f->store, "nope", &p), FOTA_ERR_NOT_FOUND);
    assert_int_equal(fotad_products_get(&f->store, "", &p), FOTA_ERR_NOT_FOUND);
    /* Assignment: the release's chip against its product's. */
    fotad_release_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.product, sizeof r.product, "inv-s3");
    r.chip_id = S3;
    assert_int_equal(fotad_products_check_release(&f->store, &r, &p), FOTA_OK);
    r.chip_id = ESP32;
    assert_int_equal(fotad_products_check_release(&f->store, &r, &p), FOTA_ERR_IMAGE_CHIP);
    assert_int_equal(p.chip_id, S3);
    r.chip_id = FOTAD_CHIP_UNKNOWN;
    assert_int_equal(fotad_products_check_release(&f->store, &r, &p), FOTA_ERR_IMAGE_CHIP);
    snprintf(r.product, sizeof r.product, "unseen");
    r.chip_id = ESP32;
    assert_int_equal(fotad_products_check_release(&f->store, &r, &p), FOTA_OK);
}

/* --- uploads ---------------------------------------------------------------------------------- */

static void test_upload_refuses_another_chip(void **state)
{
    fixture_t *f = *state;
    fotad_releases_t *rel = NULL;
    assert_int_equal(fotad_releases_open(&f->store, f->objects, &f->ring, &rel), FOTA_OK);
    fotad_upload_t res;
    /* The first release of inv-s3 makes it an ESP32-S3 product. */
    assert_int_equal(upload(f, rel, "inv-s3", "1.0.0", S3, &res), FOTA_OK);
    assert_true(res.created);
    assert_int_equal(res.rec.chip_id, S3);
    fotad_release_rec_t got;
    assert_int_equal(fotad_releases_get_rec(rel, res.rec.id, &got), FOTA_OK);
    assert_int_equal(got.chip_id, S3);
    fotad_product_rec_t p;
    assert_int_equal(fotad_products_get(&f->store, "inv-s3", &p), FOTA_OK);
    assert_int_equal(p.chip_id, S3);
    assert_int_equal(p.created, 1700000100);
    /* An ESP32 image for it is refused, and nothing of it is stored. */
    assert_int_equal(upload(f, rel, "inv-s3", "2.0.0", ESP32, &res), FOTA_ERR_ARG);
    assert_int_equal(res.verdict, FOTAD_BUNDLE_CHIP);
    assert_int_equal(res.bundle.chip_id, ESP32);
    assert_int_equal(res.product.chip_id, S3);
    assert_string_equal(res.product.id, "inv-s3");
    assert_int_equal(fotad_releases_get_rec(rel, res.rec.id, &got), FOTA_ERR_NOT_FOUND);
    assert_false(object_exists(f, res.rec.image_sha256));
    assert_false(object_exists(f, res.rec.blob_sha256));
    /* Another S3 release goes in. */
    assert_int_equal(upload(f, rel, "inv-s3", "2.0.0", S3, &res), FOTA_OK);
    /* A product created as an ESP32 one takes no S3 release, even as its first. */
    bool created;
    assert_int_equal(fotad_products_create(&f->store, "inv-5k", ESP32, 5, &p, &created), FOTA_OK);
    assert_int_equal(upload(f, rel, "inv-5k", "1.0.0", S3, &res), FOTA_ERR_ARG);
    assert_int_equal(res.verdict, FOTAD_BUNDLE_CHIP);
    assert_int_equal(upload(f, rel, "inv-5k", "1.0.0", ESP32, &res), FOTA_OK);
    /* Re-uploading a stored release stays idempotent. */
    assert_int_equal(upload(f, rel, "inv-5k", "1.0.0", ESP32, &res), FOTA_OK);
    assert_false(res.created);
    assert_int_equal(res.rec.chip_id, ESP32);
    fotad_releases_close(rel);
}

/* --- rows from before chips were recorded ----------------------------------------------------- */

/* A release row as fotad wrote it before chips (chip unknown), with its image object. */
static fotad_release_rec_t legacy_release(fixture_t *f, const char *id, const char *version,
                                          uint16_t chip, int64_t uploaded)
{
    size_t len = 0;
    uint8_t *img = image_of(version, chip, &len);
    uint8_t sha[32];
    fotad_sha256(img, len, sha);
    assert_int_equal(fotad_objstore_put(f->objects, sha, img, len), FOTA_OK);
    free(img);
    fotad_release_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.product, sizeof r.product, "inv-mix");
    snprintf(r.version, sizeof r.version, "%s", version);
    r.image_size = (uint32_t)len;
    fotad_hex(sha, 32, r.image_sha256);
    memset(r.blob_sha256, 'b', 64);
    r.uploaded = uploaded;
    r.chip_id = FOTAD_CHIP_UNKNOWN;
    bool inserted;
    assert_int_equal(f->store.ops->release_insert(f->store.ctx, &r, &inserted), FOTA_OK);
    return r;
}

#define R_OLD "0000000000000000000000000000000a"
#define R_NEW "0000000000000000000000000000000b"
#define R_LOST "0000000000000000000000000000000c"

static void test_open_fills_in_chips(void **state)
{
    fixture_t *f = *state;
    legacy_release(f, R_NEW, "2.0.0", ESP32, 200); /* inserted first, uploaded later */
    legacy_release(f, R_OLD, "1.0.0", S3, 100);
    fotad_release_rec_t lost = legacy_release(f, R_LOST, "3.0.0", ESP32, 300);
    char path[600];
    assert_int_equal(fotad_objstore_path(f->objects, lost.image_sha256, path, sizeof path),
                     FOTA_OK);
    assert_int_equal(unlink(path), 0);

    fotad_releases_t *rel = NULL;
    assert_int_equal(fotad_releases_open(&f->store, f->objects, &f->ring, &rel), FOTA_OK);
    fotad_release_rec_t got;
    assert_int_equal(fotad_releases_get_rec(rel, R_OLD, &got), FOTA_OK);
    assert_int_equal(got.chip_id, S3);
    assert_int_equal(fotad_releases_get_rec(rel, R_NEW, &got), FOTA_OK);
    assert_int_equal(got.chip_id, ESP32);
    /* The oldest upload decided the product's chip: the newer ESP32 release cannot be assigned. */
    fotad_product_rec_t p;
    assert_int_equal(fotad_products_get(&f->store, "inv-mix", &p), FOTA_OK);
    assert_int_equal(p.chip_id, S3);
    assert_int_equal(p.created, 100);
    assert_int_equal(fotad_products_check_release(&f->store, &got, &p), FOTA_ERR_IMAGE_CHIP);
    assert_int_equal(fotad_releases_get_rec(rel, R_OLD, &got), FOTA_OK);
    assert_int_equal(fotad_products_check_release(&f->store, &got, &p), FOTA_OK);
    /* The release whose image is gone keeps an unknown chip and cannot be assigned. */
    assert_int_equal(fotad_releases_get_rec(rel, R_LOST, &got), FOTA_OK);
    assert_int_equal(got.chip_id, FOTAD_CHIP_UNKNOWN);
    assert_int_equal(fotad_products_check_release(&f->store, &got, &p), FOTA_ERR_IMAGE_CHIP);
    fotad_releases_close(rel);
    /* Opening again changes nothing. */
    assert_int_equal(fotad_releases_open(&f->store, f->objects, &f->ring, &rel), FOTA_OK);
    assert_int_equal(fotad_products_get(&f->store, "inv-mix", &p), FOTA_OK);
    assert_int_equal(p.chip_id, S3);
    fotad_releases_close(rel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_product_service, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_refuses_another_chip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_fills_in_chips, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
