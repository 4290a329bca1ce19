/*
 * fuzz_bundle.c - libFuzzer target: release bundles (host/bundle.c: fota_bundle_check),
 * manifest || blob, as fotad's admin API takes them from an operator's upload and
 * `fotactl release` reads them from a file. Checked with the fixed fuzzing release key and
 * without a key (structure, hash chain and image SHA-256 only).
 *
 * Properties (abort on violation): a bundle that checks with the key checks without it and
 * decodes the same manifest; what checks has exactly 256 + blob-size bytes and a manifest that
 * parses alone; a chain mismatch names a record inside the chain; the release id is 32 lowercase
 * hex digits.
 *
 * --make-seed DIR writes bundles built by fota_bundle_build with the fuzzing key: images of
 * several sizes and chunk sizes (a one-chunk image, a last chunk of one byte).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/host/bundle.h"
#include "fota/emu/image_build.h"

#include "rig.h"

static const uint8_t *g_pub;
static size_t g_pub_len;

/* ---- seeds ----------------------------------------------------------------------------------- */

static void seed_bundle(const char *dir, const char *name, uint32_t size, uint32_t chunk,
                        size_t cut)
{
    size_t len = 0;
    uint8_t *img = fake_image(RIG_NEW_VERSION, size, 0, &len);
    fota_bundle_spec_t spec = {RIG_PRODUCT, RIG_NEW_VERSION, 1, chunk, 1790000000u};
    uint8_t *bundle = NULL;
    size_t bundle_len = 0;
    len -= cut; /* a last chunk of another length: the image need not be a whole ESP32 app */
    if (fota_bundle_build(&spec, rig_signing_key(), img, len, &bundle, &bundle_len) != FOTA_OK) {
        fprintf(stderr, "fuzz_bundle: cannot build seed %s\n", name);
        abort();
    }
    rig_write_seed(dir, name, bundle, bundle_len);
    free(bundle);
    free(img);
}

static void make_seeds(const char *dir)
{
    seed_bundle(dir, "1k-chunks-256", 1024, 256, 0);
    seed_bundle(dir, "4k-chunks-1024-odd-tail", 4096, 1024, 1023);
    seed_bundle(dir, "2k-one-chunk", 2048, 65536, 0);
    seed_bundle(dir, "3k-chunks-512", 3072, 512, 5);
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    rig_public_key(&g_pub, &g_pub_len);
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

static void check_accepted(const uint8_t *data, size_t size, const fota_manifest_t *m)
{
    fota_manifest_t alone;
    rig_require(size >= FOTA_MANIFEST_LEN &&
                fota_manifest_parse(data, FOTA_MANIFEST_LEN, &alone) == FOTA_OK,
            "an accepted bundle starts with a manifest that parses");
    rig_require(memcmp(&alone, m, sizeof alone) == 0, "the bundle's manifest is the one decoded");
    rig_require(size == FOTA_MANIFEST_LEN + (size_t)fota_manifest_blob_size(m),
            "an accepted bundle is exactly manifest + blob");
    char id[FOTA_RELEASE_ID_HEX + 1];
    fota_bundle_release_id(data, id);
    rig_require(strlen(id) == FOTA_RELEASE_ID_HEX && strspn(id, "0123456789abcdef") == strlen(id),
            "a release id is 32 lowercase hex digits");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fota_manifest_t signed_m, plain_m;
    uint32_t bad = UINT32_MAX;
    fota_err_t with_key = fota_bundle_check(data, size, g_pub, g_pub_len, &signed_m, &bad);
    fota_err_t no_key = fota_bundle_check(data, size, NULL, 0, &plain_m, &bad);
    if (no_key == FOTA_ERR_CHAIN_MISMATCH) {
        rig_require(bad < plain_m.chunk_count, "a chain mismatch names a record of the chain");
    }
    if (with_key == FOTA_OK) {
        rig_require(no_key == FOTA_OK, "what checks with the key checks without it");
        rig_require(memcmp(&signed_m, &plain_m, sizeof plain_m) == 0, "the same manifest either way");
    }
    if (no_key == FOTA_OK) {
        check_accepted(data, size, &plain_m);
    }
    return 0;
}
