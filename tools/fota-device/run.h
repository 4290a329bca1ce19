/*
 * run.h - what fota-device's two ways of running a device share: the settings of a run (parsed
 * from the command line by main.c), and the lines a run prints (run_log.c): one per state change
 * and per error, then the outcome, which also decides the exit code.
 *
 * main.c runs the agent directly on the emulated ESP32 (emu_device, the libcurl transport);
 * esp_idf.c runs the same device through the ESP-IDF component over the ESP-IDF API double
 * (--esp-idf). Both print the same lines, so tests share their expectations.
 */
#ifndef FOTA_DEVICE_RUN_H
#define FOTA_DEVICE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/agent.h"

#define PROG "fota-device"

typedef struct {
    const char *flash_path;
    const char *server;
    const char *ca_file; /* https: the CA to verify the server with (NULL: the system's store) */
    const char *id;
    const char *product;
    const uint8_t *key; /* 32 bytes; NULL (--esp-idf only): NVS holds it already, or nothing */
    const uint8_t *release_key; /* PEM with its NUL */
    size_t release_key_len;
    fota_mode_t mode;
    uint32_t floor;
    uint32_t range_records;
    uint32_t timeout_s;
    uint32_t chunk_interval_ms;
    uint32_t http_timeout_ms; /* 0: the mode's default */
    uint32_t retry_ms;
    uint16_t chip_id; /* the device's chip (--chip, else the flash's bootloader) */
    bool quiet;
    /* --esp-idf only */
    const char *journal_partition; /* NVS partition of the component's journal */
    const char *ca_pem;            /* --ca's PEM for cfg.ca_pem, or NULL: the certificate bundle */
    const char *state_path;        /* the device's NVS and eFuse (FLASH.nvs) */
    bool no_wall_time;             /* cfg.wall_time says "not known": the server's Date is used */
    const uint8_t *fleet_key;      /* enroll with this fleet key (a bridge device), or NULL */
    size_t fleet_key_len;
} run_settings_t;

typedef struct {
    bool quiet;
    /* why the transport cut the last request ("" or NULL: nothing to say), for the error lines */
    const char *(*detail)(const void *ctx);
    const void *detail_ctx;
    fota_err_t last_error; /* of the last failed request or refusal */
    fota_err_t failure;    /* why the last update attempt ended badly, FOTA_OK once confirmed */
} run_log_t;

/* An agent event: noted for the outcome, printed unless quiet (progress is never printed). */
void run_log_event(run_log_t *log, const fota_event_t *ev);

/* "device ID: running V, outcome: ERR" (or "stopped: ERR" when the run itself stopped with err,
 * ", BRICKED" when nothing boots); returns the exit code. */
int run_log_outcome(const run_log_t *log, const char *id, const char *version, fota_err_t err,
                    bool bricked);

/* The run through the ESP-IDF component (esp_idf.c); returns the exit code. */
int fota_device_run_esp_idf(const run_settings_t *s);

#endif /* FOTA_DEVICE_RUN_H */
