/*
 * test_base64.c - the agent's strict base64 decoder (agent/src/base64.c), in place in its buffer:
 * every canonical text decodes to what mbedTLS decodes it to, at every length and offset, and
 * each kind of text that is not strict RFC 4648 base64 is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mbedtls/base64.h>

#include "../../agent/src/agent_internal.h"

/* Decodes text placed at io + start; the result or false. */
static bool decode(const char *text, size_t start, uint8_t *out, size_t *out_len)
{
    uint8_t io[2048];
    size_t n = strlen(text);
    assert_true(start + n <= sizeof io);
    memset(io, 0xa5, sizeof io);
    memcpy(io + start, text, n);
    if (!fota_b64_decode_in_place(io, start, n, out_len)) {
        return false;
    }
    memcpy(out, io, *out_len);
    return true;
}

static void test_known_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10 */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        uint8_t out[16];
        size_t len = 99;
        assert_true(decode(coded[i], 0, out, &len));
        assert_int_equal(len, strlen(plain[i]));
        assert_memory_equal(out, plain[i], len);
    }
    uint8_t out[4];
    size_t len = 0;
    assert_true(decode("+/+/", 0, out, &len)); /* 62 and 63 */
    assert_int_equal(len, 3);
    assert_memory_equal(out, "\xfb\xff\xbf", 3);
}

/* Random bytes of every length up to 1 KB, encoded by mbedTLS, decoded in place from several
 * offsets (0 is the worst case: writing just behind the reading). */
static void test_agrees_with_mbedtls(void **state)
{
    (void)state;
    srand(7);
    static const size_t starts[] = {0, 1, 3, 64};
    for (size_t n = 0; n <= 1024; n++) {
        uint8_t plain[1024];
        for (size_t i = 0; i < n; i++) {
            plain[i] = (uint8_t)rand();
        }
        char text[1400];
        size_t tlen = 0;
        assert_int_equal(mbedtls_base64_encode((unsigned char *)text, sizeof text, &tlen, plain, n),
                         0);
        text[tlen] = '\0'; /* (not written for an empty input) */
        for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
            uint8_t out[1024];
            size_t len = 0;
            assert_true(decode(text, starts[s], out, &len));
            assert_int_equal(len, n);
            assert_memory_equal(out, plain, n);
        }
    }
}

static void test_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg=",      /* length not a multiple of 4 */
        "Zm9",      /* the same, no padding */
        "Z",        /* one character */
        "Zg===",    /* three '=' */
        "Z===",     /* three '=' in one group */
        "====",     /* padding only */
        "Zg==Zm8=", /* padding inside */
        "Z=g=",     /* '=' not at the end */
        "Zm9v\n",   /* a line break */
        "Zm 9v",    /* a space */
        "Zm9v-_==", /* the URL alphabet (RFC 4648 5) */
        "Zh==",     /* padding bits not zero: "Zg==" is the one text of "f" */
        "Zm9=",     /* the same with one '=' ("Zm8=" is "fo") */
        "Zm9v\x80\x80==",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t len = 0;
        assert_false(decode(bad[i], 0, out, &len));
    }
    /* a NUL inside is a character out of the alphabet, not the end */
    uint8_t io[8] = {'Z', 'm', '\0', 'v'};
    size_t len = 0;
    assert_false(fota_b64_decode_in_place(io, 0, 4, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_agrees_with_mbedtls),
        cmocka_unit_test(test_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
