/*
 * esp_err.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset), for
 * host builds only.
 *
 * esp_err_t and the generic codes with ESP-IDF's values. The flash driver's codes, which ESP-IDF
 * declares in spi_flash_mmap.h and hal/esp_flash_err.h (headers the double does not have), are
 * here too, because the double's esp_partition_* and esp_ota_* calls return them. The NVS, OTA
 * and HTTP codes are in nvs.h, esp_ota_ops.h and esp_http_client.h, as in ESP-IDF.
 * esp_err_to_name() knows every code the double's headers declare; ESP_ERROR_CHECK is left out
 * on purpose (code under test must handle its errors).
 */
#ifndef ESP_DOUBLE_ESP_ERR_H
#define ESP_DOUBLE_ESP_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int esp_err_t;

#define ESP_OK 0
#define ESP_FAIL -1

#define ESP_ERR_NO_MEM 0x101
#define ESP_ERR_INVALID_ARG 0x102
#define ESP_ERR_INVALID_STATE 0x103
#define ESP_ERR_INVALID_SIZE 0x104
#define ESP_ERR_NOT_FOUND 0x105
#define ESP_ERR_NOT_SUPPORTED 0x106
#define ESP_ERR_TIMEOUT 0x107
#define ESP_ERR_INVALID_RESPONSE 0x108
#define ESP_ERR_INVALID_CRC 0x109
#define ESP_ERR_INVALID_VERSION 0x10A
#define ESP_ERR_INVALID_MAC 0x10B
#define ESP_ERR_NOT_FINISHED 0x10C
#define ESP_ERR_NOT_ALLOWED 0x10D

#define ESP_ERR_WIFI_BASE 0x3000
#define ESP_ERR_MESH_BASE 0x4000
#define ESP_ERR_FLASH_BASE 0x6000
#define ESP_ERR_HW_CRYPTO_BASE 0xc000
#define ESP_ERR_MEMPROT_BASE 0xd000

/* spi_flash_mmap.h */
#ifndef ESP_ERR_FLASH_OP_FAIL
#define ESP_ERR_FLASH_OP_FAIL (ESP_ERR_FLASH_BASE + 1)
#define ESP_ERR_FLASH_OP_TIMEOUT (ESP_ERR_FLASH_BASE + 2)
#endif
/* hal/esp_flash_err.h */
#ifndef ESP_ERR_FLASH_NOT_INITIALISED
#define ESP_ERR_FLASH_NOT_INITIALISED (ESP_ERR_FLASH_BASE + 3)
#define ESP_ERR_FLASH_UNSUPPORTED_HOST (ESP_ERR_FLASH_BASE + 4)
#define ESP_ERR_FLASH_UNSUPPORTED_CHIP (ESP_ERR_FLASH_BASE + 5)
#define ESP_ERR_FLASH_PROTECTED (ESP_ERR_FLASH_BASE + 6)
#endif

/* The code's name ("ESP_ERR_NVS_NOT_FOUND"), or "UNKNOWN ERROR" as ESP-IDF says for a code it
 * does not know. The string is static. */
const char *esp_err_to_name(esp_err_t code);

/* The same into buf (at most buflen bytes with the NUL); returns buf. */
const char *esp_err_to_name_r(esp_err_t code, char *buf, size_t buflen);

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_ERR_H */
