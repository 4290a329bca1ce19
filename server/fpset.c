/*
 * fpset.c - open-addressing set of salted fingerprints (fpset.h). The fingerprint is already a
 * uniform hash, so its first 8 bytes pick the slot; linear probing; load factor at most 1/2.
 * A fingerprint that comes out all zero (the empty marker) is nudged to ...01: with 128 bits
 * that changes nothing in practice.
 */
#include "fpset.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/md.h>

#define FPSET_MIN_CAP 1024u

static const uint8_t zero_fp[FOTAD_FP_LEN];

void fotad_fpset_init(fotad_fpset_t *s)
{
    memset(s, 0, sizeof *s);
}

void fotad_fpset_free(fotad_fpset_t *s)
{
    free(s->slots);
    memset(s, 0, sizeof *s);
}

void fotad_fpset_clear(fotad_fpset_t *s)
{
    if (s->slots != NULL) {
        memset(s->slots, 0, s->cap * FOTAD_FP_LEN);
    }
    s->count = 0;
}

static size_t slot_of(const uint8_t fp[FOTAD_FP_LEN], size_t cap)
{
    uint64_t h;
    memcpy(&h, fp, sizeof h);
    return (size_t)(h & (cap - 1));
}

/* The slot holding fp, or the empty slot where it would go. */
static size_t probe(const fotad_fpset_t *s, const uint8_t fp[FOTAD_FP_LEN])
{
    size_t i = slot_of(fp, s->cap);
    while (memcmp(s->slots[i], zero_fp, FOTAD_FP_LEN) != 0 &&
           memcmp(s->slots[i], fp, FOTAD_FP_LEN) != 0) {
        i = (i + 1) & (s->cap - 1);
    }
    return i;
}

bool fotad_fpset_contains(const fotad_fpset_t *s, const uint8_t fp[FOTAD_FP_LEN])
{
    if (s->cap == 0) {
        return false;
    }
    return memcmp(s->slots[probe(s, fp)], fp, FOTAD_FP_LEN) == 0;
}

static fota_err_t grow(fotad_fpset_t *s)
{
    size_t cap = s->cap == 0 ? FPSET_MIN_CAP : s->cap * 2;
    fotad_fpset_t bigger = {calloc(cap, FOTAD_FP_LEN), cap, 0};
    if (bigger.slots == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (memcmp(s->slots[i], zero_fp, FOTAD_FP_LEN) != 0) {
            memcpy(bigger.slots[probe(&bigger, s->slots[i])], s->slots[i], FOTAD_FP_LEN);
            bigger.count++;
        }
    }
    free(s->slots);
    *s = bigger;
    return FOTA_OK;
}

fota_err_t fotad_fpset_add(fotad_fpset_t *s, const uint8_t fp[FOTAD_FP_LEN], bool *added)
{
    *added = false;
    if ((s->count + 1) * 2 > s->cap) {
        fota_err_t err = grow(s);
        if (err != FOTA_OK) {
            return err;
        }
    }
    size_t i = probe(s, fp);
    if (memcmp(s->slots[i], fp, FOTAD_FP_LEN) == 0) {
        return FOTA_OK;
    }
    memcpy(s->slots[i], fp, FOTAD_FP_LEN);
    s->count++;
    *added = true;
    return FOTA_OK;
}

fota_err_t fotad_fp_salt_init(fotad_fp_salt_t *salt)
{
    ssize_t n = getrandom(salt->salt, sizeof salt->salt, 0);
    return n == (ssize_t)sizeof salt->salt ? FOTA_OK : FOTA_ERR_IO;
}

void fotad_fingerprint(const fotad_fp_salt_t *salt, const char *a, const char *b,
                       uint8_t fp[FOTAD_FP_LEN])
{
    mbedtls_md_context_t md;
    uint8_t digest[32];
    mbedtls_md_init(&md);
    /* Setup fails only without memory; the digest then stays zero and is nudged below, which
     * makes every key collide: a refusal (replay / already seen), never an acceptance. */
    memset(digest, 0, sizeof digest);
    if (mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 0) == 0) {
        mbedtls_md_starts(&md);
        mbedtls_md_update(&md, salt->salt, sizeof salt->salt);
        mbedtls_md_update(&md, (const uint8_t *)a, strlen(a) + 1);
        if (b != NULL) {
            mbedtls_md_update(&md, (const uint8_t *)b, strlen(b));
        }
        mbedtls_md_finish(&md, digest);
    }
    mbedtls_md_free(&md);
    memcpy(fp, digest, FOTAD_FP_LEN);
    if (memcmp(fp, zero_fp, FOTAD_FP_LEN) == 0) {
        fp[FOTAD_FP_LEN - 1] = 1;
    }
}
