/*
 * test_dir.c - a test's own directory under FOTA_TMPDIR and its removal (test_dir.h).
 */
#include "test_dir.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

void test_dir_make(char *dir, size_t cap, const char *name)
{
    const char *base = getenv("FOTA_TMPDIR");
    snprintf(dir, cap, "%s/%s.%ld", base != NULL && *base != '\0' ? base : "/tmp", name,
             (long)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
}

void test_dir_remove(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}
