/*
 * api_fleet.c - the admin API's view of the fleet for the operator console (docs/ADMIN_API.md,
 * "Fleet overview" and "Devices"): GET /api/admin/overview, the paged and filtered form of GET
 * /api/admin/devices, and GET /api/admin/whoami. The numbers come from fleet.h's aggregate
 * queries; this file only checks the parameters and writes the JSON.
 */
#include <string.h>

#include "api.h"
#include "fleet.h"
#include "json_codec.h"

/* ---- parameters ----------------------------------------------------------------------------- */

/* A numeric parameter in lo..hi, or def when absent; false when present and malformed. */
static bool param_u32(const fotad_req_t *req, const char *name, uint32_t lo, uint32_t hi,
                      uint32_t def, uint32_t *out)
{
    uint64_t v = def;
    bool ok = fotad_query_u64(req->query, name, lo, hi, &v);
    *out = (uint32_t)v;
    return ok;
}

/* A state: 1..FOTAD_STATE_MAX of a-z and _ (every state a device reports). */
static bool is_state(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= FOTAD_STATE_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n;
}

/* A query parameter's value, "" when it is absent. */
static const char *opt(const fotad_req_t *req, const char *name)
{
    const char *v = fotad_query_get(req->query, name);
    return v != NULL ? v : "";
}

/* The filters of a paged device list; the name of the first malformed parameter, or NULL. */
static const char *parse_filter(const fotad_req_t *req, fotad_device_filter_t *f)
{
    memset(f, 0, sizeof *f);
    const char *errors = fotad_query_get(req->query, "errors");
    f->search = opt(req, "q");
    f->product = opt(req, "product");
    f->version = opt(req, "version");
    f->state = opt(req, "state");
    f->tag = opt(req, "tag");
    f->after = opt(req, "after");
    if (f->search[0] != '\0' && !fotad_is_device_id(f->search)) {
        return "q";
    }
    if (f->product[0] != '\0' && !fotad_is_label(f->product, FOTAD_LABEL_MAX)) {
        return "product";
    }
    if (f->version[0] != '\0' && !fotad_is_label(f->version, FOTAD_LABEL_MAX)) {
        return "version";
    }
    if (f->state[0] != '\0' && !is_state(f->state)) {
        return "state";
    }
    if (f->tag[0] != '\0' && (strlen(f->tag) > FOTAD_TAG_MAX || !fotad_is_device_id(f->tag))) {
        return "tag";
    }
    if (f->after[0] != '\0' && !fotad_is_device_id(f->after)) {
        return "after";
    }
    if (errors != NULL && strcmp(errors, "0") != 0 && strcmp(errors, "1") != 0) {
        return "errors";
    }
    f->errors = errors != NULL && strcmp(errors, "1") == 0;
    return param_u32(req, "limit", 1, FOTAD_PAGE_MAX, FOTAD_PAGE_DEFAULT, &f->limit) ? NULL
                                                                                     : "limit";
}

bool fotad_api_devices_paged(const fotad_req_t *req)
{
    static const char *const names[] = {"limit",   "after", "q",     "product",
                                        "version", "state", "errors"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (fotad_query_get(req->query, names[i]) != NULL) {
            return true;
        }
    }
    return false;
}

/* ---- GET /api/admin/devices?limit=... ------------------------------------------------------- */

typedef struct {
    cJSON *array;
    char last[FOTAD_DEVICE_ID_MAX + 1];
    uint32_t n;
} page_t;

static fota_err_t page_device(void *arg, const fotad_device_rec_t *d)
{
    page_t *p = arg;
    cJSON *item = fotad_json_device(d);
    if (item == NULL || !cJSON_AddItemToArray(p->array, item)) {
        cJSON_Delete(item);
        return FOTA_ERR_NO_MEM;
    }
    memcpy(p->last, d->id, sizeof p->last);
    p->n++;
    return FOTA_OK;
}

/* {"devices":[...],"next":"<id>"|null,"total":N} from a page p of f; NULL when out of memory
 * (p->array is then freed or owned by what was freed). */
