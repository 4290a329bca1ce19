/*
 * app.c - building and tearing down a fotad_app_t from the configuration (app.h).
 */
#include "app.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/platform_util.h>

#include "fota/host/file_util.h"

#include "device_auth.h"
#include "log.h"
#include "router.h"
#include "store_metered.h"

#define TOKEN_FILE_MAX 4096u

static fota_err_t load_keys(const fotad_config_t *cfg, fotad_keyring_t *ring)
{
    for (unsigned i = 0; i < cfg->n_release_keys; i++) {
        fota_err_t err = fotad_keyring_add_file(ring, cfg->release_keys[i]);
        if (err != FOTA_OK) {
            FOTAD_ERROR("release key %s: %s (%s)", cfg->release_keys[i],
                        err == FOTA_ERR_KEY ? "not an EC P-256 public key" : fota_err_text(err),
                        fota_err_name(err));
            return err;
        }
    }
    return FOTA_OK;
}

/* Warn when a secret file can be read by others than its owner. */
static void check_mode(const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
        FOTAD_WARN("%s %s is readable by group or others (chmod 600 it)", what, path);
    }
}

static fota_err_t load_master(const fotad_config_t *cfg, fotad_app_t *app)
{
    const char *path = cfg->master_secret_file;
    fota_err_t err = fota_file_read_all(path, FOTAD_MASTER_MAX, &app->master, &app->master_len);
    if (err != FOTA_OK) {
        FOTAD_ERROR("master secret %s: cannot read: %s", path, strerror(errno));
        return err;
    }
    if (app->master_len < FOTAD_MASTER_MIN) {
        FOTAD_ERROR("master secret %s: %zu bytes, at least %u needed (e.g. head -c 32 "
                    "/dev/urandom > %s)",
                    path, app->master_len, FOTAD_MASTER_MIN, path);
        return FOTA_ERR_KEY;
    }
    check_mode(path, "master secret");
    return FOTA_OK;
}

/* The token from the config or the first line of its file; only its SHA-256 is kept. */
static fota_err_t load_token(const fotad_config_t *cfg, fotad_app_t *app)
{
    uint8_t *text = NULL;
    size_t len = 0;
    const char *token = cfg->admin_token;
    if (token == NULL) {
        if (fota_file_read_all(cfg->admin_token_file, TOKEN_FILE_MAX, &text, &len) != FOTA_OK) {
            FOTAD_ERROR("admin token file %s: cannot read", cfg->admin_token_file);
            return FOTA_ERR_IO;
        }
        text[strcspn((char *)text, "\r\n")] = '\0';
        token = (const char *)text;
        check_mode(cfg->admin_token_file, "admin token file");
    }
    size_t n = strlen(token);
    if (n == 0) {
        FOTAD_ERROR("admin token is empty");
    } else if (n < 16) {
        FOTAD_WARN("admin token is short (%zu characters); use 16 or more", n);
    }
    fotad_sha256(token, n, app->admin_token_sha256);
    free(text);
    return n == 0 ? FOTA_ERR_ARG : FOTA_OK;
}

/* The store: PostgreSQL when a database URI is configured, else SQLite in the data dir. */
static fota_err_t open_store(const fotad_config_t *cfg, fotad_app_t *app)
{
    if (cfg->database != NULL) {
        return fotad_store_pg_open(cfg->database, &app->store);
    }
    char db[PATH_MAX];
    if ((size_t)snprintf(db, sizeof db, "%s/%s", cfg->data_dir, FOTAD_DB_NAME) >= sizeof db) {
        return FOTA_ERR_TOO_LARGE;
    }
    return fotad_store_sqlite_open(db, cfg->db_sync, &app->store);
}

/* The metrics registry, and the store behind its timing front (store_metered.h). */
static fota_err_t open_metrics(fotad_app_t *app)
{
    size_t n = fotad_router_metrics_routes(app->metric_routes, sizeof app->metric_routes /
                                                                   sizeof app->metric_routes[0]);
    fota_err_t err = fotad_metrics_new(app->metric_routes, n, fotad_store_op_names, FOTAD_STORE_OPS,
                                       &app->metrics);
    return err != FOTA_OK ? err : fotad_store_metered_wrap(&app->store, app->metrics);
}

