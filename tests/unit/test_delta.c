/*
 * test_delta.c - delta patches: the maker (host/delta_create.c) and the applier
 * (agent/src/delta.c) together on image pairs shaped like firmware releases (code moved by an
 * insertion, pointers into it shifted, a function changed, a block removed), a restart at every
 * segment as after a power cut, and damaged or hostile patches refused with their errors
 * without a read outside the old image or a write outside the new one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/delta.h"
#include "fota/host/delta_create.h"

typedef struct {
    const uint8_t *old;
    uint32_t old_len;
    uint8_t *out;
    uint32_t out_cap;
    uint32_t lowest_write; /* the lowest offset written since the last reset */
    uint32_t writes;
} io_ctx_t;

static fota_err_t read_old(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    io_ctx_t *c = ctx;
    assert_true(off <= c->old_len && len <= c->old_len - off);
    memcpy(buf, c->old + off, len);
    return FOTA_OK;
}

static fota_err_t write_new(void *ctx, uint32_t off, const uint8_t *buf, size_t len)
{
    io_ctx_t *c = ctx;
    assert_true(off <= c->out_cap && len <= c->out_cap - off);
    memcpy(c->out + off, buf, len);
    c->lowest_write = off < c->lowest_write ? off : c->lowest_write;
    c->writes++;
    return FOTA_OK;
}

/* The I/O of an applier reading p's old image and writing into out (cap bytes). */
#define IO_CTX(p, out_, cap)                                                                       \
    {                                                                                              \
        .old = (p)->old, .old_len = (uint32_t)(p)->old_len, .out = (out_),                         \
        .out_cap = (uint32_t)(cap), .lowest_write = UINT32_MAX                                     \
    }

static uint32_t rnd_state = 12345u;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

/* An "old firmware": code-like bytes (a small alphabet of instruction words) and a table of
 * 32-bit pointers into it. */
static uint8_t *make_old(size_t len)
{
    uint8_t *b = malloc(len);
    assert_non_null(b);
    static const uint16_t words[] = {0x4770, 0xb510, 0xbd10, 0x2000, 0x6803, 0x4618, 0xf000,
                                     0xe7fe, 0x3001, 0x2b00, 0xd1fa, 0x4b02, 0x681b, 0x0000};
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint16_t w = rnd() % 4 == 0 ? (uint16_t)rnd() : words[rnd() % 14];
        b[i] = (uint8_t)w;
        b[i + 1] = (uint8_t)(w >> 8);
    }
    for (size_t i = len * 3 / 4; i + 4 <= len; i += 4) { /* the pointer table */
        uint32_t p = 0x08000000u + (rnd() % (uint32_t)(len / 2)) * 2u;
        memcpy(b + i, &p, 4);
    }
    return b;
}

/* The "next release": 1.5 KB of new code inserted at a third (the code after it moves), every
 * pointer past the insertion shifted, a few hundred bytes rewritten, 700 bytes removed. */
static uint8_t *make_new(const uint8_t *old, size_t old_len, size_t *new_len)
{
    size_t ins = old_len / 3, ins_len = 1536, del = old_len / 2, del_len = 700;
    uint8_t *b = malloc(old_len + ins_len);
    assert_non_null(b);
    size_t n = 0;
    memcpy(b, old, ins);
    n = ins;
    for (size_t i = 0; i < ins_len; i++) {
        b[n++] = (uint8_t)rnd();
    }
    memcpy(b + n, old + ins, del - ins);
    n += del - ins;
    memcpy(b + n, old + del + del_len, old_len - del - del_len);
    n += old_len - del - del_len;
    for (size_t i = n * 3 / 4 + ins_len - del_len; i + 4 <= n; i += 4) {
        uint32_t p;
        memcpy(&p, b + i, 4);
        if (p >= 0x08000000u + ins) {
            p += (uint32_t)ins_len;
            memcpy(b + i, &p, 4);
        }
    }
    for (size_t i = 0; i < 300; i++) {
        b[old_len / 8 + i] ^= (uint8_t)(rnd() | 1u);
    }
    *new_len = n;
    return b;
}

