/*
 * test_flash_emu.c - the emulated ESP32 NOR flash: file persistence, bounds and alignment, NOR
 * rules in strict and non-strict mode, counters, and power cuts (before, torn write, torn erase).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fota/emu/flash_emu.h"

#define SECTOR FOTA_FLASH_SECTOR_SIZE
#define SMALL (16u * SECTOR) /* 64 KB: enough for every test, fast to scan */

static void tmp_path(char *buf, size_t size, const char *name)
{
    const char *dir = getenv("FOTA_TMPDIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = "/tmp";
    }
    snprintf(buf, size, "%s/test_flash_emu.%ld.%s.bin", dir, (long)getpid(), name);
}

static fota_flash_emu_t *open_mem(unsigned flags)
{
    fota_flash_emu_t *emu = NULL;
    assert_int_equal(fota_flash_emu_open(NULL, SMALL, flags, &emu), FOTA_OK);
    assert_non_null(emu);
    return emu;
}

static void assert_all(const uint8_t *p, size_t len, uint8_t value)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != value) {
            fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, p[i], value);
        }
    }
}

static void assert_flash_all(fota_flash_emu_t *emu, uint32_t addr, uint32_t len, uint8_t value)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(fota_flash_emu_read(emu, addr, buf, len), FOTA_OK);
    assert_all(buf, len, value);
    free(buf);
}

static void fill(fota_flash_emu_t *emu, uint32_t addr, uint32_t len, uint8_t value)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    memset(buf, value, len);
    assert_int_equal(fota_flash_emu_write(emu, addr, buf, len), FOTA_OK);
    free(buf);
}

/* The raw bytes of the file at offset, read without the emulator. */
static void file_bytes(const char *path, long offset, uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, offset, SEEK_SET), 0);
    assert_int_equal(fread(buf, 1, len, f), len);
    fclose(f);
}

/* --- files ------------------------------------------------------------------------------------ */

static void test_create_is_erased_4mb_file(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "fresh");
    fota_flash_emu_t *emu = NULL;
    assert_int_equal(
        fota_flash_emu_open(path, FOTA_FLASH_EMU_DEFAULT_SIZE, FOTA_FLASH_EMU_CREATE, &emu),
        FOTA_OK);
    assert_int_equal(fota_flash_emu_size(emu), FOTA_FLASH_EMU_DEFAULT_SIZE);
    assert_flash_all(emu, 0, FOTA_FLASH_EMU_DEFAULT_SIZE, 0xFF);
    fota_flash_emu_close(emu);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, FOTA_FLASH_EMU_DEFAULT_SIZE);
    uint8_t *raw = malloc(FOTA_FLASH_EMU_DEFAULT_SIZE);
    assert_non_null(raw);
    file_bytes(path, 0, raw, FOTA_FLASH_EMU_DEFAULT_SIZE);
    assert_all(raw, FOTA_FLASH_EMU_DEFAULT_SIZE, 0xFF);
    free(raw);
    unlink(path);
}

static void test_round_trip_through_file(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "roundtrip");
    fota_flash_emu_t *emu = NULL;
    assert_int_equal(fota_flash_emu_open(path, SMALL, FOTA_FLASH_EMU_CREATE, &emu), FOTA_OK);
    const uint8_t data[] = {0xE9, 0x03, 0x02, 0x20, 0x00, 0x12, 0x34, 0x56};
    assert_int_equal(fota_flash_emu_write(emu, 0x1234, data, sizeof data), FOTA_OK);
    assert_int_equal(fota_flash_emu_sync(emu), FOTA_OK);
    fota_flash_emu_close(emu);

    uint8_t raw[sizeof data + 2];
    file_bytes(path, 0x1233, raw, sizeof raw);
    assert_int_equal(raw[0], 0xFF);
    assert_memory_equal(raw + 1, data, sizeof data);
    assert_int_equal(raw[sizeof data + 1], 0xFF);

    /* Reopen taking the file's size, then with the size given. */
    assert_int_equal(fota_flash_emu_open(path, 0, 0, &emu), FOTA_OK);
    assert_int_equal(fota_flash_emu_size(emu), SMALL);
    uint8_t back[sizeof data];
    assert_int_equal(fota_flash_emu_read(emu, 0x1234, back, sizeof back), FOTA_OK);
    assert_memory_equal(back, data, sizeof data);
    fota_flash_emu_close(emu);
    assert_int_equal(fota_flash_emu_open(path, SMALL, 0, &emu), FOTA_OK);
    fota_flash_emu_close(emu);
    unlink(path);
}

