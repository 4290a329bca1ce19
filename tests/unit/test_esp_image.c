/*
 * test_esp_image.c - the ESP-IDF app image: the device-side validator (agent/src/esp_image.c)
 * against hand-made images laid out byte by byte as esptool writes them, and the host image
 * builder (emu/image_build.c) round-tripped through the validator, with every single-byte
 * corruption and every truncation of a small image rejected for the right reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/bytes.h"
#include "fota/esp_image.h"
#include "fota/fota_config.h"
#include "fota/host/file_util.h"
#include "fota/emu/image_build.h"

#define PART_SIZE 0x140000u /* an OTA app partition of the default Arduino-ESP32 layout */

/* --- helpers --------------------------------------------------------------------------------- */

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    assert_non_null(md);
    assert_int_equal(mbedtls_md(md, p, n, out), 0);
}

static fota_err_t check_buf(const uint8_t *p, size_t len, uint32_t max_len,
                            fota_esp_image_info_t *info)
{
    fota_mem_reader_t r = {p, len};
    return fota_esp_image_check(fota_mem_read, &r, max_len, info);
}

static uint8_t *build(const char *version, uint32_t size, size_t *len)
{
    fota_image_spec_t spec = {version, NULL, 0, size, 0, FOTA_ESP_CHIP_ID_ESP32, 0};
    uint8_t *img = NULL;
    assert_int_equal(fota_image_build(&spec, &img, len), FOTA_OK);
    return img;
}

/* A hand-made segment for hand_image(). */
typedef struct {
    uint32_t load_addr;
    uint32_t len;
    const uint8_t *data;
} tseg_t;

/* Lay out an image the way esptool's save() does, written out independently of the code under
 * test: 24-byte header, {load_addr, len, data} per segment, zero padding of 15 - pos % 16 bytes,
 * the checksum (0xEF ^ every data byte), then, if asked, SHA-256 of all of that. */
static size_t hand_image(uint8_t *out, const tseg_t *seg, unsigned n, bool hash)
{
    static const uint8_t header[24] = {0xE9, 0, 0x02, 0x20, 0x00, 0x10, 0x08, 0x40, 0xEE, 0, 0, 0,
                                       0,    0, 0,    0,    0,    0x8F, 0x01, 0,    0,    0, 0, 0};
    memcpy(out, header, 24);
    out[1] = (uint8_t)n;
    out[23] = hash ? 1 : 0;
    size_t pos = 24;
    uint8_t sum = 0xEF;
    for (unsigned i = 0; i < n; i++) {
        fota_put_le32(out + pos, seg[i].load_addr);
        fota_put_le32(out + pos + 4, seg[i].len);
        pos += 8;
        memcpy(out + pos, seg[i].data, seg[i].len);
        for (uint32_t j = 0; j < seg[i].len; j++) {
            sum ^= seg[i].data[j];
        }
        pos += seg[i].len;
    }
    size_t pad = 15 - pos % 16;
    memset(out + pos, 0, pad);
    pos += pad;
    out[pos++] = sum;
    if (hash) {
        sha256(out, pos, out + pos);
        pos += 32;
    }
    return pos;
}

/* A 256-byte esp_app_desc_t written field by field at the offsets ESP-IDF defines. */
static void hand_desc(uint8_t d[256])
{
    memset(d, 0, 256);
    fota_put_le32(d, 0xABCD5432u);
    fota_put_le32(d + 4, 3);
    memcpy(d + 16, "4.5.6", 5);
    memcpy(d + 48, "hand-made", 9);
    memcpy(d + 80, "12:34:56", 8);
    memcpy(d + 96, "Feb  2 2025", 11);
    memcpy(d + 112, "v5.1.2", 6);
    for (int i = 0; i < 32; i++) {
        d[144 + i] = (uint8_t)(0xA0 + i);
    }
}

/* Where each byte of an image built by fota_image_build lies, to know the error its
 * corruption must give. */
typedef enum {
    AT_HEADER,
    AT_COUNT,
    AT_MAGIC,
    AT_SEG_ADDR,
    AT_SEG_LEN,
    AT_DATA,
    AT_PAD,
    AT_CHECKSUM,
    AT_HASH
} where_t;

static where_t where_in(const uint8_t *img, size_t len, size_t i)
{
    if (i == 0) {
        return AT_MAGIC;
    }
    if (i == 1) {
        return AT_COUNT;
    }
    if (i < 24) {
        return AT_HEADER;
    }
    size_t pos = 24;
    for (unsigned s = 0; s < img[1]; s++) {
        uint32_t seg_len = fota_get_le32(img + pos + 4);
        if (i < pos + 8) {
            return i < pos + 4 ? AT_SEG_ADDR : AT_SEG_LEN;
        }
        if (i < pos + 8 + seg_len) {
            return AT_DATA;
        }
        pos += 8 + seg_len;
    }
    if (i >= len - 32) {
        return AT_HASH;
    }
    return i == len - 33 ? AT_CHECKSUM : AT_PAD;
}

static fota_err_t expected_error(where_t w)
{
    switch (w) {
    case AT_MAGIC:
        return FOTA_ERR_IMAGE_MAGIC;
    case AT_COUNT:
        return FOTA_ERR_IMAGE_SEGMENTS;
    case AT_SEG_LEN:
        return FOTA_ERR_IMAGE_SEGMENT_LEN;
    case AT_DATA:
    case AT_CHECKSUM:
        return FOTA_ERR_IMAGE_CHECKSUM;
    default: /* header fields, load addresses, padding, the hash itself: only the hash covers */
        return FOTA_ERR_IMAGE_HASH;
    }
}

