/*
 * router.c - the route table and the request steps around the handlers (router.h).
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

#include "admin_auth.h"
#include "api.h"
#include "log.h"
#include "tokens.h"

#define DEV FOTAD_DEVICE_PREFIX
#define ADM FOTAD_ADMIN_PREFIX

/*
 * Every route, and for each admin route the least role that may call it (docs/ADMIN_API.md,
 * "Roles and tokens"): viewer reads, operator also runs the fleet (assignments, device tags,
 * rollouts and their actions, enrollments), admin also changes what the fleet is made of
 * (releases, products, the legacy bridge) and who may act (tokens, the audit log).
 */
#define NONE FOTAD_AUTH_NONE, FOTAD_ROLE_NONE
#define DEVICE FOTAD_AUTH_DEVICE, FOTAD_ROLE_NONE
#define VIEWER FOTAD_AUTH_ADMIN, FOTAD_ROLE_VIEWER
#define OPERATOR FOTAD_AUTH_ADMIN, FOTAD_ROLE_OPERATOR
#define ADMIN FOTAD_AUTH_ADMIN, FOTAD_ROLE_ADMIN
/* /metrics: any valid admin token (no role needed beyond one), or none with metrics_open */
#define METRICS FOTAD_AUTH_METRICS, FOTAD_ROLE_NONE
#define JSON_MAX FOTAD_ADMIN_JSON_MAX
#define ACTION_MAX FOTAD_ROLLOUT_ACTION_MAX
#define RO ADM "rollouts/" FOTAD_PARAM

