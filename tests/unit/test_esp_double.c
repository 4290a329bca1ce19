/*
 * test_esp_double.c - the ESP-IDF API double (emu/esp-idf) against ESP-IDF's documented
 * behaviour: esp_partition bounds, alignment and NOR rules; planned clean and torn power cuts;
 * esp_ota_* boot selection, pending-verify, confirmation, rollback, state codes and
 * anti-rollback; NVS errors, commit durability and factory CSV images; esp_http_client against a
 * real libmicrohttpd server on 127.0.0.1 (headers, body, events, streaming, keep-alive, redirects,
 * timeouts); FreeRTOS tasks, notifications, semaphores, deletion and the reset model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esp_double.h"
#include "esp_efuse.h"
#include "esp_err.h"
#include "esp_http_client.h"
#include "esp_mac.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "fota/emu/compact_layout.h"
#include "fota/emu/image_build.h"
#include "fota/emu/otadata.h"
#include "nvs.h"
#include "nvs_flash.h"

#define SLOT 0x10000u
#define IMAGE_SIZE 16384u

/* ---- rig: one emulated device on an in-memory flash ------------------------------------------ */

typedef struct {
    bool strict;
    bool anti_rollback;
    bool manual_clock;
    uint32_t efuse;
    uint32_t image_secure_version;
    bool nvs_readonly;
} rig_opts_t;

typedef struct {
    fota_flash_emu_t *emu;
    esp_double_device_t *dev;
    char state[256];
} rig_t;

static void *build_image(const char *version, uint32_t secure_version, uint32_t flags, size_t *len)
{
    fota_image_spec_t spec = {0};
    spec.version = version;
    spec.size = IMAGE_SIZE;
    spec.chip_id = FOTA_ESP_CHIP_ID_ESP32;
    spec.secure_version = secure_version;
    spec.emu_flags = flags;
    uint8_t *img = NULL;
    assert_int_equal(fota_image_build(&spec, &img, len), FOTA_OK);
    return img;
}

static void state_path(char *out, size_t cap)
{
    static int n;
    const char *dir = getenv("FOTA_TMPDIR");
    snprintf(out, cap, "%s/esp_double_%d_%d.state", dir != NULL ? dir : "/tmp", (int)getpid(), ++n);
    unlink(out);
}

static void rig_open_with(rig_t *r, const rig_opts_t *o)
{
    memset(r, 0, sizeof *r);
    fota_part_table_t t;
    uint32_t flash_size = 0;
    assert_int_equal(fota_part_table_compact(SLOT, &t, &flash_size), FOTA_OK);
    if (o->nvs_readonly) {
        t.entries[0].flags |= FOTA_PART_FLAG_READONLY;
    }
    assert_int_equal(fota_flash_emu_open(NULL, flash_size, 0, &r->emu), FOTA_OK);
    size_t len = 0;
    uint8_t *img = build_image("1.0.0", o->image_secure_version, 0, &len);
    fota_flash_t port = fota_flash_emu_port(r->emu);
    assert_int_equal(fota_device_provision(&port, &t, img, len), FOTA_OK);
    free(img);
    state_path(r->state, sizeof r->state);
    esp_double_config_t cfg = {0};
    cfg.name = "dut";
    cfg.flash = r->emu;
    cfg.state_path = r->state;
    memcpy(cfg.mac, "\x24\x0a\xc4\x01\x02\x03", 6);
    cfg.efuse_secure_version = o->efuse;
    cfg.anti_rollback = o->anti_rollback;
    cfg.strict_nor = o->strict;
    cfg.manual_clock = o->manual_clock;
    cfg.random_seed = 42;
    assert_int_equal(esp_double_device_open(&cfg, &r->dev), FOTA_OK);
    esp_double_select(r->dev);
    assert_int_equal(esp_double_power_on(r->dev, NULL), FOTA_OK);
}

static void rig_open(rig_t *r)
{
    rig_opts_t o = {0};
    rig_open_with(r, &o);
}

static void rig_close(rig_t *r)
{
    esp_double_device_close(r->dev);
    fota_flash_emu_close(r->emu);
    unlink(r->state);
}

/* Write an image into the next update slot as an OTA download does; returns that slot. */
static const esp_partition_t *download(const char *version, uint32_t secure_version, uint32_t flags,
                                       bool corrupt)
{
    const esp_partition_t *p = esp_ota_get_next_update_partition(NULL);
    assert_non_null(p);
    size_t len = 0;
    uint8_t *img = build_image(version, secure_version, flags, &len);
    if (corrupt) {
        img[len / 2] ^= 0x40;
    }
    assert_int_equal(esp_partition_erase_range(p, 0, SLOT), ESP_OK);
    assert_int_equal(esp_partition_write(p, 0, img, len), ESP_OK);
    free(img);
    return p;
}

static esp_ota_img_states_t state_of(const esp_partition_t *p)
{
    esp_ota_img_states_t s = ESP_OTA_IMG_UNDEFINED;
    assert_int_equal(esp_ota_get_state_partition(p, &s), ESP_OK);
    return s;
}

/* ---- esp_partition --------------------------------------------------------------------------- */

