/*
 * auth.c - the MACs that authenticate a device's requests (see auth.h). Written once for both
 * ends: the agent signs with it, the server checks with it.
 */
#include "fota/auth.h"

#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

void fota_auth_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[p[i] >> 4];
        out[2 * i + 1] = hex_digits[p[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static fota_err_t hmac_once(const uint8_t *key, size_t key_len, const void *msg, size_t len,
                            uint8_t out[32])
{
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    return mbedtls_md_hmac(sha, key, key_len, msg, len, out) == 0 ? FOTA_OK : FOTA_ERR_CRYPTO;
}

fota_err_t fota_auth_device_key(const uint8_t *master, size_t master_len, const char *device_id,
                                uint8_t out[32])
{
    return hmac_once(master, master_len, device_id, strlen(device_id), out);
}

fota_err_t fota_auth_key(const uint8_t device_key[32], uint8_t out[32])
{
    static const char label[] = "fota-auth-v1";
    return hmac_once(device_key, 32, label, sizeof label - 1, out);
}

static int update_line(mbedtls_md_context_t *md, const char *s)
{
    int rc = mbedtls_md_hmac_update(md, (const uint8_t *)s, strlen(s));
    return rc != 0 ? rc : mbedtls_md_hmac_update(md, (const uint8_t *)"\n", 1);
}

static int mac_with(mbedtls_md_context_t *md, const uint8_t key[32], const fota_auth_msg_t *m,
                    const char *body_hex, uint8_t mac[32])
{
    int rc = mbedtls_md_hmac_starts(md, key, 32);
    const char *lines[] = {m->method, m->target, m->time, m->nonce};
    for (size_t i = 0; i < 4 && rc == 0; i++) {
        rc = update_line(md, lines[i]);
    }
    if (rc == 0) {
        rc = mbedtls_md_hmac_update(md, (const uint8_t *)body_hex, 64);
    }
    return rc != 0 ? rc : mbedtls_md_hmac_finish(md, mac);
}

fota_err_t fota_auth_mac_md(mbedtls_md_context_t *hmac, const uint8_t auth_key[32],
                            const fota_auth_msg_t *msg, char out[FOTA_AUTH_HEX_LEN + 1])
{
    uint8_t digest[32];
    char body_hex[65];
    if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), msg->body, msg->body_len,
                   digest) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    fota_auth_hex(digest, 32, body_hex);
    if (mac_with(hmac, auth_key, msg, body_hex, digest) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    fota_auth_hex(digest, 32, out);
    return FOTA_OK;
}

fota_err_t fota_auth_mac(mbedtls_md_context_t *hmac, const uint8_t auth_key[32],
                         const fota_auth_msg_t *msg, char out[FOTA_AUTH_HEX_LEN + 1])
{
    if (hmac != NULL) {
        return fota_auth_mac_md(hmac, auth_key, msg, out);
    }
    mbedtls_md_context_t local;
    mbedtls_md_init(&local);
    fota_err_t err = FOTA_ERR_CRYPTO;
    if (mbedtls_md_setup(&local, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) == 0) {
        err = fota_auth_mac_md(&local, auth_key, msg, out);
    }
    mbedtls_md_free(&local);
    return err;
}
