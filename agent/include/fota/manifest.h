/*
 * manifest.h - the signed release manifest: a fixed 256-byte record that says which image a
 * device may install (product, version, security version, sizes, image SHA-256, hash-chain
 * head) and carries an ECDSA P-256 signature by the release key. docs/MANIFEST.md has the byte
 * layout; this header has the contract.
 *
 * Layout (little-endian):   0 magic "FOTM"   4 format_version u16 = 1   6 body_len u16 = 176
 *   8 product_id[32]  40 version[32]  72 security_version u32  76 image_size u32
 *   80 chunk_size u32  84 chunk_count u32  88 image_sha256[32]  120 chain_head[32]
 *   152 created u64  160 key_id[8]  168 reserved[8] = 0  176 sig_len u16 (1..72)
 *   178 sig[72] (ASN.1 DER, zero padded)  250 zero[6]
 * The signature covers SHA-256 of bytes 0..175 (the body). key_id is the first 8 bytes of the
 * SHA-256 of the signer's public key in DER (SubjectPublicKeyInfo).
 *
 * Memory: nothing is allocated by this code (mbedTLS allocates its key and hash contexts
 * internally and frees them before the call returns); no global state. Every byte is read
 * through fota/bytes.h after a length check.
 */
#ifndef FOTA_MANIFEST_H
#define FOTA_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "fota/chain.h"
#include "fota/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_MANIFEST_LEN 256u
#define FOTA_MANIFEST_BODY_LEN 176u
#define FOTA_MANIFEST_FORMAT_VERSION 1u
#define FOTA_MANIFEST_STR_MAX 32u /* product_id and version, without the NUL */
#define FOTA_MANIFEST_SIG_MAX 72u /* longest DER ECDSA P-256 signature */
#define FOTA_MANIFEST_KEY_ID_LEN 8u
#define FOTA_MANIFEST_CHUNK_MIN 256u
#define FOTA_MANIFEST_CHUNK_MAX 65536u

/* Byte offsets of the fields (docs/MANIFEST.md). */
#define FOTA_MANIFEST_OFF_MAGIC 0u
#define FOTA_MANIFEST_OFF_FORMAT_VERSION 4u
#define FOTA_MANIFEST_OFF_BODY_LEN 6u
#define FOTA_MANIFEST_OFF_PRODUCT_ID 8u
#define FOTA_MANIFEST_OFF_VERSION 40u
#define FOTA_MANIFEST_OFF_SECURITY_VERSION 72u
#define FOTA_MANIFEST_OFF_IMAGE_SIZE 76u
#define FOTA_MANIFEST_OFF_CHUNK_SIZE 80u
#define FOTA_MANIFEST_OFF_CHUNK_COUNT 84u
#define FOTA_MANIFEST_OFF_IMAGE_SHA256 88u
#define FOTA_MANIFEST_OFF_CHAIN_HEAD 120u
#define FOTA_MANIFEST_OFF_CREATED 152u
#define FOTA_MANIFEST_OFF_KEY_ID 160u
#define FOTA_MANIFEST_OFF_RESERVED 168u
#define FOTA_MANIFEST_OFF_SIG_LEN 176u
#define FOTA_MANIFEST_OFF_SIG 178u
#define FOTA_MANIFEST_OFF_TAIL 250u

/* The decoded manifest. Strings are NUL-terminated (at most 32 characters). */
typedef struct {
    uint16_t format_version; /* set by parse; encode always writes FOTA_MANIFEST_FORMAT_VERSION */
    char product_id[FOTA_MANIFEST_STR_MAX + 1];
    char version[FOTA_MANIFEST_STR_MAX + 1];
    uint32_t security_version;
    uint32_t image_size;
    uint32_t chunk_size;
    uint32_t chunk_count;
    uint8_t image_sha256[32];
    uint8_t chain_head[FOTA_CHAIN_HASH_LEN]; /* h_0 */
    uint64_t created;                        /* unix seconds */
    uint8_t key_id[FOTA_MANIFEST_KEY_ID_LEN];
} fota_manifest_t;

