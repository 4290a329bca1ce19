/*
 * config.h - fotad's configuration: defaults, then a config file (--config FILE), then command-
 * line flags, each later source overriding the earlier (docs/SERVER.md lists every item).
 *
 * The file holds "key = value" lines; '#' starts a comment line; blank lines are ignored; keys
 * are the flag names with '_' for '-' (data_dir for --data-dir). release_key may be given
 * several times; if any --release-key flag is given, the flags' list replaces the file's.
 * admin_token and admin_token_file exclude each other: the one set last wins.
 * tls_cert and tls_key are given together or not at all (fotad_config_check).
 * accel_redirect is a URI path that starts and ends with '/', at most FOTAD_ACCEL_PREFIX_MAX
 * characters of visible ASCII without '?', '#', '%', '"' or a backslash.
 * metrics_open is a switch: the flag takes no value (--metrics-open, or --metrics-open=false);
 * the file's value is true or false.
 * Strings are malloc'd and owned by the config (fotad_config_free).
 */
#ifndef FOTAD_CONFIG_H
#define FOTAD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/err.h"

#include "log.h"
#include "store.h"

#define FOTAD_MAX_RELEASE_KEYS 16u
#define FOTAD_DEFAULT_PORT 8080u
#define FOTAD_DEFAULT_THREADS 4u
#define FOTAD_DEFAULT_MAX_UPLOAD (16u * 1024u * 1024u)
#define FOTAD_MAX_THREADS 256u
#define FOTAD_DEFAULT_MAX_CONNECTIONS 0u /* as many as the open-file limit allows */
#define FOTAD_MAX_AUTO_CONNECTIONS 65536u
#define FOTAD_MAX_CONNECTIONS 1000000u
#define FOTAD_DEFAULT_LEGACY_RATE 600u /* per minute and address */
#define FOTAD_DEFAULT_LEGACY_BURST 30u
#define FOTAD_DEFAULT_LEGACY_MAX_PENDING 10000u
#define FOTAD_DEFAULT_ROLLOUT_TICK 10u /* seconds (FOTAD_ROLLOUT_TICK_S, rollouts.h) */
#define FOTAD_ACCEL_PREFIX_MAX 62u     /* longest accel_redirect prefix */

typedef struct {
    char *listen;    /* address to bind: IPv4 or IPv6 literal; default 127.0.0.1 */
    uint16_t port;   /* 0: an ephemeral port (see port_file) */
    char *port_file; /* where to write the bound port, or NULL */
    char *data_dir;  /* the objects, and the SQLite database unless `database` is set */
    char *database;  /* a postgresql:// URI: the store is PostgreSQL (NULL: SQLite) */
    char *release_keys[FOTAD_MAX_RELEASE_KEYS];
    unsigned n_release_keys;
    char *master_secret_file;
    char *admin_token;
    char *admin_token_file;
    unsigned threads;
    unsigned max_connections;        /* open at once; 0: what RLIMIT_NOFILE allows */
    unsigned max_connections_per_ip; /* 0: no per-address limit */
    uint32_t max_upload;
    fotad_log_level_t log_level;
    fotad_sync_t db_sync;
    char *legacy_fleet_key_file; /* the original firmware's fleet key, or NULL: no bridge */
    uint32_t legacy_rate;        /* legacy requests per minute from one address */
    uint32_t legacy_burst;       /* of which at once */
    uint32_t legacy_max_pending; /* enrollments awaiting approval */
    uint32_t rollout_tick;       /* seconds between two rollout scheduler ticks */
    /* nginx's internal location of objects/, or NULL: blobs sent by nginx (accel.h) */
    char *accel_redirect;
    bool metrics_open; /* GET /metrics without a token (a scraper on a trusted network) */
    char *tls_cert;    /* PEM chain: fotad serves HTTPS (tls.h); with tls_key, or neither */
    char *tls_key;     /* its private key, PEM */
    bool help;         /* --help was given */
    bool routes;       /* --routes was given: list the routes and each admin route's role */
} fotad_config_t;

/* Defaults for everything. */
fota_err_t fotad_config_init(fotad_config_t *cfg);
void fotad_config_free(fotad_config_t *cfg);

/*
 * Defaults, then the file named by --config (if any), then the flags. On a usage or file error,
 * a one-line message is written into err (errcap bytes) and FOTA_ERR_ARG (bad flag or value) or
 * FOTA_ERR_IO (unreadable config file) is returned. cfg must come from fotad_config_init.
 */
fota_err_t fotad_config_load(fotad_config_t *cfg, int argc, char **argv, char *err, size_t errcap);

/* Check that what must be set is (keys, secret, token, data dir); message into err. */
fota_err_t fotad_config_check(const fotad_config_t *cfg, char *err, size_t errcap);

/* The --help text. */
const char *fotad_config_usage(void);

#endif /* FOTAD_CONFIG_H */
