/*
 * range.c - parse a one-range "Range: bytes=..." header, and evaluate the conditional headers
 * that decide whether it applies (range.h).
 */
#include "range.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* Digits at *p into *out, saturating at UINT64_MAX; false if there is no digit. */
static bool parse_number(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        uint64_t d = (uint64_t)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        s++;
    }
    if (s == *p) {
        return false;
    }
    *p = s;
    *out = v;
    return true;
}

/* "-N": the last N bytes. */
static fotad_range_result_t suffix_range(uint64_t n, uint64_t total, uint64_t *first,
                                         uint64_t *last)
{
    if (n == 0) {
        return FOTAD_RANGE_UNSATISFIABLE;
    }
    *first = n >= total ? 0 : total - n;
    *last = total - 1;
    return FOTAD_RANGE_PARTIAL;
}

fotad_range_result_t fotad_range_parse(const char *header, uint64_t total, uint64_t *first,
                                       uint64_t *last)
{
    if (header == NULL) {
        return FOTAD_RANGE_NONE;
    }
    const char *p = skip_spaces(header);
    if (strncasecmp(p, "bytes", 5) != 0) {
        return FOTAD_RANGE_NONE;
    }
    p = skip_spaces(p + 5);
    if (*p++ != '=') {
        return FOTAD_RANGE_NONE;
    }
    p = skip_spaces(p);
    uint64_t a = 0;
    uint64_t b = UINT64_MAX;
    bool has_first = parse_number(&p, &a);
    if (*p++ != '-') {
        return FOTAD_RANGE_NONE;
    }
    bool has_last = parse_number(&p, &b);
    if (*skip_spaces(p) != '\0' || (!has_first && !has_last) || (has_last && b < a)) {
        return FOTAD_RANGE_NONE; /* a list of ranges, junk, or an invalid range: ignored */
    }
    if (!has_first) {
        return suffix_range(b, total, first, last);
    }
    if (a >= total) {
        return FOTAD_RANGE_UNSATISFIABLE;
    }
    *first = a;
    *last = b >= total ? total - 1 : b;
    return FOTAD_RANGE_PARTIAL;
}

/* ---- conditional requests (RFC 9110 section 13) ------------------------------------------- */

/* An entity tag at p: [W/]"opaque", opaque being etagc characters (0x21, 0x23..0x7E, 0x80..0xFF).
 * Its opaque text into *tag and *len, *weak set; returns what follows it, or NULL if p holds no
 * entity tag. */
static const char *entity_tag(const char *p, const char **tag, size_t *len, bool *weak)
{
    *weak = p[0] == 'W' && p[1] == '/';
    if (*weak) {
        p += 2;
    }
    if (*p != '"') {
        return NULL;
    }
    const char *s = ++p;
    for (; *s != '"'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x21 || c == 0x7f) {
            return NULL; /* the end of the text, or a byte no entity tag holds */
        }
    }
    *tag = p;
    *len = (size_t)(s - p);
    return s + 1;
}

static bool tag_equal(const char *tag, size_t len, bool weak, const char *etag, bool strong)
{
    return !(strong && weak) && len == strlen(etag) && memcmp(tag, etag, len) == 0;
}

bool fotad_etag_list_matches(const char *field, const char *etag, bool strong)
{
    const char *p = skip_spaces(field);
    if (*p == '*') {
        return *skip_spaces(p + 1) == '\0';
    }
    bool found = false;
    while (*p != '\0') {
        const char *tag = NULL;
        size_t len = 0;
        bool weak = false;
        if (*p != ',') { /* empty elements of a list are allowed (RFC 9110 5.6.1) */
            p = entity_tag(p, &tag, &len, &weak);
            if (p == NULL) {
                return false;
            }
            found = found || tag_equal(tag, len, weak, etag, strong);
            p = skip_spaces(p);
        }
        if (*p != ',' && *p != '\0') {
            return false;
        }
        p = *p == ',' ? skip_spaces(p + 1) : p;
    }
    return found;
}

/* If-Range holds one entity tag or a date; only the tag, strongly equal, matches. */
static bool if_range_matches(const char *field, const char *etag)
{
    const char *tag = NULL;
    size_t len = 0;
    bool weak = false;
    const char *end = entity_tag(skip_spaces(field), &tag, &len, &weak);
    return end != NULL && *skip_spaces(end) == '\0' && tag_equal(tag, len, weak, etag, true);
}

fotad_cond_result_t fotad_cond_evaluate(const fotad_cond_headers_t *h, const char *etag,
                                        bool *use_range)
{
    *use_range = true;
    if (h->if_match != NULL && !fotad_etag_list_matches(h->if_match, etag, true)) {
        return FOTAD_COND_FAILED;
    }
    if (h->if_none_match != NULL && fotad_etag_list_matches(h->if_none_match, etag, false)) {
        return FOTAD_COND_NOT_MODIFIED;
    }
    if (h->if_range != NULL && !if_range_matches(h->if_range, etag)) {
        *use_range = false;
    }
    return FOTAD_COND_PROCEED;
}
