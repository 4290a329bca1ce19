/*
 * agent_rig.c - the agent's unit-test rig (agent_rig.h).
 */
#include "agent_rig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fota/emu/bootloader.h"
#include "fota/emu/image_build.h"
#include "fota/emu/otadata.h"

void rig_open(rig_t *r, fota_mode_t mode, uint32_t old_size)
{
    rig_open_seed(r, mode, old_size, 0);
}

void rig_open_seed(rig_t *r, fota_mode_t mode, uint32_t old_size, uint32_t seed)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(
        fota_flash_emu_open(NULL, FOTA_FLASH_EMU_DEFAULT_SIZE, FOTA_FLASH_EMU_STRICT, &r->emu),
        FOTA_OK);
    size_t len = 0;
    uint8_t *old = fake_image_seed(OLD_VERSION, old_size, seed, &len);
    fota_flash_t flash = fota_flash_emu_port(r->emu);
    assert_int_equal(fota_device_provision(&flash, NULL, old, len), FOTA_OK);
    free(old);
    for (int i = 0; i < 32; i++) {
        r->device_key[i] = (uint8_t)(0xA0 + i);
    }
    const uint8_t *pub;
    size_t pub_len;
    fake_keys(&pub, &pub_len);
    fota_emu_device_config_t cfg = {0};
    cfg.device_id = "inv-000001";
    cfg.device_key = r->device_key;
    cfg.product_id = PRODUCT;
    cfg.release_key = pub;
    cfg.release_key_len = pub_len;
    cfg.mode = mode;
    cfg.retry_ms = 100;
    cfg.progress_every = 16;
    assert_int_equal(fota_emu_device_open(&r->dev, r->emu, &cfg), FOTA_OK);
    bool again = false;
    assert_int_equal(fota_emu_device_power_on(&r->dev, &again), FOTA_OK);
    assert_false(again);
    fake_server_init(&r->srv, "inv-000001", r->device_key);
    r->tr = fake_server_transport(&r->srv);
}

void rig_close(rig_t *r)
{
    fota_emu_device_close(&r->dev);
    hostile_free(&r->hostile);
    fake_server_free(&r->srv);
    fota_flash_emu_close(r->emu);
}

void publish(rig_t *r, const char *version, uint32_t size, uint32_t chunk)
{
    fake_release_spec_t spec = {0};
    spec.version = version;
    spec.size = size;
    spec.chunk_size = chunk;
    fake_server_release(&r->srv, &spec);
}

void power_cycle(rig_t *r)
{
    bool again = true;
    for (int i = 0; again && i < 4; i++) {
        fota_err_t err = fota_emu_device_power_on(&r->dev, &again);
        if (err == FOTA_ERR_BOOT_NO_APP) {
            r->bricks++;
            return;
        }
        assert_int_equal(err, FOTA_OK);
    }
    assert_false(again);
}

void run_device(rig_t *r)
{
    fota_agent_check_now(&r->dev.agent);
    for (int step = 0; step < 20000; step++) {
        bool rebooted = false;
        assert_int_equal(fota_agent_run(&r->dev.agent, &r->tr, 100000, &rebooted), FOTA_OK);
        if (rebooted) {
            r->reboots++;
            power_cycle(r);
            if (r->bricks > 0) {
                return;
            }
            continue;
        }
        if (fota_agent_settled(&r->dev.agent)) {
            return;
        }
        r->dev.clock.now_ms += 61000; /* the longest back-off has passed */
    }
    fail_msg("the agent never settled");
}

uint32_t slot_offset(unsigned slot)
{
    return slot == 0 ? 0x10000u : 0x150000u;
}

uint8_t *read_flash(rig_t *r, uint32_t addr, size_t len)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    fota_flash_emu_cancel_cut(r->emu);
    assert_int_equal(fota_flash_emu_read(r->emu, addr, buf, len), FOTA_OK);
    return buf;
}

void assert_only_verified_bytes(rig_t *r)
{
    const fake_server_t *s = &r->srv;
    uint8_t *slot = read_flash(r, slot_offset(1), s->image_len);
    for (size_t i = 0; i < s->image_len; i++) {
        if (slot[i] != 0xFF && slot[i] != s->image[i]) {
            free(slot);
            fail_msg("byte %zu of the update slot was not verified", i);
        }
    }
    free(slot);
}

void assert_slot_clean(rig_t *r)
{
    size_t len = (r->srv.image_len + SECTOR - 1u) / SECTOR * SECTOR;
    uint8_t *slot = read_flash(r, slot_offset(1), len);
    for (size_t i = 0; i < len; i++) {
        if (slot[i] != 0xFF) {
            free(slot);
            fail_msg("byte %zu of the update slot was left after the image was refused", i);
        }
    }
    free(slot);
}

void assert_running(rig_t *r, const char *version)
{
    assert_int_equal(r->bricks, 0);
    assert_string_equal(r->dev.version, version);
}

void assert_installed(rig_t *r)
{
    assert_running(r, NEW_VERSION);
    assert_int_equal(r->dev.boot.running.ota_state, FOTA_OTA_IMG_VALID);
    uint8_t *slot = read_flash(r, slot_offset(1), r->srv.image_len);
    assert_memory_equal(slot, r->srv.image, r->srv.image_len);
    free(slot);
    /* The reboot followed the install at once: no "installed" (only a deferred reboot sends it);
     * the new image confirmed before its "booted" went out, so "confirmed" alone tells it. */
    assert_false(fake_server_got_report(&r->srv, "installed"));
    assert_false(fake_server_got_report(&r->srv, "booted"));
    assert_true(fake_server_got_report(&r->srv, "confirmed"));
}

bool error_reported(const fake_server_t *s, fota_err_t err)
{
    for (unsigned i = 0; i < s->report_count && i < 64; i++) {
        if (strcmp(s->reports[i], "error") == 0 && s->report_errors[i] == (int)err) {
            return true;
        }
    }
    return false;
}
