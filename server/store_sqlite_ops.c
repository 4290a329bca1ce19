/*
 * store_sqlite_ops.c - the operations of store.h in SQL, over the connections of store_sqlite.c.
 * Every statement is prepared once per connection; values are always bound, never formatted into
 * SQL. A release's unknown chip (FOTAD_CHIP_UNKNOWN) is NULL in its row. Writes run on the single
 * writer connection (store_sqlite_int.h); a report and its device update share one transaction.
 */
#include <string.h>

#include "store_sqlite_int.h"
#include "store_visit.h"

#include "store_cols.h"

/* A device row and its tags, sorted, joined by ','. */
#define DEV_COLS                                                                                   \
    DEV_BASE_COLS ",(SELECT group_concat(tag,',') FROM (SELECT tag FROM device_tags"               \
                  " WHERE device=devices.id ORDER BY tag))"
#define DEV_FILTER                                                                                 \
    "(?2='' OR instr(lower(id),lower(?2))>0) AND (?3='' OR product=?3) AND"                        \
    " (?4='' OR version=?4) AND (?5='' OR state=?5) AND"                                           \
    " (?6='' OR id IN (SELECT device FROM device_tags WHERE tag=?6)) AND (?7=0 OR last_error<>0)"
#define RO_PARAMS                                                                                  \
    "?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26," \
    "?27,?28"

/* The audit rows of a listing (store.h's fotad_audit_query_t), ordered by seq. */
#define AUDIT_WHERE                                                                                \
    " FROM audit WHERE seq<?1 AND seq>?2 AND (?3='' OR token=?3) AND (?4='' OR action=?4)"         \
    " AND time>=?5 ORDER BY seq"

