/*
 * test_flash_sectors.c - flashes that share a template copy-on-write (emu/flash_sectors.c behind
 * fota_flash_emu_template / fota_flash_emu_open_shared): two flashes from one template do not
 * see each other's writes, unwritten sectors read as the template, erase then write, power cuts
 * (clean and torn) on the first write or erase of a shared sector leave the template and the
 * other flashes untouched, memory is held only for written sectors, and a template outlives its
 * free while flashes use it. A differential test runs the same seeded random operations (writes,
 * erases, reads across sectors, cuts of both modes, power-ons, strict and non-strict) on a shared
 * flash and on an ordinary in-memory flash with the same bytes, and requires the same results,
 * errors, counters, cut reports and bytes after every step.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/emu/flash_emu.h"

#define SECTOR FOTA_FLASH_SECTOR_SIZE
#define SECTORS 16u
#define SIZE (SECTORS * SECTOR)

/* The template's source: sector 0 and sectors 3-5 hold patterns, the rest is erased. */
static uint8_t pattern(uint32_t addr)
{
    return (uint8_t)(addr * 7u + (addr >> 12) * 13u + 1u) & 0x7Fu; /* never 0xFF */
}

static bool patterned(uint32_t sector)
{
    return sector == 0 || (sector >= 3 && sector <= 5);
}

static uint8_t expected(uint32_t addr)
{
    return patterned(addr / SECTOR) ? pattern(addr) : 0xFFu;
}

static fota_flash_emu_t *source_flash(void)
{
    fota_flash_emu_t *emu = NULL;
    assert_int_equal(fota_flash_emu_open(NULL, SIZE, FOTA_FLASH_EMU_STRICT, &emu), FOTA_OK);
    uint8_t buf[SECTOR];
    for (uint32_t s = 0; s < SECTORS; s++) {
        if (patterned(s)) {
            for (uint32_t k = 0; k < SECTOR; k++) {
                buf[k] = pattern(s * SECTOR + k);
            }
            assert_int_equal(fota_flash_emu_write(emu, s * SECTOR, buf, SECTOR), FOTA_OK);
        }
    }
    return emu;
}

static fota_flash_template_t *make_template(void)
{
    fota_flash_emu_t *src = source_flash();
    fota_flash_template_t *t = NULL;
    assert_int_equal(fota_flash_emu_template(src, &t), FOTA_OK);
    assert_non_null(t);
    fota_flash_emu_close(src); /* the template is a copy: it does not need its source */
    return t;
}

static fota_flash_emu_t *open_shared(fota_flash_template_t *t, unsigned flags)
{
    fota_flash_emu_t *emu = NULL;
    assert_int_equal(fota_flash_emu_open_shared(t, flags, &emu), FOTA_OK);
    assert_non_null(emu);
    assert_int_equal(fota_flash_emu_size(emu), SIZE);
    return emu;
}

/* Every byte of emu is what the template holds, except [addr, addr + len), checked apart. */
static void assert_template_except(fota_flash_emu_t *emu, uint32_t addr, uint32_t len)
{
    static uint8_t buf[SIZE];
    assert_int_equal(fota_flash_emu_read(emu, 0, buf, SIZE), FOTA_OK);
    for (uint32_t a = 0; a < SIZE; a++) {
        if ((a < addr || a >= addr + len) && buf[a] != expected(a)) {
            fail_msg("byte 0x%05x is 0x%02x, the template holds 0x%02x", (unsigned)a, buf[a],
                     expected(a));
        }
    }
}

static void assert_template(fota_flash_emu_t *emu)
{
    assert_template_except(emu, 0, 0);
}

/* --- sharing ---------------------------------------------------------------------------------- */

static void test_reads_are_the_template(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    fota_flash_emu_t *a = open_shared(t, FOTA_FLASH_EMU_STRICT);
    fota_flash_emu_t *b = open_shared(t, 0);
    assert_template(a);
    assert_template(b);
    /* a read across a shared and an erased sector */
    uint8_t buf[64];
    assert_int_equal(fota_flash_emu_read(a, 6 * SECTOR - 32, buf, sizeof buf), FOTA_OK);
    for (uint32_t k = 0; k < sizeof buf; k++) {
        assert_int_equal(buf[k], expected(6 * SECTOR - 32 + k));
    }
    fota_flash_stats_t st;
    fota_flash_emu_stats(a, &st);
    assert_int_equal(st.reads, 2);
    assert_int_equal(st.writes, 0); /* a new flash starts with clean counters */
    fota_flash_emu_close(a);
    fota_flash_emu_close(b);
    fota_flash_template_free(t);
}

