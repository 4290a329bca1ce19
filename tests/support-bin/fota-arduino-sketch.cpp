/*
 * fota-arduino-sketch - an Arduino-ESP32 sketch using FotaClient (arduino/src), run on the host
 * over the ESP-IDF API double (emu/esp-idf): one emulated ESP32 in FLASH, its NVS and eFuse in
 * FLASH.nvs. For tests/integration/test_arduino_client.sh.
 *
 * Each power-on runs what Arduino-ESP32 runs before a sketch (the bootloader; initArduino's
 * nvs_flash_init and its rollback rule: a pending image is marked valid unless
 * verifyRollbackLater() returns true, which FotaClient.cpp defines), then the sketch: setup()
 * (begin, the self-test, markValid or rollback, checkNow) and loop() (fota.loop(), then the
 * sketch's own work, here 10 ms of the device's clock) until the client is idle after the check
 * it asked for. A restart (esp_restart from loop() or rollback()) and a power cut (--cut-write N:
 * the flash operation after its Nth write, cut in the middle) power-cycle the device, and the
 * sketch starts again with a new FotaClient, as after a reset. Every image the test makes carries
 * the same app-descriptor version, as Arduino builds do (the core's), and the sketch's own
 * version in its project name, which the sketch hands to begin() as firmwareVersion
 * (--break-begin-in V leaves it out on the image of version V, whose begin() then fails: a new
 * image whose updater cannot start is rolled back by the sketch).
 *
 * Usage: fota-arduino-sketch FLASH --server URL --id ID --product P --release-key PEM
 *            [--mode seed|chain] [--master FILE] [--journal-partition LABEL]
 *            [--request-interval MS] [--chunks-per-request N] [--cut-write N]
 *            [--postpone-reboot N] [--confirm-after LOOPS] [--break-begin-in VERSION]
 *            [--timeout S]
 * Prints one line per event; exit 0 when the sketch settled (the test reads the lines), 1 when
 * it did not within the timeout, 2 on bad usage or a device that cannot start.
 */
#include <getopt.h>
#include <new>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern "C" { /* the emulator's headers are C only */
#include "fota/emu/bootloader.h"
#include "fota/emu/flash_emu.h"
}

#include "FotaClient.h"
#include "esp_app_desc.h"
#include "esp_device.h"
#include "esp_double.h"
#include "fota/auth.h"
#include "esp_ota_ops.h"
#include "nvs_flash.h"

extern "C" {
#include "fota/host/cli.h"
}

#define PROG "fota-arduino-sketch"
#define TICK_MS 10u

/* ---- Arduino-ESP32's start-up, as its core does it (cores/esp32/esp32-hal-misc.c) ------------ */

/* The core's weak default: confirm a pending image at start-up. FotaClient.cpp replaces it. */
extern "C" __attribute__((weak)) bool verifyRollbackLater(void)
{
    return false;
}

static void init_arduino(void)
{
    nvs_flash_init();
    const esp_partition_t *running = esp_ota_get_running_partition();
    esp_ota_img_states_t st;
    if (esp_ota_get_state_partition(running, &st) == ESP_OK && st == ESP_OTA_IMG_PENDING_VERIFY) {
        if (verifyRollbackLater()) {
            printf("core: the new image is left pending verify for the sketch\n");
        } else {
            printf("core: the new image marked valid at start-up\n");
            esp_ota_mark_app_valid_cancel_rollback();
        }
    }
}

/* ---- the run --------------------------------------------------------------------------------- */

static struct {
    const char *flash, *server, *id, *product, *mode, *master, *journal, *break_begin;
    uint32_t request_interval, chunks_per_request, cut_write, timeout_s, postpone, confirm_after;
} opt;

static esp_double_device_t *dev;
static char *release_key;
static uint8_t device_key[32];
alignas(FotaClient) static unsigned char client_mem[sizeof(FotaClient)];
static FotaClient *fota; /* the sketch's global object: constructed at each start */
static bool checking;    /* the client took up this start's check */
static bool cut_planned;
static unsigned long loops, loops_since_start;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The sketch's own version constant (FIRMWARE_VERSION in the examples). The test's images are
 * built as an Arduino build's are: the app descriptor's version is the core's, the same in every
 * image; the sketch's constant is carried in the descriptor's project name. */
