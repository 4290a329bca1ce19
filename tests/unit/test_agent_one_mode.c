/*
 * test_agent_one_mode.c - the agent built with one mode only (FOTA_CONFIG_MODE_SEED or
 * FOTA_CONFIG_MODE_CHAIN 0, fota_config.h), as a firmware that needs one protocol builds it. The
 * root CMakeLists.txt compiles this file twice, each time with the whole emulated device and the
 * test rig under the same definition: test_agent_seed_only and test_agent_chain_only.
 *
 * The mode built updates end to end and survives a power cut in the middle of its download; the
 * mode left out is refused by fota_agent_init (FOTA_ERR_UNSUPPORTED); a chain-only agent's state
 * is smaller, its one buffer holding a record instead of a seed chunk's JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent_rig.h"

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
        cmocka_unit_test(test_other_mode_refused),
        cmocka_unit_test(test_buffer_fits_the_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
