/*
 * token.c - fotactl's admin tokens and audit log (docs/FOTACTL.md, docs/ADMIN_API.md "Roles and
 * tokens"): `token create` (the token is printed once, as fotad shows it once), `token list`,
 * `token revoke`, and `audit`, a page of the log newest first with the cursor of the next page.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fotactl.h"

#define TOKEN_ID_LEN 12u
#define AUDIT_LIMIT_MAX 1000u

static const fotactl_col_t token_fields[] = {
    {"Id", "id", FOTACTL_TEXT},
    {"Name", "name", FOTACTL_TEXT},
    {"Role", "role", FOTACTL_TEXT},
    {"Created", "created", FOTACTL_TIME},
    {"Created by", "created_by", FOTACTL_TEXT},
    {"Revoked", "revoked", FOTACTL_TIME},
    {"Token", "secret", FOTACTL_TEXT},
};

static const fotactl_col_t token_cols[] = {
    {"ID", "id", FOTACTL_TEXT},         {"NAME", "name", FOTACTL_TEXT},
    {"ROLE", "role", FOTACTL_TEXT},     {"CREATED", "created", FOTACTL_TIME},
    {"BY", "created_by", FOTACTL_TEXT}, {"REVOKED", "revoked", FOTACTL_TIME},
};

static const fotactl_col_t audit_cols[] = {
    {"SEQ", "seq", FOTACTL_NUMBER},     {"TIME", "time", FOTACTL_TIME},
    {"TOKEN", "token", FOTACTL_TEXT},   {"ROLE", "role", FOTACTL_TEXT},
    {"ACTION", "action", FOTACTL_TEXT}, {"TARGET", "target", FOTACTL_TEXT},
    {"CLIENT", "client", FOTACTL_TEXT}, {"STATUS", "status", FOTACTL_NUMBER},
};

/* A token id as fotad makes them, or "bootstrap" when `bootstrap` allows it. */
static bool token_id_ok(const char *id, bool bootstrap)
{
    if (bootstrap && strcmp(id, "bootstrap") == 0) {
        return true;
    }
    size_t n = strlen(id);
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i])) {
            return false;
        }
    }
    return n == TOKEN_ID_LEN;
}

int fotactl_token_create(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *name = NULL;
    const char *role = NULL;
    const fota_cli_opt_t extra[] = {
        {"name", 0, &name, NULL}, {"role", 0, &role, NULL}, {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {NULL, NULL, NULL, 0, 0, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_TOKEN, cmd, &spec, extra, argc, argv, &c, &rc)) {
        return rc;
    }
    if (name == NULL || name[0] == '\0') {
        rc = fota_cli_usage_error(FOTACTL_TOKEN, cmd, "--name N is required");
    } else if (role == NULL || (strcmp(role, "viewer") != 0 && strcmp(role, "operator") != 0 &&
                                strcmp(role, "admin") != 0)) {
        rc = fota_cli_usage_error(FOTACTL_TOKEN, cmd, "--role is viewer, operator or admin");
    } else {
        cJSON *body = cJSON_CreateObject();
        char *text = NULL;
        if (body != NULL && cJSON_AddStringToObject(body, "name", name) != NULL &&
            cJSON_AddStringToObject(body, "role", role) != NULL) {
            text = cJSON_PrintUnformatted(body);
        }
        cJSON_Delete(body);
        static const fotactl_view_t v = {.fields = token_fields,
                                         .n_fields = FOTACTL_N(token_fields)};
        rc = fotactl_post_json(&c, "/api/admin/tokens", text, "token create", &v);
        if (rc == 0 && !c.json) {
            fprintf(stderr, "%s: the token is shown this once; fotad keeps only its SHA-256\n",
                    FOTACTL_TOKEN);
        }
    }
    fotactl_conn_free(&c);
    return rc;
}

int fotactl_token_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fotactl_view_t v = {.cols = token_cols,
                                     .n_cols = FOTACTL_N(token_cols),
                                     .member = "tokens",
                                     .empty = "no tokens (only the bootstrap token)",
                                     .what = "token list"};
    return fotactl_list_cmd(FOTACTL_TOKEN, cmd, argc, argv, "/api/admin/tokens", &v);
}

