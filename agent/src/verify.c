/*
 * verify.c - after the last chunk: check the update partition before the boot slot may change.
 *
 * Chain mode, when this download (or the journaled one it resumed) accepted every record of the
 * chain: each chunk was authenticated by the chain rooted in the signed manifest before it was
 * written, and read back and compared with that verified chunk after it was written, before the
 * journal counted it (writer.c). So the slot holds the signed image byte for byte, and hashing it
 * again proves nothing new: the ESP32 image's layout is checked (header, segments, checksum, app
 * descriptor, an appended hash where the header says; fota_esp_image_check_layout, which hashes
 * nothing), its chip id and its security version, in one step. The appended hash's value is left
 * to the boot port: ESP-IDF's esp_ota_set_boot_partition verifies the image with it before it
 * switches, and the bootloader again at boot (docs/AGENT.md has the whole argument).
 *
 * Otherwise (seed mode, a delta update, whose chain proves the patch and not the image it made,
 * or a chain-mode image verified again from the slot after a rollback,
 * whose bytes were compared in an earlier attempt) the partition is read back: a bounded step
 * per poll hashes FOTA_CONFIG_VERIFY_STEP bytes; when the whole image is hashed its SHA-256 must
 * equal the manifest's; then the ESP32 image itself is validated (header, segments, checksum,
 * appended hash, app descriptor), its chip id checked, and its security version held against the
 * device's floor.
 *
 * A one-mode build (FOTA_CONFIG_MODE_SEED or _CHAIN 0) walks only the image's bounds after either
 * proof (fota_esp_image_check_bounds: header, segment table, app descriptor's magic word and
 * secure version), then the chip id and the floor: the bytes are the signed ones, and the XOR
 * checksum and the appended hash, a check of the release's own build, are the boot port's.
 *
 * The partition is hashed once. In a build with both modes, an ESP32 image's appended SHA-256
 * covers every byte but its last 32, a prefix of what the manifest's digest covers: no step runs
 * past size - 32, and the step that starts there copies the SHA-256 context before it hashes the
 * last 32 bytes, so one pass gives both digests and the image check does not hash the image again.
 *
 * Seed mode: a chunk is written once its MAC checks, and the MAC is made with the device key,
 * which the server holds; what authenticates the bytes is this check against the signed
 * manifest. Whatever ends the check without a pass (a refusal of the image, or an error reading
 * or hashing it that ends the attempt) is handled by agent.c like any abandoned seed-mode
 * update: the journal records that the slot must be erased (wipe.c), the sectors the download
 * wrote are erased in bounded steps, resumed after any reboot, and only then is the error
 * reported, so no unverified byte stays in the slot. Chain mode writes only records the signed
 * chain has vouched for, and keeps them.
 */
#include <string.h>

#include "fota/esp_image.h"

#include "agent_internal.h"

#define TAIL_LEN 32u /* an appended SHA-256 */

static fota_err_t read_part(void *ctx, uint32_t offset, void *buf, size_t len)
{
    const fota_agent_t *a = ctx;
    if (offset > a->part_size || len > a->part_size - offset) {
        return FOTA_ERR_IMAGE_TRUNCATED;
    }
    return fota_flash_read(&a->port.flash, a->part_offset + offset, buf, len);
}

/* Hash the partition from verify_offset up to end. */
static fota_err_t hash_to(fota_agent_t *a, uint32_t end)
{
    while (a->verify_offset < end) {
        uint32_t n = end - a->verify_offset;
        n = n > sizeof a->io ? (uint32_t)sizeof a->io : n;
        fota_err_t err =
            fota_flash_read(&a->port.flash, a->part_offset + a->verify_offset, a->io, n);
        if (err != FOTA_OK) {
            return err;
        }
        if (mbedtls_md_update(&a->md, a->io, n) != 0) {
            return FOTA_ERR_CRYPTO;
        }
        a->verify_offset += n;
    }
    return FOTA_OK;
}

/* At size - 32: finish a copy of the context into prefix (what an appended hash must be; a
 * one-mode build wants none), then hash the last 32 bytes and finish: the manifest's SHA-256.
 * Kept out of the caller, so its frame is gone before the image check goes deeper. */
