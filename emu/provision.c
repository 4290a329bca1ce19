/*
 * provision.c - the factory's part of an emulated device (bootloader.h): a new flash gets its
 * partition table, erased otadata, the second-stage bootloader of its chip and the first app
 * image; and the chip of an existing flash is read back from that bootloader.
 *
 * The flash is the whole emulated device, so the chip is kept where a real ESP32's flash keeps
 * the one thing built for exactly that chip: the bootloader image at the offset the chip's ROM
 * loads it from (0x1000 on the ESP32 and ESP32-S2, 0x2000 on the ESP32-C5 and ESP32-P4, 0x0 on
 * the others), whose header carries the chip id. A flash with no bootloader image there (one
 * provisioned before chips were emulated, or by fota_device_provision) is an ESP32's.
 */
#include "fota/emu/bootloader.h"

#include <stdlib.h>
#include <string.h>

#include "fota/emu/chip.h"
#include "fota/emu/image_build.h"
#include "fota/emu/otadata.h"

static const fota_partition_t *provision_target(const fota_part_table_t *t)
{
    const fota_partition_t *p = fota_part_find(t, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0);
    return p != NULL ? p : fota_part_find(t, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_FACTORY);
}

/* Erase the sectors [offset, offset + len) covers, then write the bytes. */
static fota_err_t write_at(const fota_flash_t *flash, uint32_t offset, const uint8_t *data,
                           size_t len)
{
    if (len == 0) {
        return FOTA_OK;
    }
    uint32_t sector = flash->sector_size;
    uint32_t span = (uint32_t)((len + sector - 1u) / sector * sector);
    fota_err_t err = fota_flash_erase(flash, offset, span);
    if (err != FOTA_OK) {
        return err;
    }
    return fota_flash_write(flash, offset, data, len);
}

/* Everything is checked before the first erase, so a refused provisioning changes nothing. */
static fota_err_t provision_check(const fota_flash_t *flash, const fota_part_table_t *t,
                                  size_t image_len, const fota_partition_t **target)
{
    fota_err_t err = fota_part_table_validate(t, flash->size, NULL, 0);
    if (err != FOTA_OK) {
        return err;
    }
    *target = provision_target(t);
    if (*target == NULL) {
        return FOTA_ERR_BOOT_NO_PART;
    }
    return image_len > (*target)->size ? FOTA_ERR_IMAGE_TOO_BIG : FOTA_OK;
}

/* Table, otadata, the bootloader (boot_len 0: none), the image into ota_0 (or factory). */
static fota_err_t provision(const fota_flash_t *flash, const fota_part_table_t *t,
                            uint32_t boot_offset, const uint8_t *boot, size_t boot_len,
                            const uint8_t *image, size_t image_len)
{
    if (flash == NULL || (image == NULL && image_len > 0) || flash->sector_size == 0) {
        return FOTA_ERR_ARG;
    }
    fota_part_table_t def;
    if (t == NULL) {
        fota_part_table_default(&def);
        t = &def;
    }
    const fota_partition_t *target = NULL;
    fota_err_t err = provision_check(flash, t, image_len, &target);
    if (err == FOTA_OK) {
        err = fota_part_table_write(flash, t);
    }
    const fota_partition_t *otadata =
        fota_part_find(t, FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_OTA);
    if (err == FOTA_OK && otadata != NULL) {
        err = fota_otadata_erase(flash, otadata->offset);
    }
    if (err == FOTA_OK) {
        err = write_at(flash, boot_offset, boot, boot_len);
    }
    return err != FOTA_OK ? err : write_at(flash, target->offset, image, image_len);
}

fota_err_t fota_device_provision(const fota_flash_t *flash, const fota_part_table_t *t,
                                 const uint8_t *image, size_t image_len)
{
    return provision(flash, t, 0, NULL, 0, image, image_len);
}

fota_err_t fota_device_provision_chip(const fota_flash_t *flash, const fota_part_table_t *t,
                                      uint16_t chip_id, const uint8_t *image, size_t image_len)
{
    const fota_emu_chip_t *chip = fota_emu_chip(chip_id);
    if (chip == NULL) {
        return FOTA_ERR_ARG;
    }
    uint8_t *boot = NULL;
    size_t boot_len = 0;
    fota_err_t err = fota_image_build_bootloader(chip_id, &boot, &boot_len);
    if (err == FOTA_OK) {
        err = provision(flash, t, chip->bootloader_offset, boot, boot_len, image, image_len);
    }
    free(boot);
    return err;
}

/* The bootloader header at a chip's offset names that chip. */
static fota_err_t bootloader_of(const fota_flash_t *flash, const fota_emu_chip_t *chip, bool *found)
{
    uint8_t buf[FOTA_ESP_IMAGE_HEADER_LEN];
    fota_esp_image_header_t h;
    *found = false;
    if (chip->bootloader_offset + sizeof buf > flash->size) {
        return FOTA_OK;
    }
    fota_err_t err = fota_flash_read(flash, chip->bootloader_offset, buf, sizeof buf);
    if (err != FOTA_OK) {
        return err;
    }
    *found =
        fota_esp_image_header_parse(buf, sizeof buf, &h) == FOTA_OK && h.chip_id == chip->chip_id;
    return FOTA_OK;
}

fota_err_t fota_device_chip(const fota_flash_t *flash, uint16_t *chip_id, bool *has_bootloader)
{
    if (flash == NULL || chip_id == NULL) {
        return FOTA_ERR_ARG;
    }
    bool found = false;
    fota_err_t err = FOTA_OK;
    *chip_id = FOTA_ESP_CHIP_ID_ESP32;
    for (size_t i = 0; err == FOTA_OK && !found && fota_esp_chip_at(i) != NULL; i++) {
        const fota_emu_chip_t *chip = fota_emu_chip(fota_esp_chip_at(i)->id);
        err = chip != NULL ? bootloader_of(flash, chip, &found) : FOTA_OK;
        if (found) {
            *chip_id = chip->chip_id;
        }
    }
    if (has_bootloader != NULL) {
        *has_bootloader = found;
    }
    return err;
}
