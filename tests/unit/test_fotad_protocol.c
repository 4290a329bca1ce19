/*
 * test_fotad_protocol.c - the pieces of fotad that docs/PROTOCOL.md states precisely and a client
 * written from it relies on: the blob's conditional requests (server/range.c: entity-tag lists,
 * If-Match, If-None-Match, If-Range in RFC 9110's order), release ids in either case in report
 * and assignment bodies (server/bodies.c, stored in lowercase), and the bounds of a report's
 * numbers (`error` a signed 32-bit integer, `done` and `total` unsigned). The same behaviours end
 * to end over HTTP: tests/integration/test_fotad_protocol.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bodies.h"
#include "range.h"

#define TAG "3439868cedc2f426dc6d2983317a81ea267dc0a4cdb604f493f31eb239003198"
#define ID_LOWER "0ae2b68ac2ee14d087bfc30648a8c5c0"
#define ID_UPPER "0AE2B68AC2EE14D087BFC30648A8C5C0"

static void test_etag_lists(void **state)
{
    (void)state;
    const char *both[] = {"\"" TAG "\"",
                          "*",
                          " * ",
                          "\"a\", \"" TAG "\"",
                          "\"" TAG "\" , \"b\"",
                          ",\"" TAG "\",",
                          "\"a\",,\t\"" TAG "\""};
    for (size_t i = 0; i < sizeof both / sizeof both[0]; i++) {
        assert_true(fotad_etag_list_matches(both[i], TAG, true));
        assert_true(fotad_etag_list_matches(both[i], TAG, false));
    }
    /* a weak tag matches only by the weak comparison */
    assert_false(fotad_etag_list_matches("W/\"" TAG "\"", TAG, true));
    assert_true(fotad_etag_list_matches("W/\"" TAG "\"", TAG, false));
    assert_true(fotad_etag_list_matches("\"x\", W/\"" TAG "\"", TAG, false));
    /* other tags, the empty list, and anything that is not a list of tags match nothing */
    const char *never[] = {"\"x\"",
                           "",
                           " ",
                           "\"" TAG "x\"",
                           "\"" TAG,
                           TAG,
                           "w/\"" TAG "\"",
                           "\"" TAG "\" junk",
                           "\"" TAG "\" \"x\"",
                           "junk, \"" TAG "\"",
                           "*, \"" TAG "\"",
                           "\"a b\", \"" TAG "\"",
                           "\"\""};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        assert_false(fotad_etag_list_matches(never[i], TAG, true));
        assert_false(fotad_etag_list_matches(never[i], TAG, false));
    }
    assert_true(fotad_etag_list_matches("\"\"", "", true)); /* an empty opaque tag is a tag */
}

/* evaluate IM INM IR: the verdict, and whether Range applies. */
static fotad_cond_result_t evaluate(const char *im, const char *inm, const char *ir,
                                    bool *use_range)
{
    fotad_cond_headers_t h = {im, inm, ir};
    *use_range = false;
    return fotad_cond_evaluate(&h, TAG, use_range);
}

static void test_conditions(void **state)
{
    (void)state;
    bool range = false;
    assert_int_equal(evaluate(NULL, NULL, NULL, &range), FOTAD_COND_PROCEED);
    assert_true(range);
    /* If-Range: the Range applies only with the very tag, strongly */
    assert_int_equal(evaluate(NULL, NULL, "\"" TAG "\"", &range), FOTAD_COND_PROCEED);
    assert_true(range);
    assert_int_equal(evaluate(NULL, NULL, " \"" TAG "\" ", &range), FOTAD_COND_PROCEED);
    assert_true(range);
    const char *no_range[] = {"\"other\"",
                              "W/\"" TAG "\"",
                              "Tue, 15 Nov 1994 08:12:31 GMT",
                              "\"" TAG "\", \"" TAG "\"",
                              "*",
                              ""};
    for (size_t i = 0; i < sizeof no_range / sizeof no_range[0]; i++) {
        assert_int_equal(evaluate(NULL, NULL, no_range[i], &range), FOTAD_COND_PROCEED);
        assert_false(range);
    }
    /* If-None-Match: 304 on a match, weak or strong; else go on */
    assert_int_equal(evaluate(NULL, "W/\"" TAG "\"", NULL, &range), FOTAD_COND_NOT_MODIFIED);
    assert_int_equal(evaluate(NULL, "*", NULL, &range), FOTAD_COND_NOT_MODIFIED);
    assert_int_equal(evaluate(NULL, "\"other\"", NULL, &range), FOTAD_COND_PROCEED);
    assert_true(range);
    /* If-None-Match comes before If-Range */
    assert_int_equal(evaluate(NULL, "\"" TAG "\"", "\"other\"", &range), FOTAD_COND_NOT_MODIFIED);
    /* If-Match: 412 unless a tag matches strongly; it comes first */
    assert_int_equal(evaluate("\"other\"", NULL, NULL, &range), FOTAD_COND_FAILED);
    assert_int_equal(evaluate("W/\"" TAG "\"", NULL, NULL, &range), FOTAD_COND_FAILED);
    assert_int_equal(evaluate("\"other\"", "\"" TAG "\"", NULL, &range), FOTAD_COND_FAILED);
    assert_int_equal(evaluate("*", NULL, NULL, &range), FOTAD_COND_PROCEED);
    assert_int_equal(evaluate("\"a\", \"" TAG "\"", "\"" TAG "\"", NULL, &range),
                     FOTAD_COND_NOT_MODIFIED);
    assert_int_equal(evaluate("\"" TAG "\"", "\"x\"", "\"y\"", &range), FOTAD_COND_PROCEED);
    assert_false(range);
}

