/*
 * store_pg_deltas.c - the delta operations of store.h on PostgreSQL (schema version 3,
 * store_pg_schema.c), over the statements of store_pg_sql.c: a release's patches from source
 * images, each row written once (ON CONFLICT DO NOTHING: a second upload of the same manifest,
 * from this fotad or another, changes nothing) and found by id, or by release and source image
 * for a device's check.
 */
#include <string.h>

#include "store_pg_int.h"
#include "store_visit.h"

static void fill_delta(const PGresult *res, void *out)
{
    fotad_delta_rec_t *d = out;
    memset(d, 0, sizeof *d);
    pg_col_text(res, 0, 0, d->id, sizeof d->id);
    pg_col_text(res, 0, 1, d->release, sizeof d->release);
    pg_col_text(res, 0, 2, d->source_sha256, sizeof d->source_sha256);
    d->source_size = (uint32_t)pg_col_int(res, 0, 3);
    d->patch_size = (uint32_t)pg_col_int(res, 0, 4);
    d->chunk_size = (uint32_t)pg_col_int(res, 0, 5);
    d->chunk_count = (uint32_t)pg_col_int(res, 0, 6);
    d->blob_size = (uint32_t)pg_col_int(res, 0, 7);
    pg_col_text(res, 0, 8, d->blob_sha256, sizeof d->blob_sha256);
    d->created = pg_col_int(res, 0, 9);
    d->uploaded = pg_col_int(res, 0, 10);
    pg_col_bytes(res, 0, 11, d->manifest, FOTA_DELTA_MANIFEST_LEN);
}

STORE_VISITOR(delta, fotad_delta_rec_t, fotad_delta_fn)

fota_err_t pg_delta_insert(void *ctx, const fotad_delta_rec_t *d, bool *inserted)
{
    pg_params_t p = {0};
    pg_param_text(&p, d->id);
    pg_param_text(&p, d->release);
    pg_param_text(&p, d->source_sha256);
    pg_param_int(&p, d->source_size);
    pg_param_int(&p, d->patch_size);
    pg_param_int(&p, d->chunk_size);
    pg_param_int(&p, d->chunk_count);
    pg_param_int(&p, d->blob_size);
    pg_param_text(&p, d->blob_sha256);
    pg_param_int(&p, d->created);
    pg_param_int(&p, d->uploaded);
    pg_param_bytes(&p, d->manifest, FOTA_DELTA_MANIFEST_LEN);
    uint64_t n = 0;
    fota_err_t err = pg_run_cmd(ctx, PG_DELTA_INSERT, &p, "insert delta", &n);
    *inserted = err == FOTA_OK && n > 0;
    return err;
}

fota_err_t pg_delta_get(void *ctx, const char *id, fotad_delta_rec_t *out)
{
    pg_params_t p = {0};
    pg_param_text(&p, id);
    return pg_get_one(ctx, PG_DELTA_GET, &p, fill_delta, out);
}

fota_err_t pg_delta_find(void *ctx, const char *release, const char *source_sha256,
                         fotad_delta_rec_t *out)
{
    pg_params_t p = {0};
    pg_param_text(&p, release);
    pg_param_text(&p, source_sha256);
    return pg_get_one(ctx, PG_DELTA_FIND, &p, fill_delta, out);
}

fota_err_t pg_delta_list(void *ctx, const char *release, fotad_delta_fn fn, void *arg)
{
    delta_visit_t v = {.fn = fn, .arg = arg};
    pg_walk_t w = {fill_delta, delta_emit, &v};
    pg_params_t p = {0};
    pg_param_text(&p, release);
    return pg_get_all(ctx, PG_DELTA_LIST, &p, &w);
}
