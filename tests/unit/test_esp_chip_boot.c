/*
 * test_esp_chip_boot.c - the emulated device is one chip of the ESP32 family: provisioning
 * writes the chip's second-stage bootloader at the chip's offset and the chip is read back from
 * it (a flash without one is an ESP32's); the emulated bootloader of a chip boots only images
 * built for it (an image of another chip is FOTA_ERR_IMAGE_CHIP, skipped like any invalid image:
 * fall back, or bricked), the chip check comes with the header as in ESP-IDF; rolling back on a
 * chip other than the ESP32 judges the other slot for that chip; and the emulated device hands
 * its chip to the bootloader and to the agent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/emu/bootloader.h"
#include "fota/emu/chip.h"
#include "fota/emu/emu_device.h"
#include "fota/emu/flash_emu.h"
#include "fota/emu/image_build.h"
#include "fota/emu/otadata.h"
#include "fota/emu/partition.h"
#include "fota/host/keys.h"

#define S3 FOTA_ESP_CHIP_ID_ESP32S3
#define ESP32 FOTA_ESP_CHIP_ID_ESP32
#define APP0_AT 0x10000u
#define APP1_AT 0x150000u
#define IMAGE_SIZE 16384u

typedef struct {
    uint8_t *buf;
    size_t len;
} image_t;

static image_t build(const char *version, uint16_t chip)
{
    fota_image_spec_t spec = {0};
    spec.version = version;
    spec.size = IMAGE_SIZE;
    spec.chip_id = chip;
    image_t img = {NULL, 0};
    assert_int_equal(fota_image_build(&spec, &img.buf, &img.len), FOTA_OK);
    return img;
}

static fota_flash_emu_t *flash_new(fota_flash_t *f)
{
    fota_flash_emu_t *emu = NULL;
    assert_int_equal(
        fota_flash_emu_open(NULL, FOTA_FLASH_EMU_DEFAULT_SIZE, FOTA_FLASH_EMU_STRICT, &emu),
        FOTA_OK);
    *f = fota_flash_emu_port(emu);
    return emu;
}

/* An update as the agent leaves it: the image in ota_1, set to boot. */
static void ota_to_slot1(fota_flash_emu_t *emu, const fota_flash_t *f, const image_t *img)
{
    assert_int_equal(fota_flash_emu_erase(emu, APP1_AT, 0x10000u), FOTA_OK);
    assert_int_equal(fota_flash_emu_write(emu, APP1_AT, img->buf, img->len), FOTA_OK);
    assert_int_equal(fota_ota_set_boot_slot(f, 1), FOTA_OK);
}

/* --- the chip of a flash ---------------------------------------------------------------------- */

static void test_provision_records_the_chip(void **state)
{
    (void)state;
    for (size_t i = 0; fota_esp_chip_at(i) != NULL; i++) {
        uint16_t chip = fota_esp_chip_at(i)->id;
        image_t img = build("1.0.0", chip);
        fota_flash_t f;
        fota_flash_emu_t *emu = flash_new(&f);
        assert_int_equal(fota_device_provision_chip(&f, NULL, chip, img.buf, img.len), FOTA_OK);
        uint16_t got = 0xFFFF;
        bool has = false;
        assert_int_equal(fota_device_chip(&f, &got, &has), FOTA_OK);
        assert_int_equal(got, chip);
        assert_true(has);
        /* The bootloader image at the chip's offset, nothing but erased flash at the others'. */
        uint32_t at = fota_emu_chip(chip)->bootloader_offset;
        uint8_t head[24];
        assert_int_equal(fota_flash_emu_read(emu, at, head, sizeof head), FOTA_OK);
        assert_int_equal(head[0], 0xE9);
        assert_int_equal(head[12] | head[13] << 8, chip);
        /* The device of that chip boots its image. */
        fota_boot_info_t b;
        assert_int_equal(fota_bootloader_run_chip(&f, chip, &b), FOTA_OK);
        assert_int_equal(b.slot, 0);
        assert_int_equal(b.image.header.chip_id, chip);
        fota_flash_emu_close(emu);
        free(img.buf);
    }
}

static void test_flash_without_bootloader_is_an_esp32(void **state)
{
    (void)state;
    image_t img = build("1.0.0", ESP32);
    fota_flash_t f;
    fota_flash_emu_t *emu = flash_new(&f);
    assert_int_equal(fota_device_provision(&f, NULL, img.buf, img.len), FOTA_OK);
    uint16_t got = 0xFFFF;
    bool has = true;
    assert_int_equal(fota_device_chip(&f, &got, &has), FOTA_OK);
    assert_int_equal(got, ESP32);
    assert_false(has);
    assert_int_equal(fota_device_chip(&f, &got, NULL), FOTA_OK);
    assert_int_equal(fota_device_chip(NULL, &got, NULL), FOTA_ERR_ARG);
    /* A chip the emulator does not know: refused before anything is written. */
    fota_flash_emu_t *emu2 = NULL;
    fota_flash_t f2;
    emu2 = flash_new(&f2);
    assert_int_equal(fota_device_provision_chip(&f2, NULL, 0x1234, img.buf, img.len), FOTA_ERR_ARG);
    fota_flash_stats_t st;
    fota_flash_emu_stats(emu2, &st);
    assert_int_equal(st.writes + st.erases, 0);
    fota_flash_emu_close(emu2);
    fota_flash_emu_close(emu);
    free(img.buf);
}

