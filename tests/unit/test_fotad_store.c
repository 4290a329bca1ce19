/*
 * test_fotad_store.c - fotad's store interface (server/store.h) through the interface only, on
 * both backends: ctest runs it on SQLite (server/store_sqlite*.c) and a second time on PostgreSQL
 * (server/store_pg*.c) under tests/support/with-postgres (tests/support/store_backend.h). For
 * both: releases (insert once, get, newest first, the chip recorded or unknown and set once),
 * products (insert once: the first chip stays, get, sorted list), devices (touch, check, report
 * updates, sorted list in byte order), reports (newest first, limit), assignments (set, replace,
 * get, list order, unknown release refused), data kept across a close and reopen, device tags
 * (add, remove, the limit, listed by tag), rollouts (insert with stages, explicit members and an
 * event, update, list), members (put, counts by stage and status taken from the rows, a repeated
 * put counting once, starts in a minute, timeouts), history events, and calls from several
 * threads at once. SQLite only: a database of schema version 1 migrated (its releases' chips
 * unknown), one of version 3 migrated to the current one (tags and rollouts), a file from a newer
 * fotad refused. PostgreSQL only: the schema version table, a database from a newer fotad refused,
 * an unreachable server refused, several stores opened at the same moment on an empty database (one
 * migration, under its lock), and a server restarted under an open store: calls fail with
 * FOTA_ERR_IO while it is down and work again once it is back, without reopening.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store.h"
#include "store_backend.h"

typedef struct {
    test_store_t db;
    fotad_store_t st;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    test_store_begin(&f.db, "test_fotad_store", &f.st);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    test_store_end(&f->db, &f->st);
    return 0;
}

/* Close the store and open it again on the same data. */
static void reopen(fixture_t *f)
{
    test_store_reopen(&f->db, &f->st);
}

static fotad_release_rec_t release(const char *id, const char *version, int64_t uploaded)
{
    fotad_release_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.product, sizeof r.product, "inv-5k");
    snprintf(r.version, sizeof r.version, "%s", version);
    r.security_version = 2;
    r.image_size = 2500;
    r.chunk_size = 1024;
    r.chunk_count = 3;
    r.blob_size = 2596;
    memset(r.image_sha256, 'a', 64);
    memset(r.blob_sha256, 'b', 64);
    r.created = 1700000000;
    r.uploaded = uploaded;
    memset(r.manifest, 0x5a, sizeof r.manifest);
    r.chip_id = 9;
    return r;
}

#define RA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define RB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

typedef struct {
    char seen[8][64];
    int n;
} list_t;

static fota_err_t list_release(void *arg, const fotad_release_rec_t *r)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%s", r->id);
    return FOTA_OK;
}

static fota_err_t list_device(void *arg, const fotad_device_rec_t *d)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%s", d->id);
    return FOTA_OK;
}

static fota_err_t list_report(void *arg, const fotad_report_rec_t *r)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%s/%u", r->state, r->done);
    return FOTA_OK;
}

static fota_err_t list_assignment(void *arg, const fotad_assignment_rec_t *a)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%c:%s=%.4s", a->kind == FOTAD_TARGET_DEVICE ? 'd' : 'p',
             a->target, a->release);
    return FOTA_OK;
}

static fota_err_t stop_early(void *arg, const fotad_release_rec_t *r)
{
    (void)arg;
    (void)r;
    return FOTA_ERR_NO_MEM;
}

static void test_releases(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    fotad_release_rec_t b = release(RB, "2.0.0", 200);
    bool inserted = false;
    assert_int_equal(ops->release_insert(f->st.ctx, &a, &inserted), FOTA_OK);
    assert_true(inserted);
    assert_int_equal(ops->release_insert(f->st.ctx, &b, &inserted), FOTA_OK);
    a.uploaded = 999;
    assert_int_equal(ops->release_insert(f->st.ctx, &a, &inserted), FOTA_OK);
    assert_false(inserted);
    fotad_release_rec_t got;
    assert_int_equal(ops->release_get(f->st.ctx, RA, &got), FOTA_OK);
    a.uploaded = 100;
    assert_memory_equal(&got, &a, sizeof got);
    assert_int_equal(ops->release_get(f->st.ctx, "cccccccccccccccccccccccccccccccc", &got),
                     FOTA_ERR_NOT_FOUND);
    list_t l = {.n = 0};
    assert_int_equal(ops->release_list(f->st.ctx, list_release, &l), FOTA_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.seen[0], RB);
    assert_string_equal(l.seen[1], RA);
    assert_int_equal(ops->release_list(f->st.ctx, stop_early, NULL), FOTA_ERR_NO_MEM);
}

static void test_devices_and_reports(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    void *c = f->st.ctx;
    fotad_device_rec_t d;
    assert_int_equal(ops->device_get(c, "inv-2", &d), FOTA_ERR_NOT_FOUND);
    assert_int_equal(ops->device_touch(c, "inv-2", 1000), FOTA_OK);
    assert_int_equal(ops->device_touch(c, "inv-2", 900), FOTA_OK); /* never goes back */
    assert_int_equal(ops->device_get(c, "inv-2", &d), FOTA_OK);
    assert_int_equal(d.first_seen, 1000);
    assert_int_equal(d.last_seen, 1000);
    assert_string_equal(d.product, "");
    assert_int_equal(ops->device_check(c, "inv-2", "inv-5k", "1.0.0", RA, 1010), FOTA_OK);
    assert_int_equal(ops->device_check(c, "inv-1", "inv-5k", "0.9", "", 1020), FOTA_OK);
    fotad_report_rec_t r = {1030, "downloading", RA, "2.0.0", "", 5, 10, 0};
    assert_int_equal(ops->device_report(c, "inv-2", &r), FOTA_OK);
    r.time = 1040;
    r.done = 10;
    snprintf(r.state, sizeof r.state, "error");
    snprintf(r.running, sizeof r.running, "1.0.1");
    r.error = 907;
    assert_int_equal(ops->device_report(c, "inv-2", &r), FOTA_OK);
    assert_int_equal(ops->device_get(c, "inv-2", &d), FOTA_OK);
    assert_string_equal(d.product, "inv-5k");
    assert_string_equal(d.version, "1.0.1"); /* the report's running version */
    assert_string_equal(d.state, "error");
    assert_string_equal(d.release, RA);
    assert_string_equal(d.offered, RA);
    assert_int_equal(d.done, 10);
    assert_int_equal(d.total, 10);
    assert_int_equal(d.last_error, 907);
    assert_int_equal(d.first_seen, 1000);
    assert_int_equal(d.last_seen, 1040);
    /* a report from an unknown device creates it */
    assert_int_equal(ops->device_report(c, "inv-0", &r), FOTA_OK);
    list_t l = {.n = 0};
    assert_int_equal(ops->device_list(c, list_device, &l), FOTA_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.seen[0], "inv-0");
    assert_string_equal(l.seen[2], "inv-2");
    l.n = 0;
    assert_int_equal(ops->report_list(c, "inv-2", 100, list_report, &l), FOTA_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.seen[0], "error/10");
    assert_string_equal(l.seen[1], "downloading/5");
    l.n = 0;
    assert_int_equal(ops->report_list(c, "inv-2", 1, list_report, &l), FOTA_OK);
    assert_int_equal(l.n, 1);
}

