/*
 * fuzz_store_flash.c - libFuzzer target: the agent's journal store on the emulated ESP32
 * (ports/posix store_flash.c), which reads its log of records back from two flash sectors of the
 * nvs partition after every reboot: whatever a power cut, a worn cell or another program left
 * there is parsed (magic, seq, length, CRC per 192-byte slot).
 *
 * Input: byte 0 = flags, then the bytes of the two sectors (the rest of them 0xFF).
 *   bit 0     put the right CRC into every slot that starts with the magic "FJS1" (a fuzzer
 *             cannot find a CRC-32 over 188 bytes; without this bit the raw bytes are used)
 *   bit 1     cut the power during the second save (at flash operation bits 2-4, torn if bit 5)
 *   bits 6-7  8 x this many more saves (21 slots fill a sector: the log moves to the other)
 * Then: load; save A; load; reboot (a new store on the same flash) and load; save B under the
 * optional power cut; reboot and load; the extra saves; clear; reboot and load.
 *
 * Properties (abort on violation): a save works whatever the sectors held, and a load
 * right after it returns that record, also after a reboot; after a power cut in a save the record
 * is the old one or the new one, whole; after a successful clear the store is empty; a load never
 * returns more than asked.
 *
 * Seeds: --make-seed DIR runs the store itself (saves of real journal-sized records, a sector
 * switch, a clear) and writes the sectors it left, plus the same with a torn write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/bytes.h"
#include "fota/crc32.h"
#include "fota/emu/partition.h"
#include "fota/emu/emu_device.h"
#include "fota/posix/store_flash.h"

#include "flash_undo.h"
#include "rig.h"

#define FLASH_SIZE 0x10000u
#define NVS 0x9000u
#define AREA (2u * FOTA_FLASH_SECTOR_SIZE)
#define REC_LEN 160u

#define F_FIX_CRC 0x01u
#define F_CUT 0x02u
#define F_TORN 0x20u

static flash_undo_t g_flash;
static fota_part_table_t g_table;

typedef struct {
    uint8_t data[REC_LEN];
    size_t len; /* 0: empty */
} rec_t;

/* ---- the store ------------------------------------------------------------------------------- */

static fota_store_t open_store(fota_flash_store_t *s)
{
    fota_flash_t flash = flash_undo_port(&g_flash);
    rig_require(fota_emu_store_init(s, &flash, &g_table) == FOTA_OK, "store init");
    return fota_flash_store_port(s);
}

/* Load through a new store (a reboot): FOTA_OK and the record, or the store's error. */
static fota_err_t load_fresh(rec_t *out)
{
    fota_flash_store_t s;
    fota_store_t p = open_store(&s);
    out->len = 0;
    size_t len = 0;
    fota_err_t err = p.load(p.ctx, out->data, sizeof out->data, &len);
    if (err == FOTA_OK) {
        rig_require(len > 0 && len <= sizeof out->data, "a load returns at most what was asked");
        out->len = len;
    }
    return err;
}

static void require_loads(const rec_t *want, const char *what)
{
    rec_t got;
    fota_err_t err = load_fresh(&got);
    if (want->len == 0) {
        rig_require(err == FOTA_ERR_JOURNAL_EMPTY, what);
        return;
    }
    rig_require(err == FOTA_OK && got.len == want->len && memcmp(got.data, want->data, got.len) == 0,
            what);
}

static void make_record(rec_t *r, uint32_t tag, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        r->data[i] = (uint8_t)(tag * 31u + i);
    }
    r->len = len;
}

/* ---- seeds ----------------------------------------------------------------------------------- */

static void write_area_seed(const char *dir, const char *name, uint8_t flags)
{
    uint8_t buf[1 + AREA];
    buf[0] = flags;
    rig_require(fota_flash_emu_read(g_flash.emu, NVS, buf + 1, AREA) == FOTA_OK, "read");
    rig_write_seed(dir, name, buf, sizeof buf);
}

static void make_seeds(const char *dir)
{
    fota_flash_store_t s;
    fota_store_t p = open_store(&s);
    rec_t r;
    for (uint32_t i = 0; i < 3; i++) {
        make_record(&r, i, REC_LEN);
        p.save(p.ctx, r.data, r.len);
    }
    write_area_seed(dir, "three-saves", 0);
    for (uint32_t i = 3; i < 25; i++) {
        make_record(&r, i, i % 2 ? REC_LEN : 17);
        p.save(p.ctx, r.data, r.len);
    }
    write_area_seed(dir, "switched-sector", 0x40);
    p.clear(p.ctx);
    write_area_seed(dir, "cleared", F_CUT | (3u << 2) | F_TORN);
    fota_flash_emu_plan_cut(g_flash.emu, 0, FOTA_CUT_TORN, 7);
    p.save(p.ctx, r.data, r.len);
    fota_flash_emu_power_on(g_flash.emu);
    write_area_seed(dir, "torn-save", F_CUT | (1u << 2));
    write_area_seed(dir, "torn-save-fixed", F_FIX_CRC | 0xC0);
}

