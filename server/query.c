/*
 * query.c - query string parsing with percent-decoding and limits (query.h).
 */
#include "query.h"

#include <string.h>

#include "ident.h"

static int hex_digit(char c)
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

/* Decode raw[0..len) into out (cap bytes with the NUL). */
static fota_err_t decode(const char *raw, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = raw[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hex_digit(raw[i + 1]) : -1;
            int lo = hi < 0 ? -1 : hex_digit(raw[i + 2]);
            if (lo < 0 || (hi == 0 && lo == 0)) {
                return FOTA_ERR_ARG;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (n + 1 >= cap) {
            return FOTA_ERR_TOO_LARGE;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return FOTA_OK;
}

static fota_err_t add_param(fotad_query_t *q, const char *seg, size_t len)
{
    if (q->count == FOTAD_QUERY_MAX_PARAMS) {
        return FOTA_ERR_TOO_LARGE;
    }
    const char *eq = memchr(seg, '=', len);
    size_t name_len = eq != NULL ? (size_t)(eq - seg) : len;
    fotad_query_param_t *p = &q->params[q->count];
    fota_err_t err = decode(seg, name_len, p->name, sizeof p->name);
    if (err == FOTA_OK && eq != NULL) {
        err = decode(eq + 1, len - name_len - 1, p->value, sizeof p->value);
    } else if (err == FOTA_OK) {
        p->value[0] = '\0';
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (p->name[0] == '\0' || fotad_query_get(q, p->name) != NULL) {
        return FOTA_ERR_ARG;
    }
    q->count++;
    return FOTA_OK;
}

fota_err_t fotad_query_parse(const char *raw, fotad_query_t *q)
{
    q->count = 0;
    if (raw == NULL) {
        return FOTA_OK;
    }
    const char *p = raw;
    while (*p != '\0') {
        size_t len = strcspn(p, "&");
        if (len > 0) {
            fota_err_t err = add_param(q, p, len);
            if (err != FOTA_OK) {
                q->count = 0;
                return err;
            }
        }
        p += len;
        if (*p == '&') {
            p++;
        }
    }
    return FOTA_OK;
}

const char *fotad_query_get(const fotad_query_t *q, const char *name)
{
    for (size_t i = 0; i < q->count; i++) {
        if (strcmp(q->params[i].name, name) == 0) {
            return q->params[i].value;
        }
    }
    return NULL;
}

bool fotad_query_u64(const fotad_query_t *q, const char *name, uint64_t lo, uint64_t hi,
                     uint64_t *out)
{
    const char *s = fotad_query_get(q, name);
    uint64_t v = *out;
    if (s != NULL && (!fotad_parse_u64(s, hi, &v) || v < lo)) {
        return false;
    }
    *out = v;
    return true;
}
