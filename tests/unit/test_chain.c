/*
 * test_chain.c - the hash chain: blobs built for image sizes on and off chunk boundaries have
 * the documented layout and a head that matches an independent recomputation from the image;
 * a device-side chain accepts exactly the records of its image, in order, and refuses (leaving
 * its state unchanged) a flipped byte, a swapped pair, a record of another image, a short record,
 * and anything after the last record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mbedtls/md.h>

#include "fota/chain.h"

#define CS 1024u

typedef struct {
    uint8_t *image;
    size_t image_len;
    uint32_t cs;
    size_t n;
    uint8_t *blob;
    size_t blob_len;
    uint8_t h0[32];
} built_t;

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static void build(built_t *b, size_t image_len, uint32_t cs, uint32_t seed)
{
    b->image_len = image_len;
    b->cs = cs;
    b->n = (image_len + cs - 1) / cs;
    b->image = malloc(image_len);
    assert_non_null(b->image);
    fill(b->image, image_len, seed);
    b->blob_len = fota_chain_blob_size(image_len, cs);
    assert_int_equal(b->blob_len, image_len + 32 * b->n);
    b->blob = malloc(b->blob_len);
    assert_non_null(b->blob);
    assert_int_equal(fota_chain_build(b->image, image_len, cs, b->blob, b->blob_len, b->h0),
                     FOTA_OK);
}

static void built_free(built_t *b)
{
    free(b->image);
    free(b->blob);
}

static size_t chunk_len(const built_t *b, size_t i)
{
    return i + 1 < b->n ? b->cs : b->image_len - i * b->cs;
}

static uint8_t *record(const built_t *b, size_t i)
{
    return b->blob + i * (b->cs + 32);
}

static size_t record_len(const built_t *b, size_t i)
{
    return chunk_len(b, i) + 32;
}

/* h_i for every i from the image alone, straight from the definition (h[n] = zeros). */
static uint8_t (*reference_hashes(const built_t *b))[32]
{
    uint8_t(*h)[32] = calloc(b->n + 1, 32);
    assert_non_null(h);
    uint8_t *tmp = malloc(b->cs + 32);
    assert_non_null(tmp);
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    for (size_t i = b->n; i-- > 0;) {
        size_t len = chunk_len(b, i);
        memcpy(tmp, b->image + i * b->cs, len);
        memcpy(tmp + len, h[i + 1], 32);
        assert_int_equal(mbedtls_md(info, tmp, len + 32, h[i]), 0);
    }
    free(tmp);
    return h;
}

/* --- building -------------------------------------------------------------------------------- */

static void check_sizes(size_t image_len, uint32_t cs)
{
    built_t b;
    build(&b, image_len, cs, (uint32_t)image_len);
    uint8_t(*h)[32] = reference_hashes(&b);
    assert_memory_equal(b.h0, h[0], 32);
    for (size_t i = 0; i < b.n; i++) {
        size_t len = chunk_len(&b, i);
        assert_true(len > 0 && len <= cs);
        assert_memory_equal(record(&b, i), b.image + i * cs, len);
        assert_memory_equal(record(&b, i) + len, h[i + 1], 32);
    }
    /* The last record ends the blob, and ends with 32 zero bytes. */
    assert_ptr_equal(record(&b, b.n - 1) + record_len(&b, b.n - 1), b.blob + b.blob_len);
    static const uint8_t zero[32];
    assert_memory_equal(b.blob + b.blob_len - 32, zero, 32);

    fota_chain_t c;
    assert_int_equal(fota_chain_init(&c, b.h0, (uint32_t)b.n), FOTA_OK);
    for (size_t i = 0; i < b.n; i++) {
        assert_false(fota_chain_done(&c));
        assert_int_equal(fota_chain_accept_record(&c, record(&b, i), record_len(&b, i)), FOTA_OK);
        assert_int_equal(c.index, i + 1);
        assert_memory_equal(c.expected, h[i + 1], 32);
    }
    assert_true(fota_chain_done(&c));
    free(h);
    built_free(&b);
}

static void test_sizes_on_and_off_boundaries(void **state)
{
    (void)state;
    const size_t sizes[] = {1, CS - 1, CS, CS + 1, 2 * CS, 65536, 102400, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        check_sizes(sizes[i], CS);
    }
    check_sizes(100000, 256);
    check_sizes(100000, 65536);
    check_sizes(1, 65536);
}

