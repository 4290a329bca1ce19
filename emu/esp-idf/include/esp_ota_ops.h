/*
 * esp_ota_ops.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset),
 * for host builds only.
 *
 * The app-side OTA calls over the emulated flash, with app rollback enabled
 * (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE) and, per device, anti-rollback
 * (esp_double_config_t.anti_rollback). otadata is read and written in ESP-IDF's format by the
 * emulator's otadata/bootloader code, so the emulated bootloader boots what a real one would.
 * Return codes follow ESP-IDF v5.5's esp_ota_ops.c; the harness header esp_double.h lists them
 * per function. esp_ota_img_states_t lives in ESP-IDF's esp_flash_partitions.h, which
 * esp_ota_ops.h includes; the double declares it here.
 */
#ifndef ESP_DOUBLE_ESP_OTA_OPS_H
#define ESP_DOUBLE_ESP_OTA_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_app_desc.h"
#include "esp_err.h"
#include "esp_partition.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_SIZE_UNKNOWN 0xffffffff
#define OTA_WITH_SEQUENTIAL_WRITES 0xfffffffe

#define ESP_ERR_OTA_BASE 0x1500
#define ESP_ERR_OTA_PARTITION_CONFLICT (ESP_ERR_OTA_BASE + 0x01)
#define ESP_ERR_OTA_SELECT_INFO_INVALID (ESP_ERR_OTA_BASE + 0x02)
#define ESP_ERR_OTA_VALIDATE_FAILED (ESP_ERR_OTA_BASE + 0x03)
#define ESP_ERR_OTA_SMALL_SEC_VER (ESP_ERR_OTA_BASE + 0x04)
#define ESP_ERR_OTA_ROLLBACK_FAILED (ESP_ERR_OTA_BASE + 0x05)
#define ESP_ERR_OTA_ROLLBACK_INVALID_STATE (ESP_ERR_OTA_BASE + 0x06)

typedef enum {
    ESP_OTA_IMG_NEW = 0x0U,
    ESP_OTA_IMG_PENDING_VERIFY = 0x1U,
    ESP_OTA_IMG_VALID = 0x2U,
    ESP_OTA_IMG_INVALID = 0x3U,
    ESP_OTA_IMG_ABORTED = 0x4U,
    ESP_OTA_IMG_UNDEFINED = 0xFFFFFFFFU,
} esp_ota_img_states_t;

typedef uint32_t esp_ota_handle_t;

const esp_partition_t *esp_ota_get_running_partition(void);
const esp_partition_t *esp_ota_get_boot_partition(void);
const esp_partition_t *esp_ota_get_next_update_partition(const esp_partition_t *start_from);
esp_err_t esp_ota_set_boot_partition(const esp_partition_t *partition);
esp_err_t esp_ota_get_state_partition(const esp_partition_t *partition,
                                      esp_ota_img_states_t *ota_state);
esp_err_t esp_ota_mark_app_valid_cancel_rollback(void);
esp_err_t esp_ota_mark_app_invalid_rollback_and_reboot(void);
esp_err_t esp_ota_get_partition_description(const esp_partition_t *partition,
                                            esp_app_desc_t *app_desc);

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_OTA_OPS_H */
