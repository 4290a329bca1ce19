/*
 * esp_device.h - one emulated ESP32 running the fota ESP-IDF component (ports/esp-idf) over the
 * ESP-IDF API double, booted the way the example firmware boots: NVS, the component's init (its
 * journal read back), then the application's self-test, which confirms a new image or rejects it
 * (esp_ota_mark_app_invalid_rollback_and_reboot: the device restarts into the previous one).
 *
 * What drives the agent afterwards is the caller's: the component's task (fota_esp_start, then
 * esp_double_wait_restart), fota_esp_step in the caller's loop (arm a restart point first), or the
 * agent itself over the caller's own transport (fota_esp_agent; on FOTA_ACTION_REBOOT power-cycle
 * the device). ESP-IDF calls act on the device selected for the calling thread: these functions
 * select it; a caller driving several devices selects each before it calls the component.
 * Used by fota-device --esp-idf, fota-sim --esp-idf and the component's tests.
 */
#ifndef FOTA_ESP_DEVICE_H
#define FOTA_ESP_DEVICE_H

#include <stdbool.h>

#include "esp_double.h"
#include "fota_esp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    esp_double_config_t hw;  /* flash, state file, MAC, eFuse, clock */
    fota_esp_config_t fota;  /* the component's configuration (FOTA_ESP_CONFIG_DEFAULT + ours) */
    const char *factory_nvs; /* NVS image (nvs_partition_gen.py CSV text) written into the
                                key partition at the first power-on of this handle, or NULL.
                                It replaces the whole partition (the journal too, if it lives
                                there): a caller reopening a device whose state file holds its
                                NVS already passes NULL, as a factory writes the image once
                                (fota-device --esp-idf does so when the state file exists) */
    /* The application's self-test fails for the running image of this version, besides images
     * made with --fail-selftest (a simulated fleet's bad release). NULL: none. */
    bool (*selftest_fails)(void *ctx, const char *version);
    void *selftest_ctx;
} fota_esp_device_config_t;

typedef struct {
    fota_esp_device_config_t cfg;
    esp_double_device_t *hw;
    fota_esp_handle_t fota; /* NULL while off, or when the component did not start */
    esp_err_t init_err;     /* what fota_esp_init returned at the last power-on */
    bool bricked;           /* the bootloader found nothing to boot */
    bool selftest_failed;   /* the last boot's self-test failed and the image was rejected */
    bool nvs_written;
    unsigned boots;
} fota_esp_device_t;

/* The factory's NVS image of a device's identity, the CSV nvs_partition_gen.py takes
 * (docs/ESP_IDF.md, "Provisioning the device key"): namespace ns with the string device_id and the
 * 32-byte blob device_key, as the component reads them. FOTA_ERR_RANGE when cap is too small. */
fota_err_t fota_esp_device_identity_csv(char *out, size_t cap, const char *ns, const char *id,
                                        const uint8_t key[32]);

/* Open the device (powered off). FOTA_ERR_ARG, or the double's error. */
fota_err_t fota_esp_device_open(fota_esp_device_t *d, const fota_esp_device_config_t *cfg);
void fota_esp_device_close(fota_esp_device_t *d);

/*
 * Power on and run the application's start: bootloader; NVS; fota_esp_init; self-test. A passing
 * self-test confirms (a no-op on an image confirmed earlier); a failing one on an image pending
 * verification rejects it, the device restarts and boots again (the previous image), all inside
 * this call. FOTA_ERR_BOOT_NO_APP when bricked; the flash's error when a cut stopped the boot;
 * FOTA_ERR_ESP_* when the component did not start (d->init_err).
 */
fota_err_t fota_esp_device_power_on(fota_esp_device_t *d);

/* Cut the power: the component is torn down (its task stopped), then the device's RAM is gone. */
void fota_esp_device_power_off(fota_esp_device_t *d);

/* The version the running image carries (its app descriptor), "" when off. */
const char *fota_esp_device_version(const fota_esp_device_t *d);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_ESP_DEVICE_H */
