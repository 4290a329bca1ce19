/*
 * api_rollouts.c - the admin API of rollouts and device tags (docs/ADMIN_API.md, "Rollouts" and
 * "Device tags"): parse and check the body (rollout_bodies.c), call the rollout service
 * (rollouts.h) or the store's tag operation, answer JSON. The router has checked the token and
 * the body size. Service errors map to 400 bad_request, 404 not_found, 409 conflict and 422
 * product_mismatch, each with the service's reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "json_codec.h"
#include "log.h"
#include "products.h"
#include "rollout_bodies.h"

#define TAGS_DEVICES_MAX 10000u

static void service_error(fotad_resp_t *resp, fota_err_t err, const char *why, const char *what)
{
    if (err == FOTA_ERR_ARG) {
        fotad_resp_error(resp, 400, "bad_request", "%s: %s", what, why);
    } else if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "%s", why[0] != '\0' ? why : "not found");
    } else if (err == FOTA_ERR_STATE) {
        fotad_resp_error(resp, 409, "conflict", "%s", why);
    } else if (err == FOTA_ERR_MANIFEST_PRODUCT) {
        fotad_resp_error(resp, 422, "product_mismatch", "%s", why);
    } else {
        fotad_resp_internal(resp, what, err);
    }
}

/* The body as a JSON object; an empty body is {} when allow_empty. NULL has answered 400. */
static cJSON *body_object(const fotad_req_t *req, bool allow_empty, const char *what,
                          fotad_resp_t *resp)
{
    const char *why = NULL;
    cJSON *obj = allow_empty && req->body_len == 0
                     ? cJSON_CreateObject()
                     : fotad_json_parse_object(req->body, req->body_len, &why);
    if (obj == NULL) {
        fotad_resp_error(resp, 400, "bad_request", "%s: %s", what,
                         why != NULL ? why : "out of memory");
    }
    return obj;
}

/* The {id} of the path as a rollout id; 404 answered otherwise. */
static bool rollout_id(const fotad_req_t *req, int64_t *id, fotad_resp_t *resp)
{
    uint64_t v = 0;
    if (req->param == NULL || !fotad_parse_u64(req->param, INT64_MAX, &v) || v == 0) {
        fotad_resp_error(resp, 404, "not_found", "no such rollout");
        return false;
    }
    *id = (int64_t)v;
    return true;
}

/* ---- device tags ---------------------------------------------------------------------------- */

static bool is_device(const char *s)
{
    return fotad_is_device_id(s);
}

void fotad_api_device_tags(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    char why[FOTAD_WHY_MAX] = "";
    cJSON *obj = body_object(req, false, "device tags", resp);
    if (obj == NULL) {
        return;
    }
    const char **ids = malloc(TAGS_DEVICES_MAX * sizeof *ids);
    const char *add[FOTAD_DEVICE_TAGS_MAX], *remove[FOTAD_DEVICE_TAGS_MAX];
    fotad_id_list_t li = {ids, 0}, la = {add, 0}, lr = {remove, 0};
    fota_err_t err = ids == NULL ? FOTA_ERR_NO_MEM : FOTA_OK;
    err = err == FOTA_OK
              ? fotad_body_id_list(obj, "device_ids", TAGS_DEVICES_MAX, is_device, &li, why)
              : err;
    err = err == FOTA_OK
              ? fotad_body_id_list(obj, "add", FOTAD_DEVICE_TAGS_MAX, fotad_is_tag, &la, why)
              : err;
    err = err == FOTA_OK
              ? fotad_body_id_list(obj, "remove", FOTAD_DEVICE_TAGS_MAX, fotad_is_tag, &lr, why)
              : err;
    if (err == FOTA_OK && li.n == 0) {
        snprintf(why, sizeof why, "field device_ids: at least one device id");
        err = FOTA_ERR_ARG;
    }
    if (err == FOTA_OK) {
        err =
            app->store.ops->device_tags_change(app->store.ctx, ids, li.n, add, la.n, remove, lr.n);
        if (err == FOTA_ERR_TOO_LARGE) {
            snprintf(why, sizeof why, "a device would carry more than %u tags",
                     FOTAD_DEVICE_TAGS_MAX);
            err = FOTA_ERR_ARG;
        }
    }
    if (err == FOTA_OK) {
        cJSON *o = cJSON_CreateObject();
        if (o != NULL && cJSON_AddNumberToObject(o, "devices", (double)li.n) == NULL) {
            cJSON_Delete(o);
            o = NULL;
        }
        FOTAD_INFO("device tags: %zu device(s), %zu added, %zu removed", li.n, la.n, lr.n);
        fotad_resp_json(resp, 200, o);
    } else {
        service_error(resp, err, why, "device tags");
    }
    free(ids);
    cJSON_Delete(obj);
}

