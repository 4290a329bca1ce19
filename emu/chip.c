/*
 * chip.c - the emulator's table of the ESP32 family (chip.h): esptool's memory map of each chip,
 * the load addresses of a default ESP-IDF app, the revision fields ESP-IDF v5.5 writes, and the
 * bootloader's flash offset.
 *
 * Sources (facts, not code): esptool's targets/<chip>.py (MEMORY_MAP, IROM_MAP_START,
 * DROM_MAP_START, BOOTLOADER_FLASH_OFFSET); ESP-IDF v5.5's Kconfig.hw_support of each chip
 * (ESP_REV_MIN_FULL and ESP_REV_MAX_FULL defaults) and esptool_py's project_include.cmake (the
 * legacy min_chip_rev: major revision on the ESP32, minor on the ESP32-C3). IRAM starts where
 * the internal RAM a default app uses begins on each chip (after the cache the ROM reserves);
 * DRAM lies past the data-bus alias of the largest IRAM segment image_build.c makes (64 KB),
 * since on the chips where one SRAM has both an instruction and a data address the two segments
 * must not land on the same bytes.
 */
#include "fota/emu/chip.h"

#include <stdio.h>
#include <string.h>

#define PADDING_END 0x10000u /* esptool: every map starts with [0, 0x10000) PADDING */

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const fota_emu_mem_range_t map_esp32[] = {
    {0x3F400000u, 0x3F800000u, "DROM"},       {0x3F800000u, 0x3FC00000u, "EXTRAM_DATA"},
    {0x3FF80000u, 0x3FF82000u, "RTC_DRAM"},   {0x3FF90000u, 0x40000000u, "BYTE_ACCESSIBLE"},
    {0x3FFAE000u, 0x40000000u, "DRAM"},       {0x3FFE0000u, 0x3FFFFFFCu, "DIRAM_DRAM"},
    {0x40000000u, 0x40070000u, "IROM"},       {0x40070000u, 0x40078000u, "CACHE_PRO"},
    {0x40078000u, 0x40080000u, "CACHE_APP"},  {0x40080000u, 0x400A0000u, "IRAM"},
    {0x400A0000u, 0x400BFFFCu, "DIRAM_IRAM"}, {0x400C0000u, 0x400C2000u, "RTC_IRAM"},
    {0x400D0000u, 0x40400000u, "IROM"},       {0x50000000u, 0x50002000u, "RTC_DATA"},
};

static const fota_emu_mem_range_t map_esp32s2[] = {
    {0x3F000000u, 0x3FF80000u, "DROM"},         {0x3F500000u, 0x3FF80000u, "EXTRAM_DATA"},
    {0x3FF9E000u, 0x3FFA0000u, "RTC_DRAM"},     {0x3FF9E000u, 0x40000000u, "BYTE_ACCESSIBLE"},
    {0x3FF9E000u, 0x40072000u, "MEM_INTERNAL"}, {0x3FFB0000u, 0x40000000u, "DRAM"},
    {0x40000000u, 0x4001A100u, "IROM_MASK"},    {0x40020000u, 0x40070000u, "IRAM"},
    {0x40070000u, 0x40072000u, "RTC_IRAM"},     {0x40080000u, 0x40800000u, "IROM"},
    {0x50000000u, 0x50002000u, "RTC_DATA"},
};

static const fota_emu_mem_range_t map_esp32s3[] = {
    {0x3C000000u, 0x3D000000u, "DROM"},         {0x3D000000u, 0x3E000000u, "EXTRAM_DATA"},
    {0x600FE000u, 0x60100000u, "RTC_DRAM"},     {0x3FC88000u, 0x3FD00000u, "BYTE_ACCESSIBLE"},
    {0x3FC88000u, 0x403E2000u, "MEM_INTERNAL"}, {0x3FC88000u, 0x3FD00000u, "DRAM"},
    {0x40000000u, 0x4001A100u, "IROM_MASK"},    {0x40370000u, 0x403E0000u, "IRAM"},
    {0x600FE000u, 0x60100000u, "RTC_IRAM"},     {0x42000000u, 0x42800000u, "IROM"},
    {0x50000000u, 0x50002000u, "RTC_DATA"},
};

