/*
 * agent.c - the agent's state machine: what to do next (poll), what a response means
 * (response_begin/feed/end), and what happens across a reboot (init reads the journal).
 *
 *   IDLE --check--> MANIFEST --verified--> DOWNLOADING --last chunk--> VERIFYING
 *     --image checked--> INSTALLED (slot switched) --may_reboot--> REBOOTING
 *   after the reboot: BOOTED (pending self-test) --confirm--> CONFIRMED, or the bootloader rolled
 *   back: ROLLED_BACK. A failure of the data (bad MAC, chain, JSON) or of the network is retried
 *   with back-off up to FOTA_CONFIG_MAX_FAILURES times in a row; a failure of trust (signature,
 *   product, security version, final hash) ends the attempt at once. Either way the device keeps
 *   booting its current image: the boot slot changes only in install().
 *
 *   A seed-mode attempt that ends without installing, after its download began, goes through
 *   ERROR while the slot is erased (wipe.c; journaled, resumed after a reboot, a failed erase
 *   retried with back-off), then reports its error and goes IDLE.
 */
#include <stddef.h>
#include <string.h>

#include "fota/auth.h"
#include "fota/bytes.h"

#include "agent_internal.h"

/* The names in fota_state_t's order, each ended by its NUL: no table of pointers. */
static const char state_names[] = "idle\0checking\0manifest\0downloading\0verifying\0installed\0"
                                  "rebooting\0booted\0confirmed\0rolled_back\0error\0downloaded\0"
                                  "delta_failed";

const char *fota_state_name(fota_state_t s)
{
    if ((unsigned)s > FOTA_STATE_DELTA_FAILED) {
        return "unknown";
    }
    const char *name = state_names;
    for (unsigned i = 0; i < (unsigned)s; i++) {
        name += strlen(name) + 1;
    }
    return name;
}

uint32_t fota_agent_now(const fota_agent_t *a)
{
    return a->port.clock.now_ms(a->port.clock.ctx);
}

void fota_agent_emit(fota_agent_t *a, fota_event_kind_t kind, fota_err_t err)
{
    if (a->cfg.on_event == NULL) {
        return;
    }
    fota_event_t ev = {kind, (fota_state_t)a->state, err, a->next_chunk, a->manifest.chunk_count};
    a->cfg.on_event(a->cfg.hook_ctx, &ev);
}

void fota_agent_set_state(fota_agent_t *a, fota_state_t s)
{
    if (a->state != (uint8_t)s) {
        a->state = (uint8_t)s;
        fota_agent_emit(a, FOTA_EVENT_STATE, FOTA_OK);
    }
}

void fota_agent_wait(fota_agent_t *a, uint32_t ms)
{
    a->wake_ms = fota_agent_now(a) + ms;
}

void fota_agent_go_idle(fota_agent_t *a)
{
    fota_agent_set_state(a, FOTA_STATE_IDLE);
    a->failures = 0;
    a->backoff_ms = 0;
    fota_agent_wait(a, a->cfg.check_interval_ms);
}

/* A state the server hears of: entered and its report queued. */
static void enter_reported(fota_agent_t *a, fota_state_t s, fota_err_t err)
{
    fota_agent_set_state(a, s);
    fota_report_queue(a, s, err);
}

/* ---- the end of an update attempt ------------------------------------------------------- */

/* The update is over (finished or given up): the journal has nothing left to resume. */
static void forget_update(fota_agent_t *a)
{
    if (a->journaled) {
        a->port.store.clear(a->port.store.ctx);
        a->journaled = 0;
    }
}

/* Seed mode only: the slot may hold bytes that the signed manifest has not vouched for (a
 * verified image, whose slot switch failed, is left alone). How far: what this download may have
 * written, or further if an earlier one (before a reboot, a postponed download, another release)
 * wrote more: a->wipe_end only grows until the slot is erased or an image verified. 0: nothing to
 * erase. */