FOTA_NOINLINE static fota_err_t hash_tail(fota_agent_t *a, fota_esp_image_digest_t *prefix)
{
    uint8_t digest[32];
    int rc = 0;
    if (!FOTA_ONE_MODE) {
        mbedtls_md_context_t copy;
        mbedtls_md_init(&copy);
        rc = mbedtls_md_setup(&copy, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 0);
        if (rc == 0) {
            rc = mbedtls_md_clone(&copy, &a->md);
        }
        if (rc == 0) {
            rc = mbedtls_md_finish(&copy, prefix->sha256);
        }
        mbedtls_md_free(&copy);
        prefix->len = a->verify_offset;
    }
    fota_err_t err = rc == 0 ? hash_to(a, fota_image_size(a)) : FOTA_ERR_CRYPTO;
    if (err == FOTA_OK && mbedtls_md_finish(&a->md, digest) != 0) {
        err = FOTA_ERR_CRYPTO;
    }
    if (err == FOTA_OK && memcmp(digest, a->manifest.image_sha256, 32) != 0) {
        err = FOTA_ERR_IMAGE_SHA256;
    }
    return err;
}

/* What the image says of itself, held against the device: its chip, its length within what was
 * downloaded, its security version against the floor. */
static fota_err_t check_claims(const fota_agent_t *a, uint16_t chip_id, uint32_t image_len,
                               uint32_t secure_version)
{
    if (chip_id != a->cfg.chip_id) {
        return FOTA_ERR_IMAGE_CHIP;
    }
    if (image_len > fota_image_size(a)) {
        return FOTA_ERR_IMAGE_TRUNCATED;
    }
    return secure_version < a->cfg.security_floor ? FOTA_ERR_SECURITY_VERSION : FOTA_OK;
}

/* The ESP32 image, its chip and its security version (a build with both modes: its info struct is
 * large, kept out of the caller too). prefix NULL: the layout only, nothing hashed. A one-mode
 * build checks the bounds only (fota_esp_image_check_bounds): it installs nothing but the signed
 * image, proved by the chain or by the manifest's SHA-256 of the whole partition, and leaves the
 * checksum and the appended hash to the boot port, as chain mode does with every image. */
FOTA_NOINLINE static fota_err_t check_image(fota_agent_t *a, const fota_esp_image_digest_t *prefix)
{
    fota_err_t err;
    if (FOTA_ONE_MODE) {
        fota_esp_image_bounds_t img;
        err = fota_esp_image_check_bounds(read_part, a, a->part_size, &img);
        return err != FOTA_OK ? err
                              : check_claims(a, img.chip_id, img.image_len, img.secure_version);
    }
    fota_esp_image_info_t info;
    err = prefix != NULL ? fota_esp_image_check_hashed(read_part, a, a->part_size, prefix, &info)
                         : fota_esp_image_check_layout(read_part, a, a->part_size, &info);
    return err != FOTA_OK
               ? err
               : check_claims(a, info.header.chip_id, info.image_len, info.app_desc.secure_version);
}

/* The whole image is hashed but its last 32 bytes: the verdict. */
static fota_err_t judge(fota_agent_t *a)
{
    fota_esp_image_digest_t digest;
    fota_esp_image_digest_t *prefix = FOTA_ONE_MODE ? NULL : &digest;
    fota_err_t err = hash_tail(a, prefix);
    a->verify_offset = 0;
    return err == FOTA_OK ? check_image(a, prefix) : err;
}

/* Chain mode, and every record of the chain accepted by this download or the journaled one it
 * resumed: the chain has reached its end, h_N = zeros. An image verified again from the slot after
 * a rollback starts the chain over at h_0 (and a journal saved during that check keeps h_0), so it
 * never passes for one. */
static bool chain_proved(const fota_agent_t *a)
{
    return !FOTA_IS_SEED(a) && !FOTA_DELTA_ON(a) && fota_chain_at_end(&a->chain);
}

fota_err_t fota_verify_step(fota_agent_t *a, bool *done)
{
    *done = false;
    if (chain_proved(a)) {
        fota_err_t err = check_image(a, NULL);
        *done = err == FOTA_OK;
        return err;
    }
    uint32_t size = fota_image_size(a);
    uint32_t mark = size > TAIL_LEN ? size - TAIL_LEN : 0u;
    if (a->verify_offset == 0 && mbedtls_md_starts(&a->md) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    if (a->verify_offset < mark) {
        uint32_t stop = mark - a->verify_offset > FOTA_CONFIG_VERIFY_STEP
                            ? a->verify_offset + FOTA_CONFIG_VERIFY_STEP
                            : mark;
        return hash_to(a, stop);
    }
    fota_err_t err = judge(a);
    *done = err == FOTA_OK;
    return err;
}
