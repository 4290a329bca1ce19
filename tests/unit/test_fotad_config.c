/*
 * test_fotad_config.c - fotad's configuration (server/config.c): defaults, flags in both forms,
 * a config file with comments and blank lines, flags overriding the file (release keys replaced
 * as a list, admin token and token file excluding each other), the accel_redirect prefix (off
 * by default; a path starting and ending with '/', nothing nginx would read otherwise), and the
 * one-line errors for unknown options and keys, bad values (with file:line), missing values and
 * required items; the database (SQLite unless a postgresql:// URI is given, by flag or file;
 * anything else refused); the metrics_open switch (a flag without a value, or =true/=false; in
 * the file true or false).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fota/host/file_util.h"

#include "config.h"

static char conf_path[512];
static char err[512];

static void write_conf(const char *text)
{
    const char *dir = getenv("FOTA_TMPDIR");
    snprintf(conf_path, sizeof conf_path, "%s/test_fotad_config.%ld.conf",
             dir != NULL && *dir != '\0' ? dir : "/tmp", (long)getpid());
    assert_int_equal(fota_file_write_all(conf_path, text, strlen(text), 0600), FOTA_OK);
}

/* Load from an argv given as a NULL-terminated list. */
static fota_err_t load(fotad_config_t *cfg, const char *const *args)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"fotad";
    for (; args[argc - 1] != NULL; argc++) {
        assert_true(argc + 1 < (int)(sizeof argv / sizeof argv[0]));
        argv[argc] = (char *)args[argc - 1];
    }
    argv[argc] = NULL;
    err[0] = '\0';
    assert_int_equal(fotad_config_init(cfg), FOTA_OK);
    return fotad_config_load(cfg, argc, argv, err, sizeof err);
}

static void test_defaults_and_flags(void **state)
{
    (void)state;
    fotad_config_t cfg;
    const char *none[] = {NULL};
    assert_int_equal(load(&cfg, none), FOTA_OK);
    assert_string_equal(cfg.listen, "127.0.0.1");
    assert_int_equal(cfg.port, 8080);
    assert_int_equal(cfg.threads, 4);
    assert_int_equal(cfg.max_connections, FOTAD_DEFAULT_MAX_CONNECTIONS);
    assert_int_equal(cfg.max_connections_per_ip, 0);
    assert_int_equal(cfg.max_upload, 16u * 1024 * 1024);
    assert_int_equal(cfg.log_level, FOTAD_LOG_INFO);
    assert_int_equal(cfg.db_sync, FOTAD_SYNC_NORMAL);
    assert_null(cfg.database); /* SQLite in the data dir */
    assert_null(cfg.legacy_fleet_key_file);
    assert_int_equal(cfg.legacy_rate, 600);
    assert_int_equal(cfg.legacy_burst, 30);
    assert_int_equal(cfg.legacy_max_pending, 10000);
    assert_null(cfg.accel_redirect);
    assert_null(cfg.tls_cert); /* plain HTTP */
    assert_null(cfg.tls_key);
    assert_int_equal(fotad_config_check(&cfg, err, sizeof err), FOTA_ERR_ARG);
    assert_non_null(strstr(err, "release_key"));
    fotad_config_free(&cfg);

    const char *args[] = {"--port=0",
                          "--listen",
                          "::1",
                          "--release-key",
                          "a.pub",
                          "--release-key=b.pub",
                          "--master-secret-file",
                          "m",
                          "--admin-token",
                          "t",
                          "--threads",
                          "8",
                          "--max-connections",
                          "50000",
                          "--max-connections-per-ip=16",
                          "--max-upload",
                          "2M",
                          "--log-level",
                          "debug",
                          "--db-sync=full",
                          "--data-dir",
                          "/d",
                          "--legacy-fleet-key-file",
                          "fleet.key",
                          "--legacy-rate=60",
                          "--legacy-burst",
                          "5",
                          "--legacy-max-pending=100",
                          "--accel-redirect",
                          "/_fota_objects/",
                          "--database=postgresql://fotad@db.example/fotad?sslmode=require",
                          "--tls-cert",
                          "server.pem",
                          "--tls-key=server.key",
                          NULL};
    assert_int_equal(load(&cfg, args), FOTA_OK);
    assert_int_equal(cfg.port, 0);
    assert_string_equal(cfg.listen, "::1");
    assert_int_equal(cfg.n_release_keys, 2);
    assert_string_equal(cfg.release_keys[1], "b.pub");
    assert_int_equal(cfg.threads, 8);
    assert_int_equal(cfg.max_connections, 50000);
    assert_int_equal(cfg.max_connections_per_ip, 16);
    assert_int_equal(cfg.max_upload, 2u * 1024 * 1024);
    assert_int_equal(cfg.log_level, FOTAD_LOG_DEBUG);
    assert_int_equal(cfg.db_sync, FOTAD_SYNC_FULL);
    assert_string_equal(cfg.data_dir, "/d");
    assert_string_equal(cfg.legacy_fleet_key_file, "fleet.key");
    assert_int_equal(cfg.legacy_rate, 60);
    assert_int_equal(cfg.legacy_burst, 5);
    assert_int_equal(cfg.legacy_max_pending, 100);
    assert_string_equal(cfg.accel_redirect, "/_fota_objects/");
    assert_string_equal(cfg.database, "postgresql://fotad@db.example/fotad?sslmode=require");
    assert_string_equal(cfg.tls_cert, "server.pem");
    assert_string_equal(cfg.tls_key, "server.key");
    assert_int_equal(fotad_config_check(&cfg, err, sizeof err), FOTA_OK);
    fotad_config_free(&cfg);

    const char *help[] = {"--bogus", "--help", NULL};
    assert_int_equal(load(&cfg, help), FOTA_ERR_ARG); /* usage errors come first */
    fotad_config_free(&cfg);
    const char *help2[] = {"--help", NULL};
    assert_int_equal(load(&cfg, help2), FOTA_OK);
    assert_true(cfg.help);
    fotad_config_free(&cfg);
}

