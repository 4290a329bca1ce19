/*
 * fota-device - one emulated ESP32 (a flash file made by fota-flash create) running the real
 * agent against a real update server over HTTP, with the libcurl transport: it checks for an
 * update, downloads, verifies, installs, reboots (the emulated bootloader runs again), runs the
 * application's self-test and confirms, or notices the rollback. The flash file keeps the
 * device's state between runs, so a run cut short resumes where it stopped.
 *
 *   fota-device run FLASH --server URL --id ID (--key HEX | --master FILE) --release-key PEM
 *                   --product P [--mode seed|chain] [--floor N] [--range-records N]
 *                   [--timeout S] [--http-timeout MS] [--retry MS] [--quiet]
 *
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

#define PROG "fota-device"

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
    "  --server URL        the update server, e.g. http://127.0.0.1:8080\n"
    "  --id ID             the device id (X-Device-Id)\n"
    "  --key HEX           the device key, 64 hex digits (fotactl device key prints it)\n"
    "  --master FILE       or derive the key from the server's master secret file\n"
    "  --release-key PEM   the release public key the device trusts\n"
    "  --product P         the product (hardware) id the device reports and accepts\n"
    "  --mode M            seed or chain (default chain)\n"
    "  --floor N           security version floor (default 0)\n"
    "  --range-records N   chain mode: records per Range request (default: all)\n"
    "  --timeout S         give up after S seconds (default 120)\n"
    "  --http-timeout MS   each HTTP request must be over within MS, or it fails with\n"
    "                      FOTA_ERR_HTTP_TIMEOUT (default 300000)\n"
    "  --retry MS          first back-off after a failed request, doubled each time\n"
    "                      (default 200)\n"
    "  --chunk-interval MS seed mode: one chunk request per MS at most, as the seed paces\n"
    "  --quiet             only the outcome line\n"
    "\n"
    "Exit codes: 0 the device runs the offered release (or nothing was offered), 1 the last\n"
    "update attempt failed or was rolled back, 2 usage error, 3 nothing left to boot.\n";

typedef struct {
    bool quiet;
    /* says why it cut a request, for the error lines */
    const fota_curl_transport_t *curl;
    fota_err_t last_error; /* of the last failed request or refusal */
    fota_err_t failure;    /* why the last update attempt ended badly, FOTA_OK once confirmed */
} run_log_t;

/* The outcome is the last attempt's: errors on the way (a broken connection, a server that
 * restarted) that the agent retried past do not make a failed run. */
static void note_outcome(run_log_t *log, const fota_event_t *ev)
{
    if (ev->kind == FOTA_EVENT_ERROR) {
        log->last_error = ev->err;
        if (ev->state == FOTA_STATE_CHECKING) {
            log->failure = ev->err; /* could not even ask (refused credentials, no server) */
        }
    } else if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_ERROR) {
        log->failure = log->last_error;
    } else if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_ROLLED_BACK) {
        log->failure = FOTA_ERR_AGENT_ROLLED_BACK;
    } else if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_CONFIRMED) {
        log->failure = FOTA_OK;
    }
}

static void on_event(void *ctx, const fota_event_t *ev)
{
    run_log_t *log = ctx;
    note_outcome(log, ev);
    if (log->quiet || ev->kind == FOTA_EVENT_PROGRESS) {
        return;
    }
    if (ev->kind == FOTA_EVENT_STATE) {
        printf("state %s (%u/%u)\n", fota_state_name(ev->state), (unsigned)ev->done,
               (unsigned)ev->total);
    } else {
        const char *why = fota_curl_transport_detail(log->curl);
        printf("error %s in %s%s%s%s\n", fota_err_name(ev->err), fota_state_name(ev->state),
               why[0] != '\0' ? " (" : "", why, why[0] != '\0' ? ")" : "");
    }
    fflush(stdout);
}

typedef struct {
    const char *server, *id, *key_hex, *master, *release_key, *product, *mode, *floor, *records,
        *timeout, *pace, *http_timeout, *retry;
    bool quiet;
} run_opts_t;

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

