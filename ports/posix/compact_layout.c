/*
 * compact_layout.c - the smallest two-slot ESP-IDF partition layout (see compact_layout.h): the
 * Arduino-ESP32 default table with its app slots shrunk to the images and nothing after them.
 */
#include "fota/posix/compact_layout.h"

#include <stdio.h>
#include <string.h>

#define SECTOR 0x1000u
#define APP_ALIGN 0x10000u

static uint32_t round_up(uint32_t v, uint32_t to)
{
    return (v + to - 1u) / to * to;
}

static void add(fota_part_table_t *t, const char *label, uint8_t type, uint8_t subtype,
                uint32_t offset, uint32_t size)
{
    fota_partition_t *p = &t->entries[t->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->type = type;
    p->subtype = subtype;
    p->offset = offset;
    p->size = size;
}

fota_err_t fota_part_table_compact(uint32_t slot_size, fota_part_table_t *out, uint32_t *flash_size)
{
    if (slot_size == 0 || slot_size > FOTA_COMPACT_SLOT_MAX) {
        return FOTA_ERR_RANGE;
    }
    uint32_t slot = round_up(slot_size, SECTOR);
    uint32_t app1 = APP_ALIGN + round_up(slot, APP_ALIGN);
    memset(out, 0, sizeof *out);
    add(out, "nvs", FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_NVS, 0x9000u, 0x5000u);
    add(out, "otadata", FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_OTA, 0xE000u, 0x2000u);
    add(out, "app0", FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0, APP_ALIGN, slot);
    add(out, "app1", FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0 + 1u, app1, slot);
    *flash_size = app1 + slot;
    return FOTA_OK;
}