static void test_file_and_override(void **state)
{
    (void)state;
    write_conf("# comment\n\n  port = 9000 \nrelease_key = f1.pub\r\nrelease_key = f2.pub\n"
               "admin_token = from-file\nthreads = 3\naccel_redirect = /internal/objects/\n"
               "database = postgres://fotad@/fotad?host=/run/postgresql&port=5433\n");
    fotad_config_t cfg;
    const char *args[] = {"--config", conf_path, NULL};
    assert_int_equal(load(&cfg, args), FOTA_OK);
    assert_int_equal(cfg.port, 9000);
    assert_int_equal(cfg.n_release_keys, 2);
    assert_string_equal(cfg.release_keys[1], "f2.pub");
    assert_string_equal(cfg.admin_token, "from-file");
    assert_string_equal(cfg.accel_redirect, "/internal/objects/");
    assert_string_equal(cfg.database, "postgres://fotad@/fotad?host=/run/postgresql&port=5433");
    fotad_config_free(&cfg);

    const char *over[] = {"--release-key",
                          "flag.pub",
                          "--config",
                          conf_path,
                          "--port",
                          "1",
                          "--admin-token-file",
                          "tok",
                          "--accel-redirect=/o/",
                          NULL};
    assert_int_equal(load(&cfg, over), FOTA_OK);
    assert_string_equal(cfg.accel_redirect, "/o/");
    assert_int_equal(cfg.port, 1);
    assert_int_equal(cfg.threads, 3);
    assert_int_equal(cfg.n_release_keys, 1);
    assert_string_equal(cfg.release_keys[0], "flag.pub");
    assert_null(cfg.admin_token);
    assert_string_equal(cfg.admin_token_file, "tok");
    fotad_config_free(&cfg);
    unlink(conf_path);
}

