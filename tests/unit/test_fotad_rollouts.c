/*
 * test_fotad_rollouts.c - fotad's rollouts (server/rollouts.c, rollout_device.c, rollout_plan.c,
 * cron.c) on a fake clock and a bare store (release rows only; SQLite, and by ctest a second time
 * PostgreSQL: tests/support/store_backend.h): the cron parser and the
 * window math, places and stage boundaries, status moves of members, thresholds; then the
 * service: stages with auto and manual advance after soak, thresholds pausing with a reason,
 * timeouts, the rate limit and its rise, windows with Retry-After, download_only then install,
 * pause_and_rollback, cancel and the data path, a device joining later, the device assignment
 * override and a second active rollout refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cron.h"
#include "rollouts.h"
#include "store_backend.h"

/* ---- cron and windows ----------------------------------------------------------------------- */

/* 2025-01-06 00:00:00 UTC, a Monday. */
#define MON 1736121600LL

static void test_cron_parse(void **state)
{
    (void)state;
    fotad_cron_t c;
    assert_true(fotad_cron_parse("* * * * *", &c));
    assert_true(c.days_any && c.weekdays_any);
    assert_int_equal(c.minutes, 0x0FFFFFFFFFFFFFFFull);
    assert_true(fotad_cron_parse("*/15 2,4-6 1 */2 7", &c));
    assert_int_equal(c.minutes, (1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45));
    assert_int_equal(c.hours, (1u << 2) | (1u << 4) | (1u << 5) | (1u << 6));
    assert_int_equal(c.days, 1u << 1);
    assert_int_equal(c.months,
                     (1u << 1) | (1u << 3) | (1u << 5) | (1u << 7) | (1u << 9) | (1u << 11));
    assert_int_equal(c.weekdays, 1u); /* 7 is Sunday (0) */
    assert_true(fotad_cron_parse("5/20 0-23/12 * * 1-5", &c));
    assert_int_equal(c.minutes, (1ull << 5) | (1ull << 25) | (1ull << 45));
    assert_int_equal(c.hours, (1u << 0) | (1u << 12));
    const char *bad[] = {"",          "* * * *",    "* * * * * *", "60 * * * *",    "* 24 * * *",
                         "* * 0 * *", "* * * 13 *", "* * * * 8",   "*/0 * * * *",   "5-1 * * * *",
                         "a * * * *", "1, * * * *", "-1 * * * *",  "1-2-3 * * * *", "0001 * * * *"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(fotad_cron_parse(bad[i], &c));
    }
    int32_t off = 0;
    assert_true(fotad_utc_offset_parse("+02:00", &off));
    assert_int_equal(off, 7200);
    assert_true(fotad_utc_offset_parse("-05:30", &off));
    assert_int_equal(off, -19800);
    assert_true(fotad_utc_offset_parse("Z", &off));
    assert_int_equal(off, 0);
    assert_false(fotad_utc_offset_parse("+2:00", &off));
    assert_false(fotad_utc_offset_parse("+15:00", &off));
    assert_false(fotad_utc_offset_parse("+02:60", &off));
}