static void test_write_is_not_seen_by_the_other(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    fota_flash_emu_t *a = open_shared(t, FOTA_FLASH_EMU_STRICT);
    fota_flash_emu_t *b = open_shared(t, FOTA_FLASH_EMU_STRICT);
    /* clear bits of a shared sector (allowed in strict mode) and write an erased one */
    uint8_t zeros[100] = {0};
    assert_int_equal(fota_flash_emu_write(a, 3 * SECTOR + 10, zeros, sizeof zeros), FOTA_OK);
    assert_int_equal(fota_flash_emu_write(a, 8 * SECTOR, zeros, sizeof zeros), FOTA_OK);
    uint8_t got[100];
    assert_int_equal(fota_flash_emu_read(a, 3 * SECTOR + 10, got, sizeof got), FOTA_OK);
    assert_memory_equal(got, zeros, sizeof zeros);
    assert_int_equal(fota_flash_emu_read(a, 8 * SECTOR, got, sizeof got), FOTA_OK);
    assert_memory_equal(got, zeros, sizeof zeros);
    /* the rest of those sectors in a is still the template's */
    assert_int_equal(fota_flash_emu_read(a, 3 * SECTOR + 110, got, 1), FOTA_OK);
    assert_int_equal(got[0], expected(3 * SECTOR + 110));
    /* b, and a flash opened after the write, see the template */
    assert_template(b);
    fota_flash_emu_t *c = open_shared(t, 0);
    assert_template(c);
    fota_flash_emu_close(a);
    fota_flash_emu_close(b);
    fota_flash_emu_close(c);
    fota_flash_template_free(t);
}

static void test_strict_rules_hold_on_shared_sectors(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    fota_flash_emu_t *a = open_shared(t, FOTA_FLASH_EMU_STRICT);
    uint8_t ff[16];
    for (uint32_t k = 0; k < sizeof ff; k++) {
        ff[k] = expected(4 * SECTOR + k); /* the bytes it holds: nothing to set ... */
    }
    ff[5] |= 0x80; /* ... but here: pattern() never sets bit 7 */
    assert_int_equal(fota_flash_emu_write(a, 4 * SECTOR, ff, sizeof ff), FOTA_ERR_FLASH_NOT_ERASED);
    char want[96];
    snprintf(want, sizeof want, "write to unerased byte at 0x%08x (holds 0x%02x, wants 0x%02x)",
             4 * SECTOR + 5, expected(4 * SECTOR + 5), ff[5]);
    assert_string_equal(fota_flash_emu_last_error(a), want);
    fota_flash_stats_t st;
    fota_flash_emu_stats(a, &st);
    assert_int_equal(st.ops, 0); /* refused: nothing counted, nothing copied */
    size_t before = fota_flash_emu_memory(a);
    fota_flash_emu_set_strict(a, false);
    assert_int_equal(fota_flash_emu_write(a, 4 * SECTOR, ff, sizeof ff), FOTA_OK);
    assert_int_equal(fota_flash_emu_memory(a), before + SECTOR);
    uint8_t got[16];
    assert_int_equal(fota_flash_emu_read(a, 4 * SECTOR, got, sizeof got), FOTA_OK);
    for (uint32_t k = 0; k < sizeof got; k++) {
        assert_int_equal(got[k], expected(4 * SECTOR + k) & ff[k]); /* NOR: old AND new */
    }
    fota_flash_emu_close(a);
    fota_flash_template_free(t);
}