static const fotad_route_t routes[] = {
    {"GET", "/healthz", NONE, 0, fotad_api_health, NULL},
    {"GET", "/metrics", METRICS, 0, fotad_api_metrics, NULL},
    {"GET", DEV "check", DEVICE, 0, fotad_api_check, NULL},
    {"GET", DEV "manifest", DEVICE, 0, fotad_api_manifest, NULL},
    {"GET", DEV "chunk", DEVICE, 0, fotad_api_chunk, fotad_api_legacy_chunk},
    {"GET", DEV "blob/" FOTAD_PARAM, DEVICE, 0, fotad_api_blob, NULL},
    {"POST", DEV "report", DEVICE, FOTAD_REPORT_MAX, fotad_api_report, NULL},
    {"POST", DEV "enroll", NONE, FOTAD_ENROLL_MAX, fotad_api_enroll, NULL},
    {"POST", ADM "releases", ADMIN, FOTAD_UPLOAD_LIMIT, fotad_api_release_upload, NULL},
    {"GET", ADM "releases", VIEWER, 0, fotad_api_release_list, NULL},
    {"GET", ADM "releases/" FOTAD_PARAM, VIEWER, 0, fotad_api_release_get, NULL},
    {"GET", ADM "devices", VIEWER, 0, fotad_api_device_list, NULL},
    {"GET", ADM "overview", VIEWER, 0, fotad_api_overview, NULL},
    {"GET", "/", NONE, 0, fotad_api_console, NULL},
    {"GET", "/console/" FOTAD_PARAM, NONE, 0, fotad_api_console, NULL},
    {"GET", ADM "devices/" FOTAD_PARAM, VIEWER, 0, fotad_api_device_get, NULL},
    {"POST", ADM "assignments", OPERATOR, JSON_MAX, fotad_api_assign, NULL},
    {"GET", ADM "assignments", VIEWER, 0, fotad_api_assignment_list, NULL},
    {"POST", ADM "products", ADMIN, JSON_MAX, fotad_api_product_create, NULL},
    {"GET", ADM "products", VIEWER, 0, fotad_api_product_list, NULL},
    {"GET", ADM "products/" FOTAD_PARAM, VIEWER, 0, fotad_api_product_get, NULL},
    {"GET", ADM "legacy", VIEWER, 0, fotad_api_legacy_get, NULL},
    {"POST", ADM "legacy", ADMIN, JSON_MAX, fotad_api_legacy_set, NULL},
    {"GET", ADM "enrollments", VIEWER, 0, fotad_api_enrollment_list, NULL},
    {"POST", ADM "enrollments/approve", OPERATOR, FOTAD_DECIDE_MAX, fotad_api_enrollment_approve,
     NULL},
    {"POST", ADM "enrollments/reject", OPERATOR, FOTAD_DECIDE_MAX, fotad_api_enrollment_reject,
     NULL},
    {"POST", ADM "enrollments/delete", OPERATOR, FOTAD_DECIDE_MAX, fotad_api_enrollment_delete,
     NULL},
    {"POST", ADM "device-tags", OPERATOR, JSON_MAX, fotad_api_device_tags, NULL},
    {"POST", ADM "rollouts", OPERATOR, JSON_MAX, fotad_api_rollout_create, NULL},
    {"GET", ADM "rollouts", VIEWER, 0, fotad_api_rollout_list, NULL},
    {"GET", RO, VIEWER, 0, fotad_api_rollout_get, NULL},
    {"GET", RO "/history", VIEWER, 0, fotad_api_rollout_history, NULL},
    {"POST", RO "/start", OPERATOR, ACTION_MAX, fotad_api_rollout_start, NULL},
    {"POST", RO "/pause", OPERATOR, ACTION_MAX, fotad_api_rollout_pause, NULL},
    {"POST", RO "/resume", OPERATOR, ACTION_MAX, fotad_api_rollout_resume, NULL},
    {"POST", RO "/cancel", OPERATOR, ACTION_MAX, fotad_api_rollout_cancel, NULL},
    {"POST", RO "/install", OPERATOR, ACTION_MAX, fotad_api_rollout_install, NULL},
    {"POST", RO "/update", OPERATOR, JSON_MAX, fotad_api_rollout_update, NULL},
    {"GET", ADM "whoami", VIEWER, 0, fotad_api_whoami, NULL},
    {"POST", ADM "tokens", ADMIN, JSON_MAX, fotad_api_token_create, NULL},
    {"GET", ADM "tokens", ADMIN, 0, fotad_api_token_list, NULL},
    {"POST", ADM "tokens/" FOTAD_PARAM "/revoke", ADMIN, ACTION_MAX, fotad_api_token_revoke, NULL},
    {"GET", ADM "audit", ADMIN, 0, fotad_api_audit_list, NULL},
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

_Static_assert(N_ROUTES <= FOTAD_METRICS_ROUTES_MAX, "the metrics registry knows every route");

size_t fotad_router_count(void)
{
    return N_ROUTES;
}

size_t fotad_router_index(const fotad_route_t *route)
{
    return route != NULL ? (size_t)(route - routes) : N_ROUTES;
}

size_t fotad_router_metrics_routes(fotad_metrics_route_t *out, size_t cap)
{
    size_t n = N_ROUTES < cap ? N_ROUTES : cap;
    for (size_t i = 0; i < n; i++) {
        out[i].method = routes[i].method;
        out[i].path = routes[i].path;
        out[i].served = routes[i].fn == fotad_api_blob    ? FOTAD_SERVED_BLOB
                        : routes[i].fn == fotad_api_chunk ? FOTAD_SERVED_CHUNK
                                                          : FOTAD_SERVED_NONE;
    }
    return n;
}

const fotad_route_t *fotad_router_routes(size_t *n)
{
    *n = N_ROUTES;
    return routes;
}

/* The path matches the route's pattern; the parameter segment (if any) into param. */
static int path_matches(const fotad_route_t *r, const char *path, char *param)
{
    const char *mark = strstr(r->path, FOTAD_PARAM);
    if (mark == NULL) {
        return strcmp(path, r->path) == 0;
    }
    size_t pre = (size_t)(mark - r->path);
    const char *suffix = mark + strlen(FOTAD_PARAM);
    if (strncmp(path, r->path, pre) != 0) {
        return 0;
    }
    const char *seg = path + pre;
    size_t n = strcspn(seg, "/");
    if (n == 0 || n > FOTAD_PARAM_MAX || strcmp(seg + n, suffix) != 0) {
        return 0;
    }
    memcpy(param, seg, n);
    param[n] = '\0';
    return 1;
}

static void add_allow(char *allow, size_t cap, const char *method)
{
    const char *text = strcmp(method, "GET") == 0 ? "GET, HEAD" : method;
    if (strstr(allow, text) == NULL) {
        size_t used = strlen(allow);
        snprintf(allow + used, cap - used, "%s%s", used > 0 ? ", " : "", text);
    }
}

void fotad_router_match(const char *method, const char *path, fotad_match_t *m)
{
    memset(m, 0, sizeof *m);
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    m->status = 404;
    for (size_t i = 0; i < N_ROUTES; i++) {
        char param[FOTAD_PARAM_MAX + 1] = "";
        if (!path_matches(&routes[i], path, param)) {
            continue;
        }
        if (strcmp(routes[i].method, as) == 0) {
            m->route = &routes[i];
            memcpy(m->param, param, sizeof m->param);
            m->status = 0;
            return;
        }
        m->status = 405;
        add_allow(m->allow, sizeof m->allow, routes[i].method);
    }
}

size_t fotad_router_body_limit(const fotad_app_t *app, const fotad_route_t *route)
{
    return route->max_body == FOTAD_UPLOAD_LIMIT ? app->cfg->max_upload : route->max_body;
}

static void route_error(const fotad_match_t *m, const char *method, fotad_resp_t *resp)
{
    if (m->status == 405) {
        fotad_resp_error(resp, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)",
                         method, m->allow);
        fotad_resp_header(resp, "Allow", "%s", m->allow);
    } else {
        fotad_resp_error(resp, 404, "not_found", "no such endpoint");
    }
}

