/*
 * api_legacy.c - the legacy bridge's handlers (legacy.h, docs/MIGRATION.md, docs/PROTOCOL.md
 * section 8): the original firmware's unauthenticated chunk request, a bridge device's
 * enrollment, and the admin API that sets the bridge and decides enrollments.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "api.h"
#include "json_codec.h"
#include "log.h"
#include "router.h"

#define STATES 4
static const char *const states[STATES] = {"pending", "approved", "conflict", "rejected"};

/* The peer's address for the rate limit and the log ("?" when not known). */
static const char *client_of(const fotad_req_t *req)
{
    return req->client != NULL ? req->client : "?";
}

static int64_t mono_ms(void)
{
    return fotad_mono_now() * 1000;
}

/* 429 with Retry-After: the seconds one request's token takes to come back. */
static void rate_limited(const fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    uint32_t wait = (60u + app->cfg->legacy_rate - 1u) / app->cfg->legacy_rate;
    fotad_resp_error(resp, 429, "rate_limited", "too many legacy requests from %s", client_of(req));
    fotad_resp_header(resp, "Retry-After", "%u", wait);
}

/* A legacy request names only chunk_number: no release, no product (one release is served). */
static bool only_chunk_number(const fotad_req_t *req)
{
    for (size_t i = 0; i < req->query->count; i++) {
        if (strcmp(req->query->params[i].name, "chunk_number") != 0) {
            return false;
        }
    }
    return true;
}

void fotad_api_legacy_chunk(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_legacy_t *l = app->legacy;
    fotad_legacy_rec_t set;
    if (!fotad_legacy_setting(l, &set)) {
        fotad_resp_error(resp, 401, "auth", "device authentication failed: missing X-Device-Id");
        return;
    }
    snprintf(resp->device, sizeof resp->device, "legacy:%.40s", client_of(req));
    if (!fotad_legacy_admit(l, client_of(req), mono_ms())) {
        rate_limited(app, req, resp);
        return;
    }
    const char *text = fotad_query_get(req->query, "chunk_number");
    uint64_t n = 0;
    const fotad_release_t *rel = NULL;
    if (!only_chunk_number(req)) {
        fotad_resp_error(resp, 400, "bad_request",
                         "an unauthenticated request takes chunk_number and nothing else");
    } else if (text == NULL || !fotad_api_parse_chunk_number(text, &n)) {
        fotad_resp_error(resp, 400, "bad_request", "%s parameter chunk_number",
                         text == NULL ? "missing" : "malformed");
    } else {
        fota_err_t err = fotad_releases_get(app->releases, set.bridge_release, &rel);
        if (err != FOTA_OK) {
            fotad_resp_internal(resp, "loading the bridge release", err);
            rel = NULL;
        } else if (n >= rel->rec.chunk_count) {
            fotad_resp_error(resp, 416, "range", "chunk %.24s%s of a release of %u chunks", text,
                             strlen(text) > 24 ? "..." : "", rel->rec.chunk_count);
            rel = NULL;
        }
    }
    if (rel == NULL) {
        fotad_legacy_count(l, FOTAD_COUNT_REFUSED);
        return;
    }
    size_t key_len = 0;
    const uint8_t *key = fotad_legacy_fleet_key(l, &key_len);
    fotad_api_send_chunk(rel, (uint32_t)n, key, key_len, set.mac_field, resp);
    fotad_legacy_count(l, FOTAD_COUNT_CHUNK);
    if (n == 0 || n + 1 == rel->rec.chunk_count) {
        FOTAD_INFO("legacy: %s fetched the %s chunk of bridge release %s (%s %s)", client_of(req),
                   n == 0 ? "first" : "last", rel->rec.id, rel->rec.product, rel->rec.version);
    }
}

/* ---- enrollment ------------------------------------------------------------------------------ */