const char *const sq_sql[SQ_STMT_COUNT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_REL_INSERT] = "INSERT OR IGNORE INTO releases(" REL_COLS
                      ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
    [SQ_REL_GET] = "SELECT " REL_COLS " FROM releases WHERE id=?1",
    [SQ_REL_LIST] = "SELECT " REL_COLS " FROM releases ORDER BY uploaded DESC, rowid DESC",
    [SQ_REL_SET_CHIP] = "UPDATE releases SET chip=?2 WHERE id=?1 AND chip IS NULL",
    [SQ_DELTA_INSERT] = "INSERT OR IGNORE INTO deltas(" DELTA_COLS
                        ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
    [SQ_DELTA_GET] = "SELECT " DELTA_COLS " FROM deltas WHERE id=?1",
    [SQ_DELTA_FIND] = "SELECT " DELTA_COLS " FROM deltas WHERE release_id=?1 AND source_sha256=?2"
                      " ORDER BY uploaded DESC, rowid DESC LIMIT 1",
    [SQ_DELTA_LIST] = "SELECT " DELTA_COLS " FROM deltas WHERE release_id=?1"
                      " ORDER BY uploaded DESC, rowid DESC",
    [SQ_PROD_INSERT] = "INSERT OR IGNORE INTO products(" PROD_COLS ") VALUES(?1,?2,?3)",
    [SQ_PROD_GET] = "SELECT " PROD_COLS " FROM products WHERE id=?1",
    [SQ_PROD_LIST] = "SELECT " PROD_COLS " FROM products ORDER BY id",
    [SQ_DEV_TOUCH] = "INSERT INTO devices(id,first_seen,last_seen) VALUES(?1,?2,?2)"
                     " ON CONFLICT(id) DO UPDATE SET last_seen=max(last_seen,excluded.last_seen)",
    [SQ_DEV_CHECK] = "INSERT INTO devices(id,product,version,offered,first_seen,last_seen)"
                     " VALUES(?1,?2,?3,?4,?5,?5) ON CONFLICT(id) DO UPDATE SET"
                     " product=excluded.product, version=excluded.version,"
                     " offered=excluded.offered, last_seen=max(last_seen,excluded.last_seen)",
    [SQ_DEV_REPORT] =
        "INSERT INTO devices(id,version,state,release_id,done,total,last_error,first_seen,"
        "last_seen) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?8) ON CONFLICT(id) DO UPDATE SET"
        " version=CASE WHEN excluded.version<>'' THEN excluded.version ELSE version END,"
        " state=excluded.state, release_id=excluded.release_id, done=excluded.done,"
        " total=excluded.total, last_error=excluded.last_error,"
        " last_seen=max(last_seen,excluded.last_seen)",
    [SQ_DEV_GET] = "SELECT " DEV_COLS " FROM devices WHERE id=?1",
    [SQ_DEV_LIST] = "SELECT " DEV_COLS " FROM devices ORDER BY id",
    [SQ_DEV_CENSUS] = "SELECT state, version, release_id, count(*) FROM devices"
                      " GROUP BY state, version, release_id",
    [SQ_REPORT_INSERT] =
        "INSERT INTO reports(device," REPORT_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [SQ_REPORT_LIST] =
        "SELECT " REPORT_COLS " FROM reports WHERE device=?1 ORDER BY seq DESC LIMIT ?2",
    [SQ_ASSIGN_SET] = "INSERT INTO assignments(kind,target,release_id,updated) VALUES(?1,?2,?3,?4)"
                      " ON CONFLICT(kind,target) DO UPDATE SET release_id=excluded.release_id,"
                      " updated=excluded.updated",
    [SQ_ASSIGN_GET] =
        "SELECT kind,target,release_id,updated FROM assignments WHERE kind=?1 AND target=?2",
    [SQ_ASSIGN_LIST] =
        "SELECT kind,target,release_id,updated FROM assignments ORDER BY kind,target",
    [SQ_LEGACY_GET] = "SELECT " LEGACY_COLS " FROM legacy WHERE one=1",
    [SQ_LEGACY_SET] = "INSERT INTO legacy(one," LEGACY_COLS ") VALUES(1,?1,?2,?3,?4)"
                      " ON CONFLICT(one) DO UPDATE SET product=excluded.product,"
                      " bridge_release=excluded.bridge_release, mac_field=excluded.mac_field,"
                      " updated=excluded.updated",
    [SQ_LEGACY_CLEAR] = "DELETE FROM legacy",
    [SQ_ENROLL_INSERT] =
        "INSERT OR IGNORE INTO enrollments(" ENROLL_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [SQ_ENROLL_GET] = "SELECT " ENROLL_COLS " FROM enrollments WHERE device_id=?1",
    [SQ_ENROLL_MOVE] =
        "UPDATE enrollments SET state=?3, decided=?4 WHERE device_id=?1 AND state=?2",
    [SQ_ENROLL_MOVE_ALL] = "UPDATE enrollments SET state=?3, decided=?4 WHERE state=?2",
    [SQ_ENROLL_DELETE] = "DELETE FROM enrollments WHERE device_id=?1",
    [SQ_ENROLL_LIST] = "SELECT " ENROLL_COLS " FROM enrollments ORDER BY device_id",
    [SQ_ENROLL_LIST_STATE] =
        "SELECT " ENROLL_COLS " FROM enrollments WHERE state=?1 ORDER BY device_id",
    [SQ_ENROLL_COUNT] = "SELECT count(*) FROM enrollments WHERE state=?1",
    [SQ_TAG_ADD] = "INSERT OR IGNORE INTO device_tags(device,tag) VALUES(?1,?2)",
    [SQ_TAG_REMOVE] = "DELETE FROM device_tags WHERE device=?1 AND tag=?2",
    [SQ_TAG_COUNT] = "SELECT count(*) FROM device_tags WHERE device=?1",
    [SQ_DEV_LIST_TAGGED] = "SELECT " DEV_COLS " FROM devices WHERE id IN"
                           " (SELECT device FROM device_tags WHERE tag=?1) ORDER BY id",
    [SQ_RO_INSERT] = "INSERT INTO rollouts(" RO_COLS ") VALUES(" RO_PARAMS ")",
    [SQ_RO_UPDATE] = "UPDATE rollouts SET (" RO_COLS ")=(" RO_PARAMS ") WHERE id=?1",
    [SQ_RO_GET] = "SELECT id," RO_COLS " FROM rollouts WHERE id=?1",
    [SQ_RO_LIST] = "SELECT id," RO_COLS " FROM rollouts ORDER BY id DESC",
    [SQ_STAGE_CLEAR] = "DELETE FROM rollout_stages WHERE rollout=?1",
    [SQ_STAGE_INSERT] = "INSERT INTO rollout_stages(rollout," STAGE_COLS
                        ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
    [SQ_STAGE_LIST] = "SELECT " STAGE_COLS " FROM rollout_stages WHERE rollout=?1 ORDER BY idx",
    [SQ_MEMBER_PUT] =
        "INSERT OR REPLACE INTO rollout_members(" MEMBER_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [SQ_MEMBER_GET] = "SELECT " MEMBER_COLS " FROM rollout_members WHERE rollout=?1 AND device=?2",
    [SQ_MEMBER_LIST] =
        "SELECT " MEMBER_COLS " FROM rollout_members WHERE rollout=?1 ORDER BY device",
    [SQ_MEMBER_COUNTS] = "SELECT stage,status,count(*) FROM rollout_members WHERE rollout=?1"
                         " GROUP BY stage,status",
    [SQ_MEMBER_STARTS] = "SELECT count(*),min(started) FROM rollout_members WHERE rollout=?1"
                         " AND started>0 AND started>=?2",
    [SQ_MEMBER_TIME_OUT] =
        "UPDATE rollout_members SET status=6, reason='timed_out' WHERE rollout=?1"
        " AND status BETWEEN 1 AND 4 AND last_activity<=?2",
    [SQ_EVENT_INSERT] = "INSERT INTO rollout_events(rollout,time,kind,text) VALUES(?1,?2,?3,?4)",
    [SQ_EVENT_LIST] =
        "SELECT rollout,time,kind,text FROM rollout_events WHERE rollout=?1 ORDER BY seq",
    [SQ_TOKEN_INSERT] = "INSERT OR IGNORE INTO tokens(" TOKEN_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [SQ_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM tokens WHERE id=?1",
    [SQ_TOKEN_LIST] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY created, id",
    [SQ_TOKEN_REVOKE] = "UPDATE tokens SET revoked=?2 WHERE id=?1 AND revoked=0",
    [SQ_AUDIT_INSERT] = "INSERT INTO audit(" AUDIT_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [SQ_AUDIT_LIST_NEWEST] = "SELECT seq," AUDIT_COLS AUDIT_WHERE " DESC LIMIT ?6",
    [SQ_AUDIT_LIST_OLDEST] = "SELECT seq," AUDIT_COLS AUDIT_WHERE " LIMIT ?6",
    /* The console's filters: ?1 after, ?2 search, ?3 product, ?4 version, ?5 state, ?6 tag,
     * ?7 errors only, ?8 limit; an empty filter (or 0) passes every device. */
    [SQ_DEV_PAGE] =
        "SELECT " DEV_COLS " FROM devices WHERE id>?1 AND " DEV_FILTER " ORDER BY id LIMIT ?8",
    [SQ_DEV_PAGE_COUNT] = "SELECT count(*) FROM devices WHERE " DEV_FILTER,
    [SQ_DEV_GROUPS] = "SELECT product,version,state,last_error,count(*),"
                      "sum(CASE WHEN last_seen>=?1 THEN 1 ELSE 0 END) FROM devices"
                      " GROUP BY product,version,state,last_error",
    [SQ_OUTCOMES] = "SELECT (time-?1)/?2,state,count(*) FROM reports WHERE time>=?1 AND"
                    " state IN ('confirmed','rolled_back','error') GROUP BY 1,2",
    [SQ_DEV_ERRORS] = "SELECT " DEV_COLS " FROM devices WHERE last_error<>0"
                      " ORDER BY last_seen DESC, id LIMIT ?1",
};

void sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

void sq_bind_text_or_empty(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC);
}

fota_err_t sq_step_done(sq_conn_t *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    fota_err_t err = rc == SQLITE_DONE ? FOTA_OK : sq_fail(c, what);
    sq_reset(st);
    return err;
}

#define step_done sq_step_done

/* ---- rows -> records --------------------------------------------------------------------- */

static void row_release(sqlite3_stmt *st, void *out)
{
    fotad_release_rec_t *r = out;
    memset(r, 0, sizeof *r);
    sq_col_text(st, 0, r->id, sizeof r->id);
    sq_col_text(st, 1, r->product, sizeof r->product);
    sq_col_text(st, 2, r->version, sizeof r->version);
    r->security_version = (uint32_t)sqlite3_column_int64(st, 3);
    r->image_size = (uint32_t)sqlite3_column_int64(st, 4);
    r->chunk_size = (uint32_t)sqlite3_column_int64(st, 5);
    r->chunk_count = (uint32_t)sqlite3_column_int64(st, 6);
    r->blob_size = (uint32_t)sqlite3_column_int64(st, 7);
    sq_col_text(st, 8, r->image_sha256, sizeof r->image_sha256);
    sq_col_text(st, 9, r->blob_sha256, sizeof r->blob_sha256);
    r->created = sqlite3_column_int64(st, 10);
    r->uploaded = sqlite3_column_int64(st, 11);
    const void *m = sqlite3_column_blob(st, 12);
    if (m != NULL && sqlite3_column_bytes(st, 12) == (int)FOTA_MANIFEST_LEN) {
        memcpy(r->manifest, m, FOTA_MANIFEST_LEN);
    }
    r->chip_id = sqlite3_column_type(st, 13) == SQLITE_NULL ? FOTAD_CHIP_UNKNOWN
                                                            : (int32_t)sqlite3_column_int64(st, 13);
}

static void row_product(sqlite3_stmt *st, void *out)
{
    fotad_product_rec_t *p = out;
    memset(p, 0, sizeof *p);
    sq_col_text(st, 0, p->id, sizeof p->id);
    p->chip_id = (uint16_t)sqlite3_column_int64(st, 1);
    p->created = sqlite3_column_int64(st, 2);
}

void sq_row_device(sqlite3_stmt *st, void *out)
{
    fotad_device_rec_t *d = out;
    memset(d, 0, sizeof *d);
    sq_col_text(st, 0, d->id, sizeof d->id);
    sq_col_text(st, 1, d->product, sizeof d->product);
    sq_col_text(st, 2, d->version, sizeof d->version);
    sq_col_text(st, 3, d->state, sizeof d->state);
    sq_col_text(st, 4, d->release, sizeof d->release);
    sq_col_text(st, 5, d->offered, sizeof d->offered);
    d->done = (uint32_t)sqlite3_column_int64(st, 6);
    d->total = (uint32_t)sqlite3_column_int64(st, 7);
    d->last_error = (int32_t)sqlite3_column_int64(st, 8);
    d->first_seen = sqlite3_column_int64(st, 9);
    d->last_seen = sqlite3_column_int64(st, 10);
    sq_col_text(st, 11, d->tags, sizeof d->tags);
}

