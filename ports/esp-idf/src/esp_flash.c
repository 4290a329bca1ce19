/*
 * esp_flash.c - the agent's flash port on ESP-IDF: esp_partition_read/write/erase_range on the
 * update partition only, and reads of the running partition (the source of a delta patch) in a
 * build with delta updates (FOTA_CONFIG_DELTA).
 *
 * The agent speaks absolute flash offsets (it learns the slot from the boot port); this port
 * turns them into offsets inside the update partition and refuses anything outside it, so no
 * bug and no hostile input can make the agent touch the running image, the bootloader or the
 * partition table. Reads of the running partition are let through where delta updates are built
 * in (a delta patch is applied to the running image); writes and erases there are refused like
 * any other. esp_partition_write, like the NOR flash under it, only clears bits; the agent erases
 * each sector just before its first write, which is what makes a download resumable sector by
 * sector (esp_ota_begin would erase the whole slot up front and esp_ota_end would forget it all
 * after a reset).
 */
#include "fota_esp_internal.h"

#include "esp_log.h"

/* The part of [addr, addr + len) inside the update partition, as an offset into it. */
static fota_err_t to_offset(const fota_esp_t *h, uint32_t addr, size_t len, size_t *offset)
{
    const esp_partition_t *p = h->update;
    if (p == NULL) {
        return FOTA_ERR_BOOT_NO_PART;
    }
    if (addr < p->address || len > p->size || addr - p->address > p->size - len) {
        ESP_LOGE(FOTA_ESP_TAG, "flash access 0x%lx+%lu outside the update partition",
                 (unsigned long)addr, (unsigned long)len);
        return FOTA_ERR_FLASH_BOUNDS;
    }
    *offset = addr - p->address;
    return FOTA_OK;
}

/* Inside the running partition: a delta patch's source, which the agent only reads (a build
 * without delta updates reads the update partition only). */
static bool in_running(const fota_esp_t *h, uint32_t addr, size_t len)
{
    const esp_partition_t *p = h->running;
    return FOTA_CONFIG_DELTA && p != NULL && addr >= p->address && len <= p->size &&
           addr - p->address <= p->size - len;
}

static fota_err_t flash_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    fota_esp_t *h = ctx;
    if (in_running(h, addr, len)) {
        return fota_esp_err_from_esp(
            esp_partition_read(h->running, addr - h->running->address, buf, len));
    }
    size_t off;
    fota_err_t err = to_offset(h, addr, len, &off);
    return err != FOTA_OK ? err
                          : fota_esp_err_from_esp(esp_partition_read(h->update, off, buf, len));
}

static fota_err_t flash_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    fota_esp_t *h = ctx;
    size_t off;
    fota_err_t err = to_offset(h, addr, len, &off);
    return err != FOTA_OK ? err
                          : fota_esp_err_from_esp(esp_partition_write(h->update, off, buf, len));
}

static fota_err_t flash_erase(void *ctx, uint32_t addr, uint32_t len)
{
    fota_esp_t *h = ctx;
    size_t off;
    fota_err_t err = to_offset(h, addr, len, &off);
    return err != FOTA_OK ? err
                          : fota_esp_err_from_esp(esp_partition_erase_range(h->update, off, len));
}

fota_flash_t fota_esp_flash_port(fota_esp_t *h)
{
    fota_flash_t f = {
        .ctx = h,
        .read = flash_read,
        .write = flash_write,
        .erase = flash_erase,
        .size = h->update->address + h->update->size,
        .sector_size = h->update->erase_size,
    };
    return f;
}