/* --- round trip ------------------------------------------------------------------------------ */

static void test_round_trip_sizes(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {1024, 4096 + 16, 65536, 1068032};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t len = 0;
        uint8_t *img = build("1.0.0", sizes[k], &len);
        assert_int_equal(len, sizes[k]);
        fota_esp_image_info_t info;
        assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);
        assert_int_equal(info.image_len, sizes[k]);
        /* The image fits a partition of exactly its size. */
        assert_int_equal(check_buf(img, len, (uint32_t)len, NULL), FOTA_OK);
        free(img);
    }
}

static void test_size_rounded_up_to_16(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 5001, &len);
    assert_int_equal(len, 5008);
    fota_esp_image_info_t info;
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);
    assert_int_equal(info.image_len, 5008);
    free(img);
}

static void test_info_fields(void **state)
{
    (void)state;
    fota_image_spec_t spec = {"2.7.1-rc1", "inverter-fw", 42, 65536, 0, FOTA_ESP_CHIP_ID_ESP32, 0};
    uint8_t *img = NULL;
    size_t len = 0;
    assert_int_equal(fota_image_build(&spec, &img, &len), FOTA_OK);
    fota_esp_image_info_t info;
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);

    assert_int_equal(info.header.magic, 0xE9);
    assert_int_equal(info.header.segment_count, 4);
    assert_int_equal(info.header.entry_addr, 0x40081000u);
    assert_int_equal(info.header.hash_appended, 1);
    assert_int_equal(info.header.chip_id, 0);
    assert_int_equal(info.header.spi_mode, 2);
    assert_int_equal(info.header.spi_speed, 0);
    assert_int_equal(info.header.spi_size, 2);
    assert_int_equal(info.header.wp_pin, 0xEE);

    assert_int_equal(info.app_desc.magic_word, FOTA_ESP_APP_DESC_MAGIC);
    assert_string_equal(info.app_desc.version, "2.7.1-rc1");
    assert_string_equal(info.app_desc.project_name, "inverter-fw");
    assert_int_equal(info.app_desc.secure_version, 42);
    assert_string_equal(info.app_desc.time, "00:00:00");
    assert_string_equal(info.app_desc.date, "Jan  1 2026");
    assert_string_equal(info.app_desc.idf_ver, "v5.1-fota");

    /* DROM first (with the descriptor at 0x20), then DRAM, IRAM, IROM holding most bytes. */
    assert_int_equal(info.segment_load_addr[0], 0x3F400020u);
    assert_int_equal(info.segment_load_addr[1], 0x3FFB0000u);
    assert_int_equal(info.segment_load_addr[2], 0x40080000u);
    assert_int_equal(info.segment_load_addr[3] & 0xFFFF0000u, 0x400D0000u);
    uint32_t total = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(info.segment_len[i] % 4, 0);
        total += info.segment_len[i];
    }
    assert_true(info.segment_len[3] > total / 2);
    assert_true(info.segment_len[0] >= FOTA_ESP_APP_DESC_LEN + FOTA_EMU_NOTE_LEN);
    /* Entry inside the IRAM region. */
    assert_true(info.header.entry_addr >= 0x40080000u && info.header.entry_addr < 0x400A0000u);
    /* Flash-mapped IROM keeps its file offset modulo the 64 KB MMU page (ESP-IDF checks this). */
    uint32_t irom_off =
        24 + 4 * 8 + info.segment_len[0] + info.segment_len[1] + info.segment_len[2];
    assert_int_equal(info.segment_load_addr[3] % 0x10000u, irom_off % 0x10000u);
    free(img);
}

static void test_default_project_and_chip_id_reported(void **state)
{
    (void)state;
    fota_image_spec_t spec = {"1.0.0", NULL, 0, 4096, 0, 9 /* ESP32-S3 */, 0};
    uint8_t *img = NULL;
    size_t len = 0;
    assert_int_equal(fota_image_build(&spec, &img, &len), FOTA_OK);
    fota_esp_image_info_t info;
    /* The validator reports the chip id; it does not enforce it. */
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);
    assert_int_equal(info.header.chip_id, 9);
    assert_int_equal(fota_get_le16(img + 12), 9);
    assert_string_equal(info.app_desc.project_name, "fota-test");
    free(img);
}

static void test_reproducible_and_versions_differ(void **state)
{
    (void)state;
    size_t la = 0, lb = 0, lc = 0;
    uint8_t *a = build("1.0.0", 65536, &la);
    uint8_t *b = build("1.0.0", 65536, &lb);
    uint8_t *c = build("1.0.1", 65536, &lc);
    assert_memory_equal(a, b, la);
    /* Past the descriptor and note, bytes of two versions agree only by chance (1 in 256). */
    size_t same = 0, from = FOTA_EMU_NOTE_OFFSET + FOTA_EMU_NOTE_LEN;
    for (size_t i = from; i < la - 33; i++) {
        same += a[i] == c[i];
    }
    assert_true(same < (la - from) / 64);
    free(a);
    free(b);
    free(c);

    fota_image_spec_t s1 = {"1.0.0", NULL, 0, 4096, 7, 0, 0};
    fota_image_spec_t s2 = {"1.0.0", NULL, 0, 4096, 8, 0, 0};
    assert_int_equal(fota_image_build(&s1, &a, &la), FOTA_OK);
    assert_int_equal(fota_image_build(&s2, &b, &lb), FOTA_OK);
    assert_int_equal(la, lb);
    assert_memory_not_equal(a + from, b + from, 64);
    free(a);
    free(b);
}

