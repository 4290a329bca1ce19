/*
 * rollout_device.c - the device side of rollouts (rollouts.h): the decision at a check (a
 * member's stage reached, the rollout running or the member already started, the window open,
 * the rate limit), a report's move of a member's status, the evaluation that follows (thresholds,
 * stage success, soak, advance), the scheduler tick (scheduled starts, timeouts), and the set of
 * cancelled (device, release) pairs the data path consults.
 */
#include <stdio.h>
#include <string.h>

#include "cron.h"
#include "log.h"
#include "rollouts_int.h"

/* The active rollout of a product or of a release (lock held), or NULL. */
static const fotad_active_t *active_of(const fotad_rollouts_t *r, const char *product,
                                       const char *release)
{
    for (size_t i = 0; i < r->n_active; i++) {
        const fotad_active_t *a = &r->active[i];
        if ((product != NULL && strcmp(a->product, product) == 0) ||
            (release != NULL && strcmp(a->release, release) == 0)) {
            return a;
        }
    }
    return NULL;
}

/* ---- evaluation ----------------------------------------------------------------------------- */

fota_err_t ro_advance(fotad_rollouts_t *r, fotad_rollout_rec_t *rec)
{
    int64_t now = ro_now(r);
    int32_t k = rec->current_stage;
    if ((uint32_t)k + 1 >= rec->n_stages) {
        snprintf(rec->state, sizeof rec->state, "finished");
        rec->finished = now;
        return ro_transition(r, rec, NULL, 0, "finished", "stage %d of %u succeeded", (int)k + 1,
                             rec->n_stages);
    }
    rec->current_stage = k + 1;
    rec->stages[k + 1].opened = now;
    rec->stages[k + 1].done_since = 0;
    return ro_transition(r, rec, NULL, 0, "advanced", "stage %d succeeded; stage %d opened",
                         (int)k + 1, (int)k + 2);
}

/* Pause by a threshold: the reason, and the failed stage for pause_and_rollback. */
static fota_err_t threshold_pause(fotad_rollouts_t *r, fotad_rollout_rec_t *rec, const char *reason)
{
    snprintf(rec->state, sizeof rec->state, "paused");
    snprintf(rec->paused_reason, sizeof rec->paused_reason, "%s", reason);
    rec->rollback_stage = rec->rollback_on_failure ? rec->current_stage : -1;
    return ro_transition(r, rec, NULL, 0, "threshold", "%s%s", reason,
                         rec->rollback_on_failure ? "; its members are offered the rollback" : "");
}

fota_err_t ro_evaluate(fotad_rollouts_t *r, fotad_rollout_rec_t *rec, bool failures_changed)
{
    fotad_member_counts_t c;
    fota_err_t err = FOTA_OK;
    while (err == FOTA_OK && strcmp(rec->state, "running") == 0) {
        err = r->store->ops->member_counts(r->store->ctx, rec->id, &c);
        char reason[FOTAD_REASON_MAX + 1];
        if (err != FOTA_OK) {
            break;
        }
        if (failures_changed && fotad_rollout_threshold_crossed(rec, &c, reason)) {
            return threshold_pause(r, rec, reason);
        }
        int32_t k = rec->current_stage;
        fotad_stage_rec_t *s = &rec->stages[k];
        uint32_t members = 0;
        for (int i = 0; i < FOTAD_MEMBER_STATUS_COUNT; i++) {
            members += c.n[k][i];
        }
        uint32_t ok = c.n[k][FOTAD_MEMBER_SUCCEEDED];
        uint32_t want = s->success_percent > 0 ? s->success_percent : 100;
        bool done = (uint64_t)ok * 100u >= (uint64_t)want * members;
        int64_t now = ro_now(r);
        if (done != (s->done_since != 0)) {
            s->done_since = done ? now : 0;
            err = ro_transition(r, rec, NULL, 0, done ? "stage_done" : "stage_undone",
                                "stage %d: %u of %u succeeded", (int)k + 1, ok, members);
        }
        if (err != FOTA_OK || !done || now - s->done_since < (int64_t)s->soak_s) {
            break;
        }
        if (s->manual && (uint32_t)k + 1 < rec->n_stages) {
            snprintf(rec->state, sizeof rec->state, "paused");
            snprintf(rec->paused_reason, sizeof rec->paused_reason,
                     "stage %d succeeded; advance is manual (resume to open stage %d)", (int)k + 1,
                     (int)k + 2);
            return ro_transition(r, rec, NULL, 0, "paused", "%s", rec->paused_reason);
        }
        err = ro_advance(r, rec); /* the next stage may be done at once (no members yet) */
        failures_changed = false;
    }
    return err;
}

