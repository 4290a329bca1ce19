/*
 * bundle.c - verification of an uploaded release bundle (bundle.h). The whole bundle is in
 * memory (at most max_upload bytes); the image is reassembled from the records into one more
 * buffer of image_size bytes, which the caller stores as the image object.
 */
#include "bundle.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/chain.h"
#include "fota/esp_image.h"
#include "fota/host/file_util.h"

#include "ident.h"

static const char *const verdict_texts[] = {
    [FOTAD_BUNDLE_OK] = "ok",
    [FOTAD_BUNDLE_SHORT] = "bundle shorter than a manifest",
    [FOTAD_BUNDLE_BAD_MANIFEST] = "manifest malformed",
    [FOTAD_BUNDLE_BAD_SIGNATURE] = "manifest signature not valid with any configured key",
    [FOTAD_BUNDLE_BAD_LENGTH] = "bundle length is not 256 + the manifest's blob size",
    [FOTAD_BUNDLE_CHAIN] = "blob record fails the hash chain",
    [FOTAD_BUNDLE_IMAGE_SHA256] = "image SHA-256 does not match the manifest",
    [FOTAD_BUNDLE_BAD_IMAGE] = "not a valid ESP32 app image",
    [FOTAD_BUNDLE_FAILED] = "verification failed (server)",
    [FOTAD_BUNDLE_CHIP] = "image built for another chip than its product's",
    [FOTAD_BUNDLE_NO_RELEASE] = "no release of the delta's product and version",
    [FOTAD_BUNDLE_NOT_RELEASE] = "the delta's image is not that of the release of its version",
};

const char *fotad_bundle_verdict_text(fotad_bundle_verdict_t v)
{
    return (size_t)v < sizeof verdict_texts / sizeof verdict_texts[0] ? verdict_texts[v] : "?";
}

void fotad_bundle_free(fotad_bundle_t *b)
{
    free(b->image);
    b->image = NULL;
}

/* Walk the records with one SHA-256 context, copying each accepted chunk into the image. */
static fotad_bundle_verdict_t check_chain(fotad_bundle_t *b)
{
    const fota_manifest_t *m = &b->manifest;
    fota_chain_t chain;
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    b->detail = fota_chain_init(&chain, m->chain_head, m->chunk_count);
    if (b->detail == FOTA_OK &&
        mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 0) != 0) {
        b->detail = FOTA_ERR_CRYPTO;
    }
    for (uint32_t i = 0; b->detail == FOTA_OK && i < m->chunk_count; i++) {
        const uint8_t *rec = b->blob + fota_manifest_record_offset(m, i);
        uint32_t len = fota_manifest_chunk_len(m, i);
        b->detail = fota_chain_accept_md(&chain, &md, rec, len, rec + len);
        if (b->detail == FOTA_OK) {
            memcpy(b->image + (size_t)i * m->chunk_size, rec, len);
        } else {
            b->bad_record = i;
        }
    }
    mbedtls_md_free(&md);
    if (b->detail == FOTA_OK && !fota_chain_done(&chain)) {
        b->detail = FOTA_ERR_CHAIN_MISMATCH;
    }
    return b->detail == FOTA_OK                   ? FOTAD_BUNDLE_OK
           : b->detail == FOTA_ERR_CHAIN_MISMATCH ? FOTAD_BUNDLE_CHAIN
                                                  : FOTAD_BUNDLE_FAILED;
}

static fotad_bundle_verdict_t check_image(fotad_bundle_t *b)
{
    const fota_manifest_t *m = &b->manifest;
    uint8_t digest[32];
    fotad_sha256(b->image, m->image_size, digest);
    if (memcmp(digest, m->image_sha256, sizeof digest) != 0) {
        b->detail = FOTA_ERR_IMAGE_SHA256;
        return FOTAD_BUNDLE_IMAGE_SHA256;
    }
    fota_mem_reader_t reader = {b->image, m->image_size};
    fota_esp_image_info_t info;
    b->detail = fota_esp_image_check(fota_mem_read, &reader, m->image_size, &info);
    b->chip_id = info.header.chip_id;
    return b->detail == FOTA_OK ? FOTAD_BUNDLE_OK : FOTAD_BUNDLE_BAD_IMAGE;
}

fotad_bundle_verdict_t fotad_bundle_check(const fotad_keyring_t *ring, const uint8_t *body,
                                          size_t len, fotad_bundle_t *out)
{
    memset(out, 0, sizeof *out);
    if (len < FOTA_MANIFEST_LEN) {
        out->detail = FOTA_ERR_TRUNCATED;
        return FOTAD_BUNDLE_SHORT;
    }
    out->manifest_raw = body;
    out->detail = fota_manifest_parse(body, FOTA_MANIFEST_LEN, &out->manifest);
    if (out->detail != FOTA_OK) {
        return FOTAD_BUNDLE_BAD_MANIFEST;
    }
    out->detail = fotad_keyring_verify(ring, body, FOTA_MANIFEST_LEN, &out->manifest);
    if (out->detail != FOTA_OK) {
        return FOTAD_BUNDLE_BAD_SIGNATURE;
    }
    out->blob = body + FOTA_MANIFEST_LEN;
    out->blob_len = len - FOTA_MANIFEST_LEN;
    if (out->blob_len != fota_manifest_blob_size(&out->manifest)) {
        out->detail = FOTA_ERR_TRUNCATED;
        return FOTAD_BUNDLE_BAD_LENGTH;
    }
    out->image = malloc(out->manifest.image_size);
    if (out->image == NULL) {
        out->detail = FOTA_ERR_NO_MEM;
        return FOTAD_BUNDLE_FAILED;
    }
    fotad_bundle_verdict_t v = check_chain(out);
    if (v == FOTAD_BUNDLE_OK) {
        v = check_image(out);
    }
    if (v == FOTAD_BUNDLE_OK) {
        fotad_sha256(out->blob, out->blob_len, out->blob_sha256);
    }
    return v;
}
