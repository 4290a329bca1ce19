/*
 * store_sqlite_rollouts.c - the device tag and rollout operations of store.h in SQL (schema
 * version 4, store_sqlite.c): rollouts and their stages, members, history events. Every write
 * is one transaction on the writer connection, so a transition (a rollout's row, its stages,
 * members, the event that says why) is either all in the file or not at all. Counts are taken
 * from the member rows by GROUP BY, never kept as totals.
 */
#include <stdio.h>
#include <string.h>

#include "store_sqlite_int.h"

fota_err_t sq_txn_begin(sq_conn_t *c)
{
    sqlite3_stmt *st = sq_stmt(c, SQ_BEGIN);
    return st != NULL ? sq_step_done(c, st, "begin") : FOTA_ERR_IO;
}

fota_err_t sq_txn_end(sq_conn_t *c, fota_err_t err)
{
    if (err == FOTA_OK) {
        sqlite3_stmt *st = sq_stmt(c, SQ_COMMIT);
        err = st != NULL ? sq_step_done(c, st, "commit") : FOTA_ERR_IO;
    }
    if (err != FOTA_OK && !sqlite3_get_autocommit(c->db)) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return err;
}

/* ---- device tags ---------------------------------------------------------------------------- */

static fota_err_t tag_write(sq_conn_t *c, sq_stmt_id_t id, const char *device, const char *tag)
{
    sqlite3_stmt *st = sq_stmt(c, id);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    sq_bind_text(st, 1, device);
    sq_bind_text(st, 2, tag);
    return sq_step_done(c, st, "device tag");
}

static fota_err_t tag_count_ok(sq_conn_t *c, const char *device)
{
    sqlite3_stmt *st = sq_stmt(c, SQ_TAG_COUNT);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    sq_bind_text(st, 1, device);
    fota_err_t err = sqlite3_step(st) == SQLITE_ROW ? FOTA_OK : sq_fail(c, "count tags");
    if (err == FOTA_OK && sqlite3_column_int64(st, 0) > (int64_t)FOTAD_DEVICE_TAGS_MAX) {
        err = FOTA_ERR_TOO_LARGE;
    }
    sq_reset(st);
    return err;
}

static fota_err_t tags_of_one(sq_conn_t *c, const char *id, const char *const *add, size_t n_add,
                              const char *const *remove, size_t n_remove)
{
    fota_err_t err = FOTA_OK;
    for (size_t i = 0; err == FOTA_OK && i < n_remove; i++) {
        err = tag_write(c, SQ_TAG_REMOVE, id, remove[i]);
    }
    for (size_t i = 0; err == FOTA_OK && i < n_add; i++) {
        err = tag_write(c, SQ_TAG_ADD, id, add[i]);
    }
    return err == FOTA_OK ? tag_count_ok(c, id) : err;
}

fota_err_t sq_device_tags_change(void *ctx, const char *const *ids, size_t n_ids,
                                 const char *const *add, size_t n_add, const char *const *remove,
                                 size_t n_remove)
{
    sq_conn_t *c = sq_writer_get(ctx);
    fota_err_t err = sq_txn_begin(c);
    for (size_t i = 0; err == FOTA_OK && i < n_ids; i++) {
        err = tags_of_one(c, ids[i], add, n_add, remove, n_remove);
    }
    err = sq_txn_end(c, err);
    sq_writer_put(ctx);
    return err;
}

/* ---- rollouts ------------------------------------------------------------------------------- */

