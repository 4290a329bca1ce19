/*
 * db_files.h - test support: a SQLite database file left by a test, removed with its -wal and
 * -shm companions (fotad's store runs in WAL mode).
 */
#ifndef FOTA_TEST_DB_FILES_H
#define FOTA_TEST_DB_FILES_H

void test_remove_db(const char *path);

#endif /* FOTA_TEST_DB_FILES_H */
