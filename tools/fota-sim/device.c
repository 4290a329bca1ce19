/*
 * device.c - one simulated device: an emulated ESP32 with the real agent, driven by the event
 * loop. What the device is behind its flash (the agent directly on fota_emu_device, or the
 * ESP-IDF component over the double with --esp-idf) is its kind's: s->hw (hw_agent.c, hw_esp.c).
 *
 * When the device is due the loop calls sim_device_due(): a running device's agent is polled
 * until it asks for something: a request (handed to xfer.c after any added latency, or queued
 * for a free transfer slot), a reboot (the device powers off and on after --reboot-delay), or a
 * wait (the device is scheduled again when the wait is over). A power cut is noticed after every
 * call into the agent (the emulated flash stopped): the device is off, whatever was in flight is
 * dropped, and it boots again later; its agent resumes from the journal.
 *
 * A device is done when its agent has nothing left to do (idle, reports delivered, no journal)
 * and it runs a new version (updated), or the old one after a rollback (rolled back), or its
 * update failed --attempts times (failed, with the agent's last error). Bricked devices (no
 * bootable image) and devices booting a version that is neither the old nor a released one are
 * done at once: they fail the whole run.
 *
 * A device on the image a release's delta patch starts from downloads the patch instead of the
 * image (the agent's choice: docs/DELTA.md); the sim notes which it was, for the faults (a
 * patch's download has other flash operations) and the summary (updates by delta and by full
 * image), and the new image's size for the firmware bytes.
 */
#include <stdio.h>
#include <string.h>

#include "fota/emu/bootloader.h"

#include "sim.h"

bool sim_device_cut(const sim_dev_t *d)
{
    return fota_flash_emu_is_cut(d->emu);
}

fota_agent_t *sim_agent(sim_dev_t *d)
{
    return d->sim->hw->agent(d);
}

static const char *version_of(const sim_dev_t *d)
{
    return d->sim->hw->version(d);
}

/* ---- outcome -------------------------------------------------------------------------------- */

static const char *outcome_name(sim_outcome_t out)
{
    switch (out) {
    case OUT_UPDATED:
        return "updated";
    case OUT_ROLLED_BACK:
        return "rolled back";
    case OUT_IDLE:
        return "idle";
    case OUT_BRICKED:
        return "BRICKED";
    case OUT_FOREIGN:
        return "FOREIGN IMAGE";
    default:
        return "failed";
    }
}

/* Add (+1) or take back (-1) a device's outcome in the fleet's tallies. */
static void tally(sim_t *s, const sim_dev_t *d, int by)
{
    sim_outcome_t out = d->outcome;
    s->n_updated += (uint32_t)(by * (out == OUT_UPDATED));
    s->n_rolled_back += (uint32_t)(by * (out == OUT_ROLLED_BACK));
    s->n_failed +=
        (uint32_t)(by * (out != OUT_UPDATED && out != OUT_ROLLED_BACK && out != OUT_IDLE));
    if (out == OUT_UPDATED || out == OUT_ROLLED_BACK) {
        s->firmware_bytes += (uint64_t)((int64_t)by * d->image_size);
    }
}

static void set_outcome(sim_t *s, sim_dev_t *d, sim_outcome_t out, const char *reason)
{
    d->outcome = out;
    snprintf(d->reason, sizeof d->reason, "%s", reason != NULL ? reason : "");
    tally(s, d, 1);
    sim_log(s, d, "done: %s%s%s (running %s)", outcome_name(out), *d->reason ? ": " : "", d->reason,
            version_of(d));
}

static void finish(sim_t *s, sim_dev_t *d, sim_outcome_t out, const char *reason)
{
    if (d->phase == DEV_DONE) {
        return;
    }
    sim_unschedule(s, d);
    fota_flash_emu_cancel_cut(d->emu);
    d->phase = DEV_DONE;
    s->n_done++;
    sim_set_progress(s, d, 1.0);
    set_outcome(s, d, out, reason);
}

/* A finished device changes its outcome (the final reboot found something else). */
static void reclassify(sim_t *s, sim_dev_t *d, sim_outcome_t out, const char *reason)
{
    tally(s, d, -1);
    set_outcome(s, d, out, reason);
}

/* The old version, or a released one (--to if given, else any version from a manifest the
 * devices verified). */
