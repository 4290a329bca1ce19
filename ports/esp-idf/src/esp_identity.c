/*
 * esp_identity.c - who the device is: its id (sent as X-Device-Id) and its device key (the
 * 32-byte HMAC key fotad derives from its master secret and the id).
 *
 * The key is provisioned at the factory into NVS (namespace CONFIG_FOTA_KEY_NAMESPACE, blob
 * "device_key"; docs/ESP_IDF.md makes that NVS image from `fotactl device key`), or handed in
 * by the application. The id is the configured one, else an NVS string "device_id" beside the
 * key, else the chip name and the eFuse base MAC ("esp32-24a1600a1b2c"): unique per chip and
 * stable across updates and flash erases.
 */
#include "fota_esp_internal.h"

#include <stdio.h>
#include <string.h>

#include "esp_log.h"
#include "esp_mac.h"

#define KEY_NAME "device_key"
#define ID_NAME "device_id"

static esp_err_t id_from_mac(fota_esp_t *h)
{
    uint8_t mac[6];
    esp_err_t err = esp_efuse_mac_get_default(mac);
    if (err == ESP_OK) {
        snprintf(h->device_id, sizeof h->device_id, "%s-%02x%02x%02x%02x%02x%02x",
                 CONFIG_IDF_TARGET, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    }
    return err;
}

static esp_err_t copy_id(fota_esp_t *h, const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= sizeof h->device_id) {
        ESP_LOGE(FOTA_ESP_TAG, "device id must be 1..%u characters",
                 (unsigned)(sizeof h->device_id - 1));
        return ESP_ERR_INVALID_ARG;
    }
    memcpy(h->device_id, id, n + 1);
    return ESP_OK;
}

/* NVS string "device_id" if present; ESP_ERR_NVS_NOT_FOUND if not (INVALID_LENGTH if too long). */
static esp_err_t id_from_nvs(fota_esp_t *h, nvs_handle_t nvs)
{
    size_t n = sizeof h->device_id;
    esp_err_t err = nvs_get_str(nvs, ID_NAME, h->device_id, &n);
    return err;
}

static esp_err_t key_from_nvs(fota_esp_t *h, nvs_handle_t nvs)
{
    size_t n = sizeof h->device_key;
    esp_err_t err = nvs_get_blob(nvs, KEY_NAME, h->device_key, &n);
    if (err == ESP_OK && n != sizeof h->device_key) {
        err = ESP_ERR_NVS_INVALID_LENGTH; /* not a key: as if there were none */
    }
    return err == ESP_ERR_NVS_NOT_FOUND || err == ESP_ERR_NVS_INVALID_LENGTH ? ESP_ERR_NOT_FOUND
                                                                             : err;
}

/* What NVS holds: the key unless given, the id unless given. The id falls back to the MAC only
 * when NVS has none: an NVS that cannot be read must not change who the device says it is. */
static esp_err_t from_nvs(fota_esp_t *h, bool need_key, bool need_id)
{
    nvs_handle_t nvs;
    esp_err_t err =
        fota_esp_nvs_open(h->cfg.key_partition, h->cfg.key_namespace, NVS_READONLY, &nvs);
    if (err == ESP_ERR_NVS_NOT_FOUND) { /* no such namespace */
        return need_key ? ESP_ERR_NOT_FOUND : id_from_mac(h);
    }
    if (err != ESP_OK) {
        return err;
    }
    err = need_key ? key_from_nvs(h, nvs) : ESP_OK;
    if (err == ESP_OK && need_id) {
        err = id_from_nvs(h, nvs);
        if (err == ESP_ERR_NVS_NOT_FOUND) {
            err = id_from_mac(h);
        }
    }
    nvs_close(nvs);
    return err;
}

esp_err_t fota_esp_identity_load(fota_esp_t *h)
{
    const fota_esp_config_t *c = &h->cfg;
    esp_err_t err = c->device_id != NULL ? copy_id(h, c->device_id) : ESP_OK;
    if (err == ESP_OK && c->device_key != NULL) {
        memcpy(h->device_key, c->device_key, sizeof h->device_key);
    }
    bool need_key = c->device_key == NULL && h->enroll == FOTA_ESP_ENROLL_NONE;
    if (err == ESP_OK && (need_key || c->device_id == NULL)) {
        err = from_nvs(h, need_key, c->device_id == NULL);
        if (err != ESP_OK) {
            ESP_LOGE(FOTA_ESP_TAG, "NVS %s/%s: " KEY_NAME " (32 B) or " ID_NAME ": %s",
                     c->key_partition, c->key_namespace, esp_err_to_name(err));
        }
    }
    return err;
}