/* ---- checks --------------------------------------------------------------------------------- */

/* The member row of the device, joining it when it matches and its place falls in a stage. */
static fota_err_t member_of(fotad_rollouts_t *r, const fotad_rollout_rec_t *rec, const char *id,
                            fotad_member_rec_t *m, bool *is_member)
{
    fota_err_t err = r->store->ops->member_get(r->store->ctx, rec->id, id, m);
    *is_member = err == FOTA_OK;
    if (err != FOTA_ERR_NOT_FOUND) {
        return err;
    }
    if (rec->explicit_devices || strcmp(rec->state, "scheduled") == 0) {
        return FOTA_OK;
    }
    fotad_device_rec_t d;
    err = r->store->ops->device_get(r->store->ctx, id, &d);
    if (err != FOTA_OK && err != FOTA_ERR_NOT_FOUND) {
        return err;
    }
    int k = fotad_rollout_stage_of(rec, fotad_rollout_place(id));
    if (k < 0 || !ro_tags_match(rec->tags, err == FOTA_OK ? d.tags : "")) {
        return FOTA_OK;
    }
    memset(m, 0, sizeof *m);
    m->rollout = rec->id;
    snprintf(m->device, sizeof m->device, "%s", id);
    m->stage = (uint32_t)k;
    fotad_event_rec_t ev = {.rollout = rec->id, .time = ro_now(r)};
    snprintf(ev.kind, sizeof ev.kind, "joined");
    snprintf(ev.text, sizeof ev.text, "device %s joined stage %d", id, k + 1);
    err = r->store->ops->member_put(r->store->ctx, m, &ev);
    *is_member = err == FOTA_OK;
    return err;
}

/* The rate limit in force: starts per minute, 0 for none. */
static fota_err_t rate_limit(fotad_rollouts_t *r, const fotad_rollout_rec_t *rec, uint32_t *out)
{
    uint32_t limit = rec->rate_per_minute;
    fota_err_t err = FOTA_OK;
    if (limit > 0 && rec->rate_after_successes > 0 && rec->rate_then_per_minute > 0) {
        fotad_member_counts_t c;
        err = r->store->ops->member_counts(r->store->ctx, rec->id, &c);
        uint32_t ok = 0;
        for (uint32_t k = 0; k < FOTAD_STAGES_MAX; k++) {
            ok += c.n[k][FOTAD_MEMBER_SUCCEEDED];
        }
        limit = ok >= rec->rate_after_successes ? rec->rate_then_per_minute : limit;
    }
    *out = err == FOTA_OK ? limit : 0;
    return err;
}

/* Start member m now if the rate limit admits it (the count of the last minute's starts and the
 * member's write are one step in the store, whichever fotad asks); *retry when not. */
static fota_err_t start_member(fotad_rollouts_t *r, const fotad_rollout_rec_t *rec,
                               fotad_member_rec_t *m, int64_t now, bool *admitted, uint32_t *retry)
{
    uint32_t limit = 0;
    fota_err_t err = rate_limit(r, rec, &limit);
    m->status = FOTAD_MEMBER_STARTED;
    m->started = now;
    m->last_activity = now;
    if (err != FOTA_OK || limit == 0) {
        *admitted = err == FOTA_OK;
        return err == FOTA_OK ? r->store->ops->member_put(r->store->ctx, m, NULL) : err;
    }
    int64_t earliest = 0;
    err = r->store->ops->member_start(r->store->ctx, m, now - 59, limit, admitted, &earliest);
    if (err == FOTA_OK && !*admitted) {
        *retry = earliest + 60 > now ? (uint32_t)(earliest + 60 - now) : 1;
    }
    return err;
}

