/*
 * test_bootloader.c - the emulated ESP32 bootloader with app rollback and the esp_ota_ops
 * equivalents, on the real emulated flash, partition table and image builder: first boot,
 * update and confirm, rollback without a confirmation or after a failing self-test, fall back
 * over corrupt images, bricking, damaged otadata, a factory app, three OTA slots, and a power cut
 * at every flash operation of fota_ota_set_boot_slot (and of a boot) that must never brick.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/emu/bootloader.h"
#include "fota/emu/flash_emu.h"
#include "fota/emu/image_build.h"
#include "fota/emu/otadata.h"
#include "fota/emu/partition.h"

#define OTADATA_AT 0xE000u /* in the default table */
#define APP0_AT 0x10000u
#define APP1_AT 0x150000u
#define IMAGE_SIZE 16384u

typedef struct {
    fota_flash_emu_t *emu;
    fota_flash_t f;
} emu_device_t;

typedef struct {
    uint8_t *buf;
    size_t len;
} image_t;

static image_t build(const char *version, uint32_t emu_flags)
{
    fota_image_spec_t spec = {0};
    spec.version = version;
    spec.size = IMAGE_SIZE;
    spec.chip_id = FOTA_ESP_CHIP_ID_ESP32;
    spec.emu_flags = emu_flags;
    image_t img = {NULL, 0};
    assert_int_equal(fota_image_build(&spec, &img.buf, &img.len), FOTA_OK);
    return img;
}

static void dev_open(emu_device_t *d, uint32_t size)
{
    d->emu = NULL;
    assert_int_equal(fota_flash_emu_open(NULL, size, FOTA_FLASH_EMU_STRICT, &d->emu), FOTA_OK);
    d->f = fota_flash_emu_port(d->emu);
}

/* A device with the default table (or t) and `img` in ota_0, never booted. */
static void dev_provision(emu_device_t *d, const fota_part_table_t *t, const image_t *img)
{
    dev_open(d, FOTA_FLASH_EMU_DEFAULT_SIZE);
    assert_int_equal(fota_device_provision(&d->f, t, img->buf, img->len), FOTA_OK);
}

static void dev_close(emu_device_t *d)
{
    fota_flash_emu_close(d->emu);
    d->emu = NULL;
}

/* Write an image into the partition at `at` as an OTA download would: erase, then write. */
static void write_at(emu_device_t *d, uint32_t at, const uint8_t *buf, size_t len)
{
    uint32_t span = (uint32_t)((len + FOTA_FLASH_SECTOR_SIZE - 1) / FOTA_FLASH_SECTOR_SIZE) *
                    FOTA_FLASH_SECTOR_SIZE;
    assert_int_equal(fota_flash_emu_erase(d->emu, at, span), FOTA_OK);
    assert_int_equal(fota_flash_emu_write(d->emu, at, buf, len), FOTA_OK);
}

/* Write `img` with one byte inverted in the middle of its segment data. */
static void write_corrupt(emu_device_t *d, uint32_t at, const image_t *img)
{
    uint8_t *copy = malloc(img->len);
    assert_non_null(copy);
    memcpy(copy, img->buf, img->len);
    copy[img->len / 2] ^= 0xFF;
    write_at(d, at, copy, img->len);
    free(copy);
}

/* Bit rot after the fact: clear the bits of one byte in place (NOR can do that without erase). */
static void rot_byte(emu_device_t *d, uint32_t addr)
{
    uint8_t b;
    assert_int_equal(fota_flash_emu_read(d->emu, addr, &b, 1), FOTA_OK);
    assert_int_not_equal(b, 0);
    uint8_t cleared = 0;
    fota_flash_emu_set_strict(d->emu, false);
    assert_int_equal(fota_flash_emu_write(d->emu, addr, &cleared, 1), FOTA_OK);
    fota_flash_emu_set_strict(d->emu, true);
}

static void read_entries(emu_device_t *d, fota_ota_entry_t e[2])
{
    assert_int_equal(fota_otadata_read(&d->f, OTADATA_AT, e), FOTA_OK);
}

static void assert_entry(const fota_ota_entry_t *e, uint32_t seq, uint32_t state)
{
    assert_int_equal(e->ota_seq, seq);
    assert_int_equal(e->ota_state, state);
    assert_true(fota_ota_entry_crc_ok(e));
}

static void assert_erased(const fota_ota_entry_t *e)
{
    assert_int_equal(e->ota_seq, 0xFFFFFFFFu);
    assert_int_equal(e->ota_state, 0xFFFFFFFFu);
    assert_int_equal(e->crc, 0xFFFFFFFFu);
}

