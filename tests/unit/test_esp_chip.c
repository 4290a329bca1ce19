/*
 * test_esp_chip.c - the chips of the ESP32 family: the agent's chip table (esp_image.c: ids of
 * ESP-IDF v5.5's esp_chip_id_t, target names, printed names, lookups in every spelling), the
 * emulator's per-chip facts (emu/chip.c: esptool's segment names by load address, PADDING below
 * 0x10000), and images built for each chip (emu/image_build.c): the chip id, revision fields
 * and entry point in the header, every segment where that chip's memory map says it belongs, the
 * flash-mapped segments on their MMU page offsets, the image valid for the device's validator;
 * and the bootloader image that records a flash's chip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fota/bytes.h"
#include "fota/esp_image.h"
#include "fota/host/file_util.h"
#include "fota/emu/chip.h"
#include "fota/emu/image_build.h"

#define PART_SIZE 0x140000u

/* What ESP-IDF v5.5 says of each chip it builds apps for (esp_app_format.h, Kconfig.hw_support
 * defaults, esptool_py's legacy min_rev rule), written out here independently of the code. */
static const struct {
    const char *target, *name;
    uint16_t id;
    uint8_t min_rev;
    uint16_t min_full, max_full;
    uint32_t bootloader;
} expect[] = {
    {"esp32", "ESP32", 0, 0, 0, 399, 0x1000},    {"esp32s2", "ESP32-S2", 2, 0, 0, 199, 0x1000},
    {"esp32s3", "ESP32-S3", 9, 0, 0, 99, 0x0},   {"esp32c2", "ESP32-C2", 12, 0, 100, 299, 0x0},
    {"esp32c3", "ESP32-C3", 5, 3, 3, 199, 0x0},  {"esp32c5", "ESP32-C5", 23, 0, 100, 199, 0x2000},
    {"esp32c6", "ESP32-C6", 13, 0, 0, 99, 0x0},  {"esp32c61", "ESP32-C61", 20, 0, 100, 199, 0x0},
    {"esp32h2", "ESP32-H2", 16, 0, 0, 199, 0x0}, {"esp32p4", "ESP32-P4", 18, 0, 301, 399, 0x2000},
};

#define N_CHIPS (sizeof expect / sizeof expect[0])

static const char *types(uint16_t chip, uint32_t addr)
{
    static char buf[96];
    return fota_emu_segment_types(chip, addr, buf, sizeof buf);
}

/* --- the agent's table ------------------------------------------------------------------------ */

static void test_chip_table(void **state)
{
    (void)state;
    size_t n = 0;
    while (fota_esp_chip_at(n) != NULL) {
        n++;
    }
    assert_int_equal(n, N_CHIPS);
    for (size_t i = 0; i < N_CHIPS; i++) {
        const fota_esp_chip_t *c = fota_esp_chip_by_id(expect[i].id);
        assert_non_null(c);
        assert_int_equal(c->id, expect[i].id);
        assert_string_equal(c->target, expect[i].target);
        assert_string_equal(c->name, expect[i].name);
        assert_ptr_equal(fota_esp_chip_by_name(expect[i].target), c);
        assert_ptr_equal(fota_esp_chip_by_name(expect[i].name), c);
    }
    assert_int_equal(FOTA_ESP_CHIP_ID_ESP32S3, 9);
    assert_int_equal(FOTA_ESP_CHIP_ID_ESP32C61, 20);
    assert_int_equal(FOTA_ESP_CHIP_ID_ESP32C5, 23);
    assert_int_equal(FOTA_ESP_CHIP_ID_ESP32P4, 18);
    /* Ids ESP-IDF v5.5 builds no app for (H21, H4 previews, the ESP8266's -1, INVALID). */
    assert_null(fota_esp_chip_by_id(1));
    assert_null(fota_esp_chip_by_id(0x19));
    assert_null(fota_esp_chip_by_id(0x1C));
    assert_null(fota_esp_chip_by_id(0xFFFF));
}

