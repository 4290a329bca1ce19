/*
 * store_pg_ops.c - the operations of store.h on PostgreSQL, over the connections of store_pg.c
 * and the statements of store_pg_sql.c: releases, products, devices, reports, assignments and the
 * legacy bridge. Every statement is prepared once per connection and every value is bound as a
 * parameter. A release's unknown chip (FOTAD_CHIP_UNKNOWN) is NULL in its row; a report and its
 * device update share one transaction. Listings are streamed row by row (pg_walk), in the orders
 * store.h documents.
 */
#include <string.h>

#include "store_pg_int.h"
#include "store_visit.h"

/* ---- running one statement ------------------------------------------------------------------ */

#define run_cmd pg_run_cmd
#define get_one pg_get_one
#define get_all pg_get_all
typedef pg_fill_fn row_fill_fn;
typedef pg_walk_t walk_t;

fota_err_t pg_run_cmd(pg_store_t *s, pg_stmt_id_t id, const pg_params_t *p, const char *what,
                      uint64_t *changed)
{
    pg_conn_t *c = pg_conn_get(s);
    fota_err_t err = c != NULL ? pg_cmd(c, id, p, what, changed) : FOTA_ERR_IO;
    pg_conn_put(s, c);
    return err;
}

fota_err_t pg_get_one(pg_store_t *s, pg_stmt_id_t id, const pg_params_t *p, pg_fill_fn fill,
                      void *rec)
{
    pg_conn_t *c = pg_conn_get(s);
    PGresult *res = NULL;
    fota_err_t err = c != NULL ? pg_query(c, id, p, "query", &res) : FOTA_ERR_IO;
    if (err == FOTA_OK && PQntuples(res) == 0) {
        err = FOTA_ERR_NOT_FOUND;
    } else if (err == FOTA_OK) {
        fill(res, rec);
    }
    PQclear(res);
    pg_conn_put(s, c);
    return err;
}

static fota_err_t walk_row(const PGresult *res, void *arg)
{
    const walk_t *w = arg;
    w->fill(res, w->visitor);
    return w->emit(w->visitor);
}

fota_err_t pg_get_all(pg_store_t *s, pg_stmt_id_t id, const pg_params_t *p, const pg_walk_t *w)
{
    pg_conn_t *c = pg_conn_get(s);
    fota_err_t err = c != NULL ? pg_walk(c, id, p, "list", walk_row, (void *)w) : FOTA_ERR_IO;
    pg_conn_put(s, c);
    return err;
}

static pg_params_t key_params(const char *key)
{
    pg_params_t p = {0};
    if (key != NULL) {
        pg_param_text(&p, key);
    }
    return p;
}

/* ---- rows -> records --------------------------------------------------------------------- */

static void fill_release(const PGresult *res, void *out)
{
    fotad_release_rec_t *r = out;
    memset(r, 0, sizeof *r);
    pg_col_text(res, 0, 0, r->id, sizeof r->id);
    pg_col_text(res, 0, 1, r->product, sizeof r->product);
    pg_col_text(res, 0, 2, r->version, sizeof r->version);
    r->security_version = (uint32_t)pg_col_int(res, 0, 3);
    r->image_size = (uint32_t)pg_col_int(res, 0, 4);
    r->chunk_size = (uint32_t)pg_col_int(res, 0, 5);
    r->chunk_count = (uint32_t)pg_col_int(res, 0, 6);
    r->blob_size = (uint32_t)pg_col_int(res, 0, 7);
    pg_col_text(res, 0, 8, r->image_sha256, sizeof r->image_sha256);
    pg_col_text(res, 0, 9, r->blob_sha256, sizeof r->blob_sha256);
    r->created = pg_col_int(res, 0, 10);
    r->uploaded = pg_col_int(res, 0, 11);
    pg_col_bytes(res, 0, 12, r->manifest, FOTA_MANIFEST_LEN);
    r->chip_id = pg_col_null(res, 0, 13) ? FOTAD_CHIP_UNKNOWN : (int32_t)pg_col_int(res, 0, 13);
}

