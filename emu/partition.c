/*
 * partition.c - the ESP-IDF partition table in its binary form at 0x8000, and its checks.
 *
 * Binary layout (ESP-IDF gen_esp32part.py, esp_flash_partitions.h): 32-byte entries
 * "<2sBBLL16sL", then an MD5 entry (EB EB, 14 x FF, MD5 of every entry byte before it), then an
 * end marker of 32 x FF, the rest of the 0xC00-byte area FF. A table without the MD5 entry
 * (ESP-IDF built with CONFIG_PARTITION_TABLE_MD5 off, or older than v3.1) is accepted when the
 * entries end with the marker. Parsing is strict where ESP-IDF is lax (the MD5 filler bytes
 * must be FF, nothing may follow the MD5 entry but the end marker) so that one damaged byte
 * in the entries or the MD5 entry is always caught.
 *
 * Validation is the emulated ESP32's own rule book, applied partition by partition in table
 * order so that the first failing partition is the one a growing prefix of the table first
 * fails on (fota-flash uses that to point at a CSV line). CSV text and type/subtype names are
 * in partition_csv.c.
 */
#include "fota/emu/partition.h"

#include <mbedtls/md.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fota/bytes.h"

#define MAGIC_ENTRY_0 0xAAu
#define MAGIC_ENTRY_1 0x50u
#define MAGIC_MD5 0xEBu
#define MD5_DIGEST_OFFSET 16u
#define MD5_LEN 16u
#define FIRST_FREE_OFFSET (FOTA_PART_TABLE_OFFSET + 0x1000u) /* bootloader + table sector */
#define APP_OFFSET_ALIGN 0x10000u
#define APP_SIZE_ALIGN 0x1000u
#define DATA_OFFSET_ALIGN 0x1000u
#define OTADATA_SIZE 0x2000u
#define OTA_SUBTYPE_COUNT 16u

/* --- binary: encode ------------------------------------------------------------------------ */

static bool all_ff(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0xFFu) {
            return false;
        }
    }
    return true;
}

static fota_err_t md5_of(const uint8_t *p, size_t len, uint8_t digest[MD5_LEN])
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_MD5);
    if (info == NULL || mbedtls_md(info, p, len, digest) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    return FOTA_OK;
}

static size_t label_len(const fota_partition_t *p)
{
    return strnlen(p->label, sizeof p->label);
}

static void entry_encode(const fota_partition_t *p, uint8_t *e)
{
    e[0] = MAGIC_ENTRY_0;
    e[1] = MAGIC_ENTRY_1;
    e[2] = p->type;
    e[3] = p->subtype;
    fota_put_le32(e + 4, p->offset);
    fota_put_le32(e + 8, p->size);
    memset(e + 12, 0, FOTA_PART_LABEL_MAX);
    memcpy(e + 12, p->label, label_len(p));
    fota_put_le32(e + 28, p->flags);
}

fota_err_t fota_part_table_serialize(const fota_part_table_t *t, uint8_t *out, size_t out_len)
{
    if (t == NULL || out == NULL || out_len < FOTA_PART_TABLE_SIZE) {
        return FOTA_ERR_ARG;
    }
    if (t->count > FOTA_PART_MAX_WRITABLE) {
        return FOTA_ERR_PART_TOO_MANY;
    }
    for (size_t i = 0; i < t->count; i++) {
        if (label_len(&t->entries[i]) > FOTA_PART_LABEL_MAX) {
            return FOTA_ERR_PART_LABEL;
        }
    }
    memset(out, 0xFF, FOTA_PART_TABLE_SIZE);
    for (size_t i = 0; i < t->count; i++) {
        entry_encode(&t->entries[i], out + i * FOTA_PART_ENTRY_LEN);
    }
    size_t md5_at = t->count * FOTA_PART_ENTRY_LEN;
    out[md5_at] = MAGIC_MD5;
    out[md5_at + 1] = MAGIC_MD5;
    /* bytes 2..15 stay FF; the end marker after the MD5 entry is part of the FF fill */
    return md5_of(out, md5_at, out + md5_at + MD5_DIGEST_OFFSET);
}