static int device_key(const fota_cli_cmd_t *cmd, const run_opts_t *o, uint8_t key[32])
{
    if (o->key_hex != NULL) {
        return hex_key(o->key_hex, key)
                   ? 0
                   : fota_cli_usage_error(PROG, cmd, "--key wants 64 hex digits");
    }
    if (o->master == NULL) {
        return fota_cli_usage_error(PROG, cmd, "--key or --master is required");
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

static int outcome(const fota_emu_device_t *dev, const run_log_t *log, fota_err_t err)
{
    printf("device %s: running %s, %s%s%s\n", dev->device_id, dev->version,
           err != FOTA_OK ? "stopped: " : "outcome: ",
           fota_err_name(err != FOTA_OK ? err : log->failure), dev->bricked ? ", BRICKED" : "");
    if (dev->bricked) {
        return FOTA_CLI_EXIT_BRICKED;
    }
    return err == FOTA_OK && log->failure == FOTA_OK ? FOTA_CLI_EXIT_OK : FOTA_CLI_EXIT_INVALID;
}

/* An optional numeric option: absent (keep the default) or a number up to max. */
static bool number(const char *text, uint32_t max, uint32_t *out)
{
    return text == NULL || fota_cli_parse_u32(text, max, out) == FOTA_OK;
}

static int run_device(const fota_cli_cmd_t *cmd, const char *flash_path, const run_opts_t *o)
{
    uint8_t key[32];
    int rc = device_key(cmd, o, key);
    uint32_t floor = 0, records = 0, timeout = 120, pace = 0, retry = 200;
    uint32_t http_ms = (uint32_t)FOTA_CURL_REQUEST_MS;
    if (rc == 0 &&
        !(number(o->floor, UINT32_MAX, &floor) && number(o->records, 1u << 20, &records) &&
          number(o->timeout, 86400, &timeout) && number(o->pace, 60000, &pace) &&
          number(o->http_timeout, 86400000, &http_ms) && number(o->retry, 60000, &retry) &&
          http_ms > 0 && retry > 0)) {
        rc = fota_cli_usage_error(PROG, cmd,
                                  "--floor, --range-records, --timeout, --chunk-interval, "
                                  "--http-timeout and --retry want numbers (the last two > 0)");
    }
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    if (rc == 0) {
        rc = fota_cli_read_file(PROG, o->release_key, &pem, &pem_len);
    }
    fota_flash_emu_t *emu = NULL;
    fota_curl_transport_t *curl = NULL;
    fota_err_t err = FOTA_OK;
    if (rc == 0 && (err = fota_flash_emu_open(flash_path, 0, 0, &emu)) != FOTA_OK) {
        rc = fota_cli_fail(PROG, flash_path, err, NULL);
    }
    if (rc == 0 && (err = fota_curl_transport_open(o->server, 30000, &curl)) != FOTA_OK) {
        rc = fota_cli_fail(PROG, o->server, err, NULL);
    }
    if (rc == 0) {
        fota_curl_transport_set_timeout(curl, (long)http_ms);
        run_log_t log = {o->quiet, curl, FOTA_OK, FOTA_OK};
        bool chain = o->mode == NULL || strcmp(o->mode, "chain") == 0;
        fota_emu_device_config_t cfg = {.device_id = o->id,
                                        .device_key = key,
                                        .product_id = o->product,
                                        .release_key = pem,
                                        .release_key_len = pem_len + 1, /* PEM with its NUL */
                                        .security_floor = floor,
                                        .mode = chain ? FOTA_MODE_CHAIN : FOTA_MODE_SEED,
                                        .retry_ms = retry,
                                        .range_records = records,
                                        .progress_every = 64,
                                        .chunk_interval_ms = pace,
                                        .on_event = on_event,
                                        .event_ctx = &log,
                                        .real_clock = true};
        static fota_emu_device_t dev;
        fota_transport_t tr = fota_curl_transport_port(curl);
        err = fota_emu_device_open(&dev, emu, &cfg);
        if (err == FOTA_OK) {
            err = power_on(&dev);
        }
        if (err == FOTA_OK) {
            err = drive(&dev, &tr, timeout);
        }
        rc = outcome(&dev, &log, err);
        fota_emu_device_close(&dev);
        fota_flash_emu_sync(emu);
    }
    fota_curl_transport_close(curl);
    if (emu != NULL) {
        fota_flash_emu_close(emu);
    }
    free(pem);
    return rc;
}

static int cmd_run(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    run_opts_t o = {0};
    const fota_cli_opt_t opts[] = {
        {"server", 0, &o.server, NULL},
        {"id", 0, &o.id, NULL},
        {"key", 0, &o.key_hex, NULL},
        {"master", 0, &o.master, NULL},
        {"release-key", 0, &o.release_key, NULL},
        {"product", 0, &o.product, NULL},
        {"mode", 0, &o.mode, NULL},
        {"floor", 0, &o.floor, NULL},
        {"range-records", 0, &o.records, NULL},
        {"timeout", 0, &o.timeout, NULL},
        {"chunk-interval", 0, &o.pace, NULL},
        {"http-timeout", 0, &o.http_timeout, NULL},
        {"retry", 0, &o.retry, NULL},
        {"quiet", 'q', NULL, &o.quiet},
        {NULL, 0, NULL, NULL},
    };
    const char *pos[1];
    fota_cli_spec_t spec = {opts, pos, "FLASH", 1, 1, 0};
    int code;
    if (!fota_cli_parse(PROG, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    if (o.server == NULL || o.id == NULL || o.release_key == NULL || o.product == NULL) {
        return fota_cli_usage_error(PROG, cmd,
                                    "--server, --id, --release-key and --product are required");
    }
    if (o.mode != NULL && strcmp(o.mode, "seed") != 0 && strcmp(o.mode, "chain") != 0) {
        return fota_cli_usage_error(PROG, cmd, "--mode is seed or chain, not '%s'", o.mode);
    }
    return run_device(cmd, pos[0], &o);
}

int main(int argc, char **argv)
{
    static const fota_cli_cmd_t cmds[] = {
        {"run", "run the device's update agent against a server", RUN_USAGE, cmd_run},
    };
    static const fota_cli_tool_t tool = {
        PROG, "One emulated ESP32 running the real update agent over HTTP (libcurl).", cmds,
        sizeof cmds / sizeof cmds[0]};
    return fota_cli_dispatch(&tool, argc, argv);
}
