/*
 * patch.c - a delta update on the device (docs/AGENT.md, "Delta updates"; docs/PROTOCOL.md 6-7):
 * the running image, read through the flash port, turned into the new one by a delta patch
 * (delta.h) in place of the full download.
 *
 * The running image's id is the SHA-256 an ESP32 image carries at its end: its headers walked
 * once (fota_esp_image_check_bounds) for its length, its last 32 bytes read, both cached and the
 * id sent with every check. An offer that names a delta makes the agent fetch the delta manifest
 * (verified with the release key: product, the offer's version, the security floor, the running
 * image as its source, the partition and the buffer big enough, its digest the delta's id), then
 * the patch's records with chain mode's machinery (Range, retries, pacing, progress): each record
 * accepted by the hash chain is applied, and the applier's output written as writer.c writes
 * chunks (a sector erased before its first write, every write read back).
 *
 * Resuming: a segment of the patch restarts the applier's models, so a download resumes at a
 * segment start. The journal (mode byte 2) names one whose start in the new image lies at or
 * below the journaled extent, a sector boundary below which every byte is in flash and was read
 * back: after a power cut the applier restarts there and decodes without writing below the
 * extent; the first write erases the sector at the extent, wiping whatever a cut left in it.
 * host/delta_create.c starts a segment every record by default (every few, if asked) wherever
 * the new image has got to; a segment start is journaled once the written bytes have passed the
 * next sector boundary above it (`pending` until then), so a cut may cost the segment before it
 * too. A patch made with segments on sector boundaries (fota_delta_opts_t.sector_size) has each
 * journaled at once.
 *
 * Falling back: a delta that cannot be applied (its manifest refused, the source another image,
 * a FOTA_ERR_DELTA_* from the applier, the patched image not the signed one) is reported as
 * "delta_failed" with the error, and the full image of the same release is downloaded in the
 * same update, from its first record. A record refused by the chain is not one of these: it is
 * fetched again, as in a full download.
 */
#include <string.h>

#include "fota/auth.h"
#include "fota/bytes.h"
#include "fota/esp_image.h"

#include "agent_internal.h"

#if FOTA_CONFIG_DELTA

#define ID_LEN 32u /* an appended SHA-256 */

/* The running partition: bounded by running_len (its size while the image is walked, then the
 * image's length). */
static fota_err_t read_running(void *ctx, uint32_t offset, void *buf, size_t len)
{
    const fota_agent_t *a = ctx;
    const fota_agent_delta_t *d = &a->delta;
    if (offset > d->running_len || len > d->running_len - offset) {
        return FOTA_ERR_DELTA_OLD_RANGE;
    }
    return fota_flash_read(&a->port.flash, d->running_offset + offset, buf, len);
}

void fota_patch_find_running(fota_agent_t *a)
{
    fota_agent_delta_t *d = &a->delta;
    if (d->running_known != 0) {
        return;
    }
    d->running_known = 2; /* looked for once: an image without an id is no delta source */
    uint32_t size = 0;
    const fota_boot_t *b = &a->port.boot;
    if (b->running_partition == NULL ||
        b->running_partition(b->ctx, &d->running_offset, &size) != FOTA_OK) {
        return;
    }
    d->running_len = size;
    uint8_t head[FOTA_ESP_IMAGE_HEADER_LEN];
    fota_esp_image_header_t h;
    fota_esp_image_bounds_t img;
    if (read_running(a, 0, head, sizeof head) != FOTA_OK ||
        fota_esp_image_header_parse(head, sizeof head, &h) != FOTA_OK || h.hash_appended != 1 ||
        fota_esp_image_check_bounds(read_running, a, size, &img) != FOTA_OK ||
        img.image_len < ID_LEN ||
        read_running(a, img.image_len - ID_LEN, d->running_id, ID_LEN) != FOTA_OK) {
        d->running_len = 0;
        return;
    }
    d->running_len = img.image_len;
    d->running_known = 1;
}

bool fota_patch_wanted(fota_agent_t *a)
{
    if (a->cfg.mode != FOTA_MODE_CHAIN || a->offer.delta[0] == '\0') {
        return false;
    }
    fota_patch_find_running(a);
    return a->delta.running_known == 1;
}

/* ---- falling back ------------------------------------------------------------------------- */

/* Report the error, then the full image of the release from its first record. A journal of the
 * delta is replaced by one that names no manifest: a power cut from here on resumes the full
 * download (at record 0, its manifest fetched by the release id). */
