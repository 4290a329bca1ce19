/*
 * esp_enroll.c - enrollment of a device that has no key of its own yet: the bridge firmware that
 * devices on the original firmware receive through fotad's legacy bridge (docs/MIGRATION.md).
 *
 * With a fleet key in the configuration and no device key in NVS, fota_esp_init makes a key from
 * the hardware RNG and stores it in NVS together with the mark "enroll" = 1, in one commit (a
 * power cut leaves both or neither). Until the server approves it, each step sends
 *
 *     POST /api/inverter/fota/enroll     {"key":"<64 hex>"}
 *
 * signed as every device request (docs/PROTOCOL.md section 2) but with the fleet's enrollment key
 * HMAC-SHA256(fleet key, "fota-enroll-v1") as the device key, once per check interval (at most
 * 5 minutes apart; each second without a check interval): 202 the
 * registration waits for an operator, 200 it is approved (the mark becomes 2 and the agent
 * starts, signing with the device's own key), 403/409 it was refused (logged; asked again, an
 * operator may delete it). The same key is sent every time, across restarts: registering again
 * is harmless. The key's fingerprint (SHA-256, first 8 bytes in hex) is logged so that the
 * operator can compare it with `fotactl enroll list`.
 */
#include "fota_esp_internal.h"

#include <stdio.h>
#include <string.h>

#include "esp_log.h"
#include "esp_random.h"
#include "mbedtls/md.h"

#include "fota/auth.h"

#define KEY_NAME "device_key"
#define MARK_NAME "enroll"
#define MARK_PENDING 1u
#define MARK_DONE 2u
#define ENROLL_TARGET "/api/inverter/fota/enroll"
#define ENROLL_INTERVAL_MAX_MS                                                                     \
    300000u                       /* asked again at most this long after: approval shows soon */
#define ENROLL_RETRY_MIN_MS 1000u /* without a check interval */

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15u];
    }
    out[2 * n] = '\0';
}

#ifdef CONFIG_FOTA_ENROLL

static const char enroll_label[] = "fota-enroll-v1";

esp_err_t fota_esp_enroll_prepare(fota_esp_t *h)
{
    if (h->cfg.fleet_key == NULL || h->cfg.device_key != NULL) {
        return ESP_ERR_NOT_FOUND; /* no enrollment: the key must be provisioned */
    }
    nvs_handle_t nvs;
    esp_err_t err =
        fota_esp_nvs_open(h->cfg.key_partition, h->cfg.key_namespace, NVS_READWRITE, &nvs);
    if (err != ESP_OK) {
        return err;
    }
    uint8_t mark = 0;
    size_t n = sizeof h->device_key;
    err = nvs_get_blob(nvs, KEY_NAME, h->device_key, &n);
    if (err == ESP_OK && n == sizeof h->device_key) {
        err = nvs_get_u8(nvs, MARK_NAME, &mark); /* a provisioned key has no mark */
        err = err == ESP_ERR_NVS_NOT_FOUND ? ESP_ERR_NOT_FOUND : err;
    } else if (err == ESP_OK || err == ESP_ERR_NVS_NOT_FOUND || err == ESP_ERR_NVS_INVALID_LENGTH) {
        esp_fill_random(h->device_key, sizeof h->device_key);
        mark = MARK_PENDING;
        err = nvs_set_blob(nvs, KEY_NAME, h->device_key, sizeof h->device_key);
        if (err == ESP_OK) {
            err = nvs_set_u8(nvs, MARK_NAME, mark);
        }
        if (err == ESP_OK) {
            err = nvs_commit(nvs);
        }
    }
    nvs_close(nvs);
    if (err == ESP_OK) {
        char fp[17];
        fota_esp_key_fingerprint(h, fp);
        h->enroll = mark == MARK_DONE ? FOTA_ESP_ENROLL_APPROVED : FOTA_ESP_ENROLL_NEW;
        ESP_LOGI(FOTA_ESP_TAG, "device key fingerprint %s: %s", fp,
                 mark == MARK_DONE ? "enrolled" : "enrolling");
    }
    return err;
}

/* The request, signed with the enrollment key; strings in *s. */
typedef struct {
    char time[21];
    char nonce[17];
    char auth[FOTA_AUTH_HEX_LEN + 1];
    char body[sizeof "{\"key\":\"\"}" + 64];
} enroll_text_t;

