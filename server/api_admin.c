/*
 * api_admin.c - the admin API handlers (docs/ADMIN_API.md): releases (upload, list, get),
 * devices (list, get with reports), assignments (set, list), and /healthz. The router has
 * checked the bearer token.
 */
#include <string.h>

#include "api.h"
#include "bodies.h"
#include "json_codec.h"
#include "log.h"

#define REPORTS_SHOWN 100u

/* Status and machine code of each upload verdict (docs/ADMIN_API.md). */
static const struct {
    unsigned status;
    const char *code;
} verdict_http[] = {
    [FOTAD_BUNDLE_OK] = {201, "ok"},
    [FOTAD_BUNDLE_SHORT] = {400, "bad_bundle"},
    [FOTAD_BUNDLE_BAD_MANIFEST] = {400, "bad_manifest"},
    [FOTAD_BUNDLE_BAD_SIGNATURE] = {422, "bad_signature"},
    [FOTAD_BUNDLE_BAD_LENGTH] = {400, "bad_bundle"},
    [FOTAD_BUNDLE_CHAIN] = {422, "chain_mismatch"},
    [FOTAD_BUNDLE_IMAGE_SHA256] = {422, "image_sha256"},
    [FOTAD_BUNDLE_BAD_IMAGE] = {422, "bad_image"},
    [FOTAD_BUNDLE_FAILED] = {500, "internal"},
};

static void refuse_upload(const fotad_upload_t *up, fotad_resp_t *resp)
{
    const char *text = fotad_bundle_verdict_text(up->verdict);
    fota_err_t detail = up->bundle.detail;
    if (up->verdict == FOTAD_BUNDLE_CHAIN) {
        fotad_resp_error(resp, 422, "chain_mismatch", "%s: record %u", text, up->bundle.bad_record);
        return;
    }
    fotad_resp_error(resp, verdict_http[up->verdict].status, verdict_http[up->verdict].code,
                     "%s (%s)", text, fota_err_name(detail));
}

void fotad_api_release_upload(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_upload_t up;
    fota_err_t err =
        fotad_releases_upload(app->releases, req->body, req->body_len, fotad_now(), &up);
    if (err == FOTA_ERR_ARG) {
        refuse_upload(&up, resp);
        return;
    }
    if (err != FOTA_OK) {
        fotad_resp_internal(resp, "storing the release", err);
        return;
    }
    FOTAD_INFO("release %s %s %s: %s (%u bytes, %u chunks)", up.rec.id, up.rec.product,
               up.rec.version, up.created ? "stored" : "already stored", up.rec.image_size,
               up.rec.chunk_count);
    fotad_resp_json(resp, up.created ? 201 : 200, fotad_json_release(&up.rec));
}

/* Collects records into a JSON array as a store list walks them. */
typedef struct {
    cJSON *array;
} collect_t;

static fota_err_t collect(collect_t *c, cJSON *item)
{
    if (item == NULL || !cJSON_AddItemToArray(c->array, item)) {
        cJSON_Delete(item);
        return FOTA_ERR_NO_MEM;
    }
    return FOTA_OK;
}

static fota_err_t collect_release(void *arg, const fotad_release_rec_t *r)
{
    return collect(arg, fotad_json_release(r));
}

static fota_err_t collect_device(void *arg, const fotad_device_rec_t *d)
{
    return collect(arg, fotad_json_device(d));
}

static fota_err_t collect_report(void *arg, const fotad_report_rec_t *r)
{
    return collect(arg, fotad_json_report(r));
}

static fota_err_t collect_assignment(void *arg, const fotad_assignment_rec_t *a)
{
    return collect(arg, fotad_json_assignment(a));
}