static void test_erase_then_write(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    fota_flash_emu_t *a = open_shared(t, FOTA_FLASH_EMU_STRICT);
    fota_flash_emu_t *b = open_shared(t, FOTA_FLASH_EMU_STRICT);
    assert_int_equal(fota_flash_emu_erase(a, 3 * SECTOR, 2 * SECTOR), FOTA_OK);
    uint8_t buf[2 * SECTOR];
    assert_int_equal(fota_flash_emu_read(a, 3 * SECTOR, buf, sizeof buf), FOTA_OK);
    for (uint32_t k = 0; k < sizeof buf; k++) {
        assert_int_equal(buf[k], 0xFF);
    }
    for (uint32_t k = 0; k < sizeof buf; k++) {
        buf[k] = (uint8_t)(0xA5u ^ k);
    }
    assert_int_equal(fota_flash_emu_write(a, 3 * SECTOR, buf, sizeof buf), FOTA_OK);
    uint8_t got[2 * SECTOR];
    assert_int_equal(fota_flash_emu_read(a, 3 * SECTOR, got, sizeof got), FOTA_OK);
    assert_memory_equal(got, buf, sizeof buf);
    assert_template_except(a, 3 * SECTOR, 2 * SECTOR);
    assert_template(b);
    fota_flash_stats_t st;
    fota_flash_emu_stats(a, &st);
    assert_int_equal(st.erases, 1);
    assert_int_equal(st.sectors_erased, 2);
    assert_int_equal(st.bytes_written, 2 * SECTOR);
    fota_flash_emu_close(a);
    fota_flash_emu_close(b);
    fota_flash_template_free(t);
}

/* --- memory ----------------------------------------------------------------------------------- */

static void test_memory_follows_what_was_written(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    /* the template holds its four patterned sectors (and a table), not the erased ones */
    assert_true(fota_flash_template_memory(t) >= 4 * SECTOR);
    assert_true(fota_flash_template_memory(t) < 5 * SECTOR);
    fota_flash_emu_t *a = open_shared(t, FOTA_FLASH_EMU_STRICT);
    size_t fresh = fota_flash_emu_memory(a);
    assert_true(fresh < 1024); /* struct and sector table only */
    uint8_t byte = 0;
    assert_int_equal(fota_flash_emu_write(a, 9 * SECTOR + 7, &byte, 1), FOTA_OK);
    assert_int_equal(fota_flash_emu_memory(a), fresh + SECTOR);
    assert_int_equal(fota_flash_emu_write(a, 9 * SECTOR + 8, &byte, 1), FOTA_OK);
    assert_int_equal(fota_flash_emu_memory(a), fresh + SECTOR); /* the same sector */
    /* a write across two sectors copies both */
    uint8_t two[8] = {0};
    assert_int_equal(fota_flash_emu_write(a, 12 * SECTOR - 4, two, sizeof two), FOTA_OK);
    assert_int_equal(fota_flash_emu_memory(a), fresh + 3 * SECTOR);
    /* erasing a shared sector costs nothing; erasing an own copy gives its memory back */
    assert_int_equal(fota_flash_emu_erase(a, 0, SECTOR), FOTA_OK);
    assert_int_equal(fota_flash_emu_memory(a), fresh + 3 * SECTOR);
    assert_int_equal(fota_flash_emu_erase(a, 9 * SECTOR, 3 * SECTOR), FOTA_OK);
    assert_int_equal(fota_flash_emu_memory(a), fresh + SECTOR); /* 12 is still written */
    assert_int_equal(fota_flash_emu_erase(a, 12 * SECTOR, SECTOR), FOTA_OK);
    assert_int_equal(fota_flash_emu_memory(a), fresh);
    /* an ordinary in-memory flash holds all of it */
    fota_flash_emu_t *plain = source_flash();
    assert_true(fota_flash_emu_memory(plain) >= SIZE);
    fota_flash_emu_close(plain);
    fota_flash_emu_close(a);
    fota_flash_template_free(t);
}

static void test_template_outlives_its_free(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    fota_flash_emu_t *a = open_shared(t, 0);
    fota_flash_emu_t *b = open_shared(t, 0);
    fota_flash_template_free(t); /* released: its memory stays while a and b use it */
    fota_flash_emu_close(a);
    assert_template(b);
    fota_flash_emu_close(b); /* the last one: the template goes now (valgrind, ASan check) */
    fota_flash_template_free(NULL);
}

