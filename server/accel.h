/*
 * accel.h - chain-mode blobs sent by nginx in front of fotad, from fotad's object files
 * (accel_redirect, docs/SERVER.md "nginx in front"). fotad authenticates the blob request and
 * makes every check it makes without nginx (release, cancelled rollout, If-None-Match, Range);
 * then, instead of the bytes, it answers
 *
 *   200, no body, Content-Type: application/octet-stream, ETag: "<blob SHA-256>",
 *   X-Accel-Redirect: <prefix><object name, "ab/cdef...">, Accept-Ranges: bytes (206 only)
 *
 * and nginx serves the file from its internal location (alias DATA_DIR/objects/), applying the
 * client's Range itself: 200 or 206 with sendfile. nginx copies Content-Type and Accept-Ranges
 * from this answer; the shipped server/nginx/fota.conf sets the ETag from it (nginx's own ETag
 * is the file's date and size) and removes nginx's Last-Modified, so the device sees what fotad
 * would have sent.
 *
 * fotad hands a request over only when nginx is known to answer it exactly as fotad would: no
 * Range, or a Range fotad serves (206) written the way nginx reads it alike (fotad_accel_range_
 * portable); and none of If-Match, If-Unmodified-Since and If-Range, which nginx would judge
 * against the file's modification time or its own entity tag. Every other blob request fotad
 * answers itself, as without nginx: a 304, 412 or 416 carries no firmware; a 200 or 206 for a
 * Range fotad ignores (several ranges, bad syntax) or with one of those three headers - requests
 * the reference agent never makes - is sent by fotad with its bytes, as nginx proxies any answer.
 */
#ifndef FOTAD_ACCEL_H
#define FOTAD_ACCEL_H

#include <stdbool.h>

#include "httpmsg.h"
#include "range.h"

/* The request headers that decide whether nginx may answer (each NULL when absent). */
typedef struct {
    const char *range;
    const char *if_match;
    const char *if_unmodified_since;
    const char *if_range;
} fotad_accel_headers_t;

/* True if nginx reads this Range field exactly as fotad_range_parse does, whenever fotad finds
 * it PARTIAL: "bytes=" in any case with no space before '=' (nginx ignores the field
 * otherwise), no tab (nginx skips spaces only), and no run of more than 18 digits (nginx refuses
 * a number past its signed 64-bit offsets with 416; fotad takes it as 2^64 - 1). */
bool fotad_accel_range_portable(const char *range);

/* True if nginx answers this request as fotad would, range being fotad_range_parse's result for
 * h->range (after If-Range): see above. */
bool fotad_accel_can_hand_over(const fotad_accel_headers_t *h, fotad_range_result_t range);

/* Fill resp with the answer that hands the blob to nginx: prefix (accel_redirect, config.h),
 * blob_sha256 (64 hex digits: the blob's object name and ETag); partial when nginx is to answer
 * 206. */
void fotad_accel_respond(fotad_resp_t *resp, const char *prefix, const char *blob_sha256,
                         bool partial);

#endif /* FOTAD_ACCEL_H */