static void test_cron_window(void **state)
{
    (void)state;
    fotad_cron_t c;
    int64_t next = 0;
    /* 02:00 local at +02:00 on weekdays, for one hour: 00:00-01:00 UTC. */
    assert_true(fotad_cron_parse("0 2 * * 1-5", &c));
    assert_true(fotad_window_open(&c, 7200, 3600, MON, &next));
    assert_true(fotad_window_open(&c, 7200, 3600, MON + 3599, &next));
    assert_false(fotad_window_open(&c, 7200, 3600, MON + 3600, &next));
    assert_int_equal(next, MON + 86400); /* Tuesday */
    assert_false(fotad_window_open(&c, 7200, 3600, MON - 1, &next));
    assert_int_equal(next, MON);
    /* Friday after the window: next is Monday (Saturday and Sunday do not match). */
    assert_false(fotad_window_open(&c, 7200, 3600, MON + 4 * 86400 + 7200, &next));
    assert_int_equal(next, MON + 7 * 86400);
    /* A window that spans midnight, opened the day before. */
    assert_true(fotad_cron_parse("30 23 * * *", &c));
    assert_true(fotad_window_open(&c, 0, 7200, MON + 3600, &next));
    assert_false(fotad_window_open(&c, 0, 7200, MON + 5400, &next));
    /* Day of month and day of week both restricted: either matches (the 1st, or Mondays). */
    assert_true(fotad_cron_parse("0 0 1 * 1", &c));
    assert_true(fotad_cron_matches(&c, MON));             /* Monday the 6th */
    assert_false(fotad_cron_matches(&c, MON + 86400));    /* Tuesday the 7th */
    assert_true(fotad_cron_matches(&c, MON - 5 * 86400)); /* Wednesday the 1st */
    /* A date that never comes: never open, no next opening. */
    assert_true(fotad_cron_parse("0 0 31 2 *", &c));
    assert_false(fotad_window_open(&c, 0, 3600, MON, &next));
    assert_int_equal(next, 0);
    /* Leap day: 2028-02-29 00:00 UTC. */
    assert_true(fotad_cron_parse("0 0 29 2 *", &c));
    assert_true(fotad_cron_matches(&c, 1835395200LL));
}

/* ---- placement, statuses, thresholds -------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_placement(void **state)
{
    (void)state;
    /* The place is SHA-256("fota-cohort-v1" || id), first 8 bytes: fixed for ever. */
    assert_true(fotad_rollout_place("inv-000001") == fotad_rollout_place("inv-000001"));
    assert_true(fotad_rollout_place("inv-000001") != fotad_rollout_place("inv-000002"));
    uint64_t places[100];
    char id[16];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "d%03d", i);
        places[i] = fotad_rollout_place(id);
    }
    qsort(places, 100, sizeof places[0], cmp_u64);
    fotad_rollout_rec_t rec = {.n_stages = 3};
    rec.stages[0] = (fotad_stage_rec_t){.kind = FOTAD_STAGE_COUNT, .amount = 10};
    rec.stages[1] = (fotad_stage_rec_t){.kind = FOTAD_STAGE_PERCENT, .amount = 50};
    rec.stages[2] = (fotad_stage_rec_t){.kind = FOTAD_STAGE_PERCENT, .amount = 100};
    fotad_rollout_boundaries(&rec, places, 100);
    assert_true(rec.stages[0].boundary == places[9] + 1);
    int in[3] = {0};
    for (int i = 0; i < 100; i++) {
        int k = fotad_rollout_stage_of(&rec, places[i]);
        assert_true(k >= 0);
        in[k]++;
    }
    assert_int_equal(in[0], 10); /* exactly the 10 lowest places */
    assert_true(in[1] > 30 && in[1] < 70);
    assert_int_equal(rec.stages[2].boundary, FOTAD_PLACE_END);
    assert_int_equal(fotad_rollout_stage_of(&rec, FOTAD_PLACE_END), 2);
    /* A stage set that stops at 30 %: places after it are in no stage. */
    rec.n_stages = 1;
    rec.stages[0] = (fotad_stage_rec_t){.kind = FOTAD_STAGE_PERCENT, .amount = 30};
    fotad_rollout_boundaries(&rec, places, 100);
    assert_int_equal(fotad_rollout_stage_of(&rec, FOTAD_PLACE_END - 1), -1);
    /* A count stage larger than the known devices takes them all. */
    rec.stages[0] = (fotad_stage_rec_t){.kind = FOTAD_STAGE_COUNT, .amount = 500};
    fotad_rollout_boundaries(&rec, places, 100);
    assert_int_equal(fotad_rollout_stage_of(&rec, places[99]), 0);
}