static void fill_product(const PGresult *res, void *out)
{
    fotad_product_rec_t *p = out;
    memset(p, 0, sizeof *p);
    pg_col_text(res, 0, 0, p->id, sizeof p->id);
    p->chip_id = (uint16_t)pg_col_int(res, 0, 1);
    p->created = pg_col_int(res, 0, 2);
}

void pg_fill_device(const PGresult *res, void *out)
{
    fotad_device_rec_t *d = out;
    memset(d, 0, sizeof *d);
    pg_col_text(res, 0, 0, d->id, sizeof d->id);
    pg_col_text(res, 0, 1, d->product, sizeof d->product);
    pg_col_text(res, 0, 2, d->version, sizeof d->version);
    pg_col_text(res, 0, 3, d->state, sizeof d->state);
    pg_col_text(res, 0, 4, d->release, sizeof d->release);
    pg_col_text(res, 0, 5, d->offered, sizeof d->offered);
    d->done = (uint32_t)pg_col_int(res, 0, 6);
    d->total = (uint32_t)pg_col_int(res, 0, 7);
    d->last_error = (int32_t)pg_col_int(res, 0, 8);
    d->first_seen = pg_col_int(res, 0, 9);
    d->last_seen = pg_col_int(res, 0, 10);
    pg_col_text(res, 0, 11, d->tags, sizeof d->tags);
}

static void fill_report(const PGresult *res, void *out)
{
    fotad_report_rec_t *r = out;
    memset(r, 0, sizeof *r);
    r->time = pg_col_int(res, 0, 0);
    pg_col_text(res, 0, 1, r->state, sizeof r->state);
    pg_col_text(res, 0, 2, r->release, sizeof r->release);
    pg_col_text(res, 0, 3, r->version, sizeof r->version);
    pg_col_text(res, 0, 4, r->running, sizeof r->running);
    r->done = (uint32_t)pg_col_int(res, 0, 5);
    r->total = (uint32_t)pg_col_int(res, 0, 6);
    r->error = (int32_t)pg_col_int(res, 0, 7);
}

static void fill_assignment(const PGresult *res, void *out)
{
    fotad_assignment_rec_t *a = out;
    memset(a, 0, sizeof *a);
    a->kind =
        pg_col_int(res, 0, 0) == FOTAD_TARGET_PRODUCT ? FOTAD_TARGET_PRODUCT : FOTAD_TARGET_DEVICE;
    pg_col_text(res, 0, 1, a->target, sizeof a->target);
    pg_col_text(res, 0, 2, a->release, sizeof a->release);
    a->updated = pg_col_int(res, 0, 3);
}

void pg_fill_count(const PGresult *res, void *out)
{
    *(uint64_t *)out = (uint64_t)pg_col_int(res, 0, 0);
}

/* ---- visitors: a record and the caller's function ------------------------------------------- */

STORE_VISITOR(release, fotad_release_rec_t, fotad_release_fn)
STORE_VISITOR(product, fotad_product_rec_t, fotad_product_fn)
STORE_VISITOR(device, fotad_device_rec_t, fotad_device_fn)
STORE_VISITOR(report, fotad_report_rec_t, fotad_report_fn)
STORE_VISITOR(assignment, fotad_assignment_rec_t, fotad_assignment_fn)
STORE_VISITOR(enrollment, fotad_enrollment_rec_t, fotad_enrollment_fn)

/* ---- reads ---------------------------------------------------------------------------------- */

static fota_err_t pg_release_get(void *ctx, const char *id, fotad_release_rec_t *out)
{
    pg_params_t p = key_params(id);
    return get_one(ctx, PG_REL_GET, &p, fill_release, out);
}

static fota_err_t pg_release_list(void *ctx, fotad_release_fn fn, void *arg)
{
    release_visit_t v = {.fn = fn, .arg = arg};
    walk_t w = {fill_release, release_emit, &v};
    pg_params_t p = key_params(NULL);
    return get_all(ctx, PG_REL_LIST, &p, &w);
}

