/*
 * image_build.c - builds ESP-IDF app images for tests, demos and benchmarks (image_build.h), the
 * second-stage bootloader image an emulated flash holds for its chip, and reads back the emulator
 * note that tells the emulated device how the "application" behaves.
 *
 * An image is laid out as ESP-IDF and esptool lay out a real app of its chip, so that the
 * device-side validator, the emulated bootloader and `esptool image_info` all see an ordinary
 * app:
 *
 *   header (24) | DROM seg: app desc, emulator note, filler | DRAM seg | IRAM seg | IROM seg
 *   | zero padding | checksum | SHA-256
 *
 * Load addresses, entry point and chip revision fields come from the chip's entry in chip.c (an
 * id the table does not know gets the ESP32's layout with that id in its header). Sizes are
 * chosen so that the file is exactly spec->size rounded up to 16: the segment data total is
 * size - 92 (four segment headers, 3 padding bytes, the checksum byte and the hash). Filler bytes
 * come from a xorshift32 stream seeded by spec->seed or a hash of the version, so an image is
 * reproducible and two versions differ nearly everywhere.
 */
#include "fota/emu/image_build.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/bytes.h"
#include "fota/emu/chip.h"

#define SEGMENTS 4u
#define SHA256_LEN 32u
/* Header, four segment headers, 3 padding bytes, checksum, hash. */
#define OVERHEAD                                                                                   \
    (FOTA_ESP_IMAGE_HEADER_LEN + SEGMENTS * FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN + 3u + 1u +          \
     SHA256_LEN)
#define MAX_SIZE 0x1000000u /* 16 MB: the largest flash an ESP32 addresses */
#define FIELD_MAX 31u       /* longest version / project name (32-byte field, NUL kept) */
#define DEFAULT_PROJECT "fota-test"

#define MMU_PAGE 0x10000u /* flash-mapped segments keep their file offset modulo 64 KB */
#define SPI_MODE_DIO 2u
#define SPI_SPEED_40M 0u
#define SPI_SIZE_4MB 2u
#define WP_PIN_DISABLED 0xEEu

/* The bootloader image: its descriptor (ESP-IDF's esp_bootloader_desc_t, 80 bytes, magic byte
 * 0x50) as the whole of one DRAM segment. */
#define BOOT_DESC_LEN 80u
#define BOOT_DESC_MAGIC 0x50u

typedef struct {
    uint32_t load_addr;
    uint32_t len;
} seg_t;

/* --- content --------------------------------------------------------------------------------- */

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != 0; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return h;
}

static uint32_t xorshift32(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static void fill(uint32_t *state, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(xorshift32(state) >> 24);
    }
}

static uint32_t seed_of(const fota_image_spec_t *spec)
{
    uint32_t seed = spec->seed != 0 ? spec->seed : fnv1a(spec->version);
    return seed != 0 ? seed : 0x9E3779B9u; /* xorshift must not start at 0 */
}

/* --- layout ---------------------------------------------------------------------------------- */

static uint32_t clamp4(uint32_t v, uint32_t lo, uint32_t hi)
{
    v &= ~3u;
    return v < lo ? lo : v > hi ? hi : v;
}

/* The chip's layout; the ESP32's for an id the table does not know. */
static const fota_emu_chip_t *layout_of(uint16_t chip_id)
{
    const fota_emu_chip_t *c = fota_emu_chip(chip_id);
    return c != NULL ? c : fota_emu_chip(FOTA_ESP_CHIP_ID_ESP32);
}

/* A flash-mapped load address: base plus the data's file offset modulo the MMU page, as
 * esptool arranges and ESP-IDF's verify_segment_header demands. */
static uint32_t mapped(uint32_t base, uint32_t file_offset)
{
    return base + file_offset % MMU_PAGE;
}

/* Split `data` bytes (a multiple of 4) over DROM, DRAM, IRAM and IROM, IROM taking most. Where
 * instructions and data share one virtual range, DROM is mapped on the page after IROM's end. */
