/*
 * remote.c - fotactl's commands that talk to fotad's admin API: release upload/list/show,
 * device list/show, assign, assignment list. Each parses its options, makes one request through
 * admin.c and prints a table (or the server's JSON with --json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fotactl.h"

#define MAX_BUNDLE (64u * 1024u * 1024u)

typedef struct {
    const char *server, *token, *token_file;
    bool json;
} conn_opts_t;

static const fotactl_col_t release_cols[] = {
    {"ID", "id", false},
    {"PRODUCT", "product", false},
    {"VERSION", "version", false},
    {"SECVER", "security_version", true},
    {"SIZE", "image_size", true},
    {"CHUNK", "chunk_size", true},
    {"UPLOADED", "uploaded", true},
};

static const fotactl_col_t device_cols[] = {
    {"ID", "id", false},
    {"PRODUCT", "product", false},
    {"VERSION", "version", false},
    {"STATE", "state", false},
    {"DONE", "done", true},
    {"TOTAL", "total", true},
    {"ERROR", "last_error_name", false},
    {"LAST SEEN", "last_seen", true},
};

static const fotactl_col_t report_cols[] = {
    {"TIME", "time", true},        {"STATE", "state", false}, {"VERSION", "version", false},
    {"RUNNING", "running", false}, {"DONE", "done", true},    {"TOTAL", "total", true},
    {"ERROR", "error", true},
};

static const fotactl_col_t assignment_cols[] = {
    {"RELEASE", "release", false},
    {"DEVICE", "device", false},
    {"PRODUCT", "product", false},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Parse a remote command's options (its own plus the server ones) and connect. */
static int parse_remote(const fota_cli_cmd_t *cmd, fota_cli_spec_t *spec,
                        const fota_cli_opt_t *extra, size_t n_extra, int argc, char **argv,
                        fotactl_conn_t *conn)
{
    conn_opts_t o = {0};
    fota_cli_opt_t opts[12] = {FOTACTL_CONN_OPTS(o.server, o.token, o.token_file, o.json)};
    if (n_extra > 0) {
        memcpy(opts + 4, extra, n_extra * sizeof *extra);
    }
    opts[4 + n_extra] = (fota_cli_opt_t){NULL, 0, NULL, NULL};
    spec->opts = opts;
    int code;
    if (!fota_cli_parse(FOTACTL, cmd, spec, argc, argv, &code)) {
        return code == 0 ? -1 : code; /* -1: --help was printed */
    }
    return fotactl_conn_init(conn, o.server, o.token, o.token_file, o.json);
}

/* GET path and print it: a table of `member` with cols, or the JSON. */
static int get_and_print(const fotactl_conn_t *c, const char *path, const char *what,
                         const char *member, const fotactl_col_t *cols, size_t n_cols,
                         const char *const *fields)
{
    long status;
    cJSON *js = NULL;
    int rc = fotactl_request(c, "GET", path, NULL, NULL, 0, false, what, &status, &js);
    if (rc == 0 && c->json) {
        char *text = cJSON_PrintUnformatted(js);
        printf("%s\n", text ? text : "null");
        free(text);
    } else if (rc == 0) {
        if (fields != NULL) {
            fotactl_fields(js, fields);
        }
        if (member != NULL) {
            if (fields != NULL) {
                printf("\n%s:\n", member);
            }
            fotactl_table(cJSON_GetObjectItemCaseSensitive(js, member), cols, n_cols);
        }
    }
    cJSON_Delete(js);
    return rc;
}

static int finish(fotactl_conn_t *c, int rc)
{
    fotactl_conn_free(c);
    return rc < 0 ? 0 : rc;
}

/* ---- releases ------------------------------------------------------------------------------ */

static int release_upload(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "BUNDLE", 1, 1, 0};
    fotactl_conn_t c;
    int rc = parse_remote(cmd, &spec, NULL, 0, argc, argv, &c);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    uint8_t *bundle = NULL;
    size_t len = 0;
    rc = fota_cli_read_file(FOTACTL, pos[0], &bundle, &len);
    long status = 0;
    cJSON *js = NULL;
    if (rc == 0) {
        rc = fotactl_request(&c, "POST", "/api/admin/releases", "application/octet-stream", bundle,
                             len, true, pos[0], &status, &js);
    }
    if (rc == 0 && c.json) {
        char *text = cJSON_PrintUnformatted(js);
        printf("%s\n", text ? text : "null");
        free(text);
    } else if (rc == 0) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(js, "id");
        printf("%s %s\n", cJSON_IsString(id) ? id->valuestring : "?",
               status == 201 ? "uploaded" : "already uploaded");
    }
    cJSON_Delete(js);
    free(bundle);
    return finish(&c, rc);
}

static int release_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    fota_cli_spec_t spec = {NULL, NULL, NULL, 0, 0, 0};
    fotactl_conn_t c;
    int rc = parse_remote(cmd, &spec, NULL, 0, argc, argv, &c);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    rc = get_and_print(&c, "/api/admin/releases", "release list", "releases", release_cols,
                       N(release_cols), NULL);
    return finish(&c, rc);
}

/* An id from the command line goes into a URL path: only the characters ids are made of. */
static bool safe_id(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-_.:") == n;
}

