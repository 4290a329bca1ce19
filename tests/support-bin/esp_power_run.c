/*
 * esp_power_run.c - one run of the power-cut proof through the ESP-IDF component
 * (esp_power_run.h; the proof itself is described in fota-esp-power.c).
 *
 * The device: an in-memory flash with the example firmware's partition table and the old image in
 * app0, the device key and id in NVS from a factory CSV, the journal in fota_nvs, a fresh id (so
 * fotad's per-device state starts empty), a manual clock moved by the waits the component asks
 * for. It is driven in step mode, fota_esp_step in this loop with ESP_DOUBLE_RESTART_POINT armed,
 * so esp_restart() comes back here and the device is power-cycled: runs are deterministic.
 *
 * What the run sees, through link-time wraps (-Wl,--wrap) of the calls the component makes into
 * the double: each data request's first chunk or record and the body bytes read (to count what
 * is fetched again, as test_power_exhaustive.c does: a request below the highest unit delivered
 * whole fetches again one chunk in seed mode, every record up to it in chain mode); every NVS
 * commit (a cut point too); every write and erase of the update slot (its operation index).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "esp_device.h"
#include "esp_http_client.h"
#include "esp_partition.h"
#include "esp_power_run.h"
#include "fota/auth.h"
#include "fota/emu/otadata.h"
#include "fota/host/cli.h"
#include "nvs.h"

#define MAX_STEPS 20000u

setup_t g_set;

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- one run --------------------------------------------------------------------------------- */

typedef struct {
    char id[64];
    char what[128]; /* names the run in failures */
    fota_flash_emu_t *emu;
    fota_esp_device_t dev;
    uint64_t base_ops;
    char csv[256];
    /* the wire: the data request in flight */
    int64_t start; /* first chunk or record asked for, -1: not a data request */
    bool seed_req;
    bool range_set;
    uint64_t range_first;
    int64_t fed;
    int64_t length;
    uint32_t high; /* highest chunk or record delivered whole, plus one */
    uint32_t refetched;
    /* NVS commits, the device's other durable writes: counted from the end of the first boot */
    bool counting;
    uint64_t commits;
    uint64_t cut_commit;              /* cut the power just before this one (NO_OP: none) */
    uint64_t commit_ops[MAX_COMMITS]; /* flash operations done before each */
    /* the component's writes and erases of the update slot: the index of each operation */
    uint64_t slot_n;
    uint64_t slot_ops[MAX_SLOT_OPS];
    /* what happened */
    unsigned cuts, bricks, rollbacks;
    uint64_t reboot_op, confirm_op;
} rig_t;

static rig_t *g_rig; /* the run whose HTTP calls the wraps below see */

static uint64_t ops_now(const rig_t *r)
{
    fota_flash_stats_t st;
    fota_flash_emu_stats(r->emu, &st);
    return st.ops - r->base_ops;
}

/* ---- the wire: the component's esp_http_client calls, wrapped at link time ------------------- */

esp_err_t __real_esp_http_client_set_url(esp_http_client_handle_t c, const char *url);
esp_err_t __wrap_esp_http_client_set_url(esp_http_client_handle_t c, const char *url);
esp_err_t __real_esp_http_client_set_header(esp_http_client_handle_t c, const char *key,
                                            const char *value);
esp_err_t __wrap_esp_http_client_set_header(esp_http_client_handle_t c, const char *key,
                                            const char *value);
int64_t __real_esp_http_client_fetch_headers(esp_http_client_handle_t c);
int64_t __wrap_esp_http_client_fetch_headers(esp_http_client_handle_t c);
int __real_esp_http_client_read(esp_http_client_handle_t c, char *buf, int len);
int __wrap_esp_http_client_read(esp_http_client_handle_t c, char *buf, int len);
esp_err_t __real_nvs_commit(nvs_handle_t handle);
esp_err_t __wrap_nvs_commit(nvs_handle_t handle);
esp_err_t __real_esp_partition_write(const esp_partition_t *p, size_t off, const void *src,
                                     size_t size);