static const char *running_version(void)
{
    return esp_app_get_description()->project_name;
}

/* ---- the sketch ------------------------------------------------------------------------------ */

static void on_state(FotaState s, void *ctx)
{
    (void)ctx;
    if (s == FOTA_STATE_CHECKING) {
        checking = true;
    }
    printf("state %s\n", FotaClient::stateName(s));
}

static void on_progress(uint32_t done, uint32_t total, void *ctx)
{
    (void)ctx;
    printf("progress %u/%u\n", (unsigned)done, (unsigned)total);
}

/* --postpone-reboot N: the sketch's mayReboot says no N times (a busy inverter at noon). */
static bool may_reboot(void *ctx)
{
    unsigned *asked = static_cast<unsigned *>(ctx);
    if (*asked < opt.postpone) {
        printf("reboot postponed (%u)\n", ++*asked);
        return false;
    }
    return true;
}

static void on_error(FotaError err, void *ctx)
{
    (void)ctx;
    printf("error %s\n", FotaClient::errorName(err));
}

/* The sketch's self-test of a new image: the emulated image says whether it passes. */
static void self_test(bool started)
{
    if (!fota->pendingVerify()) {
        return;
    }
    if (started && esp_double_selftest_passes(dev)) {
        printf("self-test passed: markValid %s\n", fota->markValid() ? "ok" : "FAILED");
    } else {
        printf("self-test failed%s: rollback\n", started ? "" : " (begin failed)");
        fota->rollback(); /* restarts */
        printf("rollback returned: %s\n", fota->errorName());
    }
}

/* setup(): false when the client could not start. */
static bool setup(void)
{
    fota = new (client_mem) FotaClient();
    loops_since_start = 0;
    fota->onState(on_state);
    fota->onProgress(on_progress);
    fota->onError(on_error);
    FotaConfig cfg;
    cfg.serverUrl = opt.server;
    cfg.productId = opt.product;
    cfg.releaseKey = release_key;
    cfg.firmwareVersion = running_version();
    cfg.mode = strcmp(opt.mode, "seed") == 0 ? FotaMode::Seed : FotaMode::Chain;
    cfg.checkIntervalMs = 0; /* only the check setup() asks for */
    cfg.requestIntervalMs = opt.request_interval;
    cfg.chunksPerRequest = opt.chunks_per_request;
    cfg.retryMs = 100;
    cfg.progressEvery = 64;
    static unsigned asked;
    cfg.mayReboot = may_reboot;
    cfg.rebootCtx = &asked;
    if (opt.journal != NULL) {
        cfg.journalPartition = opt.journal;
    }
    if (opt.break_begin != NULL && strcmp(opt.break_begin, running_version()) == 0) {
        cfg.firmwareVersion = nullptr; /* --break-begin-in V: this image's begin() fails */
    }
    bool pending = fota->pendingVerify();
    bool started = fota->begin(cfg);
    if (!started) {
        printf("begin failed: %s\n", fota->errorName());
    } else {
        printf("begin: device %s, running %s%s, chunk %u/%u\n", fota->deviceId(), running_version(),
               pending ? " (pending verify)" : "", (unsigned)fota->chunksDone(),
               (unsigned)fota->chunksTotal());
    }
    if (opt.confirm_after == 0 || !started) {
        self_test(started); /* an image whose updater cannot start must not stay */
    }
    if (!started) {
        return false;
    }
    checking = false;
    fota->checkNow();
    return true;
}

static void loop(void)
{
    fota->loop();
    if (++loops_since_start == opt.confirm_after) {
        self_test(true); /* --confirm-after N: the self-test takes a while of running */
    }
    loops++;
    esp_double_advance_ms(dev, TICK_MS); /* the sketch's own work */
}

/* ---- power ----------------------------------------------------------------------------------- */

static void power_off(void)
{
    if (fota != NULL) {
        fota->~FotaClient(); /* end(): the component's handle and HTTP client go */
        fota = NULL;
    }
    esp_double_power_off(dev);
}

