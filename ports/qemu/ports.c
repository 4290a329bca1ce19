/*
 * ports.c - the agent's ports on the bare-metal machine: flash over board_flash with NOR rules
 * (erase sets whole sectors to 0xFF, a write can only clear bits), boot control over two slots,
 * the journal store as one record in RAM (it survives the harness's reboots, which restart the
 * agent, not the machine), and a clock advanced by the agent's own waits.
 */
#include <string.h>

#include "board.h"
#include "harness.h"

harness_machine_t harness_machine;
uint64_t harness_flash_units;

/* A flash operation, timed apart from the agent's own work. */
#define FLASH_TIMED(stmt) HARNESS_TIMED(harness_flash_units, stmt)

static fota_err_t flash_range(uint32_t addr, size_t len)
{
    return addr <= BOARD_FLASH_SIZE && len <= BOARD_FLASH_SIZE - addr ? FOTA_OK
                                                                      : FOTA_ERR_FLASH_BOUNDS;
}

static fota_err_t flash_read_op(void *ctx, uint32_t addr, void *buf, size_t len)
{
    (void)ctx;
    fota_err_t err = flash_range(addr, len);
    if (err == FOTA_OK) {
        memcpy(buf, board_flash + addr, len);
        harness_machine.reads++;
    }
    return err;
}

static fota_err_t flash_write_op(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    (void)ctx;
    fota_err_t err = flash_range(addr, len);
    if (err != FOTA_OK) {
        return err;
    }
    const uint8_t *src = buf;
    uint8_t *dst = board_flash + addr;
    for (size_t i = 0; i < len; i++) {
        if ((dst[i] & src[i]) != src[i]) {
            return FOTA_ERR_FLASH_NOT_ERASED; /* a 0 bit cannot become 1 without an erase */
        }
    }
    for (size_t i = 0; i < len; i++) {
        dst[i] &= src[i];
    }
    harness_machine.writes++;
    harness_machine.written += len;
    return FOTA_OK;
}

static fota_err_t flash_erase_op(void *ctx, uint32_t addr, uint32_t len)
{
    (void)ctx;
    if (addr % HARNESS_SECTOR != 0 || len % HARNESS_SECTOR != 0) {
        return FOTA_ERR_FLASH_ALIGN;
    }
    fota_err_t err = flash_range(addr, len);
    if (err == FOTA_OK) {
        memset(board_flash + addr, 0xFF, len);
        harness_machine.erases += len / HARNESS_SECTOR;
    }
    return err;
}

static fota_err_t flash_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    fota_err_t err;
    FLASH_TIMED(err = flash_read_op(ctx, addr, buf, len));
    return err;
}

static fota_err_t flash_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    fota_err_t err;
    FLASH_TIMED(err = flash_write_op(ctx, addr, buf, len));
    return err;
}

static fota_err_t flash_erase(void *ctx, uint32_t addr, uint32_t len)
{
    fota_err_t err;
    FLASH_TIMED(err = flash_erase_op(ctx, addr, len));
    return err;
}

uint32_t harness_slot_offset(uint8_t slot)
{
    return slot == 0 ? HARNESS_SLOT0 : HARNESS_SLOT1;
}

static fota_err_t boot_update_partition(void *ctx, uint32_t *offset, uint32_t *size)
{
    (void)ctx;
    *offset = harness_slot_offset(harness_machine.running ^ 1u);
    *size = HARNESS_SLOT_SIZE;
    return FOTA_OK;
}

static fota_err_t boot_set(void *ctx)
{
    (void)ctx;
    harness_machine.next = harness_machine.running ^ 1u;
    harness_machine.pending = true;
    return FOTA_OK;
}

static fota_err_t boot_state(void *ctx, fota_boot_state_t *state)
{
    (void)ctx;
    *state = harness_machine.pending_now ? FOTA_BOOT_STATE_PENDING : FOTA_BOOT_STATE_VALID;
    return FOTA_OK;
}

static fota_err_t boot_confirm(void *ctx)
{
    (void)ctx;
    harness_machine.pending_now = false;
    return FOTA_OK;
}

static fota_err_t boot_running_partition(void *ctx, uint32_t *offset, uint32_t *size)
{
    (void)ctx;
    *offset = harness_slot_offset(harness_machine.running);
    *size = HARNESS_SLOT_SIZE;
    return FOTA_OK;
}

static fota_err_t boot_reboot(void *ctx)
{
    (void)ctx;
    harness_machine.reboot = true;
    return FOTA_OK;
}

static fota_err_t store_load(void *ctx, void *buf, size_t cap, size_t *len)
{
    (void)ctx;
    if (harness_machine.journal_len == 0) {
        return FOTA_ERR_JOURNAL_EMPTY;
    }
    size_t n = harness_machine.journal_len < cap ? harness_machine.journal_len : cap;
    memcpy(buf, harness_machine.journal, n);
    *len = n;
    return FOTA_OK;
}

static fota_err_t store_save(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    if (len == 0 || len > sizeof harness_machine.journal) {
        return FOTA_ERR_ARG;
    }
    memcpy(harness_machine.journal, buf, len);
    harness_machine.journal_len = (uint16_t)len;
    return FOTA_OK;
}

static fota_err_t store_clear(void *ctx)
{
    (void)ctx;
    harness_machine.journal_len = 0;
    return FOTA_OK;
}

static uint32_t clock_now_ms(void *ctx)
{
    (void)ctx;
    return (uint32_t)harness_machine.clock_ms;
}

static uint64_t clock_unix(void *ctx)
{
    (void)ctx;
    return harness_machine.unix_start + harness_machine.clock_ms / 1000u;
}

/* splitmix64 over the bridge's seed, 8 bytes per step: unique nonces for this run (a device
 * has a hardware RNG, which costs next to nothing). */
static void clock_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    uint64_t z = 0;
    for (size_t i = 0; i < len; i++) {
        if (i % 8u == 0) {
            z = (harness_machine.rng += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
        }
        buf[i] = (uint8_t)(z >> (8u * (i % 8u)));
    }
}

fota_ports_t harness_ports(void)
{
    fota_ports_t p = {
        .flash = {NULL, flash_read, flash_write, flash_erase, BOARD_FLASH_SIZE, HARNESS_SECTOR},
        .boot = {NULL, boot_update_partition, boot_set, boot_state, boot_confirm, boot_reboot,
                 boot_running_partition},
        .store = {NULL, store_load, store_save, store_clear},
        .clock = {NULL, clock_now_ms, clock_unix, clock_random},
    };
    return p;
}
