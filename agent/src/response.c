/*
 * response.c - consuming the response to the request in flight. The status line and the
 * Content-Length are checked first (a body that cannot fit is refused before a byte of it is
 * read); chain-mode bodies stream record by record into records.c; every other body is
 * gathered whole in the agent's buffer, bounded, and interpreted when it is complete: the offer,
 * the manifest (signature, product, security floor, size against the partition, its digest
 * against the release id asked for, which a resumed download takes from the journal; where to
 * go on from, if the journal's digest is this one), a seed chunk.
 */
#include <stddef.h>
#include <string.h>

#include "fota/auth.h"
#include "fota/bytes.h"

#include "agent_internal.h"

static uint32_t expected_blob_len(const fota_agent_t *a)
{
    const fota_manifest_t *m = &a->manifest;
    return fota_manifest_record_offset(m, a->batch_end) -
           fota_manifest_record_offset(m, a->next_chunk);
}

/* The status each request expects (a check: 200 or 204; a Range: 206; a report: any 2xx; else
 * 200), and an error that says what else came: a 200 for a Range ignored, a 416, a redirect. */
static fota_err_t check_status(const fota_agent_t *a, int status)
{
    fota_req_kind_t kind = (fota_req_kind_t)a->pending;
    bool blob = FOTA_CONFIG_MODE_CHAIN && kind == FOTA_REQ_BLOB;
    bool ok = blob ? status == 206
              : kind == FOTA_REQ_REPORT
                  ? status >= 200 && status < 300
                  : status == 200 || (kind == FOTA_REQ_CHECK && status == 204);
    if (ok) {
        return FOTA_OK;
    }
    if (status == 401 || status == 403) {
        return FOTA_ERR_HTTP_AUTH;
    }
    if (status >= 300 && status < 400) {
        return FOTA_ERR_HTTP_REDIRECT; /* never followed: the agent asks only its server */
    }
    return status == 416 || (blob && status == 200) ? FOTA_ERR_HTTP_RANGE : FOTA_ERR_HTTP_STATUS;
}

static fota_err_t check_length(const fota_agent_t *a, int64_t content_length)
{
    if (content_length < 0) {
        return FOTA_OK;
    }
    if (FOTA_CONFIG_MODE_CHAIN && a->pending == FOTA_REQ_BLOB) {
        return (uint64_t)content_length == expected_blob_len(a) ? FOTA_OK : FOTA_ERR_HTTP_LENGTH;
    }
    bool buffered = a->pending != FOTA_REQ_REPORT;
    return buffered && (uint64_t)content_length > sizeof a->io ? FOTA_ERR_HTTP_BODY_TOO_LARGE
                                                               : FOTA_OK;
}

void fota_agent_response_begin(fota_agent_t *a, int status, int64_t content_length)
{
    a->retry_after_s = 0;
    a->status = status;
    a->io_len = 0;
    a->resp_len = 0;
    a->resp_err = check_status(a, status);
    if (a->resp_err == FOTA_OK) {
        a->resp_err = check_length(a, content_length);
    }
    a->resp_started = true;
}

/* name equals want, ASCII letters in any case */
static bool name_is(const char *name, const char *want)
{
    for (; *want != '\0'; name++, want++) {
        if ((*name | 0x20) != (*want | 0x20)) {
            return false;
        }
    }
    return *name == '\0';
}

void fota_agent_response_header(fota_agent_t *a, const char *name, const char *value)
{
    if (!a->resp_started || a->pending != FOTA_REQ_CHECK || !name_is(name, "retry-after")) {
        return;
    }
    uint32_t s = 0;
    for (; *value == ' '; value++) {
    }
    for (int n = 0; *value >= '0' && *value <= '9' && n < 9; value++, n++) {
        s = s * 10u + (uint32_t)(*value - '0'); /* at most 9 digits: no overflow */
    }
    a->retry_after_s = *value == '\0' || *value == ' ' ? s : 0; /* a date form is ignored */
}

