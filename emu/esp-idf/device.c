/*
 * device.c - the harness of the ESP-IDF API double (esp_double.h): an emulated ESP32 device with
 * its flash, state file, clock and power; selection of the device per thread; power-on (the
 * emulated bootloader decides what runs) and power-off (the device's RAM is gone: tasks,
 * semaphores, NVS and HTTP handles, partition pointers).
 *
 * The other modules find their device through dbl_dev() (thread-local) and check that it runs
 * with dbl_running(); what each power-on learns (partition table, running partition, app
 * descriptor) lives here until the next power-off.
 */
#include "double_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esp_log.h"
#include "fota/emu/image_build.h"

static _Thread_local esp_double_device_t *tls_dev;

/* ---- threads and time ------------------------------------------------------------------------ */

esp_double_device_t *dbl_dev(void)
{
    return tls_dev;
}

void dbl_set_dev(esp_double_device_t *dev)
{
    tls_dev = dev;
}

void esp_double_select(esp_double_device_t *dev)
{
    tls_dev = dev;
}

esp_double_device_t *esp_double_selected(void)
{
    return tls_dev;
}

int64_t dbl_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t process_t0(void)
{
    static _Atomic int64_t t0;
    int64_t zero = 0;
    int64_t now = dbl_mono_us();
    if (atomic_compare_exchange_strong(&t0, &zero, now)) {
        return now;
    }
    return atomic_load(&t0);
}

int64_t dbl_now_us(esp_double_device_t *dev)
{
    if (dev == NULL) {
        return dbl_mono_us() - process_t0();
    }
    if (dev->manual_clock) {
        return atomic_load(&dev->manual_us);
    }
    return dbl_mono_us() - dev->boot_mono_us;
}

esp_double_device_t *dbl_running(const char *what)
{
    dbl_checkpoint();
    esp_double_device_t *dev = tls_dev;
    if (dev == NULL) {
        if (what != NULL) {
            esp_double_log(ESP_LOG_ERROR, DBL_TAG, "%s: no device selected on this thread", what);
        }
        return NULL;
    }
    if (!atomic_load(&dev->powered)) {
        if (what != NULL) {
            esp_double_log(ESP_LOG_DEBUG, DBL_TAG, "%s: the device is powered off", what);
        }
        return NULL;
    }
    return dev;
}

esp_double_device_t *dbl_begin_io(const char *what, esp_err_t off_err, esp_err_t *err)
{
    esp_double_device_t *dev = dbl_running(what);
    if (dev == NULL) {
        *err = dbl_dev() == NULL ? ESP_ERR_INVALID_STATE : off_err;
        return NULL;
    }
    pthread_mutex_lock(&dev->io);
    if (fota_flash_emu_is_cut(dev->emu)) {
        pthread_mutex_unlock(&dev->io);
        *err = off_err;
        return NULL;
    }
    return dev;
}

esp_err_t dbl_end_io(esp_double_device_t *dev, esp_err_t err)
{
    pthread_mutex_unlock(&dev->io);
    return err;
}

esp_err_t dbl_flash_err(fota_err_t err)
{
    switch (err) {
    case FOTA_OK:
        return ESP_OK;
    case FOTA_ERR_FLASH_BOUNDS:
        return ESP_ERR_INVALID_SIZE;
    case FOTA_ERR_FLASH_ALIGN:
    case FOTA_ERR_ARG:
        return ESP_ERR_INVALID_ARG;
    case FOTA_ERR_FLASH_POWER_CUT:
    case FOTA_ERR_FLASH_NOT_ERASED:
    case FOTA_ERR_FLASH_FILE:
    case FOTA_ERR_IO:
        return ESP_ERR_FLASH_OP_FAIL;
    default:
        return ESP_FAIL;
    }
}

/* ---- open and close -------------------------------------------------------------------------- */

static void seed_rng(esp_double_device_t *d, uint64_t seed)
{
    d->rng_seeded = seed != 0;
    atomic_store(&d->rng, seed);
}