static void bind_rollout(sqlite3_stmt *st, const fotad_rollout_rec_t *r)
{
    if (r->id > 0) {
        sqlite3_bind_int64(st, 1, r->id);
    }
    sq_bind_text(st, 2, r->name);
    sq_bind_text(st, 3, r->product);
    sq_bind_text(st, 4, r->release);
    sq_bind_text(st, 5, r->rollback_release);
    sq_bind_text(st, 6, r->tags);
    sqlite3_bind_int(st, 7, r->explicit_devices);
    sq_bind_text(st, 8, r->state);
    sq_bind_text(st, 9, r->action);
    sqlite3_bind_int(st, 10, r->rollback_on_failure);
    sqlite3_bind_int(st, 11, r->current_stage);
    sqlite3_bind_int(st, 12, r->rollback_stage);
    sq_bind_text(st, 13, r->paused_reason);
    const int64_t nums[] = {r->timeout_s, r->rate_per_minute, r->rate_after_successes,
                            r->rate_then_per_minute};
    for (int i = 0; i < 4; i++) {
        sqlite3_bind_int64(st, 14 + i, nums[i]);
    }
    sq_bind_text(st, 18, r->window_cron);
    const int64_t more[] = {r->window_offset_s,
                            r->window_duration_s,
                            r->finish_running,
                            r->thresholds.max_failures,
                            r->thresholds.max_failure_percent,
                            r->thresholds.min_finished,
                            r->created,
                            r->start_at,
                            r->started,
                            r->finished};
    for (int i = 0; i < 10; i++) {
        sqlite3_bind_int64(st, 19 + i, more[i]);
    }
}

static void row_rollout(sqlite3_stmt *st, fotad_rollout_rec_t *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    sq_col_text(st, 1, r->name, sizeof r->name);
    sq_col_text(st, 2, r->product, sizeof r->product);
    sq_col_text(st, 3, r->release, sizeof r->release);
    sq_col_text(st, 4, r->rollback_release, sizeof r->rollback_release);
    sq_col_text(st, 5, r->tags, sizeof r->tags);
    r->explicit_devices = sqlite3_column_int(st, 6) != 0;
    sq_col_text(st, 7, r->state, sizeof r->state);
    sq_col_text(st, 8, r->action, sizeof r->action);
    r->rollback_on_failure = sqlite3_column_int(st, 9) != 0;
    r->current_stage = sqlite3_column_int(st, 10);
    r->rollback_stage = sqlite3_column_int(st, 11);
    sq_col_text(st, 12, r->paused_reason, sizeof r->paused_reason);
    r->timeout_s = (uint32_t)sqlite3_column_int64(st, 13);
    r->rate_per_minute = (uint32_t)sqlite3_column_int64(st, 14);
    r->rate_after_successes = (uint32_t)sqlite3_column_int64(st, 15);
    r->rate_then_per_minute = (uint32_t)sqlite3_column_int64(st, 16);
    sq_col_text(st, 17, r->window_cron, sizeof r->window_cron);
    r->window_offset_s = (int32_t)sqlite3_column_int64(st, 18);
    r->window_duration_s = (uint32_t)sqlite3_column_int64(st, 19);
    r->finish_running = sqlite3_column_int(st, 20) != 0;
    r->thresholds.max_failures = (uint32_t)sqlite3_column_int64(st, 21);
    r->thresholds.max_failure_percent = (uint32_t)sqlite3_column_int64(st, 22);
    r->thresholds.min_finished = (uint32_t)sqlite3_column_int64(st, 23);
    r->created = sqlite3_column_int64(st, 24);
    r->start_at = sqlite3_column_int64(st, 25);
    r->started = sqlite3_column_int64(st, 26);
    r->finished = sqlite3_column_int64(st, 27);
}

static void bind_stage(sqlite3_stmt *st, int64_t rollout, uint32_t idx, const fotad_stage_rec_t *s)
{
    const int64_t v[] = {rollout,
                         idx,
                         s->kind,
                         s->amount,
                         s->success_percent,
                         s->soak_s,
                         s->manual,
                         s->thresholds.max_failures,
                         s->thresholds.max_failure_percent,
                         s->thresholds.min_finished,
                         (int64_t)s->boundary,
                         s->opened,
                         s->done_since};
    for (int i = 0; i < 13; i++) {
        sqlite3_bind_int64(st, i + 1, v[i]);
    }
}