static fota_boot_info_t boot_ok(emu_device_t *d, int slot)
{
    fota_boot_info_t b;
    fota_err_t err = fota_bootloader_run(&d->f, &b);
    if (err != FOTA_OK) {
        fail_msg("boot failed: %s", fota_err_name(err));
    }
    assert_int_equal(b.slot, slot);
    return b;
}

/* v1 in ota_0, booted once; v2 (or the given image) in ota_1 and selected: the state right after
 * an OTA download, before the reboot. */
static void dev_updated(emu_device_t *d, const image_t *v1, const image_t *v2)
{
    dev_provision(d, NULL, v1);
    boot_ok(d, 0);
    write_at(d, APP1_AT, v2->buf, v2->len);
    assert_int_equal(fota_ota_set_boot_slot(&d->f, 1), FOTA_OK);
}

static fota_part_table_t table_from(const char *csv)
{
    fota_part_table_t t;
    int line = 0;
    char msg[160];
    fota_err_t err = fota_part_table_from_csv(csv, &t, &line, msg, sizeof msg);
    if (err != FOTA_OK) {
        fail_msg("csv line %d: %s", line, msg);
    }
    return t;
}

static const char FACTORY_CSV[] = "nvs,      data, nvs,     0x9000,   0x4000,\n"
                                  "otadata,  data, ota,     0xd000,   0x2000,\n"
                                  "phy_init, data, phy,     0xf000,   0x1000,\n"
                                  "factory,  app,  factory, 0x10000,  0x100000,\n"
                                  "ota_0,    app,  ota_0,   0x110000, 0x100000,\n"
                                  "ota_1,    app,  ota_1,   0x210000, 0x100000,\n";
#define F_FACTORY_AT 0x10000u
#define F_OTA0_AT 0x110000u
#define F_OTA1_AT 0x210000u
#define F_OTADATA_AT 0xD000u

static const char THREE_CSV[] = "nvs,      data, nvs,     0x9000,   0x5000,\n"
                                "otadata,  data, ota,     0xe000,   0x2000,\n"
                                "ota_0,    app,  ota_0,   0x10000,  0x100000,\n"
                                "ota_1,    app,  ota_1,   0x110000, 0x100000,\n"
                                "ota_2,    app,  ota_2,   0x210000, 0x100000,\n";
#define T_OTA1_AT 0x110000u
#define T_OTA2_AT 0x210000u

/* --- first boot ------------------------------------------------------------------------------ */

/* Blank otadata and no factory app: ota_0 boots, and the bootloader writes seq 1 VALID into
 * copy 0 (set_actual_ota_seq), so the next update has a seq to count from. */
static void test_fresh_flash_boots_ota_0(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0);
    emu_device_t d;
    dev_provision(&d, NULL, &v1);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_erased(&e[0]);
    assert_erased(&e[1]);

    fota_boot_info_t b = boot_ok(&d, 0);
    assert_int_equal(b.selected_slot, 0);
    assert_false(b.fell_back);
    assert_int_equal(b.aborted_slot, -1);
    assert_int_equal(b.rejected_slots, 0);
    assert_string_equal(b.image.app_desc.version, "1.0.0");
    assert_string_equal(b.partition.label, "app0");
    assert_int_equal(b.partition.offset, APP0_AT);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_VALID);
    read_entries(&d, e);
    assert_entry(&e[0], 1, FOTA_OTA_IMG_VALID);
    assert_erased(&e[1]);

    /* The second boot changes nothing. */
    fota_flash_emu_reset_stats(d.emu);
    b = boot_ok(&d, 0);
    fota_flash_stats_t st;
    fota_flash_emu_stats(d.emu, &st);
    assert_int_equal(st.writes, 0);
    assert_int_equal(st.erases, 0);
    dev_close(&d);
    free(v1.buf);
}