/* --- binary: decode ------------------------------------------------------------------------ */

static void entry_decode(const uint8_t *e, fota_partition_t *p)
{
    memset(p, 0, sizeof *p);
    p->type = e[2];
    p->subtype = e[3];
    p->offset = fota_get_le32(e + 4);
    p->size = fota_get_le32(e + 8);
    memcpy(p->label, e + 12, FOTA_PART_LABEL_MAX); /* label[16] stays NUL: 16-char labels fit */
    p->flags = fota_get_le32(e + 28);
}

/* The MD5 entry at buf + at: filler all FF and the digest of every byte before it. */
static fota_err_t md5_entry_check(const uint8_t *buf, size_t at)
{
    const uint8_t *e = buf + at;
    if (!all_ff(e + 2, MD5_DIGEST_OFFSET - 2)) {
        return FOTA_ERR_PART_MD5;
    }
    uint8_t digest[MD5_LEN];
    fota_err_t err = md5_of(buf, at, digest);
    if (err != FOTA_OK) {
        return err;
    }
    return memcmp(digest, e + MD5_DIGEST_OFFSET, MD5_LEN) == 0 ? FOTA_OK : FOTA_ERR_PART_MD5;
}

typedef enum { SLOT_ENTRY, SLOT_MD5, SLOT_END, SLOT_BAD } slot_kind_t;

static slot_kind_t slot_kind(const uint8_t *e)
{
    if (all_ff(e, FOTA_PART_ENTRY_LEN)) {
        return SLOT_END;
    }
    if (e[0] == MAGIC_ENTRY_0 && e[1] == MAGIC_ENTRY_1) {
        return SLOT_ENTRY;
    }
    if (e[0] == MAGIC_MD5 && e[1] == MAGIC_MD5) {
        return SLOT_MD5;
    }
    return SLOT_BAD;
}

/* One 32-byte slot. Sets *done at the end marker. After the MD5 entry only the end marker may
 * come: an entry there would not be covered by the checksum. */
static fota_err_t parse_slot(const uint8_t *buf, size_t at, bool *md5_seen, bool *done,
                             fota_part_table_t *out)
{
    slot_kind_t kind = slot_kind(buf + at);
    if (kind == SLOT_END) {
        *done = true;
        return FOTA_OK;
    }
    if (*md5_seen) {
        return FOTA_ERR_PART_NO_END;
    }
    if (kind == SLOT_BAD) {
        return FOTA_ERR_PART_MAGIC;
    }
    if (kind == SLOT_MD5) {
        *md5_seen = true;
        return md5_entry_check(buf, at);
    }
    if (out->count >= FOTA_PART_MAX) {
        return FOTA_ERR_PART_TOO_MANY;
    }
    entry_decode(buf + at, &out->entries[out->count++]);
    return FOTA_OK;
}

fota_err_t fota_part_table_parse(const uint8_t *buf, size_t len, fota_part_table_t *out)
{
    if (buf == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    size_t slots = (len < FOTA_PART_TABLE_SIZE ? len : FOTA_PART_TABLE_SIZE) / FOTA_PART_ENTRY_LEN;
    bool md5_seen = false;
    bool done = false;
    for (size_t i = 0; i < slots && !done; i++) {
        fota_err_t err = parse_slot(buf, i * FOTA_PART_ENTRY_LEN, &md5_seen, &done, out);
        if (err != FOTA_OK) {
            return err;
        }
    }
    return done ? FOTA_OK : FOTA_ERR_PART_NO_END;
}

/* --- validation ------------------------------------------------------------------------------ */

typedef struct {
    char *msg;
    size_t msg_len;
} why_t;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static fota_err_t
fail(const why_t *why, fota_err_t err, const char *fmt, ...)
{
    if (why->msg != NULL && why->msg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why->msg, why->msg_len, fmt, ap);
        va_end(ap);
    }
    return err;
}

