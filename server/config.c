/*
 * config.c - defaults, config file and flags for fotad (config.h). One table describes every
 * item; the file and the flags go through the same setter, so they cannot disagree on names or
 * value syntax.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/host/cli.h"
#include "fota/host/file_util.h"

#define CONFIG_FILE_MAX (1024u * 1024u)

typedef enum {
    OPT_STR,
    OPT_PORT,
    OPT_THREADS,
    OPT_CONNECTIONS,
    OPT_PER_IP,
    OPT_SIZE,
    OPT_LEVEL,
    OPT_SYNC,
    OPT_KEY,
    OPT_PREFIX,   /* a string field holding a URI prefix (accel_redirect) */
    OPT_DATABASE, /* a postgresql:// URI */
    OPT_U32,      /* a uint32_t field, 1 to FOTAD_CONFIG_U32_MAX */
    OPT_BOOL      /* a bool field: true or false; a flag without a value means true */
} opt_kind_t;

typedef struct {
    const char *name; /* file key; the flag is "--" + name with '_' -> '-' */
    opt_kind_t kind;
    size_t offset; /* of the field in fotad_config_t (OPT_STR) */
} opt_t;

#define FOTAD_CONFIG_U32_MAX 1000000u

#define U32_OPT(field)                                                                             \
    {                                                                                              \
#field, OPT_U32, offsetof(fotad_config_t, field)                                           \
    }

#define STR_OPT(field)                                                                             \
    {                                                                                              \
#field, OPT_STR, offsetof(fotad_config_t, field)                                           \
    }

static const opt_t opts[] = {
    STR_OPT(listen),
    {"port", OPT_PORT, 0},
    STR_OPT(port_file),
    STR_OPT(data_dir),
    {"database", OPT_DATABASE, offsetof(fotad_config_t, database)},
    {"release_key", OPT_KEY, 0},
    STR_OPT(master_secret_file),
    STR_OPT(admin_token),
    STR_OPT(admin_token_file),
    {"threads", OPT_THREADS, 0},
    {"max_connections", OPT_CONNECTIONS, 0},
    {"max_connections_per_ip", OPT_PER_IP, 0},
    {"max_upload", OPT_SIZE, 0},
    {"log_level", OPT_LEVEL, 0},
    {"db_sync", OPT_SYNC, 0},
    STR_OPT(legacy_fleet_key_file),
    U32_OPT(legacy_rate),
    U32_OPT(legacy_burst),
    U32_OPT(legacy_max_pending),
    U32_OPT(rollout_tick),
    {"accel_redirect", OPT_PREFIX, offsetof(fotad_config_t, accel_redirect)},
    {"metrics_open", OPT_BOOL, offsetof(fotad_config_t, metrics_open)},
    STR_OPT(tls_cert),
    STR_OPT(tls_key),
};

static const char usage_text[] =
    "usage: fotad [--config FILE] [options]\n"
    "\n"
    "The fota update server: device API under /api/inverter/fota/, admin API under /api/admin/\n"
    "(docs/PROTOCOL.md, docs/ADMIN_API.md, docs/SERVER.md).\n"
    "\n"
    "  --config FILE               read 'key = value' lines (keys as below, '_' for '-');\n"
    "                              flags override the file\n"
    "  --listen ADDR               address to listen on (default 127.0.0.1; IPv6 literals too)\n"
    "  --port N                    TCP port (default 8080; 0 = any free port)\n"
    "  --port-file FILE            write the port actually bound to FILE (with --port 0)\n"
    "  --data-dir DIR              objects/ and, without --database, the SQLite database\n"
    "                              fotad.db (default ./fotad-data)\n"
    "  --database URI              keep the data in PostgreSQL instead of SQLite: a libpq\n"
    "                              URI, postgresql://USER@HOST/DB?... (default: none)\n"
    "  --release-key FILE          release public key, PEM or DER; repeat for several (required)\n"
    "  --master-secret-file FILE   master secret for device keys, raw bytes, >= 32 (required)\n"
    "  --admin-token TOKEN         bearer token of the admin API (or --admin-token-file)\n"
    "  --admin-token-file FILE     file whose first line is the admin token\n"
    "  --threads N                 worker threads (default 4)\n"
    "  --max-connections N         connections open at once (default: as many as the\n"
    "                              open-file limit allows, at most 65536)\n"
    "  --max-connections-per-ip N  connections open at once from one address (default 0: any)\n"
    "  --max-upload SIZE           largest release upload, e.g. 16M (default 16M)\n"
    "  --log-level LEVEL           error, warn, info (default) or debug\n"
    "  --db-sync MODE              SQLite: normal (default: survives a crash of fotad) or\n"
    "                              full (also survives a power cut; one fsync per write)\n"
    "  --legacy-fleet-key-file FILE  the original firmware's fleet-wide HMAC key, for the\n"
    "                              legacy bridge (docs/MIGRATION.md; default: none, bridge off)\n"
    "  --legacy-rate N             legacy requests per minute from one address (default 600)\n"
    "  --legacy-burst N            of which this many at once (default 30)\n"
    "  --legacy-max-pending N      enrollments waiting for approval at most (default 10000)\n"
    "  --rollout-tick N            seconds between two rollout scheduler ticks (default 10)\n"
    "  --accel-redirect PREFIX     behind nginx: answer chain-mode blob requests with\n"
    "                              X-Accel-Redirect: PREFIX + the object's name, e.g.\n"
    "                              /_fota_objects/ (default: off, fotad sends the bytes)\n"
    "  --metrics-open              serve GET /metrics without a token (for a scraper on\n"
    "                              loopback or a trusted network; default: any valid admin\n"
    "                              token is required)\n"
    "  --tls-cert FILE             serve HTTPS: the server's certificate chain, PEM, server\n"
    "                              certificate first (with --tls-key; default: plain HTTP)\n"
    "  --tls-key FILE              the certificate's private key, unencrypted PEM\n"
    "  --help                      this text\n"
    "  --routes                    list every route and the role each admin route needs\n"
    "\n"
    "SIGTERM or SIGINT stops the server cleanly. SIGHUP reads --tls-cert and --tls-key again\n"
    "(new connections get the new pair; a bad pair is refused and the old one kept).\n";

