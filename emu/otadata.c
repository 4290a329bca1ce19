/*
 * otadata.c - ESP-IDF's otadata partition: the two esp_ota_select_entry_t copies that say which
 * OTA slot boots and in which rollback state its image is (otadata.h has the layout).
 *
 * This file knows the entry format and the selection arithmetic and nothing about images: the
 * emulated bootloader (bootloader.c) and the tools build on it. The rules are ESP-IDF's
 * (bootloader_common_loader.c: bootloader_common_ota_select_crc/_valid/_invalid,
 * bootloader_common_select_otadata; esp_ota_ops.c: esp_rewrite_ota_data), written again here
 * from what they do; docs/BOOT.md explains them.
 */
#include "fota/emu/otadata.h"

#include <string.h>

#include "fota/bytes.h"
#include "fota/crc32.h"

#define ENTRY_SEQ 0u
#define ENTRY_LABEL 4u
#define ENTRY_LABEL_LEN 20u
#define ENTRY_STATE 24u
#define ENTRY_CRC 28u
#define SEQ_ERASED 0xFFFFFFFFu

uint32_t fota_otadata_crc(uint32_t ota_seq)
{
    uint8_t b[4];
    fota_put_le32(b, ota_seq);
    return fota_crc32_le(UINT32_MAX, b, sizeof b);
}

void fota_ota_entry_encode(const fota_ota_entry_t *e, uint8_t out[32])
{
    fota_put_le32(out + ENTRY_SEQ, e->ota_seq);
    memcpy(out + ENTRY_LABEL, e->seq_label, ENTRY_LABEL_LEN);
    fota_put_le32(out + ENTRY_STATE, e->ota_state);
    fota_put_le32(out + ENTRY_CRC, e->crc);
}

void fota_ota_entry_decode(const uint8_t in[32], fota_ota_entry_t *out)
{
    out->ota_seq = fota_get_le32(in + ENTRY_SEQ);
    memcpy(out->seq_label, in + ENTRY_LABEL, ENTRY_LABEL_LEN);
    out->ota_state = fota_get_le32(in + ENTRY_STATE);
    out->crc = fota_get_le32(in + ENTRY_CRC);
}

void fota_ota_entry_make(fota_ota_entry_t *e, uint32_t seq, uint32_t state)
{
    e->ota_seq = seq;
    memset(e->seq_label, 0xFF, sizeof e->seq_label);
    e->ota_state = state;
    e->crc = fota_otadata_crc(seq);
}

bool fota_ota_entry_crc_ok(const fota_ota_entry_t *e)
{
    return e->crc == fota_otadata_crc(e->ota_seq);
}

bool fota_ota_entry_usable(const fota_ota_entry_t *e)
{
    if (e->ota_seq == SEQ_ERASED || !fota_ota_entry_crc_ok(e)) {
        return false;
    }
    return e->ota_state != FOTA_OTA_IMG_INVALID && e->ota_state != FOTA_OTA_IMG_ABORTED;
}

const char *fota_ota_state_name(uint32_t state)
{
    switch (state) {
    case FOTA_OTA_IMG_NEW:
        return "NEW";
    case FOTA_OTA_IMG_PENDING_VERIFY:
        return "PENDING_VERIFY";
    case FOTA_OTA_IMG_VALID:
        return "VALID";
    case FOTA_OTA_IMG_INVALID:
        return "INVALID";
    case FOTA_OTA_IMG_ABORTED:
        return "ABORTED";
    case FOTA_OTA_IMG_UNDEFINED:
        return "UNDEFINED";
    default:
        return "UNKNOWN";
    }
}

/* --- flash ----------------------------------------------------------------------------------- */

