/*
 * bundle.h - release bundles on the host: what `fotactl release create` writes and fotad's
 * admin API takes (docs/ADMIN_API.md):
 *
 *   bundle = manifest (256 bytes, signed) || blob (records chunk_i || h_(i+1))
 *
 * Building signs with the release private key (offline, on the operator's machine); checking
 * verifies the signature (when a public key is given), every record of the chain and the
 * image's SHA-256, without trusting anything in the bundle.
 *
 * Delta bundles (`fotactl release delta`, docs/MANIFEST.md "The delta manifest") have the same
 * shape over a patch's records instead of an image:
 *
 *   delta bundle = delta manifest (320 bytes, signed) || blob (records rec_i || h_(i+1))
 *
 * rec_i being the i-th chunk_size bytes of the patch's records (the patch without its 16-byte
 * header). Their hash chain is built and checked by the same code as a release's.
 */
#ifndef FOTA_HOST_BUNDLE_H
#define FOTA_HOST_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"
#include "fota/manifest.h"
#include "fota/host/keys.h"

/* Release ids: the first 16 bytes of SHA-256(manifest) as 32 lowercase hex digits. */
#define FOTA_RELEASE_ID_HEX 32u

typedef struct {
    const char *product;       /* 1..32 printable characters */
    const char *version;       /* 1..32 printable characters */
    uint32_t security_version; /* anti-rollback floor it sets */
    uint32_t chunk_size;       /* power of two, 256..65536 */
    uint64_t created;          /* UNIX seconds */
} fota_bundle_spec_t;

/* Build and sign the bundle of an image: *out is malloc'd (free() it), *out_len its length.
 * Errors: FOTA_ERR_MANIFEST_FORMAT / _GEOMETRY for a bad spec, FOTA_ERR_KEY for a key that
 * cannot sign, FOTA_ERR_NO_MEM, FOTA_ERR_CRYPTO. */
fota_err_t fota_bundle_build(const fota_bundle_spec_t *spec, fota_key_t *key, const uint8_t *image,
                             size_t image_len, uint8_t **out, size_t *out_len);

/*
 * Check a bundle: the manifest parses (and verifies with pubkey, DER or PEM with its NUL, unless
 * pubkey is NULL), the length is 256 + the blob size, every record satisfies the hash chain,
 * and the image (the chunks put together) has the manifest's SHA-256. *m gets the manifest.
 * Errors: those of fota_manifest_parse/verify, FOTA_ERR_TOO_LARGE / FOTA_ERR_IMAGE_TRUNCATED for
 * a wrong length, FOTA_ERR_CHAIN_MISMATCH (with *bad_record set), FOTA_ERR_IMAGE_SHA256.
 */
fota_err_t fota_bundle_check(const uint8_t *bundle, size_t len, const uint8_t *pubkey,
                             size_t pubkey_len, fota_manifest_t *m, uint32_t *bad_record);

/* The release id of a manifest, NUL-terminated. */
void fota_bundle_release_id(const uint8_t manifest[FOTA_MANIFEST_LEN],
                            char out[FOTA_RELEASE_ID_HEX + 1]);

/* ---- delta bundles ---- */

typedef struct {
    const fota_manifest_t *release; /* the release's verified manifest: the new image's facts */
    uint32_t source_size;           /* the source image: its length in bytes */
    uint8_t source_sha256[32];      /* and its id (the SHA-256 appended to it) */
    uint64_t created;               /* UNIX seconds */
} fota_delta_bundle_spec_t;

/* Build and sign the delta bundle of a patch's records (record_size each, the last may be
 * shorter): *out is malloc'd (free() it). The product, version, security version, image size and
 * SHA-256 are the release's. Errors as fota_bundle_build's. */
fota_err_t fota_delta_bundle_build(const fota_delta_bundle_spec_t *spec, fota_key_t *key,
                                   const uint8_t *records, size_t records_len, uint32_t record_size,
                                   uint8_t **out, size_t *out_len);

/* Check a delta bundle as fota_bundle_check checks a release's: the delta manifest parses (and
 * verifies with pubkey unless NULL), the length is 320 + the blob size, every record satisfies
 * the hash chain (*bad_record set on FOTA_ERR_CHAIN_MISMATCH). *d gets the manifest. */
fota_err_t fota_delta_bundle_check(const uint8_t *bundle, size_t len, const uint8_t *pubkey,
                                   size_t pubkey_len, fota_delta_manifest_t *d,
                                   uint32_t *bad_record);

/* True when the bundle starts with a delta manifest's magic "FOTD". */
bool fota_bundle_is_delta(const uint8_t *bundle, size_t len);

/* The delta id of a delta manifest (first 16 bytes of its SHA-256, hex), NUL-terminated. */
void fota_delta_bundle_id(const uint8_t manifest[FOTA_DELTA_MANIFEST_LEN],
                          char out[FOTA_RELEASE_ID_HEX + 1]);

#endif /* FOTA_HOST_BUNDLE_H */
