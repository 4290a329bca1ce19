/*
 * test_fotad_store.c - the SQLite backend of fotad's store interface (server/store_sqlite*.c),
 * through the interface only, so a PostgreSQL backend can run the same cases: releases (insert
 * once, get, newest first, the chip recorded or unknown and set once), products (insert once:
 * the first chip stays, get, sorted list), devices (touch, check, report updates, sorted list),
 * reports (newest first, limit), assignments (set, replace, get, list order, unknown release
 * refused), data kept across a close and reopen, a database of schema version 1 migrated (its
 * releases' chips unknown), and a database from a newer fotad refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store.h"

typedef struct {
    char path[512];
    fotad_store_t st;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    const char *dir = getenv("FOTA_TMPDIR");
    snprintf(f.path, sizeof f.path, "%s/test_fotad_store.%ld.db",
             dir != NULL && *dir != '\0' ? dir : "/tmp", (long)getpid());
    assert_int_equal(fotad_store_sqlite_open(f.path, FOTAD_SYNC_NORMAL, &f.st), FOTA_OK);
    *state = &f;
    return 0;
}

static void remove_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fotad_store_close(&f->st);
    remove_db(f->path);
    return 0;
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
    remove_db(f->path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
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

    assert_int_equal(fotad_store_sqlite_open(f->path, FOTAD_SYNC_NORMAL, &f->st), FOTA_OK);
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

    /* The file now says the current version (3), and opening it again changes nothing. */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(fotad_store_sqlite_open(f->path, FOTAD_SYNC_NORMAL, &f->st), FOTA_OK);
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

    fotad_store_close(&f->st);
    assert_int_equal(fotad_store_sqlite_open(f->path, FOTAD_SYNC_NORMAL, &f->st), FOTA_OK);
    assert_int_equal(f->st.ops->legacy_get(f->st.ctx, &l), FOTA_OK);
    assert_string_equal(l.product, "inv-5k");
    assert_string_equal(l.bridge_release, RA);
    assert_string_equal(l.mac_field, "hmac");
    assert_int_equal(l.updated, 77);
    assert_int_equal(f->st.ops->legacy_set(f->st.ctx, NULL), FOTA_OK);
    assert_int_equal(f->st.ops->legacy_get(f->st.ctx, &l), FOTA_ERR_NOT_FOUND);
}

static void test_reopen_and_schema(void **state)
{
    fixture_t *f = *state;
    fotad_release_rec_t a = release(RA, "1.0.0", 100);
    bool inserted;
    assert_int_equal(f->st.ops->release_insert(f->st.ctx, &a, &inserted), FOTA_OK);
    fotad_store_close(&f->st);
    assert_int_equal(fotad_store_sqlite_open(f->path, FOTAD_SYNC_FULL, &f->st), FOTA_OK);
    fotad_release_rec_t got;
    assert_int_equal(f->st.ops->release_get(f->st.ctx, RA, &got), FOTA_OK);
    fotad_store_close(&f->st);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(fotad_store_sqlite_open(f->path, FOTAD_SYNC_NORMAL, &f->st),
                     FOTA_ERR_UNSUPPORTED);
    assert_null(f->st.ops);
    remove_db(f->path);
    assert_int_equal(fotad_store_sqlite_open(f->path, FOTAD_SYNC_NORMAL, &f->st), FOTA_OK);
    assert_int_equal(
        fotad_store_sqlite_open("/nonexistent-dir/x.db", FOTAD_SYNC_NORMAL, &(fotad_store_t){0}),
        FOTA_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices_and_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assignments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_chips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_products, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_and_enrollments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
