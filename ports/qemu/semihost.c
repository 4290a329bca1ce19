/*
 * semihost.c - semihosting calls for the harness, over board_semihost() (the trap instruction
 * of each architecture). Operation numbers and parameter blocks are those of Arm's semihosting
 * specification, which QEMU implements for Arm and RISC-V alike.
 */
#include "semihost.h"

#include <string.h>

#include "board.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define OPEN_MODE_WB 5 /* "wb" */

void semihost_line(const char *text)
{
    board_semihost(SYS_WRITE0, text);
    board_semihost(SYS_WRITE0, "\n");
}

bool semihost_write_file(const char *path, const void *data, size_t len)
{
    long open_args[3] = {(long)(uintptr_t)path, OPEN_MODE_WB, (long)strlen(path)};
    long fd = board_semihost(SYS_OPEN, open_args);
    if (fd < 0) {
        return false;
    }
    long write_args[3] = {fd, (long)(uintptr_t)data, (long)len};
    long left = board_semihost(SYS_WRITE, write_args); /* bytes NOT written */
    long close_args[1] = {fd};
    board_semihost(SYS_CLOSE, close_args);
    return left == 0;
}

_Noreturn void semihost_exit(int code)
{
    long args[2] = {ADP_STOPPED_APPLICATION_EXIT, code};
    for (;;) {
        board_semihost(SYS_EXIT_EXTENDED, args);
    }
}

_Noreturn void board_exit(int code)
{
    semihost_exit(code);
}

static char *hex32(char *p, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    *p++ = ' ';
    *p++ = '0';
    *p++ = 'x';
    for (int shift = 28; shift >= 0; shift -= 4) {
        *p++ = digits[(v >> shift) & 0xfu];
    }
    return p;
}

_Noreturn void semihost_trap(const char *what, uint32_t a, uint32_t b, uint32_t c)
{
    char line[64];
    size_t n = strlen(what);
    if (n > 24) {
        n = 24;
    }
    memcpy(line, what, n);
    char *p = hex32(hex32(hex32(line + n, a), b), c);
    *p = '\0';
    semihost_line(line);
    semihost_exit(3);
}
