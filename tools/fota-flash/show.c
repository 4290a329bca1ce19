/*
 * show.c - `fota-flash show`: everything a firmware engineer asks about an emulated device
 * before and after an update: the chip, the partition table, both otadata entries, which slot
 * boots next and why (predicted by running the bootloader on a copy of the flash), and what each
 * app partition holds (an image of another chip is invalid there).
 */
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "fota/host/cli.h"
#include "fota/emu/chip.h"
#include "fota/emu/image_build.h"

/* "20K", "1280K", "4M", or bytes. */
static const char *human_size(uint32_t size, char *buf, size_t len)
{
    if (size != 0 && size % (1024u * 1024u) == 0) {
        snprintf(buf, len, "%uM", (unsigned)(size / (1024u * 1024u)));
    } else if (size != 0 && size % 1024u == 0) {
        snprintf(buf, len, "%uK", (unsigned)(size / 1024u));
    } else {
        snprintf(buf, len, "%u", (unsigned)size);
    }
    return buf;
}

static const char *flags_text(uint32_t flags, char *buf, size_t len)
{
    bool enc = flags & FOTA_PART_FLAG_ENCRYPTED, ro = flags & FOTA_PART_FLAG_READONLY;
    snprintf(buf, len, "%s%s%s", enc ? "encrypted" : "", enc && ro ? ":" : "",
             ro ? "readonly" : "");
    return buf[0] != 0 ? buf : "-";
}

static void print_table(const device_t *dev)
{
    printf("Partition table at 0x%x, %zu entries:\n", FOTA_PART_TABLE_OFFSET, dev->table.count);
    printf("  %-16s %-5s %-9s %-10s %-18s %s\n", "label", "type", "subtype", "offset", "size",
           "flags");
    for (size_t i = 0; i < dev->table.count; i++) {
        const fota_partition_t *p = &dev->table.entries[i];
        char sub[16], human[16], flags[32], size[32];
        snprintf(size, sizeof size, "0x%06x (%s)", (unsigned)p->size,
                 human_size(p->size, human, sizeof human));
        printf("  %-16s %-5s %-9s 0x%06x   %-18s %s\n", p->label, fota_part_type_name(p->type),
               fota_part_subtype_name(p->type, p->subtype, sub, sizeof sub), (unsigned)p->offset,
               size, flags_text(p->flags, flags, sizeof flags));
    }
}

static bool entry_erased(const fota_ota_entry_t *e)
{
    return e->ota_seq == 0xFFFFFFFFu && e->ota_state == FOTA_OTA_IMG_UNDEFINED &&
           e->crc == 0xFFFFFFFFu;
}

static void print_entry(const device_t *dev, const fota_ota_entry_t *e, int index, bool active)
{
    if (entry_erased(e)) {
        printf("  copy %d: erased\n", index);
        return;
    }
    char crc[64], slot[16];
    if (fota_ota_entry_crc_ok(e)) {
        snprintf(crc, sizeof crc, "crc ok");
    } else {
        snprintf(crc, sizeof crc, "crc BAD (stored 0x%08x, expected 0x%08x)", (unsigned)e->crc,
                 (unsigned)fota_otadata_crc(e->ota_seq));
    }
    unsigned count = fota_part_ota_count(&dev->table);
    const char *target = "not usable";
    if (fota_ota_entry_usable(e) && count > 0) {
        target = slot_name((int)fota_otadata_slot(e, count), slot, sizeof slot);
    }
    printf("  copy %d: seq %u, state %s, %s -> %s%s\n", index, (unsigned)e->ota_seq,
           fota_ota_state_name(e->ota_state), crc, target, active ? " (active)" : "");
}

/* Why otadata selects what it selects, before the image checks. */
static void explain_selection(const device_t *dev, const fota_ota_entry_t *e, char *out, size_t len)
{
    int a = e != NULL ? fota_otadata_active(e) : -1;
    if (a < 0) {
        snprintf(out, len, "%s: the bootloader takes factory, else ota_0",
                 e != NULL ? "otadata has no usable entry" : "no otadata");
        return;
    }
    char slot[16];
    slot_name((int)fota_otadata_slot(&e[a], fota_part_ota_count(&dev->table)), slot, sizeof slot);
    int n = snprintf(out, len, "otadata copy %d has the highest usable seq (%u) and selects %s", a,
                     (unsigned)e[a].ota_seq, slot);
    const char *tail = "";
    if (e[a].ota_state == FOTA_OTA_IMG_NEW) {
        tail = "; it is NEW: it boots as PENDING_VERIFY and must confirm itself";
    } else if (e[a].ota_state == FOTA_OTA_IMG_PENDING_VERIFY) {
        tail = "; it is PENDING_VERIFY: it booted and never confirmed, so the bootloader marks "
               "it ABORTED and rolls back";
    }
    if (n > 0 && (size_t)n < len) {
        snprintf(out + n, len - (size_t)n, "%s", tail);
    }
}

