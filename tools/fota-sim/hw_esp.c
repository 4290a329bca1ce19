/*
 * hw_esp.c - the --esp-idf device kind: an emulated ESP32 running the fota ESP-IDF component
 * (ports/esp-idf) over the ESP-IDF API double, booted as the example firmware boots it
 * (esp_device.h), behind sim_hw_ops_t.
 *
 * What runs through the component: the flash (esp_partition on the update slot, over the same
 * emulated flash fota-sim provisions, with its power cuts), the boot (esp_ota_ops over otadata,
 * the double's bootloader), the journal (an NVS blob), the clock (esp_timer, time()) and the
 * identity: each device gets a factory NVS image (nvs_partition_gen.py CSV: device_id and
 * device_key in namespace "fota") as a factory would flash it, and NVS lives in memory
 * (state_path NULL: it survives power cycles, not the process). What stays fota-sim's is the
 * transport: the sim drives fota_esp_agent() with poll / response_begin / feed / response_end
 * on its curl-multi loop, so the component's own esp_http_client transport is not used here
 * (fota-device --esp-idf and the component's tests exercise it).
 *
 * ESP-IDF calls act on the device selected for the thread: agent() selects the device before it
 * returns the agent, and esp_device's functions select it themselves. A reboot the agent asks
 * for (FOTA_ACTION_REBOOT: an application with its own transport calls esp_restart) and a power
 * cut are a power_off / power_on pair. A new image failing its self-test is rejected inside
 * power_on (esp_ota_mark_app_invalid_rollback_and_reboot): the device restarts into the old
 * image there and then, so there is nothing left for the sim to reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_device.h"

#include "sim.h"

typedef struct {
    fota_esp_device_t dev;
    char factory_nvs[256]; /* read at the first power-on */
} esp_hw_t;

static esp_hw_t *hw_of(const sim_dev_t *d)
{
    return d->hw;
}

/* The component's configuration: menuconfig defaults, then what fota-sim's options say. The
 * device id and key come from NVS (device_id / device_key left NULL). */
static void component_config(const sim_t *s, sim_dev_t *d, fota_esp_config_t *c)
{
    fota_esp_config_t def = FOTA_ESP_CONFIG_DEFAULT();
    *c = def;
    c->server_url = s->base_url; /* the component's own transport only; set by sim_fotad_start */
    c->product_id = s->cfg.product;
    c->release_key = s->release_der;
    c->release_key_len = s->release_der_len;
    c->security_floor = s->cfg.security_floor;
    c->mode = s->cfg.mode;
    c->check_interval_ms = s->cfg.check_interval_ms;
    c->chunk_interval_ms = 0;
    c->retry_ms = s->cfg.retry_ms;
    c->range_records = s->cfg.range_records;
    c->progress_every = s->cfg.progress_every;
    c->on_event = sim_device_on_event;
    c->ctx = d;
}

static void hardware_config(sim_dev_t *d, esp_double_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->name = d->id;
    c->flash = d->emu;
    c->state_path = NULL; /* NVS and eFuse in memory */
    uint8_t mac[6] = {
        0x24, 0x0a, 0xc4, (uint8_t)(d->index >> 16), (uint8_t)(d->index >> 8), (uint8_t)d->index};
    memcpy(c->mac, mac, sizeof mac);
    c->strict_nor = true; /* as fota-sim provisions the flash: no write onto unerased bytes */
}

/* The component's log lines would be thousands: none unless --verbose (then warnings); the
 * double reads FOTA_ESP_LOG once, and a value in the environment wins. */
static void quiet_logs(const sim_t *s)
{
    setenv("FOTA_ESP_LOG", s->cfg.verbose ? "W" : "N", 0);
}

static fota_err_t esp_open(sim_t *s, sim_dev_t *d)
{
    if (d->index == 0) {
        quiet_logs(s);
    }
    esp_hw_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    fota_esp_device_config_t c;
    memset(&c, 0, sizeof c);
    hardware_config(d, &c.hw);
    component_config(s, d, &c.fota);
    c.selftest_fails = sim_device_selftest_fails;
    c.selftest_ctx = d;
    /* The factory NVS image: the device id and its key, as a production line writes them. */
    fota_err_t err = fota_esp_device_identity_csv(h->factory_nvs, sizeof h->factory_nvs,
                                                  c.fota.key_namespace, d->id, d->key);
    c.factory_nvs = h->factory_nvs;
    if (err == FOTA_OK) {
        err = fota_esp_device_open(&h->dev, &c);
    }
    if (err != FOTA_OK) {
        free(h);
        return err;
    }
    d->hw = h;
    return FOTA_OK;
}

static void esp_close(sim_dev_t *d)
{
    esp_hw_t *h = hw_of(d);
    if (h != NULL) {
        fota_esp_device_close(&h->dev);
        free(h);
        d->hw = NULL;
    }
}

/* esp_device's power-on returns FOTA_OK when a cut stops the self-test's read of the image (the
 * reject that follows fails to read otadata and is taken for "nothing to reject"): the sim looks
 * at the flash's cut before it believes any power-on (device.c power_on). */
static void esp_power_on(sim_dev_t *d, sim_boot_t *out)
{
    esp_hw_t *h = hw_of(d);
    out->err = fota_esp_device_power_on(&h->dev);
    out->selftest_failed = h->dev.selftest_failed;
    out->reset = false; /* rejected and restarted into the old image inside power_on */
}

static void esp_power_off(sim_dev_t *d)
{
    fota_esp_device_power_off(&hw_of(d)->dev);
}

static fota_agent_t *esp_agent(sim_dev_t *d)
{
    esp_hw_t *h = hw_of(d);
    esp_double_select(h->dev.hw);
    return h->dev.fota != NULL ? fota_esp_agent(h->dev.fota) : NULL;
}

static const char *esp_version(const sim_dev_t *d)
{
    return fota_esp_device_version(&hw_of(d)->dev);
}

/* Never: a power-on that returned FOTA_OK has run the self-test, which confirmed the new image
 * (fota_esp_confirm) or rejected it; one whose confirm failed returned the error. (Reading
 * otadata to ask would be flash operations that planned power cuts count.) */
static bool esp_pending(const sim_dev_t *d)
{
    (void)d;
    return false;
}

const sim_hw_ops_t sim_hw_esp_idf = {
    .name = "esp-idf",
    .title = "the ESP-IDF component",
    .journal_on_flash = false, /* an NVS blob: the double keeps NVS off the emulated flash */
    .open = esp_open,
    .close = esp_close,
    .power_on = esp_power_on,
    .power_off = esp_power_off,
    .agent = esp_agent,
    .version = esp_version,
    .pending = esp_pending,
};
