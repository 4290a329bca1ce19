/*
 * fota-flash - drive an emulated ESP32 from the command line: a flash file (4 MB by default)
 * with an ESP-IDF partition table, otadata and app images, and the emulated bootloader with app
 * rollback. Each subcommand is one moment of a device's life:
 *
 *   create     flash a new device of a chip (table, erased otadata, bootloader, image in ota_0)
 *   show       partition table, otadata, next boot and why, what each app partition holds
 *   boot       power on: the bootloader picks, validates, rolls back or falls back
 *   confirm    the running app marks itself valid (esp_ota_mark_app_valid_cancel_rollback)
 *   run        boot + the app's self-test + confirm when it passes
 *   write-ota  what an OTA does: image into the next slot, set it to boot
 *
 * main() is the command table; conventions (exit codes, --help, one-line errors) come from
 * fota/host/cli.h and are described in docs/TOOLS.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "fota/host/cli.h"
#include "fota/emu/image_build.h"

static const char CREATE_USAGE[] =
    "usage: fota-flash create FILE --image IMG [--chip NAME] [--partitions CSV] [--size N]\n"
    "\n"
    "Make a device flash file: the partition table at 0x8000 (from an ESP-IDF partition CSV,\n"
    "else Arduino-ESP32's default 4 MB layout), otadata erased, the chip's second-stage\n"
    "bootloader at its offset (0x1000 on the ESP32 and ESP32-S2, 0x2000 on the ESP32-C5 and\n"
    "ESP32-P4, else 0x0), IMG written into ota_0. IMG must be a valid image for the chip that\n"
    "fits ota_0. FILE is replaced atomically. The other commands take the chip from the\n"
    "bootloader: the emulated bootloader boots only images built for it.\n"
    "\n"
    "options:\n"
    "  --image IMG         the app image for ota_0 (fota-image create makes one)\n"
    "  --chip NAME         the device's chip (default esp32): esp32, esp32s2, esp32s3,\n"
    "                      esp32c2, esp32c3, esp32c5, esp32c6, esp32c61, esp32h2, esp32p4\n"
    "  --partitions CSV    partition table CSV (Name, Type, SubType, Offset, Size, Flags)\n"
    "  --size N            flash size: bytes, 0x hex, or K/M suffix (default 4M)\n";

static const char SHOW_USAGE[] =
    "usage: fota-flash show FILE\n"
    "\n"
    "Print the chip, the partition table (label, type, subtype, offset, size, flags), both "
    "otadata\n"
    "entries (seq, state, crc), which slot boots next and why, and for each app partition the\n"
    "version of its image, \"empty\" or \"invalid: reason\". Changes nothing.\n";

static const char BOOT_USAGE[] =
    "usage: fota-flash boot FILE\n"
    "\n"
    "Power the device on: run the emulated bootloader, as ESP-IDF's with app rollback does.\n"
    "A NEW image becomes PENDING_VERIFY; a PENDING_VERIFY one (booted, never confirmed) is\n"
    "ABORTED and the previous image boots (rolled back); an invalid image is skipped (fell\n"
    "back). Prints the slot booted, its version and state. Exit 3 when nothing can boot.\n";

static const char CONFIRM_USAGE[] =
    "usage: fota-flash confirm FILE\n"
    "\n"
    "Mark the running image valid, as the app does after its self-test\n"
    "(esp_ota_mark_app_valid_cancel_rollback). An error if the running image is not\n"
    "PENDING_VERIFY (boot it first).\n";

static const char RUN_USAGE[] =
    "usage: fota-flash run FILE\n"
    "\n"
    "Boot, run the emulated app's self-test, and confirm the image when it passes. An image\n"
    "made with `fota-image create --fail-selftest` fails: it stays PENDING_VERIFY and the next\n"
    "boot rolls it back. Exit 1 when the self-test fails, 3 when nothing can boot.\n";

static const char WRITE_OTA_USAGE[] =
    "usage: fota-flash write-ota FILE --image IMG [--no-verify]\n"
    "\n"
    "Do what an OTA update does: write IMG into the next update slot (the OTA slot after the\n"
    "running one) and set it to boot next (a NEW otadata entry). The running image must not be\n"
    "PENDING_VERIFY (confirm it first), as in ESP-IDF.\n"
    "\n"
    "options:\n"
    "  --image IMG         the new app image; it must be valid, fit the slot and be built for\n"
    "                      the device's chip (as esp_ota_end checks)\n"
    "  --no-verify         write it even if it is not (to watch the bootloader skip it)\n";

/* The positional FILE of every subcommand plus its options; false: done, *rc says how. */
static bool parse_file(const fota_cli_cmd_t *cmd, const fota_cli_opt_t *opts, int argc, char **argv,
                       const char **file, int *rc)
{
    fota_cli_spec_t spec = {opts, file, "FILE", 1, 1, 0};
    return fota_cli_parse(PROG, cmd, &spec, argc, argv, rc);
}

