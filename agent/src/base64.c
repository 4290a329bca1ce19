/*
 * base64.c - strict base64 (RFC 4648) decoded in place in the agent's buffer: a seed-mode chunk's
 * data, the signed manifest inside an offer. Each output byte is written as soon as its 8 bits
 * are in: the write position always trails the read position (3 bytes per 4 characters), so no
 * second buffer is needed. Strict: the alphabet only, length a multiple of 4, '=' only as the
 * last one or two characters, and the bits the padding leaves over zero (RFC 4648 3.5), so each
 * byte string has exactly one accepted text.
 */
#include "agent_internal.h"

/* A base64 character's 6-bit value, or -1 (for '=' too: it is counted before the loop). */
static int b64_value(unsigned c)
{
    if (c - 'A' < 26u) {
        return (int)(c - 'A');
    }
    if (c - 'a' < 26u) {
        return (int)(c - 'a') + 26;
    }
    if (c - '0' < 10u) {
        return (int)(c - '0') + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

bool fota_b64_decode_in_place(uint8_t *io, size_t start, size_t n, size_t *out_len)
{
    const uint8_t *s = io + start;
    if (n % 4 != 0) {
        return false;
    }
    size_t end = n;
    while (end > 0 && n - end < 2 && s[end - 1] == '=') {
        end--;
    }
    uint32_t acc = 0; /* only its low `bits` bits are pending */
    unsigned bits = 0;
    size_t w = 0;
    for (size_t r = 0; r < end; r++) {
        int v = b64_value(s[r]);
        if (v < 0) {
            return false;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            io[w++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = w;
    return (acc & ((1u << bits) - 1u)) == 0;
}
