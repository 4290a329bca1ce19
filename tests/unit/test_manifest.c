/*
 * test_manifest.c - the signed release manifest: exact byte layout, strict parsing (each error
 * code from a crafted input), geometry rules, signature verification (every single-byte flip of
 * a signed manifest is refused, wrong keys are refused), product check, and a known-answer
 * manifest signed by OpenSSL from an independent Python encoder (docs/MANIFEST.md).
 *
 * Keys here are made with mbedTLS directly, not with host/keys.c, so the core is tested
 * on its own (test_keys.c covers the host signer). The mbedTLS headers and library must be the
 * same version, and the one FOTA_EXPECT_MBEDTLS names when set (tests/tools/test_mbedtls36.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>

#include "fota/bytes.h"
#include "fota/chain.h"
#include "fota/manifest.h"

/* --- a known answer, made outside this code base ------------------------------------------- */

/* OpenSSL-generated P-256 public key (DER SubjectPublicKeyInfo); SHA-256 of it starts 7bdb30ef. */
static const uint8_t kv_pub_der[91] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x3c, 0x22, 0x6b, 0xe7, 0xac,
    0xa1, 0x54, 0xff, 0x33, 0xd5, 0x1d, 0x9f, 0x12, 0x04, 0x54, 0x54, 0x46, 0x8d, 0xbb, 0xd1, 0x8a,
    0xd5, 0xa1, 0x25, 0xb1, 0xca, 0xd2, 0x00, 0xba, 0xce, 0xeb, 0xf4, 0x41, 0x63, 0x64, 0xbd, 0x1d,
    0x2c, 0x32, 0x0d, 0x20, 0x2e, 0x3a, 0xd6, 0xb2, 0x54, 0xea, 0xe8, 0x2f, 0xfe, 0x28, 0x84, 0x37,
    0xa3, 0x75, 0x84, 0xdb, 0x2a, 0x69, 0xc3, 0x9a, 0x7b, 0xbb, 0x07};

static const char kv_pub_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPCJr56yhVP8z1R2fEgRUVEaNu9GK\n"
    "1aElscrSALrO6/RBY2S9HSwyDSAuOtayVOroL/4ohDejdYTbKmnDmnu7Bw==\n"
    "-----END PUBLIC KEY-----\n";

static const uint8_t kv_key_id[8] = {0x7b, 0xdb, 0x30, 0xef, 0x81, 0xf7, 0xfc, 0xcf};

/* Manifest for the 3000-byte image kv_image() in 1024-byte chunks, product "esp32-inverter",
 * version "1.2.3", security version 2, created 1700000000; encoded with Python's struct, the
 * chain computed with hashlib, signed with `openssl dgst -sha256 -sign`. */