esp_err_t __wrap_esp_partition_write(const esp_partition_t *p, size_t off, const void *src,
                                     size_t size);
esp_err_t __real_esp_partition_erase_range(const esp_partition_t *p, size_t off, size_t size);
esp_err_t __wrap_esp_partition_erase_range(const esp_partition_t *p, size_t off, size_t size);

/* The URL names the request: a seed chunk (its number), a blob (the Range says where), or
 * neither. The component sets the URL, then the headers, of every request. */
esp_err_t __wrap_esp_http_client_set_url(esp_http_client_handle_t c, const char *url)
{
    rig_t *r = g_rig;
    if (r != NULL) {
        const char *n = strstr(url, "/chunk?chunk_number=");
        r->seed_req = n != NULL;
        r->start = n != NULL ? strtoll(n + 20, NULL, 10) : strstr(url, "/blob/") ? 0 : -1;
        r->range_set = false;
    }
    return __real_esp_http_client_set_url(c, url);
}

esp_err_t __wrap_esp_http_client_set_header(esp_http_client_handle_t c, const char *key,
                                            const char *value)
{
    rig_t *r = g_rig;
    if (r != NULL && strcmp(key, "Range") == 0 && strncmp(value, "bytes=", 6) == 0) {
        r->range_set = true;
        r->range_first = strtoull(value + 6, NULL, 10);
    }
    return __real_esp_http_client_set_header(c, key, value);
}

/* A data response begins: asking below the highest unit delivered whole is fetching again. */
int64_t __wrap_esp_http_client_fetch_headers(esp_http_client_handle_t c)
{
    int64_t n = __real_esp_http_client_fetch_headers(c);
    rig_t *r = g_rig;
    int status = n >= 0 ? esp_http_client_get_status_code(c) : 0;
    if (r == NULL || r->start < 0 || status / 100 != 2) {
        return n;
    }
    if (!r->seed_req) {
        r->start = r->range_set ? (int64_t)(r->range_first / RECORD) : 0;
    }
    if (r->start < (int64_t)r->high) {
        r->refetched += r->seed_req ? 1u : r->high - (uint32_t)r->start;
    }
    r->fed = 0;
    r->length = esp_http_client_get_content_length(c);
    return n;
}

int __wrap_esp_http_client_read(esp_http_client_handle_t c, char *buf, int len)
{
    int n = __real_esp_http_client_read(c, buf, len);
    rig_t *r = g_rig;
    if (r == NULL || r->start < 0 || n <= 0) {
        return n;
    }
    r->fed += n;
    uint32_t whole = r->seed_req ? (r->fed == r->length ? 1u : 0u) : (uint32_t)(r->fed / RECORD);
    if ((uint32_t)r->start + whole > r->high) {
        r->high = (uint32_t)r->start + whole;
    }
    return n;
}

/* ---- NVS commits: cut points too ------------------------------------------------------------- */

/* NVS is not on the emulated flash but in the double's state, durable at each commit, which is
 * atomic (old or new, never a mix). So the device's durable history is its flash operations and
 * its NVS commits (the journal's saves and clears): a cut just before a commit (the commit is
 * lost) is a state no flash cut reaches. Made here by cutting the flash at once, through a read
 * the cut stops: the commit and everything after it fail as after any cut. */
esp_err_t __wrap_nvs_commit(nvs_handle_t handle)
{
    rig_t *r = g_rig;
    if (r != NULL && r->counting) {
        if (r->commits < MAX_COMMITS) {
            r->commit_ops[r->commits] = ops_now(r);
        }
        if (r->commits == r->cut_commit && !fota_flash_emu_is_cut(r->emu)) {
            uint8_t byte;
            fota_flash_emu_plan_cut(r->emu, 0, FOTA_CUT_BEFORE, 0);
            fota_flash_emu_read(r->emu, 0, &byte, 1);
        }
        r->commits++;
    }
    return __real_nvs_commit(handle);
}

/* ---- the update slot's writes and erases ----------------------------------------------------- */

/* Each accepted esp_partition_write or _erase_range is exactly one flash operation (partition.c of
 * the double): the operation count before the call is its index. A sampled sweep cuts at every
 * one of them, clean and torn, without the whole operation log. */
