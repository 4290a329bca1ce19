/*
 * state.c - the emulated device's state file: what outlives every power cut besides the flash,
 * i.e. the committed contents of its NVS partitions and its eFuse secure version.
 *
 * Written whole and atomically (a temporary file beside it, fsync, rename, fsync of the
 * directory), so a crash of the host process leaves either the old or the new state, as NVS is
 * documented to be power-safe. Binary, little-endian, read through bounds-checked helpers:
 *   "FOTAESPD" u32 version(1) u32 efuse_secure_version u32 partitions
 *   per partition: str label, u32 namespaces, str name..., u32 items,
 *                  per item: str namespace, str key, u8 type, u32 len, bytes
 *   where str = u8 length + bytes (no NUL).
 */
#include "double_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/bytes.h"

#define MAGIC "FOTAESPD"
#define VERSION 1u
#define MAX_STATE (64u * 1024u * 1024u)

/* ---- encoding -------------------------------------------------------------------------------- */

typedef struct {
    uint8_t *buf; /* NULL: only count */
    size_t len;
} writer_t;

static void put(writer_t *w, const void *data, size_t len)
{
    if (w->buf != NULL && len > 0) {
        memcpy(w->buf + w->len, data, len);
    }
    w->len += len;
}

static void put_u32(writer_t *w, uint32_t v)
{
    uint8_t b[4];
    fota_put_le32(b, v);
    put(w, b, 4);
}

static void put_str(writer_t *w, const char *s)
{
    uint8_t n = (uint8_t)strlen(s);
    put(w, &n, 1);
    put(w, s, n);
}

static void put_part(writer_t *w, const dbl_nvs_part_t *p)
{
    uint32_t n = 0;
    put_str(w, p->label);
    for (const dbl_nvs_name_t *ns = p->namespaces; ns != NULL; ns = ns->next) {
        n++;
    }
    put_u32(w, n);
    for (const dbl_nvs_name_t *ns = p->namespaces; ns != NULL; ns = ns->next) {
        put_str(w, ns->name);
    }
    n = 0;
    for (const dbl_nvs_item_t *it = p->items; it != NULL; it = it->next) {
        n++;
    }
    put_u32(w, n);
    for (const dbl_nvs_item_t *it = p->items; it != NULL; it = it->next) {
        put_str(w, it->ns);
        put_str(w, it->key);
        put(w, &it->type, 1);
        put_u32(w, (uint32_t)it->len);
        put(w, it->data, it->len);
    }
}

static void encode(writer_t *w, const dbl_nvs_store_t *store, uint32_t efuse)
{
    uint32_t n = 0;
    put(w, MAGIC, 8);
    put_u32(w, VERSION);
    put_u32(w, efuse);
    for (const dbl_nvs_part_t *p = store->parts; p != NULL; p = p->next) {
        n++;
    }
    put_u32(w, n);
    for (const dbl_nvs_part_t *p = store->parts; p != NULL; p = p->next) {
        put_part(w, p);
    }
}

