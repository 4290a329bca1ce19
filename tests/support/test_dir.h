/*
 * test_dir.h - test support: a directory of a test's own under FOTA_TMPDIR (/tmp when unset),
 * named after the test and the process so that parallel runs never share one, and its removal
 * with everything in it.
 */
#ifndef FOTA_TEST_DIR_H
#define FOTA_TEST_DIR_H

#include <stddef.h>

/* Make FOTA_TMPDIR/<name>.<pid> and write its path into dir (cap bytes); the test fails when it
 * cannot be made (one left by an earlier run of the same pid included). */
void test_dir_make(char *dir, size_t cap, const char *name);

/* Remove dir and all it holds; the test fails when it cannot. */
void test_dir_remove(const char *dir);

#endif /* FOTA_TEST_DIR_H */
