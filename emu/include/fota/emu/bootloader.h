/*
 * bootloader.h - the emulated ESP32 second-stage bootloader and the application-side OTA calls
 * (the esp_ota_ops equivalents), with app rollback enabled.
 *
 * Boot, as ESP-IDF's bootloader_utility does: read the partition table; read otadata; if the
 * active entry is PENDING_VERIFY (the image booted before and never confirmed) mark it ABORTED
 * and select again; if it is NEW mark it PENDING_VERIFY; no usable entry selects factory, else
 * ota_0. Then validate the selected image (fota_esp_image_check); if it fails, try the other app
 * partitions in ESP-IDF's order (downwards from the selected index to factory, then upwards).
 * No valid image anywhere is FOTA_ERR_BOOT_NO_APP: a bricked device, the worst failure.
 *
 * Chips: a bootloader runs on one chip, and an image whose header names another chip is invalid
 * to it (FOTA_ERR_IMAGE_CHIP), as ESP-IDF's bootloader_common_check_chip_validity says; the
 * *_chip functions take the chip, the others are the ESP32's. A device's chip is recorded in its
 * flash by the bootloader image that fota_device_provision_chip writes (provision.c).
 *
 * The "device" side: fota_device_run() boots and then runs the application's self-test: the
 * image's emulator note decides whether the self-test passes; a passing app whose image is
 * PENDING_VERIFY confirms itself (mark valid). A failing one does not, so the next boot rolls
 * back.
 */
#ifndef FOTA_EMU_BOOTLOADER_H
#define FOTA_EMU_BOOTLOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/err.h"
#include "fota/esp_image.h"
#include "fota/flash.h"
#include "fota/emu/partition.h"

#define FOTA_BOOT_SLOT_FACTORY (-1)
#define FOTA_BOOT_SLOT_TEST (-2)

typedef struct {
    int slot;                   /* ota_N booted, or FOTA_BOOT_SLOT_FACTORY / _TEST */
    fota_partition_t partition; /* the partition booted */
    fota_esp_image_info_t image;
    int selected_slot;  /* what otadata selected (before any fall back) */
    uint32_t ota_state; /* state of the booted slot's otadata entry after this boot,
                           FOTA_OTA_IMG_UNDEFINED if none */
    bool fell_back;     /* the booted slot is not the one otadata selected first */
    int aborted_slot;   /* slot whose PENDING_VERIFY entry was aborted now, or -1 */
    int rejected_slots; /* images that failed validation at this boot */
} fota_boot_info_t;

/* Run the bootloader of an ESP32 / of chip_id. FOTA_ERR_BOOT_NO_APP when nothing can boot. */
fota_err_t fota_bootloader_run(const fota_flash_t *flash, fota_boot_info_t *out);
fota_err_t fota_bootloader_run_chip(const fota_flash_t *flash, uint16_t chip_id,
                                    fota_boot_info_t *out);

/* The bootloader's verdict on the image in partition p (info may be NULL): fota_esp_image_check,
 * and FOTA_ERR_IMAGE_CHIP for a well-formed header of another chip. */
fota_err_t fota_boot_check_image(const fota_flash_t *flash, const fota_partition_t *p,
                                 uint16_t chip_id, fota_esp_image_info_t *info);

/* esp_ota_get_next_update_partition: the ota slot after the running one (mod ota count). */
fota_err_t fota_ota_next_update_partition(const fota_flash_t *flash,
                                          const fota_boot_info_t *running, fota_partition_t *out,
                                          int *slot_out);

/* esp_ota_set_boot_partition(ota_<slot>): writes a NEW entry for it. */
fota_err_t fota_ota_set_boot_slot(const fota_flash_t *flash, unsigned slot);

/* esp_ota_mark_app_valid_cancel_rollback: the running slot's PENDING_VERIFY entry becomes
 * VALID (no-op if already VALID). */
fota_err_t fota_ota_mark_valid(const fota_flash_t *flash, const fota_boot_info_t *running);

/* esp_ota_mark_app_invalid_rollback: the running slot's entry becomes INVALID. */
fota_err_t fota_ota_mark_invalid(const fota_flash_t *flash, const fota_boot_info_t *running);

/* Boot and run the emulated application: its self-test result (FOTA_OK or
 * FOTA_ERR_BOOT_SELFTEST); a passing pending image is confirmed. */
fota_err_t fota_device_run(const fota_flash_t *flash, fota_boot_info_t *out);
fota_err_t fota_device_run_chip(const fota_flash_t *flash, uint16_t chip_id, fota_boot_info_t *out);

/* Make a device flash: partition table (t, or the default), otadata erased, `image` written into
 * ota_0 (erasing what it covers). The image's chip is not checked (a test may want a device that
 * cannot boot). */
fota_err_t fota_device_provision(const fota_flash_t *flash, const fota_part_table_t *t,
                                 const uint8_t *image, size_t image_len);

/* The same, and the second-stage bootloader of chip_id (fota_image_build_bootloader) at the
 * chip's bootloader offset, which makes the flash that chip's. FOTA_ERR_ARG for a chip id
 * fota/emu/chip.h does not know. */
fota_err_t fota_device_provision_chip(const fota_flash_t *flash, const fota_part_table_t *t,
                                      uint16_t chip_id, const uint8_t *image, size_t image_len);

/* The chip of a provisioned flash: the one whose bootloader image sits at its bootloader offset;
 * FOTA_ESP_CHIP_ID_ESP32 when there is none (*has_bootloader false; it may be NULL). */
fota_err_t fota_device_chip(const fota_flash_t *flash, uint16_t *chip_id, bool *has_bootloader);

#endif /* FOTA_EMU_BOOTLOADER_H */