/* ---- decoding -------------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t at;
    bool bad;
} reader_t;

static const uint8_t *take(reader_t *r, size_t n)
{
    if (r->bad || n > r->len - r->at) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->buf + r->at;
    r->at += n;
    return p;
}

static uint32_t get_u32(reader_t *r)
{
    const uint8_t *p = take(r, 4);
    return p != NULL ? fota_get_le32(p) : 0;
}

static uint8_t get_u8(reader_t *r)
{
    const uint8_t *p = take(r, 1);
    return p != NULL ? *p : 0;
}

/* A name of at most max characters into out (max + 1 bytes). */
static void get_str(reader_t *r, char *out, size_t max)
{
    size_t n = get_u8(r);
    const uint8_t *p = take(r, n);
    if (p == NULL || n > max) {
        r->bad = true;
        out[0] = '\0';
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static void get_item(reader_t *r, dbl_nvs_part_t *part)
{
    char ns[DBL_NVS_NAME_MAX + 1], key[DBL_NVS_NAME_MAX + 1];
    get_str(r, ns, DBL_NVS_NAME_MAX);
    get_str(r, key, DBL_NVS_NAME_MAX);
    uint8_t type = get_u8(r);
    uint32_t len = get_u32(r);
    const uint8_t *data = take(r, len);
    if (!r->bad && !dbl_nvs_set(part, ns, key, type, data, len)) {
        r->bad = true;
    }
}

static dbl_nvs_part_t *get_part(reader_t *r)
{
    char label[FOTA_PART_LABEL_MAX + 1];
    get_str(r, label, FOTA_PART_LABEL_MAX);
    dbl_nvs_part_t *part = r->bad ? NULL : dbl_nvs_part_new(label);
    r->bad = r->bad || part == NULL;
    for (uint32_t i = 0, n = get_u32(r); i < n && !r->bad; i++) {
        char ns[DBL_NVS_NAME_MAX + 1];
        get_str(r, ns, DBL_NVS_NAME_MAX);
        r->bad = r->bad || !dbl_nvs_add_ns(part, ns);
    }
    for (uint32_t i = 0, n = get_u32(r); i < n && !r->bad; i++) {
        get_item(r, part);
    }
    if (r->bad) {
        dbl_nvs_part_free(part);
        return NULL;
    }
    return part;
}

static fota_err_t decode(const uint8_t *buf, size_t len, dbl_nvs_store_t *store, uint32_t *efuse)
{
    reader_t r = {buf, len, 0, false};
    const uint8_t *magic = take(&r, 8);
    if (magic == NULL || memcmp(magic, MAGIC, 8) != 0 || get_u32(&r) != VERSION) {
        return FOTA_ERR_TRUNCATED;
    }
    uint32_t fuse = get_u32(&r);
    dbl_nvs_store_t s = {NULL};
    for (uint32_t i = 0, n = get_u32(&r); i < n && !r.bad; i++) {
        dbl_nvs_part_t *p = get_part(&r);
        if (p != NULL) {
            dbl_nvs_store_put(&s, p);
        }
    }
    if (r.bad || r.at != r.len) {
        dbl_nvs_store_clear(&s);
        return FOTA_ERR_TRUNCATED;
    }
    *store = s;
    *efuse = fuse;
    return FOTA_OK;
}

/* ---- files ----------------------------------------------------------------------------------- */

static fota_err_t read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT ? FOTA_ERR_NOT_FOUND : FOTA_ERR_IO;
    }
    struct stat st;
    fota_err_t err = fstat(fileno(f), &st) == 0 ? FOTA_OK : FOTA_ERR_IO;
    if (err == FOTA_OK && (st.st_size < 0 || (uint64_t)st.st_size > MAX_STATE)) {
        err = FOTA_ERR_TOO_LARGE;
    }
    uint8_t *buf = err == FOTA_OK ? malloc((size_t)st.st_size + 1) : NULL;
    if (err == FOTA_OK && buf == NULL) {
        err = FOTA_ERR_NO_MEM;
    }
    if (err == FOTA_OK && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        err = FOTA_ERR_IO;
    }
    fclose(f);
    if (err != FOTA_OK) {
        free(buf);
        return err;
    }
    *out = buf;
    *len = (size_t)st.st_size;
    return FOTA_OK;
}

fota_err_t dbl_state_load(const char *path, dbl_nvs_store_t *store, uint32_t *efuse)
{
    if (path == NULL) {
        return FOTA_OK;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    fota_err_t err = read_file(path, &buf, &len);
    if (err == FOTA_ERR_NOT_FOUND) {
        return FOTA_OK;
    }
    if (err == FOTA_OK) {
        err = decode(buf, len, store, efuse);
    }
    free(buf);
    return err;
}

static bool write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL) {
        return;
    }
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

static fota_err_t write_atomic(const char *path, const uint8_t *buf, size_t len)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (tmp == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    snprintf(tmp, n, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write_all(fd, buf, len) && fsync(fd) == 0;
    if (fd >= 0) {
        ok = close(fd) == 0 && ok;
    }
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
    }
    free(tmp);
    if (ok) {
        sync_dir(path);
    }
    return ok ? FOTA_OK : FOTA_ERR_IO;
}

fota_err_t dbl_state_save(const char *path, const dbl_nvs_store_t *store, uint32_t efuse)
{
    if (path == NULL) {
        return FOTA_OK;
    }
    writer_t w = {NULL, 0};
    encode(&w, store, efuse);
    w.buf = malloc(w.len);
    if (w.buf == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    size_t len = w.len;
    w.len = 0;
    encode(&w, store, efuse);
    fota_err_t err = write_atomic(path, w.buf, len);
    free(w.buf);
    return err;
}
