/*
 * freertos.c - the FreeRTOS part of the ESP-IDF API double: tasks as host threads of an emulated
 * device, task notifications, delays in device ticks, mutexes and binary semaphores; and the
 * cooperative stop that deleting a task or powering its device off relies on (esp_double.h).
 *
 * One scheduler lock guards all of it. Every blocked thread of a device waits on that device's
 * condition variable; anything that could end a wait (a notification, a give, a clock step, a
 * stop) broadcasts it, and each waiter re-checks its own condition and whether it must stop. A
 * stopping task marks itself exited, wakes the device's waiters and leaves with pthread_exit; the
 * thread that deleted it (or the power-off) joins it and frees it. A task that deletes itself
 * becomes a zombie, joined at the next task operation of its device or at power-off.
 */
#include "double_internal.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"

#define US_PER_TICK (1000000 / configTICK_RATE_HZ)
#define TASK_STACK_MIN (1024u * 1024u) /* host code (libcurl, printf, sanitizers) needs more */

struct tskTaskControlBlock {
    dbl_task_t *next;
    esp_double_device_t *dev;
    pthread_t thread;
    TaskFunction_t fn;
    void *arg;
    char name[16];
    uint32_t notify;
    atomic_bool stop; /* deleted, or its device lost power */
    bool exited;      /* its thread has left the task's code for good */
    bool deleting;    /* a vTaskDelete is waiting for it */
    bool zombie;      /* it deleted itself; to be joined */
};

struct QueueDefinition {
    dbl_sem_t *next;
    esp_double_device_t *dev; /* NULL: belongs to no device */
    bool mutex;
    uint32_t count;
    const void *holder; /* mutex: the task or thread that took it */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_nodev_cond; /* waits of threads and semaphores of no device */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Thread_local dbl_task_t *tls_task;
static _Thread_local char tls_self; /* its address names a non-task thread */

static void init_once(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_nodev_cond, &ca);
    pthread_condattr_destroy(&ca);
}

void dbl_lock(void)
{
    pthread_once(&g_once, init_once);
    pthread_mutex_lock(&g_lock);
}

void dbl_unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

dbl_task_t *dbl_task(void)
{
    return tls_task;
}

static const void *self_id(void)
{
    return tls_task != NULL ? (const void *)tls_task : (const void *)&tls_self;
}

static pthread_cond_t *cond_of(esp_double_device_t *dev)
{
    return dev != NULL ? &dev->cond : &g_nodev_cond;
}

/* ---- stopping -------------------------------------------------------------------------------- */

_Noreturn void dbl_task_exit_locked(dbl_task_t *t)
{
    t->exited = true;
    pthread_cond_broadcast(&t->dev->cond);
    dbl_unlock();
    pthread_exit(NULL);
}

bool dbl_must_stop_locked(void)
{
    return tls_task != NULL && atomic_load(&tls_task->stop);
}

void dbl_checkpoint(void)
{
    dbl_task_t *t = tls_task;
    if (t != NULL && atomic_load(&t->stop)) {
        dbl_lock();
        dbl_task_exit_locked(t);
    }
}

bool dbl_is_task_of(esp_double_device_t *dev)
{
    return tls_task != NULL && tls_task->dev == dev;
}

void dbl_timedwait_locked(pthread_cond_t *c, const struct timespec *abs)
{
    pthread_cond_timedwait(c, &g_lock, abs);
}

void dbl_wait_locked(esp_double_device_t *dev, int64_t deadline_us)
{
    pthread_cond_t *c = cond_of(dev);
    if (deadline_us == DBL_FOREVER || (dev != NULL && dev->manual_clock)) {
        pthread_cond_wait(c, &g_lock); /* a manual clock wakes its waiters when it moves */
        return;
    }
    int64_t abs_us = dbl_mono_us() + (deadline_us - dbl_now_us(dev));
    struct timespec ts = {(time_t)(abs_us / 1000000), (long)(abs_us % 1000000) * 1000};
    pthread_cond_timedwait(c, &g_lock, &ts);
}

static int64_t deadline_after(esp_double_device_t *dev, TickType_t ticks)
{
    if (ticks == portMAX_DELAY) {
        return DBL_FOREVER;
    }
    return dbl_now_us(dev) + (int64_t)ticks * US_PER_TICK;
}

static bool past(esp_double_device_t *dev, int64_t deadline)
{
    return deadline != DBL_FOREVER && dbl_now_us(dev) >= deadline;
}

static void unlink_task(dbl_task_t *t)
{
    for (dbl_task_t **pp = &t->dev->tasks; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            return;
        }
    }
}

/* Join and free the tasks of dev that deleted themselves. */
static void reap(esp_double_device_t *dev)
{
    dbl_task_t *dead = NULL;
    dbl_lock();
    for (dbl_task_t **pp = &dev->tasks; *pp != NULL;) {
        dbl_task_t *t = *pp;
        if (t->zombie && t->exited) {
            *pp = t->next;
            t->next = dead;
            dead = t;
        } else {
            pp = &t->next;
        }
    }
    dbl_unlock();
    while (dead != NULL) {
        dbl_task_t *next = dead->next;
        pthread_join(dead->thread, NULL);
        free(dead);
        dead = next;
    }
}