static fota_err_t pg_product_get(void *ctx, const char *id, fotad_product_rec_t *out)
{
    pg_params_t p = key_params(id);
    return get_one(ctx, PG_PROD_GET, &p, fill_product, out);
}

static fota_err_t pg_product_list(void *ctx, fotad_product_fn fn, void *arg)
{
    product_visit_t v = {.fn = fn, .arg = arg};
    walk_t w = {fill_product, product_emit, &v};
    pg_params_t p = key_params(NULL);
    return get_all(ctx, PG_PROD_LIST, &p, &w);
}

static fota_err_t pg_device_get(void *ctx, const char *id, fotad_device_rec_t *out)
{
    pg_params_t p = key_params(id);
    return get_one(ctx, PG_DEV_GET, &p, pg_fill_device, out);
}

static fota_err_t pg_device_list(void *ctx, fotad_device_fn fn, void *arg)
{
    device_visit_t v = {.fn = fn, .arg = arg};
    walk_t w = {pg_fill_device, device_emit, &v};
    pg_params_t p = key_params(NULL);
    return get_all(ctx, PG_DEV_LIST, &p, &w);
}

typedef struct {
    fotad_census_rec_t rec;
    fotad_census_fn fn;
    void *arg;
} census_visit_t;

static void fill_census(const PGresult *res, void *out)
{
    fotad_census_rec_t *c = out;
    pg_col_text(res, 0, 0, c->state, sizeof c->state);
    pg_col_text(res, 0, 1, c->version, sizeof c->version);
    pg_col_text(res, 0, 2, c->release, sizeof c->release);
    c->n = (uint64_t)pg_col_int(res, 0, 3);
}

static fota_err_t census_emit(void *v)
{
    census_visit_t *x = v;
    return x->fn(x->arg, &x->rec);
}

static fota_err_t pg_device_census(void *ctx, fotad_census_fn fn, void *arg)
{
    census_visit_t v = {.fn = fn, .arg = arg};
    walk_t w = {fill_census, census_emit, &v};
    pg_params_t p = key_params(NULL);
    return get_all(ctx, PG_DEV_CENSUS, &p, &w);
}

static fota_err_t pg_device_list_tagged(void *ctx, const char *tag, fotad_device_fn fn, void *arg)
{
    device_visit_t v = {.fn = fn, .arg = arg};
    walk_t w = {pg_fill_device, device_emit, &v};
    pg_params_t p = key_params(tag);
    return get_all(ctx, PG_DEV_LIST_TAGGED, &p, &w);
}

static fota_err_t pg_report_list(void *ctx, const char *id, uint32_t limit, fotad_report_fn fn,
                                 void *arg)
{
    report_visit_t v = {.fn = fn, .arg = arg};
    walk_t w = {fill_report, report_emit, &v};
    pg_params_t p = key_params(id);
    pg_param_int(&p, limit > 0 ? limit : 1);
    return get_all(ctx, PG_REPORT_LIST, &p, &w);
}

static fota_err_t pg_assignment_get(void *ctx, fotad_target_kind_t kind, const char *target,
                                    fotad_assignment_rec_t *out)
{
    pg_params_t p = {0};
    pg_param_int(&p, kind);
    pg_param_text(&p, target);
    return get_one(ctx, PG_ASSIGN_GET, &p, fill_assignment, out);
}

static fota_err_t pg_assignment_list(void *ctx, fotad_assignment_fn fn, void *arg)
{
    assignment_visit_t v = {.fn = fn, .arg = arg};
    walk_t w = {fill_assignment, assignment_emit, &v};
    pg_params_t p = key_params(NULL);
    return get_all(ctx, PG_ASSIGN_LIST, &p, &w);
}

/* ---- writes --------------------------------------------------------------------------------- */

