/*
 * esp_image.c - the ESP-IDF app image format: header and app descriptor codecs, and the
 * validator the device runs on the image it has just written (esp_image.h has the layout).
 *
 * The validator walks the image once, front to back, as ESP-IDF's bootloader does
 * (esp_image_format.c: header, segments, checksum, appended hash): every byte is read through
 * the caller's callback in pieces of at most FOTA_CONFIG_IMAGE_READ_BUF bytes, XORed into the
 * checksum if it is segment data, and fed to SHA-256 if a hash is appended. The app descriptor
 * lies in the first segment's data, so its fields are picked out of the same pieces as they
 * pass: no second read and no 256-byte buffer. RAM is a few small stack buffers whatever the
 * image size.
 *
 * A caller that has hashed the image already (the device reads its partition back once against
 * the manifest's SHA-256) passes the digest of the image's first bytes: if the appended hash
 * starts exactly there, the walk hashes nothing; if it starts elsewhere, the image is read once
 * more to hash what the appended hash covers. A caller that has proved the bytes some other way
 * (chain mode: every chunk authenticated and compared after its write) asks for the layout only:
 * the appended hash must be there, but its value is left to the boot port and the bootloader.
 *
 * A one-mode agent build needs less still: fota_esp_image_check_bounds walks the header and the
 * segment table only, seeking over the segment data (no data read, no checksum computed) and
 * reading just the app descriptor's magic word and secure version; the checksum and the appended
 * hash, which ESP-IDF's esp_ota_set_boot_partition and its bootloader verify, are only required
 * to fit where the layout puts them.
 *
 * Limits are checked before a read, so a read never goes past max_len: a segment whose data
 * runs past max_len is FOTA_ERR_IMAGE_SEGMENT_LEN (its length field is what is wrong); any other
 * part of the image that does not fit (the header, a segment header, the checksum block, the
 * hash) is FOTA_ERR_IMAGE_TOO_BIG. A failed read inside max_len is returned as the reader gave
 * it (a short file read through fota_mem_read gives FOTA_ERR_TRUNCATED).
 *
 * The chip table (esp_image.h) is esp_chip_id_t of ESP-IDF v5.5 with the target names of its
 * build system: a few bytes of constant data, no state.
 */
#include "fota/esp_image.h"

#include <stddef.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/bytes.h"
#include "fota/fota_config.h"

#define SHA256_LEN 32u
#define CHECKSUM_BLOCK 16u

/* Field offsets inside esp_app_desc_t (ESP-IDF esp_app_desc.h). */
#define DESC_HEAD_LEN 8u /* magic_word, secure_version */
#define DESC_VERSION 16u
#define DESC_PROJECT 48u
#define DESC_TIME 80u
#define DESC_DATE 96u
#define DESC_IDF_VER 112u
#define DESC_ELF_SHA 144u

typedef struct {
    fota_read_fn_t read;
    void *ctx;
    uint32_t max_len;
    uint32_t pos; /* next byte to read; pos <= max_len always */
    uint8_t checksum;
    bool hashing;
    bool layout_only;                     /* the appended hash is read, not checked */
    const fota_esp_image_digest_t *known; /* may be NULL: then the walk hashes as it goes */
    fota_esp_image_info_t *out;           /* may be NULL: then only the verdict is wanted */
    uint32_t first_segment_len;
    uint8_t desc_head[DESC_HEAD_LEN]; /* raw magic_word and secure_version */
    mbedtls_md_context_t md;
    fota_esp_image_header_t header;
} scan_t;

/* --- chips ---------------------------------------------------------------------------------- */

