/*
 * manifest.c - codec and verifier of the signed release manifest (manifest.h has the layout,
 * docs/MANIFEST.md the reasons).
 *
 * The same code runs on the device (verify before anything is downloaded), in the server (verify
 * an upload) and in fotactl (encode before signing), so the three cannot disagree on a byte.
 * Parsing is strict: every byte of the 256 has exactly one valid meaning, padding included, so a
 * manifest has one encoding and its SHA-256 can serve as a release id. Checks run from the cheap
 * structural ones to the signature; nothing in the struct is usable unless verify said FOTA_OK.
 */
/* mbedtls/pk.h pulls in rsa.h and threading.h; where the mbedTLS build uses pthread mutexes
 * (Debian's does), the mutex type is only declared in POSIX mode. This asks for nothing else:
 * the code below uses only C99 and mbedTLS. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "fota/manifest.h"

#include <stddef.h>
#include <string.h>

#include <mbedtls/pk.h>

#include "fota/bytes.h"

static const uint8_t magic[4] = {'F', 'O', 'T', 'M'};
static const uint8_t delta_magic[4] = {'F', 'O', 'T', 'D'};

/* DER SubjectPublicKeyInfo of an EC P-256 key, up to the uncompressed point's 0x04:
 * SEQUENCE { SEQUENCE { OID ecPublicKey, OID prime256v1 }, BIT STRING { 04 X Y } }. */
static const uint8_t p256_spki_prefix[27] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48,
                                             0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48,
                                             0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
#define P256_SPKI_LEN 91u
#define SPKI_BUF 160u /* room for mbedtls_pk_write_pubkey_der, which writes at the end */

/* --- small helpers --------------------------------------------------------------------------- */

static fota_err_t sha256(const uint8_t *p, size_t len, uint8_t out[32])
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (info == NULL || mbedtls_md(info, p, len, out) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    return FOTA_OK;
}

static int all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

static int printable(uint8_t ch)
{
    return ch >= 0x20 && ch <= 0x7E;
}