/* ---- rollouts ------------------------------------------------------------------------------- */

static void send_dry_run(const fotad_rollout_rec_t *rec, const uint32_t *sizes, fotad_resp_t *resp)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = o != NULL ? cJSON_AddArrayToObject(o, "stage_sizes") : NULL;
    bool ok = a != NULL && cJSON_AddTrueToObject(o, "dry_run") != NULL &&
              cJSON_AddStringToObject(o, "product", rec->product) != NULL;
    for (uint32_t k = 0; ok && k < rec->n_stages; k++) {
        ok = cJSON_AddItemToArray(a, cJSON_CreateNumber(sizes[k]));
    }
    if (!ok) {
        cJSON_Delete(o);
        o = NULL;
    }
    fotad_resp_json(resp, 200, o);
}

void fotad_api_rollout_create(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    char why[FOTAD_WHY_MAX] = "";
    cJSON *obj = body_object(req, false, "rollout", resp);
    fotad_rollout_rec_t *rec = obj != NULL ? malloc(sizeof *rec) : NULL;
    const char **devices = rec != NULL ? malloc(FOTAD_ROLLOUT_DEVICES_MAX * sizeof *devices) : NULL;
    if (obj != NULL && devices == NULL) {
        fotad_resp_internal(resp, "rollout", FOTA_ERR_NO_MEM);
    }
    fotad_id_list_t list = {devices, 0};
    bool dry = false;
    fota_err_t err = devices != NULL ? fotad_rollout_parse(obj, rec, &list, &dry, why) : FOTA_OK;
    if (devices != NULL && err != FOTA_OK) {
        service_error(resp, err, why, "rollout");
    } else if (devices != NULL) {
        uint32_t sizes[FOTAD_STAGES_MAX] = {0};
        err = fotad_rollouts_create(app->rollouts, rec, devices, list.n, dry, sizes, why);
        if (err != FOTA_OK) {
            service_error(resp, err, why, "rollout");
        } else if (dry) {
            send_dry_run(rec, sizes, resp);
        } else {
            FOTAD_INFO("rollout %lld: created for release %s", (long long)rec->id, rec->release);
            snprintf(resp->audit_target, sizeof resp->audit_target, "%lld", (long long)rec->id);
            fotad_resp_json(resp, 201, fotad_json_rollout(rec, NULL));
        }
    }
    free(devices);
    free(rec);
    cJSON_Delete(obj);
}

typedef struct {
    cJSON *array;
} collect_t;

static fota_err_t collect_rollout(void *arg, const fotad_rollout_rec_t *r)
{
    collect_t *c = arg;
    cJSON *item = fotad_json_rollout(r, NULL);
    if (item == NULL || !cJSON_AddItemToArray(c->array, item)) {
        cJSON_Delete(item);
        return FOTA_ERR_NO_MEM;
    }
    return FOTA_OK;
}

static fota_err_t collect_event(void *arg, const fotad_event_rec_t *e)
{
    collect_t *c = arg;
    cJSON *item = fotad_json_event(e);
    if (item == NULL || !cJSON_AddItemToArray(c->array, item)) {
        cJSON_Delete(item);
        return FOTA_ERR_NO_MEM;
    }
    return FOTA_OK;
}

static void send_array(fotad_resp_t *resp, const char *name, collect_t *c, fota_err_t err)
{
    cJSON *o = err == FOTA_OK ? cJSON_CreateObject() : NULL;
    if (o == NULL || !cJSON_AddItemToObject(o, name, c->array)) {
        cJSON_Delete(o);
        cJSON_Delete(c->array);
        if (err == FOTA_ERR_NOT_FOUND) {
            fotad_resp_error(resp, 404, "not_found", "no such rollout");
        } else {
            fotad_resp_internal(resp, name, err != FOTA_OK ? err : FOTA_ERR_NO_MEM);
        }
        return;
    }
    fotad_resp_json(resp, 200, o);
}

void fotad_api_rollout_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)req;
    collect_t c = {cJSON_CreateArray()};
    fota_err_t err =
        c.array != NULL ? fotad_rollouts_list(app->rollouts, collect_rollout, &c) : FOTA_ERR_NO_MEM;
    send_array(resp, "rollouts", &c, err);
}

void fotad_api_rollout_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    int64_t id = 0;
    if (!rollout_id(req, &id, resp)) {
        return;
    }
    fotad_rollout_rec_t rec;
    fotad_member_counts_t counts;
    fota_err_t err = fotad_rollouts_get(app->rollouts, id, &rec, &counts);
    if (err == FOTA_OK) {
        fotad_resp_json(resp, 200, fotad_json_rollout(&rec, &counts));
    } else {
        service_error(resp, err, "no such rollout", "reading a rollout");
    }
}

