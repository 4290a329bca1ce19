/*
 * api.h - the API handlers: each parses and validates its request, calls a service, and fills
 * the response (status, JSON or bytes). Handlers never see SQL or libmicrohttpd.
 *   api_device.c  device API, docs/PROTOCOL.md section 4 (the device is already authenticated)
 *   api_admin.c   admin API, docs/ADMIN_API.md (the bearer token is already checked)
 *   api_legacy.c  the legacy bridge: unauthenticated chunks, enrollment, their admin API
 *   api_tokens.c  who am I, admin tokens, the audit log
 */
#ifndef FOTAD_API_H
#define FOTAD_API_H

#include "app.h"
#include "httpmsg.h"

/* Device API */
void fotad_api_check(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_manifest(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_chunk(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_blob(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_report(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

/* Admin API */
void fotad_api_release_upload(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_release_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_release_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_device_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_device_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_assign(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_assignment_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_product_create(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_product_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_product_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

/* The fleet at a glance for the operator console (api_fleet.c). */
void fotad_api_overview(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
/* GET /api/admin/devices with any of limit, after, q, product, version, state, errors: a page. */
bool fotad_api_devices_paged(const fotad_req_t *req);
void fotad_api_device_page(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

/* The operator console's files at / and /console/NAME (api_console.c, docs/CONSOLE.md). */
void fotad_api_console(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

/* Rollouts and device tags (api_rollouts.c, docs/ADMIN_API.md "Rollouts"). */
#define FOTAD_ROLLOUT_ACTION_MAX 1024u /* the body of start, pause, resume, cancel, install */
void fotad_api_device_tags(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_create(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_history(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_start(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_pause(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_resume(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_cancel(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_install(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_rollout_update(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

/* Roles, tokens and the audit log (api_tokens.c, docs/ADMIN_API.md "Roles and tokens"). */
void fotad_api_whoami(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_token_create(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_token_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_token_revoke(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_audit_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

/* GET /healthz */
/* The legacy bridge (api_legacy.c, docs/MIGRATION.md). */
#define FOTAD_ENROLL_MAX 256u   /* an enrollment request's body */
#define FOTAD_DECIDE_MAX 65536u /* a list of device ids to approve, reject or delete */
void fotad_api_legacy_chunk(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_enroll(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_legacy_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_legacy_set(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_enrollment_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_enrollment_approve(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_enrollment_reject(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
void fotad_api_enrollment_delete(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);
/* device_auth.h's enrolled-key lookup over app->legacy (arg). */
fota_err_t fotad_api_enrolled_key(void *arg, const char *id, uint8_t key[32]);
/* A seed-mode chunk answer: chunk n of rel MAC'd with key (key_len bytes) in field mac_field. */
void fotad_api_send_chunk(const fotad_release_t *rel, uint32_t n, const uint8_t *key,
                          size_t key_len, const char *mac_field, fotad_resp_t *resp);
bool fotad_api_parse_chunk_number(const char *s, uint64_t *out);

/* GET /metrics: the Prometheus text format (api_metrics.c, docs/SERVER.md "Metrics"). */
void fotad_api_metrics(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

void fotad_api_health(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

#endif /* FOTAD_API_H */
