/*
 * test_fotad_metrics.c - the Prometheus text writer (server/metrics_text.c) and the registry
 * (server/metrics.c): label values escaped as the format requires (backslash, double quote,
 * newline) and HELP text too; a histogram's buckets cumulative with +Inf equal to the count; the
 * registry's requests counted by route and status code, durations in the right buckets, bytes
 * served only for blob and chunk routes' 2xx answers, requests no route matched under their own
 * label, store calls by operation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"
#include "metrics_text.h"

/* The text has this exact line. */
static void has_line(const fotad_prom_t *p, const char *line)
{
    assert_false(p->failed);
    size_t n = strlen(line);
    for (const char *s = p->buf; s != NULL && *s != '\0';) {
        const char *nl = strchr(s, '\n');
        size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);
        if (len == n && memcmp(s, line, n) == 0) {
            return;
        }
        s = nl != NULL ? nl + 1 : NULL;
    }
    fail_msg("no line '%s' in:\n%s", line, p->buf);
}

static void lacks(const fotad_prom_t *p, const char *text)
{
    if (p->buf != NULL && strstr(p->buf, text) != NULL) {
        fail_msg("'%s' should not be in:\n%s", text, p->buf);
    }
}

static void test_escape(void **state)
{
    (void)state;
    char out[64];
    assert_true(fotad_prom_escape("a\\b\"c\nd", out, sizeof out));
    assert_string_equal(out, "a\\\\b\\\"c\\nd");
    assert_true(fotad_prom_escape("plain ü", out, sizeof out));
    assert_string_equal(out, "plain ü");
    assert_false(fotad_prom_escape("\"\"\"", out, 6)); /* 6 bytes escaped + NUL: no room */
    assert_string_equal(out, "");
    assert_true(fotad_prom_escape("\"\"\"", out, 7));
}

static void test_samples(void **state)
{
    (void)state;
    fotad_prom_t p = {0};
    fotad_prom_family(&p, "fota_x", "gauge", "A \"quoted\" \\ help\nline.");
    fotad_prom_label_t labels[2] = {{"version", "1.0\"\\\n"}, {"state", "ok"}};
    fotad_prom_u64(&p, "fota_x", labels, 2, 18446744073709551615u);
    fotad_prom_u64(&p, "fota_x", NULL, 0, 0);
    fotad_prom_f64(&p, "fota_y", labels + 1, 1, 0.25);
    fotad_prom_f64(&p, "fota_y", NULL, 0, 0.1);
    fotad_prom_f64(&p, "fota_y", NULL, 0, 1.0 / 0.0);
    has_line(&p, "# HELP fota_x A \"quoted\" \\\\ help\\nline.");
    has_line(&p, "# TYPE fota_x gauge");
    has_line(&p, "fota_x{version=\"1.0\\\"\\\\\\n\",state=\"ok\"} 18446744073709551615");
    has_line(&p, "fota_x 0");
    has_line(&p, "fota_y{state=\"ok\"} 0.25");
    has_line(&p, "fota_y 0.1");
    has_line(&p, "fota_y +Inf");
    assert_int_equal(p.len, strlen(p.buf));
    fotad_prom_free(&p);
}

static void test_histogram(void **state)
{
    (void)state;
    fotad_prom_t p = {0};
    const double bounds[3] = {0.1, 0.5, 1};
    const uint64_t counts[4] = {1, 0, 2, 3};
    fotad_prom_hist_t h = {bounds, 3, counts, 7.5};
    fotad_prom_label_t label = {"route", "/a\"b"};
    fotad_prom_histogram(&p, "fota_h_seconds", &label, 1, &h);
    has_line(&p, "fota_h_seconds_bucket{route=\"/a\\\"b\",le=\"0.1\"} 1");
    has_line(&p, "fota_h_seconds_bucket{route=\"/a\\\"b\",le=\"0.5\"} 1");
    has_line(&p, "fota_h_seconds_bucket{route=\"/a\\\"b\",le=\"1\"} 3");
    has_line(&p, "fota_h_seconds_bucket{route=\"/a\\\"b\",le=\"+Inf\"} 6");
    has_line(&p, "fota_h_seconds_sum{route=\"/a\\\"b\"} 7.5");
    has_line(&p, "fota_h_seconds_count{route=\"/a\\\"b\"} 6");
    fotad_prom_free(&p);
    /* Without labels, le is the only one. */
    fotad_prom_histogram(&p, "fota_h", NULL, 0, &h);
    has_line(&p, "fota_h_bucket{le=\"+Inf\"} 6");
    has_line(&p, "fota_h_count 6");
    fotad_prom_free(&p);
}

