/*
 * store_flash.c - the agent's journal store on the emulated ESP32 (see store_flash.h): records
 * appended to a log in two flash sectors, each record checked by magic, sequence and CRC, so
 * that a power cut at any instant of a save leaves either the old record or the new one.
 *
 * Slot layout (192 bytes, little-endian): magic "FJS1", seq u32, len u16, zero u16,
 * data[len] then zero up to byte 188, CRC-32 (fota_crc32_le(0, bytes 0..187)) at 188.
 * A slot of all 0xFF is free. Appending costs one write; an erase happens once per 21 saves.
 */
#include "fota/posix/store_flash.h"

#include <string.h>

#include "fota/bytes.h"
#include "fota/crc32.h"

#define SLOTS_PER_SECTOR (FOTA_FLASH_SECTOR_BYTES / FOTA_STORE_SLOT_LEN)
#define FOTA_FLASH_SECTOR_BYTES 4096u
#define CRC_OFF (FOTA_STORE_SLOT_LEN - 4u)

static uint32_t slot_addr(const fota_flash_store_t *s, int sector, uint32_t slot)
{
    return s->offset + (uint32_t)sector * FOTA_FLASH_SECTOR_BYTES + slot * FOTA_STORE_SLOT_LEN;
}

static bool slot_valid(const uint8_t *b)
{
    return memcmp(b, "FJS1", 4) == 0 && fota_get_le16(b + 8) <= FOTA_STORE_MAX_DATA &&
           fota_get_le32(b + CRC_OFF) == fota_crc32_le(0, b, CRC_OFF);
}

static bool slot_free(const uint8_t *b)
{
    for (uint32_t i = 0; i < FOTA_STORE_SLOT_LEN; i++) {
        if (b[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

/* Scan one sector: newest valid seq in it and the first free slot after every used one. */
static fota_err_t scan_sector(fota_flash_store_t *s, int sector, bool *found, uint32_t *seq,
                              uint32_t *next_free)
{
    uint8_t b[FOTA_STORE_SLOT_LEN];
    *found = false;
    *next_free = 0;
    for (uint32_t i = 0; i < SLOTS_PER_SECTOR; i++) {
        fota_err_t err = fota_flash_read(&s->flash, slot_addr(s, sector, i), b, sizeof b);
        if (err != FOTA_OK) {
            return err;
        }
        if (!slot_free(b)) {
            *next_free = i + 1;
        }
        if (slot_valid(b) && (!*found || (int32_t)(fota_get_le32(b + 4) - *seq) > 0)) {
            *found = true;
            *seq = fota_get_le32(b + 4);
        }
    }
    return FOTA_OK;
}

static fota_err_t scan(fota_flash_store_t *s)
{
    bool found[2];
    uint32_t seq[2] = {0, 0};
    uint32_t next[2];
    for (int i = 0; i < 2; i++) {
        fota_err_t err = scan_sector(s, i, &found[i], &seq[i], &next[i]);
        if (err != FOTA_OK) {
            return err;
        }
    }
    int cur = 0;
    if (found[1] && (!found[0] || (int32_t)(seq[1] - seq[0]) > 0)) {
        cur = 1;
    }
    s->cur_sector = cur;
    s->seq = found[cur] ? seq[cur] : 0;
    s->next_slot = found[0] || found[1] ? next[cur] : SLOTS_PER_SECTOR; /* empty: start fresh */
    s->scanned = true;
    return FOTA_OK;
}

/* Find the newest record's slot in the current sector (the one with seq == s->seq). */
static fota_err_t read_newest(fota_flash_store_t *s, uint8_t *b, bool *found)
{
    *found = false;
    for (uint32_t i = 0; i < SLOTS_PER_SECTOR; i++) {
        fota_err_t err =
            fota_flash_read(&s->flash, slot_addr(s, s->cur_sector, i), b, FOTA_STORE_SLOT_LEN);
        if (err != FOTA_OK) {
            return err;
        }
        if (slot_valid(b) && fota_get_le32(b + 4) == s->seq) {
            *found = true;
            return FOTA_OK;
        }
    }
    return FOTA_OK;
}

static fota_err_t store_load(void *ctx, void *buf, size_t cap, size_t *len)
{
    fota_flash_store_t *s = ctx;
    uint8_t b[FOTA_STORE_SLOT_LEN];
    bool found = false;
    fota_err_t err = scan(s);
    if (err == FOTA_OK) {
        err = read_newest(s, b, &found);
    }
    if (err != FOTA_OK) {
        return err;
    }
    uint16_t n = found ? fota_get_le16(b + 8) : 0;
    if (n == 0) {
        return FOTA_ERR_JOURNAL_EMPTY;
    }
    if (n > cap) {
        return FOTA_ERR_TOO_LARGE;
    }
    memcpy(buf, b + 12, n);
    *len = n;
    return FOTA_OK;
}

static fota_err_t append(fota_flash_store_t *s, const void *data, size_t len)
{
    if (len > FOTA_STORE_MAX_DATA) {
        return FOTA_ERR_TOO_LARGE;
    }
    fota_err_t err = s->scanned ? FOTA_OK : scan(s);
    if (err == FOTA_OK && s->next_slot >= SLOTS_PER_SECTOR) {
        s->cur_sector ^= 1;
        s->next_slot = 0;
        err = fota_flash_erase(&s->flash, slot_addr(s, s->cur_sector, 0), FOTA_FLASH_SECTOR_BYTES);
    }
    if (err != FOTA_OK) {
        s->scanned = false; /* unsure what the flash holds now: scan again next time */
        return err;
    }
    uint8_t b[FOTA_STORE_SLOT_LEN];
    memset(b, 0, sizeof b);
    memcpy(b, "FJS1", 4);
    fota_put_le32(b + 4, s->seq + 1u);
    fota_put_le16(b + 8, (uint16_t)len);
    if (len > 0) {
        memcpy(b + 12, data, len);
    }
    fota_put_le32(b + CRC_OFF, fota_crc32_le(0, b, CRC_OFF));
    err = fota_flash_write(&s->flash, slot_addr(s, s->cur_sector, s->next_slot), b, sizeof b);
    s->next_slot++; /* a torn slot is used up either way */
    if (err != FOTA_OK) {
        s->scanned = false;
        return err;
    }
    s->seq++;
    s->saves++;
    return FOTA_OK;
}

static fota_err_t store_save(void *ctx, const void *buf, size_t len)
{
    return len == 0 ? FOTA_ERR_ARG : append(ctx, buf, len);
}

static fota_err_t store_clear(void *ctx)
{
    return append(ctx, NULL, 0);
}

fota_err_t fota_flash_store_init(fota_flash_store_t *s, const fota_flash_t *flash, uint32_t offset,
                                 uint32_t size)
{
    if (size < 2u * FOTA_FLASH_SECTOR_BYTES || offset % FOTA_FLASH_SECTOR_BYTES != 0) {
        return FOTA_ERR_NOT_FOUND;
    }
    memset(s, 0, sizeof *s);
    s->flash = *flash;
    s->offset = offset;
    return FOTA_OK;
}

fota_store_t fota_flash_store_port(fota_flash_store_t *s)
{
    fota_store_t p = {s, store_load, store_save, store_clear};
    return p;
}
