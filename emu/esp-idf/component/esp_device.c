/*
 * esp_device.c - an emulated ESP32 running the fota ESP-IDF component (esp_device.h): power-on
 * as the example firmware does it, power-off as a cut.
 */
#include "esp_device.h"

#include <stdio.h>
#include <string.h>

#include "esp_app_desc.h"
#include "esp_ota_ops.h"
#include "nvs_flash.h"

fota_err_t fota_esp_device_identity_csv(char *out, size_t cap, const char *ns, const char *id,
                                        const uint8_t key[32])
{
    static const char digits[] = "0123456789abcdef";
    char hex[65];
    for (size_t i = 0; i < 32; i++) {
        hex[2 * i] = digits[key[i] >> 4];
        hex[2 * i + 1] = digits[key[i] & 0x0f];
    }
    hex[64] = '\0';
    int n = snprintf(out, cap,
                     "key,type,encoding,value\n%s,namespace,,\ndevice_key,data,hex2bin,%s\n"
                     "device_id,data,string,%s\n",
                     ns, hex, id);
    return n > 0 && (size_t)n < cap ? FOTA_OK : FOTA_ERR_RANGE;
}

fota_err_t fota_esp_device_open(fota_esp_device_t *d, const fota_esp_device_config_t *cfg)
{
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    return esp_double_device_open(&cfg->hw, &d->hw);
}

void fota_esp_device_close(fota_esp_device_t *d)
{
    if (d->hw != NULL) {
        fota_esp_device_power_off(d);
        esp_double_device_close(d->hw);
        d->hw = NULL;
    }
}

void fota_esp_device_power_off(fota_esp_device_t *d)
{
    esp_double_select(d->hw);
    if (d->fota != NULL) {
        fota_esp_deinit(d->fota);
        d->fota = NULL;
    }
    esp_double_power_off(d->hw);
}

static fota_err_t factory_nvs(fota_esp_device_t *d)
{
    if (d->cfg.factory_nvs == NULL || d->nvs_written) {
        return FOTA_OK;
    }
    int line = 0;
    char msg[128];
    fota_err_t err = esp_double_nvs_load_csv(d->hw, d->cfg.fota.key_partition, d->cfg.factory_nvs,
                                             &line, msg, sizeof msg);
    d->nvs_written = err == FOTA_OK;
    return err;
}

/* The example's start: NVS, then the component (which reads its journal). */
static fota_err_t start(fota_esp_device_t *d)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_OK) {
        err = fota_esp_init(&d->cfg.fota, &d->fota);
    }
    d->init_err = err;
    if (err != ESP_OK) {
        d->fota = NULL;
        return fota_esp_err_from_esp(err);
    }
    return FOTA_OK;
}

/* One boot: bootloader, start, self-test. *restarted when the self-test rejected the image and
 * the device restarted (the restart point below). */
static fota_err_t boot_once(fota_esp_device_t *d, bool *restarted)
{
    *restarted = false;
    fota_esp_device_power_off(d);
    esp_double_boot_t info;
    fota_err_t err = esp_double_power_on(d->hw, &info);
    d->boots++;
    d->bricked = err == FOTA_ERR_BOOT_NO_APP;
    if (err == FOTA_OK) {
        err = start(d);
    }
    if (err != FOTA_OK) {
        return err;
    }
    bool fails = d->cfg.selftest_fails != NULL &&
                 d->cfg.selftest_fails(d->cfg.selftest_ctx, fota_esp_device_version(d));
    if (!fails && esp_double_selftest_passes(d->hw)) {
        return fota_esp_err_from_esp(fota_esp_confirm(d->fota));
    }
    if (ESP_DOUBLE_RESTART_POINT(d->hw)) {
        esp_double_restart_disarm();
        d->selftest_failed = true;
        *restarted = true;
        return FOTA_OK;
    }
    /* Returns only when there is nothing to reject (a confirmed image: the app goes on) or
     * nothing to go back to. */
    esp_err_t e = fota_esp_reject(d->fota);
    esp_double_restart_disarm();
    if (e == ESP_ERR_INVALID_STATE) {
        return FOTA_OK;
    }
    d->selftest_failed = true;
    return fota_esp_err_from_esp(e);
}

fota_err_t fota_esp_device_power_on(fota_esp_device_t *d)
{
    esp_double_select(d->hw);
    d->selftest_failed = false;
    if (d->boots == 0) {
        fota_err_t err = factory_nvs(d);
        if (err != FOTA_OK) {
            return err;
        }
    }
    bool restarted = true;
    fota_err_t err = FOTA_OK;
    for (int i = 0; i < 4 && restarted && err == FOTA_OK; i++) {
        err = boot_once(d, &restarted);
    }
    return err;
}

const char *fota_esp_device_version(const fota_esp_device_t *d)
{
    const fota_boot_info_t *b = esp_double_is_powered(d->hw) ? esp_double_boot_info(d->hw) : NULL;
    return b != NULL ? b->image.app_desc.version : "";
}
