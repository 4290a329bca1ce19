/*
 * test_fotad_deltas.c - the delta operations of fotad's store (server/store.h: delta_insert,
 * delta_get, delta_find, delta_list) through the interface only, on both backends: ctest runs it
 * on SQLite and a second time on PostgreSQL under tests/support/with-postgres. A delta is stored
 * once (a second insert of its id changes nothing), comes back field for field with its 320-byte
 * manifest, is found by its release and source image (the newest upload when several match, none
 * for another source or release), listed per release newest first, kept across a reopen, and
 * refused when its release is unknown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "store.h"
#include "store_backend.h"

typedef struct {
    test_store_t db;
    fotad_store_t st;
} fixture_t;

#define RA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define RB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define D1 "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"
#define D2 "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2"
#define D3 "d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3"

static fotad_release_rec_t release(const char *id)
{
    fotad_release_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.product, sizeof r.product, "inv-5k");
    snprintf(r.version, sizeof r.version, "2.0.0");
    r.image_size = 2500;
    r.chunk_size = 1024;
    r.chunk_count = 3;
    r.blob_size = 2596;
    memset(r.image_sha256, 'a', 64);
    memset(r.blob_sha256, 'b', 64);
    r.uploaded = 100;
    r.chip_id = 0;
    return r;
}

static fotad_delta_rec_t delta(const char *id, const char *rel, char source, int64_t uploaded)
{
    fotad_delta_rec_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.id, sizeof d.id, "%s", id);
    snprintf(d.release, sizeof d.release, "%s", rel);
    memset(d.source_sha256, source, 64);
    d.source_size = 65536;
    d.patch_size = 3000 + (uint32_t)uploaded;
    d.chunk_size = 1024;
    d.chunk_count = 3;
    d.blob_size = d.patch_size + 96;
    memset(d.blob_sha256, 'c', 64);
    d.blob_sha256[0] = id[1];
    d.created = 1700000000;
    d.uploaded = uploaded;
    for (size_t i = 0; i < sizeof d.manifest; i++) {
        d.manifest[i] = (uint8_t)(i * 7 + (unsigned char)id[1]);
    }
    return d;
}

static int setup(void **state)
{
    static fixture_t f;
    test_store_fresh(&f.db, "test_fotad_deltas");
    assert_int_equal(test_store_open(&f.db, &f.st), FOTA_OK);
    bool inserted;
    fotad_release_rec_t a = release(RA), b = release(RB);
    assert_int_equal(f.st.ops->release_insert(f.st.ctx, &a, &inserted), FOTA_OK);
    assert_int_equal(f.st.ops->release_insert(f.st.ctx, &b, &inserted), FOTA_OK);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fotad_store_close(&f->st);
    test_store_remove(&f->db);
    return 0;
}

static void assert_same(const fotad_delta_rec_t *a, const fotad_delta_rec_t *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->release, b->release);
    assert_string_equal(a->source_sha256, b->source_sha256);
    assert_int_equal(a->source_size, b->source_size);
    assert_int_equal(a->patch_size, b->patch_size);
    assert_int_equal(a->chunk_size, b->chunk_size);
    assert_int_equal(a->chunk_count, b->chunk_count);
    assert_int_equal(a->blob_size, b->blob_size);
    assert_string_equal(a->blob_sha256, b->blob_sha256);
    assert_int_equal(a->created, b->created);
    assert_int_equal(a->uploaded, b->uploaded);
    assert_memory_equal(a->manifest, b->manifest, FOTA_DELTA_MANIFEST_LEN);
}

/* Stored once, read back whole, a second insert of the id changing nothing. */
static void test_insert_get(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    fotad_delta_rec_t d = delta(D1, RA, '1', 200), got;
    bool inserted = false;
    assert_int_equal(ops->delta_get(f->st.ctx, D1, &got), FOTA_ERR_NOT_FOUND);
    assert_int_equal(ops->delta_insert(f->st.ctx, &d, &inserted), FOTA_OK);
    assert_true(inserted);
    assert_int_equal(ops->delta_get(f->st.ctx, D1, &got), FOTA_OK);
    assert_same(&got, &d);
    fotad_delta_rec_t again = delta(D1, RA, '9', 300);
    assert_int_equal(ops->delta_insert(f->st.ctx, &again, &inserted), FOTA_OK);
    assert_false(inserted);
    assert_int_equal(ops->delta_get(f->st.ctx, D1, &got), FOTA_OK);
    assert_same(&got, &d);
}

