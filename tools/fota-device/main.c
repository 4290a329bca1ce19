/*
 * fota-device - one emulated ESP32 (a flash file made by fota-flash create) running the real
 * agent against a real update server over HTTP, with the libcurl transport: it checks for an
 * update, downloads, verifies, installs, reboots (the emulated bootloader runs again), runs the
 * application's self-test and confirms, or notices the rollback. The flash file keeps the
 * device's state between runs, so a run cut short resumes where it stopped.
 *
 *   fota-device run FLASH --server URL --id ID (--key HEX | --master FILE) --release-key PEM
 *                   --product P [--chip NAME] [--mode seed|chain] [--floor N] [--range-records N]
 *                   [--ca FILE] [--timeout S] [--http-timeout MS] [--retry MS] [--quiet]
 *                   [--esp-idf [--journal-partition LABEL] [--state FILE] [--no-wall-time]]
 *
 * With --esp-idf the same device runs the ESP-IDF component (ports/esp-idf) over the ESP-IDF
 * API double instead, driven by the component's own task (esp_idf.c). This file parses the
 * command line and runs the plain mode; run_log.c prints what both modes print.
 * Used by the integration tests against fotad and by people trying the system by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/auth.h"
#include "fota/host/cli.h"
#include "fota/emu/emu_device.h"
#include "fota/emu/flash_emu.h"
#include "fota/posix/transport_curl.h"
#include "run.h"

static const char RUN_USAGE[] =
    "usage: fota-device run FLASH --server URL --id ID (--key HEX | --master FILE)\n"
    "                   --release-key PEM --product P [options]\n"
    "\n"
    "Power on the emulated ESP32 in FLASH (made by fota-flash create) and run its update agent\n"
    "against the server until it has nothing left to do: no update offered, an update\n"
    "installed and confirmed, or an attempt that failed. Reboots the agent asks for are done on\n"
    "the spot (the emulated bootloader runs again, then the application's self-test). Prints\n"
    "one line per state change and error (with the transport's reason when it cut the\n"
    "request: a timeout, a redirect not followed, oversized headers), then the outcome.\n"
    "\n"
    "options:\n"
    "  --server URL        the update server, e.g. http://127.0.0.1:8080 or\n"
    "                      https://fota.example.com\n"
    "  --ca FILE           https: verify the server's certificate against the CA\n"
    "                      certificates in FILE (PEM) instead of the system's store; the\n"
    "                      certificate and the server's name are always verified. With\n"
    "                      --esp-idf: the component's cfg.ca_pem (else its certificate\n"
    "                      bundle)\n"
    "  --id ID             the device id (X-Device-Id)\n"
    "  --key HEX           the device key, 64 hex digits (fotactl device key prints it)\n"
    "  --master FILE       or derive the key from the server's master secret file\n"
    "  --release-key PEM   the release public key the device trusts\n"
    "  --product P         the product (hardware) id the device reports and accepts\n"
    "  --chip NAME         the device's chip (esp32, esp32s3, esp32c3, ...): its bootloader\n"
    "                      boots and its agent installs only images built for it (default:\n"
    "                      the chip of FLASH's bootloader, which fota-flash create --chip\n"
    "                      wrote; a FLASH without one is an ESP32's). A FLASH whose\n"
    "                      bootloader is another chip's is refused\n"
    "  --mode M            seed or chain (default chain)\n"
    "  --floor N           security version floor (default 0)\n"
    "  --range-records N   chain mode: records per Range request (default: all)\n"
    "  --timeout S         give up after S seconds (default 120)\n"
    "  --http-timeout MS   each HTTP request must be over within MS, or it fails with\n"
    "                      FOTA_ERR_HTTP_TIMEOUT (default 300000); with --esp-idf:\n"
    "                      esp_http_client's timeout_ms, for connecting and each read\n"
    "                      (default 10000)\n"
    "  --retry MS          first back-off after a failed request, doubled each time\n"
    "                      (default 200)\n"
    "  --chunk-interval MS one data request (chunk, Range) per MS at most, as the seed paces\n"
    "  --quiet             only the outcome line\n"
    "\n"
    "ESP-IDF component (docs/ESP_IDF.md):\n"
    "  --esp-idf           run the device through the ESP-IDF component (ports/esp-idf) over\n"
    "                      the ESP-IDF API double, booted as the example firmware boots (NVS,\n"
    "                      fota_esp_init, self-test, fota_esp_confirm or fota_esp_reject) and\n"
    "                      driven by the component's own task (fota_esp_start); reboots\n"
    "                      power-cycle the device. The device's NVS and eFuse live in the\n"
    "                      state file. At the first run (no state file yet) the factory step\n"
    "                      writes --id and the key (--key or --master) into NVS partition\n"
    "                      \"nvs\", namespace \"fota\" (blob device_key, string device_id), where\n"
    "                      the component reads them; later runs may leave the key out. A\n"
    "                      device without a key in NVS stops with ESP_ERR_NOT_FOUND.\n"
    "  --journal-partition LABEL\n"
    "                      the NVS partition of the component's resume journal (default nvs;\n"
    "                      the example firmware's table has fota_nvs)\n"
    "  --state FILE        the device's state file (default FLASH.nvs)\n"
    "  --no-wall-time      the device's wall clock is not set (cfg.wall_time returns 0): the\n"
    "                      component takes the time from the server's Date header\n"
    "  --fleet-key FILE    the original firmware's fleet key (docs/MIGRATION.md): a device\n"
    "                      without a key in NVS makes one, enrolls it with the server and\n"
    "                      waits (up to --timeout) for an operator to approve it before it\n"
    "                      checks for updates; prints the key's fingerprint\n"
    "\n"
    "Exit codes: 0 the device runs the offered release (or nothing was offered), 1 the last\n"
    "update attempt failed or was rolled back (or, with --esp-idf, the component did not\n"
    "start), 2 usage error, 3 nothing left to boot.\n";

typedef struct {
    const char *server, *id, *key_hex, *master, *release_key, *product, *mode, *floor, *records,
        *timeout, *pace, *http_timeout, *retry, *journal, *state, *chip, *fleet_key, *ca;
    bool quiet, esp_idf, no_wall_time;
} run_opts_t;

/* ---- the plain mode: the agent on emu_device, with the libcurl transport ----------------------
 */