static void test_member_next(void **state)
{
    (void)state;
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_STARTED, "downloading"),
                     FOTAD_MEMBER_DOWNLOADING);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_DOWNLOADING, "downloading"),
                     FOTAD_MEMBER_DOWNLOADING);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_DOWNLOADING, "downloaded"),
                     FOTAD_MEMBER_DOWNLOADED);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_INSTALLED, "downloading"),
                     FOTAD_MEMBER_INSTALLED); /* never backwards */
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_DOWNLOADING, "booted"), FOTAD_MEMBER_INSTALLED);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_INSTALLED, "verifying"),
                     FOTAD_MEMBER_INSTALLED);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_INSTALLED, "rolled_back"), FOTAD_MEMBER_FAILED);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_FAILED, "downloading"), FOTAD_MEMBER_FAILED);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_FAILED, "confirmed"), FOTAD_MEMBER_SUCCEEDED);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_SUCCEEDED, "error"), FOTAD_MEMBER_SUCCEEDED);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_PENDING, "error"), FOTAD_MEMBER_FAILED);
    /* A failed delta is no failed update: the device goes on with the full image. */
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_DOWNLOADING, "delta_failed"),
                     FOTAD_MEMBER_DOWNLOADING);
    assert_int_equal(fotad_member_next(FOTAD_MEMBER_STARTED, "delta_failed"), FOTAD_MEMBER_STARTED);
}

static void test_thresholds(void **state)
{
    (void)state;
    fotad_rollout_rec_t rec = {.n_stages = 2, .current_stage = 0};
    fotad_member_counts_t c;
    memset(&c, 0, sizeof c);
    char why[FOTAD_REASON_MAX + 1];
    rec.stages[0].thresholds.max_failures = 3;
    c.n[0][FOTAD_MEMBER_FAILED] = 2;
    assert_false(fotad_rollout_threshold_crossed(&rec, &c, why));
    c.n[0][FOTAD_MEMBER_FAILED] = 3;
    assert_true(fotad_rollout_threshold_crossed(&rec, &c, why));
    assert_string_equal(why, "stage 1: 3 failed >= 3");
    /* Percent with min_finished: 2 of 4 finished is 50 %, but only from 5 finished on. */
    rec.stages[0].thresholds = (fotad_thresholds_t){0, 40, 5};
    c.n[0][FOTAD_MEMBER_FAILED] = 2;
    c.n[0][FOTAD_MEMBER_SUCCEEDED] = 2;
    assert_false(fotad_rollout_threshold_crossed(&rec, &c, why));
    c.n[0][FOTAD_MEMBER_SUCCEEDED] = 3;
    assert_true(fotad_rollout_threshold_crossed(&rec, &c, why));
    assert_string_equal(why, "stage 1: 2 of 5 finished failed (40%) >= 40%");
    c.n[0][FOTAD_MEMBER_SUCCEEDED] = 4; /* 2 of 6: 33 % */
    assert_false(fotad_rollout_threshold_crossed(&rec, &c, why));
    /* The whole rollout counts every stage. */
    rec.thresholds.max_failures = 3;
    c.n[1][FOTAD_MEMBER_FAILED] = 1;
    assert_true(fotad_rollout_threshold_crossed(&rec, &c, why));
    assert_string_equal(why, "rollout: 3 failed >= 3");
}

/* ---- the service on a fake clock ------------------------------------------------------------ */

#define REL1 "11111111111111111111111111111111"
#define REL2 "22222222222222222222222222222222"
#define REL0 "00000000000000000000000000000000"

typedef struct {
    test_store_t db;
    fotad_store_t st;
    fotad_rollouts_t *ro;
    int64_t now;
} fixture_t;

static int64_t fake_now(void *ctx)
{
    return ((fixture_t *)ctx)->now;
}

