/*
 * accel.c - hand chain-mode blobs to nginx with X-Accel-Redirect when nginx answers as fotad
 * would (accel.h). nginx's side is checked against a real nginx by
 * tests/integration/test_nginx_blobs.sh.
 */
#include "accel.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "objstore.h"

/* nginx refuses (416) a number of 19 digits and more only past 2^63 - 1; 18 digits never. */
#define NGINX_SAFE_DIGITS 18u

bool fotad_accel_range_portable(const char *range)
{
    if (strncasecmp(range, "bytes=", 6) != 0 || strlen(range) < 7) {
        return false; /* nginx ignores a field that does not start so, or is shorter */
    }
    size_t digits = 0;
    for (const char *p = range; *p != '\0'; p++) {
        digits = *p >= '0' && *p <= '9' ? digits + 1 : 0;
        if (*p == '\t' || digits > NGINX_SAFE_DIGITS) {
            return false;
        }
    }
    return true;
}

bool fotad_accel_can_hand_over(const fotad_accel_headers_t *h, fotad_range_result_t range)
{
    if (h->if_match != NULL || h->if_unmodified_since != NULL || h->if_range != NULL) {
        return false; /* nginx would judge them by the file, not by the blob's tag */
    }
    if (h->range == NULL) {
        return range == FOTAD_RANGE_NONE;
    }
    return range == FOTAD_RANGE_PARTIAL && fotad_accel_range_portable(h->range);
}

void fotad_accel_respond(fotad_resp_t *resp, const char *prefix, const char *blob_sha256,
                         bool partial)
{
    char name[FOTAD_OBJSTORE_NAME_LEN + 1];
    if (fotad_objstore_name(blob_sha256, name, sizeof name) != FOTA_OK) {
        fotad_resp_internal(resp, "naming the blob's object", FOTA_ERR_TOO_LARGE);
        return;
    }
    fotad_resp_empty(resp, 200);
    resp->content_type = "application/octet-stream"; /* nginx keeps it for the file */
    resp->accel = partial ? 206 : 200;
    fotad_resp_header(resp, "X-Accel-Redirect", "%s%s", prefix, name);
    fotad_resp_header(resp, "ETag", "\"%s\"", blob_sha256);
    if (partial) {
        /* nginx adds Accept-Ranges to a 200 of its own, not to a 206: fotad's is copied. */
        fotad_resp_header(resp, "Accept-Ranges", "bytes");
    }
}
