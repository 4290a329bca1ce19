/*
 * partition_csv.c - ESP-IDF partition CSV text to a table and back, and the type/subtype names.
 *
 * The syntax is gen_esp32part.py's: one partition per line "Name, Type, SubType, Offset, Size,
 * Flags", '#' comment lines, blank lines, whitespace around fields, missing trailing fields
 * empty. Numbers are decimal or 0x hex with an optional K or M suffix (KiB, MiB). An empty
 * offset places the partition after the previous line's partition, aligned to 0x10000 for app
 * and 0x1000 otherwise; the first one goes after the table sector, at 0x9000. Every error
 * stops at the first bad line and says which ("line 4: unknown subtype 'ota_x'"). Semantic
 * checks (overlap, alignment, bounds) are left to fota_part_table_validate(), which the caller
 * runs next; this file only turns text into numbers.
 */
#include "fota/emu/partition.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FIELD_COUNT 6u
#define FIRST_FREE_OFFSET (FOTA_PART_TABLE_OFFSET + 0x1000u)
#define APP_OFFSET_ALIGN 0x10000u
#define DATA_OFFSET_ALIGN 0x1000u
#define SUBTYPE_UNDEFINED 0x06u
#define TYPE_MAX 0xFEu /* 0xFF means "any type" in ESP-IDF's esp_partition API */
#define SHOWN_MAX 40   /* longest piece of a bad field quoted in a message */

/* --- names ---------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    uint8_t value;
} name_t;

static const name_t app_subtypes[] = {
    {"factory", 0x00}, {"ota_0", 0x10},  {"ota_1", 0x11},  {"ota_2", 0x12},  {"ota_3", 0x13},
    {"ota_4", 0x14},   {"ota_5", 0x15},  {"ota_6", 0x16},  {"ota_7", 0x17},  {"ota_8", 0x18},
    {"ota_9", 0x19},   {"ota_10", 0x1A}, {"ota_11", 0x1B}, {"ota_12", 0x1C}, {"ota_13", 0x1D},
    {"ota_14", 0x1E},  {"ota_15", 0x1F}, {"test", 0x20},
};

static const name_t data_subtypes[] = {
    {"ota", 0x00},
    {"phy", 0x01},
    {"nvs", 0x02},
    {"coredump", 0x03},
    {"nvs_keys", 0x04},
    {"efuse", 0x05},
    {"undefined", SUBTYPE_UNDEFINED},
    {"esphttpd", 0x80},
    {"fat", 0x81},
    {"spiffs", 0x82},
    {"littlefs", 0x83},
};

/* "0x00".."0xff", so that a name can be returned for any byte without a caller's buffer. */
#define HEX_DIGIT(d) ((char)((d) < 10 ? '0' + (d) : 'a' + (d)-10))
#define HEX_1(n)                                                                                   \
    {                                                                                              \
        '0', 'x', HEX_DIGIT((n) >> 4), HEX_DIGIT((n)&15), '\0'                                     \
    }
#define HEX_4(n) HEX_1(n), HEX_1((n) + 1), HEX_1((n) + 2), HEX_1((n) + 3)
#define HEX_16(n) HEX_4(n), HEX_4((n) + 4), HEX_4((n) + 8), HEX_4((n) + 12)
static const char hex_names[256][5] = {
    HEX_16(0x00), HEX_16(0x10), HEX_16(0x20), HEX_16(0x30), HEX_16(0x40), HEX_16(0x50),
    HEX_16(0x60), HEX_16(0x70), HEX_16(0x80), HEX_16(0x90), HEX_16(0xA0), HEX_16(0xB0),
    HEX_16(0xC0), HEX_16(0xD0), HEX_16(0xE0), HEX_16(0xF0),
};

static const name_t *subtypes_of(uint8_t type, size_t *count)
{
    if (type == FOTA_PART_TYPE_APP) {
        *count = sizeof app_subtypes / sizeof app_subtypes[0];
        return app_subtypes;
    }
    if (type == FOTA_PART_TYPE_DATA) {
        *count = sizeof data_subtypes / sizeof data_subtypes[0];
        return data_subtypes;
    }
    *count = 0;
    return NULL;
}

const char *fota_part_type_name(uint8_t type)
{
    if (type == FOTA_PART_TYPE_APP) {
        return "app";
    }
    return type == FOTA_PART_TYPE_DATA ? "data" : hex_names[type];
}

const char *fota_part_subtype_name(uint8_t type, uint8_t subtype, char *buf, size_t len)
{
    size_t n = 0;
    const name_t *names = subtypes_of(type, &n);
    for (size_t i = 0; i < n; i++) {
        if (names[i].value == subtype) {
            return names[i].name;
        }
    }
    if (buf == NULL || len < sizeof hex_names[0]) {
        return hex_names[subtype];
    }
    snprintf(buf, len, "%s", hex_names[subtype]);
    return buf;
}