static void test_provision_layout_and_errors(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0);
    emu_device_t d;
    dev_open(&d, FOTA_FLASH_EMU_DEFAULT_SIZE);
    /* Leftovers from an earlier life: provisioning erases otadata. */
    fota_ota_entry_t old;
    fota_ota_entry_make(&old, 9, FOTA_OTA_IMG_VALID);
    assert_int_equal(fota_otadata_write(&d.f, OTADATA_AT, 1, &old), FOTA_OK);
    assert_int_equal(fota_device_provision(&d.f, NULL, v1.buf, v1.len), FOTA_OK);

    fota_part_table_t t;
    assert_int_equal(fota_part_table_read(&d.f, &t), FOTA_OK);
    fota_part_table_t def;
    fota_part_table_default(&def);
    assert_int_equal(t.count, def.count);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_erased(&e[1]);
    uint8_t *back = malloc(v1.len);
    assert_non_null(back);
    assert_int_equal(fota_flash_emu_read(d.emu, APP0_AT, back, v1.len), FOTA_OK);
    assert_memory_equal(back, v1.buf, v1.len);
    free(back);

    /* Too big for ota_0 (0x140000). */
    size_t big_len = 0x140000u + 16u;
    uint8_t *big = calloc(1, big_len);
    assert_non_null(big);
    boot_ok(&d, 0); /* writes seq 1 into copy 0 */
    assert_int_equal(fota_device_provision(&d.f, NULL, big, big_len), FOTA_ERR_IMAGE_TOO_BIG);
    free(big);
    read_entries(&d, e); /* refused before anything was erased */
    assert_entry(&e[0], 1, FOTA_OTA_IMG_VALID);
    /* A table that does not fit the flash. */
    emu_device_t small;
    dev_open(&small, 0x100000u);
    assert_int_not_equal(fota_device_provision(&small.f, NULL, v1.buf, v1.len), FOTA_OK);
    dev_close(&small);
    assert_int_equal(fota_device_provision(NULL, NULL, v1.buf, v1.len), FOTA_ERR_ARG);
    dev_close(&d);
    free(v1.buf);
}

/* --- update, confirm, rollback --------------------------------------------------------------- */

static void test_set_boot_slot_boots_pending(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_entry(&e[0], 1, FOTA_OTA_IMG_VALID);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_NEW);

    fota_boot_info_t b = boot_ok(&d, 1);
    assert_int_equal(b.selected_slot, 1);
    assert_false(b.fell_back);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_PENDING_VERIFY);
    assert_string_equal(b.image.app_desc.version, "2.0.0");
    assert_string_equal(b.partition.label, "app1");
    read_entries(&d, e);
    assert_entry(&e[0], 1, FOTA_OTA_IMG_VALID);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_PENDING_VERIFY);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

static void test_confirm_keeps_new_slot(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    fota_boot_info_t b = boot_ok(&d, 1);
    assert_int_equal(fota_ota_mark_valid(&d.f, &b), FOTA_OK);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_VALID);
    /* Confirming again is a no-op that writes nothing. */
    fota_flash_emu_reset_stats(d.emu);
    assert_int_equal(fota_ota_mark_valid(&d.f, &b), FOTA_OK);
    fota_flash_stats_t st;
    fota_flash_emu_stats(d.emu, &st);
    assert_int_equal(st.erases, 0);

    for (int i = 0; i < 3; i++) {
        b = boot_ok(&d, 1);
        assert_int_equal(b.ota_state, FOTA_OTA_IMG_VALID);
        assert_int_equal(b.aborted_slot, -1);
    }
    /* The next update goes to ota_0 with seq 3. */
    fota_partition_t p;
    int slot = -1;
    assert_int_equal(fota_ota_next_update_partition(&d.f, &b, &p, &slot), FOTA_OK);
    assert_int_equal(slot, 0);
    assert_int_equal(p.offset, APP0_AT);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 0), FOTA_OK);
    read_entries(&d, e);
    assert_entry(&e[0], 3, FOTA_OTA_IMG_NEW);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_VALID);
    b = boot_ok(&d, 0);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_PENDING_VERIFY);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

static void test_no_confirm_rolls_back(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    boot_ok(&d, 1); /* PENDING_VERIFY, and then a reset without a confirmation */

    fota_boot_info_t b = boot_ok(&d, 0);
    assert_int_equal(b.aborted_slot, 1);
    assert_int_equal(b.selected_slot, 0);
    assert_false(b.fell_back);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_VALID);
    assert_string_equal(b.image.app_desc.version, "1.0.0");
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_entry(&e[0], 1, FOTA_OTA_IMG_VALID);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_ABORTED);

    b = boot_ok(&d, 0);
    assert_int_equal(b.aborted_slot, -1);
    /* Confirming the old image now is a no-op: it is VALID. */
    assert_int_equal(fota_ota_mark_valid(&d.f, &b), FOTA_OK);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

