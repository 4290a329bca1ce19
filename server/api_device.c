/*
 * api_device.c - the device API handlers (docs/PROTOCOL.md section 4): check, manifest, seed-mode
 * chunk, chain-mode blob, report. The router has authenticated the device (req->device).
 * With accel_redirect set, a blob's bytes are left to nginx in front once every check is made
 * (accel.h).
 *
 * A delta (deltas.h) is served by its id as a release is: its 320-byte manifest, its blob by the
 * same code (Range, conditions, X-Accel-Redirect); a check with image= offers the delta of the
 * offered release from that image, if there is one.
 *
 * A release id is hex, which a client may write in either case: every id from a request (the
 * release parameter, the blob's path segment, a report's release) is taken in lowercase, the
 * form fotad stores and answers with.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/md.h>

#include "accel.h"
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

/* A release by id for the device API, the id in either case: 404 when unknown, 500 when it
 * cannot be loaded. */
static const fotad_release_t *release_or_error(fotad_app_t *app, const char *id, fotad_resp_t *resp)
{
    char lower[FOTAD_RELEASE_ID_LEN + 1];
    const fotad_release_t *rel = NULL;
    fota_err_t err = fotad_release_id_lower(id, lower)
                         ? fotad_releases_get(app->releases, lower, &rel)
                         : FOTA_ERR_NOT_FOUND; /* longer than any release id */
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such release");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "loading a release", err);
    }
    return err == FOTA_OK ? rel : NULL;
}

/* What a manifest or blob request names: a release, or a delta (deltas.h) with the release it
 * produces; the blob's bytes, name and size either way. */
typedef struct {
    const fotad_release_t *rel; /* the release (a delta's target for a delta) */
    const fotad_delta_t *delta; /* NULL for a release */
    const uint8_t *data;
    uint64_t size;
    const char *sha256; /* the blob's object name and ETag */
    const char *path;
} fotad_blob_t;

/* The release or delta with this id, the id in either case: 404 when neither exists, 500 when it
 * cannot be loaded. */
static bool blob_or_error(fotad_app_t *app, const char *id, fotad_blob_t *b, fotad_resp_t *resp)
{
    char lower[FOTAD_RELEASE_ID_LEN + 1];
    memset(b, 0, sizeof *b);
    bool ok = fotad_release_id_lower(id, lower);
    fota_err_t err = ok ? fotad_releases_get(app->releases, lower, &b->rel) : FOTA_ERR_NOT_FOUND;
    if (err == FOTA_OK) {
        b->data = b->rel->blob;
        b->size = b->rel->rec.blob_size;
        b->sha256 = b->rel->rec.blob_sha256;
        b->path = b->rel->blob_path;
    } else if (err == FOTA_ERR_NOT_FOUND && ok &&
               (err = fotad_deltas_get(app->deltas, lower, &b->delta)) == FOTA_OK) {
        b->rel = b->delta->release;
        b->data = b->delta->blob;
        b->size = b->delta->rec.blob_size;
        b->sha256 = b->delta->rec.blob_sha256;
        b->path = b->delta->blob_path;
    }
    if (err == FOTA_ERR_NOT_FOUND) {
        fotad_resp_error(resp, 404, "not_found", "no such release");
    } else if (err != FOTA_OK) {
        fotad_resp_internal(resp, "loading a release", err);
    }
    return err == FOTA_OK;
}

/* manifest=1 on a check: the signed manifest inside the offer ("manifest_data", base64), which
 * spares the device the manifest request (docs/PROTOCOL.md, "check"). */
static bool add_manifest(cJSON *offer, const fotad_release_rec_t *r)
{
    char b64[4 * ((FOTA_MANIFEST_LEN + 2) / 3) + 1];
    b64[fotad_base64(r->manifest, FOTA_MANIFEST_LEN, b64)] = '\0';
    return cJSON_AddStringToObject(offer, "manifest_data", b64) != NULL;
}

/* The offer's "action" (always) and "rollout" (when a rollout made it); false when out of
 * memory. */
static bool add_action(cJSON *offer, const fotad_ro_decision_t *dec)
{
    return cJSON_AddStringToObject(offer, "action", dec->action) != NULL &&
           (dec->rollout == 0 ||
            cJSON_AddNumberToObject(offer, "rollout", (double)dec->rollout) != NULL);
}

