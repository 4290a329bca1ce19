/*
 * store_pg_int.h - internals shared by the PostgreSQL backend of store.h: store_pg.c
 * (connections, statements, parameters, results, transactions), store_pg_schema.c (the schema and
 * its migrations), store_pg_sql.c (the statements), store_pg_ops.c (releases, products, devices,
 * reports, assignments, the legacy bridge), store_pg_deltas.c (deltas), store_pg_rollouts.c (device
 * tags, rollouts, members, events), store_pg_shared.c (nonces, the periodic lease, objects) and
 * store_pg_tokens.c (admin tokens, the audit log). Not a public header.
 *
 * Connections. libpq lets one thread use a connection at a time, and PostgreSQL runs any number
 * of writers at once (each row write takes its own row lock), so unlike the SQLite backend there
 * is no writer lock: a call takes an idle connection from a pool (opening one when none is idle)
 * and puts it back when done. The pool grows to the number of threads that use the store at the
 * same time and no further. Each connection prepares its statements once, on first use, and
 * every value travels as a parameter of a prepared statement: no SQL is ever built from values.
 *
 * Lost connections. When PostgreSQL restarts, every connection to it breaks. A connection taken
 * from the pool is checked first (any message or end-of-file the server left on it is read): a
 * broken one is closed and replaced by a new one, so an idle pool recovers unnoticed. A
 * connection that breaks during a call fails that call with FOTA_ERR_IO (logged) and is closed
 * when put back; the next call connects anew. While the server cannot be reached, every call
 * fails with FOTA_ERR_IO after the connect attempt (connect_timeout, 5 s unless the URI says).
 */
#ifndef FOTAD_STORE_PG_INT_H
#define FOTAD_STORE_PG_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store.h"

typedef enum {
    PG_REL_INSERT,
    PG_REL_GET,
    PG_REL_LIST,
    PG_REL_SET_CHIP,
    PG_DELTA_INSERT,
    PG_DELTA_GET,
    PG_DELTA_FIND,
    PG_DELTA_LIST,
    PG_PROD_INSERT,
    PG_PROD_GET,
    PG_PROD_LIST,
    PG_DEV_TOUCH,
    PG_DEV_CHECK,
    PG_DEV_REPORT,
    PG_DEV_GET,
    PG_DEV_LIST,
    PG_DEV_CENSUS,
    PG_REPORT_INSERT,
    PG_REPORT_LIST,
    PG_ASSIGN_SET,
    PG_ASSIGN_GET,
    PG_ASSIGN_LIST,
    PG_LEGACY_GET,
    PG_LEGACY_SET,
    PG_LEGACY_CLEAR,
    PG_ENROLL_INSERT,
    PG_ENROLL_GET,
    PG_ENROLL_MOVE,
    PG_ENROLL_MOVE_ALL,
    PG_ENROLL_DELETE,
    PG_ENROLL_LIST,
    PG_ENROLL_LIST_STATE,
    PG_ENROLL_COUNT,
    PG_TAG_LOCK,
    PG_TAG_ADD,
    PG_TAG_REMOVE,
    PG_TAG_COUNT,
    PG_DEV_LIST_TAGGED,
    PG_RO_INSERT,
    PG_RO_UPDATE,
    PG_RO_GET,
    PG_RO_LOCK,
    PG_RO_LIST,
    PG_STAGE_CLEAR,
    PG_STAGE_INSERT,
    PG_STAGE_LIST,
    PG_MEMBER_PUT,
    PG_MEMBER_GET,
    PG_MEMBER_LIST,
    PG_MEMBER_COUNTS,
    PG_MEMBER_STARTS,
    PG_MEMBER_TIME_OUT,
    PG_EVENT_INSERT,
    PG_EVENT_LIST,
    PG_NONCE_CLAIM,
    PG_NONCE_PURGE,
    PG_LEASE_TAKE,
    PG_OBJ_PUT,
    PG_OBJ_GET,
    PG_TOKEN_INSERT,
    PG_TOKEN_GET,
    PG_TOKEN_LIST,
    PG_TOKEN_REVOKE,
    PG_AUDIT_INSERT,
    PG_AUDIT_LIST_NEWEST,
    PG_AUDIT_LIST_OLDEST,
    PG_DEV_PAGE,
    PG_DEV_PAGE_COUNT,
    PG_DEV_GROUPS,
    PG_OUTCOMES,
    PG_DEV_ERRORS,
    PG_STMT_COUNT
} pg_stmt_id_t;

/* The SQL of each statement (store_pg_sql.c). */
extern const char *const pg_sql[PG_STMT_COUNT];

typedef struct pg_conn {
    PGconn *pq;
    bool prepared[PG_STMT_COUNT];
    bool closing;         /* the server said goodbye (a FATAL notice): never use it again */
    struct pg_conn *next; /* idle list */
} pg_conn_t;

