/*
 * file_util.h - whole-file helpers for the host tools and tests.
 */
#ifndef FOTA_HOST_FILE_UTIL_H
#define FOTA_HOST_FILE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

/* Read a whole file into a malloc'd buffer (NUL-terminated one byte past *len, for text).
 * FOTA_ERR_TOO_LARGE above max bytes, FOTA_ERR_IO if it cannot be read (errno kept). */
fota_err_t fota_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len);

/* Write a whole file atomically: a temporary beside it, fsync, rename. mode as for open(2). */
fota_err_t fota_file_write_all(const char *path, const void *buf, size_t len, unsigned mode);

/* Write all len bytes to fd, again after short writes and EINTR. FOTA_ERR_IO on failure. */
fota_err_t fota_fd_write_all(int fd, const void *buf, size_t len);

/* A fota_read_fn_t over a memory buffer: ctx points to a fota_mem_reader_t. */
typedef struct {
    const uint8_t *data;
    size_t len;
} fota_mem_reader_t;
fota_err_t fota_mem_read(void *ctx, uint32_t offset, void *buf, size_t len);

#endif /* FOTA_HOST_FILE_UTIL_H */