static bool label_char_ok(char c)
{
    return c >= 0x20 && c <= 0x7E && c != ',';
}

/* Labels must survive a CSV round trip: printable ASCII, no comma, no space at either end, not
 * starting with '#' (a comment line). */
static fota_err_t check_label(const fota_partition_t *p, const why_t *why)
{
    size_t n = label_len(p);
    if (n == 0 || n > FOTA_PART_LABEL_MAX) {
        return fail(why, FOTA_ERR_PART_LABEL, "partition at 0x%x has an empty or overlong label",
                    (unsigned)p->offset);
    }
    for (size_t i = 0; i < n; i++) {
        if (!label_char_ok(p->label[i])) {
            return fail(why, FOTA_ERR_PART_LABEL, "label of partition at 0x%x has byte 0x%02x",
                        (unsigned)p->offset, (unsigned)(uint8_t)p->label[i]);
        }
    }
    if (p->label[0] == ' ' || p->label[n - 1] == ' ' || p->label[0] == '#') {
        return fail(why, FOTA_ERR_PART_LABEL, "label '%s' starts or ends with a space or '#'",
                    p->label);
    }
    return FOTA_OK;
}

static bool is_otadata(const fota_partition_t *p)
{
    return p->type == FOTA_PART_TYPE_DATA && p->subtype == FOTA_PART_SUBTYPE_DATA_OTA;
}

static bool app_subtype_known(uint8_t subtype)
{
    return subtype == FOTA_PART_SUBTYPE_FACTORY || subtype == FOTA_PART_SUBTYPE_TEST ||
           (subtype >= FOTA_PART_SUBTYPE_OTA_0 &&
            subtype < FOTA_PART_SUBTYPE_OTA_0 + OTA_SUBTYPE_COUNT);
}

/* Type-specific rules: app subtypes are the ones the bootloader knows; otadata and coredump are
 * always written by the system, so ESP-IDF refuses them read-only; otadata is two sectors. */
static fota_err_t check_kind(const fota_partition_t *p, const why_t *why)
{
    if (p->type == 0xFFu) { /* ESP_PARTITION_TYPE_ANY: a lookup wildcard, never a partition */
        return fail(why, FOTA_ERR_PART_TYPE, "'%s': type 0xff is not a partition type", p->label);
    }
    if (p->type == FOTA_PART_TYPE_APP && !app_subtype_known(p->subtype)) {
        return fail(why, FOTA_ERR_PART_TYPE, "'%s': unknown app subtype 0x%02x", p->label,
                    (unsigned)p->subtype);
    }
    bool always_rw =
        p->type == FOTA_PART_TYPE_DATA &&
        (p->subtype == FOTA_PART_SUBTYPE_DATA_OTA || p->subtype == FOTA_PART_SUBTYPE_DATA_COREDUMP);
    if (always_rw && (p->flags & FOTA_PART_FLAG_READONLY) != 0) {
        return fail(why, FOTA_ERR_PART_TYPE, "'%s' is always read-write and cannot be readonly",
                    p->label);
    }
    if (is_otadata(p) && p->size != OTADATA_SIZE) {
        return fail(why, FOTA_ERR_PART_SIZE, "'%s' (otadata) has size 0x%x, must be exactly 0x%x",
                    p->label, (unsigned)p->size, OTADATA_SIZE);
    }
    return FOTA_OK;
}

static fota_err_t check_align(const fota_partition_t *p, const why_t *why)
{
    bool app = p->type == FOTA_PART_TYPE_APP;
    uint32_t align = app ? APP_OFFSET_ALIGN : DATA_OFFSET_ALIGN;
    if (p->offset % align != 0) {
        return fail(why, FOTA_ERR_PART_ALIGN, "'%s' offset 0x%x is not aligned to 0x%x (%s)",
                    p->label, (unsigned)p->offset, (unsigned)align,
                    app ? "app partitions" : "data partitions");
    }
    if (app && p->size % APP_SIZE_ALIGN != 0) {
        return fail(why, FOTA_ERR_PART_ALIGN, "'%s' size 0x%x is not a multiple of 0x%x", p->label,
                    (unsigned)p->size, APP_SIZE_ALIGN);
    }
    return FOTA_OK;
}