static void row_stage(sqlite3_stmt *st, fotad_stage_rec_t *s)
{
    memset(s, 0, sizeof *s);
    s->kind =
        sqlite3_column_int(st, 1) == FOTAD_STAGE_COUNT ? FOTAD_STAGE_COUNT : FOTAD_STAGE_PERCENT;
    s->amount = (uint32_t)sqlite3_column_int64(st, 2);
    s->success_percent = (uint32_t)sqlite3_column_int64(st, 3);
    s->soak_s = (uint32_t)sqlite3_column_int64(st, 4);
    s->manual = sqlite3_column_int(st, 5) != 0;
    s->thresholds.max_failures = (uint32_t)sqlite3_column_int64(st, 6);
    s->thresholds.max_failure_percent = (uint32_t)sqlite3_column_int64(st, 7);
    s->thresholds.min_finished = (uint32_t)sqlite3_column_int64(st, 8);
    s->boundary = (uint64_t)sqlite3_column_int64(st, 9);
    s->opened = sqlite3_column_int64(st, 10);
    s->done_since = sqlite3_column_int64(st, 11);
}

static fota_err_t write_stages(sq_conn_t *c, const fotad_rollout_rec_t *r)
{
    sqlite3_stmt *st = sq_stmt(c, SQ_STAGE_CLEAR);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    sqlite3_bind_int64(st, 1, r->id);
    fota_err_t err = sq_step_done(c, st, "clear stages");
    for (uint32_t i = 0; err == FOTA_OK && i < r->n_stages && i < FOTAD_STAGES_MAX; i++) {
        st = sq_stmt(c, SQ_STAGE_INSERT);
        if (st == NULL) {
            return FOTA_ERR_IO;
        }
        bind_stage(st, r->id, i, &r->stages[i]);
        err = sq_step_done(c, st, "insert stage");
    }
    return err;
}

static fota_err_t write_event(sq_conn_t *c, const fotad_event_rec_t *ev)
{
    sqlite3_stmt *st = sq_stmt(c, SQ_EVENT_INSERT);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    sqlite3_bind_int64(st, 1, ev->rollout);
    sqlite3_bind_int64(st, 2, ev->time);
    sq_bind_text(st, 3, ev->kind);
    sq_bind_text(st, 4, ev->text);
    return sq_step_done(c, st, "insert event");
}

static fota_err_t write_member(sq_conn_t *c, const fotad_member_rec_t *m)
{
    sqlite3_stmt *st = sq_stmt(c, SQ_MEMBER_PUT);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    sqlite3_bind_int64(st, 1, m->rollout);
    sq_bind_text(st, 2, m->device);
    sqlite3_bind_int64(st, 3, m->stage);
    sqlite3_bind_int(st, 4, (int)m->status);
    sqlite3_bind_int64(st, 5, m->started);
    sqlite3_bind_int64(st, 6, m->last_activity);
    sq_bind_text(st, 7, m->reason);
    return sq_step_done(c, st, "put member");
}