const char *fotad_config_usage(void)
{
    return usage_text;
}

static fota_err_t set_str(char **field, const char *value)
{
    char *copy = strdup(value);
    if (copy == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    free(*field);
    *field = copy;
    return FOTA_OK;
}

fota_err_t fotad_config_init(fotad_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = FOTAD_DEFAULT_PORT;
    cfg->threads = FOTAD_DEFAULT_THREADS;
    cfg->max_connections = FOTAD_DEFAULT_MAX_CONNECTIONS;
    cfg->max_upload = FOTAD_DEFAULT_MAX_UPLOAD;
    cfg->log_level = FOTAD_LOG_INFO;
    cfg->db_sync = FOTAD_SYNC_NORMAL;
    cfg->legacy_rate = FOTAD_DEFAULT_LEGACY_RATE;
    cfg->legacy_burst = FOTAD_DEFAULT_LEGACY_BURST;
    cfg->legacy_max_pending = FOTAD_DEFAULT_LEGACY_MAX_PENDING;
    cfg->rollout_tick = FOTAD_DEFAULT_ROLLOUT_TICK;
    fota_err_t err = set_str(&cfg->listen, "127.0.0.1");
    if (err == FOTA_OK) {
        err = set_str(&cfg->data_dir, "fotad-data");
    }
    return err;
}

void fotad_config_free(fotad_config_t *cfg)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (opts[i].kind == OPT_STR || opts[i].kind == OPT_PREFIX || opts[i].kind == OPT_DATABASE) {
            free(*(char **)((char *)cfg + opts[i].offset));
        }
    }
    for (unsigned i = 0; i < cfg->n_release_keys; i++) {
        free(cfg->release_keys[i]);
    }
    memset(cfg, 0, sizeof *cfg);
}

static const opt_t *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

