/*
 * rollout_bodies.c - the admin API's rollout and device-tag bodies (docs/ADMIN_API.md,
 * "Rollouts"), parsed and checked field by field into records (rollout_bodies.h), and the JSON
 * shapes of rollouts and their events. Pure functions over cJSON trees: no store, no HTTP. A
 * wrong type, a number that is not an integer in range, an unknown enum word or an array too
 * long is refused with the field's name.
 */
#include "rollout_bodies.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"
#include "json_codec.h"
#include "products.h"

#define WHY(...) (snprintf(why, FOTAD_WHY_MAX, __VA_ARGS__), FOTA_ERR_ARG)

bool fotad_is_tag(const char *s)
{
    return strlen(s) <= FOTAD_TAG_MAX && fotad_is_device_id(s);
}

/* An optional unsigned integer field: absent leaves *out; wrong type or range is an error. */
static fota_err_t opt_u32(const cJSON *obj, const char *name, uint32_t max, uint32_t *out,
                          char *why)
{
    uint32_t v = 0;
    fota_err_t err = fotad_json_u32(obj, name, &v);
    if (err == FOTA_ERR_NOT_FOUND) {
        return FOTA_OK;
    }
    if (err != FOTA_OK || v > max) {
        return WHY("field %s: an integer from 0 to %u", name, max);
    }
    *out = v;
    return FOTA_OK;
}

/* An optional word among `words` (NULL-terminated): its index into *out. */
static fota_err_t opt_word(const cJSON *obj, const char *name, const char *const *words, int *out,
                           char *why)
{
    char v[32];
    fota_err_t err = fotad_json_string(obj, name, v, sizeof v);
    if (err == FOTA_ERR_NOT_FOUND) {
        return FOTA_OK;
    }
    for (int i = 0; err == FOTA_OK && words[i] != NULL; i++) {
        if (strcmp(v, words[i]) == 0) {
            *out = i;
            return FOTA_OK;
        }
    }
    return WHY("field %s: one of %s%s%s%s%s", name, words[0], words[1] ? ", " : "",
               words[1] ? words[1] : "", words[1] && words[2] ? ", " : "",
               words[1] && words[2] ? words[2] : "");
}

static fota_err_t opt_bool(const cJSON *obj, const char *name, bool *out, char *why)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL) {
        return FOTA_OK;
    }
    if (!cJSON_IsBool(v)) {
        return WHY("field %s: true or false", name);
    }
    *out = cJSON_IsTrue(v);
    return FOTA_OK;
}

static fota_err_t thresholds(const cJSON *obj, fotad_thresholds_t *t, char *why)
{
    fota_err_t err = opt_u32(obj, "max_failures", UINT32_MAX, &t->max_failures, why);
    err = err == FOTA_OK ? opt_u32(obj, "max_failure_percent", 100, &t->max_failure_percent, why)
                         : err;
    return err == FOTA_OK ? opt_u32(obj, "min_finished", UINT32_MAX, &t->min_finished, why) : err;
}

static fota_err_t stage(const cJSON *obj, uint32_t k, fotad_stage_rec_t *s, char *why)
{
    static const char *const advance[] = {"auto", "manual", NULL};
    if (!cJSON_IsObject(obj)) {
        return WHY("stages[%u]: an object", k);
    }
    bool by_count = cJSON_GetObjectItemCaseSensitive(obj, "devices") != NULL;
    bool by_percent = cJSON_GetObjectItemCaseSensitive(obj, "percent") != NULL;
    if (by_count == by_percent) {
        return WHY("stages[%u]: give exactly one of devices and percent", k);
    }
    s->kind = by_count ? FOTAD_STAGE_COUNT : FOTAD_STAGE_PERCENT;
    s->success_percent = 100;
    int manual = 0;
    fota_err_t err = opt_u32(obj, by_count ? "devices" : "percent",
                             by_count ? FOTAD_ROLLOUT_DEVICES_MAX : 100, &s->amount, why);
    err = err == FOTA_OK ? opt_u32(obj, "success_percent", 100, &s->success_percent, why) : err;
    err = err == FOTA_OK ? opt_u32(obj, "soak_s", 366u * 86400u, &s->soak_s, why) : err;
    err = err == FOTA_OK ? opt_word(obj, "advance", advance, &manual, why) : err;
    err = err == FOTA_OK ? thresholds(obj, &s->thresholds, why) : err;
    if (err == FOTA_OK && (s->amount == 0 || s->success_percent == 0)) {
        return WHY("stages[%u]: devices, percent and success_percent must be at least 1", k);
    }
    s->manual = manual == 1;
    return err;
}

