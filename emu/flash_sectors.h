/*
 * flash_sectors.h - where the bytes of an emulated flash live (internal to emu/: flash_emu.c is its
 * only user; the public face is fota/emu/flash_emu.h).
 *
 * A flash is a table of 4 KB sectors. A sector is either
 *   - erased: no memory at all (its pointer is NULL; it reads as 0xFF),
 *   - shared: it points into a template (fota_flash_template_t), read-only, the same memory for
 *     every flash opened from that template,
 *   - its own: memory only this flash writes.
 * A flash over one block (an in-memory flash, or a file's mapping) has every sector its own, in
 * place, from the start. A flash opened from a template starts with every sector erased or
 * shared, and gets its own copy of a sector when it first writes it (copy-on-write); an erase
 * drops the copy (or the share) and leaves the sector erased without memory. NOR rules, counters
 * and power cuts are flash_emu.c's: this file only stores bytes.
 */
#ifndef FOTA_EMU_FLASH_SECTORS_H
#define FOTA_EMU_FLASH_SECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/emu/flash_emu.h"

typedef struct {
    uint8_t **sec; /* n sectors; NULL: erased, no memory */
    uint8_t *own;  /* copy-on-write only: 1 = sec[i] is this flash's own copy (heap) */
    uint32_t n;
    fota_flash_template_t *tmpl; /* NULL: every sector is in place in one block */
    uint8_t *spare;              /* a sector set aside for a torn erase (copy-on-write) */
    uint32_t owned;              /* own copies held (copy-on-write) */
} flash_sectors_t;

/* Every sector in place in `block` (size bytes, which the caller owns and frees). */
fota_err_t flash_sectors_init_block(flash_sectors_t *st, uint8_t *block, uint32_t size);
/* Every sector erased or shared with t (copy-on-write). */
fota_err_t flash_sectors_init_shared(flash_sectors_t *st, fota_flash_template_t *t);
void flash_sectors_free(flash_sectors_t *st);

void flash_sectors_read(const flash_sectors_t *st, uint32_t addr, void *buf, size_t len);
/* The first byte of [addr, addr + len) whose bits `src` would have to set (old & new != new):
 * true and its offset in *at, or false if every byte can be programmed. */
bool flash_sectors_find_unerased(const flash_sectors_t *st, uint32_t addr, const uint8_t *src,
                                 size_t len, size_t *at);
uint8_t flash_sectors_byte(const flash_sectors_t *st, uint32_t addr);

/* Give the flash its own copy of every sector of [addr, addr + len) (FOTA_ERR_NO_MEM), so that
 * flash_sectors_program() on that range cannot fail. The bytes do not change. */
fota_err_t flash_sectors_prepare(flash_sectors_t *st, uint32_t addr, size_t len);
/* NOR programming into prepared sectors: old & src. */
void flash_sectors_program(flash_sectors_t *st, uint32_t addr, const uint8_t *src, size_t len);
/* Set whole sectors to 0xFF (a copy-on-write flash drops their memory). */
void flash_sectors_erase(flash_sectors_t *st, uint32_t first, uint32_t count);
/* Set a sector aside (FOTA_ERR_NO_MEM) so that flash_sectors_sector() cannot fail once. */
fota_err_t flash_sectors_reserve(flash_sectors_t *st);
/* Sector i, writable, with its bytes: in place, its own copy, or a new copy made in the sector
 * set aside by flash_sectors_reserve() (or prepared). */
uint8_t *flash_sectors_sector(flash_sectors_t *st, uint32_t i);

/* Bytes of memory this flash holds besides a block: its table and its own copies. */
size_t flash_sectors_memory(const flash_sectors_t *st);

/* A frozen copy of the table's bytes (erased sectors take no memory). */
fota_err_t flash_sectors_snapshot(const flash_sectors_t *st, uint32_t size,
                                  fota_flash_template_t **out);
void flash_sectors_template_free(fota_flash_template_t *t);
uint32_t flash_sectors_template_size(const fota_flash_template_t *t);
size_t flash_sectors_template_memory(const fota_flash_template_t *t);

#endif /* FOTA_EMU_FLASH_SECTORS_H */
