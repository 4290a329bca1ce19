/*
 * test_fotad_parse.c - fotad's parsers of client input (server/query.c, range.c, ident.c): query
 * strings with percent-decoding and limits, one-range Range headers with every edge (first,
 * last, open-ended, suffix, past the end, ignored forms), the id, label, hex and number
 * checks every API value goes through, and the base64 of seed-mode chunks (against mbedTLS's).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <mbedtls/base64.h>

#include "ident.h"
#include "json_codec.h"
#include "query.h"
#include "range.h"

static void test_query_decodes(void **state)
{
    (void)state;
    fotad_query_t q;
    assert_int_equal(fotad_query_parse("version=1.0.0%2Bbuild&hw=inv+5k&&flag&e=", &q), FOTA_OK);
    assert_int_equal(q.count, 4);
    assert_string_equal(fotad_query_get(&q, "version"), "1.0.0+build");
    assert_string_equal(fotad_query_get(&q, "hw"), "inv 5k");
    assert_string_equal(fotad_query_get(&q, "flag"), "");
    assert_string_equal(fotad_query_get(&q, "e"), "");
    assert_null(fotad_query_get(&q, "missing"));
    assert_int_equal(fotad_query_parse("a=%41%62%7e", &q), FOTA_OK);
    assert_string_equal(fotad_query_get(&q, "a"), "Ab~");
    assert_int_equal(fotad_query_parse(NULL, &q), FOTA_OK);
    assert_int_equal(q.count, 0);
    assert_int_equal(fotad_query_parse("", &q), FOTA_OK);
    assert_int_equal(q.count, 0);
}

/* An optional number: absent keeps the default; present, digits only within lo..hi. */
static void test_query_u64(void **state)
{
    (void)state;
    fotad_query_t q;
    assert_int_equal(fotad_query_parse("limit=50&zero=0&big=1001&neg=-1&hex=0x10&empty=", &q),
                     FOTA_OK);
    uint64_t v = 7;
    assert_true(fotad_query_u64(&q, "missing", 1, 1000, &v));
    assert_int_equal(v, 7);
    assert_true(fotad_query_u64(&q, "limit", 1, 1000, &v));
    assert_int_equal(v, 50);
    assert_true(fotad_query_u64(&q, "zero", 0, 1000, &v));
    assert_int_equal(v, 0);
    v = 7;
    const char *bad[] = {"zero", "big", "neg", "hex", "empty"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(fotad_query_u64(&q, bad[i], 1, 1000, &v));
        assert_int_equal(v, 7);
    }
}

static void test_query_refuses(void **state)
{
    (void)state;
    fotad_query_t q;
    const char *bad[] = {"a=%4", "a=%", "a=%zz", "a=%00", "a=1&a=2", "=x", "%4=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(fotad_query_parse(bad[i], &q), FOTA_ERR_ARG);
        assert_int_equal(q.count, 0);
    }
    char long_value[300] = "a=";
    memset(long_value + 2, 'x', FOTAD_QUERY_VALUE_MAX + 1);
    assert_int_equal(fotad_query_parse(long_value, &q), FOTA_ERR_TOO_LARGE);
    long_value[2 + FOTAD_QUERY_VALUE_MAX] = '\0';
    assert_int_equal(fotad_query_parse(long_value, &q), FOTA_OK);
    assert_int_equal(fotad_query_parse("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9", &q),
                     FOTA_ERR_TOO_LARGE);
    assert_int_equal(fotad_query_parse("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8", &q), FOTA_OK);
}

static void expect_range(const char *h, uint64_t total, fotad_range_result_t want, uint64_t first,
                         uint64_t last)
{
    uint64_t f = 12345;
    uint64_t l = 12345;
    assert_int_equal(fotad_range_parse(h, total, &f, &l), want);
    if (want == FOTAD_RANGE_PARTIAL) {
        assert_int_equal(f, first);
        assert_int_equal(l, last);
    }
}

