/*
 * fota_esp.h - the fota update agent as an ESP-IDF component.
 *
 * One handle runs libfota (agent/include/fota/agent.h) on an ESP32 with ESP-IDF's own services:
 * the image goes into the next OTA partition with esp_partition_* (sector by sector, resumable;
 * esp_ota_begin/write/end are not used: they erase the whole slot up front and cannot resume),
 * the boot slot switches with esp_ota_set_boot_partition, the resume journal lives in an NVS
 * blob, requests go out with esp_http_client (keep-alive, Range, TLS through the certificate
 * bundle or a CA you give), the clock is esp_timer plus the wall time (SNTP, or the server's Date
 * header until SNTP has set it), random bytes come from the hardware RNG.
 *
 *     fota_esp_config_t cfg = FOTA_ESP_CONFIG_DEFAULT();   // menuconfig values
 *     fota_esp_handle_t fota;
 *     ESP_ERROR_CHECK(fota_esp_init(&cfg, &fota));          // reads the journal: resumes
 *     if (my_self_test()) fota_esp_confirm(fota); else fota_esp_reject(fota);
 *     fota_esp_start(fota);                                 // a task polls the server
 *
 * Self-test contract: after an update the new image boots pending verify. The application runs
 * its own checks and calls fota_esp_confirm() (the image becomes valid, "confirmed" is reported)
 * or fota_esp_reject() (the image is marked invalid and the device restarts into the previous
 * one). If it does neither and the device restarts, the bootloader rolls back by itself
 * (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE) and the agent reports "rolled_back".
 *
 * Two ways to drive it: fota_esp_start() runs a FreeRTOS task (stack and priority from
 * menuconfig); or, without the task, call fota_esp_step() from your own loop (an Arduino
 * loop(), a state machine): it does one bounded step and says when to come back. An application
 * that carries requests over its own transport (MQTT, BLE) can drive the agent itself
 * (fota_esp_agent()) and use the component only for its flash, boot, journal and clock ports.
 *
 * Errors: every function returns esp_err_t. What the agent reports to the server is a fota_err_t;
 * every esp_err_t an ESP-IDF call returns to the component maps to its own fota_err_t
 * (FOTA_ERR_ESP_*, fota_esp_err_from_esp()), so a report names the IDF error exactly.
 * Nothing here aborts: no ESP_ERROR_CHECK, no assert on input. Nothing is written outside the
 * update partition and the journal's NVS namespace.
 */
#ifndef FOTA_ESP_H
#define FOTA_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "fota_esp_defaults.h" /* sdkconfig.h, and our defaults where it lacks them (Arduino) */

#include "fota/agent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fota_esp *fota_esp_handle_t;