static unsigned check_length(const fotad_app_t *app, const fotad_match_t *m,
                             const char *content_length, fotad_resp_t *resp)
{
    uint64_t declared = 0;
    size_t limit = fotad_router_body_limit(app, m->route);
    if (content_length == NULL || !fotad_parse_u64(content_length, UINT64_MAX, &declared) ||
        declared <= limit) {
        return 0; /* no or unparsable header: libmicrohttpd frames the body; counted as read */
    }
    fotad_resp_error(resp, 413, "too_large", "body of %llu bytes; the limit here is %zu",
                     (unsigned long long)declared, limit);
    return 413;
}

/* 403 for a token whose role is below the route's: the error names the role needed, also as
 * "required_role" for programs. */
static void role_refused(const fotad_match_t *m, fotad_resp_t *resp)
{
    const char *need = fotad_role_name(m->route->role);
    fotad_resp_error(resp, 403, "forbidden", "this needs the role %s; token %s has the role %s",
                     need, m->who.token, fotad_role_name(m->who.role));
    cJSON *json = cJSON_CreateObject();
    if (json != NULL && cJSON_AddStringToObject(json, "error", resp->error_text) != NULL &&
        cJSON_AddStringToObject(json, "code", "forbidden") != NULL &&
        cJSON_AddStringToObject(json, "required_role", need) != NULL) {
        fotad_resp_free(resp);
        fotad_resp_json(resp, 403, json); /* error_code and error_text stay for the log */
    } else {
        cJSON_Delete(json);
    }
}

static unsigned check_admin(fotad_app_t *app, const char *authorization, fotad_match_t *m,
                            fotad_resp_t *resp)
{
    unsigned status =
        fotad_admin_auth(app->admin_token_sha256, &app->store, authorization, &m->who);
    if (status == 401) {
        fotad_resp_error(resp, 401, "unauthorized", "missing or malformed bearer token");
        fotad_resp_header(resp, "WWW-Authenticate", "Bearer");
    } else if (status == 403) {
        fotad_resp_error(resp, 403, "forbidden", "wrong admin token");
    } else if (status == 503) {
        fotad_resp_internal(resp, "admin token", FOTA_ERR_IO);
    } else if (m->who.role < m->route->role) {
        role_refused(m, resp);
        status = 403;
    }
    return status;
}

/*
 * Who may call the route, checked in this one place: an admin token of the route's role for the
 * admin API, and for /metrics any valid token, whatever its role, unless metrics_open says
 * the scraper needs none.
 */
static unsigned check_access(fotad_app_t *app, const char *authorization, fotad_match_t *m,
                             fotad_resp_t *resp)
{
    fotad_auth_kind_t auth = m->route->auth;
    if (auth == FOTAD_AUTH_ADMIN || (auth == FOTAD_AUTH_METRICS && !app->cfg->metrics_open)) {
        return check_admin(app, authorization, m, resp);
    }
    return 0;
}

/*
 * An encoded NUL in the path of the raw target. libmicrohttpd decodes the path before the router
 * sees it, and a NUL ends that C string: "blob/ID%00junk" would match the route with the id
 * "ID". Such a path names nothing, so it is refused before it is matched.
 */
static bool path_has_encoded_nul(const char *target)
{
    const char *nul = strstr(target, "%00");
    return nul != NULL && (size_t)(nul - target) < strcspn(target, "?");
}

unsigned fotad_router_begin(fotad_app_t *app, const char *method, const char *path,
                            const char *target, const char *content_length,
                            const char *authorization, fotad_match_t *m, fotad_resp_t *resp)
{
    if (strlen(target) > FOTAD_TARGET_MAX) {
        memset(m, 0, sizeof *m);
        fotad_resp_error(resp, 414, "uri_too_long", "request target over %u bytes",
                         FOTAD_TARGET_MAX);
        return 414;
    }
    if (path_has_encoded_nul(target)) {
        memset(m, 0, sizeof *m);
        fotad_resp_error(resp, 400, "bad_request", "%%00 (an encoded NUL) in the request path");
        return 400;
    }
    fotad_router_match(method, path, m);
    if (m->route == NULL) {
        route_error(m, method, resp);
        return m->status;
    }
    /* The token first: a client without it learns nothing, not even the size limits. */
    unsigned status = check_access(app, authorization, m, resp);
    return status != 0 ? status : check_length(app, m, content_length, resp);
}