/* Found by release and source: the newest upload of several, nothing for another pair. */
static void test_find(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    fotad_delta_rec_t d1 = delta(D1, RA, '1', 200), d2 = delta(D2, RA, '1', 300);
    fotad_delta_rec_t d3 = delta(D3, RB, '3', 250), got;
    bool inserted;
    assert_int_equal(ops->delta_insert(f->st.ctx, &d1, &inserted), FOTA_OK);
    assert_int_equal(ops->delta_insert(f->st.ctx, &d2, &inserted), FOTA_OK);
    assert_int_equal(ops->delta_insert(f->st.ctx, &d3, &inserted), FOTA_OK);
    assert_int_equal(ops->delta_find(f->st.ctx, RA, d1.source_sha256, &got), FOTA_OK);
    assert_same(&got, &d2);
    assert_int_equal(ops->delta_find(f->st.ctx, RB, d3.source_sha256, &got), FOTA_OK);
    assert_same(&got, &d3);
    assert_int_equal(ops->delta_find(f->st.ctx, RA, d3.source_sha256, &got), FOTA_ERR_NOT_FOUND);
    assert_int_equal(ops->delta_find(f->st.ctx, RB, d1.source_sha256, &got), FOTA_ERR_NOT_FOUND);
}

typedef struct {
    char seen[8][40];
    int n;
} list_t;

static fota_err_t list_delta(void *arg, const fotad_delta_rec_t *d)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], sizeof l->seen[0], "%s", d->id);
    return FOTA_OK;
}

static fota_err_t stop_at_first(void *arg, const fotad_delta_rec_t *d)
{
    list_delta(arg, d);
    return FOTA_ERR_STATE;
}

/* A release's deltas, newest upload first, none of another release's; kept across a reopen. */
static void test_list_and_reopen(void **state)
{
    fixture_t *f = *state;
    fotad_delta_rec_t d1 = delta(D1, RA, '1', 200), d2 = delta(D2, RA, '2', 300);
    fotad_delta_rec_t d3 = delta(D3, RB, '3', 400);
    bool inserted;
    assert_int_equal(f->st.ops->delta_insert(f->st.ctx, &d1, &inserted), FOTA_OK);
    assert_int_equal(f->st.ops->delta_insert(f->st.ctx, &d2, &inserted), FOTA_OK);
    assert_int_equal(f->st.ops->delta_insert(f->st.ctx, &d3, &inserted), FOTA_OK);
    fotad_store_close(&f->st);
    assert_int_equal(test_store_open(&f->db, &f->st), FOTA_OK);
    list_t l = {0};
    assert_int_equal(f->st.ops->delta_list(f->st.ctx, RA, list_delta, &l), FOTA_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.seen[0], D2);
    assert_string_equal(l.seen[1], D1);
    list_t one = {0};
    assert_int_equal(f->st.ops->delta_list(f->st.ctx, RA, stop_at_first, &one), FOTA_ERR_STATE);
    assert_int_equal(one.n, 1);
    list_t none = {0};
    assert_int_equal(
        f->st.ops->delta_list(f->st.ctx, "cccccccccccccccccccccccccccccccc", list_delta, &none),
        FOTA_OK);
    assert_int_equal(none.n, 0);
    fotad_delta_rec_t got;
    assert_int_equal(f->st.ops->delta_get(f->st.ctx, D3, &got), FOTA_OK);
    assert_same(&got, &d3);
}

/* A delta of a release the store does not have is refused, and nothing is stored. */
static void test_unknown_release(void **state)
{
    fixture_t *f = *state;
    fotad_delta_rec_t d = delta(D1, "cccccccccccccccccccccccccccccccc", '1', 200), got;
    bool inserted = true;
    assert_int_not_equal(f->st.ops->delta_insert(f->st.ctx, &d, &inserted), FOTA_OK);
    assert_false(inserted);
    assert_int_equal(f->st.ops->delta_get(f->st.ctx, D1, &got), FOTA_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_release, setup, teardown),
    };
    return cmocka_run_group_tests_name(test_store_is_pg() ? "deltas, PostgreSQL" : "deltas, SQLite",
                                       tests, NULL, NULL);
}
