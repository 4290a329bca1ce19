/*
 * bootloader.c - the emulated ESP32 second-stage bootloader with app rollback, and the
 * application-side OTA calls (esp_ota_ops) that drive it (bootloader.h has the contract).
 *
 * It follows ESP-IDF's bootloader_utility.c (bootloader_utility_get_selected_boot_partition,
 * bootloader_utility_load_boot_image, set_actual_ota_seq) built with
 * CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, and esp_ota_ops.c (esp_ota_set_boot_partition,
 * esp_ota_mark_app_valid_cancel_rollback, esp_ota_mark_app_invalid_rollback_and_reboot,
 * esp_ota_get_next_update_partition), step by step, so that a device emulated here boots the
 * slot a real one would and leaves the same otadata behind. docs/BOOT.md walks through the rules.
 *
 * A power cut (FOTA_ERR_FLASH_POWER_CUT) or an I/O failure of the flash file stops a boot at
 * once and is returned: the device is off, not looking at the next partition.
 *
 * A bootloader is built for one chip: an image whose header names another chip is invalid to it
 * (bootloader_common_check_chip_validity, called as the header is verified, before the segments),
 * here FOTA_ERR_IMAGE_CHIP, and the bootloader goes on to the next partition as for any invalid
 * image. The chip revision fields are not checked: the emulated chip has no revision.
 */
#include "fota/emu/bootloader.h"

#include <string.h>

#include "fota/emu/image_build.h"
#include "fota/emu/otadata.h"

#define OTA_SLOTS_MAX 16 /* ota_0 .. ota_15 */
#define INDEX_FACTORY FOTA_BOOT_SLOT_FACTORY
#define INDEX_TEST FOTA_BOOT_SLOT_TEST

/* What the bootloader knows after reading the partition table (ESP-IDF's bootloader_state_t)
 * and otadata. */
typedef struct {
    const fota_flash_t *flash;
    uint16_t chip_id; /* the chip this bootloader runs on */
    fota_part_table_t table;
    const fota_partition_t *otadata;
    const fota_partition_t *factory;
    const fota_partition_t *test;
    const fota_partition_t *ota[OTA_SLOTS_MAX];
    unsigned ota_count;
    fota_ota_entry_t e[2];
    bool initial_contents; /* otadata never written and no factory: ota_0 boots, then seq 1 */
} boot_ctx_t;

/* An app partition read as an image: offsets from its start, never past its end. */
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

/* Failures that mean the device stopped, not that an image is bad. */
static bool is_fatal(fota_err_t err)
{
    return err == FOTA_ERR_FLASH_POWER_CUT || err == FOTA_ERR_IO || err == FOTA_ERR_FLASH_FILE ||
           err == FOTA_ERR_NO_MEM;
}

/* --- layout ---------------------------------------------------------------------------------- */

static void index_apps(boot_ctx_t *c)
{
    c->otadata = fota_part_find(&c->table, FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_OTA);
    c->factory = fota_part_find(&c->table, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_FACTORY);
    c->test = fota_part_find(&c->table, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_TEST);
    for (unsigned n = 0; n < OTA_SLOTS_MAX; n++) {
        c->ota[n] =
            fota_part_find(&c->table, FOTA_PART_TYPE_APP, (uint8_t)(FOTA_PART_SUBTYPE_OTA_0 + n));
    }
    c->ota_count = fota_part_ota_count(&c->table);
}

/* Read the partition table; with need_otadata, also otadata, which must then exist and hold two
 * sectors (ESP-IDF's read_otadata refuses a smaller one). */
static fota_err_t load(boot_ctx_t *c, const fota_flash_t *flash, bool need_otadata)
{
    if (flash == NULL) {
        return FOTA_ERR_ARG;
    }
    memset(c, 0, sizeof *c);
    c->flash = flash;
    fota_err_t err = fota_part_table_read(flash, &c->table);
    if (err != FOTA_OK) {
        return err;
    }
    index_apps(c);
    if (c->otadata == NULL) {
        return need_otadata ? FOTA_ERR_OTADATA_PART : FOTA_OK;
    }
    if (c->otadata->size < FOTA_OTADATA_SIZE) {
        return FOTA_ERR_OTADATA_PART;
    }
    return fota_otadata_read(flash, c->otadata->offset, c->e);
}

