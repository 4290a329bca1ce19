/*
 * test_crc32.c - known values of the ESP-IDF ROM CRC-32 as used by otadata.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fota/bytes.h"
#include "fota/crc32.h"

static uint32_t otadata_crc(uint32_t seq)
{
    uint8_t b[4];
    fota_put_le32(b, seq);
    return fota_crc32_le(UINT32_MAX, b, sizeof b);
}

/* Check values worked out from ESP-IDF's definition (bootloader_common_ota_select_crc). */
static void test_otadata_known_values(void **state)
{
    (void)state;
    assert_int_equal(otadata_crc(1), 0x4743989Au);
    assert_int_equal(otadata_crc(5), 0xC8210FCDu);
}

/* With an initial value of 0 the function is the ordinary (zlib) CRC-32: check "123456789". */
static void test_zlib_check_value(void **state)
{
    (void)state;
    assert_int_equal(fota_crc32_le(0, "123456789", 9), 0xCBF43926u);
}

static void test_chaining(void **state)
{
    (void)state;
    uint32_t whole = fota_crc32_le(0, "123456789", 9);
    uint32_t part = fota_crc32_le(fota_crc32_le(0, "1234", 4), "56789", 5);
    assert_int_equal(whole, part);
}

/* The bit-at-a-time definition, as the ROM computes it: the table must give the same value for
 * every length and every starting register. */
static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static void test_table_equals_bitwise(void **state)
{
    (void)state;
    uint8_t buf[300];
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t len = 0; len <= sizeof buf; len += 7) {
        for (uint32_t init = 0; init < 3; init++) {
            uint32_t start = init == 2 ? UINT32_MAX : init * 0x9E3779B9u;
            assert_int_equal(fota_crc32_le(start, buf, len), crc_bitwise(start, buf, len));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_otadata_known_values),
        cmocka_unit_test(test_zlib_check_value),
        cmocka_unit_test(test_chaining),
        cmocka_unit_test(test_table_equals_bitwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