static const fota_cli_opt_t NO_OPTS[] = {{NULL, 0, NULL, NULL}};

/* --- create ---------------------------------------------------------------------------------- */

/* Build the flash beside FILE and rename it over FILE, so a failure leaves FILE as it was. */
static int build_flash_file(const char *file, uint32_t size, const fota_part_table_t *t,
                            uint16_t chip, const uint8_t *image, size_t len)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", file, (long)getpid()) >= sizeof tmp) {
        return fota_cli_fail(PROG, file, FOTA_ERR_ARG, "path too long");
    }
    fota_flash_emu_t *emu = NULL;
    fota_err_t err =
        fota_flash_emu_open(tmp, size, FOTA_FLASH_EMU_CREATE | FOTA_FLASH_EMU_STRICT, &emu);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, file, err, "cannot create: %s", strerror(errno));
    }
    fota_flash_t flash = fota_flash_emu_port(emu);
    err = fota_device_provision_chip(&flash, t, chip, image, len);
    fota_err_t sync_err = fota_flash_emu_sync(emu);
    err = err != FOTA_OK ? err : sync_err;
    fota_flash_emu_close(emu);
    if (err == FOTA_OK && rename(tmp, file) != 0) {
        err = FOTA_ERR_IO;
    }
    if (err != FOTA_OK) {
        unlink(tmp);
        return fota_cli_fail(PROG, file, err, NULL);
    }
    return FOTA_CLI_EXIT_OK;
}

static int provision(const char *file, uint32_t size, const fota_part_table_t *t, uint16_t chip,
                     const char *image_path)
{
    const fota_partition_t *ota0 = fota_part_find(t, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0);
    if (ota0 == NULL) {
        return fota_cli_fail(PROG, file, FOTA_ERR_BOOT_NO_PART,
                             "the partition table has no ota_0 app partition");
    }
    uint8_t *image = NULL;
    size_t len = 0;
    fota_esp_image_info_t info;
    int rc = fota_cli_load_image(PROG, image_path, ota0->size, &image, &len, &info);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    rc = device_image_chip(image_path, chip, &info);
    rc = rc != FOTA_CLI_EXIT_OK ? rc : build_flash_file(file, size, t, chip, image, len);
    free(image);
    char name[FOTA_CLI_CHIP_TEXT];
    if (rc == FOTA_CLI_EXIT_OK) {
        printf("%s: created, %s, %u bytes of flash, %zu partitions; ota_0 (%s) holds %s, "
               "version %s, %u bytes\n",
               file, fota_cli_chip_text(chip, name, sizeof name), (unsigned)size, t->count,
               ota0->label, image_path, info.app_desc.version, (unsigned)info.image_len);
    }
    return rc;
}

static int cmd_create(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *file = NULL, *image = NULL, *csv = NULL, *size_text = NULL, *chip_name = NULL;
    const fota_cli_opt_t opts[] = {{"image", 0, &image, NULL},
                                   {"chip", 0, &chip_name, NULL},
                                   {"partitions", 0, &csv, NULL},
                                   {"size", 0, &size_text, NULL},
                                   {NULL, 0, NULL, NULL}};
    int rc;
    if (!parse_file(cmd, opts, argc, argv, &file, &rc)) {
        return rc;
    }
    if (image == NULL) {
        return fota_cli_usage_error(PROG, cmd, "missing --image IMG");
    }
    const fota_esp_chip_t *chip = fota_esp_chip_by_name(chip_name != NULL ? chip_name : "esp32");
    char names[FOTA_CLI_CHIP_NAMES];
    if (chip == NULL) {
        return fota_cli_usage_error(PROG, cmd, "unknown --chip '%s': one of %s", chip_name,
                                    fota_cli_chip_names(names, sizeof names));
    }
    uint32_t size = FOTA_FLASH_EMU_DEFAULT_SIZE;
    if (size_text != NULL && (fota_cli_parse_size(size_text, &size) != FOTA_OK || size == 0 ||
                              size % FOTA_FLASH_SECTOR_SIZE != 0)) {
        return fota_cli_usage_error(PROG, cmd, "invalid --size '%s': a multiple of %u expected",
                                    size_text, FOTA_FLASH_SECTOR_SIZE);
    }
    fota_part_table_t table;
    rc = device_load_table(csv, size, &table);
    return rc != FOTA_CLI_EXIT_OK ? rc : provision(file, size, &table, chip->id, image);
}

