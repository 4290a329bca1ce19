/*
 * store_sqlite_int.h - internals shared by store_sqlite.c (connections, schema, statement cache)
 * and store_sqlite_ops.c (the operations of store.h in SQL). Not a public header.
 *
 * Concurrency: libmicrohttpd calls the handlers from a pool of threads. SQLite in WAL mode runs
 * any number of readers beside one writer, but a second writer gets SQLITE_BUSY and would have
 * to sleep and retry. So fotad keeps
 *   - one writer connection behind a mutex: writes queue on the mutex (fair, no busy loops, no
 *     retries), and a write is short (one small transaction);
 *   - a pool of reader connections, one taken per call and put back after: readers never wait
 *     for the writer or for each other, and a long listing does not stall device writes. The
 *     pool grows to the number of threads that read at the same time and no further.
 * Each connection prepares its statements once (lazily) and keeps them.
 */
#ifndef FOTAD_STORE_SQLITE_INT_H
#define FOTAD_STORE_SQLITE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <sqlite3.h>

#include "store.h"

typedef enum {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_REL_INSERT,
    SQ_REL_GET,
    SQ_REL_LIST,
    SQ_REL_SET_CHIP,
    SQ_DELTA_INSERT,
    SQ_DELTA_GET,
    SQ_DELTA_FIND,
    SQ_DELTA_LIST,
    SQ_PROD_INSERT,
    SQ_PROD_GET,
    SQ_PROD_LIST,
    SQ_DEV_TOUCH,
    SQ_DEV_CHECK,
    SQ_DEV_REPORT,
    SQ_DEV_GET,
    SQ_DEV_LIST,
    SQ_DEV_CENSUS,
    SQ_REPORT_INSERT,
    SQ_REPORT_LIST,
    SQ_ASSIGN_SET,
    SQ_ASSIGN_GET,
    SQ_ASSIGN_LIST,
    SQ_LEGACY_GET,
    SQ_LEGACY_SET,
    SQ_LEGACY_CLEAR,
    SQ_ENROLL_INSERT,
    SQ_ENROLL_GET,
    SQ_ENROLL_MOVE,
    SQ_ENROLL_MOVE_ALL,
    SQ_ENROLL_DELETE,
    SQ_ENROLL_LIST,
    SQ_ENROLL_LIST_STATE,
    SQ_ENROLL_COUNT,
    SQ_TAG_ADD,
    SQ_TAG_REMOVE,
    SQ_TAG_COUNT,
    SQ_DEV_LIST_TAGGED,
    SQ_RO_INSERT,
    SQ_RO_UPDATE,
    SQ_RO_GET,
    SQ_RO_LIST,
    SQ_STAGE_CLEAR,
    SQ_STAGE_INSERT,
    SQ_STAGE_LIST,
    SQ_MEMBER_PUT,
    SQ_MEMBER_GET,
    SQ_MEMBER_LIST,
    SQ_MEMBER_COUNTS,
    SQ_MEMBER_STARTS,
    SQ_MEMBER_TIME_OUT,
    SQ_EVENT_INSERT,
    SQ_EVENT_LIST,
    SQ_TOKEN_INSERT,
    SQ_TOKEN_GET,
    SQ_TOKEN_LIST,
    SQ_TOKEN_REVOKE,
    SQ_AUDIT_INSERT,
    SQ_AUDIT_LIST_NEWEST,
    SQ_AUDIT_LIST_OLDEST,
    SQ_DEV_PAGE,
    SQ_DEV_PAGE_COUNT,
    SQ_DEV_GROUPS,
    SQ_OUTCOMES,
    SQ_DEV_ERRORS,
    SQ_STMT_COUNT
} sq_stmt_id_t;

/* The SQL of each statement (store_sqlite_ops.c). */
extern const char *const sq_sql[SQ_STMT_COUNT];

typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[SQ_STMT_COUNT];
    struct sq_conn *next; /* idle list */
} sq_conn_t;

typedef struct {
    char *path;
    fotad_sync_t sync;
    pthread_mutex_t write_lock;
    sq_conn_t *writer;
    pthread_mutex_t pool_lock;
    sq_conn_t *idle;
} sq_store_t;

