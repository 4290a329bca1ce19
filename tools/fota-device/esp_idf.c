/*
 * esp_idf.c - fota-device --esp-idf: the device in FLASH runs the ESP-IDF component
 * (ports/esp-idf) over the ESP-IDF API double (emu/esp-idf) instead of the agent directly.
 *
 * The device is an fota_esp_device_t (emu/esp-idf/component/esp_device.h): the flash file, and a
 * state file beside it (FLASH.nvs) holding what NVS and the eFuse keep. At the first run (no
 * state file yet) the factory step writes the device id and key into NVS from a CSV, the format
 * docs/ESP_IDF.md has a factory give nvs_partition_gen.py; the component reads them there, as on
 * a board. Each power-on boots as the example firmware does (NVS, fota_esp_init, the self-test,
 * fota_esp_confirm or fota_esp_reject); then the component's own FreeRTOS task
 * (fota_esp_start) runs the agent, and this thread only waits: for a restart (the task parks in
 * esp_restart, the device is power-cycled and booted again) or for the agent to settle.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "esp_device.h"
#include "fota/host/cli.h"
#include "run.h"

#define POLL_MS 50u

typedef struct {
    const run_settings_t *s;
    run_log_t log;
    atomic_bool stepped;      /* the task has stepped since the check was asked for */
    fota_esp_enroll_t enroll; /* last printed */
    fota_esp_device_t dev;
    char *state_path;
    char csv[256];
} esp_run_t;

static void on_event(void *ctx, const fota_event_t *ev)
{
    esp_run_t *r = ctx;
    atomic_store(&r->stepped, true); /* events come from steps once the task runs */
    run_log_event(&r->log, ev);
}

/* cfg.wall_time of a device whose clock nobody has set: "not known". */
static uint64_t unset_wall_time(void *ctx)
{
    (void)ctx;
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the device ------------------------------------------------------------------------------ */

/* The factory's NVS image (docs/ESP_IDF.md, "Provisioning the device key"), for a device that
 * has no state yet and a key to get; NULL otherwise. */
static const char *factory_csv(esp_run_t *r)
{
    const run_settings_t *s = r->s;
    if (s->key == NULL || access(r->state_path, F_OK) == 0) {
        return NULL;
    }
    return fota_esp_device_identity_csv(r->csv, sizeof r->csv, CONFIG_FOTA_KEY_NAMESPACE, s->id,
                                        s->key) == FOTA_OK
               ? r->csv
               : NULL;
}

/* A base MAC of Espressif's range, from the id (the component's fallback id uses it). */
static void mac_of(const char *id, uint8_t mac[6])
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 16777619u;
    }
    uint8_t m[6] = {0x24, 0x0a, 0xc4, (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h};
    memcpy(mac, m, sizeof m);
}

static void component_config(esp_run_t *r, fota_esp_config_t *c)
{
    const run_settings_t *s = r->s;
    fota_esp_config_t d = FOTA_ESP_CONFIG_DEFAULT();
    *c = d;
    c->server_url = s->server;
    c->product_id = s->product;
    c->release_key = s->release_key;
    c->release_key_len = s->release_key_len;
    c->security_floor = s->floor;
    c->mode = s->mode;
    c->check_interval_ms = 0; /* only the check this run asks for, as in the plain mode */
    c->chunk_interval_ms = s->chunk_interval_ms;
    c->retry_ms = s->retry_ms;
    c->range_records = s->range_records;
    c->progress_every = 64;
    if (s->http_timeout_ms != 0) {
        c->request_timeout_ms = (int)s->http_timeout_ms;
    }
    c->journal_partition = s->journal_partition;
    c->ca_pem = s->ca_pem;
    c->fleet_key = s->fleet_key;
    c->fleet_key_len = s->fleet_key_len;
    c->wall_time = s->no_wall_time ? unset_wall_time : NULL;
    c->on_event = on_event;
    c->ctx = r;
}

static fota_err_t open_device(esp_run_t *r)
{
    const run_settings_t *s = r->s;
    fota_esp_device_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.hw.name = s->id;
    cfg.hw.flash_path = s->flash_path;
    cfg.hw.state_path = r->state_path;
    mac_of(s->id, cfg.hw.mac);
    component_config(r, &cfg.fota);
    cfg.factory_nvs = factory_csv(r);
    return fota_esp_device_open(&r->dev, &cfg);
}

