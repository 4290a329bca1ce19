/*
 * freertos/FreeRTOS.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name
 * (subset), for host builds only.
 *
 * The FreeRTOS types and constants of ESP-IDF's port (32-bit ticks, configTICK_RATE_HZ from
 * CONFIG_FREERTOS_HZ = 100). Ticks count the selected device's time (esp_timer_get_time), so a
 * device with a manual clock sees its delays and timeouts move only with esp_double_advance_ms.
 * The tasks and semaphores are host threads: freertos/task.h and freertos/semphr.h.
 */
#ifndef INC_FREERTOS_H
#define INC_FREERTOS_H

#include <stddef.h>
#include <stdint.h>

#include "sdkconfig.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int BaseType_t;
typedef unsigned int UBaseType_t;
typedef uint32_t TickType_t;
typedef void (*TaskFunction_t)(void *);

#define configTICK_RATE_HZ (CONFIG_FREERTOS_HZ)
#define configSTACK_DEPTH_TYPE uint32_t

#define pdFALSE ((BaseType_t)0)
#define pdTRUE ((BaseType_t)1)
#define pdPASS (pdTRUE)
#define pdFAIL (pdFALSE)
#define errCOULD_NOT_ALLOCATE_REQUIRED_MEMORY (-1)

#define portMAX_DELAY (TickType_t)0xffffffffUL
#define portTICK_PERIOD_MS ((TickType_t)1000 / configTICK_RATE_HZ)
#define pdMS_TO_TICKS(xTimeInMs)                                                                   \
    ((TickType_t)(((TickType_t)(xTimeInMs) * (TickType_t)configTICK_RATE_HZ) / (TickType_t)1000U))

#ifdef __cplusplus
}
#endif

#endif /* INC_FREERTOS_H */
