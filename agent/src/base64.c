/*
 * base64.c - strict base64 (RFC 4648) decoded in place in the agent's buffer: a seed-mode chunk's
 * data, the signed manifest inside an offer. The text is decoded in groups through a small stack
 * buffer: the write position always trails the read position, so no second buffer is needed.
 */
#include <string.h>

#include <mbedtls/base64.h>

#include "agent_internal.h"

#define GROUP_CHARS 64 /* base64 characters decoded per step: 48 bytes */

static bool is_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static bool is_strict(const char *s, size_t n)
{
    if (n % 4 != 0) {
        return false;
    }
    size_t pad = 0;
    while (pad < 2 && pad < n && s[n - 1 - pad] == '=') {
        pad++;
    }
    for (size_t i = 0; i < n - pad; i++) {
        if (!is_b64_char(s[i])) {
            return false;
        }
    }
    return true;
}

bool fota_b64_decode_in_place(uint8_t *io, size_t start, size_t n, size_t *out_len)
{
    if (!is_strict((const char *)io + start, n)) {
        return false;
    }
    size_t w = 0;
    for (size_t r = 0; r < n; r += GROUP_CHARS) {
        uint8_t tmp[GROUP_CHARS / 4 * 3];
        size_t len = n - r < GROUP_CHARS ? n - r : GROUP_CHARS;
        size_t olen = 0;
        if (mbedtls_base64_decode(tmp, sizeof tmp, &olen, io + start + r, len) != 0) {
            return false;
        }
        memmove(io + w, tmp, olen);
        w += olen;
    }
    *out_len = w;
    return true;
}