static fota_err_t check_place(const fota_partition_t *p, uint32_t flash_size, const why_t *why)
{
    if (p->size == 0) {
        return fail(why, FOTA_ERR_PART_SIZE, "'%s' has size 0", p->label);
    }
    fota_err_t err = check_align(p, why);
    if (err != FOTA_OK) {
        return err;
    }
    if (p->offset < FIRST_FREE_OFFSET) {
        return fail(why, FOTA_ERR_PART_OVERLAP,
                    "'%s' at 0x%x overlaps the bootloader and partition table (below 0x%x)",
                    p->label, (unsigned)p->offset, FIRST_FREE_OFFSET);
    }
    if ((uint64_t)p->offset + p->size > flash_size) {
        return fail(why, FOTA_ERR_PART_BOUNDS, "'%s' (0x%x + 0x%x) ends beyond the flash (0x%x)",
                    p->label, (unsigned)p->offset, (unsigned)p->size, (unsigned)flash_size);
    }
    return FOTA_OK;
}

static bool overlaps(const fota_partition_t *a, const fota_partition_t *b)
{
    return (uint64_t)a->offset < (uint64_t)b->offset + b->size &&
           (uint64_t)b->offset < (uint64_t)a->offset + a->size;
}

static bool same_app_slot(const fota_partition_t *a, const fota_partition_t *b)
{
    return a->type == FOTA_PART_TYPE_APP && b->type == FOTA_PART_TYPE_APP &&
           a->subtype == b->subtype;
}

/* p against an earlier partition q. */
static fota_err_t check_pair(const fota_partition_t *p, const fota_partition_t *q, const why_t *why)
{
    if (strcmp(p->label, q->label) == 0) {
        return fail(why, FOTA_ERR_PART_DUPLICATE, "duplicate label '%s'", p->label);
    }
    if (overlaps(p, q)) {
        return fail(why, FOTA_ERR_PART_OVERLAP, "'%s' (0x%x..0x%x) overlaps '%s' (0x%x..0x%x)",
                    p->label, (unsigned)p->offset, (unsigned)(p->offset + p->size - 1), q->label,
                    (unsigned)q->offset, (unsigned)(q->offset + q->size - 1));
    }
    if (same_app_slot(p, q) || (is_otadata(p) && is_otadata(q))) {
        return fail(why, FOTA_ERR_PART_DUPLICATE, "'%s' and '%s' have the same type and subtype",
                    q->label, p->label);
    }
    return FOTA_OK;
}

static fota_err_t check_one(const fota_part_table_t *t, size_t i, uint32_t flash_size,
                            const why_t *why)
{
    const fota_partition_t *p = &t->entries[i];
    fota_err_t err = check_label(p, why);
    if (err == FOTA_OK) {
        err = check_kind(p, why);
    }
    if (err == FOTA_OK) {
        err = check_place(p, flash_size, why);
    }
    for (size_t j = 0; j < i && err == FOTA_OK; j++) {
        err = check_pair(p, &t->entries[j], why);
    }
    return err;
}

fota_err_t fota_part_table_validate(const fota_part_table_t *t, uint32_t flash_size, char *msg,
                                    size_t msg_len)
{
    why_t why = {msg, msg_len};
    if (msg != NULL && msg_len > 0) {
        msg[0] = '\0';
    }
    if (t == NULL) {
        return fail(&why, FOTA_ERR_ARG, "no table");
    }
    if (t->count > FOTA_PART_MAX) {
        return fail(&why, FOTA_ERR_PART_TOO_MANY, "%zu partitions, at most %u fit", t->count,
                    FOTA_PART_MAX);
    }
    if (t->count == 0) {
        return fail(&why, FOTA_ERR_NOT_FOUND, "the partition table is empty");
    }
    for (size_t i = 0; i < t->count; i++) {
        fota_err_t err = check_one(t, i, flash_size, &why);
        if (err != FOTA_OK) {
            return err;
        }
    }
    return FOTA_OK;
}

