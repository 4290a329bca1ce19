/*
 * test_store_flash.c - the journal store on the emulated flash (ports/posix/store_flash.c): a
 * record saved is the record loaded, across many saves that wrap from one sector to the other,
 * after a clear, and - the point of it - after a power cut at every flash operation of a save,
 * clean or torn, a load returns either the previous record or the new one, never garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fota/emu/flash_emu.h"
#include "fota/emu/partition.h"
#include "fota/emu/emu_device.h"
#include "fota/posix/store_flash.h"

typedef struct {
    fota_flash_emu_t *emu;
    fota_flash_t flash;
    fota_part_table_t table;
    fota_flash_store_t st;
    fota_store_t port;
} store_rig_t;

static void open_rig(store_rig_t *r)
{
    assert_int_equal(
        fota_flash_emu_open(NULL, FOTA_FLASH_EMU_DEFAULT_SIZE, FOTA_FLASH_EMU_STRICT, &r->emu),
        FOTA_OK);
    r->flash = fota_flash_emu_port(r->emu);
    fota_part_table_default(&r->table);
    assert_int_equal(fota_emu_store_init(&r->st, &r->flash, &r->table), FOTA_OK);
    r->port = fota_flash_store_port(&r->st);
}

/* A fresh store over the same flash, as after a reboot. */
static void reboot(store_rig_t *r)
{
    fota_flash_emu_cancel_cut(r->emu); /* a cut planned past the save did not happen */
    fota_flash_emu_power_on(r->emu);
    assert_int_equal(fota_emu_store_init(&r->st, &r->flash, &r->table), FOTA_OK);
    r->port = fota_flash_store_port(&r->st);
}

static void record(uint8_t *buf, size_t len, unsigned n)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(n * 7u + i);
    }
}

static void test_round_trip_and_clear(void **state)
{
    (void)state;
    store_rig_t r;
    open_rig(&r);
    uint8_t in[160], out[200];
    size_t len = 0;
    assert_int_equal(r.port.load(r.port.ctx, out, sizeof out, &len), FOTA_ERR_JOURNAL_EMPTY);
    record(in, sizeof in, 1);
    assert_int_equal(r.port.save(r.port.ctx, in, sizeof in), FOTA_OK);
    reboot(&r);
    assert_int_equal(r.port.load(r.port.ctx, out, sizeof out, &len), FOTA_OK);
    assert_int_equal(len, sizeof in);
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(r.port.load(r.port.ctx, out, 10, &len), FOTA_ERR_TOO_LARGE);
    assert_int_equal(r.port.clear(r.port.ctx), FOTA_OK);
    reboot(&r);
    assert_int_equal(r.port.load(r.port.ctx, out, sizeof out, &len), FOTA_ERR_JOURNAL_EMPTY);
    uint8_t big[FOTA_STORE_MAX_DATA + 1] = {0};
    assert_int_equal(r.port.save(r.port.ctx, big, sizeof big), FOTA_ERR_TOO_LARGE);
    fota_flash_emu_close(r.emu);
}

/* Many saves wrap around both sectors; each load after a reboot sees the last one. */
static void test_wraps_sectors(void **state)
{
    (void)state;
    store_rig_t r;
    open_rig(&r);
    uint8_t in[160], out[200];
    for (unsigned n = 0; n < 100; n++) {
        record(in, sizeof in, n);
        assert_int_equal(r.port.save(r.port.ctx, in, sizeof in), FOTA_OK);
        if (n % 9 == 0) {
            reboot(&r);
        }
        size_t len = 0;
        assert_int_equal(r.port.load(r.port.ctx, out, sizeof out, &len), FOTA_OK);
        assert_memory_equal(in, out, sizeof in);
    }
    fota_flash_stats_t st;
    fota_flash_emu_stats(r.emu, &st);
    assert_true(st.erases >= 4); /* it did go round */
    fota_flash_emu_close(r.emu);
}

/* A cut at every operation of a save, at every position in the sector cycle. */
static void test_power_cut_during_save(void **state)
{
    (void)state;
    uint8_t prev[160], next[160], out[200];
    for (unsigned before = 18; before < 26; before++) { /* around the sector switch at 21 */
        for (unsigned op = 0; op < 4; op++) {
            for (int how = 0; how < 2; how++) {
                store_rig_t r;
                open_rig(&r);
                for (unsigned n = 0; n <= before; n++) {
                    record(prev, sizeof prev, n);
                    assert_int_equal(r.port.save(r.port.ctx, prev, sizeof prev), FOTA_OK);
                }
                record(next, sizeof next, 1000);
                fota_flash_emu_plan_cut(r.emu, op, (fota_cut_mode_t)how, before * 13u + op);
                fota_err_t err = r.port.save(r.port.ctx, next, sizeof next);
                reboot(&r);
                size_t len = 0;
                assert_int_equal(r.port.load(r.port.ctx, out, sizeof out, &len), FOTA_OK);
                assert_int_equal(len, sizeof prev);
                if (err == FOTA_OK) {
                    assert_memory_equal(out, next, sizeof next);
                } else {
                    assert_true(memcmp(out, prev, sizeof prev) == 0 ||
                                memcmp(out, next, sizeof next) == 0);
                }
                /* And the store still works. */
                assert_int_equal(r.port.save(r.port.ctx, next, sizeof next), FOTA_OK);
                reboot(&r);
                assert_int_equal(r.port.load(r.port.ctx, out, sizeof out, &len), FOTA_OK);
                assert_memory_equal(out, next, sizeof next);
                fota_flash_emu_close(r.emu);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_clear),
        cmocka_unit_test(test_wraps_sectors),
        cmocka_unit_test(test_power_cut_during_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