static void put_release(fixture_t *f, const char *id, const char *version)
{
    fotad_release_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.product, sizeof r.product, "inv-5k");
    snprintf(r.version, sizeof r.version, "%s", version);
    r.chunk_count = 1;
    r.chip_id = 9;
    bool inserted;
    assert_int_equal(f->st.ops->release_insert(f->st.ctx, &r, &inserted), FOTA_OK);
}

static int setup(void **state)
{
    static fixture_t f;
    test_store_begin(&f.db, "test_fotad_rollouts", &f.st);
    f.now = MON + 12 * 3600;
    fotad_clock_t clock = {fake_now, &f};
    assert_int_equal(fotad_rollouts_open(&f.st, clock, &f.ro), FOTA_OK);
    put_release(&f, REL0, "1.0.0");
    put_release(&f, REL1, "2.0.0");
    put_release(&f, REL2, "2.0.1");
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fotad_rollouts_close(f->ro);
    test_store_end(&f->db, &f->st);
    return 0;
}

/* n devices d000.. known to the store (checked in as inv-5k 1.0.0), in order of place. */
static void devices(fixture_t *f, int n, char ids[][16])
{
    uint64_t places[64];
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], 16, "d%03d", i);
        assert_int_equal(f->st.ops->device_check(f->st.ctx, ids[i], "inv-5k", "1.0.0", "", 1),
                         FOTA_OK);
        places[i] = fotad_rollout_place(ids[i]);
    }
    for (int i = 0; i < n; i++) { /* sort ids by place */
        for (int j = i + 1; j < n; j++) {
            if (places[j] < places[i]) {
                uint64_t p = places[i];
                places[i] = places[j];
                places[j] = p;
                char t[16];
                memcpy(t, ids[i], 16);
                memcpy(ids[i], ids[j], 16);
                memcpy(ids[j], t, 16);
            }
        }
    }
}

static fotad_rollout_rec_t settings(uint32_t n_stages)
{
    fotad_rollout_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.release, sizeof r.release, REL1);
    snprintf(r.action, sizeof r.action, "soft");
    r.n_stages = n_stages;
    for (uint32_t k = 0; k < n_stages; k++) {
        r.stages[k].kind = FOTAD_STAGE_PERCENT;
        r.stages[k].amount = 100;
        r.stages[k].success_percent = 100;
    }
    return r;
}

static int64_t create_start(fixture_t *f, fotad_rollout_rec_t *r)
{
    char why[FOTAD_WHY_MAX] = "";
    uint32_t sizes[FOTAD_STAGES_MAX];
    assert_int_equal(fotad_rollouts_create(f->ro, r, NULL, 0, false, sizes, why), FOTA_OK);
    assert_int_equal(fotad_rollouts_start(f->ro, r->id, 0, why), FOTA_OK);
    return r->id;
}

static fotad_ro_decision_t check(fixture_t *f, const char *id, const char *version)
{
    fotad_ro_decision_t d;
    assert_int_equal(fotad_rollouts_check(f->ro, id, "inv-5k", version, &d), FOTA_OK);
    return d;
}

static void report(fixture_t *f, const char *id, const char *state)
{
    assert_int_equal(fotad_rollouts_report(f->ro, id, state, REL1), FOTA_OK);
}

static fotad_rollout_rec_t get(fixture_t *f, int64_t id, fotad_member_counts_t *c)
{
    fotad_rollout_rec_t r;
    fotad_member_counts_t tmp;
    assert_int_equal(fotad_rollouts_get(f->ro, id, &r, c != NULL ? c : &tmp), FOTA_OK);
    return r;
}