static fota_err_t build(fota_esp_t *h, enroll_text_t *s, fota_http_request_t *req)
{
    fota_clock_t clock = fota_esp_clock_port(h);
    uint8_t nonce[8];
    uint8_t enroll_key[32];
    uint8_t auth_key[32];
    char key_hex[65];
    clock.random(clock.ctx, nonce, sizeof nonce);
    hex(nonce, sizeof nonce, s->nonce);
    hex(h->device_key, sizeof h->device_key, key_hex);
    snprintf(s->time, sizeof s->time, "%llu", (unsigned long long)clock.unix_time(clock.ctx));
    snprintf(s->body, sizeof s->body, "{\"key\":\"%s\"}", key_hex);
    memset(key_hex, 0, sizeof key_hex);
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    fota_err_t err =
        mbedtls_md_hmac(sha, h->cfg.fleet_key, h->cfg.fleet_key_len, (const uint8_t *)enroll_label,
                        sizeof enroll_label - 1, enroll_key) == 0
            ? FOTA_OK
            : FOTA_ERR_CRYPTO;
    if (err == FOTA_OK) {
        err = fota_auth_key(enroll_key, auth_key);
    }
    fota_auth_msg_t m = {"POST",         ENROLL_TARGET, s->time, s->nonce, (const uint8_t *)s->body,
                         strlen(s->body)};
    if (err == FOTA_OK) {
        err = fota_auth_mac(NULL, auth_key, &m, s->auth);
    }
    memset(enroll_key, 0, sizeof enroll_key);
    memset(auth_key, 0, sizeof auth_key);
    *req = (fota_http_request_t){.method = "POST",
                                 .target = ENROLL_TARGET,
                                 .headers = {{"X-Device-Id", h->device_id},
                                             {"X-Fota-Time", s->time},
                                             {"X-Fota-Nonce", s->nonce},
                                             {"X-Fota-Auth", s->auth}},
                                 .header_count = 4,
                                 .body = (const uint8_t *)s->body,
                                 .body_len = strlen(s->body),
                                 .content_type = "application/json"};
    return err;
}

static esp_err_t mark_done(fota_esp_t *h)
{
    nvs_handle_t nvs;
    esp_err_t err =
        fota_esp_nvs_open(h->cfg.key_partition, h->cfg.key_namespace, NVS_READWRITE, &nvs);
    if (err == ESP_OK) {
        err = nvs_set_u8(nvs, MARK_NAME, MARK_DONE);
        if (err == ESP_OK) {
            err = nvs_commit(nvs);
        }
        nvs_close(nvs);
    }
    return err;
}

fota_err_t fota_esp_enroll_step(fota_esp_t *h, uint32_t *wait_ms)
{
    enroll_text_t s;
    fota_http_request_t req;
    int status = 0;
    bool timed = fota_esp_clock_known(h);
    fota_err_t err = build(h, &s, &req);
    esp_err_t e = err == FOTA_OK ? fota_esp_transport_simple(h, &req, &status) : ESP_OK;
    memset(&s, 0, sizeof s);
    *wait_ms = h->cfg.check_interval_ms == 0                       ? ENROLL_RETRY_MIN_MS
               : h->cfg.check_interval_ms > ENROLL_INTERVAL_MAX_MS ? ENROLL_INTERVAL_MAX_MS
                                                                   : h->cfg.check_interval_ms;
    if (err != FOTA_OK || e != ESP_OK) {
        ESP_LOGW(FOTA_ESP_TAG, "enrollment: %s", e != ESP_OK ? esp_err_to_name(e) : "signing");
        *wait_ms = h->cfg.retry_ms;
        return err != FOTA_OK ? err : fota_esp_err_from_esp(e);
    }
    if (status == 401 && !timed && fota_esp_clock_known(h)) {
        *wait_ms = 0; /* sent before the time was known; the answer's Date set it: again */
        return FOTA_OK;
    }
    if (status == 200) {
        e = mark_done(h);
        h->enroll = e == ESP_OK ? FOTA_ESP_ENROLL_APPROVED : h->enroll;
        ESP_LOGI(FOTA_ESP_TAG, "enrollment approved");
        *wait_ms = 0;
        return fota_esp_err_from_esp(e);
    }
    if (status == 202) {
        h->enroll = FOTA_ESP_ENROLL_PENDING;
        ESP_LOGI(FOTA_ESP_TAG, "enrollment waits for approval");
        return FOTA_OK;
    }
    if (status == 403 || status == 409) { /* rejected, conflict: an operator's matter */
        h->enroll = FOTA_ESP_ENROLL_REFUSED;
    }
    ESP_LOGW(FOTA_ESP_TAG, "enrollment: HTTP %d", status); /* else busy, rate-limited: again */
    return FOTA_ERR_HTTP_STATUS;
}

#endif /* CONFIG_FOTA_ENROLL */

void fota_esp_key_fingerprint(fota_esp_handle_t h, char out[17])
{
    uint8_t d[32];
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (h == NULL || mbedtls_md(sha, h->device_key, sizeof h->device_key, d) != 0) {
        memset(d, 0, sizeof d);
    }
    hex(d, 8, out);
}

fota_esp_enroll_t fota_esp_enrollment(fota_esp_handle_t h)
{
    return h != NULL ? h->enroll : FOTA_ESP_ENROLL_NONE;
}
