/*
 * partition.h - the ESP-IDF partition table: binary format at 0x8000, CSV syntax, validation.
 *
 * Binary (ESP-IDF gen_esp32part.py / esp_flash_partitions.h): 32-byte entries, little-endian
 * "<2sBBLL16sL": magic AA 50, type, subtype, offset, size, label (16 bytes on disk,
 * NUL-padded; a 16-character label has no NUL), flags (bit0 encrypted, bit1 readonly). After
 * the entries an MD5 entry: EB EB, 14 x FF, then the MD5 of all entry bytes before it; then
 * 32 x FF as end marker. The table area is 0xC00 bytes, padded with FF.
 *
 * CSV (ESP-IDF partition CSV): "Name, Type, SubType, Offset, Size, Flags", '#' comments, blank
 * lines; type app/data or a number; subtypes by name (factory, ota_0..ota_15, test, ota, phy,
 * nvs, coredump, nvs_keys, efuse, spiffs, fat, ...) or number; offset may be empty (placed after
 * the previous partition, aligned: 0x10000 for app, 0x1000 otherwise; the first one after the
 * table at 0x9000); sizes and offsets in decimal, hex, or with K/M suffix; flags "encrypted",
 * "readonly" separated by ':' or space.
 */
#ifndef FOTA_EMU_PARTITION_H
#define FOTA_EMU_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"
#include "fota/flash.h"

#define FOTA_PART_TABLE_OFFSET 0x8000u
#define FOTA_PART_TABLE_SIZE 0xC00u
#define FOTA_PART_ENTRY_LEN 32u
#define FOTA_PART_MAX 95u /* 0xC00 / 32 = 96 slots, one for the end marker */
/* With the MD5 entry and the end marker in the same 96 slots, a table we write holds at most 94
 * (gen_esp32part.py refuses more too); 95 only parse from a table without an MD5 entry. */
#define FOTA_PART_MAX_WRITABLE 94u
#define FOTA_PART_LABEL_MAX 16u

#define FOTA_PART_TYPE_APP 0x00u
#define FOTA_PART_TYPE_DATA 0x01u
#define FOTA_PART_SUBTYPE_FACTORY 0x00u
#define FOTA_PART_SUBTYPE_OTA_0 0x10u /* ota_N = 0x10 + N, N < 16 */
#define FOTA_PART_SUBTYPE_TEST 0x20u
#define FOTA_PART_SUBTYPE_DATA_OTA 0x00u
#define FOTA_PART_SUBTYPE_DATA_PHY 0x01u
#define FOTA_PART_SUBTYPE_DATA_NVS 0x02u
#define FOTA_PART_SUBTYPE_DATA_COREDUMP 0x03u
#define FOTA_PART_SUBTYPE_DATA_NVS_KEYS 0x04u
#define FOTA_PART_SUBTYPE_DATA_EFUSE 0x05u
#define FOTA_PART_SUBTYPE_DATA_FAT 0x81u
#define FOTA_PART_SUBTYPE_DATA_SPIFFS 0x82u
#define FOTA_PART_FLAG_ENCRYPTED 0x1u
#define FOTA_PART_FLAG_READONLY 0x2u

typedef struct {
    uint8_t type;
    uint8_t subtype;
    uint32_t offset;
    uint32_t size;
    char label[FOTA_PART_LABEL_MAX + 1]; /* NUL-terminated */
    uint32_t flags;
} fota_partition_t;

typedef struct {
    fota_partition_t entries[FOTA_PART_MAX];
    size_t count;
} fota_part_table_t;

/* Parse the 0xC00-byte binary table: entry magic (FOTA_ERR_PART_MAGIC), MD5 (FOTA_ERR_PART_MD5),
 * end marker (FOTA_ERR_PART_NO_END). Does not run fota_part_table_validate(). */
fota_err_t fota_part_table_parse(const uint8_t *buf, size_t len, fota_part_table_t *out);

/* Write the binary table into out (FOTA_PART_TABLE_SIZE bytes), with MD5 entry and FF padding. */
fota_err_t fota_part_table_serialize(const fota_part_table_t *t, uint8_t *out, size_t out_len);

/* Semantic checks against a flash of flash_size bytes: overlaps (FOTA_ERR_PART_OVERLAP, also with
 * the bootloader/table area below 0x9000), alignment (FOTA_ERR_PART_ALIGN), bounds, duplicate
 * labels or app subtypes, otadata exactly 0x2000 (FOTA_ERR_PART_SIZE), labels. If msg is not NULL
 * a one-line reason naming the partition(s) is written to it. */
fota_err_t fota_part_table_validate(const fota_part_table_t *t, uint32_t flash_size, char *msg,
                                    size_t msg_len);

/* Parse CSV text. On error *err_line is the 1-based line number and msg (if not NULL) says why. */
fota_err_t fota_part_table_from_csv(const char *text, fota_part_table_t *out, int *err_line,
                                    char *msg, size_t msg_len);

/* Write the table as CSV text (for `fota-flash show`). Returns bytes needed like snprintf. */
size_t fota_part_table_to_csv(const fota_part_table_t *t, char *out, size_t out_len);

/* Arduino-ESP32's default 4 MB layout: nvs 0x9000/0x5000, otadata 0xe000/0x2000,
 * app0 ota_0 0x10000/0x140000, app1 ota_1 0x150000/0x140000, spiffs 0x290000/0x160000,
 * coredump 0x3F0000/0x10000. */
void fota_part_table_default(fota_part_table_t *out);

/* Append an entry (flags 0) to t; nothing happens when the table is full (FOTA_PART_MAX). */
void fota_part_add(fota_part_table_t *t, const char *label, uint8_t type, uint8_t subtype,
                   uint32_t offset, uint32_t size);

/* Lookups; NULL when absent. */
const fota_partition_t *fota_part_find(const fota_part_table_t *t, uint8_t type, uint8_t subtype);
const fota_partition_t *fota_part_find_label(const fota_part_table_t *t, const char *label);
/* Number of ota_N app partitions (ESP-IDF's "ota app count"). */
unsigned fota_part_ota_count(const fota_part_table_t *t);

/* Read / write the table at FOTA_PART_TABLE_OFFSET of a flash (write erases its sector first). */
fota_err_t fota_part_table_read(const fota_flash_t *flash, fota_part_table_t *out);
fota_err_t fota_part_table_write(const fota_flash_t *flash, const fota_part_table_t *t);

/* Names for type/subtype ("app", "ota_1", "nvs"...); a number in hex if unknown. buf >= 8. */
const char *fota_part_type_name(uint8_t type);
const char *fota_part_subtype_name(uint8_t type, uint8_t subtype, char *buf, size_t len);

#endif /* FOTA_EMU_PARTITION_H */
