/*
 * chip.h - what the emulator knows of each chip of the ESP32 family beyond its chip id
 * (fota/esp_image.h names the chips): the memory map esptool uses to name an image's segments,
 * where a default ESP-IDF v5.5 app of that chip loads its segments, the chip revision fields
 * ESP-IDF writes into its header, and where the chip's ROM looks for the second-stage
 * bootloader in flash.
 *
 * The memory maps are esptool's (targets/<chip>.py, MEMORY_MAP): ranges may overlap, and a load
 * address gets the name of every range that holds it, in the map's order, as `esptool
 * image_info` prints them ("BYTE_ACCESSIBLE, DRAM"); addresses below 0x10000 are padding.
 */
#ifndef FOTA_EMU_CHIP_H
#define FOTA_EMU_CHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/esp_image.h"

typedef struct {
    uint32_t start; /* [start, end) */
    uint32_t end;
    const char *name;
} fota_emu_mem_range_t;

typedef struct {
    uint16_t chip_id;
    const fota_emu_mem_range_t *map; /* esptool's memory map */
    size_t map_len;
    /* A default app's segments: DROM (starting with the app descriptor) and IROM are mapped from
     * flash at these bases (each keeps its file offset modulo the 64 KB MMU page); DRAM and IRAM
     * load at fixed addresses. flash_shared: instruction and data share one virtual range (the
     * RISC-V chips from the C6 on), where IROM comes first and DROM follows on the next page. */
    uint32_t drom_base;
    uint32_t irom_base;
    bool flash_shared;
    uint32_t dram;
    uint32_t iram;
    uint32_t entry;
    /* The header's revision fields as ESP-IDF v5.5 writes them with its default Kconfig:
     * min_chip_rev_full = CONFIG_ESP_REV_MIN_FULL, max = CONFIG_ESP_REV_MAX_FULL, and the legacy
     * min_chip_rev (the major revision on the ESP32, the minor one on the ESP32-C3, else 0). */
    uint8_t min_rev;
    uint16_t min_rev_full;
    uint16_t max_rev_full;
    uint32_t bootloader_offset; /* where the ROM loads the second-stage bootloader from */
} fota_emu_chip_t;

/* The chip with this id, NULL for an id ESP-IDF v5.5 builds no app for. */
const fota_emu_chip_t *fota_emu_chip(uint16_t chip_id);

/* The memory types of a segment's load address on a chip, as esptool names them: the names of
 * every range of the chip's map that holds addr, joined by ", " into buf (cap bytes, cut if
 * longer); "PADDING" below 0x10000; "?" when no range holds it or the chip is unknown. Returns
 * buf. */
const char *fota_emu_segment_types(uint16_t chip_id, uint32_t addr, char *buf, size_t cap);

#endif /* FOTA_EMU_CHIP_H */
