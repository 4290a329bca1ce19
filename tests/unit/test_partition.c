/*
 * test_partition.c - the ESP-IDF partition table: binary bytes, MD5, corruption, CSV syntax,
 * validation, and read/write through a flash port (an in-memory NOR fake).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mbedtls/md.h>
#include <stdio.h>
#include <string.h>

#include "fota/emu/partition.h"

#define FLASH_4MB 0x400000u

static const char arduino_default_csv[] = "# Name,   Type, SubType, Offset,  Size, Flags\n"
                                          "nvs,      data, nvs,     0x9000,  0x5000,\n"
                                          "otadata,  data, ota,     0xe000,  0x2000,\n"
                                          "app0,     app,  ota_0,   0x10000, 0x140000,\n"
                                          "app1,     app,  ota_1,   0x150000,0x140000,\n"
                                          "spiffs,   data, spiffs,  0x290000,0x160000,\n"
                                          "coredump, data, coredump,0x3F0000,0x10000,\n";

/* --- helpers -------------------------------------------------------------------------------- */

static void assert_part_equal(const fota_partition_t *a, const fota_partition_t *b)
{
    assert_string_equal(a->label, b->label);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->subtype, b->subtype);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->flags, b->flags);
}

static void assert_table_equal(const fota_part_table_t *a, const fota_part_table_t *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        assert_part_equal(&a->entries[i], &b->entries[i]);
    }
}

static void md5(const uint8_t *p, size_t len, uint8_t out[16])
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_MD5);
    assert_non_null(info);
    assert_int_equal(mbedtls_md(info, p, len, out), 0);
}

static void serialized_default(uint8_t buf[FOTA_PART_TABLE_SIZE])
{
    fota_part_table_t t;
    fota_part_table_default(&t);
    assert_int_equal(fota_part_table_serialize(&t, buf, FOTA_PART_TABLE_SIZE), FOTA_OK);
}

static fota_partition_t *part(fota_part_table_t *t, const char *label)
{
    fota_partition_t *p = (fota_partition_t *)fota_part_find_label(t, label);
    assert_non_null(p);
    return p;
}

/* Validates t and checks the code and that msg names every given label. */
static void expect_invalid(const fota_part_table_t *t, uint32_t flash_size, fota_err_t want,
                           const char *label_a, const char *label_b)
{
    char msg[256];
    assert_int_equal(fota_part_table_validate(t, flash_size, msg, sizeof msg), want);
    assert_true(strlen(msg) > 0);
    if (label_a != NULL) {
        assert_non_null(strstr(msg, label_a));
    }
    if (label_b != NULL) {
        assert_non_null(strstr(msg, label_b));
    }
}

/* --- binary --------------------------------------------------------------------------------- */

static void test_default_table(void **state)
{
    (void)state;
    fota_part_table_t t;
    fota_part_table_default(&t);
    assert_int_equal(t.count, 6);
    const fota_partition_t *app1 = fota_part_find_label(&t, "app1");
    assert_non_null(app1);
    assert_int_equal(app1->type, FOTA_PART_TYPE_APP);
    assert_int_equal(app1->subtype, 0x11);
    assert_int_equal(app1->offset, 0x150000);
    assert_int_equal(app1->size, 0x140000);
    const fota_partition_t *ota = fota_part_find(&t, FOTA_PART_TYPE_DATA, 0x00);
    assert_non_null(ota);
    assert_string_equal(ota->label, "otadata");
    assert_int_equal(ota->offset, 0xE000);
    assert_string_equal(t.entries[5].label, "coredump");
    assert_int_equal(t.entries[5].offset, 0x3F0000);
    assert_int_equal(fota_part_ota_count(&t), 2);
    assert_int_equal(fota_part_table_validate(&t, FLASH_4MB, NULL, 0), FOTA_OK);
}

static void test_serialize_parse_round_trip(void **state)
{
    (void)state;
    fota_part_table_t t, back;
    fota_part_table_default(&t);
    t.entries[4].flags = FOTA_PART_FLAG_READONLY;
    t.entries[2].flags = FOTA_PART_FLAG_ENCRYPTED;
    uint8_t buf[FOTA_PART_TABLE_SIZE];
    assert_int_equal(fota_part_table_serialize(&t, buf, sizeof buf), FOTA_OK);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &back), FOTA_OK);
    assert_table_equal(&t, &back);
}