typedef struct {
    uint8_t *old, *nw, *patch;
    size_t old_len, new_len, patch_len;
    uint32_t record_size;
} pair_t;

/* segment_records 0: the default. */
static void pair_make(pair_t *p, size_t old_len, uint32_t segment_records)
{
    rnd_state = 12345u;
    p->old_len = old_len;
    p->old = make_old(old_len);
    p->nw = make_new(p->old, old_len, &p->new_len);
    fota_delta_opts_t o = fota_delta_opts_default();
    o.segment_records = segment_records ? segment_records : o.segment_records;
    o.record_size = 256;
    p->record_size = o.record_size;
    assert_int_equal(
        fota_delta_create(p->old, p->old_len, p->nw, p->new_len, &o, &p->patch, &p->patch_len),
        FOTA_OK);
}

static void pair_free(pair_t *p)
{
    free(p->old);
    free(p->nw);
    free(p->patch);
}

static size_t n_records(const pair_t *p)
{
    size_t body = p->patch_len - FOTA_DELTA_HEADER_LEN;
    return (body + p->record_size - 1) / p->record_size;
}

static const uint8_t *record(const pair_t *p, size_t i, size_t *len)
{
    size_t at = FOTA_DELTA_HEADER_LEN + i * p->record_size;
    *len = p->patch_len - at < p->record_size ? p->patch_len - at : p->record_size;
    return p->patch + at;
}

static bool is_seg(const pair_t *p, size_t i)
{
    size_t len;
    const uint8_t *r = record(p, i, &len);
    return fota_delta_is_segment_start(r, len);
}

static bool seg_at(const pair_t *p, size_t i, uint32_t *at)
{
    size_t len;
    const uint8_t *r = record(p, i, &len);
    return fota_delta_segment_at(r, len, at);
}

static fota_err_t apply_one(fota_delta_t *d, const pair_t *p, size_t i, const fota_delta_io_t *io)
{
    size_t len;
    const uint8_t *r = record(p, i, &len);
    return fota_delta_record(d, r, len, 0, io);
}

/* Apply records [from, to) with `keep`; the first error, or FOTA_OK. */
static fota_err_t apply(fota_delta_t *d, const pair_t *p, size_t from, size_t to, uint32_t keep,
                        const fota_delta_io_t *io)
{
    for (size_t i = from; i < to; i++) {
        size_t len = 0;
        const uint8_t *r = record(p, i, &len);
        fota_err_t err = fota_delta_record(d, r, len, keep, io);
        if (err != FOTA_OK) {
            return err;
        }
    }
    return FOTA_OK;
}

static void test_roundtrip(void **state)
{
    (void)state;
    pair_t p;
    pair_make(&p, 256 * 1024, 0);
    /* A patch far smaller than the image: the changes are a few KB. */
    assert_true(p.patch_len < p.new_len / 10);
    static fota_delta_t d;
    assert_int_equal(fota_delta_begin(&d, p.patch, p.patch_len, (uint32_t)p.old_len), FOTA_OK);
    uint8_t *out = calloc(1, p.new_len);
    io_ctx_t c = IO_CTX(&p, out, p.new_len);
    fota_delta_io_t io = {.ctx = &c, .read_old = read_old, .write_new = write_new};
    assert_int_equal(apply(&d, &p, 0, n_records(&p), 0, &io), FOTA_OK);
    assert_true(fota_delta_done(&d));
    assert_memory_equal(out, p.nw, p.new_len);
    free(out);
    pair_free(&p);
}

/* A power cut after any record: the update resumes at the last segment start at or before the
 * sector under way (what the journal keeps), with what is in flash below that sector kept
 * (decoded, not written), and ends on the new image. */
