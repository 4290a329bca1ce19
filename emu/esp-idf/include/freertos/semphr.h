/*
 * freertos/semphr.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name
 * (subset), for host builds only.
 *
 * Mutexes (created given) and binary semaphores (created empty), declared as functions where
 * FreeRTOS has macros over its queues; calls compile the same. A semaphore belongs to the device
 * selected when it was created and is freed when that device loses power. As in FreeRTOS, include
 * FreeRTOS.h first.
 */
#ifndef SEMAPHORE_H
#define SEMAPHORE_H

#ifndef INC_FREERTOS_H
#error "include FreeRTOS.h" must appear in source files before "include semphr.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct QueueDefinition *QueueHandle_t;
typedef QueueHandle_t SemaphoreHandle_t;

SemaphoreHandle_t xSemaphoreCreateMutex(void);
SemaphoreHandle_t xSemaphoreCreateBinary(void);
/* pdTRUE when taken, pdFALSE when xBlockTime ran out. */
BaseType_t xSemaphoreTake(SemaphoreHandle_t xSemaphore, TickType_t xBlockTime);
/* pdTRUE; pdFALSE if it was not taken (or, for a mutex, is held by another task). */
BaseType_t xSemaphoreGive(SemaphoreHandle_t xSemaphore);
void vSemaphoreDelete(SemaphoreHandle_t xSemaphore);

#ifdef __cplusplus
}
#endif

#endif /* SEMAPHORE_H */