/* {"key":"<64 hex>"}: the key into key, or NULL and what is wrong. */
static const char *enroll_body(const fotad_req_t *req, uint8_t key[32])
{
    const char *why = NULL;
    cJSON *obj = fotad_json_parse_object(req->body, req->body_len, &why);
    char hex[65];
    if (obj != NULL && (fotad_json_string(obj, "key", hex, sizeof hex) != FOTA_OK ||
                        strlen(hex) != 64 || !fotad_unhex(hex, key, 32))) {
        why = "missing or malformed field key (64 hex digits)";
    }
    cJSON_Delete(obj);
    uint8_t any = 0;
    for (size_t i = 0; why == NULL && i < 32; i++) {
        any |= key[i];
    }
    return why != NULL ? why : any == 0 ? "a key of zeros is no key" : NULL;
}

/* The request is signed with the fleet's enrollment key (PROTOCOL.md section 2, that key as the
 * device key): 401 otherwise. */
static bool enroll_auth(fotad_app_t *app, const fotad_req_t *req, fotad_device_cred_t *cred,
                        fotad_resp_t *resp)
{
    fotad_device_auth_cfg_t cfg = {.master = app->master,
                                   .master_len = app->master_len,
                                   .nonces = app->nonces,
                                   .window_s = FOTAD_AUTH_WINDOW_S,
                                   .fixed_key = fotad_legacy_enroll_key(app->legacy),
                                   .shared = &app->store};
    fotad_device_auth_in_t in = fotad_router_auth_in(req);
    const char *why = "?";
    fota_err_t err = fotad_device_auth_check(&cfg, &in, fotad_now(), fotad_mono_now(), cred, &why);
    mbedtls_platform_zeroize(cred->device_key, sizeof cred->device_key);
    if (err == FOTA_ERR_HTTP_AUTH) {
        fotad_resp_error(resp, 401, "auth", "enrollment authentication failed: %s", why);
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "enrollment authentication", err);
    }
    return err == FOTA_OK;
}