static fota_err_t open_data(const fotad_config_t *cfg, fotad_app_t *app)
{
    if (mkdir(cfg->data_dir, 0750) != 0 && errno != EEXIST) {
        FOTAD_ERROR("data dir %s: %s", cfg->data_dir, strerror(errno));
        return FOTA_ERR_IO;
    }
    fota_err_t err = open_store(cfg, app);
    if (err == FOTA_OK) {
        err = open_metrics(app);
    }
    if (err == FOTA_OK) {
        err = fotad_objstore_open(cfg->data_dir, &app->objects);
    }
    if (err == FOTA_OK && app->store.ops->object_fetch != NULL) {
        /* several fotad share no file system: the database holds the objects, the data
         * directory caches them */
        fotad_object_source_t src = {app->store.ctx, app->store.ops->object_put,
                                     app->store.ops->object_fetch};
        fotad_objstore_set_source(app->objects, &src);
    }
    return err;
}

static fota_err_t open_services(fotad_app_t *app, fotad_clock_t clock)
{
    fota_err_t err = fotad_releases_open(&app->store, app->objects, &app->keys, &app->releases);
    if (err == FOTA_OK) {
        err = fotad_deltas_open(&app->store, app->objects, &app->keys, app->releases, &app->deltas);
    }
    if (err == FOTA_OK) {
        err = fotad_devices_open(&app->store, app->releases, &app->devices);
    }
    if (err == FOTA_OK) {
        err = fotad_nonce_cache_new(FOTAD_AUTH_WINDOW_S, &app->nonces);
    }
    if (err == FOTA_OK) {
        err = fotad_keycache_new(FOTAD_KEYCACHE_SLOTS, &app->device_keys);
    }
    if (err == FOTA_OK) {
        err = fotad_legacy_open(app->cfg, &app->store, app->master, app->master_len, &app->legacy);
    }
    if (err == FOTA_OK) {
        err = fotad_rollouts_open(&app->store, clock, &app->rollouts);
    }
    if (err == FOTA_OK) {
        err = fotad_rollouts_run(app->rollouts, app->cfg->rollout_tick);
    }
    return err;
}

fota_err_t fotad_app_open(const fotad_config_t *cfg, fotad_app_t *app)
{
    return fotad_app_open_clock(cfg, fotad_clock_system(), app);
}

fota_err_t fotad_app_open_clock(const fotad_config_t *cfg, fotad_clock_t clock, fotad_app_t *app)
{
    memset(app, 0, sizeof *app);
    app->cfg = cfg;
    app->started = fotad_now();
    fota_err_t err = load_keys(cfg, &app->keys);
    if (err == FOTA_OK) {
        err = load_master(cfg, app);
    }
    if (err == FOTA_OK) {
        err = load_token(cfg, app);
    }
    if (err == FOTA_OK) {
        err = open_data(cfg, app);
    }
    if (err == FOTA_OK) {
        err = open_services(app, clock);
    }
    if (err != FOTA_OK) {
        FOTAD_ERROR("startup failed: %s (%s)", fota_err_text(err), fota_err_name(err));
        fotad_app_close(app);
    }
    return err;
}

void fotad_app_close(fotad_app_t *app)
{
    fotad_rollouts_close(app->rollouts);
    fotad_legacy_free(app->legacy);
    fotad_keycache_free(app->device_keys);
    fotad_nonce_cache_free(app->nonces);
    fotad_devices_close(app->devices);
    fotad_deltas_close(app->deltas);
    fotad_releases_close(app->releases);
    fotad_objstore_close(app->objects);
    fotad_store_close(&app->store);
    fotad_metrics_free(app->metrics);
    if (app->master != NULL) {
        mbedtls_platform_zeroize(app->master, app->master_len);
        free(app->master);
    }
    memset(app, 0, sizeof *app);
}

int64_t fotad_now(void)
{
    return (int64_t)time(NULL);
}

int64_t fotad_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}