int fotactl_token_revoke(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "ID", 1, 1, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_TOKEN, cmd, &spec, NULL, argc, argv, &c, &rc)) {
        return rc;
    }
    if (!token_id_ok(pos[0], false)) {
        rc = fota_cli_usage_error(FOTACTL_TOKEN, cmd, "ID: a token's id (12 hex digits)");
    } else {
        char path[64];
        snprintf(path, sizeof path, "/api/admin/tokens/%s/revoke", pos[0]);
        static const fotactl_view_t v = {.fields = token_fields,
                                         .n_fields = FOTACTL_N(token_fields) - 1u};
        rc = fotactl_post_json(&c, path, strdup("{}"), pos[0], &v);
    }
    fotactl_conn_free(&c);
    return rc;
}

typedef struct {
    const char *limit, *token, *since, *before;
} audit_opts_t;

/* The query of `fotactl audit`, or a usage error's text. */
static const char *audit_path(const audit_opts_t *o, char *path, size_t cap)
{
    uint32_t n = 0;
    if (o->limit != NULL &&
        (fota_cli_parse_u32(o->limit, AUDIT_LIMIT_MAX, &n) != FOTA_OK || n == 0)) {
        return "--limit is a number from 1 to 1000";
    }
    if (o->token != NULL && !token_id_ok(o->token, true)) {
        return "--token-id is a token's id or bootstrap";
    }
    if ((o->since != NULL && fota_cli_parse_u32(o->since, UINT32_MAX, &n) != FOTA_OK) ||
        (o->before != NULL && fota_cli_parse_u32(o->before, UINT32_MAX, &n) != FOTA_OK)) {
        return "--since and --before are numbers";
    }
    snprintf(path, cap, "/api/admin/audit?limit=%s%s%s%s%s%s%s", o->limit != NULL ? o->limit : "50",
             o->token != NULL ? "&token=" : "", o->token != NULL ? o->token : "",
             o->since != NULL ? "&since=" : "", o->since != NULL ? o->since : "",
             o->before != NULL ? "&before=" : "", o->before != NULL ? o->before : "");
    return NULL;
}

/* The page's table, and the command for the next one when there is more. */
static void print_audit(const cJSON *js)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(js, "audit");
    fotactl_table(rows, audit_cols, FOTACTL_N(audit_cols), "no audit entries");
    const cJSON *last = cJSON_GetArrayItem(rows, cJSON_GetArraySize(rows) - 1);
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(last, "seq");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(js, "more")) && cJSON_IsNumber(seq)) {
        printf("(more: --before %.0f)\n", seq->valuedouble);
    }
}

int fotactl_audit(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    audit_opts_t o = {0};
    const fota_cli_opt_t extra[] = {{"limit", 0, &o.limit, NULL},
                                    {"token-id", 0, &o.token, NULL},
                                    {"since", 0, &o.since, NULL},
                                    {"before", 0, &o.before, NULL},
                                    {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {NULL, NULL, NULL, 0, 0, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL, cmd, &spec, extra, argc, argv, &c, &rc)) {
        return rc;
    }
    char path[160];
    const char *why = audit_path(&o, path, sizeof path);
    if (why != NULL) {
        fotactl_conn_free(&c);
        return fota_cli_usage_error(FOTACTL, cmd, "%s", why);
    }
    fotactl_req_t r = {"GET", path, NULL, NULL, 0, false, "audit"};
    long status;
    cJSON *js = NULL;
    rc = fotactl_request(&c, &r, &status, &js);
    if (rc == 0 && c.json) {
        fotactl_print_json(js);
    } else if (rc == 0) {
        print_audit(js);
    }
    cJSON_Delete(js);
    fotactl_conn_free(&c);
    return rc;
}
