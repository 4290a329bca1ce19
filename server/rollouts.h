/*
 * rollouts.h - the rollout service (docs/ROLLOUTS.md): creating, starting, pausing, resuming,
 * cancelling and updating rollouts; which member is offered what at a check; what a report (or
 * fotad's own note of a download's start) does to a member; thresholds, stage success, soak and
 * advance; timeouts; the rate limit and maintenance windows; the scheduler tick.
 *
 * Time comes from an injectable clock (fotad_clock_t): fotad passes the system clock, tests a
 * fake one, so windows, soak, timeouts and rate limits are tested without waiting.
 *
 * Concurrency: one mutex serialises every decision that writes (a member's start, a report, a
 * tick, an operator's action); the store writes each transition in one transaction. The active
 * rollouts are kept in memory (their id, product and release), reloaded after each change of
 * state, so a check or report of a device in no rollout costs no extra query. The data path asks
 * fotad_rollouts_data_allowed, which costs one atomic load while no rollout was cancelled.
 * One fotad process per database (a PostgreSQL backend will need the start decision in SQL).
 */
#ifndef FOTAD_ROLLOUTS_H
#define FOTAD_ROLLOUTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define FOTAD_ROLLOUT_TICK_S 10u         /* default scheduler tick */
#define FOTAD_ROLLOUT_DEVICES_MAX 10000u /* an explicit device list */
#define FOTAD_ROLLOUTS_ACTIVE_MAX 256u
#define FOTAD_ACTIVITY_WRITE_S 60 /* a continuing member's last activity, written this often */
/* Several fotad on one store: the lease that lets one node run the periodic work, held for two
 * ticks and this margin past its last renewal. */
#define FOTAD_PERIODIC_LEASE "periodic"
#define FOTAD_LEASE_MARGIN_S 3u

typedef int64_t (*fotad_clock_fn)(void *ctx);

typedef struct {
    fotad_clock_fn now; /* unix seconds */
    void *ctx;
} fotad_clock_t;

/* The system clock (time(2)). */
fotad_clock_t fotad_clock_system(void);

typedef struct fotad_rollouts fotad_rollouts_t;

/* Releases are read from the store (their rows: product, version), so the service needs no
 * release objects and unit tests can run it on a bare store. */
fota_err_t fotad_rollouts_open(fotad_store_t *store, fotad_clock_t clock, fotad_rollouts_t **out);
/* Stops the tick thread if it runs, frees everything. */
void fotad_rollouts_close(fotad_rollouts_t *r);

/* Run fotad_rollouts_tick every tick_s seconds on a thread of its own. */
fota_err_t fotad_rollouts_run(fotad_rollouts_t *r, uint32_t tick_s);

/* One scheduler tick: scheduled starts, timeouts, thresholds, soak and advance. */
fota_err_t fotad_rollouts_tick(fotad_rollouts_t *r);

/* ---- operator actions. Errors: FOTA_ERR_ARG (invalid, *why says what), FOTA_ERR_NOT_FOUND (no
 * such rollout or release: *why), FOTA_ERR_STATE (not in this state, or another active rollout:
 * *why names it), FOTA_ERR_MANIFEST_PRODUCT (a release of another product). why: 160 bytes. */
#define FOTAD_WHY_MAX 160u

/*
 * Create a rollout from rec's settings (stages without computed fields, product "" for the
 * release's), with an explicit device list (n_devices 0: the product, narrowed by rec->tags).
 * dry_run: nothing is stored; sizes[] gets how many known devices each stage would hold now.
 * Otherwise rec gets its id and state "created".
 */
fota_err_t fotad_rollouts_create(fotad_rollouts_t *r, fotad_rollout_rec_t *rec,
                                 const char *const *devices, size_t n_devices, bool dry_run,
                                 uint32_t sizes[FOTAD_STAGES_MAX], char *why);

