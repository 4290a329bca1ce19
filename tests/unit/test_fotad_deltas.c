/*
 * test_fotad_deltas.c - the delta operations of fotad's store (server/store.h: delta_insert,
 * delta_get, delta_find, delta_list) through the interface only, on both backends: ctest runs it
 * on SQLite and a second time on PostgreSQL under tests/support/with-postgres. A delta is stored
 * once (a second insert of its id changes nothing), comes back field for field with its 320-byte
 * manifest, is found by its release and source image (the newest upload when several match, none
 * for another source or release), listed per release newest first, kept across a reopen, and
 * refused when its release is unknown. And the delta service (server/deltas.c) over a real store,
 * object directory and key ring, with bundles made by host/bundle.c: an upload stored once (its
 * row, its blob served prepared, found by release and source), and refused with its verdict and
 * nothing stored for a short or cut bundle, a tampered record, another key, an unknown release and
 * a release of the same version with another security version.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fota/emu/image_build.h"
#include "fota/host/bundle.h"
#include "fota/host/keys.h"

#include "deltas.h"
#include "store.h"
#include "store_backend.h"
#include "test_dir.h"

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
    test_store_begin(&f.db, "test_fotad_deltas", &f.st);
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
    test_store_end(&f->db, &f->st);
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
    test_store_reopen(&f->db, &f->st);
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

/* ---- the service ---------------------------------------------------------------------------- */

typedef struct {
    char dir[400];
    test_store_t db;
    fota_key_t *key, *other;
    fotad_keyring_t ring;
    fotad_store_t store;
    fotad_objstore_t *objects;
    fotad_releases_t *releases;
    fotad_deltas_t *deltas;
    fota_manifest_t release; /* the stored release's manifest */
    char release_id[FOTA_RELEASE_ID_HEX + 1];
} svc_t;

static void key_pair(svc_t *f, const char *name, fota_key_t **key, bool trusted)
{
    char priv[512], pub[512];
    snprintf(priv, sizeof priv, "%s/%s.pem", f->dir, name);
    snprintf(pub, sizeof pub, "%s/%s.pub", f->dir, name);
    assert_int_equal(fota_key_generate(priv, pub), FOTA_OK);
    assert_int_equal(fota_key_load_private(priv, key), FOTA_OK);
    if (trusted) {
        assert_int_equal(fotad_keyring_add_file(&f->ring, pub), FOTA_OK);
    }
}

/* A release of inv-5k 2.0.0 stored through the release service. */
static void store_release(svc_t *f)
{
    fota_image_spec_t spec = {.version = "2.0.0", .size = 5000};
    uint8_t *img = NULL, *bundle = NULL;
    size_t len = 0, blen = 0;
    uint32_t bad = 0;
    assert_int_equal(fota_image_build(&spec, &img, &len), FOTA_OK);
    fota_bundle_spec_t b = {"inv-5k", "2.0.0", 1, 1024, 1700000000};
    assert_int_equal(fota_bundle_build(&b, f->key, img, len, &bundle, &blen), FOTA_OK);
    assert_int_equal(fota_bundle_check(bundle, blen, NULL, 0, &f->release, &bad), FOTA_OK);
    fota_bundle_release_id(bundle, f->release_id);
    fotad_upload_t up;
    assert_int_equal(fotad_releases_upload(f->releases, bundle, blen, 1700000100, &up), FOTA_OK);
    free(bundle);
    free(img);
}

static int svc_setup(void **state)
{
    static svc_t f;
    memset(&f, 0, sizeof f);
    test_dir_make(f.dir, sizeof f.dir, "test_fotad_deltas");
    key_pair(&f, "release", &f.key, true);
    key_pair(&f, "other", &f.other, false);
    test_store_begin(&f.db, "test_fotad_deltas_svc", &f.store);
    assert_int_equal(fotad_objstore_open(f.dir, &f.objects), FOTA_OK);
    assert_int_equal(fotad_releases_open(&f.store, f.objects, &f.ring, &f.releases), FOTA_OK);
    assert_int_equal(fotad_deltas_open(&f.store, f.objects, &f.ring, f.releases, &f.deltas),
                     FOTA_OK);
    store_release(&f);
    *state = &f;
    return 0;
}

static int svc_teardown(void **state)
{
    svc_t *f = *state;
    fotad_deltas_close(f->deltas);
    fotad_releases_close(f->releases);
    fota_key_free(f->key);
    fota_key_free(f->other);
    test_store_end(&f->db, &f->store);
    fotad_objstore_close(f->objects);
    test_dir_remove(f->dir);
    return 0;
}

static const uint8_t source_id[32] = {0x60, 0xbd, 0xb1, 0x3a, 1, 2, 3, 4, 5, 6, 7, 8};

/* A delta bundle of 3000 bytes of records (1024-byte records: 3) for manifest m. */
static uint8_t *delta_bundle(const fota_manifest_t *m, fota_key_t *key, size_t *len)
{
    uint8_t records[3000];
    for (size_t i = 0; i < sizeof records; i++) {
        records[i] = (uint8_t)(i * 31 + 7);
    }
    fota_delta_bundle_spec_t spec = {m, 65536, {0}, 1700000200};
    memcpy(spec.source_sha256, source_id, 32);
    uint8_t *b = NULL;
    assert_int_equal(fota_delta_bundle_build(&spec, key, records, sizeof records, 1024, &b, len),
                     FOTA_OK);
    return b;
}

