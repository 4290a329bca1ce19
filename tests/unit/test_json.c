/*
 * test_json.c - the agent's JSON scanner (agent/src/json.c): what it accepts, where it finds the
 * values asked for, and each kind of malformed document it refuses. The offer and seed-chunk
 * parsers built on it are tested through the agent (test_agent.c, test_hostile_agent.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../agent/src/agent_internal.h"

static const char *const keys[] = {"a", "mac", "n"};
#define NKEYS 3

static fota_err_t scan_len(const char *js, size_t len, fota_json_field_t f[NKEYS])
{
    return fota_json_scan(js, len, keys, f, NKEYS);
}

static fota_err_t scan(const char *js, fota_json_field_t f[NKEYS])
{
    return scan_len(js, strlen(js), f);
}

/* The value of field k as written. */
static void assert_value(const char *js, const fota_json_field_t *f, const char *want)
{
    assert_int_equal(f->len, strlen(want));
    assert_memory_equal(js + f->at, want, f->len);
}

static void test_accepts_and_locates(void **state)
{
    (void)state;
    fota_json_field_t f[NKEYS];
    const char *js =
        " {\"x\" : \"skip\", \"a\":\"va\\\"l\",\r\n\t\"n\": -12.5e+3 ,\"mac\":true} \n";
    assert_int_equal(scan(js, f), FOTA_OK);
    assert_int_equal(f[0].kind, '"');
    assert_value(js, &f[0], "\"va\\\"l\"");
    assert_int_equal(f[1].kind, 't');
    assert_value(js, &f[1], "true");
    assert_int_equal(f[2].kind, '-');
    assert_value(js, &f[2], "-12.5e+3");

    assert_int_equal(scan("{}", f), FOTA_OK);
    assert_int_equal(f[0].kind, 0);
    assert_int_equal(f[1].kind, 0);
    assert_int_equal(f[2].kind, 0);
    assert_int_equal(scan("{\"n\":null,\"a\":false,\"mac\":0}", f), FOTA_OK);
    assert_int_equal(f[0].kind, 'f');
    assert_int_equal(f[1].kind, '0');
    assert_int_equal(f[2].kind, 'n');
}

/* Valid scalars of every form the grammar allows, as unknown values. */
static void test_accepts_every_scalar(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "0",
        "-0",
        "7",
        "10",
        "0.5",
        "-1.25",
        "1e5",
        "1E+5",
        "1e-05",
        "12.5E10",
        "true",
        "false",
        "null",
        "\"\"",
        "\"\\u00e9\"",
        "\"\\uD83D\\uDE00\"",
        "\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\xc3\xa9 UTF-8 bytes as they come\"",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char js[128];
        fota_json_field_t f[NKEYS];
        strcpy(js, "{\"z\":");
        strcat(js, ok[i]);
        strcat(js, "}");
        if (scan(js, f) != FOTA_OK) {
            fail_msg("refused: %s", js);
        }
    }
}

static void test_refuses_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "[]",
        "\"a\"",
        "1",
        "{}x",
        "{} {}",
        "{}}",
        "{,}",
        "{\"a\":1,}",
        "{\"a\":1,,\"b\":2}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{\"a\"}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1;\"b\":2}",
        "{a:1}",
        "{'a':1}",
        "{1:1}",
        "{\"a\":01}",
        "{\"a\":00}",
        "{\"a\":-01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":+1}",
        "{\"a\":-}",
        "{\"a\":1e}",
        "{\"a\":1e+}",
        "{\"a\":0x10}",
        "{\"a\":1 2}",
        "{\"a\":tru}",
        "{\"a\":truex}",
        "{\"a\":True}",
        "{\"a\":nul}",
        "{\"a\":undefined}",
        "{\"a\":\"x}",
        "{\"a\":\"x",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u12G4\"}",
        "{\"a\":\"\\",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"new\nline\"}",
        "{\"a\":{}}",
        "{\"a\":{\"b\":1}}",
        "{\"a\":[]}",
        "{\"a\":[1,2]}",
        "{\"z\":[\"a\"]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fota_json_field_t f[NKEYS];
        if (scan(bad[i], f) != FOTA_ERR_ARG) {
            fail_msg("accepted: %s", bad[i]);
        }
    }
}

/* A NUL is refused inside a string, between tokens and after the object. */
static void test_refuses_nul(void **state)
{
    (void)state;
    fota_json_field_t f[NKEYS];
    assert_int_equal(scan_len("{\"a\":\"x\0y\"}", 11, f), FOTA_ERR_ARG);
    assert_int_equal(scan_len("{\"a\":1,\0\"n\":2}", 14, f), FOTA_ERR_ARG);
    assert_int_equal(scan_len("{\"a\":1}\0", 8, f), FOTA_ERR_ARG);
}