static int show_one(const fota_cli_cmd_t *cmd, int argc, char **argv, const char *base,
                    const char *member, const fotactl_col_t *cols, size_t n_cols,
                    const char *const *fields)
{
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "ID", 1, 1, 0};
    fotactl_conn_t c;
    int rc = parse_remote(cmd, &spec, NULL, 0, argc, argv, &c);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (!safe_id(pos[0])) {
        fotactl_conn_free(&c);
        return fota_cli_usage_error(FOTACTL, cmd, "'%s' is not an id", pos[0]);
    }
    char path[160];
    snprintf(path, sizeof path, "%s/%s", base, pos[0]);
    rc = get_and_print(&c, path, pos[0], member, cols, n_cols, fields);
    return finish(&c, rc);
}

static int release_show(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const char *const fields[] = {
        "id",          "product",      "version",   "security_version", "image_size", "chunk_size",
        "chunk_count", "image_sha256", "blob_size", "created",          "uploaded",   NULL};
    return show_one(cmd, argc, argv, "/api/admin/releases", NULL, NULL, 0, fields);
}

int fotactl_cmd_release(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    static const char upload_usage[] =
        "usage: fotactl release upload BUNDLE [server options]\n\n"
        "Send a bundle (fotactl release create) to fotad, which checks its signature, chain and\n"
        "image before it stores it. Prints the release id. A progress bar shows on a terminal.\n";
    static const char list_usage[] = "usage: fotactl release list [server options]\n";
    static const char show_usage[] = "usage: fotactl release show ID [server options]\n";
    static const fota_cli_cmd_t cmds[] = {
        {"create", "build and sign a bundle (offline)", fotactl_release_create_usage,
         fotactl_release_create},
        {"inspect", "show and check a bundle (offline)", fotactl_release_inspect_usage,
         fotactl_release_inspect},
        {"upload", "send a bundle to fotad", upload_usage, release_upload},
        {"list", "releases on fotad", list_usage, release_list},
        {"show", "one release", show_usage, release_show},
    };
    static const fota_cli_tool_t tool = {"fotactl release", "Releases.", cmds, N(cmds)};
    return fota_cli_dispatch(&tool, argc, argv);
}

/* ---- devices -------------------------------------------------------------------------------- */

static int device_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    fota_cli_spec_t spec = {NULL, NULL, NULL, 0, 0, 0};
    fotactl_conn_t c;
    int rc = parse_remote(cmd, &spec, NULL, 0, argc, argv, &c);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    rc = get_and_print(&c, "/api/admin/devices", "device list", "devices", device_cols,
                       N(device_cols), NULL);
    return finish(&c, rc);
}

static int device_show(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const char *const fields[] = {
        "id",    "product",    "version",         "state",      "release",   "done",
        "total", "last_error", "last_error_name", "first_seen", "last_seen", NULL};
    return show_one(cmd, argc, argv, "/api/admin/devices", "reports", report_cols, N(report_cols),
                    fields);
}

int fotactl_cmd_device(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    static const char list_usage[] = "usage: fotactl device list [server options]\n";
    static const char show_usage[] =
        "usage: fotactl device show ID [server options]\n\nA device and its reports, newest "
        "first.\n";
    static const char key_usage[] =
        "usage: fotactl device key ID --master FILE\n\n"
        "Print the device key of ID (64 hex digits) derived from the server's master secret\n"
        "file, to provision the device with. Offline: nothing is sent anywhere.\n";
    static const fota_cli_cmd_t cmds[] = {
        {"list", "devices fotad knows", list_usage, device_list},
        {"show", "one device and its reports", show_usage, device_show},
        {"key", "derive a device key (offline)", key_usage, fotactl_device_key},
    };
    static const fota_cli_tool_t tool = {"fotactl device", "Devices.", cmds, N(cmds)};
    return fota_cli_dispatch(&tool, argc, argv);
}

/* ---- assignments ---------------------------------------------------------------------------- */

int fotactl_cmd_assign(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *device = NULL, *product = NULL;
    const fota_cli_opt_t extra[] = {{"device", 0, &device, NULL}, {"product", 0, &product, NULL}};
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "RELEASE", 1, 1, 0};
    fotactl_conn_t c;
    int rc = parse_remote(cmd, &spec, extra, N(extra), argc, argv, &c);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if ((device == NULL) == (product == NULL)) {
        fotactl_conn_free(&c);
        return fota_cli_usage_error(FOTACTL, cmd, "give exactly one of --device and --product");
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "release", pos[0]);
    cJSON_AddStringToObject(body, device ? "device" : "product", device ? device : product);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    long status;
    cJSON *js = NULL;
    rc = text ? fotactl_request(&c, "POST", "/api/admin/assignments", "application/json", text,
                                strlen(text), false, "assign", &status, &js)
              : FOTA_CLI_EXIT_INVALID;
    if (rc == 0) {
        printf("%s assigned to %s %s\n", pos[0], device ? "device" : "product",
               device ? device : product);
    }
    free(text);
    cJSON_Delete(js);
    return finish(&c, rc);
}

static int assignment_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    fota_cli_spec_t spec = {NULL, NULL, NULL, 0, 0, 0};
    fotactl_conn_t c;
    int rc = parse_remote(cmd, &spec, NULL, 0, argc, argv, &c);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    rc = get_and_print(&c, "/api/admin/assignments", "assignment list", "assignments",
                       assignment_cols, N(assignment_cols), NULL);
    return finish(&c, rc);
}

int fotactl_cmd_assignment(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    static const char list_usage[] = "usage: fotactl assignment list [server options]\n";
    static const fota_cli_cmd_t cmds[] = {
        {"list", "assignments on fotad", list_usage, assignment_list},
    };
    static const fota_cli_tool_t tool = {"fotactl assignment", "Assignments.", cmds, N(cmds)};
    return fota_cli_dispatch(&tool, argc, argv);
}