static void test_partition_bounds_and_nor(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    const esp_partition_t *app1 =
        esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_1, NULL);
    assert_non_null(app1);
    assert_string_equal(app1->label, "app1");
    assert_int_equal(app1->erase_size, 4096);
    assert_ptr_equal(
        esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_ANY, "nvs"),
        esp_partition_find_first(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, "nvs"));
    assert_null(
        esp_partition_find_first(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_DATA_NVS, NULL));
    uint8_t b[16];
    assert_int_equal(esp_partition_read(app1, SLOT + 1, b, 1), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_partition_read(app1, SLOT - 8, b, 16), ESP_ERR_INVALID_SIZE);
    assert_int_equal(esp_partition_write(app1, SLOT - 8, b, 16), ESP_ERR_INVALID_SIZE);
    assert_int_equal(esp_partition_erase_range(app1, 100, 4096), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_partition_erase_range(app1, 0, 100), ESP_ERR_INVALID_SIZE);
    assert_int_equal(esp_partition_erase_range(app1, 0, SLOT + 4096), ESP_ERR_INVALID_SIZE);

    /* NOR: erase sets 0xFF, a write only clears bits (new = old & data) */
    assert_int_equal(esp_partition_erase_range(app1, 0, 4096), ESP_OK);
    uint8_t hi = 0xF0, lo = 0x0F, got = 0;
    assert_int_equal(esp_partition_read(app1, 5, &got, 1), ESP_OK);
    assert_int_equal(got, 0xFF);
    assert_int_equal(esp_partition_write(app1, 5, &hi, 1), ESP_OK);
    assert_int_equal(esp_partition_write(app1, 5, &lo, 1), ESP_OK);
    assert_int_equal(esp_partition_read(app1, 5, &got, 1), ESP_OK);
    assert_int_equal(got, 0x00);
    rig_close(&r);

    /* strict mode catches the write onto unerased bytes; a read-only partition refuses writes */
    rig_opts_t o = {.strict = true, .nvs_readonly = true};
    rig_open_with(&r, &o);
    app1 = esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_1, NULL);
    assert_int_equal(esp_partition_erase_range(app1, 0, 4096), ESP_OK);
    assert_int_equal(esp_partition_write(app1, 5, &hi, 1), ESP_OK);
    assert_int_equal(esp_partition_write(app1, 5, &lo, 1), ESP_ERR_FLASH_OP_FAIL);
    const esp_partition_t *nvs =
        esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_NVS, NULL);
    assert_true(nvs->readonly);
    assert_int_equal(esp_partition_write(nvs, 0, &lo, 1), ESP_ERR_NOT_ALLOWED);
    assert_int_equal(esp_partition_erase_range(nvs, 0, 4096), ESP_ERR_NOT_ALLOWED);
    assert_int_equal(esp_partition_read(nvs, 0, &got, 1), ESP_OK);
    nvs_handle_t h;
    assert_int_equal(nvs_flash_init(), ESP_OK);
    assert_int_equal(nvs_open("fota", NVS_READWRITE, &h), ESP_ERR_NOT_ALLOWED);
    rig_close(&r);
}

static void test_power_cuts(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    const esp_partition_t *app1 =
        esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_1, NULL);
    uint8_t zeros[4096] = {0}, back[4096];

    /* clean cut on the second call: the erase happens, the write does not */
    fota_flash_emu_plan_cut(esp_double_flash(r.dev), 1, FOTA_CUT_BEFORE, 0);
    assert_int_equal(esp_partition_erase_range(app1, 0, 4096), ESP_OK);
    assert_false(esp_double_cut(r.dev));
    assert_int_equal(esp_partition_write(app1, 0, zeros, sizeof zeros), ESP_ERR_FLASH_OP_FAIL);
    assert_true(esp_double_cut(r.dev));
    assert_int_equal(esp_partition_read(app1, 0, back, 16), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(esp_partition_erase_range(app1, 0, 4096), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(esp_ota_set_boot_partition(app1), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(nvs_flash_init(), ESP_FAIL);
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    app1 = esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_1, NULL);
    assert_int_equal(esp_partition_read(app1, 0, back, sizeof back), ESP_OK);
    for (size_t i = 0; i < sizeof back; i++) {
        assert_int_equal(back[i], 0xFF);
    }

    /* torn write: a prefix of the new bytes lands, the rest stays erased */
    fota_flash_emu_plan_cut(esp_double_flash(r.dev), 0, FOTA_CUT_TORN, 7);
    assert_int_equal(esp_partition_write(app1, 0, zeros, sizeof zeros), ESP_ERR_FLASH_OP_FAIL);
    fota_flash_cut_info_t cut;
    fota_flash_emu_last_cut(esp_double_flash(r.dev), &cut);
    assert_true(cut.happened);
    assert_int_equal(cut.op, FOTA_FLASH_OP_WRITE);
    assert_int_equal(esp_partition_read(app1, 0, back, 16), ESP_ERR_FLASH_OP_FAIL);
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    app1 = esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_1, NULL);
    assert_int_equal(esp_partition_read(app1, 0, back, sizeof back), ESP_OK);
    for (size_t i = 0; i < sizeof back; i++) {
        assert_int_equal(back[i], i < cut.done ? 0x00 : 0xFF);
    }

    /* nothing bootable: the device stays off */
    assert_int_equal(esp_partition_erase_range(esp_ota_get_running_partition(), 0, SLOT), ESP_OK);
    esp_double_boot_t info;
    assert_int_equal(esp_double_power_on(r.dev, &info), FOTA_ERR_BOOT_NO_APP);
    assert_int_equal(info.err, FOTA_ERR_BOOT_NO_APP);
    assert_false(esp_double_is_powered(r.dev));
    assert_null(esp_partition_find_first(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, NULL));
    assert_int_equal(nvs_flash_init(), ESP_FAIL);
    rig_close(&r);
}

/* ---- esp_ota_ops ----------------------------------------------------------------------------- */

