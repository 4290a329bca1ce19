/*
 * test_fotad_objstore.c - fotad's object files (server/objstore.c): content-addressed writes,
 * and the shared source that several fotad on one database use instead of a shared file
 * system: put writes through to it, ensure fetches what this node lacks, checks the bytes against
 * the object's name and caches them. The source here is an in-memory table behind the
 * fotad_object_source_t port, as the database backend fills it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ident.h"
#include "objstore.h"

#define MAX_OBJECTS 4

typedef struct {
    char hex[MAX_OBJECTS][FOTAD_SHA256_HEX + 1];
    uint8_t *data[MAX_OBJECTS];
    size_t len[MAX_OBJECTS];
    size_t n;
    unsigned puts, fetches;
    int corrupt; /* fetch flips a byte of what it returns */
} table_t;

static fota_err_t table_put(void *ctx, const char *hex, const uint8_t *data, size_t len)
{
    table_t *t = ctx;
    t->puts++;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->hex[i], hex) == 0) {
            return FOTA_OK;
        }
    }
    assert_true(t->n < MAX_OBJECTS);
    strcpy(t->hex[t->n], hex);
    t->data[t->n] = malloc(len);
    memcpy(t->data[t->n], data, len);
    t->len[t->n++] = len;
    return FOTA_OK;
}

static fota_err_t table_fetch(void *ctx, const char *hex, uint8_t **data, size_t *len)
{
    table_t *t = ctx;
    t->fetches++;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->hex[i], hex) == 0) {
            *data = malloc(t->len[i]);
            memcpy(*data, t->data[i], t->len[i]);
            (*data)[0] ^= (uint8_t)t->corrupt;
            *len = t->len[i];
            return FOTA_OK;
        }
    }
    return FOTA_ERR_NOT_FOUND;
}

typedef struct {
    char dir[2][256];
    fotad_objstore_t *node[2]; /* two fotad, each its own directory */
    table_t table;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    const char *base = getenv("FOTA_TMPDIR");
    for (int i = 0; i < 2; i++) {
        snprintf(f.dir[i], sizeof f.dir[i], "%s/test_fotad_objstore.%ld.%d",
                 base != NULL && *base != '\0' ? base : "/tmp", (long)getpid(), i);
        assert_int_equal(mkdir(f.dir[i], 0700), 0);
        assert_int_equal(fotad_objstore_open(f.dir[i], &f.node[i]), FOTA_OK);
    }
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 2; i++) {
        fotad_objstore_close(f->node[i]);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir[i]);
        assert_int_equal(system(cmd), 0);
    }
    for (size_t i = 0; i < f->table.n; i++) {
        free(f->table.data[i]);
    }
    return 0;
}

static void share(fixture_t *f)
{
    fotad_object_source_t src = {&f->table, table_put, table_fetch};
    fotad_objstore_set_source(f->node[0], &src);
    fotad_objstore_set_source(f->node[1], &src);
}

/* Put `text` on node 0; its name into hex. */
static void put_text(fixture_t *f, const char *text, char hex[FOTAD_SHA256_HEX + 1])
{
    uint8_t digest[32];
    fotad_sha256(text, strlen(text), digest);
    fotad_hex(digest, 32, hex);
    assert_int_equal(fotad_objstore_put(f->node[0], digest, text, strlen(text)), FOTA_OK);
}

/* The bytes of object hex in node i's directory ("" when absent). */
static void read_local(const fixture_t *f, int i, const char *hex, char *out, size_t cap)
{
    char path[512];
    assert_int_equal(fotad_objstore_path(f->node[i], hex, path, sizeof path), FOTA_OK);
    FILE *fp = fopen(path, "rb");
    size_t n = fp != NULL ? fread(out, 1, cap - 1, fp) : 0;
    out[n] = '\0';
    if (fp != NULL) {
        fclose(fp);
    }
}

static void test_alone(void **state)
{
    fixture_t *f = *state;
    char hex[FOTAD_SHA256_HEX + 1], got[64];
    put_text(f, "firmware bytes", hex);
    read_local(f, 0, hex, got, sizeof got);
    assert_string_equal(got, "firmware bytes");
    assert_int_equal(fotad_objstore_ensure(f->node[0], hex), FOTA_OK);
    /* Without a source another node has nowhere to get it from. */
    assert_int_equal(fotad_objstore_ensure(f->node[1], hex), FOTA_ERR_NOT_FOUND);
    assert_int_equal(f->table.puts, 0);
}

static void test_shared(void **state)
{
    fixture_t *f = *state;
    share(f);
    char hex[FOTAD_SHA256_HEX + 1], got[64];
    put_text(f, "release blob", hex);
    assert_int_equal(f->table.puts, 1); /* written through */
    read_local(f, 1, hex, got, sizeof got);
    assert_string_equal(got, ""); /* node 1 has no copy yet */
    assert_int_equal(fotad_objstore_ensure(f->node[1], hex), FOTA_OK);
    assert_int_equal(f->table.fetches, 1);
    read_local(f, 1, hex, got, sizeof got);
    assert_string_equal(got, "release blob");
    /* Cached: the next ensure reads nothing from the database. */
    assert_int_equal(fotad_objstore_ensure(f->node[1], hex), FOTA_OK);
    assert_int_equal(f->table.fetches, 1);
    /* An object nobody has. */
    char none[FOTAD_SHA256_HEX + 1];
    memset(none, 'a', FOTAD_SHA256_HEX);
    none[FOTAD_SHA256_HEX] = '\0';
    assert_int_equal(fotad_objstore_ensure(f->node[1], none), FOTA_ERR_NOT_FOUND);
}

static void test_corrupt_copy_refused(void **state)
{
    fixture_t *f = *state;
    share(f);
    char hex[FOTAD_SHA256_HEX + 1], got[64];
    put_text(f, "signed image", hex);
    f->table.corrupt = 0x01;
    assert_int_equal(fotad_objstore_ensure(f->node[1], hex), FOTA_ERR_IO);
    read_local(f, 1, hex, got, sizeof got);
    assert_string_equal(got, ""); /* nothing cached */
    f->table.corrupt = 0;
    assert_int_equal(fotad_objstore_ensure(f->node[1], hex), FOTA_OK);
    read_local(f, 1, hex, got, sizeof got);
    assert_string_equal(got, "signed image");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_copy_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