typedef struct {
    /* Server and identity */
    const char *server_url;    /* "https://fota.example.com" (no trailing slash) */
    const char *product_id;    /* must match the releases' product */
    const char *device_id;     /* NULL: NVS string "device_id", else "esp32-" + base MAC in hex */
    const uint8_t *device_key; /* 32 bytes; NULL: NVS blob "device_key" (fotactl device key) */
    const char *key_partition; /* NVS partition holding device_id/device_key ("nvs") */
    const char *key_namespace; /* their namespace ("fota") */
    /* The original firmware's fleet-wide key, for a bridge firmware (docs/MIGRATION.md): a device
     * with no device key in NVS makes one and enrolls it with fotad before it checks for
     * updates. NULL: no enrollment (the key is provisioned). */
    const uint8_t *fleet_key;
    size_t fleet_key_len;
    const char *version; /* the running firmware's version as its releases name it (<= 32
                            chars); NULL: the app descriptor's (PROJECT_VER). Set it where the
                            descriptor's is not the firmware's own: an Arduino sketch, whose
                            descriptor comes prebuilt with the core */
    /* Trust: the release public key (PEM with its NUL, or DER); NULL: the one embedded at build
     * time from CONFIG_FOTA_RELEASE_KEY_FILE */
    const uint8_t *release_key;
    size_t release_key_len;
    uint32_t security_floor; /* images below it are refused; raised to the eFuse secure
                                version when CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK is on */
    /* Behaviour */
    fota_mode_t mode;           /* FOTA_MODE_CHAIN (fotad) or FOTA_MODE_SEED (chunk API) */
    uint32_t check_interval_ms; /* between checks when idle; 0: only on fota_esp_check_now */
    uint32_t chunk_interval_ms; /* at most one data request (chunk, Range) per interval */
    uint32_t retry_ms;          /* first back-off after a failed request */
    uint32_t range_records;     /* chain mode: records per Range request, 0: to the end */
    uint32_t progress_every;    /* a progress report every N chunks, 0: never */
    /* HTTP */
    int request_timeout_ms; /* esp_http_client timeout_ms: connect and each read */
    int http_buffer_size;   /* esp_http_client receive buffer; also the read piece size */
    const char *ca_pem;     /* server CA (PEM); NULL: the certificate bundle if enabled */
    /* Journal: an NVS blob in this partition and namespace */
    const char *journal_partition;
    const char *journal_namespace;
    /* Task */
    uint32_t task_stack; /* bytes */
    unsigned task_priority;
    /* Wall time for request authentication. NULL: time() once SNTP (or anything) has set it.
     * Until the wall time is plausible, the time of the server's last Date header is used;
     * before any answer the first request goes out with time 0, is refused, and its answer's
     * Date sets the clock. Return 0 for "not known". */
    uint64_t (*wall_time)(void *ctx);
    /* Hooks (NULL = allow), called from the task (or fota_esp_step's caller) while the agent
     * works: they must return quickly and must not call fota_esp_* functions. */
    bool (*may_download)(void *ctx, const fota_manifest_t *m);
    bool (*may_reboot)(void *ctx);
    void (*on_event)(void *ctx, const fota_event_t *ev); /* state, progress, errors */
    void *ctx;
} fota_esp_config_t;

/* The menuconfig values (Component config -> fota update agent). */
#define FOTA_ESP_CONFIG_DEFAULT()                                                                  \
    {                                                                                              \
        .server_url = CONFIG_FOTA_SERVER_URL, .product_id = CONFIG_FOTA_PRODUCT_ID,                \
        .device_id = NULL, .device_key = NULL, .key_partition = CONFIG_FOTA_KEY_PARTITION,         \
        .key_namespace = CONFIG_FOTA_KEY_NAMESPACE, .fleet_key = NULL, .fleet_key_len = 0,         \
        .version = NULL, .release_key = NULL, .release_key_len = 0,                                \
        .security_floor = CONFIG_FOTA_SECURITY_FLOOR, .mode = FOTA_ESP_MODE_DEFAULT_,              \
        .check_interval_ms = CONFIG_FOTA_CHECK_INTERVAL_S * 1000u,                                 \
        .chunk_interval_ms = CONFIG_FOTA_CHUNK_INTERVAL_MS, .retry_ms = CONFIG_FOTA_RETRY_MS,      \
        .range_records = CONFIG_FOTA_RANGE_RECORDS, .progress_every = CONFIG_FOTA_PROGRESS_EVERY,  \
        .request_timeout_ms = CONFIG_FOTA_REQUEST_TIMEOUT_MS,                                      \
        .http_buffer_size = CONFIG_FOTA_HTTP_BUFFER_SIZE, .ca_pem = NULL,                          \
        .journal_partition = CONFIG_FOTA_JOURNAL_PARTITION,                                        \
        .journal_namespace = CONFIG_FOTA_JOURNAL_NAMESPACE,                                        \
        .task_stack = CONFIG_FOTA_TASK_STACK_SIZE, .task_priority = CONFIG_FOTA_TASK_PRIORITY,     \
        .wall_time = NULL, .may_download = NULL, .may_reboot = NULL, .on_event = NULL,             \
        .ctx = NULL,                                                                               \
    }

/* Where a device that makes its own key stands with the server (fota_esp_config_t.fleet_key). */
typedef enum {
    FOTA_ESP_ENROLL_NONE,     /* no enrollment: the key was provisioned */
    FOTA_ESP_ENROLL_NEW,      /* the device's own key, not registered yet */
    FOTA_ESP_ENROLL_PENDING,  /* registered, waiting for an operator */
    FOTA_ESP_ENROLL_APPROVED, /* the server accepts the key: updates run */
    FOTA_ESP_ENROLL_REFUSED,  /* the last registration was refused (rejected, conflict) */
} fota_esp_enroll_t;