/* --- text spans ------------------------------------------------------------------------------ */

typedef struct {
    const char *p;
    size_t n;
} span_t;

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static span_t trim(span_t s)
{
    while (s.n > 0 && is_blank(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_blank(s.p[s.n - 1])) {
        s.n--;
    }
    return s;
}

static bool span_is(span_t s, const char *word)
{
    return strlen(word) == s.n && strncasecmp(s.p, word, s.n) == 0;
}

static bool lookup(span_t s, const name_t *names, size_t count, uint8_t *value)
{
    for (size_t i = 0; i < count; i++) {
        if (span_is(s, names[i].name)) {
            *value = names[i].value;
            return true;
        }
    }
    return false;
}

/* --- numbers --------------------------------------------------------------------------------- */

typedef enum { NUM_OK, NUM_BAD, NUM_RANGE } num_result_t;

static unsigned digit_value(char c)
{
    if (c >= '0' && c <= '9') {
        return (unsigned)(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return (unsigned)(c - 'a' + 10);
    }
    return c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 99u;
}

/* Takes a trailing K or M off s and returns its multiplier (1 without one). */
static uint64_t take_suffix(span_t *s)
{
    char last = s->n > 0 ? s->p[s->n - 1] : '\0';
    if (last == 'k' || last == 'K') {
        s->n--;
        return 1024u;
    }
    if (last == 'm' || last == 'M') {
        s->n--;
        return 1024u * 1024u;
    }
    return 1u;
}

/* Decimal or 0x hex, optional K/M suffix; the value must fit 32 bits. */
static num_result_t parse_number(span_t s, uint32_t *out)
{
    uint64_t mult = take_suffix(&s);
    unsigned base = 10;
    if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
        base = 16;
        s.p += 2;
        s.n -= 2;
    }
    if (s.n == 0) {
        return NUM_BAD;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = digit_value(s.p[i]);
        if (d >= base) {
            return NUM_BAD;
        }
        v = v * base + d;
        if (v > UINT32_MAX) {
            return NUM_RANGE;
        }
    }
    v *= mult;
    *out = (uint32_t)v;
    return v > UINT32_MAX ? NUM_RANGE : NUM_OK;
}

/* --- one CSV line ---------------------------------------------------------------------------- */

typedef struct {
    fota_part_table_t *t;
    int line;
    uint64_t next;    /* end of the previous line's partition: where an empty offset goes */
    bool auto_offset; /* this line's offset field is empty */
    char *msg;
    size_t msg_len;
} csv_t;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static fota_err_t
csv_fail(const csv_t *c, fota_err_t err, const char *fmt, ...)
{
    if (c->msg == NULL || c->msg_len == 0) {
        return err;
    }
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(c->msg, c->msg_len, "line %d: %s", c->line, why);
    return err;
}

static int shown(span_t s)
{
    return s.n > SHOWN_MAX ? SHOWN_MAX : (int)s.n;
}

static fota_err_t number_field(const csv_t *c, span_t s, const char *what, uint32_t *out)
{
    num_result_t r = parse_number(s, out);
    if (r == NUM_BAD) {
        return csv_fail(c, FOTA_ERR_PART_CSV, "invalid %s '%.*s'", what, shown(s), s.p);
    }
    if (r == NUM_RANGE) {
        return csv_fail(c, FOTA_ERR_PART_CSV, "%s '%.*s' does not fit 32 bits", what, shown(s),
                        s.p);
    }
    return FOTA_OK;
}

static fota_err_t field_name(csv_t *c, span_t s, fota_partition_t *p)
{
    if (s.n == 0) {
        return csv_fail(c, FOTA_ERR_PART_CSV, "missing name");
    }
    if (s.n > FOTA_PART_LABEL_MAX) {
        return csv_fail(c, FOTA_ERR_PART_LABEL, "name '%.*s' is longer than %u characters",
                        shown(s), s.p, FOTA_PART_LABEL_MAX);
    }
    memcpy(p->label, s.p, s.n);
    p->label[s.n] = '\0';
    return FOTA_OK;
}

static fota_err_t field_type(csv_t *c, span_t s, fota_partition_t *p)
{
    if (s.n == 0) {
        return csv_fail(c, FOTA_ERR_PART_CSV, "missing type");
    }
    if (span_is(s, "app") || span_is(s, "data")) {
        p->type = span_is(s, "app") ? FOTA_PART_TYPE_APP : FOTA_PART_TYPE_DATA;
        return FOTA_OK;
    }
    uint32_t v = 0;
    if (parse_number(s, &v) != NUM_OK || v > TYPE_MAX) {
        return csv_fail(c, FOTA_ERR_PART_TYPE, "unknown type '%.*s'", shown(s), s.p);
    }
    p->type = (uint8_t)v;
    return FOTA_OK;
}

static fota_err_t field_subtype(csv_t *c, span_t s, fota_partition_t *p)
{
    if (s.n == 0 && p->type == FOTA_PART_TYPE_APP) {
        return csv_fail(c, FOTA_ERR_PART_CSV, "an app partition needs a subtype");
    }
    if (s.n == 0) {
        p->subtype = SUBTYPE_UNDEFINED; /* as gen_esp32part.py does for any other type */
        return FOTA_OK;
    }
    size_t count = 0;
    const name_t *names = subtypes_of(p->type, &count);
    if (lookup(s, names, count, &p->subtype)) {
        return FOTA_OK;
    }
    uint32_t v = 0;
    if (parse_number(s, &v) != NUM_OK || v > 0xFFu) {
        return csv_fail(c, FOTA_ERR_PART_TYPE, "unknown subtype '%.*s'", shown(s), s.p);
    }
    p->subtype = (uint8_t)v;
    return FOTA_OK;
}

static fota_err_t field_offset(csv_t *c, span_t s, fota_partition_t *p)
{
    c->auto_offset = s.n == 0;
    return c->auto_offset ? FOTA_OK : number_field(c, s, "offset", &p->offset);
}

static fota_err_t field_size(csv_t *c, span_t s, fota_partition_t *p)
{
    if (s.n == 0) {
        return csv_fail(c, FOTA_ERR_PART_CSV, "missing size");
    }
    return number_field(c, s, "size", &p->size);
}

static bool is_flag_separator(char c)
{
    return c == ':' || is_blank(c);
}

static fota_err_t one_flag(csv_t *c, span_t word, fota_partition_t *p)
{
    if (span_is(word, "encrypted")) {
        p->flags |= FOTA_PART_FLAG_ENCRYPTED;
    } else if (span_is(word, "readonly")) {
        p->flags |= FOTA_PART_FLAG_READONLY;
    } else if (word.n > 0) {
        return csv_fail(c, FOTA_ERR_PART_CSV, "unknown flag '%.*s'", shown(word), word.p);
    }
    return FOTA_OK;
}

/* Flags separated by ':' (ESP-IDF) or blanks. */
static fota_err_t field_flags(csv_t *c, span_t s, fota_partition_t *p)
{
    size_t start = 0;
    for (size_t i = 0; i <= s.n; i++) {
        if (i < s.n && !is_flag_separator(s.p[i])) {
            continue;
        }
        span_t word = {s.p + start, i - start};
        fota_err_t err = one_flag(c, word, p);
        if (err != FOTA_OK) {
            return err;
        }
        start = i + 1;
    }
    return FOTA_OK;
}

/* Splits a line at commas into FIELD_COUNT trimmed fields (missing ones empty). Extra fields
 * are tolerated only when empty ("a trailing comma"). */
static bool split_fields(span_t line, span_t f[FIELD_COUNT])
{
    size_t k = 0;
    size_t start = 0;
    for (size_t i = 0; i <= line.n; i++) {
        if (i < line.n && line.p[i] != ',') {
            continue;
        }
        span_t field = trim((span_t){line.p + start, i - start});
        if (k >= FIELD_COUNT && field.n > 0) {
            return false;
        }
        if (k < FIELD_COUNT) {
            f[k++] = field;
        }
        start = i + 1;
    }
    return true;
}

static fota_err_t place(csv_t *c, fota_partition_t *p)
{
    if (c->auto_offset) {
        uint64_t align = p->type == FOTA_PART_TYPE_APP ? APP_OFFSET_ALIGN : DATA_OFFSET_ALIGN;
        uint64_t at = (c->next + align - 1) / align * align;
        if (at > UINT32_MAX) {
            return csv_fail(c, FOTA_ERR_PART_BOUNDS, "no room left for '%s' after 0x%llx", p->label,
                            (unsigned long long)c->next);
        }
        p->offset = (uint32_t)at;
    }
    c->next = (uint64_t)p->offset + p->size;
    return FOTA_OK;
}

typedef fota_err_t (*field_fn)(csv_t *c, span_t s, fota_partition_t *p);

static fota_err_t parse_partition(csv_t *c, span_t line)
{
    static const field_fn fields[FIELD_COUNT] = {field_name,   field_type, field_subtype,
                                                 field_offset, field_size, field_flags};
    span_t f[FIELD_COUNT];
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        f[i] = (span_t){line.p + line.n, 0}; /* a missing field is empty, at the line's end */
    }
    if (!split_fields(line, f)) {
        return csv_fail(c, FOTA_ERR_PART_CSV, "more than %u fields", FIELD_COUNT);
    }
    if (c->t->count >= FOTA_PART_MAX_WRITABLE) {
        return csv_fail(c, FOTA_ERR_PART_TOO_MANY, "more than %u partitions",
                        FOTA_PART_MAX_WRITABLE);
    }
    fota_partition_t p;
    memset(&p, 0, sizeof p);
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        fota_err_t err = fields[i](c, f[i], &p);
        if (err != FOTA_OK) {
            return err;
        }
    }
    fota_err_t err = place(c, &p);
    if (err == FOTA_OK) {
        c->t->entries[c->t->count++] = p;
    }
    return err;
}

