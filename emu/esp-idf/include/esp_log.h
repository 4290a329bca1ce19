/*
 * esp_log.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset), for
 * host builds only.
 *
 * ESP_LOGE/W/I/D/V(tag, format, ...) print one line to stderr in ESP-IDF's shape,
 * "E (1234) [device] tag: message", where the number is milliseconds since the selected emulated
 * device was powered on. Lines above the level named by the environment variable FOTA_ESP_LOG
 * (N, E, W, I, D or V; default W) are dropped, so test output stays quiet. The format is checked
 * like printf's: host builds catch the format mistakes the device build would print as garbage.
 */
#ifndef ESP_DOUBLE_ESP_LOG_H
#define ESP_DOUBLE_ESP_LOG_H

#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ESP_LOG_NONE = 0,
    ESP_LOG_ERROR = 1,
    ESP_LOG_WARN = 2,
    ESP_LOG_INFO = 3,
    ESP_LOG_DEBUG = 4,
    ESP_LOG_VERBOSE = 5,
    ESP_LOG_MAX = 6,
} esp_log_level_t;

/* What the ESP_LOGx macros call (the double's own entry point, not an ESP-IDF function). */
void esp_double_log(esp_log_level_t level, const char *tag, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Milliseconds since the selected device's power-on (ESP-IDF: since boot). */
uint32_t esp_log_timestamp(void);

#define ESP_LOGE(tag, ...) esp_double_log(ESP_LOG_ERROR, (tag), __VA_ARGS__)
#define ESP_LOGW(tag, ...) esp_double_log(ESP_LOG_WARN, (tag), __VA_ARGS__)
#define ESP_LOGI(tag, ...) esp_double_log(ESP_LOG_INFO, (tag), __VA_ARGS__)
#define ESP_LOGD(tag, ...) esp_double_log(ESP_LOG_DEBUG, (tag), __VA_ARGS__)
#define ESP_LOGV(tag, ...) esp_double_log(ESP_LOG_VERBOSE, (tag), __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_LOG_H */