static fota_err_t count_delta(void *arg, const fotad_delta_rec_t *d)
{
    (void)d;
    (*(int *)arg)++;
    return FOTA_OK;
}

static int deltas_of(svc_t *f)
{
    int n = 0;
    assert_int_equal(fotad_deltas_list(f->deltas, f->release_id, count_delta, &n), FOTA_OK);
    return n;
}

/* Stored once, then served: the row, the prepared blob, found by release and source. */
static void test_upload(void **state)
{
    svc_t *f = *state;
    size_t len = 0;
    uint8_t *b = delta_bundle(&f->release, f->key, &len);
    assert_int_equal(len, 320u + 3000u + 3u * 32u);
    fotad_delta_upload_t up;
    assert_int_equal(fotad_deltas_upload(f->deltas, b, len, 500, &up), FOTA_OK);
    assert_true(up.created);
    char id[FOTA_RELEASE_ID_HEX + 1], src[65];
    fota_delta_bundle_id(b, id);
    fotad_hex(source_id, 32, src);
    assert_string_equal(up.rec.id, id);
    assert_string_equal(up.rec.release, f->release_id);
    assert_string_equal(up.rec.source_sha256, src);
    assert_int_equal(up.rec.patch_size, 3000);
    assert_int_equal(up.rec.blob_size, 3096);
    assert_int_equal(up.rec.chunk_count, 3);
    assert_int_equal(up.rec.uploaded, 500);
    assert_int_equal(fotad_deltas_upload(f->deltas, b, len, 600, &up), FOTA_OK);
    assert_false(up.created);
    assert_int_equal(up.rec.uploaded, 500); /* the first upload's */
    const fotad_delta_t *d = NULL;
    assert_int_equal(fotad_deltas_get(f->deltas, id, &d), FOTA_OK);
    assert_memory_equal(d->blob, b + 320, 3096);
    assert_memory_equal(d->rec.manifest, b, 320);
    assert_string_equal(d->release->rec.id, f->release_id);
    fotad_delta_rec_t found;
    assert_int_equal(fotad_deltas_find(f->deltas, f->release_id, src, &found), FOTA_OK);
    assert_string_equal(found.id, id);
    assert_int_equal(fotad_deltas_get(f->deltas, f->release_id, &d), FOTA_ERR_NOT_FOUND);
    assert_int_equal(deltas_of(f), 1);
    free(b);
}

/* Upload b (len bytes): refused with verdict v, nothing stored. */
static void refused(svc_t *f, const uint8_t *b, size_t len, fotad_bundle_verdict_t v)
{
    fotad_delta_upload_t up;
    assert_int_equal(fotad_deltas_upload(f->deltas, b, len, 500, &up), FOTA_ERR_ARG);
    assert_int_equal(up.verdict, v);
    assert_int_equal(deltas_of(f), 0);
    char objects[600];
    snprintf(objects, sizeof objects, "%s/objects", f->dir);
    /* The release's three objects only. */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "test $(find '%s' -type f | wc -l) -eq 3", objects);
    assert_int_equal(system(cmd), 0);
}

static void test_refusals(void **state)
{
    svc_t *f = *state;
    size_t len = 0;
    uint8_t *b = delta_bundle(&f->release, f->key, &len);
    refused(f, b, 319, FOTAD_BUNDLE_SHORT);
    refused(f, b, len - 1, FOTAD_BUNDLE_BAD_LENGTH);
    b[320 + 1056 + 5] ^= 1; /* record 1 */
    fotad_delta_upload_t up;
    assert_int_equal(fotad_deltas_upload(f->deltas, b, len, 500, &up), FOTA_ERR_ARG);
    assert_int_equal(up.verdict, FOTAD_BUNDLE_CHAIN);
    assert_int_equal(up.bad_record, 1);
    b[320 + 1056 + 5] ^= 1;
    b[210] = 1; /* reserved */
    refused(f, b, len, FOTAD_BUNDLE_BAD_MANIFEST);
    free(b);
    b = delta_bundle(&f->release, f->other, &len);
    refused(f, b, len, FOTAD_BUNDLE_BAD_SIGNATURE);
    free(b);
    fota_manifest_t m = f->release;
    strcpy(m.version, "9.9.9");
    b = delta_bundle(&m, f->key, &len);
    refused(f, b, len, FOTAD_BUNDLE_NO_RELEASE);
    free(b);
    m = f->release;
    m.security_version = 7;
    b = delta_bundle(&m, f->key, &len);
    refused(f, b, len, FOTAD_BUNDLE_NOT_RELEASE);
    free(b);
    m = f->release;
    m.image_sha256[0] ^= 1;
    b = delta_bundle(&m, f->key, &len);
    refused(f, b, len, FOTAD_BUNDLE_NOT_RELEASE);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_release, setup, teardown),
    };
    const struct CMUnitTest service[] = {
        cmocka_unit_test_setup_teardown(test_upload, svc_setup, svc_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, svc_setup, svc_teardown),
    };
    int failed = cmocka_run_group_tests_name("delta store", tests, NULL, NULL);
    return failed + cmocka_run_group_tests_name("delta service", service, NULL, NULL);
}
