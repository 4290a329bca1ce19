/*
 * fuzz_esp_image.c - libFuzzer target: ESP32 app images (agent/src/esp_image.c:
 * fota_esp_image_check over an in-memory reader, the header and app descriptor codecs; the
 * host's fota_cli_image_check, which fota-image and fota-flash use on files; the emulator note
 * reader fota_image_emu_flags).
 *
 * Input: byte 0 = flags, the rest = the image file.
 *   bit 0  put the right checksum byte in (the XOR the fuzzer would otherwise have to find)
 *   bit 1  put the right appended SHA-256 in (a fuzzer cannot find it)
 *   bit 2  the limit (partition size) is 4 KB more than the file: reads past the file fail
 *   bit 3  the limit is half the file: the image must not be read past it
 * Property (abort on violation): the validator never reads past the limit it was given, and an
 * image it accepts fits inside that limit.
 *
 * Seeds: images made by fota-image create (run.sh, several sizes, versions and options) and by
 * --make-seed DIR (fota_image_build, the same code).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/bytes.h"
#include "fota/esp_image.h"
#include "fota/host/cli.h"
#include "fota/host/file_util.h"
#include "fota/emu/image_build.h"

#include "rig.h"

#define F_FIX_CHECKSUM 0x01u
#define F_FIX_HASH 0x02u
#define F_LIMIT_MORE 0x04u
#define F_LIMIT_HALF 0x08u

typedef struct {
    fota_mem_reader_t mem;
    uint32_t limit;
} bounded_reader_t;

/* ---- seeds ----------------------------------------------------------------------------------- */

static void seed_image(const char *dir, const char *name, const char *version, uint32_t size,
                       uint32_t secure, uint32_t emu_flags, uint8_t flags)
{
    fota_image_spec_t spec = {0};
    spec.version = version;
    spec.project_name = "inverter-fw";
    spec.size = size;
    spec.secure_version = secure;
    spec.emu_flags = emu_flags;
    uint8_t *img = NULL;
    size_t len = 0;
    if (fota_image_build(&spec, &img, &len) != FOTA_OK) {
        abort();
    }
    uint8_t *buf = malloc(len + 1);
    buf[0] = flags;
    memcpy(buf + 1, img, len);
    rig_write_seed(dir, name, buf, len + 1);
    free(buf);
    free(img);
}

static void make_seeds(const char *dir)
{
    seed_image(dir, "min", "1.0.0", FOTA_IMAGE_MIN_SIZE, 0, 0, 0);
    seed_image(dir, "2k-fix", "2.0.0", 2048, 3, 0, F_FIX_CHECKSUM | F_FIX_HASH);
    seed_image(dir, "4k-selftest-fails", "3.0.0-rc1", 4096, 0, FOTA_EMU_FLAG_SELFTEST_FAIL,
               F_LIMIT_MORE);
    seed_image(dir, "3k-half-limit", "0123456789abcdef0123456789abcde", 3072, 9, 0,
               F_LIMIT_HALF | F_FIX_HASH);
}

/* ---- fixing the checksum and hash ------------------------------------------------------------ */

/* Walk the segments as far as the buffer holds them: offset of the checksum block's start, or 0
 * if the image does not get that far. *sum is the checksum of the segment data. */
static size_t walk(const uint8_t *img, size_t len, uint8_t *sum)
{
    *sum = FOTA_ESP_CHECKSUM_INITIAL;
    if (len < FOTA_ESP_IMAGE_HEADER_LEN) {
        return 0;
    }
    size_t pos = FOTA_ESP_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < img[1] && i < FOTA_ESP_IMAGE_MAX_SEGMENTS; i++) {
        if (len - pos < FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN) {
            return 0;
        }
        uint32_t n = fota_get_le32(img + pos + 4);
        pos += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN;
        if (n > len - pos) {
            return 0;
        }
        for (uint32_t k = 0; k < n; k++) {
            *sum ^= img[pos + k];
        }
        pos += n;
    }
    return pos;
}

static void fix(uint8_t *img, size_t len, uint8_t flags)
{
    uint8_t sum;
    size_t pos = walk(img, len, &sum);
    if (pos == 0) {
        return;
    }
    size_t end = pos + 16u - pos % 16u; /* just past the checksum byte */
    if ((flags & F_FIX_CHECKSUM) != 0 && end <= len) {
        img[end - 1] = sum;
    }
    if ((flags & F_FIX_HASH) != 0 && end + 32u <= len) {
        mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), img, end, img + end);
    }
}

/* ---- the target ------------------------------------------------------------------------------ */

static fota_err_t bounded_read(void *ctx, uint32_t offset, void *buf, size_t len)
{
    const bounded_reader_t *r = ctx;
    rig_require(offset <= r->limit && len <= r->limit - offset, "no read past the limit");
    return fota_mem_read((void *)&r->mem, offset, buf, len);
}

static uint32_t limit_of(uint8_t flags, size_t len)
{
    uint64_t limit = len;
    if ((flags & F_LIMIT_MORE) != 0) {
        limit += 4096u;
    }
    if ((flags & F_LIMIT_HALF) != 0) {
        limit /= 2u;
    }
    return limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    size_t len = size - 1;
    uint8_t *img = malloc(len > 0 ? len : 1);
    memcpy(img, data + 1, len);
    fix(img, len, flags);
    bounded_reader_t r = {{img, len}, limit_of(flags, len)};
    fota_esp_image_info_t info;
    bool whole = fota_esp_image_check(bounded_read, &r, r.limit, &info) == FOTA_OK;
    if (whole) {
        rig_require(info.image_len <= r.limit, "an accepted image fits its limit");
    }
    /* The bounds walk (a one-mode agent's check) reads a part of what the full check reads: an
     * image the full check accepts, it accepts, with the same length, chip and secure version. */
    fota_esp_image_bounds_t lean;
    fota_err_t lean_err = fota_esp_image_check_bounds(bounded_read, &r, r.limit, &lean);
    if (whole) {
        rig_require(lean_err == FOTA_OK && lean.image_len == info.image_len &&
                        lean.chip_id == info.header.chip_id &&
                        lean.secure_version == info.app_desc.secure_version,
                    "the bounds walk accepts what the full check accepts");
    }
    if (lean_err == FOTA_OK) {
        rig_require(lean.image_len <= r.limit, "a bounded image fits its limit");
    }
    (void)fota_esp_image_check(bounded_read, &r, r.limit, NULL);
    (void)fota_cli_image_check(img, len, r.limit, &info);
    fota_esp_image_header_t h;
    fota_esp_app_desc_t desc;
    (void)fota_esp_image_header_parse(img, len, &h);
    if (len >= FOTA_ESP_APP_DESC_OFFSET) {
        (void)fota_esp_app_desc_parse(img + FOTA_ESP_APP_DESC_OFFSET,
                                      len - FOTA_ESP_APP_DESC_OFFSET, &desc);
    }
    uint32_t emu = 0;
    (void)fota_image_emu_flags(fota_mem_read, &r.mem, &emu);
    free(img);
    return 0;
}