/* A write that has returned is in the file even if the process dies right after it. */
static void test_write_survives_kill(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "kill");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fota_flash_emu_t *emu = NULL;
        if (fota_flash_emu_open(path, SMALL, FOTA_FLASH_EMU_CREATE, &emu) != FOTA_OK ||
            fota_flash_emu_erase(emu, 0, SECTOR) != FOTA_OK ||
            fota_flash_emu_write(emu, 100, "\x11\x22\x33", 3) != FOTA_OK) {
            _exit(1);
        }
        raise(SIGKILL);
        _exit(2);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    uint8_t raw[5];
    file_bytes(path, 99, raw, sizeof raw);
    assert_memory_equal(raw, "\xFF\x11\x22\x33\xFF", 5);
    unlink(path);
}

static void test_open_errors(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "errors");
    fota_flash_emu_t *emu = (fota_flash_emu_t *)&emu; /* must be reset to NULL on failure */
    unlink(path);
    assert_int_equal(fota_flash_emu_open(path, 0, 0, &emu), FOTA_ERR_FLASH_FILE);
    assert_null(emu);
    assert_int_equal(fota_flash_emu_open(NULL, 0, 0, &emu), FOTA_ERR_FLASH_SIZE);
    assert_int_equal(fota_flash_emu_open(NULL, SECTOR + 1, 0, &emu), FOTA_ERR_FLASH_SIZE);
    assert_int_equal(fota_flash_emu_open(path, 1000, FOTA_FLASH_EMU_CREATE, &emu),
                     FOTA_ERR_FLASH_SIZE);
    assert_int_equal(fota_flash_emu_open(path, 0, FOTA_FLASH_EMU_CREATE, &emu),
                     FOTA_ERR_FLASH_SIZE);

    /* A file of the wrong size, and a size that does not match the file. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite("0123456789", 1, 10, f), 10);
    fclose(f);
    assert_int_equal(fota_flash_emu_open(path, 0, 0, &emu), FOTA_ERR_FLASH_SIZE);
    assert_int_equal(fota_flash_emu_open(path, SMALL, FOTA_FLASH_EMU_CREATE, &emu), FOTA_OK);
    fota_flash_emu_close(emu);
    assert_int_equal(fota_flash_emu_open(path, 2 * SMALL, 0, &emu), FOTA_ERR_FLASH_SIZE);
    assert_null(emu);
    assert_int_equal(fota_flash_emu_open(path, 0, 0, NULL), FOTA_ERR_ARG);
    unlink(path);
}

static void test_in_memory(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(FOTA_FLASH_EMU_STRICT);
    assert_int_equal(fota_flash_emu_size(emu), SMALL);
    assert_flash_all(emu, 0, SMALL, 0xFF);
    fill(emu, SECTOR, 10, 0x42);
    assert_flash_all(emu, SECTOR, 10, 0x42);
    assert_int_equal(fota_flash_emu_sync(emu), FOTA_OK);
    assert_int_equal(fota_flash_emu_erase(emu, SECTOR, SECTOR), FOTA_OK);
    assert_flash_all(emu, SECTOR, SECTOR, 0xFF);
    fota_flash_emu_close(emu);
    fota_flash_emu_close(NULL);
}

static void test_port(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(0);
    fota_flash_t port = fota_flash_emu_port(emu);
    assert_ptr_equal(port.ctx, emu);
    assert_int_equal(port.size, SMALL);
    assert_int_equal(port.sector_size, SECTOR);
    assert_int_equal(fota_flash_write(&port, 8, "\x01\x02", 2), FOTA_OK);
    uint8_t b[2];
    assert_int_equal(fota_flash_read(&port, 8, b, 2), FOTA_OK);
    assert_memory_equal(b, "\x01\x02", 2);
    assert_int_equal(fota_flash_erase(&port, 0, SECTOR), FOTA_OK);
    assert_int_equal(fota_flash_read(&port, 8, b, 2), FOTA_OK);
    assert_memory_equal(b, "\xFF\xFF", 2);
    assert_int_equal(fota_flash_erase(&port, 1, SECTOR), FOTA_ERR_FLASH_ALIGN);
    fota_flash_emu_close(emu);
}

/* --- bounds and alignment --------------------------------------------------------------------- */

