/*
 * store_backend.c - the store a fotad unit test runs on, SQLite or PostgreSQL (store_backend.h).
 * For PostgreSQL each fresh store is a new database (CREATE DATABASE on the server that
 * tests/support/with-postgres started for this test), so cases never see each other's rows.
 * Database names are made here from the process id and a counter, never from input.
 */
#include "store_backend.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>

#include "db_files.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

bool test_store_is_pg(void)
{
    return env("FOTA_TEST_PG_HOST") != NULL;
}

static void pg_uri(const char *db, char *out, size_t cap)
{
    const char *user = env("FOTA_TEST_PG_USER"), *port = env("FOTA_TEST_PG_PORT");
    snprintf(out, cap, "postgresql://%s@/%s?host=%s&port=%s", user != NULL ? user : "fota", db,
             env("FOTA_TEST_PG_HOST"), port != NULL ? port : "5432");
}

/* Run sql on database uri; the first row's first column as a number into *n when n is given. */
static bool run_sql(const char *uri, const char *sql, long long *n)
{
    PGconn *c = PQconnectdb(uri);
    bool ok = PQstatus(c) == CONNECTION_OK;
    PGresult *res = ok ? PQexec(c, sql) : NULL;
    ok = ok && (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK);
    if (!ok) {
        fprintf(stderr, "test store: %s: %s", sql, PQerrorMessage(c));
    }
    if (ok && n != NULL) {
        *n = PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    }
    PQclear(res);
    PQfinish(c);
    return ok;
}

void test_store_fresh(test_store_t *t, const char *name)
{
    static unsigned counter;
    memset(t, 0, sizeof *t);
    t->pg = test_store_is_pg();
    if (!t->pg) {
        const char *dir = env("FOTA_TMPDIR");
        snprintf(t->where, sizeof t->where, "%s/%s.%ld.db", dir != NULL ? dir : "/tmp", name,
                 (long)getpid());
        test_remove_db(t->where);
        return;
    }
    snprintf(t->name, sizeof t->name, "fota_%ld_%u", (long)getpid(), ++counter);
    char admin[512], sql[160];
    pg_uri("postgres", admin, sizeof admin);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", t->name);
    if (!run_sql(admin, sql, NULL)) {
        abort(); /* no server: the whole run is void */
    }
    pg_uri(t->name, t->where, sizeof t->where);
}

fota_err_t test_store_open(const test_store_t *t, fotad_store_t *out)
{
    return t->pg ? fotad_store_pg_open(t->where, out)
                 : fotad_store_sqlite_open(t->where, FOTAD_SYNC_NORMAL, out);
}

void test_store_remove(const test_store_t *t)
{
    if (!t->pg) {
        test_remove_db(t->where);
        return;
    }
    char admin[512], sql[160];
    pg_uri("postgres", admin, sizeof admin);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->name);
    run_sql(admin, sql, NULL);
}

void test_store_begin(test_store_t *t, const char *name, fotad_store_t *st)
{
    test_store_fresh(t, name);
    assert_int_equal(test_store_open(t, st), FOTA_OK);
}

void test_store_end(const test_store_t *t, fotad_store_t *st)
{
    fotad_store_close(st);
    test_store_remove(t);
}

void test_store_reopen(const test_store_t *t, fotad_store_t *st)
{
    fotad_store_close(st);
    assert_int_equal(test_store_open(t, st), FOTA_OK);
}

bool test_store_pg_sql(const test_store_t *t, const char *sql)
{
    return t->pg && run_sql(t->where, sql, NULL);
}

long long test_store_pg_number(const test_store_t *t, const char *sql)
{
    long long n = -1;
    return t->pg && run_sql(t->where, sql, &n) ? n : -1;
}

bool test_store_pg_ctl(const char *what)
{
    const char *ctl = env("FOTA_TEST_PG_CTL");
    char cmd[1024];
    if (ctl == NULL) {
        return false;
    }
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", ctl, what);
    return system(cmd) == 0;
}
