/*
 * fotactl.h - what the parts of fotactl share:
 *
 *   main.c     the command tree (fotactl, fotactl release, device, assignment) and its help
 *   keys.c     offline: keygen (release key pair), device key (provisioning)
 *   release.c  offline: release create (sign a bundle), release inspect (check one)
 *   release_delta.c  offline: release delta (a signed patch from an old image to a release's)
 *   admin.c    the admin API client: server and token, one request over libcurl, errors
 *   remote.c   the commands that talk to fotad (upload, list, show, products, assign) and
 *              their plumbing
 *   legacy.c   the legacy bridge and enrollments
 *   table.c    aligned tables and "key value" blocks from the server's JSON
 *
 * Exit codes (docs/TOOLS.md): 0 ok, 1 invalid input or a refused request, 2 usage error.
 */
#ifndef FOTACTL_H
#define FOTACTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fota/host/cli.h"

/* Message prefixes: errors about data say "fotactl: ...", usage errors name the command group
 * ("fotactl release show: missing ID"). */
#define FOTACTL "fotactl"
#define FOTACTL_RELEASE "fotactl release"
#define FOTACTL_DEVICE "fotactl device"
#define FOTACTL_ASSIGNMENT "fotactl assignment"
#define FOTACTL_PRODUCT "fotactl product"
#define FOTACTL_LEGACY "fotactl legacy"
#define FOTACTL_ENROLL "fotactl enroll"
#define FOTACTL_ROLLOUT "fotactl rollout"
#define FOTACTL_TOKEN "fotactl token"

#define FOTACTL_DEFAULT_SERVER "http://127.0.0.1:8080"

/* Largest bundle read: a 16 MiB image in 256-byte chunks, with its manifest and chain. */
#define FOTACTL_MAX_BUNDLE (16u * 1024u * 1024u + 32u * 65536u + 256u)

#define FOTACTL_N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- admin.c: the admin API over libcurl -------------------------------------------------- */

typedef struct {
    char *server; /* base URL without trailing '/' (owned) */
    char *token;  /* bearer token (owned) */
    char *ca;  /* https: CA certificates (PEM) to verify fotad with, NULL: the system's (owned) */
    bool json; /* print the server's JSON instead of tables */
} fotactl_conn_t;

/* The server options every remote command takes (docs/FOTACTL.md). */
typedef struct {
    const char *server, *token, *token_file, *ca;
    bool json;
} fotactl_conn_opts_t;

/* Their option table entries: 5 of them. */
#define FOTACTL_CONN_OPT_COUNT 5
#define FOTACTL_CONN_OPTS(o)                                                                       \
    {"server", 0, &(o).server, NULL}, {"token", 0, &(o).token, NULL},                              \
        {"token-file", 0, &(o).token_file, NULL}, {"ca", 0, &(o).ca, NULL},                        \
    {                                                                                              \
        "json", 0, NULL, &(o).json                                                                 \
    }

/* Fill c from the options, else $FOTA_SERVER / $FOTA_TOKEN / $FOTA_CA, else the default server
 * (and the system's CA store). Returns 0, or an exit code after printing a one-line error (no
 * token, bad URL, unreadable token or CA file).
 * On success the caller calls fotactl_conn_free(). */
int fotactl_conn_init(fotactl_conn_t *c, const fotactl_conn_opts_t *o);
void fotactl_conn_free(fotactl_conn_t *c);

/* One request to fotad. */
typedef struct {
    const char *method;       /* "GET", "POST" */
    const char *path;         /* "/api/admin/releases" */
    const char *content_type; /* NULL: none */
    const void *body;         /* NULL: no body */
    size_t body_len;
    bool progress;    /* an upload bar on stderr, when stderr is a terminal */
    const char *what; /* subject of error messages: "release list", a file name */
} fotactl_req_t;

/* Perform r. On a 2xx answer: 0, *status, and *out the parsed JSON (NULL for an empty body).
 * Otherwise one line on stderr - the server's {"error","code"} with the status, or why fotad
 * could not be reached - and FOTA_CLI_EXIT_INVALID. The caller cJSON_Delete()s *out. */
int fotactl_request(const fotactl_conn_t *c, const fotactl_req_t *r, long *status, cJSON **out);

/* ---- table.c: aligned text for people ------------------------------------------------------ */

typedef enum {
    FOTACTL_TEXT,   /* left-aligned; "" shows as "-" */
    FOTACTL_NUMBER, /* right-aligned */
    FOTACTL_TIME,   /* unix seconds shown as UTC "YYYY-MM-DD HH:MM:SS"; 0 as "-" */
} fotactl_kind_t;