static fota_err_t parse_line(csv_t *c, span_t line)
{
    line = trim(line);
    if (line.n == 0 || line.p[0] == '#') {
        return FOTA_OK;
    }
    return parse_partition(c, line);
}

fota_err_t fota_part_table_from_csv(const char *text, fota_part_table_t *out, int *err_line,
                                    char *msg, size_t msg_len)
{
    if (err_line != NULL) {
        *err_line = 0;
    }
    if (msg != NULL && msg_len > 0) {
        msg[0] = '\0';
    }
    if (text == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    csv_t c = {out, 0, FIRST_FREE_OFFSET, false, msg, msg_len};
    if (strncmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3; /* a UTF-8 byte order mark from a Windows editor */
    }
    while (*text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t n = nl != NULL ? (size_t)(nl - text) : strlen(text);
        c.line++;
        fota_err_t err = parse_line(&c, (span_t){text, n});
        if (err != FOTA_OK) {
            if (err_line != NULL) {
                *err_line = c.line;
            }
            return err;
        }
        text += n + (nl != NULL ? 1u : 0u);
    }
    return FOTA_OK;
}

/* --- table to CSV ---------------------------------------------------------------------------- */

typedef struct {
    char *out;
    size_t len;
    size_t pos; /* bytes the full text needs so far */
} sink_t;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
put(sink_t *s, const char *fmt, ...)
{
    bool room = s->out != NULL && s->pos < s->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? s->out + s->pos : NULL, room ? s->len - s->pos : 0, fmt, ap);
    va_end(ap);
    s->pos += n > 0 ? (size_t)n : 0u;
}