typedef struct {
    char *conninfo;
    pthread_mutex_t pool_lock;
    pg_conn_t *idle;
} pg_store_t;

/* ---- parameters: every value as text (numbers in decimal), bytes in binary ------------------- */

#define PG_PARAMS_MAX 28
#define PG_NUM_LEN 24

/* A numeric parameter is kept in nums and pointed to only when the statement runs, so that a
 * pg_params_t may be returned and copied by value. */
typedef struct {
    int n;
    bool is_num[PG_PARAMS_MAX];
    const char *values[PG_PARAMS_MAX];
    int lengths[PG_PARAMS_MAX];
    int formats[PG_PARAMS_MAX];
    char nums[PG_PARAMS_MAX][PG_NUM_LEN];
} pg_params_t;

/* Append $n+1. The text and bytes are borrowed: they must outlive the statement's run. */
void pg_param_text(pg_params_t *p, const char *s);
void pg_param_int(pg_params_t *p, int64_t v);
void pg_param_bool(pg_params_t *p, bool v);
void pg_param_bytes(pg_params_t *p, const void *b, size_t len);
void pg_param_null(pg_params_t *p);

/* ---- connections and statements (store_pg.c) ---------------------------------------------- */

/* A connection of the pool, checked and ready (NULL, logged, when none can be made); give it
 * back with pg_conn_put, which closes it instead when it broke or was left in a transaction. */
pg_conn_t *pg_conn_get(pg_store_t *s);
void pg_conn_put(pg_store_t *s, pg_conn_t *c);

/* Run a statement of no rows; *changed (when not NULL) gets the number of rows it changed. */
fota_err_t pg_cmd(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, const char *what,
                  uint64_t *changed);

/* Run a query; *res is its whole result (the caller PQclear's it) on FOTA_OK. */
fota_err_t pg_query(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, const char *what,
                    PGresult **res);

/* Run a query row by row (libpq's single-row mode: a long list is never all in memory): `row` is
 * called for each row (row index 0 of res) until it returns an error, which is returned; the
 * rest of the rows are then read and dropped. */
typedef fota_err_t (*pg_row_fn)(const PGresult *res, void *arg);
fota_err_t pg_walk(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, const char *what,
                   pg_row_fn row, void *arg);

/* Run SQL of no parameters and no rows (transaction control, the schema). */
fota_err_t pg_exec(pg_conn_t *c, const char *sql, const char *what);

/* BEGIN; pg_txn_end commits when err is FOTA_OK, else rolls back, and returns the outcome. */
fota_err_t pg_txn_begin(pg_conn_t *c);
fota_err_t pg_txn_end(pg_conn_t *c, fota_err_t err);

/* Log "store: what: <PostgreSQL's message>" and return FOTA_ERR_IO (FOTA_ERR_NO_MEM when the
 * server or libpq ran out of memory). res may be NULL (then the connection's message). */
fota_err_t pg_fail(pg_conn_t *c, const PGresult *res, const char *what);

/* ---- columns of a text-format result ------------------------------------------------------ */

/* Column `col` of row `row` as text into out (cap bytes, cut if longer; "" for NULL). */
void pg_col_text(const PGresult *r, int row, int col, char *out, size_t cap);
int64_t pg_col_int(const PGresult *r, int row, int col); /* 0 for NULL */
bool pg_col_bool(const PGresult *r, int row, int col);
bool pg_col_null(const PGresult *r, int row, int col);
/* A bytea column of exactly len bytes into out; false (out untouched) for another length. */
bool pg_col_bytes(const PGresult *r, int row, int col, uint8_t *out, size_t len);
/* A bytea column of any length, malloc'd into *out (the caller frees); FOTA_ERR_IO when it is
 * not bytea text, FOTA_ERR_NO_MEM. */
fota_err_t pg_col_bytes_copy(const PGresult *r, int row, int col, uint8_t **out, size_t *len);

/* ---- schema (store_pg_schema.c) ---------------------------------------------------------- */

/* Create the tables or migrate them to this fotad's version under an advisory lock, so that
 * several fotad starting at once on one database migrate it once; refuse a newer schema. */
fota_err_t pg_schema_init(pg_conn_t *c);

/* ---- operations ------------------------------------------------------------------------- */

void pg_close(void *ctx);

/* Running one statement on a connection of the pool (store_pg_ops.c). */
fota_err_t pg_run_cmd(pg_store_t *s, pg_stmt_id_t id, const pg_params_t *p, const char *what,
                      uint64_t *changed);
/* `fill` fills a record from row 0 of res. */
typedef void (*pg_fill_fn)(const PGresult *res, void *rec);
/* A query of one row at most: into rec, or FOTA_ERR_NOT_FOUND. */
fota_err_t pg_get_one(pg_store_t *s, pg_stmt_id_t id, const pg_params_t *p, pg_fill_fn fill,
                      void *rec);