static void test_selftest_failure_rolls_back_through_device_run(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), bad = build("9.9.9", FOTA_EMU_FLAG_SELFTEST_FAIL);
    emu_device_t d;
    dev_updated(&d, &v1, &bad);
    fota_boot_info_t b;
    assert_int_equal(fota_device_run(&d.f, &b), FOTA_ERR_BOOT_SELFTEST);
    assert_int_equal(b.slot, 1);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_PENDING_VERIFY);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_PENDING_VERIFY); /* not confirmed */

    assert_int_equal(fota_device_run(&d.f, &b), FOTA_OK);
    assert_int_equal(b.slot, 0);
    assert_int_equal(b.aborted_slot, 1);
    assert_string_equal(b.image.app_desc.version, "1.0.0");
    assert_int_equal(fota_device_run(&d.f, &b), FOTA_OK);
    assert_int_equal(b.slot, 0);
    assert_int_equal(b.aborted_slot, -1);
    read_entries(&d, e);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_ABORTED);
    dev_close(&d);
    free(v1.buf);
    free(bad.buf);
}

static void test_device_run_confirms_passing_image(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    fota_boot_info_t b;
    assert_int_equal(fota_device_run(&d.f, &b), FOTA_OK);
    assert_int_equal(b.slot, 1);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_VALID);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_VALID);
    assert_int_equal(fota_device_run(&d.f, &b), FOTA_OK);
    assert_int_equal(b.slot, 1);
    assert_int_equal(b.aborted_slot, -1);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

static void test_mark_invalid_rolls_back(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    fota_boot_info_t b = boot_ok(&d, 1);
    assert_int_equal(fota_ota_mark_invalid(&d.f, &b), FOTA_OK);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_INVALID);
    b = boot_ok(&d, 0);
    assert_int_equal(b.aborted_slot, -1); /* invalid, not aborted */

    /* ota_0 runs with nothing to roll back to (copy 1 is INVALID, no factory): refused. */
    assert_int_equal(fota_ota_mark_invalid(&d.f, &b), FOTA_ERR_BOOT_NO_APP);
    read_entries(&d, e);
    assert_entry(&e[0], 1, FOTA_OTA_IMG_VALID);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

/* --- fall back over bad images --------------------------------------------------------------- */

static void test_corrupt_selected_slot_falls_back(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_provision(&d, NULL, &v1);
    boot_ok(&d, 0);
    write_corrupt(&d, APP1_AT, &v2);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 1), FOTA_OK);

    fota_boot_info_t b = boot_ok(&d, 0);
    assert_int_equal(b.selected_slot, 1);
    assert_true(b.fell_back);
    assert_int_equal(b.rejected_slots, 1);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_VALID);
    assert_string_equal(b.image.app_desc.version, "1.0.0");
    /* As in ESP-IDF, the selected entry was armed before its image was looked at, and nothing
     * else is written: the next boot aborts it. */
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_entry(&e[0], 1, FOTA_OTA_IMG_VALID);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_PENDING_VERIFY);
    /* The app that runs is not the one the entry names: no confirmation for it. */
    assert_int_equal(fota_ota_mark_valid(&d.f, &b), FOTA_ERR_BOOT_NOT_PENDING);
    read_entries(&d, e);
    assert_entry(&e[1], 2, FOTA_OTA_IMG_PENDING_VERIFY);

    b = boot_ok(&d, 0);
    assert_int_equal(b.aborted_slot, 1);
    assert_false(b.fell_back);
    assert_int_equal(b.rejected_slots, 0);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

/* The image rots after it was selected (and after it was confirmed once). */
static void test_bit_rot_in_running_slot_falls_back(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    fota_boot_info_t b;
    assert_int_equal(fota_device_run(&d.f, &b), FOTA_OK);
    assert_int_equal(b.slot, 1);
    rot_byte(&d, APP1_AT + 0x2000u);
    b = boot_ok(&d, 0);
    assert_true(b.fell_back);
    assert_int_equal(b.selected_slot, 1);
    assert_int_equal(b.rejected_slots, 1);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

static void test_both_slots_corrupt_is_bricked(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_provision(&d, NULL, &v1);
    boot_ok(&d, 0);
    write_corrupt(&d, APP1_AT, &v2);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 1), FOTA_OK);
    write_corrupt(&d, APP0_AT, &v1);
    fota_boot_info_t b;
    assert_int_equal(fota_bootloader_run(&d.f, &b), FOTA_ERR_BOOT_NO_APP);
    assert_int_equal(b.rejected_slots, 2);
    assert_int_equal(fota_device_run(&d.f, &b), FOTA_ERR_BOOT_NO_APP);

    /* A fresh device whose only image is bad. */
    emu_device_t e;
    dev_open(&e, FOTA_FLASH_EMU_DEFAULT_SIZE);
    assert_int_equal(fota_device_provision(&e.f, NULL, NULL, 0), FOTA_OK);
    assert_int_equal(fota_bootloader_run(&e.f, &b), FOTA_ERR_BOOT_NO_APP);
    assert_int_equal(b.rejected_slots, 2); /* both slots hold erased flash */
    dev_close(&e);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

