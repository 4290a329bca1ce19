/*
 * system.c - the small system services of the ESP-IDF API double: esp_restart and the restart
 * points of the reset model (esp_double.h), esp_timer_get_time, esp_random, the base MAC, the
 * eFuse secure version, esp_crt_bundle_attach and logging.
 *
 * esp_err_to_name lives in err_names.c; everything here acts on the calling thread's device.
 */
#include "double_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "esp_crt_bundle.h"
#include "esp_efuse.h"
#include "esp_log.h"
#include "esp_mac.h"
#include "esp_random.h"
#include "esp_system.h"
#include "esp_timer.h"

/* ---- restart --------------------------------------------------------------------------------- */

static _Thread_local struct {
    esp_double_device_t *dev;
    bool armed;
    jmp_buf jb;
} tls_restart;

jmp_buf *esp_double_restart_arm_(esp_double_device_t *dev)
{
    tls_restart.dev = dev;
    tls_restart.armed = true;
    return &tls_restart.jb;
}

void esp_double_restart_disarm(void)
{
    tls_restart.armed = false;
    tls_restart.dev = NULL;
}

static void flag_restart(esp_double_device_t *dev)
{
    dev->restart_requested = true;
    pthread_cond_broadcast(&dev->cond);
}

/* A task: flag, then park until the task is deleted or the device powered off. */
_Noreturn static void park(esp_double_device_t *dev, dbl_task_t *t)
{
    dbl_lock();
    flag_restart(dev);
    for (;;) {
        if (dbl_must_stop_locked()) {
            dbl_task_exit_locked(t);
        }
        dbl_wait_locked(dev, DBL_FOREVER);
    }
}

void esp_restart(void)
{
    dbl_checkpoint();
    esp_double_device_t *dev = dbl_dev();
    if (dev == NULL) {
        fprintf(stderr, "esp_double: esp_restart() with no device selected on this thread\n");
        abort();
    }
    esp_double_log(ESP_LOG_INFO, DBL_TAG, "esp_restart()");
    dbl_task_t *t = dbl_task();
    if (t != NULL) {
        park(dev, t);
    }
    if (!tls_restart.armed || tls_restart.dev != dev) {
        fprintf(stderr,
                "esp_double: esp_restart() on device %s from a thread that is not a task and "
                "armed no restart point (ESP_DOUBLE_RESTART_POINT)\n",
                dev->name);
        abort();
    }
    dbl_lock();
    flag_restart(dev);
    dbl_unlock();
    longjmp(tls_restart.jb, 1);
}

/* ---- time, randomness, identity -------------------------------------------------------------- */

int64_t esp_timer_get_time(void)
{
    return dbl_now_us(dbl_dev());
}

uint32_t esp_log_timestamp(void)
{
    return (uint32_t)(dbl_now_us(dbl_dev()) / 1000);
}

static uint32_t host_random(void)
{
    uint32_t v = 0;
    while (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
    }
    return v;
}

/* splitmix64 over an atomic counter: reproducible per device and safe across its tasks. */
static uint32_t seeded_random(esp_double_device_t *dev)
{
    uint64_t z = atomic_fetch_add(&dev->rng, 0x9E3779B97F4A7C15ull) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

uint32_t esp_random(void)
{
    esp_double_device_t *dev = dbl_dev();
    return dev != NULL && dev->rng_seeded ? seeded_random(dev) : host_random();
}

void esp_fill_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        uint32_t v = esp_random();
        size_t n = len < sizeof v ? len : sizeof v;
        memcpy(p, &v, n);
        p += n;
        len -= n;
    }
}

esp_err_t esp_efuse_mac_get_default(uint8_t *mac)
{
    if (mac == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_double_device_t *dev = dbl_dev();
    if (dev == NULL) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "esp_efuse_mac_get_default: no device selected");
        return ESP_ERR_INVALID_STATE;
    }
    memcpy(mac, dev->mac, sizeof dev->mac);
    return ESP_OK;
}

uint32_t esp_efuse_read_secure_version(void)
{
    esp_double_device_t *dev = dbl_dev();
    if (dev == NULL) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "esp_efuse_read_secure_version: no device");
        return 0;
    }
    return esp_double_efuse_secure_version(dev);
}

esp_err_t esp_crt_bundle_attach(void *conf)
{
    (void)conf;
    return ESP_OK;
}

/* ---- logging --------------------------------------------------------------------------------- */

static esp_log_level_t g_level = ESP_LOG_WARN;
static pthread_once_t g_level_once = PTHREAD_ONCE_INIT;

static void read_level(void)
{
    const char *v = getenv("FOTA_ESP_LOG");
    const char *letters = "NEWIDV";
    const char *p = v != NULL && v[0] != '\0' ? strchr(letters, v[0]) : NULL;
    if (p != NULL) {
        g_level = (esp_log_level_t)(p - letters);
    }
}

void esp_double_log(esp_log_level_t level, const char *tag, const char *format, ...)
{
    pthread_once(&g_level_once, read_level);
    if (level == ESP_LOG_NONE || level > g_level) {
        return;
    }
    esp_double_device_t *dev = dbl_dev();
    char line[1024];
    int n = snprintf(line, sizeof line, "%c (%u) [%s] %s: ", "NEWIDV"[level], esp_log_timestamp(),
                     dev != NULL ? dev->name : "-", tag != NULL ? tag : "");
    va_list ap;
    va_start(ap, format);
    if (n > 0 && (size_t)n < sizeof line) {
        vsnprintf(line + n, sizeof line - (size_t)n, format, ap);
    }
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