static uint32_t unverified_extent(const fota_agent_t *a)
{
    if (!FOTA_IS_SEED(a) || a->image_verified) {
        return 0;
    }
    uint32_t reach = a->state == FOTA_STATE_DOWNLOADING || a->state == FOTA_STATE_VERIFYING
                         ? fota_wipe_reach(a)
                         : 0u;
    return reach > a->wipe_end ? reach : a->wipe_end;
}

static void end_attempt(fota_agent_t *a, fota_err_t err)
{
    fota_report_queue(a, FOTA_STATE_ERROR, err);
    forget_update(a);
    fota_agent_go_idle(a);
}

static void abort_update(fota_agent_t *a, fota_err_t err)
{
    uint32_t extent = unverified_extent(a);
    a->last_err = err;
    fota_agent_set_state(a, FOTA_STATE_ERROR);
    if (extent == 0) {
        end_attempt(a, err);
        return;
    }
    /* Erased first (fota_agent_wipe_poll), reported when the slot is clean. A journal that cannot
     * be saved does not stop the erase; the record left behind resumes the download after a
     * reboot, whose sectors are erased again before they are written. */
    fota_err_t jerr = fota_wipe_begin(a, extent, err);
    if (jerr != FOTA_OK) {
        fota_agent_emit(a, FOTA_EVENT_ERROR, jerr);
    }
}

/* Errors that say the release itself cannot be trusted or installed: retrying cannot help. A
 * record failing the chain is not one of them: bytes spoiled in transit fail it too, and a
 * refused record leaves the chain where it was, so fetching it again is the cure. */
static bool is_fatal(fota_err_t err)
{
    if (err == FOTA_ERR_CHAIN_MISMATCH) {
        return false;
    }
    return (err >= 100 && err < 600) || (err >= 900 && err < 1000) || err == FOTA_ERR_UNSUPPORTED ||
           err == FOTA_ERR_CRYPTO || err == FOTA_ERR_RANGE || err == FOTA_ERR_AGENT_ROLLED_BACK;
}

static void back_off(fota_agent_t *a)
{
    uint32_t first = a->cfg.retry_ms != 0 ? a->cfg.retry_ms : 1000u;
    a->backoff_ms = a->backoff_ms == 0 ? first : a->backoff_ms * 2u;
    if (a->backoff_ms > FOTA_CONFIG_MAX_BACKOFF_MS) {
        a->backoff_ms = FOTA_CONFIG_MAX_BACKOFF_MS;
    }
    fota_agent_wait(a, a->backoff_ms);
}

void fota_agent_wipe_poll(fota_agent_t *a)
{
    bool done = false;
    fota_err_t err = fota_wipe_step(a, &done);
    if (err != FOTA_OK) {
        a->last_err = err;
        fota_agent_emit(a, FOTA_EVENT_ERROR, err);
        back_off(a); /* never given up: the slot must not keep what it holds */
        return;
    }
    a->backoff_ms = 0;
    if (done) {
        err = (fota_err_t)a->refused;
        a->refused = FOTA_OK;
        a->verify_offset = 0;
        a->wipe_end = 0; /* the slot holds nothing unverified now */
        a->last_err = err;
        end_attempt(a, err);
    }
}

void fota_agent_on_failure(fota_agent_t *a, fota_req_kind_t kind, fota_err_t err)
{
#if FOTA_CONFIG_DELTA
    if (fota_patch_fallback(a, kind, err)) {
        return; /* a delta that cannot be applied: the full image follows (patch.c) */
    }
#endif
    a->last_err = err;
    fota_agent_emit(a, FOTA_EVENT_ERROR, err);
    bool updating = a->state >= FOTA_STATE_MANIFEST && a->state <= FOTA_STATE_VERIFYING;
    if (kind == FOTA_REQ_REPORT && a->status >= 400 && a->status < 500) {
        fota_report_sent(a); /* refused for good: do not block the queue with it */
    }
    if (updating && (is_fatal(err) || ++a->failures >= FOTA_CONFIG_MAX_FAILURES)) {
        abort_update(a, err);
        return;
    }
    if (a->state == FOTA_STATE_CHECKING) {
        fota_agent_set_state(a, FOTA_STATE_IDLE);
    }
    back_off(a);
}

