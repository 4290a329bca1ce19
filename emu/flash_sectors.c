/*
 * flash_sectors.c - the sector table behind an emulated flash, and copy-on-write templates.
 *
 * Why: fota-sim runs tens of thousands of devices that all start from the same flash (partition
 * table, otadata, the first image). Holding a whole flash per device costs megabytes each; with
 * a template every device shares the template's sectors and pays only for the sectors it has
 * written since. Erased sectors cost nothing in either.
 *
 * Every operation walks its range sector by sector: a sector is NULL (erased: reads as 0xFF), a
 * pointer into the template (shared: read, never written), or the flash's own memory (in place
 * in one block, or a copy on the heap). Writes go through flash_sectors_prepare() first, which
 * makes the copies, so that once flash_emu.c has accepted an operation nothing here can fail:
 * the copy a torn erase needs comes from the sector flash_sectors_reserve() set aside.
 *
 * A template is freed when it has been released and no flash uses it any more, whichever comes
 * last (flash_sectors_template_free, flash_sectors_free). Nothing here is thread-safe: a flash and
 * its template belong to one thread, as the rest of the emulator does.
 */
#include "flash_sectors.h"

#include <stdlib.h>
#include <string.h>

#define SECTOR FOTA_FLASH_SECTOR_SIZE
#define ERASED 0xFFu

struct fota_flash_template {
    uint32_t size;
    uint32_t n;
    uint8_t **sec;  /* NULL: erased */
    uint8_t *data;  /* the sectors that are not erased, one after the other */
    size_t stored;  /* bytes in data */
    uint32_t users; /* flashes opened from it and not closed */
    bool released;  /* its owner is done with it */
};

/* The part of [addr, addr + len) in one sector: sector index, offset in it, length. */
typedef struct {
    uint32_t i;
    uint32_t off;
    size_t n;
} span_t;

static span_t span_at(uint32_t addr, size_t left)
{
    span_t s = {addr / SECTOR, addr % SECTOR, SECTOR - addr % SECTOR};
    s.n = s.n < left ? s.n : left;
    return s;
}

static bool is_cow(const flash_sectors_t *st)
{
    return st->tmpl != NULL;
}

/* --- open and close --------------------------------------------------------------------------- */

static fota_err_t alloc_table(flash_sectors_t *st, uint32_t n, bool cow)
{
    memset(st, 0, sizeof *st);
    st->n = n;
    st->sec = calloc(n, sizeof *st->sec);
    st->own = cow ? calloc(n, 1) : NULL;
    return st->sec == NULL || (cow && st->own == NULL) ? FOTA_ERR_NO_MEM : FOTA_OK;
}

fota_err_t flash_sectors_init_block(flash_sectors_t *st, uint8_t *block, uint32_t size)
{
    fota_err_t err = alloc_table(st, size / SECTOR, false);
    for (uint32_t i = 0; err == FOTA_OK && i < st->n; i++) {
        st->sec[i] = block + (size_t)i * SECTOR;
    }
    return err;
}

fota_err_t flash_sectors_init_shared(flash_sectors_t *st, fota_flash_template_t *t)
{
    fota_err_t err = alloc_table(st, t->n, true);
    if (err != FOTA_OK) {
        return err;
    }
    memcpy(st->sec, t->sec, (size_t)t->n * sizeof *st->sec);
    t->users++;
    st->tmpl = t;
    return FOTA_OK;
}

static void template_destroy(fota_flash_template_t *t)
{
    free(t->data);
    free(t->sec);
    free(t);
}

void flash_sectors_free(flash_sectors_t *st)
{
    for (uint32_t i = 0; st->own != NULL && i < st->n; i++) {
        if (st->own[i]) {
            free(st->sec[i]);
        }
    }
    free(st->own);
    free(st->sec);
    free(st->spare);
    fota_flash_template_t *t = st->tmpl;
    if (t != NULL && --t->users == 0 && t->released) {
        template_destroy(t);
    }
    memset(st, 0, sizeof *st);
}

/* --- reading ---------------------------------------------------------------------------------- */

void flash_sectors_read(const flash_sectors_t *st, uint32_t addr, void *buf, size_t len)
{
    uint8_t *out = buf;
    while (len > 0) {
        span_t s = span_at(addr, len);
        const uint8_t *p = st->sec[s.i];
        if (p == NULL) {
            memset(out, ERASED, s.n);
        } else {
            memcpy(out, p + s.off, s.n);
        }
        out += s.n;
        addr += (uint32_t)s.n;
        len -= s.n;
    }
}

uint8_t flash_sectors_byte(const flash_sectors_t *st, uint32_t addr)
{
    const uint8_t *p = st->sec[addr / SECTOR];
    return p == NULL ? (uint8_t)ERASED : p[addr % SECTOR];
}

/* The first byte of old[0..n) that src[0..n) would have to set a bit of; n if none. */
static size_t first_unerased(const uint8_t *old, const uint8_t *src, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if ((old[k] & src[k]) != src[k]) {
            return k;
        }
    }
    return n;
}