static void test_restart_anywhere(void **state)
{
    (void)state;
    pair_t p;
    pair_make(&p, 192 * 1024, 1);
    size_t n = n_records(&p);
    static fota_delta_t d;
    uint8_t *out = calloc(1, p.new_len);
    for (size_t cut = 1; cut < n; cut++) {
        io_ctx_t c = IO_CTX(&p, out, p.new_len);
        fota_delta_io_t io = {.ctx = &c, .read_old = read_old, .write_new = write_new};
        memset(out, 0, p.new_len);
        assert_int_equal(fota_delta_begin(&d, p.patch, p.patch_len, (uint32_t)p.old_len), FOTA_OK);
        assert_int_equal(apply(&d, &p, 0, cut, 0, &io), FOTA_OK);
        uint32_t keep = d.new_pos / 4096u * 4096u; /* the sector under way is erased and redone */
        memset(out + keep, 0xA5, p.new_len - keep);
        size_t from = cut;
        uint32_t at = UINT32_MAX;
        while (from-- > 0 && !(seg_at(&p, from, &at) && at <= keep)) {
        }
        assert_true(at <= keep);
        fota_delta_restart(&d);
        c.lowest_write = UINT32_MAX;
        assert_int_equal(apply(&d, &p, from, n, keep, &io), FOTA_OK);
        assert_true(fota_delta_done(&d));
        assert_true(c.lowest_write >= keep);
        assert_memory_equal(out, p.nw, p.new_len);
    }
    assert_true(n > 4);
    free(out);
    pair_free(&p);
}

static void test_header_refused(void **state)
{
    (void)state;
    pair_t p;
    pair_make(&p, 64 * 1024, 0);
    static fota_delta_t d;
    uint8_t h[FOTA_DELTA_HEADER_LEN];
    memcpy(h, p.patch, sizeof h);
    assert_int_equal(fota_delta_begin(&d, h, sizeof h, (uint32_t)p.old_len - 1),
                     FOTA_ERR_DELTA_SOURCE);
    assert_int_equal(fota_delta_begin(&d, h, sizeof h - 1, (uint32_t)p.old_len),
                     FOTA_ERR_DELTA_FORMAT);
    h[0] = 'X';
    assert_int_equal(fota_delta_begin(&d, h, sizeof h, (uint32_t)p.old_len), FOTA_ERR_DELTA_FORMAT);
    memcpy(h, p.patch, sizeof h);
    memset(h + 12, 0, 4); /* record size 0 */
    assert_int_equal(fota_delta_begin(&d, h, sizeof h, (uint32_t)p.old_len), FOTA_ERR_DELTA_FORMAT);
    pair_free(&p);
}

static fota_err_t run_all(const pair_t *p, uint8_t *out, size_t out_cap)
{
    static fota_delta_t d;
    io_ctx_t c = IO_CTX(p, out, out_cap);
    fota_delta_io_t io = {.ctx = &c, .read_old = read_old, .write_new = write_new};
    fota_err_t err = fota_delta_begin(&d, p->patch, p->patch_len, (uint32_t)p->old_len);
    return err == FOTA_OK ? apply(&d, p, 0, n_records(p), 0, &io) : err;
}