/* ESP-IDF's index_to_partition: ota_N only below the number of OTA partitions. */
static const fota_partition_t *index_partition(const boot_ctx_t *c, int index)
{
    if (index == INDEX_FACTORY) {
        return c->factory;
    }
    if (index == INDEX_TEST) {
        return c->test;
    }
    if (index >= 0 && index < OTA_SLOTS_MAX && (unsigned)index < c->ota_count) {
        return c->ota[index];
    }
    return NULL;
}

static fota_err_t write_entry(boot_ctx_t *c, int i)
{
    return fota_otadata_write(c->flash, c->otadata->offset, i, &c->e[i]);
}

static int entry_slot(const boot_ctx_t *c, int i)
{
    return (int)fota_otadata_slot(&c->e[i], c->ota_count);
}

fota_err_t fota_boot_check_image(const fota_flash_t *flash, const fota_partition_t *p,
                                 uint16_t chip_id, fota_esp_image_info_t *info)
{
    fota_esp_image_info_t local;
    fota_esp_image_info_t *i = info != NULL ? info : &local;
    if (flash == NULL || p == NULL) {
        return FOTA_ERR_ARG;
    }
    part_reader_t r = {flash, p->offset, p->size};
    fota_err_t err = fota_esp_image_check(part_read, &r, p->size, i);
    if (is_fatal(err)) {
        return err;
    }
    /* fota_esp_image_check fills the header once it has read one with the right magic. */
    if (i->header.magic == FOTA_ESP_IMAGE_MAGIC && i->header.chip_id != chip_id) {
        return FOTA_ERR_IMAGE_CHIP;
    }
    return err;
}

static fota_err_t check_image(const boot_ctx_t *c, const fota_partition_t *p,
                              fota_esp_image_info_t *info)
{
    return fota_boot_check_image(c->flash, p, c->chip_id, info);
}

/* --- selection ------------------------------------------------------------------------------- */

/* An entry with a seq and a right CRC: one that names a slot, whatever its state. */
static bool entry_names_slot(const fota_ota_entry_t *e)
{
    return e->ota_seq != UINT32_MAX && fota_ota_entry_crc_ok(e);
}

/* Rollback, first step: an image left PENDING_VERIFY booted before and never confirmed itself,
 * so its entry becomes ABORTED whatever the reset was (ESP-IDF does this for both copies, CRC or
 * not). The aborted slot reported is that of the newer such entry. */
static fota_err_t abort_pending(boot_ctx_t *c, fota_boot_info_t *out)
{
    uint32_t aborted_seq = 0;
    for (int i = 0; i < 2; i++) {
        if (c->e[i].ota_state != FOTA_OTA_IMG_PENDING_VERIFY) {
            continue;
        }
        if (entry_names_slot(&c->e[i]) && c->ota_count > 0 && c->e[i].ota_seq >= aborted_seq) {
            aborted_seq = c->e[i].ota_seq;
            out->aborted_slot = entry_slot(c, i);
        }
        c->e[i].ota_state = FOTA_OTA_IMG_ABORTED;
        fota_err_t err = write_entry(c, i);
        if (err != FOTA_OK) {
            return err;
        }
    }
    return FOTA_OK;
}

/* bootloader_common_ota_select_invalid: no CRC check here, as in ESP-IDF. */
static bool entry_unselectable(const fota_ota_entry_t *e)
{
    return e->ota_seq == UINT32_MAX || e->ota_state == FOTA_OTA_IMG_INVALID ||
           e->ota_state == FOTA_OTA_IMG_ABORTED;
}

