/*
 * otadata.h - ESP-IDF's otadata: which OTA slot boots, and the rollback state of each image.
 *
 * The otadata partition (0x2000 bytes) holds two copies of esp_ota_select_entry_t, copy 0 at
 * offset 0 and copy 1 at 0x1000 (one per sector). Entry, 32 bytes little-endian:
 *   ota_seq u32, seq_label[20] (left 0xFF), ota_state u32, crc u32,
 * crc = esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4) = fota_crc32_le(UINT32_MAX, le32(seq), 4).
 * An entry is usable if seq != 0xFFFFFFFF, its state is not INVALID or ABORTED, and its CRC is
 * right; of the usable ones the larger seq wins; the slot is ota_[(seq - 1) % ota_count].
 * Writing an entry erases its sector first.
 */
#ifndef FOTA_EMU_OTADATA_H
#define FOTA_EMU_OTADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"
#include "fota/flash.h"

#define FOTA_OTADATA_ENTRY_LEN 32u
#define FOTA_OTADATA_SIZE 0x2000u
#define FOTA_OTADATA_COPY_OFFSET 0x1000u

typedef enum {
    FOTA_OTA_IMG_NEW = 0x0u,
    FOTA_OTA_IMG_PENDING_VERIFY = 0x1u,
    FOTA_OTA_IMG_VALID = 0x2u,
    FOTA_OTA_IMG_INVALID = 0x3u,
    FOTA_OTA_IMG_ABORTED = 0x4u,
    FOTA_OTA_IMG_UNDEFINED = 0xFFFFFFFFu,
} fota_ota_img_state_t;

typedef struct {
    uint32_t ota_seq;
    uint8_t seq_label[20];
    uint32_t ota_state;
    uint32_t crc;
} fota_ota_entry_t;

uint32_t fota_otadata_crc(uint32_t ota_seq);
void fota_ota_entry_encode(const fota_ota_entry_t *e, uint8_t out[32]);
void fota_ota_entry_decode(const uint8_t in[32], fota_ota_entry_t *out);
/* A fresh entry: seq, label all 0xFF, state, correct CRC. */
void fota_ota_entry_make(fota_ota_entry_t *e, uint32_t seq, uint32_t state);
bool fota_ota_entry_crc_ok(const fota_ota_entry_t *e);
/* ESP-IDF's bootloader_common_ota_select_valid() && !..._invalid(): see the header comment. */
bool fota_ota_entry_usable(const fota_ota_entry_t *e);
const char *fota_ota_state_name(uint32_t state);

/* Read both copies from the otadata partition at `offset`. */
fota_err_t fota_otadata_read(const fota_flash_t *flash, uint32_t offset, fota_ota_entry_t out[2]);
/* Write copy `index` (0 or 1): erase its sector, write the 32 bytes. */
fota_err_t fota_otadata_write(const fota_flash_t *flash, uint32_t offset, int index,
                              const fota_ota_entry_t *e);
/* Erase both sectors (all 0xFF: "boot factory, else ota_0"). */
fota_err_t fota_otadata_erase(const fota_flash_t *flash, uint32_t offset);

/* Index (0/1) of the active entry (largest usable seq), or -1 if none is usable. */
int fota_otadata_active(const fota_ota_entry_t e[2]);
/* The ota_N slot an entry selects: (seq - 1) % ota_count. */
unsigned fota_otadata_slot(const fota_ota_entry_t *e, unsigned ota_count);

/*
 * The entry to write to make ota_<slot> boot next, as esp_ota_set_boot_partition() computes it:
 * seq = (slot + 1) % ota_count + i * ota_count for the smallest i with seq >= the active seq
 * (ESP-IDF's loop in esp_rewrite_ota_data), written to the other copy (*index_out = 1 - active)
 * with state NEW (rollback enabled); with no active entry seq = slot + 1 into copy 0.
 */
fota_err_t fota_otadata_next_for_slot(const fota_ota_entry_t e[2], unsigned slot,
                                      unsigned ota_count, fota_ota_entry_t *entry_out,
                                      int *index_out);

#endif /* FOTA_EMU_OTADATA_H */