static bool all_exited(const esp_double_device_t *dev)
{
    for (const dbl_task_t *t = dev->tasks; t != NULL; t = t->next) {
        if (!t->exited) {
            return false;
        }
    }
    return true;
}

void dbl_tasks_stop(esp_double_device_t *dev)
{
    dbl_lock();
    for (dbl_task_t *t = dev->tasks; t != NULL; t = t->next) {
        atomic_store(&t->stop, true);
    }
    pthread_cond_broadcast(&dev->cond);
    pthread_cond_broadcast(&g_nodev_cond);
    while (!all_exited(dev)) {
        pthread_cond_wait(&dev->cond, &g_lock);
    }
    dbl_task_t *tasks = dev->tasks;
    dbl_sem_t *sems = dev->sems;
    dev->tasks = NULL;
    dev->sems = NULL;
    dbl_unlock();
    while (tasks != NULL) {
        dbl_task_t *next = tasks->next;
        pthread_join(tasks->thread, NULL);
        free(tasks);
        tasks = next;
    }
    while (sems != NULL) {
        dbl_sem_t *next = sems->next;
        free(sems);
        sems = next;
    }
}

/* ---- tasks ----------------------------------------------------------------------------------- */

static void *task_main(void *arg)
{
    dbl_task_t *t = arg;
    tls_task = t;
    dbl_set_dev(t->dev);
    dbl_checkpoint();
    t->fn(t->arg);
    fprintf(stderr,
            "esp_double: FreeRTOS task \"%s\" returned; tasks must end with vTaskDelete "
            "(ESP-IDF aborts here too)\n",
            t->name);
    abort();
}

static dbl_task_t *new_task(esp_double_device_t *dev, TaskFunction_t fn, const char *name,
                            void *arg)
{
    dbl_task_t *t = calloc(1, sizeof *t);
    if (t != NULL) {
        t->dev = dev;
        t->fn = fn;
        t->arg = arg;
        snprintf(t->name, sizeof t->name, "%s", name != NULL ? name : "");
    }
    return t;
}

/* Link t into its device and start its thread, unless the device is off. */
static bool start_task(dbl_task_t *t, size_t stack)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack);
    bool ok = false;
    dbl_lock();
    if (atomic_load(&t->dev->powered)) {
        t->next = t->dev->tasks;
        t->dev->tasks = t;
        ok = pthread_create(&t->thread, &attr, task_main, t) == 0;
        if (!ok) {
            unlink_task(t);
        }
    }
    dbl_unlock();
    pthread_attr_destroy(&attr);
    return ok;
}

BaseType_t xTaskCreate(TaskFunction_t pxTaskCode, const char *const pcName,
                       const configSTACK_DEPTH_TYPE usStackDepth, void *const pvParameters,
                       UBaseType_t uxPriority, TaskHandle_t *const pxCreatedTask)
{
    (void)uxPriority;
    esp_double_device_t *dev = dbl_running("xTaskCreate");
    if (dev == NULL || pxTaskCode == NULL) {
        return errCOULD_NOT_ALLOCATE_REQUIRED_MEMORY;
    }
    reap(dev);
    dbl_task_t *t = new_task(dev, pxTaskCode, pcName, pvParameters);
    size_t stack = usStackDepth * 4u > TASK_STACK_MIN ? usStackDepth * 4u : TASK_STACK_MIN;
    if (t == NULL || !start_task(t, stack)) {
        free(t);
        return errCOULD_NOT_ALLOCATE_REQUIRED_MEMORY;
    }
    if (pxCreatedTask != NULL) {
        *pxCreatedTask = t;
    }
    return pdPASS;
}

static void delete_self(void)
{
    dbl_task_t *t = tls_task;
    if (t == NULL) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "vTaskDelete(NULL) outside a task: ignored");
        return;
    }
    dbl_lock();
    t->zombie = true;
    dbl_task_exit_locked(t);
}

void vTaskDelete(TaskHandle_t xTaskToDelete)
{
    dbl_task_t *h = xTaskToDelete;
    if (h == NULL || h == tls_task) {
        delete_self();
        return;
    }
    dbl_checkpoint();
    dbl_lock();
    if (h->deleting || h->zombie) {
        dbl_unlock();
        return;
    }
    h->deleting = true;
    atomic_store(&h->stop, true);
    pthread_cond_broadcast(&h->dev->cond);
    pthread_cond_broadcast(&g_nodev_cond);
    while (!h->exited) {
        if (dbl_must_stop_locked()) {
            dbl_task_exit_locked(tls_task); /* h is left to its device's power-off */
        }
        pthread_cond_wait(&h->dev->cond, &g_lock);
    }
    unlink_task(h);
    esp_double_device_t *dev = h->dev;
    dbl_unlock();
    pthread_join(h->thread, NULL);
    free(h);
    reap(dev);
}