static const uint8_t kv_manifest[256] = {
    0x46, 0x4f, 0x54, 0x4d, 0x01, 0x00, 0xb0, 0x00, 0x65, 0x73, 0x70, 0x33, 0x32, 0x2d, 0x69, 0x6e,
    0x76, 0x65, 0x72, 0x74, 0x65, 0x72, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x31, 0x2e, 0x32, 0x2e, 0x33, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xb8, 0x0b, 0x00, 0x00,
    0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0xf5, 0x41, 0x87, 0x41, 0x01, 0x87, 0x62, 0x55,
    0xb4, 0xba, 0xf3, 0xa7, 0x39, 0x77, 0x8d, 0x04, 0xcb, 0x9c, 0xba, 0x25, 0xff, 0xa3, 0x8b, 0x30,
    0xbc, 0x1f, 0xb8, 0xb0, 0x70, 0x1f, 0x2a, 0x45, 0x70, 0x56, 0xbb, 0x8f, 0x77, 0x18, 0x93, 0x5e,
    0x15, 0x85, 0x02, 0x3f, 0x88, 0x1e, 0xb0, 0x29, 0xe5, 0xb3, 0xf5, 0x9d, 0x64, 0xd5, 0x18, 0xd4,
    0x7e, 0x50, 0xc0, 0xf4, 0x3d, 0xb2, 0x30, 0x52, 0x00, 0xf1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00,
    0x7b, 0xdb, 0x30, 0xef, 0x81, 0xf7, 0xfc, 0xcf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x47, 0x00, 0x30, 0x45, 0x02, 0x20, 0x08, 0xe3, 0xdc, 0x86, 0x7e, 0x76, 0x96, 0xd1, 0xf9, 0x98,
    0xf6, 0x9a, 0x7a, 0xcd, 0x2f, 0xb0, 0x26, 0xc3, 0x5f, 0x46, 0xfe, 0x3c, 0xa2, 0x3a, 0x23, 0x89,
    0x7f, 0xfd, 0x92, 0x77, 0xf7, 0x1a, 0x02, 0x21, 0x00, 0xca, 0xb0, 0x42, 0x0d, 0xe7, 0x5b, 0x7d,
    0x3e, 0x0a, 0x7b, 0xa9, 0xa4, 0xdf, 0x65, 0xaa, 0x5b, 0xf5, 0x64, 0x12, 0xfe, 0x44, 0xd1, 0x4b,
    0xbc, 0x37, 0x47, 0xcb, 0xc6, 0xd1, 0x13, 0xa6, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t kv_h0[32] = {0x70, 0x56, 0xbb, 0x8f, 0x77, 0x18, 0x93, 0x5e, 0x15, 0x85, 0x02,
                                  0x3f, 0x88, 0x1e, 0xb0, 0x29, 0xe5, 0xb3, 0xf5, 0x9d, 0x64, 0xd5,
                                  0x18, 0xd4, 0x7e, 0x50, 0xc0, 0xf4, 0x3d, 0xb2, 0x30, 0x52};

static const uint8_t kv_image_sha[32] = {
    0xf5, 0x41, 0x87, 0x41, 0x01, 0x87, 0x62, 0x55, 0xb4, 0xba, 0xf3, 0xa7, 0x39, 0x77, 0x8d, 0x04,
    0xcb, 0x9c, 0xba, 0x25, 0xff, 0xa3, 0x8b, 0x30, 0xbc, 0x1f, 0xb8, 0xb0, 0x70, 0x1f, 0x2a, 0x45};

static void kv_image(uint8_t img[3000])
{
    for (size_t i = 0; i < 3000; i++) {
        img[i] = (uint8_t)(i * 7 + 3);
    }
}

/* --- test keys (mbedTLS directly) ------------------------------------------------------------ */

typedef struct {
    mbedtls_pk_context pk;
    uint8_t der[200];
    size_t der_len;
    uint8_t id[8];
} tkey_t;

static mbedtls_entropy_context g_entropy;
static mbedtls_ctr_drbg_context g_drbg;

static int setup_rng(void **state)
{
    (void)state;
    mbedtls_entropy_init(&g_entropy);
    mbedtls_ctr_drbg_init(&g_drbg);
    return mbedtls_ctr_drbg_seed(&g_drbg, mbedtls_entropy_func, &g_entropy,
                                 (const unsigned char *)"test", 4);
}

static int teardown_rng(void **state)
{
    (void)state;
    mbedtls_ctr_drbg_free(&g_drbg);
    mbedtls_entropy_free(&g_entropy);
    return 0;
}

static void sha256(const void *p, size_t len, uint8_t out[32])
{
    assert_int_equal(mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), p, len, out), 0);
}

static void tkey_make(tkey_t *k, mbedtls_ecp_group_id curve)
{
    mbedtls_pk_init(&k->pk);
    assert_int_equal(mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
    assert_int_equal(
        mbedtls_ecp_gen_key(curve, mbedtls_pk_ec(k->pk), mbedtls_ctr_drbg_random, &g_drbg), 0);
    uint8_t buf[200];
    int n = mbedtls_pk_write_pubkey_der(&k->pk, buf, sizeof buf);
    assert_true(n > 0);
    k->der_len = (size_t)n;
    memcpy(k->der, buf + sizeof buf - k->der_len, k->der_len);
    uint8_t h[32];
    sha256(k->der, k->der_len, h);
    memcpy(k->id, h, 8);
}

static void tkey_free(tkey_t *k)
{
    mbedtls_pk_free(&k->pk);
}

static size_t tkey_sign_n(tkey_t *k, const uint8_t *body, size_t body_len,
                          uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE])
{
    uint8_t h[32];
    size_t sig_len = 0;
    sha256(body, body_len, h);
#if MBEDTLS_VERSION_MAJOR >= 3
    assert_int_equal(mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, h, 32, sig,
                                     MBEDTLS_PK_SIGNATURE_MAX_SIZE, &sig_len,
                                     mbedtls_ctr_drbg_random, &g_drbg),
                     0);
#else
    assert_int_equal(mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, h, 32, sig, &sig_len,
                                     mbedtls_ctr_drbg_random, &g_drbg),
                     0);
#endif
    return sig_len;
}

static size_t tkey_sign(tkey_t *k, const uint8_t body[176],
                        uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE])
{
    return tkey_sign_n(k, body, 176, sig);
}

/* The library linked is the one the headers describe, and the one the caller expects: so a
 * build meant for another mbedTLS cannot silently fall back to the system's. */
