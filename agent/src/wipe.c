/*
 * wipe.c - erasing what a seed-mode download wrote when its image will not be installed.
 *
 * Seed mode writes a chunk once its MAC checks, and the MAC is made with the device key, which
 * the server holds: until the read-back matches the signed manifest, the bytes in the update
 * slot are not authenticated. So when a seed-mode update ends without installing (the read-back
 * refuses the image, or the attempt is abandoned after chunks were written), the sectors it may
 * have written are erased before the agent reports the error and goes idle.
 *
 * The journal is the memory of that duty: a WIPING record (the extent to erase and the error to
 * report) is saved before the first erase, so a power cut at any point resumes the erase after
 * the reboot, without the server or the manifest. The erase runs FOTA_CONFIG_VERIFY_STEP bytes
 * per poll; a failed erase is retried with back-off, never given up.
 */
#include "agent_internal.h"

static uint32_t round_up(uint32_t n, uint32_t sector)
{
    uint32_t down = n / sector * sector;
    return down + (down != n ? sector : 0u); /* one division */
}

uint32_t fota_wipe_reach(const fota_agent_t *a)
{
    const fota_manifest_t *m = &a->manifest;
    uint32_t sector = a->port.flash.sector_size;
    uint32_t ahead = m->chunk_size > sector ? m->chunk_size : sector;
    /* min(next_chunk * chunk_size + ahead, image_size) in 32 bits: a chunk before the last
     * starts below image_size, and nothing is added past it */
    uint32_t reach = m->image_size;
    if (a->next_chunk < m->chunk_count) {
        uint32_t at = a->next_chunk * m->chunk_size;
        reach = reach - at > ahead ? at + ahead : reach;
    }
    return round_up(reach, sector);
}

fota_err_t fota_wipe_begin(fota_agent_t *a, uint32_t extent, fota_err_t err)
{
    a->refused = (uint16_t)err;
    a->wipe_end = extent;
    a->verify_offset = 0;
    a->image_verified = false;
    return fota_journal_save(a, FOTA_JOURNAL_WIPING);
}

fota_err_t fota_wipe_step(fota_agent_t *a, bool *done)
{
    *done = false;
    fota_err_t err = FOTA_OK;
    if (a->part_size == 0) { /* resumed from the journal: where the slot is, from the port */
        err = a->port.boot.update_partition(a->port.boot.ctx, &a->part_offset, &a->part_size);
    }
    if (err != FOTA_OK) {
        a->part_size = 0;
        return err;
    }
    /* Never past the update partition, whatever the record says. */
    uint32_t sector = a->port.flash.sector_size;
    uint32_t cap = a->part_size / sector * sector;
    uint32_t end = a->wipe_end >= cap ? cap : round_up(a->wipe_end, sector);
    uint32_t stop = end - a->verify_offset > FOTA_CONFIG_VERIFY_STEP
                        ? a->verify_offset + FOTA_CONFIG_VERIFY_STEP
                        : end;
    while (a->verify_offset < stop) {
        err = fota_flash_erase(&a->port.flash, a->part_offset + a->verify_offset, sector);
        if (err != FOTA_OK) {
            return err; /* the same sector is erased again on the next try */
        }
        a->verify_offset += sector;
    }
    *done = a->verify_offset >= end;
    return FOTA_OK;
}
