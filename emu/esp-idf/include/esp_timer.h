/*
 * esp_timer.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset), for
 * host builds only.
 *
 * esp_timer_get_time(): microseconds since the selected device's last power-on, from the host's
 * monotonic clock, or from the device's manual clock (esp_double_advance_ms) when it has one.
 * With no device selected: microseconds since the process first asked.
 */
#ifndef ESP_DOUBLE_ESP_TIMER_H
#define ESP_DOUBLE_ESP_TIMER_H

#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

int64_t esp_timer_get_time(void);

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_TIMER_H */
