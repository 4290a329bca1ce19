/*
 * offer.c - the answer to a check: which release to install (docs/PROTOCOL.md, "check").
 *
 *   {"release":"<32 hex>","version":"2.0.1","size":1068032,"chunk_size":1024,
 *    "chunk_count":1043,"sha256":"<64 hex>", ...}
 *
 * With "manifest_data":"<base64>" (asked for with &manifest=1 on the check) the offer carries the
 * signed manifest itself, which saves the manifest request ("manifest" is its URL). Unknown keys
 * are ignored (the server adds URLs for other clients). The release id is checked to be 32
 * lowercase hex digits because it goes into request targets; the sizes are only a preview: the
 * signed manifest is what the download trusts, and the two must agree.
 */
#include <string.h>

#include "agent_internal.h"

static bool is_release_id(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return n == FOTA_RELEASE_ID_LEN;
}

fota_err_t fota_offer_parse(const char *js, size_t len, fota_offer_t *out, size_t *manifest_at,
                            size_t *manifest_len)
{
    fota_json_t j;
    char sha_hex[65];
    memset(out, 0, sizeof *out);
    if (fota_json_parse(&j, js, len) != FOTA_OK) {
        return FOTA_ERR_OFFER_JSON;
    }
    bool ok = fota_json_str(&j, fota_json_find(&j, "release"), out->release, sizeof out->release) &&
              fota_json_str(&j, fota_json_find(&j, "version"), out->version, sizeof out->version) &&
              fota_json_u32(&j, fota_json_find(&j, "size"), &out->size) &&
              fota_json_u32(&j, fota_json_find(&j, "chunk_size"), &out->chunk_size) &&
              fota_json_u32(&j, fota_json_find(&j, "chunk_count"), &out->chunk_count) &&
              fota_json_str(&j, fota_json_find(&j, "sha256"), sha_hex, sizeof sha_hex) &&
              fota_hex_decode(sha_hex, strlen(sha_hex), out->sha256, sizeof out->sha256);
    if (!ok || !is_release_id(out->release) || out->version[0] == '\0') {
        return FOTA_ERR_OFFER_JSON;
    }
    int m = fota_json_find(&j, "manifest_data");
    *manifest_at = 0;
    *manifest_len = 0;
    if (m >= 0) {
        if (!fota_json_is_string(&j, m)) {
            return FOTA_ERR_OFFER_JSON;
        }
        *manifest_at = (size_t)j.tok[m].start;
        *manifest_len = (size_t)(j.tok[m].end - j.tok[m].start);
    }
    return FOTA_OK;
}
