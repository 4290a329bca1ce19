/*
 * store_sqlite_tokens.c - the SQLite backend's admin tokens and audit log (store.h): a token row
 * holds the SHA-256 of the token, never the token; audit rows are numbered by the table's
 * AUTOINCREMENT key, so a row's seq is never reused and orders the log.
 */
#include <string.h>

#include "store_sqlite_int.h"

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC);
}

static void row_token(sqlite3_stmt *st, fotad_token_rec_t *t)
{
    memset(t, 0, sizeof *t);
    sq_col_text(st, 0, t->id, sizeof t->id);
    sq_col_text(st, 1, t->name, sizeof t->name);
    sq_col_text(st, 2, t->role, sizeof t->role);
    const void *h = sqlite3_column_blob(st, 3);
    if (h != NULL && sqlite3_column_bytes(st, 3) == (int)sizeof t->sha256) {
        memcpy(t->sha256, h, sizeof t->sha256);
    }
    t->created = sqlite3_column_int64(st, 4);
    sq_col_text(st, 5, t->created_by, sizeof t->created_by);
    t->revoked = sqlite3_column_int64(st, 6);
}

static void row_audit(sqlite3_stmt *st, fotad_audit_rec_t *a)
{
    memset(a, 0, sizeof *a);
    a->seq = sqlite3_column_int64(st, 0);
    a->time = sqlite3_column_int64(st, 1);
    sq_col_text(st, 2, a->token, sizeof a->token);
    sq_col_text(st, 3, a->role, sizeof a->role);
    sq_col_text(st, 4, a->action, sizeof a->action);
    sq_col_text(st, 5, a->target, sizeof a->target);
    sq_col_text(st, 6, a->client, sizeof a->client);
    a->status = (uint32_t)sqlite3_column_int64(st, 7);
}

/* A statement on the writer, run to its end; *changed (when not NULL) the rows it changed. */
static fota_err_t write_stmt(sq_store_t *s, sqlite3_stmt *(*bind)(sq_conn_t *, const void *),
                             const void *arg, const char *what, int *changed)
{
    sq_conn_t *c = sq_writer_get(s);
    sqlite3_stmt *st = bind(c, arg);
    fota_err_t err = st != NULL ? sq_step_done(c, st, what) : FOTA_ERR_IO;
    if (changed != NULL) {
        *changed = err == FOTA_OK ? sqlite3_changes(c->db) : 0;
    }
    sq_writer_put(s);
    return err;
}

static sqlite3_stmt *bind_token(sq_conn_t *c, const void *arg)
{
    const fotad_token_rec_t *t = arg;
    sqlite3_stmt *st = sq_stmt(c, SQ_TOKEN_INSERT);
    if (st != NULL) {
        bind_text(st, 1, t->id);
        bind_text(st, 2, t->name);
        bind_text(st, 3, t->role);
        sqlite3_bind_blob(st, 4, t->sha256, sizeof t->sha256, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, t->created);
        bind_text(st, 6, t->created_by);
        sqlite3_bind_int64(st, 7, t->revoked);
    }
    return st;
}

fota_err_t sq_token_insert(void *ctx, const fotad_token_rec_t *t)
{
    int changed = 0;
    fota_err_t err = write_stmt(ctx, bind_token, t, "insert token", &changed);
    return err == FOTA_OK && changed == 0 ? FOTA_ERR_STATE : err;
}

typedef struct {
    const char *id;
    int64_t now;
} revoke_args_t;

static sqlite3_stmt *bind_revoke(sq_conn_t *c, const void *arg)
{
    const revoke_args_t *a = arg;
    sqlite3_stmt *st = sq_stmt(c, SQ_TOKEN_REVOKE);
    if (st != NULL) {
        bind_text(st, 1, a->id);
        sqlite3_bind_int64(st, 2, a->now);
    }
    return st;
}

fota_err_t sq_token_revoke(void *ctx, const char *id, int64_t now, bool *changed)
{
    revoke_args_t a = {id, now};
    int n = 0;
    fota_err_t err = write_stmt(ctx, bind_revoke, &a, "revoke token", &n);
    *changed = n > 0;
    if (err == FOTA_OK && n == 0) {
        fotad_token_rec_t t;
        err = sq_token_get(ctx, id, &t); /* FOTA_ERR_NOT_FOUND, or revoked before */
    }
    return err;
}