/* A canary of 2, then the rest: soak, auto advance, finished; repeated reports count once. */
static void test_stages_soak_advance(void **state)
{
    fixture_t *f = *state;
    char ids[6][16];
    devices(f, 6, ids);
    fotad_rollout_rec_t r = settings(2);
    r.stages[0].kind = FOTAD_STAGE_COUNT;
    r.stages[0].amount = 2;
    r.stages[0].soak_s = 600;
    int64_t id = create_start(f, &r);
    /* A device of stage 2 asks first: nothing yet, no retry hint. */
    fotad_ro_decision_t d = check(f, ids[5], "1.0.0");
    assert_int_equal(d.kind, FOTAD_RO_NOTHING);
    assert_int_equal(d.retry_after, 0);
    for (int i = 0; i < 2; i++) {
        d = check(f, ids[i], "1.0.0");
        assert_int_equal(d.kind, FOTAD_RO_OFFER);
        assert_string_equal(d.release, REL1);
        assert_string_equal(d.action, "soft");
        assert_int_equal(d.rollout, id);
        report(f, ids[i], "downloading");
        report(f, ids[i], "installed");
        report(f, ids[i], "confirmed");
        report(f, ids[i], "confirmed"); /* a retried report */
    }
    fotad_member_counts_t c;
    r = get(f, id, &c);
    assert_int_equal(c.n[0][FOTAD_MEMBER_SUCCEEDED], 2);
    assert_int_equal(r.current_stage, 0); /* soaking */
    f->now += 599;
    assert_int_equal(fotad_rollouts_tick(f->ro), FOTA_OK);
    assert_int_equal(get(f, id, NULL).current_stage, 0);
    f->now += 1;
    assert_int_equal(fotad_rollouts_tick(f->ro), FOTA_OK);
    r = get(f, id, NULL);
    assert_int_equal(r.current_stage, 1);
    d = check(f, ids[5], "1.0.0");
    assert_int_equal(d.kind, FOTAD_RO_OFFER);
    for (int i = 2; i < 6; i++) {
        report(f, ids[i], "confirmed");
    }
    assert_string_equal(get(f, id, NULL).state, "finished");
}

/* Manual advance: the stage done pauses with a reason, resume opens the next stage. */
static void test_manual_advance(void **state)
{
    fixture_t *f = *state;
    char ids[4][16];
    devices(f, 4, ids);
    fotad_rollout_rec_t r = settings(2);
    r.stages[0].kind = FOTAD_STAGE_COUNT;
    r.stages[0].amount = 1;
    r.stages[0].manual = true;
    int64_t id = create_start(f, &r);
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_OFFER);
    report(f, ids[0], "confirmed");
    r = get(f, id, NULL);
    assert_string_equal(r.state, "paused");
    assert_non_null(strstr(r.paused_reason, "advance is manual"));
    assert_int_equal(check(f, ids[1], "1.0.0").kind, FOTAD_RO_NOTHING);
    char why[FOTAD_WHY_MAX];
    assert_int_equal(fotad_rollouts_resume(f->ro, id, why), FOTA_OK);
    r = get(f, id, NULL);
    assert_string_equal(r.state, "running");
    assert_int_equal(r.current_stage, 1);
    assert_int_equal(check(f, ids[1], "1.0.0").kind, FOTAD_RO_OFFER);
}

/* A count threshold pauses with its reason; starting members stops, started ones go on; resume
 * with raised thresholds goes on. */
static void test_threshold_pause(void **state)
{
    fixture_t *f = *state;
    char ids[8][16];
    devices(f, 8, ids);
    fotad_rollout_rec_t r = settings(1);
    r.stages[0].thresholds.max_failures = 2;
    int64_t id = create_start(f, &r);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(check(f, ids[i], "1.0.0").kind, FOTAD_RO_OFFER);
    }
    report(f, ids[0], "rolled_back");
    report(f, ids[0], "rolled_back");
    assert_string_equal(get(f, id, NULL).state, "running");
    report(f, ids[1], "error");
    r = get(f, id, NULL);
    assert_string_equal(r.state, "paused");
    assert_string_equal(r.paused_reason, "stage 1: 2 failed >= 2");
    assert_int_equal(check(f, ids[5], "1.0.0").kind, FOTAD_RO_NOTHING); /* no new start */
    assert_int_equal(check(f, ids[2], "1.0.0").kind, FOTAD_RO_OFFER);   /* started: goes on */
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_NOTHING); /* failed */
    char why[FOTAD_WHY_MAX];
    assert_int_equal(fotad_rollouts_resume(f->ro, id, why), FOTA_OK);
    report(f, ids[2], "error"); /* the counts stay: the next failure pauses again */
    assert_string_equal(get(f, id, NULL).state, "paused");
}

