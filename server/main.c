/*
 * main.c - fotad, the fota update server: read the configuration (config.h), open the data and
 * the services (app.h), serve HTTP or HTTPS (http.h, tls.h) until SIGTERM or SIGINT, then stop
 * cleanly: stop accepting, let requests in flight finish, close the database. SIGHUP reloads the
 * TLS certificate and key (tls.h). docs/SERVER.md is the manual.
 *
 * Exit status: 0 after a clean shutdown, 1 if the server cannot start (bad key, secret, data
 * directory, address, TLS certificate or key), 2 for a usage error.
 *
 * Built a second time as fotad-test (FOTAD_TEST_HOOKS defined; never installed) for the
 * integration tests: there the environment variable FOTAD_TEST_CLOCK_FILE names a file whose
 * number is the unix time the rollouts see (windows, soak, timeouts, rate limits), read at every
 * use. fotad itself has no such hook.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/host/file_util.h"

#include "app.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "tls.h"

#define DRAIN_MS 5000u

static int write_port_file(const char *path, uint16_t port)
{
    char text[16];
    int n = snprintf(text, sizeof text, "%u\n", port);
    if (fota_file_write_all(path, text, (size_t)n, 0644) != FOTA_OK) {
        FOTAD_ERROR("cannot write the port file %s", path);
        return -1;
    }
    return 0;
}

#ifdef FOTAD_TEST_HOOKS
static int64_t file_clock(void *ctx)
{
    FILE *f = fopen(ctx, "r");
    long long t = 0;
    if (f != NULL) {
        if (fscanf(f, "%lld", &t) != 1) {
            t = 0;
        }
        fclose(f);
    }
    return t > 0 ? (int64_t)t : (int64_t)time(NULL);
}
#endif

static fotad_clock_t rollout_clock(void)
{
#ifdef FOTAD_TEST_HOOKS
    char *path = getenv("FOTAD_TEST_CLOCK_FILE");
    if (path != NULL && *path != '\0') {
        FOTAD_WARN("test build: the rollouts' clock is read from %s", path);
        fotad_clock_t c = {file_clock, path};
        return c;
    }
#endif
    return fotad_clock_system();
}

/* Block the stop and reload signals in every thread (MHD's threads inherit the mask) and wait
 * for them. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client gone in the middle of a sendfile */
}

/* Wait for SIGTERM or SIGINT; a SIGHUP in between reloads the TLS pair (or says there is none). */
static int wait_for_stop(const sigset_t *set, fotad_tls_t *tls)
{
    int sig = 0;
    while (sigwait(set, &sig) == 0 && sig == SIGHUP) {
        if (tls != NULL) {
            FOTAD_INFO("SIGHUP: reloading the TLS certificate and key");
            fotad_tls_reload(tls);
        } else {
            FOTAD_INFO("SIGHUP: nothing to reload (no --tls-cert)");
        }
    }
    return sig;
}

static int serve(const fotad_config_t *cfg)
{
    sigset_t set;
    block_signals(&set);
    fotad_tls_t *tls = NULL;
    if (cfg->tls_cert != NULL && fotad_tls_open(cfg->tls_cert, cfg->tls_key, &tls) != FOTA_OK) {
        FOTAD_ERROR("fotad cannot serve HTTPS with that certificate and key");
        return 1;
    }
    fotad_app_t app;
    if (fotad_app_open_clock(cfg, rollout_clock(), &app) != FOTA_OK) {
        fotad_tls_close(tls);
        return 1;
    }
    fotad_http_t *http = NULL;
    uint16_t port = 0;
    if (fotad_http_start(&app, tls, &http, &port) != FOTA_OK ||
        (cfg->port_file != NULL && write_port_file(cfg->port_file, port) != 0)) {
        fotad_http_stop(http, 0);
        fotad_app_close(&app);
        fotad_tls_close(tls);
        return 1;
    }
    FOTAD_INFO("fotad listening on %s port %u, %s (%u threads, data %s, store %s, %zu release "
               "key(s))",
               cfg->listen, port, tls != NULL ? "HTTPS" : "HTTP", cfg->threads, cfg->data_dir,
               cfg->database != NULL ? "PostgreSQL" : "SQLite", app.keys.count);
    if (cfg->accel_redirect != NULL) {
        FOTAD_INFO("chain-mode blobs are left to nginx in front: X-Accel-Redirect %s...",
                   cfg->accel_redirect);
    }
    int sig = wait_for_stop(&set, tls);
    FOTAD_INFO("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fotad_http_stop(http, DRAIN_MS);
    fotad_app_close(&app);
    fotad_tls_close(tls);
    FOTAD_INFO("fotad stopped");
    return 0;
}

/* --routes: "METHOD PATH ROLE" per line ("-" for the routes outside the admin API). */
static void print_routes(void)
{
    size_t n = 0;
    const fotad_route_t *routes = fotad_router_routes(&n);
    for (size_t i = 0; i < n; i++) {
        printf("%s %s %s\n", routes[i].method, routes[i].path, fotad_role_name(routes[i].role));
    }
}

int main(int argc, char **argv)
{
    fotad_config_t cfg;
    char err[512] = "";
    if (fotad_config_init(&cfg) != FOTA_OK) {
        fprintf(stderr, "fotad: out of memory\n");
        return 1;
    }
    fota_err_t e = fotad_config_load(&cfg, argc, argv, err, sizeof err);
    if (e == FOTA_OK && (cfg.help || cfg.routes)) {
        if (cfg.help) {
            fputs(fotad_config_usage(), stdout);
        } else {
            print_routes();
        }
        fotad_config_free(&cfg);
        return 0;
    }
    if (e == FOTA_OK) {
        e = fotad_config_check(&cfg, err, sizeof err);
    }
    if (e != FOTA_OK) {
        fprintf(stderr, "fotad: %s\n", err);
        fotad_config_free(&cfg);
        return e == FOTA_ERR_ARG ? 2 : 1;
    }
    fotad_log_set_level(cfg.log_level);
    int rc = serve(&cfg);
    fotad_config_free(&cfg);
    return rc;
}
