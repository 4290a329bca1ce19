/*
 * rollouts.c - the rollout service's life and the operator's actions (rollouts.h): create (with
 * its checks and the dry run), start now or scheduled, pause, resume, cancel, install, update,
 * and the active rollouts kept in memory. Checks, reports and the tick are in rollout_device.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "cron.h"
#include "log.h"
#include "rollouts_int.h"

#define WHY(...) snprintf(why, FOTAD_WHY_MAX, __VA_ARGS__)

static int64_t system_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

fotad_clock_t fotad_clock_system(void)
{
    fotad_clock_t c = {system_now, NULL};
    return c;
}

bool ro_is_active_state(const char *state)
{
    return strcmp(state, "scheduled") == 0 || strcmp(state, "running") == 0 ||
           strcmp(state, "paused") == 0;
}

static fota_err_t add_active(void *arg, const fotad_rollout_rec_t *rec)
{
    fotad_rollouts_t *r = arg;
    if (!ro_is_active_state(rec->state)) {
        return FOTA_OK;
    }
    if (r->n_active >= FOTAD_ROLLOUTS_ACTIVE_MAX) {
        return FOTA_ERR_TOO_LARGE;
    }
    fotad_active_t *a = &r->active[r->n_active++];
    a->id = rec->id;
    memcpy(a->product, rec->product, sizeof a->product);
    memcpy(a->release, rec->release, sizeof a->release);
    return FOTA_OK;
}

fota_err_t ro_reload_active(fotad_rollouts_t *r)
{
    r->n_active = 0;
    return r->store->ops->rollout_list(r->store->ctx, add_active, r);
}

fota_err_t ro_transition(fotad_rollouts_t *r, const fotad_rollout_rec_t *rec,
                         const fotad_member_rec_t *members, size_t n_members, const char *kind,
                         const char *fmt, ...)
{
    fotad_event_rec_t ev = {.rollout = rec->id, .time = ro_now(r)};
    snprintf(ev.kind, sizeof ev.kind, "%s", kind);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev.text, sizeof ev.text, fmt, ap);
    va_end(ap);
    fota_err_t err = r->store->ops->rollout_update(r->store->ctx, rec, members, n_members, &ev);
    if (err == FOTA_OK) {
        FOTAD_INFO("rollout %lld: %s: %s", (long long)rec->id, kind, ev.text);
        err = ro_reload_active(r);
    }
    return err;
}

static fota_err_t remember_cancelled(void *arg, const fotad_rollout_rec_t *rec)
{
    return strcmp(rec->state, "cancelled") == 0 ? ro_remember_cancelled(arg, rec) : FOTA_OK;
}

fota_err_t fotad_rollouts_open(fotad_store_t *store, fotad_clock_t clock, fotad_rollouts_t **out)
{
    fotad_rollouts_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    if (fotad_fp_salt_init(&r->salt) != FOTA_OK) {
        free(r);
        return FOTA_ERR_IO;
    }
    r->store = store;
    r->clock = clock;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->cancel_lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    fotad_fpset_init(&r->cancelled);
    atomic_init(&r->n_cancelled, 0);
    fota_err_t err = ro_reload_active(r);
    if (err == FOTA_OK) {
        err = store->ops->rollout_list(store->ctx, remember_cancelled, r);
    }
    if (err != FOTA_OK) {
        fotad_rollouts_close(r);
        return err;
    }
    *out = r;
    return FOTA_OK;
}

void fotad_rollouts_close(fotad_rollouts_t *r)
{
    if (r == NULL) {
        return;
    }
    if (r->running) {
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    fotad_fpset_free(&r->cancelled);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->cancel_lock);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Several fotad on one store (its lease_take set): each node first catches up with what the
 * others changed (active rollouts, cancelled members), then the one holding the lease runs the
 * tick and forgets expired nonces. The lease outlives two ticks and a little, so a node that
 * dies is replaced within that. Alone (SQLite), this node just ticks. */