/* --- show ------------------------------------------------------------------------------------ */

static int cmd_show(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *file = NULL;
    int rc;
    if (!parse_file(cmd, NO_OPTS, argc, argv, &file, &rc)) {
        return rc;
    }
    device_t dev;
    rc = device_open(file, &dev);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    return device_close(&dev, device_show(&dev));
}

/* --- boot and run ---------------------------------------------------------------------------- */

static void print_booted(const fota_boot_info_t *b, bool with_state)
{
    char slot[16];
    printf("booted %s (%s at 0x%06x): version %s", slot_name(b->slot, slot, sizeof slot),
           b->partition.label, (unsigned)b->partition.offset, b->image.app_desc.version);
    if (with_state) {
        printf(", state %s%s", fota_ota_state_name(b->ota_state),
               b->ota_state == FOTA_OTA_IMG_UNDEFINED ? " (no otadata entry)" : "");
    }
    printf("\n");
}

/* The lines that say the boot did not go where otadata first pointed. */
static void print_boot_events(const fota_boot_info_t *b)
{
    char slot[16];
    if (b->aborted_slot >= 0) {
        printf("rolled back: %s booted before and never confirmed itself; its entry is now "
               "ABORTED\n",
               slot_name(b->aborted_slot, slot, sizeof slot));
    }
    if (b->fell_back) {
        printf("fell back: otadata selected %s, but its image is invalid (%d image%s rejected)\n",
               slot_name(b->selected_slot, slot, sizeof slot), b->rejected_slots,
               b->rejected_slots == 1 ? "" : "s");
    }
}

static int boot_failed(const device_t *dev, fota_err_t err)
{
    if (err == FOTA_ERR_BOOT_NO_APP) {
        return fota_cli_fail(PROG, dev->path, err,
                             "bricked: no bootable app (every app partition is empty or invalid)");
    }
    return fota_cli_fail(PROG, dev->path, err, "boot failed: %s", fota_err_text(err));
}

static int cmd_boot(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *file = NULL;
    int rc;
    if (!parse_file(cmd, NO_OPTS, argc, argv, &file, &rc)) {
        return rc;
    }
    device_t dev;
    rc = device_open(file, &dev);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    fota_boot_info_t b;
    fota_err_t err = fota_bootloader_run_chip(&dev.flash, dev.chip_id, &b);
    if (err == FOTA_OK) {
        print_booted(&b, true);
        print_boot_events(&b);
        if (b.ota_state == FOTA_OTA_IMG_PENDING_VERIFY) {
            printf("pending verify: confirm it (fota-flash confirm) or the next boot rolls back\n");
        }
    }
    return device_close(&dev, err == FOTA_OK ? FOTA_CLI_EXIT_OK : boot_failed(&dev, err));
}

/* The state otadata now holds for the booted slot (UNDEFINED: no entry of its own). */
static uint32_t booted_state(const device_t *dev, int booted)
{
    int slot;
    uint32_t state;
    if (!device_active_entry(dev, &slot, &state) || slot != booted) {
        return FOTA_OTA_IMG_UNDEFINED;
    }
    return state;
}

static int selftest_failed(const device_t *dev, const fota_boot_info_t *b)
{
    char slot[16];
    slot_name(b->slot, slot, sizeof slot);
    bool pending = booted_state(dev, b->slot) == FOTA_OTA_IMG_PENDING_VERIFY;
    printf("self-test failed: %s does not confirm itself%s\n", slot,
           pending ? "; it stays PENDING_VERIFY and the next boot rolls back"
                   : "; it is not pending, so there is nothing to roll back to");
    return fota_cli_fail(PROG, dev->path, FOTA_ERR_BOOT_SELFTEST,
                         "%s (version %s) failed its "
                         "self-test",
                         slot, b->image.app_desc.version);
}

static void selftest_passed(const device_t *dev, const fota_boot_info_t *b, bool was_new)
{
    char slot[16];
    slot_name(b->slot, slot, sizeof slot);
    uint32_t state = booted_state(dev, b->slot);
    if (was_new && state == FOTA_OTA_IMG_VALID) {
        printf("self-test passed: %s confirmed, state VALID (no rollback from now on)\n", slot);
        return;
    }
    printf("self-test passed: %s keeps running, state %s%s\n", slot, fota_ota_state_name(state),
           state == FOTA_OTA_IMG_UNDEFINED ? " (no otadata entry: nothing to confirm)" : "");
}

