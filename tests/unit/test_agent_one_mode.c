/*
 * test_agent_one_mode.c - the agent built with one mode only (FOTA_CONFIG_MODE_SEED or
 * FOTA_CONFIG_MODE_CHAIN 0, fota_config.h), as a firmware that needs one protocol builds it. The
 * root CMakeLists.txt compiles this file twice, each time with the whole emulated device and the
 * test rig under the same definition: test_agent_seed_only and test_agent_chain_only.
 *
 * The mode built updates end to end and survives a power cut in the middle of its download; the
 * mode left out is refused by fota_agent_init (FOTA_ERR_UNSUPPORTED); a chain-only agent's state
 * is smaller, its one buffer holding a record instead of a seed chunk's JSON. A one-mode agent
 * checks only the image's bounds once its bytes are proved (fota_esp_image_check_bounds), so a
 * chain-only one reads the slot back once, for the comparison after each write, and a seed-only
 * one once more for the SHA-256; an image the bootloader rolled back is hashed again from the
 * slot in either build, and refused if the slot changed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent_rig.h"
#include "fota/bytes.h"
#include "fota/crc32.h"
#include "fota/emu/bootloader.h"

#if FOTA_CONFIG_MODE_SEED && FOTA_CONFIG_MODE_CHAIN
#error "build this test with one mode only"
#endif
#define BUILT (FOTA_CONFIG_MODE_SEED ? FOTA_MODE_SEED : FOTA_MODE_CHAIN)
#define LEFT_OUT (FOTA_CONFIG_MODE_SEED ? FOTA_MODE_CHAIN : FOTA_MODE_SEED)

static void test_update(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, BUILT, SMALL_IMAGE);
    publish(&r, NEW_VERSION, 40000, 1024);
    run_device(&r);
    assert_installed(&r);
    rig_close(&r);
}

/* A cut at the 20th flash operation of the download: the next boot resumes, and installs. */
static void test_power_cut_resumes(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, BUILT, SMALL_IMAGE);
    publish(&r, NEW_VERSION, 40000, 1024);
    fota_flash_emu_plan_cut(r.emu, 20, FOTA_CUT_TORN, 3);
    fota_agent_check_now(&r.dev.agent);
    bool rebooted = false;
    for (int i = 0; i < 200 && !fota_flash_emu_is_cut(r.emu); i++) {
        fota_agent_run(&r.dev.agent, &r.tr, 1000, &rebooted);
        r.dev.clock.now_ms += 61000;
    }
    assert_true(fota_flash_emu_is_cut(r.emu));
    power_cycle(&r);
    run_device(&r);
    assert_installed(&r);
    rig_close(&r);
}

/* The agent's flash port, counting the bytes read from the update slot (ota_1). */
typedef struct {
    fota_flash_t inner;
    uint64_t slot_bytes_read;
} counting_flash_t;

static fota_err_t counting_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    counting_flash_t *f = ctx;
    if (addr >= slot_offset(1) && addr < slot_offset(1) + 0x140000u) {
        f->slot_bytes_read += len;
    }
    return f->inner.read(f->inner.ctx, addr, buf, len);
}

static fota_err_t counting_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    counting_flash_t *f = ctx;
    return f->inner.write(f->inner.ctx, addr, buf, len);
}

static fota_err_t counting_erase(void *ctx, uint32_t addr, uint32_t len)
{
    counting_flash_t *f = ctx;
    return f->inner.erase(f->inner.ctx, addr, len);
}

/* Chain only: the slot is read once (each chunk compared after its write) plus the image's
 * headers; seed only: once more, whole, for its SHA-256, and not a third time for the XOR
 * checksum and the appended hash, which a one-mode build leaves to the boot port. */
static void test_slot_reads(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, BUILT, SMALL_IMAGE);
    publish(&r, NEW_VERSION, 40000, 1024);
    counting_flash_t f = {r.dev.agent.port.flash, 0};
    r.dev.agent.port.flash.ctx = &f;
    r.dev.agent.port.flash.read = counting_read;
    r.dev.agent.port.flash.write = counting_write;
    r.dev.agent.port.flash.erase = counting_erase;
    fota_agent_check_now(&r.dev.agent);
    bool rebooted = false;
    for (int i = 0; i < 100 && !rebooted; i++) {
        fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
    }
    assert_true(rebooted);
    uint64_t image = r.srv.image_len;
    uint64_t whole_reads = FOTA_CONFIG_MODE_SEED ? 2u : 1u;
    assert_true(f.slot_bytes_read >= whole_reads * image);
    assert_true(f.slot_bytes_read <= whole_reads * image + 256u);
    rig_close(&r);
}

/* A rolled-back image whose slot changed since (two bits cleared, the XOR checksum and every
 * header intact) is refused when it is offered again (FOTA_ERR_IMAGE_SHA256), then downloaded
 * again and installed. */