/* A member silent past timeout_s fails (timed_out) at the tick, and that counts. */
static void test_timeout(void **state)
{
    fixture_t *f = *state;
    char ids[3][16];
    devices(f, 3, ids);
    fotad_rollout_rec_t r = settings(1);
    r.timeout_s = 3600;
    r.thresholds.max_failures = 1;
    int64_t id = create_start(f, &r);
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_OFFER);
    f->now += 1800;
    report(f, ids[0], "downloading");
    f->now += 3599;
    assert_int_equal(fotad_rollouts_tick(f->ro), FOTA_OK);
    assert_string_equal(get(f, id, NULL).state, "running");
    f->now += 1;
    assert_int_equal(fotad_rollouts_tick(f->ro), FOTA_OK);
    fotad_member_counts_t c;
    r = get(f, id, &c);
    assert_int_equal(c.n[0][FOTAD_MEMBER_FAILED], 1);
    assert_string_equal(r.state, "paused");
    assert_string_equal(r.paused_reason, "rollout: 1 failed >= 1");
}

/* At most 2 starts a minute, then 3 after 2 successes; the refused member is told when. */
static void test_rate_limit(void **state)
{
    fixture_t *f = *state;
    char ids[10][16];
    devices(f, 10, ids);
    fotad_rollout_rec_t r = settings(1);
    r.rate_per_minute = 2;
    r.rate_after_successes = 2;
    r.rate_then_per_minute = 3;
    create_start(f, &r);
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_OFFER);
    f->now += 10;
    assert_int_equal(check(f, ids[1], "1.0.0").kind, FOTAD_RO_OFFER);
    fotad_ro_decision_t d = check(f, ids[2], "1.0.0");
    assert_int_equal(d.kind, FOTAD_RO_NOTHING);
    assert_int_equal(d.retry_after, 50);
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_OFFER); /* started: not limited */
    f->now += 50;
    assert_int_equal(check(f, ids[2], "1.0.0").kind, FOTAD_RO_OFFER);
    report(f, ids[0], "confirmed");
    report(f, ids[1], "confirmed");
    f->now += 60;
    for (int i = 3; i < 6; i++) {
        assert_int_equal(check(f, ids[i], "1.0.0").kind, FOTAD_RO_OFFER);
    }
    assert_int_equal(check(f, ids[6], "1.0.0").kind, FOTAD_RO_NOTHING);
}

/* Outside the window: 204 with the time to the opening; finish_running lets a started member go
 * on. */
static void test_window(void **state)
{
    fixture_t *f = *state;
    char ids[3][16];
    devices(f, 3, ids);
    fotad_rollout_rec_t r = settings(1);
    snprintf(r.window_cron, sizeof r.window_cron, "0 2 * * *");
    r.window_offset_s = 7200; /* 00:00 UTC */
    r.window_duration_s = 3600;
    r.finish_running = true;
    create_start(f, &r); /* now: Monday 12:00 UTC */
    fotad_ro_decision_t d = check(f, ids[0], "1.0.0");
    assert_int_equal(d.kind, FOTAD_RO_NOTHING);
    assert_int_equal(d.retry_after, 12 * 3600);
    f->now += 12 * 3600 + 60;
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_OFFER);
    f->now += 3600;
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_OFFER); /* finish_running */
    d = check(f, ids[1], "1.0.0");
    assert_int_equal(d.kind, FOTAD_RO_NOTHING);
    assert_int_equal(d.retry_after, 86400 - 3660);
}

