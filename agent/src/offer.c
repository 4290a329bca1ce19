/*
 * offer.c - the answer to a check: which release to install (docs/PROTOCOL.md, "check").
 *
 *   {"release":"<32 hex>","version":"2.0.1","size":1068032,"chunk_size":1024,
 *    "chunk_count":1043,"sha256":"<64 hex>", ...}
 *
 * With "manifest_data":"<base64>" (asked for with &manifest=1 on the check) the offer carries the
 * signed manifest itself, which saves the manifest request ("manifest" is its URL). "action" is
 * "soft" (the default), "forced" or "download_only" (fota_offer_action_t). "delta":"<32 hex>"
 * names a delta patch from the image the device runs (a delta build; docs/AGENT.md), whose
 * manifest and blob take the release id's place; "delta_size" is not read. The release id is
 * checked to be 32 lowercase hex digits because it goes into request targets; the version says
 * whether the offer is the image already running. The other keys (the sizes and SHA-256 are a
 * preview of the manifest, URLs for other clients) are not read: the signed manifest is what the
 * download trusts, and the release id, which is its digest, binds it to the offer.
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
    static const char *const keys[] = {
        "release",
        "version",
        "manifest_data",
        "action",
#if FOTA_CONFIG_DELTA
        "delta"
#endif
    };
    fota_json_field_t f[sizeof keys / sizeof keys[0]];
    memset(out, 0, sizeof *out);
    bool ok = fota_json_scan(js, len, keys, f, sizeof f / sizeof f[0]) == FOTA_OK &&
              fota_json_str(js, &f[0], out->release, sizeof out->release) &&
              fota_json_str(js, &f[1], out->version, sizeof out->version);
    if (!ok || !is_release_id(out->release) || out->version[0] == '\0') {
        return FOTA_ERR_OFFER_JSON;
    }
    /* Optional: "action" (absent: soft); an action this agent does not know is refused. */
    static const char *const actions[] = {"soft", "forced", "download_only"};
    const char *act = NULL;
    size_t act_len = 0;
    if (f[3].kind != 0) {
        out->action = 0xFF;
        if (!fota_json_text(js, &f[3], &act, &act_len)) {
            return FOTA_ERR_OFFER_JSON;
        }
        for (uint8_t i = 0; i < 3; i++) {
            if (strlen(actions[i]) == act_len && memcmp(actions[i], act, act_len) == 0) {
                out->action = i;
            }
        }
        if (out->action == 0xFF) {
            return FOTA_ERR_OFFER_JSON;
        }
    }
#if FOTA_CONFIG_DELTA
    /* Optional: a delta patch from the image this device runs (its id, as a release's). */
    if (f[4].kind != 0 &&
        (!fota_json_str(js, &f[4], out->delta, sizeof out->delta) || !is_release_id(out->delta))) {
        return FOTA_ERR_OFFER_JSON;
    }
#endif
    /* Optional: without it *manifest_at and *manifest_len are 0. */
    const char *m = js;
    *manifest_len = 0;
    if (f[2].kind != 0 && !fota_json_text(js, &f[2], &m, manifest_len)) {
        return FOTA_ERR_OFFER_JSON;
    }
    *manifest_at = (size_t)(m - js);
    return FOTA_OK;
}