static fota_err_t buffer_body(fota_agent_t *a, const uint8_t *data, size_t len)
{
    if (len > sizeof a->io - a->io_len) {
        return FOTA_ERR_HTTP_BODY_TOO_LARGE;
    }
    memcpy(a->io + a->io_len, data, len);
    a->io_len += (uint32_t)len;
    return FOTA_OK;
}

fota_err_t fota_agent_feed(fota_agent_t *a, const uint8_t *data, size_t len)
{
    if (a->pending == FOTA_REQ_NONE || !a->resp_started) {
        return FOTA_ERR_STATE;
    }
    if (a->resp_err != FOTA_OK) {
        return a->resp_err;
    }
    a->resp_len += (uint32_t)len;
    fota_err_t err = FOTA_OK;
    if (FOTA_CONFIG_MODE_CHAIN && a->pending == FOTA_REQ_BLOB) {
        err = fota_records_feed(a, data, len);
    } else if (a->pending != FOTA_REQ_REPORT && a->status != 204) {
        err = buffer_body(a, data, len);
    }
    a->resp_err = err;
    return err;
}

static fota_err_t complete(fota_agent_t *a, fota_req_kind_t kind)
{
    switch (kind) {
    case FOTA_REQ_CHECK:
        return fota_on_offer(a);
    case FOTA_REQ_MANIFEST:
        return fota_on_manifest(a);
    case FOTA_REQ_CHUNK:
        return FOTA_CONFIG_MODE_SEED ? fota_seed_chunk_process(a) : FOTA_ERR_STATE;
    case FOTA_REQ_BLOB:
        return a->next_chunk == a->batch_end ? FOTA_OK : FOTA_ERR_HTTP_TRUNCATED;
    case FOTA_REQ_REPORT:
        fota_report_sent(a);
        return FOTA_OK;
    default:
        return FOTA_ERR_STATE;
    }
}

fota_err_t fota_agent_response_end(fota_agent_t *a, fota_err_t transport_err)
{
    fota_req_kind_t kind = (fota_req_kind_t)a->pending;
    if (kind == FOTA_REQ_NONE) {
        return FOTA_ERR_STATE;
    }
    a->pending = FOTA_REQ_NONE;
    /* No status line: the transport's own error says why (a timeout, oversized headers), else
     * the connection failed. */
    fota_err_t err = a->resp_started            ? a->resp_err
                     : transport_err != FOTA_OK ? transport_err
                                                : FOTA_ERR_HTTP_CONNECT;
    if (err == FOTA_OK) {
        err = transport_err;
    }
    a->resp_started = false;
    uint32_t before = a->next_chunk;
    if (err == FOTA_OK) {
        err = complete(a, kind);
    }
    if (a->next_chunk != before) {
        a->failures = 0; /* progress was made: the count is of failures in a row */
    }
    if (err != FOTA_OK) {
        a->io_len = 0;
        fota_agent_on_failure(a, kind, err);
        return err;
    }
    a->backoff_ms = 0;
    if ((kind == FOTA_REQ_CHUNK || kind == FOTA_REQ_BLOB) && a->cfg.chunk_interval_ms != 0) {
        fota_agent_wait(a, a->cfg.chunk_interval_ms);
    }
    return FOTA_OK;
}

/* ---- the offer ------------------------------------------------------------------------------ */

/* The longest "not now" taken from a server: a week. */
#define RETRY_AFTER_MAX_S (7u * 24u * 3600u)

