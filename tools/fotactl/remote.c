/*
 * remote.c - fotactl's commands that talk to fotad's admin API (docs/ADMIN_API.md):
 *
 *   release upload | list | show    POST /api/admin/releases, GET .../releases[/ID]
 *   product create | list | show    POST /api/admin/products, GET .../products[/ID]
 *   device list | show              GET /api/admin/devices[/ID]
 *   assign                          POST /api/admin/assignments
 *   assignment list                 GET /api/admin/assignments
 *
 * Each parses its options (its own plus the server options), makes one request through
 * admin.c and prints a table for people, or the server's JSON with --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/host/bundle.h"

#include "fotactl.h"

#define MAX_OPTS 32

static const fotactl_col_t release_cols[] = {
    {"ID", "id", FOTACTL_TEXT},
    {"PRODUCT", "product", FOTACTL_TEXT},
    {"CHIP", "chip", FOTACTL_TEXT},
    {"VERSION", "version", FOTACTL_TEXT},
    {"SECVER", "security_version", FOTACTL_NUMBER},
    {"SIZE", "image_size", FOTACTL_NUMBER},
    {"CHUNK", "chunk_size", FOTACTL_NUMBER},
    {"UPLOADED (UTC)", "uploaded", FOTACTL_TIME},
};

static const fotactl_col_t release_fields[] = {
    {"id", "id", FOTACTL_TEXT},
    {"product", "product", FOTACTL_TEXT},
    {"version", "version", FOTACTL_TEXT},
    {"security_version", "security_version", FOTACTL_NUMBER},
    {"image_size", "image_size", FOTACTL_NUMBER},
    {"chunk_size", "chunk_size", FOTACTL_NUMBER},
    {"chunk_count", "chunk_count", FOTACTL_NUMBER},
    {"image_sha256", "image_sha256", FOTACTL_TEXT},
    {"blob_size", "blob_size", FOTACTL_NUMBER},
    {"created", "created", FOTACTL_TIME},
    {"uploaded", "uploaded", FOTACTL_TIME},
    {"chip", "chip", FOTACTL_TEXT},
    {"chip_id", "chip_id", FOTACTL_NUMBER},
};

/* A release's deltas (release show). */
static const fotactl_col_t delta_cols[] = {
    {"DELTA", "delta", FOTACTL_TEXT},
    {"SOURCE IMAGE", "source_sha256", FOTACTL_TEXT},
    {"PATCH", "patch_size", FOTACTL_NUMBER},
    {"BLOB", "blob_size", FOTACTL_NUMBER},
    {"UPLOADED (UTC)", "uploaded", FOTACTL_TIME},
};

static const fotactl_col_t product_cols[] = {
    {"ID", "id", FOTACTL_TEXT},
    {"CHIP", "chip", FOTACTL_TEXT},
    {"CHIP ID", "chip_id", FOTACTL_NUMBER},
    {"CREATED (UTC)", "created", FOTACTL_TIME},
};

static const fotactl_col_t device_cols[] = {
    {"ID", "id", FOTACTL_TEXT},
    {"PRODUCT", "product", FOTACTL_TEXT},
    {"VERSION", "version", FOTACTL_TEXT},
    {"STATE", "state", FOTACTL_TEXT},
    {"DONE", "done", FOTACTL_NUMBER},
    {"TOTAL", "total", FOTACTL_NUMBER},
    {"LAST ERROR", "last_error_name", FOTACTL_TEXT},
    {"LAST SEEN (UTC)", "last_seen", FOTACTL_TIME},
};

static const fotactl_col_t device_fields[] = {
    {"id", "id", FOTACTL_TEXT},
    {"product", "product", FOTACTL_TEXT},
    {"version", "version", FOTACTL_TEXT},
    {"state", "state", FOTACTL_TEXT},
    {"release", "release", FOTACTL_TEXT},
    {"offered", "offered", FOTACTL_TEXT},
    {"done", "done", FOTACTL_NUMBER},
    {"total", "total", FOTACTL_NUMBER},
    {"last_error", "last_error", FOTACTL_NUMBER},
    {"last_error_name", "last_error_name", FOTACTL_TEXT},
    {"first_seen", "first_seen", FOTACTL_TIME},
    {"last_seen", "last_seen", FOTACTL_TIME},
};

static const fotactl_col_t report_cols[] = {
    {"TIME (UTC)", "time", FOTACTL_TIME}, {"STATE", "state", FOTACTL_TEXT},
    {"VERSION", "version", FOTACTL_TEXT}, {"RUNNING", "running", FOTACTL_TEXT},
    {"DONE", "done", FOTACTL_NUMBER},     {"TOTAL", "total", FOTACTL_NUMBER},
    {"ERROR", "error", FOTACTL_NUMBER},   {"RELEASE", "release", FOTACTL_TEXT},
};

