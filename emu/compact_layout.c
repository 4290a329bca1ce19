/*
 * compact_layout.c - the smallest two-slot ESP-IDF partition layout (see compact_layout.h): the
 * Arduino-ESP32 default table with its app slots shrunk to the images and nothing after them.
 */
#include "fota/emu/compact_layout.h"

#include <stdio.h>
#include <string.h>

#define SECTOR 0x1000u
#define APP_ALIGN 0x10000u

static uint32_t round_up(uint32_t v, uint32_t to)
{
    return (v + to - 1u) / to * to;
}

fota_err_t fota_part_table_compact(uint32_t slot_size, fota_part_table_t *out, uint32_t *flash_size)
{
    if (slot_size == 0 || slot_size > FOTA_COMPACT_SLOT_MAX) {
        return FOTA_ERR_RANGE;
    }
    uint32_t slot = round_up(slot_size, SECTOR);
    uint32_t app1 = APP_ALIGN + round_up(slot, APP_ALIGN);
    memset(out, 0, sizeof *out);
    fota_part_add(out, "nvs", FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_NVS, 0x9000u, 0x5000u);
    fota_part_add(out, "otadata", FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_OTA, 0xE000u,
                  0x2000u);
    fota_part_add(out, "app0", FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0, APP_ALIGN, slot);
    fota_part_add(out, "app1", FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0 + 1u, app1, slot);
    *flash_size = app1 + slot;
    return FOTA_OK;
}
