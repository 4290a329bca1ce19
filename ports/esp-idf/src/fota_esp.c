/*
 * fota_esp.c - the component's public API (fota_esp.h): a handle that resolves the device's
 * identity and partitions, builds the agent's ports over ESP-IDF and drives the agent, from a
 * FreeRTOS task or from the application's own loop one bounded step at a time.
 *
 * The agent is used by one caller at a time (a mutex): the task's step, an application's
 * fota_esp_confirm, fota_esp_stop. esp_restart() is only ever called with nothing held, after
 * the agent has returned: the boot port just notes that the agent asked for it.
 */
#include "fota_esp_internal.h"

#include <stdlib.h>
#include <string.h>

#include "esp_app_desc.h"
#include "esp_efuse.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_system.h"

/* ---- init ----------------------------------------------------------------------------------- */

static bool config_valid(const fota_esp_config_t *c)
{
    return c != NULL && c->server_url != NULL && c->server_url[0] != '\0' &&
           c->product_id != NULL && c->product_id[0] != '\0' && c->key_partition != NULL &&
           c->key_namespace != NULL && c->journal_partition != NULL &&
           c->journal_namespace != NULL && c->http_buffer_size >= 256 &&
           c->request_timeout_ms > 0 && c->task_stack >= 2048 &&
           (c->version == NULL ||
            (c->version[0] != '\0' && strlen(c->version) <= FOTA_VERSION_MAX));
}

/* The running and the next OTA slot, and the running image's version (the configured one, else
 * its app descriptor's). */
static esp_err_t find_partitions(fota_esp_t *h)
{
    h->running = esp_ota_get_running_partition();
    h->update = esp_ota_get_next_update_partition(NULL);
    if (h->running == NULL || h->update == NULL) {
        ESP_LOGE(FOTA_ESP_TAG, "no second OTA app partition to update");
        return ESP_ERR_INVALID_STATE;
    }
    const esp_app_desc_t *desc = esp_app_get_description();
    const char *v = h->cfg.version != NULL ? h->cfg.version : desc->version;
    size_t n = strnlen(v, sizeof desc->version);
    n = n < sizeof h->version ? n : sizeof h->version - 1;
    memcpy(h->version, v, n);
    h->version[n] = '\0';
    return ESP_OK;
}

/* The floor: the configured one, raised to the eFuse secure version under anti-rollback (the
 * bootloader would refuse a lower image anyway; refusing it before the download saves it). */
static uint32_t security_floor(const fota_esp_config_t *c)
{
    uint32_t floor = c->security_floor;
#ifdef CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
    uint32_t efuse = esp_efuse_read_secure_version();
    floor = efuse > floor ? efuse : floor;
#endif
    return floor;
}

static esp_err_t start_agent(fota_esp_t *h)
{
    const fota_esp_config_t *c = &h->cfg;
    size_t key_len = c->release_key_len;
    const uint8_t *key =
        c->release_key != NULL ? c->release_key : fota_esp_embedded_release_key(&key_len);
    if (key == NULL) {
        ESP_LOGE(FOTA_ESP_TAG, "no release public key (CONFIG_FOTA_RELEASE_KEY_FILE)");
        return ESP_ERR_INVALID_ARG;
    }
    fota_agent_config_t ac = {
        .device_id = h->device_id,
        .device_key = h->device_key,
        .product_id = c->product_id,
        .current_version = h->version,
        .security_floor = security_floor(c),
        .release_key = key,
        .release_key_len = key_len,
        .chip_id = CONFIG_IDF_FIRMWARE_CHIP_ID, /* the chip this firmware is built for */
        .mode = c->mode,
        .check_interval_ms = c->check_interval_ms,
        .chunk_interval_ms = c->chunk_interval_ms,
        .retry_ms = c->retry_ms,
        .range_records = c->range_records,
        .progress_every = c->progress_every,
        .may_download = c->may_download,
        .may_reboot = c->may_reboot,
        .on_event = c->on_event,
        .hook_ctx = c->ctx,
    };
    fota_ports_t ports = {fota_esp_flash_port(h), fota_esp_boot_port(h), fota_esp_store_port(h),
                          fota_esp_clock_port(h)};
    fota_err_t err = fota_agent_init(&h->agent, &ac, &ports);
    if (err != FOTA_OK) {
        ESP_LOGE(FOTA_ESP_TAG, "agent: error %d (%s)", (int)err, fota_err_name(err));
    }
    /* A release key that is no P-256 public key is a bad argument like the others; a mode the
     * build leaves out (CONFIG_FOTA_BUILD_CHAIN_ONLY / _SEED_ONLY) is not supported. */
    return err == FOTA_ERR_KEY           ? ESP_ERR_INVALID_ARG
           : err == FOTA_ERR_UNSUPPORTED ? ESP_ERR_NOT_SUPPORTED
                                         : fota_esp_err_to_esp(err);
}

