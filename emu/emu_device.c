/*
 * emu_device.c - one emulated ESP32 running the real agent (see emu_device.h): power-on is
 * bootloader + agent start + the application's self-test of a new image. The configured chip
 * goes to both the bootloader and the agent, as a firmware's CONFIG_IDF_FIRMWARE_CHIP_ID does.
 */
#include "fota/emu/emu_device.h"

#include <string.h>

#include "fota/emu/image_build.h"
#include "fota/emu/otadata.h"

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;
    n = n < cap - 1 ? n : cap - 1;
    memcpy(dst, src != NULL ? src : "", n);
    dst[n] = '\0';
}

fota_err_t fota_emu_device_open(fota_emu_device_t *d, fota_flash_emu_t *emu,
                                const fota_emu_device_config_t *cfg)
{
    if (emu == NULL || cfg->device_id == NULL || cfg->device_key == NULL) {
        return FOTA_ERR_ARG;
    }
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    copy_str(d->device_id, sizeof d->device_id, cfg->device_id);
    copy_str(d->product_id, sizeof d->product_id, cfg->product_id);
    memcpy(d->device_key, cfg->device_key, 32);
    d->emu = emu;
    d->flash = fota_flash_emu_port(emu);
    d->clock.rng = 0x5eed0000u ^ (uint64_t)strlen(d->device_id) * 7919u;
    for (const char *p = d->device_id; *p != '\0'; p++) {
        d->clock.rng = d->clock.rng * 131u + (uint8_t)*p;
    }
    return FOTA_OK;
}

void fota_emu_device_close(fota_emu_device_t *d)
{
    if (d->agent_up) {
        fota_agent_deinit(&d->agent);
        d->agent_up = false;
    }
}

void fota_emu_device_power_off(fota_emu_device_t *d)
{
    fota_flash_emu_plan_cut(d->emu, 0, FOTA_CUT_BEFORE, 0);
}

static fota_err_t start_agent(fota_emu_device_t *d)
{
    const fota_emu_device_config_t *c = &d->cfg;
    fota_agent_config_t ac = {0};
    ac.device_id = d->device_id;
    ac.device_key = d->device_key;
    ac.product_id = d->product_id;
    ac.current_version = d->version;
    ac.security_floor = c->security_floor;
    ac.release_key = c->release_key;
    ac.release_key_len = c->release_key_len;
    ac.mode = c->mode;
    ac.check_interval_ms = c->check_interval_ms;
    ac.retry_ms = c->retry_ms;
    ac.range_records = c->range_records;
    ac.progress_every = c->progress_every;
    ac.chunk_interval_ms = c->chunk_interval_ms;
    ac.chip_id = c->chip_id;
    ac.on_event = c->on_event;
    ac.hook_ctx = c->event_ctx;
    fota_ports_t p;
    p.flash = d->flash;
    p.boot = fota_emu_boot_port(&d->boot);
    p.store = fota_flash_store_port(&d->store);
    p.clock = c->real_clock ? fota_posix_clock() : fota_manual_clock_port(&d->clock);
    fota_err_t err = fota_agent_init(&d->agent, &ac, &p);
    d->agent_up = err == FOTA_OK;
    return err;
}

fota_err_t fota_emu_store_init(fota_flash_store_t *s, const fota_flash_t *flash,
                               const fota_part_table_t *t)
{
    const fota_partition_t *nvs =
        fota_part_find(t, FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_NVS);
    return nvs == NULL ? FOTA_ERR_NOT_FOUND
                       : fota_flash_store_init(s, flash, nvs->offset, nvs->size);
}

static fota_err_t boot(fota_emu_device_t *d)
{
    fota_err_t err = fota_part_table_read(&d->flash, &d->table);
    if (err == FOTA_OK) {
        err = fota_emu_store_init(&d->store, &d->flash, &d->table);
    }
    if (err != FOTA_OK) {
        return err;
    }
    memset(&d->boot, 0, sizeof d->boot);
    d->boot.flash = d->flash;
    err = fota_bootloader_run_chip(&d->flash, d->cfg.chip_id, &d->boot.running);
    d->bricked = err == FOTA_ERR_BOOT_NO_APP;
    if (err == FOTA_OK) {
        copy_str(d->version, sizeof d->version, d->boot.running.image.app_desc.version);
    }
    return err;
}

static fota_err_t image_flags(fota_emu_device_t *d, uint32_t *flags);

fota_err_t fota_emu_device_power_on(fota_emu_device_t *d, bool *reboot_needed)
{
    *reboot_needed = false;
    d->selftest_failed = false;
    fota_emu_device_close(d);
    fota_flash_emu_power_on(d->emu);
    d->boots++;
    fota_err_t err = boot(d);
    if (err == FOTA_OK) {
        err = start_agent(d);
    }
    if (err != FOTA_OK || d->boot.running.ota_state != FOTA_OTA_IMG_PENDING_VERIFY) {
        return err;
    }
    uint32_t flags = 0;
    err = image_flags(d, &flags);
    if (err != FOTA_OK) {
        return err;
    }
    bool fails =
        d->cfg.selftest_fails != NULL && d->cfg.selftest_fails(d->cfg.selftest_ctx, d->version);
    if ((flags & FOTA_EMU_FLAG_SELFTEST_FAIL) || fails) {
        d->selftest_failed = true;
        *reboot_needed = true; /* the new firmware does not come up: the watchdog resets it */
        return FOTA_OK;
    }
    return fota_agent_confirm(&d->agent);
}

static fota_err_t read_running(void *ctx, uint32_t offset, void *buf, size_t len)
{
    fota_emu_device_t *d = ctx;
    return fota_flash_read(&d->flash, d->boot.running.partition.offset + offset, buf, len);
}

static fota_err_t image_flags(fota_emu_device_t *d, uint32_t *flags)
{
    return fota_image_emu_flags(read_running, d, flags);
}