static fota_err_t list_census(void *arg, const fotad_census_rec_t *g)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%s|%s|%.4s|%llu", g->state, g->version, g->release,
             (unsigned long long)g->n);
    return FOTA_OK;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The census groups the devices by state, running version and last report's release in one
 * query; a device that never checked or reported is a group of empty strings. */
static void test_device_census(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    void *c = f->st.ctx;
    list_t l = {.n = 0};
    assert_int_equal(ops->device_census(c, list_census, &l), FOTA_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(ops->device_touch(c, "inv-a", 1000), FOTA_OK);
    assert_int_equal(ops->device_check(c, "inv-b", "inv-5k", "1.0", "", 1000), FOTA_OK);
    const char *confirmed[] = {"inv-c", "inv-d", "inv-e"};
    for (size_t i = 0; i < 3; i++) {
        fotad_report_rec_t r = {1010, "confirmed", RA, "2.0", "2.0", 10, 10, 0};
        assert_int_equal(ops->device_report(c, confirmed[i], &r), FOTA_OK);
    }
    fotad_report_rec_t r = {1020, "rolled_back", RB, "3.0", "2.0", 10, 10, 1002};
    assert_int_equal(ops->device_report(c, "inv-e", &r), FOTA_OK);
    assert_int_equal(ops->device_census(c, list_census, &l), FOTA_OK);
    assert_int_equal(l.n, 4);
    qsort(l.seen, l.n, sizeof l.seen[0], by_text);
    assert_string_equal(l.seen[0], "confirmed|2.0|aaaa|2");
    assert_string_equal(l.seen[1], "rolled_back|2.0|bbbb|1");
    assert_string_equal(l.seen[2], "|1.0||1");
    assert_string_equal(l.seen[3], "|||1");
}

static void test_assignments(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    void *c = f->st.ctx;
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    fotad_release_rec_t b = release(RB, "2.0.0", 200);
    bool inserted;
    assert_int_equal(ops->release_insert(c, &a, &inserted), FOTA_OK);
    assert_int_equal(ops->release_insert(c, &b, &inserted), FOTA_OK);
    fotad_assignment_rec_t as = {FOTAD_TARGET_PRODUCT, "inv-5k", RA, 10};
    assert_int_equal(ops->assignment_set(c, &as), FOTA_OK);
    fotad_assignment_rec_t dev = {FOTAD_TARGET_DEVICE, "inv-5k", RB, 11};
    assert_int_equal(ops->assignment_set(c, &dev), FOTA_OK); /* same target, other kind */
    fotad_assignment_rec_t got;
    assert_int_equal(ops->assignment_get(c, FOTAD_TARGET_PRODUCT, "inv-5k", &got), FOTA_OK);
    assert_string_equal(got.release, RA);
    assert_int_equal(ops->assignment_get(c, FOTAD_TARGET_DEVICE, "inv-5k", &got), FOTA_OK);
    assert_string_equal(got.release, RB);
    as.updated = 20;
    snprintf(as.release, sizeof as.release, RB);
    assert_int_equal(ops->assignment_set(c, &as), FOTA_OK);
    assert_int_equal(ops->assignment_get(c, FOTAD_TARGET_PRODUCT, "inv-5k", &got), FOTA_OK);
    assert_string_equal(got.release, RB);
    assert_int_equal(got.updated, 20);
    assert_int_equal(ops->assignment_get(c, FOTAD_TARGET_DEVICE, "nobody", &got),
                     FOTA_ERR_NOT_FOUND);
    fotad_assignment_rec_t bad = {FOTAD_TARGET_DEVICE, "x", "cccccccccccccccccccccccccccccccc", 1};
    assert_int_equal(ops->assignment_set(c, &bad), FOTA_ERR_IO); /* foreign key */
    fotad_assignment_rec_t d2 = {FOTAD_TARGET_DEVICE, "a-dev", RA, 12};
    assert_int_equal(ops->assignment_set(c, &d2), FOTA_OK);
    list_t l = {.n = 0};
    assert_int_equal(ops->assignment_list(c, list_assignment, &l), FOTA_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.seen[0], "d:a-dev=aaaa");
    assert_string_equal(l.seen[1], "d:inv-5k=bbbb");
    assert_string_equal(l.seen[2], "p:inv-5k=bbbb");
}

static fota_err_t list_product(void *arg, const fotad_product_rec_t *p)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%s=%u@%lld", p->id, p->chip_id, (long long)p->created);
    return FOTA_OK;
}

static void test_release_chips(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    void *c = f->st.ctx;
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    fotad_release_rec_t b = release(RB, "2.0.0", 200);
    b.chip_id = FOTAD_CHIP_UNKNOWN;
    bool inserted;
    assert_int_equal(ops->release_insert(c, &a, &inserted), FOTA_OK);
    assert_int_equal(ops->release_insert(c, &b, &inserted), FOTA_OK);
    fotad_release_rec_t got;
    assert_int_equal(ops->release_get(c, RB, &got), FOTA_OK);
    assert_int_equal(got.chip_id, FOTAD_CHIP_UNKNOWN);
    /* An unknown chip is set once; a known one never changes. */
    assert_int_equal(ops->release_set_chip(c, RB, 13), FOTA_OK);
    assert_int_equal(ops->release_get(c, RB, &got), FOTA_OK);
    assert_int_equal(got.chip_id, 13);
    assert_int_equal(ops->release_set_chip(c, RB, 5), FOTA_OK);
    assert_int_equal(ops->release_set_chip(c, RA, 0), FOTA_OK);
    assert_int_equal(ops->release_get(c, RB, &got), FOTA_OK);
    assert_int_equal(got.chip_id, 13);
    assert_int_equal(ops->release_get(c, RA, &got), FOTA_OK);
    assert_int_equal(got.chip_id, 9);
    assert_int_equal(ops->release_set_chip(c, "cccccccccccccccccccccccccccccccc", 1),
                     FOTA_ERR_NOT_FOUND);
}

