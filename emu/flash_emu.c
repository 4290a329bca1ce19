/*
 * flash_emu.c - the emulated ESP32 SPI NOR flash, with power-cut injection.
 *
 * The flash contents live in a table of 4 KB sectors (flash_sectors.c). For a file-backed flash
 * they are a MAP_SHARED mapping of the file (so the file is, at every instant, the raw flash
 * image, and survives the process being killed once an operation has returned); for an
 * in-memory flash, one heap buffer; for a flash opened from a template (fota_flash_template_t),
 * the template's sectors, shared copy-on-write with every other flash opened from it, plus the
 * sectors this flash has written. NOR rules are applied here, the same for all three: erase sets
 * whole sectors to 0xFF, a write ANDs its bytes into the flash, and strict mode refuses a write
 * that would need to set a bit.
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

#include "flash_sectors.h"

#define ERASED 0xFFu

struct fota_flash_emu {
    flash_sectors_t st; /* where the bytes are */
    uint8_t *block;     /* the whole flash in one piece (heap or mapping); NULL from a template */
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
    emu->block = malloc(size);
    if (emu->block == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    memset(emu->block, ERASED, size);
    return flash_sectors_init_block(&emu->st, emu->block, size);
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
    emu->block = p;
    if (flags & FOTA_FLASH_EMU_CREATE) {
        memset(emu->block, ERASED, emu->size);
    }
    return flash_sectors_init_block(&emu->st, emu->block, emu->size);
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

fota_err_t fota_flash_emu_open_shared(fota_flash_template_t *t, unsigned flags,
                                      fota_flash_emu_t **out)
{
    if (out == NULL) {
        return FOTA_ERR_ARG;
    }
    *out = NULL;
    if (t == NULL || (flags & FOTA_FLASH_EMU_CREATE)) {
        return FOTA_ERR_ARG;
    }
    fota_flash_emu_t *emu = emu_alloc(flash_sectors_template_size(t));
    if (emu == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    emu->strict = (flags & FOTA_FLASH_EMU_STRICT) != 0;
    fota_err_t err = flash_sectors_init_shared(&emu->st, t);
    if (err != FOTA_OK) {
        fota_flash_emu_close(emu);
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
    flash_sectors_free(&emu->st);
    if (emu->fd < 0) {
        free(emu->block);
    } else {
        if (emu->block != NULL) {
            munmap(emu->block, emu->size);
        }
        close(emu->fd);
    }
    free(emu);
}

fota_err_t fota_flash_emu_template(const fota_flash_emu_t *emu, fota_flash_template_t **out)
{
    if (emu == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    *out = NULL;
    return flash_sectors_snapshot(&emu->st, emu->size, out);
}

void fota_flash_template_free(fota_flash_template_t *t)
{
    flash_sectors_template_free(t);
}

size_t fota_flash_template_memory(const fota_flash_template_t *t)
{
    return flash_sectors_template_memory(t);
}

size_t fota_flash_emu_memory(const fota_flash_emu_t *emu)
{
    size_t block = emu->fd < 0 && emu->block != NULL ? emu->size : 0u;
    return sizeof *emu + block + flash_sectors_memory(&emu->st);
}

fota_err_t fota_flash_emu_sync(fota_flash_emu_t *emu)
{
    if (emu->fd < 0) {
        return FOTA_OK;
    }
    if (msync(emu->block, emu->size, MS_SYNC) != 0 || fsync(emu->fd) != 0) {
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
    size_t i = 0;
    if (!flash_sectors_find_unerased(&emu->st, addr, src, len, &i)) {
        return FOTA_OK;
    }
    set_error(emu, "write to unerased byte at 0x%08x (holds 0x%02x, wants 0x%02x)",
              (unsigned)(addr + i), flash_sectors_byte(&emu->st, addr + (uint32_t)i), src[i]);
    return FOTA_ERR_FLASH_NOT_ERASED;
}

/* A flash opened from a template makes its own copy of the sectors it is about to change, before
 * the operation is accepted: once accepted, nothing can fail half-way. The bytes do not change. */
static fota_err_t check_memory(fota_flash_emu_t *emu, fota_err_t err)
{
    if (err == FOTA_ERR_NO_MEM) {
        set_error(emu, "no memory for a copy of a shared flash sector");
    }
    return err;
}

/* The planned cut falls on the next accepted operation. */
static bool cut_is_next(const fota_flash_emu_t *emu)
{
    return emu->cut_armed && emu->cut_countdown == 0;
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
    flash_sectors_read(&emu->st, addr, buf, len);
    emu->stats.bytes_read += len;
    return FOTA_OK;
}

/* --- write ------------------------------------------------------------------------------------ */

/* A torn write keeps a random prefix of [0, len) of its bytes. */
static void tear_write(fota_flash_emu_t *emu, uint32_t addr, const uint8_t *src, size_t len)
{
    uint32_t keep = rng_below(emu, len);
    flash_sectors_program(&emu->st, addr, src, keep);
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
    if (err == FOTA_OK) {
        err = check_memory(emu, flash_sectors_prepare(&emu->st, addr, len));
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
    flash_sectors_program(&emu->st, addr, buf, len);
    emu->stats.bytes_written += len;
    return FOTA_OK;
}

/* --- erase ------------------------------------------------------------------------------------ */

static void erase_sectors(fota_flash_emu_t *emu, uint32_t addr, uint32_t len)
{
    uint32_t count = len / FOTA_FLASH_SECTOR_SIZE;
    flash_sectors_erase(&emu->st, addr / FOTA_FLASH_SECTOR_SIZE, count);
    emu->stats.sectors_erased += count;
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
    uint8_t *sector = flash_sectors_sector(&emu->st, (addr + done) / FOTA_FLASH_SECTOR_SIZE);
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
    if (err == FOTA_OK && cut_is_next(emu) && emu->cut_mode == FOTA_CUT_TORN) {
        err = check_memory(emu, flash_sectors_reserve(&emu->st)); /* the torn sector's copy */
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