/* Neither copy usable: factory if there is one, else ota_0; and if both copies are blank (or
 * torn), the boot that succeeds will write seq = index + 1 into copy 0 (set_actual_ota_seq). */
static int select_default(boot_ctx_t *c)
{
    if (c->factory != NULL) {
        return INDEX_FACTORY;
    }
    c->initial_contents = !entry_names_slot(&c->e[0]) && !entry_names_slot(&c->e[1]);
    return 0;
}

/* bootloader_utility_get_selected_boot_partition, after the abort step. */
static fota_err_t select_start(boot_ctx_t *c, int *start)
{
    if (entry_unselectable(&c->e[0]) && entry_unselectable(&c->e[1])) {
        *start = select_default(c);
        return FOTA_OK;
    }
    if (c->ota_count == 0) {
        *start = select_default(c);
        return FOTA_OK;
    }
    int a = fota_otadata_active(c->e);
    if (a < 0) {
        *start = INDEX_FACTORY; /* factory, or "try all partitions" from there */
        return FOTA_OK;
    }
    *start = entry_slot(c, a);
    if (c->e[a].ota_state != FOTA_OTA_IMG_NEW) {
        return FOTA_OK;
    }
    c->e[a].ota_state = FOTA_OTA_IMG_PENDING_VERIFY; /* armed: this boot is its one chance */
    return write_entry(c, a);
}

/* --- loading --------------------------------------------------------------------------------- */

static fota_err_t set_actual_ota_seq(boot_ctx_t *c, int index)
{
    if (index < 0 || !c->initial_contents) {
        return FOTA_OK;
    }
    fota_ota_entry_make(&c->e[0], (uint32_t)index + 1u, FOTA_OTA_IMG_VALID);
    return write_entry(c, 0);
}

/* The state otadata holds for a slot: that of the active entry if it names the slot, else of the
 * newest entry that does; UNDEFINED if none (factory, test, or no otadata). */
static uint32_t slot_state(const boot_ctx_t *c, int index)
{
    if (index < 0 || c->otadata == NULL || c->ota_count == 0) {
        return FOTA_OTA_IMG_UNDEFINED;
    }
    int a = fota_otadata_active(c->e);
    if (a >= 0 && entry_slot(c, a) == index) {
        return c->e[a].ota_state;
    }
    int best = -1;
    for (int i = 0; i < 2; i++) {
        if (entry_names_slot(&c->e[i]) && entry_slot(c, i) == index &&
            (best < 0 || c->e[i].ota_seq > c->e[best].ota_seq)) {
            best = i;
        }
    }
    return best < 0 ? FOTA_OTA_IMG_UNDEFINED : c->e[best].ota_state;
}

/* try_load_partition: *booted when the image in partition `index` is valid (and then `out` is
 * filled); an empty or missing partition is skipped without counting as rejected. */
static fota_err_t try_index(boot_ctx_t *c, int index, fota_boot_info_t *out, bool *booted)
{
    const fota_partition_t *p = index_partition(c, index);
    *booted = false;
    if (p == NULL || p->size == 0) {
        return FOTA_OK;
    }
    fota_err_t err = check_image(c, p, &out->image);
    if (is_fatal(err)) {
        return err;
    }
    if (err != FOTA_OK) {
        out->rejected_slots++;
        return FOTA_OK;
    }
    err = set_actual_ota_seq(c, index);
    if (err != FOTA_OK) {
        return err;
    }
    *booted = true;
    out->slot = index;
    out->partition = *p;
    out->fell_back = index != out->selected_slot;
    out->ota_state = slot_state(c, index);
    return FOTA_OK;
}

/* bootloader_utility_load_boot_image: from the selected index down to factory, then up through
 * the OTA slots above it, then the test app. */