static void release(fota_esp_t *h)
{
    fota_esp_transport_close(h);
    fota_esp_store_close(h);
    if (h->lock != NULL) {
        vSemaphoreDelete(h->lock);
    }
    memset(h->device_key, 0, sizeof h->device_key);
    free(h);
}

esp_err_t fota_esp_init(const fota_esp_config_t *cfg, fota_esp_handle_t *out)
{
    if (!config_valid(cfg) || out == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    fota_esp_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return ESP_ERR_NO_MEM;
    }
    h->cfg = *cfg;
    h->lock = xSemaphoreCreateMutex();
    esp_err_t err = h->lock != NULL ? ESP_OK : ESP_ERR_NO_MEM;
    if (err == ESP_OK) {
        err = find_partitions(h);
    }
    if (err == ESP_OK && cfg->fleet_key != NULL) {
#ifdef CONFIG_FOTA_ENROLL
        err = fota_esp_enroll_prepare(h);
        err = err == ESP_ERR_NOT_FOUND ? ESP_OK : err;
#else
        ESP_LOGE(FOTA_ESP_TAG, "fleet_key needs CONFIG_FOTA_ENROLL");
        err = ESP_ERR_NOT_SUPPORTED;
#endif
    }
    if (err == ESP_OK) {
        err = fota_esp_identity_load(h);
    }
    if (err == ESP_OK) {
        err = fota_esp_store_open(h);
    }
    if (err == ESP_OK) {
        err = fota_esp_transport_open(h);
    }
    if (err == ESP_OK) {
        err = start_agent(h);
    }
    if (err != ESP_OK) {
        release(h);
        return err;
    }
    ESP_LOGI(FOTA_ESP_TAG, "device %s, version %s, updates go to %s", h->device_id, h->version,
             h->update->label);
    *out = h;
    return ESP_OK;
}

void fota_esp_deinit(fota_esp_handle_t h)
{
    if (h == NULL) {
        return;
    }
    fota_esp_stop(h);
    fota_agent_deinit(&h->agent);
    release(h);
}

/* ---- driving -------------------------------------------------------------------------------- */

/* One poll and, if it asks for one, one request; *http says a request was made. */
static fota_err_t step_locked(fota_esp_t *h, uint32_t *wait_ms, bool *http)
{
    if (h->check_pending) {
        h->check_pending = false;
        fota_agent_check_now(&h->agent);
    }
#ifdef CONFIG_FOTA_ENROLL
    if (h->enroll != FOTA_ESP_ENROLL_NONE && h->enroll != FOTA_ESP_ENROLL_APPROVED) {
        *http = true; /* no update before the server knows the device's key */
        return fota_esp_enroll_step(h, wait_ms);
    }
#endif
    fota_action_t act;
    fota_err_t err = fota_agent_poll(&h->agent, &act);
    *wait_ms = 0;
    *http = false;
    if (err == FOTA_OK && act.kind == FOTA_ACTION_HTTP) {
        fota_transport_t t = fota_esp_transport_port(h);
        t.perform(t.ctx, act.http, &h->agent);
        *http = true;
    } else if (err == FOTA_OK && act.kind == FOTA_ACTION_WAIT) {
        *wait_ms = act.wait_ms;
    }
    return err;
}

static fota_err_t step(fota_esp_t *h, uint32_t *wait_ms, bool *http)
{
    xSemaphoreTake(h->lock, portMAX_DELAY);
    fota_err_t err = step_locked(h, wait_ms, http);
    bool restart = h->restart_pending;
    xSemaphoreGive(h->lock);
    if (restart) {
        ESP_LOGI(FOTA_ESP_TAG, "restarting into the new image");
        esp_restart();
    }
    return err;
}

