/*
 * nvs_flash.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset), for
 * host builds only.
 *
 * Initialising an NVS partition loads what was committed to it before (from the device's state
 * file). After every power-on NVS is uninitialised again, as after a reset. ESP_ERR_NOT_FOUND
 * when the partition table has no data/nvs partition of that label; ESP_FAIL once the emulated
 * power is cut.
 */
#ifndef ESP_DOUBLE_NVS_FLASH_H
#define ESP_DOUBLE_NVS_FLASH_H

#include "esp_partition.h"
#include "nvs.h"

#ifdef __cplusplus
extern "C" {
#endif

esp_err_t nvs_flash_init(void);
esp_err_t nvs_flash_init_partition(const char *partition_label);

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_NVS_FLASH_H */
