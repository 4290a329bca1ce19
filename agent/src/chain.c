/*
 * chain.c - the hash chain: the device side (accept one record at a time against the one hash it
 * keeps) and the builder the host tools use to lay out a blob (chain.h has the definition).
 *
 * Why a chain: the manifest signs only h_0, and h_0 commits to chunk_0 and h_1, which commits to
 * chunk_1 and h_2, and so on. So each record is authenticated by a single SHA-256 and a 32-byte
 * comparison the moment it arrives, in order, without a signature per chunk and without holding
 * more than one record. The builder runs backwards for the same reason: h_i needs h_(i+1).
 */
#include "fota/chain.h"

#include <string.h>

/* h is h_N, the 32 zero bytes that end every chain. */
static bool is_end(const uint8_t *h)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < FOTA_CHAIN_HASH_LEN; i++) {
        acc |= h[i];
    }
    return acc == 0;
}

/* SHA-256 of chunk || next through a context set up for SHA-256. */
static int hash_parts(mbedtls_md_context_t *ctx, const uint8_t *chunk, size_t len,
                      const uint8_t *next, uint8_t out[FOTA_CHAIN_HASH_LEN])
{
    int rc = mbedtls_md_starts(ctx);
    if (rc == 0) {
        rc = mbedtls_md_update(ctx, chunk, len);
    }
    if (rc == 0) {
        rc = mbedtls_md_update(ctx, next, FOTA_CHAIN_HASH_LEN);
    }
    if (rc == 0) {
        rc = mbedtls_md_finish(ctx, out);
    }
    return rc;
}

/* SHA-256 of chunk || next: one call when the two are contiguous (no context at all), else a
 * short-lived context. */
static fota_err_t link_hash(const uint8_t *chunk, size_t len, const uint8_t *next,
                            uint8_t out[FOTA_CHAIN_HASH_LEN])
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (info == NULL) {
        return FOTA_ERR_CRYPTO;
    }
    int rc;
    if (next == chunk + len) {
        rc = mbedtls_md(info, chunk, len + FOTA_CHAIN_HASH_LEN, out);
    } else {
        mbedtls_md_context_t local;
        mbedtls_md_init(&local);
        rc = mbedtls_md_setup(&local, info, 0);
        if (rc == 0) {
            rc = hash_parts(&local, chunk, len, next, out);
        }
        mbedtls_md_free(&local);
    }
    return rc == 0 ? FOTA_OK : FOTA_ERR_CRYPTO;
}

fota_err_t fota_chain_init(fota_chain_t *c, const uint8_t h0[FOTA_CHAIN_HASH_LEN], uint32_t count)
{
    if (c == NULL || h0 == NULL || count == 0) {
        return FOTA_ERR_ARG;
    }
    memcpy(c->expected, h0, FOTA_CHAIN_HASH_LEN);
    c->index = 0;
    c->count = count;
    return FOTA_OK;
}

/* Take a record whose link hash h has been computed: it must be the one expected, and the last
 * record must point at h_N. */
static fota_err_t take(fota_chain_t *c, const uint8_t h[FOTA_CHAIN_HASH_LEN], const uint8_t *next)
{
    if (memcmp(h, c->expected, FOTA_CHAIN_HASH_LEN) != 0) {
        return FOTA_ERR_CHAIN_MISMATCH;
    }
    /* The chain ends in h_N = zeros: a last record pointing anywhere else is not this chain. */
    if (c->index + 1 == c->count && !is_end(next)) {
        return FOTA_ERR_CHAIN_MISMATCH;
    }
    memcpy(c->expected, next, FOTA_CHAIN_HASH_LEN);
    c->index++;
    return FOTA_OK;
}

static fota_err_t check_args(const fota_chain_t *c, const uint8_t *chunk, const uint8_t *next)
{
    if (c == NULL || chunk == NULL || next == NULL) {
        return FOTA_ERR_ARG;
    }
    return c->index >= c->count ? FOTA_ERR_STATE : FOTA_OK;
}

fota_err_t fota_chain_accept(fota_chain_t *c, const uint8_t *chunk, size_t len,
                             const uint8_t next[FOTA_CHAIN_HASH_LEN])
{
    uint8_t h[FOTA_CHAIN_HASH_LEN];
    fota_err_t err = check_args(c, chunk, next);
    if (err == FOTA_OK) {
        err = link_hash(chunk, len, next, h);
    }
    return err == FOTA_OK ? take(c, h, next) : err;
}

