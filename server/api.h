/*
 * api.h - the API handlers: each parses and validates its request, calls a service, and fills
 * the response (status, JSON or bytes). Handlers never see SQL or libmicrohttpd.
 *   api_device.c  device API, docs/PROTOCOL.md section 4 (the device is already authenticated)
 *   api_admin.c   admin API, docs/ADMIN_API.md (the bearer token is already checked)
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

/* GET /healthz */
void fotad_api_health(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

#endif /* FOTAD_API_H */