static void test_set_boot_refuses_corrupt_image(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    const esp_partition_t *otadata =
        esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA, NULL);
    uint8_t before[64], after[64];
    assert_int_equal(esp_partition_read(otadata, 0, before, sizeof before), ESP_OK);
    const esp_partition_t *p = download("2.0.0", 0, 0, true);
    assert_int_equal(esp_ota_set_boot_partition(p), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(esp_ota_set_boot_partition(NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_ota_set_boot_partition(otadata), ESP_ERR_OTA_VALIDATE_FAILED);
    assert_int_equal(esp_partition_read(otadata, 0, after, sizeof after), ESP_OK);
    assert_memory_equal(before, after, sizeof before);
    assert_ptr_equal(esp_ota_get_boot_partition(), esp_ota_get_running_partition());
    rig_close(&r);
}

static void test_update_pending_then_valid(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    const esp_partition_t *app0 = esp_ota_get_running_partition();
    assert_int_equal(app0->subtype, ESP_PARTITION_SUBTYPE_APP_OTA_0);
    assert_string_equal(esp_app_get_description()->version, "1.0.0");
    const esp_partition_t *p = download("2.0.0", 0, 0, false);
    assert_int_equal(p->subtype, ESP_PARTITION_SUBTYPE_APP_OTA_1);
    esp_app_desc_t desc;
    assert_int_equal(esp_ota_get_partition_description(p, &desc), ESP_OK);
    assert_string_equal(desc.version, "2.0.0");
    assert_int_equal(esp_ota_set_boot_partition(p), ESP_OK);
    assert_ptr_equal(esp_ota_get_boot_partition(), p);
    assert_ptr_equal(esp_ota_get_running_partition(), app0);
    assert_int_equal(state_of(p), ESP_OTA_IMG_NEW);

    esp_double_boot_t info;
    assert_int_equal(esp_double_power_on(r.dev, &info), FOTA_OK);
    const esp_partition_t *run = esp_ota_get_running_partition();
    assert_int_equal(run->subtype, ESP_PARTITION_SUBTYPE_APP_OTA_1);
    assert_string_equal(esp_app_get_description()->version, "2.0.0");
    assert_int_equal(state_of(run), ESP_OTA_IMG_PENDING_VERIFY);
    assert_int_equal(info.boot.ota_state, FOTA_OTA_IMG_PENDING_VERIFY);
    assert_true(esp_double_selftest_passes(r.dev));
    assert_int_equal(esp_ota_mark_app_valid_cancel_rollback(), ESP_OK);
    assert_int_equal(state_of(run), ESP_OTA_IMG_VALID);
    assert_int_equal(esp_ota_mark_app_valid_cancel_rollback(), ESP_OK);
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    assert_int_equal(esp_ota_get_running_partition()->subtype, ESP_PARTITION_SUBTYPE_APP_OTA_1);
    rig_close(&r);
}

static void test_unconfirmed_image_rolls_back(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    const esp_partition_t *p = download("2.0.0", 0, FOTA_EMU_FLAG_SELFTEST_FAIL, false);
    assert_int_equal(esp_ota_set_boot_partition(p), ESP_OK);
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    assert_int_equal(esp_ota_get_running_partition()->subtype, ESP_PARTITION_SUBTYPE_APP_OTA_1);
    assert_false(esp_double_selftest_passes(r.dev)); /* the app does not confirm itself */
    esp_double_boot_t info;
    assert_int_equal(esp_double_power_on(r.dev, &info), FOTA_OK);
    assert_int_equal(info.boot.aborted_slot, 1);
    const esp_partition_t *run = esp_ota_get_running_partition();
    assert_int_equal(run->subtype, ESP_PARTITION_SUBTYPE_APP_OTA_0);
    assert_string_equal(esp_app_get_description()->version, "1.0.0");
    p = esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_1, NULL);
    assert_int_equal(state_of(p), ESP_OTA_IMG_ABORTED);
    rig_close(&r);
}

static void test_state_codes_and_invalid_rollback(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    esp_ota_img_states_t s;
    const esp_partition_t *run = esp_ota_get_running_partition();
    const esp_partition_t *nvs =
        esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_NVS, NULL);
    const esp_partition_t *app1 =
        esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_1, NULL);
    assert_int_equal(esp_ota_get_state_partition(NULL, &s), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_ota_get_state_partition(run, NULL), ESP_ERR_INVALID_ARG);
    assert_int_equal(esp_ota_get_state_partition(nvs, &s), ESP_ERR_NOT_SUPPORTED);
    assert_int_equal(esp_ota_get_state_partition(app1, &s), ESP_ERR_NOT_FOUND);
    assert_int_equal(state_of(run), ESP_OTA_IMG_VALID); /* the first boot wrote seq 1 */
    assert_int_equal(esp_ota_get_partition_description(nvs, &(esp_app_desc_t){0}),
                     ESP_ERR_NOT_SUPPORTED);

    /* a pending image marked invalid: otadata written, then the reset (to the restart point) */
    assert_int_equal(esp_ota_set_boot_partition(download("2.0.0", 0, 0, false)), ESP_OK);
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    volatile int restarted = 0;
    if (ESP_DOUBLE_RESTART_POINT(r.dev)) {
        restarted = 1;
    } else {
        (void)esp_ota_mark_app_invalid_rollback_and_reboot();
    }
    esp_double_restart_disarm();
    assert_int_equal(restarted, 1);
    assert_true(esp_double_restart_requested(r.dev));
    app1 = esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_OTA_1, NULL);
    assert_int_equal(state_of(app1), ESP_OTA_IMG_INVALID);
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    assert_false(esp_double_restart_requested(r.dev));
    assert_int_equal(esp_ota_get_running_partition()->subtype, ESP_PARTITION_SUBTYPE_APP_OTA_0);
    rig_close(&r);

    /* nothing else to roll back to: refused, no restart */
    rig_open(&r);
    assert_int_equal(esp_ota_set_boot_partition(download("2.0.0", 0, 0, false)), ESP_OK);
    const esp_partition_t *app0 = esp_ota_get_running_partition();
    assert_int_equal(esp_partition_erase_range(app0, 0, SLOT), ESP_OK);
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    assert_int_equal(esp_ota_mark_app_invalid_rollback_and_reboot(), ESP_ERR_OTA_ROLLBACK_FAILED);
    rig_close(&r);
}

static void test_anti_rollback(void **state)
{
    (void)state;
    rig_t r;
    rig_opts_t o = {.anti_rollback = true, .efuse = 2, .image_secure_version = 2};
    rig_open_with(&r, &o);
    assert_int_equal(esp_efuse_read_secure_version(), 2);
    const esp_partition_t *p = download("0.9.0", 1, 0, false);
    assert_int_equal(esp_ota_set_boot_partition(p), ESP_ERR_OTA_SMALL_SEC_VER);
    p = download("3.0.0", 3, 0, false);
    assert_int_equal(esp_ota_set_boot_partition(p), ESP_OK);
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    assert_int_equal(esp_efuse_read_secure_version(), 2); /* not before the app confirms */
    assert_int_equal(esp_ota_mark_app_valid_cancel_rollback(), ESP_OK);
    assert_int_equal(esp_efuse_read_secure_version(), 3);

    /* the eFuse survives in the state file */
    esp_double_device_close(r.dev);
    esp_double_config_t cfg = {.flash = r.emu, .state_path = r.state, .efuse_secure_version = 0};
    assert_int_equal(esp_double_device_open(&cfg, &r.dev), FOTA_OK);
    assert_int_equal(esp_double_efuse_secure_version(r.dev), 3);
    rig_close(&r);
}