static void row_report(sqlite3_stmt *st, void *out)
{
    fotad_report_rec_t *r = out;
    memset(r, 0, sizeof *r);
    r->time = sqlite3_column_int64(st, 0);
    sq_col_text(st, 1, r->state, sizeof r->state);
    sq_col_text(st, 2, r->release, sizeof r->release);
    sq_col_text(st, 3, r->version, sizeof r->version);
    sq_col_text(st, 4, r->running, sizeof r->running);
    r->done = (uint32_t)sqlite3_column_int64(st, 5);
    r->total = (uint32_t)sqlite3_column_int64(st, 6);
    r->error = (int32_t)sqlite3_column_int64(st, 7);
}

static void row_assignment(sqlite3_stmt *st, void *out)
{
    fotad_assignment_rec_t *a = out;
    memset(a, 0, sizeof *a);
    a->kind = sqlite3_column_int(st, 0) == FOTAD_TARGET_PRODUCT ? FOTAD_TARGET_PRODUCT
                                                                : FOTAD_TARGET_DEVICE;
    sq_col_text(st, 1, a->target, sizeof a->target);
    sq_col_text(st, 2, a->release, sizeof a->release);
    a->updated = sqlite3_column_int64(st, 3);
}

/* ---- reads --------------------------------------------------------------------------------- */

typedef sq_row_fn row_fn;

#define get_one sq_get_one
#define get_all sq_get_all

static void bind_query(sqlite3_stmt *st, const sq_query_t *q)
{
    if (q->ikey1 >= 0) {
        sqlite3_bind_int64(st, 1, q->ikey1);
    } else if (q->key1 != NULL) {
        sq_bind_text(st, 1, q->key1);
    }
    if (q->key2 != NULL) {
        sq_bind_text(st, 2, q->key2);
    }
}

fota_err_t sq_read_one(sq_store_t *s, sq_stmt_id_t id, sq_bind_fn bind, const void *arg,
                       sq_row_fn row, void *rec)
{
    sq_conn_t *c = sq_reader_get(s);
    sqlite3_stmt *st = c != NULL ? sq_stmt(c, id) : NULL;
    if (st == NULL) {
        if (c != NULL) {
            sq_reader_put(s, c);
        }
        return FOTA_ERR_IO;
    }
    bind(st, arg);
    int rc = sqlite3_step(st);
    fota_err_t err = rc == SQLITE_ROW    ? FOTA_OK
                     : rc == SQLITE_DONE ? FOTA_ERR_NOT_FOUND
                                         : sq_fail(c, "query");
    if (rc == SQLITE_ROW) {
        row(st, rec);
    }
    sq_reset(st);
    sq_reader_put(s, c);
    return err;
}

static void bind_query_arg(sqlite3_stmt *st, const void *arg)
{
    bind_query(st, arg);
}

fota_err_t sq_get_one(sq_store_t *s, const sq_query_t *q, sq_row_fn row, void *rec)
{
    return sq_read_one(s, q->id, bind_query_arg, q, row, rec);
}

fota_err_t sq_read_all(sq_store_t *s, sq_stmt_id_t id, sq_bind_fn bind, const void *arg,
                       const sq_walk_t *w)
{
    sq_conn_t *c = sq_reader_get(s);
    sqlite3_stmt *st = c != NULL ? sq_stmt(c, id) : NULL;
    if (st == NULL) {
        if (c != NULL) {
            sq_reader_put(s, c);
        }
        return FOTA_ERR_IO;
    }
    bind(st, arg);
    fota_err_t err = FOTA_OK;
    int rc = SQLITE_DONE;
    while (err == FOTA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        w->row(st, w->visitor);
        err = w->emit(w->visitor);
    }
    if (err == FOTA_OK && rc != SQLITE_DONE) {
        err = sq_fail(c, "list");
    }
    sq_reset(st);
    sq_reader_put(s, c);
    return err;
}

typedef struct {
    const sq_query_t *q;
    int64_t limit;
} limited_query_t;

static void bind_limited_query(sqlite3_stmt *st, const void *arg)
{
    const limited_query_t *lq = arg;
    bind_query(st, lq->q);
    if (lq->limit > 0) {
        sqlite3_bind_int64(st, 2, lq->limit);
    }
}

fota_err_t sq_get_all(sq_store_t *s, const sq_query_t *q, int64_t limit, const sq_walk_t *w)
{
    limited_query_t lq = {q, limit};
    return sq_read_all(s, q->id, bind_limited_query, &lq, w);
}

STORE_VISITOR(release, fotad_release_rec_t, fotad_release_fn)
STORE_VISITOR(product, fotad_product_rec_t, fotad_product_fn)
STORE_VISITOR(device, fotad_device_rec_t, fotad_device_fn)
STORE_VISITOR(report, fotad_report_rec_t, fotad_report_fn)
STORE_VISITOR(assignment, fotad_assignment_rec_t, fotad_assignment_fn)

