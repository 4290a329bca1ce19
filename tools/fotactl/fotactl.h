/*
 * fotactl.h - what the parts of fotactl share: the admin API client (admin.c), the commands
 * that talk to fotad (remote.c), the offline ones (release.c: keys, signed bundles, device keys)
 * and the table printer (table.c).
 */
#ifndef FOTACTL_H
#define FOTACTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fota/posix/cli.h"

#define FOTACTL "fotactl"
#define FOTACTL_DEFAULT_SERVER "http://127.0.0.1:8080"

/* ---- admin.c: the admin API over libcurl -------------------------------------------------- */

typedef struct {
    const char *server; /* base URL, no trailing slash needed */
    char *token;        /* bearer token (owned) */
    bool json;          /* print the server's JSON instead of tables */
} fotactl_conn_t;

/* Options every remote command takes; fill conn from them, the environment and defaults.
 * Returns 0 or an exit code (after printing the error). */
#define FOTACTL_CONN_OPTS(s, t, tf, j)                                                             \
    {"server", 0, &(s), NULL}, {"token", 0, &(t), NULL}, {"token-file", 0, &(tf), NULL},           \
    {                                                                                              \
        "json", 0, NULL, &(j)                                                                      \
    }
int fotactl_conn_init(fotactl_conn_t *c, const char *server, const char *token,
                      const char *token_file, bool json);
void fotactl_conn_free(fotactl_conn_t *c);

/* One request. body may be NULL. On a 2xx answer *out is the parsed JSON (or NULL for an empty
 * body) and 0 is returned; otherwise the error is printed as one line ("fotactl: what: status
 * 404 not_found: no such release") and the exit code returned. progress: show an upload bar
 * when stderr is a terminal. */
int fotactl_request(const fotactl_conn_t *c, const char *method, const char *path,
                    const char *content_type, const void *body, size_t body_len, bool progress,
                    const char *what, long *status, cJSON **out);

/* ---- table.c: aligned text tables --------------------------------------------------------- */

#define FOTACTL_TABLE_MAX_COLS 10

typedef struct {
    const char *title;
    const char *key; /* JSON member of each row object */
    bool number;     /* right-aligned */
} fotactl_col_t;

/* Print the objects of `rows` (a JSON array) as a table with these columns. */
void fotactl_table(const cJSON *rows, const fotactl_col_t *cols, size_t n_cols);

/* Print one object as "key: value" lines, in the order of `keys` (NULL-terminated). */
void fotactl_fields(const cJSON *obj, const char *const *keys);

/* ---- commands ------------------------------------------------------------------------------- */

int fotactl_cmd_keygen(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_cmd_release(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_cmd_device(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_cmd_assign(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_cmd_assignment(const fota_cli_cmd_t *cmd, int argc, char **argv);

/* release.c, for remote.c: the offline release subcommands. */
int fotactl_release_create(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_release_inspect(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_device_key(const fota_cli_cmd_t *cmd, int argc, char **argv);
extern const char fotactl_release_create_usage[];
extern const char fotactl_release_inspect_usage[];

#endif /* FOTACTL_H */
