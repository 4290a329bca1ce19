/*
 * device_auth.c - device request authentication, server side (device_auth.h).
 */
#include "device_auth.h"

#include <ctype.h>
#include <string.h>

#include "fota/auth.h"

static bool is_hex_string(const char *s, size_t len)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (n >= len || !isxdigit((unsigned char)s[n])) {
            return false;
        }
    }
    return n == len;
}

/* The headers are there and well formed; *why names the first that is not. */
static bool headers_ok(const fotad_device_auth_in_t *in, const char **why)
{
    if (in->device_id == NULL || in->time == NULL || in->nonce == NULL || in->auth == NULL) {
        *why = in->device_id == NULL ? "missing X-Device-Id"
               : in->time == NULL    ? "missing X-Fota-Time"
               : in->nonce == NULL   ? "missing X-Fota-Nonce"
                                     : "missing X-Fota-Auth";
        return false;
    }
    if (!fotad_is_device_id(in->device_id)) {
        *why = "malformed X-Device-Id";
        return false;
    }
    if (!is_hex_string(in->nonce, FOTAD_NONCE_HEX_LEN)) {
        *why = "malformed X-Fota-Nonce (16 hex digits)";
        return false;
    }
    if (!is_hex_string(in->auth, FOTA_AUTH_HEX_LEN)) {
        *why = "malformed X-Fota-Auth (64 hex digits)";
        return false;
    }
    return true;
}

static bool time_ok(const char *text, int64_t now, uint32_t window)
{
    uint64_t t;
    if (!fotad_parse_u64(text, (uint64_t)INT64_MAX, &t)) {
        return false;
    }
    int64_t diff = (int64_t)t - now;
    return diff <= (int64_t)window && diff >= -(int64_t)window;
}

static fota_err_t mac_ok(const fotad_device_auth_in_t *in, const uint8_t auth_key[32], bool *ok)
{
    char expect[FOTA_AUTH_HEX_LEN + 1];
    fota_auth_msg_t m = {in->method, in->target, in->time, in->nonce, in->body, in->body_len};
    fota_err_t err = fota_auth_mac(NULL, auth_key, &m, expect);
    if (err != FOTA_OK) {
        return err;
    }
    char got[FOTA_AUTH_HEX_LEN + 1];
    for (size_t i = 0; i <= FOTA_AUTH_HEX_LEN; i++) {
        got[i] = (char)tolower((unsigned char)in->auth[i]);
    }
    *ok = fotad_equal_ct(got, expect, FOTA_AUTH_HEX_LEN);
    return FOTA_OK;
}

/* The claimed device's keys: from the cache, else its enrolled key or one derived from the
 * master secret (*cached false). */
static fota_err_t device_keys(const fotad_device_auth_cfg_t *cfg, const char *id,
                              uint8_t device_key[32], uint8_t auth_key[32], bool *cached)
{
    *cached = cfg->keys != NULL && fotad_keycache_get(cfg->keys, id, device_key, auth_key);
    if (*cached) {
        return FOTA_OK;
    }
    fota_err_t err = FOTA_ERR_NOT_FOUND;
    if (cfg->fixed_key != NULL) {
        memcpy(device_key, cfg->fixed_key, 32);
        err = FOTA_OK;
    } else if (cfg->enrolled != NULL) {
        err = cfg->enrolled(cfg->enrolled_arg, id, device_key);
    }
    if (err == FOTA_ERR_NOT_FOUND) {
        err = fota_auth_device_key(cfg->master, cfg->master_len, id, device_key);
    }
    return err != FOTA_OK ? err : fota_auth_key(device_key, auth_key);
}

/* Use the pair once: in the shared store when there is one, else in this process's cache. A pair
 * must be refused while a request carrying it can be accepted, up to window_s after its
 * X-Fota-Time, which is at most window_s after now: it is kept 2 x window_s from now. */
static fota_err_t nonce_use(const fotad_device_auth_cfg_t *cfg, const char *device,
                            const char *nonce, int64_t wall_now, int64_t mono_now)
{
    const fotad_store_t *st = cfg->shared;
    if (st == NULL || st->ops->nonce_claim == NULL) {
        return fotad_nonce_cache_use(cfg->nonces, device, nonce, mono_now);
    }
    char lower[FOTAD_NONCE_HEX_LEN + 1]; /* the nonce in upper case is the same nonce */
    size_t n = 0;
    for (; n < FOTAD_NONCE_HEX_LEN && nonce[n] != '\0'; n++) {
        lower[n] = (char)tolower((unsigned char)nonce[n]);
    }
    lower[n] = '\0';
    bool fresh = false;
    fota_err_t err = st->ops->nonce_claim(st->ctx, device, lower, wall_now,
                                          wall_now + 2 * (int64_t)cfg->window_s, &fresh);
    return err != FOTA_OK ? err : fresh ? FOTA_OK : FOTA_ERR_STATE;
}

fota_err_t fotad_device_auth_check(const fotad_device_auth_cfg_t *cfg,
                                   const fotad_device_auth_in_t *in, int64_t wall_now,
                                   int64_t mono_now, fotad_device_cred_t *out, const char **why)
{
    if (!headers_ok(in, why)) {
        return FOTA_ERR_HTTP_AUTH;
    }
    if (!time_ok(in->time, wall_now, cfg->window_s)) {
        *why = "X-Fota-Time malformed or outside the clock window";
        return FOTA_ERR_HTTP_AUTH;
    }
    uint8_t auth_key[32];
    bool cached = false;
    bool ok = false;
    fota_err_t err = device_keys(cfg, in->device_id, out->device_key, auth_key, &cached);
    if (err == FOTA_OK) {
        err = mac_ok(in, auth_key, &ok);
    }
    if (err != FOTA_OK) {
        *why = "MAC computation failed";
        return err;
    }
    if (!ok) {
        *why = "bad MAC";
        return FOTA_ERR_HTTP_AUTH;
    }
    if (!cached && cfg->keys != NULL) {
        fotad_keycache_put(cfg->keys, in->device_id, out->device_key, auth_key);
    }
    err = nonce_use(cfg, in->device_id, in->nonce, wall_now, mono_now);
    if (err != FOTA_OK) {
        *why = err == FOTA_ERR_STATE    ? "replayed nonce"
               : err == FOTA_ERR_NO_MEM ? "nonce cache full"
                                        : "nonce store unavailable";
        return err == FOTA_ERR_STATE ? FOTA_ERR_HTTP_AUTH : err;
    }
    strcpy(out->id, in->device_id);
    return FOTA_OK;
}
