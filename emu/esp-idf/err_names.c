/*
 * err_names.c - esp_err_to_name for the ESP-IDF API double: the name of every code its headers
 * declare (esp_err.h, nvs.h, esp_ota_ops.h, esp_http_client.h), and "UNKNOWN ERROR" for any
 * other, as ESP-IDF answers.
 */
#include <stdio.h>

#include "esp_err.h"
#include "esp_http_client.h"
#include "esp_ota_ops.h"
#include "nvs.h"

#define NAME(code)                                                                                 \
    {                                                                                              \
        code, #code                                                                                \
    }

static const struct {
    esp_err_t code;
    const char *name;
} k_names[] = {
    NAME(ESP_OK),
    NAME(ESP_FAIL),
    NAME(ESP_ERR_NO_MEM),
    NAME(ESP_ERR_INVALID_ARG),
    NAME(ESP_ERR_INVALID_STATE),
    NAME(ESP_ERR_INVALID_SIZE),
    NAME(ESP_ERR_NOT_FOUND),
    NAME(ESP_ERR_NOT_SUPPORTED),
    NAME(ESP_ERR_TIMEOUT),
    NAME(ESP_ERR_INVALID_RESPONSE),
    NAME(ESP_ERR_INVALID_CRC),
    NAME(ESP_ERR_INVALID_VERSION),
    NAME(ESP_ERR_INVALID_MAC),
    NAME(ESP_ERR_NOT_FINISHED),
    NAME(ESP_ERR_NOT_ALLOWED),
    NAME(ESP_ERR_FLASH_OP_FAIL),
    NAME(ESP_ERR_FLASH_OP_TIMEOUT),
    NAME(ESP_ERR_FLASH_NOT_INITIALISED),
    NAME(ESP_ERR_FLASH_UNSUPPORTED_HOST),
    NAME(ESP_ERR_FLASH_UNSUPPORTED_CHIP),
    NAME(ESP_ERR_FLASH_PROTECTED),
    NAME(ESP_ERR_NVS_NOT_INITIALIZED),
    NAME(ESP_ERR_NVS_NOT_FOUND),
    NAME(ESP_ERR_NVS_TYPE_MISMATCH),
    NAME(ESP_ERR_NVS_READ_ONLY),
    NAME(ESP_ERR_NVS_NOT_ENOUGH_SPACE),
    NAME(ESP_ERR_NVS_INVALID_NAME),
    NAME(ESP_ERR_NVS_INVALID_HANDLE),
    NAME(ESP_ERR_NVS_REMOVE_FAILED),
    NAME(ESP_ERR_NVS_KEY_TOO_LONG),
    NAME(ESP_ERR_NVS_PAGE_FULL),
    NAME(ESP_ERR_NVS_INVALID_STATE),
    NAME(ESP_ERR_NVS_INVALID_LENGTH),
    NAME(ESP_ERR_NVS_NO_FREE_PAGES),
    NAME(ESP_ERR_NVS_VALUE_TOO_LONG),
    NAME(ESP_ERR_NVS_PART_NOT_FOUND),
    NAME(ESP_ERR_NVS_NEW_VERSION_FOUND),
    NAME(ESP_ERR_NVS_XTS_ENCR_FAILED),
    NAME(ESP_ERR_NVS_XTS_DECR_FAILED),
    NAME(ESP_ERR_NVS_XTS_CFG_FAILED),
    NAME(ESP_ERR_NVS_XTS_CFG_NOT_FOUND),
    NAME(ESP_ERR_NVS_ENCR_NOT_SUPPORTED),
    NAME(ESP_ERR_NVS_KEYS_NOT_INITIALIZED),
    NAME(ESP_ERR_NVS_CORRUPT_KEY_PART),
    NAME(ESP_ERR_NVS_CONTENT_DIFFERS),
    NAME(ESP_ERR_NVS_WRONG_ENCRYPTION),
    NAME(ESP_ERR_OTA_PARTITION_CONFLICT),
    NAME(ESP_ERR_OTA_SELECT_INFO_INVALID),
    NAME(ESP_ERR_OTA_VALIDATE_FAILED),
    NAME(ESP_ERR_OTA_SMALL_SEC_VER),
    NAME(ESP_ERR_OTA_ROLLBACK_FAILED),
    NAME(ESP_ERR_OTA_ROLLBACK_INVALID_STATE),
    NAME(ESP_ERR_HTTP_MAX_REDIRECT),
    NAME(ESP_ERR_HTTP_CONNECT),
    NAME(ESP_ERR_HTTP_WRITE_DATA),
    NAME(ESP_ERR_HTTP_FETCH_HEADER),
    NAME(ESP_ERR_HTTP_INVALID_TRANSPORT),
    NAME(ESP_ERR_HTTP_CONNECTING),
    NAME(ESP_ERR_HTTP_EAGAIN),
    NAME(ESP_ERR_HTTP_CONNECTION_CLOSED),
    NAME(ESP_ERR_HTTP_NOT_MODIFIED),
    NAME(ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE),
    NAME(ESP_ERR_HTTP_READ_TIMEOUT),
    NAME(ESP_ERR_HTTP_INCOMPLETE_DATA),
    NAME(ESP_ERR_HTTP_REDIRECT_DOWNGRADE),
};

const char *esp_err_to_name(esp_err_t code)
{
    for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++) {
        if (k_names[i].code == code) {
            return k_names[i].name;
        }
    }
    return "UNKNOWN ERROR";
}

const char *esp_err_to_name_r(esp_err_t code, char *buf, size_t buflen)
{
    if (buf != NULL && buflen > 0) {
        snprintf(buf, buflen, "%s", esp_err_to_name(code));
    }
    return buf;
}