static void test_products(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    void *c = f->st.ctx;
    fotad_product_rec_t p = {"inv-5k", 0, 100}, q = {"inv-3k s3", 9, 200};
    bool inserted = false;
    assert_int_equal(ops->product_insert(c, &p, &inserted), FOTA_OK);
    assert_true(inserted);
    assert_int_equal(ops->product_insert(c, &q, &inserted), FOTA_OK);
    assert_true(inserted);
    fotad_product_rec_t other = {"inv-5k", 9, 300}; /* the first writer's chip stays */
    assert_int_equal(ops->product_insert(c, &other, &inserted), FOTA_OK);
    assert_false(inserted);
    fotad_product_rec_t got;
    assert_int_equal(ops->product_get(c, "inv-5k", &got), FOTA_OK);
    assert_string_equal(got.id, "inv-5k");
    assert_int_equal(got.chip_id, 0);
    assert_int_equal(got.created, 100);
    assert_int_equal(ops->product_get(c, "inv-9k", &got), FOTA_ERR_NOT_FOUND);
    list_t l = {.n = 0};
    assert_int_equal(ops->product_list(c, list_product, &l), FOTA_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.seen[0], "inv-3k s3=9@200");
    assert_string_equal(l.seen[1], "inv-5k=0@100");
}

/* A file of schema version 1 (as fotad wrote it before chips): migrated at open, its releases'
 * chips unknown until set, products empty; the data is kept. */
static void test_migrate_from_version_1(void **state)
{
    fixture_t *f = *state;
    fotad_store_close(&f->st);
    test_store_remove(&f->db);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db.where, &db), SQLITE_OK);
    const char *v1 =
        "CREATE TABLE releases(id TEXT PRIMARY KEY, product TEXT NOT NULL, version TEXT NOT NULL,"
        " security_version INTEGER NOT NULL, image_size INTEGER NOT NULL,"
        " chunk_size INTEGER NOT NULL, chunk_count INTEGER NOT NULL, blob_size INTEGER NOT NULL,"
        " image_sha256 TEXT NOT NULL, blob_sha256 TEXT NOT NULL, created INTEGER NOT NULL,"
        " uploaded INTEGER NOT NULL, manifest BLOB NOT NULL);"
        "CREATE TABLE devices(id TEXT PRIMARY KEY, product TEXT NOT NULL DEFAULT '',"
        " version TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '',"
        " release_id TEXT NOT NULL DEFAULT '', offered TEXT NOT NULL DEFAULT '',"
        " done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,"
        " last_error INTEGER NOT NULL DEFAULT 0, first_seen INTEGER NOT NULL,"
        " last_seen INTEGER NOT NULL);"
        "CREATE TABLE reports(seq INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL,"
        " time INTEGER NOT NULL, state TEXT NOT NULL, release_id TEXT NOT NULL,"
        " version TEXT NOT NULL, running TEXT NOT NULL, done INTEGER NOT NULL,"
        " total INTEGER NOT NULL, error INTEGER NOT NULL);"
        "CREATE INDEX reports_by_device ON reports(device, seq);"
        "CREATE TABLE assignments(kind INTEGER NOT NULL, target TEXT NOT NULL,"
        " release_id TEXT NOT NULL REFERENCES releases(id), updated INTEGER NOT NULL,"
        " PRIMARY KEY(kind, target));"
        "INSERT INTO releases VALUES('" RA "','inv-5k','1.0.0',2,2500,1024,3,2596,'a','b',"
        " 1700000000,100,zeroblob(256));"
        "INSERT INTO assignments VALUES(1,'inv-5k','" RA "',10);"
        "PRAGMA user_version=1;";
    assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(fotad_store_sqlite_open(f->db.where, FOTAD_SYNC_NORMAL, &f->st), FOTA_OK);
    const fotad_store_ops_t *ops = f->st.ops;
    fotad_release_rec_t got;
    assert_int_equal(ops->release_get(f->st.ctx, RA, &got), FOTA_OK);
    assert_string_equal(got.version, "1.0.0");
    assert_int_equal(got.chip_id, FOTAD_CHIP_UNKNOWN);
    fotad_assignment_rec_t as;
    assert_int_equal(ops->assignment_get(f->st.ctx, FOTAD_TARGET_PRODUCT, "inv-5k", &as), FOTA_OK);
    list_t l = {.n = 0};
    assert_int_equal(ops->product_list(f->st.ctx, list_product, &l), FOTA_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(ops->release_set_chip(f->st.ctx, RA, 0), FOTA_OK);
    fotad_product_rec_t p = {"inv-5k", 0, 100};
    bool inserted;
    assert_int_equal(ops->product_insert(f->st.ctx, &p, &inserted), FOTA_OK);
    fotad_store_close(&f->st);

    /* The file now says the current version (6), and opening it again changes nothing. */
    assert_int_equal(sqlite3_open(f->db.where, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 6);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(fotad_store_sqlite_open(f->db.where, FOTAD_SYNC_NORMAL, &f->st), FOTA_OK);
    assert_int_equal(f->st.ops->release_get(f->st.ctx, RA, &got), FOTA_OK);
    assert_int_equal(got.chip_id, 0);
    assert_int_equal(f->st.ops->product_get(f->st.ctx, "inv-5k", &p), FOTA_OK);
}

static fota_err_t list_enrollment(void *arg, const fotad_enrollment_rec_t *e)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%.20s=%.10s@%lld/%02x", e->device_id, e->state,
             (long long)e->decided, e->key_wrapped[0]);
    return FOTA_OK;
}

static fotad_enrollment_rec_t enrollment(const char *id, uint8_t key0)
{
    fotad_enrollment_rec_t e = {.requested = 50};
    snprintf(e.device_id, sizeof e.device_id, "%s", id);
    snprintf(e.product, sizeof e.product, "inv-5k");
    snprintf(e.state, sizeof e.state, "pending");
    snprintf(e.address, sizeof e.address, "192.0.2.7");
    memset(e.key_wrapped, key0, sizeof e.key_wrapped);
    return e;
}

/* The legacy bridge's setting (at most one, survives a reopen) and the enrollments: insert keeps
 * the first, moves happen only from the named state, one or all, delete, list by state, count. */