/* ---- NVS ------------------------------------------------------------------------------------- */

static void test_nvs_errors(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    nvs_handle_t h, ro;
    assert_int_equal(nvs_open("fota", NVS_READWRITE, &h), ESP_ERR_NVS_NOT_INITIALIZED);
    assert_int_equal(nvs_flash_init_partition("nope"), ESP_ERR_NOT_FOUND);
    assert_int_equal(nvs_flash_init(), ESP_OK);
    assert_int_equal(nvs_open_from_partition("other", "fota", NVS_READWRITE, &h),
                     ESP_ERR_NVS_PART_NOT_FOUND);
    assert_int_equal(nvs_open("fota", NVS_READONLY, &ro), ESP_ERR_NVS_NOT_FOUND);
    assert_int_equal(nvs_open("sixteen_chars_ns", NVS_READWRITE, &h), ESP_ERR_NVS_KEY_TOO_LONG);
    assert_int_equal(nvs_open("fota", NVS_READWRITE, &h), ESP_OK);
    assert_int_equal(nvs_open("fota", NVS_READONLY, &ro), ESP_OK);

    uint32_t v = 0;
    char buf[4];
    size_t len = sizeof buf;
    assert_int_equal(nvs_get_u32(h, "missing", &v), ESP_ERR_NVS_NOT_FOUND);
    assert_int_equal(nvs_set_u32(h, "sixteen_chars_ky", 1), ESP_ERR_NVS_KEY_TOO_LONG);
    assert_int_equal(nvs_set_str(h, "name", "device-7"), ESP_OK);
    assert_int_equal(nvs_get_str(h, "name", buf, &len), ESP_ERR_NVS_INVALID_LENGTH);
    assert_int_equal(len, 9);
    len = 0;
    assert_int_equal(nvs_get_str(h, "name", NULL, &len), ESP_OK);
    assert_int_equal(len, 9);
    assert_int_equal(nvs_get_str(h, "name", buf, NULL), ESP_ERR_NVS_INVALID_LENGTH);
    assert_int_equal(nvs_get_u32(h, "name", &v), ESP_ERR_NVS_NOT_FOUND); /* another type */
    assert_int_equal(nvs_set_u32(ro, "k", 1), ESP_ERR_NVS_READ_ONLY);
    assert_int_equal(nvs_erase_key(ro, "name"), ESP_ERR_NVS_READ_ONLY);
    assert_int_equal(nvs_erase_key(h, "missing"), ESP_ERR_NVS_NOT_FOUND);
    uint8_t blob[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8];
    len = sizeof back;
    assert_int_equal(nvs_set_blob(h, "key", blob, sizeof blob), ESP_OK);
    assert_int_equal(nvs_get_blob(ro, "key", back, &len), ESP_OK); /* seen before a commit */
    assert_memory_equal(blob, back, sizeof blob);
    nvs_close(h);
    assert_int_equal(nvs_set_u32(h, "k", 1), ESP_ERR_NVS_INVALID_HANDLE);
    nvs_close(ro);
    rig_close(&r);
}

static void test_nvs_commit_durability(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    nvs_handle_t h;
    uint32_t v = 0;
    assert_int_equal(nvs_flash_init(), ESP_OK);
    assert_int_equal(nvs_open("fota", NVS_READWRITE, &h), ESP_OK);
    assert_int_equal(nvs_set_u32(h, "committed", 1), ESP_OK);
    assert_int_equal(nvs_commit(h), ESP_OK);
    assert_int_equal(nvs_set_u32(h, "pending", 2), ESP_OK);
    esp_double_power_off(r.dev); /* the handle is gone with the RAM */
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    assert_int_equal(nvs_open("fota", NVS_READONLY, &h), ESP_ERR_NVS_NOT_INITIALIZED);
    assert_int_equal(nvs_flash_init(), ESP_OK);
    assert_int_equal(nvs_open("fota", NVS_READONLY, &h), ESP_OK);
    assert_int_equal(nvs_get_u32(h, "committed", &v), ESP_OK);
    assert_int_equal(v, 1);
    assert_int_equal(nvs_get_u32(h, "pending", &v), ESP_ERR_NVS_NOT_FOUND);

    /* and from the state file, in a new device object */
    esp_double_device_close(r.dev);
    esp_double_config_t cfg = {.flash = r.emu, .state_path = r.state};
    assert_int_equal(esp_double_device_open(&cfg, &r.dev), FOTA_OK);
    esp_double_select(r.dev);
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    assert_int_equal(nvs_flash_init(), ESP_OK);
    assert_int_equal(nvs_open("fota", NVS_READONLY, &h), ESP_OK);
    assert_int_equal(nvs_get_u32(h, "committed", &v), ESP_OK);
    assert_int_equal(v, 1);
    rig_close(&r);
}