static pg_params_t release_params(const fotad_release_rec_t *r)
{
    pg_params_t p = {0};
    pg_param_text(&p, r->id);
    pg_param_text(&p, r->product);
    pg_param_text(&p, r->version);
    pg_param_int(&p, r->security_version);
    pg_param_int(&p, r->image_size);
    pg_param_int(&p, r->chunk_size);
    pg_param_int(&p, r->chunk_count);
    pg_param_int(&p, r->blob_size);
    pg_param_text(&p, r->image_sha256);
    pg_param_text(&p, r->blob_sha256);
    pg_param_int(&p, r->created);
    pg_param_int(&p, r->uploaded);
    pg_param_bytes(&p, r->manifest, FOTA_MANIFEST_LEN);
    if (r->chip_id != FOTAD_CHIP_UNKNOWN) {
        pg_param_int(&p, r->chip_id);
    } else {
        pg_param_null(&p);
    }
    return p;
}

static fota_err_t pg_release_insert(void *ctx, const fotad_release_rec_t *r, bool *inserted)
{
    pg_params_t p = release_params(r);
    uint64_t n = 0;
    fota_err_t err = run_cmd(ctx, PG_REL_INSERT, &p, "insert release", &n);
    *inserted = err == FOTA_OK && n > 0;
    return err;
}

/* The UPDATE changes nothing for a known chip: then the row only has to exist. */
static fota_err_t pg_release_set_chip(void *ctx, const char *id, uint16_t chip_id)
{
    pg_params_t p = key_params(id);
    pg_param_int(&p, chip_id);
    uint64_t n = 0;
    fota_err_t err = run_cmd(ctx, PG_REL_SET_CHIP, &p, "set release chip", &n);
    if (err != FOTA_OK || n > 0) {
        return err;
    }
    fotad_release_rec_t r;
    return pg_release_get(ctx, id, &r);
}

static fota_err_t pg_product_insert(void *ctx, const fotad_product_rec_t *pr, bool *inserted)
{
    pg_params_t p = key_params(pr->id);
    pg_param_int(&p, pr->chip_id);
    pg_param_int(&p, pr->created);
    uint64_t n = 0;
    fota_err_t err = run_cmd(ctx, PG_PROD_INSERT, &p, "insert product", &n);
    *inserted = err == FOTA_OK && n > 0;
    return err;
}

static fota_err_t pg_device_touch(void *ctx, const char *id, int64_t now)
{
    pg_params_t p = key_params(id);
    pg_param_int(&p, now);
    return run_cmd(ctx, PG_DEV_TOUCH, &p, "touch device", NULL);
}

static fota_err_t pg_device_check(void *ctx, const char *id, const char *product,
                                  const char *version, const char *offered, int64_t now)
{
    pg_params_t p = key_params(id);
    pg_param_text(&p, product);
    pg_param_text(&p, version);
    pg_param_text(&p, offered);
    pg_param_int(&p, now);
    return run_cmd(ctx, PG_DEV_CHECK, &p, "record check", NULL);
}

static fota_err_t report_write(pg_conn_t *c, const char *id, const fotad_report_rec_t *r)
{
    pg_params_t p = key_params(id);
    pg_param_int(&p, r->time);
    pg_param_text(&p, r->state);
    pg_param_text(&p, r->release);
    pg_param_text(&p, r->version);
    pg_param_text(&p, r->running);
    pg_param_int(&p, r->done);
    pg_param_int(&p, r->total);
    pg_param_int(&p, r->error);
    fota_err_t err = pg_cmd(c, PG_REPORT_INSERT, &p, "insert report", NULL);
    if (err != FOTA_OK) {
        return err;
    }
    pg_params_t d = key_params(id);
    pg_param_text(&d, r->running);
    pg_param_text(&d, r->state);
    pg_param_text(&d, r->release);
    pg_param_int(&d, r->done);
    pg_param_int(&d, r->total);
    pg_param_int(&d, r->error);
    pg_param_int(&d, r->time);
    return pg_cmd(c, PG_DEV_REPORT, &d, "update device", NULL);
}