/* The head of a one-chunk image is SHA-256(image || 32 zeros): a value anyone can check. */
static void test_single_chunk_head(void **state)
{
    (void)state;
    uint8_t img[3] = {'a', 'b', 'c'};
    uint8_t blob[35];
    uint8_t h0[32];
    assert_int_equal(fota_chain_build(img, 3, CS, blob, sizeof blob, h0), FOTA_OK);
    /* sha256("abc" || 00 * 32), computed with Python's hashlib */
    const uint8_t want[32] = {0x1b, 0x23, 0xf8, 0x60, 0xdb, 0x9b, 0xd9, 0xec, 0xcc, 0x26, 0xb3,
                              0x6e, 0xaa, 0x3b, 0x6c, 0x22, 0x3e, 0xf3, 0x45, 0x39, 0xcd, 0xef,
                              0x01, 0xb2, 0x40, 0xad, 0x76, 0xee, 0x45, 0xe1, 0x76, 0xc1};
    assert_memory_equal(h0, want, 32);
    assert_memory_equal(blob, "abc", 3);
}

/* image == blob: the builder spreads the image out in place and gets the same blob. */
static void test_build_in_place(void **state)
{
    (void)state;
    built_t b;
    build(&b, 10000, 256, 7);
    uint8_t *buf = malloc(b.blob_len);
    assert_non_null(buf);
    memcpy(buf, b.image, b.image_len);
    uint8_t h0[32];
    assert_int_equal(fota_chain_build(buf, b.image_len, 256, buf, b.blob_len, h0), FOTA_OK);
    assert_memory_equal(h0, b.h0, 32);
    assert_memory_equal(buf, b.blob, b.blob_len);
    free(buf);
    built_free(&b);
}

static void test_build_errors(void **state)
{
    (void)state;
    uint8_t img[2000];
    uint8_t blob[2100];
    uint8_t h0[32];
    fill(img, sizeof img, 1);
    size_t need = fota_chain_blob_size(sizeof img, CS); /* 2000 + 64 */
    assert_int_equal(need, 2064);
    memset(blob, 0xA5, sizeof blob);
    assert_int_equal(fota_chain_build(img, sizeof img, CS, blob, need - 1, h0), FOTA_ERR_RANGE);
    assert_int_equal(fota_chain_build(img, 0, CS, blob, need, h0), FOTA_ERR_ARG);
    assert_int_equal(fota_chain_build(img, sizeof img, 0, blob, need, h0), FOTA_ERR_ARG);
    assert_int_equal(fota_chain_build(NULL, sizeof img, CS, blob, need, h0), FOTA_ERR_ARG);
    assert_int_equal(fota_chain_build(img, sizeof img, CS, NULL, need, h0), FOTA_ERR_ARG);
    assert_int_equal(fota_chain_build(img, sizeof img, CS, blob, need, NULL), FOTA_ERR_ARG);
    /* A bigger buffer is fine, and the bytes past the blob are left alone. */
    assert_int_equal(fota_chain_build(img, sizeof img, CS, blob, sizeof blob, h0), FOTA_OK);
    for (size_t i = need; i < sizeof blob; i++) {
        assert_int_equal(blob[i], 0xA5);
    }
}

static void test_blob_size(void **state)
{
    (void)state;
    assert_int_equal(fota_chain_blob_size(1, CS), 33);
    assert_int_equal(fota_chain_blob_size(CS, CS), CS + 32);
    assert_int_equal(fota_chain_blob_size(CS + 1, CS), CS + 1 + 64);
    assert_int_equal(fota_chain_blob_size(0, CS), 0);
    assert_int_equal(fota_chain_blob_size(CS, 0), 0);
    assert_int_equal(fota_chain_blob_size(SIZE_MAX - 10, 256), 0);
}

/* --- accepting ------------------------------------------------------------------------------- */

/* Feed records 0..upto-1 (all must pass). */
static void feed_prefix(fota_chain_t *c, const built_t *b, size_t upto)
{
    assert_int_equal(fota_chain_init(c, b->h0, (uint32_t)b->n), FOTA_OK);
    for (size_t i = 0; i < upto; i++) {
        assert_int_equal(fota_chain_accept_record(c, record(b, i), record_len(b, i)), FOTA_OK);
    }
}

/* The record must be refused and the chain left exactly as it was. */
static void expect_refused(fota_chain_t *c, const uint8_t *rec, size_t len)
{
    fota_chain_t before = *c;
    assert_int_equal(fota_chain_accept_record(c, rec, len), FOTA_ERR_CHAIN_MISMATCH);
    assert_memory_equal(c, &before, sizeof before);
}