static void note_slot_op(void)
{
    rig_t *r = g_rig;
    if (r != NULL && r->counting && !fota_flash_emu_is_cut(r->emu)) {
        if (r->slot_n < MAX_SLOT_OPS) {
            r->slot_ops[r->slot_n] = ops_now(r);
        }
        r->slot_n++;
    }
}

esp_err_t __wrap_esp_partition_write(const esp_partition_t *p, size_t off, const void *src,
                                     size_t size)
{
    note_slot_op();
    return __real_esp_partition_write(p, off, src, size);
}

esp_err_t __wrap_esp_partition_erase_range(const esp_partition_t *p, size_t off, size_t size)
{
    note_slot_op();
    return __real_esp_partition_erase_range(p, off, size);
}

/* ---- the device ------------------------------------------------------------------------------ */

static void on_event(void *ctx, const fota_event_t *ev)
{
    rig_t *r = ctx;
    if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_ROLLED_BACK) {
        r->rollbacks++;
    }
}

static uint64_t run_seed(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = id; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    }
    return h | 1u;
}

/* The factory's NVS image: the device's id and its key, HMAC-SHA256(master, id). */
static const char *factory_csv(rig_t *r)
{
    uint8_t key[32];
    if (fota_auth_device_key(g_set.master, g_set.master_len, r->id, key) != FOTA_OK ||
        fota_esp_device_identity_csv(r->csv, sizeof r->csv, "fota", r->id, key) != FOTA_OK) {
        die("%s: no device key", r->what);
    }
    return r->csv;
}

static void device_config(rig_t *r, fota_esp_device_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->hw.name = r->id;
    cfg->hw.flash = r->emu;
    cfg->hw.strict_nor = true;
    cfg->hw.manual_clock = true;
    cfg->hw.random_seed = run_seed(r->id); /* nonces differ between runs, reproducibly */
    fota_esp_config_t c = FOTA_ESP_CONFIG_DEFAULT();
    c.server_url = g_set.server;
    c.product_id = g_set.product;
    c.release_key = g_set.pub;
    c.release_key_len = g_set.pub_len;
    c.mode = g_set.mode;
    c.check_interval_ms = 0;
    c.retry_ms = 100;
    c.progress_every = 16;
    c.journal_partition = "fota_nvs";
    c.on_event = on_event;
    c.ctx = r;
    cfg->fota = c;
    cfg->factory_nvs = factory_csv(r);
}

/* Power on until the component runs (a cut while it boots is followed by another power-on). */
static void boot(rig_t *r)
{
    for (int i = 0; i < 8; i++) {
        fota_err_t err = fota_esp_device_power_on(&r->dev);
        if (esp_double_cut(r->dev.hw)) {
            r->cuts++;
            continue;
        }
        if (r->dev.bricked) {
            r->bricks++;
            return;
        }
        if (err != FOTA_OK || r->dev.fota == NULL) {
            die("%s: the device did not start: %s (init %s)", r->what, fota_err_name(err),
                esp_err_to_name(r->dev.init_err));
        }
        return;
    }
    die("%s: the device never came up", r->what);
}

/* Run `index` of the sweep cuts at K: its device id is fotad's first sight of it. */
static void rig_open(rig_t *r, const char *kind, uint64_t k, size_t index)
{
    memset(r, 0, sizeof *r);
    r->start = -1;
    snprintf(r->id, sizeof r->id, "esp-pw-%s-%s-%llu-%zu", g_set.mode_name, kind,
             (unsigned long long)k, index);
    snprintf(r->what, sizeof r->what, "%s, %s cut at flash operation %llu", g_set.mode_name, kind,
             (unsigned long long)k);
    if (fota_flash_emu_open(NULL, FOTA_FLASH_EMU_DEFAULT_SIZE, FOTA_FLASH_EMU_STRICT, &r->emu) !=
        FOTA_OK) {
        die("%s: no flash", r->what);
    }
    fota_flash_t port = fota_flash_emu_port(r->emu);
    if (fota_device_provision(&port, &g_set.table, g_set.old_img, g_set.old_len) != FOTA_OK) {
        die("%s: provisioning failed", r->what);
    }
    fota_esp_device_config_t cfg;
    device_config(r, &cfg);
    if (fota_esp_device_open(&r->dev, &cfg) != FOTA_OK) {
        die("%s: device not opened", r->what);
    }
    g_rig = r;
    boot(r);
    if (r->bricks != 0 || r->cuts != 0) {
        die("%s: the first boot failed", r->what);
    }
    fota_flash_stats_t st;
    fota_flash_emu_stats(r->emu, &st);
    r->base_ops = st.ops;
    r->cut_commit = NO_OP;
    r->counting = true;
}