/* download_only, then install: the same member's offer changes its action. */
static void test_download_only_install(void **state)
{
    fixture_t *f = *state;
    char ids[1][16];
    devices(f, 1, ids);
    fotad_rollout_rec_t r = settings(1);
    snprintf(r.action, sizeof r.action, "download_only");
    int64_t id = create_start(f, &r);
    assert_string_equal(check(f, ids[0], "1.0.0").action, "download_only");
    report(f, ids[0], "downloaded");
    fotad_member_counts_t c;
    get(f, id, &c);
    assert_int_equal(c.n[0][FOTAD_MEMBER_DOWNLOADED], 1);
    char why[FOTAD_WHY_MAX];
    assert_int_equal(fotad_rollouts_install(f->ro, id, "forced", why), FOTA_OK);
    assert_string_equal(check(f, ids[0], "1.0.0").action, "forced");
    assert_int_equal(fotad_rollouts_install(f->ro, id, "soft", why), FOTA_ERR_STATE);
}

/* pause_and_rollback: the failed stage's started members are offered the rollback release. */
static void test_rollback(void **state)
{
    fixture_t *f = *state;
    char ids[3][16];
    devices(f, 3, ids);
    fotad_rollout_rec_t r = settings(1);
    r.rollback_on_failure = true;
    snprintf(r.rollback_release, sizeof r.rollback_release, REL2);
    r.stages[0].thresholds.max_failures = 1;
    int64_t id = create_start(f, &r);
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_OFFER);
    assert_int_equal(check(f, ids[1], "1.0.0").kind, FOTAD_RO_OFFER);
    report(f, ids[0], "error");
    assert_string_equal(get(f, id, NULL).state, "paused");
    fotad_ro_decision_t d = check(f, ids[1], "2.0.0");
    assert_int_equal(d.kind, FOTAD_RO_OFFER);
    assert_string_equal(d.release, REL2);
    assert_string_equal(d.action, "forced");
    assert_int_equal(check(f, ids[2], "1.0.0").kind, FOTAD_RO_NOTHING); /* never started */
}

/* Cancel: no offers; data of the release refused to members that had started it, unless another
 * reason (an assignment) gives it. */
static void test_cancel(void **state)
{
    fixture_t *f = *state;
    char ids[3][16];
    devices(f, 3, ids);
    assert_true(fotad_rollouts_data_allowed(f->ro, ids[0], "inv-5k", REL1));
    fotad_rollout_rec_t r = settings(1);
    int64_t id = create_start(f, &r);
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_OFFER);
    assert_int_equal(check(f, ids[1], "1.0.0").kind, FOTAD_RO_OFFER);
    char why[FOTAD_WHY_MAX];
    assert_int_equal(fotad_rollouts_cancel(f->ro, id, why), FOTA_OK);
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_NOT_MINE);
    assert_false(fotad_rollouts_data_allowed(f->ro, ids[0], "inv-5k", REL1));
    assert_true(fotad_rollouts_data_allowed(f->ro, ids[2], "inv-5k", REL1)); /* never started */
    fotad_assignment_rec_t a = {FOTAD_TARGET_DEVICE, "", REL1, 1};
    snprintf(a.target, sizeof a.target, "%s", ids[1]);
    assert_int_equal(f->st.ops->assignment_set(f->st.ctx, &a), FOTA_OK);
    assert_true(fotad_rollouts_data_allowed(f->ro, ids[1], "inv-5k", REL1));
    assert_int_equal(fotad_rollouts_cancel(f->ro, id, why), FOTA_ERR_STATE);
    /* Known after a restart of the service too. */
    fotad_rollouts_close(f->ro);
    fotad_clock_t clock = {fake_now, f};
    assert_int_equal(fotad_rollouts_open(&f->st, clock, &f->ro), FOTA_OK);
    assert_false(fotad_rollouts_data_allowed(f->ro, ids[0], "inv-5k", REL1));
}

