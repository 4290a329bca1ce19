/*
 * cron.h - maintenance windows of rollouts (docs/ROLLOUTS.md): a 5-field cron expression
 * (minute, hour, day of month, month, day of week; '*', lists, ranges and steps) read in a fixed
 * UTC offset ("+02:00"), each match opening a window of a given duration. Pure functions of
 * their arguments: no clock, no allocation, so unit tests can walk through any instant.
 *
 * Day of month and day of week follow cron's old rule: when both are restricted (neither is
 * '*'), a day matches if either matches; otherwise both must. Day of week 0 and 7 are Sunday.
 */
#ifndef FOTAD_CRON_H
#define FOTAD_CRON_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t minutes;  /* bit m: minute m (0..59) */
    uint32_t hours;    /* bit h: hour h (0..23) */
    uint32_t days;     /* bit d: day of month d (1..31) */
    uint16_t months;   /* bit m: month m (1..12) */
    uint8_t weekdays;  /* bit w: day of week w (0 = Sunday .. 6) */
    bool days_any;     /* the day-of-month field was '*' */
    bool weekdays_any; /* the day-of-week field was '*' */
} fotad_cron_t;

/* The longest window and the furthest a window opening is looked for. */
#define FOTAD_WINDOW_MAX_S (7 * 86400)
#define FOTAD_CRON_HORIZON_S (366 * 86400)

/* Parse an expression; false if it is not 5 valid fields. */
bool fotad_cron_parse(const char *text, fotad_cron_t *out);

/* "+HH:MM" or "-HH:MM" (HH 00..14, MM 00..59), or "Z", into seconds east of UTC. */
bool fotad_utc_offset_parse(const char *text, int32_t *out);

/* The cron matches the minute that starts at local unix time t (seconds; t % 60 ignored). */
bool fotad_cron_matches(const fotad_cron_t *c, int64_t local);

/*
 * Whether the window is open at `now` (UTC unix seconds): a match at or before now, less than
 * duration_s before. When closed, *next_open is the next opening (UTC), or 0 when none comes
 * within FOTAD_CRON_HORIZON_S (e.g. "0 0 31 2 *").
 */
bool fotad_window_open(const fotad_cron_t *c, int32_t offset_s, uint32_t duration_s, int64_t now,
                       int64_t *next_open);

#endif /* FOTAD_CRON_H */