static void test_first_entry_bytes(void **state)
{
    (void)state;
    static const uint8_t want[32] = {
        0xAA, 0x50, 0x01, 0x02,                         /* magic, data, nvs */
        0x00, 0x90, 0x00, 0x00,                         /* offset 0x9000 LE */
        0x00, 0x50, 0x00, 0x00,                         /* size 0x5000 LE */
        'n',  'v',  's',  0,    0, 0, 0, 0, 0, 0, 0, 0, /* label, NUL-padded */
        0,    0,    0,    0,                            /* label continued */
        0x00, 0x00, 0x00, 0x00,                         /* flags */
    };
    uint8_t buf[FOTA_PART_TABLE_SIZE];
    serialized_default(buf);
    assert_memory_equal(buf, want, sizeof want);
    /* app1: type app, subtype ota_1, offset 0x150000 */
    static const uint8_t app1_head[12] = {0xAA, 0x50, 0x00, 0x11, 0x00, 0x00,
                                          0x15, 0x00, 0x00, 0x00, 0x14, 0x00};
    assert_memory_equal(buf + 3 * 32, app1_head, sizeof app1_head);
}

static void test_md5_entry_layout(void **state)
{
    (void)state;
    uint8_t buf[FOTA_PART_TABLE_SIZE];
    serialized_default(buf);
    const uint8_t *e = buf + 6 * 32;
    assert_int_equal(e[0], 0xEB);
    assert_int_equal(e[1], 0xEB);
    for (size_t i = 2; i < 16; i++) {
        assert_int_equal(e[i], 0xFF);
    }
    uint8_t digest[16];
    md5(buf, 6 * 32, digest);
    assert_memory_equal(e + 16, digest, 16);
    /* and the value Python's hashlib gives for the same six entries packed "<2sBBLL16sL" the
     * way gen_esp32part.py packs them */
    static const uint8_t golden[16] = {0x97, 0x2d, 0xae, 0x2f, 0xf8, 0x72, 0xa0, 0x14,
                                       0x2d, 0x60, 0xba, 0xd1, 0x24, 0xc0, 0x66, 0x6b};
    assert_memory_equal(e + 16, golden, 16);
    for (size_t i = 7 * 32; i < FOTA_PART_TABLE_SIZE; i++) {
        assert_int_equal(buf[i], 0xFF); /* end marker, then padding */
    }
}

/* The code a table with exactly one changed byte at off must fail with. */
static fota_err_t expected_corruption_error(size_t off)
{
    size_t slot = off / 32;
    size_t within = off % 32;
    if (slot == 7) {
        return FOTA_ERR_PART_NO_END; /* the end marker after the MD5 entry is gone */
    }
    return within < 2 ? FOTA_ERR_PART_MAGIC : FOTA_ERR_PART_MD5;
}

static void test_every_single_byte_corruption_rejected(void **state)
{
    (void)state;
    static const uint8_t masks[] = {0x01, 0x80, 0xFF, 0x5A};
    uint8_t good[FOTA_PART_TABLE_SIZE];
    serialized_default(good);
    fota_part_table_t t;
    for (size_t off = 0; off < 8 * 32; off++) { /* 6 entries, the MD5 entry, the end marker */
        for (size_t m = 0; m < sizeof masks; m++) {
            uint8_t bad[FOTA_PART_TABLE_SIZE];
            memcpy(bad, good, sizeof bad);
            bad[off] ^= masks[m];
            fota_err_t err = fota_part_table_parse(bad, sizeof bad, &t);
            if (err != expected_corruption_error(off)) {
                fail_msg("byte %zu ^ 0x%02x: got %s", off, masks[m], fota_err_name(err));
            }
        }
    }
}

/* Past the end marker ESP-IDF reads nothing; neither do we. */
static void test_padding_after_end_marker_ignored(void **state)
{
    (void)state;
    uint8_t buf[FOTA_PART_TABLE_SIZE];
    serialized_default(buf);
    buf[0x200] = 0x00;
    buf[FOTA_PART_TABLE_SIZE - 1] = 0x12;
    fota_part_table_t t, def;
    fota_part_table_default(&def);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &t), FOTA_OK);
    assert_table_equal(&t, &def);
}

static void test_table_without_md5_accepted(void **state)
{
    (void)state;
    uint8_t buf[FOTA_PART_TABLE_SIZE];
    serialized_default(buf);
    memset(buf + 6 * 32, 0xFF, 32); /* the MD5 entry becomes the end marker */
    fota_part_table_t t, def;
    fota_part_table_default(&def);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &t), FOTA_OK);
    assert_table_equal(&t, &def);
    /* without MD5 nothing protects the entries: a changed size is read as it is */
    buf[2 * 32 + 9] = 0x30;
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &t), FOTA_OK);
    assert_int_equal(t.entries[2].size, 0x143000);
}