/* --- checksum, layout, hash ------------------------------------------------------------------ */

static void test_checksum_known_value_and_layout(void **state)
{
    (void)state;
    static const uint8_t data[4] = {0x01, 0x02, 0x03, 0x04};
    tseg_t seg = {0x3F400020u, 4, data};
    uint8_t img[128];
    size_t len = hand_image(img, &seg, 1, false);
    /* 24 header + 8 segment header + 4 data = 36; 15 - 36 % 16 = 11 zero bytes; checksum at 47. */
    static const uint8_t tail[16] = {0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xEB};
    assert_int_equal(len, 48);
    assert_memory_equal(img + 32, tail, 16);
    assert_int_equal(0xEF ^ 1 ^ 2 ^ 3 ^ 4, 0xEB);

    /* The checksum is right, so the only complaint is the missing app descriptor. */
    fota_esp_image_info_t info;
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_ERR_IMAGE_APP_DESC);
    assert_int_equal(info.checksum, 0xEB);
    assert_int_equal(info.image_len, 48);
    assert_int_equal(info.segment_len[0], 4);
    assert_int_equal(info.segment_load_addr[0], 0x3F400020u);

    img[47] = 0xEA;
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_ERR_IMAGE_CHECKSUM);
    assert_int_equal(info.checksum, 0xEA);
    img[47] = 0xEB;
    img[34] ^= 0x10; /* a data byte */
    assert_int_equal(check_buf(img, len, PART_SIZE, NULL), FOTA_ERR_IMAGE_CHECKSUM);
}

/* Every padding length esptool can produce for segment data (always 4-aligned): 11, 7, 3, 15. */
static void test_padding_lengths(void **state)
{
    (void)state;
    static const struct {
        uint32_t seg_len;
        size_t checksum_at;
    } cases[] = {{4, 47}, {8, 47}, {12, 47}, {16, 63}};
    uint8_t data[16];
    for (int i = 0; i < 16; i++) {
        data[i] = (uint8_t)(0x11 * i);
    }
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tseg_t seg = {0x3FFB0000u, cases[k].seg_len, data};
        uint8_t img[128];
        size_t len = hand_image(img, &seg, 1, true);
        assert_int_equal(len, cases[k].checksum_at + 1 + 32);
        for (size_t i = 32 + cases[k].seg_len; i < cases[k].checksum_at; i++) {
            assert_int_equal(img[i], 0);
        }
        fota_esp_image_info_t info;
        assert_int_equal(check_buf(img, len, (uint32_t)len, &info), FOTA_ERR_IMAGE_APP_DESC);
        assert_int_equal(info.image_len, len);
        assert_int_equal(info.checksum, img[cases[k].checksum_at]);
        /* One byte less room and the image does not fit. */
        assert_int_equal(check_buf(img, len, (uint32_t)len - 1, NULL), FOTA_ERR_IMAGE_TOO_BIG);
    }
}

static void test_hand_made_valid_image(void **state)
{
    (void)state;
    uint8_t desc[256], more[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    hand_desc(desc);
    tseg_t segs[2] = {{0x3F400020u, 256, desc}, {0x40080000u, 8, more}};
    uint8_t img[512];
    size_t len = hand_image(img, segs, 2, true);
    fota_esp_image_info_t info;
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);
    assert_int_equal(info.image_len, len);
    assert_string_equal(info.app_desc.version, "4.5.6");
    assert_string_equal(info.app_desc.project_name, "hand-made");
    assert_string_equal(info.app_desc.time, "12:34:56");
    assert_string_equal(info.app_desc.date, "Feb  2 2025");
    assert_string_equal(info.app_desc.idf_ver, "v5.1.2");
    assert_int_equal(info.app_desc.secure_version, 3);
    assert_int_equal(info.app_desc.app_elf_sha256[0], 0xA0);
    assert_int_equal(info.app_desc.app_elf_sha256[31], 0xA0 + 31);
    assert_int_equal(info.header.entry_addr, 0x40081000u);
    assert_int_equal(info.header.max_chip_rev_full, 399);
    assert_memory_equal(info.appended_sha256, img + len - 32, 32);

    /* Without the appended hash the image ends at the checksum. */
    len = hand_image(img, segs, 2, false);
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);
    assert_int_equal(info.image_len, len);
    assert_int_equal(len % 16, 0);
}

static void test_appended_sha256(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("3.1.4", 65536, &len);
    uint8_t digest[32];
    sha256(img, len - 32, digest);
    assert_memory_equal(img + len - 32, digest, 32);
    fota_esp_image_info_t info;
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);
    assert_memory_equal(info.appended_sha256, digest, 32);
    /* The checksum byte sits right before the hash, at the end of a 16-byte block, after zero
     * padding, and equals 0xEF ^ all segment data (walked here independently). */
    size_t pos = 24;
    uint8_t sum = 0xEF;
    for (unsigned s = 0; s < img[1]; s++) {
        uint32_t n = fota_get_le32(img + pos + 4);
        for (uint32_t j = 0; j < n; j++) {
            sum ^= img[pos + 8 + j];
        }
        pos += 8 + n;
    }
    size_t at = pos + (15 - pos % 16);
    assert_int_equal(at, len - 33);
    assert_int_equal(at % 16, 15);
    for (size_t i = pos; i < at; i++) {
        assert_int_equal(img[i], 0);
    }
    assert_int_equal(img[at], sum);
    assert_int_equal(info.checksum, sum);
    free(img);
}

/* --- corruption ------------------------------------------------------------------------------ */