/* Every single byte of every record of a small image, flipped, is refused where it belongs. */
static void test_every_flipped_byte_refused(void **state)
{
    (void)state;
    built_t b;
    build(&b, 700, 256, 3); /* records of 288, 288, 220 bytes */
    uint8_t rec[256 + 32];
    fota_chain_t c;
    for (size_t i = 0; i < b.n; i++) {
        feed_prefix(&c, &b, i);
        size_t len = record_len(&b, i);
        for (size_t j = 0; j < len; j++) {
            memcpy(rec, record(&b, i), len);
            rec[j] ^= (uint8_t)(1u << (j % 8));
            expect_refused(&c, rec, len);
        }
        /* ...and the genuine record is still accepted afterwards. */
        assert_int_equal(fota_chain_accept_record(&c, record(&b, i), len), FOTA_OK);
    }
    assert_true(fota_chain_done(&c));
    built_free(&b);
}

/* In a big image, a flip at the edges of each record (first, last chunk byte, hash) is refused. */
static void test_flips_in_big_image(void **state)
{
    (void)state;
    built_t b;
    build(&b, 102400 + 77, CS, 4);
    uint8_t rec[CS + 32];
    fota_chain_t c;
    feed_prefix(&c, &b, 0);
    for (size_t i = 0; i < b.n; i++) {
        size_t len = record_len(&b, i);
        const size_t pos[4] = {0, len - 33, len - 32, len - 1};
        for (size_t k = 0; k < 4; k++) {
            memcpy(rec, record(&b, i), len);
            rec[pos[k]] ^= 0x40;
            expect_refused(&c, rec, len);
        }
        assert_int_equal(fota_chain_accept_record(&c, record(&b, i), len), FOTA_OK);
    }
    assert_true(fota_chain_done(&c));
    built_free(&b);
}

static void test_swapped_records_refused(void **state)
{
    (void)state;
    built_t b;
    build(&b, 10 * CS + 5, CS, 5);
    fota_chain_t c;
    for (size_t i = 0; i + 1 < b.n; i++) {
        feed_prefix(&c, &b, i);
        expect_refused(&c, record(&b, i + 1), record_len(&b, i + 1)); /* i+1 before i */
        assert_int_equal(fota_chain_accept_record(&c, record(&b, i), record_len(&b, i)), FOTA_OK);
        if (i + 2 < b.n) {
            expect_refused(&c, record(&b, i + 2), record_len(&b, i + 2)); /* skip one */
        }
        /* the same record twice (a replay) */
        expect_refused(&c, record(&b, i), record_len(&b, i));
    }
    built_free(&b);
}

static void test_other_image_refused(void **state)
{
    (void)state;
    built_t a, b;
    build(&a, 8 * CS, CS, 10);
    build(&b, 8 * CS, CS, 11); /* same size, other bytes */
    fota_chain_t c;
    for (size_t i = 0; i < a.n; i++) {
        feed_prefix(&c, &a, i);
        expect_refused(&c, record(&b, i), record_len(&b, i));
        /* b's chunk with a's correct next hash: still refused */
        uint8_t rec[CS + 32];
        memcpy(rec, record(&b, i), CS);
        memcpy(rec + CS, record(&a, i) + CS, 32);
        expect_refused(&c, rec, sizeof rec);
    }
    built_free(&a);
    built_free(&b);
}

static void test_short_and_long_records_refused(void **state)
{
    (void)state;
    built_t b;
    build(&b, 3 * CS, CS, 12);
    fota_chain_t c;
    feed_prefix(&c, &b, 1);
    uint8_t rec[CS + 33];
    memcpy(rec, record(&b, 1), CS + 32);
    rec[CS + 32] = 0;
    expect_refused(&c, rec + 1, CS + 31);            /* one byte short at the front */
    expect_refused(&c, rec, CS + 33);                /* one byte too many */
    expect_refused(&c, record(&b, 1), CS + 32 + 32); /* next record's start glued on */
    assert_int_equal(fota_chain_accept_record(&c, rec, 32), FOTA_ERR_ARG);
    assert_int_equal(c.index, 1);
    built_free(&b);
}

static void test_done_only_after_last(void **state)
{
    (void)state;
    built_t b;
    build(&b, 3 * CS + 1, CS, 13);
    fota_chain_t c;
    assert_false(fota_chain_done(NULL));
    assert_false(fota_chain_at_end(NULL));
    feed_prefix(&c, &b, b.n - 1);
    assert_false(fota_chain_done(&c));
    assert_false(fota_chain_at_end(&c));
    /* Set to its count without the records (as the agent does to re-verify a slot): done, but
     * not at h_N. */
    fota_chain_t jumped;
    assert_int_equal(fota_chain_init(&jumped, b.h0, (uint32_t)b.n), FOTA_OK);
    jumped.index = jumped.count;
    assert_true(fota_chain_done(&jumped));
    assert_false(fota_chain_at_end(&jumped));
    assert_int_equal(fota_chain_accept_record(&c, record(&b, b.n - 1), record_len(&b, b.n - 1)),
                     FOTA_OK);
    assert_true(fota_chain_done(&c));
    assert_true(fota_chain_at_end(&c));
    /* One byte of h_N not zero: not at the end. */
    c.expected[31] = 1;
    assert_false(fota_chain_at_end(&c));
    c.expected[31] = 0;
    /* Nothing is accepted after the last record, not even the last one again. */
    fota_chain_t before = c;
    assert_int_equal(fota_chain_accept_record(&c, record(&b, b.n - 1), record_len(&b, b.n - 1)),
                     FOTA_ERR_STATE);
    assert_memory_equal(&c, &before, sizeof c);
    built_free(&b);
}

