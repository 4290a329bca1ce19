/*
 * setup.c - everything a run needs before the first request: the server's master secret (each
 * device key is HMAC-SHA256(master, device id), as fotad derives it), the release public key
 * (DER, as devices embed it), the initial firmware image (validated; its app descriptor gives
 * the old version), the flash layout, and one provisioned emulated ESP32 per device, of the kind
 * --esp-idf says (the agent directly, or the ESP-IDF component: sim_hw_ops_t); the devices are
 * powered on for the first time once the server's URL is known (sim_setup_power_on).
 *
 * Flash layout and memory: a 4 MB flash per device is 40 GB for 10,000 devices. By default every
 * device gets the compact layout (compact_layout.h): nvs, otadata and two OTA slots sized to the
 * images: 64 KB + 64 KB-aligned slot + slot bytes (a 64 KB image with the default quarter of
 * headroom: 80 KB slots, 272 KB of flash). --layout arduino gives the real 4 MB table. The
 * flashes live in memory and share one template copy-on-write: the factory flash (partition
 * table, otadata, the initial image) is provisioned once, and each device holds only the 4 KB
 * sectors it has written since (fota_flash_emu_open_shared). --no-share gives each device its
 * whole flash, provisioned on its own (the figures before the sharing); --flash-dir keeps the
 * flashes in files (mmap'd, so the page cache holds them and `fota-flash show` can read them
 * after the run), each provisioned on its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fota/auth.h"
#include "fota/host/cli.h"
#include "fota/emu/bootloader.h"
#include "fota/emu/compact_layout.h"
#include "fota/host/file_util.h"
#include "fota/host/keys.h"

#include "sim.h"

#define MASTER_MAX 4096u
#define MASTER_MIN 32u

fota_err_t sim_device_key(const sim_t *s, const char *id, uint8_t out[32])
{
    return fota_auth_device_key(s->master, s->master_len, id, out);
}

static int load_master(sim_t *s)
{
    const char *path = s->cfg.master_path;
    fota_err_t err = fota_file_read_all(path, MASTER_MAX, &s->master, &s->master_len);
    if (err != FOTA_OK) {
        return fota_cli_fail(SIM_PROG, path, err, "cannot read the master secret");
    }
    if (s->master_len < MASTER_MIN) {
        return fota_cli_fail(SIM_PROG, path, FOTA_ERR_KEY,
                             "master secret of %zu bytes, fotad wants at least %u", s->master_len,
                             MASTER_MIN);
    }
    return SIM_EXIT_OK;
}

static int load_release_key(sim_t *s)
{
    const char *path = s->cfg.release_key_path;
    fota_key_t *key = NULL;
    fota_err_t err = fota_key_load_public(path, &key);
    if (err == FOTA_OK) {
        s->release_der_len = sizeof s->release_der;
        err = fota_key_public_der(key, s->release_der, &s->release_der_len);
    }
    fota_key_free(key);
    return err == FOTA_OK ? SIM_EXIT_OK
                          : fota_cli_fail(SIM_PROG, path, err, "not a release public key");
}

static int load_image(sim_t *s)
{
    fota_esp_image_info_t info;
    int code = fota_cli_load_image(SIM_PROG, s->cfg.image_path, FOTA_CLI_MAX_FILE, &s->image,
                                   &s->image_len, &info);
    if (code == SIM_EXIT_OK) {
        snprintf(s->initial_version, sizeof s->initial_version, "%s", info.app_desc.version);
    }
    return code;
}

/* The compact layout sized to --slot-size (default: the image plus a quarter), or Arduino's. */
static int lay_out(sim_t *s)
{
    fota_err_t err = FOTA_OK;
    if (s->cfg.full_flash) {
        fota_part_table_default(&s->table);
        s->flash_size = FOTA_FLASH_EMU_DEFAULT_SIZE;
    } else {
        uint64_t slot = s->cfg.slot_size != 0 ? s->cfg.slot_size : s->image_len + s->image_len / 4u;
        err = slot > FOTA_COMPACT_SLOT_MAX
                  ? FOTA_ERR_RANGE
                  : fota_part_table_compact((uint32_t)slot, &s->table, &s->flash_size);
    }
    const fota_partition_t *app0 =
        err == FOTA_OK ? fota_part_find(&s->table, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0)
                       : NULL;
    if (app0 == NULL || app0->size < s->image_len) {
        return fota_cli_fail(SIM_PROG, s->cfg.image_path, FOTA_ERR_IMAGE_TOO_BIG,
                             "the image does not fit the OTA slots (see --slot-size)");
    }
    return SIM_EXIT_OK;
}