/* ---- the target ------------------------------------------------------------------------------ */

static void put_area(const uint8_t *data, size_t size, bool fix_crc)
{
    uint8_t area[AREA];
    memset(area, 0xFF, sizeof area);
    memcpy(area, data, size < sizeof area ? size : sizeof area);
    uint32_t slots = FOTA_FLASH_SECTOR_SIZE / FOTA_STORE_SLOT_LEN;
    for (uint32_t i = 0; fix_crc && i < 2u * slots; i++) {
        uint8_t *slot =
            area + (i / slots) * FOTA_FLASH_SECTOR_SIZE + (i % slots) * FOTA_STORE_SLOT_LEN;
        if (memcmp(slot, "FJS1", 4) == 0) {
            uint32_t crc = fota_crc32_le(0, slot, FOTA_STORE_SLOT_LEN - 4u);
            fota_put_le32(slot + FOTA_STORE_SLOT_LEN - 4u, crc);
        }
    }
    flash_undo_put(&g_flash, NVS, area, sizeof area);
}

/* Save through a new store: whatever the sectors held, a save works and loads back, in the same
 * store and (with reboot) after a reboot. */
static void save_fresh(rec_t *now, const rec_t *r, bool reboot)
{
    fota_flash_store_t s;
    fota_store_t p = open_store(&s);
    rig_require(p.save(p.ctx, r->data, r->len) == FOTA_OK, "a save works on any sector contents");
    *now = *r;
    rec_t got;
    size_t len = 0;
    rig_require(p.load(p.ctx, got.data, sizeof got.data, &len) == FOTA_OK && len == r->len &&
                memcmp(got.data, r->data, len) == 0,
            "a saved record loads back");
    if (reboot) {
        require_loads(now, "a saved record loads back after a reboot");
    }
}

/* The second save with the power cut at flash operation k of it. */
static void save_cut(rec_t *now, const rec_t *r, uint8_t flags)
{
    fota_flash_store_t s;
    fota_store_t p = open_store(&s);
    fota_cut_mode_t mode = (flags & F_TORN) != 0 ? FOTA_CUT_TORN : FOTA_CUT_BEFORE;
    fota_flash_emu_plan_cut(g_flash.emu, (flags >> 2) & 7u, mode, flags);
    fota_err_t err = p.save(p.ctx, r->data, r->len);
    fota_flash_emu_cancel_cut(g_flash.emu);
    fota_flash_emu_power_on(g_flash.emu);
    rec_t got;
    fota_err_t lerr = load_fresh(&got);
    bool is_old =
        (now->len == 0 && lerr == FOTA_ERR_JOURNAL_EMPTY) ||
        (lerr == FOTA_OK && got.len == now->len && memcmp(got.data, now->data, got.len) == 0);
    bool is_new = lerr == FOTA_OK && got.len == r->len && memcmp(got.data, r->data, r->len) == 0;
    rig_require(err == FOTA_OK ? is_new : is_old || is_new, "a cut save leaves old or new, whole");
    if (is_new) {
        *now = *r;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    flash_undo_open(&g_flash, FLASH_SIZE);
    fota_part_table_default(&g_table);
    flash_undo_checkpoint(&g_flash);
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    flash_undo_rollback(&g_flash);
    put_area(data + 1, size - 1, (flags & F_FIX_CRC) != 0);
    rec_t now, r;
    (void)load_fresh(&now);
    make_record(&r, 1, REC_LEN);
    save_fresh(&now, &r, true);
    make_record(&r, 2, 1u + size % REC_LEN);
    if ((flags & F_CUT) != 0) {
        save_cut(&now, &r, flags);
    } else {
        save_fresh(&now, &r, true);
    }
    for (uint32_t i = 0; i < 8u * (flags >> 6); i++) {
        make_record(&r, 3u + i, 1u + (i * 7u) % REC_LEN);
        save_fresh(&now, &r, false);
    }
    require_loads(&now, "the last record saved loads after a reboot");
    fota_flash_store_t s;
    fota_store_t p = open_store(&s);
    if (p.clear(p.ctx) == FOTA_OK) {
        rec_t empty = {{0}, 0};
        require_loads(&empty, "a cleared store is empty after a reboot");
    }
    return 0;
}
