/*
 * text.c - bounded string building for request targets, headers and report bodies, without
 * printf (the agent links no stdio). Appending past the capacity sets `overflow` and keeps the
 * buffer NUL-terminated; callers check fota_text_ok() once at the end.
 */
#include <string.h>

#include "agent_internal.h"

/* Percent-encoding's (RFC 3986 2.1) and a JSON \u escape's: hex bytes elsewhere are the MAC's
 * lowercase (fota_auth_hex). */
static const char hex_upper[] = "0123456789ABCDEF";

void fota_text_init(fota_text_t *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->cap = cap;
    t->len = 0;
    t->overflow = cap == 0;
    if (cap > 0) {
        buf[0] = '\0';
    }
}

static void put_char(fota_text_t *t, char c)
{
    if (t->len + 1 >= t->cap) {
        t->overflow = true;
        return;
    }
    t->buf[t->len++] = c;
    t->buf[t->len] = '\0';
}

void fota_text_mem(fota_text_t *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_char(t, s[i]);
    }
}

void fota_text_str(fota_text_t *t, const char *s)
{
    fota_text_mem(t, s, strlen(s));
}

void fota_text_u64(fota_text_t *t, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        /* one division per digit: the remainder from the quotient, in 32 bits (it is below 10) */
        uint64_t q = v / 10u;
        digits[n++] = (char)('0' + ((uint32_t)v - (uint32_t)q * 10u));
        v = q;
    } while (v != 0);
    while (n > 0) {
        put_char(t, digits[--n]);
    }
}

/* One byte as two upper-case hex digits. */
static void put_hex(fota_text_t *t, uint8_t b)
{
    put_char(t, hex_upper[b >> 4]);
    put_char(t, hex_upper[b & 0x0f]);
}

static bool is_unreserved(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void fota_text_query(fota_text_t *t, const char *s)
{
    for (; *s != '\0'; s++) {
        if (is_unreserved(*s)) {
            put_char(t, *s);
            continue;
        }
        put_char(t, '%');
        put_hex(t, (uint8_t)*s);
    }
}

void fota_text_json(fota_text_t *t, const char *s)
{
    put_char(t, '"');
    for (; *s != '\0'; s++) {
        uint8_t b = (uint8_t)*s;
        if (b == '"' || b == '\\') {
            put_char(t, '\\');
            put_char(t, (char)b);
        } else if (b < 0x20) {
            fota_text_str(t, "\\u00");
            put_hex(t, b);
        } else {
            put_char(t, (char)b);
        }
    }
    put_char(t, '"');
}

/* A hex digit's value, either case (| 0x20 makes an ASCII capital letter small), or -1. */
static int hex_value(char c)
{
    unsigned d = (unsigned)(unsigned char)c - '0';
    if (d < 10u) {
        return (int)d;
    }
    d = ((unsigned)(unsigned char)c | 0x20u) - 'a';
    return d < 6u ? (int)d + 10 : -1;
}

bool fota_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (slen != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(s[2 * i]);
        int lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return true;
}

size_t fota_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0') {
        n++;
    }
    return n;
}
