/*
 * flash_emu.c - the emulated ESP32 SPI NOR flash, with power-cut injection.
 *
 * The flash contents live in one byte array: a MAP_SHARED mapping of the flash file (so the file
 * is, at every instant, the raw flash image, and survives the process being killed once an
 * operation has returned) or a heap buffer for an in-memory flash. NOR rules are applied here:
 * erase sets whole sectors to 0xFF, a write ANDs its bytes into the array, and strict mode
 * refuses a write that would need to set a bit.
 *
 * Power cuts follow the MCUboot simulator idea: a cut is planned at the K-th accepted operation;
 * it either stops the flash before that operation or tears it (a prefix of a write, a partly
 * erased sector), with every random choice drawn from a splitmix64 generator seeded by the
 * caller so that a failing run can be replayed. After the cut every call fails until power_on.
 */
#include "fota/emu/flash_emu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERASED 0xFFu

struct fota_flash_emu {
    uint8_t *mem;
    uint32_t size;
    int fd; /* -1 for an in-memory flash */
    bool strict;
    bool off;       /* the power is cut */
    bool cut_armed; /* a cut is planned */
    uint64_t cut_countdown;
    fota_cut_mode_t cut_mode;
    uint64_t rng;
    fota_flash_cut_info_t cut;
    fota_flash_stats_t stats;
    char last_error[160];
};

static const char *const OP_NAMES[] = {"read", "write", "erase"};

/* --- small helpers ---------------------------------------------------------------------------- */