static void test_structure_errors(void **state)
{
    (void)state;
    uint8_t good[FOTA_PART_TABLE_SIZE], buf[FOTA_PART_TABLE_SIZE];
    serialized_default(good);
    fota_part_table_t t;

    /* an entry after the MD5 entry would not be covered by it */
    memcpy(buf, good, sizeof buf);
    memcpy(buf + 7 * 32, good, 32);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &t), FOTA_ERR_PART_NO_END);

    /* a second MD5 entry */
    memcpy(buf + 7 * 32, good + 6 * 32, 32);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &t), FOTA_ERR_PART_NO_END);

    /* too short to reach the end marker */
    assert_int_equal(fota_part_table_parse(good, 7 * 32, &t), FOTA_ERR_PART_NO_END);
    assert_int_equal(fota_part_table_parse(good, 8 * 32, &t), FOTA_OK);

    /* erased flash: an empty table, which validation refuses */
    memset(buf, 0xFF, sizeof buf);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &t), FOTA_OK);
    assert_int_equal(t.count, 0);
    assert_int_equal(fota_part_table_validate(&t, FLASH_4MB, NULL, 0), FOTA_ERR_NOT_FOUND);

    /* all zero: not a magic */
    memset(buf, 0, sizeof buf);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &t), FOTA_ERR_PART_MAGIC);
    assert_int_equal(fota_part_table_parse(NULL, sizeof buf, &t), FOTA_ERR_ARG);
}

/* 96 slots: 95 entries and an end marker (no MD5) is the most a table can hold; 96 entries
 * leave no room for the end marker. */
static void test_slot_limits(void **state)
{
    (void)state;
    uint8_t good[FOTA_PART_TABLE_SIZE], buf[FOTA_PART_TABLE_SIZE];
    serialized_default(good);
    fota_part_table_t t;
    for (size_t i = 0; i < 95; i++) {
        memcpy(buf + i * 32, good, 32);
    }
    memset(buf + 95 * 32, 0xFF, 32);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &t), FOTA_OK);
    assert_int_equal(t.count, 95);
    memcpy(buf + 95 * 32, good, 32);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &t), FOTA_ERR_PART_TOO_MANY);
}

static void test_serialize_limits(void **state)
{
    (void)state;
    fota_part_table_t t, back;
    uint8_t buf[FOTA_PART_TABLE_SIZE];
    memset(&t, 0, sizeof t);
    for (size_t i = 0; i < FOTA_PART_MAX_WRITABLE; i++) {
        fota_partition_t *p = &t.entries[t.count++];
        snprintf(p->label, sizeof p->label, "part%zu", i);
        p->type = FOTA_PART_TYPE_DATA;
        p->subtype = 0x99;
        p->offset = 0x9000u + (uint32_t)i * 0x1000u;
        p->size = 0x1000;
    }
    assert_int_equal(fota_part_table_serialize(&t, buf, sizeof buf), FOTA_OK);
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &back), FOTA_OK);
    assert_table_equal(&t, &back);
    assert_int_equal(fota_part_table_validate(&back, FLASH_4MB, NULL, 0), FOTA_OK);

    t.entries[t.count] = t.entries[0];
    t.count++;
    assert_int_equal(fota_part_table_serialize(&t, buf, sizeof buf), FOTA_ERR_PART_TOO_MANY);
    assert_int_equal(fota_part_table_serialize(&t, buf, sizeof buf - 1), FOTA_ERR_ARG);
}

static void test_sixteen_char_label(void **state)
{
    (void)state;
    fota_part_table_t t, back;
    fota_part_table_default(&t);
    snprintf(t.entries[4].label, sizeof t.entries[4].label, "%s", "abcdefghijklmnop");
    uint8_t buf[FOTA_PART_TABLE_SIZE];
    assert_int_equal(fota_part_table_serialize(&t, buf, sizeof buf), FOTA_OK);
    assert_memory_equal(buf + 4 * 32 + 12, "abcdefghijklmnop", 16); /* no NUL on disk */
    assert_int_equal(fota_part_table_parse(buf, sizeof buf, &back), FOTA_OK);
    assert_string_equal(back.entries[4].label, "abcdefghijklmnop");
    assert_int_equal(fota_part_table_validate(&back, FLASH_4MB, NULL, 0), FOTA_OK);
}

/* --- CSV ------------------------------------------------------------------------------------ */

static void test_csv_arduino_default(void **state)
{
    (void)state;
    fota_part_table_t t, def;
    int line = -1;
    char msg[128] = "junk";
    fota_part_table_default(&def);
    assert_int_equal(fota_part_table_from_csv(arduino_default_csv, &t, &line, msg, sizeof msg),
                     FOTA_OK);
    assert_int_equal(line, 0);
    assert_string_equal(msg, "");
    assert_table_equal(&t, &def);
}