static void test_bounds(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(0);
    uint8_t b[8] = {0};
    assert_int_equal(fota_flash_emu_read(emu, SMALL - 8, b, 8), FOTA_OK);
    assert_int_equal(fota_flash_emu_read(emu, SMALL - 7, b, 8), FOTA_ERR_FLASH_BOUNDS);
    assert_non_null(strstr(fota_flash_emu_last_error(emu), "0x0000fff9"));
    assert_int_equal(fota_flash_emu_read(emu, SMALL, b, 0), FOTA_OK);
    assert_int_equal(fota_flash_emu_read(emu, SMALL, b, 1), FOTA_ERR_FLASH_BOUNDS);
    assert_int_equal(fota_flash_emu_read(emu, UINT32_MAX, b, 2), FOTA_ERR_FLASH_BOUNDS);
    assert_int_equal(fota_flash_emu_write(emu, SMALL - 8, b, 8), FOTA_OK);
    assert_int_equal(fota_flash_emu_write(emu, SMALL - 4, b, 8), FOTA_ERR_FLASH_BOUNDS);
    assert_int_equal(fota_flash_emu_write(emu, UINT32_MAX, b, 1), FOTA_ERR_FLASH_BOUNDS);
    assert_int_equal(fota_flash_emu_erase(emu, SMALL - SECTOR, SECTOR), FOTA_OK);
    assert_int_equal(fota_flash_emu_erase(emu, SMALL, SECTOR), FOTA_ERR_FLASH_BOUNDS);
    assert_int_equal(fota_flash_emu_erase(emu, SMALL - SECTOR, 2 * SECTOR), FOTA_ERR_FLASH_BOUNDS);
    assert_int_equal(fota_flash_emu_erase(emu, 0xFFFFF000u, 2 * SECTOR), FOTA_ERR_FLASH_BOUNDS);

    /* Rejected operations touch nothing and are not counted. */
    fota_flash_stats_t st;
    fota_flash_emu_stats(emu, &st);
    assert_int_equal(st.ops, 4);
    assert_int_equal(st.reads, 2);
    assert_int_equal(st.writes, 1);
    assert_int_equal(st.erases, 1);
    fota_flash_emu_close(emu);
}

static void test_erase_alignment(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(0);
    fill(emu, 0, 3 * SECTOR, 0x00);
    assert_int_equal(fota_flash_emu_erase(emu, 1, SECTOR), FOTA_ERR_FLASH_ALIGN);
    assert_int_equal(fota_flash_emu_erase(emu, SECTOR, SECTOR - 1), FOTA_ERR_FLASH_ALIGN);
    assert_int_equal(fota_flash_emu_erase(emu, SECTOR / 2, SECTOR / 2), FOTA_ERR_FLASH_ALIGN);
    assert_non_null(strstr(fota_flash_emu_last_error(emu), "0x00000800"));
    assert_flash_all(emu, 0, 3 * SECTOR, 0x00);

    /* A two-sector erase clears exactly those sectors. */
    assert_int_equal(fota_flash_emu_erase(emu, SECTOR, 2 * SECTOR), FOTA_OK);
    assert_flash_all(emu, 0, SECTOR, 0x00);
    assert_flash_all(emu, SECTOR, 2 * SECTOR, 0xFF);
    assert_int_equal(fota_flash_emu_erase(emu, 0, 0), FOTA_OK);
    assert_flash_all(emu, 0, SECTOR, 0x00);
    fota_flash_emu_close(emu);
}

/* --- NOR rules -------------------------------------------------------------------------------- */