static cJSON *enrollment_json(const fotad_app_t *app, const fotad_enrollment_rec_t *e)
{
    char fp[17];
    fotad_legacy_fingerprint(app->legacy, e, fp);
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddStringToObject(o, "device_id", e->device_id) ||
        !cJSON_AddStringToObject(o, "product", e->product) ||
        !cJSON_AddStringToObject(o, "state", e->state) ||
        !cJSON_AddStringToObject(o, "fingerprint", fp) ||
        !cJSON_AddStringToObject(o, "address", e->address) ||
        !cJSON_AddNumberToObject(o, "requested", (double)e->requested) ||
        !cJSON_AddNumberToObject(o, "decided", (double)e->decided)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The answer to a registration whose enrollment is e (result r). */
static void enroll_answer(fotad_app_t *app, fotad_enroll_result_t r,
                          const fotad_enrollment_rec_t *e, fotad_resp_t *resp)
{
    const char *s = e->state;
    if (r == FOTAD_ENROLL_NO_PRODUCT) {
        fotad_resp_error(resp, 403, "legacy_off", "legacy mode is off: no enrollment");
    } else if (r == FOTAD_ENROLL_KNOWN) {
        fotad_resp_error(resp, 409, "device_exists",
                         "a device of this id already authenticates with its own key");
    } else if (r == FOTAD_ENROLL_FULL) {
        fotad_resp_error(resp, 503, "enrollment_full",
                         "too many enrollments wait for approval; try again later");
        fotad_resp_header(resp, "Retry-After", "3600");
    } else if (r == FOTAD_ENROLL_CONFLICT || strcmp(s, "conflict") == 0) {
        fotad_resp_error(resp, 409, "enrollment_conflict",
                         "another key is registered for this device id; an operator decides");
    } else if (strcmp(s, "rejected") == 0) {
        fotad_resp_error(resp, 403, "enrollment_rejected", "this enrollment was rejected");
    } else {
        fotad_resp_json(resp, strcmp(s, "approved") == 0 ? 200 : 202, enrollment_json(app, e));
        return;
    }
    fotad_legacy_count(app->legacy, FOTAD_COUNT_ENROLL_REFUSED);
}

void fotad_api_enroll(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_legacy_t *l = app->legacy;
    if (!fotad_legacy_has_key(l)) {
        fotad_resp_error(resp, 404, "not_found", "enrollment is not enabled on this server");
        return;
    }
    if (!fotad_legacy_admit(l, client_of(req), mono_ms())) {
        rate_limited(app, req, resp);
        return;
    }
    fotad_device_cred_t cred;
    if (!enroll_auth(app, req, &cred, resp)) {
        fotad_legacy_count(l, FOTAD_COUNT_ENROLL_REFUSED);
        return;
    }
    snprintf(resp->device, sizeof resp->device, "%s", cred.id);
    uint8_t key[32];
    const char *why = enroll_body(req, key);
    if (why != NULL) {
        fotad_resp_error(resp, 400, "bad_request", "enrollment: %s", why);
        fotad_legacy_count(l, FOTAD_COUNT_ENROLL_REFUSED);
        return;
    }
    fotad_legacy_count(l, FOTAD_COUNT_ENROLL);
    fotad_enrollment_rec_t e;
    fotad_enroll_result_t r;
    fota_err_t err = fotad_legacy_enroll(l, cred.id, key, client_of(req), fotad_now(), &e, &r);
    mbedtls_platform_zeroize(key, sizeof key);
    if (err != FOTA_OK) {
        fotad_resp_internal(resp, "enrollment", err);
        return;
    }
    if (r == FOTAD_ENROLL_NEW) {
        char fp[17];
        fotad_legacy_fingerprint(l, &e, fp);
        FOTAD_INFO("enrollment: %s registered key %s from %s, waiting for approval", e.device_id,
                   fp, client_of(req));
    } else if (r == FOTAD_ENROLL_CONFLICT) {
        FOTAD_WARN("enrollment: %s registered a second, different key from %s; enrollment %s",
                   cred.id, client_of(req), e.state);
    }
    enroll_answer(app, r, &e, resp);
}

fota_err_t fotad_api_enrolled_key(void *arg, const char *id, uint8_t key[32])
{
    return fotad_legacy_key(arg, id, key);
}

/* ---- admin ----------------------------------------------------------------------------------- */

static cJSON *legacy_json(fotad_app_t *app)
{
    fotad_legacy_t *l = app->legacy;
    fotad_legacy_rec_t set;
    bool on = fotad_legacy_setting(l, &set);
    fotad_legacy_counts_t n;
    fotad_legacy_counts(l, &n);
    cJSON *o = cJSON_CreateObject();
    cJSON *c = cJSON_CreateObject();
    cJSON *e = cJSON_CreateObject();
    bool ok = o != NULL && c != NULL && e != NULL &&
              cJSON_AddBoolToObject(o, "enabled", on) != NULL &&
              cJSON_AddBoolToObject(o, "fleet_key", fotad_legacy_has_key(l)) != NULL;
    if (ok && on) {
        ok = cJSON_AddStringToObject(o, "product", set.product) != NULL &&
             cJSON_AddStringToObject(o, "bridge_release", set.bridge_release) != NULL &&
             cJSON_AddStringToObject(o, "mac_field", set.mac_field) != NULL &&
             cJSON_AddNumberToObject(o, "updated", (double)set.updated) != NULL;
    }
    ok = ok && cJSON_AddNumberToObject(c, "chunks", (double)n.chunks) != NULL &&
         cJSON_AddNumberToObject(c, "refused", (double)n.refused) != NULL &&
         cJSON_AddNumberToObject(c, "rate_limited", (double)n.rate_limited) != NULL &&
         cJSON_AddNumberToObject(c, "enroll_requests", (double)n.enroll_requests) != NULL &&
         cJSON_AddNumberToObject(c, "enroll_refused", (double)n.enroll_refused) != NULL;
    for (size_t i = 0; ok && i < STATES; i++) {
        uint64_t k = 0;
        ok = app->store.ops->enrollment_count(app->store.ctx, states[i], &k) == FOTA_OK &&
             cJSON_AddNumberToObject(e, states[i], (double)k) != NULL;
    }
    if (ok && cJSON_AddItemToObject(o, "counts", c)) {
        c = NULL;
        if (cJSON_AddItemToObject(o, "enrollments", e)) {
            return o;
        }
    }
    cJSON_Delete(o);
    cJSON_Delete(c);
    cJSON_Delete(e);
    return NULL;
}

void fotad_api_legacy_get(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)req;
    fotad_resp_json(resp, 200, legacy_json(app));
}