static const fota_esp_chip_t chips[] = {
    {FOTA_ESP_CHIP_ID_ESP32, "esp32", "ESP32"},
    {FOTA_ESP_CHIP_ID_ESP32S2, "esp32s2", "ESP32-S2"},
    {FOTA_ESP_CHIP_ID_ESP32C3, "esp32c3", "ESP32-C3"},
    {FOTA_ESP_CHIP_ID_ESP32S3, "esp32s3", "ESP32-S3"},
    {FOTA_ESP_CHIP_ID_ESP32C2, "esp32c2", "ESP32-C2"},
    {FOTA_ESP_CHIP_ID_ESP32C6, "esp32c6", "ESP32-C6"},
    {FOTA_ESP_CHIP_ID_ESP32H2, "esp32h2", "ESP32-H2"},
    {FOTA_ESP_CHIP_ID_ESP32P4, "esp32p4", "ESP32-P4"},
    {FOTA_ESP_CHIP_ID_ESP32C61, "esp32c61", "ESP32-C61"},
    {FOTA_ESP_CHIP_ID_ESP32C5, "esp32c5", "ESP32-C5"},
};

#define CHIP_COUNT (sizeof chips / sizeof chips[0])

const fota_esp_chip_t *fota_esp_chip_at(size_t i)
{
    return i < CHIP_COUNT ? &chips[i] : NULL;
}

const fota_esp_chip_t *fota_esp_chip_by_id(uint16_t id)
{
    for (size_t i = 0; i < CHIP_COUNT; i++) {
        if (chips[i].id == id) {
            return &chips[i];
        }
    }
    return NULL;
}

/* The next character of a chip name that counts: lower case, dashes skipped. */
static char name_char(const char **p)
{
    while (**p == '-') {
        (*p)++;
    }
    char c = **p;
    if (c != '\0') {
        (*p)++;
    }
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

const fota_esp_chip_t *fota_esp_chip_by_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < CHIP_COUNT; i++) {
        const char *a = name, *b = chips[i].target;
        char ca, cb;
        do {
            ca = name_char(&a);
            cb = name_char(&b);
        } while (ca == cb && ca != '\0');
        if (ca == cb) {
            return &chips[i];
        }
    }
    return NULL;
}

/* --- header ---------------------------------------------------------------------------------- */

