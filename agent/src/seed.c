/*
 * seed.c - one seed-mode chunk (docs/PROTOCOL.md, "chunk"), held whole in the agent's buffer:
 *
 *   {"chunk_number":N,"data":"<base64 of the chunk>","mac":"<hex HMAC-SHA256(device key, chunk)>"}
 *
 * Checks, in order, each with its own error: the JSON shape, the chunk number (must be the one
 * asked for), the MAC's hex, strict base64 (alphabet, length, padding only at the end), the
 * decoded size (the manifest's size of chunk N), then the HMAC, and only then the chunk goes to
 * the writer. The base64 text is decoded in place (base64.c): the write position always trails
 * the read position, so no second 1 KB buffer is needed.
 */
#include <string.h>

#include <mbedtls/md.h>

#include "agent_internal.h"

static bool equal_ct(const uint8_t *x, const uint8_t *y, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) {
        d |= (uint8_t)(x[i] ^ y[i]);
    }
    return d == 0;
}

static fota_err_t check_mac(fota_agent_t *a, const uint8_t *chunk, size_t len,
                            const uint8_t want[32])
{
    uint8_t mac[32];
    int rc = mbedtls_md_hmac_starts(&a->md, a->cfg.device_key, 32);
    if (rc == 0) {
        rc = mbedtls_md_hmac_update(&a->md, chunk, len);
    }
    if (rc == 0) {
        rc = mbedtls_md_hmac_finish(&a->md, mac);
    }
    if (rc != 0) {
        return FOTA_ERR_CRYPTO;
    }
    return equal_ct(mac, want, sizeof mac) ? FOTA_OK : FOTA_ERR_SEED_MAC;
}

/* Everything but the write: the chunk is verified and decoded at the start of a->io. Kept out
 * of line so that its frame is off the stack before the writer and the journal run. */
FOTA_NOINLINE static fota_err_t verified_chunk(fota_agent_t *a, size_t *out_len)
{
    const char *js = (const char *)a->io;
    static const char *const keys[] = {"chunk_number", "mac", "data"};
    fota_json_field_t f[3];
    uint32_t number;
    const char *text;
    size_t n;
    uint8_t mac[32];
    if (fota_json_scan(js, a->io_len, keys, f, 3) != FOTA_OK ||
        !fota_json_u32(js, &f[0], &number)) {
        return FOTA_ERR_SEED_JSON;
    }
    if (number != a->next_chunk) {
        return FOTA_ERR_SEED_CHUNK_NUMBER;
    }
    if (!fota_json_text(js, &f[1], &text, &n) || !fota_hex_decode(text, n, mac, 32) ||
        !fota_json_text(js, &f[2], &text, &n)) {
        return FOTA_ERR_SEED_JSON;
    }
    /* Strictness and size, each with its error: the decoded length is the base64's, so a size
     * that is not the manifest's chunk N is found once the text is known to be base64. */
    size_t len = 0;
    fota_err_t err = fota_b64_decode_in_place(a->io, (size_t)(text - js), n, &len)
                         ? FOTA_OK
                         : FOTA_ERR_SEED_BASE64;
    if (err == FOTA_OK && len != fota_manifest_chunk_len(&a->manifest, a->next_chunk)) {
        err = FOTA_ERR_SEED_CHUNK_SIZE;
    }
    if (err == FOTA_OK) {
        err = check_mac(a, a->io, len, mac);
    }
    *out_len = len;
    return err;
}

fota_err_t fota_seed_chunk_process(fota_agent_t *a)
{
    size_t len = 0;
    fota_err_t err = verified_chunk(a, &len);
    return err != FOTA_OK ? err : fota_writer_put(a, a->io, len);
}
