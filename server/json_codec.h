/*
 * json_codec.h - the JSON shapes of the APIs: records (store.h) as the objects of
 * docs/ADMIN_API.md, and checked field access for request bodies. cJSON does the syntax; this
 * file decides what a valid value is. Returned trees are the caller's (cJSON_Delete).
 */
#ifndef FOTAD_JSON_CODEC_H
#define FOTAD_JSON_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "store.h"

/* NULL when out of memory. */
cJSON *fotad_json_release(const fotad_release_rec_t *r);
/* The offer of a check (docs/PROTOCOL.md 4.1); prefix is the device API's path prefix. */
cJSON *fotad_json_offer(const fotad_release_rec_t *r, const char *prefix);

/* A delta as the admin API shows it (an upload's answer, a release's "deltas"). */
cJSON *fotad_json_delta(const fotad_delta_rec_t *d);
cJSON *fotad_json_device(const fotad_device_rec_t *d);
cJSON *fotad_json_report(const fotad_report_rec_t *r);
cJSON *fotad_json_assignment(const fotad_assignment_rec_t *a);
/* A release's and a product's chip: "chip" its ESP-IDF target name ("" for an unknown id),
 * "chip_id" the number (-1 for a release whose chip is not recorded). */
cJSON *fotad_json_product(const fotad_product_rec_t *p);

/* The most members a body's top-level object may have (the largest body has 7 fields). */
#define FOTAD_JSON_MAX_MEMBERS 32u

/* Parse a whole body as one JSON object (nothing but white space may follow it). NULL if it is
 * not one, if it holds a NUL (\u0000 or a zero byte: no field accepts one), has more than
 * FOTAD_JSON_MAX_MEMBERS members or a member name twice; *why says what is wrong. */
cJSON *fotad_json_parse_object(const uint8_t *body, size_t len, const char **why);

/*
 * Field access. Each returns FOTA_OK with the value, FOTA_ERR_NOT_FOUND when the field is absent
 * (the caller decides whether that is allowed), FOTA_ERR_ARG when it has the wrong type or is out
 * of range / too long.
 */
fota_err_t fotad_json_string(const cJSON *obj, const char *name, char *out, size_t cap);
fota_err_t fotad_json_u32(const cJSON *obj, const char *name, uint32_t *out);
fota_err_t fotad_json_i32(const cJSON *obj, const char *name, int32_t *out);

#endif /* FOTAD_JSON_CODEC_H */
