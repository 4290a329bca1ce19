/*
 * api_admin.c - the admin API handlers (docs/ADMIN_API.md): releases (upload, list, get),
 * products (create, list, get), devices (list, get with reports), assignments (set, list), and
 * /healthz. The router has checked the bearer token. A release for another chip than its
 * product's is refused at upload and at assignment (409 chip_mismatch, products.h).
 */
#include <stdio.h>
#include <string.h>

#include "fota/esp_image.h"

#include "api.h"
#include "bodies.h"
#include "json_codec.h"
#include "log.h"
#include "products.h"

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
    [FOTAD_BUNDLE_CHIP] = {409, "chip_mismatch"},
    [FOTAD_BUNDLE_NO_RELEASE] = {404, "unknown_release"},
    [FOTAD_BUNDLE_NOT_RELEASE] = {409, "release_mismatch"},
};

/* "ESP32-S3 (id 9)" for error texts. */
static const char *chip_text(int32_t id, char *out, size_t cap)
{
    const fota_esp_chip_t *c =
        id >= 0 && id <= UINT16_MAX ? fota_esp_chip_by_id((uint16_t)id) : NULL;
    if (id < 0) {
        snprintf(out, cap, "an unrecorded chip");
    } else {
        snprintf(out, cap, "%s (id %d)", c != NULL ? c->name : "an unknown chip", (int)id);
    }
    return out;
}

/* 409 chip_mismatch: the release's chip is not its product's. */
static void chip_mismatch(fotad_resp_t *resp, const char *what, int32_t release_chip,
                          const fotad_product_rec_t *p)
{
    char a[48], b[48];
    fotad_resp_error(resp, 409, "chip_mismatch", "%s is built for %s, product %s for %s", what,
                     chip_text(release_chip, a, sizeof a), p->id,
                     chip_text(p->chip_id, b, sizeof b));
}

static void refuse_upload(const fotad_upload_t *up, fotad_resp_t *resp)
{
    const char *text = fotad_bundle_verdict_text(up->verdict);
    fota_err_t detail = up->bundle.detail;
    if (up->verdict == FOTAD_BUNDLE_CHAIN) {
        fotad_resp_error(resp, 422, "chain_mismatch", "%s: record %u", text, up->bundle.bad_record);
        return;
    }
    if (up->verdict == FOTAD_BUNDLE_CHIP) {
        chip_mismatch(resp, "the image", up->bundle.chip_id, &up->product);
        return;
    }
    fotad_resp_error(resp, verdict_http[up->verdict].status, verdict_http[up->verdict].code,
                     "%s (%s)", text, fota_err_name(detail));
}

/* A delta bundle (its manifest's magic "FOTD"): checked, matched to its release, stored. */
static void delta_upload(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_delta_upload_t up;
    fota_err_t err = fotad_deltas_upload(app->deltas, req->body, req->body_len, fotad_now(), &up);
    const fota_manifest_t *m = &up.manifest.m;
    const char *text = fotad_bundle_verdict_text(up.verdict);
    if (err == FOTA_ERR_ARG && up.verdict == FOTAD_BUNDLE_CHAIN) {
        fotad_resp_error(resp, 422, "chain_mismatch", "delta: %s: record %u", text, up.bad_record);
    } else if (err == FOTA_ERR_ARG &&
               (up.verdict == FOTAD_BUNDLE_NO_RELEASE || up.verdict == FOTAD_BUNDLE_NOT_RELEASE)) {
        fotad_resp_error(resp, verdict_http[up.verdict].status, verdict_http[up.verdict].code,
                         "delta: %s (product %s, version %s): upload the release first", text,
                         m->product_id, m->version);
    } else if (err == FOTA_ERR_ARG) {
        fotad_resp_error(resp, verdict_http[up.verdict].status, verdict_http[up.verdict].code,
                         "delta: %s (%s)", text, fota_err_name(up.detail));
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "storing the delta", err);
    } else {
        FOTAD_INFO("delta %s of release %s from image %.16s: %s (patch %u bytes, blob %u bytes)",
                   up.rec.id, up.rec.release, up.rec.source_sha256,
                   up.created ? "stored" : "already stored", up.rec.patch_size, up.rec.blob_size);
        fotad_resp_json(resp, up.created ? 201 : 200, fotad_json_delta(&up.rec));
    }
}

void fotad_api_release_upload(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    if (req->body_len >= 4 && memcmp(req->body, "FOTD", 4) == 0) {
        delta_upload(app, req, resp);
        return;
    }
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
    snprintf(resp->audit_target, sizeof resp->audit_target, "%s", up.rec.id);
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

static fota_err_t collect_delta(void *arg, const fotad_delta_rec_t *d)
{
    return collect(arg, fotad_json_delta(d));
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

/* A release and its "deltas" (newest upload first). */
static void release_with_deltas(fotad_app_t *app, const fotad_release_rec_t *rec,
                                fotad_resp_t *resp)
{
    cJSON *obj = fotad_json_release(rec);
    collect_t c = {cJSON_CreateArray()};
    fota_err_t err = obj != NULL && c.array != NULL
                         ? fotad_deltas_list(app->deltas, rec->id, collect_delta, &c)
                         : FOTA_ERR_NO_MEM;
    if (err == FOTA_OK && !cJSON_AddItemToObject(obj, "deltas", c.array)) {
        err = FOTA_ERR_NO_MEM;
    }
    if (err != FOTA_OK) {
        cJSON_Delete(c.array);
        cJSON_Delete(obj);
        fotad_resp_internal(resp, "listing a release's deltas", err);
        return;
    }
    fotad_resp_json(resp, 200, obj);
}

void fotad_api_release_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_release_rec_t rec;
    char id[FOTAD_RELEASE_ID_LEN + 1];
    fota_err_t err = fotad_release_id_lower(req->param, id)
                         ? fotad_releases_get_rec(app->releases, id, &rec)
                         : FOTA_ERR_NOT_FOUND;
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such release");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "reading a release", err);
    } else {
        release_with_deltas(app, &rec, resp);
    }
}