/*
 * Encode the signed part (bytes 0..175) of m into out. The fields are checked as parse checks
 * them, so a manifest that encodes is one that parses: FOTA_ERR_MANIFEST_FORMAT for an empty,
 * over-long or non-printable string (printable ASCII 0x20..0x7E), FOTA_ERR_MANIFEST_GEOMETRY
 * for inconsistent sizes (see fota_manifest_check_geometry), FOTA_ERR_ARG for NULL.
 */
fota_err_t fota_manifest_encode_body(const fota_manifest_t *m, uint8_t out[FOTA_MANIFEST_BODY_LEN]);

/*
 * Put body, sig_len, signature and zero padding together into the 256-byte manifest.
 * FOTA_ERR_ARG if sig_len is 0 or above FOTA_MANIFEST_SIG_MAX or a pointer is NULL.
 */
fota_err_t fota_manifest_assemble(const uint8_t body[FOTA_MANIFEST_BODY_LEN], const uint8_t *sig,
                                  size_t sig_len, uint8_t out[FOTA_MANIFEST_LEN]);

/*
 * Decode and check the structure of a manifest, WITHOUT checking its signature (use
 * fota_manifest_verify for anything you will act on). Errors, in the order they are checked:
 *   FOTA_ERR_MANIFEST_FORMAT    len != 256 or magic is not "FOTM"
 *   FOTA_ERR_MANIFEST_VERSION   format_version != 1
 *   FOTA_ERR_MANIFEST_FORMAT    body_len != 176, reserved/padding/tail bytes not zero, sig_len 0
 *                               or > 72, a string empty, not printable or not NUL-padded
 *   FOTA_ERR_MANIFEST_GEOMETRY  sizes inconsistent (fota_manifest_check_geometry)
 *   FOTA_ERR_ARG                NULL pointer
 * *out is filled on success and zeroed on failure.
 */
fota_err_t fota_manifest_parse(const uint8_t *buf, size_t len, fota_manifest_t *out);

/*
 * Parse, then check that key_id is the id of `pubkey` and that the signature over SHA-256 of
 * the body verifies with it. pubkey is an EC P-256 public key as DER SubjectPublicKeyInfo or as
 * PEM (for PEM, pubkey_len counts the terminating NUL, as mbedtls_pk_parse_public_key wants).
 * Errors: those of parse; FOTA_ERR_KEY if pubkey is not a P-256 public key;
 * FOTA_ERR_MANIFEST_SIGNATURE if key_id differs or the signature does not verify;
 * FOTA_ERR_CRYPTO if mbedTLS fails otherwise. *out is filled only on success (zeroed otherwise).
 */
fota_err_t fota_manifest_verify(const uint8_t *buf, size_t len, const uint8_t *pubkey,
                                size_t pubkey_len, fota_manifest_t *out);

/* FOTA_OK if the manifest is for product_id (exact, case-sensitive match), else
 * FOTA_ERR_MANIFEST_PRODUCT; FOTA_ERR_ARG for NULL. */
fota_err_t fota_manifest_check_product(const fota_manifest_t *m, const char *product_id);

/*
 * The size rules parse applies: image_size > 0; chunk_size a power of two in 256..65536;
 * chunk_count == ceil(image_size / chunk_size); the chain blob (image_size + 32 * chunk_count)
 * fits in 32 bits, so every offset in it is a uint32_t. FOTA_ERR_MANIFEST_GEOMETRY otherwise.
 */
fota_err_t fota_manifest_check_geometry(const fota_manifest_t *m);

/*
 * The id of an EC P-256 public key (DER or PEM as for verify): the first 8 bytes of SHA-256 of
 * its DER SubjectPublicKeyInfo. FOTA_ERR_KEY if it is not a P-256 public key.
 */
fota_err_t fota_manifest_key_id(const uint8_t *pubkey, size_t pubkey_len,
                                uint8_t out[FOTA_MANIFEST_KEY_ID_LEN]);

