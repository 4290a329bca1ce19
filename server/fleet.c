/*
 * fleet.c - the fleet at a glance (fleet.h): the overview gathered from three aggregate queries
 * of the store into arrays the caller frees, and pages of devices handed through.
 */
#include "fleet.h"

#include <stdlib.h>
#include <string.h>

const char *const fotad_outcome_states[FOTAD_OUTCOME_STATES] = {"confirmed", "rolled_back",
                                                                "error"};

static fota_err_t add_group(void *arg, const fotad_device_group_t *g)
{
    fotad_overview_t *o = arg;
    size_t n = o->n_groups;
    if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) { /* full at 0, 16, 32, ...: twice as many */
        size_t cap = n == 0 ? 16 : n * 2;
        fotad_device_group_t *p = realloc(o->groups, cap * sizeof *p);
        if (p == NULL) {
            return FOTA_ERR_NO_MEM;
        }
        o->groups = p;
    }
    o->groups[o->n_groups++] = *g;
    return FOTA_OK;
}

typedef struct {
    fotad_overview_t *o;
    uint32_t buckets;
} outcome_ctx_t;

static fota_err_t add_outcome(void *arg, const fotad_outcome_rec_t *r)
{
    outcome_ctx_t *c = arg;
    for (size_t k = 0; k < FOTAD_OUTCOME_STATES; k++) {
        if (r->bucket < c->buckets && strcmp(r->state, fotad_outcome_states[k]) == 0) {
            c->o->outcomes[r->bucket][k] += r->count;
        }
    }
    return FOTA_OK;
}

typedef struct {
    fotad_overview_t *o;
    uint32_t cap;
} recent_ctx_t;

static fota_err_t add_recent(void *arg, const fotad_device_rec_t *d)
{
    recent_ctx_t *c = arg;
    if (c->o->n_recent >= c->cap) {
        return FOTA_OK;
    }
    c->o->recent[c->o->n_recent++] = *d;
    return FOTA_OK;
}

fota_err_t fotad_fleet_overview(fotad_store_t *s, const fotad_overview_req_t *q,
                                fotad_overview_t *out)
{
    memset(out, 0, sizeof *out);
    uint32_t buckets = q->buckets > 0 ? q->buckets : 1;
    uint32_t bucket_s = q->bucket_s > 0 ? q->bucket_s : 1;
    /* Buckets aligned on multiples of bucket_s, the last one holding now. */
    out->since = (q->now / bucket_s - (int64_t)buckets + 1) * bucket_s;
    out->outcomes = calloc(buckets, sizeof *out->outcomes);
    out->recent = calloc(q->recent > 0 ? q->recent : 1, sizeof *out->recent);
    if (out->outcomes == NULL || out->recent == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    fota_err_t err = s->ops->device_groups(s->ctx, q->now - q->online_s, add_group, out);
    outcome_ctx_t oc = {out, buckets};
    if (err == FOTA_OK) {
        err = s->ops->report_outcomes(s->ctx, out->since, bucket_s, add_outcome, &oc);
    }
    recent_ctx_t rc = {out, q->recent};
    if (err == FOTA_OK && q->recent > 0) {
        err = s->ops->device_errors(s->ctx, q->recent, add_recent, &rc);
    }
    return err;
}

void fotad_overview_free(fotad_overview_t *o)
{
    free(o->groups);
    free(o->outcomes);
    free(o->recent);
    memset(o, 0, sizeof *o);
}

fota_err_t fotad_fleet_page(fotad_store_t *s, const fotad_device_filter_t *f, uint64_t *total,
                            fotad_device_fn fn, void *arg)
{
    return s->ops->device_page(s->ctx, f, total, fn, arg);
}