static const fota_emu_mem_range_t map_esp32c2[] = {
    {0x3C000000u, 0x3C400000u, "DROM"},
    {0x3FCA0000u, 0x3FCE0000u, "DRAM"},
    {0x3FC88000u, 0x3FD00000u, "BYTE_ACCESSIBLE"},
    {0x3FF00000u, 0x3FF50000u, "DROM_MASK"},
    {0x40000000u, 0x40090000u, "IROM_MASK"},
    {0x42000000u, 0x42400000u, "IROM"},
    {0x4037C000u, 0x403C0000u, "IRAM"},
};

static const fota_emu_mem_range_t map_esp32c3[] = {
    {0x3C000000u, 0x3C800000u, "DROM"},
    {0x3FC80000u, 0x3FCE0000u, "DRAM"},
    {0x3FC88000u, 0x3FD00000u, "BYTE_ACCESSIBLE"},
    {0x3FF00000u, 0x3FF20000u, "DROM_MASK"},
    {0x40000000u, 0x40060000u, "IROM_MASK"},
    {0x42000000u, 0x42800000u, "IROM"},
    {0x4037C000u, 0x403E0000u, "IRAM"},
    {0x50000000u, 0x50002000u, "RTC_IRAM"},
    {0x50000000u, 0x50002000u, "RTC_DRAM"},
    {0x600FE000u, 0x60100000u, "MEM_INTERNAL2"},
};

/* The ESP32-C6's, which the ESP32-H2 shares in esptool. */
static const fota_emu_mem_range_t map_esp32c6[] = {
    {0x42000000u, 0x43000000u, "DROM"},
    {0x40800000u, 0x40880000u, "DRAM"},
    {0x40800000u, 0x40880000u, "BYTE_ACCESSIBLE"},
    {0x4004AC00u, 0x40050000u, "DROM_MASK"},
    {0x40000000u, 0x4004AC00u, "IROM_MASK"},
    {0x42000000u, 0x43000000u, "IROM"},
    {0x40800000u, 0x40880000u, "IRAM"},
    {0x50000000u, 0x50004000u, "RTC_IRAM"},
    {0x50000000u, 0x50004000u, "RTC_DRAM"},
    {0x600FE000u, 0x60100000u, "MEM_INTERNAL2"},
};

static const fota_emu_mem_range_t map_esp32c5[] = {
    {0x42000000u, 0x44000000u, "DROM"},
    {0x40800000u, 0x40860000u, "DRAM"},
    {0x40800000u, 0x40860000u, "BYTE_ACCESSIBLE"},
    {0x4003A000u, 0x40040000u, "DROM_MASK"},
    {0x40000000u, 0x4003A000u, "IROM_MASK"},
    {0x42000000u, 0x44000000u, "IROM"},
    {0x40800000u, 0x40860000u, "IRAM"},
    {0x50000000u, 0x50004000u, "RTC_IRAM"},
    {0x50000000u, 0x50004000u, "RTC_DRAM"},
    {0x600FE000u, 0x60100000u, "MEM_INTERNAL2"},
};

static const fota_emu_mem_range_t map_esp32c61[] = {
    {0x42000000u, 0x44000000u, "DROM"},
    {0x40800000u, 0x40860000u, "DRAM"},
    {0x40800000u, 0x40860000u, "BYTE_ACCESSIBLE"},
    {0x4004AC00u, 0x40050000u, "DROM_MASK"},
    {0x40000000u, 0x4004AC00u, "IROM_MASK"},
    {0x42000000u, 0x44000000u, "IROM"},
    {0x40800000u, 0x40860000u, "IRAM"},
    {0x50000000u, 0x50004000u, "RTC_IRAM"},
    {0x50000000u, 0x50004000u, "RTC_DRAM"},
    {0x600FE000u, 0x60100000u, "MEM_INTERNAL2"},
};

static const fota_emu_mem_range_t map_esp32p4[] = {
    {0x40000000u, 0x4C000000u, "DROM"},
    {0x4FF00000u, 0x4FFA0000u, "DRAM"},
    {0x4FF00000u, 0x4FFA0000u, "BYTE_ACCESSIBLE"},
    {0x4FC00000u, 0x4FC20000u, "DROM_MASK"},
    {0x4FC00000u, 0x4FC20000u, "IROM_MASK"},
    {0x40000000u, 0x4C000000u, "IROM"},
    {0x4FF00000u, 0x4FFA0000u, "IRAM"},
    {0x50108000u, 0x50110000u, "RTC_IRAM"},
    {0x50108000u, 0x50110000u, "RTC_DRAM"},
    {0x600FE000u, 0x60100000u, "MEM_INTERNAL2"},
};