static void test_range(void **state)
{
    (void)state;
    expect_range(NULL, 100, FOTAD_RANGE_NONE, 0, 0);
    expect_range("bytes=0-0", 100, FOTAD_RANGE_PARTIAL, 0, 0);
    expect_range("bytes=10-19", 100, FOTAD_RANGE_PARTIAL, 10, 19);
    expect_range("bytes=99-99", 100, FOTAD_RANGE_PARTIAL, 99, 99);
    expect_range("bytes=50-", 100, FOTAD_RANGE_PARTIAL, 50, 99);
    expect_range("bytes=50-1000", 100, FOTAD_RANGE_PARTIAL, 50, 99);
    expect_range("bytes=0-99999999999999999999999", 100, FOTAD_RANGE_PARTIAL, 0, 99);
    expect_range("bytes=-10", 100, FOTAD_RANGE_PARTIAL, 90, 99);
    expect_range("bytes=-1000", 100, FOTAD_RANGE_PARTIAL, 0, 99);
    expect_range(" Bytes = 5-6 ", 100, FOTAD_RANGE_PARTIAL, 5, 6);
    expect_range("bytes=100-", 100, FOTAD_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=100-200", 100, FOTAD_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=99999999999999999999999-", 100, FOTAD_RANGE_UNSATISFIABLE, 0, 0);
    expect_range("bytes=-0", 100, FOTAD_RANGE_UNSATISFIABLE, 0, 0);
    /* ignored: the whole resource is sent */
    const char *ignored[] = {"items=0-1", "bytes=5-4", "bytes=0-1,5-6", "bytes=a-b",
                             "bytes=-",   "bytes 0-1", "bytes=1-2x",    ""};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        expect_range(ignored[i], 100, FOTAD_RANGE_NONE, 0, 0);
    }
}

static void test_ident(void **state)
{
    (void)state;
    assert_true(fotad_is_device_id("inv-000123"));
    assert_true(fotad_is_device_id("A.b_c:d-9"));
    assert_false(fotad_is_device_id(""));
    assert_false(fotad_is_device_id("has space"));
    assert_false(fotad_is_device_id("slash/"));
    char id[64];
    memset(id, 'a', sizeof id);
    id[48] = '\0';
    assert_true(fotad_is_device_id(id));
    id[48] = 'a';
    id[49] = '\0';
    assert_false(fotad_is_device_id(id));

    assert_true(fotad_is_release_id("0123456789abcdef0123456789abcdef"));
    assert_false(fotad_is_release_id("0123456789ABCDEF0123456789abcdef"));
    assert_false(fotad_is_release_id("0123456789abcdef0123456789abcde"));
    assert_false(fotad_is_release_id("0123456789abcdef0123456789abcdef0"));
    assert_false(fotad_is_release_id("0123456789abcdef0123456789abcdeg"));

    assert_true(fotad_is_label("inv 5k", 32));
    assert_false(fotad_is_label("", 32));
    assert_false(fotad_is_label("tab\there", 32));
    assert_false(fotad_is_label("abc", 2));

    uint64_t v = 0;
    assert_true(fotad_parse_u64("0", 10, &v));
    assert_int_equal(v, 0);
    assert_true(fotad_parse_u64("18446744073709551615", UINT64_MAX, &v));
    assert_int_equal(v, UINT64_MAX);
    assert_false(fotad_parse_u64("18446744073709551616", UINT64_MAX, &v));
    assert_false(fotad_parse_u64("11", 10, &v));
    assert_false(fotad_parse_u64("", 10, &v));
    assert_false(fotad_parse_u64("+1", 10, &v));
    assert_false(fotad_parse_u64("1 ", 10, &v));

    uint8_t b[2];
    assert_true(fotad_unhex("aBff", b, 2));
    assert_int_equal(b[0], 0xab);
    assert_false(fotad_unhex("abf", b, 2));
    assert_false(fotad_unhex("abfff", b, 2));
    assert_false(fotad_unhex("xbff", b, 2));
    char hex[5];
    fotad_hex(b, 2, hex);
    assert_string_equal(hex, "abff");
    assert_true(fotad_equal_ct("abc", "abc", 3));
    assert_false(fotad_equal_ct("abc", "abd", 3));
}

