/*
 * chain.h - the hash chain that authenticates every chunk of an image before it touches flash,
 * in constant RAM, with one signature check (the manifest's) per update.
 *
 * Definition (docs/MANIFEST.md): the image is cut into N chunks of chunk_size bytes, the last
 * one image_size - (N-1) * chunk_size bytes. h_N = 32 zero bytes; h_i = SHA-256(chunk_i ||
 * h_(i+1)). h_0 is the chain head, signed in the manifest. The blob a server serves is the records
 * chunk_i || h_(i+1) for i = 0..N-1 back to back: record i starts at i * (chunk_size + 32) and
 * the blob is image_size + 32 * N bytes.
 *
 * The device keeps one fota_chain_t: `expected` starts at h_0; a record is accepted only if
 * SHA-256(chunk || next) == expected, and then expected = next. The last record's next must be
 * h_N (zeros). A refused record leaves the state unchanged, so the same record can be fetched
 * again. The struct is plain data: it can be journaled and restored as it is.
 *
 * Memory: nothing is allocated by this code and there is no global state. fota_chain_accept
 * hashes with a short-lived mbedTLS context (mbedtls_md_setup allocates inside mbedTLS); the
 * _md variant uses the caller's context instead.
 */
#ifndef FOTA_CHAIN_H
#define FOTA_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/md.h>

#include "fota/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_CHAIN_HASH_LEN 32u

typedef struct {
    uint8_t expected[FOTA_CHAIN_HASH_LEN]; /* hash the next record must have */
    uint32_t index;                        /* records accepted so far = next record's index */
    uint32_t count;                        /* records in the chain (manifest chunk_count) */
} fota_chain_t;

/* Start at h0 with `count` records to come. FOTA_ERR_ARG for NULL or count 0. */
fota_err_t fota_chain_init(fota_chain_t *c, const uint8_t h0[FOTA_CHAIN_HASH_LEN], uint32_t count);

/*
 * Check record c->index: chunk (len bytes) and next (the 32-byte hash that follows it).
 * FOTA_OK: accepted, expected = next, index + 1. FOTA_ERR_CHAIN_MISMATCH: the hash differs (or
 * the last record's next is not 32 zero bytes); the state is unchanged. FOTA_ERR_STATE: all
 * records were already accepted. FOTA_ERR_ARG: NULL. FOTA_ERR_CRYPTO: mbedTLS failed.
 */
fota_err_t fota_chain_accept(fota_chain_t *c, const uint8_t *chunk, size_t len,
                             const uint8_t next[FOTA_CHAIN_HASH_LEN]);

/* The same with the caller's mbedTLS context, already set up for SHA-256 (HMAC-capable is fine):
 * no allocation per record. */
fota_err_t fota_chain_accept_md(fota_chain_t *c, mbedtls_md_context_t *md, const uint8_t *chunk,
                                size_t len, const uint8_t next[FOTA_CHAIN_HASH_LEN]);

/* A whole record as it sits in the blob: chunk followed by next. FOTA_ERR_ARG if
 * record_len <= 32; otherwise as fota_chain_accept. */
fota_err_t fota_chain_accept_record(fota_chain_t *c, const uint8_t *record, size_t record_len);

/* True once all `count` records have been accepted. */
bool fota_chain_done(const fota_chain_t *c);

/* Done, and the hash the chain holds is h_N (32 zero bytes): true once the last record has been
 * accepted; false for a chain whose index was set to its count without records (the agent does
 * that to verify a rolled-back image again from the slot, and keeps h_0). */
bool fota_chain_at_end(const fota_chain_t *c);

/* One link: out = SHA-256(chunk || next). The building block for a streaming builder that walks
 * an image from its last chunk to its first (h_N is zeros, each result is the previous `next`). */
fota_err_t fota_chain_hash(const uint8_t *chunk, size_t len,
                           const uint8_t next[FOTA_CHAIN_HASH_LEN],
                           uint8_t out[FOTA_CHAIN_HASH_LEN]);

/* Blob size for an image: image_len + 32 * ceil(image_len / chunk_size); 0 if image_len or
 * chunk_size is 0 or the size does not fit in size_t. */
size_t fota_chain_blob_size(size_t image_len, uint32_t chunk_size);

/*
 * Build the blob for an image and return its head h0. blob_len must be at least
 * fota_chain_blob_size(image_len, chunk_size) (bytes past that are left alone). No memory is
 * needed beyond the blob: the chunks are laid out first, then hashed from the last record to the
 * first, each hash written into the tail of the record before it. image and blob must not
 * overlap, except image == blob (the image at the start of the blob buffer: built in place).
 * FOTA_ERR_ARG for NULL or a zero size; FOTA_ERR_RANGE if blob_len is too small;
 * FOTA_ERR_CRYPTO if mbedTLS fails.
 */
fota_err_t fota_chain_build(const uint8_t *image, size_t image_len, uint32_t chunk_size,
                            uint8_t *blob, size_t blob_len, uint8_t h0[FOTA_CHAIN_HASH_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_CHAIN_H */
