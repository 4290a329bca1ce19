/*
 * image_build.h - build ESP-IDF app images for tests, demos and benchmarks.
 *
 * The image looks like a real app of its chip: a DROM segment starting with esp_app_desc_t at
 * file offset 0x20, followed by an emulator note; DRAM, IRAM and IROM segments of pseudo-random
 * bytes (reproducible from the seed, so two versions differ everywhere); checksum; appended
 * SHA-256. The header's chip id, entry point and revision fields and the segments' load
 * addresses are the chip's (fota/emu/chip.h): what ESP-IDF v5.5 writes for a default app.
 *
 * Emulator note (16 bytes at file offset FOTA_EMU_NOTE_OFFSET, right after the app descriptor,
 * inside the first segment): "FOTAEMU1" then flags u32 LE then 4 zero bytes. The emulated device
 * reads it when it "runs" the image: FOTA_EMU_FLAG_SELFTEST_FAIL makes the application's
 * self-test fail, so the image never confirms itself (for rollback tests). Real images have no
 * note, which reads as flags 0.
 */
#ifndef FOTA_EMU_IMAGE_BUILD_H
#define FOTA_EMU_IMAGE_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"
#include "fota/esp_image.h"

#define FOTA_EMU_NOTE_OFFSET (FOTA_ESP_APP_DESC_OFFSET + FOTA_ESP_APP_DESC_LEN)
#define FOTA_EMU_NOTE_LEN 16u
#define FOTA_EMU_NOTE_MAGIC "FOTAEMU1"
#define FOTA_EMU_FLAG_SELFTEST_FAIL 0x1u
#define FOTA_IMAGE_MIN_SIZE 1024u

typedef struct {
    const char *version;      /* esp_app_desc_t.version, <= 31 chars */
    const char *project_name; /* <= 31 chars; NULL: "fota-test" */
    uint32_t secure_version;
    uint32_t size;      /* total file size; rounded up to a multiple of 16; >= MIN_SIZE */
    uint32_t seed;      /* content; 0: derived from version */
    uint16_t chip_id;   /* FOTA_ESP_CHIP_ID_*; an id chip.h does not know: the ESP32's layout */
    uint32_t emu_flags; /* FOTA_EMU_FLAG_* */
} fota_image_spec_t;

/* Build an image; *out is malloc'd (free() it). FOTA_ERR_IMAGE_SPEC on bad parameters. */
fota_err_t fota_image_build(const fota_image_spec_t *spec, uint8_t **out, size_t *out_len);

/* The second-stage bootloader image of a chip, as the emulated flash holds it at the chip's
 * bootloader offset: one DRAM segment with ESP-IDF's esp_bootloader_desc_t, the chip's header,
 * checksum and SHA-256 (160 bytes). *out is malloc'd. FOTA_ERR_IMAGE_SPEC for an unknown chip. */
fota_err_t fota_image_build_bootloader(uint16_t chip_id, uint8_t **out, size_t *out_len);

/* Emulator flags of an image read through `read` (0 if it has no note). */
fota_err_t fota_image_emu_flags(fota_read_fn_t read, void *ctx, uint32_t *flags);

#endif /* FOTA_EMU_IMAGE_BUILD_H */