static bool periodic_lease(fotad_rollouts_t *r)
{
    const fotad_store_t *st = r->store;
    if (st->ops->lease_take == NULL) {
        return true;
    }
    pthread_mutex_lock(&r->lock);
    fota_err_t err = ro_reload_active(r);
    if (err == FOTA_OK) {
        err = st->ops->rollout_list(st->ctx, remember_cancelled, r);
    }
    pthread_mutex_unlock(&r->lock);
    bool held = false;
    int64_t now = ro_now(r);
    if (err == FOTA_OK) {
        err = st->ops->lease_take(st->ctx, FOTAD_PERIODIC_LEASE, r->holder, now,
                                  2 * r->tick_s + FOTAD_LEASE_MARGIN_S, &held);
    }
    uint64_t removed = 0;
    if (err == FOTA_OK && held && st->ops->nonce_purge != NULL) {
        err = st->ops->nonce_purge(st->ctx, now, &removed);
    }
    if (err != FOTA_OK) {
        FOTAD_ERROR("periodic: shared store (%s)", fota_err_name(err));
        return false;
    }
    return held;
}

/* The tick thread: a tick, then a wait of tick_s seconds (real time) or until told to stop. */
static void *tick_main(void *arg)
{
    fotad_rollouts_t *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        pthread_mutex_unlock(&r->lock);
        fota_err_t err = periodic_lease(r) ? fotad_rollouts_tick(r) : FOTA_OK;
        if (err != FOTA_OK) {
            FOTAD_ERROR("rollouts: tick failed (%s)", fota_err_name(err));
        }
        pthread_mutex_lock(&r->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += r->tick_s;
        while (!r->stop && pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

fota_err_t fotad_rollouts_run(fotad_rollouts_t *r, uint32_t tick_s)
{
    r->tick_s = tick_s > 0 ? tick_s : FOTAD_ROLLOUT_TICK_S;
    char host[64] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(r->holder, sizeof r->holder, "%s:%ld:%lld", host, (long)getpid(),
             (long long)ro_now(r));
    if (pthread_create(&r->thread, NULL, tick_main, r) != 0) {
        return FOTA_ERR_NO_MEM;
    }
    r->running = true;
    return FOTA_OK;
}

/* ---- create --------------------------------------------------------------------------------- */

static fota_err_t check_release(fotad_rollouts_t *r, const char *id, const char *product,
                                const char *what, char *why)
{
    fotad_release_rec_t rel;
    fota_err_t err = r->store->ops->release_get(r->store->ctx, id, &rel);
    if (err == FOTA_ERR_NOT_FOUND) {
        WHY("no such %s", what);
    } else if (err == FOTA_OK && strcmp(rel.product, product) != 0) {
        WHY("the %s is for product %s, the rollout for %s", what, rel.product, product);
        err = FOTA_ERR_MANIFEST_PRODUCT;
    }
    return err;
}

/* The settings that make sense alone (also after an update). */
static fota_err_t check_settings(const fotad_rollout_rec_t *rec, char *why)
{
    fotad_cron_t cron;
    if (rec->n_stages == 0 || rec->n_stages > FOTAD_STAGES_MAX) {
        WHY("stages: 1 to %u stages", FOTAD_STAGES_MAX);
        return FOTA_ERR_ARG;
    }
    for (uint32_t k = 0; k < rec->n_stages; k++) {
        const fotad_stage_rec_t *s = &rec->stages[k];
        bool bad_amount = s->amount == 0 || (s->kind == FOTAD_STAGE_PERCENT && s->amount > 100);
        if (bad_amount || s->success_percent > 100 || s->thresholds.max_failure_percent > 100) {
            WHY("stage %u: percent out of range, or a count of 0", k + 1);
            return FOTA_ERR_ARG;
        }
    }
    if (rec->thresholds.max_failure_percent > 100) {
        WHY("max_failure_percent over 100");
        return FOTA_ERR_ARG;
    }
    if (rec->window_cron[0] != '\0' &&
        (!fotad_cron_parse(rec->window_cron, &cron) || rec->window_duration_s == 0 ||
         rec->window_duration_s > FOTAD_WINDOW_MAX_S)) {
        WHY("window: a cron of 5 fields and a duration_s of 1..%u", FOTAD_WINDOW_MAX_S);
        return FOTA_ERR_ARG;
    }
    return FOTA_OK;
}

typedef struct {
    const fotad_rollout_rec_t *rec;
    uint64_t *places;
    char (*ids)[FOTAD_DEVICE_ID_MAX + 1];
    size_t n, cap;
} candidates_t;

static fota_err_t candidate_add(candidates_t *c, const char *id)
{
    if (c->n == c->cap) {
        size_t cap = c->cap > 0 ? c->cap * 2 : 64;
        uint64_t *p = realloc(c->places, cap * sizeof *p);
        if (p != NULL) {
            c->places = p;
        }
        char(*ids)[FOTAD_DEVICE_ID_MAX + 1] = p != NULL ? realloc(c->ids, cap * sizeof *ids) : NULL;
        if (ids == NULL) {
            return FOTA_ERR_NO_MEM;
        }
        c->ids = ids;
        c->cap = cap;
    }
    c->places[c->n] = fotad_rollout_place(id);
    snprintf(c->ids[c->n], sizeof c->ids[c->n], "%s", id);
    c->n++;
    return FOTA_OK;
}

static fota_err_t candidate_device(void *arg, const fotad_device_rec_t *d)
{
    candidates_t *c = arg;
    if (strcmp(d->product, c->rec->product) != 0 || !ro_tags_match(c->rec->tags, d->tags)) {
        return FOTA_OK;
    }
    return candidate_add(c, d->id);
}

static fota_err_t candidate_member(void *arg, const fotad_member_rec_t *m)
{
    return candidate_add(arg, m->device);
}

static void candidates_free(candidates_t *c)
{
    free(c->places);
    free(c->ids);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The devices a rollout takes when it starts: its explicit list (the member rows, or `devices`
 * before it is stored), else the known devices of its product with its tags. */
static fota_err_t candidates(fotad_rollouts_t *r, const fotad_rollout_rec_t *rec,
                             const char *const *devices, size_t n_devices, candidates_t *c)
{
    memset(c, 0, sizeof *c);
    c->rec = rec;
    fota_err_t err = FOTA_OK;
    if (devices != NULL) {
        for (size_t i = 0; err == FOTA_OK && i < n_devices; i++) {
            err = candidate_add(c, devices[i]);
        }
    } else if (rec->explicit_devices) {
        err = r->store->ops->member_list(r->store->ctx, rec->id, candidate_member, c);
    } else if (rec->tags[0] != '\0') {
        char first[FOTAD_TAG_MAX + 1];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(rec->tags, ","), rec->tags);
        err = r->store->ops->device_list_tagged(r->store->ctx, first, candidate_device, c);
    } else {
        err = r->store->ops->device_list(r->store->ctx, candidate_device, c);
    }
    return err;
}

/* Boundaries from the candidates (sorted copy of their places). */
static fota_err_t plan(fotad_rollout_rec_t *rec, const candidates_t *c)
{
    uint64_t *sorted = malloc((c->n > 0 ? c->n : 1) * sizeof *sorted);
    if (sorted == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    if (c->n > 0) {
        memcpy(sorted, c->places, c->n * sizeof *sorted);
    }
    qsort(sorted, c->n, sizeof *sorted, cmp_u64);
    fotad_rollout_boundaries(rec, sorted, c->n);
    free(sorted);
    return FOTA_OK;
}

static fota_err_t dry_run(fotad_rollouts_t *r, fotad_rollout_rec_t *rec, const char *const *devices,
                          size_t n_devices, uint32_t sizes[FOTAD_STAGES_MAX])
{
    candidates_t c;
    fota_err_t err = candidates(r, rec, n_devices > 0 ? devices : NULL, n_devices, &c);
    if (err == FOTA_OK) {
        err = plan(rec, &c);
    }
    memset(sizes, 0, FOTAD_STAGES_MAX * sizeof sizes[0]);
    for (size_t i = 0; err == FOTA_OK && i < c.n; i++) {
        int k = fotad_rollout_stage_of(rec, c.places[i]);
        if (k >= 0) {
            sizes[k]++;
        }
    }
    candidates_free(&c);
    return err;
}

fota_err_t fotad_rollouts_create(fotad_rollouts_t *r, fotad_rollout_rec_t *rec,
                                 const char *const *devices, size_t n_devices, bool dry_run_only,
                                 uint32_t sizes[FOTAD_STAGES_MAX], char *why)
{
    fotad_release_rec_t rel;
    fota_err_t err = r->store->ops->release_get(r->store->ctx, rec->release, &rel);
    if (err == FOTA_ERR_NOT_FOUND) {
        WHY("no such release");
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (rec->product[0] == '\0') {
        memcpy(rec->product, rel.product, sizeof rec->product);
    }
    err = check_release(r, rec->release, rec->product, "release", why);
    if (err == FOTA_OK && rec->rollback_on_failure) {
        err = rec->rollback_release[0] == '\0'
                  ? (WHY("pause_and_rollback needs a rollback_release"), FOTA_ERR_ARG)
                  : check_release(r, rec->rollback_release, rec->product, "rollback_release", why);
    }
    err = err == FOTA_OK ? check_settings(rec, why) : err;
    if (err != FOTA_OK) {
        return err;
    }
    rec->explicit_devices = n_devices > 0;
    if (dry_run_only) {
        return dry_run(r, rec, devices, n_devices, sizes);
    }
    snprintf(rec->state, sizeof rec->state, "created");
    rec->current_stage = -1;
    rec->rollback_stage = -1;
    rec->created = ro_now(r);
    rec->started = rec->finished = 0;
    fotad_event_rec_t ev = {.time = rec->created};
    snprintf(ev.kind, sizeof ev.kind, "created");
    snprintf(ev.text, sizeof ev.text, "release %s, %u stage(s), %s", rec->release, rec->n_stages,
             n_devices > 0 ? "an explicit device list" : "product and tags");
    pthread_mutex_lock(&r->lock);
    err = r->store->ops->rollout_insert(r->store->ctx, rec, devices, n_devices, &ev);
    pthread_mutex_unlock(&r->lock);
    return err;
}

/* ---- start, pause, resume, cancel, install, update ------------------------------------------ */

/* Another active rollout of the same product, or FOTA_OK. */
static fota_err_t other_active(fotad_rollouts_t *r, const fotad_rollout_rec_t *rec, char *why)
{
    for (size_t i = 0; i < r->n_active; i++) {
        if (r->active[i].id != rec->id && strcmp(r->active[i].product, rec->product) == 0) {
            WHY("rollout %lld is already active for product %s", (long long)r->active[i].id,
                rec->product);
            return FOTA_ERR_STATE;
        }
    }
    return FOTA_OK;
}

/* A stage of N devices (the canary) must find N devices of the target known at the start: an
 * emptier one would let the release past it untried. FOTA_ERR_STATE with why otherwise. */
static fota_err_t count_stages_full(const fotad_rollout_rec_t *rec, const candidates_t *c,
                                    char *why)
{
    uint32_t sizes[FOTAD_STAGES_MAX] = {0};
    for (size_t i = 0; i < c->n; i++) {
        int k = fotad_rollout_stage_of(rec, c->places[i]);
        if (k >= 0) {
            sizes[k]++;
        }
    }
    for (uint32_t k = 0; k < rec->n_stages; k++) {
        const fotad_stage_rec_t *s = &rec->stages[k];
        if (s->kind == FOTAD_STAGE_COUNT && sizes[k] < s->amount) {
            WHY("stage %u wants %u devices, fotad knows %u of the target for it: let the devices "
                "check in first, or give the stage as a percentage",
                k + 1, s->amount, sizes[k]);
            return FOTA_ERR_STATE;
        }
    }
    return FOTA_OK;
}

fota_err_t ro_start_now(fotad_rollouts_t *r, fotad_rollout_rec_t *rec, char *why)
{
    candidates_t c;
    fota_err_t err = other_active(r, rec, why);
    err = err == FOTA_OK ? candidates(r, rec, NULL, 0, &c) : err;
    if (err != FOTA_OK) {
        return err;
    }
    err = plan(rec, &c);
    err = err == FOTA_OK ? count_stages_full(rec, &c, why) : err;
    fotad_member_rec_t *m = err == FOTA_OK ? calloc(c.n > 0 ? c.n : 1, sizeof *m) : NULL;
    err = err == FOTA_OK && m == NULL ? FOTA_ERR_NO_MEM : err;
    for (size_t i = 0; err == FOTA_OK && i < c.n; i++) {
        int k = fotad_rollout_stage_of(rec, c.places[i]);
        m[i].rollout = rec->id;
        memcpy(m[i].device, c.ids[i], sizeof m[i].device);
        m[i].stage = k >= 0 ? (uint32_t)k : rec->n_stages; /* outside every stage: never offered */
        m[i].status = FOTAD_MEMBER_PENDING;
    }
    if (err == FOTA_OK) {
        int64_t now = ro_now(r);
        snprintf(rec->state, sizeof rec->state, "running");
        rec->started = now;
        rec->current_stage = 0;
        rec->stages[0].opened = now;
        err = ro_transition(r, rec, m, c.n, "started", "%zu device(s) known at the start", c.n);
    }
    free(m);
    candidates_free(&c);
    return err;
}

/* The rollout, locked; FOTA_ERR_NOT_FOUND with why. The caller unlocks. */
static fota_err_t get_locked(fotad_rollouts_t *r, int64_t id, fotad_rollout_rec_t *rec, char *why)
{
    pthread_mutex_lock(&r->lock);
    fota_err_t err = r->store->ops->rollout_get(r->store->ctx, id, rec);
    if (err == FOTA_ERR_NOT_FOUND) {
        WHY("no such rollout");
    }
    return err;
}

static fota_err_t wrong_state(const fotad_rollout_rec_t *rec, const char *action, char *why)
{
    WHY("cannot %s a rollout that is %s", action, rec->state);
    return FOTA_ERR_STATE;
}

fota_err_t fotad_rollouts_start(fotad_rollouts_t *r, int64_t id, int64_t start_at, char *why)
{
    fotad_rollout_rec_t rec;
    fota_err_t err = get_locked(r, id, &rec, why);
    if (err == FOTA_OK && strcmp(rec.state, "created") != 0) {
        err = wrong_state(&rec, "start", why);
    } else if (err == FOTA_OK && start_at > ro_now(r)) {
        err = other_active(r, &rec, why);
        snprintf(rec.state, sizeof rec.state, "scheduled");
        rec.start_at = start_at;
        err = err == FOTA_OK ? ro_transition(r, &rec, NULL, 0, "scheduled", "to start at %lld",
                                             (long long)start_at)
                             : err;
    } else if (err == FOTA_OK) {
        err = ro_start_now(r, &rec, why);
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

fota_err_t fotad_rollouts_pause(fotad_rollouts_t *r, int64_t id, char *why)
{
    fotad_rollout_rec_t rec;
    fota_err_t err = get_locked(r, id, &rec, why);
    if (err == FOTA_OK && strcmp(rec.state, "running") != 0) {
        err = wrong_state(&rec, "pause", why);
    } else if (err == FOTA_OK) {
        snprintf(rec.state, sizeof rec.state, "paused");
        snprintf(rec.paused_reason, sizeof rec.paused_reason, "paused by the operator");
        err = ro_transition(r, &rec, NULL, 0, "paused", "%s", rec.paused_reason);
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

fota_err_t fotad_rollouts_resume(fotad_rollouts_t *r, int64_t id, char *why)
{
    fotad_rollout_rec_t rec;
    fota_err_t err = get_locked(r, id, &rec, why);
    if (err == FOTA_OK && strcmp(rec.state, "paused") != 0) {
        err = wrong_state(&rec, "resume", why);
    } else if (err == FOTA_OK) {
        const fotad_stage_rec_t *s = &rec.stages[rec.current_stage];
        bool waiting =
            s->manual && s->done_since != 0 && ro_now(r) - s->done_since >= (int64_t)s->soak_s;
        snprintf(rec.state, sizeof rec.state, "running");
        rec.paused_reason[0] = '\0';
        rec.rollback_stage = -1;
        err = ro_transition(r, &rec, NULL, 0, "resumed", "by the operator");
        if (err == FOTA_OK && waiting) {
            err = ro_advance(r, &rec);
        }
        err = err == FOTA_OK ? ro_evaluate(r, &rec, false) : err;
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

fota_err_t fotad_rollouts_cancel(fotad_rollouts_t *r, int64_t id, char *why)
{
    fotad_rollout_rec_t rec;
    fota_err_t err = get_locked(r, id, &rec, why);
    if (err == FOTA_OK &&
        (strcmp(rec.state, "finished") == 0 || strcmp(rec.state, "cancelled") == 0)) {
        err = wrong_state(&rec, "cancel", why);
    } else if (err == FOTA_OK) {
        snprintf(rec.state, sizeof rec.state, "cancelled");
        rec.finished = ro_now(r);
        err = ro_transition(r, &rec, NULL, 0, "cancelled", "by the operator");
        err = err == FOTA_OK ? ro_remember_cancelled(r, &rec) : err;
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

fota_err_t fotad_rollouts_install(fotad_rollouts_t *r, int64_t id, const char *action, char *why)
{
    fotad_rollout_rec_t rec;
    fota_err_t err = get_locked(r, id, &rec, why);
    if (err == FOTA_OK && (!ro_is_active_state(rec.state) && strcmp(rec.state, "created") != 0)) {
        err = wrong_state(&rec, "install", why);
    } else if (err == FOTA_OK && strcmp(rec.action, "download_only") != 0) {
        WHY("the rollout's action is %s, not download_only", rec.action);
        err = FOTA_ERR_STATE;
    } else if (err == FOTA_OK) {
        snprintf(rec.action, sizeof rec.action, "%s", action);
        err = ro_transition(r, &rec, NULL, 0, "install", "action download_only -> %s", action);
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

fota_err_t fotad_rollouts_update(fotad_rollouts_t *r, int64_t id, fotad_rollout_apply_fn apply,
                                 void *arg, char *why)
{
    fotad_rollout_rec_t rec;
    fota_err_t err = get_locked(r, id, &rec, why);
    if (err == FOTA_OK && !ro_is_active_state(rec.state) && strcmp(rec.state, "created") != 0) {
        err = wrong_state(&rec, "update", why);
    }
    err = err == FOTA_OK ? apply(arg, &rec, why) : err;
    err = err == FOTA_OK ? check_settings(&rec, why) : err;
    if (err == FOTA_OK) {
        err = ro_transition(r, &rec, NULL, 0, "updated", "settings changed by the operator");
    }
    if (err == FOTA_OK && strcmp(rec.state, "running") == 0) {
        err = ro_evaluate(r, &rec, false);
    }
    pthread_mutex_unlock(&r->lock);
    return err;
}

fota_err_t fotad_rollouts_get(fotad_rollouts_t *r, int64_t id, fotad_rollout_rec_t *out,
                              fotad_member_counts_t *counts)
{
    fota_err_t err = r->store->ops->rollout_get(r->store->ctx, id, out);
    return err == FOTA_OK && counts != NULL
               ? r->store->ops->member_counts(r->store->ctx, id, counts)
               : err;
}

fota_err_t fotad_rollouts_list(fotad_rollouts_t *r, fotad_rollout_fn fn, void *arg)
{
    return r->store->ops->rollout_list(r->store->ctx, fn, arg);
}

fota_err_t fotad_rollouts_history(fotad_rollouts_t *r, int64_t id, fotad_event_fn fn, void *arg)
{
    fotad_rollout_rec_t rec;
    fota_err_t err = r->store->ops->rollout_get(r->store->ctx, id, &rec);
    return err == FOTA_OK ? r->store->ops->event_list(r->store->ctx, id, fn, arg) : err;
}