static int check_flash_dir(const sim_t *s)
{
    struct stat st;
    const char *dir = s->cfg.flash_dir;
    if (dir != NULL && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        return fota_cli_fail(SIM_PROG, dir, FOTA_ERR_IO, "not a directory");
    }
    return SIM_EXIT_OK;
}

/* The factory flash, provisioned once: what every device starts from (unless --no-share or
 * --flash-dir, where each device is provisioned on its own). */
static int make_template(sim_t *s)
{
    if (s->cfg.no_share || s->cfg.flash_dir != NULL) {
        return SIM_EXIT_OK;
    }
    fota_flash_emu_t *factory = NULL;
    fota_err_t err = fota_flash_emu_open(NULL, s->flash_size, FOTA_FLASH_EMU_STRICT, &factory);
    if (err == FOTA_OK) {
        fota_flash_t port = fota_flash_emu_port(factory);
        err = fota_device_provision(&port, &s->table, s->image, s->image_len);
    }
    if (err == FOTA_OK) {
        err = fota_flash_emu_template(factory, &s->tmpl);
    }
    fota_flash_emu_close(factory);
    return err == FOTA_OK ? SIM_EXIT_OK
                          : fota_cli_fail(SIM_PROG, s->cfg.image_path, err,
                                          "cannot provision the factory flash");
}

void sim_measure_memory(const sim_t *s, sim_memory_t *out)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->peak_rss = (uint64_t)ru.ru_maxrss * 1024u;
    out->cpu_seconds = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    out->flash = s->tmpl != NULL ? fota_flash_template_memory(s->tmpl) : 0u;
    for (uint32_t i = 0; i < s->n_devs; i++) {
        out->flash += s->devs[i].emu != NULL ? fota_flash_emu_memory(s->devs[i].emu) : 0u;
    }
}

static int open_devices(sim_t *s)
{
    s->devs = calloc(s->cfg.devices, sizeof *s->devs);
    if (s->devs == NULL) {
        return fota_cli_fail(SIM_PROG, NULL, FOTA_ERR_NO_MEM, "no memory for %u devices",
                             (unsigned)s->cfg.devices);
    }
    for (uint32_t i = 0; i < s->cfg.devices; i++) {
        fota_err_t err = sim_device_open(s, &s->devs[i], i);
        s->n_devs = i + 1u; /* so that teardown closes this one too */
        if (err != FOTA_OK) {
            return fota_cli_fail(SIM_PROG, s->devs[i].id, err,
                                 "cannot set up the device (%u bytes of flash each)",
                                 (unsigned)s->flash_size);
        }
    }
    return SIM_EXIT_OK;
}

int sim_setup(sim_t *s)
{
    s->hw = s->cfg.esp_idf ? &sim_hw_esp_idf : &sim_hw_agent;
    s->rng = s->cfg.seed * 0x9E3779B97F4A7C15ull + 0x5151u;
    int code = load_master(s);
    if (code == SIM_EXIT_OK) {
        code = load_release_key(s);
    }
    if (code == SIM_EXIT_OK) {
        code = load_image(s);
    }
    if (code == SIM_EXIT_OK) {
        code = lay_out(s);
    }
    if (code == SIM_EXIT_OK) {
        code = check_flash_dir(s);
    }
    if (code == SIM_EXIT_OK) {
        code = make_template(s);
    }
    if (code == SIM_EXIT_OK) {
        code = open_devices(s);
    }
    if (code == SIM_EXIT_OK) {
        sim_faults_assign(s);
    }
    return code;
}

int sim_setup_power_on(sim_t *s)
{
    for (uint32_t i = 0; i < s->n_devs; i++) {
        fota_err_t err = sim_device_first_boot(s, &s->devs[i]);
        if (err != FOTA_OK) {
            return fota_cli_fail(SIM_PROG, s->devs[i].id, err, "the device does not start (%s)",
                                 s->hw->title);
        }
    }
    sim_measure_memory(s, &s->mem_start);
    return SIM_EXIT_OK;
}

void sim_teardown(sim_t *s)
{
    free(s->rollout_json);
    s->rollout_json = NULL;
    for (uint32_t i = 0; i < s->n_devs; i++) {
        sim_device_close(&s->devs[i]);
    }
    free(s->devs);
    s->devs = NULL;
    s->n_devs = 0;
    fota_flash_template_free(s->tmpl); /* after the devices: they share its sectors */
    s->tmpl = NULL;
    sim_sched_free(s);
    free(s->image);
    s->image = NULL;
    if (s->master != NULL) {
        memset(s->master, 0, s->master_len);
    }
    free(s->master);
    s->master = NULL;
    free(s->fotad.cmd);
    s->fotad.cmd = NULL;
}
