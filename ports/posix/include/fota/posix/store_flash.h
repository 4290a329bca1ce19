/*
 * store_flash.h - a journal store for the agent on the emulated flash: a log of records in two
 * sectors of the nvs partition.
 */
#ifndef FOTA_POSIX_STORE_FLASH_H
#define FOTA_POSIX_STORE_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/agent.h"
#include "fota/flash.h"
#include "fota/http.h"
#include "fota/port.h"

/* ---- journal store: a log of records in two flash sectors ---------------------------------
 * Each record: magic "FJS1", seq u32, len u16, zero u16, data[len] padded, CRC-32 u32 of all
 * before it, in a 192-byte slot; a sector holds 21 slots. Load takes the valid record with the
 * highest seq (len 0 marks "cleared"). Save appends to the current sector, and when it is full
 * erases the other sector and starts there. A torn write fails its CRC and the previous record
 * stands; a torn erase only touches the sector not holding the newest record. */
#define FOTA_STORE_SLOT_LEN 192u
#define FOTA_STORE_MAX_DATA (FOTA_STORE_SLOT_LEN - 16u)

typedef struct {
    fota_flash_t flash;
    uint32_t offset; /* two sectors from here */
    bool scanned;
    int cur_sector;     /* sector holding the newest record */
    uint32_t next_slot; /* first free slot in cur_sector */
    uint32_t seq;       /* of the newest record */
    uint64_t saves;     /* records written (for tests and benchmarks) */
} fota_flash_store_t;

/* Store in the two sectors at `offset` (sector aligned) of a region of `size` bytes (at least two
 * sectors; FOTA_ERR_NOT_FOUND otherwise). */
fota_err_t fota_flash_store_init(fota_flash_store_t *s, const fota_flash_t *flash, uint32_t offset,
                                 uint32_t size);
fota_store_t fota_flash_store_port(fota_flash_store_t *s);

#endif /* FOTA_POSIX_STORE_FLASH_H */
