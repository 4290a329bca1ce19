/*
 * bundle.c - build and check release bundles (see bundle.h). The blob is built in place after
 * the manifest slot, so a bundle costs one allocation of its own size; the check walks the
 * records once, hashing the chain and the image side by side.
 */
#include "fota/host/bundle.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/chain.h"

static const mbedtls_md_info_t *sha256(void)
{
    return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
}

static fota_err_t describe(const fota_bundle_spec_t *s, const uint8_t *image, size_t len,
                           fota_manifest_t *m)
{
    memset(m, 0, sizeof *m);
    if (s->product == NULL || s->version == NULL || strlen(s->product) > FOTA_MANIFEST_STR_MAX ||
        strlen(s->version) > FOTA_MANIFEST_STR_MAX) {
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    if (len == 0 || len > UINT32_MAX || s->chunk_size == 0) {
        return FOTA_ERR_MANIFEST_GEOMETRY;
    }
    strcpy(m->product_id, s->product);
    strcpy(m->version, s->version);
    m->format_version = FOTA_MANIFEST_FORMAT_VERSION;
    m->security_version = s->security_version;
    m->image_size = (uint32_t)len;
    m->chunk_size = s->chunk_size;
    m->chunk_count = (uint32_t)((len + s->chunk_size - 1u) / s->chunk_size);
    m->created = s->created;
    if (mbedtls_md(sha256(), image, len, m->image_sha256) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    return fota_manifest_check_geometry(m);
}

fota_err_t fota_bundle_build(const fota_bundle_spec_t *spec, fota_key_t *key, const uint8_t *image,
                             size_t image_len, uint8_t **out, size_t *out_len)
{
    fota_manifest_t m;
    fota_err_t err = describe(spec, image, image_len, &m);
    if (err != FOTA_OK) {
        return err;
    }
    size_t blob_len = fota_chain_blob_size(image_len, m.chunk_size);
    uint8_t *bundle = blob_len > 0 ? malloc(FOTA_MANIFEST_LEN + blob_len) : NULL;
    if (bundle == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    err = fota_chain_build(image, image_len, m.chunk_size, bundle + FOTA_MANIFEST_LEN, blob_len,
                           m.chain_head);
    if (err == FOTA_OK) {
        err = fota_manifest_sign(&m, key, bundle);
    }
    if (err != FOTA_OK) {
        free(bundle);
        return err;
    }
    *out = bundle;
    *out_len = FOTA_MANIFEST_LEN + blob_len;
    return FOTA_OK;
}

/* Every record against the chain (m describes the chain: a release's image, or a delta's patch
 * records), and the chunks into img when it is not NULL (started by the caller). */
static fota_err_t walk_records(const fota_manifest_t *m, const uint8_t *blob, uint32_t *bad,
                               mbedtls_md_context_t *img)
{
    fota_chain_t chain;
    fota_err_t err = fota_chain_init(&chain, m->chain_head, m->chunk_count);
    for (uint32_t i = 0; err == FOTA_OK && i < m->chunk_count; i++) {
        const uint8_t *rec = blob + fota_manifest_record_offset(m, i);
        err = fota_chain_accept_record(&chain, rec, fota_manifest_record_len(m, i));
        if (err == FOTA_OK && img != NULL &&
            mbedtls_md_update(img, rec, fota_manifest_chunk_len(m, i)) != 0) {
            err = FOTA_ERR_CRYPTO;
        }
        *bad = i;
    }
    return err;
}

/* Every record against the chain, and the chunks into the image hash. */
static fota_err_t check_records(const fota_manifest_t *m, const uint8_t *blob, uint32_t *bad)
{
    mbedtls_md_context_t img;
    mbedtls_md_init(&img);
    fota_err_t err = FOTA_OK;
    if (mbedtls_md_setup(&img, sha256(), 0) != 0 || mbedtls_md_starts(&img) != 0) {
        err = FOTA_ERR_CRYPTO;
    }
    if (err == FOTA_OK) {
        err = walk_records(m, blob, bad, &img);
    }
    uint8_t digest[32];
    if (err == FOTA_OK && mbedtls_md_finish(&img, digest) != 0) {
        err = FOTA_ERR_CRYPTO;
    }
    mbedtls_md_free(&img);
    if (err == FOTA_OK && memcmp(digest, m->image_sha256, 32) != 0) {
        err = FOTA_ERR_IMAGE_SHA256;
    }
    return err;
}

fota_err_t fota_bundle_check(const uint8_t *bundle, size_t len, const uint8_t *pubkey,
                             size_t pubkey_len, fota_manifest_t *m, uint32_t *bad_record)
{
    *bad_record = 0;
    if (len < FOTA_MANIFEST_LEN) {
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    fota_err_t err = pubkey != NULL
                         ? fota_manifest_verify(bundle, FOTA_MANIFEST_LEN, pubkey, pubkey_len, m)
                         : fota_manifest_parse(bundle, FOTA_MANIFEST_LEN, m);
    if (err != FOTA_OK) {
        return err;
    }
    size_t want = FOTA_MANIFEST_LEN + (size_t)fota_manifest_blob_size(m);
    if (len != want) {
        return len < want ? FOTA_ERR_IMAGE_TRUNCATED : FOTA_ERR_TOO_LARGE;
    }
    return check_records(m, bundle + FOTA_MANIFEST_LEN, bad_record);
}

/* The id of a manifest of len bytes: the first 16 bytes of its SHA-256 in hex. */
static void manifest_id(const uint8_t *manifest, size_t len, char out[FOTA_RELEASE_ID_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t digest[32];
    mbedtls_md(sha256(), manifest, len, digest);
    for (unsigned i = 0; i < FOTA_RELEASE_ID_HEX / 2; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[FOTA_RELEASE_ID_HEX] = '\0';
}

void fota_bundle_release_id(const uint8_t manifest[FOTA_MANIFEST_LEN],
                            char out[FOTA_RELEASE_ID_HEX + 1])
{
    manifest_id(manifest, FOTA_MANIFEST_LEN, out);
}

/* ---- delta bundles -------------------------------------------------------------------------- */

void fota_delta_bundle_id(const uint8_t manifest[FOTA_DELTA_MANIFEST_LEN],
                          char out[FOTA_RELEASE_ID_HEX + 1])
{
    manifest_id(manifest, FOTA_DELTA_MANIFEST_LEN, out);
}

/* The delta manifest of a spec, before its chain head is known. */
static fota_err_t describe_delta(const fota_delta_bundle_spec_t *s, size_t records_len,
                                 uint32_t record_size, fota_delta_manifest_t *d)
{
    memset(d, 0, sizeof *d);
    if (s->release == NULL || records_len == 0 || records_len > UINT32_MAX || record_size == 0) {
        return FOTA_ERR_MANIFEST_GEOMETRY;
    }
    d->m = *s->release;
    d->m.format_version = FOTA_MANIFEST_FORMAT_VERSION;
    d->m.chunk_size = record_size;
    d->m.chunk_count = (uint32_t)((records_len + record_size - 1u) / record_size);
    d->m.created = s->created;
    d->patch_size = (uint32_t)records_len;
    d->source_size = s->source_size;
    memcpy(d->source_sha256, s->source_sha256, sizeof d->source_sha256);
    return fota_delta_manifest_check_geometry(d);
}

fota_err_t fota_delta_bundle_build(const fota_delta_bundle_spec_t *spec, fota_key_t *key,
                                   const uint8_t *records, size_t records_len, uint32_t record_size,
                                   uint8_t **out, size_t *out_len)
{
    fota_delta_manifest_t d;
    fota_err_t err = describe_delta(spec, records_len, record_size, &d);
    if (err != FOTA_OK) {
        return err;
    }
    size_t blob_len = fota_chain_blob_size(records_len, record_size);
    uint8_t *bundle = blob_len > 0 ? malloc(FOTA_DELTA_MANIFEST_LEN + blob_len) : NULL;
    if (bundle == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    err = fota_chain_build(records, records_len, record_size, bundle + FOTA_DELTA_MANIFEST_LEN,
                           blob_len, d.m.chain_head);
    if (err == FOTA_OK) {
        err = fota_delta_manifest_sign(&d, key, bundle);
    }
    if (err != FOTA_OK) {
        free(bundle);
        return err;
    }
    *out = bundle;
    *out_len = FOTA_DELTA_MANIFEST_LEN + blob_len;
    return FOTA_OK;
}

fota_err_t fota_delta_bundle_check(const uint8_t *bundle, size_t len, const uint8_t *pubkey,
                                   size_t pubkey_len, fota_delta_manifest_t *d,
                                   uint32_t *bad_record)
{
    *bad_record = 0;
    if (len < FOTA_DELTA_MANIFEST_LEN) {
        memset(d, 0, sizeof *d);
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    fota_err_t err = pubkey != NULL ? fota_delta_manifest_verify(bundle, FOTA_DELTA_MANIFEST_LEN,
                                                                 pubkey, pubkey_len, d)
                                    : fota_delta_manifest_parse(bundle, FOTA_DELTA_MANIFEST_LEN, d);
    if (err != FOTA_OK) {
        return err;
    }
    fota_manifest_t chain;
    fota_delta_manifest_chain(d, &chain);
    size_t want = FOTA_DELTA_MANIFEST_LEN + (size_t)fota_manifest_blob_size(&chain);
    if (len != want) {
        return len < want ? FOTA_ERR_IMAGE_TRUNCATED : FOTA_ERR_TOO_LARGE;
    }
    return walk_records(&chain, bundle + FOTA_DELTA_MANIFEST_LEN, bad_record, NULL);
}

bool fota_bundle_is_delta(const uint8_t *bundle, size_t len)
{
    return len >= 4 && memcmp(bundle, "FOTD", 4) == 0;
}