/* --- damaged otadata ------------------------------------------------------------------------- */

static void test_bad_crc_in_newer_copy_older_wins(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    e[1].crc ^= 0x00010000u;
    assert_int_equal(fota_otadata_write(&d.f, OTADATA_AT, 1, &e[1]), FOTA_OK);

    fota_boot_info_t b = boot_ok(&d, 0);
    assert_int_equal(b.selected_slot, 0);
    assert_false(b.fell_back);
    assert_int_equal(b.aborted_slot, -1);
    fota_ota_entry_t after[2];
    read_entries(&d, after);
    assert_memory_equal(&after[1], &e[1], sizeof e[1]); /* a NEW entry is not touched */
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

static void test_otadata_erased_boots_ota_0(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    fota_boot_info_t b;
    assert_int_equal(fota_device_run(&d.f, &b), FOTA_OK);
    assert_int_equal(b.slot, 1);
    assert_int_equal(fota_otadata_erase(&d.f, OTADATA_AT), FOTA_OK);
    b = boot_ok(&d, 0);
    assert_false(b.fell_back);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_entry(&e[0], 1, FOTA_OTA_IMG_VALID);
    assert_erased(&e[1]);

    /* Blank otadata and a bad ota_0: ota_1 boots and its seq (2) is written into copy 0. */
    assert_int_equal(fota_otadata_erase(&d.f, OTADATA_AT), FOTA_OK);
    write_corrupt(&d, APP0_AT, &v1);
    b = boot_ok(&d, 1);
    assert_int_equal(b.selected_slot, 0);
    assert_true(b.fell_back);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_VALID);
    read_entries(&d, e);
    assert_entry(&e[0], 2, FOTA_OTA_IMG_VALID);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

/* Both copies carry a seq but a wrong CRC: not "blank", so ESP-IDF starts from the factory
 * index ("will try all partitions") and writes nothing. */
static void test_both_crc_bad_tries_all(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    for (int i = 0; i < 2; i++) {
        e[i].crc = ~e[i].crc;
        assert_int_equal(fota_otadata_write(&d.f, OTADATA_AT, i, &e[i]), FOTA_OK);
    }
    fota_boot_info_t b = boot_ok(&d, 0);
    assert_int_equal(b.selected_slot, FOTA_BOOT_SLOT_FACTORY);
    assert_true(b.fell_back);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_UNDEFINED);
    fota_ota_entry_t after[2];
    read_entries(&d, after);
    assert_memory_equal(after, e, sizeof after);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
}

/* --- tables ---------------------------------------------------------------------------------- */