static void plan_segments(const fota_emu_chip_t *chip, uint32_t data, seg_t seg[SEGMENTS])
{
    uint32_t desc_and_note = FOTA_ESP_APP_DESC_LEN + FOTA_EMU_NOTE_LEN;
    uint32_t drom_offset = FOTA_ESP_IMAGE_HEADER_LEN + FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN;
    seg[0] = (seg_t){0, desc_and_note + clamp4(data / 16, 0, 0x40000)};
    seg[1] = (seg_t){chip->dram, clamp4(data / 32, 4, 0x8000)};
    seg[2] = (seg_t){chip->iram, clamp4(data / 16, 4, 0x10000)};
    seg[3].len = data - seg[0].len - seg[1].len - seg[2].len;
    uint32_t offset = FOTA_ESP_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < SEGMENTS; i++) {
        offset += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN + (i < 3 ? seg[i].len : 0);
    }
    seg[3].load_addr = mapped(chip->irom_base, offset);
    uint32_t drom_base = chip->drom_base;
    if (chip->flash_shared) {
        uint32_t irom_end = seg[3].load_addr - chip->irom_base + seg[3].len;
        drom_base = chip->irom_base + (irom_end + MMU_PAGE - 1u) / MMU_PAGE * MMU_PAGE;
    }
    seg[0].load_addr = mapped(drom_base, drom_offset);
}

static bool string_ok(const char *s)
{
    return s != NULL && s[0] != 0 && strlen(s) <= FIELD_MAX;
}

static fota_err_t check_spec(const fota_image_spec_t *spec)
{
    if (!string_ok(spec->version)) {
        return FOTA_ERR_IMAGE_SPEC;
    }
    if (spec->project_name != NULL && !string_ok(spec->project_name)) {
        return FOTA_ERR_IMAGE_SPEC;
    }
    if (spec->size < FOTA_IMAGE_MIN_SIZE || spec->size > MAX_SIZE) {
        return FOTA_ERR_IMAGE_SPEC;
    }
    return FOTA_OK;
}

/* --- writing --------------------------------------------------------------------------------- */

/* The header ESP-IDF writes for an app of this chip (flash DIO 40 MHz 4 MB, hash appended). */
static void header_for(const fota_emu_chip_t *chip, uint16_t chip_id, uint8_t segments,
                       uint8_t *out)
{
    fota_esp_image_header_t h;
    memset(&h, 0, sizeof h);
    h.magic = FOTA_ESP_IMAGE_MAGIC;
    h.segment_count = segments;
    h.spi_mode = SPI_MODE_DIO;
    h.spi_speed = SPI_SPEED_40M;
    h.spi_size = SPI_SIZE_4MB;
    h.entry_addr = chip->entry;
    h.wp_pin = WP_PIN_DISABLED;
    h.chip_id = chip_id;
    h.min_chip_rev = chip->min_rev;
    h.min_chip_rev_full = chip->min_rev_full;
    h.max_chip_rev_full = chip->max_rev_full;
    h.hash_appended = 1;
    fota_esp_image_header_encode(&h, out);
}

/* The app descriptor and the emulator note that open the DROM segment. */
static void write_desc_and_note(const fota_image_spec_t *spec, uint32_t *rng, uint8_t *p)
{
    fota_esp_app_desc_t d;
    memset(&d, 0, sizeof d);
    d.magic_word = FOTA_ESP_APP_DESC_MAGIC;
    d.secure_version = spec->secure_version;
    strcpy(d.version, spec->version);
    strcpy(d.project_name, spec->project_name != NULL ? spec->project_name : DEFAULT_PROJECT);
    strcpy(d.time, "00:00:00");
    strcpy(d.date, "Jan  1 2026");
    strcpy(d.idf_ver, "v5.1-fota");
    fill(rng, d.app_elf_sha256, sizeof d.app_elf_sha256);
    fota_esp_app_desc_encode(&d, p);
    uint8_t *note = p + FOTA_ESP_APP_DESC_LEN;
    memcpy(note, FOTA_EMU_NOTE_MAGIC, 8);
    fota_put_le32(note + 8, spec->emu_flags);
    memset(note + 12, 0, 4);
}

/* Segment headers and data; returns the offset after the last segment. */
static size_t write_segments(const fota_image_spec_t *spec, const seg_t seg[SEGMENTS], uint8_t *out)
{
    uint32_t rng = seed_of(spec);
    size_t off = FOTA_ESP_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < SEGMENTS; i++) {
        fota_put_le32(out + off, seg[i].load_addr);
        fota_put_le32(out + off + 4, seg[i].len);
        off += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN;
        size_t skip = 0;
        if (i == 0) {
            write_desc_and_note(spec, &rng, out + off);
            skip = FOTA_ESP_APP_DESC_LEN + FOTA_EMU_NOTE_LEN;
        }
        fill(&rng, out + off + skip, seg[i].len - skip);
        off += seg[i].len;
    }
    return off;
}

