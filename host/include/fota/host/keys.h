/*
 * keys.h - release keys on the host: generate an EC P-256 key pair into PEM files, load keys,
 * export the public key (DER SubjectPublicKeyInfo, the form devices embed) and its 8-byte id,
 * and sign manifests. Used by fotactl (which holds the private key, offline) and by the server
 * and tests (which only ever load public keys and verify through fota_manifest_verify).
 *
 * Files: the private key is SEC1 PEM ("BEGIN EC PRIVATE KEY", unencrypted), mode 0600; the public
 * key is PEM ("BEGIN PUBLIC KEY"). Generation never replaces an existing file unless asked to
 * (FOTA_KEY_FORCE): losing a release key means re-keying every device in the field.
 *
 * Memory: a fota_key_t is allocated by the load functions and released with fota_key_free(); it
 * wipes the private key from memory. Not thread-safe per handle; separate handles are
 * independent.
 */
#ifndef FOTA_HOST_KEYS_H
#define FOTA_HOST_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "fota/err.h"
#include "fota/manifest.h"

/* Bytes of a P-256 public key as DER SubjectPublicKeyInfo (uncompressed point). */
#define FOTA_KEY_PUBLIC_DER_LEN 91u
/* Enough for the PEM of a P-256 public key, with its NUL. */
#define FOTA_KEY_PUBLIC_PEM_MAX 200u

/* fota_key_generate_ex flags */
#define FOTA_KEY_FORCE 1u /* replace existing files (atomically: temporary file, then rename) */

typedef struct fota_key fota_key_t;

/*
 * Generate a new P-256 key pair: the private key into priv_pem_path (created 0600), the public
 * key into pub_pem_path (0644 less the umask; NULL: do not write it). Neither file is replaced:
 * FOTA_ERR_KEY_EXISTS if either exists, and then nothing is written. FOTA_ERR_ARG if the two
 * paths are the same; FOTA_ERR_IO if a file cannot be written (nothing is left behind);
 * FOTA_ERR_CRYPTO if mbedTLS fails.
 */
fota_err_t fota_key_generate(const char *priv_pem_path, const char *pub_pem_path);

/* The same with flags (FOTA_KEY_FORCE). */
fota_err_t fota_key_generate_ex(const char *priv_pem_path, const char *pub_pem_path,
                                unsigned flags);

/* Load a private key (PEM or DER file). FOTA_ERR_IO if it cannot be read, FOTA_ERR_KEY if it is
 * not an unencrypted EC P-256 private key, FOTA_ERR_NO_MEM. */
fota_err_t fota_key_load_private(const char *path, fota_key_t **out);

/* Load a public key (PEM or DER SubjectPublicKeyInfo file). Errors as for load_private. */
fota_err_t fota_key_load_public(const char *path, fota_key_t **out);

/* A public key from memory (DER, or PEM with or without its terminating NUL). */
fota_err_t fota_key_parse_public(const uint8_t *buf, size_t len, fota_key_t **out);

/* Free a key and wipe it. NULL is fine. */
void fota_key_free(fota_key_t *key);

/* True if the handle holds a private key (can sign). */
bool fota_key_is_private(const fota_key_t *key);

/* The public key as DER SubjectPublicKeyInfo. *len: capacity of out on entry, bytes written on
 * return (FOTA_KEY_PUBLIC_DER_LEN). FOTA_ERR_TOO_LARGE if out is too small. */
fota_err_t fota_key_public_der(const fota_key_t *key, uint8_t *out, size_t *len);

/* The public key as NUL-terminated PEM text. FOTA_ERR_TOO_LARGE if cap is too small. */
fota_err_t fota_key_public_pem(const fota_key_t *key, char *out, size_t cap);

/* The key id: first 8 bytes of SHA-256 of the public DER (what manifests carry in key_id). */
fota_err_t fota_key_id(const fota_key_t *key, uint8_t out[FOTA_MANIFEST_KEY_ID_LEN]);

/* The mbedTLS context inside the handle, for host code that needs more than this API. */
mbedtls_pk_context *fota_key_pk(fota_key_t *key);

/*
 * Sign a release: copy m, set its key_id to this key's id (whatever m had), encode, sign
 * SHA-256 of the body with ECDSA P-256, assemble the 256 bytes into out, and verify the result
 * with the public key before returning it. Errors: those of fota_manifest_encode_body (a
 * manifest that would not parse is never signed); FOTA_ERR_KEY if key is not a private key;
 * FOTA_ERR_CRYPTO if signing fails. out is zeroed on any failure.
 */
fota_err_t fota_manifest_sign(const fota_manifest_t *m, fota_key_t *key,
                              uint8_t out[FOTA_MANIFEST_LEN]);

/* The same for a delta's manifest (manifest.h): its 216-byte body signed, the 320 bytes
 * assembled into out and verified before they are returned. */
fota_err_t fota_delta_manifest_sign(const fota_delta_manifest_t *d, fota_key_t *key,
                                    uint8_t out[FOTA_DELTA_MANIFEST_LEN]);

#endif /* FOTA_HOST_KEYS_H */