static fota_err_t sq_release_get(void *ctx, const char *id, fotad_release_rec_t *out)
{
    sq_query_t q = {SQ_REL_GET, -1, id, NULL};
    return get_one(ctx, &q, row_release, out);
}

static fota_err_t sq_release_list(void *ctx, fotad_release_fn fn, void *arg)
{
    release_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_release, release_emit, &v};
    sq_query_t q = {SQ_REL_LIST, -1, NULL, NULL};
    return get_all(ctx, &q, 0, &w);
}

static fota_err_t sq_product_get(void *ctx, const char *id, fotad_product_rec_t *out)
{
    sq_query_t q = {SQ_PROD_GET, -1, id, NULL};
    return get_one(ctx, &q, row_product, out);
}

static fota_err_t sq_product_list(void *ctx, fotad_product_fn fn, void *arg)
{
    product_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_product, product_emit, &v};
    sq_query_t q = {SQ_PROD_LIST, -1, NULL, NULL};
    return get_all(ctx, &q, 0, &w);
}

static fota_err_t sq_device_get(void *ctx, const char *id, fotad_device_rec_t *out)
{
    sq_query_t q = {SQ_DEV_GET, -1, id, NULL};
    return get_one(ctx, &q, sq_row_device, out);
}

static fota_err_t sq_device_list(void *ctx, fotad_device_fn fn, void *arg)
{
    device_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {sq_row_device, device_emit, &v};
    sq_query_t q = {SQ_DEV_LIST, -1, NULL, NULL};
    return get_all(ctx, &q, 0, &w);
}

typedef struct {
    fotad_census_rec_t rec;
    fotad_census_fn fn;
    void *arg;
} census_visit_t;

static void row_census(sqlite3_stmt *st, void *out)
{
    fotad_census_rec_t *c = out;
    sq_col_text(st, 0, c->state, sizeof c->state);
    sq_col_text(st, 1, c->version, sizeof c->version);
    sq_col_text(st, 2, c->release, sizeof c->release);
    c->n = (uint64_t)sqlite3_column_int64(st, 3);
}

static fota_err_t census_emit(void *v)
{
    census_visit_t *x = v;
    return x->fn(x->arg, &x->rec);
}

static fota_err_t sq_device_census(void *ctx, fotad_census_fn fn, void *arg)
{
    census_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_census, census_emit, &v};
    sq_query_t q = {SQ_DEV_CENSUS, -1, NULL, NULL};
    return get_all(ctx, &q, 0, &w);
}

static fota_err_t sq_device_list_tagged(void *ctx, const char *tag, fotad_device_fn fn, void *arg)
{
    device_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {sq_row_device, device_emit, &v};
    sq_query_t q = {SQ_DEV_LIST_TAGGED, -1, tag, NULL};
    return get_all(ctx, &q, 0, &w);
}

static fota_err_t sq_report_list(void *ctx, const char *id, uint32_t limit, fotad_report_fn fn,
                                 void *arg)
{
    report_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_report, report_emit, &v};
    sq_query_t q = {SQ_REPORT_LIST, -1, id, NULL};
    return get_all(ctx, &q, limit > 0 ? limit : 1, &w);
}

static fota_err_t sq_assignment_get(void *ctx, fotad_target_kind_t kind, const char *target,
                                    fotad_assignment_rec_t *out)
{
    sq_query_t q = {SQ_ASSIGN_GET, kind, NULL, target};
    return get_one(ctx, &q, row_assignment, out);
}

static fota_err_t sq_assignment_list(void *ctx, fotad_assignment_fn fn, void *arg)
{
    assignment_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_assignment, assignment_emit, &v};
    sq_query_t q = {SQ_ASSIGN_LIST, -1, NULL, NULL};
    return get_all(ctx, &q, 0, &w);
}

/* ---- writes (on the writer connection, under the write lock) -------------------------------- */

typedef sq_bind_fn bind_fn;

#define write_one sq_write_one

fota_err_t sq_write_one(sq_conn_t *c, sq_stmt_id_t id, sq_bind_fn bind, const void *arg,
                        const char *what)
{
    sqlite3_stmt *st = sq_stmt(c, id);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    bind(st, arg);
    return step_done(c, st, what);
}

fota_err_t sq_write(sq_store_t *s, sq_stmt_id_t id, sq_bind_fn bind, const void *arg,
                    const char *what, uint64_t *changed)
{
    sq_conn_t *c = sq_writer_get(s);
    fota_err_t err = write_one(c, id, bind, arg, what);
    if (changed != NULL) {
        *changed = err == FOTA_OK ? (uint64_t)sqlite3_changes(c->db) : 0;
    }
    sq_writer_put(s);
    return err;
}

