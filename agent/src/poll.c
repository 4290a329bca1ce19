/*
 * poll.c - fota_agent_poll(): one bounded step that says what to do next, and the requests it
 * builds (docs/PROTOCOL.md): check, manifest, seed-mode chunk, chain-mode blob Range, report;
 * the erase of an abandoned seed-mode image (wipe.c) is stepped here too.
 * Queued reports go first, in order. Also the blocking driver fota_agent_run().
 */
#include <string.h>

#include "fota/auth.h"

#include "agent_internal.h"

static fota_err_t request_check(fota_agent_t *a)
{
    fota_text_t t;
    fota_req_begin(a, FOTA_REQ_CHECK, "check?version=", &t);
    fota_text_query(&t, a->cfg.current_version);
    fota_text_str(&t, "&hw=");
    fota_text_query(&t, a->cfg.product_id);
    if (sizeof a->io >= FOTA_OFFER_WITH_MANIFEST_MAX) {
        fota_text_str(&t, "&manifest=1"); /* the signed manifest in the answer: one request less */
    }
#if FOTA_CONFIG_DELTA
    if (a->cfg.mode == FOTA_MODE_CHAIN) {
        fota_patch_find_running(a);
    }
    if (a->cfg.mode == FOTA_MODE_CHAIN && a->delta.running_known == 1) {
        char hex[65];
        fota_auth_hex(a->delta.running_id, 32, hex); /* a delta from it may be offered */
        fota_text_str(&t, "&image=");
        fota_text_str(&t, hex);
    }
#endif
    return fota_req_finish(a, &t);
}

/* The id the manifest and blob requests name: the release's, or the delta's. */
static const char *download_id(const fota_agent_t *a)
{
#if FOTA_CONFIG_DELTA
    if (a->delta.on) {
        return a->offer.delta;
    }
#endif
    return a->offer.release;
}

static fota_err_t request_manifest(fota_agent_t *a)
{
    fota_text_t t;
    fota_req_begin(a, FOTA_REQ_MANIFEST, "manifest?release=", &t);
    fota_text_str(&t, download_id(a));
    return fota_req_finish(a, &t);
}

static fota_err_t request_chunk(fota_agent_t *a)
{
    fota_text_t t;
    fota_req_begin(a, FOTA_REQ_CHUNK, "chunk?chunk_number=", &t);
    fota_text_u64(&t, a->next_chunk);
    fota_text_str(&t, "&release=");
    fota_text_str(&t, a->offer.release);
    return fota_req_finish(a, &t);
}

/* Records [next_chunk, batch_end) of the blob, as one Range. */
static fota_err_t request_blob(fota_agent_t *a)
{
    const fota_manifest_t *m = &a->manifest;
    uint32_t count = m->chunk_count - a->next_chunk;
    if (a->cfg.range_records != 0 && a->cfg.range_records < count) {
        count = a->cfg.range_records;
    }
    a->batch_end = a->next_chunk + count;
    uint32_t first = fota_manifest_record_offset(m, a->next_chunk);
    uint32_t last =
        fota_manifest_record_offset(m, a->batch_end) - 1u; /* the blob's end at the end */
    fota_text_t t;
    fota_req_begin(a, FOTA_REQ_BLOB, "blob/", &t);
    fota_text_str(&t, download_id(a));
    fota_text_t r;
    fota_text_init(&r, a->hdr_range, sizeof a->hdr_range);
    fota_text_str(&r, "bytes=");
    fota_text_u64(&r, first);
    fota_text_str(&r, "-");
    fota_text_u64(&r, last);
    return fota_req_finish(a, &t);
}

static fota_err_t step_download(fota_agent_t *a)
{
    if (a->next_chunk >= a->manifest.chunk_count) {
        fota_agent_set_state(a, FOTA_STATE_VERIFYING);
        a->verify_offset = 0;
        return FOTA_OK;
    }
    return FOTA_IS_SEED(a) ? request_chunk(a) : request_blob(a);
}

static fota_err_t step_verify(fota_agent_t *a)
{
    bool done = false;
    fota_err_t err = fota_verify_step(a, &done);
    if (err == FOTA_OK && done) {
        a->image_verified = true;
        a->wipe_end = 0; /* the slot holds the signed image: nothing to erase */
        err = a->offer.action == FOTA_OFFER_DOWNLOAD_ONLY ? fota_agent_hold(a)
                                                          : fota_agent_install(a);
    }
    if (err != FOTA_OK) {
        fota_agent_on_failure(a, FOTA_REQ_NONE, err);
    }
    return FOTA_OK;
}

