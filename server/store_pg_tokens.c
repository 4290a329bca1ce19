/*
 * store_pg_tokens.c - the PostgreSQL backend's admin tokens and audit log (store.h), the same
 * operations as store_sqlite_tokens.c: a token row holds the SHA-256 of the token, never the
 * token; audit rows are numbered by an identity column, which orders the log. Every fotad of a
 * cluster reads a token's row at each request, so a revocation by one is seen by all at once.
 */
#include <string.h>

#include "store_pg_int.h"
#include "store_visit.h"

static void fill_token(const PGresult *res, void *out)
{
    fotad_token_rec_t *t = out;
    memset(t, 0, sizeof *t);
    pg_col_text(res, 0, 0, t->id, sizeof t->id);
    pg_col_text(res, 0, 1, t->name, sizeof t->name);
    pg_col_text(res, 0, 2, t->role, sizeof t->role);
    pg_col_bytes(res, 0, 3, t->sha256, sizeof t->sha256);
    t->created = pg_col_int(res, 0, 4);
    pg_col_text(res, 0, 5, t->created_by, sizeof t->created_by);
    t->revoked = pg_col_int(res, 0, 6);
}

static void fill_audit(const PGresult *res, void *out)
{
    fotad_audit_rec_t *a = out;
    memset(a, 0, sizeof *a);
    a->seq = pg_col_int(res, 0, 0);
    a->time = pg_col_int(res, 0, 1);
    pg_col_text(res, 0, 2, a->token, sizeof a->token);
    pg_col_text(res, 0, 3, a->role, sizeof a->role);
    pg_col_text(res, 0, 4, a->action, sizeof a->action);
    pg_col_text(res, 0, 5, a->target, sizeof a->target);
    pg_col_text(res, 0, 6, a->client, sizeof a->client);
    a->status = (uint32_t)pg_col_int(res, 0, 7);
}

fota_err_t pg_token_insert(void *ctx, const fotad_token_rec_t *t)
{
    pg_params_t p = {0};
    pg_param_text(&p, t->id);
    pg_param_text(&p, t->name);
    pg_param_text(&p, t->role);
    pg_param_bytes(&p, t->sha256, sizeof t->sha256);
    pg_param_int(&p, t->created);
    pg_param_text(&p, t->created_by);
    pg_param_int(&p, t->revoked);
    uint64_t n = 0;
    fota_err_t err = pg_run_cmd(ctx, PG_TOKEN_INSERT, &p, "insert token", &n);
    return err == FOTA_OK && n == 0 ? FOTA_ERR_STATE : err;
}

STORE_VISITOR(token, fotad_token_rec_t, fotad_token_fn)

fota_err_t pg_token_get(void *ctx, const char *id, fotad_token_rec_t *out)
{
    pg_params_t p = {0};
    pg_param_text(&p, id);
    return pg_get_one(ctx, PG_TOKEN_GET, &p, fill_token, out);
}

fota_err_t pg_token_list(void *ctx, fotad_token_fn fn, void *arg)
{
    pg_params_t p = {0};
    token_visit_t v = {.fn = fn, .arg = arg};
    pg_walk_t w = {fill_token, token_emit, &v};
    return pg_get_all(ctx, PG_TOKEN_LIST, &p, &w);
}

fota_err_t pg_token_revoke(void *ctx, const char *id, int64_t now, bool *changed)
{
    pg_params_t p = {0};
    pg_param_text(&p, id);
    pg_param_int(&p, now);
    uint64_t n = 0;
    fota_err_t err = pg_run_cmd(ctx, PG_TOKEN_REVOKE, &p, "revoke token", &n);
    *changed = n > 0;
    if (err == FOTA_OK && n == 0) {
        fotad_token_rec_t t;
        err = pg_token_get(ctx, id, &t); /* FOTA_ERR_NOT_FOUND, or revoked before */
    }
    return err;
}

fota_err_t pg_audit_insert(void *ctx, const fotad_audit_rec_t *a)
{
    pg_params_t p = {0};
    pg_param_int(&p, a->time);
    pg_param_text(&p, a->token);
    pg_param_text(&p, a->role);
    pg_param_text(&p, a->action);
    pg_param_text(&p, a->target);
    pg_param_text(&p, a->client);
    pg_param_int(&p, a->status);
    return pg_run_cmd(ctx, PG_AUDIT_INSERT, &p, "insert audit row", NULL);
}

STORE_VISITOR(audit, fotad_audit_rec_t, fotad_audit_fn)

fota_err_t pg_audit_list(void *ctx, const fotad_audit_query_t *q, fotad_audit_fn fn, void *arg)
{
    pg_params_t p = {0};
    pg_param_int(&p, q->before > 0 ? q->before : INT64_MAX);
    pg_param_int(&p, q->after);
    pg_param_text(&p, q->token != NULL ? q->token : "");
    pg_param_text(&p, q->action != NULL ? q->action : "");
    pg_param_int(&p, q->since);
    pg_param_int(&p, q->limit);
    audit_visit_t v = {.fn = fn, .arg = arg};
    pg_walk_t w = {fill_audit, audit_emit, &v};
    return pg_get_all(ctx, q->after > 0 ? PG_AUDIT_LIST_OLDEST : PG_AUDIT_LIST_NEWEST, &p, &w);
}