void fotad_api_rollout_history(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    int64_t id = 0;
    if (!rollout_id(req, &id, resp)) {
        return;
    }
    collect_t c = {cJSON_CreateArray()};
    fota_err_t err = c.array != NULL ? fotad_rollouts_history(app->rollouts, id, collect_event, &c)
                                     : FOTA_ERR_NO_MEM;
    send_array(resp, "events", &c, err);
}

/* The rollout after an action: 200 with it, or the error. */
static void action_done(fotad_app_t *app, int64_t id, fota_err_t err, const char *why,
                        const char *what, fotad_resp_t *resp)
{
    if (err != FOTA_OK) {
        service_error(resp, err, why, what);
        return;
    }
    fotad_rollout_rec_t rec;
    fotad_member_counts_t counts;
    err = fotad_rollouts_get(app->rollouts, id, &rec, &counts);
    if (err == FOTA_OK) {
        fotad_resp_json(resp, 200, fotad_json_rollout(&rec, &counts));
    } else {
        fotad_resp_internal(resp, what, err);
    }
}

typedef fota_err_t (*simple_action_fn)(fotad_rollouts_t *r, int64_t id, char *why);

/* pause, resume, cancel: an empty body or {}. */
static void simple_action(fotad_app_t *app, const fotad_req_t *req, simple_action_fn fn,
                          const char *what, fotad_resp_t *resp)
{
    int64_t id = 0;
    char why[FOTAD_WHY_MAX] = "";
    cJSON *obj = rollout_id(req, &id, resp) ? body_object(req, true, what, resp) : NULL;
    if (obj != NULL) {
        action_done(app, id, fn(app->rollouts, id, why), why, what, resp);
    }
    cJSON_Delete(obj);
}

void fotad_api_rollout_pause(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    simple_action(app, req, fotad_rollouts_pause, "pause", resp);
}

void fotad_api_rollout_resume(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    simple_action(app, req, fotad_rollouts_resume, "resume", resp);
}

void fotad_api_rollout_cancel(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    simple_action(app, req, fotad_rollouts_cancel, "cancel", resp);
}

/* {} or {"start_at":UNIX} */
void fotad_api_rollout_start(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    int64_t id = 0;
    char why[FOTAD_WHY_MAX] = "";
    cJSON *obj = rollout_id(req, &id, resp) ? body_object(req, true, "start", resp) : NULL;
    if (obj == NULL) {
        return;
    }
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(obj, "start_at");
    if (at != NULL && (!cJSON_IsNumber(at) || at->valuedouble < 0 || at->valuedouble > 1e11 ||
                       at->valuedouble != (double)(int64_t)at->valuedouble)) {
        fotad_resp_error(resp, 400, "bad_request", "start: field start_at: unix seconds");
    } else {
        int64_t when = at != NULL ? (int64_t)at->valuedouble : 0;
        action_done(app, id, fotad_rollouts_start(app->rollouts, id, when, why), why, "start",
                    resp);
    }
    cJSON_Delete(obj);
}

/* {} or {"action":"forced"|"soft"} */
void fotad_api_rollout_install(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    int64_t id = 0;
    char why[FOTAD_WHY_MAX] = "";
    cJSON *obj = rollout_id(req, &id, resp) ? body_object(req, true, "install", resp) : NULL;
    if (obj == NULL) {
        return;
    }
    char action[16] = "forced";
    fota_err_t err = fotad_json_string(obj, "action", action, sizeof action);
    if ((err != FOTA_OK && err != FOTA_ERR_NOT_FOUND) ||
        (strcmp(action, "forced") != 0 && strcmp(action, "soft") != 0)) {
        fotad_resp_error(resp, 400, "bad_request", "install: field action: forced or soft");
    } else {
        action_done(app, id, fotad_rollouts_install(app->rollouts, id, action, why), why, "install",
                    resp);
    }
    cJSON_Delete(obj);
}

static fota_err_t apply_update(void *arg, fotad_rollout_rec_t *rec, char *why)
{
    return fotad_rollout_apply_update(arg, rec, why);
}

void fotad_api_rollout_update(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    int64_t id = 0;
    char why[FOTAD_WHY_MAX] = "";
    cJSON *obj = rollout_id(req, &id, resp) ? body_object(req, false, "update", resp) : NULL;
    if (obj != NULL) {
        fota_err_t err = fotad_rollouts_update(app->rollouts, id, apply_update, obj, why);
        action_done(app, id, err, why, "update", resp);
    }
    cJSON_Delete(obj);
}
