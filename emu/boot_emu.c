/*
 * boot_emu.c - the agent's boot port on the emulated ESP32, the equivalent of esp_ota_ops on a
 * real one: the update partition is the OTA slot after the running one, switching writes a NEW
 * otadata entry, confirming marks the running entry VALID. Rebooting only raises a flag: the
 * simulation (or test) powers the device off and on, and the emulated bootloader runs again.
 */
#include "fota/emu/boot_emu.h"

#include "fota/emu/otadata.h"

static fota_err_t update_partition(void *ctx, uint32_t *offset, uint32_t *size)
{
    fota_emu_boot_t *b = ctx;
    fota_partition_t part;
    int slot = -1;
    fota_err_t err = fota_ota_next_update_partition(&b->flash, &b->running, &part, &slot);
    if (err != FOTA_OK) {
        return err;
    }
    b->update_slot = slot;
    *offset = part.offset;
    *size = part.size;
    return FOTA_OK;
}

static fota_err_t set_boot(void *ctx)
{
    fota_emu_boot_t *b = ctx;
    if (b->update_slot < 0) {
        uint32_t offset, size;
        fota_err_t err = update_partition(ctx, &offset, &size);
        if (err != FOTA_OK) {
            return err;
        }
    }
    return fota_ota_set_boot_slot(&b->flash, (unsigned)b->update_slot);
}

static fota_err_t running_state(void *ctx, fota_boot_state_t *state)
{
    const fota_emu_boot_t *b = ctx;
    *state = b->running.ota_state == FOTA_OTA_IMG_PENDING_VERIFY ? FOTA_BOOT_STATE_PENDING
                                                                 : FOTA_BOOT_STATE_VALID;
    return FOTA_OK;
}

static fota_err_t confirm(void *ctx)
{
    fota_emu_boot_t *b = ctx;
    fota_err_t err = fota_ota_mark_valid(&b->flash, &b->running);
    if (err == FOTA_OK) {
        b->running.ota_state = FOTA_OTA_IMG_VALID;
    }
    return err;
}

/* The partition the emulated bootloader booted (esp_ota_get_running_partition). */
static fota_err_t running_partition(void *ctx, uint32_t *offset, uint32_t *size)
{
    const fota_emu_boot_t *b = ctx;
    *offset = b->running.partition.offset;
    *size = b->running.partition.size;
    return *size != 0 ? FOTA_OK : FOTA_ERR_BOOT_NO_PART;
}

static fota_err_t reboot(void *ctx)
{
    fota_emu_boot_t *b = ctx;
    b->reboot_requested = true;
    return FOTA_OK;
}

fota_boot_t fota_emu_boot_port(fota_emu_boot_t *b)
{
    b->update_slot = -1;
    fota_boot_t p = {b,       update_partition, set_boot,         running_state,
                     confirm, reboot,           running_partition};
    return p;
}
