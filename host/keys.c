/*
 * keys.c - release keys on the host (keys.h): P-256 key generation into PEM files, loading,
 * public key export and id, and manifest signing. The device never runs this: it holds only the
 * public key and verifies through the agent core (manifest.c), and so does the server. Signing
 * here ends by verifying through that same core, so a manifest fotactl hands out is one a device
 * accepts.
 *
 * Key files are precious: generation creates them with O_EXCL (never a silent overwrite), the
 * private one with mode 0600, and removes what it created if anything fails half-way. Private
 * key bytes are wiped from memory once mbedTLS has them.
 */
#include "fota/host/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>

#include "fota/host/file_util.h"

#define KEY_FILE_MAX 16384u
#define PRIV_PEM_MAX 512u
#define PUB_MODE 0644
#define PRIV_MODE 0600

struct fota_key {
    mbedtls_pk_context pk;
    bool priv;
    uint8_t der[FOTA_KEY_PUBLIC_DER_LEN];
    uint8_t id[FOTA_MANIFEST_KEY_ID_LEN];
};

/* --- randomness ------------------------------------------------------------------------------ */

typedef struct {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} rng_t;

static fota_err_t rng_init(rng_t *r, const char *purpose)
{
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    int rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                                   (const unsigned char *)purpose, strlen(purpose));
    return rc == 0 ? FOTA_OK : FOTA_ERR_CRYPTO;
}

static void rng_free(rng_t *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}

/* --- handles --------------------------------------------------------------------------------- */

/* Fill der and id from the pk context; FOTA_ERR_KEY unless it is P-256 (checked by the core). */
static fota_err_t key_finish(fota_key_t *k)
{
    uint8_t buf[FOTA_KEY_PUBLIC_DER_LEN + 64];
    int n = mbedtls_pk_write_pubkey_der(&k->pk, buf, sizeof buf);
    if (n != (int)FOTA_KEY_PUBLIC_DER_LEN) {
        return FOTA_ERR_KEY;
    }
    memcpy(k->der, buf + sizeof buf - FOTA_KEY_PUBLIC_DER_LEN, FOTA_KEY_PUBLIC_DER_LEN);
    return fota_manifest_key_id(k->der, sizeof k->der, k->id);
}

static fota_key_t *key_new(void)
{
    fota_key_t *k = calloc(1, sizeof *k);
    if (k != NULL) {
        mbedtls_pk_init(&k->pk);
    }
    return k;
}

void fota_key_free(fota_key_t *key)
{
    if (key == NULL) {
        return;
    }
    mbedtls_pk_free(&key->pk); /* mbedTLS wipes the key material it held */
    mbedtls_platform_zeroize(key, sizeof *key);
    free(key);
}

static int parse_private(mbedtls_pk_context *pk, const uint8_t *buf, size_t len)
{
#if MBEDTLS_VERSION_MAJOR >= 3
    rng_t r;
    int rc = -1;
    if (rng_init(&r, "fota-key-load") == FOTA_OK) {
        rc = mbedtls_pk_parse_key(pk, buf, len, NULL, 0, mbedtls_ctr_drbg_random, &r.drbg);
    }
    rng_free(&r);
    return rc;
#else
    return mbedtls_pk_parse_key(pk, buf, len, NULL, 0);
#endif
}

/* mbedTLS recognises PEM only when the buffer ends with its NUL: file_util gives one past len. */
static size_t pem_len(const uint8_t *buf, size_t len)
{
    const char begin[] = "-----BEGIN";
    if (len >= sizeof begin - 1 && memcmp(buf, begin, sizeof begin - 1) == 0) {
        return len + 1;
    }
    return len;
}