static void test_every_byte_flip_rejected_with_reason(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 1024, &len);
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    int seen[AT_HASH + 1] = {0};
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, img, len);
        bad[i] ^= 0xFF;
        where_t w = where_in(img, len, i);
        seen[w]++;
        fota_err_t err = check_buf(bad, len, (uint32_t)len, NULL);
        if (err != expected_error(w)) {
            fail_msg("byte %zu (kind %d): %s, expected %s", i, (int)w, fota_err_name(err),
                     fota_err_name(expected_error(w)));
        }
        /* With a partition larger than the buffer, a length pointing past the buffer's end
         * fails in the reader instead; still never accepted. */
        err = check_buf(bad, len, PART_SIZE, NULL);
        assert_int_not_equal(err, FOTA_OK);
    }
    /* Every kind of byte was exercised. */
    for (int k = 0; k <= AT_HASH; k++) {
        assert_true(seen[k] > 0);
    }
    free(bad);
    free(img);
}

static void test_every_truncation_rejected(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 1024, &len);
    for (size_t n = 0; n < len; n++) {
        fota_mem_reader_t r = {img, n};
        /* The partition is larger: the reader hits the end and says so, as is. */
        assert_int_equal(fota_esp_image_check(fota_mem_read, &r, PART_SIZE, NULL),
                         FOTA_ERR_TRUNCATED);
        /* The bound is the data: the image does not fit it. */
        fota_err_t err = fota_esp_image_check(fota_mem_read, &r, (uint32_t)n, NULL);
        assert_true(err == FOTA_ERR_IMAGE_TOO_BIG || err == FOTA_ERR_IMAGE_SEGMENT_LEN);
    }
    free(img);
}

static void test_segment_len_not_multiple_of_4(void **state)
{
    (void)state;
    uint8_t desc[256];
    hand_desc(desc);
    tseg_t seg = {0x3F400020u, 256, desc};
    uint8_t img[512];
    size_t len = hand_image(img, &seg, 1, true);
    assert_int_equal(check_buf(img, len, PART_SIZE, NULL), FOTA_OK);
    for (uint32_t delta = 1; delta < 4; delta++) {
        fota_put_le32(img + 28, 256 - delta);
        fota_esp_image_info_t info;
        assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_ERR_IMAGE_SEGMENT_LEN);
        assert_int_equal(info.segment_len[0], 256 - delta);
    }
}

static void test_segment_count_limits(void **state)
{
    (void)state;
    /* 16 segments is the most ESP-IDF allows and is accepted. */
    uint8_t desc[256], word[4] = {1, 2, 3, 4};
    hand_desc(desc);
    tseg_t segs[16];
    segs[0] = (tseg_t){0x3F400020u, 256, desc};
    for (int i = 1; i < 16; i++) {
        segs[i] = (tseg_t){0x3FFB0000u + 4u * (uint32_t)i, 4, word};
    }
    uint8_t img[1024];
    size_t len = hand_image(img, segs, 16, true);
    fota_esp_image_info_t info;
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);
    assert_int_equal(info.header.segment_count, 16);
    assert_int_equal(info.segment_load_addr[15], 0x3FFB0000u + 60);

    img[1] = 17;
    assert_int_equal(check_buf(img, len, PART_SIZE, NULL), FOTA_ERR_IMAGE_SEGMENTS);
    img[1] = 0;
    assert_int_equal(check_buf(img, len, PART_SIZE, NULL), FOTA_ERR_IMAGE_SEGMENTS);
    img[1] = 16;
    img[0] = 0xE8;
    assert_int_equal(check_buf(img, len, PART_SIZE, NULL), FOTA_ERR_IMAGE_MAGIC);
}

static void test_segment_past_max_len(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 65536, &len);
    fota_esp_image_info_t info;
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);
    uint32_t irom_end = (uint32_t)len - 36; /* 3 padding bytes, checksum, hash follow */
    /* The IROM segment's data ends past the bound. */
    assert_int_equal(check_buf(img, len, irom_end - 4, NULL), FOTA_ERR_IMAGE_SEGMENT_LEN);
    /* A huge length in a segment header runs past the partition. */
    fota_put_le32(img + 28, 0x7FFFFFFCu);
    assert_int_equal(check_buf(img, len, PART_SIZE, NULL), FOTA_ERR_IMAGE_SEGMENT_LEN);
    /* Without a real bound the reader meets the end of the buffer and says so. */
    assert_int_equal(check_buf(img, len, UINT32_MAX, NULL), FOTA_ERR_TRUNCATED);
    /* A length that would wrap 32-bit offsets is caught, not wrapped. */
    fota_put_le32(img + 28, 0xFFFFFFFCu);
    assert_int_equal(check_buf(img, len, UINT32_MAX, NULL), FOTA_ERR_IMAGE_SEGMENT_LEN);
    free(img);
}

static void test_image_bigger_than_max_len(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 65536, &len);
    uint32_t n = (uint32_t)len;
    assert_int_equal(check_buf(img, len, n, NULL), FOTA_OK);
    assert_int_equal(check_buf(img, len, n - 1, NULL), FOTA_ERR_IMAGE_TOO_BIG);  /* hash */
    assert_int_equal(check_buf(img, len, n - 32, NULL), FOTA_ERR_IMAGE_TOO_BIG); /* hash */
    assert_int_equal(check_buf(img, len, n - 33, NULL), FOTA_ERR_IMAGE_TOO_BIG); /* checksum */
    assert_int_equal(check_buf(img, len, 23, NULL), FOTA_ERR_IMAGE_TOO_BIG);     /* header */
    assert_int_equal(check_buf(img, len, 30, NULL), FOTA_ERR_IMAGE_TOO_BIG);     /* segment hdr */
    assert_int_equal(check_buf(img, len, 1024, NULL), FOTA_ERR_IMAGE_SEGMENT_LEN);
    free(img);
}

