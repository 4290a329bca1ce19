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

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC);
}

/* ?2..?7 of DEV_FILTER (store_sqlite_ops.c), and ?1 and ?8 of a page. */
static void bind_filter(sqlite3_stmt *st, const fotad_device_filter_t *f)
{
    bind_text(st, 1, f->after);
    bind_text(st, 2, f->search);
    bind_text(st, 3, f->product);
    bind_text(st, 4, f->version);
    bind_text(st, 5, f->state);
    bind_text(st, 6, f->tag);
    sqlite3_bind_int(st, 7, f->errors ? 1 : 0);
    sqlite3_bind_int64(st, 8, f->limit);
}

/* Binds the values of one statement. */
typedef void (*binder_fn)(sqlite3_stmt *st, const void *arg);

/* Step st to its end, handing each row to row (which returns FOTA_OK to go on). */
typedef fota_err_t (*row_fn)(sqlite3_stmt *st, void *arg);

static fota_err_t run(sq_store_t *s, sq_stmt_id_t id, binder_fn bind, const void *barg, row_fn row,
                      void *rarg)
{
    sq_conn_t *c = sq_reader_get(s);
    sqlite3_stmt *st = c != NULL ? sq_stmt(c, id) : NULL;
    if (st == NULL) {
        if (c != NULL) {
            sq_reader_put(s, c);
        }
        return FOTA_ERR_IO;
    }
    bind(st, barg);
    fota_err_t err = FOTA_OK;
    int rc = SQLITE_DONE;
    while (err == FOTA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        err = row(st, rarg);
    }
    if (err == FOTA_OK && rc != SQLITE_DONE) {
        err = sq_fail(c, "fleet query");
    }
    sq_reset(st);
    sq_reader_put(s, c);
    return err;
}

typedef struct {
    fotad_device_rec_t rec;
    fotad_device_fn fn;
    void *arg;
} device_visit_t;

static fota_err_t device_row(sqlite3_stmt *st, void *arg)
{
    device_visit_t *v = arg;
    sq_row_device(st, &v->rec);
    return v->fn(v->arg, &v->rec);
}

static fota_err_t count_row(sqlite3_stmt *st, void *arg)
{
    *(uint64_t *)arg = (uint64_t)sqlite3_column_int64(st, 0);
    return FOTA_OK;
}

static void bind_page(sqlite3_stmt *st, const void *arg)
{
    bind_filter(st, arg);
}

fota_err_t sq_device_page(void *ctx, const fotad_device_filter_t *f, uint64_t *total,
                          fotad_device_fn fn, void *arg)
{
    device_visit_t v = {.fn = fn, .arg = arg};
    fota_err_t err = run(ctx, SQ_DEV_PAGE, bind_page, f, device_row, &v);
    if (err == FOTA_OK && total != NULL) {
        *total = 0;
        err = run(ctx, SQ_DEV_PAGE_COUNT, bind_page, f, count_row, total);
    }
    return err;
}

typedef struct {
    fotad_device_group_t rec;
    fotad_device_group_fn fn;
    void *arg;
} group_visit_t;

static fota_err_t group_row(sqlite3_stmt *st, void *arg)
{
    group_visit_t *v = arg;
    fotad_device_group_t *g = &v->rec;
    memset(g, 0, sizeof *g);
    sq_col_text(st, 0, g->product, sizeof g->product);
    sq_col_text(st, 1, g->version, sizeof g->version);
    sq_col_text(st, 2, g->state, sizeof g->state);
    g->last_error = (int32_t)sqlite3_column_int64(st, 3);
    g->devices = (uint64_t)sqlite3_column_int64(st, 4);
    g->online = (uint64_t)sqlite3_column_int64(st, 5);
    return v->fn(v->arg, g);
}

static void bind_i64(sqlite3_stmt *st, const void *arg)
{
    sqlite3_bind_int64(st, 1, *(const int64_t *)arg);
}

fota_err_t sq_device_groups(void *ctx, int64_t online_since, fotad_device_group_fn fn, void *arg)
{
    group_visit_t v = {.fn = fn, .arg = arg};
    return run(ctx, SQ_DEV_GROUPS, bind_i64, &online_since, group_row, &v);
}

typedef struct {
    fotad_outcome_rec_t rec;
    fotad_outcome_fn fn;
    void *arg;
} outcome_visit_t;

static fota_err_t outcome_row(sqlite3_stmt *st, void *arg)
{
    outcome_visit_t *v = arg;
    fotad_outcome_rec_t *o = &v->rec;
    memset(o, 0, sizeof *o);
    o->bucket = (uint32_t)sqlite3_column_int64(st, 0);
    sq_col_text(st, 1, o->state, sizeof o->state);
    o->count = (uint64_t)sqlite3_column_int64(st, 2);
    return v->fn(v->arg, o);
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
    outcome_args_t a = {since, bucket_s};
    return run(ctx, SQ_OUTCOMES, bind_outcomes, &a, outcome_row, &v);
}

static void bind_limit(sqlite3_stmt *st, const void *arg)
{
    sqlite3_bind_int64(st, 1, *(const uint32_t *)arg);
}

fota_err_t sq_device_errors(void *ctx, uint32_t limit, fotad_device_fn fn, void *arg)
{
    device_visit_t v = {.fn = fn, .arg = arg};
    return run(ctx, SQ_DEV_ERRORS, bind_limit, &limit, device_row, &v);
}
