/*
 * query.h - the query string of a request target, parsed from the raw bytes the client sent
 * (the same bytes its MAC covers): "a=1&b=x%20y". Names and values are percent-decoded ("%XX";
 * "+" is a space, as in HTML forms and libmicrohttpd); an empty segment ("a=1&&b=2") is skipped;
 * a name without "=" has the value "". Limits keep a request from costing more than a few
 * hundred bytes: at most FOTAD_QUERY_MAX_PARAMS parameters, names up to FOTAD_QUERY_NAME_MAX and
 * values up to FOTAD_QUERY_VALUE_MAX bytes after decoding.
 */
#ifndef FOTAD_QUERY_H
#define FOTAD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#define FOTAD_QUERY_MAX_PARAMS 8u
#define FOTAD_QUERY_NAME_MAX 31u
#define FOTAD_QUERY_VALUE_MAX 128u

typedef struct {
    char name[FOTAD_QUERY_NAME_MAX + 1];
    char value[FOTAD_QUERY_VALUE_MAX + 1];
} fotad_query_param_t;

typedef struct {
    fotad_query_param_t params[FOTAD_QUERY_MAX_PARAMS];
    size_t count;
} fotad_query_t;

/*
 * Parse `raw` (the part after '?', without any '#'; NULL or "" for none) into q.
 * FOTA_ERR_TOO_LARGE: too many parameters, or a name or value too long.
 * FOTA_ERR_ARG: a bad percent escape, a decoded NUL byte, an empty name, or a name given twice
 * (a request that says two things at once is refused rather than guessed at).
 */
fota_err_t fotad_query_parse(const char *raw, fotad_query_t *q);

/* The decoded value of `name`, or NULL when it is absent. */
const char *fotad_query_get(const fotad_query_t *q, const char *name);

/* The optional number `name`: decimal digits only, lo..hi, into *out; *out keeps its value (the
 * default) when the parameter is absent. False for a malformed value or one out of range. */
bool fotad_query_u64(const fotad_query_t *q, const char *name, uint64_t lo, uint64_t hi,
                     uint64_t *out);

#endif /* FOTAD_QUERY_H */
