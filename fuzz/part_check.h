/*
 * part_check.h - properties of the partition table code (emu/partition.c and
 * partition_csv.c) that the two partition fuzz targets hold every accepted table to:
 *   - binary round trip: a table that parses, serialized and parsed again, is the same table;
 *   - CSV round trip: a table that validates, written as CSV (what `fota-flash show` prints) and
 *     read back, is the same table (flags: the two CSV knows);
 *   - fota_part_table_to_csv into any buffer size returns the full length and writes a
 *     NUL-terminated prefix of the full text.
 * A violation aborts with the reason on stderr, so libFuzzer keeps the input as a crash.
 */
#ifndef FOTA_FUZZ_PART_CHECK_H
#define FOTA_FUZZ_PART_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "fota/emu/partition.h"

/* Flash size the tables are validated against: the largest ESP32 flash, so that layouts for
 * bigger chips than the emulated 4 MB one are held to the round trips too. */
#define PART_FLASH_MAX (16u * 1024u * 1024u)

void part_check_require(int ok, const char *what);
void part_check_binary_round_trip(const fota_part_table_t *t);
void part_check_csv_round_trip(const fota_part_table_t *t);
/* The table's CSV written into a buffer of `cap` bytes (cap from the fuzzer). */
void part_check_csv_truncation(const fota_part_table_t *t, size_t cap);
/* Lookups and names over every entry (nothing to check but memory safety). */
void part_check_lookups(const fota_part_table_t *t);

#endif /* FOTA_FUZZ_PART_CHECK_H */