static fota_err_t attach_flash(esp_double_device_t *d, const esp_double_config_t *cfg)
{
    if (cfg->flash != NULL) {
        d->emu = cfg->flash;
    } else {
        fota_err_t err = fota_flash_emu_open(cfg->flash_path, 0, 0, &d->emu);
        if (err != FOTA_OK) {
            return err;
        }
        d->own_emu = true;
    }
    fota_flash_emu_set_strict(d->emu, cfg->strict_nor);
    d->flash = fota_flash_emu_port(d->emu);
    return FOTA_OK;
}

static void init_sync(esp_double_device_t *d)
{
    pthread_mutex_init(&d->io, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cond, &ca);
    pthread_condattr_destroy(&ca);
}

static void free_device(esp_double_device_t *d)
{
    dbl_nvs_store_clear(&d->committed);
    if (d->own_emu && d->emu != NULL) {
        fota_flash_emu_close(d->emu);
    }
    free(d->state_path);
    free(d);
}

fota_err_t esp_double_device_open(const esp_double_config_t *cfg, esp_double_device_t **out)
{
    if (cfg == NULL || out == NULL || (cfg->flash == NULL && cfg->flash_path == NULL)) {
        return FOTA_ERR_ARG;
    }
    esp_double_device_t *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    snprintf(d->name, sizeof d->name, "%s", cfg->name != NULL ? cfg->name : "esp32");
    d->anti_rollback = cfg->anti_rollback;
    d->manual_clock = cfg->manual_clock;
    memcpy(d->mac, cfg->mac, sizeof d->mac);
    d->secure_version = cfg->efuse_secure_version;
    seed_rng(d, cfg->random_seed);
    fota_err_t err = FOTA_OK;
    if (cfg->state_path != NULL && (d->state_path = strdup(cfg->state_path)) == NULL) {
        err = FOTA_ERR_NO_MEM;
    }
    if (err == FOTA_OK) {
        err = attach_flash(d, cfg);
    }
    if (err == FOTA_OK) {
        err = dbl_state_load(d->state_path, &d->committed, &d->secure_version);
    }
    if (err != FOTA_OK) {
        free_device(d);
        return err;
    }
    init_sync(d);
    *out = d;
    return FOTA_OK;
}

void esp_double_device_close(esp_double_device_t *dev)
{
    if (dev == NULL) {
        return;
    }
    esp_double_power_off(dev);
    if (tls_dev == dev) {
        tls_dev = NULL;
    }
    pthread_cond_destroy(&dev->cond);
    pthread_mutex_destroy(&dev->io);
    free_device(dev);
}

/* ---- power ----------------------------------------------------------------------------------- */

static void forget_boot(esp_double_device_t *d)
{
    free(d->parts);
    d->parts = NULL;
    d->nparts = 0;
    d->running = NULL;
}

void esp_double_power_off(esp_double_device_t *dev)
{
    if (dev == NULL) {
        return;
    }
    dbl_lock();
    if (dbl_is_task_of(dev)) {
        dbl_unlock();
        fprintf(stderr, "esp_double: power_off(%s) called from one of its own tasks\n", dev->name);
        abort();
    }
    atomic_store(&dev->powered, false);
    dbl_unlock();
    dbl_tasks_stop(dev);
    dbl_http_power_off(dev);
    pthread_mutex_lock(&dev->io);
    dbl_nvs_power_off(dev);
    forget_boot(dev);
    pthread_mutex_unlock(&dev->io);
}

