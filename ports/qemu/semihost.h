/*
 * semihost.h - the host services the harness takes through semihosting (QEMU runs with
 * -semihosting-config enable=on,target=native): a console line, writing a host file, and the
 * exit with a status code, which ends QEMU.
 */
#ifndef FOTA_QEMU_SEMIHOST_H
#define FOTA_QEMU_SEMIHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A line on QEMU's console (its standard error): the text and a newline. */
void semihost_line(const char *text);
/* Create (or truncate) the host file `path` and write len bytes into it. */
bool semihost_write_file(const char *path, const void *data, size_t len);
/* End the run: QEMU exits with `code`. */
_Noreturn void semihost_exit(int code);
/* A CPU fault: one console line with three numbers in hex, then exit 3. */
_Noreturn void semihost_trap(const char *what, uint32_t a, uint32_t b, uint32_t c);
/* The start-up code's exit path (harness_main's return value). */
_Noreturn void board_exit(int code);

#endif /* FOTA_QEMU_SEMIHOST_H */
