/*
 * api_tokens.c - the admin API's roles, tokens and audit log (docs/ADMIN_API.md, "Roles and
 * tokens", "Audit log"): who am I, make / list / revoke a token, read the audit log. The router
 * has checked the token and its role (router.c's table) and records every change in the log.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "json_codec.h"
#include "log.h"
#include "tokens.h"

#define AUDIT_LIMIT_DEFAULT 100u
#define AUDIT_LIMIT_MAX 1000u

void fotad_api_whoami(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)app;
    cJSON *obj = cJSON_CreateObject();
    if (obj != NULL) {
        cJSON_AddStringToObject(obj, "token", req->admin->token);
        cJSON_AddStringToObject(obj, "name", req->admin->name);
        cJSON_AddStringToObject(obj, "role", fotad_role_name(req->admin->role));
    }
    fotad_resp_json(resp, 200, obj);
}

/* A token's row as the API shows it: never its digest. */
static cJSON *json_token(const fotad_token_rec_t *t)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddStringToObject(o, "id", t->id) == NULL ||
        cJSON_AddStringToObject(o, "name", t->name) == NULL ||
        cJSON_AddStringToObject(o, "role", t->role) == NULL ||
        cJSON_AddNumberToObject(o, "created", (double)t->created) == NULL ||
        cJSON_AddStringToObject(o, "created_by", t->created_by) == NULL ||
        cJSON_AddNumberToObject(o, "revoked", (double)t->revoked) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static const char *token_parse(const fotad_req_t *req, char name[FOTAD_TOKEN_NAME_MAX + 1],
                               fotad_role_t *role)
{
    const char *why = NULL;
    cJSON *obj = fotad_json_parse_object(req->body, req->body_len, &why);
    char text[FOTAD_ROLE_NAME_MAX + 1];
    if (obj != NULL && (fotad_json_string(obj, "name", name, FOTAD_TOKEN_NAME_MAX + 1) != FOTA_OK ||
                        !fotad_tokens_name_ok(name))) {
        why = "missing or invalid field name (1 to 64 characters, no control characters)";
    } else if (obj != NULL && (fotad_json_string(obj, "role", text, sizeof text) != FOTA_OK ||
                               (*role = fotad_role_parse(text)) == FOTAD_ROLE_NONE)) {
        why = "missing or invalid field role (viewer, operator or admin)";
    }
    cJSON_Delete(obj);
    return why;
}

void fotad_api_token_create(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    char name[FOTAD_TOKEN_NAME_MAX + 1];
    fotad_role_t role = FOTAD_ROLE_NONE;
    const char *why = token_parse(req, name, &role);
    if (why != NULL) {
        fotad_resp_error(resp, 400, "bad_request", "token: %s", why);
        return;
    }
    fotad_token_rec_t t;
    char text[FOTAD_TOKEN_TEXT_LEN + 1];
    fota_err_t err = fotad_tokens_create(&app->store, name, fotad_role_name(role),
                                         req->admin->token, fotad_now(), &t, text);
    if (err != FOTA_OK) {
        fotad_resp_internal(resp, "making the token", err);
        return;
    }
    FOTAD_INFO("token %s (%s): made by %s, role %s", t.id, t.name, t.created_by, t.role);
    snprintf(resp->audit_target, sizeof resp->audit_target, "%s", t.id);
    cJSON *obj = json_token(&t);
    if (obj != NULL && cJSON_AddStringToObject(obj, "secret", text) == NULL) {
        cJSON_Delete(obj);
        obj = NULL;
    }
    memset(text, 0, sizeof text);
    fotad_resp_json(resp, 201, obj);
}

typedef struct {
    cJSON *array;
} token_list_t;

static fota_err_t collect_token(void *arg, const fotad_token_rec_t *t)
{
    token_list_t *l = arg;
    cJSON *item = json_token(t);
    if (item == NULL || !cJSON_AddItemToArray(l->array, item)) {
        cJSON_Delete(item);
        return FOTA_ERR_NO_MEM;
    }
    return FOTA_OK;
}

/* {"name": array} or the failure; takes the array. */
static void send_array(fotad_resp_t *resp, const char *name, cJSON *array, fota_err_t err,
                       cJSON *obj)
{
    if (obj == NULL || err != FOTA_OK || !cJSON_AddItemToObject(obj, name, array)) {
        cJSON_Delete(obj);
        cJSON_Delete(array);
        fotad_resp_internal(resp, name, err != FOTA_OK ? err : FOTA_ERR_NO_MEM);
        return;
    }
    fotad_resp_json(resp, 200, obj);
}

