/*
 * writer.c - puts verified chunks into the update partition, in order.
 *
 * Each flash sector is erased just before the first chunk that starts in it is written, so a
 * sector is never written twice without an erase. The journal is saved each time the written
 * data reaches a sector boundary (and after the last chunk): a download always resumes at a
 * sector boundary, where the first write erases the sector again, so whatever a power cut left
 * in that sector (a torn write, a torn erase) is wiped, and at most one sector is fetched twice.
 *
 * Each chunk is read back right after it is written and compared with the verified chunk still
 * in RAM (small pieces into a stack buffer, a memcmp, no hash) before it is counted as written.
 * So every chunk the journal counts was in flash as it was verified: a flash that takes a write
 * without error but keeps other bytes (a worn cell, a port writing elsewhere) is caught at that
 * chunk (FOTA_ERR_FLASH_VERIFY), before anything is built on it. Chain mode relies on this
 * instead of hashing the whole partition again (verify.c; docs/AGENT.md has the argument).
 */
#include <string.h>

#include "agent_internal.h"

/* Bytes read back per comparison step: stack, not the agent's state. */
#define READ_BACK_PIECE 256u

static fota_err_t erase_new_sectors(fota_agent_t *a, uint32_t rel, uint32_t len)
{
    uint32_t sector = a->port.flash.sector_size;
    uint32_t s = (rel + sector - 1u) / sector * sector;
    for (; s < rel + len; s += sector) {
        fota_err_t err = fota_flash_erase(&a->port.flash, a->part_offset + s, sector);
        if (err != FOTA_OK) {
            return err;
        }
    }
    return FOTA_OK;
}

/* The len bytes just written at rel are the chunk's. */
static fota_err_t read_back(const fota_agent_t *a, uint32_t rel, const uint8_t *chunk, size_t len)
{
    uint8_t piece[READ_BACK_PIECE];
    for (size_t at = 0; at < len; at += sizeof piece) {
        size_t n = len - at < sizeof piece ? len - at : sizeof piece;
        fota_err_t err =
            fota_flash_read(&a->port.flash, a->part_offset + rel + (uint32_t)at, piece, n);
        if (err != FOTA_OK) {
            return err;
        }
        if (memcmp(piece, chunk + at, n) != 0) {
            return FOTA_ERR_FLASH_VERIFY;
        }
    }
    return FOTA_OK;
}

void fota_writer_progress(fota_agent_t *a)
{
    fota_agent_emit(a, FOTA_EVENT_PROGRESS, FOTA_OK);
    uint32_t every = a->cfg.progress_every;
    if (a->next_chunk == a->manifest.chunk_count) {
        fota_report_drop_progress(a); /* installed, or the error, will say more */
    } else if (every != 0 && a->next_chunk % every == 0) {
        fota_report_queue(a, FOTA_STATE_DOWNLOADING, FOTA_OK);
    }
}

fota_err_t fota_writer_flash(fota_agent_t *a, uint32_t rel, const uint8_t *data, size_t len)
{
    if (rel > a->part_size || len > a->part_size - rel) {
        return FOTA_ERR_RANGE;
    }
    fota_err_t err = erase_new_sectors(a, rel, (uint32_t)len);
    if (err == FOTA_OK) {
        err = fota_flash_write(&a->port.flash, a->part_offset + rel, data, len);
    }
    return err == FOTA_OK ? read_back(a, rel, data, len) : err;
}

fota_err_t fota_writer_put(fota_agent_t *a, const uint8_t *chunk, size_t len)
{
    uint32_t rel = a->next_chunk * a->manifest.chunk_size;
    if (a->next_chunk >= a->manifest.chunk_count) {
        return FOTA_ERR_RANGE;
    }
    fota_err_t err = fota_writer_flash(a, rel, chunk, len);
    if (err != FOTA_OK) {
        return err;
    }
    a->next_chunk++;
    uint32_t end = rel + (uint32_t)len;
    if (end % a->port.flash.sector_size == 0 || a->next_chunk == a->manifest.chunk_count) {
        err = fota_journal_save(a, FOTA_JOURNAL_DOWNLOADING);
    }
    fota_writer_progress(a);
    return err;
}
