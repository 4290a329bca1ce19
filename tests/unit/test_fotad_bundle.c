/*
 * test_fotad_bundle.c - the checks of a release upload (server/bundle.c, keyring.c), each
 * verdict in the documented order: short, bad manifest, unknown key or broken signature, wrong
 * length, tampered record, wrong image SHA-256, not an ESP32 image; and a good bundle yields the
 * image exactly and the blob digest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fota/chain.h"
#include "fota/emu/image_build.h"
#include "fota/host/keys.h"

#include "bundle.h"
#include "ident.h"
#include "keyring.h"

typedef struct {
    char dir[400];
    char priv[512];
    char pub[512];
    fota_key_t *key;
    fotad_keyring_t ring;
    uint8_t *image;
    size_t image_len;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    const char *base = getenv("FOTA_TMPDIR");
    snprintf(f.dir, sizeof f.dir, "%s/test_fotad_bundle.%ld",
             base != NULL && *base != '\0' ? base : "/tmp", (long)getpid());
    assert_int_equal(mkdir(f.dir, 0700), 0);
    snprintf(f.priv, sizeof f.priv, "%s/r.pem", f.dir);
    snprintf(f.pub, sizeof f.pub, "%s/r.pub", f.dir);
    assert_int_equal(fota_key_generate(f.priv, f.pub), FOTA_OK);
    assert_int_equal(fota_key_load_private(f.priv, &f.key), FOTA_OK);
    assert_int_equal(fotad_keyring_add_file(&f.ring, f.pub), FOTA_OK);
    assert_int_equal(fotad_keyring_add_file(&f.ring, f.priv), FOTA_ERR_KEY);
    fota_image_spec_t spec = {.version = "2.0.0", .size = 5000, .chip_id = FOTA_ESP_CHIP_ID_ESP32};
    assert_int_equal(fota_image_build(&spec, &f.image, &f.image_len), FOTA_OK);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fota_key_free(f->key);
    free(f->image);
    unlink(f->priv);
    unlink(f->pub);
    rmdir(f->dir);
    return 0;
}

/* A bundle of image (len bytes) signed with key; *out malloc'd. */
static size_t make_bundle(fota_key_t *key, const uint8_t *image, size_t len, bool bad_sha,
                          uint8_t **out)
{
    fota_manifest_t m;
    memset(&m, 0, sizeof m);
    strcpy(m.product_id, "inv-5k");
    strcpy(m.version, "2.0.0");
    m.image_size = (uint32_t)len;
    m.chunk_size = 1024;
    m.chunk_count = (uint32_t)((len + 1023) / 1024);
    fotad_sha256(image, len, m.image_sha256);
    m.image_sha256[5] ^= bad_sha ? 1 : 0;
    size_t blob_len = fota_chain_blob_size(len, 1024);
    uint8_t *b = malloc(FOTA_MANIFEST_LEN + blob_len);
    assert_non_null(b);
    assert_int_equal(
        fota_chain_build(image, len, 1024, b + FOTA_MANIFEST_LEN, blob_len, m.chain_head), FOTA_OK);
    assert_int_equal(fota_manifest_sign(&m, key, b), FOTA_OK);
    *out = b;
    return FOTA_MANIFEST_LEN + blob_len;
}

static fotad_bundle_verdict_t verdict(fixture_t *f, const uint8_t *b, size_t len)
{
    fotad_bundle_t out;
    fotad_bundle_verdict_t v = fotad_bundle_check(&f->ring, b, len, &out);
    fotad_bundle_free(&out);
    return v;
}

static void test_good_bundle(void **state)
{
    fixture_t *f = *state;
    uint8_t *b;
    size_t len = make_bundle(f->key, f->image, f->image_len, false, &b);
    fotad_bundle_t out;
    assert_int_equal(fotad_bundle_check(&f->ring, b, len, &out), FOTAD_BUNDLE_OK);
    assert_memory_equal(out.image, f->image, f->image_len);
    assert_string_equal(out.manifest.version, "2.0.0");
    uint8_t digest[32];
    fotad_sha256(b + FOTA_MANIFEST_LEN, len - FOTA_MANIFEST_LEN, digest);
    assert_memory_equal(out.blob_sha256, digest, 32);
    fotad_bundle_free(&out);
    free(b);
}

static void test_refusals_in_order(void **state)
{
    fixture_t *f = *state;
    uint8_t *b;
    size_t len = make_bundle(f->key, f->image, f->image_len, false, &b);
    assert_int_equal(verdict(f, b, 255), FOTAD_BUNDLE_SHORT);
    b[0] ^= 1;
    assert_int_equal(verdict(f, b, len), FOTAD_BUNDLE_BAD_MANIFEST);
    b[0] ^= 1;
    b[200] ^= 1; /* inside the signature */
    assert_int_equal(verdict(f, b, len), FOTAD_BUNDLE_BAD_SIGNATURE);
    b[200] ^= 1;
    assert_int_equal(verdict(f, b, len - 1), FOTAD_BUNDLE_BAD_LENGTH);
    assert_int_equal(verdict(f, b, 256), FOTAD_BUNDLE_BAD_LENGTH);
    b[FOTA_MANIFEST_LEN + 1056 + 1024 + 3] ^= 1; /* the hash in record 1 */
    fotad_bundle_t out;
    assert_int_equal(fotad_bundle_check(&f->ring, b, len, &out), FOTAD_BUNDLE_CHAIN);
    assert_int_equal(out.bad_record, 1);
    fotad_bundle_free(&out);
    b[FOTA_MANIFEST_LEN + 1056 + 1024 + 3] ^= 1;
    b[len - 1] ^= 1; /* the last record must end in h_N = zeros */
    assert_int_equal(verdict(f, b, len), FOTAD_BUNDLE_CHAIN);
    free(b);

    len = make_bundle(f->key, f->image, f->image_len, true, &b);
    assert_int_equal(verdict(f, b, len), FOTAD_BUNDLE_IMAGE_SHA256);
    free(b);
    f->image[0] = 0x00; /* no longer an ESP32 image header */
    len = make_bundle(f->key, f->image, f->image_len, false, &b);
    assert_int_equal(verdict(f, b, len), FOTAD_BUNDLE_BAD_IMAGE);
    free(b);
}

static void test_unknown_key(void **state)
{
    fixture_t *f = *state;
    char priv[600];
    snprintf(priv, sizeof priv, "%s/other.pem", f->dir);
    assert_int_equal(fota_key_generate(priv, NULL), FOTA_OK);
    fota_key_t *other;
    assert_int_equal(fota_key_load_private(priv, &other), FOTA_OK);
    uint8_t *b;
    size_t len = make_bundle(other, f->image, f->image_len, false, &b);
    assert_int_equal(verdict(f, b, len), FOTAD_BUNDLE_BAD_SIGNATURE);
    assert_int_equal(fotad_keyring_add_file(&f->ring, "/nonexistent.pub"), FOTA_ERR_IO);
    free(b);
    fota_key_free(other);
    unlink(priv);
    assert_string_equal(fotad_bundle_verdict_text(FOTAD_BUNDLE_CHAIN),
                        "blob record fails the hash chain");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