/* Who decides: a rollout the device is a member of, else the assignments (devices.h). */
static fota_err_t decide_offer(fotad_app_t *app, const char *id, const char *hw,
                               const char *version, fotad_ro_decision_t *dec,
                               const fotad_release_t **rel)
{
    *rel = NULL;
    fota_err_t err = fotad_rollouts_check(app->rollouts, id, hw, version, dec);
    if (err != FOTA_OK) {
        return err;
    }
    if (dec->kind == FOTAD_RO_OFFER) {
        err = fotad_releases_get(app->releases, dec->release, rel);
    }
    if (err == FOTA_OK && dec->kind != FOTAD_RO_NOT_MINE) {
        const char *offered = dec->kind == FOTAD_RO_OFFER ? dec->release : "";
        return fotad_devices_record_check(app->devices, id, hw, version, offered, fotad_now());
    }
    if (err != FOTA_OK) {
        return err;
    }
    err = fotad_devices_check(app->devices, id, hw, version, fotad_now(), rel);
    dec->kind = *rel != NULL ? FOTAD_RO_OFFER : FOTAD_RO_NOTHING;
    dec->action = "soft";
    return err;
}

/* image=: the id of the image the device runs (64 hex digits, either case) into out in
 * lowercase, "" when absent; false (and a 400) when malformed. */
static bool image_param(const fotad_req_t *req, char out[FOTAD_SHA256_HEX + 1], fotad_resp_t *resp)
{
    const char *v = fotad_query_get(req->query, "image");
    out[0] = '\0';
    if (v == NULL) {
        return true;
    }
    size_t n = strlen(v);
    if (n != FOTAD_SHA256_HEX || strspn(v, "0123456789abcdefABCDEF") != n) {
        fotad_resp_error(resp, 400, "bad_request", "malformed parameter image");
        return false;
    }
    for (size_t i = 0; i <= n; i++) {
        out[i] = (char)(v[i] >= 'A' && v[i] <= 'F' ? v[i] - 'A' + 'a' : v[i]);
    }
    return true;
}

/* The offer's "delta" and "delta_size" when the release has a delta from the device's image;
 * false when out of memory or the store failed (*err says which). */
static bool add_delta(fotad_app_t *app, cJSON *offer, const fotad_release_rec_t *r,
                      const char *image, fota_err_t *err)
{
    fotad_delta_rec_t d;
    *err = image[0] != '\0' ? fotad_deltas_find(app->deltas, r->id, image, &d) : FOTA_ERR_NOT_FOUND;
    if (*err == FOTA_ERR_NOT_FOUND) {
        *err = FOTA_OK;
        return true;
    }
    if (*err == FOTA_OK && (cJSON_AddStringToObject(offer, "delta", d.id) == NULL ||
                            cJSON_AddNumberToObject(offer, "delta_size", d.blob_size) == NULL)) {
        *err = FOTA_ERR_NO_MEM;
    }
    return *err == FOTA_OK;
}

void fotad_api_check(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    const char *version = label_param(req, "version", resp);
    const char *hw = version != NULL ? label_param(req, "hw", resp) : NULL;
    char image[FOTAD_SHA256_HEX + 1];
    if (hw == NULL || !image_param(req, image, resp)) {
        return;
    }
    fotad_ro_decision_t dec;
    const fotad_release_t *release = NULL;
    fota_err_t err = decide_offer(app, req->device->id, hw, version, &dec, &release);
    if (err != FOTA_OK) {
        fotad_resp_internal(resp, "check", err);
    } else if (dec.kind != FOTAD_RO_OFFER) {
        fotad_resp_empty(resp, 204);
        if (dec.retry_after > 0) {
            fotad_resp_header(resp, "Retry-After", "%u", dec.retry_after);
        }
    } else {
        const fotad_release_rec_t *rel = &release->rec;
        cJSON *o = fotad_json_offer(rel, FOTAD_DEVICE_PREFIX);
        const char *with = fotad_query_get(req->query, "manifest");
        fota_err_t derr = FOTA_OK;
        if (o != NULL && (!add_action(o, &dec) ||
                          (with != NULL && strcmp(with, "1") == 0 && !add_manifest(o, rel)) ||
                          !add_delta(app, o, rel, image, &derr))) {
            cJSON_Delete(o);
            o = NULL; /* a 500 */
        }
        if (derr != FOTA_OK && derr != FOTA_ERR_NO_MEM) {
            fotad_resp_internal(resp, "finding a delta", derr);
        } else {
            fotad_resp_json(resp, 200, o);
        }
    }
}

