/*
 * file_util.c - whole-file read and atomic write for the host tools, and a memory reader that
 * lets host code validate an image held in a buffer through the same callback as the device.
 */
#include "fota/host/file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

fota_err_t fota_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return FOTA_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return FOTA_ERR_IO;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return FOTA_ERR_TOO_LARGE;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size + 1);
    if (buf == NULL) {
        close(fd);
        return FOTA_ERR_NO_MEM;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            free(buf);
            close(fd);
            return FOTA_ERR_IO;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[size] = 0;
    *out = buf;
    *len = size;
    return FOTA_OK;
}

fota_err_t fota_fd_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return FOTA_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return FOTA_OK;
}

fota_err_t fota_file_write_all(const char *path, const void *buf, size_t len, unsigned mode)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (tmp == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    snprintf(tmp, plen + 16, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        free(tmp);
        return FOTA_ERR_IO;
    }
    fota_err_t err = fota_fd_write_all(fd, buf, len);
    if (err == FOTA_OK && fsync(fd) != 0) {
        err = FOTA_ERR_IO;
    }
    if (close(fd) != 0 && err == FOTA_OK) {
        err = FOTA_ERR_IO;
    }
    if (err == FOTA_OK && rename(tmp, path) != 0) {
        err = FOTA_ERR_IO;
    }
    if (err != FOTA_OK) {
        unlink(tmp);
    }
    free(tmp);
    return err;
}

fota_err_t fota_mem_read(void *ctx, uint32_t offset, void *buf, size_t len)
{
    const fota_mem_reader_t *m = ctx;
    if (offset > m->len || len > m->len - offset) {
        return FOTA_ERR_TRUNCATED;
    }
    memcpy(buf, m->data + offset, len);
    return FOTA_OK;
}
