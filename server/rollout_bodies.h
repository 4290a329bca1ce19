/*
 * rollout_bodies.h - the admin API's rollout bodies (create, update) and device-tag lists parsed
 * into records, and rollouts and their history events as JSON (docs/ADMIN_API.md, "Rollouts").
 * Strings of a parsed list point into the cJSON tree they came from.
 */
#ifndef FOTAD_ROLLOUT_BODIES_H
#define FOTAD_ROLLOUT_BODIES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "rollouts.h"
#include "store.h"

typedef struct {
    const char **ids; /* caller's array, big enough for the list's maximum */
    size_t n;
} fotad_id_list_t;

/* A tag: 1..32 characters of A-Z a-z 0-9 - _ . : */
bool fotad_is_tag(const char *s);

/* An optional array `name` of at most max strings, each passing ok, into out (n 0 if absent).
 * FOTA_ERR_ARG with why (FOTAD_WHY_MAX bytes). */
fota_err_t fotad_body_id_list(const cJSON *obj, const char *name, size_t max,
                              bool (*ok)(const char *), fotad_id_list_t *out, char *why);

/* A create body into rec (zeroed first), its explicit devices and dry_run. */
fota_err_t fotad_rollout_parse(const cJSON *obj, fotad_rollout_rec_t *rec, fotad_id_list_t *devices,
                               bool *dry_run, char *why);

/* An update body applied to rec: thresholds (rollout's, and by stage in "stages"), timeout_s,
 * rate, window (null removes it). Fields absent stay. */
fota_err_t fotad_rollout_apply_update(const cJSON *obj, fotad_rollout_rec_t *rec, char *why);

/* A rollout with its counts (c NULL: without counts, as in the list). NULL when out of memory. */
cJSON *fotad_json_rollout(const fotad_rollout_rec_t *r, const fotad_member_counts_t *c);
cJSON *fotad_json_event(const fotad_event_rec_t *e);

#endif /* FOTAD_ROLLOUT_BODIES_H */