static int cmd_run(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *file = NULL;
    int rc;
    if (!parse_file(cmd, NO_OPTS, argc, argv, &file, &rc)) {
        return rc;
    }
    device_t dev;
    rc = device_open(file, &dev);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    int new_slot;
    uint32_t state = FOTA_OTA_IMG_UNDEFINED;
    bool have = device_active_entry(&dev, &new_slot, &state);
    fota_boot_info_t b;
    fota_err_t err = fota_device_run_chip(&dev.flash, dev.chip_id, &b);
    if (err == FOTA_OK || err == FOTA_ERR_BOOT_SELFTEST) {
        print_booted(&b, false);
        print_boot_events(&b);
    }
    if (err == FOTA_OK) {
        selftest_passed(&dev, &b, have && state == FOTA_OTA_IMG_NEW && new_slot == b.slot);
    }
    rc = err == FOTA_OK                  ? FOTA_CLI_EXIT_OK
         : err == FOTA_ERR_BOOT_SELFTEST ? selftest_failed(&dev, &b)
                                         : boot_failed(&dev, err);
    return device_close(&dev, rc);
}

/* --- confirm --------------------------------------------------------------------------------- */

static int pending_running(const device_t *dev, fota_boot_info_t *running)
{
    fota_err_t err = device_running(dev, running);
    if (err != FOTA_OK) {
        return boot_failed(dev, err);
    }
    if (running->ota_state == FOTA_OTA_IMG_PENDING_VERIFY) {
        return FOTA_CLI_EXIT_OK;
    }
    char slot[16];
    slot_name(running->slot, slot, sizeof slot);
    return fota_cli_fail(PROG, dev->path, FOTA_ERR_BOOT_NOT_PENDING,
                         "nothing to confirm: the running image %s is %s", slot,
                         running->ota_state == FOTA_OTA_IMG_UNDEFINED
                             ? "not an update (no otadata entry)"
                             : fota_ota_state_name(running->ota_state));
}

static int cmd_confirm(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *file = NULL;
    int rc;
    if (!parse_file(cmd, NO_OPTS, argc, argv, &file, &rc)) {
        return rc;
    }
    device_t dev;
    rc = device_open(file, &dev);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    fota_boot_info_t running;
    rc = pending_running(&dev, &running);
    if (rc == FOTA_CLI_EXIT_OK) {
        fota_err_t err = fota_ota_mark_valid(&dev.flash, &running);
        char slot[16];
        slot_name(running.slot, slot, sizeof slot);
        rc = err != FOTA_OK ? fota_cli_fail(PROG, file, err, NULL) : FOTA_CLI_EXIT_OK;
        if (rc == FOTA_CLI_EXIT_OK) {
            printf("confirmed %s (%s): version %s, state VALID\n", slot, running.partition.label,
                   running.image.app_desc.version);
        }
    }
    return device_close(&dev, rc);
}

/* --- write-ota ------------------------------------------------------------------------------- */

/* The slot an OTA writes: the one after the running slot, as esp_ota_get_next_update_partition;
 * refused while the running image is unconfirmed, as esp_ota_begin does with rollback on. */
static int update_target(const device_t *dev, fota_partition_t *part, int *slot)
{
    fota_boot_info_t running;
    fota_err_t err = device_running(dev, &running);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, dev->path, err, "bricked: no running app to do an update");
    }
    char name[16];
    slot_name(running.slot, name, sizeof name);
    if (running.ota_state == FOTA_OTA_IMG_PENDING_VERIFY) {
        return fota_cli_fail(PROG, dev->path, FOTA_ERR_STATE,
                             "the running image %s is PENDING_VERIFY: confirm it first", name);
    }
    err = fota_ota_next_update_partition(&dev->flash, &running, part, slot);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, dev->path, err, "no slot to update from %s", name);
    }
    return FOTA_CLI_EXIT_OK;
}