static void test_chip_by_name_spellings(void **state)
{
    (void)state;
    assert_int_equal(fota_esp_chip_by_name("esp32-s3")->id, 9);
    assert_int_equal(fota_esp_chip_by_name("ESP32S3")->id, 9);
    assert_int_equal(fota_esp_chip_by_name("Esp32-C61")->id, 20);
    assert_int_equal(fota_esp_chip_by_name("esp32c6")->id, 13); /* not the C61 */
    assert_int_equal(fota_esp_chip_by_name("ESP32")->id, 0);
    assert_null(fota_esp_chip_by_name("esp32c"));
    assert_null(fota_esp_chip_by_name("esp32s33"));
    assert_null(fota_esp_chip_by_name("esp8266"));
    assert_null(fota_esp_chip_by_name(""));
    assert_null(fota_esp_chip_by_name("-"));
    assert_null(fota_esp_chip_by_name(NULL));
}

/* --- segment names ---------------------------------------------------------------------------- */

static void test_segment_types(void **state)
{
    (void)state;
    /* Padding below 0x10000 on every chip, also on one the table does not know. */
    assert_string_equal(types(0, 0), "PADDING");
    assert_string_equal(types(9, 0xFFFF), "PADDING");
    assert_string_equal(types(0x1234, 0), "PADDING");
    assert_string_equal(types(0x1234, 0x3F400020u), "?");
    /* ESP32: esptool lists every range that holds the address, in its map's order. */
    assert_string_equal(types(0, 0x3F400020u), "DROM");
    assert_string_equal(types(0, 0x3FFB0000u), "BYTE_ACCESSIBLE, DRAM");
    assert_string_equal(types(0, 0x40080000u), "IRAM");
    assert_string_equal(types(0, 0x400D0020u), "IROM");
    assert_string_equal(types(0, 0x50000000u), "RTC_DATA");
    assert_string_equal(types(0, 0x400C0000u), "RTC_IRAM");
    assert_string_equal(types(0, 0x20000000u), "?");
    /* The same address is another memory on another chip. */
    assert_string_equal(types(9, 0x3C000020u), "DROM");
    assert_string_equal(types(0, 0x3C000020u), "?");
    assert_string_equal(types(9, 0x42000020u), "IROM");
    assert_string_equal(types(9, 0x40374000u), "MEM_INTERNAL, IRAM");
    assert_string_equal(types(5, 0x3C000020u), "DROM");
    assert_string_equal(types(5, 0x50000000u), "RTC_IRAM, RTC_DRAM");
    /* C6 family: instructions and data share the flash range, and the internal RAM. */
    assert_string_equal(types(13, 0x42000020u), "DROM, IROM");
    assert_string_equal(types(13, 0x40800000u), "DRAM, BYTE_ACCESSIBLE, IRAM");
    assert_string_equal(types(16, 0x42000020u), "DROM, IROM"); /* the H2 shares the C6's map */
    assert_string_equal(types(18, 0x4FF00000u), "DRAM, BYTE_ACCESSIBLE, IRAM");
    /* A buffer too small is cut, still terminated. */
    char small[6];
    assert_string_equal(fota_emu_segment_types(0, 0x3FFB0000u, small, sizeof small), "BYTE_");
}

/* --- images for each chip --------------------------------------------------------------------- */

static bool has_type(uint16_t chip, uint32_t addr, const char *type)
{
    const char *t = types(chip, addr);
    size_t n = strlen(type);
    for (const char *p = strstr(t, type); p != NULL; p = strstr(p + 1, type)) {
        if ((p == t || p[-2] == ',') && (p[n] == '\0' || p[n] == ',')) {
            return true;
        }
    }
    return false;
}

