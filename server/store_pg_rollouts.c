/*
 * store_pg_rollouts.c - the device tag and rollout operations of store.h in PostgreSQL (the
 * tables of store_pg_schema.c, the statements of store_pg_ops.c): rollouts and their stages,
 * members, history events. Every write is one transaction, so a transition (a rollout's row, its
 * stages, members, the event that says why) is either all in the database or not at all. A
 * rollout and its stages are read in one read-only snapshot. Counts are taken from the member
 * rows by GROUP BY, never kept as totals.
 */
#include <stdio.h>
#include <string.h>

#include "store_pg_int.h"

/* ---- device tags ---------------------------------------------------------------------------- */

static fota_err_t tag_write(pg_conn_t *c, pg_stmt_id_t id, const char *device, const char *tag)
{
    pg_params_t p = {0};
    pg_param_text(&p, device);
    pg_param_text(&p, tag);
    return pg_cmd(c, id, &p, "device tag", NULL);
}

static fota_err_t tag_count_ok(pg_conn_t *c, const char *device)
{
    pg_params_t p = {0};
    pg_param_text(&p, device);
    PGresult *res = NULL;
    fota_err_t err = pg_query(c, PG_TAG_COUNT, &p, "count tags", &res);
    if (err == FOTA_OK && pg_col_int(res, 0, 0) > (int64_t)FOTAD_DEVICE_TAGS_MAX) {
        err = FOTA_ERR_TOO_LARGE;
    }
    PQclear(res);
    return err;
}

static fota_err_t tags_of_one(pg_conn_t *c, const char *id, const char *const *add, size_t n_add,
                              const char *const *remove, size_t n_remove)
{
    fota_err_t err = FOTA_OK;
    for (size_t i = 0; err == FOTA_OK && i < n_remove; i++) {
        err = tag_write(c, PG_TAG_REMOVE, id, remove[i]);
    }
    for (size_t i = 0; err == FOTA_OK && i < n_add; i++) {
        err = tag_write(c, PG_TAG_ADD, id, add[i]);
    }
    return err == FOTA_OK ? tag_count_ok(c, id) : err;
}

fota_err_t pg_device_tags_change(void *ctx, const char *const *ids, size_t n_ids,
                                 const char *const *add, size_t n_add, const char *const *remove,
                                 size_t n_remove)
{
    pg_conn_t *c = pg_conn_get(ctx);
    if (c == NULL) {
        return FOTA_ERR_IO;
    }
    pg_params_t none = {0};
    fota_err_t err = pg_txn_begin(c);
    if (err == FOTA_OK) {
        err = pg_cmd(c, PG_TAG_LOCK, &none, "lock device tags", NULL);
    }
    for (size_t i = 0; err == FOTA_OK && i < n_ids; i++) {
        err = tags_of_one(c, ids[i], add, n_add, remove, n_remove);
    }
    err = pg_txn_end(c, err);
    pg_conn_put(ctx, c);
    return err;
}

/* ---- rollouts: records <-> rows ------------------------------------------------------------- */

/* The rollout's columns (RO_COLS) as $1..$27, or with its id first as $1..$28 for an update. */
static pg_params_t rollout_params(const fotad_rollout_rec_t *r, bool with_id)
{
    pg_params_t p = {0};
    if (with_id) {
        pg_param_int(&p, r->id);
    }
    pg_param_text(&p, r->name);
    pg_param_text(&p, r->product);
    pg_param_text(&p, r->release);
    pg_param_text(&p, r->rollback_release);
    pg_param_text(&p, r->tags);
    pg_param_bool(&p, r->explicit_devices);
    pg_param_text(&p, r->state);
    pg_param_text(&p, r->action);
    pg_param_bool(&p, r->rollback_on_failure);
    pg_param_int(&p, r->current_stage);
    pg_param_int(&p, r->rollback_stage);
    pg_param_text(&p, r->paused_reason);
    pg_param_int(&p, r->timeout_s);
    pg_param_int(&p, r->rate_per_minute);
    pg_param_int(&p, r->rate_after_successes);
    pg_param_int(&p, r->rate_then_per_minute);
    pg_param_text(&p, r->window_cron);
    pg_param_int(&p, r->window_offset_s);
    pg_param_int(&p, r->window_duration_s);
    pg_param_bool(&p, r->finish_running);
    const int64_t nums[] = {r->thresholds.max_failures,
                            r->thresholds.max_failure_percent,
                            r->thresholds.min_finished,
                            r->created,
                            r->start_at,
                            r->started,
                            r->finished};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        pg_param_int(&p, nums[i]);
    }
    return p;
}