static uint8_t segment_checksum(const seg_t *seg, unsigned n, const uint8_t *out)
{
    uint8_t sum = FOTA_ESP_CHECKSUM_INITIAL;
    size_t off = FOTA_ESP_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < n; i++) {
        off += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN;
        for (uint32_t j = 0; j < seg[i].len; j++) {
            sum ^= out[off + j];
        }
        off += seg[i].len;
    }
    return sum;
}

/* The trailer after the segments, which end at `end`: zero padding (the buffer is zeroed) up to
 * the checksum byte that ends a 16-byte block (esptool), then the SHA-256 of all before it.
 * Returns the image length, 0 on a crypto failure. */
static size_t seal(uint8_t *img, size_t end, const seg_t *seg, unsigned n)
{
    size_t pos = end + (15u - end % 16u);
    img[pos] = segment_checksum(seg, n, img);
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (md == NULL || mbedtls_md(md, img, pos + 1, img + pos + 1) != 0) {
        return 0;
    }
    return pos + 1 + SHA256_LEN;
}

fota_err_t fota_image_build(const fota_image_spec_t *spec, uint8_t **out, size_t *out_len)
{
    if (spec == NULL || out == NULL || out_len == NULL) {
        return FOTA_ERR_ARG;
    }
    fota_err_t err = check_spec(spec);
    if (err != FOTA_OK) {
        return err;
    }
    size_t total = (spec->size + 15u) & ~(size_t)15u;
    const fota_emu_chip_t *chip = layout_of(spec->chip_id);
    seg_t seg[SEGMENTS];
    plan_segments(chip, (uint32_t)(total - OVERHEAD), seg);
    uint8_t *img = calloc(1, total);
    if (img == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    header_for(chip, spec->chip_id, SEGMENTS, img);
    /* The segments end at total - 36: three zero bytes and the checksum end the block. */
    if (seal(img, write_segments(spec, seg, img), seg, SEGMENTS) != total) {
        free(img);
        return FOTA_ERR_CRYPTO;
    }
    *out = img;
    *out_len = total;
    return FOTA_OK;
}

/* --- the bootloader image -------------------------------------------------------------------- */

fota_err_t fota_image_build_bootloader(uint16_t chip_id, uint8_t **out, size_t *out_len)
{
    const fota_emu_chip_t *chip = fota_emu_chip(chip_id);
    if (out == NULL || out_len == NULL) {
        return FOTA_ERR_ARG;
    }
    if (chip == NULL) {
        return FOTA_ERR_IMAGE_SPEC;
    }
    seg_t seg = {chip->dram, BOOT_DESC_LEN};
    size_t end = FOTA_ESP_IMAGE_HEADER_LEN + FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN + BOOT_DESC_LEN;
    uint8_t *img = calloc(1, end + 16u + SHA256_LEN);
    if (img == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    header_for(chip, chip_id, 1, img);
    uint8_t *p = img + FOTA_ESP_IMAGE_HEADER_LEN;
    fota_put_le32(p, seg.load_addr);
    fota_put_le32(p + 4, seg.len);
    p += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN;
    p[0] = BOOT_DESC_MAGIC; /* magic_byte, reserved[3], version u32, idf_ver[32], date_time[24] */
    fota_put_le32(p + 4, 1);
    memcpy(p + 8, "v5.5-fota", 9);
    memcpy(p + 40, "Jan  1 2026 00:00:00", 20);
    size_t len = seal(img, end, &seg, 1);
    if (len == 0) {
        free(img);
        return FOTA_ERR_CRYPTO;
    }
    *out = img;
    *out_len = len;
    return FOTA_OK;
}

/* --- emulator note --------------------------------------------------------------------------- */

/* The reader's ways of saying "the image ends before this". */
static bool past_end(fota_err_t err)
{
    return err == FOTA_ERR_TRUNCATED || err == FOTA_ERR_IMAGE_TRUNCATED ||
           err == FOTA_ERR_IMAGE_TOO_BIG;
}

fota_err_t fota_image_emu_flags(fota_read_fn_t read, void *ctx, uint32_t *flags)
{
    uint8_t note[FOTA_EMU_NOTE_LEN];
    if (read == NULL || flags == NULL) {
        return FOTA_ERR_ARG;
    }
    *flags = 0;
    fota_err_t err = read(ctx, FOTA_EMU_NOTE_OFFSET, note, sizeof note);
    if (err != FOTA_OK) {
        return past_end(err) ? FOTA_OK : err;
    }
    if (memcmp(note, FOTA_EMU_NOTE_MAGIC, 8) == 0) {
        *flags = fota_get_le32(note + 8);
    }
    return FOTA_OK;
}
