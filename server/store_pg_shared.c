/*
 * store_pg_shared.c - what several fotad on one PostgreSQL database share besides the records
 * (store.h's shared operations, docs/SCALING.md): the (device, nonce) pairs of replay protection
 * with their expiry, the lease on the periodic work, and the release objects.
 *
 * Each is one statement, atomic on its own: a claim and a lease are an INSERT ... ON CONFLICT DO
 * UPDATE whose WHERE lets the update through only when the row may be taken (an expired pair; a
 * lease that is free, expired or the caller's), and RETURNING says whether it was.
 */
#include <string.h>

#include "store_pg_int.h"

/* Run statement id on a pooled connection; *rows (when not NULL) gets the rows it returned. */
static fota_err_t run(void *ctx, pg_stmt_id_t id, const pg_params_t *p, const char *what, int *rows,
                      uint64_t *changed)
{
    pg_store_t *s = ctx;
    pg_conn_t *c = pg_conn_get(s);
    if (c == NULL) {
        return FOTA_ERR_IO;
    }
    fota_err_t err;
    if (rows != NULL) {
        PGresult *res = NULL;
        err = pg_query(c, id, p, what, &res);
        *rows = err == FOTA_OK ? PQntuples(res) : 0;
        PQclear(res);
    } else {
        err = pg_cmd(c, id, p, what, changed);
    }
    pg_conn_put(s, c);
    return err;
}

fota_err_t pg_nonce_claim(void *ctx, const char *device, const char *nonce, int64_t now,
                          int64_t expires, bool *fresh)
{
    pg_params_t p = {0};
    pg_param_text(&p, device);
    pg_param_text(&p, nonce);
    pg_param_int(&p, expires);
    pg_param_int(&p, now);
    int rows = 0;
    fota_err_t err = run(ctx, PG_NONCE_CLAIM, &p, "claim a nonce", &rows, NULL);
    *fresh = rows == 1;
    return err;
}

fota_err_t pg_nonce_purge(void *ctx, int64_t now, uint64_t *removed)
{
    pg_params_t p = {0};
    pg_param_int(&p, now);
    return run(ctx, PG_NONCE_PURGE, &p, "purge nonces", NULL, removed);
}

fota_err_t pg_lease_take(void *ctx, const char *name, const char *holder, int64_t now,
                         uint32_t ttl_s, bool *held)
{
    pg_params_t p = {0};
    pg_param_text(&p, name);
    pg_param_text(&p, holder);
    pg_param_int(&p, now + (int64_t)ttl_s);
    pg_param_int(&p, now);
    int rows = 0;
    fota_err_t err = run(ctx, PG_LEASE_TAKE, &p, "take a lease", &rows, NULL);
    *held = rows == 1;
    return err;
}

fota_err_t pg_object_put(void *ctx, const char *hex, const uint8_t *data, size_t len)
{
    pg_params_t p = {0};
    pg_param_text(&p, hex);
    pg_param_bytes(&p, data, len);
    return run(ctx, PG_OBJ_PUT, &p, "store an object", NULL, NULL);
}

fota_err_t pg_object_fetch(void *ctx, const char *hex, uint8_t **data, size_t *len)
{
    pg_store_t *s = ctx;
    pg_conn_t *c = pg_conn_get(s);
    if (c == NULL) {
        return FOTA_ERR_IO;
    }
    pg_params_t p = {0};
    pg_param_text(&p, hex);
    PGresult *res = NULL;
    fota_err_t err = pg_query(c, PG_OBJ_GET, &p, "fetch an object", &res);
    if (err == FOTA_OK) {
        err = PQntuples(res) == 1 ? pg_col_bytes_copy(res, 0, 0, data, len) : FOTA_ERR_NOT_FOUND;
    }
    PQclear(res);
    pg_conn_put(s, c);
    return err;
}