static const fotad_metrics_route_t routes[] = {
    {"GET", "/api/inverter/fota/check", FOTAD_SERVED_NONE},
    {"GET", "/api/inverter/fota/blob/{id}", FOTAD_SERVED_BLOB},
    {"GET", "/api/inverter/fota/chunk", FOTAD_SERVED_CHUNK},
};
static const char *const ops[] = {"device_get", "device_check"};

#define MS UINT64_C(1000000)

static void test_registry(void **state)
{
    (void)state;
    fotad_metrics_t *m;
    assert_int_equal(fotad_metrics_new(routes, 3, ops, 2, &m), FOTA_OK);
    fotad_metrics_request(m, 0, 204, MS / 2, 0);      /* 0.5 ms: le 0.0005 */
    fotad_metrics_request(m, 0, 204, MS / 2 + 1, 0);  /* just above: le 0.001 */
    fotad_metrics_request(m, 0, 401, 20000u * MS, 0); /* 20 s: above every bound */
    fotad_metrics_request(m, 1, 206, 3 * MS, 1000);
    fotad_metrics_request(m, 1, 200, 3 * MS, 24);
    fotad_metrics_request(m, 1, 416, 3 * MS, 500); /* an error body is no blob data */
    fotad_metrics_request(m, 2, 200, MS, 77);
    fotad_metrics_request(m, 3, 404, MS, 60);  /* no route */
    fotad_metrics_request(m, 99, 414, MS, 60); /* no route either */
    fotad_metrics_request(m, 0, 0, MS, 0);     /* no answer: not counted */
    fotad_metrics_request(m, 0, 600, MS, 0);   /* not a status code */
    fotad_metrics_store_call(m, 1, 300000);    /* 0.3 ms: le 0.0005 */
    fotad_metrics_store_call(m, 2, 1);         /* no such operation */
    fotad_prom_t p = {0};
    fotad_metrics_render(m, &p);
    const char *check = "method=\"GET\",route=\"/api/inverter/fota/check\"";
    char line[256];
    snprintf(line, sizeof line, "fota_http_requests_total{%s,code=\"204\"} 2", check);
    has_line(&p, line);
    snprintf(line, sizeof line, "fota_http_requests_total{%s,code=\"401\"} 1", check);
    has_line(&p, line);
    has_line(&p, "fota_http_requests_total{method=\"\",route=\"unmatched\",code=\"404\"} 1");
    has_line(&p, "fota_http_requests_total{method=\"\",route=\"unmatched\",code=\"414\"} 1");
    lacks(&p, "code=\"0\"");
    lacks(&p, "code=\"600\"");
    /* cumulative buckets: 1 at 0.0005, 2 from 0.001 to 10, 3 at +Inf = the count */
    const char *d = "fota_http_request_duration_seconds";
    snprintf(line, sizeof line, "%s_bucket{%s,le=\"0.0005\"} 1", d, check);
    has_line(&p, line);
    snprintf(line, sizeof line, "%s_bucket{%s,le=\"0.001\"} 2", d, check);
    has_line(&p, line);
    snprintf(line, sizeof line, "%s_bucket{%s,le=\"10\"} 2", d, check);
    has_line(&p, line);
    snprintf(line, sizeof line, "%s_bucket{%s,le=\"+Inf\"} 3", d, check);
    has_line(&p, line);
    snprintf(line, sizeof line, "%s_count{%s} 3", d, check);
    has_line(&p, line);
    snprintf(line, sizeof line, "%s_sum{%s} 20.001000001", d, check);
    has_line(&p, line);
    has_line(&p, "fota_served_bytes_total{kind=\"blob\"} 1024");
    has_line(&p, "fota_served_bytes_total{kind=\"chunk\"} 77");
    has_line(&p, "fota_store_call_duration_seconds_bucket{op=\"device_check\",le=\"0.0001\"} 0");
    has_line(&p, "fota_store_call_duration_seconds_bucket{op=\"device_check\",le=\"0.0005\"} 1");
    has_line(&p, "fota_store_call_duration_seconds_count{op=\"device_check\"} 1");
    lacks(&p, "op=\"device_get\""); /* never called: left out */
    fotad_prom_free(&p);
    fotad_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