static void test_factory_app(void **state)
{
    (void)state;
    image_t fac = build("0.1.0", 0), v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    fota_part_table_t t = table_from(FACTORY_CSV);
    emu_device_t d;
    dev_provision(&d, &t, &v1); /* the image goes into ota_0; factory stays empty */

    /* Blank otadata selects factory; it is empty, so ota_0 boots, and otadata stays blank. */
    fota_boot_info_t b = boot_ok(&d, 0);
    assert_int_equal(b.selected_slot, FOTA_BOOT_SLOT_FACTORY);
    assert_true(b.fell_back);
    assert_int_equal(b.rejected_slots, 1);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_UNDEFINED);
    fota_ota_entry_t e[2];
    assert_int_equal(fota_otadata_read(&d.f, F_OTADATA_AT, e), FOTA_OK);
    assert_erased(&e[0]);

    write_at(&d, F_FACTORY_AT, fac.buf, fac.len);
    b = boot_ok(&d, FOTA_BOOT_SLOT_FACTORY);
    assert_false(b.fell_back);
    assert_string_equal(b.partition.label, "factory");
    assert_string_equal(b.image.app_desc.version, "0.1.0");
    assert_int_equal(fota_ota_mark_valid(&d.f, &b), FOTA_ERR_BOOT_NOT_PENDING);
    fota_partition_t p;
    int slot = -9;
    assert_int_equal(fota_ota_next_update_partition(&d.f, &b, &p, &slot), FOTA_OK);
    assert_int_equal(slot, 0);
    assert_int_equal(p.offset, F_OTA0_AT);

    /* Update to ota_1 from factory: no seq yet, so seq = slot + 1 into copy 0. */
    write_at(&d, F_OTA1_AT, v2.buf, v2.len);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 1), FOTA_OK);
    assert_int_equal(fota_otadata_read(&d.f, F_OTADATA_AT, e), FOTA_OK);
    assert_entry(&e[0], 2, FOTA_OTA_IMG_NEW);
    b = boot_ok(&d, 1);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_PENDING_VERIFY);
    /* No confirmation: the only entry is aborted, so the rollback lands on factory. */
    b = boot_ok(&d, FOTA_BOOT_SLOT_FACTORY);
    assert_int_equal(b.aborted_slot, 1);
    assert_int_equal(b.selected_slot, FOTA_BOOT_SLOT_FACTORY);

    /* A bad selected ota_1 falls back downwards: ota_0 before factory. */
    write_corrupt(&d, F_OTA1_AT, &v2);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 1), FOTA_OK);
    b = boot_ok(&d, 0);
    assert_int_equal(b.selected_slot, 1);
    assert_int_equal(b.rejected_slots, 1);
    dev_close(&d);
    free(fac.buf);
    free(v1.buf);
    free(v2.buf);
}

static void test_three_ota_slots(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0), v3 = build("3.0.0", 0);
    fota_part_table_t t = table_from(THREE_CSV);
    emu_device_t d;
    dev_provision(&d, &t, &v1);
    fota_boot_info_t b = boot_ok(&d, 0);
    fota_partition_t p;
    int slot = -1;
    assert_int_equal(fota_ota_next_update_partition(&d.f, &b, &p, &slot), FOTA_OK);
    assert_int_equal(slot, 1);

    write_at(&d, T_OTA2_AT, v3.buf, v3.len);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 2), FOTA_OK);
    fota_ota_entry_t e[2];
    read_entries(&d, e);
    assert_entry(&e[1], 3, FOTA_OTA_IMG_NEW);
    assert_int_equal(fota_device_run(&d.f, &b), FOTA_OK);
    assert_int_equal(b.slot, 2);
    assert_string_equal(b.image.app_desc.version, "3.0.0");
    assert_int_equal(fota_ota_next_update_partition(&d.f, &b, &p, &slot), FOTA_OK);
    assert_int_equal(slot, 0); /* wraps */

    /* Selected ota_2 goes bad, ota_1 is bad too: down from 2 through 1 to 0. */
    write_corrupt(&d, T_OTA1_AT, &v2);
    rot_byte(&d, T_OTA2_AT + 0x3000u);
    b = boot_ok(&d, 0);
    assert_int_equal(b.selected_slot, 2);
    assert_int_equal(b.rejected_slots, 2);

    /* Selected ota_0 bad, no factory: upwards, ota_1 before ota_2. */
    write_at(&d, T_OTA1_AT, v2.buf, v2.len);
    write_at(&d, T_OTA2_AT, v3.buf, v3.len);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 0), FOTA_OK);
    read_entries(&d, e);
    assert_entry(&e[0], 4, FOTA_OTA_IMG_NEW);
    write_corrupt(&d, 0x10000u, &v1);
    b = boot_ok(&d, 1);
    assert_int_equal(b.selected_slot, 0);
    assert_true(b.fell_back);
    dev_close(&d);
    free(v1.buf);
    free(v2.buf);
    free(v3.buf);
}