/* The statement `id` of c, reset and ready to bind; NULL (logged) if it cannot be prepared. */
sqlite3_stmt *sq_stmt(sq_conn_t *c, sq_stmt_id_t id);

/* Reset a statement after use (bindings cleared), so it holds no read snapshot. */
void sq_reset(sqlite3_stmt *st);

/* A reader connection (NULL, logged, if none can be opened); give it back with sq_reader_put. */
sq_conn_t *sq_reader_get(sq_store_t *s);
void sq_reader_put(sq_store_t *s, sq_conn_t *c);

/* The writer connection, with the write lock held until sq_writer_put. */
sq_conn_t *sq_writer_get(sq_store_t *s);
void sq_writer_put(sq_store_t *s);

/* Log "store: what: <sqlite message>" and return FOTA_ERR_IO (FOTA_ERR_NO_MEM for SQLITE_NOMEM). */
fota_err_t sq_fail(sq_conn_t *c, const char *what);

/* Bind text s as parameter i of st, not copied (it must stay until the statement is reset); NULL
 * as SQL NULL, or with _or_empty as "" (a filter's or query's absent text). */
void sq_bind_text(sqlite3_stmt *st, int i, const char *s);
void sq_bind_text_or_empty(sqlite3_stmt *st, int i, const char *s);

/* Copy column i as text into out (cap bytes, cut if longer; "" for NULL). */
void sq_col_text(sqlite3_stmt *st, int i, char *out, size_t cap);

/* Reading rows (store_sqlite_ops.c): `row` fills a record from the current row. */
typedef void (*sq_row_fn)(sqlite3_stmt *st, void *rec);

/* A list walk: `row` fills the visitor's record, `emit` hands it to the caller's typed fn. */
typedef struct {
    sq_row_fn row;
    fota_err_t (*emit)(void *visitor);
    void *visitor; /* starts with the record */
} sq_walk_t;

/* A query by key (bound as text ?1, and ?2 when key2 is not NULL; ikey1 >= 0 binds ?1 as an
 * integer instead). */
typedef struct {
    sq_stmt_id_t id;
    int64_t ikey1;
    const char *key1;
    const char *key2;
} sq_query_t;

/* Binds the parameters of a statement from arg. */
typedef void (*sq_bind_fn)(sqlite3_stmt *st, const void *arg);

/* One row into rec on a reader, or FOTA_ERR_NOT_FOUND. */
fota_err_t sq_get_one(sq_store_t *s, const sq_query_t *q, sq_row_fn row, void *rec);

/* The same for statement `id`, bound by `bind` from arg (a query whose parameters are more than
 * sq_query_t's keys). */
fota_err_t sq_read_one(sq_store_t *s, sq_stmt_id_t id, sq_bind_fn bind, const void *arg,
                       sq_row_fn row, void *rec);

/* A row of one number (a count) into the uint64_t at out. */
void sq_row_count(sqlite3_stmt *st, void *out);

/* Every row of a query through the walk on a reader; a limit (?2) when limit > 0. */
fota_err_t sq_get_all(sq_store_t *s, const sq_query_t *q, int64_t limit, const sq_walk_t *w);

/* Every row of statement `id`, bound by `bind` from arg, through the walk on a reader (a listing
 * whose parameters are more than sq_query_t's keys). */
fota_err_t sq_read_all(sq_store_t *s, sq_stmt_id_t id, sq_bind_fn bind, const void *arg,
                       const sq_walk_t *w);

/* Run one statement on the writer c (held), `bind` binding its parameters from arg. */
fota_err_t sq_write_one(sq_conn_t *c, sq_stmt_id_t id, sq_bind_fn bind, const void *arg,
                        const char *what);

/* The same on the writer, taken and given back; *changed (when not NULL) the rows it changed. */
fota_err_t sq_write(sq_store_t *s, sq_stmt_id_t id, sq_bind_fn bind, const void *arg,
                    const char *what, uint64_t *changed);

/* Deltas (store_sqlite_deltas.c). */
fota_err_t sq_delta_insert(void *ctx, const fotad_delta_rec_t *d, bool *inserted);
fota_err_t sq_delta_get(void *ctx, const char *id, fotad_delta_rec_t *out);
fota_err_t sq_delta_find(void *ctx, const char *release, const char *source_sha256,
                         fotad_delta_rec_t *out);
