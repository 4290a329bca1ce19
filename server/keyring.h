/*
 * keyring.h - the release public keys fotad accepts manifests from (release_key in the config),
 * each kept as DER SubjectPublicKeyInfo with its 8-byte key id, and the signature check of an
 * uploaded manifest through the agent's own verifier (fota_manifest_verify): the server checks
 * exactly what a device will check. fotad never holds a key that can sign.
 */
#ifndef FOTAD_KEYRING_H
#define FOTAD_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "fota/manifest.h"
#include "fota/host/keys.h"

#include "config.h"

typedef struct {
    uint8_t der[FOTA_KEY_PUBLIC_DER_LEN];
    size_t der_len;
    uint8_t id[FOTA_MANIFEST_KEY_ID_LEN];
} fotad_pubkey_t;

typedef struct {
    fotad_pubkey_t keys[FOTAD_MAX_RELEASE_KEYS];
    size_t count;
} fotad_keyring_t;

/* Load a public key file (PEM or DER) into the ring. Errors of fota_key_load_public
 * (FOTA_ERR_IO, FOTA_ERR_KEY), FOTA_ERR_TOO_LARGE when the ring is full. A private key file is
 * refused with FOTA_ERR_KEY: it does not belong on a server. */
fota_err_t fotad_keyring_add_file(fotad_keyring_t *ring, const char *path);

/*
 * Verify a 256-byte manifest against the key whose id it names. FOTA_OK and *out filled;
 * the parse errors of fota_manifest_parse (FOTA_ERR_MANIFEST_FORMAT, _VERSION, _GEOMETRY);
 * FOTA_ERR_MANIFEST_SIGNATURE when no configured key has its key id or the signature fails.
 */
fota_err_t fotad_keyring_verify(const fotad_keyring_t *ring, const uint8_t *manifest, size_t len,
                                fota_manifest_t *out);

/* The configured key whose id is key_id, or NULL. */
const fotad_pubkey_t *fotad_keyring_find(const fotad_keyring_t *ring,
                                         const uint8_t key_id[FOTA_MANIFEST_KEY_ID_LEN]);

#endif /* FOTAD_KEYRING_H */