static void expect_error(const char *const *args, fota_err_t want, const char *text)
{
    fotad_config_t cfg;
    assert_int_equal(load(&cfg, args), want);
    if (strstr(err, text) == NULL) {
        fail_msg("error '%s' lacks '%s'", err, text);
    }
    fotad_config_free(&cfg);
}

static void test_errors(void **state)
{
    (void)state;
    const char *a1[] = {"--nope", NULL};
    expect_error(a1, FOTA_ERR_ARG, "unknown option '--nope'");
    const char *a2[] = {"--port", NULL};
    expect_error(a2, FOTA_ERR_ARG, "needs a value");
    const char *a3[] = {"--port", "65536", NULL};
    expect_error(a3, FOTA_ERR_ARG, "bad value '65536'");
    const char *a4[] = {"--threads", "0", NULL};
    expect_error(a4, FOTA_ERR_ARG, "bad value");
    const char *a5[] = {"--log-level", "loud", NULL};
    expect_error(a5, FOTA_ERR_ARG, "bad value");
    const char *a6[] = {"--db-sync", "sometimes", NULL};
    expect_error(a6, FOTA_ERR_ARG, "bad value");
    const char *a7[] = {"--max-upload", "10", NULL};
    expect_error(a7, FOTA_ERR_ARG, "bad value");
    const char *a12[] = {"--max-connections", "0", NULL};
    expect_error(a12, FOTA_ERR_ARG, "bad value");
    const char *a11[] = {"--max-connections-per-ip", "-1", NULL};
    expect_error(a11, FOTA_ERR_ARG, "bad value");
    const char *a13[] = {"--legacy-rate", "0", NULL};
    expect_error(a13, FOTA_ERR_ARG, "bad value");
    const char *a14[] = {"--legacy-burst", "1000001", NULL};
    expect_error(a14, FOTA_ERR_ARG, "bad value");
    const char *a15[] = {"--database", "/var/lib/fotad/fotad.db", NULL};
    expect_error(a15, FOTA_ERR_ARG, "bad value");
    const char *a16[] = {"--database", "mysql://db/fotad", NULL};
    expect_error(a16, FOTA_ERR_ARG, "bad value");
    const char *a8[] = {"positional", NULL};
    expect_error(a8, FOTA_ERR_ARG, "unexpected argument");
    const char *a9[] = {"--config", "/nonexistent/fotad.conf", NULL};
    expect_error(a9, FOTA_ERR_IO, "cannot read");
    write_conf("port = 1\n\nthreads = many\n");
    const char *a10[] = {"--config", conf_path, NULL};
    expect_error(a10, FOTA_ERR_ARG, ":3: bad value for threads");
    write_conf("colour = blue\n");
    expect_error(a10, FOTA_ERR_ARG, ":1: unknown key 'colour'");
    write_conf("just words\n");
    expect_error(a10, FOTA_ERR_ARG, ":1: expected 'key = value'");
    write_conf("legacy_max_pending = lots\n");
    expect_error(a10, FOTA_ERR_ARG, ":1: bad value for legacy_max_pending");
    write_conf("port =\n");
    expect_error(a10, FOTA_ERR_ARG, ":1: bad value for port");
    write_conf("accel_redirect = _fota_objects/\n");
    expect_error(a10, FOTA_ERR_ARG, ":1: bad value for accel_redirect");
    unlink(conf_path);
}

/* accel_redirect: a path nginx takes as it is, ending in '/' so that the object's name follows. */
#define SIXTY "012345678901234567890123456789012345678901234567890123456789"
static void test_accel_prefix(void **state)
{
    (void)state;
    const char *good[] = {"/_fota_objects/", "/a/b-c_d.e~f/", "/" SIXTY "/" /* 62: the longest */};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        fotad_config_t cfg;
        const char *args[] = {"--accel-redirect", good[i], NULL};
        assert_int_equal(load(&cfg, args), FOTA_OK);
        assert_string_equal(cfg.accel_redirect, good[i]);
        fotad_config_free(&cfg);
    }
    const char *bad[] = {"_fota_objects/", "/_fota_objects", "/",     "/a b/",       "/a?b/",
                         "/a#/",           "/a%20/",         "/a\"/", "/a\\/",       "/a\t/",
                         "/\x7f/",         "/caf\xc3\xa9/",  "@fota", "/" SIXTY "0/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[] = {"--accel-redirect", bad[i], NULL};
        expect_error(args, FOTA_ERR_ARG, "bad value");
    }
}

