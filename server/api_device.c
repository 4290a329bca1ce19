/*
 * api_device.c - the device API handlers (docs/PROTOCOL.md section 4): check, manifest, seed-mode
 * chunk, chain-mode blob, report. The router has authenticated the device (req->device).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/md.h>

#include "api.h"
#include "bodies.h"
#include "json_codec.h"
#include "log.h"
#include "range.h"
#include "router.h"

static const char octet_type[] = "application/octet-stream";

/* A blob Range up to this size is answered from the release's mapping of the blob, headers and
 * body in one send; a longer one from a file descriptor with sendfile (no copy of its bytes). */
#define BLOB_INLINE_MAX (16u * 1024u)

/* A query value that must be a label (product, version): 400 otherwise. */
static const char *label_param(const fotad_req_t *req, const char *name, fotad_resp_t *resp)
{
    const char *v = fotad_query_get(req->query, name);
    if (v == NULL || !fotad_is_label(v, FOTAD_LABEL_MAX)) {
        fotad_resp_error(resp, 400, "bad_request", "%s parameter %s",
                         v == NULL ? "missing" : "malformed", name);
        return NULL;
    }
    return v;
}

/* A release by id for the device API: 404 when unknown, 500 when it cannot be loaded. */
static const fotad_release_t *release_or_error(fotad_app_t *app, const char *id, fotad_resp_t *resp)
{
    const fotad_release_t *rel = NULL;
    fota_err_t err = fotad_releases_get(app->releases, id, &rel);
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such release");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "loading a release", err);
    }
    return err == FOTA_OK ? rel : NULL;
}

void fotad_api_check(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    const char *version = label_param(req, "version", resp);
    const char *hw = version != NULL ? label_param(req, "hw", resp) : NULL;
    if (hw == NULL) {
        return;
    }
    const fotad_release_t *offer = NULL;
    fota_err_t err =
        fotad_devices_check(app->devices, req->device->id, hw, version, fotad_now(), &offer);
    if (err != FOTA_OK) {
        fotad_resp_internal(resp, "check", err);
    } else if (offer == NULL) {
        fotad_resp_empty(resp, 204);
    } else {
        fotad_resp_json(resp, 200, fotad_json_offer(&offer->rec, FOTAD_DEVICE_PREFIX));
    }
}

void fotad_api_manifest(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    const char *id = fotad_query_get(req->query, "release");
    if (id == NULL) {
        fotad_resp_error(resp, 400, "bad_request", "missing parameter release");
        return;
    }
    const fotad_release_t *rel = release_or_error(app, id, resp);
    if (rel != NULL) {
        fotad_resp_copy(resp, 200, octet_type, rel->rec.manifest, FOTA_MANIFEST_LEN);
    }
}

/* The release a chunk comes from: release= if given, else the device's pinned release. */
static const fotad_release_t *chunk_release(fotad_app_t *app, const fotad_req_t *req,
                                            fotad_resp_t *resp)
{
    const char *id = fotad_query_get(req->query, "release");
    if (id != NULL) {
        return release_or_error(app, id, resp);
    }
    const fotad_release_t *rel = NULL;
    fota_err_t err = fotad_devices_pinned(app->devices, req->device->id, &rel);
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no release offered or assigned to this device");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "finding the device's release", err);
    }
    return err == FOTA_OK ? rel : NULL;
}

