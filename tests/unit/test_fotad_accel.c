/*
 * test_fotad_accel.c - handing chain-mode blobs to nginx (server/accel.c): which requests fotad
 * hands over (no Range, or a Range it serves that nginx reads alike; never with If-Match,
 * If-Unmodified-Since or If-Range), the answer that hands one over (X-Accel-Redirect with the
 * object's name, the blob's ETag, Content-Type, Accept-Ranges for a 206 only, no body), and,
 * over some thousands of Range fields, that nginx 1.22's own parser (transcribed below from
 * src/http/modules/ngx_http_range_filter_module.c, with max_ranges 1 as server/nginx/fota.conf
 * sets it) serves the very bytes fotad would for every field fotad_accel_range_portable lets
 * through. The real nginx: tests/integration/test_nginx_blobs.sh.
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

typedef enum { NGX_OK_206, NGX_416, NGX_DECLINED_200 } ngx_range_t;

/* One range of nginx's loop: digits into *v with its overflow check; false: 416. */
static bool ngx_number(const char **p, int64_t *v)
{
    const int64_t cutoff = INT64_MAX / 10;
    const int64_t cutlim = INT64_MAX % 10;
    while (**p >= '0' && **p <= '9') {
        if (*v >= cutoff && (*v > cutoff || **p - '0' > cutlim)) {
            return false;
        }
        *v = *v * 10 + (*(*p)++ - '0');
    }
    return true;
}

/* nginx's reading of "FIRST-LAST", "FIRST-" or "-N" at *p: [*start, *end) or a verdict. */
static int ngx_one(const char **p, int64_t cl, int64_t *start, int64_t *end)
{
    bool suffix = false;
    while (**p == ' ') {
        (*p)++;
    }
    if (**p != '-') {
        if (**p < '0' || **p > '9' || !ngx_number(p, start)) {
            return NGX_416;
        }
        while (**p == ' ') {
            (*p)++;
        }
        if (*(*p)++ != '-') {
            return NGX_416;
        }
        while (**p == ' ') {
            (*p)++;
        }
        if (**p == ',' || **p == '\0') {
            *end = cl;
            return NGX_OK_206;
        }
    } else {
        suffix = true;
        (*p)++;
    }
    if (**p < '0' || **p > '9' || !ngx_number(p, end)) {
        return NGX_416;
    }
    while (**p == ' ') {
        (*p)++;
    }
    if (**p != ',' && **p != '\0') {
        return NGX_416;
    }
    if (suffix) {
        *start = *end < cl ? cl - *end : 0;
        *end = cl - 1;
    }
    *end = *end >= cl ? cl : *end + 1;
    return NGX_OK_206;
}

/* ngx_http_range_header_filter's test of the field and ngx_http_range_parse with ranges = 1. */
static ngx_range_t ngx_range(const char *field, int64_t cl, uint64_t *first, uint64_t *last)
{
    if (strlen(field) < 7 || strncasecmp(field, "bytes=", 6) != 0) {
        return NGX_DECLINED_200;
    }
    const char *p = field + 6;
    unsigned ranges = 1;
    size_t found = 0;
    int64_t size = 0;
    for (;;) {
        int64_t start = 0;
        int64_t end = 0;
        if (ngx_one(&p, cl, &start, &end) == NGX_416) {
            return NGX_416;
        }
        if (start < end) {
            *first = (uint64_t)start;
            *last = (uint64_t)end - 1;
            found++;
            size += end - start;
            if (ranges-- == 0) {
                return NGX_DECLINED_200;
            }
        } else if (start == 0) {
            return NGX_DECLINED_200;
        }
        if (*p++ != ',') {
            break;
        }
    }
    return found == 0 ? NGX_416 : size > cl ? NGX_DECLINED_200 : NGX_OK_206;
}

static void test_portable_ranges_read_alike(void **state)
{
    (void)state;
    const char *heads[] = {
        "bytes=", "BYTES=", "Bytes= ", "bytes =", " bytes=", "bytes=\t", "byte="};
    const char *firsts[] = {"",
                            "0",
                            "5",
                            "99",
                            "100",
                            "1000",
                            "000000000000000000001",
                            "18",
                            "999999999999999999",
                            "9223372036854775807",
                            "99999999999999999999"};
    const char *seps[] = {"-", " -", "- ", " - ", "\t-"};
    const char *lasts[] = {"",
                           "0",
                           "4",
                           "50",
                           "99",
                           "100",
                           "999999999999999999",
                           "9223372036854775808",
                           "18446744073709551615"};
    const char *tails[] = {"", " ", "\t", ",", ",0-1", "x"};
    unsigned agreed = 0;
    unsigned refused = 0;
    char field[160];
    for (size_t a = 0; a < sizeof heads / sizeof heads[0]; a++)
        for (size_t b = 0; b < sizeof firsts / sizeof firsts[0]; b++)
            for (size_t c = 0; c < sizeof seps / sizeof seps[0]; c++)
                for (size_t d = 0; d < sizeof lasts / sizeof lasts[0]; d++)
                    for (size_t e = 0; e < sizeof tails / sizeof tails[0]; e++) {
                        snprintf(field, sizeof field, "%s%s%s%s%s", heads[a], firsts[b], seps[c],
                                 lasts[d], tails[e]);
                        uint64_t f0 = 0, l0 = 0, f1 = 0, l1 = 0;
                        fotad_range_result_t ours = fotad_range_parse(field, TOTAL, &f0, &l0);
                        ngx_range_t theirs = ngx_range(field, TOTAL, &f1, &l1);
                        bool same = theirs == NGX_OK_206 && f0 == f1 && l0 == l1;
                        if (ours != FOTAD_RANGE_PARTIAL) {
                            continue;
                        }
                        if (fotad_accel_range_portable(field)) {
                            if (!same) {
                                fail_msg("nginx reads '%s' otherwise", field);
                            }
                            agreed++;
                        } else if (!same) {
                            refused++; /* where the check is needed */
                        }
                    }
    assert_true(agreed >= 200); /* 210 of the fields fotad serves as 206 */
    assert_true(refused >= 800);
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
        cmocka_unit_test(test_portable_ranges_read_alike),
        cmocka_unit_test(test_which_requests),
        cmocka_unit_test(test_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
