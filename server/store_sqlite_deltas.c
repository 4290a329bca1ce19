/*
 * store_sqlite_deltas.c - the delta operations of store.h in SQL (schema version 5,
 * store_sqlite.c): a release's patches from source images, each row written once (INSERT OR
 * IGNORE: a second upload of the same manifest changes nothing) and found by id, or by release
 * and source image for a device's check. The statements are in store_sqlite_ops.c's table.
 */
#include <string.h>

#include "store_sqlite_int.h"
#include "store_visit.h"

static void row_delta(sqlite3_stmt *st, void *out)
{
    fotad_delta_rec_t *d = out;
    memset(d, 0, sizeof *d);
    sq_col_text(st, 0, d->id, sizeof d->id);
    sq_col_text(st, 1, d->release, sizeof d->release);
    sq_col_text(st, 2, d->source_sha256, sizeof d->source_sha256);
    d->source_size = (uint32_t)sqlite3_column_int64(st, 3);
    d->patch_size = (uint32_t)sqlite3_column_int64(st, 4);
    d->chunk_size = (uint32_t)sqlite3_column_int64(st, 5);
    d->chunk_count = (uint32_t)sqlite3_column_int64(st, 6);
    d->blob_size = (uint32_t)sqlite3_column_int64(st, 7);
    sq_col_text(st, 8, d->blob_sha256, sizeof d->blob_sha256);
    d->created = sqlite3_column_int64(st, 9);
    d->uploaded = sqlite3_column_int64(st, 10);
    const void *m = sqlite3_column_blob(st, 11);
    if (m != NULL && sqlite3_column_bytes(st, 11) == (int)FOTA_DELTA_MANIFEST_LEN) {
        memcpy(d->manifest, m, FOTA_DELTA_MANIFEST_LEN);
    }
}

STORE_VISITOR(delta, fotad_delta_rec_t, fotad_delta_fn)

static void bind_delta(sqlite3_stmt *st, const void *arg)
{
    const fotad_delta_rec_t *d = arg;
    sq_bind_text(st, 1, d->id);
    sq_bind_text(st, 2, d->release);
    sq_bind_text(st, 3, d->source_sha256);
    sqlite3_bind_int64(st, 4, d->source_size);
    sqlite3_bind_int64(st, 5, d->patch_size);
    sqlite3_bind_int64(st, 6, d->chunk_size);
    sqlite3_bind_int64(st, 7, d->chunk_count);
    sqlite3_bind_int64(st, 8, d->blob_size);
    sq_bind_text(st, 9, d->blob_sha256);
    sqlite3_bind_int64(st, 10, d->created);
    sqlite3_bind_int64(st, 11, d->uploaded);
    sqlite3_bind_blob(st, 12, d->manifest, (int)FOTA_DELTA_MANIFEST_LEN, SQLITE_STATIC);
}

fota_err_t sq_delta_insert(void *ctx, const fotad_delta_rec_t *d, bool *inserted)
{
    uint64_t n = 0;
    fota_err_t err = sq_write(ctx, SQ_DELTA_INSERT, bind_delta, d, "insert delta", &n);
    *inserted = n > 0;
    return err;
}

fota_err_t sq_delta_get(void *ctx, const char *id, fotad_delta_rec_t *out)
{
    sq_query_t q = {SQ_DELTA_GET, -1, id, NULL};
    return sq_get_one(ctx, &q, row_delta, out);
}

fota_err_t sq_delta_find(void *ctx, const char *release, const char *source_sha256,
                         fotad_delta_rec_t *out)
{
    sq_query_t q = {SQ_DELTA_FIND, -1, release, source_sha256};
    return sq_get_one(ctx, &q, row_delta, out);
}

fota_err_t sq_delta_list(void *ctx, const char *release, fotad_delta_fn fn, void *arg)
{
    delta_visit_t v = {.fn = fn, .arg = arg};
    sq_walk_t w = {row_delta, delta_emit, &v};
    sq_query_t q = {SQ_DELTA_LIST, -1, release, NULL};
    return sq_get_all(ctx, &q, 0, &w);
}