static fota_err_t insert_members(sq_conn_t *c, int64_t rollout, const char *const *devices,
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

fota_err_t sq_rollout_insert(void *ctx, fotad_rollout_rec_t *r, const char *const *devices,
                             size_t n_devices, fotad_event_rec_t *ev)
{
    sq_conn_t *c = sq_writer_get(ctx);
    fota_err_t err = sq_txn_begin(c);
    sqlite3_stmt *st = err == FOTA_OK ? sq_stmt(c, SQ_RO_INSERT) : NULL;
    if (err == FOTA_OK && st == NULL) {
        err = FOTA_ERR_IO;
    }
    if (err == FOTA_OK) {
        int64_t keep = r->id;
        r->id = 0;
        bind_rollout(st, r);
        err = sq_step_done(c, st, "insert rollout");
        r->id = err == FOTA_OK ? sqlite3_last_insert_rowid(c->db) : keep;
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
    err = sq_txn_end(c, err);
    sq_writer_put(ctx);
    return err;
}

fota_err_t sq_rollout_update(void *ctx, const fotad_rollout_rec_t *r,
                             const fotad_member_rec_t *members, size_t n_members,
                             const fotad_event_rec_t *ev)
{
    sq_conn_t *c = sq_writer_get(ctx);
    fota_err_t err = sq_txn_begin(c);
    sqlite3_stmt *st = err == FOTA_OK ? sq_stmt(c, SQ_RO_UPDATE) : NULL;
    if (err == FOTA_OK && st == NULL) {
        err = FOTA_ERR_IO;
    }
    if (err == FOTA_OK) {
        bind_rollout(st, r);
        err = sq_step_done(c, st, "update rollout");
    }
    if (err == FOTA_OK && sqlite3_changes(c->db) == 0) {
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
    err = sq_txn_end(c, err);
    sq_writer_put(ctx);
    return err;
}

fota_err_t sq_member_put(void *ctx, const fotad_member_rec_t *m, const fotad_event_rec_t *ev)
{
    sq_conn_t *c = sq_writer_get(ctx);
    fota_err_t err = sq_txn_begin(c);
    if (err == FOTA_OK) {
        err = write_member(c, m);
    }
    if (err == FOTA_OK && ev != NULL) {
        err = write_event(c, ev);
    }
    err = sq_txn_end(c, err);
    sq_writer_put(ctx);
    return err;
}

fota_err_t sq_member_time_out(void *ctx, int64_t rollout, int64_t before, uint32_t *n)
{
    sq_conn_t *c = sq_writer_get(ctx);
    sqlite3_stmt *st = sq_stmt(c, SQ_MEMBER_TIME_OUT);
    fota_err_t err = FOTA_ERR_IO;
    *n = 0;
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, rollout);
        sqlite3_bind_int64(st, 2, before);
        err = sq_step_done(c, st, "time out members");
        *n = err == FOTA_OK ? (uint32_t)sqlite3_changes(c->db) : 0;
    }
    sq_writer_put(ctx);
    return err;
}

/* ---- reads ---------------------------------------------------------------------------------- */

/* A reader's statement with ?1 bound to an integer and ?2 (if text2) to a text. */
static sqlite3_stmt *read_stmt(sq_conn_t *c, sq_stmt_id_t id, int64_t key, const char *text2)
{
    sqlite3_stmt *st = c != NULL ? sq_stmt(c, id) : NULL;
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, key);
        if (text2 != NULL) {
            sq_bind_text(st, 2, text2);
        }
    }
    return st;
}

static fota_err_t read_stages(sq_conn_t *c, fotad_rollout_rec_t *r)
{
    sqlite3_stmt *st = read_stmt(c, SQ_STAGE_LIST, r->id, NULL);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    int rc;
    r->n_stages = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && r->n_stages < FOTAD_STAGES_MAX) {
        row_stage(st, &r->stages[r->n_stages++]);
    }
    fota_err_t err = rc == SQLITE_ROW || rc == SQLITE_DONE ? FOTA_OK : sq_fail(c, "read stages");
    sq_reset(st);
    return err;
}

/* The rollouts of a query (one, or all), each with its stages, to fn. The stages are read on
 * a second reader so that the first statement's walk is not disturbed. */