/* Only len bytes are read: what follows them in memory does not count. */
static void test_reads_only_len(void **state)
{
    (void)state;
    fota_json_field_t f[NKEYS];
    const char *js = "{\"a\":12}garbage";
    assert_int_equal(scan_len(js, 8, f), FOTA_OK);
    assert_value(js, &f[0], "12");
    assert_int_equal(scan_len(js, 7, f), FOTA_ERR_ARG);            /* cut before the brace */
    assert_int_equal(scan_len("{\"a\":123}", 7, f), FOTA_ERR_ARG); /* cut inside the number */
    assert_int_equal(scan_len("{\"a\":\"\\u00", 10, f), FOTA_ERR_ARG);
}

/* A key asked for may occur once, escapes decoded; other keys may repeat. */
static void test_duplicate_keys(void **state)
{
    (void)state;
    fota_json_field_t f[NKEYS];
    assert_int_equal(scan("{\"a\":1,\"a\":1}", f), FOTA_ERR_ARG);
    assert_int_equal(scan("{\"mac\":\"x\",\"m\\u0061c\":\"y\"}", f), FOTA_ERR_ARG);
    assert_int_equal(scan("{\"\\u006d\\u0061\\u0063\":\"x\",\"mac\":\"y\"}", f), FOTA_ERR_ARG);
    assert_int_equal(scan("{\"n\":null,\"n\":null}", f), FOTA_ERR_ARG);
    assert_int_equal(scan("{\"z\":1,\"z\":2}", f), FOTA_OK);

    const char *js = "{\"m\\u0061c\":\"y\"}";
    assert_int_equal(scan(js, f), FOTA_OK);
    assert_value(js, &f[1], "\"y\"");
    /* Not the same key: a prefix, a longer key, another case, an escape that decodes elsewhere. */
    const char *near = "{\"ma\":1,\"macs\":2,\"MAC\":3,\"m\\u0041c\":4,\"\":5,\"a\\u0000\":6}";
    assert_int_equal(scan(near, f), FOTA_OK);
    assert_int_equal(f[0].kind, 0);
    assert_int_equal(f[1].kind, 0);
}

static void test_u32(void **state)
{
    (void)state;
    static const struct {
        const char *js;
        bool ok;
        uint32_t v;
    } cases[] = {
        {"{\"n\":0}", true, 0},
        {"{\"n\":1043}", true, 1043},
        {"{\"n\":4294967295}", true, UINT32_MAX},
        {"{\"n\":4294967296}", false, 0},
        {"{\"n\":4294967299}", false, 0},
        {"{\"n\":4294967290}", true, 4294967290u},
        {"{\"n\":5000000000}", false, 0},
        {"{\"n\":9999999999}", false, 0},
        {"{\"n\":10000000000}", false, 0},
        {"{\"n\":99999999999}", false, 0},
        {"{\"n\":-1}", false, 0},
        {"{\"n\":-0}", false, 0},
        {"{\"n\":1.0}", false, 0},
        {"{\"n\":1e3}", false, 0},
        {"{\"n\":\"1\"}", false, 0},
        {"{\"n\":true}", false, 0},
        {"{\"n\":null}", false, 0},
        {"{}", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fota_json_field_t f[NKEYS];
        uint32_t v = 12345;
        assert_int_equal(scan(cases[i].js, f), FOTA_OK);
        if (fota_json_u32(cases[i].js, &f[2], &v) != cases[i].ok) {
            fail_msg("%s: wrong verdict", cases[i].js);
        }
        assert_int_equal(v, cases[i].ok ? cases[i].v : 12345u);
    }
}

static void test_strings(void **state)
{
    (void)state;
    fota_json_field_t f[NKEYS];
    char out[4];
    const char *text;
    size_t len;
    const char *js = "{\"a\":\"abc\",\"mac\":\"a\\\"c\",\"n\":7}";
    assert_int_equal(scan(js, f), FOTA_OK);
    assert_true(fota_json_str(js, &f[0], out, sizeof out));
    assert_string_equal(out, "abc");
    assert_false(fota_json_str(js, &f[0], out, 3));          /* no room for the NUL */
    assert_false(fota_json_str(js, &f[1], out, sizeof out)); /* escapes are not decoded */
    assert_true(fota_json_text(js, &f[1], &text, &len));
    assert_int_equal(len, 4);
    assert_memory_equal(text, "a\\\"c", 4);
    assert_false(fota_json_text(js, &f[2], &text, &len)); /* a number */
    assert_int_equal(len, 0);

    js = "{\"a\":\"\"}";
    assert_int_equal(scan(js, f), FOTA_OK);
    assert_true(fota_json_str(js, &f[0], out, sizeof out));
    assert_string_equal(out, "");
    assert_false(fota_json_text(js, &f[1], &text, &len)); /* absent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_and_locates),
        cmocka_unit_test(test_accepts_every_scalar),
        cmocka_unit_test(test_refuses_malformed),
        cmocka_unit_test(test_refuses_nul),
        cmocka_unit_test(test_reads_only_len),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_u32),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