/* --- the default table and lookups ---------------------------------------------------------- */

void fota_part_add(fota_part_table_t *t, const char *label, uint8_t type, uint8_t subtype,
                   uint32_t offset, uint32_t size)
{
    if (t->count >= FOTA_PART_MAX) {
        return;
    }
    fota_partition_t *p = &t->entries[t->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->type = type;
    p->subtype = subtype;
    p->offset = offset;
    p->size = size;
}

void fota_part_table_default(fota_part_table_t *out)
{
    memset(out, 0, sizeof *out);
    fota_part_add(out, "nvs", FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_NVS, 0x9000u, 0x5000u);
    fota_part_add(out, "otadata", FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_OTA, 0xE000u,
                  0x2000u);
    fota_part_add(out, "app0", FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0, 0x10000u, 0x140000u);
    fota_part_add(out, "app1", FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0 + 1u, 0x150000u,
                  0x140000u);
    fota_part_add(out, "spiffs", FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_SPIFFS, 0x290000u,
                  0x160000u);
    fota_part_add(out, "coredump", FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_COREDUMP, 0x3F0000u,
                  0x10000u);
}

const fota_partition_t *fota_part_find(const fota_part_table_t *t, uint8_t type, uint8_t subtype)
{
    for (size_t i = 0; t != NULL && i < t->count; i++) {
        if (t->entries[i].type == type && t->entries[i].subtype == subtype) {
            return &t->entries[i];
        }
    }
    return NULL;
}

const fota_partition_t *fota_part_find_label(const fota_part_table_t *t, const char *label)
{
    for (size_t i = 0; t != NULL && label != NULL && i < t->count; i++) {
        if (strncmp(t->entries[i].label, label, sizeof t->entries[i].label) == 0) {
            return &t->entries[i];
        }
    }
    return NULL;
}

unsigned fota_part_ota_count(const fota_part_table_t *t)
{
    unsigned n = 0;
    for (size_t i = 0; t != NULL && i < t->count; i++) {
        const fota_partition_t *p = &t->entries[i];
        if (p->type == FOTA_PART_TYPE_APP && p->subtype >= FOTA_PART_SUBTYPE_OTA_0 &&
            p->subtype < FOTA_PART_SUBTYPE_OTA_0 + OTA_SUBTYPE_COUNT) {
            n++;
        }
    }
    return n;
}

/* --- flash ---------------------------------------------------------------------------------- */

fota_err_t fota_part_table_read(const fota_flash_t *flash, fota_part_table_t *out)
{
    if (flash == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    uint8_t buf[FOTA_PART_TABLE_SIZE];
    fota_err_t err = fota_flash_read(flash, FOTA_PART_TABLE_OFFSET, buf, sizeof buf);
    if (err != FOTA_OK) {
        return err;
    }
    return fota_part_table_parse(buf, sizeof buf, out);
}

/* The table is built in RAM before anything is erased, so a table that cannot be serialized
 * leaves the flash untouched. The sector is erased whole: NOR flash cannot rewrite in place. */
fota_err_t fota_part_table_write(const fota_flash_t *flash, const fota_part_table_t *t)
{
    if (flash == NULL || t == NULL) {
        return FOTA_ERR_ARG;
    }
    uint32_t sector = flash->sector_size;
    if (sector < FOTA_PART_TABLE_SIZE || FOTA_PART_TABLE_OFFSET % sector != 0) {
        return FOTA_ERR_ARG;
    }
    uint8_t buf[FOTA_PART_TABLE_SIZE];
    fota_err_t err = fota_part_table_serialize(t, buf, sizeof buf);
    if (err != FOTA_OK) {
        return err;
    }
    err = fota_flash_erase(flash, FOTA_PART_TABLE_OFFSET, sector);
    if (err != FOTA_OK) {
        return err;
    }
    return fota_flash_write(flash, FOTA_PART_TABLE_OFFSET, buf, sizeof buf);
}
