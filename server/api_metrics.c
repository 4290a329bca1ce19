/*
 * api_metrics.c - GET /metrics (docs/SERVER.md "Metrics"): the Prometheus text format of
 *
 *   - the fleet, cluster-wide, from the store in one aggregate query (device_census): devices by
 *     state, by running version, and by the release and outcome of their last report;
 *   - each active (running or paused) rollout: its open stage and its members per stage and
 *     status (stages numbered from 1, as the admin API numbers them);
 *   - this process: the registry's counters (metrics.h), the process_* facts (procstat.h) and
 *     fota_build_info.
 *
 * A store that cannot be read makes the whole answer 503 (store_unavailable), as elsewhere: a
 * scrape never shows gauges of zero devices that only mean "unknown".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "procstat.h"

#define KEY_MAX 33u /* a version or a release id, with its NUL */

_Static_assert(FOTAD_LABEL_MAX < KEY_MAX && FOTAD_RELEASE_ID_LEN < KEY_MAX, "keys fit");

/* Counts by one or two keys; few rows (states, versions, releases), so a linear search. */
typedef struct {
    char a[KEY_MAX];
    char b[KEY_MAX];
    uint64_t n;
} tally_row_t;

typedef struct {
    tally_row_t *rows;
    size_t n;
    size_t cap;
} tally_t;

static fota_err_t tally_add(tally_t *t, const char *a, const char *b, uint64_t n)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->rows[i].a, a) == 0 && strcmp(t->rows[i].b, b) == 0) {
            t->rows[i].n += n;
            return FOTA_OK;
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap == 0 ? 16 : t->cap * 2;
        tally_row_t *rows = realloc(t->rows, cap * sizeof *rows);
        if (rows == NULL) {
            return FOTA_ERR_NO_MEM;
        }
        t->rows = rows;
        t->cap = cap;
    }
    tally_row_t *row = &t->rows[t->n++];
    snprintf(row->a, sizeof row->a, "%s", a);
    snprintf(row->b, sizeof row->b, "%s", b);
    row->n = n;
    return FOTA_OK;
}

typedef struct {
    tally_t by_state;
    tally_t by_version;
    tally_t results; /* (release, outcome) */
} census_t;

/* The outcome of a device's last report on its release: the final states as they are, any
 * other state in_progress. */
static const char *outcome_of(const char *state)
{
    static const char *const final[] = {"confirmed", "rolled_back", "error"};
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++) {
        if (strcmp(state, final[i]) == 0) {
            return final[i];
        }
    }
    return "in_progress";
}

static fota_err_t census_row(void *arg, const fotad_census_rec_t *c)
{
    census_t *x = arg;
    fota_err_t err = tally_add(&x->by_state, c->state[0] != '\0' ? c->state : "none", "", c->n);
    if (err == FOTA_OK) {
        err = tally_add(&x->by_version, c->version[0] != '\0' ? c->version : "unknown", "", c->n);
    }
    if (err == FOTA_OK && c->release[0] != '\0') {
        err = tally_add(&x->results, c->release, outcome_of(c->state), c->n);
    }
    return err;
}

static void put_tally(fotad_prom_t *p, const char *name, const tally_t *t, const char *label_a,
                      const char *label_b)
{
    for (size_t i = 0; i < t->n; i++) {
        fotad_prom_label_t labels[2] = {{label_a, t->rows[i].a}, {label_b, t->rows[i].b}};
        fotad_prom_u64(p, name, labels, label_b != NULL ? 2 : 1, t->rows[i].n);
    }
}

static fota_err_t put_fleet(fotad_app_t *app, fotad_prom_t *p)
{
    census_t x = {0};
    fota_err_t err = app->store.ops->device_census(app->store.ctx, census_row, &x);
    if (err == FOTA_OK) {
        fotad_prom_family(p, "fota_devices", "gauge",
                          "Devices known to the cluster by the state of their last report "
                          "(none: no report yet).");
        put_tally(p, "fota_devices", &x.by_state, "state", NULL);
        fotad_prom_family(p, "fota_devices_by_version", "gauge",
                          "Devices known to the cluster by running version (unknown: not "
                          "checked yet).");
        put_tally(p, "fota_devices_by_version", &x.by_version, "version", NULL);
        fotad_prom_family(p, "fota_update_results", "gauge",
                          "Devices by the release of their last report and its outcome "
                          "(confirmed, rolled_back, error, in_progress).");
        put_tally(p, "fota_update_results", &x.results, "release", "outcome");
    }
    free(x.by_state.rows);
    free(x.by_version.rows);
    free(x.results.rows);
    return err;
}

/* ---- rollouts ----------------------------------------------------------------------------- */

typedef struct {
    int64_t ids[FOTAD_ROLLOUTS_ACTIVE_MAX];
    size_t n;
} active_t;

static fota_err_t remember_active(void *arg, const fotad_rollout_rec_t *r)
{
    active_t *a = arg;
    if ((strcmp(r->state, "running") == 0 || strcmp(r->state, "paused") == 0) &&
        a->n < FOTAD_ROLLOUTS_ACTIVE_MAX) {
        a->ids[a->n++] = r->id;
    }
    return FOTA_OK;
}