typedef struct {
    const char *title; /* column heading, or the label of a field */
    const char *key;   /* JSON member of each row object */
    fotactl_kind_t kind;
} fotactl_col_t;

#define FOTACTL_TABLE_MAX_COLS 12

/* Print the objects of `rows` (a JSON array) as a table with these columns (at most
 * FOTACTL_TABLE_MAX_COLS); `empty` is printed instead when there is no row. */
void fotactl_table(const cJSON *rows, const fotactl_col_t *cols, size_t n_cols, const char *empty);

/* Print members of one object as "label   value" lines, in the order given. */
void fotactl_fields(const cJSON *obj, const fotactl_col_t *fields, size_t n_fields);

/* Print a JSON document compactly on one line (what --json gives scripts). */
void fotactl_print_json(const cJSON *js);

/* ---- remote.c: the plumbing of the commands that talk to fotad ---------------------------------
 */

/* Parse a remote command's options (the server ones plus `extra`, NULL-name ended) and connect.
 * True: go on, the caller frees c. False: the command is over (--help, a usage error, no
 * token...) and *done_rc is its exit code. */
bool fotactl_parse_remote(const char *prog, const fota_cli_cmd_t *cmd, fota_cli_spec_t *spec,
                          const fota_cli_opt_t *extra, int argc, char **argv, fotactl_conn_t *c,
                          int *done_rc);

/* How an answer is printed for people: fields of the object, then its `member` array as a
 * table. */
typedef struct {
    const fotactl_col_t *fields, *cols;
    size_t n_fields, n_cols;
    const char *member; /* the array to tabulate, NULL: none */
    const char *empty;  /* shown for an empty array */
    const char *what;   /* subject of error messages ("release list"); NULL: the id */
} fotactl_view_t;

/* GET path and print the answer through v (or the JSON with --json). */
int fotactl_get_and_print(const fotactl_conn_t *c, const char *path, const char *what,
                          const fotactl_view_t *v);

/* A command without arguments of its own: GET path, print the view. */
int fotactl_list_cmd(const char *prog, const fota_cli_cmd_t *cmd, int argc, char **argv,
                     const char *path, const fotactl_view_t *v);

/* POST the JSON text (taken over, freed here; NULL: out of memory) to path and print the
 * answer's fields through v (or the JSON with --json). */
int fotactl_post_json(const fotactl_conn_t *c, const char *path, char *text, const char *what,
                      const fotactl_view_t *v);

/* ---- commands (each gets argv[0] = its own name) --------------------------------------------- */

/* keys.c */
int fotactl_keygen(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_device_key(const fota_cli_cmd_t *cmd, int argc, char **argv);
/* release.c */
int fotactl_release_create(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_release_inspect(const fota_cli_cmd_t *cmd, int argc, char **argv);

/* release_delta.c */
int fotactl_release_delta(const fota_cli_cmd_t *cmd, int argc, char **argv);
/* Show and check a delta bundle (release inspect); der NULL: no signature check. */
int fotactl_inspect_delta(const char *path, const uint8_t *bundle, size_t len, const uint8_t *der,
                          size_t der_len, const char *pub);
/* remote.c */
int fotactl_release_upload(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_release_list(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_release_show(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_device_list(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_device_show(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_assign(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_assignment_list(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_product_create(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_product_list(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_product_show(const fota_cli_cmd_t *cmd, int argc, char **argv);
/* legacy.c */
int fotactl_legacy_show(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_legacy_set(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_legacy_off(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_enroll_list(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_enroll_approve(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_enroll_reject(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_enroll_delete(const fota_cli_cmd_t *cmd, int argc, char **argv);

/* rollout.c */
int fotactl_rollout_create(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_rollout_list(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_rollout_show(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_rollout_history(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_rollout_start(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_rollout_pause(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_rollout_resume(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_rollout_cancel(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_rollout_install(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_rollout_update(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_device_tag(const fota_cli_cmd_t *cmd, int argc, char **argv);

/* A device id as docs/PROTOCOL.md section 1 defines it: 1..48 of A-Z a-z 0-9 - _ . : */
bool fotactl_device_id_ok(const char *id);

/* Read a bundle file whole (at most FOTACTL_MAX_BUNDLE bytes); 0 or an exit code after the
 * error was printed. The caller frees *buf. */
int fotactl_read_bundle(const char *path, uint8_t **buf, size_t *len);

/* token.c */
int fotactl_token_create(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_token_list(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_token_revoke(const fota_cli_cmd_t *cmd, int argc, char **argv);
int fotactl_audit(const fota_cli_cmd_t *cmd, int argc, char **argv);

#endif /* FOTACTL_H */
