/*
 * image_info.c - `fota-image info`: walk an ESP-IDF app image held in memory and print what it
 * holds, like `esptool image_info`.
 *
 * Segment types are the memory types esptool names for the load address on the image's chip
 * (fota/emu/chip.h). The walk is the tool's own, for display: it records each field and computes
 * the checksum and the SHA-256 next to the stored ones even when they differ, and stops where the
 * file ends. The validity verdict is not made here but by fota_esp_image_check(), the code the
 * device runs.
 */
#include "image_info.h"

#include <stdbool.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/bytes.h"
#include "fota/esp_image.h"
#include "fota/host/cli.h"
#include "fota/host/file_util.h"
#include "fota/emu/chip.h"
#include "fota/emu/image_build.h"

typedef struct {
    size_t len;
    fota_esp_image_header_t header;
    unsigned n_segments; /* segments whose 8-byte header is in the file */
    uint32_t seg_offset[FOTA_ESP_IMAGE_MAX_SEGMENTS];
    uint32_t seg_load[FOTA_ESP_IMAGE_MAX_SEGMENTS];
    uint32_t seg_len[FOTA_ESP_IMAGE_MAX_SEGMENTS];
    bool segments_complete; /* every segment's data is in the file */
    uint8_t checksum_calc;
    bool has_checksum;
    size_t checksum_offset;
    uint8_t checksum_stored;
    bool has_hash;
    uint8_t hash_calc[32];
    uint8_t hash_stored[32];
} walk_t;

/* --- walk ------------------------------------------------------------------------------------ */

static uint8_t xor_bytes(uint8_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        acc ^= p[i];
    }
    return acc;
}

static void walk_segments(const uint8_t *data, walk_t *w, size_t *off)
{
    uint8_t checksum = FOTA_ESP_CHECKSUM_INITIAL;
    for (unsigned i = 0; i < w->header.segment_count; i++) {
        if (w->len - *off < FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN) {
            return;
        }
        w->seg_load[i] = fota_get_le32(data + *off);
        w->seg_len[i] = fota_get_le32(data + *off + 4);
        *off += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN;
        w->seg_offset[i] = (uint32_t)*off;
        w->n_segments = i + 1;
        if (w->seg_len[i] > w->len - *off) {
            return;
        }
        checksum = xor_bytes(checksum, data + *off, w->seg_len[i]);
        *off += w->seg_len[i];
    }
    w->segments_complete = true;
    w->checksum_calc = checksum;
}

/* The checksum is the last byte of the 16-byte block after the segments; the hash follows. */
static void walk_trailer(const uint8_t *data, walk_t *w, size_t off)
{
    size_t pos = off + (15 - off % 16);
    w->checksum_offset = pos;
    if (pos >= w->len) {
        return;
    }
    w->has_checksum = true;
    w->checksum_stored = data[pos];
    if (w->header.hash_appended != 1 || w->len - (pos + 1) < 32) {
        return;
    }
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (md == NULL || mbedtls_md(md, data, pos + 1, w->hash_calc) != 0) {
        return;
    }
    memcpy(w->hash_stored, data + pos + 1, 32);
    w->has_hash = true;
}

static bool walk(const uint8_t *data, size_t len, walk_t *w)
{
    memset(w, 0, sizeof *w);
    w->len = len;
    if (len < FOTA_ESP_IMAGE_HEADER_LEN ||
        fota_esp_image_header_parse(data, len, &w->header) != FOTA_OK) {
        return false;
    }
    size_t off = FOTA_ESP_IMAGE_HEADER_LEN;
    walk_segments(data, w, &off);
    if (w->segments_complete) {
        walk_trailer(data, w, off);
    }
    return true;
}

/* --- names ----------------------------------------------------------------------------------- */

static const char *spi_mode_name(uint8_t mode)
{
    static const char *const names[] = {"QIO", "QOUT", "DIO", "DOUT", "FAST_READ", "SLOW_READ"};
    return mode < sizeof names / sizeof names[0] ? names[mode] : "?";
}

static const char *spi_speed_name(uint8_t speed)
{
    switch (speed) {
    case 0x0:
        return "40m";
    case 0x1:
        return "26m";
    case 0x2:
        return "20m";
    case 0xF:
        return "80m";
    default:
        return "?";
    }
}

static const char *spi_size_name(uint8_t size)
{
    static const char *const names[] = {"1MB",  "2MB",  "4MB",  "8MB",
                                        "16MB", "32MB", "64MB", "128MB"};
    return size < sizeof names / sizeof names[0] ? names[size] : "?";
}

/* --- printing -------------------------------------------------------------------------------- */