static void test_rolled_back_slot_changed(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, BUILT, SMALL_IMAGE);
    publish(&r, NEW_VERSION, 40000, 1024);
    fota_agent_check_now(&r.dev.agent);
    bool rebooted = false;
    for (int i = 0; i < 100 && !rebooted; i++) {
        fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
    }
    assert_true(rebooted);
    fota_boot_info_t first;
    fota_flash_t flash = fota_flash_emu_port(r.emu);
    assert_int_equal(fota_bootloader_run(&flash, &first), FOTA_OK); /* boots, then reset */
    power_cycle(&r);
    assert_running(&r, OLD_VERSION);
    uint32_t base = slot_offset(1);
    uint8_t *img = read_flash(&r, base, r.srv.image_len);
    unsigned done = 0;
    for (uint32_t i = 4096; i < r.srv.image_len - 64 && done < 2; i++) {
        if ((img[i] & 0x10u) != 0) {
            uint8_t b = (uint8_t)(img[i] & ~0x10u);
            assert_int_equal(fota_flash_emu_write(r.emu, base + i, &b, 1), FOTA_OK);
            done++;
            i += 1000;
        }
    }
    assert_int_equal(done, 2);
    free(img);
    unsigned data = r.srv.data_requests;
    run_device(&r);
    assert_true(error_reported(&r.srv, FOTA_ERR_IMAGE_SHA256));
    run_device(&r);
    assert_true(r.srv.data_requests > data);
    assert_installed(&r);
    rig_close(&r);
}

/* A wiping record (state 5: erase 8 KB of the slot, then report FOTA_ERR_IMAGE_SHA256), as a
 * seed-mode agent saves it after refusing an image. A seed-capable agent erases and reports; a
 * chain-only one, which only meets such a record on a device flashed by other means, reads it as
 * corrupt: it clears the journal, reports nothing, and updates as usual. */
static void test_wiping_record(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, BUILT, SMALL_IMAGE);
    uint8_t rec[160] = {'F', 'O', 'T', 'J', 1, 5, FOTA_MODE_SEED, 0};
    memset(rec + 8, 'a', 32);
    memcpy(rec + 40, NEW_VERSION, sizeof NEW_VERSION - 1);
    fota_put_le32(rec + 140, slot_offset(1));
    fota_put_le32(rec + 144, 2u * SECTOR);
    fota_put_le32(rec + 148, FOTA_ERR_IMAGE_SHA256);
    fota_put_le32(rec + 156, fota_crc32_le(0, rec, 156));
    fota_store_t *store = &r.dev.agent.port.store;
    assert_int_equal(store->save(store->ctx, rec, sizeof rec), FOTA_OK);
    uint8_t mark = 0x5A;
    assert_int_equal(fota_flash_emu_write(r.emu, slot_offset(1) + 100u, &mark, 1), FOTA_OK);
    power_cycle(&r);
    if (FOTA_CONFIG_MODE_SEED) {
        assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_ERROR);
    } else {
        assert_true(fota_agent_settled(&r.dev.agent));
    }
    run_device(&r);
    uint8_t *slot = read_flash(&r, slot_offset(1) + 100u, 1);
    assert_int_equal(slot[0], FOTA_CONFIG_MODE_SEED ? 0xFF : 0x5A);
    free(slot);
    assert_int_equal(error_reported(&r.srv, FOTA_ERR_IMAGE_SHA256), FOTA_CONFIG_MODE_SEED);
    publish(&r, NEW_VERSION, 40000, 1024);
    fota_agent_check_now(&r.dev.agent);
    run_device(&r);
    assert_installed(&r);
    rig_close(&r);
}

static void test_other_mode_refused(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, BUILT, SMALL_IMAGE);
    fota_agent_t a;
    fota_agent_config_t cfg = r.dev.agent.cfg;
    cfg.mode = LEFT_OUT;
    assert_int_equal(fota_agent_init(&a, &cfg, &r.dev.agent.port), FOTA_ERR_UNSUPPORTED);
    cfg.mode = BUILT;
    assert_int_equal(fota_agent_init(&a, &cfg, &r.dev.agent.port), FOTA_OK);
    fota_agent_deinit(&a);
    rig_close(&r);
}

static void test_buffer_fits_the_mode(void **state)
{
    (void)state;
    if (FOTA_CONFIG_MODE_SEED) {
        assert_true(FOTA_CONFIG_IO_BUF >= FOTA_SEED_JSON_MAX(FOTA_CONFIG_MAX_CHUNK_SIZE));
    } else {
        assert_int_equal(FOTA_CONFIG_IO_BUF, FOTA_CONFIG_MAX_CHUNK_SIZE + 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_power_cut_resumes),
        cmocka_unit_test(test_slot_reads),
        cmocka_unit_test(test_rolled_back_slot_changed),
        cmocka_unit_test(test_wiping_record),
        cmocka_unit_test(test_other_mode_refused),
        cmocka_unit_test(test_buffer_fits_the_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
