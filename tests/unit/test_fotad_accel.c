/*
 * test_fotad_accel.c - handing chain-mode blobs to nginx (server/accel.c): which requests fotad
 * hands over (no Range, or a Range it serves that nginx reads alike; never with If-Match,
 * If-Unmodified-Since or If-Range), the answer that hands one over (X-Accel-Redirect with the
 * object's name, the blob's ETag, Content-Type, Accept-Ranges for a 206 only, no body), and which
 * Range fields fotad_accel_range_portable hands over: the plain forms, not those a web server may
 * read otherwise than fotad (blanks before '=', tabs, numbers past 2^63 or of 19 digits and
 * more). That a real nginx serves the very bytes fotad would for the fields handed over:
 * tests/integration/test_nginx_blobs.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "accel.h"

#define TAG "3439868cedc2f426dc6d2983317a81ea267dc0a4cdb604f493f31eb239003198"
#define TAG_TAIL "39868cedc2f426dc6d2983317a81ea267dc0a4cdb604f493f31eb239003198" /* after "34" */
#define TOTAL 100

static void test_portable_ranges(void **state)
{
    (void)state;
    /* the forms devices send, and blanks where the grammar has them */
    assert_true(fotad_accel_range_portable("bytes=0-99"));
    assert_true(fotad_accel_range_portable("bytes=5-"));
    assert_true(fotad_accel_range_portable("bytes=-5"));
    assert_true(fotad_accel_range_portable("bytes=1000-2000"));
    /* each reason on its own */
    assert_false(fotad_accel_range_portable("bytes =0-5"));
    assert_false(fotad_accel_range_portable("bytes=\t0-5"));
    assert_false(fotad_accel_range_portable("bytes=0-9223372036854775808"));
    assert_false(fotad_accel_range_portable("bytes=0-0000000000000000009"));
    assert_true(fotad_accel_range_portable("bytes=0-000000000000000009"));
    assert_true(fotad_accel_range_portable("bytes= 10 - 20 "));
    assert_true(fotad_accel_range_portable("BYTES=-5"));
}

static void test_which_requests(void **state)
{
    (void)state;
    fotad_accel_headers_t h = {NULL, NULL, NULL, NULL};
    assert_true(fotad_accel_can_hand_over(&h, FOTAD_RANGE_NONE));
    h.range = "bytes=0-99";
    assert_true(fotad_accel_can_hand_over(&h, FOTAD_RANGE_PARTIAL));
    assert_false(fotad_accel_can_hand_over(&h, FOTAD_RANGE_NONE)); /* If-Range voided it */
    h.range = "bytes=0-1,5-6";                                     /* fotad ignores it: 200 */
    assert_false(fotad_accel_can_hand_over(&h, FOTAD_RANGE_NONE));
    h.range = "bytes\t=0-1";
    assert_false(fotad_accel_can_hand_over(&h, FOTAD_RANGE_PARTIAL));
    h.range = NULL;
    h.if_match = "\"" TAG "\"";
    assert_false(fotad_accel_can_hand_over(&h, FOTAD_RANGE_NONE));
    h.if_match = NULL;
    h.if_unmodified_since = "Tue, 15 Nov 1994 08:12:31 GMT";
    assert_false(fotad_accel_can_hand_over(&h, FOTAD_RANGE_NONE));
    h.if_unmodified_since = NULL;
    h.range = "bytes=0-99";
    h.if_range = "\"" TAG "\"";
    assert_false(fotad_accel_can_hand_over(&h, FOTAD_RANGE_PARTIAL));
}

static const char *header(const fotad_resp_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

static void test_answer(void **state)
{
    (void)state;
    fotad_resp_t r;
    fotad_resp_init(&r);
    fotad_accel_respond(&r, "/_fota_objects/", TAG, true);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.accel, 206);
    assert_int_equal(r.body_len, 0);
    assert_null(r.borrowed);
    assert_int_equal(r.fd, -1);
    assert_string_equal(r.content_type, "application/octet-stream");
    assert_string_equal(header(&r, "X-Accel-Redirect"), "/_fota_objects/34/" TAG_TAIL);
    assert_string_equal(header(&r, "ETag"), "\"" TAG "\"");
    assert_string_equal(header(&r, "Accept-Ranges"), "bytes");
    fotad_resp_free(&r);

    /* a whole blob: nginx adds Accept-Ranges itself, so fotad's would be a second one */
    fotad_resp_init(&r);
    const char longest[] = "/012345678901234567890123456789012345678901234567890123456789/";
    assert_int_equal(strlen(longest), 62);
    fotad_accel_respond(&r, longest, TAG, false);
    assert_int_equal(r.accel, 200);
    char want[160];
    snprintf(want, sizeof want, "%s%.2s/%s", longest, TAG, TAG + 2);
    assert_string_equal(header(&r, "X-Accel-Redirect"), want); /* not cut */
    assert_null(header(&r, "Accept-Ranges"));
    fotad_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portable_ranges),
        cmocka_unit_test(test_which_requests),
        cmocka_unit_test(test_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
