/*
 * store_sqlite_fleet.c - the fleet at a glance in SQLite (store.h): a filtered page of devices
 * with the count of all that pass the filters, the devices grouped by product, version, state and
 * last error, the final outcomes of reports by time bucket, and the newest devices in error. Each
 * is one statement on a reader connection whose result is as large as the page or the number of
 * distinct groups, never the fleet: the operator console asks the same few questions whatever the
 * size of the fleet.
 */
#include <string.h>

#include "store_sqlite_int.h"
#include "store_visit.h"

/* ?2..?7 of DEV_FILTER (store_sqlite_ops.c), and ?1 and ?8 of a page. */
static void bind_filter(sqlite3_stmt *st, const fotad_device_filter_t *f)
{
    sq_bind_text_or_empty(st, 1, f->after);
    sq_bind_text_or_empty(st, 2, f->search);
    sq_bind_text_or_empty(st, 3, f->product);
    sq_bind_text_or_empty(st, 4, f->version);
    sq_bind_text_or_empty(st, 5, f->state);
    sq_bind_text_or_empty(st, 6, f->tag);
    sqlite3_bind_int(st, 7, f->errors ? 1 : 0);
    sqlite3_bind_int64(st, 8, f->limit);
}

STORE_VISITOR(device, fotad_device_rec_t, fotad_device_fn)
STORE_VISITOR(group, fotad_device_group_t, fotad_device_group_fn)
STORE_VISITOR(outcome, fotad_outcome_rec_t, fotad_outcome_fn)

static void bind_page(sqlite3_stmt *st, const void *arg)
{
    bind_filter(st, arg);
}

fota_err_t sq_device_page(void *ctx, const fotad_device_filter_t *f, uint64_t *total,
                          fotad_device_fn fn, void *arg)
{
    device_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {sq_row_device, device_emit, &v};
    fota_err_t err = sq_read_all(ctx, SQ_DEV_PAGE, bind_page, f, &w);
    if (err == FOTA_OK && total != NULL) {
        *total = 0;
        err = sq_read_one(ctx, SQ_DEV_PAGE_COUNT, bind_page, f, sq_row_count, total);
    }
    return err;
}

static void row_group(sqlite3_stmt *st, void *out)
{
    fotad_device_group_t *g = out;
    memset(g, 0, sizeof *g);
    sq_col_text(st, 0, g->product, sizeof g->product);
    sq_col_text(st, 1, g->version, sizeof g->version);
    sq_col_text(st, 2, g->state, sizeof g->state);
    g->last_error = (int32_t)sqlite3_column_int64(st, 3);
    g->devices = (uint64_t)sqlite3_column_int64(st, 4);
    g->online = (uint64_t)sqlite3_column_int64(st, 5);
}

static void bind_i64(sqlite3_stmt *st, const void *arg)
{
    sqlite3_bind_int64(st, 1, *(const int64_t *)arg);
}

fota_err_t sq_device_groups(void *ctx, int64_t online_since, fotad_device_group_fn fn, void *arg)
{
    group_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_group, group_emit, &v};
    return sq_read_all(ctx, SQ_DEV_GROUPS, bind_i64, &online_since, &w);
}

static void row_outcome(sqlite3_stmt *st, void *out)
{
    fotad_outcome_rec_t *o = out;
    memset(o, 0, sizeof *o);
    o->bucket = (uint32_t)sqlite3_column_int64(st, 0);
    sq_col_text(st, 1, o->state, sizeof o->state);
    o->count = (uint64_t)sqlite3_column_int64(st, 2);
}

typedef struct {
    int64_t since;
    uint32_t bucket_s;
} outcome_args_t;

static void bind_outcomes(sqlite3_stmt *st, const void *arg)
{
    const outcome_args_t *a = arg;
    sqlite3_bind_int64(st, 1, a->since);
    sqlite3_bind_int64(st, 2, a->bucket_s > 0 ? a->bucket_s : 1);
}

fota_err_t sq_report_outcomes(void *ctx, int64_t since, uint32_t bucket_s, fotad_outcome_fn fn,
                              void *arg)
{
    outcome_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_outcome, outcome_emit, &v};
    outcome_args_t a = {since, bucket_s};
    return sq_read_all(ctx, SQ_OUTCOMES, bind_outcomes, &a, &w);
}

static void bind_limit(sqlite3_stmt *st, const void *arg)
{
    sqlite3_bind_int64(st, 1, *(const uint32_t *)arg);
}

fota_err_t sq_device_errors(void *ctx, uint32_t limit, fotad_device_fn fn, void *arg)
{
    device_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {sq_row_device, device_emit, &v};
    return sq_read_all(ctx, SQ_DEV_ERRORS, bind_limit, &limit, &w);
}