typedef enum { RUN_SETTLED, RUN_RESTART, RUN_CUT, RUN_TIMEOUT, RUN_FAILED } run_t;

/* --cut-write N: once the flash has taken N writes, the next flash operation is cut (a write
 * keeps a part of its bytes, an erase leaves its sector half done). Once per run. */
static void plan_cut(void)
{
    if (opt.cut_write == 0 || cut_planned) {
        return;
    }
    fota_flash_stats_t st;
    fota_flash_emu_stats(esp_double_flash(dev), &st);
    if (st.writes >= opt.cut_write) {
        fota_flash_emu_plan_cut(esp_double_flash(dev), 0, FOTA_CUT_TORN, 7);
        cut_planned = true;
        printf("cutting the power after %llu flash writes\n", (unsigned long long)st.writes);
    }
}

/* One start: the core, setup(), loop() until settled, cut or out of time. */
static run_t start(uint64_t deadline)
{
    esp_double_boot_t info;
    fota_err_t err = esp_double_power_on(dev, &info);
    if (err != FOTA_OK) {
        printf("power-on: %s\n", fota_err_name(err));
        return err == FOTA_ERR_BOOT_NO_APP ? RUN_FAILED : RUN_CUT;
    }
    printf("boot %u: running %s\n", info.boots, running_version());
    init_arduino();
    if (!setup()) {
        return RUN_FAILED;
    }
    while (now_ms() < deadline) {
        loop();
        plan_cut();
        if (esp_double_cut(dev)) {
            return RUN_CUT;
        }
        if (checking && fota->idle()) {
            return RUN_SETTLED;
        }
    }
    return RUN_TIMEOUT;
}

static int run(void)
{
    static uint64_t deadline;
    static unsigned starts;
    deadline = now_ms() + (uint64_t)opt.timeout_s * 1000u;
    for (starts = 0; starts < 16; starts++) {
        if (ESP_DOUBLE_RESTART_POINT(dev)) {
            esp_double_restart_disarm();
            printf("restart\n");
            power_off();
            continue;
        }
        run_t r = start(deadline);
        esp_double_restart_disarm();
        if (r == RUN_CUT) {
            printf("power cut\n");
            power_off();
            continue;
        }
        if (r == RUN_SETTLED) {
            esp_ota_img_states_t st = ESP_OTA_IMG_UNDEFINED;
            esp_ota_get_state_partition(esp_ota_get_running_partition(), &st);
            printf("device %s: running %s, %s, state %s, last error %s, loops %lu\n",
                   fota->deviceId(), running_version(),
                   st == ESP_OTA_IMG_VALID ? "valid" : "not confirmed",
                   FotaClient::stateName(fota->state()), fota->errorName(), loops);
        }
        power_off();
        return r == RUN_SETTLED ? 0 : r == RUN_TIMEOUT ? 1 : 2;
    }
    printf("too many starts\n");
    return 1;
}

/* ---- the command line ------------------------------------------------------------------------ */

static int usage(const char *why)
{
    fprintf(stderr,
            "%s: %s\nusage: " PROG " FLASH --server URL --id ID --product P --release-key PEM\n"
            "           [--mode seed|chain] [--master FILE] [--journal-partition LABEL]\n"
            "           [--request-interval MS] [--chunks-per-request N] [--cut-write N]\n"
            "           [--postpone-reboot N] [--confirm-after LOOPS]"
            " [--break-begin-in VERSION] [--timeout S]\n",
            PROG, why);
    return 2;
}

/* The factory's NVS image for a device without state yet: id and key (derived from the server's
 * master secret), as examples/Provisioning writes them. */
static bool provision(void)
{
    if (opt.master == NULL) {
        return true;
    }
    uint8_t *secret;
    size_t len;
    if (fota_cli_read_file(PROG, opt.master, &secret, &len) != 0) {
        return false;
    }
    fota_err_t err = fota_auth_device_key(secret, len, opt.id, device_key);
    free(secret);
    char csv[256], msg[128];
    int line = 0;
    if (err == FOTA_OK) {
        err = fota_esp_device_identity_csv(csv, sizeof csv, "fota", opt.id, device_key);
    }
    if (err == FOTA_OK) {
        err = esp_double_nvs_load_csv(dev, "nvs", csv, &line, msg, sizeof msg);
    }
    if (err != FOTA_OK) {
        fprintf(stderr, "%s: provisioning: %s\n", PROG, fota_err_name(err));
        return false;
    }
    return true;
}