static cJSON *page_json(page_t *p, const fotad_device_filter_t *f, uint64_t total)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL || !cJSON_AddItemToObject(obj, "devices", p->array)) {
        cJSON_Delete(obj);
        cJSON_Delete(p->array);
        return NULL;
    }
    /* A full page may have more after it: its last id is where the next one starts. */
    cJSON *next = p->n == f->limit ? cJSON_CreateString(p->last) : cJSON_CreateNull();
    if (next == NULL || !cJSON_AddItemToObject(obj, "next", next)) {
        cJSON_Delete(next);
        cJSON_Delete(obj);
        return NULL;
    }
    if (cJSON_AddNumberToObject(obj, "total", (double)total) == NULL) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

void fotad_api_device_page(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_device_filter_t f;
    const char *bad = parse_filter(req, &f);
    if (bad != NULL) {
        fotad_resp_error(resp, 400, "bad_request", "malformed parameter %s", bad);
        return;
    }
    uint64_t total = 0;
    page_t p = {.array = cJSON_CreateArray()};
    fota_err_t err = p.array == NULL ? FOTA_ERR_NO_MEM
                                     : fotad_fleet_page(&app->store, &f, &total, page_device, &p);
    if (err != FOTA_OK) {
        cJSON_Delete(p.array);
        fotad_resp_internal(resp, "listing devices", err);
        return;
    }
    cJSON *obj = page_json(&p, &f, total);
    if (obj == NULL) {
        fotad_resp_internal(resp, "listing devices", FOTA_ERR_NO_MEM);
        return;
    }
    fotad_resp_json(resp, 200, obj);
}

/* ---- GET /api/admin/overview ---------------------------------------------------------------- */

/* The element of array whose keys k1 (and k2 when not NULL) have the values v1 (v2), created
 * with those keys and zero counts when there is none; NULL when out of memory. */
static cJSON *entry(cJSON *array, const char *k1, const char *v1, const char *k2, const char *v2)
{
    cJSON *e;
    cJSON_ArrayForEach(e, array)
    {
        const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(e, k1));
        const char *b = k2 != NULL ? cJSON_GetStringValue(cJSON_GetObjectItem(e, k2)) : NULL;
        if (a != NULL && strcmp(a, v1) == 0 && (k2 == NULL || (b != NULL && strcmp(b, v2) == 0))) {
            return e;
        }
    }
    e = cJSON_CreateObject();
    if (e == NULL || !cJSON_AddItemToArray(array, e)) {
        cJSON_Delete(e);
        return NULL;
    }
    if (cJSON_AddStringToObject(e, k1, v1) == NULL ||
        (k2 != NULL && cJSON_AddStringToObject(e, k2, v2) == NULL) ||
        cJSON_AddNumberToObject(e, "devices", 0) == NULL ||
        cJSON_AddNumberToObject(e, "online", 0) == NULL) {
        return NULL;
    }
    return e;
}

static bool add_counts(cJSON *e, const fotad_device_group_t *g)
{
    if (e == NULL) {
        return false;
    }
    cJSON *d = cJSON_GetObjectItem(e, "devices");
    cJSON *o = cJSON_GetObjectItem(e, "online");
    cJSON_SetNumberValue(d, d->valuedouble + (double)g->devices);
    cJSON_SetNumberValue(o, o->valuedouble + (double)g->online);
    return true;
}

/* Devices by running version (of a product), product, state and last error. */
static bool overview_groups(cJSON *obj, const fotad_overview_t *o)
{
    cJSON *versions = cJSON_AddArrayToObject(obj, "versions");
    cJSON *products = cJSON_AddArrayToObject(obj, "products");
    cJSON *states = cJSON_AddArrayToObject(obj, "states");
    cJSON *errors = cJSON_AddArrayToObject(obj, "errors");
    double devices = 0, online = 0, in_error = 0;
    bool ok = versions != NULL && products != NULL && states != NULL && errors != NULL;
    for (size_t i = 0; ok && i < o->n_groups; i++) {
        const fotad_device_group_t *g = &o->groups[i];
        devices += (double)g->devices;
        online += (double)g->online;
        ok = add_counts(entry(versions, "product", g->product, "version", g->version), g) &&
             add_counts(entry(products, "product", g->product, NULL, NULL), g) &&
             add_counts(entry(states, "state", g->state, NULL, NULL), g);
        if (ok && g->last_error != 0) {
            in_error += (double)g->devices;
            const char *name = fota_err_name((fota_err_t)g->last_error);
            cJSON *e = entry(errors, "name", name, NULL, NULL);
            ok = add_counts(e, g) && (cJSON_GetObjectItem(e, "error") != NULL ||
                                      cJSON_AddNumberToObject(e, "error", g->last_error) != NULL);
        }
    }
    return ok && cJSON_AddNumberToObject(obj, "devices", devices) != NULL &&
           cJSON_AddNumberToObject(obj, "online", online) != NULL &&
           cJSON_AddNumberToObject(obj, "in_error", in_error) != NULL;
}