/* --- the bootloader of a chip ----------------------------------------------------------------- */

static void test_bootloader_refuses_another_chips_image(void **state)
{
    (void)state;
    image_t s3 = build("1.0.0", S3);
    fota_flash_t f;
    fota_flash_emu_t *emu = flash_new(&f);
    assert_int_equal(fota_device_provision_chip(&f, NULL, S3, s3.buf, s3.len), FOTA_OK);
    /* An ESP32's bootloader would find nothing to boot in an ESP32-S3's flash. */
    fota_boot_info_t b;
    assert_int_equal(fota_bootloader_run(&f, &b), FOTA_ERR_BOOT_NO_APP);
    assert_int_equal(b.rejected_slots, 2); /* the S3 image in ota_0, the erased ota_1 */
    assert_int_equal(fota_bootloader_run_chip(&f, ESP32, &b), FOTA_ERR_BOOT_NO_APP);
    assert_int_equal(fota_device_run(&f, &b), FOTA_ERR_BOOT_NO_APP);
    /* The verdict on the partition names the reason, and fills the header it read. */
    fota_part_table_t t;
    assert_int_equal(fota_part_table_read(&f, &t), FOTA_OK);
    const fota_partition_t *app0 = fota_part_find(&t, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0);
    fota_esp_image_info_t info;
    assert_int_equal(fota_boot_check_image(&f, app0, ESP32, &info), FOTA_ERR_IMAGE_CHIP);
    assert_int_equal(info.header.chip_id, S3);
    assert_int_equal(fota_boot_check_image(&f, app0, S3, &info), FOTA_OK);
    assert_int_equal(fota_boot_check_image(&f, app0, ESP32, NULL), FOTA_ERR_IMAGE_CHIP);
    /* The ESP32-S3's own bootloader boots it. */
    assert_int_equal(fota_device_run_chip(&f, S3, &b), FOTA_OK);
    assert_int_equal(b.slot, 0);
    fota_flash_emu_close(emu);
    free(s3.buf);
}

static void test_update_to_another_chips_image_falls_back(void **state)
{
    (void)state;
    image_t s3 = build("1.0.0", S3), esp32 = build("2.0.0", ESP32);
    fota_flash_t f;
    fota_flash_emu_t *emu = flash_new(&f);
    assert_int_equal(fota_device_provision_chip(&f, NULL, S3, s3.buf, s3.len), FOTA_OK);
    fota_boot_info_t b;
    assert_int_equal(fota_bootloader_run_chip(&f, S3, &b), FOTA_OK);
    ota_to_slot1(emu, &f, &esp32);
    assert_int_equal(fota_bootloader_run_chip(&f, S3, &b), FOTA_OK);
    assert_int_equal(b.selected_slot, 1);
    assert_int_equal(b.slot, 0);
    assert_true(b.fell_back);
    assert_int_equal(b.rejected_slots, 1);
    assert_string_equal(b.image.app_desc.version, "1.0.0");
    /* On an ESP32 the same flash boots the new image. */
    assert_int_equal(fota_flash_emu_erase(emu, 0xE000u, 0x2000u), FOTA_OK);
    assert_int_equal(fota_ota_set_boot_slot(&f, 1), FOTA_OK);
    assert_int_equal(fota_bootloader_run_chip(&f, ESP32, &b), FOTA_OK);
    assert_int_equal(b.slot, 1);
    fota_flash_emu_close(emu);
    free(s3.buf);
    free(esp32.buf);
}

/* ESP-IDF checks the chip with the header, before the segments: a damaged image of another chip
 * is refused for its chip; one without a header at all for its magic. */
