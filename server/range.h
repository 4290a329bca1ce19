/*
 * range.h - the HTTP Range request header (RFC 9110 section 14) and the conditional request
 * headers that go with it (RFC 9110 section 13), as fotad serves chain-mode blobs
 * (docs/PROTOCOL.md 4.4). One range of bytes is served:
 *
 *   bytes=FIRST-LAST   bytes FIRST..LAST inclusive; LAST past the end is cut to the end
 *   bytes=FIRST-       from FIRST to the end
 *   bytes=-N           the last N bytes (all of them if N >= total)
 *
 * FIRST >= total (or N == 0) cannot be satisfied: 416, with a Content-Range of "bytes", an
 * asterisk, a slash and TOTAL.
 * As RFC 9110 allows, a header fotad does not serve is ignored and the whole blob is sent with
 * 200: another unit, bad syntax, LAST < FIRST, or several ranges (a device never asks for more
 * than one; multipart/byteranges is not implemented).
 *
 * The blob's validator is its strong entity tag, the SHA-256 of the blob in quotes; fotad sends
 * no Last-Modified, so If-Modified-Since and If-Unmodified-Since are ignored (RFC 9110 13.1.3,
 * 13.1.4: a resource without a modification date). The other three are evaluated in RFC 9110
 * 13.2.2's order, before Range:
 *
 *   If-Match       "*" or a list of tags; none matches (strong comparison): 412
 *   If-None-Match  "*" or a list of tags; one matches (weak comparison): 304 (GET and HEAD)
 *   If-Range       one tag; unless it matches (strong comparison), Range is ignored: 200 with
 *                  the whole blob. A date never matches (there is no Last-Modified).
 *
 * A list that is not a well-formed list of entity tags matches nothing.
 */
#ifndef FOTAD_RANGE_H
#define FOTAD_RANGE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    FOTAD_RANGE_NONE,          /* no header, or one to ignore: send everything with 200 */
    FOTAD_RANGE_PARTIAL,       /* send [first, last] with 206 */
    FOTAD_RANGE_UNSATISFIABLE, /* 416 */
} fotad_range_result_t;

/* header may be NULL. total > 0 is the size of the resource. */
fotad_range_result_t fotad_range_parse(const char *header, uint64_t total, uint64_t *first,
                                       uint64_t *last);

/* The conditional headers of a GET or HEAD, each NULL when absent. */
typedef struct {
    const char *if_match;
    const char *if_none_match;
    const char *if_range;
} fotad_cond_headers_t;

typedef enum {
    FOTAD_COND_PROCEED,      /* serve it; Range only if *use_range */
    FOTAD_COND_NOT_MODIFIED, /* 304 with the ETag, no body */
    FOTAD_COND_FAILED,       /* 412 */
} fotad_cond_result_t;

/* The preconditions of a request for a resource whose strong entity tag is etag (the opaque
 * text, without the quotes). *use_range is false when If-Range does not match. */
fotad_cond_result_t fotad_cond_evaluate(const fotad_cond_headers_t *h, const char *etag,
                                        bool *use_range);

/* True if the field value, "*" or a comma-separated list of entity tags, names etag: strong,
 * by the strong comparison (a weak tag never matches), else by the weak one. */
bool fotad_etag_list_matches(const char *field, const char *etag, bool strong);

#endif /* FOTAD_RANGE_H */
