/*
 * fota_esp_internal.h - the component's handle and the ports it builds from ESP-IDF services.
 *
 * One struct per device (allocated once by fota_esp_init) holds the agent, the resolved
 * identity, the partitions, the journal's NVS handle, the HTTP client and the task. Each port
 * file fills one of the agent's port structs over it: esp_flash.c (flash), esp_boot.c (boot),
 * esp_store.c (journal), esp_clock.c (clock), esp_transport.c (transport); esp_errmap.c turns
 * esp_err_t into fota_err_t; esp_identity.c finds the device id and key.
 */
#ifndef FOTA_ESP_INTERNAL_H
#define FOTA_ESP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_http_client.h"
#include "esp_partition.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "nvs.h"

#include "fota/agent.h"
#include "fota_esp.h"

#define FOTA_ESP_TAG "fota"
#define FOTA_ESP_KEY_LEN 32

struct fota_esp {
    /* The fields the ports use on every request first: small offsets, which the short load and
     * store forms reach. */
    const esp_partition_t *update;  /* the OTA slot updates go to */
    const esp_partition_t *running; /* the slot running now */
    nvs_handle_t journal;
    /* transport */
    esp_http_client_handle_t http;
    char *url; /* server_url followed by a request target */
    size_t url_cap;
    char *buf;                                          /* one read piece, http_buffer_size bytes */
    const char *set_headers[FOTA_HTTP_MAX_HEADERS + 1]; /* names set on the client last time */
    size_t set_header_count;
    /* driving */
    SemaphoreHandle_t lock; /* the agent is used by one caller at a time */
    TaskHandle_t task;
    bool journal_open;
    bool reused;                 /* the connection is kept from an earlier request */
    bool date_known;             /* date_offset_s is set */
    bool restart_pending;        /* the agent asked the boot port to restart */
    volatile bool check_pending; /* fota_esp_check_now, for the next step */
    /* clock: the server's Date against esp_timer, until the wall clock is set */
    int64_t date_offset_s;
    char retry_after[16]; /* the answer's Retry-After, given to the agent after its status */
    fota_esp_config_t cfg;
    char device_id[FOTA_CONFIG_DEVICE_ID_MAX + 1];
    char version[FOTA_VERSION_MAX + 1]; /* the running image's, from its app descriptor */
    uint8_t device_key[FOTA_ESP_KEY_LEN];
    fota_esp_enroll_t enroll; /* esp_enroll.c */
    fota_agent_t agent;
};

typedef struct fota_esp fota_esp_t;

/* Ports over ESP-IDF (each takes the handle as its ctx). */
fota_flash_t fota_esp_flash_port(fota_esp_t *h);
fota_boot_t fota_esp_boot_port(fota_esp_t *h);
fota_store_t fota_esp_store_port(fota_esp_t *h);
fota_clock_t fota_esp_clock_port(fota_esp_t *h);
fota_transport_t fota_esp_transport_port(fota_esp_t *h);

/* The esp_err_t a fota_err_t came from (FOTA_ERR_ESP_*), ESP_ERR_INVALID_ARG for FOTA_ERR_ARG,
 * else ESP_FAIL with the fota_err_t logged. */
esp_err_t fota_esp_err_to_esp(fota_err_t err);

/* Open an NVS namespace, initialising its partition when it is not the default one (the
 * application initialises that); logs why it failed. */
esp_err_t fota_esp_nvs_open(const char *part, const char *ns, nvs_open_mode_t mode,
                            nvs_handle_t *out);

/* Journal: open its NVS namespace. */
esp_err_t fota_esp_store_open(fota_esp_t *h);
void fota_esp_store_close(fota_esp_t *h);

/* Identity: device id (config, NVS string, or the base MAC) and device key (config or NVS). */
esp_err_t fota_esp_identity_load(fota_esp_t *h);

/* Transport resources, made at init so that a request never allocates. */
esp_err_t fota_esp_transport_open(fota_esp_t *h);
void fota_esp_transport_close(fota_esp_t *h);
/* One request of the component's own (not the agent's): its status, the body read and dropped. */
esp_err_t fota_esp_transport_simple(fota_esp_t *h, const fota_http_request_t *req, int *status);

/* Enrollment (esp_enroll.c). prepare: with a fleet key and no provisioned key, the device's own
 * key from NVS, made and stored first if there is none (ESP_OK, h->enroll set); ESP_ERR_NOT_FOUND
 * when the device has no enrollment. step: one registration request; *wait_ms until the next. */
esp_err_t fota_esp_enroll_prepare(fota_esp_t *h);
fota_err_t fota_esp_enroll_step(fota_esp_t *h, uint32_t *wait_ms);

/* The server's Date header (IMF-fixdate, RFC 9110 5.6.7) as UNIX seconds; false if malformed. */
bool fota_esp_parse_http_date(const char *text, int64_t *out);
/* A Date header arrived: remember the offset of the server's time to esp_timer's. */
void fota_esp_clock_on_date(fota_esp_t *h, const char *value);
/* The device has a time to sign requests with (the wall clock, or a Date heard). */
bool fota_esp_clock_known(fota_esp_t *h);

/* The release key embedded at build time (CONFIG_FOTA_EMBED_RELEASE_KEY), or NULL. */
const uint8_t *fota_esp_embedded_release_key(size_t *len);

#endif /* FOTA_ESP_INTERNAL_H */