fotad_device_auth_in_t fotad_router_auth_in(const fotad_req_t *req)
{
    fotad_device_auth_in_t in = {
        req->method,
        req->target,
        fotad_req_header(req, "X-Device-Id"),
        fotad_req_header(req, "X-Fota-Time"),
        fotad_req_header(req, "X-Fota-Nonce"),
        fotad_req_header(req, "X-Fota-Auth"),
        req->body,
        req->body_len,
    };
    return in;
}

/* Authenticate the device of a device route; fills resp with 401 (or 500) when it fails. */
static bool device_auth(fotad_app_t *app, const fotad_req_t *req, fotad_device_cred_t *cred,
                        fotad_resp_t *resp)
{
    fotad_device_auth_cfg_t cfg = {.master = app->master,
                                   .master_len = app->master_len,
                                   .nonces = app->nonces,
                                   .window_s = FOTAD_AUTH_WINDOW_S,
                                   .keys = app->device_keys,
                                   .enrolled = fotad_api_enrolled_key,
                                   .enrolled_arg = app->legacy,
                                   .shared = &app->store};
    fotad_device_auth_in_t in = fotad_router_auth_in(req);
    const char *why = "?";
    fota_err_t err = fotad_device_auth_check(&cfg, &in, fotad_now(), fotad_mono_now(), cred, &why);
    if (err == FOTA_ERR_HTTP_AUTH) {
        fotad_resp_error(resp, 401, "auth", "device authentication failed: %s", why);
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "device authentication", err);
    }
    return err == FOTA_OK;
}

void fotad_router_finish(fotad_app_t *app, const fotad_match_t *m, fotad_req_t *req,
                         fotad_resp_t *resp)
{
    fotad_query_t query;
    const char *q = strchr(req->target, '?');
    fota_err_t err = fotad_query_parse(q != NULL ? q + 1 : NULL, &query);
    if (err != FOTA_OK) {
        fotad_resp_error(resp, 400, "bad_request", "malformed query string (%s)",
                         err == FOTA_ERR_TOO_LARGE ? "too many or too long parameters"
                                                   : "bad escape or repeated name");
        return;
    }
    req->query = &query;
    req->param = m->param[0] != '\0' ? m->param : NULL;
    req->admin = m->route->auth == FOTAD_AUTH_ADMIN ? &m->who : NULL;
    fotad_device_cred_t cred;
    if (m->route->anonymous != NULL && fotad_req_header(req, "X-Device-Id") == NULL &&
        fotad_req_header(req, "X-Fota-Time") == NULL &&
        fotad_req_header(req, "X-Fota-Nonce") == NULL &&
        fotad_req_header(req, "X-Fota-Auth") == NULL) {
        m->route->anonymous(app, req, resp);
        req->query = NULL;
        return;
    }
    if (m->route->auth == FOTAD_AUTH_DEVICE) {
        if (!device_auth(app, req, &cred, resp)) {
            return;
        }
        req->device = &cred;
        snprintf(resp->device, sizeof resp->device, "%s", cred.id);
        err = fotad_devices_touch(app->devices, cred.id, fotad_now(), fotad_mono_now());
        if (err != FOTA_OK) {
            FOTAD_ERROR("device %s: recording last_seen failed (%s)", cred.id, fota_err_name(err));
        }
    }
    m->route->fn(app, req, resp);
    req->query = NULL;
    req->device = NULL;
    req->admin = NULL;
}

bool fotad_router_audited(const fotad_match_t *m, const char *method)
{
    return m->route != NULL && m->route->auth == FOTAD_AUTH_ADMIN &&
           m->who.role != FOTAD_ROLE_NONE && strcmp(method, "GET") != 0 &&
           strcmp(method, "HEAD") != 0;
}

void fotad_router_audit(fotad_app_t *app, const fotad_match_t *m, const char *method,
                        const char *client, const fotad_resp_t *resp)
{
    if (!fotad_router_audited(m, method)) {
        return;
    }
    fotad_audit_rec_t a = {.time = fotad_now(), .status = resp->status};
    snprintf(a.token, sizeof a.token, "%s", m->who.token);
    snprintf(a.role, sizeof a.role, "%s", fotad_role_name(m->who.role));
    snprintf(a.action, sizeof a.action, "%s %s", method, m->route->path);
    snprintf(a.target, sizeof a.target, "%s",
             resp->audit_target[0] != '\0' ? resp->audit_target : m->param);
    snprintf(a.client, sizeof a.client, "%s", client != NULL ? client : "?");
    fotad_audit_record(&app->store, &a);
}