/* ---- install and what a reboot finds ----------------------------------------------------- */

fota_err_t fota_agent_install(fota_agent_t *a)
{
    a->attempts++;
    fota_err_t err = fota_journal_save(a, FOTA_JOURNAL_INSTALLING);
    if (err == FOTA_OK) {
        err = a->port.boot.set_boot(a->port.boot.ctx);
    }
    if (err == FOTA_OK) {
        err = fota_journal_save(a, FOTA_JOURNAL_INSTALLED);
    }
    if (err != FOTA_OK) {
        return err;
    }
    /* No "installed" report: the reboot follows at once and the new image reports "booted" or
     * "confirmed" (or the old one "rolled_back"); only a reboot that may_reboot defers reports
     * "installed" (poll.c). */
    a->reboot_deferred = false;
    fota_agent_set_state(a, FOTA_STATE_INSTALLED);
    return FOTA_OK;
}

fota_err_t fota_agent_hold(fota_agent_t *a)
{
    fota_err_t err = fota_journal_save(a, FOTA_JOURNAL_DOWNLOADED);
    if (err != FOTA_OK) {
        return err;
    }
    a->journaled = 0; /* nothing in progress: an offer of the release installs it */
    enter_reported(a, FOTA_STATE_DOWNLOADED, FOTA_OK);
    fota_agent_go_idle(a);
    return FOTA_OK;
}

/* The new image runs and is valid: reported, and the update is over. */
static void confirmed(fota_agent_t *a)
{
    enter_reported(a, FOTA_STATE_CONFIRMED, FOTA_OK);
    forget_update(a);
    fota_agent_go_idle(a);
}

/* The journal says an image was installed (state), of the version now in a->manifest.version;
 * which image runs now tells what happened. */
static fota_err_t after_install(fota_agent_t *a, uint8_t state)
{
    bool is_new = strcmp(a->cfg.current_version, a->manifest.version) == 0;
    if (!is_new && state == FOTA_JOURNAL_INSTALLING) {
        return fota_agent_install(a); /* the power failed before the slot switched: switch it now */
    }
    if (!is_new) {
        a->last_err = FOTA_ERR_AGENT_ROLLED_BACK;
        enter_reported(a, FOTA_STATE_ROLLED_BACK, FOTA_ERR_AGENT_ROLLED_BACK);
        /* Remembered, not in progress: an offer of the same release re-verifies the slot. */
        fota_err_t err = fota_journal_save(a, FOTA_JOURNAL_ROLLED_BACK);
        a->journaled = 0;
        fota_agent_go_idle(a);
        return err;
    }
    fota_boot_state_t bs;
    fota_err_t err = a->port.boot.running_state(a->port.boot.ctx, &bs);
    if (err != FOTA_OK) {
        return err;
    }
    if (bs == FOTA_BOOT_STATE_PENDING) {
        enter_reported(a, FOTA_STATE_BOOTED, FOTA_OK);
        return FOTA_OK;
    }
    confirmed(a);
    return FOTA_OK;
}

/* The record's fields are taken where they lie; the agent was zeroed, so the 32-byte release and
 * version copied into their 33-byte strings stay NUL-terminated. */
