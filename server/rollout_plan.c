/*
 * rollout_plan.c - the pure rules of rollouts (rollouts.h, "pure parts"): a device's place, the
 * stage boundaries, the stage of a place, what a report state does to a member's status, and the
 * failure thresholds. No store, no clock: the unit tests call them directly.
 */
#include <stdio.h>
#include <string.h>

#include "rollouts_int.h"

uint64_t fotad_rollout_place(const char *id)
{
    static const char prefix[] = "fota-cohort-v1";
    char buf[sizeof prefix + FOTAD_DEVICE_ID_MAX];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s%s", prefix, id);
    uint8_t h[32];
    fotad_sha256(buf, n < sizeof buf ? n : sizeof buf - 1, h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | h[i];
    }
    return v;
}

/* prev + percent of the place range, saturated at the end. */
static uint64_t add_percent(uint64_t prev, uint32_t percent)
{
    if (percent >= 100) {
        return FOTAD_PLACE_END;
    }
    uint64_t step = (FOTAD_PLACE_END / 100u) * percent;
    return prev > FOTAD_PLACE_END - step ? FOTAD_PLACE_END : prev + step;
}

void fotad_rollout_boundaries(fotad_rollout_rec_t *rec, const uint64_t *places, size_t n)
{
    uint64_t prev = 0;
    size_t next = 0; /* the first place at or after prev */
    for (uint32_t k = 0; k < rec->n_stages; k++) {
        fotad_stage_rec_t *s = &rec->stages[k];
        while (next < n && places[next] < prev) {
            next++;
        }
        if (prev == FOTAD_PLACE_END) {
            s->boundary = FOTAD_PLACE_END;
        } else if (s->kind == FOTAD_STAGE_PERCENT) {
            s->boundary = add_percent(prev, s->amount);
        } else if (next >= n) {
            s->boundary = prev; /* no known device left: empty until devices join */
        } else {
            size_t last = next + s->amount - 1 < n ? next + s->amount - 1 : n - 1;
            s->boundary = places[last] == FOTAD_PLACE_END ? FOTAD_PLACE_END : places[last] + 1;
        }
        prev = s->boundary;
    }
}

int fotad_rollout_stage_of(const fotad_rollout_rec_t *rec, uint64_t place)
{
    for (uint32_t k = 0; k < rec->n_stages; k++) {
        if (place < rec->stages[k].boundary || rec->stages[k].boundary == FOTAD_PLACE_END) {
            return (int)k;
        }
    }
    return -1;
}

static const char *const status_names[FOTAD_MEMBER_STATUS_COUNT] = {
    "pending", "started", "downloading", "downloaded", "installed", "succeeded", "failed",
};

const char *fotad_member_status_name(fotad_member_status_t s)
{
    return s < FOTAD_MEMBER_STATUS_COUNT ? status_names[s] : "?";
}

/* The status a report state says, or FOTAD_MEMBER_STATUS_COUNT for none. */
static fotad_member_status_t status_of_state(const char *state)
{
    static const struct {
        const char *state;
        fotad_member_status_t status;
    } map[] = {
        {"downloading", FOTAD_MEMBER_DOWNLOADING},
        {"downloaded", FOTAD_MEMBER_DOWNLOADED},
        {"installed", FOTAD_MEMBER_INSTALLED},
        {"booted", FOTAD_MEMBER_INSTALLED},
        {"confirmed", FOTAD_MEMBER_SUCCEEDED},
        {"rolled_back", FOTAD_MEMBER_FAILED},
        {"error", FOTAD_MEMBER_FAILED},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(state, map[i].state) == 0) {
            return map[i].status;
        }
    }
    return FOTAD_MEMBER_STATUS_COUNT;
}

/*
 * Statuses only move forward (pending < started < downloading < downloaded < installed), so a
 * repeated or late report changes nothing. succeeded is reached from anywhere (a failed member
 * that confirms after all); failed from anything but succeeded; both are final otherwise.
 */
fotad_member_status_t fotad_member_next(fotad_member_status_t cur, const char *state)
{
    fotad_member_status_t to = status_of_state(state);
    if (to == FOTAD_MEMBER_STATUS_COUNT || to == cur) {
        return cur;
    }
    if (to == FOTAD_MEMBER_SUCCEEDED) {
        return to;
    }
    if (cur == FOTAD_MEMBER_SUCCEEDED || cur == FOTAD_MEMBER_FAILED) {
        return cur;
    }
    return to == FOTAD_MEMBER_FAILED || to > cur ? to : cur;
}

/* One set of thresholds over failed and finished counts; the reason when crossed. */
static bool crossed(const fotad_thresholds_t *t, uint32_t failed, uint32_t finished,
                    const char *what, char *reason)
{
    uint32_t min_finished = t->min_finished > 0 ? t->min_finished : 1;
    if (t->max_failures > 0 && failed >= t->max_failures) {
        snprintf(reason, FOTAD_REASON_MAX + 1, "%s: %u failed >= %u", what, failed,
                 t->max_failures);
        return true;
    }
    if (t->max_failure_percent > 0 && finished >= min_finished &&
        (uint64_t)failed * 100u >= (uint64_t)t->max_failure_percent * finished) {
        snprintf(reason, FOTAD_REASON_MAX + 1, "%s: %u of %u finished failed (%u%%) >= %u%%", what,
                 failed, finished, (unsigned)((uint64_t)failed * 100u / finished),
                 t->max_failure_percent);
        return true;
    }
    return false;
}

bool fotad_rollout_threshold_crossed(const fotad_rollout_rec_t *rec, const fotad_member_counts_t *c,
                                     char *reason)
{
    uint32_t failed = 0, finished = 0;
    for (uint32_t k = 0; k < rec->n_stages; k++) {
        failed += c->n[k][FOTAD_MEMBER_FAILED];
        finished += c->n[k][FOTAD_MEMBER_FAILED] + c->n[k][FOTAD_MEMBER_SUCCEEDED];
    }
    int32_t k = rec->current_stage;
    if (k >= 0 && (uint32_t)k < rec->n_stages) {
        char what[32];
        snprintf(what, sizeof what, "stage %d", (int)k + 1);
        uint32_t f = c->n[k][FOTAD_MEMBER_FAILED];
        if (crossed(&rec->stages[k].thresholds, f, f + c->n[k][FOTAD_MEMBER_SUCCEEDED], what,
                    reason)) {
            return true;
        }
    }
    return crossed(&rec->thresholds, failed, finished, "rollout", reason);
}

bool ro_tags_match(const char *required, const char *have)
{
    const char *p = required;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        bool found = false;
        for (const char *q = have; *q != '\0' && !found;) {
            size_t m = strcspn(q, ",");
            found = m == n && memcmp(p, q, n) == 0;
            q += m + (q[m] == ',');
        }
        if (!found) {
            return false;
        }
        p += n + (p[n] == ',');
    }
    return true;
}
