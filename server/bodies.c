/*
 * bodies.c - the report and assignment bodies, parsed and checked field by field (bodies.h).
 * cJSON does the syntax (fotad_json_parse_object); the rules of each field are here. A release id
 * may come in either case; it is stored in lowercase.
 */
#include "bodies.h"

#include <string.h>

#include "json_codec.h"

/* A state: 1..15 characters of a-z and '_' (the agent's names; new ones are accepted). */
static bool is_state(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
    return n > 0 && s[n] == '\0' && n <= FOTAD_STATE_MAX;
}

/* An optional string field: absent or "" gives "", anything else must fit and pass `ok` (which
 * may normalise it in place). */
static bool opt_string(const cJSON *obj, const char *name, char *out, size_t cap,
                       bool (*ok)(char *))
{
    fota_err_t err = fotad_json_string(obj, name, out, cap);
    if (err == FOTA_ERR_NOT_FOUND) {
        out[0] = '\0';
        return true;
    }
    return err == FOTA_OK && (out[0] == '\0' || ok(out));
}

static bool is_version(char *s)
{
    return fotad_is_label(s, FOTAD_LABEL_MAX);
}

/* A release id in either case (docs/PROTOCOL.md section 3), lowercased in place. */
static bool release_id_lower(char *s)
{
    for (char *p = s; *p != '\0'; p++) {
        *p = *p >= 'A' && *p <= 'F' ? (char)(*p - 'A' + 'a') : *p;
    }
    return fotad_is_release_id(s);
}

#define BAD_FIELD(name) "missing or invalid field " name

/* The report's fields into r; NULL or what is wrong. */
static const char *report_fields(const cJSON *obj, fotad_report_rec_t *r)
{
    if (fotad_json_string(obj, "state", r->state, sizeof r->state) != FOTA_OK ||
        !is_state(r->state)) {
        return BAD_FIELD("state");
    }
    if (!opt_string(obj, "release", r->release, sizeof r->release, release_id_lower)) {
        return BAD_FIELD("release");
    }
    if (!opt_string(obj, "version", r->version, sizeof r->version, is_version)) {
        return BAD_FIELD("version");
    }
    if (!opt_string(obj, "running", r->running, sizeof r->running, is_version)) {
        return BAD_FIELD("running");
    }
    const char *nums[] = {"done", "total"};
    const char *bad[] = {BAD_FIELD("done"), BAD_FIELD("total")};
    uint32_t *dst[] = {&r->done, &r->total};
    for (size_t i = 0; i < 2; i++) {
        fota_err_t err = fotad_json_u32(obj, nums[i], dst[i]);
        if (err != FOTA_OK && err != FOTA_ERR_NOT_FOUND) {
            return bad[i];
        }
    }
    fota_err_t err = fotad_json_i32(obj, "error", &r->error);
    return err == FOTA_OK || err == FOTA_ERR_NOT_FOUND ? NULL : BAD_FIELD("error");
}

const char *fotad_report_parse(const uint8_t *body, size_t len, fotad_report_rec_t *r)
{
    memset(r, 0, sizeof *r);
    const char *why = NULL;
    cJSON *obj = fotad_json_parse_object(body, len, &why);
    if (obj == NULL) {
        return why;
    }
    why = report_fields(obj, r);
    cJSON_Delete(obj);
    return why;
}

/* The assignment's fields into *a; NULL or what is wrong. */
static const char *assignment_fields(const cJSON *obj, fotad_assignment_rec_t *a)
{
    char device[FOTAD_DEVICE_ID_MAX + 1];
    char product[FOTAD_LABEL_MAX + 1];
    if (fotad_json_string(obj, "release", a->release, sizeof a->release) != FOTA_OK ||
        !release_id_lower(a->release)) {
        return "release must be a release id (32 hex digits)";
    }
    fota_err_t d = fotad_json_string(obj, "device", device, sizeof device);
    fota_err_t p = fotad_json_string(obj, "product", product, sizeof product);
    if ((d == FOTA_ERR_NOT_FOUND) == (p == FOTA_ERR_NOT_FOUND)) {
        return "give exactly one of device and product";
    }
    if (d == FOTA_OK && fotad_is_device_id(device)) {
        a->kind = FOTAD_TARGET_DEVICE;
        memcpy(a->target, device, sizeof device);
        return NULL;
    }
    if (p == FOTA_OK && fotad_is_label(product, FOTAD_LABEL_MAX)) {
        a->kind = FOTAD_TARGET_PRODUCT;
        memcpy(a->target, product, sizeof product);
        return NULL;
    }
    return d != FOTA_ERR_NOT_FOUND ? "malformed device id" : "malformed product";
}

const char *fotad_assignment_parse(const uint8_t *body, size_t len, fotad_assignment_rec_t *a)
{
    memset(a, 0, sizeof *a);
    const char *why = NULL;
    cJSON *obj = fotad_json_parse_object(body, len, &why);
    if (obj == NULL) {
        return why;
    }
    why = assignment_fields(obj, a);
    cJSON_Delete(obj);
    return why;
}