/* The device's path: the agent's own context, no other way of hashing linked in. */
fota_err_t fota_chain_accept_md(fota_chain_t *c, mbedtls_md_context_t *md, const uint8_t *chunk,
                                size_t len, const uint8_t next[FOTA_CHAIN_HASH_LEN])
{
    uint8_t h[FOTA_CHAIN_HASH_LEN];
    fota_err_t err = md == NULL ? FOTA_ERR_ARG : check_args(c, chunk, next);
    if (err == FOTA_OK && hash_parts(md, chunk, len, next, h) != 0) {
        err = FOTA_ERR_CRYPTO;
    }
    return err == FOTA_OK ? take(c, h, next) : err;
}

fota_err_t fota_chain_accept_record(fota_chain_t *c, const uint8_t *record, size_t record_len)
{
    if (record == NULL || record_len <= FOTA_CHAIN_HASH_LEN) {
        return FOTA_ERR_ARG;
    }
    size_t len = record_len - FOTA_CHAIN_HASH_LEN;
    return fota_chain_accept(c, record, len, record + len);
}

bool fota_chain_done(const fota_chain_t *c)
{
    return c != NULL && c->count > 0 && c->index == c->count;
}

bool fota_chain_at_end(const fota_chain_t *c)
{
    return fota_chain_done(c) && is_end(c->expected);
}

fota_err_t fota_chain_hash(const uint8_t *chunk, size_t len,
                           const uint8_t next[FOTA_CHAIN_HASH_LEN],
                           uint8_t out[FOTA_CHAIN_HASH_LEN])
{
    if (chunk == NULL || next == NULL || out == NULL) {
        return FOTA_ERR_ARG;
    }
    return link_hash(chunk, len, next, out);
}

/* --- builder --------------------------------------------------------------------------------- */

static size_t chunk_count(size_t image_len, uint32_t chunk_size)
{
    return image_len / chunk_size + (image_len % chunk_size != 0);
}

size_t fota_chain_blob_size(size_t image_len, uint32_t chunk_size)
{
    if (image_len == 0 || chunk_size == 0) {
        return 0;
    }
    size_t n = chunk_count(image_len, chunk_size);
    if (n > (SIZE_MAX - image_len) / FOTA_CHAIN_HASH_LEN) {
        return 0;
    }
    return image_len + n * FOTA_CHAIN_HASH_LEN;
}

/* Spread the chunks to their record offsets, last first: chunk i moves from i*cs up to
 * i*(cs+32), above every chunk still to move, so image == blob works. */
static void lay_out_chunks(const uint8_t *image, size_t image_len, size_t cs, size_t n,
                           uint8_t *blob)
{
    size_t rec = cs + FOTA_CHAIN_HASH_LEN;
    for (size_t i = n; i-- > 0;) {
        size_t len = (i + 1 == n) ? image_len - i * cs : cs;
        memmove(blob + i * rec, image + i * cs, len);
    }
}

/* h_N = zeros after the last chunk; then h_i = SHA-256(record i) goes into record i-1's tail. */
static fota_err_t link_records(size_t image_len, size_t cs, size_t n, uint8_t *blob,
                               uint8_t h0[FOTA_CHAIN_HASH_LEN])
{
    size_t rec = cs + FOTA_CHAIN_HASH_LEN;
    size_t last_len = image_len - (n - 1) * cs;
    memset(blob + (n - 1) * rec + last_len, 0, FOTA_CHAIN_HASH_LEN);
    for (size_t i = n; i-- > 0;) {
        size_t len = (i + 1 == n) ? last_len : cs;
        uint8_t *dst = (i == 0) ? h0 : blob + i * rec - FOTA_CHAIN_HASH_LEN;
        fota_err_t err = link_hash(blob + i * rec, len, blob + i * rec + len, dst);
        if (err != FOTA_OK) {
            return err;
        }
    }
    return FOTA_OK;
}

fota_err_t fota_chain_build(const uint8_t *image, size_t image_len, uint32_t chunk_size,
                            uint8_t *blob, size_t blob_len, uint8_t h0[FOTA_CHAIN_HASH_LEN])
{
    if (image == NULL || blob == NULL || h0 == NULL || image_len == 0 || chunk_size == 0) {
        return FOTA_ERR_ARG;
    }
    size_t need = fota_chain_blob_size(image_len, chunk_size);
    if (need == 0 || blob_len < need) {
        return FOTA_ERR_RANGE;
    }
    size_t n = chunk_count(image_len, chunk_size);
    lay_out_chunks(image, image_len, chunk_size, n, blob);
    return link_records(image_len, chunk_size, n, blob, h0);
}