static void csv_round_trip(const fota_part_table_t *t)
{
    char text[4096], again[4096];
    fota_part_table_t back, back2;
    size_t n = fota_part_table_to_csv(t, text, sizeof text);
    assert_true(n < sizeof text);
    assert_int_equal(strlen(text), n);
    assert_int_equal(fota_part_table_from_csv(text, &back, NULL, NULL, 0), FOTA_OK);
    assert_table_equal(t, &back);
    fota_part_table_to_csv(&back, again, sizeof again);
    assert_string_equal(text, again);
    assert_int_equal(fota_part_table_from_csv(again, &back2, NULL, NULL, 0), FOTA_OK);
    assert_table_equal(t, &back2);
}

static void test_csv_round_trip(void **state)
{
    (void)state;
    fota_part_table_t t;
    fota_part_table_default(&t);
    csv_round_trip(&t);

    static const char odd[] = "nvs, data, nvs, 0x9000, 0x4800, encrypted:readonly\n"
                              "cfg, 0x40, 0x7, 0xe000, 100\n"
                              "fact, app, factory, 0x10000, 1M, encrypted\n"
                              "t, app, test, , 0x11000\n"
                              "lfs, data, littlefs, , 3M, readonly\n"
                              "eep, data, 0x99, , 0x1000\n";
    int line = 0;
    assert_int_equal(fota_part_table_from_csv(odd, &t, &line, NULL, 0), FOTA_OK);
    assert_int_equal(t.count, 6);
    assert_int_equal(t.entries[0].flags, FOTA_PART_FLAG_ENCRYPTED | FOTA_PART_FLAG_READONLY);
    assert_int_equal(t.entries[1].type, 0x40);
    assert_int_equal(t.entries[1].subtype, 0x07);
    assert_int_equal(t.entries[1].size, 100);
    csv_round_trip(&t);

    char text[2048];
    fota_part_table_to_csv(&t, text, sizeof text);
    assert_non_null(strstr(text, "encrypted:readonly\n"));
    assert_non_null(strstr(text, "0x40,"));
    assert_non_null(strstr(text, "littlefs,"));
    assert_non_null(strstr(text, "3M,readonly\n"));
    assert_non_null(strstr(text, "0x64,\n")); /* 100 bytes: neither K nor M */
}

static void test_csv_auto_offsets_and_suffixes(void **state)
{
    (void)state;
    static const char csv[] = "nvs,      data, nvs,      ,        24K\n"
                              "otadata,  data, ota,      ,        8k\n"
                              "phy_init, data, phy,      ,        4096\n"
                              "factory,  app,  factory,  ,        1M\n"
                              "ota_0,    app,  ota_0,    ,        1536K\n"
                              "fixed,    data, fat,      0x300000, 0x10000\n"
                              "after,    data, spiffs,   ,        0x800, readonly\n"
                              "app_late, app,  ota_1,    ,        0x10000\n";
    fota_part_table_t t;
    int line = 0;
    assert_int_equal(fota_part_table_from_csv(csv, &t, &line, NULL, 0), FOTA_OK);
    assert_int_equal(t.count, 8);
    static const uint32_t want_offset[] = {0x9000,   0xF000,   0x11000,  0x20000,
                                           0x120000, 0x300000, 0x310000, 0x320000};
    static const uint32_t want_size[] = {0x6000,   0x2000,  0x1000, 0x100000,
                                         0x180000, 0x10000, 0x800,  0x10000};
    for (size_t i = 0; i < t.count; i++) {
        assert_int_equal(t.entries[i].offset, want_offset[i]);
        assert_int_equal(t.entries[i].size, want_size[i]);
    }
    assert_int_equal(t.entries[6].flags, FOTA_PART_FLAG_READONLY);
    assert_int_equal(t.entries[2].subtype, FOTA_PART_SUBTYPE_DATA_PHY);
    assert_int_equal(fota_part_table_validate(&t, FLASH_4MB, NULL, 0), FOTA_OK);
}

static void test_csv_whitespace_and_comments(void **state)
{
    (void)state;
    static const char csv[] = "\xEF\xBB\xBF# a comment\r\n"
                              "\r\n"
                              "   # an indented comment\n"
                              "\t\n"
                              "nvs,\tdata,\tnvs,\t0x9000,\t0x5000\r\n"
                              "  otadata , DATA , OTA , 0xE000 , 0x2000 , ,\n"
                              "app0,APP,OTA_0,0x10000,0x140000,encrypted readonly\n"
                              "app1, app, ota_1, 0x150000, 0x140000, :encrypted:\n"
                              "spiffs, data, spiffs, 0x290000, 0x160000\n"
                              "coredump, data, coredump, 0x3F0000, 64K"; /* no final newline */
    fota_part_table_t t, def;
    fota_part_table_default(&def);
    def.entries[2].flags = FOTA_PART_FLAG_ENCRYPTED | FOTA_PART_FLAG_READONLY;
    def.entries[3].flags = FOTA_PART_FLAG_ENCRYPTED;
    int line = -1;
    char msg[128];
    assert_int_equal(fota_part_table_from_csv(csv, &t, &line, msg, sizeof msg), FOTA_OK);
    assert_table_equal(&t, &def);

    /* empty data subtype is ESP-IDF's "undefined" (0x06) */
    assert_int_equal(fota_part_table_from_csv("x, data, , 0x9000, 4K", &t, &line, NULL, 0),
                     FOTA_OK);
    assert_int_equal(t.entries[0].subtype, 0x06);
}