fota_err_t sq_delta_list(void *ctx, const char *release, fotad_delta_fn fn, void *arg);

/* Close every connection and free the store (store_sqlite.c). */
void sq_close(void *ctx);

/* Run a statement of no result to its end and reset it. */
fota_err_t sq_step_done(sq_conn_t *c, sqlite3_stmt *st, const char *what);

/* BEGIN IMMEDIATE / COMMIT on the writer; sq_txn_end commits when err is FOTA_OK, else rolls
 * back, and returns the outcome. */
fota_err_t sq_txn_begin(sq_conn_t *c);
fota_err_t sq_txn_end(sq_conn_t *c, fota_err_t err);

/* Tags and rollouts (store_sqlite_rollouts.c). */
fota_err_t sq_device_tags_change(void *ctx, const char *const *ids, size_t n_ids,
                                 const char *const *add, size_t n_add, const char *const *remove,
                                 size_t n_remove);
fota_err_t sq_rollout_insert(void *ctx, fotad_rollout_rec_t *r, const char *const *devices,
                             size_t n_devices, fotad_event_rec_t *ev);
fota_err_t sq_rollout_get(void *ctx, int64_t id, fotad_rollout_rec_t *out);
fota_err_t sq_rollout_list(void *ctx, fotad_rollout_fn fn, void *arg);
fota_err_t sq_rollout_update(void *ctx, const fotad_rollout_rec_t *r,
                             const fotad_member_rec_t *members, size_t n_members,
                             const fotad_event_rec_t *ev);
fota_err_t sq_member_get(void *ctx, int64_t rollout, const char *device, fotad_member_rec_t *out);
fota_err_t sq_member_put(void *ctx, const fotad_member_rec_t *m, const fotad_event_rec_t *ev);
fota_err_t sq_member_list(void *ctx, int64_t rollout, fotad_member_fn fn, void *arg);
fota_err_t sq_member_counts(void *ctx, int64_t rollout, fotad_member_counts_t *out);
fota_err_t sq_member_start(void *ctx, const fotad_member_rec_t *m, int64_t since, uint32_t limit,
                           bool *admitted, int64_t *earliest);
fota_err_t sq_member_time_out(void *ctx, int64_t rollout, int64_t before, uint32_t *n);
fota_err_t sq_event_list(void *ctx, int64_t rollout, fotad_event_fn fn, void *arg);

/* Admin tokens and the audit log (store_sqlite_tokens.c). */
fota_err_t sq_token_insert(void *ctx, const fotad_token_rec_t *t);
fota_err_t sq_token_get(void *ctx, const char *id, fotad_token_rec_t *out);
fota_err_t sq_token_list(void *ctx, fotad_token_fn fn, void *arg);
fota_err_t sq_token_revoke(void *ctx, const char *id, int64_t now, bool *changed);
fota_err_t sq_audit_insert(void *ctx, const fotad_audit_rec_t *a);
fota_err_t sq_audit_list(void *ctx, const fotad_audit_query_t *q, fotad_audit_fn fn, void *arg);
/* A device row (DEV_COLS of store_sqlite_ops.c) into a fotad_device_rec_t. */
void sq_row_device(sqlite3_stmt *st, void *out);

/* The fleet at a glance (store_sqlite_fleet.c). */
fota_err_t sq_device_page(void *ctx, const fotad_device_filter_t *f, uint64_t *total,
                          fotad_device_fn fn, void *arg);
fota_err_t sq_device_groups(void *ctx, int64_t online_since, fotad_device_group_fn fn, void *arg);
fota_err_t sq_report_outcomes(void *ctx, int64_t since, uint32_t bucket_s, fotad_outcome_fn fn,
                              void *arg);
fota_err_t sq_device_errors(void *ctx, uint32_t limit, fotad_device_fn fn, void *arg);

/* The operations table (store_sqlite_ops.c). */
extern const fotad_store_ops_t sq_ops;

#endif /* FOTAD_STORE_SQLITE_INT_H */
