/*
 * image_build.c - builds ESP-IDF app images for tests, demos and benchmarks (image_build.h), and
 * reads back the emulator note that tells the emulated device how the "application" behaves.
 *
 * An image is laid out as ESP-IDF and esptool lay out a real ESP32 app, so that the device-side
 * validator, the emulated bootloader and `esptool image_info` all see an ordinary app:
 *
 *   header (24) | DROM seg: app desc, emulator note, filler | DRAM seg | IRAM seg | IROM seg
 *   | zero padding | checksum | SHA-256
 *
 * Sizes are chosen so that the file is exactly spec->size rounded up to 16: the segment data
 * total is size - 92 (four segment headers, 3 padding bytes, the checksum byte and the hash).
 * Filler bytes come from a xorshift32 stream seeded by spec->seed or a hash of the version, so an
 * image is reproducible and two versions differ nearly everywhere.
 */
#include "fota/emu/image_build.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/bytes.h"

#define SEGMENTS 4u
#define SHA256_LEN 32u
/* Header, four segment headers, 3 padding bytes, checksum, hash. */
#define OVERHEAD                                                                                   \
    (FOTA_ESP_IMAGE_HEADER_LEN + SEGMENTS * FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN + 3u + 1u +          \
     SHA256_LEN)
#define MAX_SIZE 0x1000000u /* 16 MB: the largest flash an ESP32 addresses */
#define FIELD_MAX 31u       /* longest version / project name (32-byte field, NUL kept) */
#define DEFAULT_PROJECT "fota-test"

/* ESP32 memory map (ESP-IDF soc.h) and what ESP-IDF v5.1 writes for a default ESP32 app. */
#define ADDR_DROM 0x3F400020u
#define ADDR_DRAM 0x3FFB0000u
#define ADDR_IRAM 0x40080000u
#define ADDR_IROM_BASE 0x400D0000u
#define MMU_PAGE 0x10000u
#define ENTRY_ADDR 0x40081000u
#define SPI_MODE_DIO 2u
#define SPI_SPEED_40M 0u
#define SPI_SIZE_4MB 2u
#define WP_PIN_DISABLED 0xEEu
#define MAX_CHIP_REV_FULL 399u /* v3.99, CONFIG_ESP_REV_MAX_FULL of ESP-IDF v5.1 */

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

/* Split `data` bytes (a multiple of 4) over DROM, DRAM, IRAM and IROM, IROM taking most. The
 * IROM load address keeps its data offset modulo the 64 KB MMU page, as esptool arranges and
 * ESP-IDF's verify_segment_header demands for a flash-mapped segment. */
static void plan_segments(uint32_t data, seg_t seg[SEGMENTS])
{
    uint32_t desc_and_note = FOTA_ESP_APP_DESC_LEN + FOTA_EMU_NOTE_LEN;
    seg[0] = (seg_t){ADDR_DROM, desc_and_note + clamp4(data / 16, 0, 0x40000)};
    seg[1] = (seg_t){ADDR_DRAM, clamp4(data / 32, 4, 0x8000)};
    seg[2] = (seg_t){ADDR_IRAM, clamp4(data / 16, 4, 0x10000)};
    seg[3].len = data - seg[0].len - seg[1].len - seg[2].len;
    uint32_t offset = FOTA_ESP_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < SEGMENTS; i++) {
        offset += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN + (i < 3 ? seg[i].len : 0);
    }
    seg[3].load_addr = ADDR_IROM_BASE + offset % MMU_PAGE;
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

static void write_header(const fota_image_spec_t *spec, uint8_t *out)
{
    fota_esp_image_header_t h;
    memset(&h, 0, sizeof h);
    h.magic = FOTA_ESP_IMAGE_MAGIC;
    h.segment_count = SEGMENTS;
    h.spi_mode = SPI_MODE_DIO;
    h.spi_speed = SPI_SPEED_40M;
    h.spi_size = SPI_SIZE_4MB;
    h.entry_addr = ENTRY_ADDR;
    h.wp_pin = WP_PIN_DISABLED;
    h.chip_id = spec->chip_id;
    h.max_chip_rev_full = MAX_CHIP_REV_FULL;
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

static uint8_t segment_checksum(const seg_t seg[SEGMENTS], const uint8_t *out)
{
    uint8_t sum = FOTA_ESP_CHECKSUM_INITIAL;
    size_t off = FOTA_ESP_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < SEGMENTS; i++) {
        off += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN;
        for (uint32_t j = 0; j < seg[i].len; j++) {
            sum ^= out[off + j];
        }
        off += seg[i].len;
    }
    return sum;
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
    seg_t seg[SEGMENTS];
    plan_segments((uint32_t)(total - OVERHEAD), seg);
    uint8_t *img = calloc(1, total);
    if (img == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    write_header(spec, img);
    size_t end = write_segments(spec, seg, img);
    /* end % 16 == 12: three zero bytes (calloc) and the checksum end the block (esptool). */
    size_t pos = end + (15u - end % 16u);
    img[pos] = segment_checksum(seg, img);
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (md == NULL || mbedtls_md(md, img, pos + 1, img + pos + 1) != 0) {
        free(img);
        return FOTA_ERR_CRYPTO;
    }
    *out = img;
    *out_len = total;
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