typedef struct {
    run_log_t log;
    const fota_curl_transport_t *curl; /* says why it cut a request, for the error lines */
} plain_log_t;

static const char *curl_detail(const void *ctx)
{
    return fota_curl_transport_detail(ctx);
}

static void on_event(void *ctx, const fota_event_t *ev)
{
    run_log_event(ctx, ev);
}

static uint32_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Boot the device, again while its application keeps crashing (a failing self-test). */
static fota_err_t power_on(fota_emu_device_t *dev)
{
    bool again = true;
    fota_err_t err = FOTA_OK;
    for (int i = 0; again && err == FOTA_OK && i < 4; i++) {
        err = fota_emu_device_power_on(dev, &again);
    }
    return err;
}

/* The agent's loop: perform what it asks, reboot when it asks, sleep while it waits. */
static fota_err_t drive(fota_emu_device_t *dev, fota_transport_t *tr, uint32_t timeout_s)
{
    uint32_t start = now_ms();
    fota_agent_check_now(&dev->agent);
    while (now_ms() - start < timeout_s * 1000u) {
        bool rebooted = false;
        fota_err_t err = fota_agent_run(&dev->agent, tr, 1000, &rebooted);
        if (err != FOTA_OK) {
            return err;
        }
        if (rebooted) {
            fota_flash_emu_sync(dev->emu);
            if ((err = power_on(dev)) != FOTA_OK) {
                return err;
            }
            continue;
        }
        if (fota_agent_settled(&dev->agent)) {
            return FOTA_OK;
        }
        fota_action_t act;
        fota_agent_poll(&dev->agent, &act); /* nothing pending: only says how long to wait */
        if (act.kind == FOTA_ACTION_HTTP) {
            tr->perform(tr->ctx, act.http, &dev->agent);
        } else if (act.kind == FOTA_ACTION_WAIT) {
            sleep_ms(act.wait_ms < 200u ? act.wait_ms : 200u);
        }
    }
    return FOTA_ERR_HTTP_TIMEOUT;
}

