/*
 * options.c - the command line of `fota-sim run`: one table of options (fota_cli_parse from the
 * shared tool plumbing), then each value checked and converted into sim_config_t. Every default
 * lives in set_defaults(); docs/FOTA_SIM.md lists them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/host/cli.h"

#include "sim.h"

const char sim_run_usage[] =
    "usage: fota-sim run --image FILE --product ID --release-key FILE --master-secret-file FILE\n"
    "                    (--server URL | --fotad CMD) [options]\n"
    "\n"
    "Runs a fleet of emulated ESP32 devices, each running the real agent against a real fotad\n"
    "over HTTP, in one event loop, with faults; prints a summary (docs/FOTA_SIM.md).\n"
    "\n"
    "Fleet:\n"
    "  --devices N              devices to run (default 100)\n"
    "  --first-id N             number of the first device id (default 1)\n"
    "  --id-prefix TEXT         device ids are TEXT + 6 digits (default 'sim-': sim-000001)\n"
    "  --product ID             product (hardware) id the devices report (required)\n"
    "  --mode seed|chain        data mode of the agents (default chain)\n"
    "  --image FILE             firmware every device runs at the start (fota-image create);\n"
    "                           a fleet on a delta's source image updates by the delta\n"
    "  --release-key FILE       release public key, PEM or DER (fotactl keygen)\n"
    "  --master-secret-file F   the server's master secret: device keys derive from it\n"
    "  --slot-size SIZE         OTA slot size (default: the image's size plus a quarter)\n"
    "  --layout compact|arduino compact: flash sized to the slots (default); arduino: 4 MB\n"
    "  --flash-dir DIR          keep each device's flash in DIR/<id>.flash (default: memory)\n"
    "  --no-share               each device holds its whole flash (default: devices share the\n"
    "                           initial flash copy-on-write and hold what they write)\n"
    "  --esp-idf                devices run the ESP-IDF component (ports/esp-idf over the\n"
    "                           ESP-IDF API double) instead of the agent directly\n"
    "Server:\n"
    "  --server URL             fotad's base URL, e.g. http://127.0.0.1:8080 (https:// too)\n"
    "  --ca FILE                https: verify fotad's certificate against the CA certificates\n"
    "                           in FILE (PEM) instead of the system's store; the certificate\n"
    "                           and the server's name are always verified\n"
    "  --fotad CMD              start the server with this shell command; '{port}' in it is\n"
    "                           replaced by the port of --server, or by a free one\n"
    "  --fotad-log FILE         the server's output (default: discarded)\n"
    "  --on-ready CMD           shell command run once the server answers (upload, assign);\n"
    "                           gets FOTA_SIM_URL and FOTA_SIM_PORT; must exit 0\n"
    "  --server-wait SEC        how long to wait for the server's /healthz (default 15)\n"
    "Agents:\n"
    "  --check-interval MS      between checks when idle (default 2000)\n"
    "  --retry MS               first back-off after a failed request (default 500)\n"
    "  --range-records N        chain mode: records per Range request (default 0: all)\n"
    "  --progress-every N       progress report every N chunks (default 64, 0: none)\n"
    "  --security-floor N       devices refuse releases below it (default 0)\n"
    "Run:\n"
    "  --concurrency N          transfers in flight at once (default 64)\n"
    "  --ramp MS                spread the devices' first check over MS (default 0)\n"
    "  --timeout SEC            give up after SEC seconds (default 600)\n"
    "  --http-timeout MS        connect timeout; a transfer idle that long fails (30000)\n"
    "  --attempts N             failed update attempts before a device counts as failed (3)\n"
    "  --reboot-delay MS        power-off time of a reboot or cut (default 50)\n"
    "  --expect WHAT            updated (default), rolled_back, any (either) or none\n"
    "  --linger MS              with --expect none: a device that was offered nothing keeps\n"
    "                           checking this long before it counts as idle (default 0),\n"
    "                           so that a staged rollout opening later stages is seen\n"
    "  --to VERSION             the release version devices must end on (default: any\n"
    "                           version from a manifest they verified)\n"
    "  --seed N                 seed of every random choice (default 1)\n"
    "Faults (N: that many over the run; P%: a rate):\n"
    "  --power-cuts N|P%        power cuts; P%: share of devices that get one\n"
    "  --cut-at WHERE           download (default) or anywhere (the whole update)\n"
    "  --cut-mode MODE          clean, torn or mixed (default mixed)\n"
    "  --drops N|P%             connections dropped mid-body; P%: of data transfers\n"
    "  --stalls N|P%            transfers paused mid-body for --stall-ms\n"
    "  --stall-ms MS            length of a stall (default 3000)\n"
    "  --flips N|P%             a bit flipped in a body piece before the agent sees it\n"
    "  --latency MS             added before every request (default 0)\n"
    "  --jitter MS              plus a random 0..MS (default 0)\n"
    "  --restart-server N       restart the server N times during the download (needs --fotad)\n"
    "  --restart-kill           restart with SIGKILL (a crash) instead of SIGTERM\n"
    "  --fail-rate N|P%         a bad release: the self-test of N devices (or P% of them)\n"
    "                           fails on it, so they roll back\n"
    "  --fail-version V         the bad release's version (default: any version but the\n"
    "                           image's)\n"
    "Output:\n"
    "  --json FILE              write the summary as JSON\n"
    "  --rollout-token FILE     after the run, show the product's newest rollout per stage as\n"
    "                           fotad counts it (admin API, bearer token from FILE)\n"
    "  --progress / --no-progress   live progress on stderr (default: when it is a terminal)\n"
    "  --verbose                one line per device event on stderr\n"
    "\n"
    "Exit: 0 as expected; 1 setup error; 2 usage; 3 a device bricked or booted a foreign image;\n"
    "4 devices did not end as --expect says.\n";

typedef struct {
    const char *devices, *first_id, *id_prefix, *product, *mode, *image, *release_key, *master;
    const char *slot_size, *layout, *flash_dir;
    const char *server, *fotad, *fotad_log, *on_ready, *server_wait;
    const char *check_interval, *retry, *range_records, *progress_every, *security_floor;
    const char *concurrency, *ramp, *timeout, *http_timeout, *attempts, *reboot_delay, *expect;
    const char *to, *seed, *linger;
    const char *power_cuts, *cut_at, *cut_mode, *drops, *stalls, *stall_ms, *flips, *latency;
    const char *jitter, *restarts, *fail_rate, *fail_version;
    const char *json, *rollout_token, *ca;
    bool progress, no_progress, verbose, restart_kill, esp_idf, no_share;
} raw_t;

static const fota_cli_cmd_t run_cmd = {"run", "run a simulated fleet", sim_run_usage, NULL};

static void set_defaults(sim_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->devices = 100;
    c->first_id = 1;
    c->id_prefix = "sim-";
    c->mode = FOTA_MODE_CHAIN;
    c->check_interval_ms = 2000;
    c->retry_ms = 500;
    c->progress_every = 64;
    c->concurrency = 64;
    c->timeout_ms = 600u * 1000u;
    c->http_timeout_ms = 30000;
    c->attempts = 3;
    c->reboot_ms = 50;
    c->expect = SIM_EXPECT_UPDATED;
    c->seed = 1;
    c->cut_mode = -1;
    c->stall_ms = 3000;
    c->server_wait_ms = 15000;
}

static bool bad(const char *fmt, const char *opt, const char *value)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, opt, value);
    fota_cli_usage_error(SIM_PROG, &run_cmd, "%s", msg);
    return false;
}

/* An optional number: absent keeps the default. */
static bool num(const char *opt, const char *text, uint32_t max, uint32_t *out)
{
    if (text == NULL) {
        return true;
    }
    if (fota_cli_parse_u32(text, max, out) != FOTA_OK) {
        return bad("%s: '%s' is not a number in range", opt, text);
    }
    return true;
}