void fotad_api_manifest(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    const char *id = fotad_query_get(req->query, "release");
    if (id == NULL) {
        fotad_resp_error(resp, 400, "bad_request", "missing parameter release");
        return;
    }
    fotad_blob_t b;
    if (!blob_or_error(app, id, &b, resp)) {
        return;
    }
    if (b.delta != NULL) {
        fotad_resp_copy(resp, 200, octet_type, b.delta->rec.manifest, FOTA_DELTA_MANIFEST_LEN);
    } else {
        fotad_resp_copy(resp, 200, octet_type, b.rel->rec.manifest, FOTA_MANIFEST_LEN);
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

/* A member of a cancelled rollout asking for its release's data without another reason to have
 * it: 410 gone (docs/ROLLOUTS.md, "States"). Free while no rollout was cancelled. */
static bool data_allowed(fotad_app_t *app, const fotad_req_t *req, const fotad_release_t *rel,
                         fotad_resp_t *resp)
{
    if (fotad_rollouts_data_allowed(app->rollouts, req->device->id, rel->rec.product,
                                    rel->rec.id)) {
        return true;
    }
    fotad_resp_error(resp, 410, "gone", "the rollout of this release was cancelled");
    return false;
}

/* {"chunk_number":N,"data":"<base64>","<mac_field>":"<hex>"} for chunk n of rel. */
void fotad_api_send_chunk(const fotad_release_t *rel, uint32_t n, const uint8_t *key,
                          size_t key_len, const char *mac_field, fotad_resp_t *resp)
{
    const fota_manifest_t geo = {.image_size = rel->rec.image_size,
                                 .chunk_size = rel->rec.chunk_size,
                                 .chunk_count = rel->rec.chunk_count};
    const uint8_t *data = rel->image + (size_t)n * rel->rec.chunk_size;
    size_t len = fota_manifest_chunk_len(&geo, n);
    uint8_t mac[32];
    char mac_hex[65];
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (mbedtls_md_hmac(sha, key, key_len, data, len, mac) != 0) {
        fotad_resp_internal(resp, "chunk MAC", FOTA_ERR_CRYPTO);
        return;
    }
    fotad_hex(mac, sizeof mac, mac_hex);
    size_t b64_len = 4 * ((len + 2) / 3);
    size_t cap = b64_len + 160 + strlen(mac_field);
    char *body = malloc(cap);
    if (body == NULL) {
        fotad_resp_internal(resp, "chunk", FOTA_ERR_NO_MEM);
        return;
    }
    int head = snprintf(body, cap, "{\"chunk_number\":%u,\"data\":\"", n);
    size_t used = (size_t)head + fotad_base64(data, len, body + head);
    used += (size_t)snprintf(body + used, cap - used, "\",\"%s\":\"%s\"}", mac_field, mac_hex);
    fotad_resp_take(resp, 200, "application/json", body, used);
}

/* A chunk number: decimal digits only, at least one. Any number of them: a value past 2^64 - 1
 * is taken as 2^64 - 1, past the end of every release all the same (416, not 400). */
bool fotad_api_parse_chunk_number(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n] >= '0' && s[n] <= '9'; n++) {
        uint64_t d = (uint64_t)(s[n] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return n > 0 && s[n] == '\0';
}

/* The device asked for the first bytes of rel, or of delta to it (else NULL): note the download's
 * start (devices.h), for its rollout too. */
static void download_started(fotad_app_t *app, const fotad_req_t *req, const fotad_release_t *rel,
                             const fotad_delta_t *delta)
{
    fota_err_t err = fotad_devices_download_started(app->devices, req->device->id, &rel->rec,
                                                    delta != NULL ? &delta->rec : NULL, fotad_now(),
                                                    fotad_mono_now());
    if (err == FOTA_OK) {
        err = fotad_rollouts_report(app->rollouts, req->device->id, "downloading", rel->rec.id);
    }
    if (err != FOTA_OK) {
        FOTAD_ERROR("device %s: recording the download's start failed (%s)", req->device->id,
                    fota_err_name(err));
    }
}

void fotad_api_chunk(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    const char *text = fotad_query_get(req->query, "chunk_number");
    uint64_t n = 0;
    if (text == NULL || !fotad_api_parse_chunk_number(text, &n)) {
        fotad_resp_error(resp, 400, "bad_request", "%s parameter chunk_number",
                         text == NULL ? "missing" : "malformed");
        return;
    }
    const fotad_release_t *rel = chunk_release(app, req, resp);
    if (rel == NULL || !data_allowed(app, req, rel, resp)) {
        return;
    }
    if (n >= rel->rec.chunk_count) {
        fotad_resp_error(resp, 416, "range", "chunk %.24s%s of a release of %u chunks", text,
                         strlen(text) > 24 ? "..." : "", rel->rec.chunk_count);
        return;
    }
    fotad_api_send_chunk(rel, (uint32_t)n, req->device->device_key, 32, "mac", resp);
    if (n == 0) {
        download_started(app, req, rel, NULL);
    }
}

/* If-Match, If-None-Match and If-Range against the blob's ETag (range.h): true when they
 * answer the request (304, 412); else *use_range says whether Range applies. */
static bool blob_conditions(const fotad_req_t *req, const fotad_blob_t *b, bool *use_range,
                            fotad_resp_t *resp)
{
    fotad_cond_headers_t h = {fotad_req_header(req, "If-Match"),
                              fotad_req_header(req, "If-None-Match"),
                              fotad_req_header(req, "If-Range")};
    if (h.if_range != NULL && fotad_req_header(req, "Range") == NULL) {
        h.if_range = NULL; /* If-Range only qualifies a Range */
    }
    fotad_cond_result_t cond = fotad_cond_evaluate(&h, b->sha256, use_range);
    if (cond == FOTAD_COND_FAILED) {
        fotad_resp_error(resp, 412, "precondition_failed", "If-Match names no current blob");
    } else if (cond == FOTAD_COND_NOT_MODIFIED) {
        /* No body goes out with a 304, but libmicrohttpd sends the body's size as Content-Length,
         * which must then be the size a 200 would have (RFC 9110 8.6), not 0: the whole blob,
         * borrowed and never read. No Content-Type: a 304 carries no representation metadata. */
        fotad_resp_borrow(resp, 304, NULL, b->data, (size_t)b->size);
    } else {
        return false;
    }
    fotad_resp_header(resp, "ETag", "\"%s\"", b->sha256);
    return true;
}

/* Bytes [first, last] of the blob with status (200 or 206). */
static void send_blob(const fotad_blob_t *b, unsigned status, uint64_t first, uint64_t last,
                      fotad_resp_t *resp)
{
    uint64_t len = last - first + 1;
    if (len <= BLOB_INLINE_MAX) {
        fotad_resp_borrow(resp, status, octet_type, b->data + first, (size_t)len);
    } else {
        int fd = open(b->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            FOTAD_ERROR("blob %s: %s", b->path, strerror(errno));
            fotad_resp_internal(resp, "opening the blob", FOTA_ERR_IO);
            return;
        }
        fotad_resp_file(resp, status, octet_type, fd, first, len);
    }
    fotad_resp_header(resp, "Accept-Ranges", "bytes");
    fotad_resp_header(resp, "ETag", "\"%s\"", b->sha256);
    if (status == 206) {
        fotad_resp_header(resp, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)first,
                          (unsigned long long)last, (unsigned long long)b->size);
    }
}

/* With accel_redirect set, leave the bytes to nginx in front when it answers as fotad would
 * (accel.h): true when resp holds the X-Accel-Redirect answer. */
static bool hand_over(const fotad_app_t *app, const fotad_req_t *req, const fotad_blob_t *b,
                      fotad_range_result_t range, fotad_resp_t *resp)
{
    const char *prefix = app->cfg->accel_redirect;
    if (prefix == NULL) {
        return false;
    }
    fotad_accel_headers_t h = {fotad_req_header(req, "Range"), fotad_req_header(req, "If-Match"),
                               fotad_req_header(req, "If-Unmodified-Since"),
                               fotad_req_header(req, "If-Range")};
    if (!fotad_accel_can_hand_over(&h, range)) {
        return false;
    }
    fotad_accel_respond(resp, prefix, b->sha256, range == FOTAD_RANGE_PARTIAL);
    return true;
}

/* GET blob/ID: the chain-mode blob of a release, or of a delta (the same rules). */
void fotad_api_blob(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    fotad_blob_t b;
    bool use_range = true;
    if (!blob_or_error(app, req->param, &b, resp) || !data_allowed(app, req, b.rel, resp) ||
        blob_conditions(req, &b, &use_range, resp)) {
        return;
    }
    uint64_t total = b.size;
    uint64_t first = 0;
    uint64_t last = total - 1;
    fotad_range_result_t range =
        fotad_range_parse(use_range ? fotad_req_header(req, "Range") : NULL, total, &first, &last);
    if (range == FOTAD_RANGE_UNSATISFIABLE) {
        fotad_resp_error(resp, 416, "range", "range outside the blob of %llu bytes",
                         (unsigned long long)total);
        fotad_resp_header(resp, "Content-Range", "bytes */%llu", (unsigned long long)total);
        return;
    }
    if (!hand_over(app, req, &b, range, resp)) {
        send_blob(&b, range == FOTAD_RANGE_PARTIAL ? 206 : 200, first, last, resp);
    }
    if (first == 0 && strcmp(req->method, "GET") == 0 && resp->status < 300) {
        download_started(app, req, b.rel, b.delta);
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
    err = fotad_rollouts_report(app->rollouts, req->device->id, r.state, r.release);
    if (err != FOTA_OK) {
        fotad_resp_internal(resp, "counting a report for its rollout", err);
        return;
    }
    fotad_resp_empty(resp, 204);
}
