/*
 * db_files.c - removing a test's SQLite database and its WAL files (db_files.h).
 */
#include "db_files.h"

#include <stdio.h>
#include <unistd.h>

void test_remove_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}