static fota_err_t load_boot_image(boot_ctx_t *c, int start, fota_boot_info_t *out)
{
    bool booted = false;
    fota_err_t err = FOTA_OK;
    for (int i = start; err == FOTA_OK && !booted && i >= INDEX_FACTORY; i--) {
        err = try_index(c, i, out, &booted);
    }
    for (int i = start + 1; err == FOTA_OK && !booted && i < (int)c->ota_count; i++) {
        err = try_index(c, i, out, &booted);
    }
    if (err == FOTA_OK && !booted) {
        err = try_index(c, INDEX_TEST, out, &booted);
    }
    if (err != FOTA_OK) {
        return err;
    }
    return booted ? FOTA_OK : FOTA_ERR_BOOT_NO_APP;
}

static void info_init(fota_boot_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->slot = INDEX_FACTORY;
    out->selected_slot = INDEX_FACTORY;
    out->ota_state = FOTA_OTA_IMG_UNDEFINED;
    out->aborted_slot = -1;
}

fota_err_t fota_bootloader_run(const fota_flash_t *flash, fota_boot_info_t *out)
{
    return fota_bootloader_run_chip(flash, FOTA_ESP_CHIP_ID_ESP32, out);
}

fota_err_t fota_bootloader_run_chip(const fota_flash_t *flash, uint16_t chip_id,
                                    fota_boot_info_t *out)
{
    if (out == NULL) {
        return FOTA_ERR_ARG;
    }
    info_init(out);
    boot_ctx_t c;
    fota_err_t err = load(&c, flash, false);
    c.chip_id = chip_id;
    int start = INDEX_FACTORY;
    if (err == FOTA_OK && c.otadata != NULL) {
        err = abort_pending(&c, out);
        if (err == FOTA_OK) {
            err = select_start(&c, &start);
        }
    }
    if (err != FOTA_OK) {
        return err;
    }
    out->selected_slot = start;
    return load_boot_image(&c, start, out);
}

/* --- application side (esp_ota_ops) ---------------------------------------------------------- */