/* The window is closed at now (and started members may not go on): *retry until it opens. */
static bool window_closed(const fotad_rollout_rec_t *rec, bool started, int64_t now,
                          uint32_t *retry)
{
    fotad_cron_t cron;
    int64_t next = 0;
    if (rec->window_cron[0] == '\0' || (started && rec->finish_running) ||
        !fotad_cron_parse(rec->window_cron, &cron) ||
        fotad_window_open(&cron, rec->window_offset_s, rec->window_duration_s, now, &next)) {
        return false;
    }
    *retry = next > now ? (uint32_t)(next - now) : 0;
    return true;
}

static void offer(fotad_ro_decision_t *dec, const fotad_rollout_rec_t *rec,
                  const fotad_release_rec_t *rel, const char *action)
{
    dec->kind = FOTAD_RO_OFFER;
    memcpy(dec->release, rel->id, sizeof dec->release);
    dec->rollout = rec->id;
    dec->action = strcmp(action, "forced") == 0          ? "forced"
                  : strcmp(action, "download_only") == 0 ? "download_only"
                                                         : "soft";
}

/* What a member is offered (lock held); writes its start or activity. */
static fota_err_t decide(fotad_rollouts_t *r, fotad_rollout_rec_t *rec, fotad_member_rec_t *m,
                         const char *version, fotad_ro_decision_t *dec)
{
    fotad_release_rec_t rel;
    int64_t now = ro_now(r);
    dec->kind = FOTAD_RO_NOTHING;
    bool started = m->status >= FOTAD_MEMBER_STARTED && m->status <= FOTAD_MEMBER_INSTALLED;
    bool paused = strcmp(rec->state, "paused") == 0;
    if (paused && rec->rollback_stage == (int32_t)m->stage && m->status != FOTAD_MEMBER_PENDING) {
        fota_err_t err = r->store->ops->release_get(r->store->ctx, rec->rollback_release, &rel);
        if (err == FOTA_OK && strcmp(rel.version, version) != 0) {
            offer(dec, rec, &rel, "forced");
        }
        return err;
    }
    fota_err_t err = r->store->ops->release_get(r->store->ctx, rec->release, &rel);
    if (err != FOTA_OK) {
        return err;
    }
    if (strcmp(rel.version, version) == 0) {
        if (m->status == FOTAD_MEMBER_SUCCEEDED) {
            return FOTA_OK;
        }
        m->status = FOTAD_MEMBER_SUCCEEDED; /* it runs the release: a lost confirmed report */
        m->last_activity = now;
        err = r->store->ops->member_put(r->store->ctx, m, NULL);
        return err == FOTA_OK && !paused ? ro_evaluate(r, rec, false) : err;
    }
    if (!started &&
        (paused || m->stage > (uint32_t)rec->current_stage || m->status != FOTAD_MEMBER_PENDING)) {
        return FOTA_OK; /* not its turn, or finished (succeeded, failed) */
    }
    if (window_closed(rec, started, now, &dec->retry_after)) {
        return FOTA_OK;
    }
    bool admitted = true;
    if (!started) {
        err = start_member(r, rec, m, now, &admitted, &dec->retry_after);
    } else {
        /* A member that only goes on is written back at most once a FOTAD_ACTIVITY_WRITE_S (half
         * the timeout when that is shorter): its last activity is what a timeout counts from. */
        int64_t every = FOTAD_ACTIVITY_WRITE_S;
        if (rec->timeout_s > 0 && (int64_t)rec->timeout_s / 2 < every) {
            every = (int64_t)rec->timeout_s / 2; /* a short timeout needs fresher activity */
        }
        if (now - m->last_activity >= every) {
            m->last_activity = now;
            err = r->store->ops->member_put(r->store->ctx, m, NULL);
        }
    }
    if (err == FOTA_OK && admitted) {
        offer(dec, rec, &rel, rec->action);
    }
    return err;
}