static void test_legacy_and_enrollments(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    fotad_legacy_rec_t l;
    assert_int_equal(ops->legacy_get(f->st.ctx, &l), FOTA_ERR_NOT_FOUND);
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    bool inserted;
    assert_int_equal(ops->release_insert(f->st.ctx, &a, &inserted), FOTA_OK);
    fotad_legacy_rec_t set = {"inv-5k", RA, "hmac", 77};
    assert_int_equal(ops->legacy_set(f->st.ctx, &set), FOTA_OK);
    fotad_legacy_rec_t other = {"inv-5k", "cccccccccccccccccccccccccccccccc", "mac", 78};
    assert_int_equal(ops->legacy_set(f->st.ctx, &other), FOTA_ERR_IO); /* no such release */

    fotad_enrollment_rec_t e = enrollment("dev-a", 0x11);
    assert_int_equal(ops->enrollment_insert(f->st.ctx, &e, &inserted), FOTA_OK);
    assert_true(inserted);
    fotad_enrollment_rec_t e2 = enrollment("dev-a", 0x22);
    assert_int_equal(ops->enrollment_insert(f->st.ctx, &e2, &inserted), FOTA_OK);
    assert_false(inserted);
    fotad_enrollment_rec_t got;
    assert_int_equal(ops->enrollment_get(f->st.ctx, "dev-a", &got), FOTA_OK);
    assert_memory_equal(got.key_wrapped, e.key_wrapped, sizeof got.key_wrapped);
    assert_string_equal(got.address, "192.0.2.7");
    assert_int_equal(got.requested, 50);
    e = enrollment("dev-b", 0x33);
    assert_int_equal(ops->enrollment_insert(f->st.ctx, &e, &inserted), FOTA_OK);
    e = enrollment("dev-c", 0x44);
    assert_int_equal(ops->enrollment_insert(f->st.ctx, &e, &inserted), FOTA_OK);

    uint64_t n = 9;
    assert_int_equal(ops->enrollment_move(f->st.ctx, "dev-a", "approved", "rejected", 60, &n),
                     FOTA_OK);
    assert_int_equal(n, 0); /* not in that state: nothing moves */
    assert_int_equal(ops->enrollment_move(f->st.ctx, "dev-a", "pending", "conflict", 60, &n),
                     FOTA_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ops->enrollment_move(f->st.ctx, NULL, "pending", "approved", 61, &n), FOTA_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ops->enrollment_count(f->st.ctx, "approved", &n), FOTA_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ops->enrollment_count(f->st.ctx, "pending", &n), FOTA_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ops->enrollment_delete(f->st.ctx, "dev-c"), FOTA_OK);
    assert_int_equal(ops->enrollment_delete(f->st.ctx, "dev-c"), FOTA_ERR_NOT_FOUND);
    assert_int_equal(ops->enrollment_get(f->st.ctx, "dev-c", &got), FOTA_ERR_NOT_FOUND);

    list_t all = {.n = 0};
    assert_int_equal(ops->enrollment_list(f->st.ctx, NULL, list_enrollment, &all), FOTA_OK);
    assert_int_equal(all.n, 2);
    assert_string_equal(all.seen[0], "dev-a=conflict@60/11");
    assert_string_equal(all.seen[1], "dev-b=approved@61/33");
    list_t approved = {.n = 0};
    assert_int_equal(ops->enrollment_list(f->st.ctx, "approved", list_enrollment, &approved),
                     FOTA_OK);
    assert_int_equal(approved.n, 1);

    reopen(f);
    assert_int_equal(f->st.ops->legacy_get(f->st.ctx, &l), FOTA_OK);
    assert_string_equal(l.product, "inv-5k");
    assert_string_equal(l.bridge_release, RA);
    assert_string_equal(l.mac_field, "hmac");
    assert_int_equal(l.updated, 77);
    assert_int_equal(f->st.ops->legacy_set(f->st.ctx, NULL), FOTA_OK);
    assert_int_equal(f->st.ops->legacy_get(f->st.ctx, &l), FOTA_ERR_NOT_FOUND);
}

static void test_reopen(void **state)
{
    fixture_t *f = *state;
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    bool inserted;
    assert_int_equal(f->st.ops->release_insert(f->st.ctx, &a, &inserted), FOTA_OK);
    assert_int_equal(f->st.ops->device_touch(f->st.ctx, "dev-a", 10), FOTA_OK);
    reopen(f);
    fotad_release_rec_t got;
    assert_int_equal(f->st.ops->release_get(f->st.ctx, RA, &got), FOTA_OK);
    assert_memory_equal(&got, &a, sizeof got);
    fotad_device_rec_t d;
    assert_int_equal(f->st.ops->device_get(f->st.ctx, "dev-a", &d), FOTA_OK);
    assert_int_equal(d.first_seen, 10);
}

/* SQLite: synchronous=FULL opens the same file; a file from a newer fotad, or one that cannot be
 * created, is refused. */
static void test_sqlite_schema(void **state)
{
    fixture_t *f = *state;
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    bool inserted;
    assert_int_equal(f->st.ops->release_insert(f->st.ctx, &a, &inserted), FOTA_OK);
    fotad_store_close(&f->st);
    assert_int_equal(fotad_store_sqlite_open(f->db.where, FOTAD_SYNC_FULL, &f->st), FOTA_OK);
    fotad_release_rec_t got;
    assert_int_equal(f->st.ops->release_get(f->st.ctx, RA, &got), FOTA_OK);
    fotad_store_close(&f->st);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db.where, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(fotad_store_sqlite_open(f->db.where, FOTAD_SYNC_NORMAL, &f->st),
                     FOTA_ERR_UNSUPPORTED);
    assert_null(f->st.ops);
    test_store_remove(&f->db);
    assert_int_equal(test_store_open(&f->db, &f->st), FOTA_OK);
    assert_int_equal(
        fotad_store_sqlite_open("/nonexistent-dir/x.db", FOTAD_SYNC_NORMAL, &(fotad_store_t){0}),
        FOTA_ERR_IO);
}

/* Listings sort ids byte by byte (SQLite's BINARY; PostgreSQL's "C" collation, whatever the
 * database's locale): '-' before '_', upper case before lower case. */
static void test_byte_order(void **state)
{
    fixture_t *f = *state;
    const char *ids[] = {"inv_1", "inv-a", "inv-B", "inv-1"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(f->st.ops->device_touch(f->st.ctx, ids[i], 10), FOTA_OK);
    }
    list_t l = {.n = 0};
    assert_int_equal(f->st.ops->device_list(f->st.ctx, list_device, &l), FOTA_OK);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.seen[0], "inv-1");
    assert_string_equal(l.seen[1], "inv-B");
    assert_string_equal(l.seen[2], "inv-a");
    assert_string_equal(l.seen[3], "inv_1");
}

/* ---- several threads at once ----------------------------------------------------------------- */

