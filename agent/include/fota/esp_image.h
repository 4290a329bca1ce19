/*
 * esp_image.h - the ESP-IDF app image format: parse and validate (as `esptool image_info` and
 * the ESP-IDF bootloader would), in constant RAM.
 *
 * Layout (all little-endian, from ESP-IDF's esp_app_format.h and esptool):
 *   0x00  image header, 24 bytes: magic 0xE9, segment_count (<= 16), spi_mode, spi_speed(low 4
 *         bits)|spi_size(high 4 bits), entry_addr u32, wp_pin, spi_pin_drv[3], chip_id u16
 *         (ESP32 = 0), min_chip_rev u8, min_chip_rev_full u16, max_chip_rev_full u16,
 *         reserved[4], hash_appended u8
 *   then segment_count x { load_addr u32, data_len u32, data[data_len] }, data_len % 4 == 0
 *   then zero padding so that the checksum byte is the last byte of a 16-byte block
 *   checksum = 0xEF XOR every byte of segment data (not headers)
 *   then, if hash_appended == 1, SHA-256 of every byte before it (32 bytes).
 *   esp_app_desc_t (256 bytes) at file offset 0x20 = start of the first segment's data:
 *   magic_word 0xABCD5432 (+0), secure_version (+4), reserv1[2] (+8), version[32] (+16),
 *   project_name[32] (+48), time[16] (+80), date[16] (+96), idf_ver[32] (+112),
 *   app_elf_sha256[32] (+144), reserved to 256.
 *
 * The validator reads the image through a callback in small pieces, so it runs on the device
 * (over the flash port) as well as on the host (over a file or a buffer).
 *
 * Chips: the format and otadata are the same on every chip of the ESP32 family; the header's
 * chip_id (ESP-IDF's esp_chip_id_t) says which chip an image is built for, and ESP-IDF's
 * bootloader and esp_ota_end refuse an image whose chip_id is not their own. The table below
 * names the chips ESP-IDF v5.5 builds apps for; the validator itself reports chip_id and leaves
 * the comparison to its caller (the agent's chip_id, the emulated bootloader's chip).
 */
#ifndef FOTA_ESP_IMAGE_H
#define FOTA_ESP_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_ESP_IMAGE_MAGIC 0xE9u
#define FOTA_ESP_IMAGE_HEADER_LEN 24u
#define FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN 8u
#define FOTA_ESP_IMAGE_MAX_SEGMENTS 16u
#define FOTA_ESP_CHECKSUM_INITIAL 0xEFu
/* esp_chip_id_t of ESP-IDF v5.5 (esp_app_format.h). */
#define FOTA_ESP_CHIP_ID_ESP32 0x0000u
#define FOTA_ESP_CHIP_ID_ESP32S2 0x0002u
#define FOTA_ESP_CHIP_ID_ESP32C3 0x0005u
#define FOTA_ESP_CHIP_ID_ESP32S3 0x0009u
#define FOTA_ESP_CHIP_ID_ESP32C2 0x000Cu
#define FOTA_ESP_CHIP_ID_ESP32C6 0x000Du
#define FOTA_ESP_CHIP_ID_ESP32H2 0x0010u
#define FOTA_ESP_CHIP_ID_ESP32P4 0x0012u
#define FOTA_ESP_CHIP_ID_ESP32C61 0x0014u
#define FOTA_ESP_CHIP_ID_ESP32C5 0x0017u
#define FOTA_ESP_APP_DESC_MAGIC 0xABCD5432u
#define FOTA_ESP_APP_DESC_OFFSET 0x20u
#define FOTA_ESP_APP_DESC_LEN 256u

typedef struct {
    uint8_t magic;
    uint8_t segment_count;
    uint8_t spi_mode;
    uint8_t spi_speed; /* low nibble of byte 3 */
    uint8_t spi_size;  /* high nibble of byte 3 */
    uint32_t entry_addr;
    uint8_t wp_pin;
    uint8_t spi_pin_drv[3];
    uint16_t chip_id;
    uint8_t min_chip_rev;
    uint16_t min_chip_rev_full;
    uint16_t max_chip_rev_full;
    uint8_t hash_appended;
} fota_esp_image_header_t;

typedef struct {
    uint32_t magic_word;
    uint32_t secure_version;
    char version[33]; /* NUL-terminated copies of the fixed-size fields */
    char project_name[33];
    char time[17];
    char date[17];
    char idf_ver[33];
    uint8_t app_elf_sha256[32];
} fota_esp_app_desc_t;

typedef struct {
    fota_esp_image_header_t header;
    fota_esp_app_desc_t app_desc;
    uint32_t segment_load_addr[FOTA_ESP_IMAGE_MAX_SEGMENTS];
    uint32_t segment_len[FOTA_ESP_IMAGE_MAX_SEGMENTS];
    uint32_t image_len;          /* total bytes including checksum padding and appended hash */
    uint8_t checksum;            /* the stored (and verified) checksum byte */
    uint8_t appended_sha256[32]; /* valid if header.hash_appended */
} fota_esp_image_info_t;

