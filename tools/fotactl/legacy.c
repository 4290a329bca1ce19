/*
 * legacy.c - fotactl's commands for the legacy bridge and bridge devices' enrollments
 * (docs/MIGRATION.md, docs/ADMIN_API.md):
 *
 *   legacy show | set | off                 GET / POST /api/admin/legacy
 *   enroll list | approve | reject | delete GET /api/admin/enrollments, POST .../{verb}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fotactl.h"

static const fotactl_col_t legacy_fields[] = {
    {"enabled", "enabled", FOTACTL_TEXT},     {"fleet_key", "fleet_key", FOTACTL_TEXT},
    {"product", "product", FOTACTL_TEXT},     {"bridge_release", "bridge_release", FOTACTL_TEXT},
    {"mac_field", "mac_field", FOTACTL_TEXT}, {"updated", "updated", FOTACTL_TIME},
};

static const fotactl_col_t legacy_counts[] = {
    {"chunks served", "chunks", FOTACTL_NUMBER},
    {"refused", "refused", FOTACTL_NUMBER},
    {"rate limited", "rate_limited", FOTACTL_NUMBER},
    {"enroll requests", "enroll_requests", FOTACTL_NUMBER},
    {"enroll refused", "enroll_refused", FOTACTL_NUMBER},
};

static const fotactl_col_t enrollment_counts[] = {
    {"pending", "pending", FOTACTL_NUMBER},
    {"approved", "approved", FOTACTL_NUMBER},
    {"conflict", "conflict", FOTACTL_NUMBER},
    {"rejected", "rejected", FOTACTL_NUMBER},
};

static int legacy_print(const fotactl_conn_t *c, const fotactl_req_t *r)
{
    long status;
    cJSON *js = NULL;
    int rc = fotactl_request(c, r, &status, &js);
    if (rc == 0 && c->json) {
        fotactl_print_json(js);
    } else if (rc == 0) {
        fotactl_fields(js, legacy_fields, FOTACTL_N(legacy_fields));
        printf("\nsince fotad started:\n");
        fotactl_fields(cJSON_GetObjectItemCaseSensitive(js, "counts"), legacy_counts,
                       FOTACTL_N(legacy_counts));
        printf("\nenrollments:\n");
        fotactl_fields(cJSON_GetObjectItemCaseSensitive(js, "enrollments"), enrollment_counts,
                       FOTACTL_N(enrollment_counts));
    }
    cJSON_Delete(js);
    return rc;
}

int fotactl_legacy_show(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    fota_cli_spec_t spec = {NULL, NULL, NULL, 0, 0, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_LEGACY, cmd, &spec, NULL, argc, argv, &c, &rc)) {
        return rc;
    }
    fotactl_req_t r = {"GET", "/api/admin/legacy", NULL, NULL, 0, false, "legacy"};
    rc = legacy_print(&c, &r);
    fotactl_conn_free(&c);
    return rc;
}

/* legacy set --product P --bridge-release ID [--mac-field NAME], or legacy off (off true). */
static int legacy_post(const fota_cli_cmd_t *cmd, int argc, char **argv, bool off)
{
    const char *product = NULL, *release = NULL, *mac_field = NULL;
    const fota_cli_opt_t extra[] = {{"product", 0, &product, NULL},
                                    {"bridge-release", 0, &release, NULL},
                                    {"mac-field", 0, &mac_field, NULL},
                                    {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {NULL, NULL, NULL, 0, 0, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_LEGACY, cmd, &spec, off ? NULL : extra, argc, argv, &c,
                              &rc)) {
        return rc;
    }
    if (!off && (product == NULL || release == NULL)) {
        fotactl_conn_free(&c);
        return fota_cli_usage_error(FOTACTL_LEGACY, cmd,
                                    "--product and --bridge-release are "
                                    "required");
    }
    cJSON *body = cJSON_CreateObject();
    char *text = NULL;
    bool ok = body != NULL &&
              (off ? cJSON_AddFalseToObject(body, "enabled") != NULL
                   : cJSON_AddStringToObject(body, "product", product) != NULL &&
                         cJSON_AddStringToObject(body, "bridge_release", release) != NULL &&
                         (mac_field == NULL ||
                          cJSON_AddStringToObject(body, "mac_field", mac_field) != NULL));
    if (ok) {
        text = cJSON_PrintUnformatted(body);
    }
    cJSON_Delete(body);
    if (text == NULL) {
        fotactl_conn_free(&c);
        return fota_cli_fail(FOTACTL, "legacy", FOTA_ERR_NO_MEM, NULL);
    }
    fotactl_req_t r = {"POST",  "/api/admin/legacy", "application/json", text, strlen(text), false,
                       "legacy"};
    rc = legacy_print(&c, &r);
    free(text);
    fotactl_conn_free(&c);
    return rc;
}

int fotactl_legacy_set(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    return legacy_post(cmd, argc, argv, false);
}

int fotactl_legacy_off(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    return legacy_post(cmd, argc, argv, true);
}

static const fotactl_col_t enrollment_cols[] = {
    {"DEVICE", "device_id", FOTACTL_TEXT},      {"PRODUCT", "product", FOTACTL_TEXT},
    {"STATE", "state", FOTACTL_TEXT},           {"KEY FINGERPRINT", "fingerprint", FOTACTL_TEXT},
    {"ADDRESS", "address", FOTACTL_TEXT},       {"REQUESTED (UTC)", "requested", FOTACTL_TIME},
    {"DECIDED (UTC)", "decided", FOTACTL_TIME},
};

int fotactl_enroll_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *state = NULL;
    const fota_cli_opt_t extra[] = {{"state", 0, &state, NULL}, {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {NULL, NULL, NULL, 0, 0, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_ENROLL, cmd, &spec, extra, argc, argv, &c, &rc)) {
        return rc;
    }
    static const char *const states[] = {"pending", "approved", "conflict", "rejected"};
    bool known = state == NULL;
    for (size_t i = 0; !known && i < FOTACTL_N(states); i++) {
        known = strcmp(state, states[i]) == 0;
    }
    if (!known) {
        fotactl_conn_free(&c);
        return fota_cli_usage_error(FOTACTL_ENROLL, cmd,
                                    "--state is pending, approved, conflict or rejected");
    }
    char path[80];
    snprintf(path, sizeof path, "/api/admin/enrollments%s%s", state != NULL ? "?state=" : "",
             state != NULL ? state : "");
    static const fotactl_view_t v = {.cols = enrollment_cols,
                                     .n_cols = FOTACTL_N(enrollment_cols),
                                     .member = "enrollments",
                                     .empty = "no enrollments",
                                     .what = "enrollment list"};
    rc = fotactl_get_and_print(&c, path, v.what, &v);
    fotactl_conn_free(&c);
    return rc;
}

/* enroll approve|reject|delete (ID... | --all-pending): verb is the path's last segment. */
static int enroll_decide(const fota_cli_cmd_t *cmd, int argc, char **argv, const char *verb,
                         bool all_ok)
{
    bool all = false;
    const fota_cli_opt_t extra[] = {{"all-pending", 0, NULL, &all}, {NULL, 0, NULL, NULL}};
    enum { MAX_IDS = 256 };
    const char *pos[MAX_IDS];
    fota_cli_spec_t spec = {NULL, pos, "ID", 0, MAX_IDS, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_ENROLL, cmd, &spec, all_ok ? extra : NULL, argc, argv, &c,
                              &rc)) {
        return rc;
    }
    const char *bad = NULL;
    for (size_t i = 0; i < spec.n_pos && bad == NULL; i++) {
        bad = fotactl_device_id_ok(pos[i]) ? NULL : pos[i];
    }
    if (bad != NULL || (spec.n_pos > 0) == all) {
        fotactl_conn_free(&c);
        return bad != NULL
                   ? fota_cli_usage_error(FOTACTL_ENROLL, cmd, "'%s' is not a device id", bad)
                   : fota_cli_usage_error(FOTACTL_ENROLL, cmd,
                                          all_ok ? "device ids or --all-pending, not both"
                                                 : "missing ID");
    }
    cJSON *body = cJSON_CreateObject();
    cJSON *ids = all ? NULL : cJSON_AddArrayToObject(body, "device_ids");
    bool ok =
        body != NULL && (all ? cJSON_AddTrueToObject(body, "all_pending") != NULL : ids != NULL);
    for (size_t i = 0; ok && !all && i < spec.n_pos; i++) {
        ok = cJSON_AddItemToArray(ids, cJSON_CreateString(pos[i]));
    }
    char *text = ok ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    char path[64];
    snprintf(path, sizeof path, "/api/admin/enrollments/%s", verb);
    const fotactl_col_t fields[] = {
        {verb[0] == 'a'   ? "approved"
         : verb[0] == 'r' ? "rejected"
                          : "deleted",
         verb[0] == 'a'   ? "approved"
         : verb[0] == 'r' ? "rejected"
                          : "deleted",
         FOTACTL_NUMBER},
    };
    const fotactl_view_t v = {.fields = fields, .n_fields = 1};
    rc = fotactl_post_json(&c, path, text, "enrollments", &v);
    fotactl_conn_free(&c);
    return rc;
}

int fotactl_enroll_approve(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    return enroll_decide(cmd, argc, argv, "approve", true);
}

int fotactl_enroll_reject(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    return enroll_decide(cmd, argc, argv, "reject", true);
}

int fotactl_enroll_delete(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    return enroll_decide(cmd, argc, argv, "delete", false);
}
