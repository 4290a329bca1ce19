/*
 * store_backend.h - test support: the store a fotad unit test runs on. By default SQLite, in a
 * file under FOTA_TMPDIR; under tests/support/with-postgres (FOTA_TEST_PG_HOST set) PostgreSQL,
 * in a new database of that test's own server. ctest runs the store, rollout and product tests
 * once each way, so every case of theirs holds for both backends. Not for tests that are about
 * one backend's files.
 */
#ifndef FOTA_TEST_STORE_BACKEND_H
#define FOTA_TEST_STORE_BACKEND_H

#include <stdbool.h>

#include "store.h"

typedef struct {
    bool pg;
    char where[512]; /* SQLite: the file; PostgreSQL: the database's URI */
    char name[64];   /* PostgreSQL: the database's name */
} test_store_t;

/* Whether this run is the PostgreSQL one. */
bool test_store_is_pg(void);

/* A new, empty place for a store, named after `name` (and the process): the SQLite file (any
 * old one removed), or a new PostgreSQL database. */
void test_store_fresh(test_store_t *t, const char *name);

/* Open the store there (the backend's open; FOTA_OK or its error). */
fota_err_t test_store_open(const test_store_t *t, fotad_store_t *out);

/* Remove the place (the file and its WAL; the database). The store must be closed. */
void test_store_remove(const test_store_t *t);

/* A store test's setup and teardown: a fresh place named after `name` with the store open on it
 * in *st (the test fails when it cannot be opened); then the store closed and the place removed. */
void test_store_begin(test_store_t *t, const char *name, fotad_store_t *st);
void test_store_end(const test_store_t *t, fotad_store_t *st);

/* Close the store in *st and open it again on the same place (the test fails when it cannot). */
void test_store_reopen(const test_store_t *t, fotad_store_t *st);

/* PostgreSQL runs: SQL without values on the test's database (true when it succeeded), and one
 * number its first row's first column gives (-1 if none). */
bool test_store_pg_sql(const test_store_t *t, const char *sql);
long long test_store_pg_number(const test_store_t *t, const char *sql);

/* PostgreSQL runs: stop or start the server (FOTA_TEST_PG_CTL); true when it did. */
bool test_store_pg_ctl(const char *what);

#endif /* FOTA_TEST_STORE_BACKEND_H */