/* A JSON member name the original firmware may read the MAC from. */
static bool mac_field_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (!islower((unsigned char)s[n]) && s[n] != '_' && !isdigit((unsigned char)s[n])) {
            return false;
        }
    }
    return n > 0 && strcmp(s, "chunk_number") != 0 && strcmp(s, "data") != 0;
}

/* {"product","bridge_release","mac_field"}: into *out, or 0 and the response (an error). */
static unsigned legacy_parse(const fotad_req_t *req, fotad_legacy_rec_t *out, bool *off,
                             fotad_resp_t *resp)
{
    const char *why = NULL;
    cJSON *obj = fotad_json_parse_object(req->body, req->body_len, &why);
    char id[FOTAD_RELEASE_ID_LEN + 2];
    const cJSON *enabled = obj != NULL ? cJSON_GetObjectItemCaseSensitive(obj, "enabled") : NULL;
    *off = cJSON_IsFalse(enabled);
    memset(out, 0, sizeof *out);
    snprintf(out->mac_field, sizeof out->mac_field, "mac");
    fota_err_t mf = obj != NULL
                        ? fotad_json_string(obj, "mac_field", out->mac_field, sizeof out->mac_field)
                        : FOTA_OK;
    if (obj != NULL && *off && cJSON_GetArraySize(obj) != 1) {
        why = "{\"enabled\":false} turns legacy mode off and takes nothing else";
    } else if (obj != NULL && !*off && enabled != NULL && !cJSON_IsTrue(enabled)) {
        why = "field enabled must be true or false";
    } else if (obj != NULL && !*off &&
               (fotad_json_string(obj, "product", out->product, sizeof out->product) != FOTA_OK ||
                !fotad_is_product_id(out->product))) {
        why = "missing or invalid field product";
    } else if (obj != NULL && !*off &&
               (fotad_json_string(obj, "bridge_release", id, sizeof id) != FOTA_OK ||
                !fotad_release_id_lower(id, out->bridge_release))) {
        why = "missing or invalid field bridge_release (a release id)";
    } else if (obj != NULL && !*off && (mf == FOTA_ERR_ARG || !mac_field_ok(out->mac_field))) {
        why = "field mac_field: a JSON name of 1 to 15 characters a-z, 0-9, _ (\"mac\", \"hmac\")";
    }
    cJSON_Delete(obj);
    if (why != NULL) {
        fotad_resp_error(resp, 400, "bad_request", "legacy: %s", why);
        return 0;
    }
    return 1;
}

/* The bridge release must exist, be the product's, and come in the original's 1 KB chunks. */
static bool bridge_ok(fotad_app_t *app, const fotad_legacy_rec_t *set, fotad_resp_t *resp)
{
    const fotad_release_t *rel = NULL;
    fota_err_t err = fotad_releases_get(app->releases, set->bridge_release, &rel);
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such release");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "loading the bridge release", err);
    } else if (strcmp(rel->rec.product, set->product) != 0) {
        fotad_resp_error(resp, 422, "product_mismatch", "release %s is for product %s, not %s",
                         rel->rec.id, rel->rec.product, set->product);
    } else if (rel->rec.chunk_size != FOTAD_LEGACY_CHUNK_SIZE) {
        fotad_resp_error(resp, 422, "chunk_size",
                         "the original firmware fetches %u-byte chunks; release %s has %u-byte "
                         "chunks (fotactl release create --chunk-size 1K)",
                         FOTAD_LEGACY_CHUNK_SIZE, rel->rec.id, rel->rec.chunk_size);
    } else {
        return true;
    }
    return false;
}