/* {"since":T,"bucket_s":B,"confirmed":[...],"rolled_back":[...],"error":[...]}, one count a
 * bucket. */
static bool overview_outcomes(cJSON *obj, const fotad_overview_t *o, const fotad_overview_req_t *q)
{
    cJSON *out = cJSON_AddObjectToObject(obj, "outcomes");
    bool ok = out != NULL && cJSON_AddNumberToObject(out, "since", (double)o->since) != NULL &&
              cJSON_AddNumberToObject(out, "bucket_s", q->bucket_s) != NULL;
    for (size_t k = 0; ok && k < FOTAD_OUTCOME_STATES; k++) {
        cJSON *a = cJSON_AddArrayToObject(out, fotad_outcome_states[k]);
        for (uint32_t b = 0; a != NULL && b < q->buckets; b++) {
            if (!cJSON_AddItemToArray(a, cJSON_CreateNumber((double)o->outcomes[b][k]))) {
                a = NULL;
            }
        }
        ok = a != NULL;
    }
    return ok;
}

static bool overview_recent(cJSON *obj, const fotad_overview_t *o)
{
    cJSON *a = cJSON_AddArrayToObject(obj, "recent_errors");
    for (size_t i = 0; a != NULL && i < o->n_recent; i++) {
        cJSON *d = fotad_json_device(&o->recent[i]);
        if (d == NULL || !cJSON_AddItemToArray(a, d)) {
            cJSON_Delete(d);
            a = NULL;
        }
    }
    return a != NULL;
}

static const char *parse_overview(const fotad_req_t *req, fotad_overview_req_t *q)
{
    q->now = fotad_now();
    if (!param_u32(req, "online_s", 1, FOTAD_ONLINE_MAX_S, FOTAD_ONLINE_DEFAULT_S, &q->online_s)) {
        return "online_s";
    }
    if (!param_u32(req, "bucket_s", 1, FOTAD_BUCKET_MAX_S, FOTAD_BUCKET_DEFAULT_S, &q->bucket_s)) {
        return "bucket_s";
    }
    if (!param_u32(req, "buckets", 1, FOTAD_BUCKETS_MAX, FOTAD_BUCKETS_DEFAULT, &q->buckets)) {
        return "buckets";
    }
    return param_u32(req, "recent", 0, FOTAD_RECENT_MAX, FOTAD_RECENT_DEFAULT, &q->recent)
               ? NULL
               : "recent";
}

void fotad_api_overview(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_overview_req_t q;
    const char *bad = parse_overview(req, &q);
    if (bad != NULL) {
        fotad_resp_error(resp, 400, "bad_request", "malformed parameter %s", bad);
        return;
    }
    fotad_overview_t o;
    fota_err_t err = fotad_fleet_overview(&app->store, &q, &o);
    cJSON *obj = err == FOTA_OK ? cJSON_CreateObject() : NULL;
    if (err == FOTA_OK &&
        (obj == NULL || cJSON_AddNumberToObject(obj, "now", (double)q.now) == NULL ||
         cJSON_AddNumberToObject(obj, "online_s", q.online_s) == NULL ||
         !overview_groups(obj, &o) || !overview_outcomes(obj, &o, &q) ||
         !overview_recent(obj, &o))) {
        err = FOTA_ERR_NO_MEM;
    }
    fotad_overview_free(&o);
    if (err != FOTA_OK) {
        cJSON_Delete(obj);
        fotad_resp_internal(resp, "the fleet overview", err);
        return;
    }
    fotad_resp_json(resp, 200, obj);
}