#define MAP(m) m, N(m)

/* chip, map, drom, irom, shared, dram, iram, entry, min_rev, min_full, max_full, bootloader */
static const fota_emu_chip_t chips[] = {
    {FOTA_ESP_CHIP_ID_ESP32, MAP(map_esp32), 0x3F400000u, 0x400D0000u, false, 0x3FFB0000u,
     0x40080000u, 0x40081000u, 0, 0, 399, 0x1000u},
    {FOTA_ESP_CHIP_ID_ESP32S2, MAP(map_esp32s2), 0x3F000000u, 0x40080000u, false, 0x3FFC8000u,
     0x40024000u, 0x40024400u, 0, 0, 199, 0x1000u},
    {FOTA_ESP_CHIP_ID_ESP32C3, MAP(map_esp32c3), 0x3C000000u, 0x42000000u, false, 0x3FC98000u,
     0x40380000u, 0x40380400u, 3, 3, 199, 0x0u},
    {FOTA_ESP_CHIP_ID_ESP32S3, MAP(map_esp32s3), 0x3C000000u, 0x42000000u, false, 0x3FCA0000u,
     0x40374000u, 0x40374400u, 0, 0, 99, 0x0u},
    {FOTA_ESP_CHIP_ID_ESP32C2, MAP(map_esp32c2), 0x3C000000u, 0x42000000u, false, 0x3FCB0000u,
     0x40380000u, 0x40380400u, 0, 100, 299, 0x0u},
    {FOTA_ESP_CHIP_ID_ESP32C6, MAP(map_esp32c6), 0x42000000u, 0x42000000u, true, 0x40820000u,
     0x40800000u, 0x40800400u, 0, 0, 99, 0x0u},
    {FOTA_ESP_CHIP_ID_ESP32H2, MAP(map_esp32c6), 0x42000000u, 0x42000000u, true, 0x40820000u,
     0x40800000u, 0x40800400u, 0, 0, 199, 0x0u},
    {FOTA_ESP_CHIP_ID_ESP32P4, MAP(map_esp32p4), 0x40000000u, 0x40000000u, true, 0x4FF20000u,
     0x4FF00000u, 0x4FF00400u, 0, 301, 399, 0x2000u},
    {FOTA_ESP_CHIP_ID_ESP32C61, MAP(map_esp32c61), 0x42000000u, 0x42000000u, true, 0x40820000u,
     0x40800000u, 0x40800400u, 0, 100, 199, 0x0u},
    {FOTA_ESP_CHIP_ID_ESP32C5, MAP(map_esp32c5), 0x42000000u, 0x42000000u, true, 0x40820000u,
     0x40800000u, 0x40800400u, 0, 100, 199, 0x2000u},
};

const fota_emu_chip_t *fota_emu_chip(uint16_t chip_id)
{
    for (size_t i = 0; i < N(chips); i++) {
        if (chips[i].chip_id == chip_id) {
            return &chips[i];
        }
    }
    return NULL;
}

/* Append ", name" (or name first) to buf, cutting at cap. */
static void append(char *buf, size_t cap, const char *name)
{
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "%s%s", used > 0 ? ", " : "", name);
}

const char *fota_emu_segment_types(uint16_t chip_id, uint32_t addr, char *buf, size_t cap)
{
    if (buf == NULL || cap == 0) {
        return "";
    }
    buf[0] = '\0';
    const fota_emu_chip_t *c = fota_emu_chip(chip_id);
    if (addr < PADDING_END) {
        append(buf, cap, "PADDING");
    }
    for (size_t i = 0; c != NULL && i < c->map_len; i++) {
        if (addr >= c->map[i].start && addr < c->map[i].end) {
            append(buf, cap, c->map[i].name);
        }
    }
    if (buf[0] == '\0') {
        append(buf, cap, "?");
    }
    return buf;
}
