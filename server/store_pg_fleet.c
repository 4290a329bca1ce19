/*
 * store_pg_fleet.c - the fleet at a glance in PostgreSQL (store.h): a filtered page of devices
 * with the count of all that pass the filters, the devices grouped by product, version, state and
 * last error, the final outcomes of reports by time bucket, and the newest devices in error. Each
 * is one statement (store_pg_sql.c) whose result is as large as the page or the number of distinct
 * groups, never the fleet; the SQLite backend's store_sqlite_fleet.c says the same in its dialect.
 */
#include <string.h>

#include "store_pg_int.h"
#include "store_visit.h"

/* $1..$6 of DEV_FILTER (store_pg_sql.c). */
static pg_params_t filter_params(const fotad_device_filter_t *f)
{
    pg_params_t p = {0};
    pg_param_text(&p, f->search != NULL ? f->search : "");
    pg_param_text(&p, f->product != NULL ? f->product : "");
    pg_param_text(&p, f->version != NULL ? f->version : "");
    pg_param_text(&p, f->state != NULL ? f->state : "");
    pg_param_text(&p, f->tag != NULL ? f->tag : "");
    pg_param_int(&p, f->errors ? 1 : 0);
    return p;
}

STORE_VISITOR(device, fotad_device_rec_t, fotad_device_fn)
STORE_VISITOR(group, fotad_device_group_t, fotad_device_group_fn)
STORE_VISITOR(outcome, fotad_outcome_rec_t, fotad_outcome_fn)

fota_err_t pg_device_page(void *ctx, const fotad_device_filter_t *f, uint64_t *total,
                          fotad_device_fn fn, void *arg)
{
    pg_params_t p = filter_params(f);
    pg_param_text(&p, f->after != NULL ? f->after : "");
    pg_param_int(&p, f->limit);
    device_visit_t v = {.fn = fn, .arg = arg};
    pg_walk_t w = {pg_fill_device, device_emit, &v};
    fota_err_t err = pg_get_all(ctx, PG_DEV_PAGE, &p, &w);
    if (err == FOTA_OK && total != NULL) {
        pg_params_t q = filter_params(f);
        *total = 0;
        err = pg_get_one(ctx, PG_DEV_PAGE_COUNT, &q, pg_fill_count, total);
    }
    return err;
}

static void fill_group(const PGresult *res, void *out)
{
    fotad_device_group_t *g = out;
    memset(g, 0, sizeof *g);
    pg_col_text(res, 0, 0, g->product, sizeof g->product);
    pg_col_text(res, 0, 1, g->version, sizeof g->version);
    pg_col_text(res, 0, 2, g->state, sizeof g->state);
    g->last_error = (int32_t)pg_col_int(res, 0, 3);
    g->devices = (uint64_t)pg_col_int(res, 0, 4);
    g->online = (uint64_t)pg_col_int(res, 0, 5);
}

fota_err_t pg_device_groups(void *ctx, int64_t online_since, fotad_device_group_fn fn, void *arg)
{
    pg_params_t p = {0};
    pg_param_int(&p, online_since);
    group_visit_t v = {.fn = fn, .arg = arg};
    pg_walk_t w = {fill_group, group_emit, &v};
    return pg_get_all(ctx, PG_DEV_GROUPS, &p, &w);
}

static void fill_outcome(const PGresult *res, void *out)
{
    fotad_outcome_rec_t *o = out;
    memset(o, 0, sizeof *o);
    o->bucket = (uint32_t)pg_col_int(res, 0, 0);
    pg_col_text(res, 0, 1, o->state, sizeof o->state);
    o->count = (uint64_t)pg_col_int(res, 0, 2);
}

fota_err_t pg_report_outcomes(void *ctx, int64_t since, uint32_t bucket_s, fotad_outcome_fn fn,
                              void *arg)
{
    pg_params_t p = {0};
    pg_param_int(&p, since);
    pg_param_int(&p, bucket_s > 0 ? bucket_s : 1);
    outcome_visit_t v = {.fn = fn, .arg = arg};
    pg_walk_t w = {fill_outcome, outcome_emit, &v};
    return pg_get_all(ctx, PG_OUTCOMES, &p, &w);
}

fota_err_t pg_device_errors(void *ctx, uint32_t limit, fotad_device_fn fn, void *arg)
{
    pg_params_t p = {0};
    pg_param_int(&p, limit);
    device_visit_t v = {.fn = fn, .arg = arg};
    pg_walk_t w = {pg_fill_device, device_emit, &v};
    return pg_get_all(ctx, PG_DEV_ERRORS, &p, &w);
}