static void fill_rollout(const PGresult *res, int i, fotad_rollout_rec_t *r)
{
    memset(r, 0, sizeof *r);
    r->id = pg_col_int(res, i, 0);
    pg_col_text(res, i, 1, r->name, sizeof r->name);
    pg_col_text(res, i, 2, r->product, sizeof r->product);
    pg_col_text(res, i, 3, r->release, sizeof r->release);
    pg_col_text(res, i, 4, r->rollback_release, sizeof r->rollback_release);
    pg_col_text(res, i, 5, r->tags, sizeof r->tags);
    r->explicit_devices = pg_col_bool(res, i, 6);
    pg_col_text(res, i, 7, r->state, sizeof r->state);
    pg_col_text(res, i, 8, r->action, sizeof r->action);
    r->rollback_on_failure = pg_col_bool(res, i, 9);
    r->current_stage = (int32_t)pg_col_int(res, i, 10);
    r->rollback_stage = (int32_t)pg_col_int(res, i, 11);
    pg_col_text(res, i, 12, r->paused_reason, sizeof r->paused_reason);
    r->timeout_s = (uint32_t)pg_col_int(res, i, 13);
    r->rate_per_minute = (uint32_t)pg_col_int(res, i, 14);
    r->rate_after_successes = (uint32_t)pg_col_int(res, i, 15);
    r->rate_then_per_minute = (uint32_t)pg_col_int(res, i, 16);
    pg_col_text(res, i, 17, r->window_cron, sizeof r->window_cron);
    r->window_offset_s = (int32_t)pg_col_int(res, i, 18);
    r->window_duration_s = (uint32_t)pg_col_int(res, i, 19);
    r->finish_running = pg_col_bool(res, i, 20);
    r->thresholds.max_failures = (uint32_t)pg_col_int(res, i, 21);
    r->thresholds.max_failure_percent = (uint32_t)pg_col_int(res, i, 22);
    r->thresholds.min_finished = (uint32_t)pg_col_int(res, i, 23);
    r->created = pg_col_int(res, i, 24);
    r->start_at = pg_col_int(res, i, 25);
    r->started = pg_col_int(res, i, 26);
    r->finished = pg_col_int(res, i, 27);
}

static pg_params_t stage_params(int64_t rollout, uint32_t idx, const fotad_stage_rec_t *s)
{
    pg_params_t p = {0};
    pg_param_int(&p, rollout);
    pg_param_int(&p, idx);
    pg_param_int(&p, s->kind);
    pg_param_int(&p, s->amount);
    pg_param_int(&p, s->success_percent);
    pg_param_int(&p, s->soak_s);
    pg_param_bool(&p, s->manual);
    pg_param_int(&p, s->thresholds.max_failures);
    pg_param_int(&p, s->thresholds.max_failure_percent);
    pg_param_int(&p, s->thresholds.min_finished);
    pg_param_int(&p, (int64_t)s->boundary); /* the 64-bit place as its bits */
    pg_param_int(&p, s->opened);
    pg_param_int(&p, s->done_since);
    return p;
}

