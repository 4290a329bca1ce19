/*
 * device.h - fota-flash's view of one emulated ESP32: a flash file, its partition table and
 * otadata, and the questions the subcommands ask about them (which slot runs now, what image a
 * partition holds, what the next boot would do).
 */
#ifndef FOTA_TOOLS_DEVICE_H
#define FOTA_TOOLS_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/emu/bootloader.h"
#include "fota/emu/flash_emu.h"
#include "fota/emu/otadata.h"
#include "fota/emu/partition.h"

#define PROG "fota-flash"

typedef struct {
    const char *path;
    fota_flash_emu_t *emu;
    fota_flash_t flash;
    uint16_t chip_id;    /* the device's chip: its bootloader image's (fota_device_chip) */
    bool has_bootloader; /* false: no bootloader image, an ESP32 by default */
    fota_part_table_t table;
    const fota_partition_t *otadata; /* NULL when the table has none */
} device_t;

/* What a partition holds. */
typedef enum { SLOT_IMAGE_VALID, SLOT_IMAGE_EMPTY, SLOT_IMAGE_INVALID } slot_image_t;

/* Open an existing flash file and read and validate its partition table. On failure prints the
 * one-line error and returns the exit code (nothing is left open); 0 on success. */
int device_open(const char *path, device_t *dev);

/* Flush and close; returns rc, or the exit code of a failed flush when rc is 0. */
int device_close(device_t *dev, int rc);

/* The table from a CSV file (NULL: Arduino's default), validated against flash_size. Errors are
 * printed with the CSV line they come from. */
int device_load_table(const char *csv_path, uint32_t flash_size, fota_part_table_t *out);

/* Read both otadata copies; prints the error (FOTA_ERR_OTADATA_PART when there is no otadata). */
int device_read_otadata(const device_t *dev, fota_ota_entry_t e[2]);

/* The partition of ota_<slot>, or factory / test (FOTA_BOOT_SLOT_*); NULL if absent. */
const fota_partition_t *device_slot_partition(const device_t *dev, int slot);
/* The slot number of an app partition (ota_N, FOTA_BOOT_SLOT_FACTORY or _TEST). */
int device_partition_slot(const fota_partition_t *p);
/* "ota_1", "factory", "test". */
const char *slot_name(int slot, char *buf, size_t len);

/* An image for another chip than chip_id: prints "IMG is built for X, the device is Y" and
 * returns the exit code; 0 when the chips agree. */
int device_image_chip(const char *image_path, uint16_t chip_id, const fota_esp_image_info_t *info);

/* Validate the image in partition p as the device's bootloader does (its chip included); err_out
 * says why it is invalid. */
slot_image_t device_slot_image(const device_t *dev, const fota_partition_t *p,
                               fota_esp_image_info_t *info, fota_err_t *err_out);
/* The emulator flags of the image in p (0 if none). */
uint32_t device_slot_emu_flags(const device_t *dev, const fota_partition_t *p);

/* The active otadata entry's slot and state; false when there is no usable entry. */
bool device_active_entry(const device_t *dev, int *slot, uint32_t *state);

/*
 * The slot the device runs now, between two commands: what the last boot chose, kept by otadata.
 * The active entry's slot, unless that entry is NEW (written by an update that has not booted
 * yet: the other copy's then); with no usable entry, or when that slot holds no valid image, the
 * first app partition with a valid image. Fills running->slot, partition, image, ota_state.
 * FOTA_ERR_BOOT_NO_APP when no partition holds a valid image.
 */
fota_err_t device_running(const device_t *dev, fota_boot_info_t *running);

/* Run the bootloader on a copy of the flash in memory: what the next boot would do, leaving the
 * file untouched. */
fota_err_t device_predict_boot(const device_t *dev, fota_boot_info_t *out);

/* Erase partition p and write image into it. Prints the error. */
int device_write_image(const device_t *dev, const fota_partition_t *p, const uint8_t *image,
                       size_t len);

/* `fota-flash show`: the whole report. */
int device_show(const device_t *dev);

#endif /* FOTA_TOOLS_DEVICE_H */
