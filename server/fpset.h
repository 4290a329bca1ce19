/*
 * fpset.h - a set of 16-byte fingerprints (truncated salted SHA-256 of some key), in one open-
 * addressing table that doubles when half full. Used to remember which (device, nonce) pairs
 * were seen (nonce_cache.c) and which devices were recently seen (devices.c) with 16 bytes a
 * key, whatever the key's length. Not thread-safe: the owner locks.
 */
#ifndef FOTAD_FPSET_H
#define FOTAD_FPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#define FOTAD_FP_LEN 16u

typedef struct {
    uint8_t (*slots)[FOTAD_FP_LEN]; /* all-zero = empty */
    size_t cap;                     /* a power of two, or 0 before the first insert */
    size_t count;
} fotad_fpset_t;

typedef struct {
    uint8_t salt[16]; /* random per process: fingerprints cannot be aimed at each other */
} fotad_fp_salt_t;

void fotad_fpset_init(fotad_fpset_t *s);
void fotad_fpset_free(fotad_fpset_t *s);

/* Forget everything (keeps the memory for reuse). */
void fotad_fpset_clear(fotad_fpset_t *s);

bool fotad_fpset_contains(const fotad_fpset_t *s, const uint8_t fp[FOTAD_FP_LEN]);

/* Add fp; *added is false if it was already there. FOTA_ERR_NO_MEM if the table cannot grow. */
fota_err_t fotad_fpset_add(fotad_fpset_t *s, const uint8_t fp[FOTAD_FP_LEN], bool *added);

/* A fresh random salt (getrandom). */
fota_err_t fotad_fp_salt_init(fotad_fp_salt_t *salt);

/* fp = first 16 bytes of SHA-256(salt || a || 0x00 || b); b may be NULL. */
void fotad_fingerprint(const fotad_fp_salt_t *salt, const char *a, const char *b,
                       uint8_t fp[FOTAD_FP_LEN]);

#endif /* FOTAD_FPSET_H */