static void test_app_desc_missing(void **state)
{
    (void)state;
    uint8_t desc[256];
    hand_desc(desc);
    desc[0] ^= 0x01; /* wrong magic word, but consistent checksum and hash */
    tseg_t seg = {0x3F400020u, 256, desc};
    uint8_t img[512];
    size_t len = hand_image(img, &seg, 1, true);
    assert_int_equal(check_buf(img, len, PART_SIZE, NULL), FOTA_ERR_IMAGE_APP_DESC);

    /* A first segment too short to hold the descriptor, although its first word is the magic. */
    hand_desc(desc);
    seg.len = 252;
    len = hand_image(img, &seg, 1, true);
    assert_int_equal(check_buf(img, len, PART_SIZE, NULL), FOTA_ERR_IMAGE_APP_DESC);
}

/* --- reads ----------------------------------------------------------------------------------- */

typedef struct {
    fota_mem_reader_t mem;
    size_t largest;
    uint32_t furthest;
    uint32_t fail_at; /* a read touching this offset fails with FOTA_ERR_IO */
} spy_t;

static fota_err_t spy_read(void *ctx, uint32_t offset, void *buf, size_t len)
{
    spy_t *s = ctx;
    if (len > s->largest) {
        s->largest = len;
    }
    if (offset + len > s->furthest) {
        s->furthest = offset + (uint32_t)len;
    }
    if (s->fail_at >= offset && s->fail_at < offset + len) {
        return FOTA_ERR_IO;
    }
    return fota_mem_read(&s->mem, offset, buf, len);
}

static void test_reads_are_small_and_bounded(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 65536, &len);
    spy_t spy = {{img, len}, 0, 0, UINT32_MAX};
    assert_int_equal(fota_esp_image_check(spy_read, &spy, PART_SIZE, NULL), FOTA_OK);
    assert_true(spy.largest <= FOTA_CONFIG_IMAGE_READ_BUF);
    assert_int_equal(spy.furthest, len);

    /* Nothing is read past max_len, even when the image claims more. */
    spy = (spy_t){{img, len}, 0, 0, UINT32_MAX};
    assert_int_equal(fota_esp_image_check(spy_read, &spy, 40000, NULL), FOTA_ERR_IMAGE_SEGMENT_LEN);
    assert_true(spy.furthest <= 40000);
    free(img);
}

static void test_read_error_passed_through(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 4096, &len);
    static const uint32_t at[] = {0, 24, 40, 3000, 4096 - 33, 4096 - 1};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        spy_t spy = {{img, len}, 0, 0, at[k]};
        assert_int_equal(fota_esp_image_check(spy_read, &spy, PART_SIZE, NULL), FOTA_ERR_IO);
    }
    assert_int_equal(fota_esp_image_check(NULL, NULL, PART_SIZE, NULL), FOTA_ERR_ARG);
    free(img);
}

/* --- codecs ---------------------------------------------------------------------------------- */

/* A caller that hashed the image already: its digest is taken when it covers exactly what the
 * appended hash covers (a wrong one is then refused, so it was used, not recomputed); a digest
 * of other bytes is ignored and the image hashed again. */
static void test_check_with_known_digest(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 20000, &len);
    fota_mem_reader_t r = {img, len};
    fota_esp_image_digest_t known = {(uint32_t)len - 32u, {0}};
    sha256(img, len - 32u, known.sha256);
    fota_esp_image_info_t info;
    assert_int_equal(fota_esp_image_check_hashed(fota_mem_read, &r, PART_SIZE, &known, &info),
                     FOTA_OK);
    assert_memory_equal(info.appended_sha256, known.sha256, 32);
    known.sha256[5] ^= 1u;
    assert_int_equal(fota_esp_image_check_hashed(fota_mem_read, &r, PART_SIZE, &known, NULL),
                     FOTA_ERR_IMAGE_HASH);
    known.len = (uint32_t)len - 31u; /* not where the appended hash starts */
    assert_int_equal(fota_esp_image_check_hashed(fota_mem_read, &r, PART_SIZE, &known, NULL),
                     FOTA_OK);
    img[len - 1u] ^= 1u; /* and that hash is checked */
    assert_int_equal(fota_esp_image_check_hashed(fota_mem_read, &r, PART_SIZE, &known, NULL),
                     FOTA_ERR_IMAGE_HASH);
    assert_int_equal(fota_esp_image_check_hashed(fota_mem_read, &r, PART_SIZE, NULL, NULL),
                     FOTA_ERR_IMAGE_HASH);
    free(img);
}

/* The layout check: every byte flip the full check refuses for a reason of its own (magic,
 * segments, checksum, descriptor) is refused with that reason; the flips only the appended hash
 * sees (fields nothing else checks, the hash's own bytes) pass: its value is left alone. It still
 * reads the hash into info, and an image too short for it is refused. */
