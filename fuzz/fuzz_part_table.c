/*
 * fuzz_part_table.c - libFuzzer target: the binary ESP-IDF partition table at 0x8000
 * (emu/partition.c: fota_part_table_parse, fota_part_table_validate), the round trips of
 * part_check.h, and optionally the emulated bootloader booting a device with that table (it reads
 * the table without validating it, as ESP-IDF's does, so a hostile table reaches it).
 *
 * Input: byte 0 = flags, the rest = the table area (normally 0xC00 bytes).
 *   bit 0  write the right MD5 into the first MD5 entry (EB EB ...) before parsing: a fuzzer
 *          cannot find an MD5; without this bit the raw bytes are used, which tests the check
 *   bit 1  also put the table at 0x8000 of a device flash holding valid images in ota_0 and ota_1
 *          (flash_undo.h) and run the bootloader, the next-update-partition lookup, set-boot and
 *          confirm on it; the flash is put back after each input
 *   bits 2-7 scale the buffer size given to fota_part_table_to_csv (truncation property)
 *
 * Seeds come from fota-flash create (the table cut out of the flash file with dd, by run.sh) and
 * from --make-seed DIR: the default table and tables made from CSV, serialized by the code itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/emu/bootloader.h"

#include "flash_undo.h"
#include "part_check.h"
#include "rig.h"

#define F_FIX_MD5 0x01u
#define F_BOOT 0x02u

static flash_undo_t g_flash;

/* ---- seeds ----------------------------------------------------------------------------------- */

static void seed_table(const char *dir, const char *name, const fota_part_table_t *t, uint8_t flags)
{
    uint8_t buf[1 + FOTA_PART_TABLE_SIZE];
    buf[0] = flags;
    if (fota_part_table_serialize(t, buf + 1, FOTA_PART_TABLE_SIZE) != FOTA_OK) {
        abort();
    }
    rig_write_seed(dir, name, buf, sizeof buf);
}

static void seed_csv(const char *dir, const char *name, const char *csv)
{
    fota_part_table_t t;
    if (fota_part_table_from_csv(csv, &t, NULL, NULL, 0) != FOTA_OK) {
        abort();
    }
    seed_table(dir, name, &t, F_FIX_MD5 | F_BOOT);
}

static void make_seeds(const char *dir)
{
    fota_part_table_t t;
    fota_part_table_default(&t);
    seed_table(dir, "default", &t, 0);
    seed_table(dir, "default-boot", &t, F_BOOT | 0x40);
    seed_csv(dir, "factory-ota",
             "nvs,data,nvs,0x9000,0x4000\notadata,data,ota,,0x2000\nphy_init,data,phy,,4K\n"
             "factory,app,factory,0x10000,1M\nota_0,app,ota_0,,1M\nota_1,app,ota_1,,1M\n"
             "test,app,test,,64K\nstorage,data,spiffs,,512K,readonly\n"
             "core,data,coredump,,64K,encrypted\nkeys,data,nvs_keys,,4K,encrypted:readonly\n");
    seed_csv(dir, "three-ota",
             "otadata,data,ota,0xd000,8K\nota_2,app,ota_2,0x10000,64K\n"
             "ota_0,app,ota_0,,64K\nota_5,app,ota_5,,64K\ncustom,0x40,0x11,,4K\n");
    /* An old-style table: no MD5 entry, just the end marker after the entries. */
    uint8_t buf[1 + FOTA_PART_TABLE_SIZE];
    buf[0] = F_BOOT;
    fota_part_table_serialize(&t, buf + 1, FOTA_PART_TABLE_SIZE);
    memset(buf + 1 + t.count * FOTA_PART_ENTRY_LEN, 0xFF, FOTA_PART_ENTRY_LEN);
    rig_write_seed(dir, "no-md5", buf, sizeof buf);
}

/* ---- the target ------------------------------------------------------------------------------ */

static void fix_md5(uint8_t *buf, size_t len)
{
    for (size_t at = 0; at + FOTA_PART_ENTRY_LEN <= len; at += FOTA_PART_ENTRY_LEN) {
        if (buf[at] == 0xEB && buf[at + 1] == 0xEB) {
            mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_MD5), buf, at, buf + at + 16);
            return;
        }
    }
}

/* Boot a device whose table is `table` (as far as it goes), then update and confirm. */
static void boot_with(const uint8_t *table, size_t len)
{
    flash_undo_rollback(&g_flash);
    uint8_t area[FOTA_PART_TABLE_SIZE];
    memset(area, 0xFF, sizeof area);
    memcpy(area, table, len < sizeof area ? len : sizeof area);
    flash_undo_put(&g_flash, FOTA_PART_TABLE_OFFSET, area, sizeof area);
    fota_flash_t flash = flash_undo_port(&g_flash);
    fota_boot_info_t info;
    if (fota_bootloader_run(&flash, &info) != FOTA_OK) {
        return;
    }
    fota_partition_t next;
    int slot = -1;
    if (fota_ota_next_update_partition(&flash, &info, &next, &slot) == FOTA_OK && slot >= 0) {
        (void)fota_ota_set_boot_slot(&flash, (unsigned)slot);
        if (fota_bootloader_run(&flash, &info) == FOTA_OK) {
            (void)fota_ota_mark_valid(&flash, &info);
            (void)fota_ota_mark_invalid(&flash, &info);
        }
    }
    (void)fota_device_run(&flash, &info);
}

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    size_t len = size - 1;
    uint8_t *buf = malloc(len > 0 ? len : 1); /* exactly the input: ASan sees a read past it */
    memcpy(buf, data + 1, len);
    if ((flags & F_FIX_MD5) != 0) {
        fix_md5(buf, len);
    }
    fota_part_table_t t;
    char msg[160];
    if (fota_part_table_parse(buf, len, &t) == FOTA_OK) {
        part_check_lookups(&t);
        part_check_binary_round_trip(&t);
        if (fota_part_table_validate(&t, PART_FLASH_MAX, msg, sizeof msg) == FOTA_OK) {
            part_check_csv_round_trip(&t);
        }
        part_check_csv_truncation(&t, (size_t)(flags >> 2) * 29u);
    }
    if ((flags & F_BOOT) != 0) {
        boot_with(buf, len);
    }
    free(buf);
    return 0;
}