static void test_open_shared_errors(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    fota_flash_emu_t *emu = (fota_flash_emu_t *)&emu;
    assert_int_equal(fota_flash_emu_open_shared(NULL, 0, &emu), FOTA_ERR_ARG);
    assert_null(emu);
    assert_int_equal(fota_flash_emu_open_shared(t, FOTA_FLASH_EMU_CREATE, &emu), FOTA_ERR_ARG);
    assert_int_equal(fota_flash_emu_open_shared(t, 0, NULL), FOTA_ERR_ARG);
    assert_int_equal(fota_flash_emu_template(NULL, &t), FOTA_ERR_ARG);
    fota_flash_template_free(t);
}

/* A template of a file-backed flash: the file is the source, never written by the sharers. */
static void test_template_of_a_file(void **state)
{
    (void)state;
    const char *dir = getenv("FOTA_TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/test_flash_sectors.%ld.bin",
             dir != NULL && dir[0] != '\0' ? dir : "/tmp", (long)getpid());
    fota_flash_emu_t *file = NULL;
    assert_int_equal(fota_flash_emu_open(path, SIZE, FOTA_FLASH_EMU_CREATE, &file), FOTA_OK);
    uint8_t v = 0x42;
    assert_int_equal(fota_flash_emu_write(file, 5, &v, 1), FOTA_OK);
    fota_flash_template_t *t = NULL;
    assert_int_equal(fota_flash_emu_template(file, &t), FOTA_OK);
    fota_flash_emu_t *a = open_shared(t, 0);
    uint8_t z = 0;
    assert_int_equal(fota_flash_emu_write(a, 5, &z, 1), FOTA_OK);
    uint8_t got = 0;
    assert_int_equal(fota_flash_emu_read(file, 5, &got, 1), FOTA_OK);
    assert_int_equal(got, 0x42);
    assert_int_equal(fota_flash_emu_read(a, 5, &got, 1), FOTA_OK);
    assert_int_equal(got, 0);
    fota_flash_emu_close(a);
    fota_flash_template_free(t);
    fota_flash_emu_close(file);
    unlink(path);
}

/* --- power cuts on shared sectors ------------------------------------------------------------- */

static void test_torn_first_write_of_a_shared_sector(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    fota_flash_emu_t *a = open_shared(t, FOTA_FLASH_EMU_STRICT);
    fota_flash_emu_t *b = open_shared(t, FOTA_FLASH_EMU_STRICT);
    uint8_t zeros[3 * SECTOR] = {0};
    fota_flash_emu_plan_cut(a, 0, FOTA_CUT_TORN, 77);
    /* the write spans shared sectors 3, 4, 5 and starts mid-sector into 6 (erased) */
    uint32_t addr = 3 * SECTOR + 100;
    assert_int_equal(fota_flash_emu_write(a, addr, zeros, sizeof zeros), FOTA_ERR_FLASH_POWER_CUT);
    fota_flash_cut_info_t ci;
    fota_flash_emu_last_cut(a, &ci);
    assert_true(ci.happened);
    assert_true(ci.done < sizeof zeros);
    assert_int_equal(fota_flash_emu_read(b, 0, zeros, 1), FOTA_OK); /* b is on */
    assert_template(b);
    fota_flash_emu_power_on(a);
    assert_template_except(a, addr, ci.done); /* the prefix, and only it, is written in a */
    uint8_t *got = malloc(ci.done + 1u);
    assert_non_null(got);
    assert_int_equal(fota_flash_emu_read(a, addr, got, ci.done + 1u), FOTA_OK);
    for (uint32_t k = 0; k < ci.done; k++) {
        assert_int_equal(got[k], 0);
    }
    free(got);
    fota_flash_emu_t *c = open_shared(t, 0);
    assert_template(c);
    fota_flash_emu_close(a);
    fota_flash_emu_close(b);
    fota_flash_emu_close(c);
    fota_flash_template_free(t);
}