static void test_check_layout(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 1024, &len);
    fota_mem_reader_t r = {img, len};
    fota_esp_image_info_t info;
    assert_int_equal(fota_esp_image_check_layout(fota_mem_read, &r, PART_SIZE, &info), FOTA_OK);
    assert_memory_equal(info.appended_sha256, img + len - 32u, 32);
    assert_int_equal(info.image_len, len);
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, img, len);
        bad[i] ^= 0xFF;
        where_t w = where_in(img, len, i);
        fota_mem_reader_t rb = {bad, len};
        fota_err_t err = fota_esp_image_check_layout(fota_mem_read, &rb, (uint32_t)len, NULL);
        fota_err_t want = expected_error(w) == FOTA_ERR_IMAGE_HASH ? FOTA_OK : expected_error(w);
        if (err != want) {
            fail_msg("byte %zu (kind %d): %s, expected %s", i, (int)w, fota_err_name(err),
                     fota_err_name(want));
        }
    }
    assert_int_equal(fota_esp_image_check_layout(fota_mem_read, &r, (uint32_t)len - 1u, NULL),
                     FOTA_ERR_IMAGE_TOO_BIG);
    free(bad);
    free(img);
}

/* The bounds walk of a one-mode agent: every byte flip the layout check refuses for the header
 * or the segment table is refused with the same reason, a flip of the descriptor's magic word
 * with FOTA_ERR_IMAGE_APP_DESC; flips of segment data, padding, checksum and hash pass (nothing
 * of them is read). Broken tables, an image too long for the bound and a descriptor outside the
 * first segment are refused; a valid image gives what the agent needs from it. */
static void test_check_bounds(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 1024, &len);
    fota_mem_reader_t r = {img, len};
    fota_esp_image_info_t full;
    fota_esp_image_bounds_t info;
    assert_int_equal(check_buf(img, len, PART_SIZE, &full), FOTA_OK);
    memset(&info, 0x5A, sizeof info);
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &r, PART_SIZE, &info), FOTA_OK);
    assert_int_equal(info.image_len, len);
    assert_int_equal(info.chip_id, full.header.chip_id);
    assert_int_equal(info.secure_version, full.app_desc.secure_version);
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, img, len);
        bad[i] ^= 0xFF;
        where_t w = where_in(img, len, i);
        fota_mem_reader_t rb = {bad, len};
        fota_err_t err = fota_esp_image_check_bounds(fota_mem_read, &rb, (uint32_t)len, &info);
        fota_err_t want = FOTA_OK;
        if (w == AT_MAGIC || w == AT_COUNT || w == AT_SEG_LEN) {
            want = expected_error(w);
        } else if (i >= FOTA_ESP_APP_DESC_OFFSET && i < FOTA_ESP_APP_DESC_OFFSET + 4) {
            want = FOTA_ERR_IMAGE_APP_DESC;
        }
        if (err != want) {
            fail_msg("byte %zu (kind %d): %s, expected %s", i, (int)w, fota_err_name(err),
                     fota_err_name(want));
        }
    }
    /* Too long for the bound: the hash, the checksum, a segment header, the header. */
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &r, (uint32_t)len - 1u, &info),
                     FOTA_ERR_IMAGE_TOO_BIG);
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &r, (uint32_t)len - 33u, &info),
                     FOTA_ERR_IMAGE_TOO_BIG);
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &r, 30, &info),
                     FOTA_ERR_IMAGE_TOO_BIG);
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &r, 23, &info),
                     FOTA_ERR_IMAGE_TOO_BIG);
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &r, 300, &info),
                     FOTA_ERR_IMAGE_SEGMENT_LEN);
    assert_int_equal(fota_esp_image_check_bounds(NULL, &r, PART_SIZE, &info), FOTA_ERR_ARG);
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &r, PART_SIZE, NULL), FOTA_ERR_ARG);
    free(bad);
    free(img);

    /* Hand-made tables: a length not a multiple of 4, a huge one, a descriptor that does not fit
     * the first segment, 0 and 17 segments; without a hash the image ends at the checksum. */
    uint8_t desc[256];
    hand_desc(desc);
    tseg_t seg = {0x3F400020u, 256, desc};
    uint8_t hand[512];
    size_t n = hand_image(hand, &seg, 1, false);
    fota_mem_reader_t rh = {hand, n};
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &rh, PART_SIZE, &info), FOTA_OK);
    assert_int_equal(info.image_len, n);
    assert_int_equal(info.secure_version, 3);
    fota_put_le32(hand + 28, 254);
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &rh, PART_SIZE, &info),
                     FOTA_ERR_IMAGE_SEGMENT_LEN);
    fota_put_le32(hand + 28, 0xFFFFFFFCu);
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &rh, UINT32_MAX, &info),
                     FOTA_ERR_IMAGE_SEGMENT_LEN);
    seg.len = 252;
    n = hand_image(hand, &seg, 1, false);
    rh.len = n;
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &rh, PART_SIZE, &info),
                     FOTA_ERR_IMAGE_APP_DESC);
    hand[1] = 0;
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &rh, PART_SIZE, &info),
                     FOTA_ERR_IMAGE_SEGMENTS);
    hand[1] = 17;
    assert_int_equal(fota_esp_image_check_bounds(fota_mem_read, &rh, PART_SIZE, &info),
                     FOTA_ERR_IMAGE_SEGMENTS);
}

/* The bounds walk reads the header, the segment headers and the descriptor's first 8 bytes, and
 * nothing else: no segment data, not the checksum, not the hash. A failed read is returned. */
typedef struct {
    fota_mem_reader_t mem;
    size_t bytes;
    uint32_t furthest;
} count_t;

static fota_err_t count_read(void *ctx, uint32_t offset, void *buf, size_t len)
{
    count_t *c = ctx;
    c->bytes += len;
    if (offset + len > c->furthest) {
        c->furthest = offset + (uint32_t)len;
    }
    return fota_mem_read(&c->mem, offset, buf, len);
}