/* A device known only after the start joins the stage of its place; tags narrow the target; a
 * device assignment overrides; a second active rollout of the product is refused. */
static void test_join_override_second(void **state)
{
    fixture_t *f = *state;
    char ids[4][16];
    devices(f, 3, ids);
    const char *tagged[] = {ids[0], ids[1], "late-1"};
    const char *eu[] = {"eu"};
    assert_int_equal(f->st.ops->device_tags_change(f->st.ctx, tagged, 3, eu, 1, NULL, 0), FOTA_OK);
    fotad_rollout_rec_t r = settings(1);
    snprintf(r.tags, sizeof r.tags, "eu");
    int64_t id = create_start(f, &r);
    assert_int_equal(check(f, ids[2], "1.0.0").kind, FOTAD_RO_NOT_MINE); /* not tagged */
    assert_int_equal(f->st.ops->device_touch(f->st.ctx, "late-1", 5), FOTA_OK);
    assert_int_equal(check(f, "late-1", "1.0.0").kind, FOTAD_RO_OFFER);
    fotad_member_counts_t c;
    get(f, id, &c);
    assert_int_equal(c.n[0][FOTAD_MEMBER_STARTED], 1);
    assert_int_equal(c.n[0][FOTAD_MEMBER_PENDING], 2);
    fotad_assignment_rec_t a = {FOTAD_TARGET_DEVICE, "", REL2, 1};
    snprintf(a.target, sizeof a.target, "%s", ids[0]);
    assert_int_equal(f->st.ops->assignment_set(f->st.ctx, &a), FOTA_OK);
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_NOT_MINE);
    fotad_rollout_rec_t second = settings(1);
    char why[FOTAD_WHY_MAX] = "";
    uint32_t sizes[FOTAD_STAGES_MAX];
    assert_int_equal(fotad_rollouts_create(f->ro, &second, NULL, 0, false, sizes, why), FOTA_OK);
    assert_int_equal(fotad_rollouts_start(f->ro, second.id, 0, why), FOTA_ERR_STATE);
    assert_non_null(strstr(why, "is already active"));
    /* A dry run counts the known devices by stage. */
    fotad_rollout_rec_t dry = settings(2);
    dry.stages[0].kind = FOTAD_STAGE_COUNT;
    dry.stages[0].amount = 1;
    assert_int_equal(fotad_rollouts_create(f->ro, &dry, NULL, 0, true, sizes, why), FOTA_OK);
    assert_int_equal(sizes[0], 1);
    assert_int_equal(sizes[1], 2); /* late-1 has no product until its check is recorded */
}

/* A scheduled start happens at the tick once its time has come. */
static void test_scheduled(void **state)
{
    fixture_t *f = *state;
    char ids[1][16];
    devices(f, 1, ids);
    fotad_rollout_rec_t r = settings(1);
    char why[FOTAD_WHY_MAX] = "";
    uint32_t sizes[FOTAD_STAGES_MAX];
    assert_int_equal(fotad_rollouts_create(f->ro, &r, NULL, 0, false, sizes, why), FOTA_OK);
    assert_int_equal(fotad_rollouts_start(f->ro, r.id, f->now + 100, why), FOTA_OK);
    assert_string_equal(get(f, r.id, NULL).state, "scheduled");
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_NOT_MINE);
    f->now += 100;
    assert_int_equal(fotad_rollouts_tick(f->ro), FOTA_OK);
    assert_string_equal(get(f, r.id, NULL).state, "running");
    assert_int_equal(check(f, ids[0], "1.0.0").kind, FOTAD_RO_OFFER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cron_parse),
        cmocka_unit_test(test_cron_window),
        cmocka_unit_test(test_placement),
        cmocka_unit_test(test_member_next),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test_setup_teardown(test_stages_soak_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manual_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threshold_pause, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_download_only_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_override_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scheduled, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