static void rig_close(rig_t *r)
{
    g_rig = NULL;
    fota_esp_device_close(&r->dev);
    fota_flash_emu_close(r->emu);
}

/* ---- driving: fota_esp_step with the restart point armed ------------------------------------- */

typedef enum { END_SETTLED, END_RESTART, END_CUT, END_STUCK } end_t;

static end_t run_steps(rig_t *r)
{
    if (ESP_DOUBLE_RESTART_POINT(r->dev.hw)) {
        esp_double_restart_disarm(); /* esp_restart() from inside fota_esp_step */
        return END_RESTART;
    }
    end_t end = END_STUCK;
    for (unsigned i = 0; i < MAX_STEPS && end == END_STUCK; i++) {
        uint32_t wait_ms = 0;
        fota_esp_step(r->dev.fota, &wait_ms);
        if (esp_double_cut(r->dev.hw)) {
            end = END_CUT;
        } else if (fota_agent_settled(fota_esp_agent(r->dev.fota))) {
            end = END_SETTLED;
        } else if (wait_ms > 0) {
            esp_double_advance_ms(r->dev.hw, wait_ms < 61000u ? wait_ms : 61000u);
        }
    }
    esp_double_restart_disarm();
    return end;
}

/* Until the agent has nothing left to do, power-cycling at a restart and after the cut. */
static void drive(rig_t *r)
{
    fota_esp_check_now(r->dev.fota);
    for (int round = 0; round < 32; round++) {
        end_t end = run_steps(r);
        if (end == END_SETTLED) {
            return;
        }
        if (end == END_STUCK) {
            die("%s: the agent never settled (state %s)", r->what,
                fota_state_name(fota_esp_state(r->dev.fota)));
        }
        uint64_t asked = ops_now(r);
        r->cuts += esp_double_cut(r->dev.hw);
        boot(r);
        if (end == END_RESTART && r->reboot_op == 0) { /* the first: into the new image */
            r->reboot_op = asked;
            r->confirm_op = ops_now(r);
        }
        if (r->bricks != 0) {
            return;
        }
    }
    die("%s: too many power cycles", r->what);
}

/* The whole update; after a rollback fotad still offers the release: again. */
static void update(rig_t *r)
{
    drive(r);
    for (int i = 0; i < 2 && r->bricks == 0 &&
                    strcmp(fota_esp_device_version(&r->dev), g_set.new_version) != 0;
         i++) {
        drive(r);
    }
}

/* ---- the checks ------------------------------------------------------------------------------ */

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
    char *body = ctx;
    size_t used = strlen(body), len = size * n;
    size_t take = len < 4095 - used ? len : 4095 - used;
    memcpy(body + used, data, take);
    body[used + take] = '\0';
    return len;
}

/* fotad's view of the device: its state is confirmed, on the new version. */
static bool fotad_confirmed(const rig_t *r)
{
    char url[512], body[4096] = "";
    snprintf(url, sizeof url, "%s/api/admin/devices/%s", g_set.server, r->id);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, g_set.auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    char want[64];
    snprintf(want, sizeof want, "\"version\":\"%s\"", g_set.new_version);
    return rc == CURLE_OK && strstr(body, "\"state\":\"confirmed\"") != NULL &&
           strstr(body, want) != NULL;
}