#define THREADS 4
#define REPORTS_PER_THREAD 40

typedef struct {
    fotad_store_t *st;
    int index;
    fota_err_t err;
} worker_t;

/* One device per thread: touches, reports and reads, each call on whatever connection the
 * backend hands out. */
static void *worker(void *arg)
{
    worker_t *w = arg;
    const fotad_store_ops_t *ops = w->st->ops;
    char id[16];
    snprintf(id, sizeof id, "dev-%d", w->index);
    for (int i = 0; i < REPORTS_PER_THREAD && w->err == FOTA_OK; i++) {
        fotad_report_rec_t r = {1000 + i, "downloading", RA, "2.0.0", "", (uint32_t)i, 100, 0};
        fotad_device_rec_t d;
        w->err = ops->device_touch(w->st->ctx, id, 1000 + i);
        if (w->err == FOTA_OK) {
            w->err = ops->device_report(w->st->ctx, id, &r);
        }
        if (w->err == FOTA_OK) {
            w->err = ops->device_get(w->st->ctx, id, &d);
        }
        if (w->err == FOTA_OK && d.done != (uint32_t)i) {
            w->err = FOTA_ERR_STATE;
        }
    }
    return NULL;
}

static fota_err_t count_report(void *arg, const fotad_report_rec_t *r)
{
    (void)r;
    (*(int *)arg)++;
    return FOTA_OK;
}

static void test_threads(void **state)
{
    fixture_t *f = *state;
    pthread_t t[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){&f->st, i, FOTA_OK};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].err, FOTA_OK);
    }
    for (int i = 0; i < THREADS; i++) {
        char id[16];
        int n = 0;
        snprintf(id, sizeof id, "dev-%d", i);
        assert_int_equal(f->st.ops->report_list(f->st.ctx, id, 1000, count_report, &n), FOTA_OK);
        assert_int_equal(n, REPORTS_PER_THREAD);
    }
}

static fota_err_t list_device_tags(void *arg, const fotad_device_rec_t *d)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%.20s=%.40s", d->id, d->tags);
    return FOTA_OK;
}

/* Tags: added and removed in one call for several devices, shown in the device record sorted,
 * a device known later carries the tags given before, the limit refuses the whole call. */
static void test_device_tags(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    assert_int_equal(ops->device_touch(f->st.ctx, "dev-a", 10), FOTA_OK);
    assert_int_equal(ops->device_touch(f->st.ctx, "dev-b", 10), FOTA_OK);
    const char *ids[] = {"dev-a", "dev-b", "dev-c"};
    const char *add[] = {"eu", "beta"};
    assert_int_equal(ops->device_tags_change(f->st.ctx, ids, 3, add, 2, NULL, 0), FOTA_OK);
    const char *rm[] = {"beta"};
    assert_int_equal(ops->device_tags_change(f->st.ctx, ids + 1, 1, NULL, 0, rm, 1), FOTA_OK);
    fotad_device_rec_t d;
    assert_int_equal(ops->device_get(f->st.ctx, "dev-a", &d), FOTA_OK);
    assert_string_equal(d.tags, "beta,eu");
    list_t l = {.n = 0};
    assert_int_equal(ops->device_list_tagged(f->st.ctx, "beta", list_device_tags, &l), FOTA_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.seen[0], "dev-a=beta,eu");
    assert_int_equal(ops->device_touch(f->st.ctx, "dev-c", 11), FOTA_OK);
    assert_int_equal(ops->device_get(f->st.ctx, "dev-c", &d), FOTA_OK);
    assert_string_equal(d.tags, "beta,eu");
    const char *many[17];
    char names[17][8];
    for (int i = 0; i < 17; i++) {
        snprintf(names[i], sizeof names[i], "t%02d", i);
        many[i] = names[i];
    }
    assert_int_equal(ops->device_tags_change(f->st.ctx, ids, 1, many, 17, NULL, 0),
                     FOTA_ERR_TOO_LARGE);
    assert_int_equal(ops->device_get(f->st.ctx, "dev-a", &d), FOTA_OK);
    assert_string_equal(d.tags, "beta,eu"); /* nothing of the refused call stayed */
}

static fotad_rollout_rec_t rollout_rec(void)
{
    fotad_rollout_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "spring");
    snprintf(r.product, sizeof r.product, "inv-5k");
    snprintf(r.release, sizeof r.release, RA);
    snprintf(r.state, sizeof r.state, "created");
    snprintf(r.action, sizeof r.action, "soft");
    snprintf(r.tags, sizeof r.tags, "eu,beta");
    snprintf(r.window_cron, sizeof r.window_cron, "0 2 * * 1-5");
    r.window_offset_s = 7200;
    r.window_duration_s = 3600;
    r.current_stage = -1;
    r.rollback_stage = -1;
    r.thresholds.max_failures = 9;
    r.created = 100;
    r.n_stages = 2;
    r.stages[0].kind = FOTAD_STAGE_COUNT;
    r.stages[0].amount = 2;
    r.stages[0].success_percent = 100;
    r.stages[0].thresholds.max_failure_percent = 20;
    r.stages[0].boundary = 0xF000000000000000ull; /* over INT64_MAX: kept as its bits */
    r.stages[1].kind = FOTAD_STAGE_PERCENT;
    r.stages[1].amount = 100;
    r.stages[1].manual = true;
    return r;
}

static fota_err_t list_event(void *arg, const fotad_event_rec_t *e)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%lld:%.15s:%.20s", (long long)e->time, e->kind, e->text);
    return FOTA_OK;
}

static fota_err_t list_member(void *arg, const fotad_member_rec_t *m)
{
    list_t *l = arg;
    snprintf(l->seen[l->n++], 64, "%.20s/%u/%d/%.20s", m->device, m->stage, (int)m->status,
             m->reason);
    return FOTA_OK;
}

static fotad_member_rec_t member(int64_t rollout, const char *dev, uint32_t stage,
                                 fotad_member_status_t status, int64_t started)
{
    fotad_member_rec_t m = {.rollout = rollout, .stage = stage, .status = status};
    snprintf(m.device, sizeof m.device, "%s", dev);
    m.started = started;
    m.last_activity = started;
    return m;
}

/* A rollout's life in the store: insert (stages, explicit members, event in one go), get back
 * every field, update with members and an event, counts from the rows, starts, timeouts. */