static void take_fallback(fota_agent_t *a, fota_err_t err)
{
    a->last_err = err;
    fota_agent_emit(a, FOTA_EVENT_ERROR, err);
    fota_report_queue(a, FOTA_STATE_DELTA_FAILED, err);
    a->delta.on = 0;
    a->offer.delta[0] = '\0';
    a->failures = 0;
    a->backoff_ms = 0;
    a->next_chunk = 0;
    a->verify_offset = 0;
    a->image_verified = false;
    memset(a->manifest_digest, 0, sizeof a->manifest_digest);
    if (a->journaled) {
        fota_err_t jerr = fota_journal_save(a, FOTA_JOURNAL_DOWNLOADING);
        if (jerr != FOTA_OK) {
            fota_agent_emit(a, FOTA_EVENT_ERROR, jerr);
        }
    }
    fota_agent_set_state(a, FOTA_STATE_MANIFEST);
    fota_agent_wait(a, 0);
}

bool fota_patch_fallback(fota_agent_t *a, fota_req_kind_t kind, fota_err_t err)
{
    (void)kind;
    bool patch_err = err >= FOTA_ERR_DELTA_FORMAT && err <= FOTA_ERR_DELTA_ORDER;
    bool image_err = a->state == FOTA_STATE_VERIFYING &&
                     (err == FOTA_ERR_IMAGE_SHA256 || (err >= 400 && err < 500));
    if (!a->delta.on || !(patch_err || image_err)) {
        return false;
    }
    take_fallback(a, err);
    return true;
}

/* ---- the delta manifest ------------------------------------------------------------------- */

static fota_err_t check_source(const fota_agent_t *a, const fota_delta_manifest_t *dm)
{
    const fota_agent_delta_t *d = &a->delta;
    bool same = d->running_known == 1 && dm->source_size == d->running_len &&
                memcmp(dm->source_sha256, d->running_id, ID_LEN) == 0;
    return same ? FOTA_OK : FOTA_ERR_DELTA_SOURCE;
}

/* Everything the delta must be before a byte of it is written. The version is the offer's, or
 * the journal's when a download resumes after a reboot. */
