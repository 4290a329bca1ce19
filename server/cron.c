/*
 * cron.c - cron expressions and maintenance windows (cron.h). A field is parsed into a bit mask;
 * times are split into calendar fields with days_to_civil (proleptic Gregorian calendar, UTC
 * arithmetic on the already offset time), so the process's time zone never matters. Searches
 * step a minute at a time but skip a whole day or hour that cannot match.
 */
#include "cron.h"

#include <stdlib.h>
#include <string.h>

/* A number at *p (digits only) into *out, advancing *p; false when there is none or too big. */
static bool number(const char **p, unsigned *out)
{
    unsigned v = 0;
    const char *s = *p;
    while (*s >= '0' && *s <= '9' && s - *p < 3) {
        v = v * 10u + (unsigned)(*s - '0');
        s++;
    }
    if (s == *p || (*s >= '0' && *s <= '9')) {
        return false;
    }
    *p = s;
    *out = v;
    return true;
}

/* One list element: '*' or N or N-M, then an optional /STEP, into mask. */
static bool element(const char **p, unsigned lo, unsigned hi, uint64_t *mask)
{
    unsigned a = lo, b = hi, step = 1;
    bool single = false;
    if (**p == '*') {
        (*p)++;
    } else {
        if (!number(p, &a)) {
            return false;
        }
        b = a;
        single = **p != '-';
        if (!single) {
            (*p)++;
            if (!number(p, &b)) {
                return false;
            }
        }
    }
    if (**p == '/') {
        (*p)++;
        if (!number(p, &step) || step == 0) {
            return false;
        }
        if (single) {
            b = hi; /* "5/15": from 5 to the end, as cron reads it */
        }
    }
    if (a < lo || b > hi || a > b) {
        return false;
    }
    for (unsigned v = a; v <= b; v += step) {
        *mask |= (uint64_t)1 << v;
    }
    return true;
}

/* A whole field (comma-separated elements) up to a space or the end. */
static bool field(const char **p, unsigned lo, unsigned hi, uint64_t *mask, bool *any)
{
    *mask = 0;
    *any = (*p)[0] == '*' && ((*p)[1] == ' ' || (*p)[1] == '\0');
    for (;;) {
        if (!element(p, lo, hi, mask)) {
            return false;
        }
        if (**p != ',') {
            break;
        }
        (*p)++;
    }
    return **p == ' ' || **p == '\0';
}

bool fotad_cron_parse(const char *text, fotad_cron_t *out)
{
    static const unsigned lo[5] = {0, 0, 1, 1, 0};
    static const unsigned hi[5] = {59, 23, 31, 12, 7};
    uint64_t masks[5];
    bool any[5];
    const char *p = text;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 5; i++) {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0' || !field(&p, lo[i], hi[i], &masks[i], &any[i])) {
            return false;
        }
    }
    while (*p == ' ') {
        p++;
    }
    if (*p != '\0') {
        return false;
    }
    out->minutes = masks[0];
    out->hours = (uint32_t)masks[1];
    out->days = (uint32_t)masks[2];
    out->months = (uint16_t)masks[3];
    out->weekdays = (uint8_t)((masks[4] | (masks[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    out->days_any = any[2];
    out->weekdays_any = any[4];
    return true;
}

bool fotad_utc_offset_parse(const char *t, int32_t *out)
{
    if (strcmp(t, "Z") == 0) {
        *out = 0;
        return true;
    }
    if (strlen(t) != 6 || (t[0] != '+' && t[0] != '-') || t[3] != ':') {
        return false;
    }
    for (int i = 1; i < 6; i++) {
        if (i != 3 && (t[i] < '0' || t[i] > '9')) {
            return false;
        }
    }
    int h = (t[1] - '0') * 10 + (t[2] - '0');
    int m = (t[4] - '0') * 10 + (t[5] - '0');
    if (h > 14 || m > 59) {
        return false;
    }
    *out = (t[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return true;
}

typedef struct {
    int month, day, weekday, hour, minute;
} civil_t;

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 to month and day (Howard Hinnant's days_from_civil, inverted). */
static void split(int64_t t, civil_t *c)
{
    int64_t days = floor_div(t, 86400);
    int64_t secs = t - days * 86400;
    c->hour = (int)(secs / 3600);
    c->minute = (int)(secs % 3600 / 60);
    c->weekday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
}

static bool day_matches(const fotad_cron_t *cr, const civil_t *c)
{
    bool dom = (cr->days >> c->day) & 1u;
    bool dow = (cr->weekdays >> c->weekday) & 1u;
    bool day = cr->days_any || cr->weekdays_any ? dom && dow : dom || dow;
    return day && ((cr->months >> c->month) & 1u);
}

bool fotad_cron_matches(const fotad_cron_t *cr, int64_t local)
{
    civil_t c;
    split(local, &c);
    return day_matches(cr, &c) && ((cr->hours >> c.hour) & 1u) && ((cr->minutes >> c.minute) & 1u);
}

/* The latest matching minute start in [from, to] (local times), or INT64_MIN. */
static int64_t last_match(const fotad_cron_t *cr, int64_t from, int64_t to)
{
    int64_t t = floor_div(to, 60) * 60;
    while (t >= from) {
        civil_t c;
        split(t, &c);
        if (!day_matches(cr, &c)) {
            t -= (int64_t)c.hour * 3600 + c.minute * 60 + 60; /* to 23:59 of the day before */
        } else if (!((cr->hours >> c.hour) & 1u)) {
            t -= (int64_t)c.minute * 60 + 60; /* to minute 59 of the hour before */
        } else if (!((cr->minutes >> c.minute) & 1u)) {
            t -= 60;
        } else {
            return t;
        }
    }
    return INT64_MIN;
}

/* The first matching minute start in [from, to] (local), or INT64_MIN. */
static int64_t first_match(const fotad_cron_t *cr, int64_t from, int64_t to)
{
    int64_t t = floor_div(from + 59, 60) * 60;
    while (t <= to) {
        civil_t c;
        split(t, &c);
        if (!day_matches(cr, &c)) {
            t += (int64_t)(23 - c.hour) * 3600 + (59 - c.minute) * 60 + 60;
        } else if (!((cr->hours >> c.hour) & 1u)) {
            t += (int64_t)(59 - c.minute) * 60 + 60;
        } else if (!((cr->minutes >> c.minute) & 1u)) {
            t += 60;
        } else {
            return t;
        }
    }
    return INT64_MIN;
}

bool fotad_window_open(const fotad_cron_t *cr, int32_t offset_s, uint32_t duration_s, int64_t now,
                       int64_t *next_open)
{
    int64_t local = now + offset_s;
    *next_open = 0;
    if (duration_s > 0 && last_match(cr, local - (int64_t)duration_s + 1, local) != INT64_MIN) {
        return true;
    }
    int64_t next = first_match(cr, local + 1, local + FOTAD_CRON_HORIZON_S);
    if (next != INT64_MIN && duration_s > 0) {
        *next_open = next - offset_s;
    }
    return false;
}