static void test_ota_call_errors(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0);
    emu_device_t d;
    dev_provision(&d, NULL, &v1);
    fota_boot_info_t b = boot_ok(&d, 0);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 2), FOTA_ERR_OTADATA_SLOT);
    assert_int_equal(fota_ota_mark_valid(&d.f, NULL), FOTA_ERR_ARG);
    assert_int_equal(fota_ota_next_update_partition(&d.f, NULL, NULL, NULL), FOTA_ERR_ARG);
    assert_int_equal(fota_bootloader_run(&d.f, NULL), FOTA_ERR_ARG);
    fota_boot_info_t other = b;
    other.slot = 1; /* not what otadata names */
    assert_int_equal(fota_ota_mark_valid(&d.f, &other), FOTA_ERR_BOOT_NOT_PENDING);
    assert_int_equal(fota_ota_mark_invalid(&d.f, &other), FOTA_ERR_BOOT_NOT_PENDING);
    dev_close(&d);

    /* A table without otadata: boot works (ota_0 via the factory index), OTA calls do not. */
    fota_part_table_t t = table_from("nvs,   data, nvs,   0x9000,  0x5000,\n"
                                     "ota_0, app,  ota_0, 0x10000, 0x100000,\n");
    dev_provision(&d, &t, &v1);
    b = boot_ok(&d, 0);
    assert_int_equal(b.selected_slot, FOTA_BOOT_SLOT_FACTORY);
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_UNDEFINED);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 0), FOTA_ERR_OTADATA_PART);
    assert_int_equal(fota_ota_mark_valid(&d.f, &b), FOTA_ERR_OTADATA_PART);
    dev_close(&d);

    /* No partition table at all. */
    dev_open(&d, FOTA_FLASH_EMU_DEFAULT_SIZE);
    assert_int_not_equal(fota_bootloader_run(&d.f, &b), FOTA_OK);
    dev_close(&d);
    free(v1.buf);
}

/* The test app is the last resort, after every OTA slot and factory. */
static void test_test_app_last_resort(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), t1 = build("0.0.7", 0);
    fota_part_table_t t = table_from("nvs,     data, nvs,   0x9000,   0x5000,\n"
                                     "otadata, data, ota,   0xe000,   0x2000,\n"
                                     "ota_0,   app,  ota_0, 0x10000,  0x100000,\n"
                                     "ota_1,   app,  ota_1, 0x110000, 0x100000,\n"
                                     "test,    app,  test,  0x210000, 0x100000,\n");
    emu_device_t d;
    dev_provision(&d, &t, &v1);
    write_at(&d, 0x210000u, t1.buf, t1.len);
    boot_ok(&d, 0); /* a valid ota_0 comes first */
    write_corrupt(&d, 0x10000u, &v1);
    fota_boot_info_t b = boot_ok(&d, FOTA_BOOT_SLOT_TEST);
    assert_string_equal(b.partition.label, "test");
    assert_int_equal(b.rejected_slots, 2); /* ota_0 bad, ota_1 erased */
    assert_int_equal(b.ota_state, FOTA_OTA_IMG_UNDEFINED);
    assert_true(b.fell_back);
    dev_close(&d);
    free(v1.buf);
    free(t1.buf);
}

/* --- power cuts ------------------------------------------------------------------------------ */

/* After a cut and a reboot the device must boot ota_0 (v1) or ota_1 (v2), and keep booting. */
static int reboot_after_cut(emu_device_t *d)
{
    assert_true(fota_flash_emu_is_cut(d->emu));
    fota_flash_emu_power_on(d->emu);
    fota_boot_info_t b;
    fota_err_t err = fota_device_run(&d->f, &b);
    if (err != FOTA_OK) {
        fail_msg("bricked after a power cut: %s", fota_err_name(err));
    }
    assert_true(b.slot == 0 || b.slot == 1);
    assert_string_equal(b.image.app_desc.version, b.slot == 0 ? "1.0.0" : "2.0.0");
    fota_boot_info_t again;
    assert_int_equal(fota_device_run(&d->f, &again), FOTA_OK);
    assert_int_equal(again.slot, b.slot);
    return b.slot;
}

/* v1 in ota_0 and booted, v2 written into ota_1: the moment before the switch. */
static void dev_before_switch(emu_device_t *d, const image_t *v1, const image_t *v2)
{
    dev_provision(d, NULL, v1);
    boot_ok(d, 0);
    write_at(d, APP1_AT, v2->buf, v2->len);
}

static uint64_t ops_of_set_boot_slot(const image_t *v1, const image_t *v2)
{
    emu_device_t d;
    dev_before_switch(&d, v1, v2);
    fota_flash_emu_reset_stats(d.emu);
    assert_int_equal(fota_ota_set_boot_slot(&d.f, 1), FOTA_OK);
    fota_flash_stats_t st;
    fota_flash_emu_stats(d.emu, &st);
    assert_int_equal(st.erases, 1);
    assert_int_equal(st.writes, 1);
    dev_close(&d);
    return st.ops;
}

/* A cut at every flash operation of fota_ota_set_boot_slot, before it and torn (several torn
 * variants per operation): never bricked; a cut before the final write keeps the old slot. */