/* {"chunk_number":N,"data":"<base64>","mac":"<hex>"} for chunk n of rel. */
static void send_chunk(const fotad_release_t *rel, uint32_t n, const uint8_t device_key[32],
                       fotad_resp_t *resp)
{
    const fota_manifest_t geo = {.image_size = rel->rec.image_size,
                                 .chunk_size = rel->rec.chunk_size,
                                 .chunk_count = rel->rec.chunk_count};
    const uint8_t *data = rel->image + (size_t)n * rel->rec.chunk_size;
    size_t len = fota_manifest_chunk_len(&geo, n);
    uint8_t mac[32];
    char mac_hex[65];
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (mbedtls_md_hmac(sha, device_key, 32, data, len, mac) != 0) {
        fotad_resp_internal(resp, "chunk MAC", FOTA_ERR_CRYPTO);
        return;
    }
    fotad_hex(mac, sizeof mac, mac_hex);
    size_t b64_len = 4 * ((len + 2) / 3);
    size_t cap = b64_len + 160;
    char *body = malloc(cap);
    if (body == NULL) {
        fotad_resp_internal(resp, "chunk", FOTA_ERR_NO_MEM);
        return;
    }
    int head = snprintf(body, cap, "{\"chunk_number\":%u,\"data\":\"", n);
    size_t used = (size_t)head + fotad_base64(data, len, body + head);
    used += (size_t)snprintf(body + used, cap - used, "\",\"mac\":\"%s\"}", mac_hex);
    fotad_resp_take(resp, 200, "application/json", body, used);
}

void fotad_api_chunk(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    const char *text = fotad_query_get(req->query, "chunk_number");
    uint64_t n = 0;
    if (text == NULL || !fotad_parse_u64(text, UINT32_MAX, &n)) {
        fotad_resp_error(resp, 400, "bad_request", "%s parameter chunk_number",
                         text == NULL ? "missing" : "malformed");
        return;
    }
    const fotad_release_t *rel = chunk_release(app, req, resp);
    if (rel == NULL) {
        return;
    }
    if (n >= rel->rec.chunk_count) {
        fotad_resp_error(resp, 416, "range", "chunk %llu of a release of %u chunks",
                         (unsigned long long)n, rel->rec.chunk_count);
        return;
    }
    send_chunk(rel, (uint32_t)n, req->device->device_key, resp);
}

void fotad_api_blob(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    const fotad_release_t *rel = release_or_error(app, req->param, resp);
    if (rel == NULL) {
        return;
    }
    uint64_t total = rel->rec.blob_size;
    uint64_t first = 0;
    uint64_t last = total - 1;
    fotad_range_result_t range =
        fotad_range_parse(fotad_req_header(req, "Range"), total, &first, &last);
    if (range == FOTAD_RANGE_UNSATISFIABLE) {
        fotad_resp_error(resp, 416, "range", "range outside the blob of %llu bytes",
                         (unsigned long long)total);
        fotad_resp_header(resp, "Content-Range", "bytes */%llu", (unsigned long long)total);
        return;
    }
    unsigned status = range == FOTAD_RANGE_PARTIAL ? 206 : 200;
    uint64_t len = last - first + 1;
    if (len <= BLOB_INLINE_MAX) {
        fotad_resp_borrow(resp, status, octet_type, rel->blob + first, (size_t)len);
    } else {
        int fd = open(rel->blob_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            FOTAD_ERROR("blob %s: %s", rel->blob_path, strerror(errno));
            fotad_resp_internal(resp, "opening the blob", FOTA_ERR_IO);
            return;
        }
        fotad_resp_file(resp, status, octet_type, fd, first, len);
    }
    fotad_resp_header(resp, "Accept-Ranges", "bytes");
    fotad_resp_header(resp, "ETag", "\"%s\"", rel->rec.blob_sha256);
    if (status == 206) {
        fotad_resp_header(resp, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)first,
                          (unsigned long long)last, (unsigned long long)total);
    }
}

void fotad_api_report(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_report_rec_t r;
    const char *why = fotad_report_parse(req->body, req->body_len, &r);
    if (why != NULL) {
        fotad_resp_error(resp, 400, "bad_request", "report: %s", why);
        return;
    }
    r.time = fotad_now();
    fota_err_t err = fotad_devices_report(app->devices, req->device->id, &r);
    if (err != FOTA_OK) {
        fotad_resp_internal(resp, "storing a report", err);
        return;
    }
    fotad_resp_empty(resp, 204);
}