static fota_err_t walk_rollouts(sq_store_t *s, sq_stmt_id_t id, int64_t key, fotad_rollout_fn fn,
                                void *arg)
{
    sq_conn_t *c = sq_reader_get(s);
    sq_conn_t *c2 = c != NULL ? sq_reader_get(s) : NULL;
    sqlite3_stmt *st = c2 != NULL ? read_stmt(c, id, key, NULL) : NULL;
    fota_err_t err = st != NULL ? FOTA_OK : FOTA_ERR_IO;
    int rc = SQLITE_DONE;
    bool any = false;
    fotad_rollout_rec_t r;
    while (err == FOTA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        any = true;
        row_rollout(st, &r);
        err = read_stages(c2, &r);
        err = err == FOTA_OK ? fn(arg, &r) : err;
    }
    if (err == FOTA_OK && rc != SQLITE_DONE) {
        err = sq_fail(c, "read rollouts");
    }
    if (st != NULL) {
        sq_reset(st);
    }
    if (c2 != NULL) {
        sq_reader_put(s, c2);
    }
    if (c != NULL) {
        sq_reader_put(s, c);
    }
    return err == FOTA_OK && !any && id == SQ_RO_GET ? FOTA_ERR_NOT_FOUND : err;
}

static fota_err_t copy_rollout(void *arg, const fotad_rollout_rec_t *r)
{
    memcpy(arg, r, sizeof *r);
    return FOTA_OK;
}

fota_err_t sq_rollout_get(void *ctx, int64_t id, fotad_rollout_rec_t *out)
{
    return walk_rollouts(ctx, SQ_RO_GET, id, copy_rollout, out);
}

fota_err_t sq_rollout_list(void *ctx, fotad_rollout_fn fn, void *arg)
{
    return walk_rollouts(ctx, SQ_RO_LIST, 0, fn, arg);
}

static void row_member(sqlite3_stmt *st, fotad_member_rec_t *m)
{
    memset(m, 0, sizeof *m);
    m->rollout = sqlite3_column_int64(st, 0);
    sq_col_text(st, 1, m->device, sizeof m->device);
    m->stage = (uint32_t)sqlite3_column_int64(st, 2);
    int status = sqlite3_column_int(st, 3);
    m->status = status >= 0 && status < FOTAD_MEMBER_STATUS_COUNT ? (fotad_member_status_t)status
                                                                  : FOTAD_MEMBER_FAILED;
    m->started = sqlite3_column_int64(st, 4);
    m->last_activity = sqlite3_column_int64(st, 5);
    sq_col_text(st, 6, m->reason, sizeof m->reason);
}

/* The rows of a reader query: each handed to `row` with arg; stop at the first error. */
typedef fota_err_t (*row_cb)(sqlite3_stmt *st, void *arg);

static fota_err_t read_rows(sq_store_t *s, sq_stmt_id_t id, int64_t key, const char *text2,
                            row_cb cb, void *arg, bool *any)
{
    sq_conn_t *c = sq_reader_get(s);
    sqlite3_stmt *st = read_stmt(c, id, key, text2);
    if (st == NULL) {
        if (c != NULL) {
            sq_reader_put(s, c);
        }
        return FOTA_ERR_IO;
    }
    fota_err_t err = FOTA_OK;
    int rc = SQLITE_DONE;
    while (err == FOTA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *any = true;
        err = cb(st, arg);
    }
    if (err == FOTA_OK && rc != SQLITE_DONE) {
        err = sq_fail(c, "read");
    }
    sq_reset(st);
    sq_reader_put(s, c);
    return err;
}

static fota_err_t member_copy_cb(sqlite3_stmt *st, void *arg)
{
    row_member(st, arg);
    return FOTA_OK;
}

fota_err_t sq_member_get(void *ctx, int64_t rollout, const char *device, fotad_member_rec_t *out)
{
    bool any = false;
    fota_err_t err = read_rows(ctx, SQ_MEMBER_GET, rollout, device, member_copy_cb, out, &any);
    return err == FOTA_OK && !any ? FOTA_ERR_NOT_FOUND : err;
}

typedef struct {
    fotad_member_fn fn;
    void *arg;
} member_walk_t;

static fota_err_t member_walk_cb(sqlite3_stmt *st, void *arg)
{
    member_walk_t *w = arg;
    fotad_member_rec_t m;
    row_member(st, &m);
    return w->fn(w->arg, &m);
}

