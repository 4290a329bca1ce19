/*
 * fuzz_otadata.c - libFuzzer target: ESP-IDF otadata entries as read from flash (emu/
 * otadata.c: fota_otadata_read and the decoding, selection and next-entry arithmetic) and what
 * the emulated bootloader and the esp_ota_ops equivalents (bootloader.c) do with them, on an
 * in-memory device flash holding valid images in ota_0 and ota_1 (flash_undo.h; put back after
 * every input).
 *
 * Input: bytes 0-31 copy 0 (at otadata + 0), 32-63 copy 1 (at + 0x1000), missing bytes 0xFF;
 * byte 64 flags: bit 0/1 put the right CRC into copy 0/1 (a CRC over the seq: the fuzzer could
 * find it, this makes it cheap), bits 2-5 an OTA slot count 1..16 for the arithmetic checks;
 * then up to 16 operation bytes (low 3 bits the operation, the rest its argument):
 *   0 boot   1 confirm the running image   2 mark it invalid (roll back)
 *   3 set-boot to slot (bit 3) and boot       4 boot + self-test + confirm (fota_device_run)
 *   5 set-boot under a power cut at flash operation (bits 4-6), torn if bit 3, then boot
 *   6 boot under a power cut (the bootloader's own otadata writes), then boot again
 *   7 the read-only helpers (read, active entry, next update partition)
 *
 * Properties (abort on violation): with two valid images on the flash no otadata content and no
 * power cut makes the device unbootable; after a successful set-boot the next boot runs that
 * slot; a new entry made for slot s selects slot s (seq 0 aside: ESP-IDF's arithmetic wraps
 * there too), goes to the copy that is not active and is not older than the active one.
 *
 * Seeds: the otadata copies of device flashes made by fota-flash (create, write-ota, boot, run,
 * confirm), cut out with dd by run.sh; --make-seed DIR adds entries made by fota_ota_entry_make.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/emu/bootloader.h"
#include "fota/emu/otadata.h"

#include "flash_undo.h"
#include "rig.h"

#define OTADATA 0xE000u
#define ENTRIES_LEN (2u * FOTA_OTADATA_ENTRY_LEN)
#define MAX_OPS 16u

static flash_undo_t g_flash;

typedef struct {
    fota_flash_t flash;
    fota_boot_info_t running;
    bool have_running;
} rigdev_t;

/* ---- seeds ----------------------------------------------------------------------------------- */

static void seed_entries(const char *dir, const char *name, uint32_t seq0, uint32_t st0,
                         uint32_t seq1, uint32_t st1, const char *ops)
{
    fota_ota_entry_t e[2];
    uint8_t buf[ENTRIES_LEN + 1 + MAX_OPS];
    fota_ota_entry_make(&e[0], seq0, st0);
    fota_ota_entry_make(&e[1], seq1, st1);
    fota_ota_entry_encode(&e[0], buf);
    fota_ota_entry_encode(&e[1], buf + FOTA_OTADATA_ENTRY_LEN);
    buf[ENTRIES_LEN] = 1u << 2; /* two slots (1 + 1), raw CRCs */
    size_t n = strlen(ops);
    memcpy(buf + ENTRIES_LEN + 1, ops, n);
    rig_write_seed(dir, name, buf, ENTRIES_LEN + 1 + n);
}

static void make_seeds(const char *dir)
{
    seed_entries(dir, "valid-new", 1, FOTA_OTA_IMG_VALID, 2, FOTA_OTA_IMG_NEW, "\x00\x01");
    seed_entries(dir, "pending-rollback", 3, FOTA_OTA_IMG_PENDING_VERIFY, 2, FOTA_OTA_IMG_VALID,
                 "\x00\x00\x03\x0b\x04");
    seed_entries(dir, "aborted-invalid", 5, FOTA_OTA_IMG_ABORTED, 4, FOTA_OTA_IMG_INVALID,
                 "\x00\x07\x02");
    seed_entries(dir, "high-seq", 0xFFFFFFFEu, FOTA_OTA_IMG_VALID, 0, FOTA_OTA_IMG_VALID,
                 "\x03\x0b\x07");
    seed_entries(dir, "cuts", 1, FOTA_OTA_IMG_VALID, 0xFFFFFFFFu, FOTA_OTA_IMG_UNDEFINED,
                 "\x0d\x1d\x2d\x3d\x16\x26\x36");
}

/* ---- the arithmetic ------------------------------------------------------------------------- */

static void check_next_entries(const fota_ota_entry_t e[2], unsigned count)
{
    int active = fota_otadata_active(e);
    for (unsigned slot = 0; slot < count; slot++) {
        fota_ota_entry_t next;
        int index = -1;
        if (fota_otadata_next_for_slot(e, slot, count, &next, &index) != FOTA_OK) {
            continue;
        }
        rig_require(fota_ota_entry_usable(&next) && next.ota_state == FOTA_OTA_IMG_NEW,
                "a new entry is usable and NEW");
        rig_require(next.ota_seq == 0 || fota_otadata_slot(&next, count) == slot,
                "a new entry selects its slot");
        rig_require(active < 0 ? index == 0 : index == 1 - active,
                "a new entry goes to the other copy");
        rig_require(active < 0 || next.ota_seq >= e[active].ota_seq, "a new entry is not older");
    }
}