void fotad_api_legacy_set(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_legacy_rec_t set;
    bool off = false;
    if (!legacy_parse(req, &set, &off, resp)) {
        return;
    }
    fotad_legacy_rec_t now;
    bool on = fotad_legacy_setting(app->legacy, &now);
    if (!off && !fotad_legacy_has_key(app->legacy)) {
        fotad_resp_error(resp, 409, "no_fleet_key",
                         "fotad was started without legacy_fleet_key_file: no bridge");
        return;
    }
    if (!off && on && strcmp(now.product, set.product) != 0) {
        fotad_resp_error(resp, 409, "legacy_in_use",
                         "legacy mode is on for product %s (an unauthenticated request names no "
                         "product, so one per server): turn it off first",
                         now.product);
        return;
    }
    if (!off && !bridge_ok(app, &set, resp)) {
        return;
    }
    set.updated = fotad_now();
    fota_err_t err = fotad_legacy_configure(app->legacy, off ? NULL : &set);
    if (err != FOTA_OK) {
        fotad_resp_internal(resp, "storing the legacy setting", err);
        return;
    }
    if (off) {
        FOTAD_INFO("legacy bridge off");
    } else {
        FOTAD_INFO("legacy bridge on: product %s, bridge release %s, MAC field \"%s\"", set.product,
                   set.bridge_release, set.mac_field);
    }
    fotad_resp_json(resp, 200, legacy_json(app));
}

typedef struct {
    fotad_app_t *app;
    cJSON *array;
} list_t;

static fota_err_t add_enrollment(void *arg, const fotad_enrollment_rec_t *e)
{
    list_t *x = arg;
    cJSON *o = enrollment_json(x->app, e);
    if (o == NULL || !cJSON_AddItemToArray(x->array, o)) {
        cJSON_Delete(o);
        return FOTA_ERR_NO_MEM;
    }
    return FOTA_OK;
}

static const char *state_name(const char *s)
{
    for (size_t i = 0; s != NULL && i < STATES; i++) {
        if (strcmp(s, states[i]) == 0) {
            return states[i];
        }
    }
    return NULL;
}

void fotad_api_enrollment_list(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    const char *q = fotad_query_get(req->query, "state");
    const char *state = state_name(q);
    if (q != NULL && state == NULL) {
        fotad_resp_error(resp, 400, "bad_request",
                         "parameter state: pending, approved, conflict or rejected");
        return;
    }
    list_t x = {app, cJSON_CreateArray()};
    cJSON *obj = cJSON_CreateObject();
    fota_err_t err =
        x.array != NULL && obj != NULL
            ? app->store.ops->enrollment_list(app->store.ctx, state, add_enrollment, &x)
            : FOTA_ERR_NO_MEM;
    if (err == FOTA_OK && cJSON_AddItemToObject(obj, "enrollments", x.array)) {
        fotad_resp_json(resp, 200, obj);
        return;
    }
    cJSON_Delete(obj);
    cJSON_Delete(x.array);
    fotad_resp_internal(resp, "listing enrollments", err != FOTA_OK ? err : FOTA_ERR_NO_MEM);
}

/* A decision over {"device_ids":[...]} or, where all_from is set, {"all_<all_from>":true}: each
 * enrollment in one of the states `from` (a NULL-ended list) moves to `to` ("" deletes it). */
typedef struct {
    const char *verb; /* "approved", "rejected", "deleted" */
    const char *const *from;
    const char *to;
    const char *all_from; /* the state {"all_<it>":true} selects, or NULL */
} decision_t;

/* Move one enrollment; *moved true when it was in a `from` state. */
static fota_err_t decide_one(fotad_app_t *app, const decision_t *d, const char *id, bool *moved)
{
    fotad_store_t *s = &app->store;
    *moved = false;
    if (d->to[0] == '\0') {
        fota_err_t err = s->ops->enrollment_delete(s->ctx, id);
        *moved = err == FOTA_OK;
        return err == FOTA_ERR_NOT_FOUND ? FOTA_OK : err;
    }
    for (const char *const *f = d->from; *f != NULL && !*moved; f++) {
        uint64_t n = 0;
        fota_err_t err = s->ops->enrollment_move(s->ctx, id, *f, d->to, fotad_now(), &n);
        if (err != FOTA_OK) {
            return err;
        }
        *moved = n > 0;
    }
    return FOTA_OK;
}