static fota_err_t pg_device_report(void *ctx, const char *id, const fotad_report_rec_t *r)
{
    pg_conn_t *c = pg_conn_get(ctx);
    if (c == NULL) {
        return FOTA_ERR_IO;
    }
    fota_err_t err = pg_txn_begin(c);
    if (err == FOTA_OK) {
        err = report_write(c, id, r);
    }
    err = pg_txn_end(c, err);
    pg_conn_put(ctx, c);
    return err;
}

static fota_err_t pg_assignment_set(void *ctx, const fotad_assignment_rec_t *a)
{
    pg_params_t p = {0};
    pg_param_int(&p, a->kind);
    pg_param_text(&p, a->target);
    pg_param_text(&p, a->release);
    pg_param_int(&p, a->updated);
    return run_cmd(ctx, PG_ASSIGN_SET, &p, "set assignment", NULL);
}

/* ---- the legacy bridge ----------------------------------------------------------------------- */

static void fill_legacy(const PGresult *res, void *out)
{
    fotad_legacy_rec_t *l = out;
    memset(l, 0, sizeof *l);
    pg_col_text(res, 0, 0, l->product, sizeof l->product);
    pg_col_text(res, 0, 1, l->bridge_release, sizeof l->bridge_release);
    pg_col_text(res, 0, 2, l->mac_field, sizeof l->mac_field);
    l->updated = pg_col_int(res, 0, 3);
}

static void fill_enrollment(const PGresult *res, void *out)
{
    fotad_enrollment_rec_t *e = out;
    memset(e, 0, sizeof *e);
    pg_col_text(res, 0, 0, e->device_id, sizeof e->device_id);
    pg_col_text(res, 0, 1, e->product, sizeof e->product);
    pg_col_bytes(res, 0, 2, e->key_wrapped, sizeof e->key_wrapped);
    pg_col_text(res, 0, 3, e->state, sizeof e->state);
    pg_col_text(res, 0, 4, e->address, sizeof e->address);
    e->requested = pg_col_int(res, 0, 5);
    e->decided = pg_col_int(res, 0, 6);
}

static fota_err_t pg_legacy_get(void *ctx, fotad_legacy_rec_t *out)
{
    pg_params_t p = key_params(NULL);
    return get_one(ctx, PG_LEGACY_GET, &p, fill_legacy, out);
}

static fota_err_t pg_legacy_set(void *ctx, const fotad_legacy_rec_t *rec)
{
    pg_params_t p = key_params(NULL);
    if (rec == NULL) {
        return run_cmd(ctx, PG_LEGACY_CLEAR, &p, "clear legacy", NULL);
    }
    pg_param_text(&p, rec->product);
    pg_param_text(&p, rec->bridge_release);
    pg_param_text(&p, rec->mac_field);
    pg_param_int(&p, rec->updated);
    return run_cmd(ctx, PG_LEGACY_SET, &p, "set legacy", NULL);
}

static fota_err_t pg_enrollment_insert(void *ctx, const fotad_enrollment_rec_t *e, bool *inserted)
{
    pg_params_t p = key_params(e->device_id);
    pg_param_text(&p, e->product);
    pg_param_bytes(&p, e->key_wrapped, sizeof e->key_wrapped);
    pg_param_text(&p, e->state);
    pg_param_text(&p, e->address);
    pg_param_int(&p, e->requested);
    pg_param_int(&p, e->decided);
    uint64_t n = 0;
    fota_err_t err = run_cmd(ctx, PG_ENROLL_INSERT, &p, "insert enrollment", &n);
    *inserted = err == FOTA_OK && n > 0;
    return err;
}

static fota_err_t pg_enrollment_get(void *ctx, const char *device_id, fotad_enrollment_rec_t *out)
{
    pg_params_t p = key_params(device_id);
    return get_one(ctx, PG_ENROLL_GET, &p, fill_enrollment, out);
}