static bool known_version(const sim_t *s, const char *v)
{
    if (strcmp(v, s->initial_version) == 0) {
        return true;
    }
    if (s->cfg.target_version != NULL) {
        return strcmp(v, s->cfg.target_version) == 0;
    }
    for (unsigned i = 0; i < s->n_versions; i++) {
        if (strcmp(v, s->versions[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool settled(sim_dev_t *d)
{
    const fota_agent_t *a = sim_agent(d);
    return a != NULL && fota_agent_settled(a);
}

/* A new version, confirmed (an off device runs nothing: its version is ""). */
static bool running_new(const sim_t *s, const sim_dev_t *d)
{
    const char *v = version_of(d);
    return *v != '\0' && strcmp(v, s->initial_version) != 0 && !s->hw->pending(d);
}

/* Done if its agent has nothing left to do and the outcome is clear. A rolled-back device is
 * done once its agent will not install the release again: it retries a rolled-back release from
 * its slot until FOTA_CONFIG_MAX_INSTALL_ATTEMPTS installs, and fotad stops offering it then (a
 * power cut during the first boot rolls back like a failed self-test, and the retry heals it).
 * `idle` also ends a device that was offered nothing (--expect none), which only makes sense
 * after a check has been answered. */
static bool classify(sim_t *s, sim_dev_t *d, bool idle)
{
    if (running_new(s, d)) {
        finish(s, d, OUT_UPDATED, NULL);
    } else if (d->rollbacks >= FOTA_CONFIG_MAX_INSTALL_ATTEMPTS ||
               (idle && d->rollbacks > 0 && d->checks_after_rollback > 0)) {
        /* rolled back as often as the agent tries, or rolled back and not offered it again
         * (a staged rollout does not offer a release to a device that failed it) */
        finish(s, d, OUT_ROLLED_BACK,
               d->selftest_failed     ? "self-test failed"
               : d->cut_in_first_boot ? "power cut before the confirm"
                                      : NULL);
    } else if (d->attempts_failed >= s->cfg.attempts) {
        finish(s, d, OUT_FAILED, fota_err_name(d->last_err));
    } else if (idle && !d->saw_offer && s->cfg.expect == SIM_EXPECT_NONE &&
               sim_now_ms() - s->start_ms >= s->cfg.linger_ms) {
        finish(s, d, OUT_IDLE, "nothing offered");
    }
    return d->phase == DEV_DONE;
}

void sim_device_finish(sim_t *s, sim_dev_t *d, bool timed_out)
{
    if (d->phase == DEV_DONE || (settled(d) && classify(s, d, true))) {
        return;
    }
    const fota_agent_t *a = sim_agent(d);
    if (a == NULL || fota_agent_state(a) <= FOTA_STATE_CHECKING) {
        if (classify(s, d, false)) { /* the outcome is on the flash; a report was on its way */
            return;
        }
    }
    char why[48];
    snprintf(why, sizeof why, "%s (%s)", timed_out ? "timeout" : "stopped",
             !d->saw_offer ? "no offer"
             : a == NULL   ? "off"
                           : fota_state_name(fota_agent_state(a)));
    finish(s, d, OUT_FAILED, why);
}

/* After the run, with no cut armed: power the device once more. It must boot, a known version,
 * and the same one it ended on (an image that was never confirmed would roll back here); a
 * device that ended off (its kind knows no version then) has nothing to compare. */
void sim_device_final_check(sim_t *s, sim_dev_t *d)
{
    if (d->outcome == OUT_BRICKED || d->outcome == OUT_FOREIGN) {
        return;
    }
    char before[FOTA_VERSION_MAX + 1];
    snprintf(before, sizeof before, "%s", version_of(d));
    fota_flash_emu_cancel_cut(d->emu);
    sim_boot_t b = {0};
    s->hw->power_on(d, &b);
    fota_err_t err = b.err;
    if (err == FOTA_ERR_BOOT_NO_APP) {
        reclassify(s, d, OUT_BRICKED, "no bootable image at the final reboot");
    } else if (err == FOTA_OK && !known_version(s, version_of(d))) {
        reclassify(s, d, OUT_FOREIGN, version_of(d));
    } else if (err != FOTA_OK || (*before != '\0' && strcmp(before, version_of(d)) != 0)) {
        char why[48];
        snprintf(why, sizeof why, "%s at the final reboot",
                 err != FOTA_OK ? fota_err_name(err) : "changed version");
        reclassify(s, d, d->outcome == OUT_IDLE ? OUT_IDLE : OUT_FAILED, why);
    }
}

/* ---- power -------------------------------------------------------------------------------- */

static void power_off(sim_t *s, sim_dev_t *d)
{
    s->hw->power_off(d);
    d->phase = DEV_OFF;
    sim_schedule(s, d, sim_now_ms() + s->cfg.reboot_ms);
}

static void count_cut(sim_t *s, sim_dev_t *d)
{
    fota_flash_cut_info_t ci;
    fota_flash_emu_last_cut(d->emu, &ci);
    d->cuts++;
    s->n.cuts++;
    d->cut_in_first_boot = d->cut_in_first_boot || d->installed;
    sim_log(s, d, "power cut (%s %s at 0x%x)", ci.mode == FOTA_CUT_TORN ? "torn" : "clean",
            ci.op == FOTA_FLASH_OP_READ    ? "read"
            : ci.op == FOTA_FLASH_OP_WRITE ? "write"
                                           : "erase",
            (unsigned)ci.addr);
    sim_faults_after_cut(s, d);
}

void sim_device_power_lost(sim_t *s, sim_dev_t *d)
{
    count_cut(s, d);
    power_off(s, d);
}

/* The new image failed its self-test (the kind says whether it restarted into the old one
 * itself, or hangs until the watchdog resets it). */
static void count_selftest(sim_t *s, sim_dev_t *d, const sim_boot_t *b)
{
    if (b->selftest_failed) {
        d->selftest_failed = true;
        s->n.selftest_failures++;
        sim_log(s, d, "self-test failed%s", b->reset ? ": the watchdog resets it" : ": rejected");
    }
}

static void power_on(sim_t *s, sim_dev_t *d)
{
    sim_boot_t b = {0};
    s->hw->power_on(d, &b);
    fota_err_t err = b.err;
    count_selftest(s, d, &b);
    if (sim_device_cut(d)) {
        count_cut(s, d); /* the power failed again while it booted */
        power_off(s, d);
    } else if (err == FOTA_ERR_BOOT_NO_APP) {
        finish(s, d, OUT_BRICKED, "no bootable image");
    } else if (err != FOTA_OK) {
        finish(s, d, OUT_FAILED, fota_err_name(err));
    } else if (!known_version(s, version_of(d))) {
        finish(s, d, OUT_FOREIGN, version_of(d));
    } else if (b.reset) {
        power_off(s, d);
    } else {
        d->phase = DEV_RUN;
        sim_schedule(s, d, sim_now_ms());
    }
}

/* ---- requests ----------------------------------------------------------------------------- */

static void start_or_queue(sim_t *s, sim_dev_t *d)
{
    if (sim_xfer_slot_free(s) && s->queue_head == NULL) {
        d->phase = DEV_HTTP;
        sim_xfer_start(s, d, d->req);
    } else {
        d->phase = DEV_QUEUED;
        sim_queue_push(s, d);
    }
}

static void want_http(sim_t *s, sim_dev_t *d, const fota_http_request_t *req)
{
    d->req = req;
    s->n.requests++;
    uint32_t latency = sim_faults_latency(s);
    if (latency > 0) {
        d->phase = DEV_DELAY;
        sim_schedule(s, d, sim_now_ms() + latency);
        return;
    }
    start_or_queue(s, d);
}

void sim_device_after_http(sim_t *s, sim_dev_t *d)
{
    d->req = NULL;
    if (sim_device_cut(d)) { /* the response's last step wrote to flash and was cut */
        sim_device_power_lost(s, d);
        return;
    }
    d->phase = DEV_RUN;
    sim_schedule(s, d, sim_now_ms());
}

/* ---- polling ------------------------------------------------------------------------------ */

/* The agent holds reports queued while idle until its next check is due (agent.c go_idle sets
 * the wake time, poll honours it before sending reports): after a confirm or a rollback the
 * server would hear of it one check interval later. A device with reports waiting and no
 * back-off running is asked to check now, which sends the reports first. */
static bool nudge_reports(sim_dev_t *d)
{
    fota_agent_t *a = sim_agent(d);
    if (a == NULL || fota_agent_state(a) != FOTA_STATE_IDLE || a->report_count == 0 ||
        a->backoff_ms != 0) {
        return false;
    }
    fota_agent_check_now(a);
    return true;
}

static void after_wait(sim_t *s, sim_dev_t *d, uint32_t wait_ms)
{
    if (nudge_reports(d)) {
        sim_schedule(s, d, sim_now_ms());
        return;
    }
    if (settled(d) && classify(s, d, true)) {
        return;
    }
    if (wait_ms == UINT32_MAX && settled(d)) {
        sim_device_finish(s, d, false); /* no check interval: it will never ask again */
        return;
    }
    sim_schedule(s, d, sim_now_ms() + (wait_ms == UINT32_MAX ? 1000u : wait_ms));
}

static void step(sim_t *s, sim_dev_t *d)
{
    if (settled(d) && classify(s, d, false)) {
        return; /* before a check asked for by nudge_reports() starts another attempt */
    }
    if (!d->started) {
        d->started = true;
        fota_agent_check_now(sim_agent(d));
    }
    for (int i = 0; i < 32; i++) {
        fota_action_t act;
        fota_agent_poll(sim_agent(d), &act);
        if (sim_device_cut(d)) {
            sim_device_power_lost(s, d);
            return;
        }
        if (act.kind == FOTA_ACTION_HTTP) {
            want_http(s, d, act.http);
            return;
        }
        if (act.kind == FOTA_ACTION_REBOOT) {
            d->reboots++;
            s->n.reboots++;
            power_off(s, d);
            return;
        }
        if (act.wait_ms > 0) {
            after_wait(s, d, act.wait_ms);
            return;
        }
    }
    sim_schedule(s, d, sim_now_ms()); /* more to do (verifying): let the others run first */
}

void sim_device_due(sim_t *s, sim_dev_t *d)
{
    switch (d->phase) {
    case DEV_RUN:
        step(s, d);
        break;
    case DEV_DELAY:
        start_or_queue(s, d);
        break;
    case DEV_OFF:
        power_on(s, d);
        break;
    case DEV_HTTP:
        if (d->xfer != NULL && d->xfer->paused) {
            sim_xfer_resume(s, d->xfer);
        }
        break;
    default:
        break;
    }
}

/* ---- the agent's events ------------------------------------------------------------------- */

static void learn_version(sim_t *s, const char *v)
{
    for (unsigned i = 0; i < s->n_versions; i++) {
        if (strcmp(s->versions[i], v) == 0) {
            return;
        }
    }
    if (s->n_versions < SIM_MAX_VERSIONS) {
        snprintf(s->versions[s->n_versions++], sizeof s->versions[0], "%s", v);
    }
}

/* Whether the agent's download is a delta patch; then a->manifest describes the patch's records
 * (its image_size is the patch's) and the new image's size is the applier's. */
static bool agent_on_delta(const fota_agent_t *a, uint32_t *image_size)
{
#if FOTA_CONFIG_DELTA
    if (a->delta.on) {
        *image_size = a->delta.applier.new_size;
        return true;
    }
#endif
    *image_size = a->manifest.image_size;
    return false;
}

/* The agent verified a manifest and starts (or resumes) downloading. The sim reads the verified
 * manifest from the agent's struct: agent.h has no accessor for it. A delta download of the
 * release that gives way to its full image (delta_failed) is a new download. */
static void download_begins(sim_t *s, sim_dev_t *d, const fota_event_t *ev)
{
    const fota_agent_t *a = sim_agent(d);
    d->saw_offer = true;
    d->done_chunks = ev->done;
    if (a == NULL) {
        return; /* not while the device starts: the agent resumes downloads from a poll */
    }
    learn_version(s, a->manifest.version);
    uint32_t image_size = 0;
    bool delta = agent_on_delta(a, &image_size);
    bool same = strcmp(d->release, a->offer.release) == 0 && d->updating;
    if (same && delta == d->by_delta) {
        return; /* resumed after a reboot, or a new attempt at the same release */
    }
    if (same && d->by_delta) {
        d->delta_fallbacks++;
        s->n.delta_fallbacks++;
        sim_log(s, d, "delta failed: the full image follows");
    }
    snprintf(d->release, sizeof d->release, "%s", a->offer.release);
    d->by_delta = delta;
    d->saw_delta = d->saw_delta || delta;
    d->image_size = image_size;
    d->chunk_count = a->manifest.chunk_count;
    d->chunk_size = a->manifest.chunk_size;
    d->high_pos = 0;
    d->updating = true;
    sim_faults_update_begins(s, d);
}

static void on_state(sim_t *s, sim_dev_t *d, const fota_event_t *ev)
{
    switch (ev->state) {
    case FOTA_STATE_CHECKING:
        d->checks_after_rollback += d->rollbacks > 0 ? 1u : 0u;
        break;
    case FOTA_STATE_MANIFEST:
        d->saw_offer = true;
        d->checks_after_rollback = 0; /* offered again: another attempt */
        break;
    case FOTA_STATE_DOWNLOADING:
        download_begins(s, d, ev);
        break;
    case FOTA_STATE_INSTALLED:
        d->installed = true;
        sim_set_progress(s, d, 1.0);
        break;
    case FOTA_STATE_ROLLED_BACK:
        d->rolled_back = true;
        d->rollbacks++;
        break;
    case FOTA_STATE_ERROR:
        d->attempts_failed++;
        break;
    case FOTA_STATE_CONFIRMED:
        if (d->cuts == 0 && d->updating && s->ops_per_update == 0) {
            fota_flash_stats_t st;
            fota_flash_emu_stats(d->emu, &st);
            s->ops_per_update = st.ops - d->update_ops0;
        }
        break;
    default:
        break;
    }
}

bool sim_device_selftest_fails(void *ctx, const char *version)
{
    const sim_dev_t *d = ctx;
    const sim_t *s = d->sim;
    if (!d->fails_selftest || version == NULL || version[0] == '\0') {
        return false;
    }
    return s->cfg.fail_version != NULL ? strcmp(version, s->cfg.fail_version) == 0
                                       : strcmp(version, s->initial_version) != 0;
}

void sim_device_on_event(void *ctx, const fota_event_t *ev)
{
    sim_dev_t *d = ctx;
    sim_t *s = d->sim;
    if (ev->kind == FOTA_EVENT_PROGRESS) {
        d->done_chunks = ev->done;
        sim_set_progress(s, d, ev->total ? (double)ev->done / (double)ev->total : 0.0);
        return;
    }
    if (ev->kind == FOTA_EVENT_ERROR) {
        d->last_err = ev->err;
        if (!sim_device_cut(d)) {
            sim_log(s, d, "error %s in %s", fota_err_name(ev->err), fota_state_name(ev->state));
        }
        return;
    }
    on_state(s, d, ev);
    sim_log(s, d, "%s", fota_state_name(ev->state));
}

/* ---- open and close --------------------------------------------------------------------- */

/* From the template (copy-on-write: nothing to provision), or a whole flash of its own. */
static fota_err_t open_flash(sim_t *s, sim_dev_t *d)
{
    if (s->tmpl != NULL) {
        return fota_flash_emu_open_shared(s->tmpl, FOTA_FLASH_EMU_STRICT, &d->emu);
    }
    char path[4096];
    const char *p = NULL;
    unsigned flags = FOTA_FLASH_EMU_STRICT;
    if (s->cfg.flash_dir != NULL) {
        snprintf(path, sizeof path, "%s/%s.flash", s->cfg.flash_dir, d->id);
        p = path;
        flags |= FOTA_FLASH_EMU_CREATE;
    }
    fota_err_t err = fota_flash_emu_open(p, s->flash_size, flags, &d->emu);
    if (err == FOTA_OK) {
        fota_flash_t port = fota_flash_emu_port(d->emu);
        err = fota_device_provision(&port, &s->table, s->image, s->image_len);
    }
    return err;
}

fota_err_t sim_device_open(sim_t *s, sim_dev_t *d, uint32_t index)
{
    memset(d, 0, sizeof *d);
    d->sim = s;
    d->index = index;
    d->heap_pos = -1;
    d->cut_at = UINT64_MAX;
    snprintf(d->id, sizeof d->id, "%s%06u", s->cfg.id_prefix, (unsigned)(s->cfg.first_id + index));
    fota_err_t err = sim_device_key(s, d->id, d->key);
    if (err == FOTA_OK) {
        err = open_flash(s, d);
    }
    return err == FOTA_OK ? s->hw->open(s, d) : err;
}

/* At setup, once the server's URL is known. The initial image is the old version; a self-test
 * that fails on it is the user's image's business, not an update's. */
fota_err_t sim_device_first_boot(sim_t *s, sim_dev_t *d)
{
    sim_boot_t b = {0};
    s->hw->power_on(d, &b);
    return b.err;
}

void sim_device_close(sim_dev_t *d)
{
    if (d->sim != NULL) {
        d->sim->hw->close(d); /* before the flash: the device uses it until it is closed */
    }
    if (d->emu != NULL) {
        fota_flash_emu_close(d->emu);
        d->emu = NULL;
    }
}