/* report BODY: the verdict on a report body (NULL: accepted), the record in *r. */
static const char *report(const char *body, fotad_report_rec_t *r)
{
    return fotad_report_parse((const uint8_t *)body, strlen(body), r);
}

static void test_report_release_case(void **state)
{
    (void)state;
    fotad_report_rec_t r;
    assert_null(report("{\"state\":\"installed\",\"release\":\"" ID_UPPER "\"}", &r));
    assert_string_equal(r.release, ID_LOWER);
    assert_null(
        report("{\"state\":\"installed\",\"release\":\"0ae2b68aC2EE14D087bfc30648a8c5c0\"}", &r));
    assert_string_equal(r.release, ID_LOWER);
    assert_null(report("{\"state\":\"installed\",\"release\":\"\"}", &r));
    assert_string_equal(r.release, "");
    const char *bad[] = {"0AE2B68AC2EE14D087BFC30648A8C5CG", "0AE2B68AC2EE14D087BFC30648A8C5C",
                         "0AE2B68AC2EE14D087BFC30648A8C5C00", " 0AE2B68AC2EE14D087BFC30648A8C5C"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"state\":\"installed\",\"release\":\"%s\"}", bad[i]);
        assert_string_equal(report(body, &r), "missing or invalid field release");
    }
}

static void test_report_numbers(void **state)
{
    (void)state;
    fotad_report_rec_t r;
    const struct {
        const char *text;
        int32_t value;
    } ok[] = {{"0", 0},
              {"-1", -1},
              {"2147483647", INT32_MAX},
              {"-2147483648", INT32_MIN},
              {"1002", 1002},
              {"7.0", 7},
              {"1e3", 1000},
              {"-0", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"state\":\"error\",\"error\":%s}", ok[i].text);
        assert_null(report(body, &r));
        assert_int_equal(r.error, ok[i].value);
    }
    const char *bad[] = {"2147483648", "-2147483649", "4294967295", "1.5", "\"7\"", "null", "true"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"state\":\"error\",\"error\":%s}", bad[i]);
        assert_string_equal(report(body, &r), "missing or invalid field error");
    }
    assert_null(report("{\"state\":\"downloading\",\"done\":4294967295,\"total\":4294967295}", &r));
    assert_int_equal(r.done, UINT32_MAX);
    assert_int_equal(r.total, UINT32_MAX);
    assert_string_equal(report("{\"state\":\"downloading\",\"done\":4294967296}", &r),
                        "missing or invalid field done");
    assert_string_equal(report("{\"state\":\"downloading\",\"total\":-1}", &r),
                        "missing or invalid field total");
}

static void test_assignment_release_case(void **state)
{
    (void)state;
    fotad_assignment_rec_t a;
    const char *body = "{\"release\":\"" ID_UPPER "\",\"product\":\"inv-5k\"}";
    assert_null(fotad_assignment_parse((const uint8_t *)body, strlen(body), &a));
    assert_string_equal(a.release, ID_LOWER);
    body = "{\"release\":\"" ID_UPPER "X\",\"product\":\"inv-5k\"}";
    assert_non_null(fotad_assignment_parse((const uint8_t *)body, strlen(body), &a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etag_lists),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_report_release_case),
        cmocka_unit_test(test_report_numbers),
        cmocka_unit_test(test_assignment_release_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