static void put_rollout(fotad_prom_t *p, const fotad_rollout_rec_t *rec,
                        const fotad_member_counts_t *c, bool members)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, rec->id);
    if (!members) {
        fotad_prom_label_t labels[3] = {
            {"rollout", id}, {"release", rec->release}, {"state", rec->state}};
        fotad_prom_u64(p, "fota_rollout_stage", labels, 3,
                       rec->current_stage >= 0 ? (uint64_t)rec->current_stage + 1 : 0);
        return;
    }
    for (uint32_t s = 0; s < rec->n_stages && s < FOTAD_STAGES_MAX; s++) {
        char stage[12];
        snprintf(stage, sizeof stage, "%" PRIu32, s + 1);
        for (int k = 0; k < FOTAD_MEMBER_STATUS_COUNT; k++) {
            fotad_prom_label_t labels[3] = {
                {"rollout", id},
                {"stage", stage},
                {"status", fotad_member_status_name((fotad_member_status_t)k)}};
            fotad_prom_u64(p, "fota_rollout_members", labels, 3, c->n[s][k]);
        }
    }
}

static fota_err_t put_rollouts(fotad_app_t *app, fotad_prom_t *p)
{
    active_t *a = calloc(1, sizeof *a);
    fotad_rollout_rec_t *recs = NULL;
    fotad_member_counts_t *counts = NULL;
    fota_err_t err =
        a != NULL ? fotad_rollouts_list(app->rollouts, remember_active, a) : FOTA_ERR_NO_MEM;
    if (err == FOTA_OK && a->n > 0) {
        recs = calloc(a->n, sizeof *recs);
        counts = calloc(a->n, sizeof *counts);
        err = recs != NULL && counts != NULL ? FOTA_OK : FOTA_ERR_NO_MEM;
    }
    size_t n = 0;
    for (size_t i = 0; err == FOTA_OK && a != NULL && i < a->n; i++) {
        err = fotad_rollouts_get(app->rollouts, a->ids[i], &recs[n], &counts[n]);
        n += err == FOTA_OK;
        err = err == FOTA_ERR_NOT_FOUND ? FOTA_OK : err;
    }
    if (err == FOTA_OK) {
        fotad_prom_family(p, "fota_rollout_stage", "gauge",
                          "Number of the open stage (1 for the first) of each running or paused "
                          "rollout, as the admin API's current_stage.");
        for (size_t i = 0; i < n; i++) {
            put_rollout(p, &recs[i], &counts[i], false);
        }
        fotad_prom_family(p, "fota_rollout_members", "gauge",
                          "Members of each running or paused rollout by stage number and status.");
        for (size_t i = 0; i < n; i++) {
            put_rollout(p, &recs[i], &counts[i], true);
        }
    }
    free(a);
    free(recs);
    free(counts);
    return err;
}

/* ---- this process ------------------------------------------------------------------------- */

static void put_process(const fotad_app_t *app, fotad_prom_t *p)
{
    fotad_procstat_t ps;
    fotad_procstat_read(&ps);
    if (ps.start_time == 0) {
        ps.start_time = (double)app->started;
    }
    fotad_prom_family(p, "process_cpu_seconds_total", "counter",
                      "Total user and system CPU time spent in seconds.");
    fotad_prom_f64(p, "process_cpu_seconds_total", NULL, 0, ps.cpu_seconds);
    fotad_prom_family(p, "process_resident_memory_bytes", "gauge",
                      "Resident memory size in bytes.");
    fotad_prom_u64(p, "process_resident_memory_bytes", NULL, 0, ps.resident_bytes);
    fotad_prom_family(p, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    fotad_prom_u64(p, "process_virtual_memory_bytes", NULL, 0, ps.virtual_bytes);
    fotad_prom_family(p, "process_open_fds", "gauge", "Number of open file descriptors.");
    fotad_prom_u64(p, "process_open_fds", NULL, 0, ps.open_fds);
    fotad_prom_family(p, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    fotad_prom_u64(p, "process_max_fds", NULL, 0, ps.max_fds);
    fotad_prom_family(p, "process_start_time_seconds", "gauge",
                      "Start time of the process since unix epoch in seconds.");
    fotad_prom_f64(p, "process_start_time_seconds", NULL, 0, ps.start_time);
    fotad_prom_family(p, "fota_build_info", "gauge", "fotad's version, as a label; always 1.");
    fotad_prom_label_t version = {"version", FOTAD_VERSION};
    fotad_prom_u64(p, "fota_build_info", &version, 1, 1);
}

void fotad_api_metrics(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)req;
    fotad_prom_t p = {0};
    fota_err_t err = put_fleet(app, &p);
    if (err == FOTA_OK) {
        err = put_rollouts(app, &p);
    }
    if (err == FOTA_OK) {
        put_process(app, &p);
        fotad_metrics_render(app->metrics, &p);
        err = p.failed ? FOTA_ERR_NO_MEM : FOTA_OK;
    }
    if (err != FOTA_OK) {
        fotad_prom_free(&p);
        fotad_resp_internal(resp, "metrics", err);
        return;
    }
    fotad_resp_take(resp, 200, FOTAD_PROM_CONTENT_TYPE, p.buf, p.len);
}