static void test_mbedtls_version(void **state)
{
    (void)state;
    char lib[18] = MBEDTLS_VERSION_STRING;
#ifdef MBEDTLS_VERSION_C
    mbedtls_version_get_string(lib);
#endif
    print_message("mbedTLS: headers %s, library %s\n", MBEDTLS_VERSION_STRING, lib);
    assert_string_equal(lib, MBEDTLS_VERSION_STRING);
    const char *want = getenv("FOTA_EXPECT_MBEDTLS");
    if (want != NULL && want[0] != '\0') {
        assert_string_equal(lib, want);
    }
}

/* --- manifests ------------------------------------------------------------------------------- */

static void sample(fota_manifest_t *m)
{
    memset(m, 0, sizeof *m);
    strcpy(m->product_id, "esp32-inverter");
    strcpy(m->version, "2.7.1-rc3");
    m->security_version = 0x04030201u;
    m->image_size = 2500;
    m->chunk_size = 1024;
    m->chunk_count = 3;
    for (int i = 0; i < 32; i++) {
        m->image_sha256[i] = (uint8_t)(0xA0 + i);
        m->chain_head[i] = (uint8_t)(0x40 + i);
    }
    m->created = 0x0102030405060708ull;
    for (int i = 0; i < 8; i++) {
        m->key_id[i] = (uint8_t)(0xC0 + i);
    }
}

/* A signed manifest of m (key_id set to k's id). */
static void sign_sample(tkey_t *k, fota_manifest_t *m, uint8_t out[256])
{
    memcpy(m->key_id, k->id, 8);
    uint8_t body[176];
    uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    assert_int_equal(fota_manifest_encode_body(m, body), FOTA_OK);
    size_t sig_len = tkey_sign(k, body, sig);
    assert_int_equal(fota_manifest_assemble(body, sig, sig_len, out), FOTA_OK);
}

/* A structurally valid unsigned manifest (signature bytes arbitrary) to patch. */
static void raw_sample(uint8_t out[256])
{
    fota_manifest_t m;
    sample(&m);
    uint8_t body[176];
    const uint8_t sig[70] = {0x30, 0x44};
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_OK);
    assert_int_equal(fota_manifest_assemble(body, sig, sizeof sig, out), FOTA_OK);
}

static void assert_zeroed(const fota_manifest_t *m)
{
    fota_manifest_t zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(m, &zero, sizeof zero);
}

static void assert_same(const fota_manifest_t *a, const fota_manifest_t *b)
{
    assert_string_equal(a->product_id, b->product_id);
    assert_string_equal(a->version, b->version);
    assert_int_equal(a->security_version, b->security_version);
    assert_int_equal(a->image_size, b->image_size);
    assert_int_equal(a->chunk_size, b->chunk_size);
    assert_int_equal(a->chunk_count, b->chunk_count);
    assert_memory_equal(a->image_sha256, b->image_sha256, 32);
    assert_memory_equal(a->chain_head, b->chain_head, 32);
    assert_true(a->created == b->created);
    assert_memory_equal(a->key_id, b->key_id, 8);
}

/* --- layout ---------------------------------------------------------------------------------- */

static void test_encode_exact_offsets(void **state)
{
    (void)state;
    fota_manifest_t m;
    sample(&m);
    uint8_t body[176];
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_OK);
    const uint8_t head[8] = {0x46, 0x4F, 0x54, 0x4D, 0x01, 0x00, 0xB0, 0x00};
    assert_memory_equal(body, head, 8);
    assert_memory_equal(body + 8, "esp32-inverter", 14);
    for (int i = 8 + 14; i < 40; i++) {
        assert_int_equal(body[i], 0);
    }
    assert_memory_equal(body + 40, "2.7.1-rc3", 9);
    for (int i = 40 + 9; i < 72; i++) {
        assert_int_equal(body[i], 0);
    }
    const uint8_t nums[16] = {0x01, 0x02, 0x03, 0x04, 0xC4, 0x09, 0x00, 0x00,
                              0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00};
    assert_memory_equal(body + 72, nums, 16); /* security 0x04030201, size 2500, 1024, 3 */
    assert_int_equal(body[88], 0xA0);
    assert_int_equal(body[119], 0xBF);
    assert_int_equal(body[120], 0x40);
    assert_int_equal(body[151], 0x5F);
    const uint8_t created[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    assert_memory_equal(body + 152, created, 8);
    assert_int_equal(body[160], 0xC0);
    assert_int_equal(body[167], 0xC7);
    for (int i = 168; i < 176; i++) {
        assert_int_equal(body[i], 0);
    }

    uint8_t sig[71];
    for (int i = 0; i < 71; i++) {
        sig[i] = (uint8_t)(i + 1);
    }
    uint8_t buf[256];
    memset(buf, 0xEE, sizeof buf);
    assert_int_equal(fota_manifest_assemble(body, sig, sizeof sig, buf), FOTA_OK);
    assert_memory_equal(buf, body, 176);
    assert_int_equal(buf[176], 71);
    assert_int_equal(buf[177], 0);
    assert_memory_equal(buf + 178, sig, 71);
    for (int i = 178 + 71; i < 256; i++) {
        assert_int_equal(buf[i], 0);
    }

    fota_manifest_t back;
    assert_int_equal(fota_manifest_parse(buf, sizeof buf, &back), FOTA_OK);
    assert_int_equal(back.format_version, 1);
    assert_same(&back, &m);
}

