/*
 * verify.c - after the last chunk: read the update partition back and check it before the boot
 * slot may change. A bounded step per poll hashes FOTA_CONFIG_VERIFY_STEP bytes; when the whole
 * image is hashed its SHA-256 must equal the manifest's; then the ESP32 image itself is
 * validated (header, segments, checksum, appended hash, app descriptor), its chip id checked,
 * and its security version held against the device's floor.
 */
#include <string.h>

#include "fota/esp_image.h"

#include "agent_internal.h"

static fota_err_t read_part(void *ctx, uint32_t offset, void *buf, size_t len)
{
    const fota_agent_t *a = ctx;
    if (offset > a->part_size || len > a->part_size - offset) {
        return FOTA_ERR_IMAGE_TRUNCATED;
    }
    return fota_flash_read(&a->port.flash, a->part_offset + offset, buf, len);
}

static fota_err_t hash_some(fota_agent_t *a)
{
    uint32_t size = a->manifest.image_size;
    uint32_t stop = size - a->verify_offset > FOTA_CONFIG_VERIFY_STEP
                        ? a->verify_offset + FOTA_CONFIG_VERIFY_STEP
                        : size;
    if (a->verify_offset == 0 && mbedtls_md_starts(&a->md) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    while (a->verify_offset < stop) {
        uint32_t n = stop - a->verify_offset;
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

static fota_err_t check_image(fota_agent_t *a)
{
    fota_esp_image_info_t info;
    fota_err_t err = fota_esp_image_check(read_part, a, a->part_size, &info);
    if (err != FOTA_OK) {
        return err;
    }
    if (info.header.chip_id != FOTA_CONFIG_CHIP_ID) {
        return FOTA_ERR_IMAGE_CHIP;
    }
    if (info.image_len > a->manifest.image_size) {
        return FOTA_ERR_IMAGE_TRUNCATED;
    }
    if (info.app_desc.secure_version < a->cfg.security_floor) {
        return FOTA_ERR_SECURITY_VERSION;
    }
    return FOTA_OK;
}

fota_err_t fota_verify_step(fota_agent_t *a, bool *done)
{
    *done = false;
    fota_err_t err = hash_some(a);
    if (err != FOTA_OK || a->verify_offset < a->manifest.image_size) {
        return err;
    }
    uint8_t digest[32];
    a->verify_offset = 0;
    if (mbedtls_md_finish(&a->md, digest) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    if (memcmp(digest, a->manifest.image_sha256, 32) != 0) {
        return FOTA_ERR_IMAGE_SHA256;
    }
    err = check_image(a);
    *done = err == FOTA_OK;
    return err;
}