fota_err_t fota_otadata_read(const fota_flash_t *flash, uint32_t offset, fota_ota_entry_t out[2])
{
    if (flash == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    for (int i = 0; i < 2; i++) {
        uint8_t buf[FOTA_OTADATA_ENTRY_LEN];
        uint32_t at = offset + (uint32_t)i * FOTA_OTADATA_COPY_OFFSET;
        fota_err_t err = fota_flash_read(flash, at, buf, sizeof buf);
        if (err != FOTA_OK) {
            return err;
        }
        fota_ota_entry_decode(buf, &out[i]);
    }
    return FOTA_OK;
}

/* NOR flash cannot rewrite in place: the copy's sector is erased, then the entry written. A
 * power cut in between leaves that copy erased (or torn), which the CRC and the seq rule turn
 * into "unusable": the other copy then decides alone. */
fota_err_t fota_otadata_write(const fota_flash_t *flash, uint32_t offset, int index,
                              const fota_ota_entry_t *e)
{
    if (flash == NULL || e == NULL || (index != 0 && index != 1)) {
        return FOTA_ERR_ARG;
    }
    uint8_t buf[FOTA_OTADATA_ENTRY_LEN];
    fota_ota_entry_encode(e, buf);
    uint32_t at = offset + (uint32_t)index * FOTA_OTADATA_COPY_OFFSET;
    fota_err_t err = fota_flash_erase(flash, at, FOTA_OTADATA_COPY_OFFSET);
    if (err != FOTA_OK) {
        return err;
    }
    return fota_flash_write(flash, at, buf, sizeof buf);
}

fota_err_t fota_otadata_erase(const fota_flash_t *flash, uint32_t offset)
{
    if (flash == NULL) {
        return FOTA_ERR_ARG;
    }
    return fota_flash_erase(flash, offset, FOTA_OTADATA_SIZE);
}

/* --- selection ------------------------------------------------------------------------------- */

/* bootloader_common_select_otadata with max = true: of two usable entries the larger seq wins,
 * and on equal seqs copy 0 does. */
int fota_otadata_active(const fota_ota_entry_t e[2])
{
    bool ok0 = fota_ota_entry_usable(&e[0]);
    bool ok1 = fota_ota_entry_usable(&e[1]);
    if (ok0 && ok1) {
        return e[1].ota_seq > e[0].ota_seq ? 1 : 0;
    }
    if (ok0) {
        return 0;
    }
    return ok1 ? 1 : -1;
}

/* Unsigned arithmetic as ESP-IDF's: seq 0 (never written by it) wraps to (2^32 - 1) % count. */
unsigned fota_otadata_slot(const fota_ota_entry_t *e, unsigned ota_count)
{
    if (ota_count == 0) {
        return 0;
    }
    return (unsigned)((e->ota_seq - 1u) % ota_count);
}

/* The smallest seq >= floor that maps to `slot`: (slot + 1) % count + i * count. ESP-IDF finds i
 * by counting up; dividing gives the same i without 2^31 turns of a loop near the top of the seq
 * range. A result that does not fit below 0xFFFFFFFF (the erased value) is FOTA_ERR_RANGE. */
static fota_err_t seq_for_slot(uint32_t floor, unsigned slot, unsigned count, uint32_t *seq)
{
    uint64_t base = (slot + 1u) % count;
    uint64_t i = floor > base ? ((uint64_t)floor - base + count - 1u) / count : 0u;
    uint64_t s = base + i * count;
    if (s >= SEQ_ERASED) {
        return FOTA_ERR_RANGE;
    }
    *seq = (uint32_t)s;
    return FOTA_OK;
}

/* esp_rewrite_ota_data + rewrite_ota_seq: the new entry goes into the copy that is not active
 * (so the active one survives a power cut in the middle), and keeps that copy's seq_label, as
 * ESP-IDF rewrites only seq, state and crc of the structure it read. */
fota_err_t fota_otadata_next_for_slot(const fota_ota_entry_t e[2], unsigned slot,
                                      unsigned ota_count, fota_ota_entry_t *entry_out,
                                      int *index_out)
{
    if (e == NULL || entry_out == NULL || index_out == NULL) {
        return FOTA_ERR_ARG;
    }
    if (ota_count == 0 || slot >= ota_count) {
        return FOTA_ERR_OTADATA_SLOT;
    }
    int active = fota_otadata_active(e);
    int index = active < 0 ? 0 : 1 - active;
    uint32_t seq = slot + 1u;
    if (active >= 0) {
        fota_err_t err = seq_for_slot(e[active].ota_seq, slot, ota_count, &seq);
        if (err != FOTA_OK) {
            return err;
        }
    }
    fota_ota_entry_make(entry_out, seq, FOTA_OTA_IMG_NEW);
    memcpy(entry_out->seq_label, e[index].seq_label, sizeof entry_out->seq_label);
    *index_out = index;
    return FOTA_OK;
}