/* buf holds len bytes and a NUL after them (as fota_file_read_all returns). */
static fota_err_t key_from_buffer(const uint8_t *buf, size_t len, bool priv, fota_key_t **out)
{
    fota_key_t *k = key_new();
    if (k == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    size_t n = pem_len(buf, len);
    int rc = priv ? parse_private(&k->pk, buf, n) : mbedtls_pk_parse_public_key(&k->pk, buf, n);
    fota_err_t err = rc == 0 ? key_finish(k) : FOTA_ERR_KEY;
    if (err != FOTA_OK) {
        fota_key_free(k);
        return err;
    }
    k->priv = priv;
    *out = k;
    return FOTA_OK;
}

static fota_err_t key_load(const char *path, bool priv, fota_key_t **out)
{
    if (path == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    fota_err_t err = fota_file_read_all(path, KEY_FILE_MAX, &buf, &len);
    if (err == FOTA_ERR_TOO_LARGE) {
        return FOTA_ERR_KEY;
    }
    if (err != FOTA_OK) {
        return err;
    }
    err = key_from_buffer(buf, len, priv, out);
    mbedtls_platform_zeroize(buf, len + 1);
    free(buf);
    return err;
}

fota_err_t fota_key_load_private(const char *path, fota_key_t **out)
{
    return key_load(path, true, out);
}

fota_err_t fota_key_load_public(const char *path, fota_key_t **out)
{
    return key_load(path, false, out);
}

fota_err_t fota_key_parse_public(const uint8_t *buf, size_t len, fota_key_t **out)
{
    if (buf == NULL || out == NULL || len == 0 || len > KEY_FILE_MAX) {
        return FOTA_ERR_ARG;
    }
    *out = NULL;
    /* A copy with a NUL after it, so PEM works with or without the caller's NUL. */
    if (buf[len - 1] == '\0') {
        len--;
    }
    uint8_t *copy = malloc(len + 1);
    if (copy == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    memcpy(copy, buf, len);
    copy[len] = '\0';
    fota_err_t err = key_from_buffer(copy, len, false, out);
    free(copy);
    return err;
}

bool fota_key_is_private(const fota_key_t *key)
{
    return key != NULL && key->priv;
}

fota_err_t fota_key_public_der(const fota_key_t *key, uint8_t *out, size_t *len)
{
    if (key == NULL || out == NULL || len == NULL) {
        return FOTA_ERR_ARG;
    }
    if (*len < sizeof key->der) {
        return FOTA_ERR_TOO_LARGE;
    }
    memcpy(out, key->der, sizeof key->der);
    *len = sizeof key->der;
    return FOTA_OK;
}

fota_err_t fota_key_public_pem(const fota_key_t *key, char *out, size_t cap)
{
    if (key == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    fota_key_t *k = (fota_key_t *)key; /* mbedTLS 2.x takes a non-const context to write it */
    int rc = mbedtls_pk_write_pubkey_pem(&k->pk, (unsigned char *)out, cap);
    return rc == 0 ? FOTA_OK : FOTA_ERR_TOO_LARGE;
}

fota_err_t fota_key_id(const fota_key_t *key, uint8_t out[FOTA_MANIFEST_KEY_ID_LEN])
{
    if (key == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    memcpy(out, key->id, sizeof key->id);
    return FOTA_OK;
}

mbedtls_pk_context *fota_key_pk(fota_key_t *key)
{
    return key == NULL ? NULL : &key->pk;
}

/* --- generation ------------------------------------------------------------------------------ */

/* Create path (which must not exist) with exactly `mode` (for the private key: whatever the
 * umask) and the given text; on failure nothing is left at path. */
static fota_err_t create_excl(const char *path, const char *text, mode_t mode, bool exact_mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return errno == EEXIST ? FOTA_ERR_KEY_EXISTS : FOTA_ERR_IO;
    }
    fota_err_t err = FOTA_OK;
    if (exact_mode && fchmod(fd, mode) != 0) {
        err = FOTA_ERR_IO;
    }
    if (err == FOTA_OK) {
        err = fota_fd_write_all(fd, (const uint8_t *)text, strlen(text));
    }
    if (err == FOTA_OK && fsync(fd) != 0) {
        err = FOTA_ERR_IO;
    }
    if (close(fd) != 0 && err == FOTA_OK) {
        err = FOTA_ERR_IO;
    }
    if (err != FOTA_OK) {
        unlink(path);
    }
    return err;
}

static bool path_exists(const char *path)
{
    struct stat st;
    return path != NULL && lstat(path, &st) == 0;
}

/* Write both files; without FOTA_KEY_FORCE each is created only if it does not exist (O_EXCL:
 * no race with another writer), and a failure on the public key removes the private key just
 * created. */
static fota_err_t write_pair(const char *priv_path, const char *pub_path, const char *priv_pem,
                             const char *pub_pem, unsigned flags)
{
    if (flags & FOTA_KEY_FORCE) {
        fota_err_t err = fota_file_write_all(priv_path, priv_pem, strlen(priv_pem), PRIV_MODE);
        if (err == FOTA_OK && chmod(priv_path, PRIV_MODE) != 0) {
            err = FOTA_ERR_IO;
        }
        if (err == FOTA_OK && pub_path != NULL) {
            err = fota_file_write_all(pub_path, pub_pem, strlen(pub_pem), PUB_MODE);
        }
        return err;
    }
    fota_err_t err = create_excl(priv_path, priv_pem, PRIV_MODE, true);
    if (err == FOTA_OK && pub_path != NULL) {
        err = create_excl(pub_path, pub_pem, PUB_MODE, false);
        if (err != FOTA_OK) {
            unlink(priv_path);
        }
    }
    return err;
}

/* A fresh P-256 key pair as PEM text. */
static fota_err_t generate_pem(char *priv_pem, size_t priv_cap, char *pub_pem, size_t pub_cap)
{
    rng_t r;
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    fota_err_t err = rng_init(&r, "fota-key-generate");
    int rc = err == FOTA_OK ? 0 : -1;
    if (rc == 0) {
        rc = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    }
    if (rc == 0) {
        rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
                                 mbedtls_ctr_drbg_random, &r.drbg);
    }
    if (rc == 0) {
        rc = mbedtls_pk_write_key_pem(&pk, (unsigned char *)priv_pem, priv_cap);
    }
    if (rc == 0) {
        rc = mbedtls_pk_write_pubkey_pem(&pk, (unsigned char *)pub_pem, pub_cap);
    }
    mbedtls_pk_free(&pk);
    rng_free(&r);
    return rc == 0 ? FOTA_OK : FOTA_ERR_CRYPTO;
}

fota_err_t fota_key_generate_ex(const char *priv_pem_path, const char *pub_pem_path, unsigned flags)
{
    if (priv_pem_path == NULL ||
        (pub_pem_path != NULL && strcmp(priv_pem_path, pub_pem_path) == 0)) {
        return FOTA_ERR_ARG;
    }
    if (!(flags & FOTA_KEY_FORCE) && (path_exists(priv_pem_path) || path_exists(pub_pem_path))) {
        return FOTA_ERR_KEY_EXISTS; /* before spending entropy on a key we would throw away */
    }
    char priv_pem[PRIV_PEM_MAX];
    char pub_pem[FOTA_KEY_PUBLIC_PEM_MAX];
    fota_err_t err = generate_pem(priv_pem, sizeof priv_pem, pub_pem, sizeof pub_pem);
    if (err == FOTA_OK) {
        err = write_pair(priv_pem_path, pub_pem_path, priv_pem, pub_pem, flags);
    }
    mbedtls_platform_zeroize(priv_pem, sizeof priv_pem);
    return err;
}

fota_err_t fota_key_generate(const char *priv_pem_path, const char *pub_pem_path)
{
    return fota_key_generate_ex(priv_pem_path, pub_pem_path, 0);
}

/* --- signing --------------------------------------------------------------------------------- */

static int pk_sign(mbedtls_pk_context *pk, const uint8_t hash[32], uint8_t *sig, size_t cap,
                   size_t *sig_len, rng_t *r)
{
#if MBEDTLS_VERSION_MAJOR >= 3
    return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, hash, 32, sig, cap, sig_len,
                           mbedtls_ctr_drbg_random, &r->drbg);
#else
    (void)cap; /* 2.x writes at most MBEDTLS_PK_SIGNATURE_MAX_SIZE, which sig holds */
    return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, hash, 32, sig, sig_len, mbedtls_ctr_drbg_random,
                           &r->drbg);
#endif
}

/* ECDSA over SHA-256 of the body (a release's or a delta's manifest body, body_len bytes) into
 * sig (DER, at most FOTA_MANIFEST_SIG_MAX bytes). */
static fota_err_t sign_body(fota_key_t *key, const uint8_t *body, size_t body_len,
                            uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE], size_t *sig_len)
{
    uint8_t hash[32];
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (info == NULL || mbedtls_md(info, body, body_len, hash) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    rng_t r;
    fota_err_t err = rng_init(&r, "fota-manifest-sign");
    if (err == FOTA_OK &&
        pk_sign(&key->pk, hash, sig, MBEDTLS_PK_SIGNATURE_MAX_SIZE, sig_len, &r) != 0) {
        err = FOTA_ERR_CRYPTO;
    }
    rng_free(&r);
    if (err == FOTA_OK && (*sig_len == 0 || *sig_len > FOTA_MANIFEST_SIG_MAX)) {
        err = FOTA_ERR_CRYPTO;
    }
    return err;
}

/* A kind of signed manifest: the release's (FOTA) or a delta's (FOTD). Both are a body carrying
 * the signing key's id, the signature of the body, and padding; each has its own layout. */
typedef struct {
    size_t len;      /* the whole manifest */
    size_t body_len; /* its signed body */
    /* The body of manifest m (a fota_manifest_t or fota_delta_manifest_t) with key_id in it. */
    fota_err_t (*encode)(const void *m, const uint8_t *key_id, uint8_t *body);
    fota_err_t (*assemble)(const uint8_t *body, const uint8_t *sig, size_t sig_len, uint8_t *out);
    /* FOTA_OK when a device holding key's public half accepts the manifest in buf. */
    fota_err_t (*verify)(const uint8_t *buf, const fota_key_t *key);
} manifest_kind_t;

#define MANIFEST_BODY_MAX                                                                          \
    (FOTA_MANIFEST_BODY_LEN > FOTA_DELTA_MANIFEST_BODY_LEN ? FOTA_MANIFEST_BODY_LEN                \
                                                           : FOTA_DELTA_MANIFEST_BODY_LEN)

static fota_err_t encode_release(const void *m, const uint8_t *key_id, uint8_t *body)
{
    fota_manifest_t copy = *(const fota_manifest_t *)m;
    memcpy(copy.key_id, key_id, sizeof copy.key_id);
    return fota_manifest_encode_body(&copy, body);
}

static fota_err_t verify_release(const uint8_t *buf, const fota_key_t *key)
{
    fota_manifest_t check;
    return fota_manifest_verify(buf, FOTA_MANIFEST_LEN, key->der, sizeof key->der, &check);
}

static const manifest_kind_t release_kind = {FOTA_MANIFEST_LEN, FOTA_MANIFEST_BODY_LEN,
                                             encode_release, fota_manifest_assemble,
                                             verify_release};

static fota_err_t encode_delta(const void *m, const uint8_t *key_id, uint8_t *body)
{
    fota_delta_manifest_t copy = *(const fota_delta_manifest_t *)m;
    memcpy(copy.m.key_id, key_id, sizeof copy.m.key_id);
    return fota_delta_manifest_encode_body(&copy, body);
}

static fota_err_t verify_delta(const uint8_t *buf, const fota_key_t *key)
{
    fota_delta_manifest_t check;
    return fota_delta_manifest_verify(buf, FOTA_DELTA_MANIFEST_LEN, key->der, sizeof key->der,
                                      &check);
}

static const manifest_kind_t delta_kind = {FOTA_DELTA_MANIFEST_LEN, FOTA_DELTA_MANIFEST_BODY_LEN,
                                           encode_delta, fota_delta_manifest_assemble,
                                           verify_delta};

static fota_err_t sign_checked(const manifest_kind_t *kind, const void *m, fota_key_t *key,
                               uint8_t *out)
{
    uint8_t body[MANIFEST_BODY_MAX];
    fota_err_t err = kind->encode(m, key->id, body);
    if (err != FOTA_OK) {
        return err;
    }
    uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t sig_len = 0;
    err = sign_body(key, body, kind->body_len, sig, &sig_len);
    if (err == FOTA_OK) {
        err = kind->assemble(body, sig, sig_len, out);
    }
    /* What we hand out must be what a device accepts. */
    if (err == FOTA_OK && kind->verify(out, key) != FOTA_OK) {
        err = FOTA_ERR_CRYPTO;
    }
    return err;
}

/* Sign m as a manifest of its kind into out (kind->len bytes, all zero on failure). */
static fota_err_t sign_manifest(const manifest_kind_t *kind, const void *m, fota_key_t *key,
                                uint8_t *out)
{
    if (m == NULL || key == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    fota_err_t err = key->priv ? sign_checked(kind, m, key, out) : FOTA_ERR_KEY;
    if (err != FOTA_OK) {
        memset(out, 0, kind->len);
    }
    return err;
}

fota_err_t fota_manifest_sign(const fota_manifest_t *m, fota_key_t *key,
                              uint8_t out[FOTA_MANIFEST_LEN])
{
    return sign_manifest(&release_kind, m, key, out);
}

fota_err_t fota_delta_manifest_sign(const fota_delta_manifest_t *d, fota_key_t *key,
                                    uint8_t out[FOTA_DELTA_MANIFEST_LEN])
{
    return sign_manifest(&delta_kind, d, key, out);
}