fota_err_t fotad_rollouts_check(fotad_rollouts_t *r, const char *id, const char *hw,
                                const char *version, fotad_ro_decision_t *dec)
{
    memset(dec, 0, sizeof *dec);
    dec->kind = FOTAD_RO_NOT_MINE;
    pthread_mutex_lock(&r->lock);
    const fotad_active_t *a = active_of(r, hw, NULL);
    fotad_rollout_rec_t rec;
    fotad_assignment_rec_t own;
    fota_err_t err = a != NULL ? r->store->ops->rollout_get(r->store->ctx, a->id, &rec) : FOTA_OK;
    if (a != NULL && err == FOTA_OK) {
        /* The device's own assignment is the override: the rollout does not decide. */
        err = r->store->ops->assignment_get(r->store->ctx, FOTAD_TARGET_DEVICE, id, &own);
        err = err == FOTA_OK ? FOTA_ERR_STATE : err == FOTA_ERR_NOT_FOUND ? FOTA_OK : err;
        bool is_member = false;
        fotad_member_rec_t m;
        err = err == FOTA_OK ? member_of(r, &rec, id, &m, &is_member) : err;
        if (err == FOTA_OK && is_member && strcmp(rec.state, "scheduled") != 0) {
            err = decide(r, &rec, &m, version, dec);
        }
        err = err == FOTA_ERR_STATE ? FOTA_OK : err;
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

/* ---- reports -------------------------------------------------------------------------------- */

fota_err_t fotad_rollouts_report(fotad_rollouts_t *r, const char *id, const char *state,
                                 const char *release)
{
    pthread_mutex_lock(&r->lock);
    const fotad_active_t *a = release[0] != '\0' ? active_of(r, NULL, release) : NULL;
    fotad_rollout_rec_t rec;
    fotad_member_rec_t m = {.status = FOTAD_MEMBER_PENDING};
    fota_err_t err = a != NULL ? r->store->ops->rollout_get(r->store->ctx, a->id, &rec) : FOTA_OK;
    if (a != NULL && err == FOTA_OK) {
        err = r->store->ops->member_get(r->store->ctx, rec.id, id, &m);
        fotad_member_status_t to = err == FOTA_OK ? fotad_member_next(m.status, state) : m.status;
        if (err == FOTA_OK && to != m.status) {
            bool failed = to == FOTAD_MEMBER_FAILED;
            snprintf(m.reason, sizeof m.reason, "%s", failed ? state : "");
            m.status = to;
            m.started = m.started != 0 ? m.started : ro_now(r);
            m.last_activity = ro_now(r);
            err = r->store->ops->member_put(r->store->ctx, &m, NULL);
            err = err == FOTA_OK ? ro_evaluate(r, &rec, failed) : err;
        } else if (err == FOTA_OK && m.status >= FOTAD_MEMBER_STARTED) {
            m.last_activity = ro_now(r);
            err = r->store->ops->member_put(r->store->ctx, &m, NULL);
        }
        err = err == FOTA_ERR_NOT_FOUND ? FOTA_OK : err;
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

/* ---- the tick ------------------------------------------------------------------------------- */

static fota_err_t tick_one(fotad_rollouts_t *r, int64_t id, int64_t now)
{
    fotad_rollout_rec_t rec;
    char why[FOTAD_WHY_MAX];
    fota_err_t err = r->store->ops->rollout_get(r->store->ctx, id, &rec);
    if (err == FOTA_OK && strcmp(rec.state, "scheduled") == 0 && rec.start_at <= now) {
        err = ro_start_now(r, &rec, why);
        if (err == FOTA_ERR_STATE) {
            FOTAD_WARN("rollout %lld: scheduled start refused: %s", (long long)id, why);
            return FOTA_OK;
        }
    }
    uint32_t timed_out = 0;
    if (err == FOTA_OK && rec.timeout_s > 0 && strcmp(rec.state, "scheduled") != 0) {
        err = r->store->ops->member_time_out(r->store->ctx, id, now - (int64_t)rec.timeout_s,
                                             &timed_out);
    }
    if (err == FOTA_OK && timed_out > 0) {
        err = ro_transition(r, &rec, NULL, 0, "timed_out",
                            "%u member(s) silent for %u s counted as failed", timed_out,
                            rec.timeout_s);
    }
    return err == FOTA_OK ? ro_evaluate(r, &rec, timed_out > 0) : err;
}

fota_err_t fotad_rollouts_tick(fotad_rollouts_t *r)
{
    pthread_mutex_lock(&r->lock);
    int64_t ids[FOTAD_ROLLOUTS_ACTIVE_MAX];
    size_t n = r->n_active;
    for (size_t i = 0; i < n; i++) {
        ids[i] = r->active[i].id;
    }
    int64_t now = ro_now(r);
    fota_err_t err = FOTA_OK;
    for (size_t i = 0; i < n; i++) {
        fota_err_t e = tick_one(r, ids[i], now);
        err = err == FOTA_OK ? e : err;
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

/* ---- cancelled members and the data path ---------------------------------------------------- */

typedef struct {
    fotad_rollouts_t *r;
    const char *release;
} cancel_walk_t;

static fota_err_t remember_member(void *arg, const fotad_member_rec_t *m)
{
    cancel_walk_t *w = arg;
    if (m->status < FOTAD_MEMBER_STARTED || m->status > FOTAD_MEMBER_DOWNLOADED) {
        return FOTA_OK;
    }
    uint8_t fp[FOTAD_FP_LEN];
    bool added = false;
    fotad_fingerprint(&w->r->salt, m->device, w->release, fp);
    pthread_mutex_lock(&w->r->cancel_lock);
    fota_err_t err = fotad_fpset_add(&w->r->cancelled, fp, &added);
    if (added) {
        atomic_fetch_add(&w->r->n_cancelled, 1);
    }
    pthread_mutex_unlock(&w->r->cancel_lock);
    return err;
}

fota_err_t ro_remember_cancelled(fotad_rollouts_t *r, const fotad_rollout_rec_t *rec)
{
    cancel_walk_t w = {r, rec->release};
    return r->store->ops->member_list(r->store->ctx, rec->id, remember_member, &w);
}

/* Another reason for the device to get the release: an assignment, or an active rollout. */
static bool other_reason(fotad_rollouts_t *r, const char *id, const char *product,
                         const char *release)
{
    fotad_assignment_rec_t a;
    if (r->store->ops->assignment_get(r->store->ctx, FOTAD_TARGET_DEVICE, id, &a) == FOTA_OK) {
        return strcmp(a.release, release) == 0;
    }
    if (r->store->ops->assignment_get(r->store->ctx, FOTAD_TARGET_PRODUCT, product, &a) ==
            FOTA_OK &&
        strcmp(a.release, release) == 0) {
        return true;
    }
    pthread_mutex_lock(&r->lock);
    bool active = active_of(r, NULL, release) != NULL;
    pthread_mutex_unlock(&r->lock);
    return active;
}

bool fotad_rollouts_data_allowed(fotad_rollouts_t *r, const char *id, const char *product,
                                 const char *release)
{
    if (atomic_load(&r->n_cancelled) == 0) {
        return true;
    }
    uint8_t fp[FOTAD_FP_LEN];
    fotad_fingerprint(&r->salt, id, release, fp);
    pthread_mutex_lock(&r->cancel_lock);
    bool hit = fotad_fpset_contains(&r->cancelled, fp);
    pthread_mutex_unlock(&r->cancel_lock);
    return !hit || other_reason(r, id, product, release);
}