static void test_clean_cut_first_write_copies_nothing_visible(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    fota_flash_emu_t *a = open_shared(t, FOTA_FLASH_EMU_STRICT);
    uint8_t zeros[64] = {0};
    fota_flash_emu_plan_cut(a, 0, FOTA_CUT_BEFORE, 1);
    assert_int_equal(fota_flash_emu_write(a, 0, zeros, sizeof zeros), FOTA_ERR_FLASH_POWER_CUT);
    fota_flash_emu_power_on(a);
    assert_template(a);
    fota_flash_emu_close(a);
    fota_flash_template_free(t);
}

static void test_torn_erase_of_shared_sectors(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    for (uint64_t seed = 1; seed <= 8; seed++) {
        fota_flash_emu_t *a = open_shared(t, FOTA_FLASH_EMU_STRICT);
        fota_flash_emu_t *b = open_shared(t, FOTA_FLASH_EMU_STRICT);
        fota_flash_emu_plan_cut(a, 0, FOTA_CUT_TORN, seed);
        assert_int_equal(fota_flash_emu_erase(a, 3 * SECTOR, 3 * SECTOR), FOTA_ERR_FLASH_POWER_CUT);
        fota_flash_cut_info_t ci;
        fota_flash_emu_last_cut(a, &ci);
        fota_flash_emu_power_on(a);
        /* sectors before the torn one are erased, the torn one starts with its 0xFF run, then
         * garbage, then its template bytes; the rest of a is the template's */
        uint32_t torn = ci.torn_addr;
        assert_int_equal(torn, 3 * SECTOR + ci.done);
        uint32_t kept = ci.erased_len + ci.garbage_len;
        assert_template_except(a, 3 * SECTOR, ci.done + kept);
        uint8_t buf[SECTOR];
        assert_int_equal(fota_flash_emu_read(a, torn, buf, SECTOR), FOTA_OK);
        for (uint32_t k = 0; k < ci.erased_len; k++) {
            assert_int_equal(buf[k], 0xFF);
        }
        for (uint32_t at = 3 * SECTOR; at < torn; at += SECTOR) {
            assert_int_equal(fota_flash_emu_read(a, at, buf, SECTOR), FOTA_OK);
            for (uint32_t k = 0; k < SECTOR; k++) {
                assert_int_equal(buf[k], 0xFF);
            }
        }
        assert_template(b);
        fota_flash_emu_close(a);
        fota_flash_emu_close(b);
    }
    fota_flash_template_free(t);
}

/* --- the same behaviour as an ordinary flash ---------------------------------------------------
 */

typedef struct {
    uint64_t s;
} rng_t;

static uint32_t rnd(rng_t *r, uint32_t n)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((r->s >> 33) % n);
}

/* Both flashes hold the same bytes, counters, cut report and last error. The bytes are read
 * only while no cut is planned (the reads would move its countdown) and the power is on. */
static void assert_same(fota_flash_emu_t *plain, fota_flash_emu_t *shared, bool armed,
                        unsigned step)
{
    fota_flash_stats_t sp, ss;
    fota_flash_emu_stats(plain, &sp);
    fota_flash_emu_stats(shared, &ss);
    assert_memory_equal(&sp, &ss, sizeof sp);
    fota_flash_cut_info_t cp, cs;
    fota_flash_emu_last_cut(plain, &cp);
    fota_flash_emu_last_cut(shared, &cs);
    assert_memory_equal(&cp, &cs, sizeof cp);
    assert_string_equal(fota_flash_emu_last_error(plain), fota_flash_emu_last_error(shared));
    assert_int_equal(fota_flash_emu_is_cut(plain), fota_flash_emu_is_cut(shared));
    if (armed || fota_flash_emu_is_cut(plain)) {
        return;
    }
    static uint8_t a[SIZE], b[SIZE];
    assert_int_equal(fota_flash_emu_read(plain, 0, a, SIZE), FOTA_OK);
    assert_int_equal(fota_flash_emu_read(shared, 0, b, SIZE), FOTA_OK);
    if (memcmp(a, b, SIZE) != 0) {
        fail_msg("the flashes differ after step %u", step);
    }
}