static void check_chip_image(size_t i, uint32_t size)
{
    fota_image_spec_t spec = {"3.1.4", NULL, 5, size, 0, expect[i].id, 0};
    uint8_t *img = NULL;
    size_t len = 0;
    assert_int_equal(fota_image_build(&spec, &img, &len), FOTA_OK);
    fota_mem_reader_t r = {img, len};
    fota_esp_image_info_t info;
    assert_int_equal(fota_esp_image_check(fota_mem_read, &r, PART_SIZE, &info), FOTA_OK);
    const fota_esp_image_header_t *h = &info.header;
    assert_int_equal(h->chip_id, expect[i].id);
    assert_int_equal(h->min_chip_rev, expect[i].min_rev);
    assert_int_equal(h->min_chip_rev_full, expect[i].min_full);
    assert_int_equal(h->max_chip_rev_full, expect[i].max_full);
    assert_true(has_type(expect[i].id, h->entry_addr, "IRAM"));
    uint16_t c = expect[i].id;
    const uint32_t *a = info.segment_load_addr;
    assert_true(has_type(c, a[0], "DROM"));
    assert_true(has_type(c, a[1], "DRAM"));
    assert_true(has_type(c, a[2], "IRAM"));
    assert_true(has_type(c, a[3], "IROM"));
    /* Flash-mapped segments keep their file offset modulo the 64 KB MMU page. */
    uint32_t irom_off =
        24 + 4 * 8 + info.segment_len[0] + info.segment_len[1] + info.segment_len[2];
    assert_int_equal(a[0] % 0x10000u, 0x20u);
    assert_int_equal(a[3] % 0x10000u, irom_off % 0x10000u);
    /* Where instructions and data share one range, DROM starts past the end of IROM. */
    if (a[0] > a[3]) {
        assert_true(a[0] >= a[3] + info.segment_len[3]);
    }
    /* The RAM segments end inside the chip's RAM, and do not overlap. */
    assert_true(has_type(c, a[1] + info.segment_len[1] - 4, "DRAM"));
    assert_true(has_type(c, a[2] + info.segment_len[2] - 4, "IRAM"));
    assert_true(a[1] >= a[2] + info.segment_len[2] || a[2] >= a[1] + info.segment_len[1]);
    free(img);
}

static void test_image_for_every_chip(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CHIPS; i++) {
        check_chip_image(i, FOTA_IMAGE_MIN_SIZE);
        check_chip_image(i, 300 * 1024);
        check_chip_image(i, PART_SIZE);
    }
}

static void test_unknown_chip_gets_esp32_layout(void **state)
{
    (void)state;
    fota_image_spec_t spec = {"1.0.0", NULL, 0, 8192, 0, 0x1234, 0};
    uint8_t *img = NULL, *esp32 = NULL;
    size_t len = 0, len32 = 0;
    assert_int_equal(fota_image_build(&spec, &img, &len), FOTA_OK);
    spec.chip_id = FOTA_ESP_CHIP_ID_ESP32;
    assert_int_equal(fota_image_build(&spec, &esp32, &len32), FOTA_OK);
    assert_int_equal(len, len32);
    assert_int_equal(fota_get_le16(img + 12), 0x1234);
    /* Header apart from the chip id, and every segment, as the ESP32's (not the hash). */
    assert_memory_equal(img, esp32, 12);
    assert_memory_equal(img + 14, esp32 + 14, len - 14 - 32);
    free(img);
    free(esp32);
}

/* --- the bootloader image --------------------------------------------------------------------- */

static void test_bootloader_image(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CHIPS; i++) {
        uint8_t *img = NULL;
        size_t len = 0;
        assert_int_equal(fota_image_build_bootloader(expect[i].id, &img, &len), FOTA_OK);
        assert_int_equal(len, 160);
        assert_int_equal(fota_emu_chip(expect[i].id)->bootloader_offset, expect[i].bootloader);
        fota_esp_image_header_t h;
        assert_int_equal(fota_esp_image_header_parse(img, len, &h), FOTA_OK);
        assert_int_equal(h.chip_id, expect[i].id);
        assert_int_equal(h.segment_count, 1);
        assert_int_equal(h.hash_appended, 1);
        /* One DRAM segment holding esp_bootloader_desc_t (magic byte 0x50). */
        assert_true(has_type(expect[i].id, fota_get_le32(img + 24), "DRAM"));
        assert_int_equal(fota_get_le32(img + 28), 80);
        assert_int_equal(img[32], 0x50);
        /* Its checksum and SHA-256 are right: the validator only misses an app descriptor. */
        fota_mem_reader_t r = {img, len};
        assert_int_equal(fota_esp_image_check(fota_mem_read, &r, (uint32_t)len, NULL),
                         FOTA_ERR_IMAGE_APP_DESC);
        free(img);
    }
    uint8_t *img = NULL;
    size_t len = 0;
    assert_int_equal(fota_image_build_bootloader(0x1234, &img, &len), FOTA_ERR_IMAGE_SPEC);
    assert_int_equal(fota_image_build_bootloader(0, NULL, &len), FOTA_ERR_ARG);
    assert_null(fota_emu_chip(0x1234));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chip_table),
        cmocka_unit_test(test_chip_by_name_spellings),
        cmocka_unit_test(test_segment_types),
        cmocka_unit_test(test_image_for_every_chip),
        cmocka_unit_test(test_unknown_chip_gets_esp32_layout),
        cmocka_unit_test(test_bootloader_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