/* Respond {"name":[...]} with the array a list call filled, or 500. */
static void send_list(fotad_resp_t *resp, const char *name, cJSON *array, fota_err_t err)
{
    cJSON *obj = err == FOTA_OK ? cJSON_CreateObject() : NULL;
    if (obj == NULL || !cJSON_AddItemToObject(obj, name, array)) {
        cJSON_Delete(obj);
        cJSON_Delete(array);
        fotad_resp_internal(resp, name, err != FOTA_OK ? err : FOTA_ERR_NO_MEM);
        return;
    }
    fotad_resp_json(resp, 200, obj);
}

void fotad_api_release_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)req;
    collect_t c = {cJSON_CreateArray()};
    fota_err_t err =
        c.array != NULL ? fotad_releases_list(app->releases, collect_release, &c) : FOTA_ERR_NO_MEM;
    send_list(resp, "releases", c.array, err);
}

void fotad_api_release_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_release_rec_t rec;
    fota_err_t err = fotad_releases_get_rec(app->releases, req->param, &rec);
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such release");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "reading a release", err);
    } else {
        fotad_resp_json(resp, 200, fotad_json_release(&rec));
    }
}

void fotad_api_device_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)req;
    collect_t c = {cJSON_CreateArray()};
    fota_err_t err =
        c.array != NULL ? fotad_devices_list(app->devices, collect_device, &c) : FOTA_ERR_NO_MEM;
    send_list(resp, "devices", c.array, err);
}

void fotad_api_device_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_device_rec_t dev;
    fota_err_t err = fotad_is_device_id(req->param)
                         ? fotad_devices_get(app->devices, req->param, &dev)
                         : FOTA_ERR_NOT_FOUND;
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such device");
        return;
    }
    cJSON *obj = err == FOTA_OK ? fotad_json_device(&dev) : NULL;
    collect_t c = {cJSON_CreateArray()};
    if (err == FOTA_OK && (obj == NULL || c.array == NULL)) {
        err = FOTA_ERR_NO_MEM;
    }
    if (err == FOTA_OK) {
        err = fotad_devices_reports(app->devices, dev.id, REPORTS_SHOWN, collect_report, &c);
    }
    if (err == FOTA_OK && !cJSON_AddItemToObject(obj, "reports", c.array)) {
        err = FOTA_ERR_NO_MEM;
    } else if (err == FOTA_OK) {
        c.array = NULL; /* now owned by obj */
    }
    cJSON_Delete(c.array);
    if (err != FOTA_OK) {
        cJSON_Delete(obj);
        fotad_resp_internal(resp, "reading a device", err);
        return;
    }
    fotad_resp_json(resp, 200, obj);
}

void fotad_api_assign(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_assignment_rec_t a;
    const char *why = fotad_assignment_parse(req->body, req->body_len, &a);
    if (why != NULL) {
        fotad_resp_error(resp, 400, "bad_request", "assignment: %s", why);
        return;
    }
    a.updated = fotad_now();
    fota_err_t err = fotad_devices_assign(app->devices, &a);
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such release");
    } else if (err == FOTA_ERR_MANIFEST_PRODUCT) {
        fotad_resp_error(resp, 422, "product_mismatch",
                         "the release is for another product than the %s's",
                         a.kind == FOTAD_TARGET_DEVICE ? "device" : "assignment");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "storing the assignment", err);
    } else {
        FOTAD_INFO("assignment: %s %s -> release %s",
                   a.kind == FOTAD_TARGET_DEVICE ? "device" : "product", a.target, a.release);
        fotad_resp_json(resp, 201, fotad_json_assignment(&a));
    }
}

void fotad_api_assignment_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)req;
    collect_t c = {cJSON_CreateArray()};
    fota_err_t err = c.array != NULL
                         ? fotad_devices_assignments(app->devices, collect_assignment, &c)
                         : FOTA_ERR_NO_MEM;
    send_list(resp, "assignments", c.array, err);
}

void fotad_api_health(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)app;
    (void)req;
    cJSON *obj = cJSON_CreateObject();
    if (obj != NULL && cJSON_AddTrueToObject(obj, "ok") == NULL) {
        cJSON_Delete(obj);
        obj = NULL;
    }
    fotad_resp_json(resp, 200, obj);
}
