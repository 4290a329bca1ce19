/*
 * test_keys.c - release keys on the host (host/keys.c): generated key files (PEM, the
 * private one 0600, never silently overwritten), loading, the public DER and key id, and signing
 * manifests that the agent core then verifies; with OpenSSL, when it is installed, as the
 * outside party that must agree on keys and signatures.
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

#include <mbedtls/md.h>

#include "fota/chain.h"
#include "fota/manifest.h"
#include "fota/host/file_util.h"
#include "fota/host/keys.h"

typedef struct {
    char priv[512];
    char pub[512];
    char dir[400];
} paths_t;

static void make_paths(paths_t *p, const char *name)
{
    const char *base = getenv("FOTA_TMPDIR");
    if (base == NULL || *base == '\0') {
        base = "/tmp";
    }
    snprintf(p->dir, sizeof p->dir, "%s/test_keys.%ld.%s", base, (long)getpid(), name);
    assert_int_equal(mkdir(p->dir, 0700), 0);
    snprintf(p->priv, sizeof p->priv, "%s/release.key", p->dir);
    snprintf(p->pub, sizeof p->pub, "%s/release.pub", p->dir);
}

static void remove_paths(paths_t *p)
{
    unlink(p->priv);
    unlink(p->pub);
    rmdir(p->dir);
}

static char *slurp(const char *path, size_t *len)
{
    uint8_t *buf = NULL;
    assert_int_equal(fota_file_read_all(path, 1 << 20, &buf, len), FOTA_OK);
    return (char *)buf;
}

static void sample(fota_manifest_t *m)
{
    memset(m, 0, sizeof *m);
    strcpy(m->product_id, "esp32-inverter");
    strcpy(m->version, "3.0.0");
    m->security_version = 4;
    m->image_size = 5000;
    m->chunk_size = 1024;
    m->chunk_count = 5;
    memset(m->image_sha256, 0x11, 32);
    memset(m->chain_head, 0x22, 32);
    m->created = 1717171717;
    memset(m->key_id, 0xEE, 8); /* sign must replace it */
}

static void test_generate_and_load(void **state)
{
    (void)state;
    paths_t p;
    make_paths(&p, "gen");
    assert_int_equal(fota_key_generate(p.priv, p.pub), FOTA_OK);

    struct stat st;
    assert_int_equal(stat(p.priv, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    size_t len;
    char *text = slurp(p.priv, &len);
    assert_non_null(strstr(text, "-----BEGIN EC PRIVATE KEY-----"));
    free(text);
    text = slurp(p.pub, &len);
    assert_true(strncmp(text, "-----BEGIN PUBLIC KEY-----", 26) == 0);

    fota_key_t *priv = NULL;
    fota_key_t *pub = NULL;
    assert_int_equal(fota_key_load_private(p.priv, &priv), FOTA_OK);
    assert_int_equal(fota_key_load_public(p.pub, &pub), FOTA_OK);
    assert_true(fota_key_is_private(priv));
    assert_false(fota_key_is_private(pub));

    /* Both handles give the same public DER (P-256 SubjectPublicKeyInfo) and id. */
    uint8_t der[100], der2[100];
    size_t der_len = sizeof der, der2_len = sizeof der2;
    assert_int_equal(fota_key_public_der(priv, der, &der_len), FOTA_OK);
    assert_int_equal(fota_key_public_der(pub, der2, &der2_len), FOTA_OK);
    assert_int_equal(der_len, FOTA_KEY_PUBLIC_DER_LEN);
    assert_memory_equal(der, der2, der_len);
    assert_int_equal(der[0], 0x30);
    assert_int_equal(der[1], 0x59);
    assert_int_equal(der[26], 0x04);

    uint8_t id[8], id2[8], digest[32];
    assert_int_equal(fota_key_id(priv, id), FOTA_OK);
    assert_int_equal(fota_key_id(pub, id2), FOTA_OK);
    assert_memory_equal(id, id2, 8);
    assert_int_equal(mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), der, der_len, digest),
                     0);
    assert_memory_equal(id, digest, 8);
    /* The core computes the same id from the PEM file as it is (with its NUL). */
    assert_int_equal(fota_manifest_key_id((const uint8_t *)text, len + 1, id2), FOTA_OK);
    assert_memory_equal(id, id2, 8);

    /* PEM export round-trips; the DER buffer must be big enough. */
    char pem[FOTA_KEY_PUBLIC_PEM_MAX];
    assert_int_equal(fota_key_public_pem(priv, pem, sizeof pem), FOTA_OK);
    assert_string_equal(pem, text);
    assert_int_equal(fota_key_public_pem(priv, pem, 20), FOTA_ERR_TOO_LARGE);
    der_len = 90;
    assert_int_equal(fota_key_public_der(priv, der, &der_len), FOTA_ERR_TOO_LARGE);

    free(text);
    fota_key_free(priv);
    fota_key_free(pub);
    remove_paths(&p);
}

