/*
 * esp_mac.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset), for
 * host builds only.
 *
 * esp_efuse_mac_get_default(): the base MAC of the selected device, from its configuration.
 * ESP_ERR_INVALID_ARG for a NULL buffer, ESP_ERR_INVALID_STATE with no device selected.
 */
#ifndef ESP_DOUBLE_ESP_MAC_H
#define ESP_DOUBLE_ESP_MAC_H

#include <stdint.h>

#include "esp_err.h"
#include "sdkconfig.h"

#ifdef __cplusplus
extern "C" {
#endif

esp_err_t esp_efuse_mac_get_default(uint8_t *mac);

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_MAC_H */