static void test_base64(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(fotad_base64((const uint8_t *)"", 0, out), 0);
    assert_int_equal(fotad_base64((const uint8_t *)"f", 1, out), 4);
    assert_memory_equal(out, "Zg==", 4);
    assert_int_equal(fotad_base64((const uint8_t *)"fo", 2, out), 4);
    assert_memory_equal(out, "Zm8=", 4);
    assert_int_equal(fotad_base64((const uint8_t *)"foobar", 6, out), 8);
    assert_memory_equal(out, "Zm9vYmFy", 8);
    /* every length up to 40 and every byte value, as mbedTLS encodes them */
    uint8_t in[40];
    unsigned char want[64];
    for (size_t n = 0; n <= sizeof in; n++) {
        for (size_t i = 0; i < n; i++) {
            in[i] = (uint8_t)(n * 37 + i * 101 + (i == 0 ? 0 : 255 * (i & 1)));
        }
        size_t want_len = 0;
        assert_int_equal(mbedtls_base64_encode(want, sizeof want, &want_len, in, n), 0);
        assert_int_equal(fotad_base64(in, n, out), want_len);
        assert_memory_equal(out, want, want_len);
    }
    uint8_t all[256];
    char big[344];
    unsigned char ref[345];
    size_t ref_len = 0;
    for (size_t i = 0; i < sizeof all; i++) {
        all[i] = (uint8_t)i;
    }
    assert_int_equal(mbedtls_base64_encode(ref, sizeof ref, &ref_len, all, sizeof all), 0);
    assert_int_equal(fotad_base64(all, sizeof all, big), ref_len);
    assert_memory_equal(big, ref, ref_len);
}

/* parse_object STR: the verdict on one body, NULL (accepted) or why it was refused. */
static const char *parse_object(const char *body)
{
    const char *why = NULL;
    cJSON *json = fotad_json_parse_object((const uint8_t *)body, strlen(body), &why);
    if (json != NULL) {
        cJSON_Delete(json);
        return NULL;
    }
    assert_non_null(why);
    return why;
}

static void test_json_object(void **state)
{
    (void)state;
    assert_null(parse_object("{\"state\":\"booted\",\"done\":3} \r\n"));
    assert_string_equal(parse_object("{\"state\":\"error\",\"state\":\"booted\"}"),
                        "a key given twice");
    assert_string_equal(parse_object("{\"a\":1,\"b\":{\"x\":1},\"a\":2}"), "a key given twice");
    /* escapes are decoded before names are compared */
    assert_string_equal(parse_object("{\"state\":\"a\",\"st\\u0061te\":\"b\"}"),
                        "a key given twice");
    /* the same name in a nested object and at the top is two different members */
    assert_null(parse_object("{\"state\":\"a\",\"o\":{\"state\":\"b\"}}"));
    char many[1024];
    size_t n = 0;
    many[n++] = '{';
    for (unsigned i = 0; i <= FOTAD_JSON_MAX_MEMBERS; i++) {
        n += (size_t)snprintf(many + n, sizeof many - n, "%s\"k%u\":%u", i ? "," : "", i, i);
        if (i + 1 == FOTAD_JSON_MAX_MEMBERS) {
            many[n] = '}';
            many[n + 1] = '\0';
            assert_null(parse_object(many)); /* exactly the limit */
        }
    }
    many[n++] = '}';
    many[n] = '\0';
    assert_string_equal(parse_object(many), "more keys than any body has");
    assert_string_equal(parse_object("{\"a\":\"x\\u0000\"}"),
                        "a NUL (\\u0000 or a zero byte) in the body, which no field accepts");
    assert_string_equal(parse_object("{\"a\":1} x"), "trailing data after the JSON");
    assert_string_equal(parse_object("[1]"), "the body is not a JSON object");
    assert_string_equal(parse_object("{\"a\":"), "malformed JSON");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_decodes), cmocka_unit_test(test_query_u64),
        cmocka_unit_test(test_query_refuses), cmocka_unit_test(test_range),
        cmocka_unit_test(test_ident),         cmocka_unit_test(test_base64),
        cmocka_unit_test(test_json_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