static fota_err_t add_key(fotad_config_t *cfg, const char *value)
{
    if (cfg->n_release_keys == FOTAD_MAX_RELEASE_KEYS) {
        return FOTA_ERR_TOO_LARGE;
    }
    char *copy = strdup(value);
    if (copy == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    cfg->release_keys[cfg->n_release_keys++] = copy;
    return FOTA_OK;
}

static fota_err_t set_number(const opt_t *o, fotad_config_t *cfg, const char *value)
{
    uint32_t n;
    if (o->kind == OPT_U32) {
        if (fota_cli_parse_u32(value, FOTAD_CONFIG_U32_MAX, &n) != FOTA_OK || n == 0) {
            return FOTA_ERR_ARG;
        }
        *(uint32_t *)((char *)cfg + o->offset) = n;
        return FOTA_OK;
    }
    if (o->kind == OPT_SIZE) {
        fota_err_t err = fota_cli_parse_size(value, &n);
        if (err != FOTA_OK || n < FOTA_MANIFEST_LEN) {
            return FOTA_ERR_ARG;
        }
        cfg->max_upload = n;
        return FOTA_OK;
    }
    uint32_t max = o->kind == OPT_PORT      ? 65535u
                   : o->kind == OPT_THREADS ? FOTAD_MAX_THREADS
                                            : FOTAD_MAX_CONNECTIONS;
    bool zero_ok = o->kind == OPT_PORT || o->kind == OPT_PER_IP;
    if (fota_cli_parse_u32(value, max, &n) != FOTA_OK || (n == 0 && !zero_ok)) {
        return FOTA_ERR_ARG;
    }
    switch (o->kind) {
    case OPT_PORT:
        cfg->port = (uint16_t)n;
        break;
    case OPT_THREADS:
        cfg->threads = n;
        break;
    case OPT_CONNECTIONS:
        cfg->max_connections = n;
        break;
    default:
        cfg->max_connections_per_ip = n;
        break;
    }
    return FOTA_OK;
}

/* A string item. The admin token and the token file exclude each other: the later one wins, so
 * a flag overrides either form given in the file. */
static fota_err_t set_str_opt(const opt_t *o, fotad_config_t *cfg, const char *value)
{
    fota_err_t err = set_str((char **)((char *)cfg + o->offset), value);
    if (err == FOTA_OK && o->offset == offsetof(fotad_config_t, admin_token)) {
        free(cfg->admin_token_file);
        cfg->admin_token_file = NULL;
    } else if (err == FOTA_OK && o->offset == offsetof(fotad_config_t, admin_token_file)) {
        free(cfg->admin_token);
        cfg->admin_token = NULL;
    }
    return err;
}

/* A URI prefix nginx takes as the path of an internal location: "/.../", visible ASCII, nothing
 * that would start a query or fragment or need escaping. */
static bool valid_prefix(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > FOTAD_ACCEL_PREFIX_MAX || s[0] != '/' || s[n - 1] != '/') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || strchr("?#%\"\\", c) != NULL) {
            return false;
        }
    }
    return true;
}

/* The database: a libpq connection URI (its two prefixes), the only other store than SQLite. */
static fota_err_t set_database(const opt_t *o, fotad_config_t *cfg, const char *value)
{
    if (strncmp(value, "postgresql://", 13) != 0 && strncmp(value, "postgres://", 11) != 0) {
        return FOTA_ERR_ARG;
    }
    return set_str((char **)((char *)cfg + o->offset), value);
}

/* Apply one item. FOTA_ERR_ARG for a bad value, FOTA_ERR_TOO_LARGE for too many keys. */
static fota_err_t set_opt(const opt_t *o, fotad_config_t *cfg, const char *value)
{
    if (value[0] == '\0') {
        return FOTA_ERR_ARG;
    }
    switch (o->kind) {
    case OPT_STR:
        return set_str_opt(o, cfg, value);
    case OPT_KEY:
        return add_key(cfg, value);
    case OPT_PREFIX:
        return valid_prefix(value) ? set_str((char **)((char *)cfg + o->offset), value)
                                   : FOTA_ERR_ARG;
    case OPT_DATABASE:
        return set_database(o, cfg, value);
    case OPT_BOOL:
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            return FOTA_ERR_ARG;
        }
        *(bool *)((char *)cfg + o->offset) = value[0] == 't';
        return FOTA_OK;
    case OPT_LEVEL:
        return fotad_log_parse_level(value, &cfg->log_level);
    case OPT_SYNC:
        if (strcmp(value, "normal") != 0 && strcmp(value, "full") != 0) {
            return FOTA_ERR_ARG;
        }
        cfg->db_sync = value[0] == 'f' ? FOTAD_SYNC_FULL : FOTAD_SYNC_NORMAL;
        return FOTA_OK;
    default:
        return set_number(o, cfg, value);
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
    return s;
}

/* One line of the config file; err gets "FILE:LINE: reason". */
static fota_err_t file_line(fotad_config_t *cfg, char *line, const char *path, unsigned lineno,
                            char *err, size_t errcap)
{
    char *s = trim(line);
    if (*s == '\0' || *s == '#') {
        return FOTA_OK;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        snprintf(err, errcap, "%s:%u: expected 'key = value'", path, lineno);
        return FOTA_ERR_ARG;
    }
    *eq = '\0';
    char *key = trim(s);
    char *value = trim(eq + 1);
    const opt_t *o = find_opt(key, strlen(key));
    if (o == NULL) {
        snprintf(err, errcap, "%s:%u: unknown key '%s'", path, lineno, key);
        return FOTA_ERR_ARG;
    }
    fota_err_t e = set_opt(o, cfg, value);
    if (e != FOTA_OK) {
        snprintf(err, errcap, "%s:%u: bad value for %s", path, lineno, key);
    }
    return e;
}

