/*
 * test_auth.c - device keys and request MACs (docs/PROTOCOL.md section 2) against known answers
 * worked out independently with `openssl dgst -sha256 -mac HMAC` from the definitions, and the
 * property that every part of a request is covered by its MAC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fota/auth.h"

static const char master[] = "fota-test-master-secret-32-bytes";

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void test_device_and_auth_keys(void **state)
{
    (void)state;
    uint8_t dk[32], want[32], ak[32];
    assert_int_equal(
        fota_auth_device_key((const uint8_t *)master, strlen(master), "inv-000123", dk), FOTA_OK);
    from_hex("c6a2a186d33c7392959720632aaf8582fb87ed74cf2221fe48d039595fae9dbe", want, 32);
    assert_memory_equal(dk, want, 32);
    assert_int_equal(fota_auth_key(dk, ak), FOTA_OK);
    from_hex("6b5acf6b0039db574bb0937993b8014a0f8d1fdf574c477121d3624f3abc634c", want, 32);
    assert_memory_equal(ak, want, 32);
    /* Another device, another key. */
    uint8_t other[32];
    fota_auth_device_key((const uint8_t *)master, strlen(master), "inv-000124", other);
    assert_memory_not_equal(dk, other, 32);
}

static void auth_key(uint8_t ak[32])
{
    uint8_t dk[32];
    fota_auth_device_key((const uint8_t *)master, strlen(master), "inv-000123", dk);
    fota_auth_key(dk, ak);
}

static void test_request_mac_known_answers(void **state)
{
    (void)state;
    uint8_t ak[32];
    auth_key(ak);
    const char body[] = "{\"state\":\"confirmed\"}";
    fota_auth_msg_t post = {"POST",
                            "/api/inverter/fota/report",
                            "1795000000",
                            "9f1c2e7a00b3d4e5",
                            (const uint8_t *)body,
                            strlen(body)};
    char mac[FOTA_AUTH_HEX_LEN + 1];
    assert_int_equal(fota_auth_mac(NULL, ak, &post, mac), FOTA_OK);
    assert_string_equal(mac, "f7d30945b7aff5f74ee5e5f26569abedf92e11626bc42cae601c4b57f4ee96c0");
    fota_auth_msg_t get = {"GET",        "/api/inverter/fota/check?version=1.0.0&hw=inv",
                           "1795000000", "0000000000000001",
                           NULL,         0};
    assert_int_equal(fota_auth_mac(NULL, ak, &get, mac), FOTA_OK);
    assert_string_equal(mac, "e092d12d78a9a3418c660f86e5e832e09d9a26fdb39091967300420372cc497b");
}

/* Changing any field changes the MAC; a caller's context gives the same answer as a fresh one. */
static void test_every_field_counts(void **state)
{
    (void)state;
    uint8_t ak[32];
    auth_key(ak);
    const uint8_t body[] = "x";
    fota_auth_msg_t base = {
        "POST", "/api/inverter/fota/report", "1795000000", "00000000000000aa", body, 1};
    char ref[FOTA_AUTH_HEX_LEN + 1], mac[FOTA_AUTH_HEX_LEN + 1];
    fota_auth_mac(NULL, ak, &base, ref);
    fota_auth_msg_t m[5] = {base, base, base, base, base};
    m[0].method = "GET";
    m[1].target = "/api/inverter/fota/report?x";
    m[2].time = "1795000001";
    m[3].nonce = "00000000000000ab";
    m[4].body_len = 0;
    for (int i = 0; i < 5; i++) {
        fota_auth_mac(NULL, ak, &m[i], mac);
        assert_string_not_equal(mac, ref);
    }
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    assert_int_equal(mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1), 0);
    assert_int_equal(fota_auth_mac(&md, ak, &base, mac), FOTA_OK);
    assert_string_equal(mac, ref);
    memset(mac, 0, sizeof mac);
    assert_int_equal(fota_auth_mac_md(&md, ak, &base, mac), FOTA_OK); /* the agent's call */
    assert_string_equal(mac, ref);
    mbedtls_md_free(&md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_and_auth_keys),
        cmocka_unit_test(test_request_mac_known_answers),
        cmocka_unit_test(test_every_field_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
