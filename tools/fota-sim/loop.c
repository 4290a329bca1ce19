/*
 * loop.c - the event loop: one thread drives every device and every transfer.
 *
 * Each turn: run the devices whose time has come (the timer heap pops them: poll the agent,
 * power on, start a delayed request, resume a stalled transfer); give free transfer slots to
 * queued requests; let curl move bytes (curl_multi_perform calls the write callbacks, which feed
 * the agents); hand finished transfers back to their devices; restart the server when the
 * fleet's download crosses the next mark; redraw the progress line. Then sleep in
 * curl_multi_poll() until a socket is ready, the first device is due, or curl's own timer
 * fires. The run ends when every device is done, at --timeout, or at SIGINT/SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

#define PROGRESS_MS 200u
#define MAX_SLEEP_MS 1000u

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

void sim_set_progress(sim_t *s, sim_dev_t *d, double p)
{
    p = p > 1.0 ? 1.0 : p;
    s->progress_sum += p - d->progress;
    d->progress = p;
}

double sim_fleet_progress(const sim_t *s)
{
    return s->n_devs > 0 ? s->progress_sum / (double)s->n_devs : 1.0;
}

/* Every due device once (a device that wants to run again at once waits for the next turn). */
static void run_due(sim_t *s)
{
    uint32_t now = sim_now_ms();
    for (uint32_t budget = s->n_devs; budget > 0; budget--) {
        sim_dev_t *d = sim_pop_due(s, now);
        if (d == NULL) {
            return;
        }
        sim_device_due(s, d);
    }
}

static void start_queued(sim_t *s)
{
    while (sim_xfer_slot_free(s)) {
        sim_dev_t *d = sim_queue_pop(s);
        if (d == NULL) {
            return;
        }
        d->phase = DEV_HTTP;
        sim_xfer_start(s, d, d->req);
    }
}

/* The k-th of N restarts falls when the fleet's download is k/(N+1) done. */
static void maybe_restart(sim_t *s)
{
    if (s->restarts_done >= s->cfg.restarts) {
        return;
    }
    double mark = (double)(s->restarts_done + 1u) / (double)(s->cfg.restarts + 1u);
    if (sim_fleet_progress(s) >= mark) {
        s->restarts_done++;
        sim_fotad_restart(s);
    }
}

static uint32_t sleep_ms(const sim_t *s, uint32_t now)
{
    long curl_ms = -1;
    curl_multi_timeout(s->multi, &curl_ms);
    uint32_t t = sim_next_wake(s, now);
    if (curl_ms >= 0 && (uint32_t)curl_ms < t) {
        t = (uint32_t)curl_ms;
    }
    uint32_t cap = s->cfg.progress ? PROGRESS_MS : MAX_SLEEP_MS;
    return t < cap ? t : cap;
}

static bool time_is_up(const sim_t *s, uint32_t now)
{
    return interrupted || (uint32_t)(now - s->start_ms) >= s->cfg.timeout_ms;
}

static void turn(sim_t *s, uint32_t *last_draw)
{
    run_due(s);
    start_queued(s);
    int running = 0;
    curl_multi_perform(s->multi, &running);
    sim_xfer_collect(s);
    start_queued(s);
    maybe_restart(s);
    sim_fotad_tick(s);
    uint32_t now = sim_now_ms();
    if (s->cfg.progress && (uint32_t)(now - *last_draw) >= PROGRESS_MS) {
        *last_draw = now;
        sim_progress_draw(s, false);
    }
}

static void start_devices(sim_t *s)
{
    for (uint32_t i = 0; i < s->n_devs; i++) {
        uint64_t offset = (uint64_t)s->cfg.ramp_ms * i / s->n_devs;
        sim_schedule(s, &s->devs[i], s->start_ms + (uint32_t)offset);
    }
}

/* Whatever is still running: stop it, classify it, then reboot every device once more. */
static void wind_up(sim_t *s, bool timed_out)
{
    for (uint32_t i = 0; i < s->cfg.concurrency; i++) {
        if (s->xfers[i].dev != NULL) {
            sim_xfer_abandon(s, &s->xfers[i]);
        }
    }
    for (uint32_t i = 0; i < s->n_devs; i++) {
        sim_device_finish(s, &s->devs[i], timed_out);
    }
    for (uint32_t i = 0; i < s->n_devs; i++) {
        sim_device_final_check(s, &s->devs[i]);
    }
}

int sim_run(sim_t *s)
{
    if (sim_xfer_init(s) != FOTA_OK || sim_sched_init(s) != FOTA_OK) {
        fprintf(stderr, "%s: out of memory (FOTA_ERR_NO_MEM)\n", SIM_PROG);
        sim_xfer_free(s);
        return SIM_EXIT_SETUP;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    s->start_ms = sim_now_ms();
    start_devices(s);
    uint32_t last_draw = s->start_ms;
    bool timed_out = false;
    while (s->n_done < s->n_devs) {
        uint32_t now = sim_now_ms();
        if (time_is_up(s, now)) {
            timed_out = true;
            break;
        }
        turn(s, &last_draw);
        if (s->n_done < s->n_devs) {
            curl_multi_poll(s->multi, NULL, 0, (int)sleep_ms(s, sim_now_ms()), NULL);
        }
    }
    s->seconds = (double)(uint32_t)(sim_now_ms() - s->start_ms) / 1000.0;
    wind_up(s, timed_out);
    if (s->cfg.progress) {
        sim_progress_draw(s, true);
    }
    sim_measure_memory(s, &s->mem_end);
    sim_xfer_free(s);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (interrupted) {
        fprintf(stderr, "%s: interrupted\n", SIM_PROG);
    }
    return sim_report(s);
}
