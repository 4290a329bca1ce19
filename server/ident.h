/*
 * ident.h - the identifiers and small values that cross fotad's APIs, and their checks: device
 * ids (docs/PROTOCOL.md section 1), release ids (section 3), product and version labels (the
 * manifest's string rules), lowercase hex, decimal numbers. Every value from a client goes
 * through one of these before it is used or stored.
 */
#ifndef FOTAD_IDENT_H
#define FOTAD_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FOTAD_DEVICE_ID_MAX 48u  /* characters, without the NUL */
#define FOTAD_RELEASE_ID_LEN 32u /* hex digits: the first 16 bytes of SHA-256(manifest) */
#define FOTAD_LABEL_MAX 32u      /* product and version strings, as in the manifest */
#define FOTAD_SHA256_HEX 64u

/* 1..48 characters from A-Z a-z 0-9 - _ . : */
bool fotad_is_device_id(const char *s);

/* Exactly 32 lowercase hex digits. */
bool fotad_is_release_id(const char *s);

/* s as a release id in lower case, hex digits A-F lowered (the device protocol takes ids in
 * either case), into out; false when s is longer than any release id. out need not be one. */
bool fotad_release_id_lower(const char *s, char out[FOTAD_RELEASE_ID_LEN + 1]);

/* 1..max printable ASCII characters (0x20..0x7E). */
bool fotad_is_label(const char *s, size_t max);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void fotad_hex(const uint8_t *p, size_t n, char *out);

/* Standard base64 (RFC 4648 section 4, '=' padding, no line breaks) of n bytes into out, which
 * takes 4 * ((n + 2) / 3) characters (no NUL is added); returns that length. Not constant-time:
 * for public data (firmware chunks). */
size_t fotad_base64(const uint8_t *p, size_t n, char *out);

/* Exactly 2n hex digits (either case) into n bytes; false otherwise. */
bool fotad_unhex(const char *s, uint8_t *out, size_t n);

/* A decimal number of 1..20 digits (nothing else: no sign, no space) no larger than max. */
bool fotad_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* The release id of a 256-byte manifest: hex of the first 16 bytes of its SHA-256 (33 bytes). */
void fotad_release_id(const uint8_t *manifest, size_t len, char out[FOTAD_RELEASE_ID_LEN + 1]);

/* SHA-256 of n bytes (mbedTLS's md API, the same in mbedTLS 2.28 and 3.x). */
void fotad_sha256(const void *p, size_t n, uint8_t out[32]);

/* True if a and b (n bytes) are equal; the time taken does not depend on where they differ. */
bool fotad_equal_ct(const void *a, const void *b, size_t n);

#endif /* FOTAD_IDENT_H */