static int run_device(const run_settings_t *s, fota_flash_emu_t *emu, fota_curl_transport_t *curl)
{
    run_log_t log = {s->quiet, curl_detail, curl, FOTA_OK, FOTA_OK};
    fota_emu_device_config_t cfg = {.device_id = s->id,
                                    .device_key = s->key,
                                    .product_id = s->product,
                                    .release_key = s->release_key,
                                    .release_key_len = s->release_key_len,
                                    .security_floor = s->floor,
                                    .mode = s->mode,
                                    .retry_ms = s->retry_ms,
                                    .range_records = s->range_records,
                                    .progress_every = 64,
                                    .chunk_interval_ms = s->chunk_interval_ms,
                                    .on_event = on_event,
                                    .event_ctx = &log,
                                    .real_clock = true,
                                    .chip_id = s->chip_id};
    static fota_emu_device_t dev;
    fota_transport_t tr = fota_curl_transport_port(curl);
    fota_err_t err = fota_emu_device_open(&dev, emu, &cfg);
    if (err == FOTA_OK) {
        err = power_on(&dev);
    }
    if (err == FOTA_OK) {
        err = drive(&dev, &tr, s->timeout_s);
    }
    int rc = run_log_outcome(&log, dev.device_id, dev.version, err, dev.bricked);
    fota_emu_device_close(&dev);
    fota_flash_emu_sync(emu);
    return rc;
}

static int run_plain(const run_settings_t *s)
{
    fota_flash_emu_t *emu = NULL;
    fota_curl_transport_t *curl = NULL;
    fota_err_t err = fota_flash_emu_open(s->flash_path, 0, 0, &emu);
    int rc = 0;
    if (err != FOTA_OK) {
        rc = fota_cli_fail(PROG, s->flash_path, err, NULL);
    } else if ((err = fota_curl_transport_open(s->server, 30000, &curl)) != FOTA_OK) {
        rc = fota_cli_fail(PROG, s->server, err, NULL);
    } else if ((err = fota_curl_transport_set_ca(curl, s->ca_file)) != FOTA_OK) {
        rc = fota_cli_fail(PROG, s->ca_file, err, "cannot read the CA file");
    }
    if (rc == 0) {
        uint32_t http_ms = s->http_timeout_ms != 0 ? s->http_timeout_ms : FOTA_CURL_REQUEST_MS;
        fota_curl_transport_set_timeout(curl, (long)http_ms);
        rc = run_device(s, emu, curl);
    }
    fota_curl_transport_close(curl);
    if (emu != NULL) {
        fota_flash_emu_close(emu);
    }
    return rc;
}

/* ---- the command line -------------------------------------------------------------------------
 */

static bool hex_key(const char *hex, uint8_t out[32])
{
    if (hex == NULL || strlen(hex) != 64) {
        return false;
    }
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            return false;
        }
        out[i] = (uint8_t)v;
    }
    return true;
}

/* The device key from --key or --master; *have false when neither is given (--esp-idf). */
static int device_key(const fota_cli_cmd_t *cmd, const run_opts_t *o, uint8_t key[32], bool *have)
{
    *have = o->key_hex != NULL || o->master != NULL;
    if (o->key_hex != NULL) {
        return hex_key(o->key_hex, key)
                   ? 0
                   : fota_cli_usage_error(PROG, cmd, "--key wants 64 hex digits");
    }
    if (o->master == NULL) {
        return o->esp_idf ? 0 : fota_cli_usage_error(PROG, cmd, "--key or --master is required");
    }
    uint8_t *secret;
    size_t len;
    int rc = fota_cli_read_file(PROG, o->master, &secret, &len);
    if (rc != 0) {
        return rc;
    }
    /* The secret is the file's bytes, all of them, as fotad reads it (docs/SERVER.md). */
    fota_err_t err = fota_auth_device_key(secret, len, o->id, key);
    free(secret);
    return err == FOTA_OK ? 0 : fota_cli_fail(PROG, o->master, err, NULL);
}

/* An optional numeric option: absent (keep the default) or a number up to max. */
static bool number(const char *text, uint32_t max, uint32_t *out)
{
    return text == NULL || fota_cli_parse_u32(text, max, out) == FOTA_OK;
}