static void test_strict_refuses_unerased(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(FOTA_FLASH_EMU_STRICT);
    assert_int_equal(fota_flash_emu_write(emu, 0x2345, "\x0F", 1), FOTA_OK);

    /* Bytes before the offending one are fine, but nothing of the write may land. */
    const uint8_t data[4] = {0x11, 0x22, 0xF0, 0x44};
    assert_int_equal(fota_flash_emu_write(emu, 0x2343, data, sizeof data),
                     FOTA_ERR_FLASH_NOT_ERASED);
    assert_non_null(strstr(fota_flash_emu_last_error(emu), "write to unerased byte at 0x00002345"));
    uint8_t back[4];
    assert_int_equal(fota_flash_emu_read(emu, 0x2343, back, sizeof back), FOTA_OK);
    assert_memory_equal(back, "\xFF\xFF\x0F\xFF", 4);

    /* Clearing more bits of a written byte is allowed, as is rewriting the same value. */
    assert_int_equal(fota_flash_emu_write(emu, 0x2345, "\x0F", 1), FOTA_OK);
    assert_int_equal(fota_flash_emu_write(emu, 0x2345, "\x05", 1), FOTA_OK);
    assert_int_equal(fota_flash_emu_read(emu, 0x2345, back, 1), FOTA_OK);
    assert_int_equal(back[0], 0x05);
    assert_int_equal(fota_flash_emu_write(emu, 0x2345, "\x07", 1), FOTA_ERR_FLASH_NOT_ERASED);

    /* After an erase the same write goes through. */
    assert_int_equal(fota_flash_emu_erase(emu, 0x2000, SECTOR), FOTA_OK);
    assert_int_equal(fota_flash_emu_write(emu, 0x2343, data, sizeof data), FOTA_OK);
    assert_int_equal(fota_flash_emu_read(emu, 0x2343, back, sizeof back), FOTA_OK);
    assert_memory_equal(back, data, sizeof data);
    fota_flash_emu_close(emu);
}

static void test_non_strict_ands(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(0);
    assert_int_equal(fota_flash_emu_write(emu, 10, "\x0F\xFF", 2), FOTA_OK);
    assert_int_equal(fota_flash_emu_write(emu, 10, "\xF3\x5A", 2), FOTA_OK);
    uint8_t back[2];
    assert_int_equal(fota_flash_emu_read(emu, 10, back, 2), FOTA_OK);
    assert_memory_equal(back, "\x03\x5A", 2);

    /* Switching strict mode on makes the same kind of write an error. */
    fota_flash_emu_set_strict(emu, true);
    assert_int_equal(fota_flash_emu_write(emu, 10, "\xFF\xFF", 2), FOTA_ERR_FLASH_NOT_ERASED);
    assert_non_null(strstr(fota_flash_emu_last_error(emu), "0x0000000a"));
    fota_flash_emu_set_strict(emu, false);
    assert_int_equal(fota_flash_emu_write(emu, 11, "\xFF", 1), FOTA_OK);
    assert_int_equal(fota_flash_emu_read(emu, 10, back, 2), FOTA_OK);
    assert_memory_equal(back, "\x03\x5A", 2);
    fota_flash_emu_close(emu);
}

/* --- counters --------------------------------------------------------------------------------- */

static void test_counters(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(FOTA_FLASH_EMU_STRICT);
    uint8_t buf[100] = {0};
    assert_int_equal(fota_flash_emu_write(emu, 0, buf, 100), FOTA_OK);
    assert_int_equal(fota_flash_emu_write(emu, 200, buf, 7), FOTA_OK);
    assert_int_equal(fota_flash_emu_read(emu, 0, buf, 50), FOTA_OK);
    assert_int_equal(fota_flash_emu_erase(emu, 0, 3 * SECTOR), FOTA_OK);
    assert_int_equal(fota_flash_emu_erase(emu, 5 * SECTOR, SECTOR), FOTA_OK);
    assert_int_equal(fota_flash_emu_read(emu, 0, buf, 1), FOTA_OK);
    fota_flash_stats_t st;
    fota_flash_emu_stats(emu, &st);
    assert_int_equal(st.ops, 6);
    assert_int_equal(st.reads, 2);
    assert_int_equal(st.writes, 2);
    assert_int_equal(st.erases, 2);
    assert_int_equal(st.sectors_erased, 4);
    assert_int_equal(st.bytes_read, 51);
    assert_int_equal(st.bytes_written, 107);
    assert_int_equal(st.power_cuts, 0);

    fota_flash_emu_reset_stats(emu);
    fota_flash_emu_stats(emu, &st);
    assert_int_equal(st.ops, 0);
    assert_int_equal(st.bytes_written, 0);
    assert_int_equal(st.sectors_erased, 0);
    fota_flash_emu_close(emu);
}

/* --- power cuts ------------------------------------------------------------------------------- */

