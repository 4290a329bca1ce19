/*
 * json.c - the agent's view of JSON: jsmn (zero allocation, strict mode) tokenizes a complete
 * document held in the agent's buffer into a fixed token array; helpers look up top-level keys
 * and convert values with bounds checks. Only flat objects are expected (offer, seed chunk).
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

int fota_json_find(const fota_json_t *j, const char *key)
{
    size_t klen = strlen(key);
    int i = 1;
    for (int k = 0; k < j->tok[0].size && i + 1 < j->count; k++) {
        const jsmntok_t *t = &j->tok[i];
        if (t->type == JSMN_STRING && (size_t)(t->end - t->start) == klen &&
            memcmp(j->js + t->start, key, klen) == 0) {
            return i + 1;
        }
        i = skip(j, i + 1);
    }
    return -1;
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
