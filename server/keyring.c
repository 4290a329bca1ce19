/*
 * keyring.c - release public keys and manifest signature checks (keyring.h).
 */
#include "keyring.h"

#include <string.h>

fota_err_t fotad_keyring_add_file(fotad_keyring_t *ring, const char *path)
{
    if (ring->count == FOTAD_MAX_RELEASE_KEYS) {
        return FOTA_ERR_TOO_LARGE;
    }
    fota_key_t *key = NULL;
    fota_err_t err = fota_key_load_public(path, &key);
    if (err != FOTA_OK) {
        /* A private key file fails to load as a public one: name the likely mistake. */
        fota_key_t *priv = NULL;
        if (fota_key_load_private(path, &priv) == FOTA_OK) {
            err = FOTA_ERR_KEY;
        }
        fota_key_free(priv);
        return err;
    }
    fotad_pubkey_t *k = &ring->keys[ring->count];
    k->der_len = sizeof k->der;
    err = fota_key_public_der(key, k->der, &k->der_len);
    if (err == FOTA_OK) {
        err = fota_key_id(key, k->id);
    }
    fota_key_free(key);
    if (err == FOTA_OK) {
        ring->count++;
    }
    return err;
}

fota_err_t fotad_keyring_verify(const fotad_keyring_t *ring, const uint8_t *manifest, size_t len,
                                fota_manifest_t *out)
{
    fota_err_t err = fota_manifest_parse(manifest, len, out);
    if (err != FOTA_OK) {
        return err;
    }
    const fotad_pubkey_t *k = fotad_keyring_find(ring, out->key_id);
    if (k != NULL) {
        err = fota_manifest_verify(manifest, len, k->der, k->der_len, out);
        return err == FOTA_OK ? FOTA_OK : FOTA_ERR_MANIFEST_SIGNATURE;
    }
    memset(out, 0, sizeof *out);
    return FOTA_ERR_MANIFEST_SIGNATURE;
}

const fotad_pubkey_t *fotad_keyring_find(const fotad_keyring_t *ring,
                                         const uint8_t key_id[FOTA_MANIFEST_KEY_ID_LEN])
{
    for (size_t i = 0; i < ring->count; i++) {
        if (memcmp(ring->keys[i].id, key_id, FOTA_MANIFEST_KEY_ID_LEN) == 0) {
            return &ring->keys[i];
        }
    }
    return NULL;
}