/* One random operation, on both; the same result from both. *armed: a cut is planned. */
static void random_step(rng_t *r, fota_flash_emu_t *f[2], uint8_t *data, bool *armed)
{
    uint32_t op = rnd(r, 10);
    uint32_t addr = rnd(r, SIZE);
    uint32_t len = rnd(r, 3) == 0 ? rnd(r, 3 * SECTOR) : rnd(r, 300);
    fota_err_t e[2];
    if (op < 4) {
        for (uint32_t k = 0; k < len; k++) {
            data[k] = rnd(r, 4) == 0 ? 0xFF : (uint8_t)rnd(r, 256);
        }
        for (int i = 0; i < 2; i++) {
            e[i] = fota_flash_emu_write(f[i], addr, data, len);
        }
    } else if (op < 6) {
        uint32_t first = rnd(r, SECTORS);
        uint32_t count = 1u + rnd(r, rnd(r, 4) == 0 ? SECTORS : 3u);
        uint32_t a = first * SECTOR, n = count * SECTOR - (rnd(r, 20) == 0 ? 1u : 0u);
        for (int i = 0; i < 2; i++) {
            e[i] = fota_flash_emu_erase(f[i], a, n);
        }
    } else if (op < 8) {
        static uint8_t out[2][3 * SECTOR];
        for (int i = 0; i < 2; i++) {
            e[i] = fota_flash_emu_read(f[i], addr, out[i], len);
        }
        if (e[0] == FOTA_OK) {
            assert_memory_equal(out[0], out[1], len);
        }
    } else if (op == 8) {
        uint64_t k = rnd(r, 4), seed = rnd(r, 1000);
        fota_cut_mode_t mode = rnd(r, 2) ? FOTA_CUT_TORN : FOTA_CUT_BEFORE;
        bool strict = rnd(r, 3) != 0;
        for (int i = 0; i < 2; i++) {
            fota_flash_emu_plan_cut(f[i], k, mode, seed);
            fota_flash_emu_set_strict(f[i], strict);
        }
        *armed = true;
        return;
    } else {
        for (int i = 0; i < 2; i++) {
            fota_flash_emu_power_on(f[i]);
        }
        return;
    }
    assert_int_equal(e[0], e[1]);
    fota_flash_cut_info_t ci;
    fota_flash_emu_last_cut(f[0], &ci);
    *armed = *armed && !ci.happened; /* planning clears the report; the cut fills it */
}

static void test_same_as_an_ordinary_flash(void **state)
{
    (void)state;
    fota_flash_template_t *t = make_template();
    uint8_t *data = malloc(3 * SECTOR);
    assert_non_null(data);
    for (uint64_t run = 1; run <= 40; run++) {
        rng_t r = {run};
        fota_flash_emu_t *f[2] = {source_flash(), open_shared(t, FOTA_FLASH_EMU_STRICT)};
        fota_flash_emu_reset_stats(f[0]);
        bool armed = false;
        for (unsigned step = 0; step < 200; step++) {
            random_step(&r, f, data, &armed);
            assert_same(f[0], f[1], armed, step);
        }
        fota_flash_emu_cancel_cut(f[0]);
        fota_flash_emu_cancel_cut(f[1]);
        fota_flash_emu_power_on(f[0]);
        fota_flash_emu_power_on(f[1]);
        assert_same(f[0], f[1], false, 200);
        fota_flash_emu_close(f[0]);
        fota_flash_emu_close(f[1]);
    }
    fota_flash_emu_t *after = open_shared(t, 0);
    assert_template(after); /* 8,000 operations on its sharers left the template as it was */
    fota_flash_emu_close(after);
    free(data);
    fota_flash_template_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_are_the_template),
        cmocka_unit_test(test_write_is_not_seen_by_the_other),
        cmocka_unit_test(test_strict_rules_hold_on_shared_sectors),
        cmocka_unit_test(test_erase_then_write),
        cmocka_unit_test(test_memory_follows_what_was_written),
        cmocka_unit_test(test_template_outlives_its_free),
        cmocka_unit_test(test_open_shared_errors),
        cmocka_unit_test(test_template_of_a_file),
        cmocka_unit_test(test_torn_first_write_of_a_shared_sector),
        cmocka_unit_test(test_clean_cut_first_write_copies_nothing_visible),
        cmocka_unit_test(test_torn_erase_of_shared_sectors),
        cmocka_unit_test(test_same_as_an_ordinary_flash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