static int numbers(const fota_cli_cmd_t *cmd, const run_opts_t *o, run_settings_t *s)
{
    s->timeout_s = 120;
    s->retry_ms = 200;
    if (!(number(o->floor, UINT32_MAX, &s->floor) &&
          number(o->records, 1u << 20, &s->range_records) &&
          number(o->timeout, 86400, &s->timeout_s) &&
          number(o->pace, 60000, &s->chunk_interval_ms) &&
          number(o->http_timeout, 86400000, &s->http_timeout_ms) &&
          number(o->retry, 60000, &s->retry_ms) &&
          (o->http_timeout == NULL || s->http_timeout_ms > 0) && s->retry_ms > 0)) {
        return fota_cli_usage_error(PROG, cmd,
                                    "--floor, --range-records, --timeout, --chunk-interval, "
                                    "--http-timeout and --retry want numbers (the last two > 0)");
    }
    return 0;
}

/* The device's chip: FLASH's bootloader names it; --chip may name it too (it must agree) or,
 * for a FLASH without a bootloader image, choose it. The ESP-IDF double is built for the ESP32. */
static int device_chip(const fota_cli_cmd_t *cmd, const char *flash_path, const run_opts_t *o,
                       uint16_t *chip_id)
{
    const fota_esp_chip_t *want = o->chip != NULL ? fota_esp_chip_by_name(o->chip) : NULL;
    char names[FOTA_CLI_CHIP_NAMES], a[FOTA_CLI_CHIP_TEXT], b[FOTA_CLI_CHIP_TEXT];
    if (o->chip != NULL && want == NULL) {
        return fota_cli_usage_error(PROG, cmd, "unknown --chip '%s': one of %s", o->chip,
                                    fota_cli_chip_names(names, sizeof names));
    }
    fota_flash_emu_t *emu = NULL;
    bool has_bootloader = false;
    fota_err_t err = fota_flash_emu_open(flash_path, 0, 0, &emu);
    if (err == FOTA_OK) {
        fota_flash_t flash = fota_flash_emu_port(emu);
        err = fota_device_chip(&flash, chip_id, &has_bootloader);
        fota_flash_emu_close(emu);
    }
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, flash_path, err, NULL);
    }
    if (want != NULL && has_bootloader && want->id != *chip_id) {
        return fota_cli_fail(PROG, flash_path, FOTA_ERR_IMAGE_CHIP,
                             "the flash holds the bootloader of an %s, not of an %s",
                             fota_cli_chip_text(*chip_id, a, sizeof a),
                             fota_cli_chip_text(want->id, b, sizeof b));
    }
    *chip_id = want != NULL ? want->id : *chip_id;
    if (o->esp_idf && *chip_id != FOTA_ESP_CHIP_ID_ESP32) {
        return fota_cli_fail(PROG, flash_path, FOTA_ERR_IMAGE_CHIP,
                             "--esp-idf runs the component built for the ESP32, not an %s",
                             fota_cli_chip_text(*chip_id, a, sizeof a));
    }
    return 0;
}

static int run_with(const fota_cli_cmd_t *cmd, const char *flash_path, const run_opts_t *o)
{
    run_settings_t s = {.flash_path = flash_path,
                        .server = o->server,
                        .ca_file = o->ca,
                        .id = o->id,
                        .product = o->product,
                        .mode = o->mode == NULL || strcmp(o->mode, "chain") == 0 ? FOTA_MODE_CHAIN
                                                                                 : FOTA_MODE_SEED,
                        .quiet = o->quiet,
                        .journal_partition = o->journal != NULL ? o->journal : "nvs",
                        .state_path = o->state,
                        .no_wall_time = o->no_wall_time};
    uint8_t key[32];
    bool have_key = false;
    int rc = device_key(cmd, o, key, &have_key);
    if (rc == 0) {
        rc = numbers(cmd, o, &s);
    }
    if (rc == 0) {
        rc = device_chip(cmd, flash_path, o, &s.chip_id);
    }
    uint8_t *pem = NULL, *fleet = NULL, *ca = NULL;
    size_t pem_len = 0;
    if (rc == 0) {
        rc = fota_cli_read_file(PROG, o->release_key, &pem, &pem_len);
    }
    if (rc == 0 && o->ca != NULL && o->esp_idf) { /* the component takes the PEM itself */
        size_t ca_len;
        rc = fota_cli_read_file(PROG, o->ca, &ca, &ca_len);
        s.ca_pem = (const char *)ca;
    }
    if (rc == 0 && o->fleet_key != NULL) {
        rc = fota_cli_read_file(PROG, o->fleet_key, &fleet, &s.fleet_key_len);
        s.fleet_key = fleet;
    }
    if (rc == 0) {
        s.key = have_key ? key : NULL;
        s.release_key = pem;
        s.release_key_len = pem_len + 1; /* PEM with its NUL */
        rc = o->esp_idf ? fota_device_run_esp_idf(&s) : run_plain(&s);
    }
    free(pem);
    free(fleet);
    free(ca);
    return rc;
}

