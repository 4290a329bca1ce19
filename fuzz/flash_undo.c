/*
 * flash_undo.c - a flash port that remembers which sectors changed and puts them back
 * (flash_undo.h). The real NOR rules and power-cut injection stay those of emu/flash_emu:
 * this port only forwards and takes notes.
 */
#include "flash_undo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/emu/bootloader.h"
#include "fota/emu/image_build.h"
#include "fota/emu/partition.h"

static void fail(const char *what, fota_err_t err)
{
    fprintf(stderr, "flash_undo: %s failed: %s\n", what, fota_err_name(err));
    abort();
}

static void touch(flash_undo_t *f, uint32_t addr, size_t len)
{
    uint64_t end = (uint64_t)addr + len;
    if (len == 0 || addr >= f->size) {
        return;
    }
    end = end > f->size ? f->size : end;
    for (uint64_t s = addr / FOTA_FLASH_SECTOR_SIZE; s * FOTA_FLASH_SECTOR_SIZE < end; s++) {
        f->dirty[s] = 1;
    }
}

static fota_err_t undo_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    flash_undo_t *f = ctx;
    return f->inner.read(f->inner.ctx, addr, buf, len);
}

static fota_err_t undo_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    flash_undo_t *f = ctx;
    touch(f, addr, len);
    return f->inner.write(f->inner.ctx, addr, buf, len);
}

static fota_err_t undo_erase(void *ctx, uint32_t addr, uint32_t len)
{
    flash_undo_t *f = ctx;
    touch(f, addr, len);
    return f->inner.erase(f->inner.ctx, addr, len);
}

void flash_undo_open(flash_undo_t *f, uint32_t size)
{
    memset(f, 0, sizeof *f);
    fota_err_t err = fota_flash_emu_open(NULL, size, FOTA_FLASH_EMU_STRICT, &f->emu);
    if (err != FOTA_OK) {
        fail("opening the flash", err);
    }
    f->inner = fota_flash_emu_port(f->emu);
    f->size = size;
    f->sectors = size / FOTA_FLASH_SECTOR_SIZE;
    f->saved = malloc(size);
    f->dirty = calloc(f->sectors, 1);
    if (f->saved == NULL || f->dirty == NULL) {
        fail("allocating", FOTA_ERR_NO_MEM);
    }
    memset(f->saved, 0xFF, size);
}

fota_flash_t flash_undo_port(flash_undo_t *f)
{
    fota_flash_t p = f->inner;
    p.ctx = f;
    p.read = undo_read;
    p.write = undo_write;
    p.erase = undo_erase;
    return p;
}

void flash_undo_checkpoint(flash_undo_t *f)
{
    fota_flash_emu_cancel_cut(f->emu);
    fota_flash_emu_power_on(f->emu);
    fota_err_t err = fota_flash_emu_read(f->emu, 0, f->saved, f->size);
    if (err != FOTA_OK) {
        fail("reading the flash", err);
    }
    memset(f->dirty, 0, f->sectors);
}

void flash_undo_rollback(flash_undo_t *f)
{
    fota_flash_emu_cancel_cut(f->emu);
    fota_flash_emu_power_on(f->emu);
    for (uint32_t s = 0; s < f->sectors; s++) {
        if (!f->dirty[s]) {
            continue;
        }
        uint32_t at = s * FOTA_FLASH_SECTOR_SIZE;
        fota_err_t err = fota_flash_emu_erase(f->emu, at, FOTA_FLASH_SECTOR_SIZE);
        if (err == FOTA_OK) {
            err = fota_flash_emu_write(f->emu, at, f->saved + at, FOTA_FLASH_SECTOR_SIZE);
        }
        if (err != FOTA_OK) {
            fail("restoring a sector", err);
        }
        f->dirty[s] = 0;
    }
}

void flash_undo_put(flash_undo_t *f, uint32_t addr, const void *data, size_t len)
{
    if (len == 0) {
        return;
    }
    uint32_t first = addr / FOTA_FLASH_SECTOR_SIZE * FOTA_FLASH_SECTOR_SIZE;
    uint32_t end = (uint32_t)((addr + len + FOTA_FLASH_SECTOR_SIZE - 1) / FOTA_FLASH_SECTOR_SIZE *
                              FOTA_FLASH_SECTOR_SIZE);
    touch(f, addr, len);
    fota_err_t err = fota_flash_emu_erase(f->emu, first, end - first);
    if (err == FOTA_OK) {
        err = fota_flash_emu_write(f->emu, addr, data, len);
    }
    if (err != FOTA_OK) {
        fail("putting data", err);
    }
}

static void put_image(flash_undo_t *f, const char *version, uint32_t offset, bool provision)
{
    fota_image_spec_t spec = {0};
    spec.version = version;
    spec.project_name = "inverter-fw";
    spec.size = 4096u;
    uint8_t *img = NULL;
    size_t len = 0;
    fota_err_t err = fota_image_build(&spec, &img, &len);
    if (err == FOTA_OK && provision) {
        fota_flash_t port = flash_undo_port(f);
        err = fota_device_provision(&port, NULL, img, len);
    } else if (err == FOTA_OK) {
        flash_undo_put(f, offset, img, len);
    }
    free(img);
    if (err != FOTA_OK) {
        fail("provisioning", err);
    }
}

void flash_undo_provision(flash_undo_t *f)
{
    fota_part_table_t t;
    fota_part_table_default(&t);
    const fota_partition_t *ota1 =
        fota_part_find(&t, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0 + 1u);
    put_image(f, "1.0.0", 0, true);
    put_image(f, "2.0.0", ota1->offset, false);
    flash_undo_checkpoint(f);
}