static void read_helpers(rigdev_t *d)
{
    fota_ota_entry_t e[2];
    if (fota_otadata_read(&d->flash, OTADATA, e) != FOTA_OK) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        (void)fota_ota_state_name(e[i].ota_state);
        (void)fota_otadata_slot(&e[i], 2);
    }
    check_next_entries(e, 2);
    if (d->have_running) {
        fota_partition_t p;
        int slot;
        (void)fota_ota_next_update_partition(&d->flash, &d->running, &p, &slot);
    }
}

/* ---- operations ------------------------------------------------------------------------------ */

static void boot(rigdev_t *d)
{
    fota_boot_info_t info;
    fota_err_t err = fota_bootloader_run(&d->flash, &info);
    rig_require(err != FOTA_ERR_BOOT_NO_APP, "a device with two valid images always boots");
    rig_require(err == FOTA_OK, "booting an intact flash works");
    d->running = info;
    d->have_running = true;
}

static void set_boot(rigdev_t *d, unsigned slot)
{
    if (fota_ota_set_boot_slot(&d->flash, slot) != FOTA_OK) {
        return;
    }
    boot(d);
    rig_require(d->running.slot == (int)slot, "the next boot runs the slot set to boot");
}

/* Cut the power at flash operation k of what `what` does, then power on and boot. */
static void under_cut(rigdev_t *d, uint8_t arg, bool set)
{
    fota_cut_mode_t mode = (arg & 0x08u) != 0 ? FOTA_CUT_TORN : FOTA_CUT_BEFORE;
    fota_flash_emu_plan_cut(g_flash.emu, (arg >> 4) & 7u, mode, arg);
    fota_boot_info_t info;
    if (set) {
        (void)fota_ota_set_boot_slot(&d->flash, (arg >> 7) & 1u);
    } else {
        (void)fota_bootloader_run(&d->flash, &info);
    }
    fota_flash_emu_cancel_cut(g_flash.emu);
    fota_flash_emu_power_on(g_flash.emu);
    boot(d);
}

static void run_op(rigdev_t *d, uint8_t op)
{
    fota_boot_info_t info;
    switch (op & 7u) {
    case 0:
        boot(d);
        break;
    case 1:
        (void)(d->have_running && fota_ota_mark_valid(&d->flash, &d->running) == FOTA_OK);
        break;
    case 2:
        (void)(d->have_running && fota_ota_mark_invalid(&d->flash, &d->running) == FOTA_OK);
        break;
    case 3:
        set_boot(d, (op >> 3) & 1u);
        break;
    case 4:
        rig_require(fota_device_run(&d->flash, &info) != FOTA_ERR_BOOT_NO_APP, "device run boots");
        break;
    case 5:
    case 6:
        under_cut(d, op, (op & 7u) == 5);
        break;
    default:
        read_helpers(d);
        break;
    }
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    flash_undo_open(&g_flash, FOTA_FLASH_EMU_DEFAULT_SIZE);
    flash_undo_provision(&g_flash);
    return 0;
}

static void put_entries(const uint8_t *data, size_t size, uint8_t flags)
{
    uint8_t e[ENTRIES_LEN];
    memset(e, 0xFF, sizeof e);
    memcpy(e, data, size < sizeof e ? size : sizeof e);
    for (int i = 0; i < 2; i++) {
        uint8_t *p = e + i * FOTA_OTADATA_ENTRY_LEN;
        if ((flags & (1u << i)) != 0) {
            fota_ota_entry_t entry;
            fota_ota_entry_decode(p, &entry);
            entry.crc = fota_otadata_crc(entry.ota_seq);
            fota_ota_entry_encode(&entry, p);
        }
        flash_undo_put(&g_flash, OTADATA + (uint32_t)i * FOTA_OTADATA_COPY_OFFSET, p,
                       FOTA_OTADATA_ENTRY_LEN);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t flags = size > ENTRIES_LEN ? data[ENTRIES_LEN] : 0;
    flash_undo_rollback(&g_flash);
    put_entries(data, size, flags);
    rigdev_t d;
    memset(&d, 0, sizeof d);
    d.flash = flash_undo_port(&g_flash);
    fota_ota_entry_t e[2];
    if (fota_otadata_read(&d.flash, OTADATA, e) == FOTA_OK) {
        check_next_entries(e, 1u + ((flags >> 2) & 15u));
    }
    size_t first_op = ENTRIES_LEN + 1;
    for (size_t i = first_op; i < size && i < first_op + MAX_OPS; i++) {
        run_op(&d, data[i]);
    }
    return 0;
}
