/*
 * device.c - fota-flash's access to one emulated ESP32: open the flash file and its partition
 * table, load a table from CSV (errors name the CSV line), look at the image in a partition,
 * work out which slot runs now, and predict the next boot on an in-memory copy of the flash.
 *
 * The flash file holds no "running" register: between two commands the device is off, and the
 * image that ran last is the one otadata points at (device_running() explains the rule). The
 * device's chip is the one its bootloader image names (fota_device_chip; an ESP32 without one):
 * images are judged, and the bootloader runs, for that chip.
 */
#include "device.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fota/host/cli.h"
#include "fota/emu/image_build.h"

#define NO_SLOT INT_MIN

/* --- open and close -------------------------------------------------------------------------- */

static int read_table(device_t *dev)
{
    fota_err_t err = fota_part_table_read(&dev->flash, &dev->table);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, dev->path, err, "no valid partition table at 0x%x: %s",
                             FOTA_PART_TABLE_OFFSET, fota_err_text(err));
    }
    char msg[256] = "";
    err = fota_part_table_validate(&dev->table, fota_flash_emu_size(dev->emu), msg, sizeof msg);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, dev->path, err, "partition table: %s",
                             msg[0] != 0 ? msg : fota_err_text(err));
    }
    dev->otadata = fota_part_find(&dev->table, FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_OTA);
    return FOTA_CLI_EXIT_OK;
}

int device_open(const char *path, device_t *dev)
{
    memset(dev, 0, sizeof *dev);
    dev->path = path;
    struct stat st;
    if (stat(path, &st) != 0) {
        return fota_cli_fail(PROG, path, FOTA_ERR_IO, "cannot open: %s", strerror(errno));
    }
    fota_err_t err = fota_flash_emu_open(path, 0, FOTA_FLASH_EMU_STRICT, &dev->emu);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, path, err, "not a flash file: %s", fota_err_text(err));
    }
    dev->flash = fota_flash_emu_port(dev->emu);
    int rc = read_table(dev);
    if (rc == FOTA_CLI_EXIT_OK) {
        err = fota_device_chip(&dev->flash, &dev->chip_id, &dev->has_bootloader);
        rc = err == FOTA_OK ? rc : fota_cli_fail(PROG, path, err, "cannot read the bootloader");
    }
    if (rc != FOTA_CLI_EXIT_OK) {
        fota_flash_emu_close(dev->emu);
        dev->emu = NULL;
    }
    return rc;
}

int device_close(device_t *dev, int rc)
{
    if (dev->emu == NULL) {
        return rc;
    }
    fota_err_t err = fota_flash_emu_sync(dev->emu);
    fota_flash_emu_close(dev->emu);
    dev->emu = NULL;
    if (err != FOTA_OK && rc == FOTA_CLI_EXIT_OK) {
        return fota_cli_fail(PROG, dev->path, err, "cannot save the flash file");
    }
    return rc;
}

/* --- partition table from CSV ---------------------------------------------------------------- */

/* The 1-based line of the index-th partition in the CSV text (blank and '#' lines skip), or 0. */
static int csv_line_of(const char *text, size_t index)
{
    int line = 1;
    size_t entry = 0;
    for (const char *p = text; p != NULL && *p != 0; line++) {
        const char *s = p + strspn(p, " \t\r");
        if (*s != '\n' && *s != 0 && *s != '#' && entry++ == index) {
            return line;
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return 0;
}

/* The first partition that makes the table fail with err, checking growing prefixes: the
 * partition that overlaps an earlier one, repeats a label, breaks alignment... SIZE_MAX if the
 * failure needs the whole table. */
static size_t first_bad_entry(const fota_part_table_t *t, uint32_t flash_size, fota_err_t err)
{
    fota_part_table_t prefix = *t;
    for (size_t n = 1; n <= t->count; n++) {
        prefix.count = n;
        if (fota_part_table_validate(&prefix, flash_size, NULL, 0) == err) {
            return n - 1;
        }
    }
    return SIZE_MAX;
}

static int validate_table(const char *subject, const char *csv, const fota_part_table_t *t,
                          uint32_t flash_size)
{
    char msg[256] = "";
    fota_err_t err = fota_part_table_validate(t, flash_size, msg, sizeof msg);
    if (err == FOTA_OK) {
        return FOTA_CLI_EXIT_OK;
    }
    if (msg[0] == 0) {
        snprintf(msg, sizeof msg, "%s", fota_err_text(err));
    }
    size_t bad = csv != NULL ? first_bad_entry(t, flash_size, err) : SIZE_MAX;
    int line = bad != SIZE_MAX ? csv_line_of(csv, bad) : 0;
    if (line > 0) {
        return fota_cli_fail(PROG, subject, err, "line %d: %s", line, msg);
    }
    return fota_cli_fail(PROG, subject, err, "%s", msg);
}

static int parse_csv_file(const char *path, fota_part_table_t *out, char **text_out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = fota_cli_read_file(PROG, path, &buf, &len);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    int line = 0;
    char msg[256] = "";
    fota_err_t err = fota_part_table_from_csv((const char *)buf, out, &line, msg, sizeof msg);
    if (err != FOTA_OK) {
        free(buf);
        const char *why = msg[0] != 0 ? msg : fota_err_text(err);
        bool has_line = line <= 0 || strncmp(why, "line ", 5) == 0; /* the reason may say it */
        return has_line ? fota_cli_fail(PROG, path, err, "%s", why)
                        : fota_cli_fail(PROG, path, err, "line %d: %s", line, why);
    }
    *text_out = (char *)buf;
    return FOTA_CLI_EXIT_OK;
}

int device_load_table(const char *csv_path, uint32_t flash_size, fota_part_table_t *out)
{
    char *text = NULL;
    if (csv_path == NULL) {
        fota_part_table_default(out);
    } else {
        int rc = parse_csv_file(csv_path, out, &text);
        if (rc != FOTA_CLI_EXIT_OK) {
            return rc;
        }
    }
    int rc = validate_table(csv_path != NULL ? csv_path : "default partition table", text, out,
                            flash_size);
    free(text);
    return rc;
}

/* --- slots and images ------------------------------------------------------------------------ */

int device_read_otadata(const device_t *dev, fota_ota_entry_t e[2])
{
    if (dev->otadata == NULL) {
        return fota_cli_fail(PROG, dev->path, FOTA_ERR_OTADATA_PART,
                             "the partition table has no otadata partition");
    }
    fota_err_t err = fota_otadata_read(&dev->flash, dev->otadata->offset, e);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, dev->path, err, "cannot read otadata: %s", fota_err_text(err));
    }
    return FOTA_CLI_EXIT_OK;
}