typedef struct {
    const char *csv;
    int line;
    fota_err_t err;
    const char *msg; /* expected message */
} csv_case_t;

static void check_csv_case(const csv_case_t *c, size_t i)
{
    fota_part_table_t t;
    int line = 0;
    char msg[256] = "";
    fota_err_t err = fota_part_table_from_csv(c->csv, &t, &line, msg, sizeof msg);
    if (err != c->err || line != c->line || strcmp(msg, c->msg) != 0) {
        fail_msg("case %zu: got %s line %d '%s'", i, fota_err_name(err), line, msg);
    }
    /* no line number or message wanted: same code, no crash */
    assert_int_equal(fota_part_table_from_csv(c->csv, &t, NULL, NULL, 0), c->err);
}

static void test_csv_errors_report_line(void **state)
{
    (void)state;
    static const csv_case_t cases[] = {
        {"nvs, data, nvs, 0x9000, 0x5000\n\n# c\nx, app, ota_x, , 1M\n", 4, FOTA_ERR_PART_TYPE,
         "line 4: unknown subtype 'ota_x'"},
        {"# h\nx, blob, 0x01, , 4K\n", 2, FOTA_ERR_PART_TYPE, "line 2: unknown type 'blob'"},
        {"x, 0xFF, 0x01, , 4K\n", 1, FOTA_ERR_PART_TYPE, "line 1: unknown type '0xFF'"},
        {"x, data, 0x100, , 4K\n", 1, FOTA_ERR_PART_TYPE, "line 1: unknown subtype '0x100'"},
        {"x, data, nvs, 0x9g00, 4K\n", 1, FOTA_ERR_PART_CSV, "line 1: invalid offset '0x9g00'"},
        {"a, data, nvs, , 4K\nx, data, nvs, 0x20000\n", 2, FOTA_ERR_PART_CSV,
         "line 2: missing size"},
        {"x, data, nvs, , -4K\n", 1, FOTA_ERR_PART_CSV, "line 1: invalid size '-4K'"},
        {"x, data, nvs, , 4G\n", 1, FOTA_ERR_PART_CSV, "line 1: invalid size '4G'"},
        {"x, data, nvs, , 0x\n", 1, FOTA_ERR_PART_CSV, "line 1: invalid size '0x'"},
        {"x, data, nvs, , 5000M\n", 1, FOTA_ERR_PART_CSV,
         "line 1: size '5000M' does not fit 32 bits"},
        {"x, data, nvs, , 0x100000000\n", 1, FOTA_ERR_PART_CSV,
         "line 1: size '0x100000000' does not fit 32 bits"},
        {"x, data, nvs, , 0x10000000000000001\n", 1, FOTA_ERR_PART_CSV, /* wraps 64 bits */
         "line 1: size '0x10000000000000001' does not fit 32 bits"},
        {"abcdefghijklmnopq, data, nvs, , 4K\n", 1, FOTA_ERR_PART_LABEL,
         "line 1: name 'abcdefghijklmnopq' is longer than 16 characters"},
        {"\n\nx, data, nvs, , 4K, secret\n", 3, FOTA_ERR_PART_CSV, "line 3: unknown flag 'secret'"},
        {"x, data, nvs, , 4K, readonly, what\n", 1, FOTA_ERR_PART_CSV,
         "line 1: more than 6 fields"},
        {"justaname\n", 1, FOTA_ERR_PART_CSV, "line 1: missing type"},
        {"x, app, , , 1M\n", 1, FOTA_ERR_PART_CSV, "line 1: an app partition needs a subtype"},
        {" , data, nvs, , 4K\n", 1, FOTA_ERR_PART_CSV, "line 1: missing name"},
        {"big, data, nvs, 0xFFFFF000, 0x1000\nnext, data, nvs, , 4K\n", 2, FOTA_ERR_PART_BOUNDS,
         "line 2: no room left for 'next' after 0x100000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_csv_case(&cases[i], i);
    }
}

static void test_csv_too_many_partitions(void **state)
{
    (void)state;
    static char csv[8192];
    size_t pos = (size_t)snprintf(csv, sizeof csv, "# many\n");
    for (unsigned i = 0; i <= FOTA_PART_MAX_WRITABLE; i++) {
        pos += (size_t)snprintf(csv + pos, sizeof csv - pos, "p%u, data, nvs, , 4K\n", i);
    }
    fota_part_table_t t;
    int line = 0;
    char msg[128];
    assert_int_equal(fota_part_table_from_csv(csv, &t, &line, msg, sizeof msg),
                     FOTA_ERR_PART_TOO_MANY);
    assert_int_equal(line, FOTA_PART_MAX_WRITABLE + 2); /* comment + 94 accepted lines + 1 */
    assert_non_null(strstr(msg, "more than 94 partitions"));
}

static void test_to_csv_truncates_like_snprintf(void **state)
{
    (void)state;
    fota_part_table_t t;
    fota_part_table_default(&t);
    char full[2048], small[40];
    size_t need = fota_part_table_to_csv(&t, full, sizeof full);
    assert_int_equal(fota_part_table_to_csv(&t, NULL, 0), need);
    assert_int_equal(fota_part_table_to_csv(&t, small, sizeof small), need);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, full, sizeof small - 1);
    assert_non_null(strstr(full, "app1,"));
    assert_non_null(strstr(full, "ota_1,"));
    assert_non_null(strstr(full, "0x150000,"));
    assert_non_null(strstr(full, "1280K,"));
}

