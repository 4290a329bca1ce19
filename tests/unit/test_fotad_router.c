/*
 * test_fotad_router.c - fotad's routing and early checks (server/router.c, httpmsg.c): every
 * documented route matches, unknown paths are 404, a wrong method is 405 with the right Allow,
 * HEAD is served as GET, {id} segments are one non-empty segment, and before any body byte is
 * read: 414 for a long target, 401/403 for the admin token, then 413 for a declared body over
 * the route's limit - each as the JSON error of docs/PROTOCOL.md 4.6; a service's failure is a
 * 503 store_unavailable with Retry-After when the store could not be reached (FOTA_ERR_IO), else
 * a 500 internal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ident.h"
#include "resp_body.h"
#include "router.h"

static void expect_match(const char *method, const char *path, unsigned status, const char *allow,
                         const char *param)
{
    fotad_match_t m;
    fotad_router_match(method, path, &m);
    assert_int_equal(m.status, status);
    if (status == 0) {
        assert_non_null(m.route);
    } else {
        assert_null(m.route);
    }
    if (allow != NULL) {
        assert_string_equal(m.allow, allow);
    }
    if (param != NULL) {
        assert_string_equal(m.param, param);
    }
}

static void test_match(void **state)
{
    (void)state;
    expect_match("GET", "/healthz", 0, NULL, NULL);
    expect_match("HEAD", "/healthz", 0, NULL, NULL);
    expect_match("GET", "/api/inverter/fota/check", 0, NULL, NULL);
    expect_match("GET", "/api/inverter/fota/blob/abc", 0, NULL, "abc");
    expect_match("POST", "/api/inverter/fota/report", 0, NULL, NULL);
    expect_match("GET", "/api/inverter/fota/report", 405, "POST", NULL);
    expect_match("POST", "/api/inverter/fota/check", 405, "GET, HEAD", NULL);
    expect_match("DELETE", "/api/admin/releases", 405, "POST, GET, HEAD", NULL);
    expect_match("GET", "/api/admin/releases/0123", 0, NULL, "0123");
    expect_match("POST", "/api/admin/releases/0123", 405, "GET, HEAD", NULL);
    expect_match("GET", "/api/inverter/fota/blob/", 404, NULL, NULL);
    expect_match("GET", "/api/inverter/fota/blob/a/b", 404, NULL, NULL);
    expect_match("GET", "/api/inverter/fota/check/", 404, NULL, NULL);
    expect_match("GET", "/api/inverter/fota", 404, NULL, NULL);
    expect_match("GET", "/", 0, NULL, ""); /* the operator console */
    expect_match("POST", "/", 405, "GET, HEAD", NULL);
    expect_match("GET", "/console/app.js", 0, NULL, "app.js");
    expect_match("GET", "/console/", 404, NULL, NULL);
    expect_match("GET", "/index.html", 404, NULL, NULL);
    expect_match("GET", "/api/admin/overview", 0, NULL, NULL);
    expect_match("GET", "/api/admin/whoami", 0, NULL, NULL);
    expect_match("GET", "/api/admin/devices/inv-1", 0, NULL, "inv-1");
    /* A parameter in the middle: rollouts/{id}/start and its siblings. */
    expect_match("GET", "/api/admin/rollouts/12", 0, NULL, "12");
    expect_match("POST", "/api/admin/rollouts/12/start", 0, NULL, "12");
    expect_match("GET", "/api/admin/rollouts/7/history", 0, NULL, "7");
    expect_match("GET", "/api/admin/rollouts/7/start", 405, "POST", NULL);
    expect_match("POST", "/api/admin/rollouts/7/history", 405, "GET, HEAD", NULL);
    expect_match("POST", "/api/admin/rollouts//start", 404, NULL, NULL);
    expect_match("POST", "/api/admin/rollouts/7/start/", 404, NULL, NULL);
    expect_match("POST", "/api/admin/rollouts/7/8/start", 404, NULL, NULL);
    expect_match("POST", "/api/admin/rollouts/7/restart", 404, NULL, NULL);
    expect_match("POST", "/api/admin/rollouts/7/star", 404, NULL, NULL);
    char longer[300];
    snprintf(longer, sizeof longer, "/api/admin/rollouts/%0200d/start", 1);
    expect_match("POST", longer, 404, NULL, NULL); /* a segment over FOTAD_PARAM_MAX */
    expect_match("POST", "/api/admin/device-tags", 0, NULL, NULL);
}

typedef struct {
    fotad_config_t cfg;
    fotad_app_t app;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    f.cfg.max_upload = 5000;
    f.app.cfg = &f.cfg;
    fotad_sha256("tok", 3, f.app.admin_token_sha256);
    *state = &f;
    return 0;
}

static unsigned begin(fixture_t *f, const char *method, const char *path, const char *len,
                      const char *auth, fotad_resp_t *resp)
{
    fotad_match_t m;
    fotad_resp_free(resp);
    fotad_resp_init(resp);
    return fotad_router_begin(&f->app, method, path, path, len, auth, &m, resp);
}

static void assert_error_body(const fotad_resp_t *r, const char *code)
{
    char want[64];
    snprintf(want, sizeof want, "\"code\":\"%s\"", code);
    assert_non_null(r->body);
    assert_true(test_resp_has(r, want));
    assert_true(test_resp_has(r, "\"error\":\""));
    assert_string_equal(r->content_type, "application/json");
}