/* Strings of exactly 32 characters fill their field with no NUL and still round-trip. */
static void test_full_length_strings(void **state)
{
    (void)state;
    fota_manifest_t m;
    sample(&m);
    memset(m.product_id, 'p', 32);
    m.product_id[32] = '\0';
    memset(m.version, 'v', 32);
    m.version[32] = '\0';
    uint8_t buf[256];
    raw_sample(buf);
    assert_int_equal(fota_manifest_encode_body(&m, buf), FOTA_OK);
    assert_int_equal(buf[39], 'p');
    assert_int_equal(buf[40], 'v');
    assert_int_equal(buf[71], 'v');
    fota_manifest_t back;
    assert_int_equal(fota_manifest_parse(buf, sizeof buf, &back), FOTA_OK);
    assert_int_equal(strlen(back.product_id), 32);
    assert_int_equal(strlen(back.version), 32);
}

static void test_encode_rejects(void **state)
{
    (void)state;
    fota_manifest_t m;
    uint8_t body[176];
    sample(&m);
    m.product_id[0] = '\0';
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_ERR_MANIFEST_FORMAT);
    sample(&m);
    m.version[0] = '\0';
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_ERR_MANIFEST_FORMAT);
    sample(&m);
    m.version[2] = '\n';
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_ERR_MANIFEST_FORMAT);
    sample(&m);
    m.product_id[1] = (char)0xC3;
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_ERR_MANIFEST_FORMAT);
    sample(&m);
    m.chunk_count = 2;
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_ERR_MANIFEST_GEOMETRY);
    assert_int_equal(fota_manifest_encode_body(NULL, body), FOTA_ERR_ARG);
}

static void test_assemble_rejects(void **state)
{
    (void)state;
    uint8_t body[176] = {0};
    uint8_t sig[73] = {0x30};
    uint8_t out[256];
    assert_int_equal(fota_manifest_assemble(body, sig, 0, out), FOTA_ERR_ARG);
    assert_int_equal(fota_manifest_assemble(body, sig, 73, out), FOTA_ERR_ARG);
    assert_int_equal(fota_manifest_assemble(body, sig, 72, out), FOTA_OK);
    assert_int_equal(fota_manifest_assemble(body, NULL, 70, out), FOTA_ERR_ARG);
}

/* --- parse errors ---------------------------------------------------------------------------- */

static void expect_parse(const uint8_t *buf, size_t len, fota_err_t want)
{
    fota_manifest_t m;
    memset(&m, 0x5A, sizeof m);
    assert_int_equal(fota_manifest_parse(buf, len, &m), want);
    if (want != FOTA_OK) {
        assert_zeroed(&m);
    }
}

static void test_parse_length_magic_version(void **state)
{
    (void)state;
    uint8_t buf[257];
    raw_sample(buf);
    buf[256] = 0;
    expect_parse(buf, 256, FOTA_OK);
    expect_parse(buf, 255, FOTA_ERR_MANIFEST_FORMAT);
    expect_parse(buf, 257, FOTA_ERR_MANIFEST_FORMAT);
    expect_parse(buf, 0, FOTA_ERR_MANIFEST_FORMAT);
    buf[3] = 'X'; /* "FOTX" */
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
    raw_sample(buf);
    fota_put_le16(buf + 4, 2);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_VERSION);
    fota_put_le16(buf + 4, 0);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_VERSION);
    fota_put_le16(buf + 4, 0x0100); /* big-endian 1 */
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_VERSION);
    raw_sample(buf);
    fota_put_le16(buf + 6, 177);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
    fota_put_le16(buf + 6, 256);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
    fota_manifest_t m;
    assert_int_equal(fota_manifest_parse(NULL, 256, &m), FOTA_ERR_ARG);
    assert_int_equal(fota_manifest_parse(buf, 256, NULL), FOTA_ERR_ARG);
}