static fota_err_t stages(const cJSON *obj, fotad_rollout_rec_t *rec, char *why)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, "stages");
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 1 || n > (int)FOTAD_STAGES_MAX) {
        return WHY("field stages: an array of 1 to %u stages", FOTAD_STAGES_MAX);
    }
    rec->n_stages = (uint32_t)n;
    fota_err_t err = FOTA_OK;
    for (int k = 0; err == FOTA_OK && k < n; k++) {
        err = stage(cJSON_GetArrayItem(a, k), (uint32_t)k, &rec->stages[k], why);
    }
    return err;
}

/* "rate":{"per_minute":N,"after_successes":N,"then_per_minute":N} */
static fota_err_t rate(const cJSON *obj, fotad_rollout_rec_t *rec, char *why)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(obj, "rate");
    if (r == NULL || cJSON_IsNull(r)) {
        if (r != NULL) {
            rec->rate_per_minute = rec->rate_after_successes = rec->rate_then_per_minute = 0;
        }
        return FOTA_OK;
    }
    if (!cJSON_IsObject(r)) {
        return WHY("field rate: an object or null");
    }
    fota_err_t err = opt_u32(r, "per_minute", 1000000, &rec->rate_per_minute, why);
    err = err == FOTA_OK
              ? opt_u32(r, "after_successes", UINT32_MAX, &rec->rate_after_successes, why)
              : err;
    return err == FOTA_OK ? opt_u32(r, "then_per_minute", 1000000, &rec->rate_then_per_minute, why)
                          : err;
}

/* "window":{"cron":"0 2 * * *","tz":"+02:00","duration_s":N,"finish_running":B} or null */
static fota_err_t window(const cJSON *obj, fotad_rollout_rec_t *rec, char *why)
{
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(obj, "window");
    if (w == NULL || cJSON_IsNull(w)) {
        if (w != NULL) {
            rec->window_cron[0] = '\0';
            rec->window_duration_s = 0;
        }
        return FOTA_OK;
    }
    char tz[8] = "Z";
    fotad_cron_t cron;
    if (!cJSON_IsObject(w) ||
        fotad_json_string(w, "cron", rec->window_cron, sizeof rec->window_cron) != FOTA_OK ||
        !fotad_cron_parse(rec->window_cron, &cron)) {
        return WHY("field window: an object with cron (5 fields: minute hour day month weekday)");
    }
    fota_err_t err = fotad_json_string(w, "tz", tz, sizeof tz);
    if ((err != FOTA_OK && err != FOTA_ERR_NOT_FOUND) ||
        !fotad_utc_offset_parse(tz, &rec->window_offset_s)) {
        return WHY("field window.tz: a UTC offset such as +02:00");
    }
    rec->window_duration_s = 0;
    err = opt_u32(w, "duration_s", FOTAD_WINDOW_MAX_S, &rec->window_duration_s, why);
    if (err == FOTA_OK && rec->window_duration_s == 0) {
        return WHY("field window.duration_s: 1 to %u", FOTAD_WINDOW_MAX_S);
    }
    return err == FOTA_OK ? opt_bool(w, "finish_running", &rec->finish_running, why) : err;
}