static void test_check_bounds_reads_no_data(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *img = build("1.0.0", 65536, &len);
    count_t c = {{img, len}, 0, 0};
    fota_esp_image_bounds_t info;
    assert_int_equal(fota_esp_image_check_bounds(count_read, &c, PART_SIZE, &info), FOTA_OK);
    assert_int_equal(c.bytes, 24u + 8u * img[1] + 8u);
    assert_true(c.furthest < len - 33u);
    for (uint32_t at = 0; at < 24u + 8u; at += 8u) {
        spy_t spy = {{img, len}, 0, 0, at};
        assert_int_equal(fota_esp_image_check_bounds(spy_read, &spy, PART_SIZE, &info),
                         FOTA_ERR_IO);
    }
    spy_t spy = {{img, len}, 0, 0, FOTA_ESP_APP_DESC_OFFSET + 4u};
    assert_int_equal(fota_esp_image_check_bounds(spy_read, &spy, PART_SIZE, &info), FOTA_ERR_IO);
    free(img);
}

static void test_header_encode_parse(void **state)
{
    (void)state;
    fota_esp_image_header_t h = {0xE9,   5, 3,   0xF, 4, 0x40081234u, 0xEE, {1, 2, 3},
                                 0x0009, 1, 100, 399, 1};
    uint8_t buf[24];
    fota_esp_image_header_encode(&h, buf);
    static const uint8_t want[24] = {0xE9, 5,    3, 0x4F, 0x34, 0x12, 0x08, 0x40, 0xEE, 1, 2, 3,
                                     0x09, 0x00, 1, 100,  0,    0x8F, 0x01, 0,    0,    0, 0, 1};
    assert_memory_equal(buf, want, 24);
    fota_esp_image_header_t back;
    assert_int_equal(fota_esp_image_header_parse(buf, 24, &back), FOTA_OK);
    assert_int_equal(back.entry_addr, 0x40081234u);
    assert_int_equal(back.segment_count, 5);
    assert_int_equal(back.spi_mode, 3);
    assert_int_equal(back.spi_speed, 0xF);
    assert_int_equal(back.spi_size, 4);
    assert_int_equal(back.wp_pin, 0xEE);
    assert_memory_equal(back.spi_pin_drv, h.spi_pin_drv, 3);
    assert_int_equal(back.chip_id, 9);
    assert_int_equal(back.min_chip_rev, 1);
    assert_int_equal(back.min_chip_rev_full, 100);
    assert_int_equal(back.max_chip_rev_full, 399);
    assert_int_equal(back.hash_appended, 1);
    assert_int_equal(fota_esp_image_header_parse(buf, 23, &back), FOTA_ERR_IMAGE_TRUNCATED);
    buf[0] = 0xE8;
    assert_int_equal(fota_esp_image_header_parse(buf, 24, &back), FOTA_ERR_IMAGE_MAGIC);
}

static void test_app_desc_encode_parse(void **state)
{
    (void)state;
    fota_esp_app_desc_t d;
    memset(&d, 0, sizeof d);
    d.magic_word = FOTA_ESP_APP_DESC_MAGIC;
    d.secure_version = 0x01020304u;
    strcpy(d.version, "0123456789abcdef0123456789abcdef"); /* 32 chars: fills the field */
    strcpy(d.project_name, "p");
    strcpy(d.time, "00:00:00");
    strcpy(d.date, "Jan  1 2026");
    strcpy(d.idf_ver, "v5.1-fota");
    d.app_elf_sha256[5] = 0x55;
    uint8_t buf[256];
    memset(buf, 0xCC, sizeof buf);
    fota_esp_app_desc_encode(&d, buf);
    assert_int_equal(fota_get_le32(buf), 0xABCD5432u);
    assert_int_equal(fota_get_le32(buf + 4), 0x01020304u);
    assert_memory_equal(buf + 16, d.version, 32);
    assert_int_equal(buf[48], 'p');
    assert_int_equal(buf[49], 0);
    assert_memory_equal(buf + 80, "00:00:00", 8);
    assert_memory_equal(buf + 96, "Jan  1 2026", 11);
    assert_memory_equal(buf + 112, "v5.1-fota", 9);
    assert_int_equal(buf[144 + 5], 0x55);
    for (int i = 176; i < 256; i++) {
        assert_int_equal(buf[i], 0); /* reserved, zero-filled */
    }
    fota_esp_app_desc_t back;
    assert_int_equal(fota_esp_app_desc_parse(buf, 256, &back), FOTA_OK);
    assert_string_equal(back.version, d.version);
    assert_string_equal(back.project_name, "p");
    assert_string_equal(back.date, "Jan  1 2026");
    assert_int_equal(back.secure_version, 0x01020304u);
    assert_memory_equal(back.app_elf_sha256, d.app_elf_sha256, 32);
    buf[3] = 0;
    assert_int_equal(fota_esp_app_desc_parse(buf, 256, &back), FOTA_ERR_IMAGE_APP_DESC);
    assert_int_equal(fota_esp_app_desc_parse(buf, 255, &back), FOTA_ERR_IMAGE_TRUNCATED);
}

/* --- builder: note and spec ------------------------------------------------------------------ */

static uint32_t flags_of(const uint8_t *p, size_t len)
{
    fota_mem_reader_t r = {p, len};
    uint32_t flags = 0xDEADBEEFu;
    assert_int_equal(fota_image_emu_flags(fota_mem_read, &r, &flags), FOTA_OK);
    return flags;
}

