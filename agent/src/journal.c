/*
 * journal.c - the resume record, saved whole through the store port (docs/PROTOCOL.md,
 * "Journal"). 160 bytes, little-endian:
 *
 *   0   4  magic "FOTJ"          72  32 SHA-256 of the manifest
 *   4   1  format (1)            104  4 next chunk to write
 *   5   1  state                 108 32 chain: hash the next record must have
 *   6   1  mode (0 seed,         140  4 update partition offset
 *          1 chain, 2 delta)
 *   7   1  install attempts      144  4 extent (below)
 *   8  32  release id (hex)      148  4 wiping: error to report (fota_err_t)
 *   40 32  target version        152  4 zero
 *          (NUL-padded)          156  4 CRC-32 (fota_crc32_le(0, bytes 0..155))
 *
 * A delta download (mode 2, patch.c) journals the delta manifest's SHA-256 as the digest, the
 * record index of the segment start to resume from as the next chunk, the chain hash that record
 * must have, and as the extent the bytes of the new image written and read back (a sector
 * boundary, or the image's end once the last record is in).
 *
 * States: 1 downloading, 2 installing, 3 installed, 4 rolled back, 5 wiping. The extent counts
 * bytes from the start of the update partition, in whole sectors: while downloading (seed mode),
 * how far the download may have written before its next save (chain mode, which writes only
 * verified bytes, leaves it 0); while wiping, how far the slot must be erased. Records saved
 * before the extent existed hold zero there (format 1 all the same): a seed-mode downloading
 * record with extent 0 means "not known", and a whole-slot erase covers it.
 *
 * A wiping record exists only while a seed-mode agent erases an image it refused, before the
 * boot slot ever changes: no update installs over it. So a chain-only build, which has no erase,
 * meets one only on a device flashed by other means in the middle of that erase; it reads it as
 * corrupt, like any record it cannot act on, and starts over. What it leaves in the update slot
 * is never booted (the boot slot does not point there) and chain mode erases each sector before
 * writing it.
 *
 * The store makes each save atomic; the CRC here catches a store that returns garbage.
 */
#include <string.h>

#include "fota/bytes.h"
#include "fota/crc32.h"

#include "agent_internal.h"

#define J_FORMAT 1u
#define J_CRC_OFF 156u

/* Into a 32-byte field that is all zeros: NUL-padded, no terminator when the string fills it. */
static FOTA_NOINLINE void put_str(uint8_t *p, const char *s)
{
    for (size_t i = 0; i < 32 && s[i] != '\0'; i++) {
        p[i] = (uint8_t)s[i];
    }
}

/* The checks a record must pass before its fields are read where they lie. */
static fota_err_t check(const uint8_t *buf, size_t len)
{
    if (len != FOTA_JOURNAL_LEN || memcmp(buf, "FOTJ", 4) != 0 || buf[4] != J_FORMAT ||
        fota_get_le32(buf + J_CRC_OFF) != fota_crc32_le(0, buf, J_CRC_OFF)) {
        return FOTA_ERR_JOURNAL_CORRUPT;
    }
    uint8_t state = buf[FOTA_J_STATE];
    /* a wiping record comes only from a seed-mode agent: corrupt to a chain-only one; a delta
     * download's only from a delta build */
    bool wiping_ok = FOTA_CONFIG_MODE_SEED;
    uint8_t mode_max = FOTA_CONFIG_DELTA ? FOTA_JOURNAL_MODE_DELTA : FOTA_MODE_CHAIN;
    if (state < FOTA_JOURNAL_DOWNLOADING || state > FOTA_JOURNAL_DOWNLOADED ||
        (state == FOTA_JOURNAL_WIPING && !wiping_ok) || buf[FOTA_J_MODE] > mode_max ||
        buf[FOTA_J_RELEASE] == 0 || buf[FOTA_J_VERSION] == 0) {
        return FOTA_ERR_JOURNAL_CORRUPT;
    }
    return FOTA_OK;
}

fota_err_t fota_journal_save(fota_agent_t *a, fota_journal_state_t state)
{
    /* Encoded straight from the agent: no second copy of the record on the stack. */
    uint8_t buf[FOTA_JOURNAL_LEN];
    memset(buf, 0, sizeof buf);
    memcpy(buf, "FOTJ", 4);
    buf[4] = J_FORMAT;
    buf[FOTA_J_STATE] = (uint8_t)state;
    buf[FOTA_J_MODE] = FOTA_DELTA_ON(a) ? FOTA_JOURNAL_MODE_DELTA : (uint8_t)a->cfg.mode;
    buf[FOTA_J_ATTEMPTS] = a->attempts;
    put_str(buf + FOTA_J_RELEASE, a->offer.release);
    put_str(buf + FOTA_J_VERSION, a->manifest.version);
    memcpy(buf + FOTA_J_DIGEST, a->manifest_digest, 32);
    fota_put_le32(buf + FOTA_J_NEXT_CHUNK, a->next_chunk);
    memcpy(buf + FOTA_J_EXPECTED, a->chain.expected, 32);
    fota_put_le32(buf + FOTA_J_PART_OFFSET, a->part_offset);
#if FOTA_CONFIG_DELTA
    if (a->delta.on && state == FOTA_JOURNAL_DOWNLOADING) {
        /* a delta: the segment start to resume from and the bytes in flash below it (patch.c) */
        fota_put_le32(buf + FOTA_J_NEXT_CHUNK, a->delta.resume.record);
        memcpy(buf + FOTA_J_EXPECTED, a->delta.resume.expected, 32);
        fota_put_le32(buf + FOTA_J_EXTENT, a->delta.extent);
    }
#endif
    if (FOTA_CONFIG_MODE_SEED && state == FOTA_JOURNAL_WIPING) {
        fota_put_le32(buf + FOTA_J_EXTENT, a->wipe_end);
        fota_put_le32(buf + FOTA_J_ERROR, a->refused);
    } else if (FOTA_IS_SEED(a) && state == FOTA_JOURNAL_DOWNLOADING) {
        /* how far the slot may hold unverified bytes, never less than an earlier download left
         * there (agent.c, unverified_extent); chain mode writes only verified bytes: 0 */
        uint32_t reach = fota_wipe_reach(a);
        if (reach > a->wipe_end) {
            a->wipe_end = reach;
        }
        fota_put_le32(buf + FOTA_J_EXTENT, a->wipe_end);
    }
    fota_put_le32(buf + J_CRC_OFF, fota_crc32_le(0, buf, J_CRC_OFF));
    fota_err_t err = a->port.store.save(a->port.store.ctx, buf, sizeof buf);
    if (err == FOTA_OK) {
        a->journaled = 1;
    }
    return err;
}

fota_err_t fota_journal_load(fota_agent_t *a, uint8_t rec[FOTA_JOURNAL_LEN])
{
    size_t len = 0;
    fota_err_t err = a->port.store.load(a->port.store.ctx, rec, FOTA_JOURNAL_LEN, &len);
    return err != FOTA_OK ? err : check(rec, len);
}