/* --- validation ----------------------------------------------------------------------------- */

static void test_validate_overlap_names_both(void **state)
{
    (void)state;
    fota_part_table_t t;
    fota_part_table_default(&t);
    part(&t, "app1")->offset = 0x140000;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_OVERLAP, "'app1'", "'app0'");

    /* the first failing prefix is the one that adds the offending partition */
    t.count = 3;
    assert_int_equal(fota_part_table_validate(&t, FLASH_4MB, NULL, 0), FOTA_OK);
    t.count = 4;
    assert_int_equal(fota_part_table_validate(&t, FLASH_4MB, NULL, 0), FOTA_ERR_PART_OVERLAP);

    fota_part_table_default(&t);
    part(&t, "nvs")->offset = 0x8000;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_OVERLAP, "'nvs'", "0x9000");

    /* table order need not be offset order: a later entry placed before an earlier one */
    fota_part_table_default(&t);
    fota_partition_t first = t.entries[0];
    t.entries[0] = t.entries[5];
    t.entries[5] = first;
    assert_int_equal(fota_part_table_validate(&t, FLASH_4MB, NULL, 0), FOTA_OK);

    fota_part_table_default(&t);
    part(&t, "coredump")->offset = 0x9000; /* inside nvs */
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_OVERLAP, "'coredump'", "'nvs'");
}

static void test_validate_alignment(void **state)
{
    (void)state;
    fota_part_table_t t;
    fota_part_table_default(&t);
    part(&t, "app0")->offset = 0x11000;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_ALIGN, "'app0'", "0x10000");

    fota_part_table_default(&t);
    part(&t, "spiffs")->offset = 0x290800;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_ALIGN, "'spiffs'", "0x1000");

    fota_part_table_default(&t);
    part(&t, "app1")->size = 0x13F800;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_ALIGN, "'app1'", NULL);

    fota_part_table_default(&t); /* data sizes need no alignment */
    part(&t, "spiffs")->size = 0x15F800;
    assert_int_equal(fota_part_table_validate(&t, FLASH_4MB, NULL, 0), FOTA_OK);
}

static void test_validate_sizes_and_bounds(void **state)
{
    (void)state;
    fota_part_table_t t;
    fota_part_table_default(&t);
    part(&t, "otadata")->size = 0x1000;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_SIZE, "'otadata'", "0x2000");

    fota_part_table_default(&t);
    part(&t, "nvs")->size = 0;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_SIZE, "'nvs'", NULL);

    fota_part_table_default(&t);
    part(&t, "coredump")->size = 0x11000;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_BOUNDS, "'coredump'", "0x400000");

    fota_part_table_default(&t);
    expect_invalid(&t, 0x200000, FOTA_ERR_PART_BOUNDS, "'app1'", NULL);

    fota_part_table_default(&t); /* offset + size wrapping 32 bits is out of flash too */
    part(&t, "coredump")->offset = 0xFFFF0000;
    part(&t, "coredump")->size = 0x20000;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_BOUNDS, "'coredump'", NULL);
}

static void test_validate_duplicates(void **state)
{
    (void)state;
    fota_part_table_t t;
    fota_part_table_default(&t);
    snprintf(part(&t, "spiffs")->label, FOTA_PART_LABEL_MAX + 1, "%s", "nvs");
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_DUPLICATE, "'nvs'", NULL);

    fota_part_table_default(&t);
    part(&t, "app1")->subtype = FOTA_PART_SUBTYPE_OTA_0;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_DUPLICATE, "'app0'", "'app1'");

    fota_part_table_default(&t);
    fota_partition_t *sp = part(&t, "spiffs");
    sp->subtype = FOTA_PART_SUBTYPE_DATA_OTA;
    sp->size = 0x2000;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_DUPLICATE, "'otadata'", "'spiffs'");
}

