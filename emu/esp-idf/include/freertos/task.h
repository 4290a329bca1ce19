/*
 * freertos/task.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset),
 * for host builds only.
 *
 * A task is a host thread of the device selected by its creator. Deleting a task, or powering
 * its device off, stops it cooperatively: the next double call it makes (or the one it is
 * blocked in) ends its thread; vTaskDelete of another task returns once that thread has ended.
 * esp_double.h describes the model. As in FreeRTOS, include FreeRTOS.h first.
 */
#ifndef INC_TASK_H
#define INC_TASK_H

#ifndef INC_FREERTOS_H
#error "include FreeRTOS.h must appear in source files before include task.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tskTaskControlBlock *TaskHandle_t;

/* usStackDepth is in bytes, as in ESP-IDF. pdPASS, or errCOULD_NOT_ALLOCATE_REQUIRED_MEMORY
 * (also with no device selected: every task belongs to a device). */
BaseType_t xTaskCreate(TaskFunction_t pxTaskCode, const char *const pcName,
                       const configSTACK_DEPTH_TYPE usStackDepth, void *const pvParameters,
                       UBaseType_t uxPriority, TaskHandle_t *const pxCreatedTask);
void vTaskDelete(TaskHandle_t xTaskToDelete);
void vTaskDelay(const TickType_t xTicksToDelay);
TickType_t xTaskGetTickCount(void);
BaseType_t xTaskNotifyGive(TaskHandle_t xTaskToNotify);
uint32_t ulTaskNotifyTake(BaseType_t xClearCountOnExit, TickType_t xTicksToWait);

#ifdef __cplusplus
}
#endif

#endif /* INC_TASK_H */