static fota_err_t release_field(const cJSON *obj, const char *name, char *out, bool required,
                                char *why)
{
    fota_err_t err = fotad_json_string(obj, name, out, FOTAD_RELEASE_ID_LEN + 1);
    if (err == FOTA_ERR_NOT_FOUND && !required) {
        return FOTA_OK;
    }
    if (err != FOTA_OK || !fotad_release_id_lower(out, out) || !fotad_is_release_id(out)) {
        return WHY("field %s: a release id (32 hex digits)", name);
    }
    return FOTA_OK;
}

/* A string array of ids or tags (each checked by ok) into a caller-owned list. */
fota_err_t fotad_body_id_list(const cJSON *obj, const char *name, size_t max,
                              bool (*ok)(const char *), fotad_id_list_t *out, char *why)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, name);
    out->n = 0;
    if (a == NULL) {
        return FOTA_OK;
    }
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 0 || (size_t)n > max) {
        return WHY("field %s: an array of at most %zu strings", name, max);
    }
    const cJSON *v = NULL;
    cJSON_ArrayForEach(v, a)
    {
        if (!cJSON_IsString(v) || !ok(v->valuestring)) {
            return WHY("field %s: malformed entry", name);
        }
        out->ids[out->n++] = v->valuestring;
    }
    return FOTA_OK;
}

static bool is_device(const char *s)
{
    return fotad_is_device_id(s);
}

/* Tags joined into rec->tags, sorted out of the way of duplicates by the caller's care. */
static fota_err_t tags(const cJSON *obj, fotad_rollout_rec_t *rec, char *why)
{
    const char *list[FOTAD_ROLLOUT_TAGS_MAX];
    fotad_id_list_t l = {list, 0};
    fota_err_t err = fotad_body_id_list(obj, "tags", FOTAD_ROLLOUT_TAGS_MAX, fotad_is_tag, &l, why);
    size_t used = 0;
    for (size_t i = 0; err == FOTA_OK && i < l.n; i++) {
        used += (size_t)snprintf(rec->tags + used, sizeof rec->tags - used, "%s%s",
                                 i > 0 ? "," : "", list[i]);
    }
    return err;
}

fota_err_t fotad_rollout_parse(const cJSON *obj, fotad_rollout_rec_t *rec, fotad_id_list_t *devices,
                               bool *dry_run, char *why)
{
    static const char *const actions[] = {"forced", "soft", "download_only", NULL};
    static const char *const on_failure[] = {"pause", "pause_and_rollback", NULL};
    memset(rec, 0, sizeof *rec);
    int action = 1, fail = 0;
    *dry_run = false;
    fota_err_t err = release_field(obj, "release", rec->release, true, why);
    err = err == FOTA_OK ? release_field(obj, "rollback_release", rec->rollback_release, false, why)
                         : err;
    if (err == FOTA_OK &&
        fotad_json_string(obj, "name", rec->name, sizeof rec->name) == FOTA_ERR_ARG) {
        err = WHY("field name: a string of at most %u bytes", FOTAD_ROLLOUT_NAME_MAX);
    }
    fota_err_t p = fotad_json_string(obj, "product", rec->product, sizeof rec->product);
    if (err == FOTA_OK &&
        (p == FOTA_ERR_ARG || (p == FOTA_OK && !fotad_is_product_id(rec->product)))) {
        err = WHY("field product: a product id");
    }
    err = err == FOTA_OK ? stages(obj, rec, why) : err;
    err = err == FOTA_OK ? thresholds(obj, &rec->thresholds, why) : err;
    err = err == FOTA_OK ? opt_word(obj, "action", actions, &action, why) : err;
    err = err == FOTA_OK ? opt_word(obj, "on_failure", on_failure, &fail, why) : err;
    err = err == FOTA_OK ? opt_u32(obj, "timeout_s", 366u * 86400u, &rec->timeout_s, why) : err;
    err = err == FOTA_OK ? rate(obj, rec, why) : err;
    err = err == FOTA_OK ? window(obj, rec, why) : err;
    err = err == FOTA_OK ? tags(obj, rec, why) : err;
    err = err == FOTA_OK ? fotad_body_id_list(obj, "devices", FOTAD_ROLLOUT_DEVICES_MAX, is_device,
                                              devices, why)
                         : err;
    err = err == FOTA_OK ? opt_bool(obj, "dry_run", dry_run, why) : err;
    snprintf(rec->action, sizeof rec->action, "%s", actions[action]);
    rec->rollback_on_failure = fail == 1;
    return err;
}