bool flash_sectors_find_unerased(const flash_sectors_t *st, uint32_t addr, const uint8_t *src,
                                 size_t len, size_t *at)
{
    size_t done = 0;
    while (done < len) {
        span_t s = span_at(addr + (uint32_t)done, len - done);
        const uint8_t *p = st->sec[s.i];
        /* an erased sector takes any byte */
        size_t k = p == NULL ? s.n : first_unerased(p + s.off, src + done, s.n);
        if (k < s.n) {
            *at = done + k;
            return true;
        }
        done += s.n;
    }
    return false;
}

/* --- writing ---------------------------------------------------------------------------------- */

/* Sector i becomes the flash's own, in `mem` (a free sector), with the bytes it had. */
static uint8_t *adopt(flash_sectors_t *st, uint32_t i, uint8_t *mem)
{
    if (st->sec[i] == NULL) {
        memset(mem, ERASED, SECTOR);
    } else {
        memcpy(mem, st->sec[i], SECTOR);
    }
    st->sec[i] = mem;
    st->own[i] = 1;
    st->owned++;
    return mem;
}

static bool writable(const flash_sectors_t *st, uint32_t i)
{
    return !is_cow(st) || st->own[i];
}

fota_err_t flash_sectors_prepare(flash_sectors_t *st, uint32_t addr, size_t len)
{
    uint32_t last = len == 0 ? addr / SECTOR : (uint32_t)((addr + len - 1u) / SECTOR);
    for (uint32_t i = addr / SECTOR; len > 0 && i <= last; i++) {
        if (writable(st, i)) {
            continue;
        }
        uint8_t *mem = malloc(SECTOR);
        if (mem == NULL) {
            return FOTA_ERR_NO_MEM;
        }
        adopt(st, i, mem);
    }
    return FOTA_OK;
}

void flash_sectors_program(flash_sectors_t *st, uint32_t addr, const uint8_t *src, size_t len)
{
    while (len > 0) {
        span_t s = span_at(addr, len);
        uint8_t *p = st->sec[s.i] + s.off;
        for (size_t k = 0; k < s.n; k++) {
            p[k] &= src[k];
        }
        src += s.n;
        addr += (uint32_t)s.n;
        len -= s.n;
    }
}

void flash_sectors_erase(flash_sectors_t *st, uint32_t first, uint32_t count)
{
    for (uint32_t i = first; i < first + count; i++) {
        if (!is_cow(st)) {
            memset(st->sec[i], ERASED, SECTOR);
            continue;
        }
        if (st->own[i]) {
            free(st->sec[i]);
            st->own[i] = 0;
            st->owned--;
        }
        st->sec[i] = NULL; /* erased: no memory (a shared sector is simply let go) */
    }
}

fota_err_t flash_sectors_reserve(flash_sectors_t *st)
{
    if (is_cow(st) && st->spare == NULL) {
        st->spare = malloc(SECTOR);
        if (st->spare == NULL) {
            return FOTA_ERR_NO_MEM;
        }
    }
    return FOTA_OK;
}

uint8_t *flash_sectors_sector(flash_sectors_t *st, uint32_t i)
{
    if (writable(st, i)) {
        return st->sec[i];
    }
    uint8_t *mem = st->spare;
    st->spare = NULL;
    return adopt(st, i, mem);
}

size_t flash_sectors_memory(const flash_sectors_t *st)
{
    size_t table = (size_t)st->n * (sizeof *st->sec + (st->own != NULL ? 1u : 0u));
    return table + (size_t)st->owned * SECTOR + (st->spare != NULL ? SECTOR : 0u);
}

/* --- templates -------------------------------------------------------------------------------- */

static bool sector_erased(const uint8_t *p)
{
    if (p == NULL) {
        return true;
    }
    for (uint32_t k = 0; k < SECTOR; k++) {
        if (p[k] != ERASED) {
            return false;
        }
    }
    return true;
}

static uint32_t count_unerased(const flash_sectors_t *st)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < st->n; i++) {
        count += sector_erased(st->sec[i]) ? 0u : 1u;
    }
    return count;
}

/* Copy the table's sectors that are not erased into t's data, one after the other. */
static void fill_template(fota_flash_template_t *t, const flash_sectors_t *st)
{
    uint8_t *next = t->data;
    for (uint32_t i = 0; i < st->n; i++) {
        if (!sector_erased(st->sec[i])) {
            memcpy(next, st->sec[i], SECTOR);
            t->sec[i] = next;
            next += SECTOR;
        }
    }
}

fota_err_t flash_sectors_snapshot(const flash_sectors_t *st, uint32_t size,
                                  fota_flash_template_t **out)
{
    fota_flash_template_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    t->size = size;
    t->n = st->n;
    t->stored = (size_t)count_unerased(st) * SECTOR;
    t->sec = calloc(st->n, sizeof *t->sec);
    t->data = malloc(t->stored != 0 ? t->stored : 1u);
    if (t->sec == NULL || t->data == NULL) {
        template_destroy(t);
        return FOTA_ERR_NO_MEM;
    }
    fill_template(t, st);
    *out = t;
    return FOTA_OK;
}

void flash_sectors_template_free(fota_flash_template_t *t)
{
    if (t == NULL) {
        return;
    }
    t->released = true;
    if (t->users == 0) {
        template_destroy(t);
    }
}

uint32_t flash_sectors_template_size(const fota_flash_template_t *t)
{
    return t->size;
}

size_t flash_sectors_template_memory(const fota_flash_template_t *t)
{
    return (size_t)t->n * sizeof *t->sec + t->stored;
}
