/*
 * range.h - the HTTP Range request header (RFC 9110 section 14), as fotad serves chain-mode
 * blobs (docs/PROTOCOL.md 4.4). One range of bytes is served:
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
 */
#ifndef FOTAD_RANGE_H
#define FOTAD_RANGE_H

#include <stdint.h>

typedef enum {
    FOTAD_RANGE_NONE,          /* no header, or one to ignore: send everything with 200 */
    FOTAD_RANGE_PARTIAL,       /* send [first, last] with 206 */
    FOTAD_RANGE_UNSATISFIABLE, /* 416 */
} fotad_range_result_t;

/* header may be NULL. total > 0 is the size of the resource. */
fotad_range_result_t fotad_range_parse(const char *header, uint64_t total, uint64_t *first,
                                       uint64_t *last);

#endif /* FOTAD_RANGE_H */