static void test_nvs_factory_csv(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    const char *csv = "key,type,encoding,value\n"
                      "# factory data\n"
                      "fota,namespace,,\n"
                      "device_id,data,string,\"inv-0042, rev B\"\n"
                      "device_key,data,hex2bin,00112233445566778899aabbccddeeff\n"
                      "cert,data,base64,aGVsbG8=\n"
                      "floor,data,u32,0x10\n"
                      "region,data,i32,-7\n"
                      "flags,data,u8,200\n";
    int line = 0;
    char msg[128];
    assert_int_equal(esp_double_nvs_load_csv(r.dev, NULL, csv, &line, msg, sizeof msg),
                     FOTA_ERR_STATE);
    esp_double_power_off(r.dev);
    assert_int_equal(esp_double_nvs_load_csv(r.dev, NULL, csv, &line, msg, sizeof msg), FOTA_OK);
    assert_int_equal(esp_double_nvs_load_csv(r.dev, NULL, "key,type,encoding,value\nx,data,u8,1\n",
                                             &line, msg, sizeof msg),
                     FOTA_ERR_ARG);
    assert_int_equal(line, 2);
    assert_int_equal(esp_double_nvs_load_csv(r.dev, NULL,
                                             "key,type,encoding,value\nns,namespace,,\n"
                                             "k,data,u8,300\n",
                                             &line, msg, sizeof msg),
                     FOTA_ERR_ARG);
    assert_int_equal(line, 3);
    assert_int_equal(esp_double_nvs_load_csv(r.dev, NULL,
                                             "key,type,encoding,value\nns,namespace,,\n"
                                             "k,file,binary,/etc/passwd\n",
                                             &line, msg, sizeof msg),
                     FOTA_ERR_UNSUPPORTED);
    assert_int_equal(esp_double_nvs_load_csv(r.dev, "app0", csv, &line, msg, sizeof msg),
                     FOTA_ERR_NOT_FOUND);

    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    assert_int_equal(nvs_flash_init(), ESP_OK);
    nvs_handle_t h;
    assert_int_equal(nvs_open("fota", NVS_READONLY, &h), ESP_OK);
    char id[32];
    size_t len = sizeof id;
    assert_int_equal(nvs_get_str(h, "device_id", id, &len), ESP_OK);
    assert_string_equal(id, "inv-0042, rev B");
    uint8_t key[16];
    len = sizeof key;
    assert_int_equal(nvs_get_blob(h, "device_key", key, &len), ESP_OK);
    assert_int_equal(len, 16);
    assert_int_equal(key[15], 0xff);
    len = sizeof id;
    assert_int_equal(nvs_get_blob(h, "cert", id, &len), ESP_OK);
    assert_memory_equal(id, "hello", 5);
    uint32_t floor_v = 0;
    int32_t region = 0;
    uint8_t flags = 0;
    assert_int_equal(nvs_get_u32(h, "floor", &floor_v), ESP_OK);
    assert_int_equal(floor_v, 16);
    assert_int_equal(nvs_get_i32(h, "region", &region), ESP_OK);
    assert_int_equal(region, -7);
    assert_int_equal(nvs_get_u8(h, "flags", &flags), ESP_OK);
    assert_int_equal(flags, 200);
    rig_close(&r);
}

/* ---- HTTP: a real server on loopback --------------------------------------------------------- */

#define BIG_LEN (1024u * 1024u + 7u)

typedef struct {
    struct MHD_Daemon *d;
    uint16_t port;
    atomic_int connections;
    atomic_int hello_hits;
    pthread_mutex_t m;
    char device_id[64];
    char body[256];
    size_t body_len;
    long content_length;
} server_t;

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 7u + (i >> 11));
}

static ssize_t big_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    size_t n = BIG_LEN - pos < max ? (size_t)(BIG_LEN - pos) : max;
    for (size_t i = 0; i < n; i++) {
        buf[i] = (char)pattern(pos + i);
    }
    return (ssize_t)n;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body,
                             const char *hk, const char *hv)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (hk != NULL) {
        MHD_add_response_header(resp, hk, hv);
    }
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void record_upload(server_t *s, struct MHD_Connection *conn, const char *data, size_t n)
{
    pthread_mutex_lock(&s->m);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    s->content_length = cl != NULL ? strtol(cl, NULL, 10) : -1;
    size_t room = sizeof s->body - s->body_len;
    n = n < room ? n : room;
    memcpy(s->body + s->body_len, data, n);
    s->body_len += n;
    pthread_mutex_unlock(&s->m);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **req)
{
    (void)version;
    static int started;
    server_t *s = cls;
    if (*req == NULL) {
        *req = &started;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        record_upload(s, conn, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/hello") == 0) {
        atomic_fetch_add(&s->hello_hits, 1);
        const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Device-Id");
        pthread_mutex_lock(&s->m);
        snprintf(s->device_id, sizeof s->device_id, "%s", id != NULL ? id : "");
        pthread_mutex_unlock(&s->m);
        return reply(conn, 200, "hello world", "X-Test", "yes");
    }
    if (strcmp(url, "/upload") == 0 && strcmp(method, "POST") == 0) {
        return reply(conn, 200, "ok", NULL, NULL);
    }
    if (strcmp(url, "/redirect") == 0) {
        return reply(conn, 302, "moved", "Location", "/hello");
    }
    if (strcmp(url, "/stall") == 0) {
        usleep(700 * 1000);
        return reply(conn, 200, "late", NULL, NULL);
    }
    if (strcmp(url, "/big") == 0) {
        struct MHD_Response *resp =
            MHD_create_response_from_callback(BIG_LEN, 16384, big_reader, NULL, NULL);
        enum MHD_Result rc = MHD_queue_response(conn, 200, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    return reply(conn, 404, "no", NULL, NULL);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    (void)ctx;
    server_t *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&s->connections, 1);
    }
}

static void server_start(server_t *s)
{
    esp_double_select(NULL); /* these clients belong to no device */
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->m, NULL);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &addr,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
    assert_non_null(s->d);
    s->port = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void server_stop(server_t *s)
{
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->m);
}

typedef struct {
    int counts[HTTP_EVENT_REDIRECT + 1];
    bool saw_x_test;
    int data_bytes;
} events_t;

static esp_err_t on_event(esp_http_client_event_t *evt)
{
    events_t *e = evt->user_data;
    e->counts[evt->event_id]++;
    if (evt->event_id == HTTP_EVENT_ON_HEADER && strcmp(evt->header_key, "X-Test") == 0 &&
        strcmp(evt->header_value, "yes") == 0) {
        e->saw_x_test = true;
    }
    if (evt->event_id == HTTP_EVENT_ON_DATA) {
        e->data_bytes += evt->data_len;
    }
    return ESP_OK;
}

