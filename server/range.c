/*
 * range.c - parse a one-range "Range: bytes=..." header (range.h).
 */
#include "range.h"

#include <stdbool.h>
#include <stddef.h>
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