static void test_validate_labels_and_kinds(void **state)
{
    (void)state;
    fota_part_table_t t;
    fota_part_table_default(&t);
    part(&t, "spiffs")->label[0] = '\0';
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_LABEL, "0x290000", NULL);

    fota_part_table_default(&t);
    snprintf(part(&t, "spiffs")->label, FOTA_PART_LABEL_MAX + 1, "%s", "a,b");
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_LABEL, "0x290000", NULL);

    fota_part_table_default(&t);
    snprintf(part(&t, "spiffs")->label, FOTA_PART_LABEL_MAX + 1, "%s", "#x");
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_LABEL, "'#x'", NULL);

    fota_part_table_default(&t);
    part(&t, "app1")->subtype = 0x30;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_TYPE, "'app1'", "0x30");

    fota_part_table_default(&t);
    part(&t, "otadata")->flags = FOTA_PART_FLAG_READONLY;
    expect_invalid(&t, FLASH_4MB, FOTA_ERR_PART_TYPE, "'otadata'", "readonly");

    fota_part_table_default(&t);
    part(&t, "nvs")->flags = FOTA_PART_FLAG_READONLY; /* fine for nvs */
    assert_int_equal(fota_part_table_validate(&t, FLASH_4MB, NULL, 0), FOTA_OK);
}

/* --- names and lookups ---------------------------------------------------------------------- */

static void test_names_and_lookups(void **state)
{
    (void)state;
    char buf[8];
    assert_string_equal(fota_part_type_name(0), "app");
    assert_string_equal(fota_part_type_name(1), "data");
    assert_string_equal(fota_part_type_name(0x40), "0x40");
    assert_string_equal(fota_part_subtype_name(0, 0x1F, buf, sizeof buf), "ota_15");
    assert_string_equal(fota_part_subtype_name(0, 0x20, buf, sizeof buf), "test");
    assert_string_equal(fota_part_subtype_name(1, 0x83, buf, sizeof buf), "littlefs");
    assert_string_equal(fota_part_subtype_name(1, 0x99, buf, sizeof buf), "0x99");
    assert_string_equal(fota_part_subtype_name(0x40, 0x02, NULL, 0), "0x02");

    fota_part_table_t t;
    fota_part_table_default(&t);
    assert_null(fota_part_find_label(&t, "app2"));
    assert_null(fota_part_find(&t, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_FACTORY));
    assert_ptr_equal(fota_part_find(&t, FOTA_PART_TYPE_APP, 0x10), &t.entries[2]);
    t.entries[4].type = FOTA_PART_TYPE_APP;
    t.entries[4].subtype = 0x1F;
    assert_int_equal(fota_part_ota_count(&t), 3);
}

/* --- flash port ----------------------------------------------------------------------------- */

#define FAKE_SIZE 0x10000u
#define FAKE_SECTOR 0x1000u

typedef struct {
    uint8_t mem[FAKE_SIZE];
    int erases;
    uint32_t erase_addr, erase_len;
    fota_err_t fail_read;
} fake_flash_t;

static fota_err_t fake_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    fake_flash_t *f = ctx;
    if (f->fail_read != FOTA_OK) {
        return f->fail_read;
    }
    if ((uint64_t)addr + len > FAKE_SIZE) {
        return FOTA_ERR_FLASH_BOUNDS;
    }
    memcpy(buf, f->mem + addr, len);
    return FOTA_OK;
}

/* NOR, strict: a write may only clear bits. */
static fota_err_t fake_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    fake_flash_t *f = ctx;
    const uint8_t *src = buf;
    if ((uint64_t)addr + len > FAKE_SIZE) {
        return FOTA_ERR_FLASH_BOUNDS;
    }
    for (size_t i = 0; i < len; i++) {
        if ((f->mem[addr + i] & src[i]) != src[i]) {
            return FOTA_ERR_FLASH_NOT_ERASED;
        }
    }
    memcpy(f->mem + addr, src, len);
    return FOTA_OK;
}

static fota_err_t fake_erase(void *ctx, uint32_t addr, uint32_t len)
{
    fake_flash_t *f = ctx;
    if (addr % FAKE_SECTOR != 0 || len % FAKE_SECTOR != 0) {
        return FOTA_ERR_FLASH_ALIGN;
    }
    if ((uint64_t)addr + len > FAKE_SIZE) {
        return FOTA_ERR_FLASH_BOUNDS;
    }
    f->erases++;
    f->erase_addr = addr;
    f->erase_len = len;
    memset(f->mem + addr, 0xFF, len);
    return FOTA_OK;
}