/* Records out of order, cut short, claiming too much, or reading outside the old image. */
static void test_hostile_records(void **state)
{
    (void)state;
    pair_t p;
    pair_make(&p, 128 * 1024, 2);
    uint8_t *out = calloc(1, p.new_len);
    static fota_delta_t d;
    io_ctx_t c = IO_CTX(&p, out, p.new_len);
    fota_delta_io_t io = {.ctx = &c, .read_old = read_old, .write_new = write_new};
    size_t len = 0;

    /* A record that does not start a segment, first. */
    assert_int_equal(fota_delta_begin(&d, p.patch, p.patch_len, (uint32_t)p.old_len), FOTA_OK);
    size_t second = 1;
    while (is_seg(&p, second)) {
        second++;
    }
    assert_int_equal(apply_one(&d, &p, second, &io), FOTA_ERR_DELTA_ORDER);

    /* A segment start that is not where the last record ended (a record skipped). */
    size_t seg2 = 1;
    while (!is_seg(&p, seg2)) {
        seg2++;
    }
    /* ... and, first of all, a segment start past byte 0: the image's start would be missing. */
    assert_int_equal(fota_delta_begin(&d, p.patch, p.patch_len, (uint32_t)p.old_len), FOTA_OK);
    assert_int_equal(apply_one(&d, &p, seg2, &io), FOTA_ERR_DELTA_ORDER);
    assert_int_equal(fota_delta_begin(&d, p.patch, p.patch_len, (uint32_t)p.old_len), FOTA_OK);
    assert_int_equal(apply(&d, &p, 0, seg2 - 1, 0, &io), FOTA_OK);
    assert_int_equal(apply_one(&d, &p, seg2, &io), FOTA_ERR_DELTA_ORDER);

    /* The first record cut short: its coded bytes end before its output. */
    assert_int_equal(fota_delta_begin(&d, p.patch, p.patch_len, (uint32_t)p.old_len), FOTA_OK);
    const uint8_t *r0 = record(&p, 0, &len);
    assert_int_equal(fota_delta_record(&d, r0, 40, 0, &io), FOTA_ERR_DELTA_CORRUPT);

    /* Flags with unknown bits. */
    uint8_t *bad = malloc(p.record_size);
    memcpy(bad, r0, len);
    bad[0] |= 0x80;
    assert_int_equal(fota_delta_begin(&d, p.patch, p.patch_len, (uint32_t)p.old_len), FOTA_OK);
    assert_int_equal(fota_delta_record(&d, bad, len, 0, &io), FOTA_ERR_DELTA_CORRUPT);
    /* A segment start whose old position is past the old image. */
    size_t at = 1;
    while (r0[at] & 0x80) { /* output length */
        at++;
    }
    at++;
    assert_int_equal(r0[at], 0); /* new position 0 */
    at++;
    size_t k = at;
    uint32_t v = (uint32_t)p.old_len + 1;
    memcpy(bad, r0, at);
    do { /* LEB128 of old_len + 1 in place of the old position */
        uint8_t b = v & 0x7f;
        v >>= 7;
        bad[k++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    while (r0[at] & 0x80) {
        at++;
    }
    at++;
    size_t rest = len - at < p.record_size - k ? len - at : p.record_size - k;
    memcpy(bad + k, r0 + at, rest);
    assert_int_equal(fota_delta_begin(&d, p.patch, p.patch_len, (uint32_t)p.old_len), FOTA_OK);
    assert_int_equal(fota_delta_record(&d, bad, k + rest, 0, &io), FOTA_ERR_DELTA_OLD_RANGE);
    free(bad);

    /* The header claims a smaller new image: an operation runs past its end. */
    uint8_t *shrunk = malloc(p.patch_len);
    memcpy(shrunk, p.patch, p.patch_len);
    uint32_t smaller = (uint32_t)p.new_len / 2;
    memcpy(shrunk + 4, &smaller, 4);
    pair_t q = p;
    q.patch = shrunk;
    fota_err_t err = run_all(&q, out, p.new_len);
    assert_int_equal(err, FOTA_ERR_DELTA_LENGTH);
    free(shrunk);
    free(out);
    pair_free(&p);
}

/* Every byte of a patch flipped in turn (a sample of positions): never a read or write out of
 * bounds (the I/O functions assert it), an error or a wrong image but never a crash. */
static void test_flipped_bytes(void **state)
{
    (void)state;
    pair_t p;
    pair_make(&p, 32 * 1024, 1);
    uint8_t *out = calloc(1, p.new_len);
    uint8_t *orig = malloc(p.patch_len);
    memcpy(orig, p.patch, p.patch_len);
    unsigned errors = 0;
    for (size_t i = FOTA_DELTA_HEADER_LEN; i < p.patch_len; i += 7) {
        memcpy(p.patch, orig, p.patch_len);
        p.patch[i] ^= (uint8_t)(1u << (i % 8));
        errors += run_all(&p, out, p.new_len) != FOTA_OK;
    }
    assert_true(errors > 0);
    free(orig);
    free(out);
    pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_restart_anywhere),
        cmocka_unit_test(test_header_refused), cmocka_unit_test(test_hostile_records),
        cmocka_unit_test(test_flipped_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