/* A chain told it has fewer records than were built must refuse to end on a non-zero hash. */
static void test_last_record_must_end_in_zeros(void **state)
{
    (void)state;
    built_t b;
    build(&b, 4 * CS, CS, 14);
    fota_chain_t c;
    assert_int_equal(fota_chain_init(&c, b.h0, 2), FOTA_OK);
    assert_int_equal(fota_chain_accept_record(&c, record(&b, 0), record_len(&b, 0)), FOTA_OK);
    expect_refused(&c, record(&b, 1), record_len(&b, 1));
    assert_false(fota_chain_done(&c));
    assert_int_equal(fota_chain_init(&c, b.h0, 0), FOTA_ERR_ARG);
    built_free(&b);
}

/* The three ways in (separate chunk and hash, caller's md context, whole record) agree, and a
 * copy of the state (as the journal keeps it) carries on where the original stopped. */
static void test_accept_variants_and_resume(void **state)
{
    (void)state;
    built_t b;
    build(&b, 5 * CS + 300, CS, 15);
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    assert_int_equal(mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1), 0);
    fota_chain_t c;
    assert_int_equal(fota_chain_init(&c, b.h0, (uint32_t)b.n), FOTA_OK);
    uint8_t chunk[CS];
    uint8_t next[32];
    for (size_t i = 0; i < b.n; i++) {
        size_t len = chunk_len(&b, i);
        memcpy(chunk, record(&b, i), len); /* not contiguous with next */
        memcpy(next, record(&b, i) + len, 32);
        if (i == 3) {
            fota_chain_t saved = c; /* power cut: restore from the journal copy */
            memset(&c, 0xEE, sizeof c);
            c = saved;
        }
        fota_chain_t before = c;
        next[0] ^= 1;
        assert_int_equal(fota_chain_accept(&c, chunk, len, next), FOTA_ERR_CHAIN_MISMATCH);
        assert_int_equal(fota_chain_accept_md(&c, &md, chunk, len, next), FOTA_ERR_CHAIN_MISMATCH);
        assert_memory_equal(&c, &before, sizeof c);
        next[0] ^= 1;
        if (i % 2 == 0) {
            assert_int_equal(fota_chain_accept(&c, chunk, len, next), FOTA_OK);
        } else {
            assert_int_equal(fota_chain_accept_md(&c, &md, chunk, len, next), FOTA_OK);
        }
    }
    assert_true(fota_chain_done(&c));
    assert_int_equal(fota_chain_accept_md(&c, NULL, chunk, 1, next), FOTA_ERR_ARG);
    assert_int_equal(fota_chain_accept(&c, NULL, 1, next), FOTA_ERR_ARG);
    mbedtls_md_free(&md);
    built_free(&b);
}

static void test_hash_link(void **state)
{
    (void)state;
    built_t b;
    build(&b, 2 * CS, CS, 16);
    uint8_t h1[32];
    uint8_t h0[32];
    static const uint8_t zero[32];
    assert_int_equal(fota_chain_hash(b.image + CS, CS, zero, h1), FOTA_OK);
    assert_int_equal(fota_chain_hash(b.image, CS, h1, h0), FOTA_OK);
    assert_memory_equal(h0, b.h0, 32);
    assert_memory_equal(record(&b, 0) + CS, h1, 32);
    built_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_on_and_off_boundaries),
        cmocka_unit_test(test_single_chunk_head),
        cmocka_unit_test(test_build_in_place),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_blob_size),
        cmocka_unit_test(test_every_flipped_byte_refused),
        cmocka_unit_test(test_flips_in_big_image),
        cmocka_unit_test(test_swapped_records_refused),
        cmocka_unit_test(test_other_image_refused),
        cmocka_unit_test(test_short_and_long_records_refused),
        cmocka_unit_test(test_done_only_after_last),
        cmocka_unit_test(test_last_record_must_end_in_zeros),
        cmocka_unit_test(test_accept_variants_and_resume),
        cmocka_unit_test(test_hash_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