static void test_parse_padding(void **state)
{
    (void)state;
    uint8_t buf[256];
    for (int i = 168; i < 176; i++) { /* reserved */
        raw_sample(buf);
        buf[i] = 1;
        expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
    }
    raw_sample(buf); /* sig_len 70: signature padding 248..249, tail 250..255 */
    for (int i = 178 + 70; i < 256; i++) {
        raw_sample(buf);
        buf[i] = 0x80;
        expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
    }
    raw_sample(buf);
    fota_put_le16(buf + 176, 0);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
    fota_put_le16(buf + 176, 73);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
    fota_put_le16(buf + 176, 0xFFFF);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
    fota_put_le16(buf + 176, 72); /* longest: the padding is then bytes 178+72 = 250.. only */
    expect_parse(buf, 256, FOTA_OK);
}

static void test_parse_strings(void **state)
{
    (void)state;
    const size_t fields[2] = {8, 40};
    uint8_t buf[256];
    for (int f = 0; f < 2; f++) {
        size_t off = fields[f];
        raw_sample(buf);
        memset(buf + off, 0, 32); /* empty */
        expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
        raw_sample(buf);
        buf[off + 1] = 0x1F; /* control character */
        expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
        raw_sample(buf);
        buf[off + 1] = 0x7F;
        expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
        raw_sample(buf);
        buf[off + 31] = 'x'; /* text after the NUL */
        expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
        raw_sample(buf);
        buf[off + 20] = 0xFF;
        expect_parse(buf, 256, FOTA_ERR_MANIFEST_FORMAT);
        raw_sample(buf);
        buf[off] = ' '; /* printable: allowed */
        expect_parse(buf, 256, FOTA_OK);
    }
}

/* --- geometry -------------------------------------------------------------------------------- */

static void set_geometry(uint8_t buf[256], uint32_t size, uint32_t cs, uint32_t count)
{
    raw_sample(buf);
    fota_put_le32(buf + 76, size);
    fota_put_le32(buf + 80, cs);
    fota_put_le32(buf + 84, count);
}

static void test_geometry(void **state)
{
    (void)state;
    uint8_t buf[256];
    set_geometry(buf, 2500, 1024, 2); /* count mismatch, both ways */
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_GEOMETRY);
    set_geometry(buf, 2500, 1024, 4);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_GEOMETRY);
    set_geometry(buf, 3000, 1000, 3); /* not a power of two, count consistent */
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_GEOMETRY);
    set_geometry(buf, 3000, 1536, 2);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_GEOMETRY);
    set_geometry(buf, 0, 1024, 0); /* zero size */
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_GEOMETRY);
    set_geometry(buf, 1024, 0, 0);
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_GEOMETRY);
    set_geometry(buf, 1024, 128, 8); /* below 256 */
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_GEOMETRY);
    set_geometry(buf, 262144, 131072, 2); /* above 65536 */
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_GEOMETRY);
    set_geometry(buf, 0xFFFFFF00u, 256, 0x00FFFFFFu); /* blob would not fit 32 bits */
    expect_parse(buf, 256, FOTA_ERR_MANIFEST_GEOMETRY);
    /* Edges that are valid. */
    set_geometry(buf, 1, 256, 1);
    expect_parse(buf, 256, FOTA_OK);
    set_geometry(buf, 65536, 65536, 1);
    expect_parse(buf, 256, FOTA_OK);
    set_geometry(buf, 65537, 65536, 2);
    expect_parse(buf, 256, FOTA_OK);
    set_geometry(buf, 0xF0000000u, 65536, 0xF000u); /* 3.75 GB: blob still fits */
    expect_parse(buf, 256, FOTA_OK);
}

static void test_geometry_helpers(void **state)
{
    (void)state;
    fota_manifest_t m;
    sample(&m); /* 2500 bytes in 1024-byte chunks */
    assert_int_equal(fota_manifest_check_geometry(&m), FOTA_OK);
    assert_int_equal(fota_manifest_chunk_len(&m, 0), 1024);
    assert_int_equal(fota_manifest_chunk_len(&m, 1), 1024);
    assert_int_equal(fota_manifest_chunk_len(&m, 2), 452);
    assert_int_equal(fota_manifest_chunk_len(&m, 3), 0);
    assert_int_equal(fota_manifest_record_offset(&m, 0), 0);
    assert_int_equal(fota_manifest_record_offset(&m, 1), 1056);
    assert_int_equal(fota_manifest_record_offset(&m, 2), 2112);
    assert_int_equal(fota_manifest_record_offset(&m, 3), 2596);
    assert_int_equal(fota_manifest_record_len(&m, 2), 484);
    assert_int_equal(fota_manifest_record_len(&m, 3), 0);
    assert_int_equal(fota_manifest_blob_size(&m), 2500 + 3 * 32);
    m.image_size = 3072; /* exact multiple: last chunk is whole */
    assert_int_equal(fota_manifest_chunk_len(&m, 2), 1024);
    assert_int_equal(fota_manifest_blob_size(&m), 3072 + 96);
    assert_int_equal(fota_manifest_blob_size(&m), fota_chain_blob_size(3072, 1024));
}

