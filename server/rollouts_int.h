/*
 * rollouts_int.h - what the files of the rollout service share (not a public header):
 *   rollout_plan.c    pure rules: places, stage boundaries, status moves, thresholds
 *   rollouts.c        the service's life, operator actions, the active rollouts in memory
 *   rollout_device.c  checks, reports, evaluation (thresholds, soak, advance), the tick, and
 *                     the cancelled (device, release) set of the data path
 */
#ifndef FOTAD_ROLLOUTS_INT_H
#define FOTAD_ROLLOUTS_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "fpset.h"
#include "rollouts.h"

typedef struct {
    int64_t id;
    char product[FOTAD_LABEL_MAX + 1];
    char release[FOTAD_RELEASE_ID_LEN + 1];
} fotad_active_t;

struct fotad_rollouts {
    fotad_store_t *store;
    fotad_clock_t clock;
    pthread_mutex_t lock;                             /* every decision that writes, and `active` */
    fotad_active_t active[FOTAD_ROLLOUTS_ACTIVE_MAX]; /* scheduled, running, paused */
    size_t n_active;
    /* (device, release) of members of cancelled rollouts that had started the release */
    pthread_mutex_t cancel_lock;
    fotad_fp_salt_t salt;
    fotad_fpset_t cancelled;
    atomic_size_t n_cancelled;
    /* the tick thread */
    pthread_t thread;
    bool running;
    bool stop;
    uint32_t tick_s;
    pthread_cond_t wake;
    /* several fotad on one store: this node's name for the periodic job's lease */
    char holder[96];
};

static inline int64_t ro_now(const fotad_rollouts_t *r)
{
    return r->clock.now(r->clock.ctx);
}

bool ro_is_active_state(const char *state);

/* Reload the active rollouts from the store (lock held). */
fota_err_t ro_reload_active(fotad_rollouts_t *r);

/* Write rec with an event of `kind` and printf text, and reload the active set (lock held). */
fota_err_t ro_transition(fotad_rollouts_t *r, const fotad_rollout_rec_t *rec,
                         const fotad_member_rec_t *members, size_t n_members, const char *kind,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Start a created or scheduled rollout now (lock held). */
fota_err_t ro_start_now(fotad_rollouts_t *r, fotad_rollout_rec_t *rec, char *why);

/* Evaluate a running rollout: thresholds when failures_changed, then stage success, soak and
 * advance (lock held). */
fota_err_t ro_evaluate(fotad_rollouts_t *r, fotad_rollout_rec_t *rec, bool failures_changed);

/* Open the next stage, or finish after the last (lock held). */
fota_err_t ro_advance(fotad_rollouts_t *r, fotad_rollout_rec_t *rec);

/* Remember the members of a cancelled rollout that had started its release. */
fota_err_t ro_remember_cancelled(fotad_rollouts_t *r, const fotad_rollout_rec_t *rec);

/* Whether every tag of the rollout is among the device's (both ',' joined). */
bool ro_tags_match(const char *required, const char *have);

#endif /* FOTAD_ROLLOUTS_INT_H */