static void fill_stage(const PGresult *res, int i, fotad_stage_rec_t *s)
{
    memset(s, 0, sizeof *s);
    s->kind = pg_col_int(res, i, 1) == FOTAD_STAGE_COUNT ? FOTAD_STAGE_COUNT : FOTAD_STAGE_PERCENT;
    s->amount = (uint32_t)pg_col_int(res, i, 2);
    s->success_percent = (uint32_t)pg_col_int(res, i, 3);
    s->soak_s = (uint32_t)pg_col_int(res, i, 4);
    s->manual = pg_col_bool(res, i, 5);
    s->thresholds.max_failures = (uint32_t)pg_col_int(res, i, 6);
    s->thresholds.max_failure_percent = (uint32_t)pg_col_int(res, i, 7);
    s->thresholds.min_finished = (uint32_t)pg_col_int(res, i, 8);
    s->boundary = (uint64_t)pg_col_int(res, i, 9);
    s->opened = pg_col_int(res, i, 10);
    s->done_since = pg_col_int(res, i, 11);
}

static pg_params_t member_params(const fotad_member_rec_t *m)
{
    pg_params_t p = {0};
    pg_param_int(&p, m->rollout);
    pg_param_text(&p, m->device);
    pg_param_int(&p, m->stage);
    pg_param_int(&p, (int64_t)m->status);
    pg_param_int(&p, m->started);
    pg_param_int(&p, m->last_activity);
    pg_param_text(&p, m->reason);
    return p;
}

static void fill_member(const PGresult *res, int i, fotad_member_rec_t *m)
{
    memset(m, 0, sizeof *m);
    m->rollout = pg_col_int(res, i, 0);
    pg_col_text(res, i, 1, m->device, sizeof m->device);
    m->stage = (uint32_t)pg_col_int(res, i, 2);
    int64_t status = pg_col_int(res, i, 3);
    m->status = status >= 0 && status < FOTAD_MEMBER_STATUS_COUNT ? (fotad_member_status_t)status
                                                                  : FOTAD_MEMBER_FAILED;
    m->started = pg_col_int(res, i, 4);
    m->last_activity = pg_col_int(res, i, 5);
    pg_col_text(res, i, 6, m->reason, sizeof m->reason);
}

/* ---- rollouts: writes ----------------------------------------------------------------------- */

static fota_err_t write_stages(pg_conn_t *c, const fotad_rollout_rec_t *r)
{
    pg_params_t p = {0};
    pg_param_int(&p, r->id);
    fota_err_t err = pg_cmd(c, PG_STAGE_CLEAR, &p, "clear stages", NULL);
    for (uint32_t i = 0; err == FOTA_OK && i < r->n_stages && i < FOTAD_STAGES_MAX; i++) {
        pg_params_t s = stage_params(r->id, i, &r->stages[i]);
        err = pg_cmd(c, PG_STAGE_INSERT, &s, "insert stage", NULL);
    }
    return err;
}

static fota_err_t write_event(pg_conn_t *c, const fotad_event_rec_t *ev)
{
    pg_params_t p = {0};
    pg_param_int(&p, ev->rollout);
    pg_param_int(&p, ev->time);
    pg_param_text(&p, ev->kind);
    pg_param_text(&p, ev->text);
    return pg_cmd(c, PG_EVENT_INSERT, &p, "insert event", NULL);
}

static fota_err_t write_member(pg_conn_t *c, const fotad_member_rec_t *m)
{
    pg_params_t p = member_params(m);
    return pg_cmd(c, PG_MEMBER_PUT, &p, "put member", NULL);
}

static fota_err_t insert_members(pg_conn_t *c, int64_t rollout, const char *const *devices,
                                 size_t n)
{
    fota_err_t err = FOTA_OK;
    for (size_t i = 0; err == FOTA_OK && i < n; i++) {
        fotad_member_rec_t m = {.rollout = rollout, .status = FOTAD_MEMBER_PENDING};
        snprintf(m.device, sizeof m.device, "%s", devices[i]);
        err = write_member(c, &m);
    }
    return err;
}

/* The rollout's row; r->id is set from the identity column. */
static fota_err_t insert_row(pg_conn_t *c, fotad_rollout_rec_t *r)
{
    pg_params_t p = rollout_params(r, false);
    PGresult *res = NULL;
    fota_err_t err = pg_query(c, PG_RO_INSERT, &p, "insert rollout", &res);
    if (err == FOTA_OK) {
        r->id = pg_col_int(res, 0, 0);
    }
    PQclear(res);
    return err;
}