/* --- signature ------------------------------------------------------------------------------- */

static void test_verify_roundtrip(void **state)
{
    (void)state;
    tkey_t k;
    tkey_make(&k, MBEDTLS_ECP_DP_SECP256R1);
    fota_manifest_t m;
    sample(&m);
    uint8_t buf[256];
    sign_sample(&k, &m, buf);
    assert_memory_equal(buf + 160, k.id, 8);
    fota_manifest_t out;
    assert_int_equal(fota_manifest_verify(buf, 256, k.der, k.der_len, &out), FOTA_OK);
    assert_same(&out, &m);
    uint8_t id[8];
    assert_int_equal(fota_manifest_key_id(k.der, k.der_len, id), FOTA_OK);
    assert_memory_equal(id, k.id, 8);
    tkey_free(&k);
}

/* Every byte of a signed manifest matters: flip it (three ways) and verify must refuse. */
static void test_every_byte_flip_fails(void **state)
{
    (void)state;
    tkey_t k;
    tkey_make(&k, MBEDTLS_ECP_DP_SECP256R1);
    fota_manifest_t m;
    sample(&m);
    uint8_t good[256];
    sign_sample(&k, &m, good);
    const uint8_t masks[3] = {0x01, 0x80, 0xFF};
    for (size_t i = 0; i < 256; i++) {
        for (size_t j = 0; j < sizeof masks; j++) {
            uint8_t buf[256];
            memcpy(buf, good, sizeof buf);
            buf[i] ^= masks[j];
            fota_manifest_t out;
            memset(&out, 0x5A, sizeof out);
            fota_err_t err = fota_manifest_verify(buf, 256, k.der, k.der_len, &out);
            if (err == FOTA_OK) {
                fail_msg("flip of byte %zu with 0x%02x verified", i, masks[j]);
            }
            assert_zeroed(&out);
        }
    }
    fota_manifest_t out;
    assert_int_equal(fota_manifest_verify(good, 256, k.der, k.der_len, &out), FOTA_OK);
    tkey_free(&k);
}

static void test_wrong_key(void **state)
{
    (void)state;
    tkey_t a, b;
    tkey_make(&a, MBEDTLS_ECP_DP_SECP256R1);
    tkey_make(&b, MBEDTLS_ECP_DP_SECP256R1);
    fota_manifest_t m;
    sample(&m);
    uint8_t buf[256];
    fota_manifest_t out;
    /* Signed by a, checked with b: key_id differs. */
    sign_sample(&a, &m, buf);
    assert_int_equal(fota_manifest_verify(buf, 256, b.der, b.der_len, &out),
                     FOTA_ERR_MANIFEST_SIGNATURE);
    assert_zeroed(&out);
    /* Signed by b but claiming a's key_id: the id matches a, the signature does not. */
    memcpy(m.key_id, a.id, 8);
    uint8_t body[176];
    uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_OK);
    size_t sig_len = tkey_sign(&b, body, sig);
    assert_int_equal(fota_manifest_assemble(body, sig, sig_len, buf), FOTA_OK);
    assert_int_equal(fota_manifest_verify(buf, 256, a.der, a.der_len, &out),
                     FOTA_ERR_MANIFEST_SIGNATURE);
    /* Signed by a with a good signature, but naming b's key: the key_id check refuses it. */
    memcpy(m.key_id, b.id, 8);
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_OK);
    sig_len = tkey_sign(&a, body, sig);
    assert_int_equal(fota_manifest_assemble(body, sig, sig_len, buf), FOTA_OK);
    assert_int_equal(fota_manifest_verify(buf, 256, a.der, a.der_len, &out),
                     FOTA_ERR_MANIFEST_SIGNATURE);
    /* A valid manifest parses but still fails verify with the wrong key. */
    assert_int_equal(fota_manifest_parse(buf, 256, &out), FOTA_OK);
    tkey_free(&a);
    tkey_free(&b);
}