static void test_begin(void **state)
{
    fixture_t *f = *state;
    fotad_resp_t r;
    fotad_resp_init(&r);
    assert_int_equal(begin(f, "GET", "/healthz", NULL, NULL, &r), 0);
    assert_int_equal(begin(f, "GET", "/nope", NULL, NULL, &r), 404);
    assert_error_body(&r, "not_found");
    assert_int_equal(begin(f, "PUT", "/healthz", NULL, NULL, &r), 405);
    assert_error_body(&r, "method_not_allowed");
    assert_string_equal(r.headers[0].name, "Allow");
    assert_string_equal(r.headers[0].value, "GET, HEAD");
    char long_path[FOTAD_TARGET_MAX + 10];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    assert_int_equal(begin(f, "GET", long_path, NULL, NULL, &r), 414);
    assert_error_body(&r, "uri_too_long");
    /* body limits: report 1024, admin JSON 64 KiB, upload = max_upload, GET none */
    assert_int_equal(begin(f, "POST", "/api/inverter/fota/report", "1024", NULL, &r), 0);
    assert_int_equal(begin(f, "POST", "/api/inverter/fota/report", "1025", NULL, &r), 413);
    assert_error_body(&r, "too_large");
    assert_int_equal(begin(f, "GET", "/api/inverter/fota/check", "1", NULL, &r), 413);
    assert_int_equal(begin(f, "POST", "/api/admin/releases", "5000", "Bearer tok", &r), 0);
    assert_int_equal(begin(f, "POST", "/api/admin/releases", "5001", "Bearer tok", &r), 413);
    assert_int_equal(begin(f, "POST", "/api/admin/assignments", "65537", "Bearer tok", &r), 413);
    /* admin token, checked before the body */
    assert_int_equal(begin(f, "GET", "/api/admin/devices", NULL, NULL, &r), 401);
    assert_error_body(&r, "unauthorized");
    assert_int_equal(begin(f, "GET", "/api/admin/devices", NULL, "Bearer tik", &r), 403);
    assert_error_body(&r, "forbidden");
    assert_int_equal(begin(f, "GET", "/api/admin/devices", NULL, "Bearer tok", &r), 0);
    /* without the token, not even the size limit is revealed */
    assert_int_equal(begin(f, "POST", "/api/admin/releases", "9999999", NULL, &r), 401);
    /* device routes authenticate later (the MAC covers the body) */
    assert_int_equal(begin(f, "GET", "/api/inverter/fota/chunk", NULL, NULL, &r), 0);
    fotad_resp_free(&r);
}

/* /metrics: a valid token, checked before anything else, unless metrics_open; the admin API
 * keeps its token either way. */
static void test_metrics_access(void **state)
{
    fixture_t *f = *state;
    fotad_resp_t r;
    fotad_resp_init(&r);
    assert_int_equal(begin(f, "GET", "/metrics", NULL, NULL, &r), 401);
    assert_error_body(&r, "unauthorized");
    assert_int_equal(begin(f, "GET", "/metrics", NULL, "Bearer tik", &r), 403);
    assert_int_equal(begin(f, "GET", "/metrics", NULL, "Bearer tok", &r), 0);
    assert_int_equal(begin(f, "HEAD", "/metrics", NULL, "Bearer tok", &r), 0);
    f->cfg.metrics_open = true;
    assert_int_equal(begin(f, "GET", "/metrics", NULL, NULL, &r), 0);
    assert_int_equal(begin(f, "GET", "/metrics", NULL, "Bearer tik", &r), 0);
    assert_int_equal(begin(f, "GET", "/api/admin/devices", NULL, NULL, &r), 401);
    assert_int_equal(begin(f, "POST", "/metrics", NULL, NULL, &r), 405);
    fotad_resp_free(&r);
}

static void test_error_json_escapes(void **state)
{
    (void)state;
    fotad_resp_t r;
    fotad_resp_init(&r);
    fotad_resp_error(&r, 400, "bad_request", "quote \" and backslash \\ and\nnewline");
    assert_int_equal(r.status, 400);
    const char want[] = "{\"error\":\"quote \\\" and backslash \\\\ and\\nnewline\","
                        "\"code\":\"bad_request\"}";
    assert_int_equal(r.body_len, strlen(want));
    assert_memory_equal(r.body, want, r.body_len);
    fotad_resp_free(&r);
}

static void test_service_failures(void **state)
{
    (void)state;
    fotad_resp_t r;
    fotad_resp_init(&r);
    fotad_resp_internal(&r, "storing a report", FOTA_ERR_IO);
    assert_int_equal(r.status, 503);
    assert_error_body(&r, "store_unavailable");
    assert_int_equal(r.n_headers, 1);
    assert_string_equal(r.headers[0].name, "Retry-After");
    assert_string_equal(r.headers[0].value, "5");
    fotad_resp_free(&r);
    fotad_resp_init(&r);
    fotad_resp_internal(&r, "chunk", FOTA_ERR_NO_MEM);
    assert_int_equal(r.status, 500);
    assert_error_body(&r, "internal");
    assert_int_equal(r.n_headers, 0);
    fotad_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test_setup(test_begin, setup),
        cmocka_unit_test_setup(test_metrics_access, setup),
        cmocka_unit_test(test_error_json_escapes),
        cmocka_unit_test(test_service_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