static fota_err_t resume_from_journal(fota_agent_t *a)
{
    uint8_t j[FOTA_JOURNAL_LEN];
    fota_err_t err = fota_journal_load(a, j);
    if (err == FOTA_ERR_JOURNAL_EMPTY) {
        return FOTA_OK;
    }
    if (err != FOTA_OK) {
        a->port.store.clear(a->port.store.ctx); /* unreadable: start over, nothing was switched */
        return FOTA_OK;
    }
    uint8_t state = j[FOTA_J_STATE];
    if (state == FOTA_JOURNAL_ROLLED_BACK || state == FOTA_JOURNAL_DOWNLOADED) {
        return FOTA_OK; /* nothing in progress; choose_start() reads it when an offer comes */
    }
    a->journaled = 1;
    uint32_t extent = fota_get_le32(j + FOTA_J_EXTENT);
    if (FOTA_CONFIG_MODE_SEED &&
        state == FOTA_JOURNAL_WIPING) { /* (refused by a chain-only load) */
        uint32_t error = fota_get_le32(j + FOTA_J_ERROR);
        a->refused = (uint16_t)error; /* erase the slot, needing nobody, then report */
        a->wipe_end = extent;
        a->last_err = (fota_err_t)error;
        fota_agent_set_state(a, FOTA_STATE_ERROR);
        return FOTA_OK;
    }
    a->attempts = j[FOTA_J_ATTEMPTS];
    memcpy(a->offer.release, j + FOTA_J_RELEASE, FOTA_RELEASE_ID_LEN);
    memcpy(a->manifest.version, j + FOTA_J_VERSION, FOTA_MANIFEST_STR_MAX);
    memcpy(a->manifest_digest, j + FOTA_J_DIGEST, 32);
    a->part_offset = fota_get_le32(j + FOTA_J_PART_OFFSET);
#if FOTA_CONFIG_DELTA
    if (j[FOTA_J_MODE] == FOTA_JOURNAL_MODE_DELTA) {
        /* a delta: its manifest is fetched again by its id, the digest's first 16 bytes */
        a->delta.on = 1;
        fota_auth_hex(a->manifest_digest, FOTA_RELEASE_ID_LEN / 2, a->offer.delta);
    }
#endif
    if (state == FOTA_JOURNAL_DOWNLOADING) {
        /* the manifest is fetched again by its release id; choose_start() goes on where the
         * download stopped if it is this record's (the same digest) */
        /* seed mode, if given up before the manifest comes: what to erase (0 unknown: the whole
         * slot); a chain download wrote only verified bytes */
        if (FOTA_CONFIG_MODE_SEED && j[FOTA_J_MODE] == FOTA_MODE_SEED) {
            a->wipe_end = extent != 0 ? extent : UINT32_MAX;
        }
        fota_agent_set_state(a, FOTA_STATE_MANIFEST);
        return FOTA_OK;
    }
    return after_install(a, state);
}

/* ---- init and the public accessors -------------------------------------------------------- */

/* Waits are kept as differences of 32-bit millisecond times: each interval under 2^31 ms. */
#define WAIT_MAX_MS 0x7fffffffu

/* The pointers a working agent needs, by their place in the config or in the ports: each is
 * checked for NULL by one loop instead of one comparison each. */
static const uint8_t cfg_ptrs[] = {
    offsetof(fota_agent_config_t, device_id),   offsetof(fota_agent_config_t, device_key),
    offsetof(fota_agent_config_t, product_id),  offsetof(fota_agent_config_t, current_version),
    offsetof(fota_agent_config_t, release_key),
};
static const uint8_t port_fns[] = {
    offsetof(fota_ports_t, flash.read),      offsetof(fota_ports_t, flash.write),
    offsetof(fota_ports_t, flash.erase),     offsetof(fota_ports_t, boot.update_partition),
    offsetof(fota_ports_t, boot.set_boot),   offsetof(fota_ports_t, boot.running_state),
    offsetof(fota_ports_t, boot.confirm),    offsetof(fota_ports_t, boot.reboot),
    offsetof(fota_ports_t, store.load),      offsetof(fota_ports_t, store.save),
    offsetof(fota_ports_t, store.clear),     offsetof(fota_ports_t, clock.now_ms),
    offsetof(fota_ports_t, clock.unix_time), offsetof(fota_ports_t, clock.random),
};