static void test_bad_keys(void **state)
{
    (void)state;
    uint8_t buf[256];
    fota_manifest_t out;
    uint8_t id[8];
    memcpy(buf, kv_manifest, 256);
    const uint8_t garbage[91] = {0x30, 0x59, 0x01};
    assert_int_equal(fota_manifest_verify(buf, 256, garbage, sizeof garbage, &out), FOTA_ERR_KEY);
    assert_int_equal(fota_manifest_verify(buf, 256, NULL, 0, &out), FOTA_ERR_KEY);
    assert_int_equal(fota_manifest_verify(buf, 256, kv_pub_der, 90, &out), FOTA_ERR_KEY);
    /* PEM must come with its NUL (mbedTLS's rule). */
    assert_int_equal(
        fota_manifest_verify(buf, 256, (const uint8_t *)kv_pub_pem, strlen(kv_pub_pem), &out),
        FOTA_ERR_KEY);
    /* Other curves, even of the same size, are not release keys. */
    const mbedtls_ecp_group_id curves[3] = {MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP256K1,
                                            MBEDTLS_ECP_DP_BP256R1};
    for (int i = 0; i < 3; i++) {
        tkey_t k;
        tkey_make(&k, curves[i]);
        assert_int_equal(fota_manifest_key_id(k.der, k.der_len, id), FOTA_ERR_KEY);
        assert_int_equal(fota_manifest_verify(buf, 256, k.der, k.der_len, &out), FOTA_ERR_KEY);
        tkey_free(&k);
    }
}

/* An independent implementation (Python + OpenSSL) made this manifest: we must agree on it. */
static void test_known_answer(void **state)
{
    (void)state;
    uint8_t id[8];
    assert_int_equal(fota_manifest_key_id(kv_pub_der, sizeof kv_pub_der, id), FOTA_OK);
    assert_memory_equal(id, kv_key_id, 8);
    assert_int_equal(fota_manifest_key_id((const uint8_t *)kv_pub_pem, sizeof kv_pub_pem, id),
                     FOTA_OK);
    assert_memory_equal(id, kv_key_id, 8);

    fota_manifest_t m;
    assert_int_equal(fota_manifest_verify(kv_manifest, 256, kv_pub_der, sizeof kv_pub_der, &m),
                     FOTA_OK);
    assert_int_equal(
        fota_manifest_verify(kv_manifest, 256, (const uint8_t *)kv_pub_pem, sizeof kv_pub_pem, &m),
        FOTA_OK);
    assert_string_equal(m.product_id, "esp32-inverter");
    assert_string_equal(m.version, "1.2.3");
    assert_int_equal(m.security_version, 2);
    assert_int_equal(m.image_size, 3000);
    assert_int_equal(m.chunk_size, 1024);
    assert_int_equal(m.chunk_count, 3);
    assert_true(m.created == 1700000000u);
    assert_memory_equal(m.key_id, kv_key_id, 8);
    assert_memory_equal(m.image_sha256, kv_image_sha, 32);
    assert_memory_equal(m.chain_head, kv_h0, 32);

    /* Our encoder gives the same body byte for byte, and our chain the same head. */
    uint8_t body[176];
    assert_int_equal(fota_manifest_encode_body(&m, body), FOTA_OK);
    assert_memory_equal(body, kv_manifest, 176);
    uint8_t img[3000];
    uint8_t blob[3000 + 3 * 32];
    uint8_t h0[32];
    kv_image(img);
    assert_int_equal(fota_chain_build(img, sizeof img, 1024, blob, sizeof blob, h0), FOTA_OK);
    assert_memory_equal(h0, kv_h0, 32);
    uint8_t digest[32];
    sha256(img, sizeof img, digest);
    assert_memory_equal(digest, kv_image_sha, 32);
}

static void test_check_product(void **state)
{
    (void)state;
    fota_manifest_t m;
    sample(&m);
    assert_int_equal(fota_manifest_check_product(&m, "esp32-inverter"), FOTA_OK);
    assert_int_equal(fota_manifest_check_product(&m, "esp32-inverter2"), FOTA_ERR_MANIFEST_PRODUCT);
    assert_int_equal(fota_manifest_check_product(&m, "esp32-inv"), FOTA_ERR_MANIFEST_PRODUCT);
    assert_int_equal(fota_manifest_check_product(&m, "ESP32-inverter"), FOTA_ERR_MANIFEST_PRODUCT);
    assert_int_equal(fota_manifest_check_product(&m, ""), FOTA_ERR_MANIFEST_PRODUCT);
    assert_int_equal(fota_manifest_check_product(&m, NULL), FOTA_ERR_ARG);
    assert_int_equal(fota_manifest_check_product(NULL, "x"), FOTA_ERR_ARG);
}

