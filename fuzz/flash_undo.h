/*
 * flash_undo.h - an emulated flash (emu/flash_emu, in memory, strict NOR rules) behind a
 * flash port that notes every sector a write or an erase touches, so that a fuzz target can put
 * the flash back as it was before the input, sector by sector, instead of copying megabytes per
 * input. Targets whose code under test writes flash (the bootloader arming or aborting otadata
 * entries, the journal store) stay deterministic: each input starts from the same flash.
 */
#ifndef FOTA_FUZZ_FLASH_UNDO_H
#define FOTA_FUZZ_FLASH_UNDO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/flash.h"
#include "fota/emu/flash_emu.h"

typedef struct {
    fota_flash_emu_t *emu;
    fota_flash_t inner; /* the flash_emu port */
    uint8_t *saved;     /* contents at the last checkpoint */
    uint8_t *dirty;     /* one byte per sector: touched since the checkpoint */
    uint32_t size;
    uint32_t sectors;
} flash_undo_t;

/* An erased in-memory flash of `size` bytes. Aborts on failure. */
void flash_undo_open(flash_undo_t *f, uint32_t size);
/* The port to hand to the code under test (ctx = f). */
fota_flash_t flash_undo_port(flash_undo_t *f);
/* Remember the current contents as the state to go back to. */
void flash_undo_checkpoint(flash_undo_t *f);
/* Power on (if a cut was planned or happened) and put every touched sector back. */
void flash_undo_rollback(flash_undo_t *f);
/* Overwrite [addr, addr + len) with data (erase the sectors it covers first; bytes of those
 * sectors outside the range become 0xFF). Counts as touching them. */
void flash_undo_put(flash_undo_t *f, uint32_t addr, const void *data, size_t len);

/* Make it a device that can boot either slot: the default partition table, otadata erased, a
 * valid 1.0.0 image in ota_0 and a valid 2.0.0 image in ota_1 (fota_device_provision plus the
 * write an update does); then checkpoint. Aborts on failure. */
void flash_undo_provision(flash_undo_t *f);

#endif /* FOTA_FUZZ_FLASH_UNDO_H */