void fotad_api_token_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)req;
    token_list_t l = {cJSON_CreateArray()};
    fota_err_t err = l.array != NULL ? app->store.ops->token_list(app->store.ctx, collect_token, &l)
                                     : FOTA_ERR_NO_MEM;
    send_array(resp, "tokens", l.array, err, cJSON_CreateObject());
}

void fotad_api_token_revoke(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    if (!fotad_tokens_id_ok(req->param)) {
        fotad_resp_error(resp, 404, "not_found", "no such token");
        return;
    }
    bool changed = false;
    fota_err_t err =
        app->store.ops->token_revoke(app->store.ctx, req->param, fotad_now(), &changed);
    fotad_token_rec_t t;
    if (err == FOTA_OK) {
        err = app->store.ops->token_get(app->store.ctx, req->param, &t);
    }
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such token");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "revoking the token", err);
    } else {
        if (changed) {
            FOTAD_INFO("token %s (%s): revoked by %s", t.id, t.name, req->admin->token);
        }
        fotad_resp_json(resp, 200, json_token(&t));
    }
}

/* ---- the audit log ------------------------------------------------------------------------ */

static cJSON *json_audit(const fotad_audit_rec_t *a)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || cJSON_AddNumberToObject(o, "seq", (double)a->seq) == NULL ||
        cJSON_AddNumberToObject(o, "time", (double)a->time) == NULL ||
        cJSON_AddStringToObject(o, "token", a->token) == NULL ||
        cJSON_AddStringToObject(o, "role", a->role) == NULL ||
        cJSON_AddStringToObject(o, "action", a->action) == NULL ||
        cJSON_AddStringToObject(o, "target", a->target) == NULL ||
        cJSON_AddStringToObject(o, "client", a->client) == NULL ||
        cJSON_AddNumberToObject(o, "status", a->status) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

typedef struct {
    cJSON *array;
    uint32_t limit;
    uint32_t n;
    bool more;
} audit_list_t;

static fota_err_t collect_audit(void *arg, const fotad_audit_rec_t *a)
{
    audit_list_t *l = arg;
    if (l->n == l->limit) {
        l->more = true; /* the one row past the page: there is a next page */
        return FOTA_ERR_RANGE;
    }
    cJSON *item = json_audit(a);
    if (item == NULL || !cJSON_AddItemToArray(l->array, item)) {
        cJSON_Delete(item);
        return FOTA_ERR_NO_MEM;
    }
    l->n++;
    return FOTA_OK;
}

/* A numeric query parameter of at most max (absent: *out unchanged); false if malformed. */
static bool query_u64(const fotad_req_t *req, const char *name, uint64_t max, int64_t *out)
{
    uint64_t n = (uint64_t)*out;
    bool ok = fotad_query_u64(req->query, name, 0, max, &n);
    *out = (int64_t)n;
    return ok;
}

/* The listing's query from the request's parameters, or the text of a 400. */
static const char *audit_query(const fotad_req_t *req, fotad_audit_query_t *q)
{
    int64_t limit = AUDIT_LIMIT_DEFAULT;
    memset(q, 0, sizeof *q);
    q->token = fotad_query_get(req->query, "token");
    q->action = fotad_query_get(req->query, "action");
    if (!query_u64(req, "limit", AUDIT_LIMIT_MAX, &limit) || limit == 0) {
        return "limit: a number from 1 to 1000";
    }
    if (!query_u64(req, "before", INT64_MAX, &q->before) ||
        !query_u64(req, "after", INT64_MAX, &q->after) ||
        !query_u64(req, "since", INT64_MAX, &q->since)) {
        return "before, after and since: non-negative integers";
    }
    if ((q->token != NULL && strlen(q->token) > FOTAD_WHO_MAX) ||
        (q->action != NULL && strlen(q->action) > FOTAD_ACTION_MAX)) {
        return "token or action too long";
    }
    q->limit = (uint32_t)limit + 1u; /* one more: is there a next page? */
    return NULL;
}

void fotad_api_audit_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_audit_query_t q;
    const char *why = audit_query(req, &q);
    if (why != NULL) {
        fotad_resp_error(resp, 400, "bad_request", "audit: %s", why);
        return;
    }
    audit_list_t l = {cJSON_CreateArray(), q.limit - 1u, 0, false};
    fota_err_t err = l.array != NULL
                         ? app->store.ops->audit_list(app->store.ctx, &q, collect_audit, &l)
                         : FOTA_ERR_NO_MEM;
    err = err == FOTA_ERR_RANGE && l.more ? FOTA_OK : err;
    cJSON *obj = cJSON_CreateObject();
    if (obj != NULL && cJSON_AddBoolToObject(obj, "more", l.more) == NULL) {
        cJSON_Delete(obj);
        obj = NULL;
    }
    send_array(resp, "audit", l.array, err, obj);
}