#ifdef CONFIG_FOTA_MODE_SEED
#define FOTA_ESP_MODE_DEFAULT_ FOTA_MODE_SEED
#else
#define FOTA_ESP_MODE_DEFAULT_ FOTA_MODE_CHAIN
#endif

/*
 * Set up: resolve the identity (device id, key), open the journal, find the update partition,
 * start the agent, which reads its journal: an interrupted download resumes, an image that was
 * installed and now runs pending verify waits for fota_esp_confirm(), one that was rolled back is
 * reported. Call nvs_flash_init() first (the default NVS partition; the component initialises
 * the journal's and the key's partitions itself when they are others). The handle is allocated
 * once here and freed by fota_esp_deinit().
 * ESP_ERR_INVALID_ARG: a missing URL, product or key, a release key that is no EC P-256 public
 * key, a version over 32 characters, an interval of 2^31 ms or more; ESP_ERR_NOT_FOUND: no
 * device key in NVS; ESP_ERR_NOT_SUPPORTED: a mode the build leaves out (menuconfig's "Download
 * modes built in": chain only or seed only);
 * ESP_ERR_INVALID_STATE: no OTA partition to update; other errors as ESP-IDF returned them.
 */
esp_err_t fota_esp_init(const fota_esp_config_t *cfg, fota_esp_handle_t *out);

/* Stop the task if running, close the HTTP client, free the handle. */
void fota_esp_deinit(fota_esp_handle_t h);

/* Run the agent in a FreeRTOS task; ESP_ERR_INVALID_STATE if it runs already. */
esp_err_t fota_esp_start(fota_esp_handle_t h);

/* Stop the task (waits for the request in flight to end); the handle stays usable. */
esp_err_t fota_esp_stop(fota_esp_handle_t h);

/* Without the task: one bounded step (at most one request, or a bounded piece of the image
 * check). *wait_ms says when to call again (0: at once). When the agent has installed an image
 * and may_reboot allows it, this calls esp_restart() and does not return. */
esp_err_t fota_esp_step(fota_esp_handle_t h, uint32_t *wait_ms);

/* Check for an update now instead of at the next interval (wakes the task; returns at once). */
esp_err_t fota_esp_check_now(fota_esp_handle_t h);

/* The application's self-test passed: the running image becomes valid (the bootloader will
 * not roll it back) and "confirmed" is reported. Harmless when nothing is pending. */
esp_err_t fota_esp_confirm(fota_esp_handle_t h);

/* The self-test failed: mark the running image invalid and restart into the previous one
 * (esp_ota_mark_app_invalid_rollback_and_reboot). Returns only if that is impossible
 * (no previous image: ESP_ERR_OTA_ROLLBACK_FAILED; nothing pending: ESP_ERR_INVALID_STATE). */
esp_err_t fota_esp_reject(fota_esp_handle_t h);

fota_state_t fota_esp_state(fota_esp_handle_t h);
fota_err_t fota_esp_last_error(fota_esp_handle_t h);
void fota_esp_progress(fota_esp_handle_t h, uint32_t *done, uint32_t *total);
/* The device id in use (resolved at init). */
const char *fota_esp_device_id(fota_esp_handle_t h);

/* Enrollment state; and the device key's fingerprint (SHA-256, first 8 bytes, 16 hex digits and
 * a NUL), which `fotactl enroll list` shows beside the registration. */
fota_esp_enroll_t fota_esp_enrollment(fota_esp_handle_t h);
void fota_esp_key_fingerprint(fota_esp_handle_t h, char out[17]);

/* The agent, for applications that perform its requests over their own transport instead of
 * the task or fota_esp_step (agent.h: poll / response_begin / feed / response_end). When poll
 * says FOTA_ACTION_REBOOT, call esp_restart(). Do not mix with the task. */
fota_agent_t *fota_esp_agent(fota_esp_handle_t h);

/* The fota_err_t an esp_err_t becomes (FOTA_ERR_ESP_*; FOTA_OK for ESP_OK). */
fota_err_t fota_esp_err_from_esp(esp_err_t err);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_ESP_H */