static void bind_release(sqlite3_stmt *st, const void *arg)
{
    const fotad_release_rec_t *r = arg;
    sq_bind_text(st, 1, r->id);
    sq_bind_text(st, 2, r->product);
    sq_bind_text(st, 3, r->version);
    sqlite3_bind_int64(st, 4, r->security_version);
    sqlite3_bind_int64(st, 5, r->image_size);
    sqlite3_bind_int64(st, 6, r->chunk_size);
    sqlite3_bind_int64(st, 7, r->chunk_count);
    sqlite3_bind_int64(st, 8, r->blob_size);
    sq_bind_text(st, 9, r->image_sha256);
    sq_bind_text(st, 10, r->blob_sha256);
    sqlite3_bind_int64(st, 11, r->created);
    sqlite3_bind_int64(st, 12, r->uploaded);
    sqlite3_bind_blob(st, 13, r->manifest, (int)FOTA_MANIFEST_LEN, SQLITE_STATIC);
    if (r->chip_id != FOTAD_CHIP_UNKNOWN) {
        sqlite3_bind_int64(st, 14, r->chip_id); /* else NULL: unbound */
    }
}

static fota_err_t sq_release_insert(void *ctx, const fotad_release_rec_t *r, bool *inserted)
{
    uint64_t n = 0;
    fota_err_t err = sq_write(ctx, SQ_REL_INSERT, bind_release, r, "insert release", &n);
    *inserted = n > 0;
    return err;
}

typedef struct {
    const char *id;
    uint16_t chip_id;
} chip_args_t;

static void bind_chip(sqlite3_stmt *st, const void *arg)
{
    const chip_args_t *a = arg;
    sq_bind_text(st, 1, a->id);
    sqlite3_bind_int64(st, 2, a->chip_id);
}

/* The UPDATE changes nothing for a known chip: then the row only has to exist. */
static fota_err_t sq_release_set_chip(void *ctx, const char *id, uint16_t chip_id)
{
    chip_args_t a = {id, chip_id};
    uint64_t changed = 0;
    fota_err_t err = sq_write(ctx, SQ_REL_SET_CHIP, bind_chip, &a, "set release chip", &changed);
    if (err != FOTA_OK || changed > 0) {
        return err;
    }
    fotad_release_rec_t r;
    return sq_release_get(ctx, id, &r);
}

static void bind_product(sqlite3_stmt *st, const void *arg)
{
    const fotad_product_rec_t *p = arg;
    sq_bind_text(st, 1, p->id);
    sqlite3_bind_int64(st, 2, p->chip_id);
    sqlite3_bind_int64(st, 3, p->created);
}

static fota_err_t sq_product_insert(void *ctx, const fotad_product_rec_t *p, bool *inserted)
{
    uint64_t n = 0;
    fota_err_t err = sq_write(ctx, SQ_PROD_INSERT, bind_product, p, "insert product", &n);
    *inserted = n > 0;
    return err;
}

typedef struct {
    const char *id;
    const char *product;
    const char *version;
    const char *offered;
    int64_t now;
} device_args_t;

static void bind_touch(sqlite3_stmt *st, const void *arg)
{
    const device_args_t *a = arg;
    sq_bind_text(st, 1, a->id);
    sqlite3_bind_int64(st, 2, a->now);
}

static fota_err_t sq_device_touch(void *ctx, const char *id, int64_t now)
{
    device_args_t a = {id, NULL, NULL, NULL, now};
    return sq_write(ctx, SQ_DEV_TOUCH, bind_touch, &a, "touch device", NULL);
}

static void bind_check(sqlite3_stmt *st, const void *arg)
{
    const device_args_t *a = arg;
    sq_bind_text(st, 1, a->id);
    sq_bind_text(st, 2, a->product);
    sq_bind_text(st, 3, a->version);
    sq_bind_text(st, 4, a->offered);
    sqlite3_bind_int64(st, 5, a->now);
}

static fota_err_t sq_device_check(void *ctx, const char *id, const char *product,
                                  const char *version, const char *offered, int64_t now)
{
    device_args_t a = {id, product, version, offered, now};
    return sq_write(ctx, SQ_DEV_CHECK, bind_check, &a, "record check", NULL);
}

typedef struct {
    const char *id;
    const fotad_report_rec_t *r;
} report_args_t;

static void bind_report(sqlite3_stmt *st, const void *arg)
{
    const report_args_t *a = arg;
    sq_bind_text(st, 1, a->id);
    sqlite3_bind_int64(st, 2, a->r->time);
    sq_bind_text(st, 3, a->r->state);
    sq_bind_text(st, 4, a->r->release);
    sq_bind_text(st, 5, a->r->version);
    sq_bind_text(st, 6, a->r->running);
    sqlite3_bind_int64(st, 7, a->r->done);
    sqlite3_bind_int64(st, 8, a->r->total);
    sqlite3_bind_int64(st, 9, a->r->error);
}

static void bind_device_report(sqlite3_stmt *st, const void *arg)
{
    const report_args_t *a = arg;
    sq_bind_text(st, 1, a->id);
    sq_bind_text(st, 2, a->r->running);
    sq_bind_text(st, 3, a->r->state);
    sq_bind_text(st, 4, a->r->release);
    sqlite3_bind_int64(st, 5, a->r->done);
    sqlite3_bind_int64(st, 6, a->r->total);
    sqlite3_bind_int64(st, 7, a->r->error);
    sqlite3_bind_int64(st, 8, a->r->time);
}