fota_err_t fota_ota_next_update_partition(const fota_flash_t *flash,
                                          const fota_boot_info_t *running, fota_partition_t *out,
                                          int *slot_out)
{
    if (running == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    boot_ctx_t c;
    fota_err_t err = load(&c, flash, false);
    if (err != FOTA_OK) {
        return err;
    }
    int first = -1, next = -1;
    bool after_running = false;
    for (int n = 0; n < OTA_SLOTS_MAX && next < 0; n++) {
        if (c.ota[n] == NULL) {
            continue;
        }
        first = first < 0 ? n : first;
        if (after_running) {
            next = n;
        }
        after_running = after_running || n == running->slot;
    }
    next = next >= 0 ? next : first;
    if (next < 0) {
        return FOTA_ERR_BOOT_NO_PART;
    }
    *out = *c.ota[next];
    if (slot_out != NULL) {
        *slot_out = next;
    }
    return FOTA_OK;
}

/* The image in ota_<slot> is not checked here (ESP-IDF's esp_ota_set_boot_partition verifies it
 * first): the agent verifies the whole image before it switches, and tests need to select a slot
 * that holds a bad image. */
fota_err_t fota_ota_set_boot_slot(const fota_flash_t *flash, unsigned slot)
{
    boot_ctx_t c;
    fota_err_t err = load(&c, flash, true);
    if (err != FOTA_OK) {
        return err;
    }
    if (slot >= c.ota_count || slot >= OTA_SLOTS_MAX) {
        return FOTA_ERR_OTADATA_SLOT;
    }
    if (c.ota[slot] == NULL) {
        return FOTA_ERR_BOOT_NO_PART;
    }
    fota_ota_entry_t entry;
    int index;
    err = fota_otadata_next_for_slot(c.e, slot, c.ota_count, &entry, &index);
    if (err != FOTA_OK) {
        return err;
    }
    return fota_otadata_write(flash, c.otadata->offset, index, &entry);
}

/* The active entry, if it is the running slot's: the only entry esp_ota_ops rewrites for the
 * running app. After a fall back the active entry names another slot, and ESP-IDF would mark
 * that slot's entry instead; we refuse (FOTA_ERR_BOOT_NOT_PENDING). */
static fota_err_t running_entry(boot_ctx_t *c, const fota_flash_t *flash,
                                const fota_boot_info_t *running, int *active)
{
    if (running == NULL) {
        return FOTA_ERR_ARG;
    }
    fota_err_t err = load(c, flash, true);
    if (err != FOTA_OK) {
        return err;
    }
    int a = fota_otadata_active(c->e);
    if (running->slot < 0 || a < 0 || c->ota_count == 0 || entry_slot(c, a) != running->slot) {
        return FOTA_ERR_BOOT_NOT_PENDING;
    }
    *active = a;
    return FOTA_OK;
}

fota_err_t fota_ota_mark_valid(const fota_flash_t *flash, const fota_boot_info_t *running)
{
    boot_ctx_t c;
    int a;
    fota_err_t err = running_entry(&c, flash, running, &a);
    if (err != FOTA_OK) {
        return err;
    }
    if (c.e[a].ota_state == FOTA_OTA_IMG_VALID) {
        return FOTA_OK;
    }
    c.e[a].ota_state = FOTA_OTA_IMG_VALID;
    return write_entry(&c, a);
}

/* esp_ota_check_rollback_is_possible: the other entry's slot holds a valid image or, if the
 * other entry is not usable, the factory app is valid. */
static fota_err_t rollback_possible(const boot_ctx_t *c, int active, bool *possible)
{
    int other = 1 - active;
    const fota_partition_t *p = c->factory;
    if (fota_ota_entry_usable(&c->e[other])) {
        p = index_partition(c, entry_slot(c, other));
    }
    *possible = false;
    if (p == NULL) {
        return FOTA_OK;
    }
    fota_err_t err = check_image(c, p, NULL);
    if (is_fatal(err)) {
        return err;
    }
    *possible = err == FOTA_OK;
    return FOTA_OK;
}

/* esp_ota_mark_app_invalid_rollback_and_reboot without the reboot: refused when nothing else
 * could boot (ESP_ERR_OTA_ROLLBACK_FAILED there, FOTA_ERR_BOOT_NO_APP here). */
fota_err_t fota_ota_mark_invalid(const fota_flash_t *flash, const fota_boot_info_t *running)
{
    boot_ctx_t c;
    int a;
    fota_err_t err = running_entry(&c, flash, running, &a);
    if (err != FOTA_OK) {
        return err;
    }
    bool possible;
    c.chip_id = running->image.header.chip_id; /* the running image passed this chip's check */
    err = rollback_possible(&c, a, &possible);
    if (err != FOTA_OK) {
        return err;
    }
    if (!possible) {
        return FOTA_ERR_BOOT_NO_APP;
    }
    c.e[a].ota_state = FOTA_OTA_IMG_INVALID;
    return write_entry(&c, a);
}

/* --- the emulated device --------------------------------------------------------------------- */

fota_err_t fota_device_run(const fota_flash_t *flash, fota_boot_info_t *out)
{
    return fota_device_run_chip(flash, FOTA_ESP_CHIP_ID_ESP32, out);
}

fota_err_t fota_device_run_chip(const fota_flash_t *flash, uint16_t chip_id, fota_boot_info_t *out)
{
    fota_err_t err = fota_bootloader_run_chip(flash, chip_id, out);
    if (err != FOTA_OK) {
        return err;
    }
    part_reader_t r = {flash, out->partition.offset, out->partition.size};
    uint32_t flags = 0;
    err = fota_image_emu_flags(part_read, &r, &flags);
    if (err != FOTA_OK) {
        return err;
    }
    if (flags & FOTA_EMU_FLAG_SELFTEST_FAIL) {
        return FOTA_ERR_BOOT_SELFTEST;
    }
    if (out->ota_state != FOTA_OTA_IMG_PENDING_VERIFY) {
        return FOTA_OK;
    }
    err = fota_ota_mark_valid(flash, out);
    if (err == FOTA_OK) {
        out->ota_state = FOTA_OTA_IMG_VALID;
    }
    return err;
}
