/*
 * ident.c - checks and codecs for ids, labels, hex and decimal numbers (ident.h).
 */
#include "ident.h"

#include <string.h>

#include <mbedtls/md.h>

static bool is_device_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
}

bool fotad_is_device_id(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (n >= FOTAD_DEVICE_ID_MAX || !is_device_char(s[n])) {
            return false;
        }
    }
    return n > 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool fotad_is_release_id(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (n >= FOTAD_RELEASE_ID_LEN || hex_value(s[n]) < 0 || (s[n] >= 'A' && s[n] <= 'F')) {
            return false;
        }
    }
    return n == FOTAD_RELEASE_ID_LEN;
}

bool fotad_release_id_lower(const char *s, char out[FOTAD_RELEASE_ID_LEN + 1])
{
    size_t n = 0;
    for (; s[n] != '\0' && n < FOTAD_RELEASE_ID_LEN; n++) {
        out[n] = s[n] >= 'A' && s[n] <= 'F' ? (char)(s[n] - 'A' + 'a') : s[n];
    }
    out[n] = '\0';
    return s[n] == '\0';
}

bool fotad_is_label(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (n >= max || s[n] < 0x20 || s[n] > 0x7e) {
            return false;
        }
    }
    return n > 0;
}

void fotad_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* A table lookup per 6 bits: several times faster than mbedTLS's encoder, which is made
 * constant-time for keys and buys nothing for firmware. */
size_t fotad_base64(const uint8_t *p, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
        *o++ = abc[(v >> 6) & 63];
        *o++ = abc[v & 63];
    }
    if (i < n) {
        bool two = i + 1 < n;
        uint32_t v = (uint32_t)p[i] << 16 | (two ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
        *o++ = two ? abc[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    return (size_t)(o - out);
}

bool fotad_unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(s[2 * i]);
        int lo = hi < 0 ? -1 : hex_value(s[2 * i + 1]);
        if (lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return s[2 * n] == '\0';
}

bool fotad_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (n >= 20 || s[n] < '0' || s[n] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(s[n] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    if (n == 0 || v > max) {
        return false;
    }
    *out = v;
    return true;
}

void fotad_release_id(const uint8_t *manifest, size_t len, char out[FOTAD_RELEASE_ID_LEN + 1])
{
    uint8_t digest[32];
    fotad_sha256(manifest, len, digest);
    fotad_hex(digest, FOTAD_RELEASE_ID_LEN / 2, out);
}

bool fotad_equal_ct(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) {
        diff |= (uint8_t)(x[i] ^ y[i]);
    }
    return diff == 0;
}

void fotad_sha256(const void *p, size_t n, uint8_t out[32])
{
    /* mbedtls_md fails only for a NULL md_info, which SHA-256 never is. */
    (void)mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), p, n, out);
}