static void bind_nothing(sqlite3_stmt *st, const void *arg)
{
    (void)st;
    (void)arg;
}

static fota_err_t sq_device_report(void *ctx, const char *id, const fotad_report_rec_t *r)
{
    report_args_t a = {id, r};
    sq_conn_t *c = sq_writer_get(ctx);
    fota_err_t err = write_one(c, SQ_BEGIN, bind_nothing, NULL, "begin");
    if (err == FOTA_OK) {
        err = write_one(c, SQ_REPORT_INSERT, bind_report, &a, "insert report");
    }
    if (err == FOTA_OK) {
        err = write_one(c, SQ_DEV_REPORT, bind_device_report, &a, "update device");
    }
    if (err == FOTA_OK) {
        err = write_one(c, SQ_COMMIT, bind_nothing, NULL, "commit report");
    }
    if (err != FOTA_OK && !sqlite3_get_autocommit(c->db)) {
        write_one(c, SQ_ROLLBACK, bind_nothing, NULL, "rollback");
    }
    sq_writer_put(ctx);
    return err;
}

static void bind_assignment(sqlite3_stmt *st, const void *arg)
{
    const fotad_assignment_rec_t *a = arg;
    sqlite3_bind_int(st, 1, (int)a->kind);
    sq_bind_text(st, 2, a->target);
    sq_bind_text(st, 3, a->release);
    sqlite3_bind_int64(st, 4, a->updated);
}

static fota_err_t sq_assignment_set(void *ctx, const fotad_assignment_rec_t *a)
{
    return sq_write(ctx, SQ_ASSIGN_SET, bind_assignment, a, "set assignment", NULL);
}

/* ---- the legacy bridge ----------------------------------------------------------------------- */

static void row_legacy(sqlite3_stmt *st, void *out)
{
    fotad_legacy_rec_t *l = out;
    memset(l, 0, sizeof *l);
    sq_col_text(st, 0, l->product, sizeof l->product);
    sq_col_text(st, 1, l->bridge_release, sizeof l->bridge_release);
    sq_col_text(st, 2, l->mac_field, sizeof l->mac_field);
    l->updated = sqlite3_column_int64(st, 3);
}

static void row_enrollment(sqlite3_stmt *st, void *out)
{
    fotad_enrollment_rec_t *e = out;
    memset(e, 0, sizeof *e);
    sq_col_text(st, 0, e->device_id, sizeof e->device_id);
    sq_col_text(st, 1, e->product, sizeof e->product);
    if (sqlite3_column_bytes(st, 2) == (int)sizeof e->key_wrapped) {
        memcpy(e->key_wrapped, sqlite3_column_blob(st, 2), sizeof e->key_wrapped);
    }
    sq_col_text(st, 3, e->state, sizeof e->state);
    sq_col_text(st, 4, e->address, sizeof e->address);
    e->requested = sqlite3_column_int64(st, 5);
    e->decided = sqlite3_column_int64(st, 6);
}

static fota_err_t sq_legacy_get(void *ctx, fotad_legacy_rec_t *out)
{
    sq_query_t q = {SQ_LEGACY_GET, -1, NULL, NULL};
    return get_one(ctx, &q, row_legacy, out);
}

static void bind_legacy(sqlite3_stmt *st, const void *arg)
{
    const fotad_legacy_rec_t *l = arg;
    sq_bind_text(st, 1, l->product);
    sq_bind_text(st, 2, l->bridge_release);
    sq_bind_text(st, 3, l->mac_field);
    sqlite3_bind_int64(st, 4, l->updated);
}

static fota_err_t sq_legacy_set(void *ctx, const fotad_legacy_rec_t *rec)
{
    return rec != NULL ? sq_write(ctx, SQ_LEGACY_SET, bind_legacy, rec, "set legacy", NULL)
                       : sq_write(ctx, SQ_LEGACY_CLEAR, bind_nothing, NULL, "clear legacy", NULL);
}

static void bind_enrollment(sqlite3_stmt *st, const void *arg)
{
    const fotad_enrollment_rec_t *e = arg;
    sq_bind_text(st, 1, e->device_id);
    sq_bind_text(st, 2, e->product);
    sqlite3_bind_blob(st, 3, e->key_wrapped, (int)sizeof e->key_wrapped, SQLITE_STATIC);
    sq_bind_text(st, 4, e->state);
    sq_bind_text(st, 5, e->address);
    sqlite3_bind_int64(st, 6, e->requested);
    sqlite3_bind_int64(st, 7, e->decided);
}

static fota_err_t sq_enrollment_insert(void *ctx, const fotad_enrollment_rec_t *e, bool *inserted)
{
    uint64_t n = 0;
    fota_err_t err = sq_write(ctx, SQ_ENROLL_INSERT, bind_enrollment, e, "insert enrollment", &n);
    *inserted = n > 0;
    return err;
}