/* --no-verify: only the size is checked; the verdict is shown, not enforced. */
static int load_unverified(const char *path, uint32_t max, uint8_t **image, size_t *len,
                           fota_esp_image_info_t *info)
{
    int rc = fota_cli_read_file(PROG, path, image, len);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    if (*len > max) {
        free(*image);
        return fota_cli_fail(PROG, path, FOTA_ERR_IMAGE_TOO_BIG,
                             "%zu bytes, more than the %u "
                             "of the slot",
                             *len, (unsigned)max);
    }
    fota_err_t err = fota_cli_image_check(*image, *len, max, info);
    if (err != FOTA_OK) {
        memset(info, 0, sizeof *info);
        snprintf(info->app_desc.version, sizeof info->app_desc.version, "(invalid)");
        info->image_len = (uint32_t)*len;
        fprintf(stderr, "%s: %s: warning: %s (%s), written anyway (--no-verify)\n", PROG, path,
                fota_err_text(err), fota_err_name(err));
    }
    return FOTA_CLI_EXIT_OK;
}

static void print_written(const device_t *dev, const char *image_path, const fota_partition_t *p,
                          int slot, const fota_esp_image_info_t *info)
{
    char name[16];
    slot_name(slot, name, sizeof name);
    printf("wrote %s to %s (%s at 0x%06x): version %s, %u bytes\n", image_path, name, p->label,
           (unsigned)p->offset, info->app_desc.version, (unsigned)info->image_len);
    fota_ota_entry_t e[2];
    int a = fota_otadata_read(&dev->flash, dev->otadata->offset, e) == FOTA_OK
                ? fota_otadata_active(e)
                : -1;
    if (a >= 0) {
        printf("next boot: %s (otadata copy %d, seq %u, state %s); it must confirm itself after "
               "booting or it is rolled back\n",
               name, a, (unsigned)e[a].ota_seq, fota_ota_state_name(e[a].ota_state));
    }
}

static int write_ota(const device_t *dev, const char *image_path, bool no_verify)
{
    if (dev->otadata == NULL) {
        return fota_cli_fail(PROG, dev->path, FOTA_ERR_OTADATA_PART,
                             "the partition table has no otadata partition");
    }
    fota_partition_t part;
    int slot;
    int rc = update_target(dev, &part, &slot);
    uint8_t *image = NULL;
    size_t len = 0;
    fota_esp_image_info_t info;
    if (rc == FOTA_CLI_EXIT_OK) {
        rc = no_verify ? load_unverified(image_path, part.size, &image, &len, &info)
                       : fota_cli_load_image(PROG, image_path, part.size, &image, &len, &info);
    }
    if (rc == FOTA_CLI_EXIT_OK && !no_verify) {
        rc = device_image_chip(image_path, dev->chip_id, &info);
    }
    rc = rc != FOTA_CLI_EXIT_OK ? rc : device_write_image(dev, &part, image, len);
    free(image);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    fota_err_t err = fota_ota_set_boot_slot(&dev->flash, (unsigned)slot);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, dev->path, err, "cannot set the boot slot: %s",
                             fota_err_text(err));
    }
    print_written(dev, image_path, &part, slot, &info);
    return FOTA_CLI_EXIT_OK;
}

static int cmd_write_ota(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *file = NULL, *image = NULL;
    bool no_verify = false;
    const fota_cli_opt_t opts[] = {
        {"image", 0, &image, NULL}, {"no-verify", 0, NULL, &no_verify}, {NULL, 0, NULL, NULL}};
    int rc;
    if (!parse_file(cmd, opts, argc, argv, &file, &rc)) {
        return rc;
    }
    if (image == NULL) {
        return fota_cli_usage_error(PROG, cmd, "missing --image IMG");
    }
    device_t dev;
    rc = device_open(file, &dev);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    return device_close(&dev, write_ota(&dev, image, no_verify));
}

/* --- main ------------------------------------------------------------------------------------ */

static const fota_cli_cmd_t COMMANDS[] = {
    {"create", "make a device flash file of a chip with an image in ota_0", CREATE_USAGE,
     cmd_create},
    {"show", "partition table, otadata, next boot and why, app partitions", SHOW_USAGE, cmd_show},
    {"boot", "run the emulated bootloader (rollback, fall back)", BOOT_USAGE, cmd_boot},
    {"confirm", "mark the running image valid, as the app does", CONFIRM_USAGE, cmd_confirm},
    {"run", "boot, run the app's self-test, confirm when it passes", RUN_USAGE, cmd_run},
    {"write-ota", "write an image into the next slot and set it to boot", WRITE_OTA_USAGE,
     cmd_write_ota},
};

int main(int argc, char **argv)
{
    const fota_cli_tool_t tool = {PROG,
                                  "Drive an emulated ESP32: flash file, partitions, "
                                  "otadata, bootloader with rollback.",
                                  COMMANDS, sizeof COMMANDS / sizeof COMMANDS[0]};
    return fota_cli_dispatch(&tool, argc, argv);
}