/* Why the component did not start, in one line on stderr. */
static void start_failed(const esp_run_t *r, fota_err_t err)
{
    const fota_esp_config_t *c = &r->dev.cfg.fota;
    if (r->dev.init_err == ESP_ERR_NOT_FOUND) {
        fota_cli_fail(PROG, r->s->flash_path, err,
                      "fota_esp_init: no device key in NVS (partition \"%s\", namespace \"%s\", "
                      "blob device_key)",
                      c->key_partition, c->key_namespace);
    } else if (r->dev.init_err != ESP_OK) {
        fota_cli_fail(PROG, r->s->flash_path, err, "fota_esp_init: %s",
                      esp_err_to_name(r->dev.init_err));
    } else if (err != FOTA_ERR_BOOT_NO_APP) {
        fota_cli_fail(PROG, r->s->flash_path, err, "the device did not start");
    }
}

/* Power on (bootloader, NVS, fota_esp_init, self-test), then the component's task. */
static fota_err_t power_on(esp_run_t *r)
{
    fota_err_t err = fota_esp_device_power_on(&r->dev);
    if (err == FOTA_OK && r->dev.fota == NULL) {
        err = FOTA_ERR_STATE;
    }
    if (err != FOTA_OK) {
        start_failed(r, err);
        return err;
    }
    return fota_esp_err_from_esp(fota_esp_start(r->dev.fota));
}

/* The agent has nothing left to do. Its state is read while the task runs, as an application
 * would; only once the task has taken up the check asked for (fota_esp_check_now leaves it to
 * the next step) and the state says idle is the task stopped (between two steps) to look
 * closer. */
static bool settled(esp_run_t *r)
{
    fota_esp_handle_t h = r->dev.fota;
    fota_esp_enroll_t e = fota_esp_enrollment(h);
    if (e != r->enroll && !r->s->quiet) {
        static const char *const names[] = {"none", "new", "pending", "approved", "refused"};
        char fp[17];
        fota_esp_key_fingerprint(h, fp);
        printf("enrollment: %s (key fingerprint %s)\n", names[e], fp);
        fflush(stdout);
    }
    r->enroll = e;
    if (e != FOTA_ESP_ENROLL_NONE && e != FOTA_ESP_ENROLL_APPROVED) {
        return false; /* the update has not begun */
    }
    if (!atomic_load(&r->stepped) || fota_esp_state(h) != FOTA_STATE_IDLE) {
        return false;
    }
    fota_esp_stop(h);
    if (fota_agent_settled(fota_esp_agent(h))) {
        return true;
    }
    fota_esp_start(h);
    return false;
}

static fota_err_t drive(esp_run_t *r)
{
    uint64_t start = now_ms();
    fota_err_t err = power_on(r);
    if (err != FOTA_OK) {
        return err;
    }
    atomic_store(&r->stepped, false); /* events so far came from the boot */
    fota_esp_check_now(r->dev.fota);
    while (now_ms() - start < r->s->timeout_s * 1000ull) {
        if (esp_double_wait_restart(r->dev.hw, POLL_MS)) {
            fota_esp_device_power_off(&r->dev); /* the task parked in esp_restart() */
            fota_flash_emu_sync(esp_double_flash(r->dev.hw));
            if ((err = power_on(r)) != FOTA_OK) {
                return err;
            }
            atomic_store(&r->stepped, true); /* a new handle: no check pending */
        } else if (settled(r)) {
            return FOTA_OK;
        }
    }
    return FOTA_ERR_HTTP_TIMEOUT;
}

static int finish(esp_run_t *r, fota_err_t err)
{
    const char *id = r->s->id;
    if (r->dev.fota != NULL) {
        fota_esp_stop(r->dev.fota); /* what the log holds is final */
        id = fota_esp_device_id(r->dev.fota);
    }
    return run_log_outcome(&r->log, id, fota_esp_device_version(&r->dev), err, r->dev.bricked);
}

int fota_device_run_esp_idf(const run_settings_t *s)
{
    static esp_run_t r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.log.quiet = s->quiet;
    if (s->state_path != NULL) {
        r.state_path = strdup(s->state_path);
    } else if ((r.state_path = malloc(strlen(s->flash_path) + 5)) != NULL) {
        sprintf(r.state_path, "%s.nvs", s->flash_path);
    }
    if (r.state_path == NULL) {
        return fota_cli_fail(PROG, NULL, FOTA_ERR_NO_MEM, NULL);
    }
    int rc;
    fota_err_t err = open_device(&r);
    if (err != FOTA_OK) {
        rc = fota_cli_fail(PROG, s->flash_path, err, NULL);
    } else {
        rc = finish(&r, drive(&r));
        fota_esp_device_close(&r.dev);
    }
    free(r.state_path);
    return rc;
}