static fota_err_t pg_enrollment_move(void *ctx, const char *device_id, const char *from,
                                     const char *to, int64_t now, uint64_t *changed)
{
    pg_params_t p = key_params(device_id); /* none when NULL: every device */
    pg_param_text(&p, from);
    pg_param_text(&p, to);
    pg_param_int(&p, now);
    *changed = 0;
    return run_cmd(ctx, device_id != NULL ? PG_ENROLL_MOVE : PG_ENROLL_MOVE_ALL, &p,
                   "update enrollment", changed);
}

static fota_err_t pg_enrollment_delete(void *ctx, const char *device_id)
{
    pg_params_t p = key_params(device_id);
    uint64_t n = 0;
    fota_err_t err = run_cmd(ctx, PG_ENROLL_DELETE, &p, "delete enrollment", &n);
    return err != FOTA_OK ? err : n > 0 ? FOTA_OK : FOTA_ERR_NOT_FOUND;
}

static fota_err_t pg_enrollment_list(void *ctx, const char *state, fotad_enrollment_fn fn,
                                     void *arg)
{
    enrollment_visit_t v = {.fn = fn, .arg = arg};
    walk_t w = {fill_enrollment, enrollment_emit, &v};
    pg_params_t p = key_params(state);
    return get_all(ctx, state != NULL ? PG_ENROLL_LIST_STATE : PG_ENROLL_LIST, &p, &w);
}

static fota_err_t pg_enrollment_count(void *ctx, const char *state, uint64_t *n)
{
    pg_params_t p = key_params(state);
    return get_one(ctx, PG_ENROLL_COUNT, &p, pg_fill_count, n);
}

const fotad_store_ops_t pg_ops = {
    .close = pg_close,
    .release_insert = pg_release_insert,
    .release_get = pg_release_get,
    .release_list = pg_release_list,
    .release_set_chip = pg_release_set_chip,
    .delta_insert = pg_delta_insert,
    .delta_get = pg_delta_get,
    .delta_find = pg_delta_find,
    .delta_list = pg_delta_list,
    .product_insert = pg_product_insert,
    .product_get = pg_product_get,
    .product_list = pg_product_list,
    .device_touch = pg_device_touch,
    .device_check = pg_device_check,
    .device_report = pg_device_report,
    .device_get = pg_device_get,
    .device_list = pg_device_list,
    .device_census = pg_device_census,
    .report_list = pg_report_list,
    .assignment_set = pg_assignment_set,
    .assignment_get = pg_assignment_get,
    .assignment_list = pg_assignment_list,
    .legacy_get = pg_legacy_get,
    .legacy_set = pg_legacy_set,
    .enrollment_insert = pg_enrollment_insert,
    .enrollment_get = pg_enrollment_get,
    .enrollment_move = pg_enrollment_move,
    .enrollment_delete = pg_enrollment_delete,
    .enrollment_list = pg_enrollment_list,
    .enrollment_count = pg_enrollment_count,
    .device_tags_change = pg_device_tags_change,
    .device_list_tagged = pg_device_list_tagged,
    .device_page = pg_device_page,
    .device_groups = pg_device_groups,
    .report_outcomes = pg_report_outcomes,
    .device_errors = pg_device_errors,
    .rollout_insert = pg_rollout_insert,
    .rollout_get = pg_rollout_get,
    .rollout_list = pg_rollout_list,
    .rollout_update = pg_rollout_update,
    .member_get = pg_member_get,
    .member_put = pg_member_put,
    .member_list = pg_member_list,
    .member_counts = pg_member_counts,
    .member_start = pg_member_start,
    .member_time_out = pg_member_time_out,
    .event_list = pg_event_list,
    .nonce_claim = pg_nonce_claim,
    .nonce_purge = pg_nonce_purge,
    .lease_take = pg_lease_take,
    .object_put = pg_object_put,
    .object_fetch = pg_object_fetch,
    .token_insert = pg_token_insert,
    .token_get = pg_token_get,
    .token_list = pg_token_list,
    .token_revoke = pg_token_revoke,
    .audit_insert = pg_audit_insert,
    .audit_list = pg_audit_list,
};
