/*
 * bundle.h - the checks of a release upload (docs/ADMIN_API.md, POST /api/admin/releases):
 * bundle = manifest (256 bytes) || blob (records chunk_i || h_(i+1)). In order: the length, the
 * manifest's structure, its signature with a configured key, the exact bundle length, every
 * record against the hash chain from the signed head, the SHA-256 of the reassembled image, and
 * the ESP32 app image format (whose header names the image's chip). The first failure decides
 * the verdict (and so the HTTP answer).
 * Pure computation on memory: no files, no store, no HTTP.
 */
#ifndef FOTAD_BUNDLE_H
#define FOTAD_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "fota/manifest.h"

#include "keyring.h"

typedef enum {
    FOTAD_BUNDLE_OK = 0,
    FOTAD_BUNDLE_SHORT,         /* under 256 bytes: 400 bad_bundle */
    FOTAD_BUNDLE_BAD_MANIFEST,  /* the manifest does not parse: 400 bad_manifest */
    FOTAD_BUNDLE_BAD_SIGNATURE, /* no configured key verifies it: 422 bad_signature */
    FOTAD_BUNDLE_BAD_LENGTH,    /* not exactly 256 + blob size: 400 bad_bundle */
    FOTAD_BUNDLE_CHAIN,         /* a record fails the chain: 422 chain_mismatch */
    FOTAD_BUNDLE_IMAGE_SHA256,  /* the image's SHA-256 differs: 422 image_sha256 */
    FOTAD_BUNDLE_BAD_IMAGE,     /* not a valid ESP32 app image: 422 bad_image */
    FOTAD_BUNDLE_FAILED,        /* out of memory or a crypto failure: 500 */
    FOTAD_BUNDLE_CHIP,          /* (releases.c) the image's chip is not its product's: 409 */
    FOTAD_BUNDLE_NO_RELEASE,    /* (deltas.c) no release of the delta's product and version:
                                   404 unknown_release */
    FOTAD_BUNDLE_NOT_RELEASE,   /* (deltas.c) the product's version is another image: 409
                                   release_mismatch */
} fotad_bundle_verdict_t;

typedef struct {
    fota_manifest_t manifest;    /* verified */
    const uint8_t *manifest_raw; /* the 256 bytes, inside the body */
    const uint8_t *blob;         /* inside the body */
    size_t blob_len;
    uint8_t *image; /* malloc'd: the chunks put back together (image_size bytes) */
    uint8_t blob_sha256[32];
    uint16_t chip_id;    /* the image header's chip id (once the image is verified) */
    fota_err_t detail;   /* the fota_err_t behind a refusal */
    uint32_t bad_record; /* FOTAD_BUNDLE_CHAIN: the first record that fails */
} fotad_bundle_t;

/* Check body; *out is filled as far as the checks went (free it with fotad_bundle_free). */
fotad_bundle_verdict_t fotad_bundle_check(const fotad_keyring_t *ring, const uint8_t *body,
                                          size_t len, fotad_bundle_t *out);

void fotad_bundle_free(fotad_bundle_t *b);

/* A short text for a verdict ("hash chain mismatch"). */
const char *fotad_bundle_verdict_text(fotad_bundle_verdict_t v);

#endif /* FOTAD_BUNDLE_H */