fota_err_t pg_rollout_insert(void *ctx, fotad_rollout_rec_t *r, const char *const *devices,
                             size_t n_devices, fotad_event_rec_t *ev)
{
    pg_conn_t *c = pg_conn_get(ctx);
    if (c == NULL) {
        return FOTA_ERR_IO;
    }
    int64_t keep = r->id;
    fota_err_t err = pg_txn_begin(c);
    if (err == FOTA_OK) {
        err = insert_row(c, r);
    }
    if (err == FOTA_OK) {
        err = write_stages(c, r);
    }
    if (err == FOTA_OK) {
        err = insert_members(c, r->id, devices, n_devices);
    }
    if (err == FOTA_OK && ev != NULL) {
        ev->rollout = r->id;
        err = write_event(c, ev);
    }
    err = pg_txn_end(c, err);
    pg_conn_put(ctx, c);
    if (err != FOTA_OK) {
        r->id = keep;
    }
    return err;
}

fota_err_t pg_rollout_update(void *ctx, const fotad_rollout_rec_t *r,
                             const fotad_member_rec_t *members, size_t n_members,
                             const fotad_event_rec_t *ev)
{
    pg_conn_t *c = pg_conn_get(ctx);
    if (c == NULL) {
        return FOTA_ERR_IO;
    }
    pg_params_t p = rollout_params(r, true);
    uint64_t changed = 0;
    fota_err_t err = pg_txn_begin(c);
    if (err == FOTA_OK) {
        err = pg_cmd(c, PG_RO_UPDATE, &p, "update rollout", &changed);
    }
    if (err == FOTA_OK && changed == 0) {
        err = FOTA_ERR_NOT_FOUND;
    }
    if (err == FOTA_OK) {
        err = write_stages(c, r);
    }
    for (size_t i = 0; err == FOTA_OK && i < n_members; i++) {
        err = write_member(c, &members[i]);
    }
    if (err == FOTA_OK && ev != NULL) {
        err = write_event(c, ev);
    }
    err = pg_txn_end(c, err);
    pg_conn_put(ctx, c);
    return err;
}

fota_err_t pg_member_put(void *ctx, const fotad_member_rec_t *m, const fotad_event_rec_t *ev)
{
    pg_conn_t *c = pg_conn_get(ctx);
    if (c == NULL) {
        return FOTA_ERR_IO;
    }
    fota_err_t err = pg_txn_begin(c);
    if (err == FOTA_OK) {
        err = write_member(c, m);
    }
    if (err == FOTA_OK && ev != NULL) {
        err = write_event(c, ev);
    }
    err = pg_txn_end(c, err);
    pg_conn_put(ctx, c);
    return err;
}

fota_err_t pg_member_time_out(void *ctx, int64_t rollout, int64_t before, uint32_t *n)
{
    pg_params_t p = {0};
    pg_param_int(&p, rollout);
    pg_param_int(&p, before);
    uint64_t changed = 0;
    pg_conn_t *c = pg_conn_get(ctx);
    fota_err_t err =
        c != NULL ? pg_cmd(c, PG_MEMBER_TIME_OUT, &p, "time out members", &changed) : FOTA_ERR_IO;
    pg_conn_put(ctx, c);
    *n = err == FOTA_OK ? (uint32_t)changed : 0;
    return err;
}

/* ---- reads ---------------------------------------------------------------------------------- */

static fota_err_t read_stages(pg_conn_t *c, fotad_rollout_rec_t *r)
{
    pg_params_t p = {0};
    pg_param_int(&p, r->id);
    PGresult *res = NULL;
    fota_err_t err = pg_query(c, PG_STAGE_LIST, &p, "read stages", &res);
    int n = err == FOTA_OK ? PQntuples(res) : 0;
    r->n_stages = 0;
    for (int i = 0; i < n && r->n_stages < FOTAD_STAGES_MAX; i++) {
        fill_stage(res, i, &r->stages[r->n_stages++]);
    }
    PQclear(res);
    return err;
}

