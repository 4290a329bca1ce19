/*
 * nvs_csv.c - factory NVS images for emulated devices: a CSV in the format of ESP-IDF's
 * nvs_partition_gen.py becomes the committed contents of one NVS partition of a device, the way
 * a device gets its key and identity at the factory (esp_double_nvs_load_csv, esp_double.h).
 *
 * Format: a header "key,type,encoding,value"; then rows "name,namespace,," that open a namespace
 * and rows "key,data,<encoding>,<value>" in it. Encodings u8 i8 u16 i16 u32 i32 u64 i64 (decimal,
 * or hex with 0x), string (stored with its NUL), hex2bin, base64 (blobs), binary (the text's
 * bytes as a blob). "file" rows would read host files: refused. The whole CSV is checked before
 * anything changes.
 */
#include "double_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/base64.h"
#include "nvs.h"

#define FIELDS 4
#define LINE_MAX_LEN 8192
#define VALUE_MAX 4000u /* a string with its NUL; one blob chunk */

typedef struct {
    int line;
    char *msg;
    size_t msg_len;
    dbl_nvs_part_t *part;
    char ns[DBL_NVS_NAME_MAX + 1];
    bool header_seen;
} csv_t;

static fota_err_t fail(csv_t *c, fota_err_t err, const char *fmt, ...)
{
    if (c->msg != NULL && c->msg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->msg, c->msg_len, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* ---- fields ---------------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

/* One field starting at *p (in place); *p moves past its comma and *more says whether there was
 * one. NULL on an open quote. */
static char *next_field(char **p, bool *more)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s != '"') {
        char *comma = strchr(s, ',');
        *more = comma != NULL;
        *p = comma != NULL ? comma + 1 : s + strlen(s);
        if (comma != NULL) {
            *comma = '\0';
        }
        return trim(s);
    }
    char *out = s, *in = s + 1;
    for (;; in++) {
        if (*in == '\0') {
            return NULL;
        }
        if (*in == '"' && in[1] == '"') {
            *out++ = '"';
            in++;
        } else if (*in == '"') {
            break;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    in++;
    while (*in == ' ' || *in == '\t') {
        in++;
    }
    *more = *in == ',';
    *p = *more ? in + 1 : in + strlen(in);
    return s;
}

static fota_err_t split(csv_t *c, char *line, char *f[FIELDS])
{
    char *p = line;
    int n = 0;
    bool more = true;
    for (; n < FIELDS && more; n++) {
        f[n] = next_field(&p, &more);
        if (f[n] == NULL) {
            return fail(c, FOTA_ERR_ARG, "unterminated quote");
        }
    }
    for (; n < FIELDS; n++) {
        f[n] = p + strlen(p); /* "" */
    }
    if (more && *p != '\0') {
        return fail(c, FOTA_ERR_ARG, "more than %d fields", FIELDS);
    }
    return FOTA_OK;
}

/* ---- values ---------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    uint8_t type;
    int64_t min;
    uint64_t max;
    size_t size;
} int_enc_t;

static const int_enc_t k_ints[] = {
    {"u8", NVS_TYPE_U8, 0, UINT8_MAX, 1},    {"i8", NVS_TYPE_I8, INT8_MIN, INT8_MAX, 1},
    {"u16", NVS_TYPE_U16, 0, UINT16_MAX, 2}, {"i16", NVS_TYPE_I16, INT16_MIN, INT16_MAX, 2},
    {"u32", NVS_TYPE_U32, 0, UINT32_MAX, 4}, {"i32", NVS_TYPE_I32, INT32_MIN, INT32_MAX, 4},
    {"u64", NVS_TYPE_U64, 0, UINT64_MAX, 8}, {"i64", NVS_TYPE_I64, INT64_MIN, INT64_MAX, 8},
};

/* The integer in the C type of its encoding (host order, as nvs_set_* stores it). */
static fota_err_t set_int(csv_t *c, const char *key, const int_enc_t *e, const char *text)
{
    char *end = NULL;
    errno = 0;
    bool neg = text[0] == '-';
    uint64_t u = neg ? 0 : strtoull(text, &end, 0);
    int64_t s = neg ? strtoll(text, &end, 0) : 0;
    bool bad = errno != 0 || end == text || *end != '\0' || (neg && (e->min == 0 || s < e->min)) ||
               (!neg && u > e->max);
    if (bad || text[0] == '\0') {
        return fail(c, FOTA_ERR_ARG, "'%s' is not a valid %s", text, e->name);
    }
    uint8_t u8 = (uint8_t)(neg ? s : (int64_t)u);
    uint16_t u16 = (uint16_t)(neg ? s : (int64_t)u);
    uint32_t u32 = (uint32_t)(neg ? s : (int64_t)u);
    uint64_t u64 = neg ? (uint64_t)s : u;
    const void *v = e->size == 1   ? (const void *)&u8
                    : e->size == 2 ? (const void *)&u16
                    : e->size == 4 ? (const void *)&u32
                                   : (const void *)&u64;
    return dbl_nvs_set(c->part, c->ns, key, e->type, v, e->size) ? FOTA_OK : FOTA_ERR_NO_MEM;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    ch = (char)tolower((unsigned char)ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Decode hex2bin / base64 / binary text into a blob of at most max bytes. */
static fota_err_t decode_blob(csv_t *c, const char *enc, const char *text, uint8_t *out, size_t max,
                              size_t *len)
{
    size_t n = strlen(text);
    if (strcmp(enc, "binary") == 0) {
        if (n > max) {
            return fail(c, FOTA_ERR_TOO_LARGE, "value longer than %zu bytes", max);
        }
        memcpy(out, text, n);
        *len = n;
        return FOTA_OK;
    }
    if (strcmp(enc, "base64") == 0) {
        int rc = mbedtls_base64_decode(out, max, len, (const unsigned char *)text, n);
        return rc == 0 ? FOTA_OK : fail(c, FOTA_ERR_ARG, "invalid base64 (or too long)");
    }
    if (n % 2 != 0 || n / 2 > max) {
        return fail(c, FOTA_ERR_ARG, "hex2bin needs an even number of hex digits");
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return fail(c, FOTA_ERR_ARG, "'%s' is not hex", text);
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return FOTA_OK;
}

static fota_err_t set_data(csv_t *c, const char *key, const char *enc, const char *value)
{
    for (size_t i = 0; i < sizeof k_ints / sizeof k_ints[0]; i++) {
        if (strcmp(enc, k_ints[i].name) == 0) {
            return set_int(c, key, &k_ints[i], value);
        }
    }
    if (strcmp(enc, "string") == 0) {
        size_t n = strlen(value) + 1;
        if (n > VALUE_MAX) {
            return fail(c, FOTA_ERR_TOO_LARGE, "string longer than %u bytes", VALUE_MAX - 1);
        }
        bool ok = dbl_nvs_set(c->part, c->ns, key, NVS_TYPE_STR, value, n);
        return ok ? FOTA_OK : FOTA_ERR_NO_MEM;
    }
    if (strcmp(enc, "hex2bin") != 0 && strcmp(enc, "base64") != 0 && strcmp(enc, "binary") != 0) {
        return fail(c, FOTA_ERR_ARG, "unknown encoding '%s'", enc);
    }
    static _Thread_local uint8_t blob[LINE_MAX_LEN];
    size_t len = 0;
    fota_err_t err = decode_blob(c, enc, value, blob, sizeof blob, &len);
    if (err != FOTA_OK) {
        return err;
    }
    return dbl_nvs_set(c->part, c->ns, key, NVS_TYPE_BLOB, blob, len) ? FOTA_OK : FOTA_ERR_NO_MEM;
}

/* ---- rows ------------------------------------------------------------------------------------ */

static fota_err_t check_name(csv_t *c, const char *what, const char *name)
{
    if (name[0] == '\0') {
        return fail(c, FOTA_ERR_ARG, "empty %s", what);
    }
    if (strlen(name) > DBL_NVS_NAME_MAX) {
        return fail(c, FOTA_ERR_ARG, "%s '%s' longer than %d characters", what, name,
                    DBL_NVS_NAME_MAX);
    }
    return FOTA_OK;
}

static fota_err_t header(csv_t *c, char *f[FIELDS])
{
    static const char *const want[FIELDS] = {"key", "type", "encoding", "value"};
    for (int i = 0; i < FIELDS; i++) {
        if (strcmp(f[i], want[i]) != 0) {
            return fail(c, FOTA_ERR_ARG, "header must be key,type,encoding,value");
        }
    }
    c->header_seen = true;
    return FOTA_OK;
}

static fota_err_t row(csv_t *c, char *f[FIELDS])
{
    if (!c->header_seen) {
        return header(c, f);
    }
    if (strcmp(f[1], "namespace") == 0) {
        fota_err_t err = check_name(c, "namespace", f[0]);
        if (err == FOTA_OK) {
            snprintf(c->ns, sizeof c->ns, "%s", f[0]);
            err = dbl_nvs_add_ns(c->part, f[0]) ? FOTA_OK : FOTA_ERR_NO_MEM;
        }
        return err;
    }
    if (strcmp(f[1], "file") == 0) {
        return fail(c, FOTA_ERR_UNSUPPORTED, "'file' rows are not supported");
    }
    if (strcmp(f[1], "data") != 0) {
        return fail(c, FOTA_ERR_ARG, "unknown type '%s'", f[1]);
    }
    if (c->ns[0] == '\0') {
        return fail(c, FOTA_ERR_ARG, "data before the first namespace");
    }
    fota_err_t err = check_name(c, "key", f[0]);
    return err != FOTA_OK ? err : set_data(c, f[0], f[2], f[3]);
}

/* Copy the next line of *text into buf (without its end), advancing *text. */
static bool next_line(const char **text, char *buf, size_t cap, bool *too_long)
{
    if (**text == '\0') {
        return false;
    }
    const char *end = strchr(*text, '\n');
    size_t n = end != NULL ? (size_t)(end - *text) : strlen(*text);
    *too_long = n >= cap;
    size_t keep = *too_long ? cap - 1 : n;
    memcpy(buf, *text, keep);
    buf[keep] = '\0';
    if (keep > 0 && buf[keep - 1] == '\r') {
        buf[keep - 1] = '\0';
    }
    *text += end != NULL ? n + 1 : n;
    return true;
}

static fota_err_t parse(csv_t *c, const char *text)
{
    static _Thread_local char line[LINE_MAX_LEN];
    bool too_long = false;
    while (next_line(&text, line, sizeof line, &too_long)) {
        c->line++;
        char *s = trim(line);
        if (too_long) {
            return fail(c, FOTA_ERR_TOO_LARGE, "line longer than %d bytes", LINE_MAX_LEN - 1);
        }
        if (s[0] == '\0' || s[0] == '#') {
            continue;
        }
        char *f[FIELDS];
        fota_err_t err = split(c, s, f);
        if (err == FOTA_OK) {
            err = row(c, f);
        }
        if (err != FOTA_OK) {
            return err;
        }
    }
    return c->header_seen ? FOTA_OK : fail(c, FOTA_ERR_ARG, "no header line");
}

/* ---- the device ------------------------------------------------------------------------------ */

static fota_err_t check_fits(csv_t *c, esp_double_device_t *dev, const char *label)
{
    fota_part_table_t table;
    fota_err_t err = fota_part_table_read(&dev->flash, &table);
    if (err != FOTA_OK) {
        return fail(c, err, "cannot read the partition table");
    }
    const fota_partition_t *p = fota_part_find_label(&table, label);
    if (p == NULL || p->type != FOTA_PART_TYPE_DATA || p->subtype != FOTA_PART_SUBTYPE_DATA_NVS) {
        return fail(c, FOTA_ERR_NOT_FOUND, "no data/nvs partition '%s'", label);
    }
    size_t pages = p->size / 4096u;
    size_t cap = pages > 1 ? (pages - 1) * 126u : 0;
    if (dbl_nvs_entries(c->part, NULL, 0, 0, false) > cap) {
        return fail(c, FOTA_ERR_TOO_LARGE, "the contents do not fit partition '%s'", label);
    }
    return FOTA_OK;
}

static fota_err_t install(csv_t *c, esp_double_device_t *dev)
{
    const dbl_nvs_part_t *old = dbl_nvs_store_find(&dev->committed, c->part->label);
    dbl_nvs_part_t *backup =
        old != NULL ? dbl_nvs_part_clone(old) : dbl_nvs_part_new(c->part->label);
    if (backup == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    dbl_nvs_store_put(&dev->committed, c->part);
    c->part = NULL;
    fota_err_t err = dbl_state_save(dev->state_path, &dev->committed, dev->secure_version);
    if (err != FOTA_OK) {
        dbl_nvs_store_put(&dev->committed, backup);
        return fail(c, err, "state file not written");
    }
    dbl_nvs_part_free(backup);
    return FOTA_OK;
}

fota_err_t esp_double_nvs_load_csv(esp_double_device_t *dev, const char *label, const char *csv,
                                   int *err_line, char *msg, size_t msg_len)
{
    csv_t c = {0, msg, msg_len, NULL, "", false};
    label = label != NULL ? label : "nvs";
    if (err_line != NULL) {
        *err_line = 0;
    }
    if (dev == NULL || csv == NULL || strlen(label) > FOTA_PART_LABEL_MAX) {
        return fail(&c, FOTA_ERR_ARG, "bad arguments");
    }
    if (esp_double_is_powered(dev)) {
        return fail(&c, FOTA_ERR_STATE, "the device must be powered off");
    }
    pthread_mutex_lock(&dev->io);
    c.part = dbl_nvs_part_new(label);
    fota_err_t err = c.part != NULL ? parse(&c, csv) : FOTA_ERR_NO_MEM;
    if (err != FOTA_OK && err_line != NULL) {
        *err_line = c.line;
    }
    if (err == FOTA_OK) {
        err = check_fits(&c, dev, label);
    }
    if (err == FOTA_OK) {
        err = install(&c, dev);
    }
    dbl_nvs_part_free(c.part);
    pthread_mutex_unlock(&dev->io);
    return err;
}