static esp_http_client_handle_t client_for(server_t *s, const char *path, events_t *ev,
                                           int timeout_ms)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", s->port, path);
    esp_http_client_config_t cfg = {0};
    cfg.url = url;
    cfg.event_handler = on_event;
    cfg.user_data = ev;
    cfg.timeout_ms = timeout_ms;
    cfg.disable_auto_redirect = true;
    esp_http_client_handle_t c = esp_http_client_init(&cfg);
    assert_non_null(c);
    return c;
}

/* GET and read the whole body into out (NUL-terminated); returns its length. */
static int get_all(esp_http_client_handle_t c, char *out, int cap)
{
    assert_int_equal(esp_http_client_open(c, 0), ESP_OK);
    int64_t len = esp_http_client_fetch_headers(c);
    assert_true(len >= 0);
    int got = 0, n;
    while ((n = esp_http_client_read(c, out + got, cap - 1 - got)) > 0) {
        got += n;
    }
    assert_int_equal(n, 0);
    out[got] = '\0';
    return got;
}

static void test_http_get_headers_events(void **state)
{
    (void)state;
    server_t s;
    server_start(&s);
    events_t ev = {0};
    esp_http_client_handle_t c = client_for(&s, "/hello", &ev, 2000);
    assert_int_equal(esp_http_client_set_header(c, "X-Device-Id", "inv-7"), ESP_OK);
    assert_int_equal(esp_http_client_set_header(c, "X-Gone", "1"), ESP_OK);
    assert_int_equal(esp_http_client_delete_header(c, "X-Gone"), ESP_OK);
    assert_int_equal(esp_http_client_delete_header(c, "X-Gone"), ESP_ERR_NOT_FOUND);
    assert_int_equal(esp_http_client_open(c, 0), ESP_OK);
    assert_int_equal(esp_http_client_fetch_headers(c), 11);
    assert_int_equal(esp_http_client_get_status_code(c), 200);
    assert_int_equal(esp_http_client_get_content_length(c), 11);
    assert_false(esp_http_client_is_chunked_response(c));
    assert_true(ev.saw_x_test);
    char buf[64];
    assert_int_equal(esp_http_client_read(c, buf, sizeof buf), 11);
    assert_memory_equal(buf, "hello world", 11);
    assert_int_equal(esp_http_client_read(c, buf, sizeof buf), 0);
    assert_true(esp_http_client_is_complete_data_received(c));
    assert_int_equal(ev.counts[HTTP_EVENT_ON_CONNECTED], 1);
    assert_int_equal(ev.counts[HTTP_EVENT_HEADERS_SENT], 1);
    assert_int_equal(ev.data_bytes, 11);
    pthread_mutex_lock(&s.m);
    assert_string_equal(s.device_id, "inv-7");
    pthread_mutex_unlock(&s.m);
    assert_int_equal(esp_http_client_cleanup(c), ESP_OK);
    assert_int_equal(ev.counts[HTTP_EVENT_DISCONNECTED], 1);

    /* nothing listens there: a connect error */
    esp_http_client_config_t cfg = {.url = "http://127.0.0.1:1/", .timeout_ms = 1000};
    c = esp_http_client_init(&cfg);
    assert_int_equal(esp_http_client_open(c, 0), ESP_ERR_HTTP_CONNECT);
    esp_http_client_cleanup(c);
    server_stop(&s);
}

static void test_http_post_body(void **state)
{
    (void)state;
    server_t s;
    server_start(&s);
    events_t ev = {0};
    esp_http_client_handle_t c = client_for(&s, "/upload", &ev, 2000);
    assert_int_equal(esp_http_client_set_method(c, HTTP_METHOD_POST), ESP_OK);
    assert_int_equal(esp_http_client_set_header(c, "Content-Type", "application/json"), ESP_OK);
    const char *body = "{\"state\":\"downloading\",\"n\":3}";
    int len = (int)strlen(body);
    assert_int_equal(esp_http_client_open(c, len), ESP_OK);
    assert_int_equal(esp_http_client_write(c, body, 10), 10);
    assert_int_equal(esp_http_client_write(c, body + 10, len - 10), len - 10);
    assert_int_equal(esp_http_client_fetch_headers(c), 2);
    assert_int_equal(esp_http_client_get_status_code(c), 200);
    int flushed = -1;
    assert_int_equal(esp_http_client_flush_response(c, &flushed), ESP_OK);
    assert_int_equal(flushed, 2);
    pthread_mutex_lock(&s.m);
    assert_int_equal(s.content_length, len);
    assert_int_equal(s.body_len, (size_t)len);
    assert_memory_equal(s.body, body, (size_t)len);
    pthread_mutex_unlock(&s.m);
    esp_http_client_cleanup(c);
    server_stop(&s);
}

static void test_http_streamed_read(void **state)
{
    (void)state;
    server_t s;
    server_start(&s);
    events_t ev = {0};
    esp_http_client_handle_t c = client_for(&s, "/big", &ev, 2000);
    assert_int_equal(esp_http_client_open(c, 0), ESP_OK);
    assert_int_equal(esp_http_client_fetch_headers(c), BIG_LEN);
    char buf[1000];
    uint64_t at = 0;
    int n;
    while ((n = esp_http_client_read(c, buf, sizeof buf)) > 0) {
        assert_true(n == (int)sizeof buf || at + (uint64_t)n == BIG_LEN);
        for (int i = 0; i < n; i++) {
            if ((uint8_t)buf[i] != pattern(at + (uint64_t)i)) {
                fail_msg("byte %llu differs", (unsigned long long)(at + (uint64_t)i));
            }
        }
        at += (uint64_t)n;
    }
    assert_int_equal(n, 0);
    assert_int_equal(at, BIG_LEN);
    assert_true(esp_http_client_is_complete_data_received(c));
    esp_http_client_cleanup(c);
    server_stop(&s);
}