void vTaskDelay(const TickType_t xTicksToDelay)
{
    dbl_checkpoint();
    if (xTicksToDelay == 0) {
        sched_yield();
        return;
    }
    esp_double_device_t *dev = dbl_dev();
    dbl_lock();
    int64_t deadline = deadline_after(dev, xTicksToDelay);
    while (!past(dev, deadline)) {
        if (dbl_must_stop_locked()) {
            dbl_task_exit_locked(tls_task);
        }
        dbl_wait_locked(dev, deadline);
    }
    dbl_unlock();
}

TickType_t xTaskGetTickCount(void)
{
    return (TickType_t)(dbl_now_us(dbl_dev()) / US_PER_TICK);
}

BaseType_t xTaskNotifyGive(TaskHandle_t xTaskToNotify)
{
    dbl_checkpoint();
    if (xTaskToNotify == NULL) {
        return pdFAIL;
    }
    dbl_lock();
    xTaskToNotify->notify++;
    pthread_cond_broadcast(&xTaskToNotify->dev->cond);
    dbl_unlock();
    return pdPASS;
}

uint32_t ulTaskNotifyTake(BaseType_t xClearCountOnExit, TickType_t xTicksToWait)
{
    dbl_checkpoint();
    dbl_task_t *t = tls_task;
    if (t == NULL) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "ulTaskNotifyTake outside a task");
        return 0;
    }
    dbl_lock();
    int64_t deadline = deadline_after(t->dev, xTicksToWait);
    for (;;) {
        if (atomic_load(&t->stop)) {
            dbl_task_exit_locked(t);
        }
        if (t->notify > 0) {
            uint32_t v = t->notify;
            t->notify = xClearCountOnExit ? 0 : v - 1;
            dbl_unlock();
            return v;
        }
        if (xTicksToWait == 0 || past(t->dev, deadline)) {
            dbl_unlock();
            return 0;
        }
        dbl_wait_locked(t->dev, deadline);
    }
}

/* ---- semaphores ------------------------------------------------------------------------------ */

static SemaphoreHandle_t new_sem(bool mutex)
{
    dbl_checkpoint();
    dbl_sem_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->mutex = mutex;
    s->count = mutex ? 1 : 0;
    esp_double_device_t *dev = dbl_dev();
    dbl_lock();
    if (dev != NULL && atomic_load(&dev->powered)) {
        s->dev = dev; /* in the device's RAM: gone at its power-off */
        s->next = dev->sems;
        dev->sems = s;
    }
    dbl_unlock();
    return s;
}

SemaphoreHandle_t xSemaphoreCreateMutex(void)
{
    return new_sem(true);
}

SemaphoreHandle_t xSemaphoreCreateBinary(void)
{
    return new_sem(false);
}

BaseType_t xSemaphoreTake(SemaphoreHandle_t xSemaphore, TickType_t xBlockTime)
{
    dbl_checkpoint();
    dbl_sem_t *s = xSemaphore;
    if (s == NULL) {
        return pdFALSE;
    }
    if (tls_task != NULL && s->dev != NULL && s->dev != tls_task->dev) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "xSemaphoreTake: semaphore of another device");
        return pdFALSE;
    }
    dbl_lock();
    int64_t deadline = deadline_after(s->dev, xBlockTime);
    for (;;) {
        if (dbl_must_stop_locked()) {
            dbl_task_exit_locked(tls_task);
        }
        if (s->count > 0) {
            s->count--;
            s->holder = self_id();
            dbl_unlock();
            return pdTRUE;
        }
        if (xBlockTime == 0 || past(s->dev, deadline)) {
            dbl_unlock();
            return pdFALSE;
        }
        dbl_wait_locked(s->dev, deadline);
    }
}

BaseType_t xSemaphoreGive(SemaphoreHandle_t xSemaphore)
{
    dbl_checkpoint();
    dbl_sem_t *s = xSemaphore;
    if (s == NULL) {
        return pdFALSE;
    }
    dbl_lock();
    BaseType_t r = pdFALSE;
    if (s->count == 0 && (!s->mutex || s->holder == self_id())) {
        s->count = 1;
        s->holder = NULL;
        pthread_cond_broadcast(cond_of(s->dev));
        r = pdTRUE;
    }
    bool foreign = s->count == 0 && s->mutex && s->holder != self_id();
    dbl_unlock();
    if (foreign) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "xSemaphoreGive: mutex held by another task");
    }
    return r;
}

void vSemaphoreDelete(SemaphoreHandle_t xSemaphore)
{
    dbl_sem_t *s = xSemaphore;
    if (s == NULL) {
        return;
    }
    dbl_lock();
    if (s->dev != NULL) {
        for (dbl_sem_t **pp = &s->dev->sems; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        }
    }
    dbl_unlock();
    free(s);
}
