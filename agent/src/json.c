/*
 * json.c - the agent's view of JSON: the few documents it reads (the offer, a seed chunk) are flat
 * objects, and one pass over such a document, held whole in the agent's buffer, checks it and
 * notes where the values of the keys the caller asks for lie. Nothing is copied and no token
 * array is kept.
 *
 * Accepted: one object, white space around it; each value a string, a number, true, false or
 * null, in RFC 8259's grammar (a string has no control characters and only RFC 8259's escapes,
 * \uXXXX with four hex digits; a number has no leading zero, no '+', no bare '.'). Refused: any
 * other document, a nested object or array, anything after the object but white space, a NUL.
 * Keys not asked for are skipped whatever they hold.
 *
 * A key the caller asks for that occurs twice refuses the document, and keys are compared with
 * their escapes decoded ("mac" and "m\u0061c" are one key): two parsers that read different
 * copies of one key would see two documents in one, which is how parser-differential attacks
 * start.
 */
#include <string.h>

#include "agent_internal.h"

/* The document, the cursor and the fields asked for. */
typedef struct {
    const char *s;
    size_t n;
    size_t i;
    const char *const *keys;
    fota_json_field_t *fields;
    size_t count;
} scan_t;

/* The next byte, 0 at the end (a NUL inside the document is refused wherever it stands). */
static char peek(const scan_t *c)
{
    return c->i < c->n ? c->s[c->i] : '\0';
}

static bool take(scan_t *c, char ch)
{
    if (peek(c) != ch) {
        return false;
    }
    c->i++;
    return true;
}

/* Skips white space; the next byte. */
static char space(scan_t *c)
{
    while (memchr(" \t\n\r", peek(c), 4) != NULL) {
        c->i++;
    }
    return peek(c);
}

static bool eat(scan_t *c, char ch)
{
    space(c);
    return take(c, ch);
}

static size_t digits(scan_t *c)
{
    size_t from = c->i;
    while (peek(c) >= '0' && peek(c) <= '9') {
        c->i++;
    }
    return c->i - from;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number(scan_t *c)
{
    take(c, '-');
    char first = peek(c);
    size_t n = digits(c);
    if (n == 0 || (n > 1 && first == '0') || (take(c, '.') && digits(c) == 0)) {
        return false;
    }
    if (take(c, 'e') || take(c, 'E')) {
        if (!take(c, '+')) {
            take(c, '-');
        }
        return digits(c) > 0;
    }
    return true;
}

static bool word(scan_t *c, const char *w)
{
    size_t n = strlen(w);
    if (c->n - c->i < n || memcmp(c->s + c->i, w, n) != 0) {
        return false;
    }
    c->i += n;
    return true;
}

/* The escape after a backslash, decoded; -1 if it is not one of RFC 8259's. */
static long escape(scan_t *c)
{
    static const char from[] = "\"\\/bfnrtu";
    static const char to[] = "\"\\/\b\f\n\r\t";
    char e = peek(c);
    const char *p = e != '\0' ? strchr(from, e) : NULL;
    if (p == NULL) {
        return -1;
    }
    c->i++;
    if (e != 'u') {
        return (unsigned char)to[p - from];
    }
    uint8_t u[2];
    if (c->n - c->i < 4 || !fota_hex_decode(c->s + c->i, 4, u, 2)) {
        return -1;
    }
    c->i += 4;
    return (long)u[0] << 8 | u[1];
}

/* A string, quotes included: no control characters, RFC 8259's escapes only. -1 if malformed,
 * else 1 if it equals key once its escapes are decoded, 0 if not. */
static int string(scan_t *c, const char *key)
{
    size_t k = 0;
    bool same = true;
    if (!eat(c, '"')) {
        return -1;
    }
    while (!take(c, '"')) {
        long ch = (unsigned char)peek(c);
        if (ch < 0x20) {
            return -1; /* the end, a NUL, or a control character */
        }
        c->i++;
        ch = ch == '\\' ? escape(c) : ch;
        if (ch < 0) {
            return -1;
        }
        same = same && key[k] != '\0' && (unsigned char)key[k++] == ch;
    }
    return same && key[k] == '\0';
}

static bool scalar(scan_t *c, char ch)
{
    switch (ch) {
    case '"':
        return string(c, "") >= 0;
    case 't':
        return word(c, "true");
    case 'f':
        return word(c, "false");
    case 'n':
        return word(c, "null");
    default:
        return number(c);
    }
}

/* One member: a key, its colon and a value, which is noted if the key is one asked for (and
 * refuses the document if that key was seen before). */
static bool member(scan_t *c)
{
    space(c);
    size_t at = c->i;
    fota_json_field_t *want = NULL;
    if (string(c, "") < 0) {
        return false;
    }
    size_t end = c->i;
    for (size_t k = 0; k < c->count; k++) {
        c->i = at;
        if (string(c, c->keys[k]) > 0) {
            want = &c->fields[k];
        }
    }
    c->i = end;
    if ((want != NULL && want->kind != 0) || !eat(c, ':')) {
        return false;
    }
    char ch = space(c);
    size_t from = c->i;
    if (!scalar(c, ch)) {
        return false;
    }
    if (want != NULL) {
        want->kind = ch;
        want->at = from;
        want->len = c->i - from;
    }
    return true;
}

fota_err_t fota_json_scan(const char *js, size_t len, const char *const *keys,
                          fota_json_field_t *fields, size_t count)
{
    scan_t c = {js, len, 0, keys, fields, count};
    memset(fields, 0, count * sizeof *fields);
    bool ok = eat(&c, '{');
    if (ok && !eat(&c, '}')) {
        do {
            ok = member(&c);
        } while (ok && eat(&c, ','));
        ok = ok && eat(&c, '}');
    }
    space(&c);
    return ok && c.i == len ? FOTA_OK : FOTA_ERR_ARG;
}

bool fota_json_u32(const char *js, const fota_json_field_t *f, uint32_t *out)
{
    if (f->kind < '0' || f->kind > '9' || f->len > 10) {
        return false;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < f->len; i++) {
        uint32_t d = (uint32_t)(js[f->at + i] - '0');
        if (d > 9 || v > (UINT32_MAX - d) / 10u) {
            return false; /* a fraction, an exponent, or above UINT32_MAX */
        }
        v = v * 10u + d;
    }
    *out = v;
    return true;
}

bool fota_json_text(const char *js, const fota_json_field_t *f, const char **text, size_t *len)
{
    *text = js + f->at + 1;
    *len = f->kind == '"' ? f->len - 2 : 0;
    return f->kind == '"';
}

bool fota_json_str(const char *js, const fota_json_field_t *f, char *out, size_t cap)
{
    const char *s;
    size_t n;
    if (!fota_json_text(js, f, &s, &n) || n + 1 > cap || memchr(s, '\\', n) != NULL) {
        return false;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}