/* A 32-byte string field: 1..32 printable characters, then only NULs. */
static fota_err_t check_string_field(const uint8_t *p)
{
    size_t n = 0;
    while (n < FOTA_MANIFEST_STR_MAX && p[n] != 0) {
        if (!printable(p[n])) {
            return FOTA_ERR_MANIFEST_FORMAT;
        }
        n++;
    }
    if (n == 0 || !all_zero(p + n, FOTA_MANIFEST_STR_MAX - n)) {
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    return FOTA_OK;
}

/* The same rule for a C string about to be encoded. */
static fota_err_t check_string(const char *s)
{
    size_t n = 0;
    while (n <= FOTA_MANIFEST_STR_MAX && s[n] != '\0') {
        if (!printable((uint8_t)s[n])) {
            return FOTA_ERR_MANIFEST_FORMAT;
        }
        n++;
    }
    return (n == 0 || n > FOTA_MANIFEST_STR_MAX) ? FOTA_ERR_MANIFEST_FORMAT : FOTA_OK;
}

static void get_string(char out[FOTA_MANIFEST_STR_MAX + 1], const uint8_t *p)
{
    memcpy(out, p, FOTA_MANIFEST_STR_MAX);
    out[FOTA_MANIFEST_STR_MAX] = '\0';
}

static void put_string(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    memset(p, 0, FOTA_MANIFEST_STR_MAX);
    memcpy(p, s, n);
}

/* --- geometry -------------------------------------------------------------------------------- */

fota_err_t fota_manifest_check_geometry(const fota_manifest_t *m)
{
    if (m == NULL) {
        return FOTA_ERR_ARG;
    }
    uint32_t cs = m->chunk_size;
    if (m->image_size == 0 || cs < FOTA_MANIFEST_CHUNK_MIN || cs > FOTA_MANIFEST_CHUNK_MAX ||
        (cs & (cs - 1)) != 0) {
        return FOTA_ERR_MANIFEST_GEOMETRY;
    }
    uint32_t n = m->image_size / cs + ((m->image_size & (cs - 1u)) != 0); /* cs: a power of 2 */
    if (m->chunk_count != n) {
        return FOTA_ERR_MANIFEST_GEOMETRY;
    }
    if ((uint64_t)m->image_size + (uint64_t)n * FOTA_CHAIN_HASH_LEN > UINT32_MAX) {
        return FOTA_ERR_MANIFEST_GEOMETRY;
    }
    return FOTA_OK;
}

uint32_t fota_manifest_chunk_len(const fota_manifest_t *m, uint32_t index)
{
    if (m == NULL || index >= m->chunk_count) {
        return 0;
    }
    if (index + 1 < m->chunk_count) {
        return m->chunk_size;
    }
    return m->image_size - index * m->chunk_size;
}

uint32_t fota_manifest_blob_size(const fota_manifest_t *m)
{
    return fota_manifest_record_offset(m, m == NULL ? 0 : m->chunk_count);
}

uint32_t fota_manifest_record_offset(const fota_manifest_t *m, uint32_t index)
{
    if (m == NULL || index > m->chunk_count) {
        return 0;
    }
    if (index == m->chunk_count) {
        return m->image_size + m->chunk_count * FOTA_CHAIN_HASH_LEN;
    }
    return index * (m->chunk_size + FOTA_CHAIN_HASH_LEN);
}

uint32_t fota_manifest_record_len(const fota_manifest_t *m, uint32_t index)
{
    uint32_t len = fota_manifest_chunk_len(m, index);
    return len == 0 ? 0 : len + FOTA_CHAIN_HASH_LEN;
}

/* --- encode ---------------------------------------------------------------------------------- */

static void encode_common(const fota_manifest_t *m, const uint8_t mg[4], uint16_t body_len,
                          uint8_t *out);

fota_err_t fota_manifest_encode_body(const fota_manifest_t *m, uint8_t out[FOTA_MANIFEST_BODY_LEN])
{
    if (m == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    if (check_string(m->product_id) != FOTA_OK || check_string(m->version) != FOTA_OK) {
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    fota_err_t err = fota_manifest_check_geometry(m);
    if (err != FOTA_OK) {
        return err;
    }
    encode_common(m, magic, FOTA_MANIFEST_BODY_LEN, out);
    return FOTA_OK;
}

/* Bytes 0..167, the same in a release's manifest and a delta's; the rest of the body zero. */
static void encode_common(const fota_manifest_t *m, const uint8_t mg[4], uint16_t body_len,
                          uint8_t *out)
{
    memset(out, 0, body_len);
    memcpy(out + FOTA_MANIFEST_OFF_MAGIC, mg, 4);
    fota_put_le16(out + FOTA_MANIFEST_OFF_FORMAT_VERSION, FOTA_MANIFEST_FORMAT_VERSION);
    fota_put_le16(out + FOTA_MANIFEST_OFF_BODY_LEN, body_len);
    put_string(out + FOTA_MANIFEST_OFF_PRODUCT_ID, m->product_id);
    put_string(out + FOTA_MANIFEST_OFF_VERSION, m->version);
    fota_put_le32(out + FOTA_MANIFEST_OFF_SECURITY_VERSION, m->security_version);
    fota_put_le32(out + FOTA_MANIFEST_OFF_IMAGE_SIZE, m->image_size);
    fota_put_le32(out + FOTA_MANIFEST_OFF_CHUNK_SIZE, m->chunk_size);
    fota_put_le32(out + FOTA_MANIFEST_OFF_CHUNK_COUNT, m->chunk_count);
    memcpy(out + FOTA_MANIFEST_OFF_IMAGE_SHA256, m->image_sha256, 32);
    memcpy(out + FOTA_MANIFEST_OFF_CHAIN_HEAD, m->chain_head, FOTA_CHAIN_HASH_LEN);
    fota_put_le64(out + FOTA_MANIFEST_OFF_CREATED, m->created);
    memcpy(out + FOTA_MANIFEST_OFF_KEY_ID, m->key_id, FOTA_MANIFEST_KEY_ID_LEN);
}

fota_err_t fota_manifest_assemble(const uint8_t body[FOTA_MANIFEST_BODY_LEN], const uint8_t *sig,
                                  size_t sig_len, uint8_t out[FOTA_MANIFEST_LEN])
{
    if (body == NULL || sig == NULL || out == NULL || sig_len == 0 ||
        sig_len > FOTA_MANIFEST_SIG_MAX) {
        return FOTA_ERR_ARG;
    }
    memset(out, 0, FOTA_MANIFEST_LEN);
    memcpy(out, body, FOTA_MANIFEST_BODY_LEN);
    fota_put_le16(out + FOTA_MANIFEST_OFF_SIG_LEN, (uint16_t)sig_len);
    memcpy(out + FOTA_MANIFEST_OFF_SIG, sig, sig_len);
    return FOTA_OK;
}

/* --- parse ----------------------------------------------------------------------------------- */

/* The layout of a signed record: a release's manifest or a delta's. */
typedef struct {
    const uint8_t *magic;
    size_t body_len;
    size_t len;
} layout_t;

static const layout_t release_layout = {magic, FOTA_MANIFEST_BODY_LEN, FOTA_MANIFEST_LEN};
static const layout_t delta_layout = {delta_magic, FOTA_DELTA_MANIFEST_BODY_LEN,
                                      FOTA_DELTA_MANIFEST_LEN};

/* Magic, format version, body length: what says "this is a manifest we can read". */
static fota_err_t check_header(const uint8_t *buf, size_t len, const layout_t *l)
{
    if (len != l->len || memcmp(buf + FOTA_MANIFEST_OFF_MAGIC, l->magic, 4) != 0) {
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    if (fota_get_le16(buf + FOTA_MANIFEST_OFF_FORMAT_VERSION) != FOTA_MANIFEST_FORMAT_VERSION) {
        return FOTA_ERR_MANIFEST_VERSION;
    }
    if (fota_get_le16(buf + FOTA_MANIFEST_OFF_BODY_LEN) != l->body_len) {
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    return FOTA_OK;
}

/* The 8 reserved bytes before the signature, signature length, signature padding and tail: all
 * must be exact. The body is body_len bytes, the whole len. */
static fota_err_t check_padding(const uint8_t *buf, size_t body_len, size_t len)
{
    uint16_t sig_len = fota_get_le16(buf + body_len);
    if (!all_zero(buf + body_len - 8u, 8) || sig_len == 0 || sig_len > FOTA_MANIFEST_SIG_MAX) {
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    /* From the end of the signature to the end of the manifest (sig padding and tail). */
    size_t from = body_len + 2u + sig_len;
    if (!all_zero(buf + from, len - from)) {
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    return FOTA_OK;
}

/* The four numbers (security version, image size, chunk size, chunk count) and the two digests
 * (image SHA-256, chain head) lie one after the other in the manifest and in the struct: each run
 * is decoded in one loop or one copy. */
#define FOTA_RUN_AT_(f, off)                                                                       \
    (offsetof(fota_manifest_t, f) - offsetof(fota_manifest_t, security_version) ==                 \
     (off)-FOTA_MANIFEST_OFF_SECURITY_VERSION)
typedef char
    fota_manifest_runs_check_[FOTA_RUN_AT_(image_size, FOTA_MANIFEST_OFF_IMAGE_SIZE) &&
                                      FOTA_RUN_AT_(chunk_size, FOTA_MANIFEST_OFF_CHUNK_SIZE) &&
                                      FOTA_RUN_AT_(chunk_count, FOTA_MANIFEST_OFF_CHUNK_COUNT) &&
                                      offsetof(fota_manifest_t, chain_head) ==
                                          offsetof(fota_manifest_t, image_sha256) + 32
                                  ? 1
                                  : -1];

static void decode_fields(const uint8_t *buf, fota_manifest_t *out)
{
    out->format_version = fota_get_le16(buf + FOTA_MANIFEST_OFF_FORMAT_VERSION);
    get_string(out->product_id, buf + FOTA_MANIFEST_OFF_PRODUCT_ID);
    get_string(out->version, buf + FOTA_MANIFEST_OFF_VERSION);
    uint8_t *numbers = (uint8_t *)out + offsetof(fota_manifest_t, security_version);
    for (size_t i = 0; i < 4; i++) {
        uint32_t v = fota_get_le32(buf + FOTA_MANIFEST_OFF_SECURITY_VERSION + 4 * i);
        memcpy(numbers + 4 * i, &v, sizeof v);
    }
    memcpy((uint8_t *)out + offsetof(fota_manifest_t, image_sha256),
           buf + FOTA_MANIFEST_OFF_IMAGE_SHA256, 32 + FOTA_CHAIN_HASH_LEN);
    out->created = fota_get_le64(buf + FOTA_MANIFEST_OFF_CREATED);
    memcpy(out->key_id, buf + FOTA_MANIFEST_OFF_KEY_ID, FOTA_MANIFEST_KEY_ID_LEN);
}

/* Everything but the geometry, then the fields both layouts share into out. */
static fota_err_t parse_common(const uint8_t *buf, size_t len, const layout_t *l,
                               fota_manifest_t *out)
{
    fota_err_t err = check_header(buf, len, l);
    if (err == FOTA_OK) {
        err = check_padding(buf, l->body_len, l->len);
    }
    if (err == FOTA_OK) {
        err = check_string_field(buf + FOTA_MANIFEST_OFF_PRODUCT_ID);
    }
    if (err == FOTA_OK) {
        err = check_string_field(buf + FOTA_MANIFEST_OFF_VERSION);
    }
    if (err == FOTA_OK) {
        decode_fields(buf, out);
    }
    return err;
}

static fota_err_t parse_release(const uint8_t *buf, size_t len, void *out)
{
    fota_err_t err = parse_common(buf, len, &release_layout, out);
    return err == FOTA_OK ? fota_manifest_check_geometry(out) : err;
}

static fota_err_t parse_delta(const uint8_t *buf, size_t len, void *out)
{
    fota_delta_manifest_t *d = out;
    fota_err_t err = parse_common(buf, len, &delta_layout, &d->m);
    if (err != FOTA_OK) {
        return err;
    }
    d->patch_size = fota_get_le32(buf + FOTA_DELTA_MANIFEST_OFF_PATCH_SIZE);
    d->source_size = fota_get_le32(buf + FOTA_DELTA_MANIFEST_OFF_SOURCE_SIZE);
    memcpy(d->source_sha256, buf + FOTA_DELTA_MANIFEST_OFF_SOURCE_SHA256, 32);
    return fota_delta_manifest_check_geometry(d);
}

/* Parse into out (size bytes), zeroed unless the parse succeeds. */
static fota_err_t parse_zeroed(const uint8_t *buf, size_t len, void *out, size_t size,
                               fota_err_t (*parse)(const uint8_t *, size_t, void *))
{
    if (buf == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    memset(out, 0, size);
    fota_err_t err = parse(buf, len, out);
    if (err != FOTA_OK) {
        memset(out, 0, size);
    }
    return err;
}

fota_err_t fota_manifest_parse(const uint8_t *buf, size_t len, fota_manifest_t *out)
{
    return parse_zeroed(buf, len, out, sizeof *out, parse_release);
}

/* --- keys and signature ---------------------------------------------------------------------- */

/* Parse pubkey into pk and compute its id; FOTA_ERR_KEY unless it is an EC P-256 public key. */
static fota_err_t load_key(mbedtls_pk_context *pk, const uint8_t *pubkey, size_t pubkey_len,
                           uint8_t id[FOTA_MANIFEST_KEY_ID_LEN])
{
    if (pubkey == NULL || pubkey_len == 0 ||
        mbedtls_pk_parse_public_key(pk, pubkey, pubkey_len) != 0) {
        return FOTA_ERR_KEY;
    }
    /* Canonical DER, written by mbedTLS whatever form the key came in (DER or PEM). */
    uint8_t der[SPKI_BUF];
    int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof der);
    if (n != (int)P256_SPKI_LEN) {
        return FOTA_ERR_KEY;
    }
    const uint8_t *spki = der + sizeof der - P256_SPKI_LEN;
    if (memcmp(spki, p256_spki_prefix, sizeof p256_spki_prefix) != 0) {
        return FOTA_ERR_KEY;
    }
    uint8_t digest[32];
    fota_err_t err = sha256(spki, P256_SPKI_LEN, digest);
    memcpy(id, digest, FOTA_MANIFEST_KEY_ID_LEN);
    return err;
}

fota_err_t fota_manifest_key_id(const uint8_t *pubkey, size_t pubkey_len,
                                uint8_t out[FOTA_MANIFEST_KEY_ID_LEN])
{
    if (out == NULL) {
        return FOTA_ERR_ARG;
    }
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    fota_err_t err = load_key(&pk, pubkey, pubkey_len, out);
    mbedtls_pk_free(&pk);
    return err;
}

/* Key id and signature of a manifest that has parsed: the body is its first body_len bytes,
 * the signature's length and bytes follow it. */
static fota_err_t check_signature(const uint8_t *buf, size_t body_len, const fota_manifest_t *m,
                                  const uint8_t *pubkey, size_t pubkey_len)
{
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    uint8_t id[FOTA_MANIFEST_KEY_ID_LEN];
    uint8_t hash[32];
    fota_err_t err = load_key(&pk, pubkey, pubkey_len, id);
    if (err == FOTA_OK && memcmp(id, m->key_id, sizeof id) != 0) {
        err = FOTA_ERR_MANIFEST_SIGNATURE;
    }
    if (err == FOTA_OK) {
        err = sha256(buf, body_len, hash);
    }
    if (err == FOTA_OK) {
        size_t sig_len = fota_get_le16(buf + body_len);
        if (mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, hash, sizeof hash, buf + body_len + 2,
                              sig_len) != 0) {
            err = FOTA_ERR_MANIFEST_SIGNATURE;
        }
    }
    mbedtls_pk_free(&pk);
    return err;
}

fota_err_t fota_manifest_verify(const uint8_t *buf, size_t len, const uint8_t *pubkey,
                                size_t pubkey_len, fota_manifest_t *out)
{
    fota_err_t err = fota_manifest_parse(buf, len, out);
    if (err != FOTA_OK) {
        return err;
    }
    err = check_signature(buf, FOTA_MANIFEST_BODY_LEN, out, pubkey, pubkey_len);
    if (err != FOTA_OK) {
        memset(out, 0, sizeof *out);
    }
    return err;
}

fota_err_t fota_manifest_check_product(const fota_manifest_t *m, const char *product_id)
{
    if (m == NULL || product_id == NULL) {
        return FOTA_ERR_ARG;
    }
    if (strcmp(m->product_id, product_id) != 0) {
        return FOTA_ERR_MANIFEST_PRODUCT;
    }
    return FOTA_OK;
}

/* --- delta manifests ------------------------------------------------------------------------- */

fota_err_t fota_delta_manifest_check_geometry(const fota_delta_manifest_t *d)
{
    if (d == NULL) {
        return FOTA_ERR_ARG;
    }
    fota_manifest_t chain;
    fota_delta_manifest_chain(d, &chain);
    if (d->m.image_size == 0u || d->source_size == 0u) {
        return FOTA_ERR_MANIFEST_GEOMETRY;
    }
    return fota_manifest_check_geometry(&chain);
}

void fota_delta_manifest_chain(const fota_delta_manifest_t *d, fota_manifest_t *chain)
{
    *chain = d->m;
    chain->image_size = d->patch_size;
}

fota_err_t fota_delta_manifest_encode_body(const fota_delta_manifest_t *d,
                                           uint8_t out[FOTA_DELTA_MANIFEST_BODY_LEN])
{
    if (d == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    if (check_string(d->m.product_id) != FOTA_OK || check_string(d->m.version) != FOTA_OK) {
        return FOTA_ERR_MANIFEST_FORMAT;
    }
    fota_err_t err = fota_delta_manifest_check_geometry(d);
    if (err != FOTA_OK) {
        return err;
    }
    encode_common(&d->m, delta_magic, FOTA_DELTA_MANIFEST_BODY_LEN, out);
    fota_put_le32(out + FOTA_DELTA_MANIFEST_OFF_PATCH_SIZE, d->patch_size);
    fota_put_le32(out + FOTA_DELTA_MANIFEST_OFF_SOURCE_SIZE, d->source_size);
    memcpy(out + FOTA_DELTA_MANIFEST_OFF_SOURCE_SHA256, d->source_sha256, 32);
    return FOTA_OK;
}

fota_err_t fota_delta_manifest_assemble(const uint8_t body[FOTA_DELTA_MANIFEST_BODY_LEN],
                                        const uint8_t *sig, size_t sig_len,
                                        uint8_t out[FOTA_DELTA_MANIFEST_LEN])
{
    if (body == NULL || sig == NULL || out == NULL || sig_len == 0 ||
        sig_len > FOTA_MANIFEST_SIG_MAX) {
        return FOTA_ERR_ARG;
    }
    memset(out, 0, FOTA_DELTA_MANIFEST_LEN);
    memcpy(out, body, FOTA_DELTA_MANIFEST_BODY_LEN);
    fota_put_le16(out + FOTA_DELTA_MANIFEST_BODY_LEN, (uint16_t)sig_len);
    memcpy(out + FOTA_DELTA_MANIFEST_BODY_LEN + 2u, sig, sig_len);
    return FOTA_OK;
}

fota_err_t fota_delta_manifest_parse(const uint8_t *buf, size_t len, fota_delta_manifest_t *out)
{
    return parse_zeroed(buf, len, out, sizeof *out, parse_delta);
}

fota_err_t fota_delta_manifest_verify(const uint8_t *buf, size_t len, const uint8_t *pubkey,
                                      size_t pubkey_len, fota_delta_manifest_t *out)
{
    fota_err_t err = fota_delta_manifest_parse(buf, len, out);
    if (err == FOTA_OK) {
        err = check_signature(buf, FOTA_DELTA_MANIFEST_BODY_LEN, &out->m, pubkey, pubkey_len);
    }
    if (err != FOTA_OK) {
        memset(out, 0, sizeof *out);
    }
    return err;
}
