/*
 * esp_boot.c - the agent's boot port on ESP-IDF: esp_ota_ops.
 *
 * The update partition is esp_ota_get_next_update_partition(NULL), found once at init.
 * Switching is esp_ota_set_boot_partition, which checks the image again itself (and its secure
 * version under anti-rollback) before it writes otadata. With CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
 * the new image boots ESP_OTA_IMG_PENDING_VERIFY; esp_ota_mark_app_valid_cancel_rollback confirms
 * it; without a confirmation the bootloader falls back at the next reset. A restart is not made
 * here: the port only notes it, and fota_esp_step (or the task) calls esp_restart() once the
 * agent has returned and nothing is held.
 */
#include "fota_esp_internal.h"

#include "esp_ota_ops.h"

static fota_err_t update_partition(void *ctx, uint32_t *offset, uint32_t *size)
{
    const fota_esp_t *h = ctx;
    if (h->update == NULL) {
        return FOTA_ERR_BOOT_NO_PART;
    }
    *offset = h->update->address;
    *size = h->update->size;
    return FOTA_OK;
}

static fota_err_t set_boot(void *ctx)
{
    const fota_esp_t *h = ctx;
    return fota_esp_err_from_esp(esp_ota_set_boot_partition(h->update));
}

/* Pending only when otadata says so; a factory app or one without an otadata entry is valid. */
static fota_err_t running_state(void *ctx, fota_boot_state_t *state)
{
    const fota_esp_t *h = ctx;
    esp_ota_img_states_t st;
    esp_err_t err = esp_ota_get_state_partition(h->running, &st);
    if (err == ESP_ERR_NOT_SUPPORTED || err == ESP_ERR_NOT_FOUND) {
        *state = FOTA_BOOT_STATE_VALID;
        return FOTA_OK;
    }
    if (err != ESP_OK) {
        return fota_esp_err_from_esp(err);
    }
    *state = st == ESP_OTA_IMG_PENDING_VERIFY ? FOTA_BOOT_STATE_PENDING : FOTA_BOOT_STATE_VALID;
    return FOTA_OK;
}

static fota_err_t confirm(void *ctx)
{
    (void)ctx;
    return fota_esp_err_from_esp(esp_ota_mark_app_valid_cancel_rollback());
}

static fota_err_t reboot(void *ctx)
{
    fota_esp_t *h = ctx;
    h->restart_pending = true;
    return FOTA_OK;
}

#if FOTA_CONFIG_DELTA
/* The app partition running now: the source of a delta patch (read through the flash port). A
 * build without delta updates has none to offer (the port's pointer is NULL). */
static fota_err_t running_partition(void *ctx, uint32_t *offset, uint32_t *size)
{
    (void)ctx;
    const esp_partition_t *p = esp_ota_get_running_partition();
    if (p == NULL) {
        return FOTA_ERR_BOOT_NO_PART;
    }
    *offset = p->address;
    *size = p->size;
    return FOTA_OK;
}
#else
#define running_partition NULL
#endif

fota_boot_t fota_esp_boot_port(fota_esp_t *h)
{
    fota_boot_t b = {h,       update_partition, set_boot,         running_state,
                     confirm, reboot,           running_partition};
    return b;
}