/* Geometry helpers; m must have passed fota_manifest_check_geometry (parse/verify do it). */

/* Length of chunk `index`: chunk_size, the remainder for the last one, 0 past the end. */
uint32_t fota_manifest_chunk_len(const fota_manifest_t *m, uint32_t index);

/* Bytes of the chain blob: image_size + 32 * chunk_count. */
uint32_t fota_manifest_blob_size(const fota_manifest_t *m);

/* Offset of record `index` in the blob: index * (chunk_size + 32) (index may be chunk_count,
 * which gives the blob size). */
uint32_t fota_manifest_record_offset(const fota_manifest_t *m, uint32_t index);

/* Length of record `index`: fota_manifest_chunk_len + 32, 0 past the end. */
uint32_t fota_manifest_record_len(const fota_manifest_t *m, uint32_t index);

/*
 * The delta manifest (docs/DELTA.md): 320 bytes, signed like a release's manifest, for a patch
 * that turns one image (the source, named by its size and SHA-256) into a release's image.
 * Bytes 0..167 are laid out as in a release's manifest, with magic "FOTD" and body_len 216;
 * image_size and image_sha256 are the new image's, chunk_size, chunk_count and chain_head those
 * of the patch's records (its hash chain: the blob a server serves is the records with their
 * hashes, exactly as a release's blob over its image). Then:
 *   168 patch_size u32 (bytes of the records)   172 source_size u32   176 source_sha256[32]
 *   208 reserved[8] = 0   216 sig_len u16 (1..72)   218 sig[72]   290 zero[30]
 * The signature covers SHA-256 of bytes 0..215. A delta's id, like a release's, is the first 16
 * bytes of SHA-256 of its manifest in hex.
 */
#define FOTA_DELTA_MANIFEST_LEN 320u
#define FOTA_DELTA_MANIFEST_BODY_LEN 216u
#define FOTA_DELTA_MANIFEST_OFF_PATCH_SIZE 168u
#define FOTA_DELTA_MANIFEST_OFF_SOURCE_SIZE 172u
#define FOTA_DELTA_MANIFEST_OFF_SOURCE_SHA256 176u

typedef struct {
    fota_manifest_t m;   /* the release's fields; chunk_size/chunk_count/chain_head: the patch's */
    uint32_t patch_size; /* bytes of the patch's records */
    uint32_t source_size;
    uint8_t source_sha256[32];
} fota_delta_manifest_t;

/* The geometry of a release's manifest applied to the patch (patch_size in place of the image
 * size), and image and source sizes above 0: FOTA_ERR_MANIFEST_GEOMETRY otherwise. */
fota_err_t fota_delta_manifest_check_geometry(const fota_delta_manifest_t *d);

/* The patch's hash chain as a release's manifest describes an image's: d->m with image_size set
 * to patch_size, for the chunk and record helpers below. */
void fota_delta_manifest_chain(const fota_delta_manifest_t *d, fota_manifest_t *chain);

/* As fota_manifest_encode_body, fota_manifest_assemble, fota_manifest_parse and
 * fota_manifest_verify, for a delta manifest (its magic "FOTD", its length, its fields). */
fota_err_t fota_delta_manifest_encode_body(const fota_delta_manifest_t *d,
                                           uint8_t out[FOTA_DELTA_MANIFEST_BODY_LEN]);
fota_err_t fota_delta_manifest_assemble(const uint8_t body[FOTA_DELTA_MANIFEST_BODY_LEN],
                                        const uint8_t *sig, size_t sig_len,
                                        uint8_t out[FOTA_DELTA_MANIFEST_LEN]);
fota_err_t fota_delta_manifest_parse(const uint8_t *buf, size_t len, fota_delta_manifest_t *out);
fota_err_t fota_delta_manifest_verify(const uint8_t *buf, size_t len, const uint8_t *pubkey,
                                      size_t pubkey_len, fota_delta_manifest_t *out);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_MANIFEST_H */