fota_err_t sq_member_list(void *ctx, int64_t rollout, fotad_member_fn fn, void *arg)
{
    member_walk_t w = {fn, arg};
    bool any = false;
    return read_rows(ctx, SQ_MEMBER_LIST, rollout, NULL, member_walk_cb, &w, &any);
}

static fota_err_t counts_cb(sqlite3_stmt *st, void *arg)
{
    fotad_member_counts_t *out = arg;
    int64_t stage = sqlite3_column_int64(st, 0);
    int status = sqlite3_column_int(st, 1);
    if (stage >= 0 && stage < (int64_t)FOTAD_STAGES_MAX && status >= 0 &&
        status < FOTAD_MEMBER_STATUS_COUNT) {
        out->n[stage][status] = (uint32_t)sqlite3_column_int64(st, 2);
    }
    return FOTA_OK;
}

fota_err_t sq_member_counts(void *ctx, int64_t rollout, fotad_member_counts_t *out)
{
    memset(out, 0, sizeof *out);
    bool any = false;
    return read_rows(ctx, SQ_MEMBER_COUNTS, rollout, NULL, counts_cb, out, &any);
}

typedef struct {
    uint32_t count;
    int64_t earliest;
} starts_t;

static fota_err_t starts_cb(sqlite3_stmt *st, void *arg)
{
    starts_t *s = arg;
    s->count = (uint32_t)sqlite3_column_int64(st, 0);
    s->earliest = sqlite3_column_int64(st, 1);
    return FOTA_OK;
}

/* The starts of a rollout since `since` counted on connection c (a reader, or the writer inside
 * its transaction). */
static fota_err_t count_starts(sq_conn_t *c, int64_t rollout, int64_t since, starts_t *s)
{
    sqlite3_stmt *st = read_stmt(c, SQ_MEMBER_STARTS, rollout, NULL);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    sqlite3_bind_int64(st, 2, since);
    int rc = sqlite3_step(st);
    fota_err_t err = rc == SQLITE_ROW ? starts_cb(st, s) : sq_fail(c, "count starts");
    sq_reset(st);
    return err;
}

/* BEGIN IMMEDIATE takes the database's write lock before the count, so that no other connection,
 * of this process or another, starts a member between the count and the write. */
fota_err_t sq_member_start(void *ctx, const fotad_member_rec_t *m, int64_t since, uint32_t limit,
                           bool *admitted, int64_t *earliest)
{
    starts_t s = {0, 0};
    sq_conn_t *c = sq_writer_get(ctx);
    fota_err_t err = sq_txn_begin(c);
    err = err == FOTA_OK ? count_starts(c, m->rollout, since, &s) : err;
    *admitted = err == FOTA_OK && s.count < limit;
    if (*admitted) {
        err = write_member(c, m);
    }
    err = sq_txn_end(c, err);
    sq_writer_put(ctx);
    *admitted = *admitted && err == FOTA_OK;
    *earliest = err == FOTA_OK ? s.earliest : 0;
    return err;
}

typedef struct {
    fotad_event_fn fn;
    void *arg;
} event_walk_t;

static fota_err_t event_cb(sqlite3_stmt *st, void *arg)
{
    event_walk_t *w = arg;
    fotad_event_rec_t e;
    memset(&e, 0, sizeof e);
    e.rollout = sqlite3_column_int64(st, 0);
    e.time = sqlite3_column_int64(st, 1);
    sq_col_text(st, 2, e.kind, sizeof e.kind);
    sq_col_text(st, 3, e.text, sizeof e.text);
    return w->fn(w->arg, &e);
}

fota_err_t sq_event_list(void *ctx, int64_t rollout, fotad_event_fn fn, void *arg)
{
    event_walk_t w = {fn, arg};
    bool any = false;
    return read_rows(ctx, SQ_EVENT_LIST, rollout, NULL, event_cb, &w, &any);
}
