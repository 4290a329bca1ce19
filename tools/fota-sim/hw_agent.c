/*
 * hw_agent.c - the default device kind: the agent directly on the emulated ESP32
 * (fota_emu_device: flash, bootloader with ESP-IDF's rollback rules, the journal in the first
 * sectors of nvs, the application's self-test), behind sim_hw_ops_t.
 *
 * A power-off is nothing here: the sim stops calling the agent, and the next power-on starts it
 * again from the flash (fota_emu_device_power_on closes the old one first). A new image that
 * fails its self-test does not come up: the device hangs until its watchdog resets it, so the
 * sim power-cycles it (sim_boot_t.reset), and the bootloader rolls back at that boot.
 */
#include <stdlib.h>

#include "fota/emu/emu_device.h"
#include "fota/emu/otadata.h"

#include "sim.h"

static fota_emu_device_t *dev_of(const sim_dev_t *d)
{
    return d->hw;
}

static fota_err_t agent_open(sim_t *s, sim_dev_t *d)
{
    fota_emu_device_t *dev = calloc(1, sizeof *dev);
    if (dev == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    fota_emu_device_config_t c = {0};
    c.device_id = d->id;
    c.device_key = d->key;
    c.product_id = s->cfg.product;
    c.release_key = s->release_der;
    c.release_key_len = s->release_der_len;
    c.security_floor = s->cfg.security_floor;
    c.mode = s->cfg.mode;
    c.check_interval_ms = s->cfg.check_interval_ms;
    c.retry_ms = s->cfg.retry_ms;
    c.range_records = s->cfg.range_records;
    c.progress_every = s->cfg.progress_every;
    c.on_event = sim_device_on_event;
    c.selftest_fails = sim_device_selftest_fails;
    c.selftest_ctx = d;
    c.event_ctx = d;
    c.real_clock = true; /* request authentication needs real UNIX time */
    fota_err_t err = fota_emu_device_open(dev, d->emu, &c);
    if (err != FOTA_OK) {
        free(dev);
        return err;
    }
    d->hw = dev;
    return FOTA_OK;
}

static void agent_close(sim_dev_t *d)
{
    if (d->hw != NULL) {
        fota_emu_device_close(dev_of(d));
        free(d->hw);
        d->hw = NULL;
    }
}

static void agent_power_on(sim_dev_t *d, sim_boot_t *out)
{
    bool again = false;
    out->err = fota_emu_device_power_on(dev_of(d), &again);
    out->selftest_failed = again;
    out->reset = again;
}

static void agent_power_off(sim_dev_t *d)
{
    (void)d; /* fota_emu_device_power_off would plan a cut: the sim just stops calling it */
}

static fota_agent_t *agent_agent(sim_dev_t *d)
{
    return &dev_of(d)->agent;
}

static const char *agent_version(const sim_dev_t *d)
{
    return dev_of(d)->version;
}

static bool agent_pending(const sim_dev_t *d)
{
    return dev_of(d)->boot.running.ota_state == FOTA_OTA_IMG_PENDING_VERIFY;
}

const sim_hw_ops_t sim_hw_agent = {
    .name = "agent",
    .title = "the agent directly",
    .journal_on_flash = true,
    .open = agent_open,
    .close = agent_close,
    .power_on = agent_power_on,
    .power_off = agent_power_off,
    .agent = agent_agent,
    .version = agent_version,
    .pending = agent_pending,
};