static const fotactl_col_t assignment_cols[] = {
    {"RELEASE", "release", FOTACTL_TEXT},
    {"DEVICE (OVERRIDE)", "device", FOTACTL_TEXT},
    {"PRODUCT", "product", FOTACTL_TEXT},
    {"UPDATED (UTC)", "updated", FOTACTL_TIME},
};

/* ---- shared plumbing ------------------------------------------------------------------------ */

bool fotactl_parse_remote(const char *prog, const fota_cli_cmd_t *cmd, fota_cli_spec_t *spec,
                          const fota_cli_opt_t *extra, int argc, char **argv, fotactl_conn_t *c,
                          int *done_rc)
{
    fotactl_conn_opts_t o = {NULL, NULL, NULL, NULL, false};
    fota_cli_opt_t opts[FOTACTL_CONN_OPT_COUNT + MAX_OPTS + 1] = {FOTACTL_CONN_OPTS(o)};
    size_t n = FOTACTL_CONN_OPT_COUNT;
    for (; extra != NULL && extra->name != NULL && n < FOTACTL_CONN_OPT_COUNT + MAX_OPTS; n++) {
        opts[n] = *extra++;
    }
    opts[n] = (fota_cli_opt_t){NULL, 0, NULL, NULL};
    spec->opts = opts;
    if (!fota_cli_parse(prog, cmd, spec, argc, argv, done_rc)) {
        return false;
    }
    *done_rc = fotactl_conn_init(c, &o);
    return *done_rc == 0;
}

int fotactl_get_and_print(const fotactl_conn_t *c, const char *path, const char *what,
                          const fotactl_view_t *v)
{
    fotactl_req_t r = {"GET", path, NULL, NULL, 0, false, what};
    long status;
    cJSON *js = NULL;
    int rc = fotactl_request(c, &r, &status, &js);
    if (rc == 0 && c->json) {
        fotactl_print_json(js);
    } else if (rc == 0) {
        fotactl_fields(js, v->fields, v->n_fields);
        if (v->member != NULL) {
            printf("%s", v->n_fields > 0 ? "\n" : "");
            fotactl_table(cJSON_GetObjectItemCaseSensitive(js, v->member), v->cols, v->n_cols,
                          v->empty);
        }
    }
    cJSON_Delete(js);
    return rc;
}

int fotactl_list_cmd(const char *prog, const fota_cli_cmd_t *cmd, int argc, char **argv,
                     const char *path, const fotactl_view_t *v)
{
    fota_cli_spec_t spec = {NULL, NULL, NULL, 0, 0, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(prog, cmd, &spec, NULL, argc, argv, &c, &rc)) {
        return rc;
    }
    rc = fotactl_get_and_print(&c, path, v->what, v);
    fotactl_conn_free(&c);
    return rc;
}

/* GET base/ID for one ID given on the command line, checked by id_ok before it goes into the
 * URL (so no escaping can change the path). */
typedef struct {
    const char *base;            /* "/api/admin/releases" */
    bool (*id_ok)(const char *); /* what an id may be */
    const char *id_rule;         /* and how the error says it */
} show_t;

static int show_cmd(const char *prog, const fota_cli_cmd_t *cmd, int argc, char **argv,
                    const show_t *s, const fotactl_view_t *v)
{
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "ID", 1, 1, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(prog, cmd, &spec, NULL, argc, argv, &c, &rc)) {
        return rc;
    }
    if (!s->id_ok(pos[0])) {
        fotactl_conn_free(&c);
        return fota_cli_usage_error(prog, cmd, "'%s' is not %s", pos[0], s->id_rule);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s->base, pos[0]);
    rc = fotactl_get_and_print(&c, path, pos[0], v);
    fotactl_conn_free(&c);
    return rc;
}

/* A release id: 32 lower-case hex digits (fotad answers 404 for anything else anyway). */
static bool release_id_ok(const char *s)
{
    return strlen(s) == FOTA_RELEASE_ID_HEX && strspn(s, "0123456789abcdef") == strlen(s);
}

/* ---- releases ------------------------------------------------------------------------------ */

static int upload(const fotactl_conn_t *c, const char *file)
{
    uint8_t *bundle = NULL;
    size_t len = 0;
    int rc = fotactl_read_bundle(file, &bundle, &len);
    if (rc != 0) {
        return rc;
    }
    fotactl_req_t r = {"POST", "/api/admin/releases", "application/octet-stream", bundle, len, true,
                       file};
    long status;
    cJSON *js = NULL;
    rc = fotactl_request(c, &r, &status, &js);
    free(bundle);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(js, "id");
    if (id == NULL) {
        id = cJSON_GetObjectItemCaseSensitive(js, "delta"); /* a delta bundle's answer */
    }
    if (rc == 0 && c->json) {
        fotactl_print_json(js);
    } else if (rc == 0) {
        printf("%s %s\n", cJSON_IsString(id) ? id->valuestring : "?",
               status == 201 ? "uploaded" : "already uploaded");
    }
    cJSON_Delete(js);
    return rc;
}