static void decide(fotad_app_t *app, const fotad_req_t *req, const decision_t *d,
                   fotad_resp_t *resp)
{
    const char *why = NULL;
    cJSON *obj = fotad_json_parse_object(req->body, req->body_len, &why);
    const cJSON *ids = obj != NULL ? cJSON_GetObjectItemCaseSensitive(obj, "device_ids") : NULL;
    char all_name[24] = "";
    if (d->all_from != NULL) {
        snprintf(all_name, sizeof all_name, "all_%s", d->all_from);
    }
    const cJSON *all =
        obj != NULL && all_name[0] != '\0' ? cJSON_GetObjectItemCaseSensitive(obj, all_name) : NULL;
    if (obj != NULL &&
        (cJSON_GetArraySize(obj) != 1 || (ids == NULL) == (all == NULL) ||
         (all != NULL && !cJSON_IsTrue(all)) || (ids != NULL && !cJSON_IsArray(ids)))) {
        why = all_name[0] != '\0' ? "one field: device_ids (an array of ids) or all_... : true"
                                  : "one field: device_ids (an array of ids)";
    }
    const cJSON *it = NULL;
    const cJSON *check = why == NULL ? ids : (const cJSON *)NULL;
    cJSON_ArrayForEach(it, check)
    {
        if (!cJSON_IsString(it) || !fotad_is_device_id(it->valuestring)) {
            why = "device_ids holds something that is not a device id";
        }
    }
    if (why != NULL) {
        cJSON_Delete(obj);
        fotad_resp_error(resp, 400, "bad_request", "enrollments: %s", why);
        return;
    }
    uint64_t moved = 0;
    fota_err_t err = FOTA_OK;
    cJSON *skipped = cJSON_CreateArray();
    if (all != NULL) {
        err = app->store.ops->enrollment_move(app->store.ctx, NULL, d->all_from, d->to, fotad_now(),
                                              &moved);
    }
    cJSON_ArrayForEach(it, ids)
    {
        bool one = false;
        err = err == FOTA_OK ? decide_one(app, d, it->valuestring, &one) : err;
        moved += one ? 1 : 0;
        if (one && strcmp(d->verb, "approved") != 0) {
            fotad_keycache_drop(app->device_keys, it->valuestring); /* a revoked key */
        }
        if (err == FOTA_OK && !one && skipped != NULL &&
            !cJSON_AddItemToArray(skipped, cJSON_CreateString(it->valuestring))) {
            err = FOTA_ERR_NO_MEM;
        }
    }
    cJSON_Delete(obj);
    cJSON *out = err == FOTA_OK ? cJSON_CreateObject() : NULL;
    if (out == NULL || skipped == NULL || !cJSON_AddNumberToObject(out, d->verb, (double)moved) ||
        !cJSON_AddItemToObject(out, "skipped", skipped)) {
        cJSON_Delete(out);
        cJSON_Delete(skipped);
        fotad_resp_internal(resp, "deciding enrollments", err != FOTA_OK ? err : FOTA_ERR_NO_MEM);
        return;
    }
    FOTAD_INFO("enrollments: %llu %s", (unsigned long long)moved, d->verb);
    fotad_resp_json(resp, 200, out);
}

void fotad_api_enrollment_approve(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    static const char *const from[] = {"pending", NULL};
    const decision_t d = {"approved", from, "approved", "pending"};
    decide(app, req, &d, resp);
}

void fotad_api_enrollment_reject(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    static const char *const from[] = {"pending", "conflict", "approved", NULL};
    const decision_t d = {"rejected", from, "rejected", "pending"};
    decide(app, req, &d, resp);
}

void fotad_api_enrollment_delete(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    static const char *const from[] = {NULL};
    const decision_t d = {"deleted", from, "", NULL};
    decide(app, req, &d, resp);
}