/* Start now (start_at <= now or 0) or at start_at (state scheduled). */
fota_err_t fotad_rollouts_start(fotad_rollouts_t *r, int64_t id, int64_t start_at, char *why);
fota_err_t fotad_rollouts_pause(fotad_rollouts_t *r, int64_t id, char *why);
fota_err_t fotad_rollouts_resume(fotad_rollouts_t *r, int64_t id, char *why);
fota_err_t fotad_rollouts_cancel(fotad_rollouts_t *r, int64_t id, char *why);
/* download_only -> action ("forced" or "soft") for the members that wait. */
fota_err_t fotad_rollouts_install(fotad_rollouts_t *r, int64_t id, const char *action, char *why);

/* Change settings: apply(arg, rec, why) edits a copy of the rollout (thresholds, window, rate,
 * timeout) and returns FOTA_OK or FOTA_ERR_ARG; the result is validated and stored. */
typedef fota_err_t (*fotad_rollout_apply_fn)(void *arg, fotad_rollout_rec_t *rec, char *why);
fota_err_t fotad_rollouts_update(fotad_rollouts_t *r, int64_t id, fotad_rollout_apply_fn apply,
                                 void *arg, char *why);

fota_err_t fotad_rollouts_get(fotad_rollouts_t *r, int64_t id, fotad_rollout_rec_t *out,
                              fotad_member_counts_t *counts);
fota_err_t fotad_rollouts_list(fotad_rollouts_t *r, fotad_rollout_fn fn, void *arg);
fota_err_t fotad_rollouts_history(fotad_rollouts_t *r, int64_t id, fotad_event_fn fn, void *arg);

/* ---- the device side ---- */

typedef enum {
    FOTAD_RO_NOT_MINE, /* no rollout decides for this device: the assignments do */
    FOTAD_RO_OFFER,    /* offer release with action (rollout: its id) */
    FOTAD_RO_NOTHING,  /* a member with nothing to do now; retry_after > 0: when to ask again */
} fotad_ro_decision_kind_t;

typedef struct {
    fotad_ro_decision_kind_t kind;
    char release[FOTAD_RELEASE_ID_LEN + 1]; /* for FOTAD_RO_OFFER */
    const char *action;                     /* "forced", "soft", "download_only" (static) */
    int64_t rollout;
    uint32_t retry_after; /* seconds, 0 for none */
} fotad_ro_decision_t;

/* A check of device `id` with product hw, running version: the rollout's decision. */
fota_err_t fotad_rollouts_check(fotad_rollouts_t *r, const char *id, const char *hw,
                                const char *version, fotad_ro_decision_t *dec);

/* A report of the device (or fotad's own "downloading" note of a first data request): the
 * member's status moves, thresholds and advance are evaluated. A report of no active rollout's
 * release costs nothing. */
fota_err_t fotad_rollouts_report(fotad_rollouts_t *r, const char *id, const char *state,
                                 const char *release);

/* False when the device is a member of a cancelled rollout of this release, had started it and
 * has no other reason to get it (its own or its product's assignment, another rollout): its data
 * requests get 410. One atomic load while no rollout was cancelled. */
bool fotad_rollouts_data_allowed(fotad_rollouts_t *r, const char *id, const char *product,
                                 const char *release);

/* ---- pure parts, for the unit tests ---- */

/* A device's place: the first 8 bytes of SHA-256("fota-cohort-v1" || id), big-endian. */
uint64_t fotad_rollout_place(const char *id);

/* Set the stages' boundaries from the places (sorted ascending) of the devices known now. */
void fotad_rollout_boundaries(fotad_rollout_rec_t *rec, const uint64_t *places, size_t n);

/* The stage a place falls in, or -1 (after the last stage). */
int fotad_rollout_stage_of(const fotad_rollout_rec_t *rec, uint64_t place);

/* The status a report state moves a member in status cur to (cur when it moves nothing). */
fotad_member_status_t fotad_member_next(fotad_member_status_t cur, const char *state);

/* Whether a threshold is crossed by the current stage's or the whole rollout's counts; the
 * reason ("stage 1: 3 failed >= 3") into reason (FOTAD_REASON_MAX + 1 bytes). */
bool fotad_rollout_threshold_crossed(const fotad_rollout_rec_t *rec, const fotad_member_counts_t *c,
                                     char *reason);

const char *fotad_member_status_name(fotad_member_status_t s);

#endif /* FOTAD_ROLLOUTS_H */