static void test_cut_before(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(FOTA_FLASH_EMU_STRICT);
    fota_flash_emu_plan_cut(emu, 2, FOTA_CUT_BEFORE, 1);
    uint8_t b[4];
    assert_int_equal(fota_flash_emu_write(emu, 0, "\x01\x02\x03\x04", 4), FOTA_OK); /* op 0 */
    assert_int_equal(fota_flash_emu_read(emu, 0, b, 4), FOTA_OK);                   /* op 1 */
    assert_false(fota_flash_emu_is_cut(emu));
    assert_int_equal(fota_flash_emu_write(emu, 4, "\x05\x06", 2), FOTA_ERR_FLASH_POWER_CUT);
    assert_true(fota_flash_emu_is_cut(emu));
    assert_non_null(strstr(fota_flash_emu_last_error(emu), "power cut"));

    /* Everything fails while the power is off, reads included, and is not counted. */
    assert_int_equal(fota_flash_emu_read(emu, 0, b, 4), FOTA_ERR_FLASH_POWER_CUT);
    assert_int_equal(fota_flash_emu_write(emu, 8, "\x00", 1), FOTA_ERR_FLASH_POWER_CUT);
    assert_int_equal(fota_flash_emu_erase(emu, 0, SECTOR), FOTA_ERR_FLASH_POWER_CUT);
    fota_flash_stats_t st;
    fota_flash_emu_stats(emu, &st);
    assert_int_equal(st.ops, 3);
    assert_int_equal(st.power_cuts, 1);
    assert_int_equal(st.bytes_written, 4);

    fota_flash_cut_info_t info;
    fota_flash_emu_last_cut(emu, &info);
    assert_true(info.happened);
    assert_int_equal(info.op, FOTA_FLASH_OP_WRITE);
    assert_int_equal(info.addr, 4);
    assert_int_equal(info.len, 2);
    assert_int_equal(info.done, 0);

    fota_flash_emu_power_on(emu);
    assert_false(fota_flash_emu_is_cut(emu));
    uint8_t back[8];
    assert_int_equal(fota_flash_emu_read(emu, 0, back, 8), FOTA_OK);
    assert_memory_equal(back, "\x01\x02\x03\x04\xFF\xFF\xFF\xFF", 8);
    /* The cut fired once: the flash works again. */
    assert_int_equal(fota_flash_emu_write(emu, 4, "\x05\x06", 2), FOTA_OK);
    assert_int_equal(fota_flash_emu_erase(emu, 0, SECTOR), FOTA_OK);
    fota_flash_emu_close(emu);
}

static void test_cut_before_next_erase(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(0);
    fill(emu, 0, 2 * SECTOR, 0x00);
    fota_flash_emu_plan_cut(emu, 0, FOTA_CUT_BEFORE, 7);
    /* A rejected call does not use up the planned operation. */
    assert_int_equal(fota_flash_emu_erase(emu, 1, SECTOR), FOTA_ERR_FLASH_ALIGN);
    assert_false(fota_flash_emu_is_cut(emu));
    assert_int_equal(fota_flash_emu_erase(emu, 0, 2 * SECTOR), FOTA_ERR_FLASH_POWER_CUT);
    fota_flash_emu_power_on(emu);
    assert_flash_all(emu, 0, 2 * SECTOR, 0x00);
    fota_flash_stats_t st;
    fota_flash_emu_stats(emu, &st);
    assert_int_equal(st.sectors_erased, 0);
    fota_flash_emu_close(emu);
}

static void test_cut_on_read_and_cancel(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(0);
    uint8_t b[4];
    fota_flash_emu_plan_cut(emu, 1, FOTA_CUT_TORN, 3);
    fota_flash_emu_cancel_cut(emu);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fota_flash_emu_read(emu, 0, b, 4), FOTA_OK);
    }
    fota_flash_emu_plan_cut(emu, 1, FOTA_CUT_TORN, 3);
    assert_int_equal(fota_flash_emu_read(emu, 0, b, 4), FOTA_OK);
    assert_int_equal(fota_flash_emu_read(emu, 0, b, 4), FOTA_ERR_FLASH_POWER_CUT);
    assert_true(fota_flash_emu_is_cut(emu));
    fota_flash_emu_power_on(emu);
    assert_int_equal(fota_flash_emu_read(emu, 0, b, 4), FOTA_OK);
    fota_flash_emu_close(emu);
}

#define TORN_LEN 1000u
#define TORN_ADDR 0x3010u

/*
 * Old bytes 0xF0 (written in non-strict mode), new bytes 0x3C: a torn write leaves a prefix of
 * 0x30 (old AND new) then 0xF0. Returns the prefix length; the flash contents go to out.
 */