static fota_err_t load_file(fotad_config_t *cfg, const char *path, char *err, size_t errcap)
{
    uint8_t *text;
    size_t len;
    if (fota_file_read_all(path, CONFIG_FILE_MAX, &text, &len) != FOTA_OK) {
        snprintf(err, errcap, "%s: cannot read the config file", path);
        return FOTA_ERR_IO;
    }
    fota_err_t e = FOTA_OK;
    unsigned lineno = 0;
    char *line = (char *)text;
    while (line != NULL && e == FOTA_OK) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        e = file_line(cfg, line, path, ++lineno, err, errcap);
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(text);
    return e;
}

/* A flag "--name[=value]": the option (NULL if unknown) and its inline value (or NULL). */
static const opt_t *flag_opt(const char *arg, const char **inline_value)
{
    char name[40];
    const char *eq = strchr(arg, '=');
    size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    *inline_value = eq != NULL ? eq + 1 : NULL;
    if (len >= sizeof name) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        name[i] = arg[i] == '-' ? '_' : arg[i];
    }
    return find_opt(name, len);
}

typedef struct {
    const char *config_file;
    bool keys_from_flags;
} flag_state_t;

/* The value of flag i: inline, or the next argument (*i advanced). NULL if missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *inline_value)
{
    if (inline_value != NULL) {
        return inline_value;
    }
    return *i + 1 < argc ? argv[++*i] : NULL;
}

/* apply == false: only find --config and --help; true: set every other flag. */
static fota_err_t parse_flags(fotad_config_t *cfg, int argc, char **argv, bool apply,
                              flag_state_t *st, char *err, size_t errcap)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cfg->help = true;
            continue;
        }
        if (strcmp(arg, "--routes") == 0) {
            cfg->routes = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errcap, "unexpected argument '%s'", arg);
            return FOTA_ERR_ARG;
        }
        const char *inline_value;
        bool is_config = strncmp(arg + 2, "config", 6) == 0 && (arg[8] == '\0' || arg[8] == '=');
        const opt_t *o = is_config ? NULL : flag_opt(arg + 2, &inline_value);
        if (is_config) {
            inline_value = arg[8] == '=' ? arg + 9 : NULL;
        } else if (o == NULL) {
            snprintf(err, errcap, "unknown option '%s'", arg);
            return FOTA_ERR_ARG;
        }
        const char *value = o != NULL && o->kind == OPT_BOOL && inline_value == NULL
                                ? "true"
                                : flag_value(argc, argv, &i, inline_value);
        if (value == NULL) {
            snprintf(err, errcap, "option '%s' needs a value", arg);
            return FOTA_ERR_ARG;
        }
        if (is_config) {
            st->config_file = value;
            continue;
        }
        if (!apply) {
            continue;
        }
        if (o->kind == OPT_KEY && !st->keys_from_flags) {
            st->keys_from_flags = true;
            for (unsigned k = 0; k < cfg->n_release_keys; k++) {
                free(cfg->release_keys[k]);
            }
            cfg->n_release_keys = 0;
        }
        fota_err_t e = set_opt(o, cfg, value);
        if (e != FOTA_OK) {
            snprintf(err, errcap, "bad value '%s' for %s", value, arg);
            return e;
        }
    }
    return FOTA_OK;
}

fota_err_t fotad_config_load(fotad_config_t *cfg, int argc, char **argv, char *err, size_t errcap)
{
    flag_state_t st = {NULL, false};
    fota_err_t e = parse_flags(cfg, argc, argv, false, &st, err, errcap);
    if (e != FOTA_OK || cfg->help) {
        return e;
    }
    if (st.config_file != NULL) {
        e = load_file(cfg, st.config_file, err, errcap);
    }
    return e != FOTA_OK ? e : parse_flags(cfg, argc, argv, true, &st, err, errcap);
}

fota_err_t fotad_config_check(const fotad_config_t *cfg, char *err, size_t errcap)
{
    const char *missing = cfg->n_release_keys == 0          ? "release_key"
                          : cfg->master_secret_file == NULL ? "master_secret_file"
                          : cfg->admin_token == NULL && cfg->admin_token_file == NULL
                              ? "admin_token or admin_token_file"
                              : NULL;
    if (missing != NULL) {
        snprintf(err, errcap, "%s is not set (see --help)", missing);
        return FOTA_ERR_ARG;
    }
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        snprintf(err, errcap, "%s is set without %s: HTTPS needs both (see --help)",
                 cfg->tls_cert != NULL ? "tls_cert" : "tls_key",
                 cfg->tls_cert != NULL ? "tls_key" : "tls_cert");
        return FOTA_ERR_ARG;
    }
    return FOTA_OK;
}