static void print_header(FILE *out, const fota_esp_image_header_t *h)
{
    fprintf(out, "Image header:\n");
    fprintf(out, "  magic           0x%02x\n", h->magic);
    fprintf(out, "  segments        %u\n", h->segment_count);
    fprintf(out, "  entry address   0x%08x\n", (unsigned)h->entry_addr);
    fprintf(out, "  flash           mode %s, speed %s, size %s\n", spi_mode_name(h->spi_mode),
            spi_speed_name(h->spi_speed), spi_size_name(h->spi_size));
    fprintf(out, "  wp pin          0x%02x\n", h->wp_pin);
    char chip[FOTA_CLI_CHIP_TEXT];
    fprintf(out, "  chip            %s\n", fota_cli_chip_text(h->chip_id, chip, sizeof chip));
    fprintf(out, "  chip revision   min %u, full min v%u.%u, full max v%u.%u\n", h->min_chip_rev,
            h->min_chip_rev_full / 100u, h->min_chip_rev_full % 100u, h->max_chip_rev_full / 100u,
            h->max_chip_rev_full % 100u);
    fprintf(out, "  hash appended   %s\n", h->hash_appended == 1 ? "yes" : "no");
}

static void print_segments(FILE *out, const walk_t *w)
{
    fprintf(out, "Segments:\n  #   offset      load addr   length      type\n");
    for (unsigned i = 0; i < w->n_segments; i++) {
        bool cut = i + 1 == w->n_segments && !w->segments_complete;
        char types[96];
        fota_emu_segment_types(w->header.chip_id, w->seg_load[i], types, sizeof types);
        fprintf(out, "  %-3u 0x%08x  0x%08x  0x%08x  %s%s%s\n", i, (unsigned)w->seg_offset[i],
                (unsigned)w->seg_load[i], (unsigned)w->seg_len[i], types,
                w->seg_len[i] % 4 != 0 ? " (length not a multiple of 4)" : "",
                cut ? " (runs past the end of the file)" : "");
    }
    if (w->n_segments < w->header.segment_count) {
        fprintf(out, "  (the file ends before segment %u)\n", w->n_segments);
    }
}

static void print_integrity(FILE *out, const walk_t *w)
{
    if (!w->has_checksum) {
        fprintf(out, "Checksum:         missing (the file ends before it)\n");
        return;
    }
    bool ok = w->checksum_stored == w->checksum_calc;
    fprintf(out, "Checksum:         0x%02x at 0x%zx, computed 0x%02x: %s\n", w->checksum_stored,
            w->checksum_offset, w->checksum_calc, ok ? "valid" : "invalid");
    if (w->header.hash_appended != 1) {
        return;
    }
    if (!w->has_hash) {
        fprintf(out, "SHA-256:          missing (the file ends before it)\n");
        return;
    }
    char hex[65];
    bool hash_ok = memcmp(w->hash_stored, w->hash_calc, 32) == 0;
    fprintf(out, "SHA-256:          %s: %s\n", fota_cli_hex(w->hash_stored, 32, hex),
            hash_ok ? "valid" : "invalid");
    if (!hash_ok) {
        fprintf(out, "  computed        %s\n", fota_cli_hex(w->hash_calc, 32, hex));
    }
}

static void print_app_desc(FILE *out, const uint8_t *data, size_t len)
{
    fota_esp_app_desc_t d;
    if (len < FOTA_ESP_APP_DESC_OFFSET + FOTA_ESP_APP_DESC_LEN ||
        fota_esp_app_desc_parse(data + FOTA_ESP_APP_DESC_OFFSET, FOTA_ESP_APP_DESC_LEN, &d) !=
            FOTA_OK) {
        fprintf(out, "App descriptor:   missing (no magic 0x%08x at 0x%x)\n",
                (unsigned)FOTA_ESP_APP_DESC_MAGIC, (unsigned)FOTA_ESP_APP_DESC_OFFSET);
        return;
    }
    char hex[65];
    fprintf(out, "App descriptor:\n");
    fprintf(out, "  version         %s\n", d.version);
    fprintf(out, "  project         %s\n", d.project_name);
    fprintf(out, "  secure version  %u\n", (unsigned)d.secure_version);
    fprintf(out, "  idf             %s\n", d.idf_ver);
    fprintf(out, "  compiled        %s %s\n", d.date, d.time);
    fprintf(out, "  elf sha256      %s\n", fota_cli_hex(d.app_elf_sha256, 32, hex));
}

static void print_emu_flags(FILE *out, const uint8_t *data, size_t len)
{
    fota_mem_reader_t reader = {data, len};
    uint32_t flags = 0;
    if (fota_image_emu_flags(fota_mem_read, &reader, &flags) != FOTA_OK) {
        fprintf(out, "Emulator flags:   unreadable\n");
        return;
    }
    fprintf(out, "Emulator flags:   0x%08x (%s)\n", (unsigned)flags,
            (flags & FOTA_EMU_FLAG_SELFTEST_FAIL) ? "self-test fails: the image never confirms"
                                                  : "self-test passes");
}

void image_info_print(FILE *out, const char *path, const uint8_t *data, size_t len)
{
    walk_t w;
    fprintf(out, "File:             %s, %zu bytes\n", path, len);
    if (!walk(data, len, &w)) {
        fprintf(out, "Image header:     unreadable (%s)\n",
                len < FOTA_ESP_IMAGE_HEADER_LEN ? "file shorter than 24 bytes"
                                                : "bad magic or segment count");
        return;
    }
    print_header(out, &w.header);
    print_segments(out, &w);
    print_integrity(out, &w);
    print_app_desc(out, data, len);
    print_emu_flags(out, data, len);
}
