/*
 * objstore.c - content-addressed, atomically written object files (objstore.h).
 */
#include "objstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/host/file_util.h"

#include "ident.h"
#include "log.h"

struct fotad_objstore {
    char objects[PATH_MAX];    /* data_dir/objects */
    char tmp[PATH_MAX];        /* data_dir/tmp */
    fotad_object_source_t src; /* the shared copy, or all NULL */
};

static fota_err_t io_fail(const char *what, const char *path)
{
    FOTAD_ERROR("objects: %s %s: %s", what, path, strerror(errno));
    return FOTA_ERR_IO;
}

static fota_err_t make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return io_fail("mkdir", path);
    }
    return FOTA_OK;
}

static fota_err_t fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        fota_err_t err = io_fail("fsync", path);
        if (fd >= 0) {
            close(fd);
        }
        return err;
    }
    close(fd);
    return FOTA_OK;
}

/* Temporary files left by a crash in the middle of a write. */
static void remove_stale_temps(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    char path[PATH_MAX + 256];
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "obj.", 4) == 0) {
            snprintf(path, sizeof path, "%s/%s", tmp, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

fota_err_t fotad_objstore_open(const char *data_dir, fotad_objstore_t **out)
{
    fotad_objstore_t *o = calloc(1, sizeof *o);
    if (o == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    int a = snprintf(o->objects, sizeof o->objects, "%s/objects", data_dir);
    int b = snprintf(o->tmp, sizeof o->tmp, "%s/tmp", data_dir);
    fota_err_t err =
        a < 0 || b < 0 || (size_t)a >= sizeof o->objects - 80 || (size_t)b >= sizeof o->tmp - 80
            ? FOTA_ERR_TOO_LARGE
            : FOTA_OK;
    if (err == FOTA_OK) {
        err = make_dir(o->objects);
    }
    if (err == FOTA_OK) {
        err = make_dir(o->tmp);
    }
    if (err != FOTA_OK) {
        free(o);
        return err;
    }
    remove_stale_temps(o->tmp);
    *out = o;
    return FOTA_OK;
}

void fotad_objstore_close(fotad_objstore_t *o)
{
    free(o);
}

fota_err_t fotad_objstore_name(const char *hex, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%.2s/%s", hex, hex + 2);
    return n > 0 && (size_t)n < cap ? FOTA_OK : FOTA_ERR_TOO_LARGE;
}

fota_err_t fotad_objstore_path(const fotad_objstore_t *o, const char *hex, char *out, size_t cap)
{
    char name[FOTAD_OBJSTORE_NAME_LEN + 1];
    fota_err_t err = fotad_objstore_name(hex, name, sizeof name);
    int n = err == FOTA_OK ? snprintf(out, cap, "%s/%s", o->objects, name) : -1;
    return n > 0 && (size_t)n < cap ? FOTA_OK : FOTA_ERR_TOO_LARGE;
}

/* Write the bytes to a new temporary file, fsync'ed; its path into tmp_path. */
static fota_err_t write_temp(const fotad_objstore_t *o, const void *p, size_t len,
                             char tmp_path[PATH_MAX])
{
    int n = snprintf(tmp_path, PATH_MAX, "%s/obj.XXXXXX", o->tmp);
    int fd = n > 0 && n < PATH_MAX ? mkstemp(tmp_path) : -1;
    if (fd < 0) {
        return io_fail("create", tmp_path);
    }
    fota_err_t err = fota_fd_write_all(fd, p, len);
    if (err == FOTA_OK && (fchmod(fd, 0644) != 0 || fsync(fd) != 0)) {
        err = FOTA_ERR_IO;
    }
    if (err != FOTA_OK) {
        io_fail("write", tmp_path);
    }
    if (close(fd) != 0 && err == FOTA_OK) {
        err = io_fail("close", tmp_path);
    }
    if (err != FOTA_OK) {
        unlink(tmp_path);
    }
    return err;
}

static bool object_exists(const char *path, size_t len)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len;
}

/* Write object `hex` into this directory (nothing when it is there with this length). */
static fota_err_t put_local(fotad_objstore_t *o, const char *hex, const void *p, size_t len)
{
    char dir[PATH_MAX];
    char path[PATH_MAX];
    char tmp_path[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/%.2s", o->objects, hex);
    fota_err_t err = n > 0 && (size_t)n < sizeof dir
                         ? fotad_objstore_path(o, hex, path, sizeof path)
                         : FOTA_ERR_TOO_LARGE;
    if (err != FOTA_OK || object_exists(path, len)) {
        return err;
    }
    err = make_dir(dir);
    if (err == FOTA_OK) {
        err = write_temp(o, p, len, tmp_path);
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (rename(tmp_path, path) != 0) {
        err = io_fail("rename to", path);
        unlink(tmp_path);
        return err;
    }
    err = fsync_dir(dir);
    return err == FOTA_OK ? fsync_dir(o->objects) : err;
}

fota_err_t fotad_objstore_put(fotad_objstore_t *o, const uint8_t sha256[32], const void *p,
                              size_t len)
{
    char hex[FOTAD_SHA256_HEX + 1];
    fotad_hex(sha256, 32, hex);
    fota_err_t err = put_local(o, hex, p, len);
    if (err == FOTA_OK && o->src.put != NULL) {
        err = o->src.put(o->src.ctx, hex, p, len);
    }
    return err;
}

void fotad_objstore_set_source(fotad_objstore_t *o, const fotad_object_source_t *src)
{
    o->src = *src;
}

fota_err_t fotad_objstore_ensure(fotad_objstore_t *o, const char *hex)
{
    char path[PATH_MAX];
    struct stat st;
    fota_err_t err = fotad_objstore_path(o, hex, path, sizeof path);
    if (err != FOTA_OK || (stat(path, &st) == 0 && S_ISREG(st.st_mode))) {
        return err;
    }
    if (o->src.fetch == NULL) {
        return FOTA_ERR_NOT_FOUND;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if ((err = o->src.fetch(o->src.ctx, hex, &data, &len)) != FOTA_OK) {
        return err;
    }
    uint8_t digest[32];
    char got[FOTAD_SHA256_HEX + 1];
    fotad_sha256(data, len, digest);
    fotad_hex(digest, 32, got);
    if (strcmp(got, hex) != 0) {
        FOTAD_ERROR("objects: %s from the database hashes to %s: not cached", hex, got);
        err = FOTA_ERR_IO;
    } else {
        err = put_local(o, hex, data, len);
        FOTAD_INFO("objects: %s (%zu bytes) fetched from the database", hex, len);
    }
    free(data);
    return err;
}

fota_err_t fotad_objstore_map(fotad_objstore_t *o, const char *hex, uint64_t size,
                              const uint8_t **out)
{
    char path[PATH_MAX] = "";
    fota_err_t err = fotad_objstore_ensure(o, hex);
    if (err == FOTA_OK) {
        err = fotad_objstore_path(o, hex, path, sizeof path);
    }
    int fd = err == FOTA_OK ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_size != size || size == 0) {
        FOTAD_ERROR("objects: %s (%s) missing or wrong size: %s", hex, path,
                    fd < 0 ? strerror(errno) : "size");
        if (fd >= 0) {
            close(fd);
        }
        return FOTA_ERR_IO;
    }
    void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        FOTAD_ERROR("objects: mmap %s: %s", path, strerror(errno));
        return FOTA_ERR_IO;
    }
    *out = p;
    return FOTA_OK;
}