static void test_chip_checked_with_the_header(void **state)
{
    (void)state;
    image_t s3 = build("1.0.0", S3);
    s3.buf[s3.len / 2] ^= 0xFF;
    fota_flash_t f;
    fota_flash_emu_t *emu = flash_new(&f);
    assert_int_equal(fota_device_provision_chip(&f, NULL, ESP32, s3.buf, s3.len), FOTA_OK);
    fota_partition_t app0 = {0};
    app0.offset = APP0_AT;
    app0.size = 0x140000u;
    assert_int_equal(fota_boot_check_image(&f, &app0, ESP32, NULL), FOTA_ERR_IMAGE_CHIP);
    assert_int_equal(fota_boot_check_image(&f, &app0, S3, NULL), FOTA_ERR_IMAGE_CHECKSUM);
    app0.offset = APP1_AT; /* erased: no header */
    assert_int_equal(fota_boot_check_image(&f, &app0, ESP32, NULL), FOTA_ERR_IMAGE_MAGIC);
    assert_int_equal(fota_boot_check_image(NULL, &app0, ESP32, NULL), FOTA_ERR_ARG);
    fota_flash_emu_close(emu);
    free(s3.buf);
}

/* esp_ota_mark_app_invalid_rollback on an ESP32-S3: the slot to go back to holds an S3 image,
 * valid for this chip, so the rollback is possible. */
static void test_mark_invalid_on_another_chip(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", S3), v2 = build("2.0.0", S3);
    fota_flash_t f;
    fota_flash_emu_t *emu = flash_new(&f);
    assert_int_equal(fota_device_provision_chip(&f, NULL, S3, v1.buf, v1.len), FOTA_OK);
    fota_boot_info_t b;
    assert_int_equal(fota_bootloader_run_chip(&f, S3, &b), FOTA_OK);
    ota_to_slot1(emu, &f, &v2);
    assert_int_equal(fota_bootloader_run_chip(&f, S3, &b), FOTA_OK);
    assert_int_equal(b.slot, 1);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_PENDING_VERIFY);
    assert_int_equal(fota_ota_mark_invalid(&f, &b), FOTA_OK);
    assert_int_equal(fota_bootloader_run_chip(&f, S3, &b), FOTA_OK);
    assert_int_equal(b.slot, 0);
    fota_flash_emu_close(emu);
    free(v1.buf);
    free(v2.buf);
}

/* --- the emulated device ---------------------------------------------------------------------- */

static void release_key(uint8_t *der, size_t *len)
{
    const char *dir = getenv("FOTA_TMPDIR");
    char priv[512], pub[600];
    snprintf(priv, sizeof priv, "%s/test_esp_chip_boot.%ld.pem", dir != NULL ? dir : "/tmp",
             (long)getpid());
    snprintf(pub, sizeof pub, "%s.pub", priv);
    assert_int_equal(fota_key_generate(priv, pub), FOTA_OK);
    fota_key_t *key = NULL;
    assert_int_equal(fota_key_load_public(pub, &key), FOTA_OK);
    assert_int_equal(fota_key_public_der(key, der, len), FOTA_OK);
    fota_key_free(key);
    unlink(priv);
    unlink(pub);
}

static void test_emu_device_has_its_chip(void **state)
{
    (void)state;
    image_t s3 = build("1.0.0", S3);
    fota_flash_t f;
    fota_flash_emu_t *emu = flash_new(&f);
    assert_int_equal(fota_device_provision_chip(&f, NULL, S3, s3.buf, s3.len), FOTA_OK);
    uint8_t der[FOTA_KEY_PUBLIC_DER_LEN], key[32] = {1};
    size_t der_len = sizeof der;
    release_key(der, &der_len);
    fota_emu_device_config_t cfg = {0};
    cfg.device_id = "s3-1";
    cfg.device_key = key;
    cfg.product_id = "inv-s3";
    cfg.release_key = der;
    cfg.release_key_len = der_len;
    static fota_emu_device_t d;
    bool reboot = false;
    /* The default chip is the ESP32: its bootloader finds nothing to boot here. */
    assert_int_equal(fota_emu_device_open(&d, emu, &cfg), FOTA_OK);
    assert_int_equal(fota_emu_device_power_on(&d, &reboot), FOTA_ERR_BOOT_NO_APP);
    assert_true(d.bricked);
    fota_emu_device_close(&d);
    /* Configured as an ESP32-S3: boots, and its agent takes images of that chip only. */
    cfg.chip_id = S3;
    assert_int_equal(fota_emu_device_open(&d, emu, &cfg), FOTA_OK);
    assert_int_equal(fota_emu_device_power_on(&d, &reboot), FOTA_OK);
    assert_false(d.bricked);
    assert_string_equal(d.version, "1.0.0");
    assert_int_equal(d.agent.cfg.chip_id, S3);
    fota_emu_device_close(&d);
    fota_flash_emu_close(emu);
    free(s3.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provision_records_the_chip),
        cmocka_unit_test(test_flash_without_bootloader_is_an_esp32),
        cmocka_unit_test(test_bootloader_refuses_another_chips_image),
        cmocka_unit_test(test_update_to_another_chips_image_falls_back),
        cmocka_unit_test(test_chip_checked_with_the_header),
        cmocka_unit_test(test_mark_invalid_on_another_chip),
        cmocka_unit_test(test_emu_device_has_its_chip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