static fota_err_t check_delta(fota_agent_t *a, fota_delta_manifest_t *dm, uint8_t digest[32],
                              uint32_t *part_size)
{
    fota_err_t err = fota_delta_manifest_verify(a->io, a->io_len, a->cfg.release_key,
                                                a->cfg.release_key_len, dm);
    if (err == FOTA_OK) {
        err = fota_manifest_check_product(&dm->m, a->cfg.product_id);
    }
    if (err != FOTA_OK) {
        return err;
    }
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (mbedtls_md(sha, a->io, a->io_len, digest) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    const char *version = a->have_offer ? a->offer.version : a->manifest.version;
    if (!fota_id_matches(a->offer.delta, digest) || strcmp(version, dm->m.version) != 0) {
        return FOTA_ERR_MANIFEST_CHANGED;
    }
    if (dm->m.security_version < a->cfg.security_floor) {
        return FOTA_ERR_SECURITY_VERSION;
    }
    fota_patch_find_running(a); /* (a download resumed after a reboot has not looked yet) */
    err = check_source(a, dm);
    if (err == FOTA_OK && dm->m.chunk_size > FOTA_CONFIG_MAX_CHUNK_SIZE) {
        err = FOTA_ERR_UNSUPPORTED;
    }
    if (err == FOTA_OK) {
        err = a->port.boot.update_partition(a->port.boot.ctx, &a->part_offset, part_size);
    }
    if (err == FOTA_OK && dm->m.image_size > *part_size) {
        err = FOTA_ERR_IMAGE_TOO_BIG;
    }
    return err;
}

/* The delta manifest taken: true when the download is to start. Kept out of the caller, so the
 * decoded manifest's frame is gone before the download starts (the journal's goes deeper). */
FOTA_NOINLINE static bool take_manifest(fota_agent_t *a)
{
    fota_delta_manifest_t dm;
    uint8_t digest[32];
    uint32_t part_size = 0;
    fota_err_t err = check_delta(a, &dm, digest, &part_size);
    if (err == FOTA_OK) {
        err = fota_delta_init(&a->delta.applier, dm.m.image_size, dm.source_size, dm.m.chunk_size);
    }
    if (err != FOTA_OK) {
        take_fallback(a, err); /* refused before anything is written */
        return false;
    }
    if (a->offer.action != FOTA_OFFER_FORCED && a->cfg.may_download != NULL &&
        !a->cfg.may_download(a->cfg.hook_ctx, &dm.m)) {
        fota_agent_go_idle(a);
        return false;
    }
    fota_delta_manifest_chain(&dm, &a->manifest); /* the download fetches the patch's records */
    a->part_size = part_size;
    a->image_verified = false;
    memcpy(a->manifest_digest, digest, 32);
    return true;
}

fota_err_t fota_patch_on_manifest(fota_agent_t *a)
{
    return take_manifest(a) ? fota_download_start(a) : FOTA_OK;
}

/* ---- where to start ----------------------------------------------------------------------- */

void fota_patch_start(fota_agent_t *a, const uint8_t *journal)
{
    fota_agent_delta_t *d = &a->delta;
    memset(&d->resume, 0, sizeof d->resume);
    memcpy(d->resume.expected, a->manifest.chain_head, FOTA_CHAIN_HASH_LEN);
    d->pending_valid = 0;
    d->keep = d->written = d->extent = 0;
    fota_delta_restart(&d->applier);
    if (journal == NULL && a->next_chunk == a->manifest.chunk_count) {
        /* the image is in the slot already (rolled back, or downloaded and held): verified */
        d->resume.record = a->next_chunk;
        d->extent = d->applier.new_size;
    }
    if (journal == NULL) {
        return;
    }
    uint32_t extent = fota_get_le32(journal + FOTA_J_EXTENT);
    uint32_t size = d->applier.new_size;
    if (extent > size || (extent % a->port.flash.sector_size != 0 && extent != size)) {
        a->next_chunk = 0; /* not a record this agent saved: from the start */
        fota_chain_init(&a->chain, a->manifest.chain_head, a->manifest.chunk_count);
        return;
    }
    d->resume.record = a->next_chunk;
    d->resume.pos = extent;
    memcpy(d->resume.expected, a->chain.expected, FOTA_CHAIN_HASH_LEN);
    d->keep = d->written = d->extent = extent;
}

/* ---- records ------------------------------------------------------------------------------ */

static fota_err_t read_old(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    return read_running(ctx, off, buf, len);
}

/* The applier's output, in order from where it restarted. */
static fota_err_t write_new(void *ctx, uint32_t off, const uint8_t *buf, size_t len)
{
    fota_agent_t *a = ctx;
    fota_agent_delta_t *d = &a->delta;
    if (off != d->written) {
        return FOTA_ERR_RANGE;
    }
    fota_err_t err = fota_writer_flash(a, off, buf, len);
    if (err == FOTA_OK) {
        d->written = off + (uint32_t)len;
    }
    return err;
}

/* A record failed after the chain took it: the applier's state is lost, so the download goes
 * back to the journaled segment start, keeping the whole sectors written since. */
static void rewind_to_resume(fota_agent_t *a)
{
    fota_agent_delta_t *d = &a->delta;
    uint32_t sector = a->port.flash.sector_size;
    d->keep = d->written = d->written / sector * sector;
    a->next_chunk = d->resume.record;
    a->chain.index = d->resume.record;
    memcpy(a->chain.expected, d->resume.expected, FOTA_CHAIN_HASH_LEN);
    d->pending_valid = 0;
    fota_delta_restart(&d->applier);
}

/* Journal when the written bytes pass a sector boundary or a segment start becomes the place to
 * resume from, and after the last record (then the journal resumes at the verification). */
static fota_err_t journal_if_due(fota_agent_t *a)
{
    fota_agent_delta_t *d = &a->delta;
    uint32_t sector = a->port.flash.sector_size;
    bool done = a->next_chunk == a->manifest.chunk_count;
    uint32_t extent = done ? d->written : d->written / sector * sector;
    bool moved = false;
    if (d->pending_valid && d->pending.pos <= extent) {
        d->resume = d->pending;
        d->pending_valid = 0;
        moved = true;
    }
    if (done) {
        d->resume.record = a->next_chunk;
        d->resume.pos = extent;
        memcpy(d->resume.expected, a->chain.expected, FOTA_CHAIN_HASH_LEN);
    } else if (!moved && extent == d->extent) {
        return FOTA_OK;
    }
    d->extent = extent;
    return fota_journal_save(a, FOTA_JOURNAL_DOWNLOADING);
}

fota_err_t fota_patch_record(fota_agent_t *a, const uint8_t *rec, uint32_t len)
{
    fota_agent_delta_t *d = &a->delta;
    fota_delta_mark_t seg = {a->chain.index, 0, {0}};
    memcpy(seg.expected, a->chain.expected, FOTA_CHAIN_HASH_LEN);
    fota_err_t err = fota_chain_accept_md(&a->chain, &a->md, rec, len, rec + len);
    if (err != FOTA_OK) {
        return err; /* the chain is where it was: the record is fetched again */
    }
    if (fota_delta_segment_at(rec, len, &seg.pos)) {
        d->pending = seg;
        d->pending_valid = 1;
    }
    fota_delta_io_t io = {a, read_old, write_new};
    err = fota_delta_record(&d->applier, rec, len, d->keep, &io);
    if (err == FOTA_OK && fota_chain_done(&a->chain) && !fota_delta_done(&d->applier)) {
        err = FOTA_ERR_DELTA_LENGTH; /* the records end before the image does */
    }
    if (err != FOTA_OK) {
        rewind_to_resume(a);
        return err;
    }
    a->next_chunk++;
    err = journal_if_due(a);
    fota_writer_progress(a);
    return err;
}

#endif /* FOTA_CONFIG_DELTA */