static uint32_t torn_write(uint64_t seed, uint8_t *out)
{
    fota_flash_emu_t *emu = open_mem(0);
    fill(emu, TORN_ADDR, TORN_LEN, 0xF0);
    uint8_t data[TORN_LEN];
    memset(data, 0x3C, sizeof data);
    fota_flash_emu_plan_cut(emu, 1, FOTA_CUT_TORN, seed);
    assert_int_equal(fota_flash_emu_read(emu, 0, out, 1), FOTA_OK);
    assert_int_equal(fota_flash_emu_write(emu, TORN_ADDR, data, sizeof data),
                     FOTA_ERR_FLASH_POWER_CUT);
    fota_flash_cut_info_t info;
    fota_flash_emu_last_cut(emu, &info);
    assert_true(info.happened);
    assert_int_equal(info.mode, FOTA_CUT_TORN);
    assert_int_equal(info.op, FOTA_FLASH_OP_WRITE);
    assert_true(info.done < TORN_LEN);
    fota_flash_stats_t st;
    fota_flash_emu_stats(emu, &st);
    assert_int_equal(st.bytes_written, TORN_LEN + info.done);
    assert_int_equal(st.power_cuts, 1);
    fota_flash_emu_power_on(emu);
    assert_int_equal(fota_flash_emu_read(emu, 0, out, SMALL), FOTA_OK);
    fota_flash_emu_close(emu);
    return info.done;
}

static void test_torn_write(void **state)
{
    (void)state;
    uint8_t *a = malloc(SMALL);
    uint8_t *b = malloc(SMALL);
    assert_non_null(a);
    assert_non_null(b);
    uint32_t prefix = torn_write(42, a);
    assert_all(a, TORN_ADDR, 0xFF);
    assert_all(a + TORN_ADDR, prefix, 0x30);
    assert_all(a + TORN_ADDR + prefix, TORN_LEN - prefix, 0xF0);
    assert_all(a + TORN_ADDR + TORN_LEN, SMALL - TORN_ADDR - TORN_LEN, 0xFF);

    /* Same seed, same flash; other seeds, other prefixes. */
    assert_int_equal(torn_write(42, b), prefix);
    assert_memory_equal(a, b, SMALL);
    unsigned differ = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        differ += torn_write(seed, b) != prefix;
    }
    assert_true(differ >= 3);
    free(a);
    free(b);
}

/* Four sectors of 0x00, then a four-sector erase cut by TORN at op 0. */
static void torn_erase(uint64_t seed, uint8_t *out, fota_flash_cut_info_t *info)
{
    fota_flash_emu_t *emu = open_mem(FOTA_FLASH_EMU_STRICT);
    fill(emu, 2 * SECTOR, 4 * SECTOR, 0x00);
    fota_flash_emu_plan_cut(emu, 0, FOTA_CUT_TORN, seed);
    assert_int_equal(fota_flash_emu_erase(emu, 2 * SECTOR, 4 * SECTOR), FOTA_ERR_FLASH_POWER_CUT);
    assert_true(fota_flash_emu_is_cut(emu));
    fota_flash_emu_last_cut(emu, info);
    fota_flash_stats_t st;
    fota_flash_emu_stats(emu, &st);
    assert_int_equal(st.sectors_erased, info->done / SECTOR);
    fota_flash_emu_power_on(emu);
    assert_int_equal(fota_flash_emu_read(emu, 0, out, SMALL), FOTA_OK);
    fota_flash_emu_close(emu);
}

static void check_torn_erase(const uint8_t *flash, const fota_flash_cut_info_t *info)
{
    assert_true(info->happened);
    assert_int_equal(info->op, FOTA_FLASH_OP_ERASE);
    assert_int_equal(info->done % SECTOR, 0);
    assert_true(info->done < 4 * SECTOR);
    assert_int_equal(info->torn_addr, 2 * SECTOR + info->done);
    assert_true(info->erased_len < SECTOR);
    assert_true(info->erased_len + info->garbage_len <= SECTOR);
    uint32_t rest = info->torn_addr + info->erased_len + info->garbage_len;
    assert_all(flash, 2 * SECTOR, 0xFF);                         /* before the range */
    assert_all(flash + 2 * SECTOR, info->done, 0xFF);            /* sectors erased before the cut */
    assert_all(flash + info->torn_addr, info->erased_len, 0xFF); /* erased prefix */
    assert_all(flash + rest, 6 * SECTOR - rest, 0x00);           /* the rest keeps its old bytes */
    assert_all(flash + 6 * SECTOR, SMALL - 6 * SECTOR, 0xFF);
}

