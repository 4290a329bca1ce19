/*
 * esp_system.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset), for
 * host builds only.
 *
 * esp_restart() never returns, as in ESP-IDF. The double's reset model (esp_double.h): on a task
 * it parks the task and flags the device "restart requested" for the harness, which power-cycles
 * it; on the harness's own thread it jumps back to the restart point armed with
 * ESP_DOUBLE_RESTART_POINT(), and without one it aborts with a message.
 */
#ifndef ESP_DOUBLE_ESP_SYSTEM_H
#define ESP_DOUBLE_ESP_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

void esp_restart(void) __attribute__((__noreturn__));

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_SYSTEM_H */