static void test_rollouts(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    void *ctx = f->st.ctx;
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    bool inserted;
    assert_int_equal(ops->release_insert(ctx, &a, &inserted), FOTA_OK);
    fotad_rollout_rec_t r = rollout_rec();
    const char *devs[] = {"dev-a", "dev-b"};
    fotad_event_rec_t ev = {.time = 100, .kind = "created", .text = "hello"};
    assert_int_equal(ops->rollout_insert(ctx, &r, devs, 2, &ev), FOTA_OK);
    assert_true(r.id > 0);
    fotad_rollout_rec_t got;
    assert_int_equal(ops->rollout_get(ctx, r.id, &got), FOTA_OK);
    assert_memory_equal(&got, &r, sizeof r);
    assert_int_equal(ops->rollout_get(ctx, r.id + 1, &got), FOTA_ERR_NOT_FOUND);
    fotad_rollout_rec_t bad = rollout_rec();
    snprintf(bad.release, sizeof bad.release, RB); /* no such release: refused, nothing kept */
    assert_int_equal(ops->rollout_insert(ctx, &bad, devs, 2, &ev), FOTA_ERR_IO);

    list_t l = {.n = 0};
    assert_int_equal(ops->member_list(ctx, r.id, list_member, &l), FOTA_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.seen[0], "dev-a/0/0/");

    snprintf(r.state, sizeof r.state, "running");
    r.current_stage = 0;
    r.stages[0].opened = 200;
    fotad_member_rec_t ms[] = {member(r.id, "dev-a", 0, FOTAD_MEMBER_STARTED, 200),
                               member(r.id, "dev-c", 1, FOTAD_MEMBER_PENDING, 0)};
    fotad_event_rec_t ev2 = {.rollout = r.id, .time = 200, .kind = "started", .text = "go"};
    assert_int_equal(ops->rollout_update(ctx, &r, ms, 2, &ev2), FOTA_OK);
    assert_int_equal(ops->rollout_get(ctx, r.id, &got), FOTA_OK);
    assert_memory_equal(&got, &r, sizeof r);

    /* The same member row put twice counts once. */
    fotad_member_rec_t b = member(r.id, "dev-b", 0, FOTAD_MEMBER_FAILED, 210);
    snprintf(b.reason, sizeof b.reason, "rolled_back");
    assert_int_equal(ops->member_put(ctx, &b, NULL), FOTA_OK);
    assert_int_equal(ops->member_put(ctx, &b, NULL), FOTA_OK);
    fotad_member_counts_t c;
    assert_int_equal(ops->member_counts(ctx, r.id, &c), FOTA_OK);
    assert_int_equal(c.n[0][FOTAD_MEMBER_STARTED], 1);
    assert_int_equal(c.n[0][FOTAD_MEMBER_FAILED], 1);
    assert_int_equal(c.n[1][FOTAD_MEMBER_PENDING], 1);
    fotad_member_rec_t m;
    assert_int_equal(ops->member_get(ctx, r.id, "dev-b", &m), FOTA_OK);
    assert_string_equal(m.reason, "rolled_back");
    assert_int_equal(ops->member_get(ctx, r.id, "dev-x", &m), FOTA_ERR_NOT_FOUND);

    /* A start is written only while fewer than the limit started since the window opened:
     * dev-a (200) and dev-b (210) count since 0, dev-b alone since 205. */
    uint32_t n = 0;
    int64_t earliest = 0;
    bool admitted = true;
    fotad_member_rec_t d = member(r.id, "dev-d", 0, FOTAD_MEMBER_STARTED, 220);
    assert_int_equal(ops->member_start(ctx, &d, 0, 2, &admitted, &earliest), FOTA_OK);
    assert_false(admitted);
    assert_int_equal(earliest, 200);
    assert_int_equal(ops->member_get(ctx, r.id, "dev-d", &m), FOTA_ERR_NOT_FOUND);
    assert_int_equal(ops->member_start(ctx, &d, 205, 2, &admitted, &earliest), FOTA_OK);
    assert_true(admitted);
    assert_int_equal(earliest, 210);
    assert_int_equal(ops->member_get(ctx, r.id, "dev-d", &m), FOTA_OK);
    assert_memory_equal(&m, &d, sizeof m);
    fotad_member_rec_t e2 = member(r.id, "dev-e", 0, FOTAD_MEMBER_STARTED, 220);
    assert_int_equal(ops->member_start(ctx, &e2, 205, 2, &admitted, &earliest), FOTA_OK);
    assert_false(admitted); /* dev-b and dev-d */
    assert_int_equal(ops->member_get(ctx, r.id, "dev-e", &m), FOTA_ERR_NOT_FOUND);
    d.status = FOTAD_MEMBER_PENDING; /* back to pending: the timeouts below are about dev-a */
    d.started = 0;
    d.last_activity = 0;
    assert_int_equal(ops->member_put(ctx, &d, NULL), FOTA_OK);

    /* dev-a (started, silent since 200) times out; the failed and pending ones do not move. */
    assert_int_equal(ops->member_time_out(ctx, r.id, 201, &n), FOTA_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ops->member_get(ctx, r.id, "dev-a", &m), FOTA_OK);
    assert_int_equal(m.status, FOTAD_MEMBER_FAILED);
    assert_string_equal(m.reason, "timed_out");
    assert_int_equal(ops->member_time_out(ctx, r.id, 1000, &n), FOTA_OK);
    assert_int_equal(n, 0);

    list_t e = {.n = 0};
    assert_int_equal(ops->event_list(ctx, r.id, list_event, &e), FOTA_OK);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.seen[0], "100:created:hello");
    assert_string_equal(e.seen[1], "200:started:go");

    /* Survives a reopen. */
    reopen(f);
    assert_int_equal(f->st.ops->rollout_get(f->st.ctx, r.id, &got), FOTA_OK);
    assert_memory_equal(&got, &r, sizeof r);
    assert_int_equal(f->st.ops->member_counts(f->st.ctx, r.id, &c), FOTA_OK);
    assert_int_equal(c.n[0][FOTAD_MEMBER_FAILED], 2);
}

/* A database of version 3 (legacy bridge, no rollouts): migrated to the current version, its data
 * kept, rollouts and tags usable at once. */
