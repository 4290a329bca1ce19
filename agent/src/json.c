/*
 * json.c - the agent's view of JSON: jsmn (zero allocation, strict mode) tokenizes a complete
 * document held in the agent's buffer into a fixed token array; helpers look up top-level keys
 * and convert values with bounds checks. Only flat objects are expected (offer, seed chunk).
 *
 * A key that occurs twice in an object is refused, and keys are compared with their escapes
 * decoded ("mac" and "m\u0061c" are one key): two parsers that read different copies of one
 * key would see two documents in one, which is how parser-differential attacks start.
 */
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "agent_internal.h"

fota_err_t fota_json_parse(fota_json_t *j, const char *js, size_t len)
{
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, j->tok, FOTA_JSON_MAX_TOKENS);
    if (n < 1 || j->tok[0].type != JSMN_OBJECT) {
        return FOTA_ERR_ARG;
    }
    /* Trailing bytes after the object other than white space are an error. */
    for (size_t i = (size_t)j->tok[0].end; i < len; i++) {
        if (js[i] != ' ' && js[i] != '\n' && js[i] != '\r' && js[i] != '\t') {
            return FOTA_ERR_ARG;
        }
    }
    j->js = js;
    j->count = n;
    return FOTA_OK;
}

bool fota_json_is_string(const fota_json_t *j, int idx)
{
    return idx >= 0 && idx < j->count && j->tok[idx].type == JSMN_STRING;
}

/* Index of the token after the subtree starting at i. */
static int skip(const fota_json_t *j, int i)
{
    int pending = 1;
    while (pending > 0 && i < j->count) {
        pending += j->tok[i].size - 1; /* an object's size counts keys; a key's size is 1 */
        i++;
    }
    return i;
}

/* The character at s[*i] of a string token with its escape decoded (-1 for an escape we do not
 * know); advances *i past it. jsmn's strict mode has checked the escape syntax already. */
static long key_char(const char *s, int *i, int end)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    char c = s[(*i)++];
    if (c != '\\') {
        return (unsigned char)c;
    }
    c = *i < end ? s[(*i)++] : '\0';
    if (c == 'u') {
        uint8_t u[2];
        bool ok = end - *i >= 4 && fota_hex_decode(s + *i, 4, u, 2);
        *i += 4;
        return ok ? (long)u[0] << 8 | u[1] : -1;
    }
    const char *p = c != '\0' ? strchr(from, c) : NULL;
    return p != NULL ? (unsigned char)to[p - from] : -1;
}

/* The string token t, escapes decoded, equals key. */
static bool key_equals(const fota_json_t *j, const jsmntok_t *t, const char *key)
{
    size_t k = 0;
    for (int i = t->start; i < t->end; k++) {
        if (key[k] == '\0' || key_char(j->js, &i, t->end) != (unsigned char)key[k]) {
            return false;
        }
    }
    return key[k] == '\0';
}

/* Every key of the object is looked at: a second copy of `key` makes the lookup fail (-1) as a
 * missing key does, so the caller refuses the document with its own error. */
int fota_json_find(const fota_json_t *j, const char *key)
{
    int found = -1;
    int i = 1;
    for (int k = 0; k < j->tok[0].size && i + 1 < j->count; k++) {
        if (j->tok[i].type == JSMN_STRING && key_equals(j, &j->tok[i], key)) {
            if (found >= 0) {
                return -1;
            }
            found = i + 1;
        }
        i = skip(j, i + 1);
    }
    return found;
}

bool fota_json_u32(const fota_json_t *j, int idx, uint32_t *out)
{
    if (idx < 0 || j->tok[idx].type != JSMN_PRIMITIVE) {
        return false;
    }
    const char *s = j->js + j->tok[idx].start;
    int n = j->tok[idx].end - j->tok[idx].start;
    if (n < 1 || n > 10) {
        return false;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10u + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool fota_json_str(const fota_json_t *j, int idx, char *out, size_t cap)
{
    if (idx < 0 || j->tok[idx].type != JSMN_STRING) {
        return false;
    }
    size_t n = (size_t)(j->tok[idx].end - j->tok[idx].start);
    const char *s = j->js + j->tok[idx].start;
    if (n + 1 > cap || memchr(s, '\\', n) != NULL) {
        return false;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}
