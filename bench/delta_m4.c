/*
 * delta_m4.c - the delta applier's instructions per output byte on a Cortex-M4 (bench/delta.sh):
 * a bare-metal program for QEMU's mps2-an386 (the start-up code, board and semihosting of
 * ports/qemu) that applies one patch, record by record, to an old image held in its code memory,
 * writing the new image into the memory that plays the flash chip, as a device would.
 *
 * The old image and the patch are linked in by the benchmark (delta_m4_data.S, .incbin of the
 * pair's files); the instructions of fota_delta_record (with its I/O: memcpy from the old image
 * and into "flash") are counted with the board's instruction counter (QEMU's -icount clock).
 * Writes the new image to the host file delta_m4.out (semihosting, in QEMU's working directory),
 * which the benchmark compares with the real new image, prints "delta_m4 insns N bytes B" and
 * exits 0, or exits 1 on an error.
 */
#include <string.h>

#include "board.h"
#include "fota/delta.h"
#include "semihost.h"

#ifndef ICOUNT_SHIFT
#define ICOUNT_SHIFT 5
#endif

extern const uint8_t delta_m4_old[], delta_m4_old_end[];
extern const uint8_t delta_m4_patch[], delta_m4_patch_end[];

static fota_delta_t g_d;

static fota_err_t read_old(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    (void)ctx;
    memcpy(buf, delta_m4_old + off, len);
    return FOTA_OK;
}

static fota_err_t write_new(void *ctx, uint32_t off, const uint8_t *buf, size_t len)
{
    (void)ctx;
    if (off > BOARD_FLASH_SIZE || len > BOARD_FLASH_SIZE - off) {
        return FOTA_ERR_RANGE;
    }
    memcpy(board_flash + off, buf, len);
    return FOTA_OK;
}

/* Append " name value" in decimal (no printf here: newlib-nano's would bring malloc). */
static char *put(char *p, const char *name, uint64_t v)
{
    char digits[24];
    size_t n = 0;
    *p++ = ' ';
    while (*name != 0) {
        *p++ = *name++;
    }
    *p++ = ' ';
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0u) {
        *p++ = digits[--n];
    }
    *p = 0;
    return p;
}

int harness_main(void)
{
    size_t old_len = (size_t)(delta_m4_old_end - delta_m4_old);
    size_t len = (size_t)(delta_m4_patch_end - delta_m4_patch);
    const fota_delta_io_t io = {NULL, read_old, write_new};
    board_count_start();
    if (fota_delta_begin(&g_d, delta_m4_patch, len, (uint32_t)old_len) != FOTA_OK) {
        semihost_line("delta_m4: the patch header is refused");
        return 1;
    }
    uint64_t units = 0;
    fota_err_t err = FOTA_OK;
    for (size_t at = FOTA_DELTA_HEADER_LEN; err == FOTA_OK && at < len; at += g_d.record_size) {
        size_t n = len - at < g_d.record_size ? len - at : g_d.record_size;
        uint32_t t0 = board_count();
        err = fota_delta_record(&g_d, delta_m4_patch + at, n, 0, &io);
        units += (uint32_t)(board_count() - t0);
    }
    if (err != FOTA_OK || !fota_delta_done(&g_d)) {
        semihost_line("delta_m4: the patch does not apply");
        return 1;
    }
    if (!semihost_write_file("delta_m4.out", board_flash, g_d.new_size)) {
        semihost_line("delta_m4: cannot write delta_m4.out");
        return 1;
    }
    char line[96] = "delta_m4";
    char *p = put(line + 8, "insns", board_count_insns(units, ICOUNT_SHIFT));
    put(p, "bytes", g_d.new_size);
    semihost_line(line);
    return 0;
}