static void test_refuses_overwrite(void **state)
{
    (void)state;
    paths_t p;
    make_paths(&p, "excl");
    assert_int_equal(fota_key_generate(p.priv, p.pub), FOTA_OK);
    size_t len1, len2;
    char *priv1 = slurp(p.priv, &len1);
    char *pub1 = slurp(p.pub, &len2);

    assert_int_equal(fota_key_generate(p.priv, p.pub), FOTA_ERR_KEY_EXISTS);
    size_t l;
    char *now = slurp(p.priv, &l);
    assert_string_equal(now, priv1);
    free(now);
    now = slurp(p.pub, &l);
    assert_string_equal(now, pub1);
    free(now);

    /* Only the public file exists: still refused, and no private key appears. */
    assert_int_equal(unlink(p.priv), 0);
    assert_int_equal(fota_key_generate(p.priv, p.pub), FOTA_ERR_KEY_EXISTS);
    assert_int_equal(access(p.priv, F_OK), -1);
    /* Only the private one exists: refused, the private key untouched, no public key. */
    assert_int_equal(unlink(p.pub), 0);
    assert_int_equal(fota_key_generate(p.priv, NULL), FOTA_OK);
    free(priv1);
    priv1 = slurp(p.priv, &len1);
    assert_int_equal(fota_key_generate(p.priv, p.pub), FOTA_ERR_KEY_EXISTS);
    now = slurp(p.priv, &l);
    assert_string_equal(now, priv1);
    free(now);
    assert_int_equal(access(p.pub, F_OK), -1);
    assert_int_equal(unlink(p.priv), 0);

    /* Told to: a new pair replaces the old one, the private key still 0600. */
    assert_int_equal(fota_key_generate(p.priv, p.pub), FOTA_OK);
    chmod(p.priv, 0644);
    free(priv1);
    priv1 = slurp(p.priv, &len1);
    assert_int_equal(fota_key_generate_ex(p.priv, p.pub, FOTA_KEY_FORCE), FOTA_OK);
    now = slurp(p.priv, &l);
    assert_string_not_equal(now, priv1);
    free(now);
    struct stat st;
    assert_int_equal(stat(p.priv, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    assert_int_equal(fota_key_generate(p.priv, p.priv), FOTA_ERR_ARG);
    free(priv1);
    free(pub1);
    remove_paths(&p);
}

static void test_private_only_and_bad_dir(void **state)
{
    (void)state;
    paths_t p;
    make_paths(&p, "only");
    /* Even under a strict umask the private key ends up exactly 0600. */
    mode_t old_mask = umask(0277);
    fota_err_t err = fota_key_generate(p.priv, NULL);
    umask(old_mask);
    assert_int_equal(err, FOTA_OK);
    struct stat st;
    assert_int_equal(stat(p.priv, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(access(p.pub, F_OK), -1);
    fota_key_t *k = NULL;
    assert_int_equal(fota_key_load_private(p.priv, &k), FOTA_OK);
    fota_key_free(k);
    unlink(p.priv);
    /* Public key cannot be written: nothing is left behind, not even the private key. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir.pub", p.dir);
    assert_int_equal(fota_key_generate(p.priv, bad), FOTA_ERR_IO);
    assert_int_equal(access(p.priv, F_OK), -1);
    remove_paths(&p);
}

static void test_sign_and_verify(void **state)
{
    (void)state;
    paths_t p, q;
    make_paths(&p, "sign");
    make_paths(&q, "other");
    assert_int_equal(fota_key_generate(p.priv, p.pub), FOTA_OK);
    assert_int_equal(fota_key_generate(q.priv, q.pub), FOTA_OK);
    fota_key_t *priv = NULL, *pub = NULL, *other = NULL;
    assert_int_equal(fota_key_load_private(p.priv, &priv), FOTA_OK);
    assert_int_equal(fota_key_load_public(p.pub, &pub), FOTA_OK);
    assert_int_equal(fota_key_load_public(q.pub, &other), FOTA_OK);

    fota_manifest_t m;
    sample(&m);
    uint8_t buf[256];
    assert_int_equal(fota_manifest_sign(&m, priv, buf), FOTA_OK);
    uint8_t id[8];
    assert_int_equal(fota_key_id(priv, id), FOTA_OK);
    assert_memory_equal(buf + 160, id, 8);

    uint8_t der[FOTA_KEY_PUBLIC_DER_LEN];
    size_t der_len = sizeof der;
    assert_int_equal(fota_key_public_der(pub, der, &der_len), FOTA_OK);
    fota_manifest_t out;
    assert_int_equal(fota_manifest_verify(buf, 256, der, der_len, &out), FOTA_OK);
    assert_string_equal(out.product_id, "esp32-inverter");
    assert_string_equal(out.version, "3.0.0");
    assert_int_equal(out.security_version, 4);
    assert_int_equal(out.chunk_count, 5);
    assert_memory_equal(out.chain_head, m.chain_head, 32);
    size_t len;
    char *pem = slurp(p.pub, &len);
    assert_int_equal(fota_manifest_verify(buf, 256, (const uint8_t *)pem, len + 1, &out), FOTA_OK);
    free(pem);

    /* Another key does not verify it. */
    der_len = sizeof der;
    assert_int_equal(fota_key_public_der(other, der, &der_len), FOTA_OK);
    assert_int_equal(fota_manifest_verify(buf, 256, der, der_len, &out),
                     FOTA_ERR_MANIFEST_SIGNATURE);

    /* A public key cannot sign; a manifest that would not parse is not signed. */
    memset(buf, 0x77, sizeof buf);
    assert_int_equal(fota_manifest_sign(&m, pub, buf), FOTA_ERR_KEY);
    assert_int_equal(buf[0], 0);
    m.chunk_count = 4;
    memset(buf, 0x77, sizeof buf);
    assert_int_equal(fota_manifest_sign(&m, priv, buf), FOTA_ERR_MANIFEST_GEOMETRY);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[255], 0);

    fota_key_free(priv);
    fota_key_free(pub);
    fota_key_free(other);
    remove_paths(&p);
    remove_paths(&q);
}

static void test_load_errors(void **state)
{
    (void)state;
    paths_t p;
    make_paths(&p, "bad");
    fota_key_t *k = (fota_key_t *)(uintptr_t)1; /* must be reset to NULL on failure */
    assert_int_equal(fota_key_load_private(p.priv, &k), FOTA_ERR_IO);
    assert_null(k);
    assert_int_equal(fota_file_write_all(p.priv, "not a key\n", 10, 0600), FOTA_OK);
    assert_int_equal(fota_key_load_private(p.priv, &k), FOTA_ERR_KEY);
    assert_int_equal(fota_key_load_public(p.priv, &k), FOTA_ERR_KEY);
    unlink(p.priv);
    /* A public key is not a private key, and the other way round. */
    assert_int_equal(fota_key_generate(p.priv, p.pub), FOTA_OK);
    assert_int_equal(fota_key_load_private(p.pub, &k), FOTA_ERR_KEY);
    assert_int_equal(fota_key_load_public(p.priv, &k), FOTA_ERR_KEY);
    assert_null(k);
    /* From memory, PEM with or without its NUL. */
    size_t len;
    char *pem = slurp(p.pub, &len);
    assert_int_equal(fota_key_parse_public((const uint8_t *)pem, len, &k), FOTA_OK);
    fota_key_free(k);
    assert_int_equal(fota_key_parse_public((const uint8_t *)pem, len + 1, &k), FOTA_OK);
    fota_key_free(k);
    assert_int_equal(fota_key_parse_public((const uint8_t *)pem, len - 30, &k), FOTA_ERR_KEY);
    free(pem);
    fota_key_free(NULL);
    remove_paths(&p);
}

/* --- OpenSSL as the outside party (skipped when it is not installed) ------------------------ */

static int run(const char *cmd)
{
    return system(cmd);
}

static bool have_openssl(void)
{
    return run("command -v openssl >/dev/null 2>&1") == 0;
}

/* A P-384 key from OpenSSL is refused; a P-256 key from OpenSSL loads and signs, and OpenSSL
 * verifies our signature over the body with the public key we export. */
static void test_openssl_interop(void **state)
{
    (void)state;
    if (!have_openssl()) {
        skip();
    }
    paths_t p;
    make_paths(&p, "ossl");
    char cmd[2048];
    fota_key_t *k = NULL;
    snprintf(cmd, sizeof cmd, "openssl ecparam -name secp384r1 -genkey -noout -out %s", p.priv);
    assert_int_equal(run(cmd), 0);
    assert_int_equal(fota_key_load_private(p.priv, &k), FOTA_ERR_KEY);
    unlink(p.priv);
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
             "-out %s 2>/dev/null", /* PKCS#8 this time */
             p.priv);
    assert_int_equal(run(cmd), 0);
    assert_int_equal(fota_key_load_private(p.priv, &k), FOTA_OK);

    fota_manifest_t m;
    sample(&m);
    uint8_t buf[256];
    assert_int_equal(fota_manifest_sign(&m, k, buf), FOTA_OK);
    char body[600], sig[600], pub[600];
    snprintf(body, sizeof body, "%s/body.bin", p.dir);
    snprintf(sig, sizeof sig, "%s/sig.der", p.dir);
    snprintf(pub, sizeof pub, "%s/pub.der", p.dir);
    assert_int_equal(fota_file_write_all(body, buf, 176, 0644), FOTA_OK);
    assert_int_equal(fota_file_write_all(sig, buf + 178, buf[176], 0644), FOTA_OK);
    uint8_t der[FOTA_KEY_PUBLIC_DER_LEN];
    size_t der_len = sizeof der;
    assert_int_equal(fota_key_public_der(k, der, &der_len), FOTA_OK);
    assert_int_equal(fota_file_write_all(pub, der, der_len, 0644), FOTA_OK);
    snprintf(cmd, sizeof cmd,
             "openssl dgst -sha256 -keyform DER -verify %s -signature %s %s >/dev/null", pub, sig,
             body);
    assert_int_equal(run(cmd), 0);
    /* and refuses it for a changed body */
    buf[100] ^= 1;
    assert_int_equal(fota_file_write_all(body, buf, 176, 0644), FOTA_OK);
    assert_int_not_equal(run(cmd), 0);

    fota_key_free(k);
    unlink(body);
    unlink(sig);
    unlink(pub);
    remove_paths(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_load),
        cmocka_unit_test(test_refuses_overwrite),
        cmocka_unit_test(test_private_only_and_bad_dir),
        cmocka_unit_test(test_sign_and_verify),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_openssl_interop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