fota_err_t fotad_rollout_apply_update(const cJSON *obj, fotad_rollout_rec_t *rec, char *why)
{
    fota_err_t err = thresholds(obj, &rec->thresholds, why);
    err = err == FOTA_OK ? opt_u32(obj, "timeout_s", 366u * 86400u, &rec->timeout_s, why) : err;
    err = err == FOTA_OK ? rate(obj, rec, why) : err;
    err = err == FOTA_OK ? window(obj, rec, why) : err;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, "stages");
    if (err != FOTA_OK || a == NULL) {
        return err;
    }
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 0 || n > (int)rec->n_stages) {
        return WHY("field stages: an array of at most %u objects (thresholds by stage)",
                   rec->n_stages);
    }
    for (int k = 0; err == FOTA_OK && k < n; k++) {
        const cJSON *s = cJSON_GetArrayItem(a, k);
        err = cJSON_IsObject(s) ? thresholds(s, &rec->stages[k].thresholds, why)
                                : WHY("stages[%d]: an object", k);
    }
    return err;
}

/* ---- JSON of rollouts ------------------------------------------------------------------------ */

static bool add_num(cJSON *o, const char *name, double v)
{
    return cJSON_AddNumberToObject(o, name, v) != NULL;
}

static bool add_thresholds(cJSON *o, const fotad_thresholds_t *t)
{
    return add_num(o, "max_failures", t->max_failures) &&
           add_num(o, "max_failure_percent", t->max_failure_percent) &&
           add_num(o, "min_finished", t->min_finished > 0 ? t->min_finished : 1);
}

/* {"pending":N,...,"total":N} and the failure rate among the finished (percent, or null). */
static bool add_counts(cJSON *o, const uint32_t *n)
{
    cJSON *c = cJSON_AddObjectToObject(o, "counts");
    uint32_t total = 0;
    for (int i = 0; c != NULL && i < FOTAD_MEMBER_STATUS_COUNT; i++) {
        total += n[i];
        if (!add_num(c, fotad_member_status_name((fotad_member_status_t)i), n[i])) {
            return false;
        }
    }
    uint32_t finished = n[FOTAD_MEMBER_FAILED] + n[FOTAD_MEMBER_SUCCEEDED];
    return c != NULL && add_num(c, "total", total) &&
           (finished == 0 ? cJSON_AddNullToObject(o, "failure_percent") != NULL
                          : add_num(o, "failure_percent",
                                    floor(1000.0 * n[FOTAD_MEMBER_FAILED] / finished) / 10.0));
}