static void set_error(fota_flash_emu_t *emu, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(fota_flash_emu_t *emu, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(emu->last_error, sizeof emu->last_error, fmt, ap);
    va_end(ap);
}

/* splitmix64: tiny, good enough spread, and fully determined by the seed. */
static uint64_t rng_next(fota_flash_emu_t *emu)
{
    uint64_t z = (emu->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A number in [0, n); 0 when n is 0. The modulo bias is irrelevant at these sizes. */
static uint32_t rng_below(fota_flash_emu_t *emu, uint64_t n)
{
    return n == 0 ? 0 : (uint32_t)(rng_next(emu) % n);
}

/* NOR programming: a write can only clear bits. */
static void nor_program(uint8_t *dst, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        dst[i] &= src[i];
    }
}

static bool size_valid(uint64_t size)
{
    return size != 0 && size <= UINT32_MAX && size % FOTA_FLASH_SECTOR_SIZE == 0;
}

/* --- open and close --------------------------------------------------------------------------- */

static fota_flash_emu_t *emu_alloc(uint32_t size)
{
    fota_flash_emu_t *emu = calloc(1, sizeof *emu);
    if (emu == NULL) {
        return NULL;
    }
    emu->fd = -1;
    emu->size = size;
    snprintf(emu->last_error, sizeof emu->last_error, "no error");
    return emu;
}

static fota_err_t open_memory(uint32_t size, fota_flash_emu_t *emu)
{
    emu->mem = malloc(size);
    if (emu->mem == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    memset(emu->mem, ERASED, size);
    return FOTA_OK;
}

/* The size the file will have: the one asked for (create) or the file's own, checked. */
static fota_err_t file_size(int fd, uint32_t size, unsigned flags, uint32_t *out)
{
    if (flags & FOTA_FLASH_EMU_CREATE) {
        if (!size_valid(size) || ftruncate(fd, (off_t)size) != 0) {
            return size_valid(size) ? FOTA_ERR_FLASH_FILE : FOTA_ERR_FLASH_SIZE;
        }
        *out = size;
        return FOTA_OK;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return FOTA_ERR_FLASH_FILE;
    }
    if (!size_valid((uint64_t)st.st_size) || (size != 0 && size != (uint64_t)st.st_size)) {
        return FOTA_ERR_FLASH_SIZE;
    }
    *out = (uint32_t)st.st_size;
    return FOTA_OK;
}

static fota_err_t open_file(const char *path, uint32_t size, unsigned flags, fota_flash_emu_t *emu)
{
    int oflags = O_RDWR | O_CLOEXEC;
    if (flags & FOTA_FLASH_EMU_CREATE) {
        oflags |= O_CREAT | O_TRUNC;
    }
    emu->fd = open(path, oflags, 0644);
    if (emu->fd < 0) {
        return FOTA_ERR_FLASH_FILE;
    }
    fota_err_t err = file_size(emu->fd, size, flags, &emu->size);
    if (err != FOTA_OK) {
        return err;
    }
    void *p = mmap(NULL, emu->size, PROT_READ | PROT_WRITE, MAP_SHARED, emu->fd, 0);
    if (p == MAP_FAILED) {
        return FOTA_ERR_FLASH_FILE;
    }
    emu->mem = p;
    if (flags & FOTA_FLASH_EMU_CREATE) {
        memset(emu->mem, ERASED, emu->size);
    }
    return FOTA_OK;
}

fota_err_t fota_flash_emu_open(const char *path, uint32_t size, unsigned flags,
                               fota_flash_emu_t **out)
{
    if (out == NULL) {
        return FOTA_ERR_ARG;
    }
    *out = NULL;
    if (path == NULL && !size_valid(size)) {
        return FOTA_ERR_FLASH_SIZE;
    }
    fota_flash_emu_t *emu = emu_alloc(size);
    if (emu == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    emu->strict = (flags & FOTA_FLASH_EMU_STRICT) != 0;
    fota_err_t err = path == NULL ? open_memory(size, emu) : open_file(path, size, flags, emu);
    if (err != FOTA_OK) {
        int saved = errno; /* callers may report strerror(errno) of the failing call */
        fota_flash_emu_close(emu);
        errno = saved;
        return err;
    }
    *out = emu;
    return FOTA_OK;
}

void fota_flash_emu_close(fota_flash_emu_t *emu)
{
    if (emu == NULL) {
        return;
    }
    if (emu->fd < 0) {
        free(emu->mem);
    } else {
        if (emu->mem != NULL) {
            munmap(emu->mem, emu->size);
        }
        close(emu->fd);
    }
    free(emu);
}

fota_err_t fota_flash_emu_sync(fota_flash_emu_t *emu)
{
    if (emu->fd < 0) {
        return FOTA_OK;
    }
    if (msync(emu->mem, emu->size, MS_SYNC) != 0 || fsync(emu->fd) != 0) {
        set_error(emu, "cannot sync the flash file: %s", strerror(errno));
        return FOTA_ERR_FLASH_FILE;
    }
    return FOTA_OK;
}

/* --- checks shared by the operations ---------------------------------------------------------- */

static fota_err_t check_power(fota_flash_emu_t *emu, fota_flash_op_t op, uint32_t addr)
{
    if (!emu->off) {
        return FOTA_OK;
    }
    set_error(emu, "%s at 0x%08x: the power is off", OP_NAMES[op], (unsigned)addr);
    return FOTA_ERR_FLASH_POWER_CUT;
}

static fota_err_t check_bounds(fota_flash_emu_t *emu, fota_flash_op_t op, uint32_t addr, size_t len)
{
    if ((uint64_t)addr + len <= emu->size) {
        return FOTA_OK;
    }
    set_error(emu, "%s of %zu bytes at 0x%08x is outside the flash (0x%08x bytes)", OP_NAMES[op],
              len, (unsigned)addr, (unsigned)emu->size);
    return FOTA_ERR_FLASH_BOUNDS;
}

static fota_err_t check_align(fota_flash_emu_t *emu, uint32_t addr, uint32_t len)
{
    if (addr % FOTA_FLASH_SECTOR_SIZE == 0 && len % FOTA_FLASH_SECTOR_SIZE == 0) {
        return FOTA_OK;
    }
    set_error(emu, "erase of 0x%x bytes at 0x%08x is not sector aligned (0x%x)", (unsigned)len,
              (unsigned)addr, FOTA_FLASH_SECTOR_SIZE);
    return FOTA_ERR_FLASH_ALIGN;
}

/* Strict mode: every bit the write leaves at 1 must already be 1 (nothing to set). */
static fota_err_t check_erased(fota_flash_emu_t *emu, uint32_t addr, const uint8_t *src, size_t len)
{
    const uint8_t *old = emu->mem + addr;
    for (size_t i = 0; i < len; i++) {
        if ((old[i] & src[i]) != src[i]) {
            set_error(emu, "write to unerased byte at 0x%08x (holds 0x%02x, wants 0x%02x)",
                      (unsigned)(addr + i), old[i], src[i]);
            return FOTA_ERR_FLASH_NOT_ERASED;
        }
    }
    return FOTA_OK;
}

/* Count an accepted operation; true if the planned cut falls on it. */
static bool accept_op(fota_flash_emu_t *emu, fota_flash_op_t op)
{
    emu->stats.ops++;
    emu->stats.reads += op == FOTA_FLASH_OP_READ;
    emu->stats.writes += op == FOTA_FLASH_OP_WRITE;
    emu->stats.erases += op == FOTA_FLASH_OP_ERASE;
    if (!emu->cut_armed) {
        return false;
    }
    if (emu->cut_countdown > 0) {
        emu->cut_countdown--;
        return false;
    }
    return true;
}

/* The power goes off during this operation: record it. The caller then tears it (or not). */
static void begin_cut(fota_flash_emu_t *emu, fota_flash_op_t op, uint32_t addr, size_t len)
{
    emu->cut_armed = false;
    emu->off = true;
    emu->stats.power_cuts++;
    memset(&emu->cut, 0, sizeof emu->cut);
    emu->cut.happened = true;
    emu->cut.mode = emu->cut_mode;
    emu->cut.op = op;
    emu->cut.addr = addr;
    emu->cut.len = (uint32_t)len;
    set_error(emu, "power cut (%s) during %s of 0x%zx bytes at 0x%08x",
              emu->cut_mode == FOTA_CUT_TORN ? "torn" : "before", OP_NAMES[op], len,
              (unsigned)addr);
}

/* --- read ------------------------------------------------------------------------------------- */

fota_err_t fota_flash_emu_read(fota_flash_emu_t *emu, uint32_t addr, void *buf, size_t len)
{
    fota_err_t err = check_power(emu, FOTA_FLASH_OP_READ, addr);
    if (err == FOTA_OK) {
        err = check_bounds(emu, FOTA_FLASH_OP_READ, addr, len);
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (accept_op(emu, FOTA_FLASH_OP_READ)) {
        begin_cut(emu, FOTA_FLASH_OP_READ, addr, len); /* a read changes nothing: no tearing */
        return FOTA_ERR_FLASH_POWER_CUT;
    }
    memcpy(buf, emu->mem + addr, len);
    emu->stats.bytes_read += len;
    return FOTA_OK;
}

/* --- write ------------------------------------------------------------------------------------ */

/* A torn write keeps a random prefix of [0, len) of its bytes. */
static void tear_write(fota_flash_emu_t *emu, uint32_t addr, const uint8_t *src, size_t len)
{
    uint32_t keep = rng_below(emu, len);
    nor_program(emu->mem + addr, src, keep);
    emu->stats.bytes_written += keep;
    emu->cut.done = keep;
}

fota_err_t fota_flash_emu_write(fota_flash_emu_t *emu, uint32_t addr, const void *buf, size_t len)
{
    fota_err_t err = check_power(emu, FOTA_FLASH_OP_WRITE, addr);
    if (err == FOTA_OK) {
        err = check_bounds(emu, FOTA_FLASH_OP_WRITE, addr, len);
    }
    if (err == FOTA_OK && emu->strict) {
        err = check_erased(emu, addr, buf, len);
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (accept_op(emu, FOTA_FLASH_OP_WRITE)) {
        begin_cut(emu, FOTA_FLASH_OP_WRITE, addr, len);
        if (emu->cut_mode == FOTA_CUT_TORN) {
            tear_write(emu, addr, buf, len);
        }
        return FOTA_ERR_FLASH_POWER_CUT;
    }
    nor_program(emu->mem + addr, buf, len);
    emu->stats.bytes_written += len;
    return FOTA_OK;
}

/* --- erase ------------------------------------------------------------------------------------ */

static void erase_sectors(fota_flash_emu_t *emu, uint32_t addr, uint32_t len)
{
    memset(emu->mem + addr, ERASED, len);
    emu->stats.sectors_erased += len / FOTA_FLASH_SECTOR_SIZE;
}

/*
 * A torn erase: the power fails while sector i of the range is being erased. Sectors before it
 * are erased; sector i gets a random run of 0xFF, then a random run of garbage, and keeps the
 * rest of its old bytes. At least one byte of sector i is not erased.
 */
static void tear_erase(fota_flash_emu_t *emu, uint32_t addr, uint32_t len)
{
    uint32_t sectors = len / FOTA_FLASH_SECTOR_SIZE;
    if (sectors == 0) {
        return;
    }
    uint32_t done = rng_below(emu, sectors) * FOTA_FLASH_SECTOR_SIZE;
    erase_sectors(emu, addr, done);
    uint8_t *sector = emu->mem + addr + done;
    uint32_t ff = rng_below(emu, FOTA_FLASH_SECTOR_SIZE);
    uint32_t garbage = rng_below(emu, FOTA_FLASH_SECTOR_SIZE - ff + 1u);
    memset(sector, ERASED, ff);
    for (uint32_t i = 0; i < garbage; i++) {
        sector[ff + i] = (uint8_t)rng_next(emu);
    }
    emu->cut.done = done;
    emu->cut.torn_addr = addr + done;
    emu->cut.erased_len = ff;
    emu->cut.garbage_len = garbage;
}

fota_err_t fota_flash_emu_erase(fota_flash_emu_t *emu, uint32_t addr, uint32_t len)
{
    fota_err_t err = check_power(emu, FOTA_FLASH_OP_ERASE, addr);
    if (err == FOTA_OK) {
        err = check_bounds(emu, FOTA_FLASH_OP_ERASE, addr, len);
    }
    if (err == FOTA_OK) {
        err = check_align(emu, addr, len);
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (accept_op(emu, FOTA_FLASH_OP_ERASE)) {
        begin_cut(emu, FOTA_FLASH_OP_ERASE, addr, len);
        if (emu->cut_mode == FOTA_CUT_TORN) {
            tear_erase(emu, addr, len);
        }
        return FOTA_ERR_FLASH_POWER_CUT;
    }
    erase_sectors(emu, addr, len);
    return FOTA_OK;
}

/* --- the port --------------------------------------------------------------------------------- */

static fota_err_t port_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    return fota_flash_emu_read(ctx, addr, buf, len);
}

static fota_err_t port_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    return fota_flash_emu_write(ctx, addr, buf, len);
}

static fota_err_t port_erase(void *ctx, uint32_t addr, uint32_t len)
{
    return fota_flash_emu_erase(ctx, addr, len);
}

fota_flash_t fota_flash_emu_port(fota_flash_emu_t *emu)
{
    fota_flash_t port = {
        .ctx = emu,
        .read = port_read,
        .write = port_write,
        .erase = port_erase,
        .size = emu->size,
        .sector_size = FOTA_FLASH_SECTOR_SIZE,
    };
    return port;
}

/* --- settings, statistics, power ------------------------------------------------------------- */

uint32_t fota_flash_emu_size(const fota_flash_emu_t *emu)
{
    return emu->size;
}

void fota_flash_emu_set_strict(fota_flash_emu_t *emu, bool strict)
{
    emu->strict = strict;
}

void fota_flash_emu_stats(const fota_flash_emu_t *emu, fota_flash_stats_t *out)
{
    *out = emu->stats;
}

void fota_flash_emu_reset_stats(fota_flash_emu_t *emu)
{
    memset(&emu->stats, 0, sizeof emu->stats);
}

const char *fota_flash_emu_last_error(const fota_flash_emu_t *emu)
{
    return emu->last_error;
}

void fota_flash_emu_plan_cut(fota_flash_emu_t *emu, uint64_t op, fota_cut_mode_t mode,
                             uint64_t seed)
{
    emu->cut_armed = true;
    emu->cut_countdown = op;
    emu->cut_mode = mode;
    emu->rng = seed;
    memset(&emu->cut, 0, sizeof emu->cut);
}

void fota_flash_emu_cancel_cut(fota_flash_emu_t *emu)
{
    emu->cut_armed = false;
}

bool fota_flash_emu_is_cut(const fota_flash_emu_t *emu)
{
    return emu->off;
}

void fota_flash_emu_power_on(fota_flash_emu_t *emu)
{
    emu->off = false;
}

void fota_flash_emu_last_cut(const fota_flash_emu_t *emu, fota_flash_cut_info_t *out)
{
    *out = emu->cut;
}
