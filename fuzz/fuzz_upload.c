/*
 * fuzz_upload.c - libFuzzer target: a release upload as fotad checks it
 * (POST /api/admin/releases, docs/ADMIN_API.md): server/bundle.c fotad_bundle_check with a
 * keyring (server/keyring.c) holding the fixed fuzzing release key: length, manifest, signature,
 * exact bundle length, every record against the hash chain, the image's SHA-256, the ESP32 app
 * image format; the reassembled image is what fotad stores.
 *
 * Input: the request body (the bundle, manifest || blob).
 *
 * Properties (abort on violation):
 *   - every verdict has its text; no input makes the check fail as a server fault; the detail is
 *     FOTA_OK only with an accepted bundle, and a chain mismatch names a record of the chain;
 *   - an accepted bundle is exactly manifest + blob, its manifest parses alone and is the one
 *     decoded, the image is the chunks of the blob put together and the blob's SHA-256 is right;
 *   - fotad and the tools agree (host/bundle.c fota_bundle_check, what `fotactl release
 *     inspect` runs): what fotad accepts the tools accept; of a bundle whose signature verified,
 *     what the tools accept fotad accepts or refuses only as not an ESP32 app image, and a chain
 *     mismatch (at the same record) or a wrong image SHA-256 is found by both.
 *
 * --make-seed DIR writes bundles of ESP32 images built with fota_bundle_build (several sizes and
 * chunk sizes) and one of an image that is not an app image. `--write-key FILE` writes the fixed
 * key as PEM, so that fuzz/seeds.sh can make bundles with `fotactl release create`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "bundle.h"
#include "fota/host/bundle.h"
#include "keyring.h"
#include "rig.h"

static fotad_keyring_t g_ring;

/* ---- seeds ----------------------------------------------------------------------------------- */

static void seed_bundle(const char *dir, const char *name, uint32_t size, uint32_t chunk,
                        size_t cut)
{
    size_t len = 0;
    uint8_t *img = fake_image(RIG_NEW_VERSION, size, 0, &len);
    fota_bundle_spec_t spec = {RIG_PRODUCT, RIG_NEW_VERSION, 1, chunk, 1790000000u};
    uint8_t *bundle = NULL;
    size_t bundle_len = 0;
    len -= cut; /* a cut image is no app image: fotad refuses it, the tools take it */
    rig_require(fota_bundle_build(&spec, rig_signing_key(), img, len, &bundle, &bundle_len) == FOTA_OK,
            "building a seed");
    rig_write_seed(dir, name, bundle, bundle_len);
    free(bundle);
    free(img);
}

static void make_seeds(const char *dir)
{
    seed_bundle(dir, "1k-chunks-256", 1024, 256, 0);
    seed_bundle(dir, "4k-chunks-1024", 4096, 1024, 0);
    seed_bundle(dir, "2k-one-chunk", 2048, 65536, 0);
    seed_bundle(dir, "3k-chunks-512-cut", 3072, 512, 5);
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_ring(void)
{
    fota_key_t *key = rig_signing_key();
    fotad_pubkey_t *k = &g_ring.keys[0];
    k->der_len = sizeof k->der;
    rig_require(fota_key_public_der(key, k->der, &k->der_len) == FOTA_OK &&
                fota_key_id(key, k->id) == FOTA_OK,
            "the fuzzing key in the keyring");
    g_ring.count = 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    load_ring();
    for (int i = 1; i + 1 < *argc; i++) {
        if (strcmp((*argv)[i], "--write-key") == 0) {
            rig_write_key_pem((*argv)[i + 1]);
            exit(0);
        }
    }
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

static void check_accepted(const uint8_t *data, size_t size, const fotad_bundle_t *b)
{
    const fota_manifest_t *m = &b->manifest;
    fota_manifest_t alone;
    rig_require(fota_manifest_parse(data, FOTA_MANIFEST_LEN, &alone) == FOTA_OK &&
                memcmp(&alone, m, sizeof alone) == 0,
            "the manifest parses alone and is the one decoded");
    rig_require(b->manifest_raw == data && b->blob == data + FOTA_MANIFEST_LEN &&
                b->blob_len == size - FOTA_MANIFEST_LEN &&
                b->blob_len == fota_manifest_blob_size(m),
            "an accepted bundle is exactly manifest + blob");
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        rig_require(memcmp(b->image + (size_t)i * m->chunk_size,
                       b->blob + fota_manifest_record_offset(m, i),
                       fota_manifest_chunk_len(m, i)) == 0,
                "the image is the chunks of the blob");
    }
    uint8_t digest[32];
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), b->blob, b->blob_len, digest);
    rig_require(memcmp(digest, b->blob_sha256, 32) == 0, "the blob's SHA-256");
}

/*
 * fotad (server/bundle.c) and the tools (host/bundle.c) agree. The tools check without the
 * key: a second ECDSA verification would halve the speed, and fotad's verdict says whether the
 * signature verified (every verdict after BAD_SIGNATURE).
 */
static void check_agree(const uint8_t *data, size_t size, fotad_bundle_verdict_t v,
                        const fotad_bundle_t *b)
{
    fota_manifest_t m;
    uint32_t bad = UINT32_MAX;
    fota_err_t tools = fota_bundle_check(data, size, NULL, 0, &m, &bad);
    if (v == FOTAD_BUNDLE_OK) {
        rig_require(tools == FOTA_OK && memcmp(&m, &b->manifest, sizeof m) == 0,
                "what fotad accepts the tools accept, with the same manifest");
    }
    bool signed_ok = v != FOTAD_BUNDLE_SHORT && v != FOTAD_BUNDLE_BAD_MANIFEST &&
                     v != FOTAD_BUNDLE_BAD_SIGNATURE;
    if (!signed_ok) {
        return;
    }
    if (tools == FOTA_OK) {
        rig_require(v == FOTAD_BUNDLE_OK || v == FOTAD_BUNDLE_BAD_IMAGE,
                "what the tools accept fotad accepts, unless it is not an app image");
    }
    rig_require((v == FOTAD_BUNDLE_CHAIN) == (tools == FOTA_ERR_CHAIN_MISMATCH),
            "a chain mismatch is found by both");
    rig_require(v != FOTAD_BUNDLE_CHAIN || bad == b->bad_record, "at the same record");
    rig_require((v == FOTAD_BUNDLE_IMAGE_SHA256) == (tools == FOTA_ERR_IMAGE_SHA256),
            "a wrong image SHA-256 is found by both");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fotad_bundle_t b;
    fotad_bundle_verdict_t v = fotad_bundle_check(&g_ring, data, size, &b);
    rig_require(v >= FOTAD_BUNDLE_OK && v <= FOTAD_BUNDLE_FAILED, "a known verdict");
    rig_require(strcmp(fotad_bundle_verdict_text(v), "?") != 0, "every verdict has its text");
    rig_require(v != FOTAD_BUNDLE_FAILED, "no server failure on any input");
    rig_require((v == FOTAD_BUNDLE_OK) == (b.detail == FOTA_OK), "FOTA_OK detail only when accepted");
    if (v == FOTAD_BUNDLE_CHAIN) {
        rig_require(b.bad_record < b.manifest.chunk_count, "a chain mismatch names a record");
    }
    if (v == FOTAD_BUNDLE_OK) {
        check_accepted(data, size, &b);
    }
    check_agree(data, size, v, &b);
    fotad_bundle_free(&b);
    rig_require(b.image == NULL, "freed");
    return 0;
}