static cJSON *stage_json(const fotad_stage_rec_t *s, uint32_t k, const uint32_t *counts)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && add_num(o, "number", k + 1) &&
              add_num(o, s->kind == FOTAD_STAGE_COUNT ? "devices" : "percent", s->amount) &&
              add_num(o, "success_percent", s->success_percent) &&
              add_num(o, "soak_s", s->soak_s) &&
              cJSON_AddStringToObject(o, "advance", s->manual ? "manual" : "auto") != NULL &&
              add_thresholds(o, &s->thresholds) &&
              add_num(o, "boundary", (double)s->boundary / 18446744073709551616.0) &&
              add_num(o, "opened", (double)s->opened) &&
              add_num(o, "done_since", (double)s->done_since) &&
              (counts == NULL || add_counts(o, counts));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool add_settings(cJSON *o, const fotad_rollout_rec_t *r)
{
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    for (const char *p = r->tags; tags != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");
        char t[FOTAD_TAG_MAX + 1];
        snprintf(t, sizeof t, "%.*s", (int)n, p);
        if (!cJSON_AddItemToArray(tags, cJSON_CreateString(t))) {
            return false;
        }
        p += n + (p[n] == ',');
    }
    bool ok = tags != NULL && add_num(o, "timeout_s", r->timeout_s) &&
              cJSON_AddStringToObject(o, "on_failure",
                                      r->rollback_on_failure ? "pause_and_rollback" : "pause") &&
              cJSON_AddStringToObject(o, "rollback_release", r->rollback_release) &&
              add_thresholds(o, &r->thresholds);
    cJSON *rate = ok ? cJSON_AddObjectToObject(o, "rate") : NULL;
    ok = rate != NULL && add_num(rate, "per_minute", r->rate_per_minute) &&
         add_num(rate, "after_successes", r->rate_after_successes) &&
         add_num(rate, "then_per_minute", r->rate_then_per_minute);
    if (ok && r->window_cron[0] == '\0') {
        return cJSON_AddNullToObject(o, "window") != NULL;
    }
    cJSON *w = ok ? cJSON_AddObjectToObject(o, "window") : NULL;
    char tz[8];
    int32_t off = r->window_offset_s < 0 ? -r->window_offset_s : r->window_offset_s;
    snprintf(tz, sizeof tz, "%c%02d:%02d", r->window_offset_s < 0 ? '-' : '+',
             (int)(off / 3600 % 100), (int)(off % 3600 / 60));
    return w != NULL && cJSON_AddStringToObject(w, "cron", r->window_cron) &&
           cJSON_AddStringToObject(w, "tz", tz) && add_num(w, "duration_s", r->window_duration_s) &&
           cJSON_AddBoolToObject(w, "finish_running", r->finish_running);
}

cJSON *fotad_json_rollout(const fotad_rollout_rec_t *r, const fotad_member_counts_t *c)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && add_num(o, "id", (double)r->id) &&
              cJSON_AddStringToObject(o, "name", r->name) &&
              cJSON_AddStringToObject(o, "product", r->product) &&
              cJSON_AddStringToObject(o, "release", r->release) &&
              cJSON_AddStringToObject(o, "state", r->state) &&
              cJSON_AddStringToObject(o, "action", r->action) &&
              add_num(o, "current_stage", r->current_stage + 1) &&
              cJSON_AddStringToObject(o, "paused_reason", r->paused_reason) &&
              add_num(o, "rollback_stage", r->rollback_stage + 1) &&
              cJSON_AddBoolToObject(o, "explicit_devices", r->explicit_devices) &&
              add_num(o, "created", (double)r->created) &&
              add_num(o, "start_at", (double)r->start_at) &&
              add_num(o, "started", (double)r->started) &&
              add_num(o, "finished", (double)r->finished) && add_settings(o, r);
    cJSON *stages = ok ? cJSON_AddArrayToObject(o, "stages") : NULL;
    uint32_t total[FOTAD_MEMBER_STATUS_COUNT] = {0};
    for (uint32_t k = 0; stages != NULL && k < r->n_stages; k++) {
        for (int i = 0; c != NULL && i < FOTAD_MEMBER_STATUS_COUNT; i++) {
            total[i] += c->n[k][i];
        }
        if (!cJSON_AddItemToArray(stages, stage_json(&r->stages[k], k, c ? c->n[k] : NULL))) {
            stages = NULL;
        }
    }
    if (stages == NULL || (c != NULL && !add_counts(o, total))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *fotad_json_event(const fotad_event_rec_t *e)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !add_num(o, "time", (double)e->time) ||
        !cJSON_AddStringToObject(o, "kind", e->kind) ||
        !cJSON_AddStringToObject(o, "text", e->text)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