const fota_partition_t *device_slot_partition(const device_t *dev, int slot)
{
    if (slot == FOTA_BOOT_SLOT_FACTORY) {
        return fota_part_find(&dev->table, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_FACTORY);
    }
    if (slot == FOTA_BOOT_SLOT_TEST) {
        return fota_part_find(&dev->table, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_TEST);
    }
    if (slot < 0 || slot >= 16) {
        return NULL;
    }
    return fota_part_find(&dev->table, FOTA_PART_TYPE_APP,
                          (uint8_t)(FOTA_PART_SUBTYPE_OTA_0 + (unsigned)slot));
}

int device_partition_slot(const fota_partition_t *p)
{
    if (p->subtype == FOTA_PART_SUBTYPE_FACTORY) {
        return FOTA_BOOT_SLOT_FACTORY;
    }
    if (p->subtype == FOTA_PART_SUBTYPE_TEST) {
        return FOTA_BOOT_SLOT_TEST;
    }
    return (int)p->subtype - (int)FOTA_PART_SUBTYPE_OTA_0;
}

const char *slot_name(int slot, char *buf, size_t len)
{
    if (slot == FOTA_BOOT_SLOT_FACTORY) {
        snprintf(buf, len, "factory");
    } else if (slot == FOTA_BOOT_SLOT_TEST) {
        snprintf(buf, len, "test");
    } else {
        snprintf(buf, len, "ota_%d", slot);
    }
    return buf;
}

/* Reads the image inside one partition; offsets are relative to the partition. */
typedef struct {
    const fota_flash_t *flash;
    uint32_t base;
    uint32_t size;
} part_reader_t;

static fota_err_t part_read(void *ctx, uint32_t offset, void *buf, size_t len)
{
    const part_reader_t *r = ctx;
    if (offset > r->size || len > r->size - offset) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    return fota_flash_read(r->flash, r->base + offset, buf, len);
}

