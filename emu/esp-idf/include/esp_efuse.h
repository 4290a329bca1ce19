/*
 * esp_efuse.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset), for
 * host builds only.
 *
 * The emulated eFuse secure version (anti-rollback) of the selected device. It only ever rises
 * (esp_ota_mark_app_valid_cancel_rollback raises it with anti-rollback on, as ESP-IDF does) and
 * survives reboots: it is kept in the device's state file.
 */
#ifndef ESP_DOUBLE_ESP_EFUSE_H
#define ESP_DOUBLE_ESP_EFUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_log.h"
#include "sdkconfig.h"

#ifdef __cplusplus
extern "C" {
#endif

uint32_t esp_efuse_read_secure_version(void);

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_EFUSE_H */