/* --- delta manifests ---------------------------------------------------------------------- */

static void delta_sample(fota_delta_manifest_t *d)
{
    memset(d, 0, sizeof *d);
    sample(&d->m);
    d->m.format_version = FOTA_MANIFEST_FORMAT_VERSION;
    d->m.image_size = 1068032;
    d->patch_size = 50000;
    d->m.chunk_count = 49; /* ceil(50000 / 1024) */
    d->source_size = 1060000;
    for (int i = 0; i < 32; i++) {
        d->source_sha256[i] = (uint8_t)(0x10 + i);
    }
}

static void delta_sign(tkey_t *k, fota_delta_manifest_t *d, uint8_t out[320])
{
    memcpy(d->m.key_id, k->id, 8);
    uint8_t body[FOTA_DELTA_MANIFEST_BODY_LEN];
    uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    assert_int_equal(fota_delta_manifest_encode_body(d, body), FOTA_OK);
    size_t sig_len = tkey_sign_n(k, body, sizeof body, sig);
    assert_int_equal(fota_delta_manifest_assemble(body, sig, sig_len, out), FOTA_OK);
}

/* Layout, round trip, and every single-byte change of a signed delta manifest refused; its
 * geometry is the patch's (chunk_count from patch_size); a release manifest is not one. */
static void test_delta_manifest(void **state)
{
    (void)state;
    tkey_t k;
    tkey_make(&k, MBEDTLS_ECP_DP_SECP256R1);
    fota_delta_manifest_t d, got;
    delta_sample(&d);
    uint8_t buf[320];
    delta_sign(&k, &d, buf);
    assert_memory_equal(buf, "FOTD", 4);
    assert_int_equal(buf[6] | buf[7] << 8, 216);
    assert_int_equal(buf[168] | buf[169] << 8 | buf[170] << 16 | (uint32_t)buf[171] << 24, 50000);
    assert_int_equal(buf[172] | buf[173] << 8 | buf[174] << 16 | (uint32_t)buf[175] << 24, 1060000);
    assert_memory_equal(buf + 176, d.source_sha256, 32);
    assert_int_equal(fota_delta_manifest_verify(buf, sizeof buf, k.der, k.der_len, &got), FOTA_OK);
    assert_memory_equal(&got, &d, sizeof d);
    fota_manifest_t chain;
    fota_delta_manifest_chain(&got, &chain);
    assert_int_equal(fota_manifest_blob_size(&chain), 50000 + 49 * 32);
    for (size_t i = 0; i < sizeof buf; i++) {
        uint8_t bad[320];
        memcpy(bad, buf, sizeof bad);
        bad[i] ^= 0x01;
        assert_int_not_equal(fota_delta_manifest_verify(bad, sizeof bad, k.der, k.der_len, &got),
                             FOTA_OK);
    }
    assert_int_equal(fota_delta_manifest_parse(buf, 256, &got), FOTA_ERR_MANIFEST_FORMAT);
    uint8_t release[256];
    fota_manifest_t m;
    sample(&m);
    sign_sample(&k, &m, release);
    assert_int_equal(fota_delta_manifest_parse(release, sizeof release, &got),
                     FOTA_ERR_MANIFEST_FORMAT);
    assert_int_equal(fota_manifest_parse(buf, sizeof buf, &m), FOTA_ERR_MANIFEST_FORMAT);
    d.m.chunk_count = 3; /* the image's count, not the patch's */
    uint8_t body[FOTA_DELTA_MANIFEST_BODY_LEN];
    assert_int_equal(fota_delta_manifest_encode_body(&d, body), FOTA_ERR_MANIFEST_GEOMETRY);
    delta_sample(&d);
    d.source_size = 0;
    assert_int_equal(fota_delta_manifest_encode_body(&d, body), FOTA_ERR_MANIFEST_GEOMETRY);
    tkey_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_exact_offsets),
        cmocka_unit_test(test_full_length_strings),
        cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_assemble_rejects),
        cmocka_unit_test(test_parse_length_magic_version),
        cmocka_unit_test(test_parse_padding),
        cmocka_unit_test(test_parse_strings),
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_geometry_helpers),
        cmocka_unit_test(test_verify_roundtrip),
        cmocka_unit_test(test_every_byte_flip_fails),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_check_product),
        cmocka_unit_test(test_delta_manifest),
        cmocka_unit_test(test_mbedtls_version),
    };
    return cmocka_run_group_tests(tests, setup_rng, teardown_rng);
}