static sqlite3_stmt *bind_audit(sq_conn_t *c, const void *arg)
{
    const fotad_audit_rec_t *a = arg;
    sqlite3_stmt *st = sq_stmt(c, SQ_AUDIT_INSERT);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, a->time);
        bind_text(st, 2, a->token);
        bind_text(st, 3, a->role);
        bind_text(st, 4, a->action);
        bind_text(st, 5, a->target);
        bind_text(st, 6, a->client);
        sqlite3_bind_int64(st, 7, a->status);
    }
    return st;
}

fota_err_t sq_audit_insert(void *ctx, const fotad_audit_rec_t *a)
{
    return write_stmt(ctx, bind_audit, a, "insert audit row", NULL);
}

/* ---- reads ------------------------------------------------------------------------------ */

/* Each row of a prepared, bound reader statement: row_token or row_audit, then the caller's fn. */
typedef fota_err_t (*row_emit_fn)(sqlite3_stmt *st, void *arg);

static fota_err_t read_rows(sq_store_t *s, sq_conn_t *c, sqlite3_stmt *st, row_emit_fn emit,
                            void *arg)
{
    fota_err_t err = FOTA_OK;
    int rc = SQLITE_DONE;
    while (err == FOTA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        err = emit(st, arg);
    }
    if (err == FOTA_OK && rc != SQLITE_DONE) {
        err = sq_fail(c, "list");
    }
    sq_reset(st);
    sq_reader_put(s, c);
    return err;
}

/* A reader and its statement `id`; NULL (the reader given back) when it cannot be had. */
static sqlite3_stmt *reader_stmt(sq_store_t *s, sq_stmt_id_t id, sq_conn_t **c)
{
    *c = sq_reader_get(s);
    sqlite3_stmt *st = *c != NULL ? sq_stmt(*c, id) : NULL;
    if (st == NULL && *c != NULL) {
        sq_reader_put(s, *c);
    }
    return st;
}

typedef struct {
    fotad_token_rec_t *one; /* token_get: the row, else the list's fn */
    fotad_token_fn fn;
    void *arg;
} token_emit_t;

static fota_err_t token_emit(sqlite3_stmt *st, void *arg)
{
    token_emit_t *e = arg;
    fotad_token_rec_t t;
    row_token(st, e->one != NULL ? e->one : &t);
    return e->one != NULL ? FOTA_OK : e->fn(e->arg, &t);
}

fota_err_t sq_token_get(void *ctx, const char *id, fotad_token_rec_t *out)
{
    sq_conn_t *c = NULL;
    sqlite3_stmt *st = reader_stmt(ctx, SQ_TOKEN_GET, &c);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    bind_text(st, 1, id);
    out->id[0] = '\0';
    token_emit_t e = {.one = out};
    fota_err_t err = read_rows(ctx, c, st, token_emit, &e);
    return err == FOTA_OK && out->id[0] == '\0' ? FOTA_ERR_NOT_FOUND : err;
}

fota_err_t sq_token_list(void *ctx, fotad_token_fn fn, void *arg)
{
    sq_conn_t *c = NULL;
    sqlite3_stmt *st = reader_stmt(ctx, SQ_TOKEN_LIST, &c);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    token_emit_t e = {.fn = fn, .arg = arg};
    return read_rows(ctx, c, st, token_emit, &e);
}

typedef struct {
    fotad_audit_fn fn;
    void *arg;
} audit_emit_t;

static fota_err_t audit_emit(sqlite3_stmt *st, void *arg)
{
    audit_emit_t *e = arg;
    fotad_audit_rec_t a;
    row_audit(st, &a);
    return e->fn(e->arg, &a);
}

fota_err_t sq_audit_list(void *ctx, const fotad_audit_query_t *q, fotad_audit_fn fn, void *arg)
{
    sq_conn_t *c = NULL;
    sqlite3_stmt *st =
        reader_stmt(ctx, q->after > 0 ? SQ_AUDIT_LIST_OLDEST : SQ_AUDIT_LIST_NEWEST, &c);
    if (st == NULL) {
        return FOTA_ERR_IO;
    }
    sqlite3_bind_int64(st, 1, q->before > 0 ? q->before : INT64_MAX);
    sqlite3_bind_int64(st, 2, q->after);
    bind_text(st, 3, q->token);
    bind_text(st, 4, q->action);
    sqlite3_bind_int64(st, 5, q->since);
    sqlite3_bind_int64(st, 6, q->limit);
    audit_emit_t e = {fn, arg};
    return read_rows(ctx, c, st, audit_emit, &e);
}