static fota_err_t sq_enrollment_get(void *ctx, const char *device_id, fotad_enrollment_rec_t *out)
{
    sq_query_t q = {SQ_ENROLL_GET, -1, device_id, NULL};
    return get_one(ctx, &q, row_enrollment, out);
}

typedef struct {
    const char *device_id;
    const char *from;
    const char *to;
    int64_t now;
} move_args_t;

static void bind_move(sqlite3_stmt *st, const void *arg)
{
    const move_args_t *a = arg;
    if (a->device_id != NULL) {
        sq_bind_text(st, 1, a->device_id);
    }
    sq_bind_text(st, 2, a->from);
    sq_bind_text(st, 3, a->to);
    sqlite3_bind_int64(st, 4, a->now);
}

static fota_err_t sq_enrollment_move(void *ctx, const char *device_id, const char *from,
                                     const char *to, int64_t now, uint64_t *changed)
{
    move_args_t a = {device_id, from, to, now};
    return sq_write(ctx, device_id != NULL ? SQ_ENROLL_MOVE : SQ_ENROLL_MOVE_ALL, bind_move, &a,
                    "update enrollment", changed);
}

static void bind_id(sqlite3_stmt *st, const void *arg)
{
    sq_bind_text(st, 1, arg);
}

static fota_err_t sq_enrollment_delete(void *ctx, const char *device_id)
{
    uint64_t gone = 0;
    fota_err_t err =
        sq_write(ctx, SQ_ENROLL_DELETE, bind_id, device_id, "delete enrollment", &gone);
    return err != FOTA_OK ? err : gone > 0 ? FOTA_OK : FOTA_ERR_NOT_FOUND;
}

STORE_VISITOR(enrollment, fotad_enrollment_rec_t, fotad_enrollment_fn)

static fota_err_t sq_enrollment_list(void *ctx, const char *state, fotad_enrollment_fn fn,
                                     void *arg)
{
    enrollment_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_enrollment, enrollment_emit, &v};
    sq_query_t q = {state != NULL ? SQ_ENROLL_LIST_STATE : SQ_ENROLL_LIST, -1, state, NULL};
    return get_all(ctx, &q, 0, &w);
}

void sq_row_count(sqlite3_stmt *st, void *out)
{
    *(uint64_t *)out = (uint64_t)sqlite3_column_int64(st, 0);
}

static fota_err_t sq_enrollment_count(void *ctx, const char *state, uint64_t *n)
{
    sq_query_t q = {SQ_ENROLL_COUNT, -1, state, NULL};
    return get_one(ctx, &q, sq_row_count, n);
}

const fotad_store_ops_t sq_ops = {
    .close = sq_close,
    .release_insert = sq_release_insert,
    .release_get = sq_release_get,
    .release_list = sq_release_list,
    .release_set_chip = sq_release_set_chip,
    .delta_insert = sq_delta_insert,
    .delta_get = sq_delta_get,
    .delta_find = sq_delta_find,
    .delta_list = sq_delta_list,
    .product_insert = sq_product_insert,
    .product_get = sq_product_get,
    .product_list = sq_product_list,
    .device_touch = sq_device_touch,
    .device_check = sq_device_check,
    .device_report = sq_device_report,
    .device_get = sq_device_get,
    .device_list = sq_device_list,
    .device_census = sq_device_census,
    .report_list = sq_report_list,
    .assignment_set = sq_assignment_set,
    .assignment_get = sq_assignment_get,
    .assignment_list = sq_assignment_list,
    .legacy_get = sq_legacy_get,
    .legacy_set = sq_legacy_set,
    .enrollment_insert = sq_enrollment_insert,
    .enrollment_get = sq_enrollment_get,
    .enrollment_move = sq_enrollment_move,
    .enrollment_delete = sq_enrollment_delete,
    .enrollment_list = sq_enrollment_list,
    .enrollment_count = sq_enrollment_count,
    .device_tags_change = sq_device_tags_change,
    .device_list_tagged = sq_device_list_tagged,
    .device_page = sq_device_page,
    .device_groups = sq_device_groups,
    .report_outcomes = sq_report_outcomes,
    .device_errors = sq_device_errors,
    .rollout_insert = sq_rollout_insert,
    .rollout_get = sq_rollout_get,
    .rollout_list = sq_rollout_list,
    .rollout_update = sq_rollout_update,
    .member_get = sq_member_get,
    .member_put = sq_member_put,
    .member_list = sq_member_list,
    .member_counts = sq_member_counts,
    .member_start = sq_member_start,
    .member_time_out = sq_member_time_out,
    .event_list = sq_event_list,
    .token_insert = sq_token_insert,
    .token_get = sq_token_get,
    .token_list = sq_token_list,
    .token_revoke = sq_token_revoke,
    .audit_insert = sq_audit_insert,
    .audit_list = sq_audit_list,
};