static bool size_opt(const char *opt, const char *text, uint32_t *out)
{
    if (text != NULL && fota_cli_parse_size(text, out) != FOTA_OK) {
        return bad("%s: '%s' is not a size", opt, text);
    }
    return true;
}

/* "N" (a count) or "P%" (a rate, P may have decimals); "0" is no fault. */
static bool fault_opt(const char *opt, const char *text, sim_fault_spec_t *out)
{
    if (text == NULL) {
        return true;
    }
    size_t n = strlen(text);
    if (n > 1 && text[n - 1] == '%') {
        char *end = NULL;
        double p = strtod(text, &end);
        if (end != text + n - 1 || !(p >= 0.0 && p <= 100.0)) {
            return bad("%s: '%s' is not a rate from 0%% to 100%%", opt, text);
        }
        out->rate = p / 100.0;
        return true;
    }
    return num(opt, text, 100000000u, &out->count);
}

/* One of a list of words; the index into `words`. */
static bool word_opt(const char *opt, const char *text, const char *const *words, int *out)
{
    if (text == NULL) {
        return true;
    }
    for (int i = 0; words[i] != NULL; i++) {
        if (strcmp(text, words[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return bad("%s: '%s' is not a choice here (see --help)", opt, text);
}

static bool words(const raw_t *r, sim_config_t *c)
{
    static const char *const modes[] = {"seed", "chain", NULL};
    static const char *const layouts[] = {"compact", "arduino", NULL};
    static const char *const expects[] = {"updated", "rolled_back", "any", "none", NULL};
    static const char *const wheres[] = {"download", "anywhere", NULL};
    static const char *const cut_modes[] = {"clean", "torn", "mixed", NULL};
    int mode = (int)c->mode, layout = 0, expect = 0, where = 0, cut = 2;
    bool ok = word_opt("--mode", r->mode, modes, &mode) &&
              word_opt("--layout", r->layout, layouts, &layout) &&
              word_opt("--expect", r->expect, expects, &expect) &&
              word_opt("--cut-at", r->cut_at, wheres, &where) &&
              word_opt("--cut-mode", r->cut_mode, cut_modes, &cut);
    c->mode = (fota_mode_t)mode;
    c->full_flash = layout == 1;
    c->expect = (sim_expect_t)expect;
    c->cut_where = (sim_cut_where_t)where;
    c->cut_mode = cut == 0 ? (int)FOTA_CUT_BEFORE : cut == 1 ? (int)FOTA_CUT_TORN : -1;
    return ok;
}

static bool numbers(const raw_t *r, sim_config_t *c)
{
    uint32_t timeout_s = c->timeout_ms / 1000u, seed = (uint32_t)c->seed;
    uint32_t wait_s = c->server_wait_ms / 1000u;
    bool ok = num("--devices", r->devices, 1000000u, &c->devices) &&
              num("--first-id", r->first_id, 999999999u, &c->first_id) &&
              size_opt("--slot-size", r->slot_size, &c->slot_size) &&
              num("--check-interval", r->check_interval, 86400000u, &c->check_interval_ms) &&
              num("--retry", r->retry, 3600000u, &c->retry_ms) &&
              num("--range-records", r->range_records, UINT32_MAX, &c->range_records) &&
              num("--progress-every", r->progress_every, UINT32_MAX, &c->progress_every) &&
              num("--security-floor", r->security_floor, UINT32_MAX, &c->security_floor) &&
              num("--concurrency", r->concurrency, 100000u, &c->concurrency) &&
              num("--ramp", r->ramp, 86400000u, &c->ramp_ms) &&
              num("--timeout", r->timeout, 86400u * 7u, &timeout_s) &&
              num("--http-timeout", r->http_timeout, 3600000u, &c->http_timeout_ms) &&
              num("--attempts", r->attempts, 1000u, &c->attempts) &&
              num("--reboot-delay", r->reboot_delay, 600000u, &c->reboot_ms) &&
              num("--linger", r->linger, 86400000u, &c->linger_ms) &&
              num("--seed", r->seed, UINT32_MAX, &seed) &&
              num("--stall-ms", r->stall_ms, 3600000u, &c->stall_ms) &&
              num("--latency", r->latency, 600000u, &c->latency_ms) &&
              num("--jitter", r->jitter, 600000u, &c->jitter_ms) &&
              num("--restart-server", r->restarts, 1000u, &c->restarts) &&
              num("--server-wait", r->server_wait, 3600u, &wait_s);
    c->timeout_ms = timeout_s * 1000u;
    c->server_wait_ms = wait_s * 1000u;
    c->seed = seed;
    return ok;
}

static bool faults(const raw_t *r, sim_config_t *c)
{
    return fault_opt("--power-cuts", r->power_cuts, &c->power_cuts) &&
           fault_opt("--drops", r->drops, &c->net[SIM_FAULT_DROP]) &&
           fault_opt("--stalls", r->stalls, &c->net[SIM_FAULT_STALL]) &&
           fault_opt("--flips", r->flips, &c->net[SIM_FAULT_FLIP]) &&
           fault_opt("--fail-rate", r->fail_rate, &c->fail);
}

/* What must be there, and what does not go together. */
static bool coherent(const sim_config_t *c)
{
    const char *missing = c->image_path == NULL         ? "--image"
                          : c->product == NULL          ? "--product"
                          : c->release_key_path == NULL ? "--release-key"
                          : c->master_path == NULL      ? "--master-secret-file"
                                                        : NULL;
    if (missing != NULL) {
        return bad("missing %s%s", missing, "");
    }
    if (c->server_url == NULL && c->fotad_cmd == NULL) {
        return bad("missing %s%s", "--server (or --fotad)", "");
    }
    if (c->ca_file != NULL && access(c->ca_file, R_OK) != 0) {
        return bad("%s: cannot read '%s'", "--ca", c->ca_file);
    }
    if (c->restarts > 0 && c->fotad_cmd == NULL) {
        return bad("%s needs --fotad (the server fota-sim starts)%s", "--restart-server", "");
    }
    if (c->devices == 0 || c->concurrency == 0 || c->attempts == 0) {
        return bad("%s must not be 0%s", "--devices, --concurrency and --attempts", "");
    }
    if (strlen(c->id_prefix) + 10 > SIM_ID_MAX - 1) {
        return bad("%s: '%s' is too long", "--id-prefix", c->id_prefix);
    }
    return true;
}

static void copy_strings(const raw_t *r, sim_config_t *c)
{
    c->id_prefix = r->id_prefix != NULL ? r->id_prefix : c->id_prefix;
    c->product = r->product;
    c->image_path = r->image;
    c->release_key_path = r->release_key;
    c->master_path = r->master;
    c->flash_dir = r->flash_dir;
    c->server_url = r->server;
    c->ca_file = r->ca;
    c->fotad_cmd = r->fotad;
    c->fotad_log = r->fotad_log;
    c->on_ready = r->on_ready;
    c->target_version = r->to;
    c->json_path = r->json;
    c->rollout_token_path = r->rollout_token;
    c->verbose = r->verbose;
    c->restart_kill = r->restart_kill;
    c->esp_idf = r->esp_idf;
    c->no_share = r->no_share;
    c->fail_version = r->fail_version;
}

#define V(n, field)                                                                                \
    {                                                                                              \
        n, 0, &raw.field, NULL                                                                     \
    }
#define F(n, field)                                                                                \
    {                                                                                              \
        n, 0, NULL, &raw.field                                                                     \
    }

bool sim_options_parse(sim_config_t *cfg, int argc, char **argv, int *exit_code)
{
    raw_t raw;
    memset(&raw, 0, sizeof raw);
    const fota_cli_opt_t opts[] = {
        V("devices", devices),
        V("first-id", first_id),
        V("id-prefix", id_prefix),
        V("product", product),
        V("mode", mode),
        V("image", image),
        V("release-key", release_key),
        V("master-secret-file", master),
        V("slot-size", slot_size),
        V("layout", layout),
        V("flash-dir", flash_dir),
        F("no-share", no_share),
        F("esp-idf", esp_idf),
        V("server", server),
        V("ca", ca),
        V("fotad", fotad),
        V("fotad-log", fotad_log),
        V("on-ready", on_ready),
        V("server-wait", server_wait),
        V("check-interval", check_interval),
        V("retry", retry),
        V("range-records", range_records),
        V("progress-every", progress_every),
        V("security-floor", security_floor),
        V("concurrency", concurrency),
        V("ramp", ramp),
        V("timeout", timeout),
        V("http-timeout", http_timeout),
        V("attempts", attempts),
        V("reboot-delay", reboot_delay),
        V("expect", expect),
        V("linger", linger),
        V("to", to),
        V("seed", seed),
        V("power-cuts", power_cuts),
        V("cut-at", cut_at),
        V("cut-mode", cut_mode),
        V("drops", drops),
        V("stalls", stalls),
        V("stall-ms", stall_ms),
        V("flips", flips),
        V("latency", latency),
        V("jitter", jitter),
        V("restart-server", restarts),
        V("fail-rate", fail_rate),
        V("fail-version", fail_version),
        F("restart-kill", restart_kill),
        V("json", json),
        V("rollout-token", rollout_token),
        F("progress", progress),
        F("no-progress", no_progress),
        F("verbose", verbose),
        {NULL, 0, NULL, NULL},
    };
    fota_cli_spec_t spec = {opts, NULL, NULL, 0, 0, 0};
    set_defaults(cfg);
    if (!fota_cli_parse(SIM_PROG, &run_cmd, &spec, argc, argv, exit_code)) {
        return false;
    }
    *exit_code = SIM_EXIT_USAGE;
    copy_strings(&raw, cfg);
    cfg->progress = raw.progress || (!raw.no_progress && isatty(STDERR_FILENO));
    if (!words(&raw, cfg) || !numbers(&raw, cfg) || !faults(&raw, cfg) || !coherent(cfg)) {
        return false;
    }
    *exit_code = SIM_EXIT_OK;
    return true;
}