/* The rollouts of a query (one, or all), each with its stages, to fn, all read in one snapshot.
 * The rows of rollouts are few (one per rollout ever made): the query is read whole. */
static fota_err_t walk_rollouts(pg_store_t *s, pg_stmt_id_t id, int64_t key, fotad_rollout_fn fn,
                                void *arg)
{
    pg_conn_t *c = pg_conn_get(s);
    if (c == NULL) {
        return FOTA_ERR_IO;
    }
    pg_params_t p = {0};
    if (id == PG_RO_GET) {
        pg_param_int(&p, key);
    }
    PGresult *res = NULL;
    fota_err_t err = pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin");
    if (err == FOTA_OK) {
        err = pg_query(c, id, &p, "read rollouts", &res);
    }
    int n = err == FOTA_OK ? PQntuples(res) : 0;
    fota_err_t stopped = FOTA_OK;
    fotad_rollout_rec_t r;
    for (int i = 0; err == FOTA_OK && stopped == FOTA_OK && i < n; i++) {
        fill_rollout(res, i, &r);
        err = read_stages(c, &r);
        stopped = err == FOTA_OK ? fn(arg, &r) : FOTA_OK;
    }
    PQclear(res);
    err = pg_txn_end(c, err);
    pg_conn_put(s, c);
    if (err == FOTA_OK && stopped != FOTA_OK) {
        return stopped;
    }
    return err == FOTA_OK && n == 0 && id == PG_RO_GET ? FOTA_ERR_NOT_FOUND : err;
}

static fota_err_t copy_rollout(void *arg, const fotad_rollout_rec_t *r)
{
    memcpy(arg, r, sizeof *r);
    return FOTA_OK;
}

fota_err_t pg_rollout_get(void *ctx, int64_t id, fotad_rollout_rec_t *out)
{
    return walk_rollouts(ctx, PG_RO_GET, id, copy_rollout, out);
}

fota_err_t pg_rollout_list(void *ctx, fotad_rollout_fn fn, void *arg)
{
    return walk_rollouts(ctx, PG_RO_LIST, 0, fn, arg);
}

/* A query keyed by a rollout (and a second parameter, text or number, when given), read whole:
 * for the member and count queries, whose answers are one or a few rows. */
static fota_err_t rollout_query(pg_store_t *s, pg_stmt_id_t id, const pg_params_t *p,
                                const char *what, PGresult **res)
{
    pg_conn_t *c = pg_conn_get(s);
    fota_err_t err = c != NULL ? pg_query(c, id, p, what, res) : FOTA_ERR_IO;
    pg_conn_put(s, c);
    return err;
}

fota_err_t pg_member_get(void *ctx, int64_t rollout, const char *device, fotad_member_rec_t *out)
{
    pg_params_t p = {0};
    pg_param_int(&p, rollout);
    pg_param_text(&p, device);
    PGresult *res = NULL;
    fota_err_t err = rollout_query(ctx, PG_MEMBER_GET, &p, "read member", &res);
    if (err == FOTA_OK && PQntuples(res) == 0) {
        err = FOTA_ERR_NOT_FOUND;
    } else if (err == FOTA_OK) {
        fill_member(res, 0, out);
    }
    PQclear(res);
    return err;
}

fota_err_t pg_member_counts(void *ctx, int64_t rollout, fotad_member_counts_t *out)
{
    memset(out, 0, sizeof *out);
    pg_params_t p = {0};
    pg_param_int(&p, rollout);
    PGresult *res = NULL;
    fota_err_t err = rollout_query(ctx, PG_MEMBER_COUNTS, &p, "count members", &res);
    for (int i = 0; err == FOTA_OK && i < PQntuples(res); i++) {
        int64_t stage = pg_col_int(res, i, 0), status = pg_col_int(res, i, 1);
        if (stage >= 0 && stage < (int64_t)FOTAD_STAGES_MAX && status >= 0 &&
            status < FOTAD_MEMBER_STATUS_COUNT) {
            out->n[stage][status] = (uint32_t)pg_col_int(res, i, 2);
        }
    }
    PQclear(res);
    return err;
}

