/*
 * store_sqlite_tokens.c - the SQLite backend's admin tokens and audit log (store.h): a token row
 * holds the SHA-256 of the token, never the token; audit rows are numbered by the table's
 * AUTOINCREMENT key, so a row's seq is never reused and orders the log.
 */
#include <string.h>

#include "store_sqlite_int.h"
#include "store_visit.h"

static void row_token(sqlite3_stmt *st, void *out)
{
    fotad_token_rec_t *t = out;
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

static void row_audit(sqlite3_stmt *st, void *out)
{
    fotad_audit_rec_t *a = out;
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

static void bind_token(sqlite3_stmt *st, const void *arg)
{
    const fotad_token_rec_t *t = arg;
    sq_bind_text_or_empty(st, 1, t->id);
    sq_bind_text_or_empty(st, 2, t->name);
    sq_bind_text_or_empty(st, 3, t->role);
    sqlite3_bind_blob(st, 4, t->sha256, sizeof t->sha256, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, t->created);
    sq_bind_text_or_empty(st, 6, t->created_by);
    sqlite3_bind_int64(st, 7, t->revoked);
}

fota_err_t sq_token_insert(void *ctx, const fotad_token_rec_t *t)
{
    uint64_t changed = 0;
    fota_err_t err = sq_write(ctx, SQ_TOKEN_INSERT, bind_token, t, "insert token", &changed);
    return err == FOTA_OK && changed == 0 ? FOTA_ERR_STATE : err;
}

typedef struct {
    const char *id;
    int64_t now;
} revoke_args_t;

static void bind_revoke(sqlite3_stmt *st, const void *arg)
{
    const revoke_args_t *a = arg;
    sq_bind_text_or_empty(st, 1, a->id);
    sqlite3_bind_int64(st, 2, a->now);
}

fota_err_t sq_token_revoke(void *ctx, const char *id, int64_t now, bool *changed)
{
    revoke_args_t a = {id, now};
    uint64_t n = 0;
    fota_err_t err = sq_write(ctx, SQ_TOKEN_REVOKE, bind_revoke, &a, "revoke token", &n);
    *changed = n > 0;
    if (err == FOTA_OK && n == 0) {
        fotad_token_rec_t t;
        err = sq_token_get(ctx, id, &t); /* FOTA_ERR_NOT_FOUND, or revoked before */
    }
    return err;
}

static void bind_audit(sqlite3_stmt *st, const void *arg)
{
    const fotad_audit_rec_t *a = arg;
    sqlite3_bind_int64(st, 1, a->time);
    sq_bind_text_or_empty(st, 2, a->token);
    sq_bind_text_or_empty(st, 3, a->role);
    sq_bind_text_or_empty(st, 4, a->action);
    sq_bind_text_or_empty(st, 5, a->target);
    sq_bind_text_or_empty(st, 6, a->client);
    sqlite3_bind_int64(st, 7, a->status);
}

fota_err_t sq_audit_insert(void *ctx, const fotad_audit_rec_t *a)
{
    return sq_write(ctx, SQ_AUDIT_INSERT, bind_audit, a, "insert audit row", NULL);
}

/* ---- reads ------------------------------------------------------------------------------ */

STORE_VISITOR(token, fotad_token_rec_t, fotad_token_fn)

fota_err_t sq_token_get(void *ctx, const char *id, fotad_token_rec_t *out)
{
    sq_query_t q = {SQ_TOKEN_GET, -1, id, NULL};
    return sq_get_one(ctx, &q, row_token, out);
}

fota_err_t sq_token_list(void *ctx, fotad_token_fn fn, void *arg)
{
    token_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_token, token_emit, &v};
    sq_query_t q = {SQ_TOKEN_LIST, -1, NULL, NULL};
    return sq_get_all(ctx, &q, 0, &w);
}

STORE_VISITOR(audit, fotad_audit_rec_t, fotad_audit_fn)

static void bind_audit_query(sqlite3_stmt *st, const void *arg)
{
    const fotad_audit_query_t *q = arg;
    sqlite3_bind_int64(st, 1, q->before > 0 ? q->before : INT64_MAX);
    sqlite3_bind_int64(st, 2, q->after);
    sq_bind_text_or_empty(st, 3, q->token);
    sq_bind_text_or_empty(st, 4, q->action);
    sqlite3_bind_int64(st, 5, q->since);
    sqlite3_bind_int64(st, 6, q->limit);
}

fota_err_t sq_audit_list(void *ctx, const fotad_audit_query_t *q, fotad_audit_fn fn, void *arg)
{
    audit_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_audit, audit_emit, &v};
    return sq_read_all(ctx, q->after > 0 ? SQ_AUDIT_LIST_OLDEST : SQ_AUDIT_LIST_NEWEST,
                       bind_audit_query, q, &w);
}