static bool config_ok(const fota_agent_config_t *c, const fota_ports_t *p)
{
    for (size_t i = 0; i < sizeof cfg_ptrs; i++) {
        const void *v;
        memcpy(&v, (const char *)c + cfg_ptrs[i], sizeof v);
        if (v == NULL) {
            return false;
        }
    }
    for (size_t i = 0; i < sizeof port_fns; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)p + port_fns[i], sizeof fn);
        if (fn == NULL) {
            return false;
        }
    }
    return (c->check_interval_ms | c->chunk_interval_ms | c->retry_ms) <= WAIT_MAX_MS &&
           fota_strnlen(c->device_id, FOTA_CONFIG_DEVICE_ID_MAX + 1) <= FOTA_CONFIG_DEVICE_ID_MAX &&
           p->flash.sector_size != 0;
}

fota_err_t fota_agent_init(fota_agent_t *a, const fota_agent_config_t *cfg,
                           const fota_ports_t *ports)
{
    if (a == NULL || cfg == NULL || ports == NULL || !config_ok(cfg, ports)) {
        return FOTA_ERR_ARG;
    }
    bool built = cfg->mode == FOTA_MODE_SEED    ? FOTA_CONFIG_MODE_SEED
                 : cfg->mode == FOTA_MODE_CHAIN ? FOTA_CONFIG_MODE_CHAIN
                                                : false;
    if (!built) {
        return FOTA_ERR_UNSUPPORTED; /* a mode this build leaves out (fota_config.h) */
    }
    /* The release key is parsed now, not when the first release is offered, maybe months on. */
    uint8_t key_id[FOTA_MANIFEST_KEY_ID_LEN];
    if (fota_manifest_key_id(cfg->release_key, cfg->release_key_len, key_id) != FOTA_OK) {
        return FOTA_ERR_KEY;
    }
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
    a->port = *ports;
    mbedtls_md_init(&a->md);
    if (mbedtls_md_setup(&a->md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) != 0 ||
        fota_auth_key(cfg->device_key, a->auth_key) != FOTA_OK) {
        mbedtls_md_free(&a->md);
        return FOTA_ERR_CRYPTO;
    }
    a->wake_ms = fota_agent_now(a);
    fota_err_t err = resume_from_journal(a);
    if (err != FOTA_OK) {
        fota_agent_deinit(a); /* a failed init leaves nothing for the caller to release */
    }
    return err;
}

void fota_agent_deinit(fota_agent_t *a)
{
    mbedtls_md_free(&a->md);
    memset(a->auth_key, 0, sizeof a->auth_key);
}

fota_err_t fota_agent_confirm(fota_agent_t *a)
{
    fota_boot_state_t bs;
    fota_err_t err = a->port.boot.running_state(a->port.boot.ctx, &bs);
    if (err == FOTA_OK && bs == FOTA_BOOT_STATE_PENDING) {
        err = a->port.boot.confirm(a->port.boot.ctx);
    }
    if (err == FOTA_OK && a->state == FOTA_STATE_BOOTED) {
        confirmed(a);
    }
    return err;
}

void fota_agent_check_now(fota_agent_t *a)
{
    a->check_requested = true;
}

fota_state_t fota_agent_state(const fota_agent_t *a)
{
    return (fota_state_t)a->state;
}

bool fota_agent_settled(const fota_agent_t *a)
{
    return a->state == FOTA_STATE_IDLE && a->report_count == 0 && !a->journaled &&
           a->pending == FOTA_REQ_NONE;
}

fota_err_t fota_agent_last_error(const fota_agent_t *a)
{
    return a->last_err;
}

void fota_agent_progress(const fota_agent_t *a, uint32_t *done, uint32_t *total)
{
    *done = a->next_chunk;
    *total = a->manifest.chunk_count;
}