static void test_migrate_from_version_3(void **state)
{
    fixture_t *f = *state;
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    bool inserted;
    assert_int_equal(f->st.ops->release_insert(f->st.ctx, &a, &inserted), FOTA_OK);
    fotad_store_close(&f->st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db.where, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE device_tags; DROP TABLE rollout_events;"
                                  "DROP TABLE rollout_members; DROP TABLE rollout_stages;"
                                  "DROP TABLE rollouts; DROP TABLE tokens; DROP TABLE audit;"
                                  " DROP TABLE deltas; PRAGMA user_version=3;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(fotad_store_sqlite_open(f->db.where, FOTAD_SYNC_NORMAL, &f->st), FOTA_OK);
    fotad_release_rec_t got;
    assert_int_equal(f->st.ops->release_get(f->st.ctx, RA, &got), FOTA_OK);
    fotad_rollout_rec_t r = rollout_rec();
    assert_int_equal(f->st.ops->rollout_insert(f->st.ctx, &r, NULL, 0, NULL), FOTA_OK);
    const char *ids[] = {"dev-a"};
    const char *add[] = {"eu"};
    assert_int_equal(f->st.ops->device_tags_change(f->st.ctx, ids, 1, add, 1, NULL, 0), FOTA_OK);
    assert_int_equal(sqlite3_open(f->db.where, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 6);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- PostgreSQL only ------------------------------------------------------------------------ */

/* The schema_version table holds the version; opening again changes nothing; a database from a
 * newer fotad is refused, and so is a server that cannot be reached. */
static void test_pg_schema(void **state)
{
    fixture_t *f = *state;
    const char *version = "SELECT version FROM schema_version";
    assert_int_equal(test_store_pg_number(&f->db, version), 4);
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    bool inserted;
    assert_int_equal(f->st.ops->release_insert(f->st.ctx, &a, &inserted), FOTA_OK);
    reopen(f);
    assert_int_equal(test_store_pg_number(&f->db, version), 4);
    assert_int_equal(test_store_pg_number(&f->db, "SELECT count(*) FROM schema_version"), 1);
    fotad_release_rec_t got;
    assert_int_equal(f->st.ops->release_get(f->st.ctx, RA, &got), FOTA_OK);
    fotad_store_close(&f->st);
    assert_true(test_store_pg_sql(&f->db, "UPDATE schema_version SET version = 99"));
    assert_int_equal(test_store_open(&f->db, &f->st), FOTA_ERR_UNSUPPORTED);
    assert_null(f->st.ops);
    fotad_store_t none = {0};
    assert_int_equal(fotad_store_pg_open("postgresql://fota@/x?host=/nonexistent-dir", &none),
                     FOTA_ERR_IO);
    assert_null(none.ops);
}

/* What several fotad share (store.h's shared operations): a nonce is fresh once until it
 * expires, a lease has one holder until it expires, objects come back as they went in. SQLite
 * leaves these to its one fotad (NULL). */
static void test_pg_shared(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    void *c = f->st.ctx;
    bool fresh = false, held = false;
    assert_int_equal(ops->nonce_claim(c, "dev-a", "00000000000000aa", 1000, 1600, &fresh), FOTA_OK);
    assert_true(fresh);
    assert_int_equal(ops->nonce_claim(c, "dev-a", "00000000000000aa", 1100, 1700, &fresh), FOTA_OK);
    assert_false(fresh); /* a replay */
    assert_int_equal(ops->nonce_claim(c, "dev-b", "00000000000000aa", 1100, 1700, &fresh), FOTA_OK);
    assert_true(fresh); /* another device's nonce */
    assert_int_equal(ops->nonce_claim(c, "dev-a", "00000000000000aa", 1601, 2201, &fresh), FOTA_OK);
    assert_true(fresh); /* expired: may be seen again */
    uint64_t removed = 0;
    assert_int_equal(ops->nonce_purge(c, 2000, &removed), FOTA_OK);
    assert_int_equal(removed, 1); /* dev-b's, expiring at 1700 */
    assert_int_equal(test_store_pg_number(&f->db, "SELECT count(*) FROM nonces"), 1);

    assert_int_equal(ops->lease_take(c, "periodic", "node-1", 1000, 13, &held), FOTA_OK);
    assert_true(held);
    assert_int_equal(ops->lease_take(c, "periodic", "node-2", 1005, 13, &held), FOTA_OK);
    assert_false(held); /* node-1's until 1013 */
    assert_int_equal(ops->lease_take(c, "periodic", "node-1", 1010, 13, &held), FOTA_OK);
    assert_true(held); /* renewed until 1023 */
    assert_int_equal(ops->lease_take(c, "periodic", "node-2", 1020, 13, &held), FOTA_OK);
    assert_false(held);
    assert_int_equal(ops->lease_take(c, "periodic", "node-2", 1024, 13, &held), FOTA_OK);
    assert_true(held); /* node-1 stopped renewing: node-2 takes over */
    assert_int_equal(ops->lease_take(c, "periodic", "node-1", 1025, 13, &held), FOTA_OK);
    assert_false(held);

    const char *hex = "ab00000000000000000000000000000000000000000000000000000000000001";
    uint8_t bytes[3000];
    for (size_t i = 0; i < sizeof bytes; i++) {
        bytes[i] = (uint8_t)(i * 7);
    }
    assert_int_equal(ops->object_put(c, hex, bytes, sizeof bytes), FOTA_OK);
    assert_int_equal(ops->object_put(c, hex, bytes, sizeof bytes), FOTA_OK); /* no-op */
    uint8_t *got = NULL;
    size_t len = 0;
    assert_int_equal(ops->object_fetch(c, hex, &got, &len), FOTA_OK);
    assert_int_equal(len, sizeof bytes);
    assert_memory_equal(got, bytes, sizeof bytes);
    free(got);
    const char *none = "cd00000000000000000000000000000000000000000000000000000000000001";
    assert_int_equal(ops->object_fetch(c, none, &got, &len), FOTA_ERR_NOT_FOUND);
}

#define STARTERS 8
#define STARTS_EACH 25
#define START_LIMIT 20

typedef struct {
    fotad_store_t *st;
    int64_t rollout;
    int who;
    pthread_barrier_t *start;
    uint32_t admitted;
    fota_err_t err;
} starter_t;

static void *starter(void *arg)
{
    starter_t *s = arg;
    pthread_barrier_wait(s->start);
    for (int i = 0; i < STARTS_EACH && s->err == FOTA_OK; i++) {
        char dev[32];
        snprintf(dev, sizeof dev, "dev-%d-%d", s->who, i);
        fotad_member_rec_t m = member(s->rollout, dev, 0, FOTAD_MEMBER_STARTED, 300 + i);
        bool admitted = false;
        int64_t earliest;
        s->err = s->st->ops->member_start(s->st->ctx, &m, 300, START_LIMIT, &admitted, &earliest);
        s->admitted += admitted ? 1u : 0u;
    }
    return NULL;
}

/* Two stores on one database, as two fotad on one PostgreSQL (or two on one SQLite file), start
 * members of one rollout from several threads each at the same moment: exactly the limit are
 * started in all, not the limit per store or per thread. */
static void test_member_start_shared(void **state)
{
    fixture_t *f = *state;
    fotad_store_t other;
    assert_int_equal(test_store_open(&f->db, &other), FOTA_OK);
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    bool inserted;
    assert_int_equal(f->st.ops->release_insert(f->st.ctx, &a, &inserted), FOTA_OK);
    fotad_rollout_rec_t r = rollout_rec();
    assert_int_equal(f->st.ops->rollout_insert(f->st.ctx, &r, NULL, 0, NULL), FOTA_OK);

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, STARTERS);
    pthread_t t[STARTERS];
    starter_t s[STARTERS];
    for (int i = 0; i < STARTERS; i++) {
        s[i] =
            (starter_t){.st = i % 2 ? &other : &f->st, .rollout = r.id, .who = i, .start = &start};
        assert_int_equal(pthread_create(&t[i], NULL, starter, &s[i]), 0);
    }
    uint32_t admitted = 0;
    for (int i = 0; i < STARTERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(s[i].err, FOTA_OK);
        admitted += s[i].admitted;
    }
    pthread_barrier_destroy(&start);
    fotad_store_close(&other);
    assert_int_equal(admitted, START_LIMIT);
    fotad_member_counts_t c;
    assert_int_equal(f->st.ops->member_counts(f->st.ctx, r.id, &c), FOTA_OK);
    assert_int_equal(c.n[0][FOTAD_MEMBER_STARTED], START_LIMIT);
}

#define OPENERS 4

typedef struct {
    const char *uri;
    pthread_barrier_t *start;
    fotad_store_t st;
    fota_err_t err;
} opener_t;

static void *opener(void *arg)
{
    opener_t *o = arg;
    pthread_barrier_wait(o->start);
    o->err = fotad_store_pg_open(o->uri, &o->st);
    return NULL;
}

/* Several fotad starting at the same moment on an empty database: every open succeeds (the
 * migration runs once, under its lock: without it, the others' CREATE TABLE would fail). */
static void test_pg_concurrent_open(void **state)
{
    (void)state;
    test_store_t empty;
    test_store_fresh(&empty, "test_fotad_store_empty");
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, OPENERS);
    pthread_t t[OPENERS];
    opener_t o[OPENERS];
    for (int i = 0; i < OPENERS; i++) {
        o[i] = (opener_t){.uri = empty.where, .start = &start, .err = FOTA_ERR_STATE};
        assert_int_equal(pthread_create(&t[i], NULL, opener, &o[i]), 0);
    }
    for (int i = 0; i < OPENERS; i++) {
        pthread_join(t[i], NULL);
    }
    pthread_barrier_destroy(&start);
    for (int i = 0; i < OPENERS; i++) {
        assert_int_equal(o[i].err, FOTA_OK);
        char id[16];
        snprintf(id, sizeof id, "dev-%d", i);
        assert_int_equal(o[i].st.ops->device_touch(o[i].st.ctx, id, 10), FOTA_OK);
    }
    assert_int_equal(test_store_pg_number(&empty, "SELECT version FROM schema_version"), 4);
    assert_int_equal(test_store_pg_number(&empty, "SELECT count(*) FROM devices"), OPENERS);
    for (int i = 0; i < OPENERS; i++) {
        fotad_store_close(&o[i].st);
    }
    test_store_remove(&empty);
}

/* The sessions of fotad's store on the test's database (fotad names itself application_name). */
#define STORE_SESSIONS                                                                             \
    " FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'fotad'"

/* Wait until the store has no session left on the test's database. */
static void wait_no_store_session(const test_store_t *db)
{
    const char *count = "SELECT count(*)" STORE_SESSIONS;
    for (int i = 0; i < 200 && test_store_pg_number(db, count) != 0; i++) {
        usleep(50 * 1000);
    }
    assert_int_equal(test_store_pg_number(db, count), 0);
}

/* The server ends the store's connections, then stops and starts again under the open store:
 * the connections it ended are replaced unnoticed; while it is down every call fails with
 * FOTA_ERR_IO; once it is back, calls work again and nothing was lost. */
static void test_pg_reconnect(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->st.ops;
    void *c = f->st.ctx;
    fotad_device_rec_t d;
    assert_int_equal(ops->device_touch(c, "dev-a", 10), FOTA_OK);
    assert_int_equal(test_store_pg_number(&f->db, "SELECT count(*)" STORE_SESSIONS), 1);
    assert_true(test_store_pg_sql(&f->db, "SELECT pg_terminate_backend(pid)" STORE_SESSIONS));
    wait_no_store_session(&f->db);
    assert_int_equal(ops->device_get(c, "dev-a", &d), FOTA_OK);

    assert_true(test_store_pg_ctl("stop"));
    assert_int_equal(ops->device_touch(c, "dev-a", 20), FOTA_ERR_IO);
    assert_int_equal(ops->device_get(c, "dev-a", &d), FOTA_ERR_IO);
    list_t l = {.n = 0};
    assert_int_equal(ops->device_list(c, list_device, &l), FOTA_ERR_IO);
    fotad_report_rec_t r = {30, "downloading", RA, "2.0.0", "", 1, 2, 0};
    assert_int_equal(ops->device_report(c, "dev-a", &r), FOTA_ERR_IO);

    assert_true(test_store_pg_ctl("start"));
    assert_int_equal(ops->device_touch(c, "dev-a", 40), FOTA_OK);
    assert_int_equal(ops->device_get(c, "dev-a", &d), FOTA_OK);
    assert_int_equal(d.first_seen, 10);
    assert_int_equal(d.last_seen, 40);
    assert_string_equal(d.state, ""); /* the report while it was down was not stored */
    assert_int_equal(ops->device_report(c, "dev-a", &r), FOTA_OK);
}

int main(void)
{
    const struct CMUnitTest both[] = {
        cmocka_unit_test_setup_teardown(test_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices_and_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_census, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assignments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_chips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_products, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_and_enrollments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_start_shared, setup, teardown),
    };
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test_setup_teardown(test_migrate_from_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_version_3, setup, teardown),
    };
    const struct CMUnitTest pg_only[] = {
        cmocka_unit_test_setup_teardown(test_pg_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_shared, setup, teardown),
        cmocka_unit_test(test_pg_concurrent_open),
        cmocka_unit_test_setup_teardown(test_pg_reconnect, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("store, both backends", both, NULL, NULL);
    if (test_store_is_pg()) {
        failed += cmocka_run_group_tests_name("store, PostgreSQL", pg_only, NULL, NULL);
    } else {
        failed += cmocka_run_group_tests_name("store, SQLite", sqlite_only, NULL, NULL);
    }
    return failed;
}
