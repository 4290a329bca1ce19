/*
 * part_check.c - round-trip properties of the partition table code, shared by
 * fuzz_part_table.c and fuzz_part_csv.c (part_check.h).
 */
#include "part_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void part_check_require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "partition fuzz: property violated: %s\n", what);
        abort();
    }
}

static int entry_equal(const fota_partition_t *a, const fota_partition_t *b, uint32_t flag_mask)
{
    return a->type == b->type && a->subtype == b->subtype && a->offset == b->offset &&
           a->size == b->size && strcmp(a->label, b->label) == 0 &&
           (a->flags & flag_mask) == (b->flags & flag_mask);
}

static void require_same(const fota_part_table_t *a, const fota_part_table_t *b, uint32_t flag_mask,
                         const char *what)
{
    part_check_require(a->count == b->count, what);
    for (size_t i = 0; i < a->count; i++) {
        part_check_require(entry_equal(&a->entries[i], &b->entries[i], flag_mask), what);
    }
}

void part_check_binary_round_trip(const fota_part_table_t *t)
{
    uint8_t bin[FOTA_PART_TABLE_SIZE];
    fota_part_table_t again;
    fota_err_t err = fota_part_table_serialize(t, bin, sizeof bin);
    if (t->count > FOTA_PART_MAX_WRITABLE) {
        part_check_require(err == FOTA_ERR_PART_TOO_MANY, "serialize refuses > 94 partitions");
        return;
    }
    part_check_require(err == FOTA_OK, "a parsed table serializes");
    part_check_require(fota_part_table_parse(bin, sizeof bin, &again) == FOTA_OK,
                       "a serialized table parses");
    require_same(t, &again, UINT32_MAX, "binary round trip gives the same table");
}

void part_check_csv_round_trip(const fota_part_table_t *t)
{
    size_t need = fota_part_table_to_csv(t, NULL, 0);
    char *text = malloc(need + 1);
    part_check_require(text != NULL, "memory");
    part_check_require(fota_part_table_to_csv(t, text, need + 1) == need, "CSV length is stable");
    fota_part_table_t again;
    int line = 0;
    char msg[200];
    fota_err_t err = fota_part_table_from_csv(text, &again, &line, msg, sizeof msg);
    if (err != FOTA_OK) {
        fprintf(stderr, "partition fuzz: CSV of a valid table does not parse: line %d: %s\n%s",
                line, msg, text);
    }
    free(text);
    part_check_require(err == FOTA_OK, "the CSV of a valid table parses");
    require_same(t, &again, FOTA_PART_FLAG_ENCRYPTED | FOTA_PART_FLAG_READONLY,
                 "CSV round trip gives the same table");
}

void part_check_csv_truncation(const fota_part_table_t *t, size_t cap)
{
    size_t need = fota_part_table_to_csv(t, NULL, 0);
    char *full = malloc(need + 1);
    char *cut = malloc(cap + 1);
    part_check_require(full != NULL && cut != NULL, "memory");
    fota_part_table_to_csv(t, full, need + 1);
    cut[cap] = 'X'; /* a canary just past the buffer the function is given */
    size_t got = fota_part_table_to_csv(t, cut, cap);
    part_check_require(got == need, "to_csv returns the full length whatever the buffer");
    part_check_require(cut[cap] == 'X', "to_csv writes nothing past its buffer");
    if (cap > 0) {
        size_t n = strlen(cut);
        part_check_require(n < cap && memcmp(cut, full, n) == 0, "a cut CSV is a prefix");
    }
    free(full);
    free(cut);
}

void part_check_lookups(const fota_part_table_t *t)
{
    char buf[8];
    for (size_t i = 0; i < t->count; i++) {
        const fota_partition_t *p = &t->entries[i];
        part_check_require(fota_part_find(t, p->type, p->subtype) != NULL, "find by type");
        part_check_require(fota_part_find_label(t, p->label) != NULL, "find by label");
        part_check_require(fota_part_type_name(p->type) != NULL, "type name");
        part_check_require(fota_part_subtype_name(p->type, p->subtype, buf, sizeof buf) != NULL,
                           "subtype name");
    }
    part_check_require(fota_part_ota_count(t) <= t->count, "ota count");
}