fota_err_t fota_esp_image_header_parse(const uint8_t *buf, size_t len, fota_esp_image_header_t *out)
{
    if (buf == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    if (len < FOTA_ESP_IMAGE_HEADER_LEN) {
        return FOTA_ERR_IMAGE_TRUNCATED;
    }
    out->magic = buf[0];
    out->segment_count = buf[1];
    out->spi_mode = buf[2];
    out->spi_speed = buf[3] & 0x0Fu;
    out->spi_size = (uint8_t)(buf[3] >> 4);
    out->entry_addr = fota_get_le32(buf + 4);
    out->wp_pin = buf[8];
    memcpy(out->spi_pin_drv, buf + 9, 3);
    out->chip_id = fota_get_le16(buf + 12);
    out->min_chip_rev = buf[14];
    out->min_chip_rev_full = fota_get_le16(buf + 15);
    out->max_chip_rev_full = fota_get_le16(buf + 17);
    out->hash_appended = buf[23];
    if (out->magic != FOTA_ESP_IMAGE_MAGIC) {
        return FOTA_ERR_IMAGE_MAGIC;
    }
    if (out->segment_count == 0 || out->segment_count > FOTA_ESP_IMAGE_MAX_SEGMENTS) {
        return FOTA_ERR_IMAGE_SEGMENTS;
    }
    return FOTA_OK;
}

void fota_esp_image_header_encode(const fota_esp_image_header_t *h, uint8_t out[24])
{
    memset(out, 0, FOTA_ESP_IMAGE_HEADER_LEN);
    out[0] = h->magic;
    out[1] = h->segment_count;
    out[2] = h->spi_mode;
    out[3] = (uint8_t)((h->spi_speed & 0x0Fu) | (uint8_t)(h->spi_size << 4));
    fota_put_le32(out + 4, h->entry_addr);
    out[8] = h->wp_pin;
    memcpy(out + 9, h->spi_pin_drv, 3);
    fota_put_le16(out + 12, h->chip_id);
    out[14] = h->min_chip_rev;
    fota_put_le16(out + 15, h->min_chip_rev_full);
    fota_put_le16(out + 17, h->max_chip_rev_full);
    /* 19..22 reserved, zero */
    out[23] = h->hash_appended;
}

/* --- app descriptor -------------------------------------------------------------------------- */

/* Copy the part of the piece p[0..n), which sits at offset rel of the descriptor, that overlaps
 * the field [field, field + field_len) into dst. */
static void take(uint8_t *dst, uint32_t field, uint32_t field_len, uint32_t rel, const uint8_t *p,
                 size_t n)
{
    uint32_t lo = field > rel ? field : rel;
    uint32_t end = rel + (uint32_t)n;
    uint32_t hi = field + field_len < end ? field + field_len : end;
    if (lo < hi) {
        memcpy(dst + (lo - field), p + (lo - rel), hi - lo);
    }
}

/* Pick the descriptor's fields out of a piece of it (into d unless NULL; magic word and secure
 * version into head); the strings' last byte stays NUL. */
static void desc_take(fota_esp_app_desc_t *d, uint8_t head[DESC_HEAD_LEN], uint32_t rel,
                      const uint8_t *p, size_t n)
{
    /* Where each field goes in d, where it is in the descriptor, its length. */
    static const uint8_t fields[][3] = {
        {offsetof(fota_esp_app_desc_t, version), DESC_VERSION, 32},
        {offsetof(fota_esp_app_desc_t, project_name), DESC_PROJECT, 32},
        {offsetof(fota_esp_app_desc_t, time), DESC_TIME, 16},
        {offsetof(fota_esp_app_desc_t, date), DESC_DATE, 16},
        {offsetof(fota_esp_app_desc_t, idf_ver), DESC_IDF_VER, 32},
        {offsetof(fota_esp_app_desc_t, app_elf_sha256), DESC_ELF_SHA, 32},
    };
    take(head, 0, DESC_HEAD_LEN, rel, p, n);
    for (size_t i = 0; d != NULL && i < sizeof fields / sizeof fields[0]; i++) {
        take((uint8_t *)d + fields[i][0], fields[i][1], fields[i][2], rel, p, n);
    }
}

static fota_err_t desc_finish(fota_esp_app_desc_t *d, const uint8_t head[DESC_HEAD_LEN])
{
    uint32_t magic = fota_get_le32(head);
    if (d != NULL) {
        d->magic_word = magic;
        d->secure_version = fota_get_le32(head + 4);
    }
    return magic == FOTA_ESP_APP_DESC_MAGIC ? FOTA_OK : FOTA_ERR_IMAGE_APP_DESC;
}

fota_err_t fota_esp_app_desc_parse(const uint8_t *buf, size_t len, fota_esp_app_desc_t *out)
{
    uint8_t head[DESC_HEAD_LEN];
    if (buf == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    if (len < FOTA_ESP_APP_DESC_LEN) {
        return FOTA_ERR_IMAGE_TRUNCATED;
    }
    memset(out, 0, sizeof *out);
    desc_take(out, head, 0, buf, FOTA_ESP_APP_DESC_LEN);
    return desc_finish(out, head);
}

/* Copy a C string into a fixed field, NUL-padded, cut at the field's size. */
static void put_str(uint8_t *dst, const char *s, size_t field)
{
    size_t n = strlen(s);
    memcpy(dst, s, n < field ? n : field);
}

void fota_esp_app_desc_encode(const fota_esp_app_desc_t *d, uint8_t out[256])
{
    memset(out, 0, FOTA_ESP_APP_DESC_LEN);
    fota_put_le32(out, d->magic_word);
    fota_put_le32(out + 4, d->secure_version);
    put_str(out + DESC_VERSION, d->version, 32);
    put_str(out + DESC_PROJECT, d->project_name, 32);
    put_str(out + DESC_TIME, d->time, 16);
    put_str(out + DESC_DATE, d->date, 16);
    put_str(out + DESC_IDF_VER, d->idf_ver, 32);
    memcpy(out + DESC_ELF_SHA, d->app_elf_sha256, 32);
}

/* --- the walk -------------------------------------------------------------------------------- */

/* Read n bytes at the cursor (the caller has checked they lie within max_len) and hash them. */
static fota_err_t scan_read(scan_t *s, uint8_t *buf, size_t n)
{
    fota_err_t err = s->read(s->ctx, s->pos, buf, n);
    if (err != FOTA_OK) {
        return err;
    }
    if (s->hashing && mbedtls_md_update(&s->md, buf, n) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    s->pos += (uint32_t)n;
    return FOTA_OK;
}

static fota_err_t scan_start_hash(scan_t *s)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (md == NULL || mbedtls_md_setup(&s->md, md, 0) != 0 || mbedtls_md_starts(&s->md) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    s->hashing = true;
    return FOTA_OK;
}

/* The header. As in the ESP-IDF bootloader, any non-zero hash_appended means a hash follows. */
static fota_err_t scan_header(scan_t *s)
{
    uint8_t buf[FOTA_ESP_IMAGE_HEADER_LEN];
    if (s->max_len < FOTA_ESP_IMAGE_HEADER_LEN) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    fota_err_t err = s->read(s->ctx, 0, buf, sizeof buf);
    if (err != FOTA_OK) {
        return err;
    }
    err = fota_esp_image_header_parse(buf, sizeof buf, &s->header);
    if (s->out != NULL) {
        s->out->header = s->header;
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (s->header.hash_appended != 0 && s->known == NULL && !s->layout_only) {
        err = scan_start_hash(s);
    }
    if (err == FOTA_OK && s->hashing && mbedtls_md_update(&s->md, buf, sizeof buf) != 0) {
        err = FOTA_ERR_CRYPTO;
    }
    s->pos = FOTA_ESP_IMAGE_HEADER_LEN;
    return err;
}

static uint8_t xor_bytes(uint8_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        acc ^= p[i];
    }
    return acc;
}

/* One segment's data, piece by piece; the first segment carries the app descriptor. */
static fota_err_t scan_data(scan_t *s, unsigned index, uint32_t len)
{
    uint8_t buf[FOTA_CONFIG_IMAGE_READ_BUF];
    while (len > 0) {
        size_t n = len < sizeof buf ? len : sizeof buf;
        uint32_t at = s->pos;
        fota_err_t err = scan_read(s, buf, n);
        if (err != FOTA_OK) {
            return err;
        }
        s->checksum = xor_bytes(s->checksum, buf, n);
        if (index == 0) {
            desc_take(s->out != NULL ? &s->out->app_desc : NULL, s->desc_head,
                      at - FOTA_ESP_APP_DESC_OFFSET, buf, n);
        }
        len -= (uint32_t)n;
    }
    return FOTA_OK;
}

static fota_err_t scan_segment(scan_t *s, unsigned index)
{
    uint8_t buf[FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN];
    if (s->max_len - s->pos < sizeof buf) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    fota_err_t err = scan_read(s, buf, sizeof buf);
    if (err != FOTA_OK) {
        return err;
    }
    uint32_t len = fota_get_le32(buf + 4);
    if (s->out != NULL) {
        s->out->segment_load_addr[index] = fota_get_le32(buf);
        s->out->segment_len[index] = len;
    }
    if (index == 0) {
        s->first_segment_len = len;
    }
    if (len % 4 != 0 || len > s->max_len - s->pos) {
        return FOTA_ERR_IMAGE_SEGMENT_LEN;
    }
    return scan_data(s, index, len);
}

/* Zero padding and the checksum byte, which ends the 16-byte block (esptool: pad 15 - pos % 16
 * bytes, then the checksum; ESP-IDF process_checksum reads the same block). */
static fota_err_t scan_checksum(scan_t *s)
{
    uint8_t buf[CHECKSUM_BLOCK];
    size_t n = CHECKSUM_BLOCK - s->pos % CHECKSUM_BLOCK;
    if (s->max_len - s->pos < n) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    fota_err_t err = scan_read(s, buf, n);
    if (err != FOTA_OK) {
        return err;
    }
    if (s->out != NULL) {
        s->out->checksum = buf[n - 1];
    }
    return buf[n - 1] == s->checksum ? FOTA_OK : FOTA_ERR_IMAGE_CHECKSUM;
}

/* The caller's digest covers other bytes than the appended hash does: hash [0, pos) again. */
static fota_err_t scan_rehash(scan_t *s)
{
    uint8_t buf[FOTA_CONFIG_IMAGE_READ_BUF];
    fota_err_t err = scan_start_hash(s);
    for (uint32_t at = 0; err == FOTA_OK && at < s->pos; at += (uint32_t)sizeof buf) {
        size_t n = s->pos - at < sizeof buf ? s->pos - at : sizeof buf;
        err = s->read(s->ctx, at, buf, n);
        if (err == FOTA_OK && mbedtls_md_update(&s->md, buf, n) != 0) {
            err = FOTA_ERR_CRYPTO;
        }
    }
    return err;
}

/* SHA-256 of every byte before the cursor: the caller's, or the walk's own. */
static fota_err_t scan_digest(scan_t *s, uint8_t calc[SHA256_LEN])
{
    if (s->known != NULL && s->known->len == s->pos) {
        memcpy(calc, s->known->sha256, SHA256_LEN);
        return FOTA_OK;
    }
    fota_err_t err = s->hashing ? FOTA_OK : scan_rehash(s);
    if (err == FOTA_OK && mbedtls_md_finish(&s->md, calc) != 0) {
        err = FOTA_ERR_CRYPTO;
    }
    return err;
}

/* The appended SHA-256 of every byte before it. */
static fota_err_t scan_hash(scan_t *s)
{
    uint8_t calc[SHA256_LEN], stored[SHA256_LEN];
    if (s->header.hash_appended == 0) {
        return FOTA_OK;
    }
    if (s->max_len - s->pos < SHA256_LEN) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    fota_err_t err = s->layout_only ? FOTA_OK : scan_digest(s, calc);
    if (err == FOTA_OK) {
        err = s->read(s->ctx, s->pos, stored, SHA256_LEN);
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (s->out != NULL) {
        memcpy(s->out->appended_sha256, stored, SHA256_LEN);
    }
    s->pos += SHA256_LEN;
    return s->layout_only || memcmp(calc, stored, SHA256_LEN) == 0 ? FOTA_OK : FOTA_ERR_IMAGE_HASH;
}

static fota_err_t scan_image(scan_t *s)
{
    fota_err_t err = scan_header(s);
    for (unsigned i = 0; err == FOTA_OK && i < s->header.segment_count; i++) {
        err = scan_segment(s, i);
    }
    if (err == FOTA_OK) {
        err = scan_checksum(s);
    }
    if (err == FOTA_OK) {
        err = scan_hash(s);
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (s->out != NULL) {
        s->out->image_len = s->pos;
    }
    /* The descriptor must lie wholly inside the first segment. */
    if (s->first_segment_len < FOTA_ESP_APP_DESC_LEN) {
        return FOTA_ERR_IMAGE_APP_DESC;
    }
    return desc_finish(s->out != NULL ? &s->out->app_desc : NULL, s->desc_head);
}

fota_err_t fota_esp_image_check(fota_read_fn_t read, void *ctx, uint32_t max_len,
                                fota_esp_image_info_t *out)
{
    return fota_esp_image_check_hashed(read, ctx, max_len, NULL, out);
}

static fota_err_t check(fota_read_fn_t read, void *ctx, uint32_t max_len,
                        const fota_esp_image_digest_t *known, bool layout_only,
                        fota_esp_image_info_t *out)
{
    scan_t s;
    if (read == NULL) {
        return FOTA_ERR_ARG;
    }
    memset(&s, 0, sizeof s);
    s.layout_only = layout_only;
    s.read = read;
    s.ctx = ctx;
    s.max_len = max_len;
    s.checksum = FOTA_ESP_CHECKSUM_INITIAL;
    s.known = known;
    s.out = out;
    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    mbedtls_md_init(&s.md);
    fota_err_t err = scan_image(&s);
    mbedtls_md_free(&s.md);
    return err;
}

fota_err_t fota_esp_image_check_hashed(fota_read_fn_t read, void *ctx, uint32_t max_len,
                                       const fota_esp_image_digest_t *known,
                                       fota_esp_image_info_t *out)
{
    return check(read, ctx, max_len, known, false, out);
}

fota_err_t fota_esp_image_check_layout(fota_read_fn_t read, void *ctx, uint32_t max_len,
                                       fota_esp_image_info_t *out)
{
    return check(read, ctx, max_len, NULL, true, out);
}

/* --- the bounds walk ------------------------------------------------------------------------- */

fota_err_t fota_esp_image_check_bounds(fota_read_fn_t read, void *ctx, uint32_t max_len,
                                       fota_esp_image_bounds_t *out)
{
    uint8_t buf[FOTA_ESP_IMAGE_HEADER_LEN];
    if (read == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    if (max_len < FOTA_ESP_IMAGE_HEADER_LEN) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    fota_err_t err = read(ctx, 0, buf, sizeof buf);
    if (err != FOTA_OK) {
        return err;
    }
    /* The header's checks as fota_esp_image_header_parse makes them; only these fields count. */
    unsigned count = buf[1];
    uint16_t chip_id = fota_get_le16(buf + 12);
    bool hashed = buf[23] != 0;
    if (buf[0] != FOTA_ESP_IMAGE_MAGIC) {
        return FOTA_ERR_IMAGE_MAGIC;
    }
    if (count == 0 || count > FOTA_ESP_IMAGE_MAX_SEGMENTS) {
        return FOTA_ERR_IMAGE_SEGMENTS;
    }
    uint32_t pos = FOTA_ESP_IMAGE_HEADER_LEN;
    uint32_t first_len = 0;
    for (unsigned i = 0; i < count; i++) {
        if (max_len - pos < FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN) {
            return FOTA_ERR_IMAGE_TOO_BIG;
        }
        err = read(ctx, pos, buf, FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN);
        if (err != FOTA_OK) {
            return err;
        }
        pos += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN;
        uint32_t len = fota_get_le32(buf + 4);
        if (len % 4 != 0 || len > max_len - pos) {
            return FOTA_ERR_IMAGE_SEGMENT_LEN;
        }
        first_len = i == 0 ? len : first_len;
        pos += len; /* seek over the data */
    }
    /* The checksum block's padding and byte, then the appended hash if the header says so. */
    uint32_t tail = CHECKSUM_BLOCK - pos % CHECKSUM_BLOCK + (hashed ? SHA256_LEN : 0u);
    if (max_len - pos < tail) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    /* The descriptor must lie wholly inside the first segment. */
    if (first_len < FOTA_ESP_APP_DESC_LEN) {
        return FOTA_ERR_IMAGE_APP_DESC;
    }
    err = read(ctx, FOTA_ESP_APP_DESC_OFFSET, buf, DESC_HEAD_LEN);
    if (err != FOTA_OK) {
        return err;
    }
    if (fota_get_le32(buf) != FOTA_ESP_APP_DESC_MAGIC) {
        return FOTA_ERR_IMAGE_APP_DESC;
    }
    out->chip_id = chip_id;
    out->secure_version = fota_get_le32(buf + 4);
    out->image_len = pos + tail;
    return FOTA_OK;
}