fota_err_t fota_on_offer(fota_agent_t *a)
{
    if (a->status == 204) {
        fota_agent_go_idle(a);
        if (a->retry_after_s != 0) { /* "not now": ask again then, whatever the interval */
            uint32_t s =
                a->retry_after_s < RETRY_AFTER_MAX_S ? a->retry_after_s : RETRY_AFTER_MAX_S;
            fota_agent_wait(a, s * 1000u);
            a->check_at_wake = true;
        }
        return FOTA_OK;
    }
    size_t at = 0, len = 0;
    fota_err_t err = fota_offer_parse((const char *)a->io, a->io_len, &a->offer, &at, &len);
#if FOTA_CONFIG_DELTA
    a->delta.on = 0;
#endif
    if (err != FOTA_OK) {
        return err;
    }
    if (strcmp(a->offer.version, a->cfg.current_version) == 0) {
        fota_agent_go_idle(a); /* already running it */
        return FOTA_OK;
    }
    a->have_offer = true;
    fota_agent_wait(a, 0); /* the manifest is wanted now, not after the check interval */
    fota_agent_set_state(a, FOTA_STATE_MANIFEST);
#if FOTA_CONFIG_DELTA
    if (fota_patch_wanted(a)) {
        a->delta.on = 1; /* the delta's manifest is asked for next, not the release's */
        return FOTA_OK;
    }
#endif
    if (len == 0) {
        return FOTA_OK; /* asked for next */
    }
    /* The manifest came with the offer: decoded in place, taken as if it had been asked for. */
    size_t n = 0;
    if (!fota_b64_decode_in_place(a->io, at, len, &n)) {
        return FOTA_ERR_OFFER_JSON;
    }
    a->io_len = (uint32_t)n;
    return fota_on_manifest(a);
}

/* ---- the manifest -----------------------------------------------------------------------------
 */

/* The offer names the manifest by its release id, checked against the manifest's digest; its
 * version, which decided that the offer is not the image running, must be the manifest's too. */
static bool offer_agrees(const fota_agent_t *a, const fota_manifest_t *m)
{
    return !a->have_offer || strcmp(a->offer.version, m->version) == 0;
}

/* The release id is the first 16 bytes of SHA-256(manifest), in hex (a delta's id too). */
bool fota_id_matches(const char *release, const uint8_t digest[32])
{
    char hex[FOTA_RELEASE_ID_LEN + 1];
    fota_auth_hex(digest, FOTA_RELEASE_ID_LEN / 2, hex);
    return strcmp(hex, release) == 0;
}

static fota_err_t check_manifest(fota_agent_t *a, fota_manifest_t *m, uint8_t digest[32])
{
    fota_err_t err =
        fota_manifest_verify(a->io, a->io_len, a->cfg.release_key, a->cfg.release_key_len, m);
    if (err == FOTA_OK) {
        err = fota_manifest_check_product(m, a->cfg.product_id);
    }
    if (err != FOTA_OK) {
        return err;
    }
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (mbedtls_md(sha, a->io, a->io_len, digest) != 0) {
        return FOTA_ERR_CRYPTO;
    }
    if (!fota_id_matches(a->offer.release, digest) || !offer_agrees(a, m)) {
        return FOTA_ERR_MANIFEST_CHANGED;
    }
    if (m->security_version < a->cfg.security_floor) {
        return FOTA_ERR_SECURITY_VERSION;
    }
    return m->chunk_size > FOTA_CONFIG_MAX_CHUNK_SIZE ? FOTA_ERR_UNSUPPORTED : FOTA_OK;
}

/* The journal's mode byte for the download in progress. */
static uint8_t mode_byte(const fota_agent_t *a)
{
    return FOTA_DELTA_ON(a) ? (uint8_t)FOTA_JOURNAL_MODE_DELTA : (uint8_t)a->cfg.mode;
}

/* Where to start: where the journal of this very release stopped, else at chunk 0. A release
 * the bootloader rolled back is still whole in the slot: it is verified again, not downloaded,
 * unless it has had all its attempts (then it is refused). */