/* The starts of a rollout since `since` counted on connection c. */
static fota_err_t count_starts(pg_conn_t *c, int64_t rollout, int64_t since, uint32_t *count,
                               int64_t *earliest)
{
    pg_params_t p = {0};
    pg_param_int(&p, rollout);
    pg_param_int(&p, since);
    PGresult *res = NULL;
    fota_err_t err = pg_query(c, PG_MEMBER_STARTS, &p, "count starts", &res);
    bool any = err == FOTA_OK && PQntuples(res) == 1;
    *count = any ? (uint32_t)pg_col_int(res, 0, 0) : 0;
    *earliest = any ? pg_col_int(res, 0, 1) : 0;
    PQclear(res);
    return err;
}

/* The rollout's row is locked (FOR UPDATE) before the count: a start on another connection, of
 * this fotad or another, waits for this transaction's end and then counts this one. */
fota_err_t pg_member_start(void *ctx, const fotad_member_rec_t *m, int64_t since, uint32_t limit,
                           bool *admitted, int64_t *earliest)
{
    uint32_t count = 0;
    *admitted = false;
    *earliest = 0;
    pg_conn_t *c = pg_conn_get(ctx);
    if (c == NULL) {
        return FOTA_ERR_IO;
    }
    pg_params_t p = {0};
    pg_param_int(&p, m->rollout);
    PGresult *res = NULL;
    fota_err_t err = pg_txn_begin(c);
    err = err == FOTA_OK ? pg_query(c, PG_RO_LOCK, &p, "lock rollout", &res) : err;
    PQclear(res);
    err = err == FOTA_OK ? count_starts(c, m->rollout, since, &count, earliest) : err;
    *admitted = err == FOTA_OK && count < limit;
    if (*admitted) {
        err = write_member(c, m);
    }
    err = pg_txn_end(c, err);
    pg_conn_put(ctx, c);
    *admitted = *admitted && err == FOTA_OK;
    return err;
}

typedef struct {
    fotad_member_fn fn;
    void *arg;
} member_walk_t;

static fota_err_t member_row(const PGresult *res, void *arg)
{
    member_walk_t *w = arg;
    fotad_member_rec_t m;
    fill_member(res, 0, &m);
    return w->fn(w->arg, &m);
}

/* A listing keyed by a rollout, streamed. */
static fota_err_t rollout_walk(pg_store_t *s, pg_stmt_id_t id, int64_t rollout, pg_row_fn row,
                               void *arg)
{
    pg_params_t p = {0};
    pg_param_int(&p, rollout);
    pg_conn_t *c = pg_conn_get(s);
    fota_err_t err = c != NULL ? pg_walk(c, id, &p, "list", row, arg) : FOTA_ERR_IO;
    pg_conn_put(s, c);
    return err;
}

fota_err_t pg_member_list(void *ctx, int64_t rollout, fotad_member_fn fn, void *arg)
{
    member_walk_t w = {fn, arg};
    return rollout_walk(ctx, PG_MEMBER_LIST, rollout, member_row, &w);
}

typedef struct {
    fotad_event_fn fn;
    void *arg;
} event_walk_t;

static fota_err_t event_row(const PGresult *res, void *arg)
{
    event_walk_t *w = arg;
    fotad_event_rec_t e;
    memset(&e, 0, sizeof e);
    e.rollout = pg_col_int(res, 0, 0);
    e.time = pg_col_int(res, 0, 1);
    pg_col_text(res, 0, 2, e.kind, sizeof e.kind);
    pg_col_text(res, 0, 3, e.text, sizeof e.text);
    return w->fn(w->arg, &e);
}

fota_err_t pg_event_list(void *ctx, int64_t rollout, fotad_event_fn fn, void *arg)
{
    event_walk_t w = {fn, arg};
    return rollout_walk(ctx, PG_EVENT_LIST, rollout, event_row, &w);
}