static int check_opts(const fota_cli_cmd_t *cmd, const run_opts_t *o)
{
    if (o->server == NULL || o->id == NULL || o->release_key == NULL || o->product == NULL) {
        return fota_cli_usage_error(PROG, cmd,
                                    "--server, --id, --release-key and --product are required");
    }
    if (o->mode != NULL && strcmp(o->mode, "seed") != 0 && strcmp(o->mode, "chain") != 0) {
        return fota_cli_usage_error(PROG, cmd, "--mode is seed or chain, not '%s'", o->mode);
    }
    if (!o->esp_idf &&
        (o->journal != NULL || o->state != NULL || o->no_wall_time || o->fleet_key != NULL)) {
        return fota_cli_usage_error(PROG, cmd,
                                    "--journal-partition, --state, --no-wall-time and "
                                    "--fleet-key need --esp-idf");
    }
    return 0;
}

#define RUN_OPT_COUNT 22

/* The options that say which device, and where it finds its server, writing into o. */
static void device_options(run_opts_t *o, fota_cli_opt_t out[10])
{
    const fota_cli_opt_t opts[10] = {
        {"server", 0, &o->server, NULL},
        {"id", 0, &o->id, NULL},
        {"key", 0, &o->key_hex, NULL},
        {"master", 0, &o->master, NULL},
        {"release-key", 0, &o->release_key, NULL},
        {"product", 0, &o->product, NULL},
        {"chip", 0, &o->chip, NULL},
        {"mode", 0, &o->mode, NULL},
        {"floor", 0, &o->floor, NULL},
        {"range-records", 0, &o->records, NULL},
    };
    memcpy(out, opts, sizeof opts);
}

/* Every option of `run`, writing into o; the table ends with a NULL name. */
static void run_options(run_opts_t *o, fota_cli_opt_t out[RUN_OPT_COUNT])
{
    device_options(o, out);
    const fota_cli_opt_t opts[RUN_OPT_COUNT - 10] = {
        {"timeout", 0, &o->timeout, NULL},
        {"chunk-interval", 0, &o->pace, NULL},
        {"http-timeout", 0, &o->http_timeout, NULL},
        {"retry", 0, &o->retry, NULL},
        {"quiet", 'q', NULL, &o->quiet},
        {"esp-idf", 0, NULL, &o->esp_idf},
        {"journal-partition", 0, &o->journal, NULL},
        {"state", 0, &o->state, NULL},
        {"no-wall-time", 0, NULL, &o->no_wall_time},
        {"fleet-key", 0, &o->fleet_key, NULL},
        {"ca", 0, &o->ca, NULL},
        {NULL, 0, NULL, NULL},
    };
    memcpy(out + 10, opts, sizeof opts);
}

static int cmd_run(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    run_opts_t o = {0};
    fota_cli_opt_t opts[RUN_OPT_COUNT];
    run_options(&o, opts);
    const char *pos[1];
    fota_cli_spec_t spec = {opts, pos, "FLASH", 1, 1, 0};
    int code;
    if (!fota_cli_parse(PROG, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    code = check_opts(cmd, &o);
    return code != 0 ? code : run_with(cmd, pos[0], &o);
}

int main(int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"run", "run the device's update agent against a server", RUN_USAGE, cmd_run},
    };
    static const fota_cli_tool_t tool = {
        PROG,
        "One emulated ESP32 running the real update agent over HTTP (libcurl), or the ESP-IDF "
        "component\n(--esp-idf) over the ESP-IDF API double.",
        cmds, sizeof cmds / sizeof cmds[0]};
    return fota_cli_dispatch(&tool, argc, argv);
}