/* A row of one number (a count) into the uint64_t at out. */
void pg_fill_count(const PGresult *res, void *out);
/* A listing: each row filled into the visitor's record (its first member) and handed to the
 * caller's typed function by emit. */
typedef struct {
    pg_fill_fn fill;
    fota_err_t (*emit)(void *visitor);
    void *visitor;
} pg_walk_t;
fota_err_t pg_get_all(pg_store_t *s, pg_stmt_id_t id, const pg_params_t *p, const pg_walk_t *w);

/* Deltas (store_pg_deltas.c). */
fota_err_t pg_delta_insert(void *ctx, const fotad_delta_rec_t *d, bool *inserted);
fota_err_t pg_delta_get(void *ctx, const char *id, fotad_delta_rec_t *out);
fota_err_t pg_delta_find(void *ctx, const char *release, const char *source_sha256,
                         fotad_delta_rec_t *out);
fota_err_t pg_delta_list(void *ctx, const char *release, fotad_delta_fn fn, void *arg);

/* Device tags and rollouts (store_pg_rollouts.c). */
fota_err_t pg_device_tags_change(void *ctx, const char *const *ids, size_t n_ids,
                                 const char *const *add, size_t n_add, const char *const *remove,
                                 size_t n_remove);
fota_err_t pg_rollout_insert(void *ctx, fotad_rollout_rec_t *r, const char *const *devices,
                             size_t n_devices, fotad_event_rec_t *ev);
fota_err_t pg_rollout_get(void *ctx, int64_t id, fotad_rollout_rec_t *out);
fota_err_t pg_rollout_list(void *ctx, fotad_rollout_fn fn, void *arg);
fota_err_t pg_rollout_update(void *ctx, const fotad_rollout_rec_t *r,
                             const fotad_member_rec_t *members, size_t n_members,
                             const fotad_event_rec_t *ev);
fota_err_t pg_member_get(void *ctx, int64_t rollout, const char *device, fotad_member_rec_t *out);
fota_err_t pg_member_put(void *ctx, const fotad_member_rec_t *m, const fotad_event_rec_t *ev);
fota_err_t pg_member_list(void *ctx, int64_t rollout, fotad_member_fn fn, void *arg);
fota_err_t pg_member_counts(void *ctx, int64_t rollout, fotad_member_counts_t *out);
fota_err_t pg_member_start(void *ctx, const fotad_member_rec_t *m, int64_t since, uint32_t limit,
                           bool *admitted, int64_t *earliest);
fota_err_t pg_member_time_out(void *ctx, int64_t rollout, int64_t before, uint32_t *n);
fota_err_t pg_event_list(void *ctx, int64_t rollout, fotad_event_fn fn, void *arg);

/* Shared by several fotad: nonces, the periodic lease, objects (store_pg_shared.c). */
fota_err_t pg_nonce_claim(void *ctx, const char *device, const char *nonce, int64_t now,
                          int64_t expires, bool *fresh);
fota_err_t pg_nonce_purge(void *ctx, int64_t now, uint64_t *removed);
fota_err_t pg_lease_take(void *ctx, const char *name, const char *holder, int64_t now,
                         uint32_t ttl_s, bool *held);
fota_err_t pg_object_put(void *ctx, const char *hex, const uint8_t *data, size_t len);
fota_err_t pg_object_fetch(void *ctx, const char *hex, uint8_t **data, size_t *len);

/* Admin tokens and the audit log (store_pg_tokens.c). */
fota_err_t pg_token_insert(void *ctx, const fotad_token_rec_t *t);
fota_err_t pg_token_get(void *ctx, const char *id, fotad_token_rec_t *out);
fota_err_t pg_token_list(void *ctx, fotad_token_fn fn, void *arg);
fota_err_t pg_token_revoke(void *ctx, const char *id, int64_t now, bool *changed);
fota_err_t pg_audit_insert(void *ctx, const fotad_audit_rec_t *a);
fota_err_t pg_audit_list(void *ctx, const fotad_audit_query_t *q, fotad_audit_fn fn, void *arg);
/* A device row (DEV_COLS of store_pg_sql.c, row 0 of res) into a fotad_device_rec_t. */
void pg_fill_device(const PGresult *res, void *out);

/* The fleet at a glance (store_pg_fleet.c). */
fota_err_t pg_device_page(void *ctx, const fotad_device_filter_t *f, uint64_t *total,
                          fotad_device_fn fn, void *arg);
fota_err_t pg_device_groups(void *ctx, int64_t online_since, fotad_device_group_fn fn, void *arg);
fota_err_t pg_report_outcomes(void *ctx, int64_t since, uint32_t bucket_s, fotad_outcome_fn fn,
                              void *arg);
fota_err_t pg_device_errors(void *ctx, uint32_t limit, fotad_device_fn fn, void *arg);

/* The operations table (store_pg_ops.c). */
extern const fotad_store_ops_t pg_ops;

#endif /* FOTAD_STORE_PG_INT_H */