static fota_err_t step_installed(fota_agent_t *a, fota_action_t *act)
{
    if (a->offer.action != FOTA_OFFER_FORCED && a->cfg.may_reboot != NULL &&
        !a->cfg.may_reboot(a->cfg.hook_ctx)) {
        if (!a->reboot_deferred) { /* the server hears of the install now, not after the reboot */
            a->reboot_deferred = true;
            fota_report_queue(a, FOTA_STATE_INSTALLED, FOTA_OK);
        }
        fota_agent_wait(a, a->cfg.retry_ms != 0 ? a->cfg.retry_ms : 1000u);
        return FOTA_OK;
    }
    fota_agent_set_state(a, FOTA_STATE_REBOOTING);
    act->kind = FOTA_ACTION_REBOOT;
    return a->port.boot.reboot(a->port.boot.ctx);
}

static fota_err_t step_idle(fota_agent_t *a, fota_action_t *act)
{
    if (!a->check_requested && !a->check_at_wake && a->cfg.check_interval_ms == 0) {
        act->wait_ms = UINT32_MAX;
        return FOTA_OK;
    }
    a->check_requested = false;
    a->check_at_wake = false;
    fota_agent_set_state(a, FOTA_STATE_CHECKING);
    return request_check(a);
}

static fota_err_t step_state(fota_agent_t *a, fota_action_t *act)
{
    switch ((fota_state_t)a->state) {
    case FOTA_STATE_IDLE:
        return step_idle(a, act);
    case FOTA_STATE_MANIFEST:
        return request_manifest(a);
    case FOTA_STATE_DOWNLOADING:
        return step_download(a);
    case FOTA_STATE_VERIFYING:
        return step_verify(a);
    case FOTA_STATE_INSTALLED:
        return step_installed(a, act);
    case FOTA_STATE_ERROR: /* a seed-mode slot being erased (the only time it lasts) */
        if (FOTA_CONFIG_MODE_SEED) {
            fota_agent_wipe_poll(a);
        } else {
            act->wait_ms = UINT32_MAX; /* never reached: a chain-only agent does not stay here */
        }
        return FOTA_OK;
    default: /* booted (waiting for confirm), rebooting */
        act->wait_ms = UINT32_MAX;
        return FOTA_OK;
    }
}

/* Not yet time: a check asked for now, or a report to send while idle and not backing off,
 * overrides the idle wait; nothing else does. */
static bool must_wait(fota_agent_t *a, fota_action_t *act)
{
    bool idle = a->state == FOTA_STATE_IDLE || a->state == FOTA_STATE_BOOTED;
    if (idle && (a->check_requested || (a->report_count > 0 && a->backoff_ms == 0))) {
        return false;
    }
    int32_t left = (int32_t)(a->wake_ms - fota_agent_now(a));
    if (left > 0) {
        act->wait_ms = (uint32_t)left;
        return true;
    }
    return false;
}

/* Queued reports go before anything else. */
static bool report_due(const fota_agent_t *a)
{
    return a->report_count > 0;
}

fota_err_t fota_agent_poll(fota_agent_t *a, fota_action_t *act)
{
    memset(act, 0, sizeof *act);
    act->kind = FOTA_ACTION_WAIT;
    if (a->pending != FOTA_REQ_NONE) {
        return FOTA_ERR_AGENT_BUSY;
    }
    if (a->state == FOTA_STATE_REBOOTING || must_wait(a, act)) {
        act->wait_ms = a->state == FOTA_STATE_REBOOTING ? UINT32_MAX : act->wait_ms;
        return FOTA_OK;
    }
    fota_err_t err = report_due(a) ? fota_report_request(a) : step_state(a, act);
    if (err == FOTA_OK && a->pending != FOTA_REQ_NONE) {
        act->kind = FOTA_ACTION_HTTP; /* the step built a request (fota_req_begin) */
        act->http = &a->req;
    } else if (err != FOTA_OK) {
        /* A request that cannot be built or a port that failed: handled like a failed request. */
        a->pending = FOTA_REQ_NONE;
        fota_agent_on_failure(a, FOTA_REQ_NONE, err);
        memset(act, 0, sizeof *act);
        act->kind = FOTA_ACTION_WAIT;
    }
    return FOTA_OK;
}

fota_err_t fota_agent_run(fota_agent_t *a, const fota_transport_t *t, unsigned max_steps,
                          bool *rebooted)
{
    *rebooted = false;
    for (unsigned i = 0; i < max_steps; i++) {
        fota_action_t act;
        fota_err_t err = fota_agent_poll(a, &act);
        if (err != FOTA_OK) {
            return err;
        }
        if (act.kind == FOTA_ACTION_REBOOT) {
            *rebooted = true;
            return FOTA_OK;
        }
        if (act.kind == FOTA_ACTION_WAIT && act.wait_ms > 0) {
            return FOTA_OK;
        }
        if (act.kind == FOTA_ACTION_HTTP) {
            t->perform(t->ctx, act.http, a);
        }
    }
    return FOTA_OK;
}