static fota_err_t build_partitions(esp_double_device_t *d)
{
    d->nparts = d->table.count;
    d->parts = calloc(d->nparts > 0 ? d->nparts : 1, sizeof *d->parts);
    if (d->parts == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    for (size_t i = 0; i < d->nparts; i++) {
        const fota_partition_t *e = &d->table.entries[i];
        esp_partition_t *p = &d->parts[i];
        p->flash_chip = NULL;
        p->type = (esp_partition_type_t)e->type;
        p->subtype = (esp_partition_subtype_t)e->subtype;
        p->address = e->offset;
        p->size = e->size;
        p->erase_size = FOTA_FLASH_SECTOR_SIZE;
        snprintf(p->label, sizeof p->label, "%s", e->label);
        p->encrypted = false;
        p->readonly = (e->flags & FOTA_PART_FLAG_READONLY) != 0;
        if (e->offset == d->boot.partition.offset) {
            d->running = p;
        }
    }
    return d->running != NULL ? FOTA_OK : FOTA_ERR_BOOT_NO_PART;
}

/* The emulated bootloader, then what the app knows from its first instructions on. */
static fota_err_t boot(esp_double_device_t *d)
{
    fota_err_t err = fota_part_table_read(&d->flash, &d->table);
    if (err == FOTA_OK) {
        err = fota_bootloader_run(&d->flash, &d->boot);
    }
    d->bricked = err == FOTA_ERR_BOOT_NO_APP;
    if (err == FOTA_OK) {
        err = build_partitions(d);
    }
    if (err != FOTA_OK) {
        forget_boot(d);
        return err;
    }
    dbl_app_desc_from_image(&d->boot.image.app_desc, &d->app_desc);
    return FOTA_OK;
}

fota_err_t esp_double_power_on(esp_double_device_t *dev, esp_double_boot_t *info)
{
    if (dev == NULL) {
        return FOTA_ERR_ARG;
    }
    esp_double_power_off(dev);
    pthread_mutex_lock(&dev->io);
    fota_flash_emu_power_on(dev->emu);
    dev->boots++;
    dbl_lock();
    dev->restart_requested = false;
    dbl_unlock();
    dev->boot_mono_us = dbl_mono_us();
    atomic_store(&dev->manual_us, 0);
    fota_err_t err = boot(dev);
    atomic_store(&dev->powered, err == FOTA_OK);
    pthread_mutex_unlock(&dev->io);
    if (info != NULL) {
        memset(info, 0, sizeof *info);
        info->err = err;
        info->boot = dev->boot;
        info->boots = dev->boots;
    }
    return err;
}

bool esp_double_is_powered(esp_double_device_t *dev)
{
    return dev != NULL && atomic_load(&dev->powered);
}

bool esp_double_restart_requested(esp_double_device_t *dev)
{
    dbl_lock();
    bool r = dev->restart_requested;
    dbl_unlock();
    return r;
}

bool esp_double_wait_restart(esp_double_device_t *dev, uint32_t timeout_ms)
{
    int64_t deadline = dbl_mono_us() + (int64_t)timeout_ms * 1000;
    struct timespec ts = {(time_t)(deadline / 1000000), (long)(deadline % 1000000) * 1000};
    dbl_lock();
    while (!dev->restart_requested && dbl_mono_us() < deadline) {
        dbl_timedwait_locked(&dev->cond, &ts);
    }
    bool r = dev->restart_requested;
    dbl_unlock();
    return r;
}

bool esp_double_cut(esp_double_device_t *dev)
{
    pthread_mutex_lock(&dev->io);
    bool cut = fota_flash_emu_is_cut(dev->emu);
    pthread_mutex_unlock(&dev->io);
    return cut;
}

fota_flash_emu_t *esp_double_flash(esp_double_device_t *dev)
{
    return dev->emu;
}

const fota_boot_info_t *esp_double_boot_info(esp_double_device_t *dev)
{
    return &dev->boot;
}

static fota_err_t read_running(void *ctx, uint32_t offset, void *buf, size_t len)
{
    esp_double_device_t *d = ctx;
    if (offset > d->running->size || len > d->running->size - offset) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    return fota_flash_read(&d->flash, d->running->address + offset, buf, len);
}

bool esp_double_selftest_passes(esp_double_device_t *dev)
{
    if (!esp_double_is_powered(dev)) {
        return false;
    }
    pthread_mutex_lock(&dev->io);
    uint32_t flags = 0;
    fota_err_t err = fota_image_emu_flags(read_running, dev, &flags);
    pthread_mutex_unlock(&dev->io);
    return err == FOTA_OK && (flags & FOTA_EMU_FLAG_SELFTEST_FAIL) == 0;
}

void esp_double_advance_ms(esp_double_device_t *dev, uint32_t ms)
{
    if (!dev->manual_clock) {
        return;
    }
    atomic_fetch_add(&dev->manual_us, (int64_t)ms * 1000);
    dbl_lock();
    pthread_cond_broadcast(&dev->cond);
    dbl_unlock();
}

uint32_t esp_double_efuse_secure_version(esp_double_device_t *dev)
{
    pthread_mutex_lock(&dev->io);
    uint32_t v = dev->secure_version;
    pthread_mutex_unlock(&dev->io);
    return v;
}