static void test_emu_flags(void **state)
{
    (void)state;
    fota_image_spec_t spec = {"1.0.0", NULL, 0, 4096, 0, 0, FOTA_EMU_FLAG_SELFTEST_FAIL};
    uint8_t *img = NULL;
    size_t len = 0;
    assert_int_equal(fota_image_build(&spec, &img, &len), FOTA_OK);
    assert_int_equal(flags_of(img, len), FOTA_EMU_FLAG_SELFTEST_FAIL);
    assert_memory_equal(img + FOTA_EMU_NOTE_OFFSET, "FOTAEMU1\x01\0\0\0\0\0\0\0", 16);
    /* The note is segment data: still a valid image. */
    assert_int_equal(check_buf(img, len, PART_SIZE, NULL), FOTA_OK);
    /* Too short to hold the note: flags 0. */
    assert_int_equal(flags_of(img, FOTA_EMU_NOTE_OFFSET + 15), 0);
    free(img);

    spec.emu_flags = 0xA5A50000u;
    assert_int_equal(fota_image_build(&spec, &img, &len), FOTA_OK);
    assert_int_equal(flags_of(img, len), 0xA5A50000u);
    /* No magic (a real image): flags 0. */
    img[FOTA_EMU_NOTE_OFFSET + 7] = '2';
    assert_int_equal(flags_of(img, len), 0);
    free(img);

    spec.emu_flags = 0;
    assert_int_equal(fota_image_build(&spec, &img, &len), FOTA_OK);
    assert_int_equal(flags_of(img, len), 0);
    /* Other read errors are passed on. */
    spy_t spy = {{img, len}, 0, 0, FOTA_EMU_NOTE_OFFSET};
    uint32_t flags = 7;
    assert_int_equal(fota_image_emu_flags(spy_read, &spy, &flags), FOTA_ERR_IO);
    assert_int_equal(flags, 0);
    free(img);
}

static void test_spec_errors(void **state)
{
    (void)state;
    uint8_t *img = NULL;
    size_t len = 0;
    fota_image_spec_t ok = {"1.0.0", "proj", 0, FOTA_IMAGE_MIN_SIZE, 0, 0, 0};
    fota_image_spec_t s = ok;
    s.size = FOTA_IMAGE_MIN_SIZE - 1;
    assert_int_equal(fota_image_build(&s, &img, &len), FOTA_ERR_IMAGE_SPEC);
    s = ok;
    s.size = 0x1000000u + 1;
    assert_int_equal(fota_image_build(&s, &img, &len), FOTA_ERR_IMAGE_SPEC);
    s = ok;
    s.version = "0123456789012345678901234567890123"; /* 34 */
    assert_int_equal(fota_image_build(&s, &img, &len), FOTA_ERR_IMAGE_SPEC);
    s.version = "01234567890123456789012345678901"; /* 32: no room for the NUL */
    assert_int_equal(fota_image_build(&s, &img, &len), FOTA_ERR_IMAGE_SPEC);
    s.version = "";
    assert_int_equal(fota_image_build(&s, &img, &len), FOTA_ERR_IMAGE_SPEC);
    s.version = NULL;
    assert_int_equal(fota_image_build(&s, &img, &len), FOTA_ERR_IMAGE_SPEC);
    s = ok;
    s.project_name = "01234567890123456789012345678901";
    assert_int_equal(fota_image_build(&s, &img, &len), FOTA_ERR_IMAGE_SPEC);
    assert_null(img);
    assert_int_equal(fota_image_build(NULL, &img, &len), FOTA_ERR_ARG);

    /* The limits themselves are fine. */
    s = ok;
    s.version = "0123456789012345678901234567890"; /* 31 */
    s.project_name = "0123456789012345678901234567890";
    assert_int_equal(fota_image_build(&s, &img, &len), FOTA_OK);
    assert_int_equal(len, FOTA_IMAGE_MIN_SIZE);
    fota_esp_image_info_t info;
    assert_int_equal(check_buf(img, len, PART_SIZE, &info), FOTA_OK);
    assert_string_equal(info.app_desc.version, s.version);
    assert_string_equal(info.app_desc.project_name, s.project_name);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_sizes),
        cmocka_unit_test(test_size_rounded_up_to_16),
        cmocka_unit_test(test_info_fields),
        cmocka_unit_test(test_default_project_and_chip_id_reported),
        cmocka_unit_test(test_reproducible_and_versions_differ),
        cmocka_unit_test(test_checksum_known_value_and_layout),
        cmocka_unit_test(test_padding_lengths),
        cmocka_unit_test(test_hand_made_valid_image),
        cmocka_unit_test(test_appended_sha256),
        cmocka_unit_test(test_every_byte_flip_rejected_with_reason),
        cmocka_unit_test(test_every_truncation_rejected),
        cmocka_unit_test(test_segment_len_not_multiple_of_4),
        cmocka_unit_test(test_segment_count_limits),
        cmocka_unit_test(test_segment_past_max_len),
        cmocka_unit_test(test_image_bigger_than_max_len),
        cmocka_unit_test(test_app_desc_missing),
        cmocka_unit_test(test_reads_are_small_and_bounded),
        cmocka_unit_test(test_read_error_passed_through),
        cmocka_unit_test(test_check_with_known_digest),
        cmocka_unit_test(test_check_layout),
        cmocka_unit_test(test_check_bounds),
        cmocka_unit_test(test_check_bounds_reads_no_data),
        cmocka_unit_test(test_header_encode_parse),
        cmocka_unit_test(test_app_desc_encode_parse),
        cmocka_unit_test(test_emu_flags),
        cmocka_unit_test(test_spec_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
