/*
 * esp_clock.c - the agent's clock port on ESP-IDF: esp_timer for monotonic milliseconds, the
 * hardware RNG (esp_fill_random) for request nonces, and wall time for request authentication.
 *
 * fotad accepts a request whose X-Fota-Time is within 300 s of its own clock. The wall time is
 * the application's (config wall_time), else time() once something (SNTP, an RTC) has set it to
 * a plausible value. Until then the port uses the server's own clock: every answer carries a
 * Date header (RFC 9110), remembered as an offset to esp_timer; before any answer the first
 * request goes out with time 0, is refused with 401, and that answer's Date sets the clock for
 * the retry. A device that has never reached the server has no time to offer, which is right.
 */
#include "fota_esp_internal.h"

#include <string.h>
#include <time.h>

#include "esp_random.h"
#include "esp_timer.h"

/* 2024-01-01T00:00:00Z: a wall clock earlier than this has not been set. */
#define PLAUSIBLE_TIME 1704067200LL

static uint32_t now_ms(void *ctx)
{
    (void)ctx;
    return (uint32_t)(esp_timer_get_time() / 1000);
}

static int64_t uptime_s(void)
{
    return esp_timer_get_time() / 1000000;
}

static uint64_t unix_time(void *ctx)
{
    const fota_esp_t *h = ctx;
    int64_t t =
        h->cfg.wall_time != NULL ? (int64_t)h->cfg.wall_time(h->cfg.ctx) : (int64_t)time(NULL);
    if (t >= PLAUSIBLE_TIME) {
        return (uint64_t)t;
    }
    return h->date_known ? (uint64_t)(uptime_s() + h->date_offset_s) : 0u;
}

bool fota_esp_clock_known(fota_esp_t *h)
{
    return unix_time(h) != 0;
}

static void random_bytes(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    esp_fill_random(buf, len);
}

fota_clock_t fota_esp_clock_port(fota_esp_t *h)
{
    fota_clock_t c = {h, now_ms, unix_time, random_bytes};
    return c;
}

/* ---- the Date header ------------------------------------------------------------------------ */

/* n decimal digits at s, checked by the caller. */
static int number(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        v = v * 10 + s[i] - '0';
    }
    return v;
}

static int month_of(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int m = 0; m < 12; m++) {
        if (memcmp(s, names + 3 * m, 3) == 0) {
            return m + 1;
        }
    }
    return -1;
}

/* Days from 1970-01-01 to y-m-d (y >= 0) in the proleptic Gregorian calendar, years counted from
 * March so that the leap day is the last day of a year; 32-bit arithmetic suffices to 9999. */
static int32_t days_from_civil(int32_t y, int32_t m, int32_t d)
{
    y -= m <= 2;
    int32_t era = y / 400;
    int32_t yoe = y - era * 400;
    int32_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT": 29 characters at fixed positions; a digit wherever the shape
 * has '0', the separators and "GMT" where it has them (the day and month names are checked
 * apart: the day's not at all, the month's by month_of). */
bool fota_esp_parse_http_date(const char *text, int64_t *out)
{
    static const char shape[] = "Www, 00 mmm 0000 00:00:00 GMT";
    if (text == NULL || strlen(text) != sizeof shape - 1) {
        return false;
    }
    for (size_t i = 3; i < sizeof shape - 1; i++) {
        char c = text[i];
        bool ok = shape[i] == '0' ? c >= '0' && c <= '9' : shape[i] == 'm' || c == shape[i];
        if (!ok) {
            return false;
        }
    }
    int day = number(text + 5, 2), month = month_of(text + 8), year = number(text + 12, 4);
    int hh = number(text + 17, 2), mm = number(text + 20, 2), ss = number(text + 23, 2);
    if (day < 1 || day > 31 || month < 0 || hh > 23 || mm > 59 || ss > 60) {
        return false;
    }
    *out = (int64_t)days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return true;
}

void fota_esp_clock_on_date(fota_esp_t *h, const char *value)
{
    int64_t t;
    if (fota_esp_parse_http_date(value, &t) && t >= PLAUSIBLE_TIME) {
        h->date_offset_s = t - uptime_s();
        h->date_known = true;
    }
}