static void test_power_cut_during_set_boot_slot(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    uint64_t ops = ops_of_set_boot_slot(&v1, &v2);
    assert_true(ops >= 2);
    int outcomes[2] = {0, 0};
    for (uint64_t k = 0; k < ops; k++) {
        for (int variant = 0; variant < 9; variant++) {
            fota_cut_mode_t mode = variant == 0 ? FOTA_CUT_BEFORE : FOTA_CUT_TORN;
            emu_device_t d;
            dev_before_switch(&d, &v1, &v2);
            fota_flash_emu_plan_cut(d.emu, k, mode, 1000u + (uint64_t)variant);
            assert_int_equal(fota_ota_set_boot_slot(&d.f, 1), FOTA_ERR_FLASH_POWER_CUT);
            fota_flash_cut_info_t cut;
            fota_flash_emu_last_cut(d.emu, &cut);
            assert_true(cut.happened);
            int slot = reboot_after_cut(&d);
            if (k + 1 < ops) {
                assert_int_equal(slot, 0); /* the new entry was never complete */
            }
            outcomes[slot]++;
            dev_close(&d);
        }
    }
    /* The uncut run switches. */
    emu_device_t d;
    dev_updated(&d, &v1, &v2);
    boot_ok(&d, 1);
    dev_close(&d);
    assert_true(outcomes[0] > 0);
    print_message("set_boot_slot: %u operations cut 9 ways each: old slot %d times, new %d\n",
                  (unsigned)ops, outcomes[0], outcomes[1]);
    free(v1.buf);
    free(v2.buf);
}

/* The bootloader's own otadata writes (NEW -> PENDING_VERIFY, PENDING_VERIFY -> ABORTED) can be
 * cut too: every cut of a boot, then a reboot, still boots v1 or v2. */
static void test_power_cut_during_boot(void **state)
{
    (void)state;
    image_t v1 = build("1.0.0", 0), v2 = build("2.0.0", 0);
    for (int boots_before = 0; boots_before < 2; boots_before++) {
        emu_device_t d;
        dev_updated(&d, &v1, &v2);
        for (int i = 0; i < boots_before; i++) {
            boot_ok(&d, 1); /* pending, never confirmed: the next boot aborts it */
        }
        fota_flash_emu_reset_stats(d.emu);
        fota_boot_info_t b;
        assert_int_equal(fota_bootloader_run(&d.f, &b), FOTA_OK);
        fota_flash_stats_t st;
        fota_flash_emu_stats(d.emu, &st);
        assert_int_equal(st.erases, 1); /* one otadata rewrite in either case */
        dev_close(&d);
        for (uint64_t k = 0; k < st.ops; k++) {
            for (int variant = 0; variant < 3; variant++) {
                dev_updated(&d, &v1, &v2);
                for (int i = 0; i < boots_before; i++) {
                    boot_ok(&d, 1);
                }
                fota_flash_emu_plan_cut(d.emu, k, variant ? FOTA_CUT_TORN : FOTA_CUT_BEFORE,
                                        77u + (uint64_t)variant);
                assert_int_equal(fota_bootloader_run(&d.f, &b), FOTA_ERR_FLASH_POWER_CUT);
                reboot_after_cut(&d);
                dev_close(&d);
            }
        }
    }
    free(v1.buf);
    free(v2.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_flash_boots_ota_0),
        cmocka_unit_test(test_provision_layout_and_errors),
        cmocka_unit_test(test_set_boot_slot_boots_pending),
        cmocka_unit_test(test_confirm_keeps_new_slot),
        cmocka_unit_test(test_no_confirm_rolls_back),
        cmocka_unit_test(test_selftest_failure_rolls_back_through_device_run),
        cmocka_unit_test(test_device_run_confirms_passing_image),
        cmocka_unit_test(test_mark_invalid_rolls_back),
        cmocka_unit_test(test_corrupt_selected_slot_falls_back),
        cmocka_unit_test(test_bit_rot_in_running_slot_falls_back),
        cmocka_unit_test(test_both_slots_corrupt_is_bricked),
        cmocka_unit_test(test_bad_crc_in_newer_copy_older_wins),
        cmocka_unit_test(test_otadata_erased_boots_ota_0),
        cmocka_unit_test(test_both_crc_bad_tries_all),
        cmocka_unit_test(test_factory_app),
        cmocka_unit_test(test_three_ota_slots),
        cmocka_unit_test(test_ota_call_errors),
        cmocka_unit_test(test_test_app_last_resort),
        cmocka_unit_test(test_power_cut_during_set_boot_slot),
        cmocka_unit_test(test_power_cut_during_boot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
