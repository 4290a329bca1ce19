/*
 * router.c - the route table and the request steps around the handlers (router.h).
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

#include "admin_auth.h"
#include "api.h"
#include "log.h"

#define DEV FOTAD_DEVICE_PREFIX
#define ADM FOTAD_ADMIN_PREFIX

static const fotad_route_t routes[] = {
    {"GET", "/healthz", FOTAD_AUTH_NONE, 0, fotad_api_health, NULL},
    {"GET", DEV "check", FOTAD_AUTH_DEVICE, 0, fotad_api_check, NULL},
    {"GET", DEV "manifest", FOTAD_AUTH_DEVICE, 0, fotad_api_manifest, NULL},
    {"GET", DEV "chunk", FOTAD_AUTH_DEVICE, 0, fotad_api_chunk, fotad_api_legacy_chunk},
    {"GET", DEV "blob/" FOTAD_PARAM, FOTAD_AUTH_DEVICE, 0, fotad_api_blob, NULL},
    {"POST", DEV "report", FOTAD_AUTH_DEVICE, FOTAD_REPORT_MAX, fotad_api_report, NULL},
    {"POST", DEV "enroll", FOTAD_AUTH_NONE, FOTAD_ENROLL_MAX, fotad_api_enroll, NULL},
    {"POST", ADM "releases", FOTAD_AUTH_ADMIN, FOTAD_UPLOAD_LIMIT, fotad_api_release_upload, NULL},
    {"GET", ADM "releases", FOTAD_AUTH_ADMIN, 0, fotad_api_release_list, NULL},
    {"GET", ADM "releases/" FOTAD_PARAM, FOTAD_AUTH_ADMIN, 0, fotad_api_release_get, NULL},
    {"GET", ADM "devices", FOTAD_AUTH_ADMIN, 0, fotad_api_device_list, NULL},
    {"GET", ADM "overview", FOTAD_AUTH_ADMIN, 0, fotad_api_overview, NULL},
    {"GET", ADM "whoami", FOTAD_AUTH_ADMIN, 0, fotad_api_whoami, NULL},
    {"GET", "/", FOTAD_AUTH_NONE, 0, fotad_api_console, NULL},
    {"GET", "/console/" FOTAD_PARAM, FOTAD_AUTH_NONE, 0, fotad_api_console, NULL},
    {"GET", ADM "devices/" FOTAD_PARAM, FOTAD_AUTH_ADMIN, 0, fotad_api_device_get, NULL},
    {"POST", ADM "assignments", FOTAD_AUTH_ADMIN, FOTAD_ADMIN_JSON_MAX, fotad_api_assign, NULL},
    {"GET", ADM "assignments", FOTAD_AUTH_ADMIN, 0, fotad_api_assignment_list, NULL},
    {"POST", ADM "products", FOTAD_AUTH_ADMIN, FOTAD_ADMIN_JSON_MAX, fotad_api_product_create,
     NULL},
    {"GET", ADM "products", FOTAD_AUTH_ADMIN, 0, fotad_api_product_list, NULL},
    {"GET", ADM "products/" FOTAD_PARAM, FOTAD_AUTH_ADMIN, 0, fotad_api_product_get, NULL},
    {"GET", ADM "legacy", FOTAD_AUTH_ADMIN, 0, fotad_api_legacy_get, NULL},
    {"POST", ADM "legacy", FOTAD_AUTH_ADMIN, FOTAD_ADMIN_JSON_MAX, fotad_api_legacy_set, NULL},
    {"GET", ADM "enrollments", FOTAD_AUTH_ADMIN, 0, fotad_api_enrollment_list, NULL},
    {"POST", ADM "enrollments/approve", FOTAD_AUTH_ADMIN, FOTAD_DECIDE_MAX,
     fotad_api_enrollment_approve, NULL},
    {"POST", ADM "enrollments/reject", FOTAD_AUTH_ADMIN, FOTAD_DECIDE_MAX,
     fotad_api_enrollment_reject, NULL},
    {"POST", ADM "enrollments/delete", FOTAD_AUTH_ADMIN, FOTAD_DECIDE_MAX,
     fotad_api_enrollment_delete, NULL},
    {"POST", ADM "device-tags", FOTAD_AUTH_ADMIN, FOTAD_ADMIN_JSON_MAX, fotad_api_device_tags,
     NULL},
    {"POST", ADM "rollouts", FOTAD_AUTH_ADMIN, FOTAD_ADMIN_JSON_MAX, fotad_api_rollout_create,
     NULL},
    {"GET", ADM "rollouts", FOTAD_AUTH_ADMIN, 0, fotad_api_rollout_list, NULL},
    {"GET", ADM "rollouts/" FOTAD_PARAM, FOTAD_AUTH_ADMIN, 0, fotad_api_rollout_get, NULL},
    {"GET", ADM "rollouts/" FOTAD_PARAM "/history", FOTAD_AUTH_ADMIN, 0, fotad_api_rollout_history,
     NULL},
    {"POST", ADM "rollouts/" FOTAD_PARAM "/start", FOTAD_AUTH_ADMIN, FOTAD_ROLLOUT_ACTION_MAX,
     fotad_api_rollout_start, NULL},
    {"POST", ADM "rollouts/" FOTAD_PARAM "/pause", FOTAD_AUTH_ADMIN, FOTAD_ROLLOUT_ACTION_MAX,
     fotad_api_rollout_pause, NULL},
    {"POST", ADM "rollouts/" FOTAD_PARAM "/resume", FOTAD_AUTH_ADMIN, FOTAD_ROLLOUT_ACTION_MAX,
     fotad_api_rollout_resume, NULL},
    {"POST", ADM "rollouts/" FOTAD_PARAM "/cancel", FOTAD_AUTH_ADMIN, FOTAD_ROLLOUT_ACTION_MAX,
     fotad_api_rollout_cancel, NULL},
    {"POST", ADM "rollouts/" FOTAD_PARAM "/install", FOTAD_AUTH_ADMIN, FOTAD_ROLLOUT_ACTION_MAX,
     fotad_api_rollout_install, NULL},
    {"POST", ADM "rollouts/" FOTAD_PARAM "/update", FOTAD_AUTH_ADMIN, FOTAD_ADMIN_JSON_MAX,
     fotad_api_rollout_update, NULL},
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

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

static unsigned check_admin(const fotad_app_t *app, const char *authorization, fotad_resp_t *resp)
{
    unsigned status = fotad_admin_auth(app->admin_token_sha256, authorization);
    if (status == 401) {
        fotad_resp_error(resp, 401, "unauthorized", "missing or malformed bearer token");
        fotad_resp_header(resp, "WWW-Authenticate", "Bearer");
    } else if (status == 403) {
        fotad_resp_error(resp, 403, "forbidden", "wrong admin token");
    }
    return status;
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
    unsigned status = 0;
    if (m->route->auth == FOTAD_AUTH_ADMIN) {
        status = check_admin(app, authorization, resp);
    }
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
}