static fota_err_t choose_start(fota_agent_t *a)
{
    uint8_t j[FOTA_JOURNAL_LEN];
    uint32_t next = 0;
    bool same = fota_journal_load(a, j) == FOTA_OK &&
                memcmp(j + FOTA_J_DIGEST, a->manifest_digest, 32) == 0 &&
                fota_get_le32(j + FOTA_J_PART_OFFSET) == a->part_offset &&
                (next = fota_get_le32(j + FOTA_J_NEXT_CHUNK)) <= a->manifest.chunk_count;
    if (FOTA_CONFIG_MODE_CHAIN) { /* (a seed-only build has no chain: its records keep zeros) */
        fota_chain_init(&a->chain, a->manifest.chain_head, a->manifest.chunk_count);
    }
    a->next_chunk = 0;
    a->attempts = 0;
    const uint8_t *resumed = NULL; /* the journal record a download goes on from */
    if (!same) {
#if FOTA_CONFIG_DELTA
        if (a->delta.on) {
            fota_patch_start(a, NULL);
        }
#endif
        return FOTA_OK;
    }
    uint8_t state = j[FOTA_J_STATE];
    uint8_t attempts = j[FOTA_J_ATTEMPTS];
    if (state == FOTA_JOURNAL_DOWNLOADED || state == FOTA_JOURNAL_ROLLED_BACK) {
        /* verified and waiting, or rolled back: checked again from the slot */
        if (state == FOTA_JOURNAL_ROLLED_BACK && attempts >= FOTA_CONFIG_MAX_INSTALL_ATTEMPTS) {
            return FOTA_ERR_AGENT_ROLLED_BACK;
        }
        a->attempts = attempts;
        a->next_chunk = a->manifest.chunk_count;
    } else if (state == FOTA_JOURNAL_DOWNLOADING && j[FOTA_J_MODE] == mode_byte(a)) {
        a->attempts = attempts;
        a->next_chunk = next;
        if (FOTA_CONFIG_MODE_CHAIN) {
            memcpy(a->chain.expected, j + FOTA_J_EXPECTED, 32);
            a->chain.index = next;
        }
        resumed = j;
    }
#if FOTA_CONFIG_DELTA
    if (a->delta.on) {
        fota_patch_start(a, resumed);
    }
#endif
    (void)resumed;
    return FOTA_OK;
}

fota_err_t fota_on_manifest(fota_agent_t *a)
{
#if FOTA_CONFIG_DELTA
    if (a->delta.on) {
        return fota_patch_on_manifest(a);
    }
#endif
    fota_manifest_t m;
    uint8_t digest[32];
    fota_err_t err = check_manifest(a, &m, digest);
    uint32_t part_size = 0;
    if (err == FOTA_OK) {
        err = a->port.boot.update_partition(a->port.boot.ctx, &a->part_offset, &part_size);
    }
    if (err == FOTA_OK && m.image_size > part_size) {
        err = FOTA_ERR_IMAGE_TOO_BIG;
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (a->offer.action != FOTA_OFFER_FORCED && a->cfg.may_download != NULL &&
        !a->cfg.may_download(a->cfg.hook_ctx, &m)) {
        fota_agent_go_idle(a); /* not now: the next check offers it again and resumes */
        return FOTA_OK;
    }
    a->manifest = m;
    a->part_size = part_size;
    a->image_verified = false;
    memcpy(a->manifest_digest, digest, 32);
    return fota_download_start(a);
}

fota_err_t fota_download_start(fota_agent_t *a)
{
    fota_err_t err = choose_start(a);
    if (err != FOTA_OK) {
        return err;
    }
    if (a->next_chunk == a->manifest.chunk_count && a->offer.action == FOTA_OFFER_DOWNLOAD_ONLY) {
        fota_agent_go_idle(a); /* the image waits in the slot already: nothing to do yet */
        return FOTA_OK;
    }
    fota_agent_set_state(a, FOTA_STATE_DOWNLOADING);
    return fota_journal_save(a, FOTA_JOURNAL_DOWNLOADING);
}