/* GET /api/admin/devices[?tag=T]: every device, or those carrying tag T; a page with the paging
 * or filter parameters (api_fleet.c). */
void fotad_api_device_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    if (fotad_api_devices_paged(req)) {
        fotad_api_device_page(app, req, resp);
        return;
    }
    const char *tag = fotad_query_get(req->query, "tag");
    if (tag != NULL && (strlen(tag) > FOTAD_TAG_MAX || !fotad_is_device_id(tag))) {
        fotad_resp_error(resp, 400, "bad_request", "malformed parameter tag");
        return;
    }
    collect_t c = {cJSON_CreateArray()};
    fota_err_t err =
        c.array == NULL ? FOTA_ERR_NO_MEM
        : tag != NULL ? app->store.ops->device_list_tagged(app->store.ctx, tag, collect_device, &c)
                      : fotad_devices_list(app->devices, collect_device, &c);
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

/* The release's chip must be its product's (a product assignment to another product is left to
 * fotad_devices_assign, which says product_mismatch). FOTA_ERR_IMAGE_CHIP has answered 409. */
static fota_err_t assign_chip_check(fotad_app_t *app, const fotad_assignment_rec_t *a,
                                    fotad_resp_t *resp)
{
    fotad_release_rec_t rel;
    fotad_product_rec_t p;
    fota_err_t err = fotad_releases_get_rec(app->releases, a->release, &rel);
    if (err != FOTA_OK ||
        (a->kind == FOTAD_TARGET_PRODUCT && strcmp(a->target, rel.product) != 0)) {
        return err == FOTA_ERR_NOT_FOUND ? FOTA_OK : err; /* 404 from fotad_devices_assign */
    }
    err = fotad_products_check_release(&app->store, &rel, &p);
    if (err == FOTA_ERR_IMAGE_CHIP) {
        snprintf(p.id, sizeof p.id, "%s", rel.product);
        chip_mismatch(resp, "the release", rel.chip_id, &p);
    }
    return err;
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
    fota_err_t err = assign_chip_check(app, &a, resp);
    if (err == FOTA_ERR_IMAGE_CHIP) {
        return;
    }
    err = err != FOTA_OK ? err : fotad_devices_assign(app->devices, &a);
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

/* ---- products ---------------------------------------------------------------------------------
 */

/* {"id":"inv-5k","chip":"esp32s3"}: NULL, or what is wrong. */
static const char *product_parse(const fotad_req_t *req, char id[FOTAD_LABEL_MAX + 1],
                                 uint16_t *chip_id)
{
    const char *why = NULL;
    cJSON *obj = fotad_json_parse_object(req->body, req->body_len, &why);
    char chip[16];
    const fota_esp_chip_t *c = NULL;
    if (obj != NULL && (fotad_json_string(obj, "id", id, FOTAD_LABEL_MAX + 1) != FOTA_OK ||
                        !fotad_is_product_id(id))) {
        why = "missing or invalid field id";
    } else if (obj != NULL && (fotad_json_string(obj, "chip", chip, sizeof chip) != FOTA_OK ||
                               (c = fota_esp_chip_by_name(chip)) == NULL)) {
        why = "missing or invalid field chip (esp32, esp32s2, esp32s3, esp32c2, esp32c3, "
              "esp32c5, esp32c6, esp32c61, esp32h2, esp32p4)";
    }
    cJSON_Delete(obj);
    *chip_id = c != NULL ? c->id : 0;
    return why;
}

void fotad_api_product_create(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    char id[FOTAD_LABEL_MAX + 1];
    uint16_t chip = 0;
    const char *why = product_parse(req, id, &chip);
    if (why != NULL) {
        fotad_resp_error(resp, 400, "bad_request", "product: %s", why);
        return;
    }
    fotad_product_rec_t p;
    bool created = false;
    fota_err_t err = fotad_products_create(&app->store, id, chip, fotad_now(), &p, &created);
    if (err != FOTA_OK) {
        fotad_resp_internal(resp, "storing the product", err);
    } else if (p.chip_id != chip) {
        snprintf(resp->audit_target, sizeof resp->audit_target, "%s", id);
        chip_mismatch(resp, "the request", chip, &p);
    } else {
        if (created) {
            FOTAD_INFO("product %s: created, chip %s", p.id, fota_esp_chip_by_id(chip)->target);
        }
        snprintf(resp->audit_target, sizeof resp->audit_target, "%s", p.id);
        fotad_resp_json(resp, created ? 201 : 200, fotad_json_product(&p));
    }
}

static fota_err_t collect_product(void *arg, const fotad_product_rec_t *p)
{
    return collect(arg, fotad_json_product(p));
}

void fotad_api_product_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)req;
    collect_t c = {cJSON_CreateArray()};
    fota_err_t err =
        c.array != NULL ? fotad_products_list(&app->store, collect_product, &c) : FOTA_ERR_NO_MEM;
    send_list(resp, "products", c.array, err);
}

void fotad_api_product_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_product_rec_t p;
    fota_err_t err = fotad_products_get(&app->store, req->param, &p);
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such product");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "reading a product", err);
    } else {
        fotad_resp_json(resp, 200, fotad_json_product(&p));
    }
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