esp_err_t fota_esp_step(fota_esp_handle_t h, uint32_t *wait_ms)
{
    if (h == NULL || wait_ms == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    bool http;
    return fota_esp_err_to_esp(step(h, wait_ms, &http));
}

/* ms as ticks, at least one, short of portMAX_DELAY (which would mean "for ever"). A tick rate
 * that divides 1000 (ESP-IDF's 100 and 1000 Hz) needs no 64-bit arithmetic: the same floor. */
static TickType_t ticks_of(uint32_t ms)
{
#if configTICK_RATE_HZ <= 1000 && 1000 % configTICK_RATE_HZ == 0
    uint32_t t = ms / (1000u / configTICK_RATE_HZ);
#else
    uint64_t t = (uint64_t)ms * configTICK_RATE_HZ / 1000u;
#endif
    if (t == 0) {
        t = 1;
    }
    return t >= portMAX_DELAY ? portMAX_DELAY - 1 : (TickType_t)t;
}

/* A request blocks on the network, which lets other tasks run; any other step is followed by a
 * wait of at least one tick, so a long image check cannot starve lower priorities. */
static void agent_task(void *arg)
{
    fota_esp_t *h = arg;
    for (;;) {
        uint32_t wait_ms;
        bool http;
        step(h, &wait_ms, &http);
        if (!http || wait_ms > 0) {
            ulTaskNotifyTake(pdTRUE, ticks_of(wait_ms));
        }
    }
}

esp_err_t fota_esp_start(fota_esp_handle_t h)
{
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (h->task != NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    BaseType_t ok = xTaskCreate(agent_task, "fota", h->cfg.task_stack, h,
                                (UBaseType_t)h->cfg.task_priority, &h->task);
    if (ok != pdPASS) {
        h->task = NULL;
        return ESP_ERR_NO_MEM;
    }
    return ESP_OK;
}

esp_err_t fota_esp_stop(fota_esp_handle_t h)
{
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    xSemaphoreTake(h->lock, portMAX_DELAY); /* the task is between steps, or waits for this */
    if (h->task != NULL) {
        vTaskDelete(h->task);
        h->task = NULL;
    }
    xSemaphoreGive(h->lock);
    return ESP_OK;
}

esp_err_t fota_esp_check_now(fota_esp_handle_t h)
{
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    h->check_pending = true; /* taken up at the next step: no wait for a request in flight */
    TaskHandle_t task = h->task;
    if (task != NULL) {
        xTaskNotifyGive(task);
    }
    return ESP_OK;
}

/* ---- the self-test contract ----------------------------------------------------------------- */

/* The bootloader's part first and without the lock (a request in flight cannot delay it), then
 * the agent's bookkeeping: state, journal, the "confirmed" report. */
esp_err_t fota_esp_confirm(fota_esp_handle_t h)
{
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_ota_img_states_t st;
    if (esp_ota_get_state_partition(h->running, &st) == ESP_OK &&
        st == ESP_OTA_IMG_PENDING_VERIFY) {
        esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
        if (err != ESP_OK) {
            ESP_LOGE(FOTA_ESP_TAG, "confirm: %s", esp_err_to_name(err));
            return err;
        }
    }
    xSemaphoreTake(h->lock, portMAX_DELAY);
    fota_err_t err = fota_agent_confirm(&h->agent);
    xSemaphoreGive(h->lock);
    return fota_esp_err_to_esp(err);
}

esp_err_t fota_esp_reject(fota_esp_handle_t h)
{
    if (h == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_ota_img_states_t st = ESP_OTA_IMG_VALID;
    esp_err_t err = esp_ota_get_state_partition(h->running, &st);
    if (err != ESP_OK && err != ESP_ERR_NOT_SUPPORTED && err != ESP_ERR_NOT_FOUND) {
        return err; /* otadata unreadable: not a verdict on the image */
    }
    if (st != ESP_OTA_IMG_PENDING_VERIFY) { /* a factory app or one without an entry is valid */
        ESP_LOGE(FOTA_ESP_TAG, "reject: the running image is not pending verification");
        return ESP_ERR_INVALID_STATE;
    }
    ESP_LOGW(FOTA_ESP_TAG, "self-test failed: rolling back");
    return esp_ota_mark_app_invalid_rollback_and_reboot(); /* returns only on failure */
}

/* ---- accessors ------------------------------------------------------------------------------ */

fota_state_t fota_esp_state(fota_esp_handle_t h)
{
    return fota_agent_state(&h->agent);
}

fota_err_t fota_esp_last_error(fota_esp_handle_t h)
{
    return fota_agent_last_error(&h->agent);
}

void fota_esp_progress(fota_esp_handle_t h, uint32_t *done, uint32_t *total)
{
    fota_agent_progress(&h->agent, done, total);
}

const char *fota_esp_device_id(fota_esp_handle_t h)
{
    return h->device_id;
}

fota_agent_t *fota_esp_agent(fota_esp_handle_t h)
{
    return &h->agent;
}

/* ---- the release key embedded by CMakeLists.txt (target_add_binary_data, TEXT) -------------- */

#ifdef CONFIG_FOTA_EMBED_RELEASE_KEY
extern const uint8_t fota_release_key_start[] __asm__("_binary_fota_release_key_pem_start");
extern const uint8_t fota_release_key_end[] __asm__("_binary_fota_release_key_pem_end");

/* TEXT embedding appends a NUL: a PEM key is parsed with it, a DER key without it. */
const uint8_t *fota_esp_embedded_release_key(size_t *len)
{
    size_t n = (size_t)(fota_release_key_end - fota_release_key_start);
    bool pem = n > 10 && memcmp(fota_release_key_start, "-----BEGIN", 10) == 0;
    *len = pem ? n : n - 1;
    return fota_release_key_start;
}
#else
const uint8_t *fota_esp_embedded_release_key(size_t *len)
{
    *len = 0;
    return NULL;
}
#endif