static bool all_erased(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

slot_image_t device_slot_image(const device_t *dev, const fota_partition_t *p,
                               fota_esp_image_info_t *info, fota_err_t *err_out)
{
    part_reader_t r = {&dev->flash, p->offset, p->size};
    uint8_t head[FOTA_ESP_IMAGE_HEADER_LEN];
    fota_err_t err = part_read(&r, 0, head, sizeof head);
    if (err == FOTA_OK && all_erased(head, sizeof head)) {
        *err_out = FOTA_OK;
        return SLOT_IMAGE_EMPTY;
    }
    if (err == FOTA_OK) {
        err = fota_boot_check_image(&dev->flash, p, dev->chip_id, info);
    }
    *err_out = err;
    return err == FOTA_OK ? SLOT_IMAGE_VALID : SLOT_IMAGE_INVALID;
}

int device_image_chip(const char *image_path, uint16_t chip_id, const fota_esp_image_info_t *info)
{
    char image[FOTA_CLI_CHIP_TEXT], device[FOTA_CLI_CHIP_TEXT];
    if (info->header.chip_id == chip_id) {
        return FOTA_CLI_EXIT_OK;
    }
    return fota_cli_fail(PROG, image_path, FOTA_ERR_IMAGE_CHIP,
                         "the image is built for %s, the device is an %s",
                         fota_cli_chip_text(info->header.chip_id, image, sizeof image),
                         fota_cli_chip_text(chip_id, device, sizeof device));
}

uint32_t device_slot_emu_flags(const device_t *dev, const fota_partition_t *p)
{
    part_reader_t r = {&dev->flash, p->offset, p->size};
    uint32_t flags = 0;
    return fota_image_emu_flags(part_read, &r, &flags) == FOTA_OK ? flags : 0;
}

/* --- running slot and next boot -------------------------------------------------------------- */

static bool read_entries(const device_t *dev, fota_ota_entry_t e[2], unsigned *ota_count)
{
    *ota_count = fota_part_ota_count(&dev->table);
    return dev->otadata != NULL && *ota_count > 0 &&
           fota_otadata_read(&dev->flash, dev->otadata->offset, e) == FOTA_OK;
}

bool device_active_entry(const device_t *dev, int *slot, uint32_t *state)
{
    fota_ota_entry_t e[2];
    unsigned count;
    int a = read_entries(dev, e, &count) ? fota_otadata_active(e) : -1;
    if (a < 0) {
        return false;
    }
    *slot = (int)fota_otadata_slot(&e[a], count);
    *state = e[a].ota_state;
    return true;
}

/* The slot otadata says ran last (see device_running), NO_SLOT if it says nothing. */
static int otadata_running_slot(const device_t *dev, uint32_t *state)
{
    fota_ota_entry_t e[2];
    unsigned count;
    int a = read_entries(dev, e, &count) ? fota_otadata_active(e) : -1;
    if (a >= 0 && e[a].ota_state == FOTA_OTA_IMG_NEW) {
        a = fota_ota_entry_usable(&e[1 - a]) ? 1 - a : -1;
    }
    if (a < 0) {
        return NO_SLOT;
    }
    *state = e[a].ota_state;
    return (int)fota_otadata_slot(&e[a], count);
}

/* factory, then ota_0, ota_1...: the first partition holding a valid image. */
static const fota_partition_t *first_valid_app(const device_t *dev, fota_esp_image_info_t *info)
{
    for (int slot = FOTA_BOOT_SLOT_FACTORY; slot < 16; slot++) {
        const fota_partition_t *p = device_slot_partition(dev, slot);
        fota_err_t err;
        if (p != NULL && device_slot_image(dev, p, info, &err) == SLOT_IMAGE_VALID) {
            return p;
        }
    }
    return NULL;
}

fota_err_t device_running(const device_t *dev, fota_boot_info_t *running)
{
    memset(running, 0, sizeof *running);
    running->ota_state = FOTA_OTA_IMG_UNDEFINED;
    running->aborted_slot = -1;
    int slot = otadata_running_slot(dev, &running->ota_state);
    const fota_partition_t *p = device_slot_partition(dev, slot);
    fota_err_t err = FOTA_OK;
    if (p == NULL || device_slot_image(dev, p, &running->image, &err) != SLOT_IMAGE_VALID) {
        running->ota_state = FOTA_OTA_IMG_UNDEFINED;
        p = first_valid_app(dev, &running->image);
        if (p == NULL) {
            return FOTA_ERR_BOOT_NO_APP;
        }
        slot = device_partition_slot(p);
    }
    running->slot = slot;
    running->selected_slot = slot;
    running->partition = *p;
    return FOTA_OK;
}

fota_err_t device_predict_boot(const device_t *dev, fota_boot_info_t *out)
{
    uint32_t size = fota_flash_emu_size(dev->emu);
    uint8_t *buf = malloc(size);
    if (buf == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    fota_flash_emu_t *copy = NULL;
    fota_err_t err = fota_flash_emu_read(dev->emu, 0, buf, size);
    if (err == FOTA_OK) {
        err = fota_flash_emu_open(NULL, size, 0, &copy);
    }
    if (err == FOTA_OK) {
        err = fota_flash_emu_write(copy, 0, buf, size);
    }
    free(buf);
    if (err == FOTA_OK) {
        fota_flash_t flash = fota_flash_emu_port(copy);
        err = fota_bootloader_run_chip(&flash, dev->chip_id, out);
    }
    if (copy != NULL) {
        fota_flash_emu_close(copy);
    }
    return err;
}

int device_write_image(const device_t *dev, const fota_partition_t *p, const uint8_t *image,
                       size_t len)
{
    /* As esp_ota_begin(image_size): erase the sectors the image needs, then write it. */
    uint32_t erase_len = (uint32_t)((len + FOTA_FLASH_SECTOR_SIZE - 1) / FOTA_FLASH_SECTOR_SIZE *
                                    FOTA_FLASH_SECTOR_SIZE);
    fota_err_t err = fota_flash_erase(&dev->flash, p->offset, erase_len);
    if (err == FOTA_OK) {
        err = fota_flash_write(&dev->flash, p->offset, image, len);
    }
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, dev->path, err, "cannot write %s: %s", p->label,
                             fota_flash_emu_last_error(dev->emu));
    }
    return FOTA_CLI_EXIT_OK;
}