static void print_next_boot(const device_t *dev, const fota_ota_entry_t *e)
{
    char why[320], slot[16], selected[16];
    explain_selection(dev, e, why, sizeof why);
    fota_boot_info_t b;
    fota_err_t err = device_predict_boot(dev, &b);
    if (err != FOTA_OK) {
        printf("Next boot: none: %s (%s)\n  why: %s\n",
               err == FOTA_ERR_BOOT_NO_APP ? "bricked: no bootable app" : fota_err_text(err),
               fota_err_name(err), why);
        return;
    }
    printf("Next boot: %s (%s at 0x%06x), version %s\n", slot_name(b.slot, slot, sizeof slot),
           b.partition.label, (unsigned)b.partition.offset, b.image.app_desc.version);
    printf("  why: %s\n", why);
    if (b.fell_back) {
        printf("  fall back: %s holds no valid image, so the bootloader takes %s\n",
               slot_name(b.selected_slot, selected, sizeof selected), slot);
    }
}

static void print_app(const device_t *dev, const fota_partition_t *p)
{
    char slot[16];
    printf("  %-8s %-16s 0x%06x: ", slot_name(device_partition_slot(p), slot, sizeof slot),
           p->label, (unsigned)p->offset);
    fota_esp_image_info_t info;
    fota_err_t err;
    slot_image_t what = device_slot_image(dev, p, &info, &err);
    if (what == SLOT_IMAGE_EMPTY) {
        printf("empty\n");
    } else if (what == SLOT_IMAGE_INVALID) {
        printf("invalid: %s (%s)\n", fota_err_text(err), fota_err_name(err));
    } else {
        bool fails = device_slot_emu_flags(dev, p) & FOTA_EMU_FLAG_SELFTEST_FAIL;
        printf("version %s, %u bytes%s\n", info.app_desc.version, (unsigned)info.image_len,
               fails ? ", self-test fails" : "");
    }
}

static void print_chip(const device_t *dev)
{
    char chip[FOTA_CLI_CHIP_TEXT];
    const fota_emu_chip_t *c = fota_emu_chip(dev->chip_id);
    fota_cli_chip_text(dev->chip_id, chip, sizeof chip);
    if (dev->has_bootloader && c != NULL) {
        printf("Chip: %s, bootloader at 0x%x\n", chip, (unsigned)c->bootloader_offset);
    } else {
        printf("Chip: %s (no bootloader image: a flash of an ESP32)\n", chip);
    }
}

int device_show(const device_t *dev)
{
    char human[16];
    uint32_t size = fota_flash_emu_size(dev->emu);
    printf("Flash %s: %u bytes (%s)\n", dev->path, (unsigned)size,
           human_size(size, human, sizeof human));
    print_chip(dev);
    print_table(dev);
    fota_ota_entry_t e[2];
    bool have =
        dev->otadata != NULL && fota_otadata_read(&dev->flash, dev->otadata->offset, e) == FOTA_OK;
    if (have) {
        int active = fota_otadata_active(e);
        printf("otadata at 0x%06x:\n", (unsigned)dev->otadata->offset);
        print_entry(dev, &e[0], 0, active == 0);
        print_entry(dev, &e[1], 1, active == 1);
    } else {
        printf("otadata: %s\n", dev->otadata != NULL ? "unreadable" : "none in the table");
    }
    print_next_boot(dev, have ? e : NULL);
    printf("App partitions:\n");
    for (size_t i = 0; i < dev->table.count; i++) {
        if (dev->table.entries[i].type == FOTA_PART_TYPE_APP) {
            print_app(dev, &dev->table.entries[i]);
        }
    }
    return FOTA_CLI_EXIT_OK;
}