/* A value followed by its comma, padded so that the columns line up for a reader. */
static void put_column(sink_t *s, const char *value, int width)
{
    int n = (int)strlen(value) + 1;
    put(s, "%s,%*s", value, n < width ? width - n : 1, "");
}

/* Sizes as gen_esp32part.py writes them: M or K when exact, hex otherwise. */
static void put_size(sink_t *s, uint32_t size)
{
    if (size != 0 && size % (1024u * 1024u) == 0) {
        put(s, "%uM,", (unsigned)(size / (1024u * 1024u)));
    } else if (size != 0 && size % 1024u == 0) {
        put(s, "%uK,", (unsigned)(size / 1024u));
    } else {
        put(s, "0x%x,", (unsigned)size);
    }
}

static void put_flags(sink_t *s, uint32_t flags)
{
    bool enc = (flags & FOTA_PART_FLAG_ENCRYPTED) != 0;
    bool ro = (flags & FOTA_PART_FLAG_READONLY) != 0;
    put(s, "%s%s%s\n", enc ? "encrypted" : "", enc && ro ? ":" : "", ro ? "readonly" : "");
}

static void put_partition(sink_t *s, const fota_partition_t *p)
{
    char sub[8];
    char offset[16];
    snprintf(offset, sizeof offset, "0x%x", (unsigned)p->offset);
    put_column(s, p->label, 18);
    put_column(s, fota_part_type_name(p->type), 6);
    put_column(s, fota_part_subtype_name(p->type, p->subtype, sub, sizeof sub), 11);
    put_column(s, offset, 10);
    put_size(s, p->size);
    put_flags(s, p->flags);
}

size_t fota_part_table_to_csv(const fota_part_table_t *t, char *out, size_t out_len)
{
    sink_t s = {out, out_len, 0};
    if (out != NULL && out_len > 0) {
        out[0] = '\0';
    }
    put(&s, "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n");
    for (size_t i = 0; t != NULL && i < t->count && i < FOTA_PART_MAX; i++) {
        put_partition(&s, &t->entries[i]);
    }
    return s.pos;
}
