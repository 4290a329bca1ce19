/*
 * esp_store.c - the agent's journal store on ESP-IDF: one NVS blob ("journal") in the
 * namespace and partition from the configuration.
 *
 * NVS writes a new value completely before it erases the old one, so after a power cut at any
 * point of nvs_set_blob + nvs_commit the blob reads back either whole old or whole new: the
 * atomic save the store port asks for (agent/include/fota/port.h). The agent saves once per
 * flash sector written (about 160 bytes each time), well within NVS's wear levelling. Keeping
 * the journal in a partition of its own (the example's "fota_nvs") separates it from the
 * application's NVS, which an application may erase when nvs_flash_init() fails.
 */
#include "fota_esp_internal.h"

#include <string.h>

#include "esp_log.h"
#include "nvs_flash.h"

#define JOURNAL_KEY "journal"

/* The default partition is the application's to initialise (its nvs_flash_init() decides what
 * to do with a full or newer-format partition); another one the component initialises. */
esp_err_t fota_esp_nvs_open(const char *part, const char *ns, nvs_open_mode_t mode,
                            nvs_handle_t *out)
{
    esp_err_t err = nvs_open_from_partition(part, ns, mode, out);
    bool uninitialised = err == ESP_ERR_NVS_NOT_INITIALIZED || err == ESP_ERR_NVS_PART_NOT_FOUND;
    if (uninitialised && strcmp(part, NVS_DEFAULT_PART_NAME) != 0) {
        err = nvs_flash_init_partition(part);
        if (err == ESP_OK) {
            err = nvs_open_from_partition(part, ns, mode, out);
        }
    }
    if (err != ESP_OK && err != ESP_ERR_NVS_NOT_FOUND) { /* a missing namespace: caller's */
        ESP_LOGE(FOTA_ESP_TAG, "NVS %s/%s: %s%s", part, ns, esp_err_to_name(err),
                 uninitialised ? " (call nvs_flash_init() first)" : "");
    }
    return err;
}

esp_err_t fota_esp_store_open(fota_esp_t *h)
{
    esp_err_t err = fota_esp_nvs_open(h->cfg.journal_partition, h->cfg.journal_namespace,
                                      NVS_READWRITE, &h->journal);
    h->journal_open = err == ESP_OK;
    return err;
}

void fota_esp_store_close(fota_esp_t *h)
{
    if (h->journal_open) {
        nvs_close(h->journal);
        h->journal_open = false;
    }
}

static fota_err_t store_load(void *ctx, void *buf, size_t cap, size_t *len)
{
    fota_esp_t *h = ctx;
    size_t n = cap;
    esp_err_t err = nvs_get_blob(h->journal, JOURNAL_KEY, buf, &n);
    if (err == ESP_ERR_NVS_NOT_FOUND) {
        return FOTA_ERR_JOURNAL_EMPTY;
    }
    if (err == ESP_ERR_NVS_INVALID_LENGTH) {
        return FOTA_ERR_JOURNAL_CORRUPT; /* larger than any record this agent writes */
    }
    *len = n;
    return fota_esp_err_from_esp(err);
}

static fota_err_t store_save(void *ctx, const void *buf, size_t len)
{
    fota_esp_t *h = ctx;
    esp_err_t err = nvs_set_blob(h->journal, JOURNAL_KEY, buf, len);
    if (err == ESP_OK) {
        err = nvs_commit(h->journal);
    }
    return fota_esp_err_from_esp(err);
}

static fota_err_t store_clear(void *ctx)
{
    fota_esp_t *h = ctx;
    esp_err_t err = nvs_erase_key(h->journal, JOURNAL_KEY);
    if (err == ESP_ERR_NVS_NOT_FOUND) {
        return FOTA_OK;
    }
    if (err == ESP_OK) {
        err = nvs_commit(h->journal);
    }
    return fota_esp_err_from_esp(err);
}

fota_store_t fota_esp_store_port(fota_esp_t *h)
{
    fota_store_t s = {h, store_load, store_save, store_clear};
    return s;
}
