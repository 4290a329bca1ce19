/*
 * json_codec.c - records to JSON and checked reads of request fields (json_codec.h).
 */
#include "json_codec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fota/esp_image.h"

/* Add fields from a table; false if any allocation failed. */
typedef struct {
    const char *name;
    const char *str; /* a string field, or NULL for a number */
    double num;
} field_t;

static cJSON *object_of(const field_t *fields, size_t n)
{
    cJSON *obj = cJSON_CreateObject();
    for (size_t i = 0; obj != NULL && i < n; i++) {
        cJSON *v = fields[i].str != NULL
                       ? cJSON_AddStringToObject(obj, fields[i].name, fields[i].str)
                       : cJSON_AddNumberToObject(obj, fields[i].name, fields[i].num);
        if (v == NULL) {
            cJSON_Delete(obj);
            obj = NULL;
        }
    }
    return obj;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ESP-IDF's target name of a chip id ("esp32s3"); "" for an unknown or unrecorded chip. */
static const char *chip_target(int32_t chip_id)
{
    const fota_esp_chip_t *c =
        chip_id >= 0 && chip_id <= UINT16_MAX ? fota_esp_chip_by_id((uint16_t)chip_id) : NULL;
    return c != NULL ? c->target : "";
}

cJSON *fotad_json_release(const fotad_release_rec_t *r)
{
    /* The manifest's key_id: which release key signed it (docs/MANIFEST.md). */
    char key_id[2 * FOTA_MANIFEST_KEY_ID_LEN + 1];
    for (size_t i = 0; i < FOTA_MANIFEST_KEY_ID_LEN; i++) {
        snprintf(key_id + 2 * i, 3, "%02x", r->manifest[FOTA_MANIFEST_OFF_KEY_ID + i]);
    }
    const field_t f[] = {
        {"id", r->id, 0},
        {"product", r->product, 0},
        {"version", r->version, 0},
        {"security_version", NULL, r->security_version},
        {"image_size", NULL, r->image_size},
        {"chunk_size", NULL, r->chunk_size},
        {"chunk_count", NULL, r->chunk_count},
        {"image_sha256", r->image_sha256, 0},
        {"blob_size", NULL, r->blob_size},
        {"created", NULL, (double)r->created},
        {"uploaded", NULL, (double)r->uploaded},
        {"chip", chip_target(r->chip_id), 0},
        {"chip_id", NULL, r->chip_id},
        {"key_id", key_id, 0},
    };
    return object_of(f, COUNT(f));
}

cJSON *fotad_json_delta(const fotad_delta_rec_t *d)
{
    const field_t f[] = {
        {"delta", d->id, 0},
        {"release", d->release, 0},
        {"source_sha256", d->source_sha256, 0},
        {"source_size", NULL, d->source_size},
        {"patch_size", NULL, d->patch_size},
        {"chunk_size", NULL, d->chunk_size},
        {"chunk_count", NULL, d->chunk_count},
        {"blob_size", NULL, d->blob_size},
        {"created", NULL, (double)d->created},
        {"uploaded", NULL, (double)d->uploaded},
    };
    return object_of(f, COUNT(f));
}

cJSON *fotad_json_product(const fotad_product_rec_t *p)
{
    const field_t f[] = {
        {"id", p->id, 0},
        {"chip", chip_target(p->chip_id), 0},
        {"chip_id", NULL, p->chip_id},
        {"created", NULL, (double)p->created},
    };
    return object_of(f, COUNT(f));
}

cJSON *fotad_json_offer(const fotad_release_rec_t *r, const char *prefix)
{
    char manifest[128];
    char blob[128];
    snprintf(manifest, sizeof manifest, "%smanifest?release=%s", prefix, r->id);
    snprintf(blob, sizeof blob, "%sblob/%s", prefix, r->id);
    const field_t f[] = {
        {"release", r->id, 0},
        {"version", r->version, 0},
        {"size", NULL, r->image_size},
        {"chunk_size", NULL, r->chunk_size},
        {"chunk_count", NULL, r->chunk_count},
        {"sha256", r->image_sha256, 0},
        {"security_version", NULL, r->security_version},
        {"manifest", manifest, 0},
        {"blob", blob, 0},
    };
    return object_of(f, COUNT(f));
}

cJSON *fotad_json_device(const fotad_device_rec_t *d)
{
    const field_t f[] = {
        {"id", d->id, 0},
        {"product", d->product, 0},
        {"version", d->version, 0},
        {"state", d->state, 0},
        {"release", d->release, 0},
        {"offered", d->offered, 0},
        {"done", NULL, d->done},
        {"total", NULL, d->total},
        {"last_error", NULL, d->last_error},
        {"last_error_name", fota_err_name((fota_err_t)d->last_error), 0},
        {"first_seen", NULL, (double)d->first_seen},
        {"last_seen", NULL, (double)d->last_seen},
    };
    cJSON *obj = object_of(f, COUNT(f));
    cJSON *tags = obj != NULL ? cJSON_AddArrayToObject(obj, "tags") : NULL;
    for (const char *p = d->tags; tags != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");
        char t[FOTAD_TAG_MAX + 1];
        snprintf(t, sizeof t, "%.*s", (int)n, p);
        if (!cJSON_AddItemToArray(tags, cJSON_CreateString(t))) {
            tags = NULL;
        }
        p += n + (p[n] == ',');
    }
    if (tags == NULL) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

cJSON *fotad_json_report(const fotad_report_rec_t *r)
{
    const field_t f[] = {
        {"time", NULL, (double)r->time},
        {"state", r->state, 0},
        {"release", r->release, 0},
        {"version", r->version, 0},
        {"running", r->running, 0},
        {"done", NULL, r->done},
        {"total", NULL, r->total},
        {"error", NULL, r->error},
        {"error_name", fota_err_name((fota_err_t)r->error), 0},
    };
    return object_of(f, COUNT(f));
}

cJSON *fotad_json_assignment(const fotad_assignment_rec_t *a)
{
    const field_t f[] = {
        {"release", a->release, 0},
        {a->kind == FOTAD_TARGET_DEVICE ? "device" : "product", a->target, 0},
        {"updated", NULL, (double)a->updated},
    };
    return object_of(f, COUNT(f));
}

/*
 * A NUL in the body: a zero byte, or the escape \u0000 that cJSON decodes to one. Either way every
 * C string after it ends there: "inv\u0000-x" would be read as "inv", a different value than the
 * one sent. No field of ours holds a NUL (and JSON allows no raw control character), so such a
 * body is refused whole. Escapes come in pairs (a backslash and the next character), which keeps
 * "\\u0000" (a backslash, then "u0000") valid; outside strings a backslash is a syntax error.
 */
static bool has_nul(const uint8_t *body, size_t len)
{
    if (len > 0 && memchr(body, '\0', len) != NULL) {
        return true;
    }
    for (size_t i = 0; i + 1 < len; i++) {
        if (body[i] != '\\') {
            continue;
        }
        if (body[i + 1] == 'u' && len - i >= 6 && memcmp(body + i + 2, "0000", 4) == 0) {
            return true;
        }
        i++; /* the escaped character */
    }
    return false;
}

/* Why the object's members cannot be read one way only, or NULL: more members than any body
 * has, or two with the same name (one reader could take the first, another the second). */
static const char *members_refused(const cJSON *obj)
{
    size_t n = 0;
    for (const cJSON *a = obj->child; a != NULL; a = a->next) {
        if (++n > FOTAD_JSON_MAX_MEMBERS) {
            return "more keys than any body has";
        }
    }
    for (const cJSON *a = obj->child; a != NULL; a = a->next) {
        for (const cJSON *b = a->next; b != NULL; b = b->next) {
            if (strcmp(a->string, b->string) == 0) {
                return "a key given twice";
            }
        }
    }
    return NULL;
}

cJSON *fotad_json_parse_object(const uint8_t *body, size_t len, const char **why)
{
    if (has_nul(body, len)) {
        *why = "a NUL (\\u0000 or a zero byte) in the body, which no field accepts";
        return NULL;
    }
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts((const char *)body, len, &end, 0);
    if (json == NULL) {
        *why = "malformed JSON";
        return NULL;
    }
    const char *stop = (const char *)body + len;
    while (end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) {
        end++;
    }
    if (end != stop || !cJSON_IsObject(json)) {
        *why = end != stop ? "trailing data after the JSON" : "the body is not a JSON object";
        cJSON_Delete(json);
        return NULL;
    }
    const char *refused = members_refused(json);
    if (refused != NULL) {
        *why = refused;
        cJSON_Delete(json);
        return NULL;
    }
    return json;
}

fota_err_t fotad_json_string(const cJSON *obj, const char *name, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL) {
        return FOTA_ERR_NOT_FOUND;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
        return FOTA_ERR_ARG;
    }
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return FOTA_OK;
}

/* A number that is an integer in [min, max]. */
static fota_err_t integer(const cJSON *obj, const char *name, double min, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL) {
        return FOTA_ERR_NOT_FOUND;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < min ||
        v->valuedouble > max) {
        return FOTA_ERR_ARG;
    }
    *out = v->valuedouble;
    return FOTA_OK;
}

fota_err_t fotad_json_u32(const cJSON *obj, const char *name, uint32_t *out)
{
    double d;
    fota_err_t err = integer(obj, name, 0, (double)UINT32_MAX, &d);
    if (err == FOTA_OK) {
        *out = (uint32_t)d;
    }
    return err;
}

fota_err_t fotad_json_i32(const cJSON *obj, const char *name, int32_t *out)
{
    double d;
    fota_err_t err = integer(obj, name, (double)INT32_MIN, (double)INT32_MAX, &d);
    if (err == FOTA_OK) {
        *out = (int32_t)d;
    }
    return err;
}
