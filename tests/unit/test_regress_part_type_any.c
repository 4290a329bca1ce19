/*
 * test_regress_part_type_any.c - regression test for a finding of fuzz/fuzz_part_table.c:
 * fota_part_table_validate() accepted a partition of type 0xFF, which is ESP-IDF's
 * ESP_PARTITION_TYPE_ANY (a wildcard for lookups, refused by gen_esp32part.py, which allows
 * 0x00..0xFE). Such a table passed validation, but its CSV (fota_part_table_to_csv, what
 * `fota-flash show` prints) did not parse back (fota_part_table_from_csv: "unknown type
 * '0xff'"), so the tools could write a table they cannot read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fota/emu/partition.h"

static void test_type_ff_is_refused(void **state)
{
    (void)state;
    fota_part_table_t t;
    memset(&t, 0, sizeof t);
    fota_part_add(&t, "nvs", 0xFF, 0xD9, 0x9000u, 0x5000u); /* the table the fuzzer found */
    char msg[160];
    assert_int_equal(fota_part_table_validate(&t, 4u * 1024u * 1024u, msg, sizeof msg),
                     FOTA_ERR_PART_TYPE);
}

/* The other end of the range stays allowed (custom types 0x40..0xFE), and whatever validates
 * reads back from its own CSV. */
static void test_type_fe_round_trips(void **state)
{
    (void)state;
    fota_part_table_t t, back;
    memset(&t, 0, sizeof t);
    fota_part_add(&t, "custom", 0xFE, 0x01, 0x9000u, 0x5000u);
    assert_int_equal(fota_part_table_validate(&t, 4u * 1024u * 1024u, NULL, 0), FOTA_OK);
    char text[1024];
    fota_part_table_to_csv(&t, text, sizeof text);
    assert_int_equal(fota_part_table_from_csv(text, &back, NULL, NULL, 0), FOTA_OK);
    assert_int_equal(back.count, 1);
    assert_int_equal(back.entries[0].type, 0xFE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_ff_is_refused),
        cmocka_unit_test(test_type_fe_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