/* metrics_open: off by default; the flag alone turns it on without taking the next argument. */
static void test_metrics_open(void **state)
{
    (void)state;
    fotad_config_t cfg;
    const char *none[] = {NULL};
    assert_int_equal(load(&cfg, none), FOTA_OK);
    assert_false(cfg.metrics_open);
    fotad_config_free(&cfg);
    const char *on[] = {"--metrics-open", "--port", "9", NULL};
    assert_int_equal(load(&cfg, on), FOTA_OK);
    assert_true(cfg.metrics_open);
    assert_int_equal(cfg.port, 9);
    fotad_config_free(&cfg);
    write_conf("metrics_open = true\n");
    const char *file_off[] = {"--config", conf_path, "--metrics-open=false", NULL};
    assert_int_equal(load(&cfg, file_off), FOTA_OK);
    assert_false(cfg.metrics_open);
    fotad_config_free(&cfg);
    const char *file[] = {"--config", conf_path, NULL};
    assert_int_equal(load(&cfg, file), FOTA_OK);
    assert_true(cfg.metrics_open);
    fotad_config_free(&cfg);
    write_conf("metrics_open\n");
    expect_error(file, FOTA_ERR_ARG, ":1: expected 'key = value'");
    write_conf("metrics_open = yes\n");
    expect_error(file, FOTA_ERR_ARG, ":1: bad value for metrics_open");
    const char *bad[] = {"--metrics-open=1", NULL};
    expect_error(bad, FOTA_ERR_ARG, "bad value '1' for --metrics-open=1");
    unlink(conf_path);
}

/* HTTPS needs the certificate and its key: one without the other is a usage error at the check,
 * from flags or from the file. */
static void test_tls_pair(void **state)
{
    (void)state;
    const char *base[] = {"--release-key", "a.pub", "--master-secret-file", "m",
                          "--admin-token", "t"};
    const char *lone[][2] = {{"--tls-cert", "tls_cert is set without tls_key"},
                             {"--tls-key", "tls_key is set without tls_cert"}};
    for (size_t i = 0; i < 2; i++) {
        const char *args[] = {base[0], base[1],    base[2], base[3], base[4],
                              base[5], lone[i][0], "x.pem", NULL};
        fotad_config_t cfg;
        assert_int_equal(load(&cfg, args), FOTA_OK);
        assert_int_equal(fotad_config_check(&cfg, err, sizeof err), FOTA_ERR_ARG);
        if (strstr(err, lone[i][1]) == NULL) {
            fail_msg("error '%s' lacks '%s'", err, lone[i][1]);
        }
        fotad_config_free(&cfg);
    }
    write_conf("release_key = a.pub\nmaster_secret_file = m\nadmin_token = t\n"
               "tls_cert = /etc/fotad/cert.pem\ntls_key = /etc/fotad/key.pem\n");
    const char *file[] = {"--config", conf_path, NULL};
    fotad_config_t cfg;
    assert_int_equal(load(&cfg, file), FOTA_OK);
    assert_string_equal(cfg.tls_cert, "/etc/fotad/cert.pem");
    assert_string_equal(cfg.tls_key, "/etc/fotad/key.pem");
    assert_int_equal(fotad_config_check(&cfg, err, sizeof err), FOTA_OK);
    fotad_config_free(&cfg);
    write_conf("tls_key =\n");
    expect_error(file, FOTA_ERR_ARG, ":1: bad value for tls_key");
    unlink(conf_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_flags),
        cmocka_unit_test(test_file_and_override),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_accel_prefix),
        cmocka_unit_test(test_metrics_open),
        cmocka_unit_test(test_tls_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