/* The options: each sets a string or a number of opt. 0 when they are usable, else the exit
 * code (usage printed). */
static int parse_args(int argc, char **argv, const char **key_path)
{
    static const struct {
        const char *name;
        const char **text;
        uint32_t *number;
    } table[] = {
        {"server", &opt.server, NULL},
        {"id", &opt.id, NULL},
        {"product", &opt.product, NULL},
        {"release-key", key_path, NULL},
        {"mode", &opt.mode, NULL},
        {"master", &opt.master, NULL},
        {"journal-partition", &opt.journal, NULL},
        {"break-begin-in", &opt.break_begin, NULL},
        {"request-interval", NULL, &opt.request_interval},
        {"chunks-per-request", NULL, &opt.chunks_per_request},
        {"cut-write", NULL, &opt.cut_write},
        {"timeout", NULL, &opt.timeout_s},
        {"postpone-reboot", NULL, &opt.postpone},
        {"confirm-after", NULL, &opt.confirm_after},
    };
    enum { N = sizeof table / sizeof table[0] };
    struct option longopts[N + 1];
    memset(longopts, 0, sizeof longopts);
    for (int i = 0; i < N; i++) {
        longopts[i] = {table[i].name, required_argument, NULL, i};
    }
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c < 0 || c >= N) {
            return usage("unknown option");
        }
        if (table[c].text != NULL) {
            *table[c].text = optarg;
        } else if (fota_cli_parse_u32(optarg, 100000000u, table[c].number) != FOTA_OK) {
            return usage("a number is wanted");
        }
    }
    if (optind != argc - 1 || opt.server == NULL || opt.id == NULL || opt.product == NULL ||
        *key_path == NULL) {
        return usage("FLASH, --server, --id, --product and --release-key are required");
    }
    if (strcmp(opt.mode, "seed") != 0 && strcmp(opt.mode, "chain") != 0) {
        return usage("--mode is seed or chain");
    }
    opt.flash = argv[optind];
    return 0;
}

/* The release key file as a C string (FotaConfig.releaseKey is PEM text). */
static bool read_release_key(const char *path)
{
    uint8_t *pem;
    size_t pem_len;
    if (fota_cli_read_file(PROG, path, &pem, &pem_len) != 0) {
        return false;
    }
    release_key = (char *)realloc(pem, pem_len + 1);
    if (release_key == NULL) {
        free(pem);
        return false;
    }
    release_key[pem_len] = '\0';
    return true;
}

int main(int argc, char **argv)
{
    const char *key_path = NULL;
    opt.mode = "chain";
    opt.chunks_per_request = 16;
    opt.timeout_s = 120;
    int rc = parse_args(argc, argv, &key_path);
    if (rc != 0) {
        return rc;
    }
    if (!read_release_key(key_path)) {
        return 2;
    }
    char state_path[4096];
    snprintf(state_path, sizeof state_path, "%s.nvs", opt.flash);
    esp_double_config_t hw;
    memset(&hw, 0, sizeof hw);
    hw.name = opt.id;
    hw.flash_path = opt.flash;
    hw.state_path = state_path;
    hw.mac[0] = 0x24; /* Espressif's range */
    hw.mac[5] = 0x01;
    hw.manual_clock = true;
    bool fresh = access(state_path, F_OK) != 0;
    fota_err_t err = esp_double_device_open(&hw, &dev);
    if (err != FOTA_OK) {
        fprintf(stderr, "%s: %s: %s\n", PROG, opt.flash, fota_err_name(err));
        free(release_key);
        return 2;
    }
    esp_double_select(dev);
    rc = fresh && !provision() ? 2 : run();
    esp_double_device_close(dev);
    free(release_key);
    return rc;
}