static void test_flash_write_read_round_trip(void **state)
{
    (void)state;
    static fake_flash_t fake;
    memset(&fake, 0, sizeof fake);
    memset(fake.mem, 0x5A, sizeof fake.mem); /* old data everywhere, bits that must be erased */
    fota_flash_t flash = {&fake, fake_read, fake_write, fake_erase, FAKE_SIZE, FAKE_SECTOR};

    fota_part_table_t t, back;
    fota_part_table_default(&t);
    assert_int_equal(fota_part_table_write(&flash, &t), FOTA_OK);
    assert_int_equal(fake.erases, 1);
    assert_int_equal(fake.erase_addr, FOTA_PART_TABLE_OFFSET);
    assert_int_equal(fake.erase_len, 0x1000);

    uint8_t want[FOTA_PART_TABLE_SIZE];
    serialized_default(want);
    assert_memory_equal(fake.mem + FOTA_PART_TABLE_OFFSET, want, sizeof want);
    for (uint32_t a = FOTA_PART_TABLE_OFFSET + FOTA_PART_TABLE_SIZE; a < 0x9000; a++) {
        assert_int_equal(fake.mem[a], 0xFF); /* rest of the erased sector */
    }
    assert_int_equal(fake.mem[0x7FFF], 0x5A); /* bootloader side untouched */
    assert_int_equal(fake.mem[0x9000], 0x5A); /* nvs side untouched */

    assert_int_equal(fota_part_table_read(&flash, &back), FOTA_OK);
    assert_table_equal(&t, &back);

    /* a second write over the first one (needs the erase again) */
    part(&t, "spiffs")->size = 0x100000;
    assert_int_equal(fota_part_table_write(&flash, &t), FOTA_OK);
    assert_int_equal(fota_part_table_read(&flash, &back), FOTA_OK);
    assert_table_equal(&t, &back);
}

static void test_flash_errors(void **state)
{
    (void)state;
    static fake_flash_t fake;
    memset(&fake, 0, sizeof fake);
    memset(fake.mem, 0xFF, sizeof fake.mem);
    fota_flash_t flash = {&fake, fake_read, fake_write, fake_erase, FAKE_SIZE, FAKE_SECTOR};
    fota_part_table_t t;

    /* a table that cannot be serialized never reaches the flash */
    memset(&t, 0, sizeof t);
    t.count = FOTA_PART_MAX;
    assert_int_equal(fota_part_table_write(&flash, &t), FOTA_ERR_PART_TOO_MANY);
    assert_int_equal(fake.erases, 0);

    /* read errors come through; a corrupt table is reported as such */
    fake.fail_read = FOTA_ERR_FLASH_POWER_CUT;
    assert_int_equal(fota_part_table_read(&flash, &t), FOTA_ERR_FLASH_POWER_CUT);
    fake.fail_read = FOTA_OK;
    fota_part_table_default(&t);
    assert_int_equal(fota_part_table_write(&flash, &t), FOTA_OK);
    fake.mem[FOTA_PART_TABLE_OFFSET + 40] ^= 0x04;
    assert_int_equal(fota_part_table_read(&flash, &t), FOTA_ERR_PART_MD5);

    /* a sector size the table offset is not a multiple of */
    flash.sector_size = 0x10000;
    assert_int_equal(fota_part_table_write(&flash, &t), FOTA_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_table),
        cmocka_unit_test(test_serialize_parse_round_trip),
        cmocka_unit_test(test_first_entry_bytes),
        cmocka_unit_test(test_md5_entry_layout),
        cmocka_unit_test(test_every_single_byte_corruption_rejected),
        cmocka_unit_test(test_padding_after_end_marker_ignored),
        cmocka_unit_test(test_table_without_md5_accepted),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_slot_limits),
        cmocka_unit_test(test_serialize_limits),
        cmocka_unit_test(test_sixteen_char_label),
        cmocka_unit_test(test_csv_arduino_default),
        cmocka_unit_test(test_csv_round_trip),
        cmocka_unit_test(test_csv_auto_offsets_and_suffixes),
        cmocka_unit_test(test_csv_whitespace_and_comments),
        cmocka_unit_test(test_csv_errors_report_line),
        cmocka_unit_test(test_csv_too_many_partitions),
        cmocka_unit_test(test_to_csv_truncates_like_snprintf),
        cmocka_unit_test(test_validate_overlap_names_both),
        cmocka_unit_test(test_validate_alignment),
        cmocka_unit_test(test_validate_sizes_and_bounds),
        cmocka_unit_test(test_validate_duplicates),
        cmocka_unit_test(test_validate_labels_and_kinds),
        cmocka_unit_test(test_names_and_lookups),
        cmocka_unit_test(test_flash_write_read_round_trip),
        cmocka_unit_test(test_flash_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