static void assert_confirmed(rig_t *r)
{
    if (r->bricks != 0) {
        die("%s: the device was bricked", r->what);
    }
    const fota_boot_info_t *b = esp_double_boot_info(r->dev.hw);
    if (strcmp(fota_esp_device_version(&r->dev), g_set.new_version) != 0 ||
        b->ota_state != FOTA_OTA_IMG_VALID) {
        die("%s: running %s (otadata state %u), not %s confirmed", r->what,
            fota_esp_device_version(&r->dev), (unsigned)b->ota_state, g_set.new_version);
    }
    uint8_t *buf = malloc(g_set.new_len);
    fota_flash_emu_cancel_cut(r->emu);
    if (buf == NULL ||
        fota_flash_emu_read(r->emu, g_set.slot1->offset, buf, g_set.new_len) != FOTA_OK ||
        memcmp(buf, g_set.new_img, g_set.new_len) != 0) {
        die("%s: app1 does not hold the new image", r->what);
    }
    free(buf);
    if (!fotad_confirmed(r)) {
        die("%s: fotad does not show the device confirmed on %s", r->what, g_set.new_version);
    }
}

/* ---- one cut --------------------------------------------------------------------------------- */

const char *cut_name(cut_kind_t how)
{
    return how == CUT_TORN ? "torn" : how == CUT_COMMIT ? "commit" : "clean";
}

cut_result_t power_cut_once(uint64_t k, cut_kind_t how, uint64_t seed, size_t index)
{
    rig_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        die("out of memory");
    }
    rig_open(r, cut_name(how), k, index);
    if (how == CUT_COMMIT) {
        r->cut_commit = k;
        snprintf(r->what, sizeof r->what, "%s, cut before NVS commit %llu", g_set.mode_name,
                 (unsigned long long)k);
    } else {
        fota_flash_emu_plan_cut(r->emu, k, (fota_cut_mode_t)how, seed);
    }
    update(r);
    fota_flash_cut_info_t info;
    fota_flash_emu_last_cut(r->emu, &info);
    if (r->cuts != 1 || !info.happened) {
        die("%s: the cut did not happen exactly once (%u)", r->what, r->cuts);
    }
    assert_confirmed(r);
    if (r->refetched > MAX_REFETCH) {
        die("%s: %u %s fetched again, more than one sector", r->what, (unsigned)r->refetched,
            g_set.mode == FOTA_MODE_SEED ? "chunks" : "records");
    }
    cut_result_t res = {r->rollbacks > 0, r->refetched, info.op, info.addr};
    rig_close(r);
    free(r);
    return res;
}

/* ---- the run without a cut ------------------------------------------------------------------- */

void power_clean_run(clean_trace_t *out)
{
    rig_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        die("out of memory");
    }
    static size_t runs;
    rig_open(r, "none", 0, runs++);
    snprintf(r->what, sizeof r->what, "%s, the run without a cut", g_set.mode_name);
    update(r);
    uint64_t total = ops_now(r); /* before the checks read the flash */
    assert_confirmed(r);
    if (r->cuts != 0 || r->rollbacks != 0 || r->refetched != 0 || r->reboot_op == 0) {
        die("%s: %u cuts, %u rollbacks, %u fetched again, reboot at %llu", r->what, r->cuts,
            r->rollbacks, (unsigned)r->refetched, (unsigned long long)r->reboot_op);
    }
    if (r->commits > MAX_COMMITS || r->slot_n > MAX_SLOT_OPS) {
        die("%s: %llu NVS commits, %llu slot writes: too many", r->what,
            (unsigned long long)r->commits, (unsigned long long)r->slot_n);
    }
    memset(out, 0, sizeof *out);
    out->total = total;
    out->reboot_op = r->reboot_op;
    out->confirm_op = r->confirm_op;
    out->commits = r->commits;
    memcpy(out->commit_ops, r->commit_ops, r->commits * sizeof r->commit_ops[0]);
    out->slot_n = r->slot_n;
    memcpy(out->slot_ops, r->slot_ops, r->slot_n * sizeof r->slot_ops[0]);
    rig_close(r);
    free(r);
}