/* A chip of the family. */
typedef struct {
    uint16_t id;        /* the header's chip_id */
    const char *target; /* ESP-IDF's target name (IDF_TARGET): "esp32s3" */
    const char *name;   /* the chip's name as Espressif and esptool print it: "ESP32-S3" */
} fota_esp_chip_t;

/* The chip with this chip id, NULL for an id ESP-IDF v5.5 builds no app for. */
const fota_esp_chip_t *fota_esp_chip_by_id(uint16_t id);

/* The chip with this target name or printed name, in any case, with or without the dash
 * ("esp32s3", "ESP32-S3", "esp32-s3"); NULL for none. */
const fota_esp_chip_t *fota_esp_chip_by_name(const char *name);

/* The i-th chip in chip id order, NULL from the last one on: for listings. */
const fota_esp_chip_t *fota_esp_chip_at(size_t i);

/* Reads len bytes at offset of the image into buf. */
typedef fota_err_t (*fota_read_fn_t)(void *ctx, uint32_t offset, void *buf, size_t len);

/* Decode / encode the 24-byte header. Parse checks only the magic (FOTA_ERR_IMAGE_MAGIC) and the
 * segment count (FOTA_ERR_IMAGE_SEGMENTS). */
fota_err_t fota_esp_image_header_parse(const uint8_t *buf, size_t len,
                                       fota_esp_image_header_t *out);
void fota_esp_image_header_encode(const fota_esp_image_header_t *h, uint8_t out[24]);

/* Decode / encode the 256-byte esp_app_desc_t. Parse fails with FOTA_ERR_IMAGE_APP_DESC on a wrong
 * magic word. Encode zero-fills reserved bytes and truncates strings to their field. */
fota_err_t fota_esp_app_desc_parse(const uint8_t *buf, size_t len, fota_esp_app_desc_t *out);
void fota_esp_app_desc_encode(const fota_esp_app_desc_t *d, uint8_t out[256]);

/*
 * Validate a whole image of at most max_len bytes (the partition size): header, every segment
 * header (FOTA_ERR_IMAGE_SEGMENT_LEN if a length is not a multiple of 4 or runs past max_len),
 * the checksum (FOTA_ERR_IMAGE_CHECKSUM), the appended SHA-256 (FOTA_ERR_IMAGE_HASH), the app
 * descriptor (FOTA_ERR_IMAGE_APP_DESC). A read failure is returned as is. Uses a small stack
 * buffer; fills *out (may be NULL).
 */
fota_err_t fota_esp_image_check(fota_read_fn_t read, void *ctx, uint32_t max_len,
                                fota_esp_image_info_t *out);

/* The SHA-256 of an image's first len bytes, computed by the caller. */
typedef struct {
    uint32_t len;
    uint8_t sha256[32];
} fota_esp_image_digest_t;

/*
 * The same check, for a caller that has hashed the image already: if the appended hash starts at
 * known->len (the image is known->len + 32 bytes long), known->sha256 is what it must equal and
 * the image is not hashed again; otherwise the check reads the bytes the appended hash covers
 * once more and hashes them. known may be NULL (then it is fota_esp_image_check).
 */
fota_err_t fota_esp_image_check_hashed(fota_read_fn_t read, void *ctx, uint32_t max_len,
                                       const fota_esp_image_digest_t *known,
                                       fota_esp_image_info_t *out);

/*
 * The check without the appended hash's value: header, segments, checksum, app descriptor, and an
 * appended hash present where the header says (its bytes in out->appended_sha256), but not
 * compared with the image: nothing is hashed. For a caller that has proved the bytes are the
 * intended image by other means; ESP-IDF's esp_ota_set_boot_partition and its bootloader check
 * the hash itself.
 */
fota_err_t fota_esp_image_check_layout(fota_read_fn_t read, void *ctx, uint32_t max_len,
                                       fota_esp_image_info_t *out);

/* What the bounds walk reports: what an agent holds against its own chip and floor. */
typedef struct {
    uint16_t chip_id;        /* the header's */
    uint32_t secure_version; /* the app descriptor's */
    uint32_t image_len;      /* total bytes including checksum padding and appended hash */
} fota_esp_image_bounds_t;

/*
 * Less again, for a one-mode agent, which has proved the bytes otherwise: the header's magic and
 * segment count, the segment table (lengths a multiple of 4, within max_len), room for the
 * checksum block and, where the header says, the appended hash, and the app descriptor's magic
 * word; the segment data is skipped, not read: neither the checksum nor the hash is computed or
 * read. Reads the header, the segment headers and the descriptor's first 8 bytes, nothing else.
 * Errors as fota_esp_image_check_layout but for FOTA_ERR_IMAGE_CHECKSUM, never returned. Fills
 * *out (zeroed on an error); out must not be NULL (FOTA_ERR_ARG).
 */
fota_err_t fota_esp_image_check_bounds(fota_read_fn_t read, void *ctx, uint32_t max_len,
                                       fota_esp_image_bounds_t *out);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_ESP_IMAGE_H */
