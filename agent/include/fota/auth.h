/*
 * auth.h - device request authentication (docs/PROTOCOL.md, "Device authentication"), shared
 * by the agent, which signs its requests, and the server, which checks them.
 *
 *   device_key = HMAC-SHA256(master secret, device id)          (server side; provisioned)
 *   auth_key   = HMAC-SHA256(device_key, "fota-auth-v1")
 *   X-Fota-Auth = hex HMAC-SHA256(auth_key,
 *                   METHOD "\n" TARGET "\n" TIME "\n" NONCE "\n" hex SHA-256(body))
 *
 * TARGET is the request target exactly as sent (path and query). The device key itself also
 * signs seed-mode chunks (the seed's per-chunk HMAC); the derived key keeps the two apart.
 */
#ifndef FOTA_AUTH_H
#define FOTA_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/md.h>

#include "fota/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_AUTH_HEX_LEN 64

fota_err_t fota_auth_device_key(const uint8_t *master, size_t master_len, const char *device_id,
                                uint8_t out[32]);
fota_err_t fota_auth_key(const uint8_t device_key[32], uint8_t out[32]);

typedef struct {
    const char *method;
    const char *target;
    const char *time;
    const char *nonce;
    const uint8_t *body;
    size_t body_len;
} fota_auth_msg_t;

/* n bytes as 2n lowercase hex digits and a NUL in out: the MAC's encoding, which the agent uses
 * for its nonce and release ids too. */
void fota_auth_hex(const uint8_t *p, size_t n, char *out);

/* The MAC as 64 lowercase hex digits and a NUL in out. hmac: a context set up for SHA-256 with
 * HMAC (reused, so the agent allocates nothing per request), or NULL for a temporary one. */
fota_err_t fota_auth_mac(mbedtls_md_context_t *hmac, const uint8_t auth_key[32],
                         const fota_auth_msg_t *msg, char out[FOTA_AUTH_HEX_LEN + 1]);

/* The same with hmac not NULL: what the agent links, without the temporary context's code. */
fota_err_t fota_auth_mac_md(mbedtls_md_context_t *hmac, const uint8_t auth_key[32],
                            const fota_auth_msg_t *msg, char out[FOTA_AUTH_HEX_LEN + 1]);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_AUTH_H */