int fotactl_release_upload(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "BUNDLE", 1, 1, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_RELEASE, cmd, &spec, NULL, argc, argv, &c, &rc)) {
        return rc;
    }
    rc = upload(&c, pos[0]);
    fotactl_conn_free(&c);
    return rc;
}

int fotactl_release_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fotactl_view_t v = {.cols = release_cols,
                                     .n_cols = FOTACTL_N(release_cols),
                                     .member = "releases",
                                     .empty = "no releases",
                                     .what = "release list"};
    return fotactl_list_cmd(FOTACTL_RELEASE, cmd, argc, argv, "/api/admin/releases", &v);
}

int fotactl_release_show(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fotactl_view_t v = {.fields = release_fields,
                                     .n_fields = FOTACTL_N(release_fields),
                                     .cols = delta_cols,
                                     .n_cols = FOTACTL_N(delta_cols),
                                     .member = "deltas",
                                     .empty = "no deltas"};
    static const show_t s = {"/api/admin/releases", release_id_ok,
                             "a release id (32 lower-case hex digits)"};
    return show_cmd(FOTACTL_RELEASE, cmd, argc, argv, &s, &v);
}

/* ---- products -------------------------------------------------------------------------------- */

/* A product id that can go into a URL path as it is (fotactl product list shows any other). */
static bool product_path_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 32 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:") == n;
}

/* 1..32 printable ASCII characters: what a manifest's product holds. */
static bool product_id_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7E) {
            return false;
        }
    }
    return n > 0 && n <= 32;
}

static int post_product(const fotactl_conn_t *c, const char *id, const fota_esp_chip_t *chip)
{
    cJSON *body = cJSON_CreateObject();
    char *text = NULL;
    if (body != NULL && cJSON_AddStringToObject(body, "id", id) != NULL &&
        cJSON_AddStringToObject(body, "chip", chip->target) != NULL) {
        text = cJSON_PrintUnformatted(body);
    }
    cJSON_Delete(body);
    if (text == NULL) {
        return fota_cli_fail(FOTACTL, "product create", FOTA_ERR_NO_MEM, NULL);
    }
    fotactl_req_t r = {"POST", "/api/admin/products", "application/json", text, strlen(text), false,
                       id};
    long status;
    cJSON *js = NULL;
    int rc = fotactl_request(c, &r, &status, &js);
    free(text);
    if (rc == 0 && c->json) {
        fotactl_print_json(js);
    } else if (rc == 0) {
        printf("product %s %s, chip %s\n", id, status == 201 ? "created" : "exists", chip->target);
    }
    cJSON_Delete(js);
    return rc;
}

int fotactl_product_create(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *chip_name = NULL;
    const fota_cli_opt_t extra[] = {{"chip", 0, &chip_name, NULL}, {NULL, 0, NULL, NULL}};
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "PRODUCT", 1, 1, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_PRODUCT, cmd, &spec, extra, argc, argv, &c, &rc)) {
        return rc;
    }
    const fota_esp_chip_t *chip = chip_name != NULL ? fota_esp_chip_by_name(chip_name) : NULL;
    if (!product_id_ok(pos[0])) {
        rc = fota_cli_usage_error(FOTACTL_PRODUCT, cmd,
                                  "'%s' is not a product id (1..32 "
                                  "printable ASCII characters)",
                                  pos[0]);
    } else if (chip == NULL) {
        char names[FOTA_CLI_CHIP_NAMES];
        rc = fota_cli_usage_error(FOTACTL_PRODUCT, cmd, "--chip is one of %s",
                                  fota_cli_chip_names(names, sizeof names));
    } else {
        rc = post_product(&c, pos[0], chip);
    }
    fotactl_conn_free(&c);
    return rc;
}

int fotactl_product_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fotactl_view_t v = {.cols = product_cols,
                                     .n_cols = FOTACTL_N(product_cols),
                                     .member = "products",
                                     .empty = "no products",
                                     .what = "product list"};
    return fotactl_list_cmd(FOTACTL_PRODUCT, cmd, argc, argv, "/api/admin/products", &v);
}

