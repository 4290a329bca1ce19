/*
 * esp_errmap.c - every esp_err_t that the component's ESP-IDF calls can return becomes its own
 * fota_err_t (agent/include/fota/err.h, FOTA_ERR_LIST_ESP), so that a device's error report
 * names the IDF error exactly. The IDF error families are contiguous ranges above a base, and so
 * are ours (every code of each range below has its fota_err_t): the map is arithmetic per
 * family. Any other esp_err_t becomes FOTA_ERR_ESP_OTHER and is logged with its number.
 */
#include "fota_esp_internal.h"

#include "esp_log.h"

typedef struct {
    esp_err_t first; /* first IDF code of the family */
    esp_err_t last;
    int fota_first; /* the fota_err_t of `first` */
} family_t;

/* IDF: esp_err.h (generic), spi_flash (ESP_ERR_FLASH_BASE 0x6000), nvs.h (0x1100),
 * esp_ota_ops.h (0x1500), esp_http_client.h (0x7000). */
static const family_t FAMILIES[] = {
    {0x101, 0x10D, FOTA_ERR_ESP_NO_MEM},
    {0x6001, 0x6006, FOTA_ERR_ESP_FLASH_OP_FAIL},
    {0x1101, 0x1119, FOTA_ERR_ESP_NVS_NOT_INITIALIZED},
    {0x1501, 0x1506, FOTA_ERR_ESP_OTA_PARTITION_CONFLICT},
    {0x7001, 0x700D, FOTA_ERR_ESP_HTTP_MAX_REDIRECT},
};

fota_err_t fota_esp_err_from_esp(esp_err_t err)
{
    if (err == ESP_OK) {
        return FOTA_OK;
    }
    if (err == ESP_FAIL) {
        return FOTA_ERR_ESP_FAIL;
    }
    for (size_t i = 0; i < sizeof FAMILIES / sizeof FAMILIES[0]; i++) {
        const family_t *f = &FAMILIES[i];
        if (err >= f->first && err <= f->last) {
            return (fota_err_t)(f->fota_first + (err - f->first));
        }
    }
    ESP_LOGW(FOTA_ESP_TAG, "esp_err 0x%x (%s): FOTA_ERR_ESP_OTHER", (unsigned)err,
             esp_err_to_name(err));
    return FOTA_ERR_ESP_OTHER;
}

esp_err_t fota_esp_err_to_esp(fota_err_t err)
{
    if (err == FOTA_OK) {
        return ESP_OK;
    }
    if (err == FOTA_ERR_ARG) {
        return ESP_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < sizeof FAMILIES / sizeof FAMILIES[0]; i++) {
        const family_t *f = &FAMILIES[i];
        if ((int)err >= f->fota_first && (int)err <= f->fota_first + (f->last - f->first)) {
            return f->first + ((int)err - f->fota_first);
        }
    }
    ESP_LOGW(FOTA_ESP_TAG, "error %d (%s)", (int)err, fota_err_name(err));
    return ESP_FAIL;
}