/* Garbage is random: over many bytes it cannot all equal the old 0x00 or the erased 0xFF. */
static bool garbage_is_random(const uint8_t *flash, const fota_flash_cut_info_t *info)
{
    const uint8_t *g = flash + info->torn_addr + info->erased_len;
    unsigned other = 0;
    for (uint32_t i = 0; i < info->garbage_len; i++) {
        other += g[i] != 0x00 && g[i] != 0xFF;
    }
    return info->garbage_len >= 64 && other > info->garbage_len / 2;
}

static void test_torn_erase(void **state)
{
    (void)state;
    uint8_t *a = malloc(SMALL);
    uint8_t *b = malloc(SMALL);
    assert_non_null(a);
    assert_non_null(b);
    fota_flash_cut_info_t info, again;
    bool middle = false, garbage = false, first = false;
    for (uint64_t seed = 0; seed < 64; seed++) {
        torn_erase(seed, a, &info);
        check_torn_erase(a, &info);
        middle |= info.done > 0;
        first |= info.done == 0;
        garbage |= garbage_is_random(a, &info);
        if (seed < 4) { /* reproducible */
            torn_erase(seed, b, &again);
            assert_memory_equal(&info, &again, sizeof info);
            assert_memory_equal(a, b, SMALL);
        }
    }
    assert_true(middle); /* some cuts fell in a later sector of the multi-sector erase */
    assert_true(first);
    assert_true(garbage);
    free(a);
    free(b);
}

/* A planned cut at K counts exactly the operations the stats count. */
static void test_cut_schedule_matches_ops(void **state)
{
    (void)state;
    fota_flash_emu_t *emu = open_mem(FOTA_FLASH_EMU_STRICT);
    uint8_t b[4];
    for (uint64_t k = 0; k < 4; k++) {
        fota_flash_emu_reset_stats(emu);
        fota_flash_emu_plan_cut(emu, k, FOTA_CUT_BEFORE, k);
        fota_err_t err = FOTA_OK;
        for (int i = 0; i < 4 && err == FOTA_OK; i++) {
            err = fota_flash_emu_read(emu, 0, b, 4);
        }
        assert_int_equal(err, FOTA_ERR_FLASH_POWER_CUT);
        fota_flash_stats_t st;
        fota_flash_emu_stats(emu, &st);
        assert_int_equal(st.ops, k + 1);
        assert_int_equal(st.bytes_read, 4 * k);
        fota_flash_emu_power_on(emu);
    }
    fota_flash_emu_close(emu);
}

/* A torn cut through the port, on a file: the file holds the torn state. */
static void test_torn_write_in_file(void **state)
{
    (void)state;
    char path[512];
    tmp_path(path, sizeof path, "torn");
    fota_flash_emu_t *emu = NULL;
    assert_int_equal(fota_flash_emu_open(path, SMALL, FOTA_FLASH_EMU_CREATE, &emu), FOTA_OK);
    fota_flash_t port = fota_flash_emu_port(emu);
    uint8_t data[512];
    memset(data, 0x00, sizeof data);
    fota_flash_emu_plan_cut(emu, 0, FOTA_CUT_TORN, 99);
    assert_int_equal(fota_flash_write(&port, 0, data, sizeof data), FOTA_ERR_FLASH_POWER_CUT);
    fota_flash_cut_info_t info;
    fota_flash_emu_last_cut(emu, &info);
    fota_flash_emu_close(emu);
    uint8_t raw[512];
    file_bytes(path, 0, raw, sizeof raw);
    assert_all(raw, info.done, 0x00);
    assert_all(raw + info.done, sizeof raw - info.done, 0xFF);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_is_erased_4mb_file),
        cmocka_unit_test(test_round_trip_through_file),
        cmocka_unit_test(test_write_survives_kill),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_in_memory),
        cmocka_unit_test(test_port),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_erase_alignment),
        cmocka_unit_test(test_strict_refuses_unerased),
        cmocka_unit_test(test_non_strict_ands),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_cut_before),
        cmocka_unit_test(test_cut_before_next_erase),
        cmocka_unit_test(test_cut_on_read_and_cancel),
        cmocka_unit_test(test_torn_write),
        cmocka_unit_test(test_torn_erase),
        cmocka_unit_test(test_cut_schedule_matches_ops),
        cmocka_unit_test(test_torn_write_in_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