int fotactl_product_show(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fotactl_col_t fields[] = {
        {"id", "id", FOTACTL_TEXT},
        {"chip", "chip", FOTACTL_TEXT},
        {"chip_id", "chip_id", FOTACTL_NUMBER},
        {"created", "created", FOTACTL_TIME},
    };
    static const fotactl_view_t v = {.fields = fields, .n_fields = FOTACTL_N(fields)};
    static const show_t s = {"/api/admin/products", product_path_ok,
                             "a product id of A-Z a-z 0-9 - . _ ~ : (product list shows others)"};
    return show_cmd(FOTACTL_PRODUCT, cmd, argc, argv, &s, &v);
}

/* ---- devices -------------------------------------------------------------------------------- */

int fotactl_device_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fotactl_view_t v = {.cols = device_cols,
                                     .n_cols = FOTACTL_N(device_cols),
                                     .member = "devices",
                                     .empty = "no devices",
                                     .what = "device list"};
    return fotactl_list_cmd(FOTACTL_DEVICE, cmd, argc, argv, "/api/admin/devices", &v);
}

int fotactl_device_show(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fotactl_view_t v = {.fields = device_fields,
                                     .n_fields = FOTACTL_N(device_fields),
                                     .cols = report_cols,
                                     .n_cols = FOTACTL_N(report_cols),
                                     .member = "reports",
                                     .empty = "no reports"};
    static const show_t s = {"/api/admin/devices", fotactl_device_id_ok,
                             "a device id (1..48 of A-Z a-z 0-9 - _ . :)"};
    return show_cmd(FOTACTL_DEVICE, cmd, argc, argv, &s, &v);
}

/* ---- assignments ---------------------------------------------------------------------------- */

/* {"release":ID,"device"|"product":target} as text (malloc'd), NULL when out of memory. */
static char *assignment_body(const char *release, const char *kind, const char *target)
{
    cJSON *body = cJSON_CreateObject();
    char *text = NULL;
    if (body != NULL && cJSON_AddStringToObject(body, "release", release) != NULL &&
        cJSON_AddStringToObject(body, kind, target) != NULL) {
        text = cJSON_PrintUnformatted(body);
    }
    cJSON_Delete(body);
    return text;
}

static int post_assignment(const fotactl_conn_t *c, const char *release, const char *kind,
                           const char *target)
{
    char *text = assignment_body(release, kind, target);
    if (text == NULL) {
        return fota_cli_fail(FOTACTL, "assign", FOTA_ERR_NO_MEM, NULL);
    }
    fotactl_req_t r = {
        "POST", "/api/admin/assignments", "application/json", text, strlen(text), false, "assign"};
    long status;
    cJSON *js = NULL;
    int rc = fotactl_request(c, &r, &status, &js);
    free(text);
    if (rc == 0 && c->json) {
        fotactl_print_json(js);
    } else if (rc == 0) {
        printf("%s assigned to %s %s\n", release, kind, target);
    }
    cJSON_Delete(js);
    return rc;
}

int fotactl_assign(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *device = NULL, *product = NULL;
    const fota_cli_opt_t extra[] = {
        {"device", 0, &device, NULL}, {"product", 0, &product, NULL}, {NULL, 0, NULL, NULL}};
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "RELEASE", 1, 1, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL, cmd, &spec, extra, argc, argv, &c, &rc)) {
        return rc;
    }
    if ((device == NULL) == (product == NULL)) {
        rc = fota_cli_usage_error(FOTACTL, cmd, "give exactly one of --device and --product");
    } else if (device != NULL && !fotactl_device_id_ok(device)) {
        rc = fota_cli_usage_error(FOTACTL, cmd,
                                  "'%s' is not a device id (1..48 of A-Z a-z 0-9 - _ . :)", device);
    } else {
        rc = post_assignment(&c, pos[0], device ? "device" : "product", device ? device : product);
    }
    fotactl_conn_free(&c);
    return rc;
}

int fotactl_assignment_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fotactl_view_t v = {.cols = assignment_cols,
                                     .n_cols = FOTACTL_N(assignment_cols),
                                     .member = "assignments",
                                     .empty = "no assignments",
                                     .what = "assignment list"};
    return fotactl_list_cmd(FOTACTL_ASSIGNMENT, cmd, argc, argv, "/api/admin/assignments", &v);
}

int fotactl_post_json(const fotactl_conn_t *c, const char *path, char *text, const char *what,
                      const fotactl_view_t *v)
{
    if (text == NULL) {
        return fota_cli_fail(FOTACTL, what, FOTA_ERR_NO_MEM, NULL);
    }
    fotactl_req_t r = {"POST", path, "application/json", text, strlen(text), false, what};
    long status;
    cJSON *js = NULL;
    int rc = fotactl_request(c, &r, &status, &js);
    free(text);
    if (rc == 0 && c->json) {
        fotactl_print_json(js);
    } else if (rc == 0) {
        fotactl_fields(js, v->fields, v->n_fields);
    }
    cJSON_Delete(js);
    return rc;
}
