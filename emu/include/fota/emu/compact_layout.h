/*
 * compact_layout.h - the smallest ESP-IDF partition layout that holds two OTA slots of a given
 * size: what a simulated fleet uses so that each device's in-memory flash is sized to the images
 * it runs rather than to a 4 MB chip (fota-sim, the power-cut tests).
 *
 *   0x0000  bootloader area (unused by the emulator), partition table at 0x8000
 *   0x9000  nvs      data/nvs   0x5000  (the agent's journal lives in its first two sectors)
 *   0xe000  otadata  data/ota   0x2000
 *   0x10000 app0     app/ota_0  slot
 *   next 64 KB boundary: app1 app/ota_1 slot; the flash ends where app1 ends.
 *
 * Same partitions, labels and order as Arduino-ESP32's default table, minus spiffs and coredump,
 * so the emulated bootloader and the agent see nothing unusual. For a 64 KB slot the flash is
 * 192 KB instead of 4 MB.
 */
#ifndef FOTA_EMU_COMPACT_LAYOUT_H
#define FOTA_EMU_COMPACT_LAYOUT_H

#include <stdint.h>

#include "fota/err.h"
#include "fota/emu/partition.h"

/* Largest slot the compact layout offers: two of them fit a 16 MB flash. */
#define FOTA_COMPACT_SLOT_MAX (0x7F0000u)

/*
 * Fill *out with the layout for slots of slot_size bytes (rounded up to 4 KB) and set
 * *flash_size to the flash it needs (a multiple of 4 KB). FOTA_ERR_RANGE if slot_size is 0 or
 * above FOTA_COMPACT_SLOT_MAX. The table passes fota_part_table_validate() for that flash size.
 */
fota_err_t fota_part_table_compact(uint32_t slot_size, fota_part_table_t *out,
                                   uint32_t *flash_size);

#endif /* FOTA_EMU_COMPACT_LAYOUT_H */