static void test_http_keep_alive_redirect_timeout(void **state)
{
    (void)state;
    server_t s;
    server_start(&s);
    events_t ev = {0};
    char buf[64];
    esp_http_client_handle_t c = client_for(&s, "/hello", &ev, 2000);
    assert_int_equal(get_all(c, buf, sizeof buf), 11);
    assert_int_equal(get_all(c, buf, sizeof buf), 11);
    assert_int_equal(atomic_load(&s.connections), 1); /* the second request reused it */
    assert_int_equal(ev.counts[HTTP_EVENT_ON_CONNECTED], 1);
    /* a body read to its last byte (without the final read of 0) leaves it reusable too */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/big", s.port);
    assert_int_equal(esp_http_client_set_url(c, url), ESP_OK);
    assert_int_equal(esp_http_client_open(c, 0), ESP_OK);
    assert_int_equal(esp_http_client_fetch_headers(c), BIG_LEN);
    static char big[BIG_LEN];
    for (uint32_t at = 0; at < BIG_LEN;) {
        int n = esp_http_client_read(c, big + at, (int)(BIG_LEN - at));
        assert_true(n > 0);
        at += (uint32_t)n;
    }
    assert_int_equal(esp_http_client_set_url(c, "/hello"), ESP_OK);
    assert_int_equal(get_all(c, buf, sizeof buf), 11);
    assert_int_equal(atomic_load(&s.connections), 1);
    assert_int_equal(esp_http_client_close(c), ESP_OK);
    assert_int_equal(get_all(c, buf, sizeof buf), 11);
    assert_int_equal(atomic_load(&s.connections), 2); /* close dropped it */

    /* a 302 is handed back, not followed */
    assert_int_equal(esp_http_client_set_url(c, "/redirect"), ESP_OK); /* a path: same host */
    assert_int_equal(esp_http_client_set_url(c, "http://[bad"), ESP_ERR_INVALID_ARG);
    atomic_store(&s.hello_hits, 0);
    assert_int_equal(get_all(c, buf, sizeof buf), 5);
    assert_int_equal(esp_http_client_get_status_code(c), 302);
    assert_int_equal(atomic_load(&s.hello_hits), 0);
    esp_http_client_cleanup(c);

    /* a server that stalls: fetch_headers gives up after timeout_ms */
    c = client_for(&s, "/stall", &ev, 150);
    assert_int_equal(esp_http_client_open(c, 0), ESP_OK);
    int64_t t0 = esp_timer_get_time();
    assert_int_equal(esp_http_client_fetch_headers(c), -ESP_ERR_HTTP_EAGAIN);
    int64_t took = esp_timer_get_time() - t0;
    assert_true(took >= 140 * 1000 && took < 600 * 1000);
    esp_http_client_cleanup(c);
    server_stop(&s);
}

typedef struct {
    atomic_int stage;
    uint16_t port;
} http_task_t;

static void stalled_http_task(void *arg)
{
    http_task_t *t = arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/stall", t->port);
    esp_http_client_config_t cfg = {.url = url, .timeout_ms = 5000};
    esp_http_client_handle_t c = esp_http_client_init(&cfg);
    atomic_store(&t->stage, c != NULL && esp_http_client_open(c, 0) == ESP_OK ? 1 : -1);
    esp_http_client_fetch_headers(c); /* blocks: the server answers after 700 ms */
    atomic_store(&t->stage, 2);
    vTaskDelete(NULL);
}

/* A task blocked on the network stops at power-off; its handle goes with the device's RAM. */
static void test_http_task_power_off(void **state)
{
    (void)state;
    server_t s;
    server_start(&s);
    rig_t r;
    rig_open(&r);
    http_task_t t = {0, s.port};
    assert_int_equal(xTaskCreate(stalled_http_task, "http", 8192, &t, 5, NULL), pdPASS);
    for (int i = 0; i < 2000 && atomic_load(&t.stage) == 0; i++) {
        usleep(1000);
    }
    assert_int_equal(atomic_load(&t.stage), 1);
    int64_t t0 = esp_timer_get_time();
    esp_double_power_off(r.dev);
    assert_true(esp_timer_get_time() - t0 < 400 * 1000);
    assert_int_equal(atomic_load(&t.stage), 1);
    rig_close(&r);
    server_stop(&s);
}

/* ---- FreeRTOS and the reset model ------------------------------------------------------------ */

typedef struct {
    atomic_int stage;
    SemaphoreHandle_t sem;
    atomic_uint ticks[2];
} task_ctx_t;

static void wait_stage(task_ctx_t *t, int stage)
{
    for (int i = 0; i < 2000 && atomic_load(&t->stage) < stage; i++) {
        usleep(1000);
    }
    assert_true(atomic_load(&t->stage) >= stage);
}

static void notified_task(void *arg)
{
    task_ctx_t *t = arg;
    atomic_store(&t->stage, 1);
    uint32_t v = ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
    atomic_store(&t->stage, v == 1 ? 2 : -1);
    ulTaskNotifyTake(pdTRUE, portMAX_DELAY); /* blocks until deleted */
    atomic_store(&t->stage, -2);
    vTaskDelete(NULL);
}

static void sem_task(void *arg)
{
    task_ctx_t *t = arg;
    atomic_store(&t->stage, 1);
    xSemaphoreTake(t->sem, portMAX_DELAY);
    atomic_store(&t->stage, -1);
    vTaskDelete(NULL);
}

static void restart_task(void *arg)
{
    task_ctx_t *t = arg;
    atomic_store(&t->stage, 1);
    esp_restart();
}

static void delay_task(void *arg)
{
    task_ctx_t *t = arg;
    atomic_store(&t->ticks[0], xTaskGetTickCount());
    atomic_store(&t->stage, 1);
    vTaskDelay(pdMS_TO_TICKS(1000));
    atomic_store(&t->ticks[1], xTaskGetTickCount());
    atomic_store(&t->stage, 2);
    vTaskDelay(portMAX_DELAY);
}

static void test_tasks_notify_delete(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    task_ctx_t t = {0};
    TaskHandle_t h = NULL;
    assert_int_equal(xTaskCreate(notified_task, "notified", 4096, &t, 5, &h), pdPASS);
    wait_stage(&t, 1);
    usleep(20 * 1000);
    assert_int_equal(atomic_load(&t.stage), 1);
    assert_int_equal(xTaskNotifyGive(h), pdPASS);
    wait_stage(&t, 2);
    vTaskDelete(h); /* blocked in ulTaskNotifyTake: returns once the thread ended */
    assert_int_equal(atomic_load(&t.stage), 2);

    task_ctx_t s = {0};
    s.sem = xSemaphoreCreateBinary();
    assert_int_equal(xSemaphoreTake(s.sem, 0), pdFALSE);
    assert_int_equal(xTaskCreate(sem_task, "sem", 4096, &s, 5, &h), pdPASS);
    wait_stage(&s, 1);
    vTaskDelete(h);
    assert_int_equal(atomic_load(&s.stage), 1);
    assert_int_equal(xSemaphoreGive(s.sem), pdTRUE);
    assert_int_equal(xSemaphoreGive(s.sem), pdFALSE);
    assert_int_equal(xSemaphoreTake(s.sem, 0), pdTRUE);
    vSemaphoreDelete(s.sem);
    SemaphoreHandle_t m = xSemaphoreCreateMutex();
    assert_int_equal(xSemaphoreTake(m, pdMS_TO_TICKS(10)), pdTRUE);
    assert_int_equal(xSemaphoreTake(m, pdMS_TO_TICKS(20)), pdFALSE);
    assert_int_equal(xSemaphoreGive(m), pdTRUE);

    /* a task still blocked at power-off is stopped with the device (and m is freed with it) */
    task_ctx_t d = {0};
    d.sem = xSemaphoreCreateBinary();
    assert_int_equal(xTaskCreate(sem_task, "blocked", 4096, &d, 5, NULL), pdPASS);
    wait_stage(&d, 1);
    esp_double_power_off(r.dev);
    assert_int_equal(atomic_load(&d.stage), 1);
    rig_close(&r);
}

static void test_restart_model(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r);
    task_ctx_t t = {0};
    TaskHandle_t h = NULL;
    assert_false(esp_double_restart_requested(r.dev));
    assert_int_equal(xTaskCreate(restart_task, "restarter", 4096, &t, 5, &h), pdPASS);
    assert_true(esp_double_wait_restart(r.dev, 2000));
    vTaskDelete(h); /* parked in esp_restart: deleting it ends the thread */
    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    assert_false(esp_double_restart_requested(r.dev));

    t.stage = 0;
    assert_int_equal(xTaskCreate(restart_task, "restarter", 4096, &t, 5, NULL), pdPASS);
    assert_true(esp_double_wait_restart(r.dev, 2000));
    esp_double_power_off(r.dev); /* and so does a power-off */

    assert_int_equal(esp_double_power_on(r.dev, NULL), FOTA_OK);
    volatile int passes = 0;
    if (ESP_DOUBLE_RESTART_POINT(r.dev)) {
        passes += 10;
    } else {
        passes += 1;
        esp_restart();
    }
    esp_double_restart_disarm();
    assert_int_equal(passes, 11);
    assert_true(esp_double_restart_requested(r.dev));
    rig_close(&r);
}

static void test_manual_clock(void **state)
{
    (void)state;
    rig_t r;
    rig_opts_t o = {.manual_clock = true};
    rig_open_with(&r, &o);
    assert_int_equal(esp_timer_get_time(), 0);
    task_ctx_t t = {0};
    assert_int_equal(xTaskCreate(delay_task, "delay", 4096, &t, 5, NULL), pdPASS);
    wait_stage(&t, 1);
    usleep(20 * 1000);
    assert_int_equal(atomic_load(&t.stage), 1); /* real time passes, device time does not */
    esp_double_advance_ms(r.dev, 500);
    usleep(20 * 1000);
    assert_int_equal(atomic_load(&t.stage), 1);
    for (int i = 0; i < 40 && atomic_load(&t.stage) < 2; i++) {
        esp_double_advance_ms(r.dev, 100);
        usleep(5 * 1000);
    }
    wait_stage(&t, 2);
    unsigned slept = atomic_load(&t.ticks[1]) - atomic_load(&t.ticks[0]);
    assert_true(slept >= 100 && slept <= 110); /* 1000 ms in 10 ms ticks */
    assert_int_equal(esp_timer_get_time() % 100000, 0);
    assert_int_equal(xTaskGetTickCount(), esp_timer_get_time() / 10000);
    uint8_t mac[6];
    assert_int_equal(esp_efuse_mac_get_default(mac), ESP_OK);
    assert_memory_equal(mac, "\x24\x0a\xc4\x01\x02\x03", 6);
    assert_string_equal(esp_err_to_name(ESP_ERR_NVS_NOT_FOUND), "ESP_ERR_NVS_NOT_FOUND");
    assert_string_equal(esp_err_to_name(ESP_ERR_OTA_SMALL_SEC_VER), "ESP_ERR_OTA_SMALL_SEC_VER");
    assert_string_equal(esp_err_to_name(0x7fff), "UNKNOWN ERROR");
    rig_close(&r); /* stops the task sleeping forever */
}

int main(void)
{
    setenv("FOTA_ESP_LOG", "N", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_bounds_and_nor),
        cmocka_unit_test(test_power_cuts),
        cmocka_unit_test(test_set_boot_refuses_corrupt_image),
        cmocka_unit_test(test_update_pending_then_valid),
        cmocka_unit_test(test_unconfirmed_image_rolls_back),
        cmocka_unit_test(test_state_codes_and_invalid_rollback),
        cmocka_unit_test(test_anti_rollback),
        cmocka_unit_test(test_nvs_errors),
        cmocka_unit_test(test_nvs_commit_durability),
        cmocka_unit_test(test_nvs_factory_csv),
        cmocka_unit_test(test_http_get_headers_events),
        cmocka_unit_test(test_http_post_body),
        cmocka_unit_test(test_http_streamed_read),
        cmocka_unit_test(test_http_keep_alive_redirect_timeout),
        cmocka_unit_test(test_http_task_power_off),
        cmocka_unit_test(test_tasks_notify_delete),
        cmocka_unit_test(test_restart_model),
        cmocka_unit_test(test_manual_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
